//! The context walk of moby's `TarWithOptions`: what the docker CLI sends.

use std::fs;
use std::path::Path;

use super::{ContextEntry, DockerIgnore, EntryKind, WalkError};

/// Walks `root` and returns what the docker CLI would send: entries sorted by
/// `rel_path` (byte order), directories included, symlinks sent as links and
/// never followed. An excluded directory is skipped whole unless an exception
/// pattern's literal text starts with its path (`!dir/...`); then the walk
/// descends (as TarWithOptions does) but the directory itself is not sent.
/// `always_send` paths (the Dockerfile and `.dockerignore`, clean and
/// context-relative) get an exception when a pattern excludes them, as the
/// CLI's TrimBuildFilesFromExcludes does. Only metadata is read.
///
/// Sockets, FIFOs and devices are left out (a tar of a context has no use
/// for them). Errors name the path; like the CLI's ValidateContextDirectory,
/// unreadable places under an excluded directory are passed over silently.
pub fn walk(
    root: &Path,
    ignore: &DockerIgnore,
    always_send: &[&str],
) -> Result<Vec<ContextEntry>, WalkError> {
    let rules = ignore.keep_build_files(always_send)?;
    let meta = fs::metadata(root).map_err(|cause| WalkError::Io {
        path: root.to_path_buf(),
        cause,
    })?;
    if !meta.is_dir() {
        return Err(WalkError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    walk_dir(&rules, root, "", &[], true, &mut out)?;
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(out)
}

/// One directory of the walk. `parent_info` is MatchesUsingParentResults' state
/// for `dir_rel`; `checked` says whether the CLI's validation walk reaches this
/// directory (it prunes every excluded directory), so its errors are fatal.
fn walk_dir(
    rules: &DockerIgnore,
    dir_abs: &Path,
    dir_rel: &str,
    parent_info: &[bool],
    checked: bool,
    out: &mut Vec<ContextEntry>,
) -> Result<(), WalkError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| WalkError::Io { path, cause }
    };
    let mut names = Vec::new();
    match fs::read_dir(dir_abs) {
        Ok(read) => {
            for entry in read {
                match entry {
                    Ok(e) => names.push(e.file_name()),
                    Err(cause) if checked => return Err(io(dir_abs)(cause)),
                    Err(_) => break,
                }
            }
        }
        Err(cause) if checked => return Err(io(dir_abs)(cause)),
        // TarWithOptions logs an unreadable directory and goes on.
        Err(_) => return Ok(()),
    }
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let abs = dir_abs.join(&name);
        let Some(name) = name.to_str() else {
            return Err(WalkError::NonUtf8Name { path: abs });
        };
        let rel = if dir_rel.is_empty() {
            name.to_string()
        } else {
            format!("{dir_rel}/{name}")
        };
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(cause) if checked => return Err(io(&abs)(cause)),
            Err(_) => continue,
        };
        let is_dir = meta.is_dir();
        // One match per entry: the validation walk reaches what the tar walk keeps.
        let (skip, info) = rules.matches_using_parent_results(&rel, parent_info);
        let child_checked = checked && !skip;
        if skip {
            if !is_dir || !rules.exclusions {
                continue;
            }
            // Only an exception whose text starts with `dir/` opens the
            // directory: `!**/keep.txt` does not bring back `dir/keep.txt`.
            let dir_slash = format!("{rel}/");
            let opens = rules
                .patterns
                .iter()
                .any(|p| p.exclusion && format!("{}/", p.cleaned).starts_with(&dir_slash));
            if opens {
                walk_dir(rules, &abs, &rel, &info, child_checked, out)?;
            }
            continue;
        }
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File { size: meta.len() }
        } else if ft.is_symlink() {
            match fs::read_link(&abs) {
                Ok(target) => EntryKind::Symlink { target },
                Err(cause) if checked => return Err(io(&abs)(cause)),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        out.push(ContextEntry {
            rel_path: rel.clone(),
            kind,
            mode: mode_bits(&meta),
            abs_path: abs.clone(),
        });
        if is_dir {
            walk_dir(rules, &abs, &rel, &info, child_checked, out)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    match (meta.is_dir(), meta.permissions().readonly()) {
        (true, _) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}
