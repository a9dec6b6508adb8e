use std::time::Duration;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::build::docker;
use crate::cli::{GlobalArgs, UpArgs};
use crate::pipeline::{self, build, cluster, deploy};
use crate::project::check_sources;
use crate::ui::Output;

/// How long Minikube's daemon may take to answer its first request.
const DAEMON_DEADLINE: Duration = Duration::from_secs(15);

pub async fn run(global: &GlobalArgs, args: &UpArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    // What can fail offline fails before Minikube starts: Dockerfiles, secrets, manifests.
    let (plans, _) = pipeline::plan_and_render(&project).await?;
    let images = pipeline::images(&plans);

    let endpoint = cluster::ensure_running(&project, out).await?;
    // Build straight into the node's daemon: no registry, no `image load`.
    let (docker, facts) = docker::probe(&endpoint, DAEMON_DEADLINE)
        .await
        .map_err(CommandError::failed)?;
    let planned = plans.into_iter().map(|p| (p.service, Ok(p))).collect();
    let built = build::build_all(&docker, facts.cpus, &project, planned, args.force, out).await;
    if !built.failed.is_empty() {
        return Ok(Outcome::Failed);
    }
    let deployed = deploy::deploy(
        &project,
        &images,
        &deploy::Target::default(),
        Duration::from_secs(args.timeout),
        out,
    )
    .await?;
    Ok(if deployed.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
