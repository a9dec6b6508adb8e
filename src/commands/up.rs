use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::build::{build_all, images_or_first_error, plan_all};
use super::deploy::{deploy_project, recreate_workloads};
use super::{load_project, Outcome};
use crate::build::docker::{self, DockerEndpoint};
use crate::cli::{GlobalArgs, TargetArgs, UpArgs};
use crate::cluster::bring_up::{bring_up, ClusterNews};
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
    let timeout = Duration::from_secs(args.timeout);
    recreate_workloads(&project, &images, &target, &args.recreate, timeout, out).await?;
    deploy_project(
        &project,
        &images,
        &target,
        Duration::from_secs(args.timeout),
        out,
    )
    .await
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
