//! Ctrl-C, as the stages see it. Steps that apply nothing (building,
//! waiting, starting the cluster) stop at once; an apply finishes the object
//! in flight and stops before the next.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use super::PipelineError;

/// Ctrl-C, as the stages see it: tripped once, read anywhere.
#[derive(Clone)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Cancel {
        Cancel(Arc::new(watch::channel(false).0))
    }
}

impl Cancel {
    pub fn trip(&self) {
        self.0.send_replace(true);
    }

    pub fn is_tripped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once tripped.
    pub async fn tripped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// `work`, unless Ctrl-C comes first (then `work` is dropped).
    pub async fn unless<T>(&self, work: impl Future<Output = T>) -> Result<T, PipelineError> {
        tokio::select! {
            r = work => Ok(r),
            _ = self.tripped() => Err(PipelineError::Interrupted),
        }
    }
}
