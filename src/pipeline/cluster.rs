//! The cluster step of `up` (and of `watch` on a stack that is not up yet):
//! Minikube running with the profile's addons, an existing cluster kept as
//! it is, and its Docker daemon to build into.

use std::time::Duration;

use serde_json::json;

use super::PipelineError;
use crate::cluster::bring_up::{bring_up, ClusterNews};
use crate::cluster::minikube::{self, Minikube, StartEvent};
use crate::docker::DockerEndpoint;
use crate::project::Project;
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};

/// Probes of the minikube CLI; `start` and `addons enable` have their own.
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
    let ready = bring_up(&mk, &project.cluster, running_as_root(), |news| {
        report_cluster_news(&progress, &name, news)
    })
    .await;
    let ready = match ready {
        Ok(r) => r,
        Err(e) => {
            progress.finish(
                "minikube",
                Tone::Bad,
                "failed",
                event("minikube.failed", json!({"error": e.to_string()})),
            );
            return Err(e.into());
        }
    };
    let verb = if ready.started { "started" } else { "running" };
    let mut text = format!(
        "cluster `{name}` {verb} (Kubernetes {}, driver {})",
        ready.kubernetes_version, ready.driver
    );
    if !ready.enabled_addons.is_empty() {
        text.push_str(&format!("; enabled {}", ready.enabled_addons.join(", ")));
    }
    progress.finish(
        "minikube",
        Tone::Good,
        &text,
        event(
            "minikube.ready",
            json!({"cluster": name, "started": ready.started, "enabledAddons": ready.enabled_addons,
                   "kubernetesVersion": ready.kubernetes_version, "driver": ready.driver}),
        ),
    );
    drop(progress);
    let env = mk.docker_env().await?;
    // The SSH form is what docker-env gives a node without a Docker runtime
    // (a cluster whose profile did not record its runtime).
    if env
        .get("DOCKER_HOST")
        .is_some_and(|h| h.starts_with("ssh://"))
    {
        return Err(minikube::MinikubeError::not_docker_runtime(&name, "containerd").into());
    }
    Ok(DockerEndpoint::from_vars(|k| env.get(k).cloned()))
}

/// One progress line for what happens to the cluster on the way up.
fn report_cluster_news(progress: &Progress, name: &str, news: ClusterNews) {
    match news {
        ClusterNews::InUse {
            kubernetes_version,
            driver,
        } => progress.note(
            "minikube",
            Tone::Dim,
            &format!("cluster `{name}` exists: Kubernetes {kubernetes_version}, driver {driver}"),
            event(
                "minikube.existing",
                json!({"cluster": name, "kubernetesVersion": kubernetes_version, "driver": driver}),
            ),
        ),
        ClusterNews::Drift(text) => progress.note(
            "minikube",
            Tone::Warn,
            &text,
            event("minikube.warning", json!({"message": text})),
        ),
        ClusterNews::Starting => progress.status(
            "minikube",
            &format!("starting cluster `{name}`"),
            event("minikube.start", json!({"cluster": name})),
        ),
        ClusterNews::Start(StartEvent::Step {
            step,
            steps,
            message,
        }) => progress.status(
            "minikube",
            &format!("{step}/{steps} {message}"),
            event(
                "minikube.step",
                json!({"step": step, "steps": steps, "message": message}),
            ),
        ),
        ClusterNews::Start(StartEvent::Warning(m)) => progress.note(
            "minikube",
            Tone::Warn,
            &m,
            event("minikube.warning", json!({"message": m})),
        ),
        ClusterNews::Start(_) => {}
        ClusterNews::RepairingKubeconfig => progress.note(
            "minikube",
            Tone::Warn,
            &format!("the kubeconfig of `{name}` points at a stale address: running `minikube update-context -p {name}`"),
            event("minikube.update-context", json!({"cluster": name})),
        ),
        ClusterNews::EnablingAddon { addon, note } => progress.status(
            "minikube",
            &note,
            event("minikube.addon", json!({"addon": addon, "message": note})),
        ),
    }
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
