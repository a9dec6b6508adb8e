//! `.dockerignore` exactly as the docker CLI's classic builder applies it when
//! it tars a build context. A port of moby's `patternmatcher` (with
//! `ignorefile.ReadAll`), of the part of Go's `regexp` its generated
//! expressions reach, and of the `TarWithOptions` walk in moby's archive
//! package, including the CLI's rule that keeps the Dockerfile and
//! `.dockerignore` in the context (`TrimBuildFilesFromExcludes`).
//!
//! Where Docker's behaviour is surprising it is kept, with a one-line why.

mod gopath;
mod pattern;
mod regexp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_walk;
mod walk;

use std::path::PathBuf;

use gopath::{go_clean, go_dir};
use pattern::Pattern;
pub use walk::walk;

/// A `.dockerignore` that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{pattern}`: {reason}; fix or remove that line")]
pub struct IgnoreError {
    /// 1-based line in the `.dockerignore` text (comments and blank lines count).
    pub line: usize,
    /// The pattern as `ignorefile.ReadAll` produced it (trimmed and cleaned).
    pub pattern: String,
    pub reason: PatternError,
}

/// Why one pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    /// Go's `filepath.ErrBadPattern`, from the syntax check `patternmatcher.New` makes.
    #[error("syntax error in pattern")]
    Syntax,
    /// The regular expression patternmatcher builds from the pattern does not
    /// compile; Docker reports this as `syntax error in pattern` too.
    #[error("syntax error in pattern ({0})")]
    Regexp(String),
    #[error("{0} is not supported by todo-dev's .dockerignore matcher")]
    Unsupported(String),
    /// Go's `bufio.Scanner` gives up on lines of 64 KiB or more.
    #[error("the line is longer than {} bytes", MAX_LINE - 1)]
    LineTooLong,
}

/// Walking the build context failed.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{} is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error("{}: {cause}; fix its permissions or add it to .dockerignore", .path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} has a name that is not UTF-8; rename it or add its directory to .dockerignore", .path.display())]
    NonUtf8Name { path: PathBuf },
    #[error("the build file `{path}` cannot be kept in the context ({reason}); rename it")]
    BuildFile { path: String, reason: PatternError },
}

/// The parsed patterns of one `.dockerignore` (patternmatcher's PatternMatcher).
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

/// One thing to send in the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// '/'-separated, relative to the context root, no leading `./`.
    pub rel_path: String,
    pub kind: EntryKind,
    /// Permission bits as the tar header carries them (`st_mode & 0o7777`).
    pub mode: u32,
    pub abs_path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File {
        size: u64,
    },
    Dir,
    /// Sent as a link, never followed; `target` is exactly what readlink returns.
    Symlink {
        target: PathBuf,
    },
}

/// `bufio.MaxScanTokenSize`: ReadAll fails on a line this long or longer.
const MAX_LINE: usize = 64 * 1024;

impl DockerIgnore {
    /// Parses .dockerignore text (as ignorefile.ReadAll + patternmatcher.New).
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
        DockerIgnore::new(read_all(text)?)
    }

    pub fn empty() -> DockerIgnore {
        DockerIgnore::default()
    }

    /// Whether a context-relative, '/'-separated path is excluded
    /// (MatchesOrParentMatches, after `filepath.Clean`; the root is never excluded).
    ///
    /// `walk` decides with MatchesUsingParentResults, as TarWithOptions does;
    /// the two differ only when an exception sits after an inclusion it
    /// cannot see through a parent (e.g. `a/x` then `!a`: here `a/x` is kept,
    /// docker's tar drops it).
    pub fn excludes(&self, rel_path: &str) -> bool {
        let file = go_clean(rel_path);
        if file == "." {
            return false;
        }
        self.matches_or_parent_matches(&file)
    }

    /// Whether any pattern is an exception (`!...`).
    pub fn has_exceptions(&self) -> bool {
        self.exclusions
    }

    /// patternmatcher.New over (line, pattern) pairs.
    fn new(lines: Vec<(usize, String)>) -> Result<DockerIgnore, IgnoreError> {
        let mut out = DockerIgnore::default();
        for (line, raw) in lines {
            match Pattern::new(&raw) {
                Ok(Some(p)) => out.push(p),
                Ok(None) => {}
                Err(reason) => {
                    return Err(IgnoreError {
                        line,
                        pattern: raw,
                        reason,
                    })
                }
            }
        }
        Ok(out)
    }

    fn push(&mut self, p: Pattern) {
        self.exclusions |= p.exclusion;
        self.patterns.push(p);
    }

    /// PatternMatcher.MatchesOrParentMatches: `file` as given, not cleaned.
    fn matches_or_parent_matches(&self, file: &str) -> bool {
        let mut matched = false;
        let parent = go_dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        for p in &self.patterns {
            // Only a pattern that can change the answer is evaluated.
            if p.exclusion != matched {
                continue;
            }
            let mut hit = p.matches(file);
            if !hit && parent != "." {
                hit = (1..=parent_dirs.len()).any(|i| p.matches(&parent_dirs[..i].join("/")));
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// PatternMatcher.MatchesExact: no parent directory is looked at.
    #[cfg(test)]
    fn matches_exact(&self, file: &str) -> bool {
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            if p.matches(file) {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// PatternMatcher.MatchesUsingParentResults, what TarWithOptions calls.
    /// `parent` is what this returned for the parent directory (empty for
    /// none); the second value is what to pass for this path's children.
    fn matches_using_parent_results(&self, file: &str, parent: &[bool]) -> (bool, Vec<bool>) {
        let mut matched = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            // A pattern the parent matched counts without the skip rule below.
            let mut hit = !parent.is_empty() && parent[i];
            if !hit {
                if p.exclusion != matched {
                    // Recorded as "not matched" even if it would: moby does the same.
                    continue;
                }
                hit = p.matches(file);
                if !hit && parent.is_empty() {
                    let parent_path = go_dir(file);
                    if parent_path != "." {
                        let dirs: Vec<&str> = parent_path.split('/').collect();
                        hit = (1..=dirs.len()).any(|n| p.matches(&dirs[..n].join("/")));
                    }
                }
            }
            info[i] = hit;
            if hit {
                matched = !p.exclusion;
            }
        }
        (matched, info)
    }

    /// The deprecated package-level `patternmatcher.Matches`, which the docker
    /// CLI still uses to decide whether the Dockerfile and .dockerignore need
    /// an exception: it looks at only one parent, as deep as the pattern.
    fn cli_matches(&self, file: &str) -> bool {
        let file = go_clean(file);
        if file == "." {
            return false;
        }
        let mut matched = false;
        let parent = go_dir(&file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut hit = p.matches(&file);
            if !hit && parent != "." && p.dirs <= parent_dirs.len() {
                hit = p.matches(&parent_dirs[..p.dirs].join("/"));
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// TrimBuildFilesFromExcludes: each build file a pattern excludes gets an
    /// exception `!path` appended, so it is sent after all.
    fn keep_build_files(&self, build_files: &[&str]) -> Result<DockerIgnore, WalkError> {
        // The CLI checks .dockerignore before the Dockerfile.
        let mut ordered: Vec<&str> = build_files
            .iter()
            .copied()
            .filter(|p| *p == ".dockerignore")
            .collect();
        ordered.extend(
            build_files
                .iter()
                .copied()
                .filter(|p| *p != ".dockerignore"),
        );
        let mut out = self.clone();
        for path in ordered {
            if !out.cli_matches(path) {
                continue;
            }
            let exception = format!("!{path}");
            match Pattern::new(&exception) {
                Ok(Some(p)) => out.push(p),
                Ok(None) => {}
                Err(reason) => {
                    return Err(WalkError::BuildFile {
                        path: path.to_string(),
                        reason,
                    })
                }
            }
        }
        Ok(out)
    }
}

/// ignorefile.ReadAll: (1-based line, pattern) for each line that is not a
/// comment or blank.
fn read_all(text: &str) -> Result<Vec<(usize, String)>, IgnoreError> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    // bufio.ScanLines yields no empty token after a final newline.
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut out = Vec::new();
    for (i, raw) in lines.into_iter().enumerate() {
        let line = i + 1;
        if raw.len() >= MAX_LINE {
            return Err(IgnoreError {
                line,
                pattern: raw.chars().take(40).chain("...".chars()).collect(),
                reason: PatternError::LineTooLong,
            });
        }
        let mut text = raw.strip_suffix('\r').unwrap_or(raw);
        if i == 0 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        // Checked before trimming: "  # x" is a pattern, not a comment.
        if text.starts_with('#') {
            continue;
        }
        // Go's TrimSpace and Rust's trim agree: both use Unicode White_Space.
        let pattern = text.trim();
        if pattern.is_empty() {
            continue;
        }
        let (invert, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, pattern),
        };
        let mut pattern = pattern.to_string();
        if !pattern.is_empty() {
            pattern = go_clean(&pattern);
            if pattern.len() > 1 && pattern.starts_with('/') {
                pattern.remove(0);
            }
        }
        if invert {
            pattern.insert(0, '!');
        }
        out.push((line, pattern));
    }
    Ok(out)
}
