use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Semaphore;

use super::{load_project, Outcome};
use crate::build::docker::{self, DockerEndpoint};
use crate::build::image::{self, BuildEvent, BuildOutcome, BuildPlan};
use crate::cli::{BuildArgs, GlobalArgs};
use crate::project::error::did_you_mean;
use crate::project::model::{Service, ServiceName};
use crate::project::{check_sources, Project};
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};
use crate::UsageError;

/// How long to wait for the daemon to answer before giving up on a build.
const DAEMON_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(global: &GlobalArgs, args: &BuildArgs, out: &Output) -> anyhow::Result<Outcome> {
    let project = load_project(global)?;
    check_sources(&project)?;
    let services = select(&project, &args.services)?;
    let endpoint = DockerEndpoint::from_env();
    // Reach the daemon while the contexts are scanned and hashed.
    let (probed, plans) = tokio::join!(
        docker::probe(&endpoint, DAEMON_DEADLINE),
        plan_all(&project, &services)
    );
    let (docker, facts) = probed?;
    let failed = build_all(&docker, facts.cpus, &project, plans, args.force, out).await;
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// A service and its build plan (or why it has none).
pub type Planned = (ServiceName, Result<BuildPlan, image::BuildError>);

/// The image each service will run, or the first planning error (the
/// offline check `up` and `deploy` make before touching anything).
pub fn images_or_first_error(
    plans: &[Planned],
) -> Result<std::collections::BTreeMap<ServiceName, String>, &image::BuildError> {
    plans
        .iter()
        .map(|(s, p)| p.as_ref().map(|p| (*s, p.image.to_string())))
        .collect()
}

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
            Err(e) => (
                service.name,
                Err(image::BuildError::Daemon {
                    service: service.name,
                    image: service.image.clone(),
                    reason: e.to_string(),
                }),
            ),
        })
        .collect()
}

/// Builds `services` into `docker`, as many at once as the daemon has CPUs.
/// Returns how many failed (each already reported).
pub async fn build_all(
    docker: &bollard::Docker,
    daemon_cpus: u32,
    project: &Project,
    plans: Vec<Planned>,
    force: bool,
    out: &Output,
) -> usize {
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
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            build_one(&docker, service, plan, &logs, force, &progress).await
        }));
    }
    let mut failed = 0;
    for t in tasks {
        if !matches!(t.await, Ok(true)) {
            failed += 1;
        }
    }
    failed
}

/// The named services (all enabled ones when none are named).
fn select(project: &Project, names: &[String]) -> Result<Vec<Service>, UsageError> {
    if names.is_empty() {
        return Ok(project.services.clone());
    }
    let enabled: Vec<&str> = project.services.iter().map(|s| s.name.as_str()).collect();
    names
        .iter()
        .map(|n| {
            let found = ServiceName::parse(n).and_then(|name| project.service(name));
            found.cloned().ok_or_else(|| {
                let hint = match did_you_mean(n, enabled.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "profile `{}` builds: {}",
                        project.profile.name,
                        enabled.join(", ")
                    ),
                };
                UsageError(format!("no service `{n}` in this project\n  help: {hint}"))
            })
        })
        .collect()
}

/// Plans, checks and builds one service, reporting as it goes. True on success.
async fn build_one(
    docker: &bollard::Docker,
    service: ServiceName,
    planned: Result<BuildPlan, image::BuildError>,
    logs: &std::path::Path,
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
        if w.secret {
            // Secrets never reach an image: a .env in the context stops the build.
            let message = format!("refusing to send secrets into an image: {}{fix}", w.message);
            return fail(progress, &name, &message, None);
        }
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

fn fail(progress: &Progress, name: &str, message: &str, log: Option<&std::path::Path>) -> bool {
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
