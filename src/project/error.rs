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
            Origin::Merged => f.write_str("configuration"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: {message}{}", help_line(.help))]
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

fn help_line(help: &Option<String>) -> String {
    match help {
        Some(h) => format!("\n  help: {h}"),
        None => String::new(),
    }
}

/// "did you mean `x`?" when one candidate is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
