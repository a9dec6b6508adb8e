//! The machine todo-dev runs on: CPUs, memory, free disk, inotify limit,
//! and file modes where the file system has them (Unix) or not (Windows).

use std::path::{Path, PathBuf};

use sysinfo::{Disks, System};

/// The user's home (`HOME`, or `USERPROFILE` on Windows); empty when neither is set.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    pub cpus: u32,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
    /// Free bytes on the filesystem holding `disk_path`, if it could be told.
    pub disk_free_bytes: Option<u64>,
    pub disk_path: PathBuf,
}

/// Where minikube keeps its machines: `$MINIKUBE_HOME` or `~/.minikube`.
pub fn minikube_home() -> PathBuf {
    std::env::var_os("MINIKUBE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".minikube")))
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn read(disk_path: &Path) -> HostFacts {
    let (total, available) = match System::new() {
        Ok(mut sys) => {
            sys.refresh_memory();
            (sys.total_memory(), sys.available_memory())
        }
        Err(_) => (0, 0),
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    HostFacts {
        cpus,
        memory_total_bytes: total,
        memory_available_bytes: available,
        disk_free_bytes: free_space(disk_path),
        disk_path: disk_path.to_path_buf(),
    }
}

/// Free space of the mount that holds `path` (or its nearest existing parent).
fn free_space(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let existing = existing.canonicalize().ok()?;
    let disks = Disks::new_with_refreshed_list().ok()?;
    disks
        .into_iter()
        .filter(|d| existing.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// The per-user inotify watch limit (Linux); `None` elsewhere.
pub fn inotify_watch_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// A file's permission bits as a Linux container should get them: the
/// file's own on Unix; elsewhere (no such bits) rw-r--r--, rwxr-xr-x for a
/// directory.
pub fn mode_of(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        if meta.is_dir() {
            0o755
        } else {
            0o644
        }
    }
}

/// Gives `path` exactly these permission bits, whatever the umask; a no-op
/// where the file system has none.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
