//! `watch`'s sync: a change set the service's `sync` rules cover, copied
//! into the running containers instead of rebuilding the image.
//!
//! - `rules`: where each changed file goes in the container (the rule's
//!   `dest` plus its path below the glob's fixed prefix), and what `run`s.
//! - `pods`: the service's running pods and their container IDs, from the
//!   Kubernetes API.
//! - `docker`: the files as a tar of absolute paths, entries owned by the
//!   user the pod runs as; for a container in the Docker daemon todo-dev
//!   builds into (Minikube's docker runtime), the change applied with the
//!   container checked to be running.
//! - [`apply`]: deletions, the archive and the rules' `run`s, in any
//!   container (`container_exec`): with Docker the daemon unpacks the
//!   archive (no `tar` needed in the image, scratch and distroless
//!   included); elsewhere (containerd, cri-o, a remote cluster) `tar -x`
//!   runs in it through the Kubernetes exec API (no `tar`: rebuild).
//!
//! Anything that keeps a pod from getting the change is a [`SyncError`]: the
//! pipeline reports it and rebuilds instead, never a stale pod called updated.

pub mod docker;
pub mod pods;
pub mod rules;

use std::path::PathBuf;

use crate::container_exec::{Command, ContainerExec, ExecError};

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
    /// Running a command in, or copying into, one container.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// What a change did in one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub tar_bytes: usize,
    pub deleted: usize,
}

/// One container's part of a change: `deletions` removed (first, so a
/// directory replaced by a file, or the reverse, ends as the archive says),
/// `archive` unpacked at the root, then the rules' `runs` (`sh -c`), in order.
/// An empty `archive` or `deletions` is skipped.
pub async fn apply(
    exec: &impl ContainerExec,
    deletions: &[String],
    archive: bytes::Bytes,
    runs: &[String],
) -> Result<Applied, ExecError> {
    if !deletions.is_empty() {
        exec.check(&Command::remove(exec.container(), deletions)?)
            .await?;
    }
    let tar_bytes = archive.len();
    if !archive.is_empty() {
        exec.extract(archive).await?;
    }
    for run in runs {
        exec.check(&Command::shell(run)).await?;
    }
    Ok(Applied {
        tar_bytes,
        deleted: deletions.len(),
    })
}
