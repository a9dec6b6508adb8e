//! The reference Todo chatbot (embedded/app, compiled in by build.rs with
//! each file's mode), its other frontends (embedded/frontends), and writing
//! it into a directory without overwriting.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/app_files.rs"));

/// One file of the reference app.
#[derive(Debug, Clone)]
pub struct AppFile {
    /// '/'-separated, relative to the app's root.
    pub path: Cow<'static, str>,
    pub mode: u32,
    pub contents: &'static [u8],
}

/// Which frontend `init` writes into the app's frontend/.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Frontend {
    /// The static single-page app behind nginx (no build step)
    #[default]
    Spa,
    /// Next.js (standalone output), built with todo-dev's nextjs template
    Next,
}

impl Frontend {
    /// As `--frontend` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Frontend::Spa => "spa",
            Frontend::Next => "next",
        }
    }

    /// Its directory under embedded/frontends; None for the app's own frontend/.
    fn variant(self) -> Option<&'static str> {
        match self {
            Frontend::Spa => None,
            Frontend::Next => Some("next"),
        }
    }
}

const FRONTEND_DIR: &str = "frontend/";

/// The reference app's files with the chosen frontend, sorted by path.
pub fn files(frontend: Frontend) -> Vec<AppFile> {
    let entry = |(path, mode, contents): (Cow<'static, str>, u32, &'static [u8])| AppFile {
        path,
        mode,
        contents,
    };
    let Some(name) = frontend.variant() else {
        return APP_FILES
            .iter()
            .map(|&(p, m, c)| entry((Cow::Borrowed(p), m, c)))
            .collect();
    };
    let variant = FRONTEND_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[][..], |(_, f)| f);
    let mut files: Vec<AppFile> = APP_FILES
        .iter()
        .filter(|(p, _, _)| !p.starts_with(FRONTEND_DIR))
        .map(|&(p, m, c)| entry((Cow::Borrowed(p), m, c)))
        .chain(
            variant
                .iter()
                .map(|&(p, m, c)| entry((Cow::Owned(format!("{FRONTEND_DIR}{p}")), m, c))),
        )
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists\n  help: init never overwrites files: pick an empty or new directory, or pass --force to replace the reference app's files there", .path.display())]
    Exists { path: PathBuf },
    #[error("{} is a symbolic link or not a regular file; init writes only inside {} and never through links\n  help: move it away or pick another directory", .path.display(), .dir.display())]
    NotAPlainPath { path: PathBuf, dir: PathBuf },
    #[error("{} is not a directory\n  help: give a new or empty directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} belongs to the `{}` frontend (init --frontend {}); the one asked for has no such file, and a leftover would be built or served instead\n  help: move {} away (or the whole frontend/ directory), then run init again", .path.display(), .other.name(), .other.name(), .path.parent().unwrap_or(.path).display())]
    OtherFrontend { path: PathBuf, other: Frontend },
    #[error(
        "this todo-dev binary carries no reference app, or not that frontend (embedded/app or embedded/frontends was empty when it was built)"
    )]
    NoApp,
}

impl InitError {
    /// Refusals the user resolves by choosing differently (exit 2), not failures.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, InitError::Write { .. })
    }
}

/// Writes every app file, with the chosen frontend, under `dir` (created if new). Without `force` an
/// existing file is refused before anything is written; with it, the app's
/// files are replaced and nothing else is touched. Never writes through a
/// symbolic link, so nothing lands outside `dir`. Returns the paths written.
pub fn write(dir: &Path, frontend: Frontend, force: bool) -> Result<Vec<PathBuf>, InitError> {
    let app = files(frontend);
    // A variant that was not embedded would leave the app without a frontend.
    if !app.iter().any(|f| f.path.starts_with(FRONTEND_DIR)) {
        return Err(InitError::NoApp);
    }
    // Switching frontends with --force: a file only the other frontend has
    // (its Dockerfile, say) would stay and win; refuse before writing anything.
    for other in <Frontend as clap::ValueEnum>::value_variants() {
        if *other == frontend {
            continue;
        }
        for f in files(*other) {
            let path = dir.join(&*f.path);
            let theirs_only =
                f.path.starts_with(FRONTEND_DIR) && !app.iter().any(|a| a.path == f.path);
            if theirs_only && std::fs::symlink_metadata(&path).is_ok() {
                return Err(InitError::OtherFrontend {
                    path,
                    other: *other,
                });
            }
        }
    }
    write_files(dir, force, &app)
}

fn write_files(dir: &Path, force: bool, app: &[AppFile]) -> Result<Vec<PathBuf>, InitError> {
    if app.is_empty() {
        return Err(InitError::NoApp);
    }
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(InitError::NotADirectory(dir.to_path_buf())),
        Err(_) => {}
    }
    // Check everything first: a refusal leaves the directory as it was.
    for f in app {
        check_target(dir, &f.path, force)?;
    }
    let mut written = Vec::with_capacity(app.len());
    for f in app {
        let path = dir.join(&*f.path);
        let io = |source| InitError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io)?;
        file.write_all(f.contents).map_err(io)?;
        // The mode exactly as in the app, whatever the umask or a replaced file had.
        crate::host::set_mode(&path, f.mode).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

/// Refuses a path that leaves `dir` (`..`, absolute), passes through a link
/// or a non-directory, or names an existing file (unless `force`).
fn check_target(dir: &Path, rel: &str, force: bool) -> Result<(), InitError> {
    let not_plain = |path: PathBuf| InitError::NotAPlainPath {
        path,
        dir: dir.to_path_buf(),
    };
    let rel_path = Path::new(rel);
    if !rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(not_plain(dir.join(rel)));
    }
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = rel_path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            // Nothing there yet: nothing below it exists either.
            Err(_) => return Ok(()),
        };
        match (last, meta.is_dir(), meta.is_file()) {
            (false, true, _) => continue,
            (true, _, true) if force => return Ok(()),
            (true, _, true) => return Err(InitError::Exists { path: at }),
            _ => return Err(not_plain(at)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const SAMPLE: [AppFile; 3] = [
        AppFile {
            path: Cow::Borrowed("backend/app/main.py"),
            mode: 0o644,
            contents: b"app = 1\n",
        },
        AppFile {
            path: Cow::Borrowed("frontend/entrypoint.sh"),
            mode: 0o755,
            contents: b"#!/bin/sh\n",
        },
        AppFile {
            path: Cow::Borrowed("todo-dev.yaml"),
            mode: 0o644,
            contents: b"profile: standard\n",
        },
    ];

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_a_new_directory_with_modes_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new/app");
        let written = write_files(&dir, false, &SAMPLE).unwrap();
        assert_eq!(written.len(), 3);
        assert_eq!(mode(&dir.join("frontend/entrypoint.sh")), 0o755);
        assert_eq!(mode(&dir.join("backend/app/main.py")), 0o644);

        std::fs::write(dir.join("todo-dev.yaml"), "mine\n").unwrap();
        let e = write_files(&dir, false, &SAMPLE).unwrap_err();
        assert!(matches!(&e, InitError::Exists { path } if path.ends_with("backend/app/main.py")));
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.join("todo-dev.yaml")).unwrap(),
            "mine\n"
        );

        std::fs::set_permissions(
            dir.join("frontend/entrypoint.sh"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        write_files(&dir, true, &SAMPLE).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("todo-dev.yaml")).unwrap(),
            "profile: standard\n"
        );
        assert_eq!(mode(&dir.join("frontend/entrypoint.sh")), 0o755);
    }

    #[test]
    fn never_writes_through_a_link_even_with_force() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let dir = tmp.path().join("app");
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("backend")).unwrap();
        for force in [false, true] {
            let e = write_files(&dir, force, &SAMPLE).unwrap_err();
            assert!(
                matches!(&e, InitError::NotAPlainPath { path, .. } if path.ends_with("backend")),
                "{e}"
            );
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert!(
            !dir.join("todo-dev.yaml").exists(),
            "nothing written on refusal"
        );

        let escaping = [AppFile {
            path: Cow::Borrowed("../escape.txt"),
            mode: 0o644,
            contents: b"x",
        }];
        let e = write_files(&dir, true, &escaping).unwrap_err();
        assert!(matches!(e, InitError::NotAPlainPath { .. }));
        assert!(!tmp.path().join("escape.txt").exists());
    }

    #[test]
    fn an_empty_embedding_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_files(tmp.path(), false, &[]),
            Err(InitError::NoApp)
        ));
    }
}
