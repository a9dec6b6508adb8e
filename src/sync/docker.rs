//! The archive a sync sends (to any runtime), and syncing into a container
//! of the Docker daemon todo-dev builds into (Minikube's docker runtime):
//! the daemon unpacks the tar itself (`PUT /containers/{id}/archive`), so
//! the image needs no `tar`.

use bollard::Docker;

use super::rules::SyncPlan;
use super::SyncError;
use crate::container_exec::DockerExec;

/// A pod's container in the daemon.
#[derive(Debug, Clone)]
pub struct Target {
    /// `namespace/pod`, for messages.
    pub pod: String,
    pub container_id: String,
}

/// The plan's files and directories as a tar of absolute paths (to unpack
/// at `/`), owned by `uid:uid` (the pod's user), each with its local mode.
/// Every entry is stamped with the time of the sync, to the nanosecond (PAX
/// `mtime`/`atime` records, which Docker's archive extraction honours), as
/// `tar -m` does on the exec path: a reloader comparing mtimes (uvicorn's
/// StatReload reloads on `mtime > last`) sees a second save within the same
/// second, which whole-second local mtimes would hide.
pub fn archive(plan: &SyncPlan, uid: u32) -> Result<Vec<u8>, SyncError> {
    archive_at(plan, uid, std::time::SystemTime::now())
}

/// `archive` stamped with `synced_at`.
pub fn archive_at(
    plan: &SyncPlan,
    uid: u32,
    synced_at: std::time::SystemTime,
) -> Result<Vec<u8>, SyncError> {
    let mut tar = tar::Builder::new(Vec::new());
    let read = |path: &std::path::Path, source| SyncError::Read {
        path: path.to_path_buf(),
        source,
    };
    let since_epoch = synced_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = format!(
        "{}.{:09}",
        since_epoch.as_secs(),
        since_epoch.subsec_nanos()
    );
    let header = |kind, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode & 0o7777);
        h.set_size(size);
        h.set_mtime(since_epoch.as_secs());
        h.set_uid(uid.into());
        h.set_gid(uid.into());
        h
    };
    for dir in &plan.dirs {
        // A directory that is not there locally (a rule's dest only) gets rwxr-xr-x.
        let mode = match std::fs::metadata(&dir.local) {
            Ok(m) if m.is_dir() => crate::host::mode_of(&m),
            _ => 0o755,
        };
        let mut h = header(tar::EntryType::Directory, mode, 0);
        let name = format!("{}/", dir.container.trim_start_matches('/'));
        append_times(&mut tar, &stamp).map_err(|e| read(&dir.local, e))?;
        tar.append_data(&mut h, name, std::io::empty())
            .map_err(|e| read(&dir.local, e))?;
    }
    for file in &plan.copies {
        let meta = std::fs::metadata(&file.local).map_err(|e| read(&file.local, e))?;
        let bytes = std::fs::read(&file.local).map_err(|e| read(&file.local, e))?;
        let mut h = header(
            tar::EntryType::Regular,
            crate::host::mode_of(&meta),
            bytes.len() as u64,
        );
        let name = file.container.trim_start_matches('/');
        append_times(&mut tar, &stamp).map_err(|e| read(&file.local, e))?;
        tar.append_data(&mut h, name, bytes.as_slice())
            .map_err(|e| read(&file.local, e))?;
    }
    tar.into_inner().map_err(|e| SyncError::Read {
        path: "(tar)".into(),
        source: e,
    })
}

/// A PAX extended header for the entry that follows: its mtime and atime
/// as `SECONDS.NANOS` (POSIX pax format, one `LEN key=value\n` record each).
fn append_times(tar: &mut tar::Builder<Vec<u8>>, stamp: &str) -> std::io::Result<()> {
    let mut records = Vec::new();
    for key in ["mtime", "atime"] {
        records.extend_from_slice(pax_record(key, stamp).as_bytes());
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_mode(0o644);
    h.set_size(records.len() as u64);
    // A PAX header's own name is informational (extractors skip it): a fixed
    // one fits ustar's 100 bytes whatever the entry's name (GNU tar's long
    // names and multi-byte characters included).
    h.set_path("PaxHeaders/entry")?;
    h.set_cksum();
    tar.append(&h, records.as_slice())
}

/// One PAX record: its length (in decimal, counting itself) first.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

impl Target {
    /// Commands in this container run as `uid`, the pod's user.
    pub fn exec(&self, docker: &Docker, uid: u32) -> DockerExec {
        DockerExec::pod(docker, &self.pod, &self.container_id, uid)
    }
}

/// Deletions (`rm -rf --` as the pod's user), then the archive (skipped
/// when the plan copies nothing), then the rules' `run` commands, in the
/// one container; meanwhile the container is checked to be running (a
/// stopped one would be replaced without the change).
pub async fn apply(
    docker: &Docker,
    target: &Target,
    plan: &SyncPlan,
    tar: bytes::Bytes,
    uid: u32,
) -> Result<(), SyncError> {
    let exec = target.exec(docker, uid);
    let archive = match plan.copies.is_empty() {
        true => bytes::Bytes::new(),
        false => tar,
    };
    let (checked, applied) = tokio::join!(
        exec.running(),
        super::apply(&exec, &plan.deletions, archive, &plan.runs)
    );
    applied?;
    Ok(checked?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        // POSIX pax: "%d %s=%s\n", the length counting its own digits.
        assert_eq!(pax_record("mtime", "1.5"), "13 mtime=1.5\n");
        let r = pax_record("mtime", "1796506645.311104734");
        assert_eq!(r.len().to_string(), r.split(' ').next().unwrap());
        let long = "x".repeat(90);
        let r = pax_record("path", &long);
        assert_eq!(r.len().to_string(), r.split(' ').next().unwrap());
    }
}
