use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::build::{build_all, images_or_first_error, plan_all};
use super::deploy::deploy_project;
use super::{load_project, Outcome};
use crate::build::docker::{self, DockerEndpoint};
use crate::cli::{GlobalArgs, TargetArgs, UpArgs};
use crate::cluster::minikube::{self, Minikube, StartEvent};
use crate::deploy::plan;
use crate::project::check_sources;
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};
use crate::UsageError;

/// Probes of the minikube CLI; `start` itself has no deadline of ours.
const MINIKUBE_DEADLINE: Duration = Duration::from_secs(30);

pub async fn run(global: &GlobalArgs, args: &UpArgs, out: &Output) -> anyhow::Result<Outcome> {
    let project = load_project(global)?;
    check_sources(&project)?;
    // What can fail offline fails before Minikube starts: Dockerfiles, secrets, manifests.
    let plans = plan_all(&project, &project.services).await;
    let images = images_or_first_error(&plans).map_err(|e| anyhow::anyhow!("{e}"))?;
    plan::render(&project, &images, &BTreeMap::new())?;

    let name = project.cluster.name.clone();
    let mk = Minikube::locate(&name, MINIKUBE_DEADLINE).ok_or_else(|| {
        UsageError(format!(
            "minikube is not on PATH\n  help: {}",
            minikube::install_hint()
        ))
    })?;
    let cluster = ["minikube".to_string()];
    let progress = Progress::new(*out, &cluster);
    let status = mk.status().await?;
    if status.is_ready() {
        let added = mk.ensure_addons(&project.cluster.addons).await?;
        let text = if added.is_empty() {
            format!("cluster `{name}` running")
        } else {
            format!("cluster `{name}` running; enabled {}", added.join(", "))
        };
        progress.finish(
            "minikube",
            Tone::Good,
            &text,
            event(
                "minikube.ready",
                json!({"cluster": name, "enabledAddons": added}),
            ),
        );
    } else {
        progress.status(
            "minikube",
            &format!("starting cluster `{name}`"),
            event("minikube.start", json!({"cluster": name})),
        );
        let started = mk
            .start(&project.cluster, running_as_root(), |e| match e {
                StartEvent::Step {
                    step,
                    steps,
                    message,
                } => progress.status(
                    "minikube",
                    &format!("{step}/{steps} {message}"),
                    event(
                        "minikube.step",
                        json!({"step": step, "steps": steps, "message": message}),
                    ),
                ),
                StartEvent::Warning(m) => progress.note(
                    "minikube",
                    Tone::Warn,
                    m,
                    event("minikube.warning", json!({"message": m})),
                ),
                _ => {}
            })
            .await;
        if let Err(e) = started {
            progress.finish(
                "minikube",
                Tone::Bad,
                "failed",
                event("minikube.failed", json!({"error": e.to_string()})),
            );
            return Err(e.into());
        }
        progress.finish(
            "minikube",
            Tone::Good,
            &format!("cluster `{name}` started"),
            event("minikube.ready", json!({"cluster": name})),
        );
    }
    drop(progress);

    // Build straight into the node's daemon: no registry, no `image load`.
    let env = mk.docker_env().await?;
    let endpoint = DockerEndpoint::from_vars(|k| env.get(k).cloned());
    let (docker, facts) = docker::probe(&endpoint, Duration::from_secs(15)).await?;
    let failed = build_all(&docker, facts.cpus, &project, plans, args.force, out).await;
    if failed > 0 {
        return Ok(Outcome::Failed);
    }
    let target = TargetArgs {
        context: None,
        allow_remote: false,
    };
    deploy_project(
        &project,
        &images,
        &target,
        Duration::from_secs(args.timeout),
        out,
    )
    .await
}

fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}
