//! One `.dockerignore` pattern as moby's patternmatcher compiles and matches it.

use super::gopath::{go_clean, go_match};
use super::regexp as go_regexp;
use super::PatternError;

/// How a pattern is matched; patternmatcher avoids the regexp when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MatchType {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// Cleaned, without the leading `!`.
    pub(super) cleaned: String,
    /// Number of '/'-separated parts of `cleaned`.
    pub(super) dirs: usize,
    pub(super) exclusion: bool,
    pub(super) match_type: MatchType,
    pub(super) regexp: Option<go_regexp::Regexp>,
}

impl Pattern {
    /// One pattern as patternmatcher.New handles it; `None` when blank.
    pub(super) fn new(raw: &str) -> Result<Option<Pattern>, PatternError> {
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

    pub(super) fn matches(&self, path: &str) -> bool {
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
pub(super) fn compile(pattern: &str) -> (MatchType, String) {
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
