//! The cluster step of `up` (and `watch` on a stack that is not up yet):
//! Minikube running with the profile's addons, and its Docker daemon to
//! build into.

use std::time::Duration;

use serde_json::json;

use super::PipelineError;
use crate::docker::DockerEndpoint;
use crate::cluster::minikube::{self, Minikube, StartEvent};
use crate::project::Project;
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};

/// Probes of the minikube CLI; `start` itself has no deadline of ours.
const MINIKUBE_DEADLINE: Duration = Duration::from_secs(30);

/// Starts the project's cluster (or enables missing addons on a running
/// one) and returns its Docker daemon: images built there need no registry.
pub async fn ensure_running(
    project: &Project,
    out: &Output,
) -> Result<DockerEndpoint, PipelineError> {
    let name = project.cluster.name.clone();
    let mk =
        Minikube::locate(&name, MINIKUBE_DEADLINE).ok_or_else(|| PipelineError::NoMinikube {
            hint: minikube::install_hint().to_string(),
        })?;
    let progress = Progress::new(*out, &["minikube".to_string()]);
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
    let env = mk.docker_env().await?;
    Ok(DockerEndpoint::from_vars(|k| env.get(k).cloned()))
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
