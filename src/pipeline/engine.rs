//! The engine: one per command, built from the project, the target and the
//! reporter. It owns the clients (the cluster's Docker daemon, one
//! Kubernetes client and one streaming client, each made once) and the
//! sequence plan -> cluster -> build -> render -> apply -> wait -> report
//! that `up`, `deploy`, `watch` and `smoke` drive; the stages it calls
//! never call each other.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use super::build::{self, Built, Planned};
use super::cancel::Cancel;
use super::cluster::{Loader, NodeImages};
use super::deploy::{self, Cluster, Deployed, Objects, Rolled, Rollout, Target};
use super::event::{DeployEvent, Events};
use super::push::{self, Publisher};
use super::{cluster, images, offline_images, report, Images, PipelineError};
use crate::build::image::BuildPlan;
use crate::cluster::context::KubeContext;
use crate::cluster::kube::{connect, connect_streaming};
use crate::deploy::plan;
use crate::deploy::render::Manifest;
use crate::deploy::rollout::RolloutState;
use crate::deploy::values::DevVariant;
use crate::docker::{self, DaemonFacts, DockerEndpoint};
use crate::project::secrets::{SecretValue, Secrets};
use crate::project::Project;

/// How long Minikube's daemon may take to answer its first request.
const DAEMON_DEADLINE: Duration = Duration::from_secs(15);

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

/// What `up` leaves running: the cluster's daemon and the images deployed.
pub struct Up {
    pub docker: bollard::Docker,
    /// What the daemon said of itself (its CPUs, its builder).
    pub daemon: DaemonFacts,
    pub images: Images,
    /// Services whose image did not build (reported); nothing was deployed then.
    pub failed_builds: Vec<String>,
    /// Services whose image did not reach the registry (reported); nothing was deployed then.
    pub failed_pushes: Vec<String>,
    /// The registry, when the project has one: where `watch` pushes its rebuilds.
    pub publisher: Option<Arc<Publisher>>,
    /// The cluster's `minikube image load`, when its nodes cannot be built into.
    pub loader: Option<Arc<Loader>>,
    pub deployed: Deployed,
}

/// What planning found: every service's build plan and the offline render
/// (hardened), both made before anything is built or applied.
pub struct Plan {
    pub builds: Vec<BuildPlan>,
    pub manifests: Vec<Manifest>,
}

/// The offline plan of `project` (see [`Engine::plan`]).
pub async fn plan(project: &Project) -> Result<Plan, PipelineError> {
    let planned = build::plan_all(project, &project.services).await;
    let builds = planned
        .into_iter()
        .map(|(_, p)| p)
        .collect::<Result<Vec<_>, _>>()?;
    let manifests = crate::deploy::plan::render(
        project,
        &offline_images(project, &builds),
        &BTreeMap::new(),
        &DevVariant::hardened(),
        None,
    )?;
    Ok(Plan { builds, manifests })
}

pub struct Engine {
    pub project: Project,
    pub events: Events,
    pub cancel: Cancel,
    target: Target,
    kube: OnceCell<(kube::Client, KubeContext)>,
    streams: OnceCell<kube::Client>,
}

impl Engine {
    pub fn new(project: Project, target: Target, events: Events) -> Engine {
        Engine {
            project,
            events,
            cancel: Cancel::default(),
            target,
            kube: OnceCell::new(),
            streams: OnceCell::new(),
        }
    }

    /// Plans every enabled service and renders offline: what `render` and
    /// `export` show, and what `up` and `deploy` check before touching a
    /// cluster (Dockerfiles, secrets, manifests).
    pub async fn plan(&self) -> Result<Plan, PipelineError> {
        plan(&self.project).await
    }

    /// Builds `plans` into `docker` (as many at once as it has CPUs).
    pub async fn build(
        &self,
        docker: &bollard::Docker,
        daemon: &DaemonFacts,
        plans: Vec<Planned>,
        force: bool,
    ) -> Result<Built, PipelineError> {
        let work = build::build_all(docker, daemon, &self.project, plans, force, &self.events);
        self.interruptible(work).await
    }

    /// The Kubernetes client of the target, connected on first use.
    pub async fn client(&self) -> Result<&(kube::Client, KubeContext), PipelineError> {
        self.kube
            .get_or_try_init(|| async {
                let t = &self.target;
                Ok::<_, PipelineError>(
                    connect(
                        &self.project.cluster.name,
                        t.context.as_deref(),
                        t.allow_remote,
                    )
                    .await?,
                )
            })
            .await
    }

    /// The client for long-lived streams (logs, port-forwards, execs: no
    /// read timeout, as an idle stream is not a dead cluster).
    pub async fn streams(&self) -> Result<kube::Client, PipelineError> {
        let client = self
            .streams
            .get_or_try_init(|| async {
                let t = &self.target;
                let (client, _) = connect_streaming(
                    &self.project.cluster.name,
                    t.context.as_deref(),
                    t.allow_remote,
                )
                .await?;
                Ok::<_, PipelineError>(client)
            })
            .await?;
        Ok(client.clone())
    }

    /// `up`'s whole sequence, also how `watch` starts: plan and render
    /// offline, the cluster running, every image built (into Minikube's
    /// daemon; with a registry on this machine's and pushed), everything
    /// applied and waited for.
    pub async fn up(&self, opts: &UpOptions) -> Result<Up, PipelineError> {
        let plan = self.plan().await?;
        let images = images(&plan.builds);
        let registry = self.project.registry.as_ref();
        let mut loader = None;
        let endpoint = match (self.other_cluster(), registry) {
            (Some(context), None) => {
                return Err(PipelineError::NeedsRegistry {
                    context: context.to_string(),
                    cluster: self.project.cluster.name.clone(),
                })
            }
            // Not Minikube: no minikube call at all; its nodes pull from the registry.
            (Some(_), Some(_)) => DockerEndpoint::from_env(),
            (None, _) => {
                let node = self
                    .interruptible(cluster::ensure_running(&self.project, &self.events))
                    .await??;
                match node {
                    // Straight into the node's daemon: no registry, no `image load`.
                    NodeImages::Daemon(endpoint) => endpoint,
                    // The pods pull what was pushed: build where the user's Docker is.
                    NodeImages::Pull => DockerEndpoint::from_env(),
                    // No daemon to build into: build here, then copy each in.
                    NodeImages::Load(l) => {
                        loader = Some(Arc::new(l));
                        DockerEndpoint::from_env()
                    }
                }
            }
        };
        let (docker, facts) = docker::probe(&endpoint, DAEMON_DEADLINE).await?;
        let planned = plan
            .builds
            .into_iter()
            .map(|p| (p.service, Ok(p)))
            .collect();
        let built = self.build(&docker, &facts, planned, opts.force).await?;
        let mut up = Up {
            docker,
            daemon: facts,
            images,
            failed_builds: built.failed().iter().map(|s| s.to_string()).collect(),
            failed_pushes: Vec::new(),
            publisher: None,
            loader,
            deployed: Deployed::default(),
        };
        if !up.failed_builds.is_empty() {
            return Ok(up);
        }
        if let Some(loader) = &up.loader {
            let images = built.images();
            let work = async {
                // A forced rebuild may differ under the same tag: send it whatever the nodes hold.
                let client = match opts.force {
                    true => None,
                    false => Some(&self.client().await?.0),
                };
                loader.load_missing(client, &images, &self.events).await
            };
            self.interruptible(work).await??;
        }
        if let Some(registry) = registry {
            let publisher = push::connect(registry, &self.events).await;
            let work = push::push_all(&up.docker, publisher.as_ref(), &built, &self.events);
            let pushes = self.interruptible(work).await?;
            if !pushes.failed.is_empty() {
                // Nothing is applied: what runs in the cluster stays as it was.
                up.failed_pushes = pushes.failed.iter().map(|s| s.to_string()).collect();
                return Ok(up);
            }
            up.images = pushes.apply_to(&up.images);
            up.publisher = publisher.map(Arc::new);
        }
        let objects = Objects {
            images: &up.images,
            dev: &opts.dev,
            pull_secret: up.publisher.as_ref().and_then(|p| p.pull_secret.as_ref()),
        };
        up.deployed = self
            .deploy(&plan.manifests, objects, &opts.recreate, opts.timeout)
            .await?;
        Ok(up)
    }

    /// The context named when it is not the project's Minikube (whose
    /// context is named after its profile).
    fn other_cluster(&self) -> Option<&str> {
        self.target
            .context
            .as_deref()
            .filter(|c| *c != self.project.cluster.name)
    }

    /// `--recreate` (if any), then render with the cluster's secrets, apply,
    /// prune, wait, and say where to open the app (or why it failed).
    pub async fn deploy(
        &self,
        offline: &[Manifest],
        objects: Objects<'_>,
        recreate: &[String],
        timeout: Duration,
    ) -> Result<Deployed, PipelineError> {
        let at = self.cluster().await?;
        deploy::recreate(&at, &self.project, offline, recreate, timeout).await?;
        let deployed = deploy::deploy(&at, &self.project, objects, timeout).await?;
        if deployed.failed.is_empty() {
            let urls = report::access(&self.project, at.context, at.client).await;
            self.events.deploy(DeployEvent::Open {
                namespace: self.project.namespace.clone(),
                urls,
            });
        }
        Ok(deployed)
    }

    /// What the deploy stage gets: the client, its context, events, Ctrl-C.
    async fn cluster(&self) -> Result<Cluster<'_>, PipelineError> {
        let (client, context) = self.client().await?;
        Ok(Cluster {
            client,
            context,
            events: &self.events,
            cancel: &self.cancel,
        })
    }

    /// `watch`'s rollout of one service, or the page's restart (see [`deploy::roll`]).
    pub async fn roll(
        &self,
        objects: Objects<'_>,
        service: &str,
        how: Rollout,
        timeout: Duration,
        on_state: impl FnMut(&RolloutState),
    ) -> Result<Rolled, PipelineError> {
        let at = self.cluster().await?;
        deploy::roll(&at, &self.project, objects, service, how, timeout, on_state).await
    }

    /// Every secret value this run knows, the user's (environment, `.env`)
    /// and the cluster's `todo-secrets`, for the page to mask; the
    /// cluster's are left out when it cannot say.
    pub async fn secret_values(&self) -> Vec<SecretValue> {
        let user = Secrets::gather(&self.project.root, |k| std::env::var(k).ok());
        let mut values: Vec<SecretValue> = user.found.into_values().map(|s| s.value).collect();
        if let Ok((client, _)) = self.client().await {
            let namespace = &self.project.namespace;
            if let Ok(Some(s)) =
                crate::deploy::apply::existing_secret(client, namespace, plan::SECRET_NAME).await
            {
                values.extend(s.into_values().map(SecretValue::new));
            }
        }
        values
    }

    /// `work` until Ctrl-C (then dropped: only for steps that apply nothing).
    async fn interruptible<T>(&self, work: impl Future<Output = T>) -> Result<T, PipelineError> {
        let result = self.cancel.unless(work).await;
        if result.is_err() {
            self.events.rows_done();
        }
        result
    }
}
