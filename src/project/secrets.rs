//! The stack's secrets: read from the project's `.env` and the environment,
//! held so that they cannot be printed by accident.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const REDACTED: &str = "<redacted>";

/// The secrets of ../design/stack.md, in the order the docs list them.
pub const KNOWN: [&str; 6] = [
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "OPENAI_API_KEY",
    "GROQ_API_KEY",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
];

/// The `LLM_PROVIDER` values the app knows and the secret each reads its
/// key from (../design/stack.md), in the app's order: unset, the first
/// provider whose key is set is used.
pub const LLM_PROVIDERS: [(&str, &str); 4] = [
    ("openai", "OPENAI_API_KEY"),
    ("groq", "GROQ_API_KEY"),
    ("gemini", "GEMINI_API_KEY"),
    ("openrouter", "OPENROUTER_API_KEY"),
];

/// An `LLM_PROVIDER` the app would stop on at start.
#[derive(Debug, thiserror::Error)]
pub enum LlmProviderError {
    #[error("LLM_PROVIDER={value} (in the environment or {env_file}) is not a provider the app knows\n  help: use one of {}, or leave it unset to use whichever key is set", LLM_PROVIDERS.map(|(p, _)| p).join(", "))]
    Unknown { value: String, env_file: String },
    #[error("LLM_PROVIDER={provider} needs {key}, which is not set; the backend would stop at start\n  help: add {key}=... to {env_file} (or export it), or unset LLM_PROVIDER to use the offline agent")]
    NoKey {
        provider: &'static str,
        key: &'static str,
        env_file: String,
    },
}

/// Refuses an `LLM_PROVIDER` (the setting, if any) the app does not know,
/// or whose key is not among the project's secrets.
pub fn check_llm_provider(
    root: &Path,
    user: &Secrets,
    provider: Option<&str>,
) -> Result<(), LlmProviderError> {
    let Some(value) = provider.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let env_file = root.join(".env").display().to_string();
    let Some(&(provider, key)) = LLM_PROVIDERS
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(value))
    else {
        return Err(LlmProviderError::Unknown {
            value: value.to_string(),
            env_file,
        });
    };
    match user.get(key) {
        Some(_) => Ok(()),
        None => Err(LlmProviderError::NoKey {
            provider,
            key,
            env_file,
        }),
    }
}

/// A secret value: no Display, and Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    DotEnv(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub value: SecretValue,
    pub source: SecretSource,
}

/// The known secrets that are set, by name.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub found: BTreeMap<&'static str, Secret>,
}

impl Secrets {
    /// The environment wins over `.env`, as with docker compose.
    pub fn gather(root: &Path, env: impl Fn(&str) -> Option<String>) -> Secrets {
        let dotenv_path = root.join(".env");
        let dotenv = std::fs::read_to_string(&dotenv_path)
            .map(|t| parse_dotenv(&t))
            .unwrap_or_default();
        let mut found = BTreeMap::new();
        for name in KNOWN {
            let from_env = env(name).filter(|v| !v.is_empty());
            let secret = match (from_env, dotenv.get(name)) {
                (Some(v), _) => Some(Secret {
                    value: SecretValue(v),
                    source: SecretSource::Environment,
                }),
                (None, Some(v)) if !v.is_empty() => Some(Secret {
                    value: SecretValue(v.clone()),
                    source: SecretSource::DotEnv(dotenv_path.clone()),
                }),
                _ => None,
            };
            if let Some(s) = secret {
                found.insert(name, s);
            }
        }
        Secrets { found }
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.found.get(name)
    }
}

/// Plain (non-secret) settings from the environment or `.env`, environment first.
pub fn settings(
    root: &Path,
    keys: &[&str],
    env: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let dotenv = std::fs::read_to_string(root.join(".env"))
        .map(|t| parse_dotenv(&t))
        .unwrap_or_default();
    keys.iter()
        .filter_map(|k| {
            let v = env(k)
                .filter(|v| !v.is_empty())
                .or_else(|| dotenv.get(*k).cloned())?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// `KEY=VALUE` lines, with `export `, comments and single or double quotes.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        // Not a variable name: a line no shell or compose file would read either.
        if k.is_empty() || k.contains(char::is_whitespace) {
            continue;
        }
        let v = v.trim();
        let v = if let Some(q) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            q.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(q) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            q.to_string()
        } else {
            // An unquoted value ends at a ` #` comment.
            v.split(" #").next().unwrap_or("").trim().to_string()
        };
        out.insert(k.to_string(), v);
    }
    out
}

/// Keys whose values must never be shown: the known secrets and anything
/// named like a credential.
pub fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    KNOWN.contains(&k.as_str())
        || [
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "TOKEN",
            "API_KEY",
            "APIKEY",
            "PRIVATE_KEY",
            "CREDENTIAL",
        ]
        .iter()
        .any(|w| k.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let env = parse_dotenv(
            "# comment\nexport DATABASE_URL=\"postgres://u:p@h/db\"\nOPENAI_API_KEY='sk-1'\nX=plain # note\nBAD LINE\n",
        );
        assert_eq!(env["DATABASE_URL"], "postgres://u:p@h/db");
        assert_eq!(env["OPENAI_API_KEY"], "sk-1");
        assert_eq!(env["X"], "plain");
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn environment_wins_over_dotenv_and_debug_hides_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "DATABASE_URL=from-file\nBETTER_AUTH_SECRET=s3\n",
        )
        .unwrap();
        let s = Secrets::gather(dir.path(), |k| {
            (k == "DATABASE_URL").then(|| "from-env".to_string())
        });
        assert_eq!(s.get("DATABASE_URL").unwrap().value.expose(), "from-env");
        assert_eq!(
            s.get("DATABASE_URL").unwrap().source,
            SecretSource::Environment
        );
        assert!(matches!(
            s.get("BETTER_AUTH_SECRET").unwrap().source,
            SecretSource::DotEnv(_)
        ));
        assert!(s.get("OPENAI_API_KEY").is_none());
        assert!(!format!("{s:?}").contains("s3"));
        assert!(!format!("{s:?}").contains("from-env"));
    }

    #[test]
    fn secret_looking_keys() {
        for k in [
            "DATABASE_URL",
            "openai_api_key",
            "JWT_SECRET",
            "DB_PASSWORD",
            "GH_TOKEN",
        ] {
            assert!(looks_secret(k), "{k}");
        }
        for k in ["LOG_LEVEL", "LLM_MODEL", "BACKEND_URL", "PYTHON_IMAGE"] {
            assert!(!looks_secret(k), "{k}");
        }
    }
}
