use std::time::Duration;

use serde_json::json;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{DownArgs, GlobalArgs};
use crate::cluster::kube::connect;
use crate::deploy::apply;
use crate::deploy::values::Ownership;
use crate::ui::{Output, Tone};

pub async fn run(global: &GlobalArgs, args: &DownArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    let (client, ctx) = connect(
        &project.cluster.name,
        args.target.context.as_deref(),
        args.target.allow_remote,
    )
    .await?;
    let removal = apply::remove(
        &client,
        &project.namespace,
        &Ownership::of(&project),
        args.purge,
        Duration::from_secs(args.timeout),
    )
    .await
    .map_err(CommandError::failed)?;
    if out.json {
        out.print_json(&json!({
            "context": ctx.name,
            "namespace": project.namespace,
            "deleted": removal.deleted,
            "keptClaims": removal.kept_claims,
            "namespaceDeleted": removal.namespace_deleted,
            "namespaceKept": removal.namespace_kept,
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
    if let Some(why) = &removal.namespace_kept {
        println!(
            "{} Namespace/{}: {why}",
            out.paint(Tone::Warn, "kept"),
            project.namespace
        );
    }
    Ok(Outcome::Success)
}
