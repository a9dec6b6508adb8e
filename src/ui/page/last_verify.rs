//! `verify`'s last result on the project's cluster, kept in
//! `.todo-dev/verify-last.json` by the `verify` command so a page that is
//! open (or opened later) shows it: the same check objects `--json` prints,
//! which hold no secret value.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Value};

use super::state::{fields_of, VerifyView};
use crate::pipeline::event::{Event, VerifyEvent};
use crate::verify::VerifyCheck;

pub fn path(root: &Path) -> PathBuf {
    root.join(".todo-dev/verify-last.json")
}

/// Writes the run's result (whole or not at all: a rename).
pub fn remember(root: &Path, checks: &[VerifyCheck], done: &VerifyEvent) -> std::io::Result<()> {
    let VerifyEvent::Done { ok, failed, ms, .. } = done else {
        return Ok(());
    };
    let checks: Vec<Value> = checks
        .iter()
        .map(|c| fields_of(&Event::Verify(VerifyEvent::Check(c.clone()))))
        .collect();
    let body =
        json!({"at": super::now_ms(), "ok": ok, "failed": failed, "ms": ms, "checks": checks});
    let path = path(root);
    std::fs::create_dir_all(path.parent().unwrap_or(root))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&body)?)?;
    std::fs::rename(tmp, path)
}

/// The kept result and when its file changed, when it changed since
/// `seen` (only then is it read).
pub fn read_if_newer(root: &Path, seen: Option<SystemTime>) -> Option<(SystemTime, VerifyView)> {
    let path = path(root);
    let changed = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if seen == Some(changed) {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let view = VerifyView {
        running: false,
        at: v["at"].as_f64()?,
        ok: v["ok"].as_bool(),
        failed: v["failed"].as_u64()? as usize,
        ms: v["ms"].as_u64(),
        checks: v["checks"].as_array()?.clone(),
        message: None,
    };
    Some((changed, view))
}
