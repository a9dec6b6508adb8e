//! The machine todo-dev runs on: CPUs, memory, free disk, inotify limit.

use std::path::{Path, PathBuf};

use sysinfo::{Disks, System};

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
