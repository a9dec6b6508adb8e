//! The build step, the one sequence every command builds with: plan every
//! service (context scan + content tag), then build the missing images, as
//! many at once as the daemon has CPUs, emitting an event per step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use super::event::{BuildEvent, Events};
use crate::build::builder::{self, Builder};
use crate::build::image::{self, BuildError, BuildEvent as DaemonEvent, BuildOutcome, BuildPlan};
use crate::docker::DaemonFacts;
use crate::project::model::{Service, ServiceName};
use crate::project::Project;

/// A service and its build plan (or why it has none).
pub type Planned = (ServiceName, Result<BuildPlan, BuildError>);

/// Plans one service on a blocking thread (it reads and hashes the context).
pub async fn plan_one(project: &Project, service: &Service) -> Result<BuildPlan, BuildError> {
    let (instance, cache_dir) = (
        project.instance_name(),
        crate::build::hash_cache::dir_for(&project.root),
    );
    let (owned, secrets) = (service.clone(), project.build_secrets.clone());
    tokio::task::spawn_blocking(move || image::plan(&instance, &owned, &secrets, Some(&cache_dir)))
        .await
        .map_err(|source| BuildError::Planner {
            service: service.name,
            source,
        })?
}

/// Plans every service at once.
pub async fn plan_all(project: &Project, services: &[Service]) -> Vec<Planned> {
    let plans = services.iter().map(|s| plan_one(project, s));
    futures::future::join_all(plans)
        .await
        .into_iter()
        .zip(services)
        .map(|(plan, service)| (service.name, plan))
        .collect()
}

/// How one service's build ended.
#[derive(Debug)]
pub struct BuildResult {
    pub service: ServiceName,
    /// The image now in the daemon, or why there is none.
    pub outcome: Result<(String, BuildOutcome), String>,
    /// From the start of this service's build (its slot wait included).
    pub seconds: f64,
}

/// What a build step did.
#[derive(Debug, Default)]
pub struct Built {
    pub results: Vec<BuildResult>,
}

impl Built {
    /// The services that failed, each already reported.
    pub fn failed(&self) -> Vec<ServiceName> {
        self.results
            .iter()
            .filter(|r| r.outcome.is_err())
            .map(|r| r.service)
            .collect()
    }

    /// The images that built (or were already there), by reference.
    pub fn images(&self) -> Vec<&str> {
        self.results
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok().map(|(image, _)| image.as_str()))
            .collect()
    }
}

/// Where a service's build log goes.
pub fn log_path(project: &Project, service: ServiceName) -> PathBuf {
    project
        .root
        .join(format!(".todo-dev/logs/build-{service}.log"))
}

/// The builder `daemon` gets, given the user's `DOCKER_BUILDKIT`.
pub fn builder_for(daemon: &DaemonFacts) -> builder::Choice {
    builder::choose(
        &daemon.os_type,
        &daemon.api_version,
        std::env::var("DOCKER_BUILDKIT").ok().as_deref(),
    )
}

/// Builds `plans` into `docker`, as many at once as the daemon has CPUs,
/// with BuildKit where the daemon has it (`build::builder` decides).
pub async fn build_all(
    docker: &bollard::Docker,
    daemon: &DaemonFacts,
    project: &Project,
    plans: Vec<Planned>,
    force: bool,
    events: &Events,
) -> Built {
    let choice = builder_for(daemon);
    if let Some(message) = choice.fallback {
        events.build(BuildEvent::LegacyBuilder { message });
    }
    let slots = Arc::new(Semaphore::new(daemon.cpus.max(1) as usize));
    events.rows(plans.iter().map(|(s, _)| s.to_string()).collect());
    let mut tasks = Vec::new();
    for (service, plan) in plans {
        let (docker, daemon, slots, events, log) = (
            docker.clone(),
            daemon.clone(),
            slots.clone(),
            events.clone(),
            log_path(project, service),
        );
        tasks.push((
            service,
            tokio::spawn(async move {
                let started = Instant::now();
                let _slot = slots.acquire_owned().await;
                let outcome = build_one(
                    (&docker, &daemon),
                    choice.builder,
                    service,
                    plan,
                    &log,
                    force,
                    &events,
                )
                .await;
                BuildResult {
                    service,
                    outcome,
                    seconds: started.elapsed().as_secs_f64(),
                }
            }),
        ));
    }
    let mut built = Built::default();
    for (service, task) in tasks {
        built.results.push(match task.await {
            Ok(result) => result,
            Err(e) => BuildResult {
                service,
                outcome: Err(e.to_string()),
                seconds: 0.0,
            },
        });
    }
    events.rows_done();
    built
}

/// Checks and builds one planned service, reporting as it goes.
async fn build_one(
    (docker, daemon): (&bollard::Docker, &DaemonFacts),
    builder: Builder,
    service: ServiceName,
    planned: Result<BuildPlan, BuildError>,
    log: &Path,
    force: bool,
    events: &Events,
) -> Result<(String, BuildOutcome), String> {
    let name = service.to_string();
    let failed = |error: String, log: Option<&Path>| {
        events.build(BuildEvent::Failed {
            service: name.clone(),
            error: error.clone(),
            log: log.map(Path::to_path_buf),
        });
        Err(error)
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => return failed(e.to_string(), None),
    };
    let dockerignore = plan.context.root.join(".dockerignore");
    for w in plan.context.warnings() {
        events.build(BuildEvent::Warning {
            service: name.clone(),
            message: w.message.clone(),
            dockerignore: dockerignore.clone(),
            ignore_line: w.ignore_line.clone(),
        });
    }
    let image = plan.image.to_string();
    events.build(BuildEvent::Started {
        service: name.clone(),
        image: image.clone(),
        context_bytes: plan.context.total_size(),
        entries: plan.context.entries.len(),
    });
    let on_event = |e: DaemonEvent| match e {
        DaemonEvent::Step {
            step,
            steps,
            instruction,
        } => events.build(BuildEvent::Step {
            service: name.clone(),
            step,
            steps,
            instruction,
        }),
        DaemonEvent::Warning(message) => events.build(BuildEvent::Warning {
            service: name.clone(),
            message,
            dockerignore: dockerignore.clone(),
            ignore_line: None,
        }),
        DaemonEvent::Output(_) => {}
    };
    match image::build(docker, daemon, plan, builder, force, log, on_event).await {
        Ok(outcome) => {
            events.build(BuildEvent::Done {
                service: name.clone(),
                image: image.clone(),
                seconds: match outcome {
                    BuildOutcome::Unchanged => None,
                    BuildOutcome::Built { seconds } => Some(seconds),
                },
                bytes: image::size(docker, &image).await,
            });
            Ok((image, outcome))
        }
        Err(e) => failed(e.to_string(), Some(log)),
    }
}
