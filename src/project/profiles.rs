//! Profiles: the shipped ones compiled in from `profiles/`, and the user's
//! `.todo-dev/profiles/NAME.yaml`, which is laid over the shipped one of the
//! same name (or stands alone under a new name).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use super::error::{did_you_mean, ConfigError, Origin};
use super::model::{ProfileInfo, ProfileSource};
use super::schema::Layer;
use super::{values, yaml};

static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/profiles");

pub const DEFAULT_PROFILE: &str = "standard";

/// A profile as one or two layers, ready to merge.
#[derive(Debug, Clone)]
pub struct Profile {
    pub info: ProfileInfo,
    pub layer: serde_json::Value,
}

/// Every profile this project can use, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    embedded: BTreeMap<String, &'static str>,
    user: BTreeMap<String, PathBuf>,
}

impl Catalog {
    pub fn load(root: &Path) -> Catalog {
        let embedded = EMBEDDED
            .files()
            .filter_map(|f| {
                let name = f.path().file_stem()?.to_str()?.to_string();
                let is_yaml = f.path().extension().is_some_and(|e| e == "yaml");
                Some((name, f.contents_utf8()?)).filter(|_| is_yaml)
            })
            .collect();
        let user = std::fs::read_dir(root.join(".todo-dev/profiles"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let is_yaml = path.extension().is_some_and(|x| x == "yaml" || x == "yml");
                let name = path.file_stem()?.to_str()?.to_string();
                is_yaml.then_some((name, path))
            })
            .collect();
        Catalog { embedded, user }
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .embedded
            .keys()
            .chain(self.user.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn get(&self, name: &str) -> Result<Profile, ConfigError> {
        let shipped = self.embedded.get(name).copied();
        let user = self.user.get(name);
        if shipped.is_none() && user.is_none() {
            let names = self.names();
            let help = match did_you_mean(name, names.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`? known profiles: {}", names.join(", ")),
                None => format!("known profiles: {}", names.join(", ")),
            };
            return Err(ConfigError::UnknownProfile {
                name: name.to_string(),
                help: Some(help),
            });
        }
        let mut merged = serde_json::Value::Object(Default::default());
        let mut summary = None;
        if let Some(text) = shipped {
            let path = PathBuf::from(format!("profiles/{name}.yaml (built in)"));
            let layer = read_profile_layer(&path, text)?;
            summary = layer.summary.clone();
            values::merge(&mut merged, to_value(&layer));
        }
        let source = match user {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let layer = read_profile_layer(path, &text)?;
                summary = layer.summary.clone().or(summary);
                values::merge(&mut merged, to_value(&layer));
                ProfileSource::File(path.clone())
            }
            None => ProfileSource::Embedded,
        };
        Ok(Profile {
            info: ProfileInfo {
                name: name.to_string(),
                summary: summary.unwrap_or_default(),
                source,
            },
            layer: merged,
        })
    }
}

fn read_profile_layer(path: &Path, text: &str) -> Result<Layer, ConfigError> {
    let layer: Layer = yaml::parse(path, text)?;
    if layer.profile.is_some() {
        return Err(ConfigError::Invalid {
            origin: Origin::File {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
            },
            message: "a profile cannot choose a profile (`profile:` key)".into(),
            help: Some(
                "remove the `profile:` line; choose profiles in todo-dev.yaml or with --profile"
                    .into(),
            ),
        });
    }
    Ok(layer)
}

pub fn to_value(layer: &Layer) -> serde_json::Value {
    // A Layer is plain data: serialising it to JSON cannot fail.
    serde_json::to_value(layer).unwrap_or_default()
}
