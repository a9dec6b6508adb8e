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
    let (docker, facts) = docker::probe(&endpoint, DAEMON_DEADLINE).await?;
    // Independent services build at once, as many as the daemon has CPUs.
    let slots = Arc::new(Semaphore::new(facts.cpus.max(1) as usize));
    let names: Vec<String> = services.iter().map(|s| s.name.to_string()).collect();
    let progress = Arc::new(Progress::new(*out, &names));
    let project = Arc::new(project);
    let mut tasks = Vec::new();
    for service in services {
        let (docker, slots, progress, project) = (
            docker.clone(),
            slots.clone(),
            progress.clone(),
            project.clone(),
        );
        let force = args.force;
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            build_one(&docker, &project, service, force, &progress).await
        }));
    }
    let mut failed = 0;
    for t in tasks {
        if !matches!(t.await, Ok(true)) {
            failed += 1;
        }
    }
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
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
    project: &Project,
    service: Service,
    force: bool,
    progress: &Progress,
) -> bool {
    let name = service.name.to_string();
    progress.status(
        &name,
        "scanning context",
        event("build.scan", json!({"service": name})),
    );
    let project_name = project.instance_name();
    let planned = tokio::task::spawn_blocking(move || image::plan(&project_name, &service)).await;
    let plan: BuildPlan = match planned {
        Ok(Ok(plan)) => plan,
        Ok(Err(e)) => return fail(progress, &name, &e.to_string(), None),
        Err(e) => return fail(progress, &name, &e.to_string(), None),
    };
    for w in plan.context.warnings() {
        let fix = w
            .ignore_line
            .as_ref()
            .map(|l| {
                format!(
                    "; add `{l}` to {}",
                    plan.context.root.join(".dockerignore").display()
                )
            })
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
    let log = project
        .root
        .join(".todo-dev/logs")
        .join(format!("build-{name}.log"));
    progress.status(
        &name,
        &format!("{image}: sending {} files", plan.context.entries.len()),
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
