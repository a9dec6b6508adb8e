//! What `watch` looks at: which directories get a watch and which paths each
//! service sees. The one owner of every watch-side ignore decision (the
//! never-watched names, editor temp files, each service's `.dockerignore`).

use std::path::{Component, Path, PathBuf};

use crate::build::context::{read_dockerignore, ContextError};
use crate::build::ignore::DockerIgnore;
use crate::project::model::{Service, ServiceName};
use crate::project::Project;

/// Directories never worth watching: dependencies, caches, VCS metadata,
/// build output and todo-dev's own state.
pub const NEVER_WATCHED: [&str; 12] = [
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".next",
    "dist",
    "build",
    "target",
    ".pytest_cache",
    ".mypy_cache",
    ".todo-dev",
];

/// Files editors write next to the one being saved and remove again (Tilt's
/// list in internal/ignore/ephemeral.go, plus Emacs, Kate, gedit and Chrome).
pub fn is_editor_temp(name: &str) -> bool {
    // vim probes whether it may write a directory with a file named 4913.
    name == "4913"
        || name.ends_with('~')
        || (name.starts_with('.')
            && [".swp", ".swx", ".swo", ".kate-swp"]
                .iter()
                .any(|ext| name.ends_with(ext)))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("-go-tmp-umask")
        || name.starts_with(".goutputstream-")
        || name.ends_with(".crswap")
}

/// The watch limit to suggest for `dirs` directories: room for editors and
/// language servers, which hold watches too, and never below a common default.
pub fn suggested_watch_limit(dirs: u64) -> u64 {
    (dirs * 4).max(524_288)
}

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("services.{service}: {source}")]
    Ignore {
        service: ServiceName,
        #[source]
        source: ContextError,
    },
    #[error("services.{service}.watch: {} is not a directory\n  help: list directories relative to the project root, or remove `watch` to watch the context", .path.display())]
    NotADirectory { service: ServiceName, path: PathBuf },
    #[error("services.{service}.sync[{index}].src `{src}` is not a valid pattern: {reason}\n  help: write a glob relative to the service's context, e.g. app/**/*.py")]
    SyncPattern {
        service: ServiceName,
        index: usize,
        src: String,
        reason: String,
    },
}

/// One service's view: its watch roots, its context and what its build sends.
#[derive(Debug, Clone)]
pub struct ServiceScope {
    pub name: ServiceName,
    pub context: PathBuf,
    /// Absolute, existing directories.
    pub roots: Vec<PathBuf>,
    /// `watch` entries that are not directories (doctor counts without them).
    missing: Vec<PathBuf>,
    ignore: DockerIgnore,
    /// Sent whatever `.dockerignore` says (as the docker CLI does).
    always_sent: Vec<PathBuf>,
    /// One matcher per `sync` rule's `src`, context-relative.
    sync: Vec<DockerIgnore>,
}

impl ServiceScope {
    fn new(service: &Service) -> Result<ServiceScope, ScopeError> {
        let ignore = read_dockerignore(&service.context).map_err(|source| ScopeError::Ignore {
            service: service.name,
            source,
        })?;
        let sync = service
            .sync
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let bad = |reason: String| ScopeError::SyncPattern {
                    service: service.name,
                    index,
                    src: rule.src.clone(),
                    reason,
                };
                if rule.src.trim().is_empty() || rule.src.trim_start().starts_with(['!', '#']) {
                    return Err(bad(
                        "it must name files, not be empty, `!...` or `#...`".into()
                    ));
                }
                // Docker's pattern language: `*`, `?`, `[...]` and `**` across directories.
                DockerIgnore::parse(&rule.src).map_err(|e| bad(e.reason.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut always_sent = vec![service.context.join(".dockerignore")];
        always_sent.extend(service.dockerfile.iter().cloned());
        Ok(ServiceScope {
            name: service.name,
            context: service.context.clone(),
            roots: service
                .watch
                .iter()
                .filter(|p| p.is_dir())
                .cloned()
                .collect(),
            missing: service
                .watch
                .iter()
                .filter(|p| !p.is_dir())
                .cloned()
                .collect(),
            ignore,
            always_sent,
            sync,
        })
    }

    /// The part of `path` below the watch root holding it, if any.
    fn below_root<'a>(&self, path: &'a Path) -> Option<&'a Path> {
        self.roots.iter().find_map(|r| path.strip_prefix(r).ok())
    }

    fn context_rel(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.context).ok()?;
        Some(to_slash(rel))
    }

    /// Whether this service needs a watch on `dir` (it may hold files it sees).
    pub fn watches_dir(&self, dir: &Path) -> bool {
        let Some(below) = self.below_root(dir) else {
            return false;
        };
        if has_never_watched(below) {
            return false;
        }
        match self.context_rel(dir) {
            // Without exceptions, an excluded directory excludes all below it.
            Some(rel) => self.ignore.has_exceptions() || !self.ignore.excludes(&rel),
            None => true,
        }
    }

    /// Whether a change at `path` (a file, or a directory, or something gone)
    /// can matter to this service; `sees` decides file by file.
    pub fn covers(&self, path: &Path) -> bool {
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_editor_temp)
        {
            return false;
        }
        self.watches_dir(path) || self.sees(path)
    }

    /// Whether this service's build sends the file at `path` (or, outside its
    /// context, whether it is in a watch root it was told to watch).
    pub fn sees(&self, path: &Path) -> bool {
        let Some(below) = self.below_root(path) else {
            return false;
        };
        if has_never_watched(below)
            || path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_editor_temp)
        {
            return false;
        }
        if self.always_sent.iter().any(|p| p == path) {
            return true;
        }
        match self.context_rel(path) {
            Some(rel) => !self.ignore.excludes(&rel),
            None => true,
        }
    }

    /// Whether a `sync` rule covers the file at `path`.
    pub fn syncs(&self, path: &Path) -> bool {
        match self.context_rel(path) {
            Some(rel) => self.sync.iter().any(|rule| rule.excludes(&rel)),
            None => false,
        }
    }
}

/// All services' views together: what the one watcher registers.
#[derive(Debug, Clone)]
pub struct WatchScope {
    pub project_root: PathBuf,
    pub services: Vec<ServiceScope>,
    /// The services' watch roots, without roots nested in others.
    pub roots: Vec<PathBuf>,
}

impl WatchScope {
    pub fn new(project: &Project) -> Result<WatchScope, ScopeError> {
        let services = project
            .services
            .iter()
            .map(ServiceScope::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut roots: Vec<PathBuf> = services.iter().flat_map(|s| s.roots.clone()).collect();
        roots.sort();
        roots.dedup();
        let all = roots.clone();
        roots.retain(|r| !all.iter().any(|o| o != r && r.starts_with(o)));
        Ok(WatchScope {
            project_root: project.root.clone(),
            services,
            roots,
        })
    }

    /// Every `watch` entry is a directory (`watch` itself insists; doctor
    /// counts what there is).
    pub fn check_roots(&self) -> Result<(), ScopeError> {
        for s in &self.services {
            if let Some(path) = s.missing.first() {
                return Err(ScopeError::NotADirectory {
                    service: s.name,
                    path: path.clone(),
                });
            }
        }
        Ok(())
    }

    /// The watch root holding `path`.
    pub fn root_of(&self, path: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .find(|r| path.starts_with(r))
            .map(PathBuf::as_path)
    }

    pub fn watches_dir(&self, dir: &Path) -> bool {
        self.services.iter().any(|s| s.watches_dir(dir))
    }

    pub fn sees(&self, path: &Path) -> bool {
        self.services.iter().any(|s| s.sees(path))
    }

    pub fn covers(&self, path: &Path) -> bool {
        self.services.iter().any(|s| s.covers(path))
    }

    /// Every directory to watch, from all roots.
    pub fn directories(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in &self.roots {
            out.extend(self.walk(root).dirs);
        }
        out
    }

    /// `start` (if watched) and the watched directories below it, and the
    /// files and symlinks in them that some service sees. Symlinks are never
    /// followed; unreadable directories are passed over.
    pub fn walk(&self, start: &Path) -> Walked {
        let mut walked = Walked::default();
        if !self.watches_dir(start) {
            return walked;
        }
        let mut stack = vec![start.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir);
            walked.dirs.push(dir);
            let Ok(entries) = entries else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() && self.watches_dir(&path) => stack.push(path),
                    Ok(t) if (t.is_file() || t.is_symlink()) && self.sees(&path) => {
                        walked.files.push(path)
                    }
                    _ => {}
                }
            }
        }
        walked
    }

    /// `path` relative to the project root, '/'-separated ("." for the root).
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.project_root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => to_slash(rel),
            Err(_) => path.display().to_string(),
        }
    }
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub dirs: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

fn has_never_watched(below_root: &Path) -> bool {
    below_root.components().any(|c| match c {
        Component::Normal(name) => name.to_str().is_some_and(|n| NEVER_WATCHED.contains(&n)),
        _ => false,
    })
}

fn to_slash(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temp_files_by_name() {
        for name in [
            "4913",
            "main.py~",
            ".main.py.swp",
            ".main.py.swx",
            "main.py___jb_tmp___",
            "main.py___jb_old___",
            ".#main.py",
            "#main.py#",
            "main.go-go-tmp-umask",
            ".goutputstream-X1Y2Z3",
            "main.py.crswap",
        ] {
            assert!(is_editor_temp(name), "{name}");
        }
        for name in ["main.py", "4914", ".env", "swp", "a.swp", "#", "notes#"] {
            assert!(!is_editor_temp(name), "{name}");
        }
    }

    #[test]
    fn never_watched_names_count_only_below_the_root() {
        assert!(has_never_watched(Path::new("app/node_modules/x")));
        assert!(has_never_watched(Path::new(".git")));
        assert!(!has_never_watched(Path::new("app/builder/x.py")));
        assert!(!has_never_watched(Path::new("")));
    }

    #[test]
    fn suggested_limit_leaves_room() {
        assert_eq!(suggested_watch_limit(10), 524_288);
        assert_eq!(suggested_watch_limit(200_000), 800_000);
    }
}
