//! Host CPUs, memory and disk against the profile; inotify against the watch.

use serde_json::json;

use super::{Check, Needs, Status};
use crate::host::{self, gib};
use crate::project::Project;
use crate::watch;

/// CPUs, memory and disk. Blocking (reads /proc): doctor runs it off the runtime.
pub fn checks(needs: &Needs) -> Vec<Check> {
    let facts = host::read(&host::minikube_home());
    let cpus = Check::new("host.cpus", "host CPUs", true);
    let cpus = if facts.cpus >= needs.cpus {
        cpus.ok(format!("{} CPUs (profile needs {})", facts.cpus, needs.cpus))
    } else {
        cpus.problem(
            Status::Fail,
            format!("{} CPUs, the profile's cluster needs {}", facts.cpus, needs.cpus),
            "use a profile that needs fewer CPUs (`todo-dev profiles`, e.g. --profile lite), or a bigger machine",
        )
    }
    .with_data(json!({"cpus": facts.cpus, "needed": needs.cpus}));

    let memory = Check::new("host.memory", "host memory", true);
    let memory = if facts.memory_total_bytes < needs.memory_bytes {
        memory.problem(
            Status::Fail,
            format!("{} in all, the profile's cluster needs {}", gib(facts.memory_total_bytes), gib(needs.memory_bytes)),
            "use a profile that needs less memory (e.g. --profile lite), or set cluster.memory lower (at least 1800MiB)",
        )
    } else if facts.memory_available_bytes < needs.memory_bytes {
        memory.problem(
            Status::Warning,
            format!("{} in all but only {} free now; the cluster takes {}", gib(facts.memory_total_bytes), gib(facts.memory_available_bytes), gib(needs.memory_bytes)),
            "close memory-hungry programs before `todo-dev up`",
        )
    } else {
        memory.ok(format!("{} ({} free; profile needs {})", gib(facts.memory_total_bytes), gib(facts.memory_available_bytes), gib(needs.memory_bytes)))
    }
    .with_data(json!({"totalBytes": facts.memory_total_bytes, "availableBytes": facts.memory_available_bytes, "neededBytes": needs.memory_bytes}));

    let disk = Check::new("host.disk", "free disk", true);
    let disk = match facts.disk_free_bytes {
        Some(free) if free >= needs.disk_bytes => {
            disk.ok(format!("{} free at {} (profile needs {})", gib(free), facts.disk_path.display(), gib(needs.disk_bytes)))
        }
        Some(free) => disk.problem(
            Status::Fail,
            format!("{} free at {}, the cluster's disk needs {}", gib(free), facts.disk_path.display(), gib(needs.disk_bytes)),
            "free some space (`docker system prune` removes unused images), or set cluster.disk lower",
        ),
        None => disk.problem(
            Status::Warning,
            format!("cannot tell the free space at {}", facts.disk_path.display()),
            format!("check by hand that {} are free (df -h)", gib(needs.disk_bytes)),
        ),
    }
    .with_data(json!({"freeBytes": facts.disk_free_bytes, "path": facts.disk_path, "neededBytes": needs.disk_bytes}));

    vec![cpus, memory, disk]
}

/// The watches `watch` would need against the limit. Blocking (walks the tree).
pub fn inotify(project: &Project) -> Check {
    let check = Check::new("host.inotify", "file watch limit", false);
    let dirs = match watch::WatchScope::new(project) {
        Ok(scope) => scope.directories().len() as u64,
        Err(e) => {
            return check.problem(
                Status::Warning,
                format!("cannot tell how many directories `watch` needs: {e}"),
                "fix the file or setting named above",
            )
        }
    };
    let Some(limit) = host::inotify_watch_limit() else {
        return check
            .ok(format!(
                "{dirs} directories to watch; no inotify limit on this system"
            ))
            .with_data(json!({"directories": dirs}));
    };
    let data = json!({"directories": dirs, "limit": limit});
    // Other programs (editors, language servers) hold watches too: keep headroom.
    if dirs.saturating_mul(2) > limit {
        check.problem(
            Status::Warning,
            format!("`todo-dev watch` needs {dirs} watches; the limit is {limit}"),
            format!("raise it: `echo fs.inotify.max_user_watches={} | sudo tee /etc/sysctl.d/90-todo-dev.conf && sudo sysctl --system`", watch::scope::suggested_watch_limit(dirs)),
        )
    } else {
        check.ok(format!("{dirs} directories to watch, limit {limit}"))
    }
    .with_data(data)
}
