//! `up`'s whole sequence, also how `watch` starts: plan and render offline,
//! the cluster running, every image built into its daemon, everything applied.

use std::time::Duration;

use super::{build, cluster, deploy, images, plan_and_render, Images, PipelineError};
use crate::deploy::values::DevVariant;
use crate::docker;
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

/// How `up` runs: `force` rebuilds every image; `recreate` names workloads
/// to delete and create anew (immutable fields changed); `dev` is `watch`'s
/// variant (`up` itself deploys the hardened objects, which also puts them
/// back after a `watch`).
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub force: bool,
    pub recreate: Vec<String>,
    pub timeout: Duration,
    pub dev: DevVariant,
}

pub async fn up(project: &Project, opts: &UpOptions, out: &Output) -> Result<Up, PipelineError> {
    let (force, timeout) = (opts.force, opts.timeout);
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
    let target = deploy::Target::default();
    deploy::recreate(project, &up.images, &target, &opts.recreate, timeout, out).await?;
    up.deployed = deploy::deploy(project, &up.images, &opts.dev, &target, timeout, out).await?;
    Ok(up)
}
