use serde_json::{json, Value};

use super::{load_project, CommandResult, Outcome};
use crate::cli::GlobalArgs;
use crate::project::secrets::{SecretSource, Secrets, KNOWN, REDACTED};
use crate::project::{check_sources, values};
use crate::ui::Output;

pub fn run(global: &GlobalArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let mut merged = project.merged.clone();
    values::redact_secret_keys(&mut merged);
    let secrets = Secrets::gather(&project.root, |k| std::env::var(k).ok());
    let listed: serde_json::Map<String, Value> = KNOWN
        .iter()
        .map(|name| {
            let shown = match secrets.get(name) {
                Some(s) => match &s.source {
                    SecretSource::Environment => format!("{REDACTED} (from the environment)"),
                    SecretSource::DotEnv(p) => format!("{REDACTED} (from {})", p.display()),
                },
                None => "<not set>".to_string(),
            };
            (name.to_string(), json!(shown))
        })
        .collect();
    if let Value::Object(map) = &mut merged {
        map.insert("secrets".into(), Value::Object(listed));
    }
    if out.json {
        out.print_json(&merged)?;
    } else {
        let source = match &project.config_file {
            Some(f) => f.display().to_string(),
            None => "no todo-dev.yaml: built-in defaults".into(),
        };
        println!("# project: {} ({source})", project.root.display());
        print!(
            "{}",
            serde_saphyr::to_string(&merged).map_err(super::CommandError::failed)?
        );
    }
    Ok(Outcome::Success)
}
