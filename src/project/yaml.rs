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
        let (mut message, help) = describe(&e);
        // Unknown keys and values are already named in the message.
        if help.is_none() {
            if let Some(found) = text_at(text, line, column) {
                message = format!("{message} (found `{found}`)");
            }
        }
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

/// Parses YAML made by todo-dev itself (from `--set`): no position to report.
pub fn parse_generated<T: DeserializeOwned>(text: &str) -> Result<T, (String, Option<String>)> {
    serde_saphyr::from_str(text).map_err(|e| describe(&e))
}

/// The rest of the line at a 1-based position: what the user wrote there.
fn text_at(text: &str, line: u64, column: u64) -> Option<String> {
    let l = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let rest: String = l
        .chars()
        .skip(usize::try_from(column).ok()?.saturating_sub(1))
        .collect();
    let rest = rest.split(" #").next()?.trim();
    (!rest.is_empty() && rest.len() <= 60).then(|| rest.to_string())
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
        other => {
            let raw = DefaultMessageFormatter.format_message(other).into_owned();
            (plain_words(&raw), None)
        }
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

/// serde's type words in the user's terms.
fn plain_words(raw: &str) -> String {
    let int = ["u8", "u16", "u32", "u64", "i32", "i64"];
    match raw.strip_prefix("invalid ") {
        Some(t) if int.contains(&t) => "expected a whole number".into(),
        Some("bool") => "expected true or false".into(),
        _ if raw == "expected sequence start" => "expected a list, e.g. [a, b]".into(),
        _ if raw == "expected mapping start" => "expected a mapping of `key: value` lines".into(),
        _ => raw.to_string(),
    }
}
