use std::time::Duration;

use serde_json::json;

use super::{load_project, Outcome};
use crate::cli::{DownArgs, GlobalArgs};
use crate::cluster::kube::connect;
use crate::deploy::apply;
use crate::deploy::values::ownership_selector;
use crate::ui::{Output, Tone};

pub async fn run(global: &GlobalArgs, args: &DownArgs, out: &Output) -> anyhow::Result<Outcome> {
    let project = load_project(global)?;
    let (client, ctx) = connect(
        &project.cluster.name,
        args.target.context.as_deref(),
        args.target.allow_remote,
    )
    .await?;
    let selector = ownership_selector(&project);
    let removal = apply::remove(
        &client,
        &project.namespace,
        &selector,
        args.purge,
        Duration::from_secs(args.timeout),
    )
    .await?;
    if out.json {
        out.print_json(&json!({
            "context": ctx.name,
            "namespace": project.namespace,
            "deleted": removal.deleted,
            "keptClaims": removal.kept_claims,
            "namespaceDeleted": removal.namespace_deleted,
        }))?;
        return Ok(Outcome::Success);
    }
    if removal.deleted.is_empty() && removal.kept_claims.is_empty() {
        println!(
            "nothing of todo-dev's in namespace `{}` (context `{}`)",
            project.namespace, ctx.name
        );
    }
    for d in &removal.deleted {
        println!("{} {d}", out.paint(Tone::Good, "deleted"));
    }
    for k in &removal.kept_claims {
        println!(
            "{} {k} (the data; `todo-dev down --purge` deletes it)",
            out.paint(Tone::Warn, "kept")
        );
    }
    if removal.namespace_deleted {
        println!(
            "{} Namespace/{}",
            out.paint(Tone::Good, "deleted"),
            project.namespace
        );
    }
    Ok(Outcome::Success)
}
