//! File content hashes remembered by stat data, as git's index does: a file
//! whose size, mtime, ctime and inode are unchanged is not read again. Files
//! changed within the last two seconds are never remembered ("racily clean"
//! in git's words: a second write in the same mtime tick would go unseen).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::context::READ_BUFFER;

const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What identifies a file's version without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    // 64-bit: serde's flatten cannot carry 128-bit integers.
    mtime_ns: u64,
    ctime_ns: i64,
    ino: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    stamp: Stamp,
    hash: String,
}

/// Where a project keeps its caches: todo-dev's own directory, which no
/// context sends.
pub fn dir_for(project_root: &Path) -> PathBuf {
    project_root
        .join(super::context::INJECTED_DIR)
        .join("cache")
}

/// A per-context cache file; a missing or unreadable one is just empty.
#[derive(Debug, Default)]
pub struct HashCache {
    path: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    seen: BTreeMap<String, Entry>,
}

impl HashCache {
    pub fn load(path: &Path) -> HashCache {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        HashCache {
            path: Some(path.to_path_buf()),
            entries,
            seen: BTreeMap::new(),
        }
    }

    /// A cache that remembers nothing (no project directory to keep it in).
    pub fn none() -> HashCache {
        HashCache::default()
    }

    /// blake3 of the first `size` bytes of `path`, from the cache when its
    /// stamp still matches.
    pub fn file_hash(&mut self, rel: &str, path: &Path, size: u64) -> std::io::Result<[u8; 32]> {
        let meta = std::fs::symlink_metadata(path)?;
        let stamp = stamp(&meta, size);
        if let Some(e) = self.entries.get(rel).filter(|e| e.stamp == stamp) {
            if let Some(hash) = from_hex(&e.hash) {
                self.seen.insert(rel.to_string(), e.clone());
                return Ok(hash);
            }
        }
        let mut hasher = blake3::Hasher::new();
        let file = std::fs::File::open(path)?;
        let mut reader = std::io::BufReader::with_capacity(READ_BUFFER, file.take(size));
        std::io::copy(&mut reader, &mut hasher)?;
        let hash = *hasher.finalize().as_bytes();
        let racy = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_none_or(|age| age < RACY_WINDOW);
        if !racy {
            self.seen.insert(
                rel.to_string(),
                Entry {
                    stamp,
                    hash: blake3::Hash::from(hash).to_hex().to_string(),
                },
            );
        }
        Ok(hash)
    }

    /// Writes what this run saw (entries for files that are gone drop out).
    /// A cache that cannot be written only costs a re-read next time.
    pub fn save(self) {
        let Some(path) = self.path else { return };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
            if let Some(state) = dir.parent() {
                super::context::ignore_state_in_git(state);
            }
        }
        if let Ok(bytes) = serde_json::to_vec(&self.seen) {
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, bytes).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }
}

fn stamp(meta: &std::fs::Metadata, size: u64) -> Stamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    #[cfg(unix)]
    let (ctime_ns, ino) = {
        use std::os::unix::fs::MetadataExt;
        (meta.ctime() * 1_000_000_000 + meta.ctime_nsec(), meta.ino())
    };
    #[cfg(not(unix))]
    let (ctime_ns, ino) = (0, 0);
    Stamp {
        size,
        mtime_ns,
        ctime_ns,
        ino,
    }
}

fn from_hex(hex: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(hex).ok().map(|h| *h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn unchanged_files_come_from_the_cache_and_changed_ones_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        let cache_path = dir.path().join("cache.json");
        std::fs::write(&file, "one").unwrap();
        aged(&file);
        let mut c = HashCache::load(&cache_path);
        let h1 = c.file_hash("a.txt", &file, 3).unwrap();
        assert_eq!(h1, *blake3::hash(b"one").as_bytes());
        c.save();
        let saved = std::fs::read_to_string(&cache_path).unwrap();
        assert!(saved.contains(&blake3::hash(b"one").to_hex().to_string()));

        // Same stamp: the cached hash is trusted (proved by poisoning it).
        let poisoned = saved.replace(
            &blake3::hash(b"one").to_hex().to_string(),
            blake3::hash(b"poison").to_hex().as_str(),
        );
        std::fs::write(&cache_path, poisoned).unwrap();
        let mut c = HashCache::load(&cache_path);
        assert_eq!(
            c.file_hash("a.txt", &file, 3).unwrap(),
            *blake3::hash(b"poison").as_bytes()
        );

        // New contents, even at the same size: the stamp differs, the file is read.
        std::fs::write(&file, "two").unwrap();
        aged(&file);
        let mut c = HashCache::load(&cache_path);
        assert_eq!(
            c.file_hash("a.txt", &file, 3).unwrap(),
            *blake3::hash(b"two").as_bytes()
        );
    }

    #[test]
    fn a_file_written_just_now_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "fresh").unwrap();
        let cache_path = dir.path().join("cache.json");
        let mut c = HashCache::load(&cache_path);
        c.file_hash("a.txt", &file, 5).unwrap();
        c.save();
        assert_eq!(std::fs::read_to_string(&cache_path).unwrap(), "{}");
    }
}
