//! The cluster step of `up` (and of `watch` on a stack that is not up yet):
//! Minikube running with the profile's addons, an existing cluster kept as
//! it is, and its Docker daemon to build into.

use std::time::Duration;

use super::event::{ClusterEvent, Event, Events};
use super::PipelineError;
use crate::cluster::bring_up::{bring_up, NodeFeed};
use crate::cluster::minikube::{self, Minikube};
use crate::cluster::nodes;
use crate::docker::DockerEndpoint;
use crate::project::Project;

/// Probes of the minikube CLI; `start` and `addons enable` have their own.
const MINIKUBE_DEADLINE: Duration = Duration::from_secs(30);

/// How the images built for this run reach the cluster's pods.
pub enum NodeImages {
    /// Build into the node's Docker daemon (its docker-env): nothing to move.
    Daemon(DockerEndpoint),
    /// Build on this machine; the nodes pull them from the registry.
    Pull,
    /// Build on this machine, then copy each into the nodes.
    Load(Loader),
}

/// Copies built images into a Minikube whose nodes have no Docker daemon to
/// build into (containerd, cri-o) or are several.
pub struct Loader {
    mk: Minikube,
}

/// How long one `minikube image load` may take (it sends the whole image).
const IMAGE_LOAD_DEADLINE: Duration = Duration::from_secs(900);

impl Loader {
    /// `minikube image load IMAGE` from the environment's Docker daemon into every node.
    pub async fn load(&self, image: &str, events: &Events) -> Result<(), PipelineError> {
        let started = std::time::Instant::now();
        self.mk.image_load(image, IMAGE_LOAD_DEADLINE).await?;
        events.emit(Event::Cluster(ClusterEvent::ImageLoaded {
            cluster: self.mk.profile.clone(),
            image: image.to_string(),
            seconds: started.elapsed().as_secs_f64(),
        }));
        Ok(())
    }

    /// Loads each of `images` that some node lacks, as its kubelet reports
    /// the node's images (`status.images`; Skaffold reads the same for kind).
    /// A node list that cannot be read, is empty, or is not asked for
    /// (`client` None) loads everything.
    pub async fn load_missing(
        &self,
        client: Option<&kube::Client>,
        images: &[&str],
        events: &Events,
    ) -> Result<(), PipelineError> {
        let nodes = match client {
            Some(c) => nodes::images(c).await.unwrap_or_default(),
            None => Vec::new(),
        };
        for image in images {
            if nodes::on_every_node(&nodes, image) {
                events.emit(Event::Cluster(ClusterEvent::ImagePresent {
                    cluster: self.mk.profile.clone(),
                    image: image.to_string(),
                }));
                continue;
            }
            self.load(image, events).await?;
        }
        Ok(())
    }
}

/// Starts the project's cluster (or enables missing addons on a running
/// one) and says how its pods get the images: its Docker daemon when it has
/// one to build into (no registry, no copy), the registry when the project
/// has one, else `minikube image load`.
pub async fn ensure_running(
    project: &Project,
    events: &Events,
) -> Result<NodeImages, PipelineError> {
    let name = project.cluster.name.clone();
    let mk =
        Minikube::locate(&name, MINIKUBE_DEADLINE).ok_or_else(|| PipelineError::NoMinikube {
            hint: minikube::install_hint().to_string(),
        })?;
    events.rows(vec!["minikube".to_string()]);
    let registry = project.registry.is_some();
    let ready = bring_up(&mk, &project.cluster, running_as_root(), registry, |news| {
        events.emit(Event::Cluster(ClusterEvent::News {
            cluster: name.clone(),
            news,
        }))
    })
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
    let feed = ready.feed.clone();
    events.emit(Event::Cluster(ClusterEvent::Ready {
        cluster: name.clone(),
        ready,
    }));
    events.rows_done();
    match feed {
        NodeFeed::Registry => return Ok(NodeImages::Pull),
        NodeFeed::ImageLoad => return Ok(NodeImages::Load(Loader { mk })),
        NodeFeed::NodeDaemon => {}
    }
    let env = mk.docker_env().await?;
    // The SSH form is what docker-env gives a node without a Docker runtime
    // (a cluster whose profile did not record its runtime): copy instead.
    if env
        .get("DOCKER_HOST")
        .is_some_and(|h| h.starts_with("ssh://"))
    {
        return Ok(NodeImages::Load(Loader { mk }));
    }
    Ok(NodeImages::Daemon(DockerEndpoint::from_vars(|k| {
        env.get(k).cloned()
    })))
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
