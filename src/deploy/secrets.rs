//! The values of the `todo-secrets` Secret: the user's, those already in the
//! cluster (so generated ones stay stable), or freshly generated.

use std::collections::BTreeMap;

use crate::project::model::DatabaseMode;
use crate::project::secrets::{LlmProviderError, SecretValue, Secrets, LLM_PROVIDERS};
use crate::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("profile `{profile}` uses an external database and DATABASE_URL is not set\n  help: add DATABASE_URL=postgresql://USER:PASSWORD@HOST/DB to {env_file} (or export it), or use --set database=in-cluster")]
    NoDatabaseUrl { profile: String, env_file: String },
    #[error(transparent)]
    LlmProvider(#[from] LlmProviderError),
    #[error("cannot generate a secret: {0}")]
    // getrandom 0.3 implements std::error::Error only with its `std` feature.
    Random(getrandom::Error),
}

/// Resolves every key of `todo-secrets`. `existing` is what the cluster's
/// Secret holds now (empty when there is none or no cluster).
pub fn resolve(
    project: &Project,
    user: &Secrets,
    existing: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, SecretValue>, SecretsError> {
    let mut out = BTreeMap::new();
    let kept_or_new = |key: &str| -> Result<SecretValue, SecretsError> {
        match existing.get(key).filter(|v| !v.is_empty()) {
            Some(v) => Ok(SecretValue::new(v.clone())),
            None => generate().map(SecretValue::new),
        }
    };
    match project.database {
        DatabaseMode::External => {
            let url = user
                .get("DATABASE_URL")
                .ok_or_else(|| SecretsError::NoDatabaseUrl {
                    profile: project.profile.name.clone(),
                    env_file: project.root.join(".env").display().to_string(),
                })?;
            out.insert("DATABASE_URL".to_string(), url.value.clone());
        }
        DatabaseMode::InCluster => {
            let password = kept_or_new("POSTGRES_PASSWORD")?;
            let url = format!("postgresql://todo:{}@postgres:5432/todo", password.expose());
            out.insert("DATABASE_URL".to_string(), SecretValue::new(url));
            out.insert("POSTGRES_PASSWORD".to_string(), password);
        }
    }
    let auth = match user.get("BETTER_AUTH_SECRET") {
        Some(s) => s.value.clone(),
        None => kept_or_new("BETTER_AUTH_SECRET")?,
    };
    out.insert("BETTER_AUTH_SECRET".to_string(), auth);
    for (_, key) in LLM_PROVIDERS {
        if let Some(value) = user.get(key) {
            out.insert(key.to_string(), value.value.clone());
        }
    }
    Ok(out)
}

/// 32 random bytes as hex.
fn generate() -> Result<String, SecretsError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(SecretsError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
