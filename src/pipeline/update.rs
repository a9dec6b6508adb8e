//! How a change reaches a service's pods, decided once: copied in (sync) or
//! built and rolled (rebuild), and when a sync cannot be done, why, as a
//! type. The watch executor acts on the decision and never compares text.

use std::fmt;

use crate::sync::SyncError;
use crate::watch::Action;

/// What one service's change set becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Copy the changed files (and run the rules' commands) into the running pods.
    Sync,
    /// Build the new content tag and roll the workload to it; `fallback`
    /// says why a change the sync rules cover is rebuilt instead.
    Rebuild { fallback: Option<Fallback> },
}

/// Why a change the sync rules cover is rebuilt instead of synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// A rebuild of the service has begun and not reached its pods yet: a
    /// sync now would leave that change out.
    EarlierChangePending,
    /// The sync itself did not work.
    SyncFailed { kind: SyncFailure, message: String },
}

/// What went wrong in a sync, as a kind (the message keeps the detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncFailure {
    /// A path outside the service's sync rules.
    NotCovered,
    /// The service has no running pod to sync into.
    NoPods,
    /// A pod is starting: it would come up without the change.
    PodNotReady,
    /// The container is gone, stopped, or in another daemon.
    ContainerGone,
    /// The image lacks a command a sync needs (`tar`, `rm`, `sh`, `head`).
    MissingTool,
    /// A command in the container (extract, delete, a rule's `run`) failed.
    CommandFailed,
    /// Reading the files, listing pods or talking to the container failed.
    Transport,
}

impl SyncFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncFailure::NotCovered => "not-covered",
            SyncFailure::NoPods => "no-pods",
            SyncFailure::PodNotReady => "pod-not-ready",
            SyncFailure::ContainerGone => "container-gone",
            SyncFailure::MissingTool => "missing-tool",
            SyncFailure::CommandFailed => "command-failed",
            SyncFailure::Transport => "transport",
        }
    }
}

impl Fallback {
    /// A short name for `--json` (`reason` keeps the sentence).
    pub fn kind(&self) -> &'static str {
        match self {
            Fallback::EarlierChangePending => "earlier-change-pending",
            Fallback::SyncFailed { kind, .. } => kind.as_str(),
        }
    }
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::EarlierChangePending => {
                f.write_str("an earlier change of this service has not reached its pods yet")
            }
            Fallback::SyncFailed { message, .. } => f.write_str(message),
        }
    }
}

impl From<&SyncError> for Fallback {
    fn from(e: &SyncError) -> Fallback {
        Fallback::SyncFailed {
            kind: failure_of(e),
            message: e.to_string(),
        }
    }
}

fn failure_of(e: &SyncError) -> SyncFailure {
    use crate::container_exec::ExecError as X;
    match e {
        SyncError::NotCovered(_) => SyncFailure::NotCovered,
        SyncError::NoPods { .. } => SyncFailure::NoPods,
        SyncError::NotRunning { .. } => SyncFailure::PodNotReady,
        SyncError::Exec(X::ContainerGone { .. } | X::ContainerStopped { .. }) => {
            SyncFailure::ContainerGone
        }
        SyncError::Exec(
            X::NoTar { .. } | X::NoRm { .. } | X::NoShell { .. } | X::NoHead { .. },
        ) => SyncFailure::MissingTool,
        SyncError::Exec(X::Failed { .. }) => SyncFailure::CommandFailed,
        _ => SyncFailure::Transport,
    }
}

/// The one decision: what the watcher's `action` for a service becomes,
/// given whether a rebuild of it is still on its way to the pods.
pub fn decide(action: Action, rebuild_pending: bool) -> Update {
    match (action, rebuild_pending) {
        (Action::Rebuild, _) => Update::Rebuild { fallback: None },
        (Action::Sync, true) => Update::Rebuild {
            fallback: Some(Fallback::EarlierChangePending),
        },
        (Action::Sync, false) => Update::Sync,
    }
}

/// A sync that failed becomes a rebuild, with the reason.
pub fn after_failed_sync(e: &SyncError) -> Update {
    Update::Rebuild {
        fallback: Some(Fallback::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_covered_change_syncs_unless_a_rebuild_is_on_its_way() {
        assert_eq!(decide(Action::Sync, false), Update::Sync);
        assert_eq!(
            decide(Action::Sync, true),
            Update::Rebuild {
                fallback: Some(Fallback::EarlierChangePending)
            }
        );
        assert_eq!(
            decide(Action::Rebuild, false),
            Update::Rebuild { fallback: None }
        );
        assert_eq!(
            decide(Action::Rebuild, true),
            Update::Rebuild { fallback: None }
        );
    }

    #[test]
    fn a_failed_sync_is_rebuilt_with_its_kind_and_message() {
        let e = SyncError::NoPods {
            service: "backend".into(),
        };
        let Update::Rebuild {
            fallback: Some(reason),
        } = after_failed_sync(&e)
        else {
            panic!("a failed sync must rebuild");
        };
        assert_eq!(reason.kind(), "no-pods");
        assert_eq!(
            reason.to_string(),
            "no running pod of `backend` to sync into"
        );
        let e = SyncError::NotRunning {
            pod: "backend-1".into(),
            state: "ContainerCreating".into(),
        };
        assert_eq!(Fallback::from(&e).kind(), "pod-not-ready");
        let e = SyncError::Exec(crate::container_exec::ExecError::UnsafeDeletion {
            path: "../x".into(),
            at: crate::container_exec::Container::Docker {
                name: "backend-1".into(),
            },
        });
        assert_eq!(Fallback::from(&e).kind(), "transport");
    }
}
