//! `up`'s whole sequence, also how `watch` starts: plan and render offline,
//! the cluster running, every image built into its daemon, everything applied.

use std::time::Duration;

use super::{build, cluster, deploy, images, plan_and_render, Images, PipelineError};
use crate::build::docker;
use crate::deploy::values::DevVariant;
use crate::project::Project;
use crate::ui::Output;

/// How long Minikube's daemon may take to answer its first request.
const DAEMON_DEADLINE: Duration = Duration::from_secs(15);

/// What `up` leaves running: the cluster's daemon and the images deployed.
pub struct Up {
    pub docker: bollard::Docker,
    pub daemon_cpus: u32,
    pub images: Images,
    /// Services whose image did not build (reported); nothing was deployed then.
    pub failed_builds: Vec<String>,
    pub deployed: deploy::Deployed,
}

/// `dev`: `watch`'s variant; `up` itself deploys [`DevVariant::hardened`],
/// which also puts the hardened objects back after a `watch`.
pub async fn up(
    project: &Project,
    dev: &DevVariant,
    force: bool,
    timeout: Duration,
    out: &Output,
) -> Result<Up, PipelineError> {
    // What can fail offline fails before Minikube starts: Dockerfiles, secrets, manifests.
    let (plans, _) = plan_and_render(project).await?;
    let images = images(&plans);
    let endpoint = cluster::ensure_running(project, out).await?;
    // Build straight into the node's daemon: no registry, no `image load`.
    let (docker, facts) = docker::probe(&endpoint, DAEMON_DEADLINE).await?;
    let planned = plans.into_iter().map(|p| (p.service, Ok(p))).collect();
    let built = build::build_all(&docker, facts.cpus, project, planned, force, out).await;
    let mut up = Up {
        docker,
        daemon_cpus: facts.cpus,
        images,
        failed_builds: built.failed.iter().map(|s| s.to_string()).collect(),
        deployed: deploy::Deployed::default(),
    };
    if !built.failed.is_empty() {
        return Ok(up);
    }
    up.deployed = deploy::deploy(
        project,
        &up.images,
        dev,
        &deploy::Target::default(),
        timeout,
        out,
    )
    .await?;
    Ok(up)
}
