use std::collections::BTreeMap;

use serde_json::json;

use super::{CommandResult, Outcome};
use crate::cli::GlobalArgs;
use crate::project::load::find_root;
use crate::project::model::ProfileSource;
use crate::project::profiles::{Catalog, DEFAULT_PROFILE};
use crate::project::{ConfigError, LoadOptions};
use crate::ui::{Output, Tone};

pub fn run(global: &GlobalArgs, out: &Output) -> CommandResult {
    let cwd = std::env::current_dir()?;
    let opts = LoadOptions {
        project_dir: global.project.clone(),
        ..Default::default()
    };
    let (root, _) = find_root(&opts, &cwd)?;
    let catalog = Catalog::load(&root);
    let profiles = catalog
        .names()
        .iter()
        .map(|n| catalog.get(n))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    if out.json {
        let list: Vec<_> = profiles
            .iter()
            .map(|p| {
                let source = match &p.info.source {
                    ProfileSource::Embedded => json!("built-in"),
                    ProfileSource::File(path) => json!(path),
                };
                let cluster = p.layer.get("cluster").cloned().unwrap_or_default();
                json!({"name": p.info.name, "summary": p.info.summary, "source": source, "default": p.info.name == DEFAULT_PROFILE, "cluster": cluster})
            })
            .collect();
        out.print_json(&json!({ "profiles": list }))?;
        return Ok(Outcome::Success);
    }
    let width = profiles
        .iter()
        .map(|p| p.info.name.len())
        .max()
        .unwrap_or(0);
    let mut by_name: BTreeMap<&str, _> = BTreeMap::new();
    for p in &profiles {
        by_name.insert(&p.info.name, p);
    }
    for p in by_name.values() {
        let mut tags = vec![];
        if p.info.name == DEFAULT_PROFILE {
            tags.push("default".to_string());
        }
        if let ProfileSource::File(path) = &p.info.source {
            tags.push(format!("from {}", path.display()));
        }
        let cluster = &p.layer["cluster"];
        let size = format!(
            "{} CPU, {}",
            cluster["cpus"]
                .as_u64()
                .map_or("?".into(), |c| c.to_string()),
            cluster["memory"].as_str().unwrap_or("?")
        );
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        println!(
            "{}  {}  {}{}",
            out.paint(Tone::Bold, &format!("{:width$}", p.info.name)),
            out.paint(Tone::Dim, &format!("{size:>13}")),
            p.info.summary,
            tags
        );
    }
    Ok(Outcome::Success)
}
