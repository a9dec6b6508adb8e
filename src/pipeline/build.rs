//! The build step: plan every service (context scan + content tag), then
//! build the missing images, as many at once as the daemon has CPUs,
//! reporting per service.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::build::image::{self, BuildError, BuildEvent, BuildOutcome, BuildPlan};
use crate::project::model::{Service, ServiceName};
use crate::project::Project;
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};

/// A service and its build plan (or why it has none).
pub type Planned = (ServiceName, Result<BuildPlan, BuildError>);

/// Plans every service at once, each on a blocking thread.
pub async fn plan_all(project: &Project, services: &[Service]) -> Vec<Planned> {
    let instance = project.instance_name();
    let cache_dir = crate::build::hash_cache::dir_for(&project.root);
    let tasks = services.iter().cloned().map(|service| {
        let (instance, cache_dir) = (instance.clone(), cache_dir.clone());
        tokio::task::spawn_blocking(move || {
            (
                service.name,
                image::plan(&instance, &service, Some(&cache_dir)),
            )
        })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .zip(services)
        .map(|(joined, service)| match joined {
            Ok(planned) => planned,
            Err(source) => (
                service.name,
                Err(BuildError::Planner {
                    service: service.name,
                    source,
                }),
            ),
        })
        .collect()
}

/// What a build step did.
#[derive(Debug, Default)]
pub struct Built {
    /// The services whose image is now in the daemon.
    pub ready: Vec<ServiceName>,
    /// The services that failed, each already reported.
    pub failed: Vec<ServiceName>,
}

/// Builds `plans` into `docker`, as many at once as the daemon has CPUs.
pub async fn build_all(
    docker: &bollard::Docker,
    daemon_cpus: u32,
    project: &Project,
    plans: Vec<Planned>,
    force: bool,
    out: &Output,
) -> Built {
    let slots = Arc::new(Semaphore::new(daemon_cpus.max(1) as usize));
    let names: Vec<String> = plans.iter().map(|(s, _)| s.to_string()).collect();
    let progress = Arc::new(Progress::new(*out, &names));
    let logs = project.root.join(".todo-dev/logs");
    let mut tasks = Vec::new();
    for (service, plan) in plans {
        let (docker, slots, progress, logs) = (
            docker.clone(),
            slots.clone(),
            progress.clone(),
            logs.clone(),
        );
        tasks.push((
            service,
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                build_one(&docker, service, plan, &logs, force, &progress).await
            }),
        ));
    }
    let mut built = Built::default();
    for (service, task) in tasks {
        if matches!(task.await, Ok(true)) {
            built.ready.push(service);
        } else {
            built.failed.push(service);
        }
    }
    built
}

/// Checks and builds one planned service, reporting as it goes. True on success.
async fn build_one(
    docker: &bollard::Docker,
    service: ServiceName,
    planned: Result<BuildPlan, BuildError>,
    logs: &Path,
    force: bool,
    progress: &Progress,
) -> bool {
    let name = service.to_string();
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => return fail(progress, &name, &e.to_string(), None),
    };
    let dockerignore = plan.context.root.join(".dockerignore");
    for w in plan.context.warnings() {
        let fix = w
            .ignore_line
            .as_ref()
            .map(|l| format!("; add `{l}` to {}", dockerignore.display()))
            .unwrap_or_default();
        progress.note(
            &name,
            Tone::Warn,
            &format!("warning: {}{fix}", w.message),
            event(
                "build.warning",
                json!({"service": name, "message": w.message, "dockerignoreLine": w.ignore_line}),
            ),
        );
    }
    let image = plan.image.to_string();
    let log = logs.join(format!("build-{name}.log"));
    progress.status(
        &name,
        // Nothing is sent yet: the daemon may already have this image.
        &format!("{image}: asking the daemon"),
        event("build.start", json!({"service": name, "image": image, "contextBytes": plan.context.total_size(), "entries": plan.context.entries.len()})),
    );
    let on_event = |e: BuildEvent| {
        if let BuildEvent::Step {
            step,
            steps,
            instruction,
        } = e
        {
            let short: String = instruction.chars().take(80).collect();
            progress.status(
                &name,
                &format!("step {step}/{steps} {short}"),
                event("build.step", json!({"service": name, "step": step, "steps": steps, "instruction": instruction})),
            );
        }
    };
    match image::build(docker, plan, force, &log, on_event).await {
        Ok(BuildOutcome::Unchanged) => {
            progress.finish(
                &name,
                Tone::Good,
                &format!("{image} unchanged"),
                event(
                    "build.done",
                    json!({"service": name, "image": image, "result": "unchanged"}),
                ),
            );
            true
        }
        Ok(BuildOutcome::Built { seconds }) => {
            progress.finish(
                &name,
                Tone::Good,
                &format!("{image} built in {seconds:.1}s"),
                event(
                    "build.done",
                    json!({"service": name, "image": image, "result": "built", "seconds": seconds}),
                ),
            );
            true
        }
        Err(e) => fail(progress, &name, &e.to_string(), Some(&log)),
    }
}

fn fail(progress: &Progress, name: &str, message: &str, log: Option<&Path>) -> bool {
    progress.finish(
        name,
        Tone::Bad,
        &format!("failed: {message}"),
        event(
            "build.failed",
            json!({"service": name, "error": message, "log": log}),
        ),
    );
    false
}
