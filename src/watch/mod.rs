//! What `watch` observes. For now: which directories it would register, so
//! `doctor` can hold them against the inotify limit.

use std::path::{Path, PathBuf};

use crate::project::Project;

/// Directories never worth watching: dependencies, caches, VCS metadata.
pub const IGNORED_DIRS: [&str; 11] = [
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".next",
    "dist",
    "build",
    ".pytest_cache",
    ".mypy_cache",
    ".todo-dev",
];

/// The watch roots of the enabled services, without roots nested in others.
pub fn watch_roots(project: &Project) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = project
        .services
        .iter()
        .flat_map(|s| s.watch.iter().cloned())
        .filter(|p| p.exists())
        .collect();
    roots.sort();
    roots.dedup();
    let all = roots.clone();
    roots.retain(|r| !all.iter().any(|o| o != r && r.starts_with(o)));
    roots
}

/// How many directories a recursive watch of `roots` registers (one inotify
/// watch each), skipping ignored ones and not following symlinks.
pub fn count_watched_dirs(roots: &[PathBuf]) -> u64 {
    let mut count = 0;
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        count += 1;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !is_ignored(&entry.path()) {
                stack.push(entry.path());
            }
        }
    }
    count
}

fn is_ignored(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| IGNORED_DIRS.contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_directories_but_not_ignored_ones() {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "app/api",
            "app/models",
            "node_modules/x/y",
            ".git/objects",
            "tests",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        // root, app, app/api, app/models, tests
        assert_eq!(count_watched_dirs(&[dir.path().to_path_buf()]), 5);
    }
}
