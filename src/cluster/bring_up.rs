//! Getting the project's Minikube cluster running for `up`, respecting one
//! that already exists: its Kubernetes version, driver and size stay as they
//! are (real-cluster.md, minikube); a stale kubeconfig is repaired; missing
//! addons are enabled with minikube's own (minutes long) deadline. A new
//! cluster gets the Docker runtime and one node, whose daemon the images
//! are built into; an existing one without Docker or with several nodes
//! gets them through `minikube image load`, or pulls them from a registry.

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
    /// The images cannot be built in the node: why, and what happens instead.
    ImageLoad(String),
}

/// How the images todo-dev builds reach the cluster's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFeed {
    /// Built in the node's own Docker daemon, which its pods run from.
    NodeDaemon,
    /// Built on this machine and copied into every node (`minikube image load`).
    ImageLoad,
    /// Pushed to the project's registry; the nodes pull them.
    Registry,
}

/// How `up` found and left the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterReady {
    pub started: bool,
    pub enabled_addons: Vec<String>,
    pub kubernetes_version: String,
    pub driver: String,
    pub feed: NodeFeed,
}

/// Starts the cluster unless it runs, repairs its kubeconfig when
/// misconfigured, and enables the spec's addons. `registry`: the images are
/// pushed there and pulled by the nodes.
pub async fn bring_up(
    mk: &Minikube,
    spec: &ClusterSpec,
    as_root: bool,
    registry: bool,
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
        news(ClusterNews::InUse {
            kubernetes_version: p.kubernetes_version.clone(),
            driver: p.driver.clone(),
        });
        for d in profile_drift(p, spec) {
            news(ClusterNews::Drift(d));
        }
    }
    // Said before anything starts or builds, as every later step follows it.
    let feed = match (registry, existing.as_ref().and_then(load_reason)) {
        (true, _) => NodeFeed::Registry,
        (false, Some(why)) => {
            news(ClusterNews::ImageLoad(why));
            NodeFeed::ImageLoad
        }
        (false, None) => NodeFeed::NodeDaemon,
    };
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
        feed,
    })
}

/// Why images cannot be built in this cluster's node daemon, if they cannot.
pub fn load_reason(p: &ClusterProfile) -> Option<String> {
    let then = "images are built on this machine's Docker and copied into the cluster with `minikube image load` (slower than building in the node: each image is sent again; a registry, or a cluster made by `todo-dev up`, avoids it)";
    if !p.runs_docker() {
        return Some(format!(
            "cluster `{}` runs the `{}` container runtime, which has no Docker daemon to build into: {then}",
            p.name, p.container_runtime
        ));
    }
    if p.nodes > 1 {
        return Some(format!(
            "cluster `{}` has {} nodes, and an image built in one node's daemon would reach only that node: {then}",
            p.name, p.nodes
        ));
    }
    None
}
