//! `watch`'s sync: a change set the service's `sync` rules cover, copied
//! into the running containers instead of rebuilding the image.
//!
//! - `rules`: where each changed file goes in the container (the rule's
//!   `dest` plus its path below the glob's fixed prefix), and what `run`s.
//! - `pods`: the service's running pods and their container IDs, from the
//!   Kubernetes API.
//! - `docker`: for a container in the Docker daemon todo-dev builds into
//!   (Minikube's docker runtime): the files as a tar through Docker's archive
//!   API (unpacked by the daemon: no `tar` needed in the image, scratch and
//!   distroless included), entries owned by the user the pod runs as,
//!   deletions and `run` commands through Docker's exec API.
//!
//! - elsewhere (containerd, cri-o, a remote cluster): `cluster::exec`, the
//!   Kubernetes exec API with `tar -x` (no `tar` in the image: rebuild).
//!
//! Anything that keeps a pod from getting the change is a [`SyncError`]: the
//! pipeline reports it and rebuilds instead, never a stale pod called updated.

pub mod docker;
pub mod pods;
pub mod rules;

use std::path::PathBuf;

pub use rules::{Placement, SyncPlan};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{} is not covered by a sync rule", .0.display())]
    NotCovered(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot list the pods of `{service}`: {source}")]
    Pods {
        service: String,
        #[source]
        source: kube::Error,
    },
    #[error("no running pod of `{service}` to sync into")]
    NoPods { service: String },
    #[error("pod {pod} is not running yet ({state}): it would start without the change")]
    NotRunning { pod: String, state: String },
    #[error(transparent)]
    ByExec(#[from] crate::cluster::exec::ExecSyncError),
    #[error("pod {pod}'s container {id} is not in the Docker daemon todo-dev builds into (gone, or another daemon)")]
    ContainerGone { pod: String, id: String },
    #[error("pod {pod}'s container {id} is not running")]
    ContainerStopped { pod: String, id: String },
    #[error("copying into pod {pod} failed: {source}{hint}")]
    Upload {
        pod: String,
        hint: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the image of pod {pod} has no `rm`: a deleted file cannot be removed from the running container")]
    NoRm { pod: String },
    #[error("`{command}` in pod {pod} failed ({status}): {output}")]
    Exec {
        pod: String,
        command: String,
        status: String,
        output: String,
    },
    #[error("Docker exec in pod {pod} failed: {source}")]
    Docker {
        pod: String,
        #[source]
        source: bollard::errors::Error,
    },
}
