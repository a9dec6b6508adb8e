//! The live status page (`watch`, `up --ui`): a reporter beside the
//! terminal's. Every event is folded into [`state::PageState`] and what it
//! changed is pushed to the open pages as server-sent events; `server`
//! serves them on 127.0.0.1 behind a token. Buttons come back as [`Ask`]s
//! for the command's loop to act on: the page never acts itself.
//!
//! No secret value reaches a page: events hold none, and the values a
//! container's own log line might print (the project's and the cluster's
//! secrets) are masked in every message before it leaves.

pub mod last_verify;
pub mod server;
pub mod state;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::pipeline::event::{Event, Reporter};
use crate::project::model::ServiceName;
use crate::project::secrets::SecretValue;
use state::{Change, PageState};

pub use server::{serve, Serving};

/// What a page's button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Build the service's image again (even when its tag exists) and roll it.
    Rebuild(ServiceName),
    /// New pods from the image it runs (`kubectl rollout restart`).
    Restart(ServiceName),
    /// `verify`'s checks on the cluster (never disruptive).
    Verify,
}

/// One message to the pages: an SSE event name and its JSON.
#[derive(Debug)]
pub struct Message {
    pub kind: &'static str,
    pub data: String,
}

/// Messages a page may fall behind by before it is sent a fresh snapshot.
const BACKLOG: usize = 1_024;
/// Shorter values are not masked (they would mask ordinary words).
const MASK_MIN: usize = 6;

pub struct Page {
    state: Mutex<PageState>,
    tx: broadcast::Sender<Arc<Message>>,
    /// Each secret value as it appears inside a JSON string.
    masks: RwLock<Vec<String>>,
}

impl Page {
    pub fn new(services: &[ServiceName]) -> Arc<Page> {
        let names: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
        Arc::new(Page {
            state: Mutex::new(PageState::new(&names)),
            tx: broadcast::channel(BACKLOG).0,
            masks: RwLock::new(Vec::new()),
        })
    }

    /// Values masked in every message from now on.
    pub fn mask(&self, secrets: &[SecretValue]) {
        let mut masks = self.masks.write();
        for s in secrets.iter().map(SecretValue::expose) {
            if s.len() < MASK_MIN {
                continue;
            }
            let quoted = serde_json::to_string(s).unwrap_or_default();
            let inner = quoted[1..quoted.len() - 1].to_string();
            if !masks.contains(&inner) {
                masks.push(inner);
            }
        }
        // Longest first: a secret holding another is masked whole.
        masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
    }

    pub fn is_service(&self, name: &str) -> bool {
        self.state.lock().is_service(name)
    }

    /// A `verify` run elsewhere (its kept result): shown as the last one.
    pub fn verified(&self, view: state::VerifyView) {
        let at = now_ms();
        let mut state = self.state.lock();
        let mut value = json!(state.verified(view));
        value["at"] = json!(at);
        let _ = self.tx.send(Arc::new(self.message("app", &value)));
    }

    /// The whole state now, and the messages after it.
    pub fn subscribe(&self) -> (Message, broadcast::Receiver<Arc<Message>>) {
        let state = self.state.lock();
        // Subscribed under the lock: nothing falls between the snapshot and the stream.
        let rx = self.tx.subscribe();
        (self.snapshot_of(&state), rx)
    }

    /// The whole state now.
    pub fn snapshot(&self) -> Message {
        self.snapshot_of(&self.state.lock())
    }

    fn snapshot_of(&self, state: &PageState) -> Message {
        let mut snapshot = state.snapshot();
        snapshot["at"] = json!(now_ms());
        self.message("snapshot", &snapshot)
    }

    fn message(&self, kind: &'static str, value: &Value) -> Message {
        let mut data = value.to_string();
        for m in self.masks.read().iter() {
            if data.contains(m.as_str()) {
                data = data.replace(m.as_str(), "<redacted>");
            }
        }
        Message { kind, data }
    }
}

impl Reporter for Page {
    fn report(&self, event: &Event) {
        let at = now_ms();
        let mut state = self.state.lock();
        for change in state.apply(event, at) {
            let (kind, mut value) = match change {
                Change::Row(r) => ("row", json!(r)),
                Change::Log { row, line } => ("log", json!({"row": row, "line": line})),
                Change::App(a) => ("app", json!(a)),
            };
            value["at"] = json!(at);
            // No page open: nothing to send.
            let _ = self.tx.send(Arc::new(self.message(kind, &value)));
        }
    }
}

/// Milliseconds since the epoch (what the page's latency figures count from).
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
