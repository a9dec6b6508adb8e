use std::io::IsTerminal;
use std::time::Duration;

use serde_json::json;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{DownArgs, GlobalArgs};
use crate::cluster::kube::connect;
use crate::cluster::minikube::{self, Minikube};
use crate::deploy::apply;
use crate::deploy::values::Ownership;
use crate::ui::{Output, Tone};
use crate::UsageError;

pub async fn run(global: &GlobalArgs, args: &DownArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    if args.delete_cluster {
        // Everything in the cluster goes with it: no need to remove objects first.
        return delete_cluster(&project.cluster.name, args.yes, out).await;
    }
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
    let stopped = if args.stop {
        cluster_cli(&project.cluster.name)?
            .stop(CLUSTER_DEADLINE)
            .await
            .map_err(CommandError::failed)?;
        true
    } else {
        false
    };
    if out.json {
        out.print_json(&json!({
            "context": ctx.name,
            "namespace": project.namespace,
            "deleted": removal.deleted,
            "keptClaims": removal.kept_claims,
            "namespaceDeleted": removal.namespace_deleted,
            "namespaceKept": removal.namespace_kept,
            "clusterStopped": stopped,
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
    if stopped {
        println!(
            "{} cluster `{}` (`todo-dev up` starts it again)",
            out.paint(Tone::Good, "stopped"),
            project.cluster.name
        );
    }
    Ok(Outcome::Success)
}

/// `minikube stop` / `delete` may take minutes (a VM shutting down).
const CLUSTER_DEADLINE: Duration = Duration::from_secs(10 * 60);

fn cluster_cli(name: &str) -> Result<Minikube, UsageError> {
    Minikube::locate(name, Duration::from_secs(30)).ok_or_else(|| {
        UsageError(format!(
            "minikube is not on PATH\n  help: {}",
            minikube::install_hint()
        ))
    })
}

/// `down --delete-cluster`: `minikube delete`, after a yes on a terminal
/// or with --yes.
async fn delete_cluster(name: &str, yes: bool, out: &Output) -> CommandResult {
    let mk = cluster_cli(name)?;
    if !yes {
        if !std::io::stdin().is_terminal() || out.json {
            return Err(UsageError(format!(
                "--delete-cluster deletes the Minikube cluster `{name}` with everything in it, data included\n  help: add --yes to confirm when not on a terminal: `todo-dev down --delete-cluster --yes`"
            ))
            .into());
        }
        eprint!(
            "Delete the Minikube cluster `{name}` with everything in it, data included? [y/N] "
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("kept cluster `{name}`");
            return Ok(Outcome::Success);
        }
    }
    mk.delete(CLUSTER_DEADLINE)
        .await
        .map_err(CommandError::failed)?;
    if out.json {
        out.print_json(&json!({"clusterDeleted": name}))?;
    } else {
        println!("{} cluster `{name}`", out.paint(Tone::Good, "deleted"));
    }
    Ok(Outcome::Success)
}
