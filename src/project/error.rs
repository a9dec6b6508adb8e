//! Configuration errors: each names where the problem is and how to fix it.

use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A YAML file, with the 1-based position of the offending node.
    File {
        path: PathBuf,
        line: u64,
        column: u64,
    },
    /// One `--set key=value` argument.
    SetArg(String),
    /// The merged configuration (a rule across fields).
    Merged,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { path, line, column } if *line > 0 => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Origin::File { path, .. } => write!(f, "{}", path.display()),
            Origin::SetArg(arg) => write!(f, "--set {arg}"),
            Origin::Merged => f.write_str("the merged configuration"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}{message}{}", origin_prefix(.origin), help_line(.help))]
    Invalid {
        origin: Origin,
        message: String,
        help: Option<String>,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--project {}: no such directory{}", .path.display(), help_line(&Some("pass the directory that holds todo-dev.yaml (or your frontend/ and backend/)".into())))]
    NoProjectDir { path: PathBuf },
    #[error("unknown profile `{name}`{}", help_line(.help))]
    UnknownProfile { name: String, help: Option<String> },
    #[error("service `{service}`: context directory {} does not exist{}", .path.display(), help_line(&Some(format!("create it, or set services.{service}.context in todo-dev.yaml (relative to {})", .root.display()))))]
    MissingContext {
        service: String,
        path: PathBuf,
        root: PathBuf,
    },
}

// A rule across the merged layers has no single place to point at.
fn origin_prefix(origin: &Origin) -> String {
    match origin {
        Origin::Merged => String::new(),
        o => format!("{o}: "),
    }
}

fn help_line(help: &Option<String>) -> String {
    match help {
        Some(h) => format!("\n  help: {h}"),
        None => String::new(),
    }
}

/// "did you mean `x`?" when a candidate is within a typo of `word`: at most
/// one edit per three characters, as cargo judges it.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}
