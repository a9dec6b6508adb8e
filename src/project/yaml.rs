//! Reading YAML into typed layers with errors that point at file:line:column.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, MessageFormatter};

use super::error::{did_you_mean, ConfigError, Origin};

/// Parses `text` (read from `path`) as `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    // An empty file is an empty layer, not an error.
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let (message, help) = describe(&e);
        ConfigError::Invalid {
            origin: Origin::File {
                path: path.to_path_buf(),
                line,
                column,
            },
            message,
            help,
        }
    })
}

/// Turns a YAML error into a message and, where we can, a fix.
pub fn describe(e: &YamlError) -> (String, Option<String>) {
    let inner = unwrap_snippet(e);
    match inner {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let help = match did_you_mean(field, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("valid keys here: {}", expected.join(", ")),
            };
            (format!("unknown key `{field}`"), Some(help))
        }
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let help = match did_you_mean(variant, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("use one of: {}", expected.join(", ")),
            };
            (format!("unknown value `{variant}`"), Some(help))
        }
        other => (
            DefaultMessageFormatter.format_message(other).into_owned(),
            None,
        ),
    }
}

fn unwrap_snippet(e: &YamlError) -> &YamlError {
    match e {
        YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => {
            unwrap_snippet(error)
        }
        other => other,
    }
}
