//! What the watched files hold: path -> content fingerprint, taken at start
//! and refreshed for the paths events touched, so a change set is the net
//! difference (a touch, a save without edits or a temp file come and gone
//! change nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::build::hash_cache::HashCache;

use super::scope::WatchScope;

/// What decides a file's part in an image: its contents (the build stage's
/// blake3) and permission bits, or where a symlink points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    File { mode: u32, hash: [u8; 32] },
    Symlink { target: PathBuf },
}

impl Fingerprint {
    /// `None` when the path is gone, is something else, or cannot be read.
    pub fn read(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        let t = meta.file_type();
        if t.is_symlink() {
            return std::fs::read_link(path)
                .ok()
                .map(|target| Fingerprint::Symlink { target });
        }
        if !t.is_file() {
            return None;
        }
        // The build stage's content hash; no cache: these files just changed.
        let hash = HashCache::none().file_hash("", path, meta.len()).ok()?;
        Some(Fingerprint::File {
            mode: mode_bits(&meta),
            hash,
        })
    }
}

#[cfg(unix)]
fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// Every file some service sees, with its fingerprint.
#[derive(Debug, Default)]
pub struct Snapshot {
    files: BTreeMap<PathBuf, Fingerprint>,
}

impl Snapshot {
    /// Reads every file under the scope's roots.
    pub fn take(scope: &WatchScope) -> Snapshot {
        let mut files = BTreeMap::new();
        for root in &scope.roots {
            for path in scope.walk(root).files {
                if let Some(f) = Fingerprint::read(&path) {
                    files.insert(path, f);
                }
            }
        }
        Snapshot { files }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Re-reads each touched path (a directory: everything under it) and
    /// returns the files whose fingerprint differs from before (added,
    /// changed or removed), remembering the new state.
    pub fn refresh(
        &mut self,
        scope: &WatchScope,
        touched: &BTreeSet<PathBuf>,
    ) -> BTreeSet<PathBuf> {
        let mut changed = BTreeSet::new();
        let mut last: Option<&PathBuf> = None;
        for path in touched {
            // Sorted: a path below one already refreshed was covered by it.
            if last.is_some_and(|l| path.starts_with(l)) {
                continue;
            }
            last = Some(path);
            let before: Vec<PathBuf> = self
                .files
                .range(path.clone()..)
                .take_while(|(p, _)| p.starts_with(path))
                .map(|(p, _)| p.clone())
                .collect();
            let mut now: BTreeMap<PathBuf, Fingerprint> = BTreeMap::new();
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => {
                    for file in scope.walk(path).files {
                        if let Some(f) = Fingerprint::read(&file) {
                            now.insert(file, f);
                        }
                    }
                }
                Ok(_) if scope.sees(path) => {
                    if let Some(f) = Fingerprint::read(path) {
                        now.insert(path.clone(), f);
                    }
                }
                _ => {}
            }
            for old in before {
                if !now.contains_key(&old) {
                    self.files.remove(&old);
                    changed.insert(old);
                }
            }
            for (p, f) in now {
                if self.files.get(&p) != Some(&f) {
                    self.files.insert(p.clone(), f);
                    changed.insert(p);
                }
            }
        }
        changed
    }
}
