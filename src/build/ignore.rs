//! `.dockerignore` exactly as the docker CLI's classic builder applies it when
//! it tars a build context. A port of moby's `patternmatcher` (with
//! `ignorefile.ReadAll`), of the part of Go's `regexp` its generated
//! expressions reach, and of the `TarWithOptions` walk in moby's archive
//! package, including the CLI's rule that keeps the Dockerfile and
//! `.dockerignore` in the context (`TrimBuildFilesFromExcludes`).
//!
//! Where Docker's behaviour is surprising it is kept, with a one-line why.

use std::fs;
use std::path::{Path, PathBuf};

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

/// How a pattern is matched; patternmatcher avoids the regexp when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchType {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Cleaned, without the leading `!`.
    cleaned: String,
    /// Number of '/'-separated parts of `cleaned`.
    dirs: usize,
    exclusion: bool,
    match_type: MatchType,
    regexp: Option<go_regexp::Regexp>,
}

impl Pattern {
    /// One pattern as patternmatcher.New handles it; `None` when blank.
    fn new(raw: &str) -> Result<Option<Pattern>, PatternError> {
        let p = raw.trim();
        if p.is_empty() {
            return Ok(None);
        }
        let p = go_clean(p);
        let (exclusion, p) = match p.strip_prefix('!') {
            Some("") => return Err(PatternError::LoneExclamation),
            Some(rest) => (true, rest),
            None => (false, p.as_str()),
        };
        if go_match(p, ".").is_err() {
            return Err(PatternError::Syntax);
        }
        let (match_type, reg_str) = compile(p);
        // moby compiles on first use and fails every match after; failing here is kinder.
        let regexp = match match_type {
            MatchType::Regexp => Some(go_regexp::Regexp::new(&reg_str).map_err(|e| match e {
                go_regexp::Error::Syntax { .. } => PatternError::Regexp(e.to_string()),
                go_regexp::Error::Unsupported(what) => PatternError::Unsupported(what),
            })?),
            _ => None,
        };
        Ok(Some(Pattern {
            cleaned: p.to_string(),
            dirs: p.split('/').count(),
            exclusion,
            match_type,
            regexp,
        }))
    }

    fn matches(&self, path: &str) -> bool {
        // Byte slices, as Go compares strings.
        let (path, pat) = (path.as_bytes(), self.cleaned.as_bytes());
        match self.match_type {
            MatchType::Exact => path == pat,
            MatchType::Prefix => path.starts_with(&pat[..pat.len() - 2]),
            MatchType::Suffix => {
                let suffix = &pat[2..];
                // `**file` also matches `xfile`: a plain suffix test, as moby does.
                path.ends_with(suffix) || (suffix.first() == Some(&b'/') && path == &suffix[1..])
            }
            MatchType::Regexp => match (&self.regexp, std::str::from_utf8(path)) {
                (Some(re), Ok(s)) => re.is_match(s),
                _ => false,
            },
        }
    }
}

/// Pattern.compile: the match type and the regular expression source.
fn compile(pattern: &str) -> (MatchType, String) {
    let mut reg = String::from("^");
    let mut kind = MatchType::Exact;
    let mut chars = pattern.chars().peekable();
    // Go's text/scanner drops a byte order mark at the start.
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    let mut i = 0;
    while let Some(ch) = chars.next() {
        if ch == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                // `**/` is `**`.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == MatchType::Exact {
                        kind = MatchType::Prefix;
                    } else {
                        reg.push_str(".*");
                        kind = MatchType::Regexp;
                    }
                } else {
                    // Any number of directories, zero included.
                    reg.push_str("(.*/)?");
                    kind = MatchType::Regexp;
                }
                if i == 0 {
                    kind = MatchType::Suffix;
                }
            } else {
                reg.push_str("[^/]*");
                kind = MatchType::Regexp;
            }
        } else if ch == '?' {
            reg.push_str("[^/]");
            kind = MatchType::Regexp;
        } else if ".+()|{}$".contains(ch) {
            reg.push('\\');
            reg.push(ch);
        } else if ch == '\\' {
            match chars.next() {
                // Passed on to the regexp as is: `\d` is a digit there, `\é` an error.
                Some(next) => {
                    reg.push('\\');
                    reg.push(next);
                    kind = MatchType::Regexp;
                }
                None => reg.push('\\'),
            }
        } else if ch == '[' || ch == ']' {
            // The class goes to the regexp verbatim, so RE2 rules apply inside it.
            reg.push(ch);
            kind = MatchType::Regexp;
        } else {
            // `^` lands here unescaped: an anchor in the regexp, not a character.
            reg.push(ch);
        }
        i += 1;
    }
    if kind == MatchType::Regexp {
        reg.push('$');
    }
    (kind, reg)
}

/// Go's `path/filepath.Clean` on a '/'-separated path.
fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let p = path.as_bytes();
    let n = p.len();
    let rooted = p[0] == b'/';
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            // An empty or `.` element.
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_string();
    }
    // Only whole names and ASCII '/' and '.' were copied: still UTF-8.
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `path/filepath.Dir`.
fn go_dir(path: &str) -> String {
    let end = path.rfind('/').map_or(0, |i| i + 1);
    go_clean(&path[..end])
}

/// Go's `filepath.ErrBadPattern`.
#[derive(Debug)]
struct BadPattern;

/// Go's `path/filepath.Match` (Unix). patternmatcher only uses its error: like
/// Go, it stops checking at the first chunk that fails to match.
fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&b'/'));
        }
        if let Some(t) = match_chunk(chunk, name)? {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    // The last chunk must use up the name.
                    if !pattern.is_empty() || t.is_empty() {
                        name = t;
                        continue 'pattern;
                    }
                }
                i += 1;
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => return (star, &pattern[..i], &pattern[i..]),
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Whether `chunk` matches the start of `s` (the rest of `s` if so). The whole
/// chunk is checked for syntax even after the match failed.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut failed = false;
    while !chunk.is_empty() {
        failed = failed || s.is_empty();
        match chunk[0] {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (c, n) = decode_rune(s);
                    r = c;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    matched = matched || (lo <= r && r <= hi);
                    nrange += 1;
                }
                failed = failed || matched == negated;
            }
            b'?' => {
                if !failed {
                    failed = s[0] == b'/';
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            c => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    failed = chunk[0] != s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// A possibly escaped character of a class; the rest is never empty.
fn get_esc(mut chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return Err(BadPattern);
    }
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == REPLACEMENT && n == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

const REPLACEMENT: u32 = 0xfffd;

/// Go's `utf8.DecodeRuneInString`: (U+FFFD, 1) for a bad byte, (U+FFFD, 0) at the end.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(&b0) = s.first() else {
        return (REPLACEMENT, 0);
    };
    let len = match b0 {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (REPLACEMENT, 1),
    };
    match s
        .get(..len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| t.chars().next())
    {
        Some(c) => (c as u32, len),
        None => (REPLACEMENT, 1),
    }
}

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
        let (skip, info) = rules.matches_using_parent_results(&rel, parent_info);
        let child_checked = checked && !rules.excludes(&rel);
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

/// What patternmatcher's generated expressions can reach of Go's `regexp`
/// (RE2 syntax, `syntax.Perl` flags): literals and escapes, classes with
/// ranges, negation, Perl (`\d`) and POSIX (`[:alpha:]`) groups, `.`, `^`,
/// `$`, `\A`, `\z`, `\b`, `\B`, `\Q...\E`, groups, `*`, `+` and `?`.
/// Unicode groups (`\pL`) are refused rather than guessed.
mod go_regexp {
    use std::fmt;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Error {
        Syntax { code: &'static str, expr: String },
        Unsupported(String),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::Syntax { code, expr } => write!(f, "error parsing regexp: {code}: `{expr}`"),
                Error::Unsupported(what) => write!(f, "{what} is not supported"),
            }
        }
    }

    const INVALID_CHAR_CLASS_RANGE: &str = "invalid character class range";
    const INVALID_ESCAPE: &str = "invalid escape sequence";
    const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
    const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
    const MISSING_BRACKET: &str = "missing closing ]";
    const MISSING_PAREN: &str = "missing closing )";
    const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
    const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
    const UNEXPECTED_PAREN: &str = "unexpected )";

    const MAX_RUNE: u32 = 0x10ffff;

    /// Inclusive (lo, hi) code point ranges.
    type Ranges = Vec<(u32, u32)>;

    fn syntax(code: &'static str, expr: &str) -> Error {
        Error::Syntax {
            code,
            expr: expr.to_string(),
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Assertion {
        BeginText,
        EndText,
        WordBoundary,
        NoWordBoundary,
    }

    #[derive(Debug, Clone)]
    enum Node {
        Literal(u32),
        Class(Ranges),
        AnyCharNotNl,
        Assert(Assertion),
        Star(Box<Node>),
        Plus(Box<Node>),
        Quest(Box<Node>),
        Concat(Vec<Node>),
        Alternate(Vec<Node>),
    }

    #[derive(Debug, Clone)]
    enum Inst {
        Rune(u32),
        Class(Ranges),
        AnyCharNotNl,
        Assert(Assertion),
        Split(usize, usize),
        Jmp(usize),
        Match,
    }

    /// A compiled expression, matched like Go's `Regexp.MatchString`.
    #[derive(Debug, Clone)]
    pub struct Regexp {
        prog: Vec<Inst>,
    }

    /// One open group: finished alternatives and the current concatenation.
    #[derive(Default)]
    struct Frame {
        alternatives: Vec<Node>,
        items: Vec<Node>,
    }

    impl Frame {
        fn finish(mut self) -> Node {
            self.alternatives.push(Node::Concat(self.items));
            match self.alternatives.len() {
                1 => self.alternatives.swap_remove(0),
                _ => Node::Alternate(self.alternatives),
            }
        }
    }

    impl Regexp {
        pub fn new(expr: &str) -> Result<Regexp, Error> {
            let node = parse(expr)?;
            let mut prog = Vec::new();
            emit(&node, &mut prog);
            prog.push(Inst::Match);
            Ok(Regexp { prog })
        }

        /// Whether the expression matches anywhere in `s` (a Pike VM).
        pub fn is_match(&self, s: &str) -> bool {
            let chars: Vec<char> = s.chars().collect();
            let mut current = Threads::new(self.prog.len());
            let mut next = Threads::new(self.prog.len());
            for pos in 0..=chars.len() {
                if self.add(&mut current, 0, pos, &chars) {
                    return true;
                }
                let Some(&c) = chars.get(pos) else {
                    break;
                };
                next.clear();
                for &pc in &current.pcs {
                    let steps = match &self.prog[pc] {
                        Inst::Rune(r) => *r == c as u32,
                        Inst::Class(ranges) => in_class(ranges, c as u32),
                        Inst::AnyCharNotNl => c != '\n',
                        _ => false,
                    };
                    if steps && self.add(&mut next, pc + 1, pos + 1, &chars) {
                        return true;
                    }
                }
                std::mem::swap(&mut current, &mut next);
            }
            false
        }

        /// Adds the thread at `pc` and everything reachable without reading a
        /// character; true when that reaches a match.
        fn add(&self, list: &mut Threads, pc: usize, pos: usize, chars: &[char]) -> bool {
            let mut stack = vec![pc];
            while let Some(pc) = stack.pop() {
                if list.on[pc] {
                    continue;
                }
                list.on[pc] = true;
                match &self.prog[pc] {
                    Inst::Jmp(to) => stack.push(*to),
                    Inst::Split(a, b) => {
                        stack.push(*b);
                        stack.push(*a);
                    }
                    Inst::Assert(a) => {
                        if holds(*a, pos, chars) {
                            stack.push(pc + 1);
                        }
                    }
                    Inst::Match => return true,
                    _ => list.pcs.push(pc),
                }
            }
            false
        }
    }

    struct Threads {
        pcs: Vec<usize>,
        on: Vec<bool>,
    }

    impl Threads {
        fn new(n: usize) -> Threads {
            Threads {
                pcs: Vec::new(),
                on: vec![false; n],
            }
        }

        fn clear(&mut self) {
            self.pcs.clear();
            self.on.iter_mut().for_each(|b| *b = false);
        }
    }

    fn holds(a: Assertion, pos: usize, chars: &[char]) -> bool {
        let word = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
        let before = if pos == 0 { None } else { chars.get(pos - 1) };
        let after = chars.get(pos);
        match a {
            Assertion::BeginText => pos == 0,
            Assertion::EndText => pos == chars.len(),
            Assertion::WordBoundary => word(before) != word(after),
            Assertion::NoWordBoundary => word(before) == word(after),
        }
    }

    fn in_class(ranges: &[(u32, u32)], c: u32) -> bool {
        ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }

    fn emit(node: &Node, prog: &mut Vec<Inst>) {
        match node {
            Node::Literal(r) => prog.push(Inst::Rune(*r)),
            Node::Class(ranges) => prog.push(Inst::Class(ranges.clone())),
            Node::AnyCharNotNl => prog.push(Inst::AnyCharNotNl),
            Node::Assert(a) => prog.push(Inst::Assert(*a)),
            Node::Concat(items) => items.iter().for_each(|n| emit(n, prog)),
            Node::Star(sub) => {
                let split = prog.len();
                prog.push(Inst::Split(0, 0));
                emit(sub, prog);
                prog.push(Inst::Jmp(split));
                prog[split] = Inst::Split(split + 1, prog.len());
            }
            Node::Plus(sub) => {
                let start = prog.len();
                emit(sub, prog);
                prog.push(Inst::Split(start, prog.len() + 1));
            }
            Node::Quest(sub) => {
                let split = prog.len();
                prog.push(Inst::Split(0, 0));
                emit(sub, prog);
                prog[split] = Inst::Split(split + 1, prog.len());
            }
            Node::Alternate(alts) => {
                let mut jumps = Vec::new();
                for (i, alt) in alts.iter().enumerate() {
                    if i + 1 == alts.len() {
                        emit(alt, prog);
                    } else {
                        let split = prog.len();
                        prog.push(Inst::Split(0, 0));
                        emit(alt, prog);
                        jumps.push(prog.len());
                        prog.push(Inst::Jmp(0));
                        prog[split] = Inst::Split(split + 1, prog.len());
                    }
                }
                let end = prog.len();
                for j in jumps {
                    prog[j] = Inst::Jmp(end);
                }
            }
        }
    }

    /// Go's regexp/syntax parse loop for the reachable syntax.
    fn parse(whole: &str) -> Result<Node, Error> {
        let mut frames = vec![Frame::default()];
        let mut t = whole;
        let mut last_repeat: Option<&str> = None;
        while let Some(c) = t.chars().next() {
            let mut repeat = None;
            let top = frames.len() - 1;
            match c {
                '(' => {
                    if t[1..].starts_with('?') {
                        // Flags and named groups: patternmatcher always escapes `(`.
                        return Err(syntax(INVALID_PERL_OP, &t[..2]));
                    }
                    frames.push(Frame::default());
                    t = &t[1..];
                }
                '|' => {
                    let items = std::mem::take(&mut frames[top].items);
                    frames[top].alternatives.push(Node::Concat(items));
                    t = &t[1..];
                }
                ')' => {
                    if frames.len() < 2 {
                        return Err(syntax(UNEXPECTED_PAREN, whole));
                    }
                    let group = frames.pop().map(Frame::finish);
                    frames[top - 1].items.extend(group);
                    t = &t[1..];
                }
                '^' => {
                    frames[top].items.push(Node::Assert(Assertion::BeginText));
                    t = &t[1..];
                }
                '$' => {
                    frames[top].items.push(Node::Assert(Assertion::EndText));
                    t = &t[1..];
                }
                '.' => {
                    frames[top].items.push(Node::AnyCharNotNl);
                    t = &t[1..];
                }
                '[' => {
                    let (class, rest) = parse_class(t)?;
                    frames[top].items.push(class);
                    t = rest;
                }
                '*' | '+' | '?' => {
                    let before = t;
                    let mut after = &t[1..];
                    // Non-greedy: the same language.
                    if after.starts_with('?') {
                        after = &after[1..];
                    }
                    if let Some(last) = last_repeat {
                        return Err(syntax(INVALID_REPEAT_OP, &last[..last.len() - after.len()]));
                    }
                    let Some(sub) = frames[top].items.pop() else {
                        return Err(syntax(
                            MISSING_REPEAT_ARGUMENT,
                            &before[..before.len() - after.len()],
                        ));
                    };
                    let sub = Box::new(sub);
                    frames[top].items.push(match c {
                        '*' => Node::Star(sub),
                        '+' => Node::Plus(sub),
                        _ => Node::Quest(sub),
                    });
                    repeat = Some(before);
                    t = after;
                }
                '\\' => {
                    let (nodes, rest) = parse_backslash(t)?;
                    frames[top].items.extend(nodes);
                    t = rest;
                }
                // `{` is literal here: patternmatcher escapes every `{`, so no
                // counted repetition can reach this parser.
                _ => {
                    frames[top].items.push(Node::Literal(c as u32));
                    t = &t[c.len_utf8()..];
                }
            }
            last_repeat = repeat;
        }
        if frames.len() != 1 {
            return Err(syntax(MISSING_PAREN, whole));
        }
        Ok(frames
            .pop()
            .map_or_else(|| Node::Concat(Vec::new()), Frame::finish))
    }

    /// A backslash outside a class: assertions, `\Q...\E`, Perl groups, escapes.
    fn parse_backslash(t: &str) -> Result<(Vec<Node>, &str), Error> {
        let b = t.as_bytes();
        if b.len() >= 2 {
            let assertion = match b[1] {
                b'A' => Some(Assertion::BeginText),
                b'b' => Some(Assertion::WordBoundary),
                b'B' => Some(Assertion::NoWordBoundary),
                b'z' => Some(Assertion::EndText),
                _ => None,
            };
            if let Some(a) = assertion {
                return Ok((vec![Node::Assert(a)], &t[2..]));
            }
            match b[1] {
                b'C' => return Err(syntax(INVALID_ESCAPE, &t[..2])),
                b'Q' => {
                    // Everything up to `\E` (or the end, the trailing `$` too) is literal.
                    let rest = &t[2..];
                    let (lit, after) = match rest.find("\\E") {
                        Some(i) => (&rest[..i], &rest[i + 2..]),
                        None => (rest, ""),
                    };
                    return Ok((
                        lit.chars().map(|c| Node::Literal(c as u32)).collect(),
                        after,
                    ));
                }
                b'p' | b'P' => return Err(unicode_class(t)),
                _ => {}
            }
        }
        if let Some((ranges, rest)) = perl_class(t) {
            return Ok((vec![Node::Class(ranges)], rest));
        }
        let (r, rest) = parse_escape(t)?;
        Ok((vec![Node::Literal(r)], rest))
    }

    fn unicode_class(t: &str) -> Error {
        let end = if t[2..].starts_with('{') {
            t.find('}').map_or(t.len(), |i| i + 1)
        } else {
            t.char_indices().nth(3).map_or(t.len(), |(i, _)| i)
        };
        Error::Unsupported(format!("the Unicode class `{}`", &t[..end]))
    }

    /// parseClass: `s` starts with `[`.
    fn parse_class(s: &str) -> Result<(Node, &str), Error> {
        let mut t = &s[1..];
        let negated = t.starts_with('^');
        if negated {
            t = &t[1..];
        }
        let mut ranges = Vec::new();
        // `]` is a member when it comes first.
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.len() > 2 && t.starts_with("[:") {
                if let Some((group, rest)) = posix_class(t)? {
                    ranges.extend(group);
                    t = rest;
                    continue;
                }
            }
            if t.starts_with("\\p") || t.starts_with("\\P") {
                return Err(unicode_class(t));
            }
            if let Some((group, rest)) = perl_class(t) {
                ranges.extend(group);
                t = rest;
                continue;
            }
            let range_start = t;
            let (lo, rest) = parse_class_char(t, s)?;
            t = rest;
            let mut hi = lo;
            // `[a-]` is `a` and `-`.
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, rest) = parse_class_char(&t[1..], s)?;
                t = rest;
                hi = h;
                if hi < lo {
                    let expr = &range_start[..range_start.len() - t.len()];
                    return Err(syntax(INVALID_CHAR_CLASS_RANGE, expr));
                }
            }
            ranges.push((lo, hi));
        }
        t = &t[1..];
        let ranges = if negated { negate(ranges) } else { ranges };
        Ok((Node::Class(ranges), t))
    }

    fn parse_class_char<'a>(s: &'a str, whole_class: &str) -> Result<(u32, &'a str), Error> {
        match s.chars().next() {
            None => Err(syntax(MISSING_BRACKET, whole_class)),
            Some('\\') => parse_escape(s),
            Some(c) => Ok((c as u32, &s[c.len_utf8()..])),
        }
    }

    /// parseEscape: `s` starts with a backslash.
    fn parse_escape(s: &str) -> Result<(u32, &str), Error> {
        let t = &s[1..];
        let Some(c) = t.chars().next() else {
            return Err(syntax(TRAILING_BACKSLASH, ""));
        };
        let mut t = &t[c.len_utf8()..];
        let invalid = |t: &str| syntax(INVALID_ESCAPE, &s[..s.len() - t.len()]);
        let is_octal = |t: &str| {
            t.as_bytes()
                .first()
                .is_some_and(|b| (b'0'..=b'7').contains(b))
        };
        match c {
            // A lone `\1`..`\7` would be a backreference, which RE2 refuses.
            '1'..='7' if !is_octal(t) => Err(invalid(t)),
            '0'..='7' => {
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    if !is_octal(t) {
                        break;
                    }
                    r = r * 8 + u32::from(t.as_bytes()[0] - b'0');
                    t = &t[1..];
                }
                Ok((r, t))
            }
            'x' => {
                let Some(c) = t.chars().next() else {
                    return Err(invalid(t));
                };
                t = &t[c.len_utf8()..];
                if c == '{' {
                    let mut r: u32 = 0;
                    let mut digits = 0;
                    loop {
                        let Some(c) = t.chars().next() else {
                            return Err(invalid(t));
                        };
                        t = &t[c.len_utf8()..];
                        if c == '}' {
                            break;
                        }
                        let Some(v) = c.to_digit(16) else {
                            return Err(invalid(t));
                        };
                        r = r * 16 + v;
                        if r > MAX_RUNE {
                            return Err(invalid(t));
                        }
                        digits += 1;
                    }
                    if digits == 0 {
                        return Err(invalid(t));
                    }
                    return Ok((r, t));
                }
                let Some(y) = t.chars().next() else {
                    return Err(invalid(t));
                };
                t = &t[y.len_utf8()..];
                match (c.to_digit(16), y.to_digit(16)) {
                    (Some(x), Some(y)) => Ok((x * 16 + y, t)),
                    _ => Err(invalid(t)),
                }
            }
            'a' => Ok((7, t)),
            'f' => Ok((12, t)),
            'n' => Ok((10, t)),
            'r' => Ok((13, t)),
            't' => Ok((9, t)),
            'v' => Ok((11, t)),
            // Escaped punctuation is itself; letters, digits and non-ASCII are errors.
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c as u32, t)),
            _ => Err(invalid(t)),
        }
    }

    const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
    const SPACE_PERL: &[(u32, u32)] = &[(0x9, 0xa), (0xc, 0xd), (0x20, 0x20)];
    const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)];

    /// `\d`, `\D`, `\s`, `\S`, `\w`, `\W` (ASCII, as in RE2).
    fn perl_class(t: &str) -> Option<(Ranges, &str)> {
        let b = t.as_bytes();
        if b.len() < 2 || b[0] != b'\\' {
            return None;
        }
        let (group, negated) = match b[1] {
            b'd' => (DIGIT, false),
            b'D' => (DIGIT, true),
            b's' => (SPACE_PERL, false),
            b'S' => (SPACE_PERL, true),
            b'w' => (WORD, false),
            b'W' => (WORD, true),
            _ => return None,
        };
        Some((group_ranges(group, negated), &t[2..]))
    }

    /// `[:alpha:]` and friends, `[:^alpha:]` negated; `t` starts with `[:`.
    fn posix_class(t: &str) -> Result<Option<(Ranges, &str)>, Error> {
        let Some(i) = t[2..].find(":]") else {
            return Ok(None);
        };
        let end = i + 4;
        let name = &t[..end];
        let (inner, negated) = match name[2..name.len() - 2].strip_prefix('^') {
            Some(inner) => (inner, true),
            None => (&name[2..name.len() - 2], false),
        };
        let group: &[(u32, u32)] = match inner {
            "alnum" => &[(0x30, 0x39), (0x41, 0x5a), (0x61, 0x7a)],
            "alpha" => &[(0x41, 0x5a), (0x61, 0x7a)],
            "ascii" => &[(0x0, 0x7f)],
            "blank" => &[(0x9, 0x9), (0x20, 0x20)],
            "cntrl" => &[(0x0, 0x1f), (0x7f, 0x7f)],
            "digit" => DIGIT,
            "graph" => &[(0x21, 0x7e)],
            "lower" => &[(0x61, 0x7a)],
            "print" => &[(0x20, 0x7e)],
            "punct" => &[(0x21, 0x2f), (0x3a, 0x40), (0x5b, 0x60), (0x7b, 0x7e)],
            "space" => &[(0x9, 0xd), (0x20, 0x20)],
            "upper" => &[(0x41, 0x5a)],
            "word" => WORD,
            "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
            _ => return Err(syntax(INVALID_CHAR_CLASS_RANGE, name)),
        };
        Ok(Some((group_ranges(group, negated), &t[end..])))
    }

    fn group_ranges(group: &[(u32, u32)], negated: bool) -> Ranges {
        if negated {
            negate(group.to_vec())
        } else {
            group.to_vec()
        }
    }

    /// The complement of a set of ranges within 0..=U+10FFFF.
    fn negate(mut ranges: Ranges) -> Ranges {
        ranges.sort_unstable();
        let mut out = Vec::new();
        let mut next_lo = 0u32;
        for (lo, hi) in ranges {
            if lo > next_lo {
                out.push((next_lo, lo - 1));
            }
            next_lo = next_lo.max(hi.saturating_add(1));
        }
        if next_lo <= MAX_RUNE {
            out.push((next_lo, MAX_RUNE));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// patternmatcher.New over plain patterns (no ReadAll).
    fn new(patterns: &[&str]) -> Result<DockerIgnore, PatternError> {
        let lines = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (i + 1, p.to_string()))
            .collect();
        DockerIgnore::new(lines).map_err(|e| e.reason)
    }

    /// The package-level (deprecated) `patternmatcher.Matches(file, patterns)`.
    fn go_matches(file: &str, patterns: &[&str]) -> Result<bool, PatternError> {
        Ok(new(patterns)?.cli_matches(file))
    }

    /// Go's `filepath.ErrBadPattern`, which moby returns for both checks.
    fn is_bad_pattern(e: &PatternError) -> bool {
        matches!(e, PatternError::Syntax | PatternError::Regexp(_))
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Pass {
        Fail,
        Exact,
        Inexact,
    }
    use Pass::{Exact, Fail, Inexact};

    /// patternmatcher_test.go TestMatches `tests`, with the non-Windows rows.
    const MATCHES: &[(&str, &str, Pass)] = &[
        ("**", "file", Exact),
        ("**", "file/", Exact),
        ("**/", "file", Exact), // weird one
        ("**/", "file/", Exact),
        ("**", "/", Exact),
        ("**/", "/", Exact),
        ("**", "dir/file", Exact),
        ("**/", "dir/file", Exact),
        ("**", "dir/file/", Exact),
        ("**/", "dir/file/", Exact),
        ("**/**", "dir/file", Exact),
        ("**/**", "dir/file/", Exact),
        ("dir/**", "dir/file", Exact),
        ("dir/**", "dir/file/", Exact),
        ("dir/**", "dir/dir2/file", Exact),
        ("dir/**", "dir/dir2/file/", Exact),
        ("**/dir", "dir", Exact),
        ("**/dir", "dir/file", Inexact),
        ("**/dir2/*", "dir/dir2/file", Exact),
        ("**/dir2/*", "dir/dir2/file/", Inexact),
        ("**/dir2/**", "dir/dir2/dir3/file", Exact),
        ("**/dir2/**", "dir/dir2/dir3/file/", Exact),
        ("**file", "file", Exact),
        ("**file", "dir/file", Exact),
        ("**/file", "dir/file", Exact),
        ("**file", "dir/dir/file", Exact),
        ("**/file", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file.txt", Exact),
        ("**/file*txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt*", "dir/dir/file.txt", Exact),
        ("**/**/*.txt", "dir/dir/file.txt", Exact),
        ("**/**/*.txt2", "dir/dir/file.txt", Fail),
        ("**/*.txt", "file.txt", Exact),
        ("**/**/*.txt", "file.txt", Exact),
        ("a**/*.txt", "a/file.txt", Exact),
        ("a**/*.txt", "a/dir/file.txt", Exact),
        ("a**/*.txt", "a/dir/dir/file.txt", Exact),
        ("a/*.txt", "a/dir/file.txt", Fail),
        ("a/*.txt", "a/file.txt", Exact),
        ("a/*.txt**", "a/file.txt", Exact),
        ("a[b-d]e", "ae", Fail),
        ("a[b-d]e", "ace", Exact),
        ("a[b-d]e", "aae", Fail),
        ("a[^b-d]e", "aze", Exact),
        (".*", ".foo", Exact),
        (".*", "foo", Fail),
        ("abc.def", "abcdef", Fail),
        ("abc.def", "abc.def", Exact),
        ("abc.def", "abcZdef", Fail),
        ("abc?def", "abcZdef", Exact),
        ("abc?def", "abcdef", Fail),
        ("**/foo/bar", "foo/bar", Exact),
        ("**/foo/bar", "dir/foo/bar", Exact),
        ("**/foo/bar", "dir/dir2/foo/bar", Exact),
        ("abc/**", "abc", Fail),
        ("abc/**", "abc/def", Exact),
        ("abc/**", "abc/def/ghi", Exact),
        ("**/.foo", ".foo", Exact),
        ("**/.foo", "bar.foo", Fail),
        ("a(b)c/def", "a(b)c/def", Exact),
        ("a(b)c/def", "a(b)c/xyz", Fail),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", Exact),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Exact,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Exact,
        ),
        // runtime.GOOS != "windows"
        ("a\\\\", "a\\", Exact),
        ("a\\*b", "a*b", Exact),
    ];

    /// TestMatches `multiPatternTests`.
    const MULTI: &[(&[&str], &str, Pass)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", Fail),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            Exact,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Fail,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Fail,
        ),
    ];

    /// The walk TarWithOptions does for `text`: parent info for each parent directory.
    fn using_parent_results(pm: &DockerIgnore, text: &str) -> bool {
        let parent = go_dir(text);
        let mut info = Vec::new();
        if parent != "." {
            let dirs: Vec<&str> = parent.split('/').collect();
            for i in 1..=dirs.len() {
                info = pm
                    .matches_using_parent_results(&dirs[..i].join("/"), &info)
                    .1;
            }
        }
        pm.matches_using_parent_results(text, &info).0
    }

    #[test]
    fn moby_matches_table_has_every_row() {
        assert_eq!(MATCHES.len(), 68);
        assert_eq!(MULTI.len(), 4);
    }

    /// Runs `check` over every TestMatches row (and the multi-pattern rows when
    /// `multi`), expecting `want(pass)`.
    fn run_matches_table(
        check: impl Fn(&DockerIgnore, &str) -> bool,
        want: impl Fn(Pass) -> bool,
        multi: bool,
    ) {
        let single = MATCHES.iter().map(|&(p, text, pass)| (vec![p], text, pass));
        let multi_rows = MULTI
            .iter()
            .filter(|_| multi)
            .map(|&(ps, text, pass)| (ps.to_vec(), text, pass));
        for (patterns, text, pass) in single.chain(multi_rows) {
            let pm = new(&patterns).unwrap();
            assert_eq!(
                check(&pm, text),
                want(pass),
                "patterns={patterns:?} text={text:?}"
            );
        }
    }

    #[test]
    fn moby_matches_exact() {
        run_matches_table(|pm, t| pm.matches_exact(t), |pass| pass == Exact, false);
    }

    #[test]
    fn moby_matches_or_parent_matches() {
        run_matches_table(
            |pm, t| pm.matches_or_parent_matches(t),
            |pass| pass != Fail,
            true,
        );
    }

    #[test]
    fn moby_matches_using_parent_results() {
        run_matches_table(using_parent_results, |pass| pass != Fail, true);
    }

    #[test]
    fn moby_matches_using_parent_results_no_context() {
        let check = |pm: &DockerIgnore, t: &str| pm.matches_using_parent_results(t, &[]).0;
        run_matches_table(check, |pass| pass != Fail, true);
    }

    /// patternmatcher_test.go `matchTests` (from Go's filepath tests), run
    /// through `Matches` as TestMatch does: (pattern, name, match, ErrBadPattern).
    const GO_MATCH: &[(&str, &str, bool, bool)] = &[
        ("abc", "abc", true, false),
        ("*", "abc", true, false),
        ("*c", "abc", true, false),
        ("a*", "a", true, false),
        ("a*", "abc", true, false),
        ("a*", "ab/c", true, false),
        ("a*/b", "abc/b", true, false),
        ("a*/b", "a/c/b", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
        ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
        ("ab[c]", "abc", true, false),
        ("ab[b-d]", "abc", true, false),
        ("ab[e-g]", "abc", false, false),
        ("ab[^c]", "abc", false, false),
        ("ab[^b-d]", "abc", false, false),
        ("ab[^e-g]", "abc", true, false),
        ("a\\*b", "a*b", true, false),
        ("a\\*b", "ab", false, false),
        ("a?b", "a☺b", true, false),
        ("a[^a]b", "a☺b", true, false),
        ("a???b", "a☺b", false, false),
        ("a[^a][^a][^a]b", "a☺b", false, false),
        ("[a-ζ]*", "α", true, false),
        ("*[a-ζ]", "A", false, false),
        ("a?b", "a/b", false, false),
        ("a*b", "a/b", false, false),
        ("[\\]a]", "]", true, false),
        ("[\\-]", "-", true, false),
        ("[x\\-]", "x", true, false),
        ("[x\\-]", "-", true, false),
        ("[x\\-]", "z", false, false),
        ("[\\-x]", "x", true, false),
        ("[\\-x]", "-", true, false),
        ("[\\-x]", "a", false, false),
        ("[]a]", "]", false, true),
        ("[-]", "-", false, true),
        ("[x-]", "x", false, true),
        ("[x-]", "-", false, true),
        ("[x-]", "z", false, true),
        ("[-x]", "x", false, true),
        ("[-x]", "-", false, true),
        ("[-x]", "a", false, true),
        ("\\", "a", false, true),
        ("[a-b-c]", "a", false, true),
        ("[", "a", false, true),
        ("[^", "a", false, true),
        ("[^bc", "a", false, true),
        ("a[", "a", false, true), // was nil but IMO its wrong
        ("a[", "ab", false, true),
        ("*x", "xxx", true, false),
    ];

    #[test]
    fn moby_match_go_filepath_table() {
        assert_eq!(GO_MATCH.len(), 54);
        for &(pattern, name, want, bad) in GO_MATCH {
            match go_matches(name, &[pattern]) {
                Ok(got) => {
                    assert!(
                        !bad,
                        "pattern={pattern:?}: want ErrBadPattern, got Ok({got})"
                    );
                    assert_eq!(got, want, "pattern={pattern:?} name={name:?}");
                }
                Err(e) => assert!(
                    bad && is_bad_pattern(&e),
                    "pattern={pattern:?} name={name:?}: {e}"
                ),
            }
        }
    }

    /// patternmatcher_test.go `compileTests` (the "slash" run).
    const COMPILE: &[(&str, MatchType, &str)] = &[
        ("*", MatchType::Regexp, "^[^/]*$"),
        ("file*", MatchType::Regexp, "^file[^/]*$"),
        ("*file", MatchType::Regexp, "^[^/]*file$"),
        ("a*/b", MatchType::Regexp, "^a[^/]*/b$"),
        ("**", MatchType::Suffix, ""),
        ("**/**", MatchType::Regexp, "^(.*/)?.*$"),
        ("dir/**", MatchType::Prefix, ""),
        ("**/dir", MatchType::Suffix, ""),
        ("**/dir2/*", MatchType::Regexp, "^(.*/)?dir2/[^/]*$"),
        ("**/dir2/**", MatchType::Regexp, "^(.*/)?dir2/.*$"),
        ("**file", MatchType::Suffix, ""),
        ("**/file*txt", MatchType::Regexp, "^(.*/)?file[^/]*txt$"),
        (
            "**/**/*.txt",
            MatchType::Regexp,
            "^(.*/)?(.*/)?[^/]*\\.txt$",
        ),
        ("a[b-d]e", MatchType::Regexp, "^a[b-d]e$"),
        (".*", MatchType::Regexp, "^\\.[^/]*$"),
        ("abc.def", MatchType::Exact, ""),
        ("abc?def", MatchType::Regexp, "^abc[^/]def$"),
        ("**/foo/bar", MatchType::Suffix, ""),
        ("a(b)c/def", MatchType::Exact, ""),
        ("a.|)$(}+{bc", MatchType::Exact, ""),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            MatchType::Exact,
            "",
        ),
    ];

    #[test]
    fn moby_compile_table() {
        assert_eq!(COMPILE.len(), 21);
        for &(pattern, want_type, want_re) in COMPILE {
            let (got_type, got_re) = compile(&go_clean(pattern));
            assert_eq!(got_type, want_type, "pattern={pattern:?}");
            if want_type == MatchType::Regexp {
                assert_eq!(got_re, want_re, "pattern={pattern:?}");
                assert!(go_regexp::Regexp::new(&got_re).is_ok(), "{got_re}");
            }
        }
    }

    #[test]
    fn moby_small_matches_tests() {
        // (moby test, file, patterns, the result or None for an error)
        let cases: &[(&str, &str, &[&str], Option<bool>)] = &[
            ("TestWildcardMatches", "fileutils.go", &["*"], Some(true)),
            ("TestPatternMatches", "fileutils.go", &["*.go"], Some(true)),
            (
                "TestExclusionPatternMatchesPatternBefore",
                "fileutils.go",
                &["!fileutils.go", "*.go"],
                Some(true),
            ),
            (
                "TestPatternMatchesFolderExclusions",
                "docs/README.md",
                &["docs", "!docs/README.md"],
                Some(false),
            ),
            (
                "TestPatternMatchesFolderWithSlashExclusions",
                "docs/README.md",
                &["docs/", "!docs/README.md"],
                Some(false),
            ),
            (
                "TestPatternMatchesFolderWildcardExclusions",
                "docs/README.md",
                &["docs/*", "!docs/README.md"],
                Some(false),
            ),
            (
                "TestExclusionPatternMatchesPatternAfter",
                "fileutils.go",
                &["*.go", "!fileutils.go"],
                Some(false),
            ),
            (
                "TestExclusionPatternMatchesWholeDirectory",
                ".",
                &["*.go"],
                Some(false),
            ),
            ("TestSingleExclamationError", "fileutils.go", &["!"], None),
            (
                "TestMatchesWithNoPatterns",
                "/any/path/there",
                &[],
                Some(false),
            ),
            (
                "TestMatchesWithMalformedPatterns",
                "/any/path/there",
                &["["],
                None,
            ),
        ];
        for &(name, file, patterns, want) in cases {
            match (go_matches(file, patterns), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{name}"),
                (Err(e), None) => assert!(
                    is_bad_pattern(&e) || e == PatternError::LoneExclamation,
                    "{name}: {e}"
                ),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn moby_clean_patterns_tests() {
        // TestCleanPatterns, TestCleanPatternsStripEmptyPatterns
        assert_eq!(new(&["docs", "config"]).unwrap().patterns.len(), 2);
        assert_eq!(new(&["docs", "config", ""]).unwrap().patterns.len(), 2);
        // TestCleanPatternsExceptionFlag, ...LeadingSpaceTrimmed, ...TrailingSpaceTrimmed
        assert!(new(&["docs", "!docs/README.md"]).unwrap().has_exceptions());
        assert!(new(&["docs", "  !docs/README.md"])
            .unwrap()
            .has_exceptions());
        assert!(new(&["docs", "!docs/README.md  "])
            .unwrap()
            .has_exceptions());
        // TestCleanPatternsErrorSingleException
        assert_eq!(new(&["!"]).unwrap_err(), PatternError::LoneExclamation);
    }

    #[test]
    fn moby_malformed_pattern_that_passes_filepath_match() {
        // TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall:
        // moby accepts `[Local-Only]/` and fails each match with ErrBadPattern
        // (the class range `l-O` runs backwards); we refuse it up front.
        let err = DockerIgnore::parse("[Local-Only]/\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(err.pattern, "[Local-Only]");
        assert!(
            matches!(&err.reason, PatternError::Regexp(m) if m.contains("l-O")),
            "{err}"
        );
    }

    #[test]
    fn moby_ignorefile_read_all() {
        // ignorefile_test.go TestReadAll
        assert!(read_all("").unwrap().is_empty());
        let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        let got: Vec<String> = read_all(content)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let want = [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!",
        ];
        assert_eq!(got, want);
        // patternmatcher.New then rejects the lone `!`, on line 8.
        let err = DockerIgnore::parse(content).unwrap_err();
        assert_eq!(
            (err.line, err.pattern.as_str(), &err.reason),
            (8, "!", &PatternError::LoneExclamation)
        );
        assert_eq!(
            err.to_string(),
            "line 8: `!`: illegal exclusion pattern: \"!\"; fix or remove that line"
        );
    }

    #[test]
    fn read_all_lines_like_bufio_and_ignorefile() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            ("", &[]),
            ("\n\n", &[]),
            ("a\r\nb\r\n", &[(1, "a"), (2, "b")]),
            ("\u{feff}a\n\u{feff}b", &[(1, "a"), (2, "\u{feff}b")]),
            ("\u{feff}# bom then comment\nx", &[(2, "x")]),
            // `#` only at the very start of a line makes a comment.
            ("  # not a comment\n#comment", &[(1, "# not a comment")]),
            ("\t spaced \t\n", &[(1, "spaced")]),
            ("\u{a0}nbsp\u{3000}\n", &[(1, "nbsp")]),
            (
                "./a/../b/\n/abs\n//x//y/\n/\n.\n",
                &[(1, "b"), (2, "abs"), (3, "x/y"), (4, "/"), (5, ".")],
            ),
            (
                "!  /x/./y\n! ./\n!!a",
                &[(1, "!x/y"), (2, "!."), (3, "!!a")],
            ),
            ("a\\ b\n", &[(1, "a\\ b")]),
        ];
        for &(text, want) in cases {
            let got = read_all(text).unwrap();
            let got: Vec<(usize, &str)> = got.iter().map(|(l, p)| (*l, p.as_str())).collect();
            assert_eq!(got, want, "text={text:?}");
        }
        let long = format!("ok\n{}\n", "x".repeat(MAX_LINE));
        let err = read_all(&long).unwrap_err();
        assert_eq!((err.line, err.reason), (2, PatternError::LineTooLong));
        assert!(read_all(&"x".repeat(MAX_LINE - 1)).is_ok());
    }

    #[test]
    fn go_clean_matches_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("a/../..", ".."),
            ("/..", "/"),
            ("/../a", "/a"),
            ("a/b/../../c", "c"),
            ("a//b/./c/", "a/b/c"),
            ("abc/def/..", "abc"),
            ("/", "/"),
            ("!a/../b", "b"),
            ("!/", "!"),
        ];
        for (input, want) in cases {
            assert_eq!(go_clean(input), want, "{input:?}");
        }
        assert_eq!(go_dir("a/b/c"), "a/b");
        assert_eq!(go_dir("file"), ".");
        assert_eq!(go_dir("file/"), "file");
        assert_eq!(go_dir("/"), "/");
    }

    #[test]
    fn errors_name_the_line_and_the_pattern() {
        let text = "# header\n\nok\nbad[\n";
        let err = DockerIgnore::parse(text).unwrap_err();
        assert_eq!(
            (err.line, err.pattern.as_str(), &err.reason),
            (4, "bad[", &PatternError::Syntax)
        );
        assert_eq!(
            err.to_string(),
            "line 4: `bad[`: syntax error in pattern; fix or remove that line"
        );
        // `!/` cleans to `!`: a lone exclamation mark, like docker says.
        assert_eq!(
            DockerIgnore::parse("!/").unwrap_err().reason,
            PatternError::LoneExclamation
        );
    }

    /// (pattern, path, excluded) for the corners where Docker surprises.
    const SURPRISES: &[(&str, &str, bool)] = &[
        // `!` negates nothing in a class: RE2 reads `[!a]` as `!` or `a`.
        ("[!a]", "b", false),
        ("[!a]", "!", true),
        ("[!a]", "a", true),
        ("[^a]", "b", true),
        // `^` is literal in an exact pattern but an anchor once the pattern
        // becomes a regexp: `^x*` matches `xy`, never `^xy`.
        ("^x", "^x", true),
        ("^x*", "xy", true),
        ("^x*", "^xy", false),
        ("a^b*", "a^b", false),
        // Escapes go to the regexp: `\d` is a digit, `\n` a newline.
        ("a\\d", "a1", true),
        ("a\\d", "ad", false),
        ("a\\x41", "aA", true),
        ("a\\.b", "a.b", true),
        ("a\\.b", "axb", false),
        // POSIX groups inside classes work as in RE2.
        ("[[:digit:]]x", "7x", true),
        ("[[:^digit:]]x", "7x", false),
        // `**file` is a plain suffix: `xfile` matches too.
        ("**file", "dir/xfile", true),
        // A trailing `\Q` swallows the final `$`: the match is a prefix.
        ("a\\Q", "a$b", true),
        // Inside `\Q...\E` the backslash patternmatcher put before `.` is literal.
        ("a\\Qb.c\\E?", "ab\\.cX", true),
        ("a\\Qb.c\\E?", "ab.cX", false),
        // `**` cannot cross a newline (`.` in Go's regexp).
        ("**/*.pyc", "a\nb/c.pyc", false),
        ("**/*.pyc", "ab/c.pyc", true),
        // `*` and `?` in a class become `[^/]*` and `[^/]` inside it.
        ("[?]", "[]", true),
        ("[?]", "?", false),
        // An exact pattern is compared raw, escapes and all.
        ("a.b", "a.b", true),
        // A pattern matching a directory excludes all below it.
        ("build", "build/x/y", true),
        ("/build", "build/x", true),
        ("build/", "build/x", true),
        ("sub/build", "build/x", false),
        ("*.pyc", "sub/x.pyc", false),
        ("**/*.pyc", "sub/x.pyc", true),
    ];

    #[test]
    fn surprising_docker_behaviour_is_kept() {
        for &(pattern, path, want) in SURPRISES {
            let ignore =
                DockerIgnore::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
            assert_eq!(
                ignore.excludes(path),
                want,
                "pattern={pattern:?} path={path:?}"
            );
        }
    }

    #[test]
    fn regexp_failures_are_pattern_errors() {
        let cases = [
            // Backwards range: filepath.Match accepts it, RE2 does not.
            ("[z-a]", "invalid character class range"),
            // Go's Match stops at the first chunk that fails, so `[` after `*` slips through.
            ("a*[", "missing closing ]"),
            ("[[:alpha:]", "missing closing ]"),
            ("[[:nope:]]", "invalid character class range"),
            ("a\\y", "invalid escape sequence"),
            ("a\\é", "invalid escape sequence"),
            ("a\\1", "invalid escape sequence"),
            ("a\\C", "invalid escape sequence"),
        ];
        for (pattern, code) in cases {
            let err = DockerIgnore::parse(pattern).unwrap_err();
            assert!(
                matches!(&err.reason, PatternError::Regexp(m) if m.contains(code)),
                "{pattern:?}: {err}"
            );
        }
        let err = DockerIgnore::parse("x\n\\pL*").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(matches!(err.reason, PatternError::Unsupported(_)), "{err}");
        // Go's Match never checks this class, and RE2 reads `[-]` as `-`.
        assert!(DockerIgnore::parse("a*[-]").unwrap().excludes("ab-"));
    }

    #[test]
    fn last_matching_pattern_wins() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.md\n!README.md", "README.md", false),
            ("!README.md\n*.md", "README.md", true),
            ("*.md\n!README.md\nREADME.md", "README.md", true),
            ("docs\n!docs/keep.md", "docs/keep.md", false),
            ("docs\n!docs/keep.md", "docs/other.md", true),
            ("!docs/keep.md\ndocs", "docs/keep.md", true),
            ("", "anything", false),
            ("*", ".", false),
        ];
        for &(text, path, want) in cases {
            assert_eq!(
                DockerIgnore::parse(text).unwrap().excludes(path),
                want,
                "{text:?} {path:?}"
            );
        }
        assert!(!DockerIgnore::empty().excludes("x"));
        assert!(!DockerIgnore::empty().has_exceptions());
    }

    #[test]
    fn build_files_get_exceptions_as_the_cli_adds_them() {
        let keep = |text: &str, files: &[&str], path: &str| {
            let rules = DockerIgnore::parse(text)
                .unwrap()
                .keep_build_files(files)
                .unwrap();
            !rules.excludes(path)
        };
        assert!(keep("*", &["Dockerfile", ".dockerignore"], "Dockerfile"));
        assert!(keep("*", &["Dockerfile", ".dockerignore"], ".dockerignore"));
        assert!(keep("docker", &["docker/Dockerfile"], "docker/Dockerfile"));
        assert!(!keep("docker", &["docker/Dockerfile"], "docker/other"));
        // The CLI's check looks at one parent only, as deep as the pattern:
        // `**/c` hides `a/b/c/Dockerfile` from it, so no exception is added.
        assert!(!keep("**/c", &["a/b/c/Dockerfile"], "a/b/c/Dockerfile"));
        // Nothing excluded, nothing added.
        let rules = DockerIgnore::parse("x")
            .unwrap()
            .keep_build_files(&["Dockerfile"])
            .unwrap();
        assert!(!rules.has_exceptions());
        // A build file whose name is not a valid pattern cannot be kept.
        let err = DockerIgnore::parse("*")
            .unwrap()
            .keep_build_files(&["Docker[file"])
            .unwrap_err();
        assert!(matches!(err, WalkError::BuildFile { .. }), "{err}");
    }

    // ---- walk ----

    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new(files: &[&str]) -> Tree {
            let dir = tempfile::tempdir().unwrap();
            for f in files {
                let p = dir.path().join(f);
                if let Some(d) = f.strip_suffix('/') {
                    fs::create_dir_all(dir.path().join(d)).unwrap();
                } else {
                    fs::create_dir_all(p.parent().unwrap()).unwrap();
                    fs::write(&p, f.as_bytes()).unwrap();
                }
            }
            Tree(dir)
        }

        fn path(&self) -> &Path {
            self.0.path()
        }

        fn sent(&self, dockerignore: &str, always: &[&str]) -> Vec<String> {
            let rules = DockerIgnore::parse(dockerignore).unwrap();
            walk(self.path(), &rules, always)
                .unwrap()
                .into_iter()
                .map(|e| match e.kind {
                    EntryKind::Dir => format!("{}/", e.rel_path),
                    _ => e.rel_path,
                })
                .collect()
        }
    }

    #[test]
    fn excluded_directory_is_skipped_whole() {
        let t = Tree::new(&[
            "node_modules/a/b.js",
            "node_modules/keep.txt",
            "src/main.js",
        ]);
        assert_eq!(t.sent("node_modules", &[]), ["src/", "src/main.js"]);
    }

    #[test]
    fn exception_beneath_an_excluded_directory_is_sent_without_the_directory() {
        let t = Tree::new(&[
            "node_modules/a/b.js",
            "node_modules/keep.txt",
            "src/main.js",
        ]);
        // TarWithOptions descends but does not write `node_modules/` itself.
        assert_eq!(
            t.sent("node_modules\n!node_modules/keep.txt", &[]),
            ["node_modules/keep.txt", "src/", "src/main.js"]
        );
        // A wildcard exception does not open the directory (its text must start with it).
        assert_eq!(
            t.sent("node_modules\n!**/keep.txt", &[]),
            ["src/", "src/main.js"]
        );
        assert_eq!(
            t.sent("node_modules\n!node_modules/*.txt", &[]),
            ["node_modules/keep.txt", "src/", "src/main.js"]
        );
        // An exception for a directory brings back everything in it.
        assert_eq!(t.sent("*\n!src", &[]), ["src/", "src/main.js"]);
    }

    #[test]
    fn double_star_reaches_any_depth() {
        let t = Tree::new(&[
            "a.pyc",
            "a.py",
            "pkg/b.pyc",
            "pkg/deep/c.pyc",
            "pkg/deep/c.py",
        ]);
        assert_eq!(
            t.sent("**/*.pyc", &[]),
            ["a.py", "pkg/", "pkg/deep/", "pkg/deep/c.py"]
        );
        assert_eq!(
            t.sent("*.pyc", &[]),
            [
                "a.py",
                "pkg/",
                "pkg/b.pyc",
                "pkg/deep/",
                "pkg/deep/c.py",
                "pkg/deep/c.pyc"
            ]
        );
    }

    #[test]
    fn last_match_wins_in_the_walk() {
        let t = Tree::new(&["README.md", "CHANGES.md", "x.txt"]);
        assert_eq!(t.sent("*.md\n!README.md", &[]), ["README.md", "x.txt"]);
        assert_eq!(t.sent("!README.md\n*.md", &[]), ["x.txt"]);
    }

    #[test]
    fn walk_uses_parent_results_like_tar_with_options() {
        // `a/x` then `!a`: the exception never matched `a` itself (skipped while
        // nothing was matched), so TarWithOptions drops `a/x`, unlike excludes().
        let t = Tree::new(&["a/x", "a/y"]);
        let rules = DockerIgnore::parse("a/x\n!a").unwrap();
        assert!(!rules.excludes("a/x"));
        assert_eq!(t.sent("a/x\n!a", &[]), ["a/", "a/y"]);
    }

    #[test]
    fn dockerfile_and_dockerignore_are_always_sent() {
        let t = Tree::new(&[
            "Dockerfile",
            ".dockerignore",
            "app.py",
            "docker/Dockerfile",
            "docker/other",
        ]);
        let always = ["Dockerfile", ".dockerignore"];
        assert_eq!(t.sent("*", &always), [".dockerignore", "Dockerfile"]);
        assert_eq!(
            t.sent("Dockerfile\n.dockerignore", &always),
            [
                ".dockerignore",
                "Dockerfile",
                "app.py",
                "docker/",
                "docker/Dockerfile",
                "docker/other"
            ]
        );
        assert_eq!(
            t.sent("Dockerfile\n.dockerignore", &[]),
            ["app.py", "docker/", "docker/Dockerfile", "docker/other"]
        );
        assert_eq!(
            t.sent("docker", &["docker/Dockerfile", ".dockerignore"]),
            [".dockerignore", "Dockerfile", "app.py", "docker/Dockerfile"]
        );
    }

    #[test]
    fn symlinks_are_sent_as_links_and_not_followed() {
        let t = Tree::new(&["real/inner.txt", "file.txt"]);
        std::os::unix::fs::symlink("real", t.path().join("dirlink")).unwrap();
        std::os::unix::fs::symlink("file.txt", t.path().join("filelink")).unwrap();
        std::os::unix::fs::symlink("/nowhere/at/all", t.path().join("dangling")).unwrap();
        let rules = DockerIgnore::empty();
        let entries = walk(t.path(), &rules, &[]).unwrap();
        let kinds: Vec<(&str, &EntryKind)> = entries
            .iter()
            .map(|e| (e.rel_path.as_str(), &e.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "dangling",
                    &EntryKind::Symlink {
                        target: "/nowhere/at/all".into()
                    }
                ),
                (
                    "dirlink",
                    &EntryKind::Symlink {
                        target: "real".into()
                    }
                ),
                ("file.txt", &EntryKind::File { size: 8 }),
                (
                    "filelink",
                    &EntryKind::Symlink {
                        target: "file.txt".into()
                    }
                ),
                ("real", &EntryKind::Dir),
                ("real/inner.txt", &EntryKind::File { size: 14 }),
            ]
        );
        // A pattern on the link applies to the link, not to what it points at.
        assert_eq!(
            t.sent("real", &[]),
            ["dangling", "dirlink", "file.txt", "filelink"]
        );
        assert_eq!(
            t.sent("dirlink/*", &[]),
            [
                "dangling",
                "dirlink",
                "file.txt",
                "filelink",
                "real/",
                "real/inner.txt"
            ]
        );
    }

    #[test]
    fn odd_names_are_matched_and_sorted_by_bytes() {
        let t = Tree::new(&[
            "with space.txt",
            "ünïcødé.txt",
            "-dash",
            "[x].txt",
            "a-b",
            "a/b",
            "Z",
        ]);
        // Byte order of rel_path: `a` < `a-b` < `a/b` ('-' sorts before '/').
        let all = [
            "-dash",
            "Z",
            "[x].txt",
            "a/",
            "a-b",
            "a/b",
            "with space.txt",
            "ünïcødé.txt",
        ];
        let all_but = |gone: &[&str]| -> Vec<&str> {
            all.iter().copied().filter(|e| !gone.contains(e)).collect()
        };
        assert_eq!(t.sent("", &[]), all);
        let gone = ["with space.txt", "ünïcødé.txt", "-dash"];
        assert_eq!(t.sent(&gone.join("\n"), &[]), all_but(&gone));
        // `[x].txt` as a pattern is a class (it names `x.txt`); escaped brackets name the file.
        assert_eq!(t.sent("[x].txt", &[]), all);
        assert_eq!(t.sent("\\[x\\].txt", &[]), all_but(&["[x].txt"]));
        assert_eq!(
            t.sent("[[]x].txt\n?nïcødé.*", &[]),
            all_but(&["[x].txt", "ünïcødé.txt"])
        );
    }

    #[test]
    fn empty_and_comment_only_dockerignore_send_everything() {
        let t = Tree::new(&[".dockerignore", "a/b.txt", "c/"]);
        let all = [".dockerignore", "a/", "a/b.txt", "c/"];
        assert_eq!(t.sent("", &[]), all);
        assert_eq!(t.sent("# a/b.txt\n\n   \n", &[]), all);
        assert_eq!(t.sent("# comment\na # not a comment here", &[]), all);
        assert_eq!(t.sent("# comment\na\n", &[]), [".dockerignore", "c/"]);
    }

    #[test]
    fn entries_carry_size_mode_and_absolute_path() {
        use std::os::unix::fs::PermissionsExt;
        let t = Tree::new(&["bin/run.sh", "data/"]);
        fs::set_permissions(
            t.path().join("bin/run.sh"),
            fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        fs::set_permissions(t.path().join("data"), fs::Permissions::from_mode(0o700)).unwrap();
        let entries = walk(t.path(), &DockerIgnore::empty(), &[]).unwrap();
        let run = entries.iter().find(|e| e.rel_path == "bin/run.sh").unwrap();
        assert_eq!(run.kind, EntryKind::File { size: 10 });
        assert_eq!(run.mode, 0o4755);
        assert_eq!(run.abs_path, t.path().join("bin/run.sh"));
        let data = entries.iter().find(|e| e.rel_path == "data").unwrap();
        assert_eq!((&data.kind, data.mode), (&EntryKind::Dir, 0o700));
    }

    #[test]
    fn walk_reports_a_root_that_is_not_a_directory() {
        let t = Tree::new(&["file"]);
        let err = walk(&t.path().join("file"), &DockerIgnore::empty(), &[]).unwrap_err();
        assert!(matches!(err, WalkError::NotADirectory { .. }), "{err}");
        let err = walk(&t.path().join("missing"), &DockerIgnore::empty(), &[]).unwrap_err();
        assert!(matches!(err, WalkError::Io { .. }), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn sockets_are_not_sent() {
        let t = Tree::new(&["a"]);
        let _listener = std::os::unix::net::UnixListener::bind(t.path().join("sock")).unwrap();
        assert_eq!(t.sent("", &[]), ["a"]);
    }
}
