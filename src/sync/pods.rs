//! The service's running pods and their containers' IDs, as the Kubernetes
//! API reports them (`containerID: docker://<id>` with Minikube's docker
//! runtime).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::docker::Target;
use super::SyncError;

/// The containers named `container` in the pods matching `selector`. Pods
/// being deleted are left out; a pod that is not running yet, or whose
/// container is not a Docker one, is an error (it would miss the change).
pub async fn docker_targets(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    container: &str,
) -> Result<Vec<Target>, SyncError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|source| SyncError::Pods {
            service: container.to_string(),
            source,
        })?;
    let mut targets = Vec::new();
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
            Some(docker_id) => targets.push(Target {
                pod: name,
                container_id: docker_id.to_string(),
            }),
            None => return Err(SyncError::OtherRuntime { pod: name, id }),
        }
    }
    if targets.is_empty() {
        return Err(SyncError::NoPods {
            service: container.to_string(),
        });
    }
    Ok(targets)
}
