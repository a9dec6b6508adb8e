//! The project's registry (`deploy.registry`), when it has one: reachable,
//! credentials present and taken, push allowed (a blob upload started and
//! cancelled: nothing is written).

use serde_json::json;

use super::{Check, Status};
use crate::project::model::Registry;
use crate::push::registry::RegistryError;
use crate::push::{PushError, Target};

pub async fn checks(registry: Registry, repository: String) -> Vec<Check> {
    let reach = Check::new("registry.reach", "image registry", false);
    let push = Check::new("registry.push", "push to the registry", false);
    let data = json!({"registry": registry.to_string()});
    let target = match Target::connect(&registry).await {
        Ok(t) => t,
        Err(e) => {
            let status = match &e {
                PushError::Registry(
                    RegistryError::Unreachable { .. } | RegistryError::NoCredentials { .. },
                ) => Status::Missing,
                _ => Status::Fail,
            };
            let (detail, fix) = split(&e);
            return vec![
                reach.problem(status, detail, fix).with_data(data),
                push.skipped("the registry is not reachable with credentials"),
            ];
        }
    };
    let from = target
        .credentials_from()
        .map(|c| format!("credentials from {c}"))
        .unwrap_or_else(|| "no credentials asked for".into());
    let reach = reach.ok(format!("{registry} answers; {from}")).with_data(
        json!({"registry": registry.to_string(), "credentials": target.credentials_from()}),
    );
    let full = registry.repository(&repository);
    let push = match target.may_push(&repository).await {
        Ok(()) => push.ok(format!(
            "may push to {full} (an upload started and cancelled)"
        )),
        Err(e) => {
            let (detail, fix) = split(&e);
            push.problem(Status::Fail, detail, fix)
        }
    }
    .with_data(json!({"repository": full}));
    vec![reach, push]
}

/// An error's sentence and its `help:` line.
fn split(e: &PushError) -> (String, String) {
    let text = e.to_string();
    match text.split_once("\n  help: ") {
        Some((detail, fix)) => (detail.to_string(), fix.to_string()),
        None => (
            text,
            "see the message; `todo-dev build --registry ...` says the same".into(),
        ),
    }
}
