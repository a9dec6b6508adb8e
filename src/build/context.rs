//! A service's build context: what is sent (after `.dockerignore`), the
//! content hash that names the image, and the deterministic tar stream.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::hash_cache::HashCache;
use super::ignore::{self, ContextEntry, DockerIgnore, EntryKind};

/// todo-dev's own directory: never sent from the user's tree (it holds logs
/// and profiles); the files todo-dev adds to a context (a template, an
/// outside Dockerfile) go there instead.
pub const INJECTED_DIR: &str = ".todo-dev";

/// Writes `.todo-dev/.gitignore` so the logs and caches todo-dev keeps there
/// never land in the user's git (their `.todo-dev/profiles` still do).
pub fn ignore_state_in_git(todo_dev_dir: &Path) {
    let file = todo_dev_dir.join(".gitignore");
    if !file.exists() && std::fs::create_dir_all(todo_dev_dir).is_ok() {
        let _ = std::fs::write(
            file,
            "# written by todo-dev: its logs and caches stay out of git\nlogs/\ncache/\n",
        );
    }
}

/// Every tar entry gets this mtime (2000-01-01): the same inputs give the
/// same bytes, whenever and wherever they were checked out.
const FIXED_MTIME: u64 = 946_684_800;

/// Bump when what goes into the hash changes, so old tags stop matching.
const HASH_FORMAT: &str = "todo-dev context v2";

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("{}: {source}", .path.display())]
    Ignore {
        path: PathBuf,
        source: ignore::IgnoreError,
    },
    #[error("cannot read the build context {}: {source}", .root.display())]
    Walk {
        root: PathBuf,
        source: ignore::WalkError,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Contexts above this size are worth a warning (the 100 MB).
pub const LARGE_CONTEXT: u64 = 100_000_000;

/// Directories that should almost never be sent to the daemon.
const SUSPECT_NAMES: [&str; 3] = ["node_modules", ".venv", ".git"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextWarning {
    pub message: String,
    /// The line to add to `.dockerignore`, when one fixes it.
    pub ignore_line: Option<String>,
}

/// A secrets file in a context: the build planner refuses to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// Its path inside the context.
    pub rel_path: String,
    /// The `.dockerignore` line that keeps it out.
    pub ignore_line: String,
}

/// `.env` and `.env.*` hold secrets; `.env.example` and `.env.sample` are
/// the committed templates of them.
fn is_secrets_file(name: &str) -> bool {
    (name == ".env" || name.starts_with(".env.")) && !matches!(name, ".env.example" | ".env.sample")
}

/// A file added to the context by todo-dev, with its bytes.
#[derive(Debug, Clone)]
pub struct InjectedFile {
    /// Path inside the context: under INJECTED_DIR, or at the root for an
    /// outside Dockerfile and the `.dockerignore` that names it (as the docker CLI sends them).
    pub rel_path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
}

/// The context's `.dockerignore` rules (none when it has no such file).
pub fn read_dockerignore(context: &Path) -> Result<DockerIgnore, ContextError> {
    read_ignore_file(&context.join(".dockerignore"))
}

/// The rules in an ignore file (the context's, or a Dockerfile's own); a
/// missing file means no rules.
pub fn read_ignore_file(ignore_path: &Path) -> Result<DockerIgnore, ContextError> {
    let ignore_path = ignore_path.to_path_buf();
    match std::fs::read_to_string(&ignore_path) {
        Ok(text) => DockerIgnore::parse(&text).map_err(|source| ContextError::Ignore {
            path: ignore_path,
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DockerIgnore::empty()),
        Err(source) => Err(ContextError::Read {
            path: ignore_path,
            source,
        }),
    }
}

/// What one build sends: the filtered tree plus injected files.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub root: PathBuf,
    pub entries: Vec<ContextEntry>,
    pub injected: Vec<InjectedFile>,
}

impl BuildContext {
    /// Walks `root` with its `.dockerignore`. `always_send` are context-relative
    /// paths docker sends even when ignored (the Dockerfile, `.dockerignore`).
    pub fn scan(root: &Path, always_send: &[&str]) -> Result<BuildContext, ContextError> {
        BuildContext::scan_with_rules(root, &root.join(".dockerignore"), always_send)
    }

    /// Walks `root` filtered by the rules in `ignore_path` (a missing file
    /// means no rules): the context's `.dockerignore`, or a Dockerfile's own.
    pub fn scan_with_rules(
        root: &Path,
        ignore_path: &Path,
        always_send: &[&str],
    ) -> Result<BuildContext, ContextError> {
        let rules = read_ignore_file(ignore_path)?;
        let entries = ignore::walk(root, &rules, always_send)
            .map_err(|source| ContextError::Walk {
                root: root.to_path_buf(),
                source,
            })?
            .into_iter()
            .filter(|e| !is_injected_path(&e.rel_path))
            .collect();
        Ok(BuildContext {
            root: root.to_path_buf(),
            entries,
            injected: Vec::new(),
        })
    }

    /// Bytes of regular files sent (injected files included).
    pub fn total_size(&self) -> u64 {
        let own: u64 = self.entries.iter().map(file_size).sum();
        own + self
            .injected
            .iter()
            .map(|f| f.contents.len() as u64)
            .sum::<u64>()
    }

    /// What is probably sent by mistake: a huge context, dependencies, VCS
    /// data or a secrets file. Each with the `.dockerignore` line that fixes it.
    pub fn warnings(&self) -> Vec<ContextWarning> {
        let mut out = Vec::new();
        let size = self.total_size();
        if size > LARGE_CONTEXT {
            out.push(ContextWarning {
                message: format!("the build context is {} MB", size / 1_000_000),
                ignore_line: None,
            });
        }
        for name in SUSPECT_NAMES {
            let hit = self
                .entries
                .iter()
                .find(|e| e.rel_path.split('/').any(|part| part == name));
            if let Some(e) = hit {
                let top_level = e.rel_path.split('/').next() == Some(name);
                let line = if top_level {
                    name.to_string()
                } else {
                    format!("**/{name}")
                };
                out.push(ContextWarning {
                    message: format!(
                        "the context holds `{}`, a directory that belongs outside images",
                        e.rel_path
                    ),
                    ignore_line: Some(line),
                });
            }
        }
        out
    }

    /// The secrets files this context would send (secrets never reach an image).
    pub fn secret_files(&self) -> Vec<SecretFile> {
        self.entries
            .iter()
            .filter(|e| !matches!(e.kind, EntryKind::Dir))
            .filter_map(|e| {
                let name = e.rel_path.rsplit('/').next()?;
                is_secrets_file(name).then(|| SecretFile {
                    rel_path: e.rel_path.clone(),
                    ignore_line: if e.rel_path.contains('/') {
                        format!("**/{name}")
                    } else {
                        name.to_string()
                    },
                })
            })
            .collect()
    }

    /// Hash of everything that decides the image: each entry's path, kind,
    /// mode and contents, the injected files, and `extra` (Dockerfile,
    /// build args, target) in the order given.
    pub fn content_hash(
        &self,
        extra: &[(&str, &str)],
        cache: &mut HashCache,
    ) -> Result<blake3::Hash, ContextError> {
        let mut h = blake3::Hasher::new();
        field(&mut h, HASH_FORMAT.as_bytes());
        for e in &self.entries {
            field(&mut h, e.rel_path.as_bytes());
            field(&mut h, &e.mode.to_le_bytes());
            match &e.kind {
                EntryKind::Dir => field(&mut h, b"dir"),
                EntryKind::Symlink { target } => {
                    field(&mut h, b"symlink");
                    field(&mut h, target.as_os_str().as_encoded_bytes());
                }
                EntryKind::File { size } => {
                    field(&mut h, b"file");
                    field(&mut h, &size.to_le_bytes());
                    let file_hash =
                        cache
                            .file_hash(&e.rel_path, &e.abs_path, *size)
                            .map_err(|source| ContextError::Read {
                                path: e.abs_path.clone(),
                                source,
                            })?;
                    field(&mut h, &file_hash);
                }
            }
        }
        for f in &self.injected {
            field(&mut h, f.rel_path.as_bytes());
            field(&mut h, &f.mode.to_le_bytes());
            field(&mut h, &f.contents);
        }
        for (k, v) in extra {
            field(&mut h, k.as_bytes());
            field(&mut h, v.as_bytes());
        }
        Ok(h.finalize())
    }

    /// Writes the context as a tar: entries in order, fixed owner and mtime,
    /// modes kept, symlinks as links. Files are read as they are written.
    pub fn write_tar<W: Write>(&self, out: W) -> Result<W, ContextError> {
        let mut tar = tar::Builder::new(out);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ContextError::Read { path, source }
        };
        for e in &self.entries {
            let mut header = header(e.mode);
            match &e.kind {
                EntryKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    tar.append_data(&mut header, format!("{}/", e.rel_path), std::io::empty())
                        .map_err(io(&e.abs_path))?;
                }
                EntryKind::Symlink { target } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    tar.append_link(&mut header, &e.rel_path, target)
                        .map_err(io(&e.abs_path))?;
                }
                EntryKind::File { size } => {
                    let f = std::fs::File::open(&e.abs_path).map_err(io(&e.abs_path))?;
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(*size);
                    // A file that grew while we read it is cut at the size we listed.
                    let reader = std::io::BufReader::with_capacity(READ_BUFFER, f.take(*size));
                    tar.append_data(&mut header, &e.rel_path, reader)
                        .map_err(io(&e.abs_path))?;
                }
            }
        }
        let mut dirs_made = std::collections::BTreeSet::new();
        for f in &self.injected {
            for dir in parent_dirs(&f.rel_path) {
                if dirs_made.insert(dir.clone()) {
                    let mut h = header(0o755);
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    tar.append_data(&mut h, format!("{dir}/"), std::io::empty())
                        .map_err(io(Path::new(&dir)))?;
                }
            }
            let mut h = header(f.mode);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(f.contents.len() as u64);
            tar.append_data(&mut h, &f.rel_path, f.contents.as_slice())
                .map_err(io(Path::new(&f.rel_path)))?;
        }
        tar.into_inner().map_err(io(&self.root))
    }

    /// Streams the tar through a bounded channel, so a large context is never
    /// held in memory: the tar is written on a blocking thread as it is sent.
    pub fn tar_stream(self) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
        let (tx, rx) = mpsc::channel(8);
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let result = self.write_tar(writer).and_then(|mut w| {
                w.flush().map_err(|source| ContextError::Read {
                    path: self.root.clone(),
                    source,
                })
            });
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        rx
    }
}

const CHUNK: usize = 1024 * 1024;

/// Read size for hashing and tarring file contents.
pub(crate) const READ_BUFFER: usize = 256 * 1024;

/// Hands written bytes to the channel in CHUNK-sized pieces.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the Docker daemon stopped reading the context",
            )
        })
    }
}

fn header(mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(mode & 0o7777);
    h.set_mtime(FIXED_MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    // Length-prefixed, so ("ab","c") and ("a","bc") differ.
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn file_size(e: &ContextEntry) -> u64 {
    match e.kind {
        EntryKind::File { size } => size,
        _ => 0,
    }
}

fn is_injected_path(rel: &str) -> bool {
    rel == INJECTED_DIR || rel.starts_with(&format!("{INJECTED_DIR}/"))
}

/// `a/b/c.txt` -> [`a`, `a/b`].
fn parent_dirs(rel: &str) -> Vec<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    (1..parts.len()).map(|i| parts[..i].join("/")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("app")).unwrap();
        std::fs::create_dir_all(p.join("node_modules/x")).unwrap();
        std::fs::write(p.join("app/main.py"), "print('hi')\n").unwrap();
        std::fs::write(p.join("node_modules/x/i.js"), "x").unwrap();
        std::fs::write(p.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(p.join(".dockerignore"), "node_modules\n").unwrap();
        std::os::unix::fs::symlink("app/main.py", p.join("link.py")).unwrap();
        dir
    }

    fn tar_names(bytes: &[u8]) -> Vec<(String, tar::EntryType, u64)> {
        let mut a = tar::Archive::new(bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.entry_type(),
                    h.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn tar_is_deterministic_sorted_and_keeps_links() {
        let dir = sample();
        let ctx = BuildContext::scan(dir.path(), &["Dockerfile", ".dockerignore"]).unwrap();
        let a = ctx.write_tar(Vec::new()).unwrap();
        let b = ctx.write_tar(Vec::new()).unwrap();
        assert_eq!(a, b, "same inputs, same bytes");
        let names = tar_names(&a);
        let paths: Vec<&str> = names.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".dockerignore",
                "Dockerfile",
                "app/",
                "app/main.py",
                "link.py"
            ]
        );
        assert!(names.iter().all(|(_, _, m)| *m == FIXED_MTIME));
        assert_eq!(names[4].1, tar::EntryType::Symlink);
    }

    #[test]
    fn hash_follows_contents_modes_and_extras_but_not_mtimes() {
        let dir = sample();
        let scan = || BuildContext::scan(dir.path(), &["Dockerfile"]).unwrap();
        let h0 = scan()
            .content_hash(&[("target", "")], &mut HashCache::none())
            .unwrap();
        // Touching a file changes nothing.
        let f = std::fs::File::options()
            .append(true)
            .open(dir.path().join("app/main.py"))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            scan()
                .content_hash(&[("target", "")], &mut HashCache::none())
                .unwrap(),
            h0
        );
        // Ignored files change nothing.
        std::fs::write(dir.path().join("node_modules/x/i.js"), "changed").unwrap();
        assert_eq!(
            scan()
                .content_hash(&[("target", "")], &mut HashCache::none())
                .unwrap(),
            h0
        );
        assert_ne!(
            scan()
                .content_hash(&[("target", "dev")], &mut HashCache::none())
                .unwrap(),
            h0
        );
        std::fs::write(dir.path().join("app/main.py"), "print('bye')\n").unwrap();
        let h1 = scan()
            .content_hash(&[("target", "")], &mut HashCache::none())
            .unwrap();
        assert_ne!(h1, h0);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("app/main.py"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_ne!(
            scan()
                .content_hash(&[("target", "")], &mut HashCache::none())
                .unwrap(),
            h1
        );
    }

    #[test]
    fn injected_files_come_with_their_directories() {
        let dir = sample();
        let mut ctx = BuildContext::scan(dir.path(), &[]).unwrap();
        ctx.injected.push(InjectedFile {
            rel_path: format!("{INJECTED_DIR}/template/Dockerfile"),
            contents: b"FROM x\n".to_vec(),
            mode: 0o644,
        });
        let names = tar_names(&ctx.write_tar(Vec::new()).unwrap());
        let paths: Vec<&str> = names.iter().map(|(p, _, _)| p.as_str()).collect();
        assert!(
            paths.ends_with(&[
                ".todo-dev/",
                ".todo-dev/template/",
                ".todo-dev/template/Dockerfile"
            ]),
            "{paths:?}"
        );
    }

    #[test]
    fn warns_about_dependencies_and_vcs() {
        let dir = sample();
        std::fs::write(dir.path().join(".dockerignore"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("app/.venv")).unwrap();
        std::fs::write(dir.path().join("app/.venv/x"), "").unwrap();
        let w = BuildContext::scan(dir.path(), &[]).unwrap().warnings();
        let lines: Vec<_> = w.iter().filter_map(|w| w.ignore_line.clone()).collect();
        assert_eq!(lines, ["node_modules", "**/.venv"]);
    }

    #[test]
    fn finds_every_secrets_file_but_the_templates() {
        let dir = sample();
        std::fs::write(dir.path().join(".dockerignore"), "").unwrap();
        for f in [
            ".env",
            ".env.local",
            "app/.env.production",
            ".env.example",
            ".env.sample",
            "app/env.txt",
            ".envrc",
        ] {
            std::fs::write(dir.path().join(f), "SECRET=1").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("conf/.env.d")).unwrap();
        let found = BuildContext::scan(dir.path(), &[]).unwrap().secret_files();
        let found: Vec<(&str, &str)> = found
            .iter()
            .map(|s| (s.rel_path.as_str(), s.ignore_line.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (".env", ".env"),
                (".env.local", ".env.local"),
                ("app/.env.production", "**/.env.production")
            ]
        );
    }

    #[tokio::test]
    async fn the_stream_carries_the_same_bytes() {
        let dir = sample();
        let ctx = BuildContext::scan(dir.path(), &[]).unwrap();
        let whole = ctx.write_tar(Vec::new()).unwrap();
        let mut rx = ctx.tar_stream();
        let mut streamed = Vec::new();
        while let Some(chunk) = rx.recv().await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(streamed, whole);
    }
}
