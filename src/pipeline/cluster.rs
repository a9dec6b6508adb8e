//! The cluster step of `up` (and of `watch` on a stack that is not up yet):
//! Minikube running with the profile's addons, an existing cluster kept as
//! it is, and its Docker daemon to build into.

use std::time::Duration;

use super::event::{ClusterEvent, Event, Events};
use super::PipelineError;
use crate::cluster::bring_up::bring_up;
use crate::cluster::minikube::{self, Minikube};
use crate::docker::DockerEndpoint;
use crate::project::Project;

/// Probes of the minikube CLI; `start` and `addons enable` have their own.
const MINIKUBE_DEADLINE: Duration = Duration::from_secs(30);

/// Starts the project's cluster (or enables missing addons on a running
/// one) and returns its Docker daemon: images built there need no registry.
/// With a registry (`project.registry`) the nodes pull, so any runtime
/// and node count will do and no daemon is returned.
pub async fn ensure_running(
    project: &Project,
    events: &Events,
) -> Result<Option<DockerEndpoint>, PipelineError> {
    let builds_into_node = project.registry.is_none();
    let name = project.cluster.name.clone();
    let mk =
        Minikube::locate(&name, MINIKUBE_DEADLINE).ok_or_else(|| PipelineError::NoMinikube {
            hint: minikube::install_hint().to_string(),
        })?;
    events.rows(vec!["minikube".to_string()]);
    let ready = bring_up(
        &mk,
        &project.cluster,
        running_as_root(),
        builds_into_node,
        |news| {
            events.emit(Event::Cluster(ClusterEvent::News {
                cluster: name.clone(),
                news,
            }))
        },
    )
    .await;
    let ready = match ready {
        Ok(r) => r,
        Err(e) => {
            events.emit(Event::Cluster(ClusterEvent::Failed {
                error: e.to_string(),
            }));
            events.rows_done();
            return Err(e.into());
        }
    };
    events.emit(Event::Cluster(ClusterEvent::Ready {
        cluster: name.clone(),
        ready,
    }));
    events.rows_done();
    if !builds_into_node {
        return Ok(None);
    }
    let env = mk.docker_env().await?;
    // The SSH form is what docker-env gives a node without a Docker runtime
    // (a cluster whose profile did not record its runtime).
    if env
        .get("DOCKER_HOST")
        .is_some_and(|h| h.starts_with("ssh://"))
    {
        return Err(minikube::MinikubeError::not_docker_runtime(&name, "containerd").into());
    }
    Ok(Some(DockerEndpoint::from_vars(|k| env.get(k).cloned())))
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
