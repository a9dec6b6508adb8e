//! The service's running pods and their containers' IDs, as the Kubernetes
//! API reports them (`containerID: docker://<id>` with Minikube's docker
//! runtime; `containerd://`, `cri-o://` elsewhere, synced through the exec API).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::docker::Target;
use super::SyncError;
use crate::container_exec::KubeExec;

/// A container of another runtime: reached through the Kubernetes exec API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// The pod's name (its namespace is the project's).
    pub pod: String,
    pub container: String,
    /// `containerd://...`: names the container instance, for catching up.
    pub runtime_id: String,
}

impl ExecTarget {
    /// Commands in this container, through the API server.
    pub fn exec(&self, client: &kube::Client, namespace: &str) -> KubeExec {
        KubeExec::new(client, namespace, &self.pod, &self.container)
    }
}

/// Where a service's running containers are.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// In the Docker daemon todo-dev builds into (Minikube's docker runtime).
    pub docker: Vec<Target>,
    /// Anywhere else.
    pub exec: Vec<ExecTarget>,
}

impl Targets {
    pub fn len(&self) -> usize {
        self.docker.len() + self.exec.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The containers named `container` in the pods matching `selector`. Pods
/// being deleted are left out; a pod that is not running yet is an error
/// (it would miss the change).
pub async fn targets(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    container: &str,
) -> Result<Targets, SyncError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|source| SyncError::Pods {
            service: container.to_string(),
            source,
        })?;
    let mut targets = Targets::default();
    for pod in pods.items {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = format!(
            "{namespace}/{}",
            pod.metadata.name.clone().unwrap_or_default()
        );
        let status = pod.status.unwrap_or_default();
        let found = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.name == container);
        let running = found
            .as_ref()
            .is_some_and(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
        let id = found.and_then(|c| c.container_id);
        let (true, Some(id)) = (running, id) else {
            return Err(SyncError::NotRunning {
                pod: name,
                state: status.phase.unwrap_or_else(|| "Pending".into()),
            });
        };
        match id.strip_prefix("docker://") {
            Some(docker_id) => targets.docker.push(Target {
                pod: name,
                container_id: docker_id.to_string(),
            }),
            None => targets.exec.push(ExecTarget {
                pod: pod.metadata.name.clone().unwrap_or_default(),
                container: container.to_string(),
                runtime_id: id,
            }),
        }
    }
    if targets.is_empty() {
        return Err(SyncError::NoPods {
            service: container.to_string(),
        });
    }
    Ok(targets)
}
