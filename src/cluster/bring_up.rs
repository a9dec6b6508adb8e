//! Getting the project's Minikube cluster running for `up`, respecting one
//! that already exists: its Kubernetes version, driver and size stay as they
//! are (real-cluster.md, minikube); a stale kubeconfig is repaired; missing
//! addons are enabled with minikube's own (minutes long) deadline. A new
//! cluster gets the Docker runtime; an existing one with another runtime is
//! refused with the fix, before anything is built, unless its pods pull
//! from a registry (then no image is built into the node).

use super::minikube::{
    addon_wait_note, profile_drift, ClusterProfile, HostState, Minikube, MinikubeError, StartEvent,
};
use crate::project::model::ClusterSpec;

/// What happens on the way, for progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterNews {
    /// The cluster exists: what it runs (kept, whatever the profile says).
    InUse {
        kubernetes_version: String,
        driver: String,
    },
    /// It differs from the profile; the text carries the fix.
    Drift(String),
    Starting,
    Start(StartEvent),
    /// Running `minikube update-context` (status said Misconfigured).
    RepairingKubeconfig,
    /// Enabling an addon; the text says what it waits for.
    EnablingAddon {
        addon: String,
        note: String,
    },
}

/// How `up` found and left the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterReady {
    pub started: bool,
    pub enabled_addons: Vec<String>,
    pub kubernetes_version: String,
    pub driver: String,
}

/// Starts the cluster unless it runs, repairs its kubeconfig when
/// misconfigured, and enables the spec's addons. `builds_into_node`: the
/// images are built in the node's Docker daemon, so it must run Docker.
pub async fn bring_up(
    mk: &Minikube,
    spec: &ClusterSpec,
    as_root: bool,
    builds_into_node: bool,
    mut news: impl FnMut(ClusterNews),
) -> Result<ClusterReady, MinikubeError> {
    let status = mk.status().await?;
    let existing: Option<ClusterProfile> = if status.host == HostState::Nonexistent {
        None
    } else {
        mk.cluster_profile().await?
    };
    if let Some(p) = &existing {
        // Said before anything starts or builds: every later step needs it.
        if builds_into_node && !p.runs_docker() {
            return Err(MinikubeError::not_docker_runtime(
                &p.name,
                &p.container_runtime,
            ));
        }
        news(ClusterNews::InUse {
            kubernetes_version: p.kubernetes_version.clone(),
            driver: p.driver.clone(),
        });
        for d in profile_drift(p, spec) {
            news(ClusterNews::Drift(d));
        }
    }
    let started = !status.is_ready();
    if started {
        news(ClusterNews::Starting);
        mk.start(spec, as_root, existing.as_ref(), |e| {
            news(ClusterNews::Start(e.clone()))
        })
        .await?;
    } else if status.kubeconfig_misconfigured() {
        news(ClusterNews::RepairingKubeconfig);
        mk.update_context().await?;
    }
    let enabled_addons = mk
        .ensure_addons(&spec.addons, |addon| {
            news(ClusterNews::EnablingAddon {
                addon: addon.to_string(),
                note: addon_wait_note(addon),
            })
        })
        .await?;
    let (kubernetes_version, driver) = match &existing {
        Some(p) => (p.kubernetes_version.clone(), p.driver.clone()),
        None => (spec.kubernetes_version.clone(), spec.driver.clone()),
    };
    Ok(ClusterReady {
        started,
        enabled_addons,
        kubernetes_version,
        driver,
    })
}
