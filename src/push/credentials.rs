//! Registry credentials, from where the docker CLI keeps them and nowhere
//! else: `$DOCKER_CONFIG/config.json` (default `~/.docker`), its `auths`,
//! and the credential helpers it names (`credHelpers`, `credsStore`).
//! todo-dev stores none of its own and never prints one.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use crate::project::secrets::SecretValue;

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    /// A password or an identity token.
    pub secret: SecretValue,
    /// Where they came from, to say so (never the value).
    pub from: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read the Docker config {path}: {message}\n  help: fix or remove it (`docker login` rewrites it)")]
    Config { path: PathBuf, message: String },
    #[error("the credential helper `docker-credential-{helper}` for {registry} failed: {message}\n  help: check that it is installed and on PATH, or `docker login {registry}` again")]
    Helper {
        helper: String,
        registry: String,
        message: String,
    },
}

/// How long a credential helper may take (some ask a keychain).
const HELPER_DEADLINE: Duration = Duration::from_secs(20);

/// The Docker config file the docker CLI reads.
pub fn config_path() -> PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::host::home_dir().join(".docker"))
        .join("config.json")
}

/// The credentials the docker CLI would use for `registry` (`HOST[:PORT]`),
/// if any: its helper first, then `auths`.
pub async fn for_registry(registry: &str) -> Result<Option<Credentials>, CredentialsError> {
    let path = config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialsError::Config {
                path,
                message: e.to_string(),
            })
        }
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| CredentialsError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let helper = config["credHelpers"][registry]
        .as_str()
        .or(config["credsStore"].as_str())
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper {
        if let Some(c) = from_helper(helper, registry).await? {
            return Ok(Some(c));
        }
    }
    Ok(from_auths(&config, registry, &path))
}

/// `auths` keys as `docker login` writes them: the bare host, or a URL.
fn from_auths(
    config: &serde_json::Value,
    registry: &str,
    path: &std::path::Path,
) -> Option<Credentials> {
    let auths = config["auths"].as_object()?;
    let entry = auths.iter().find_map(|(key, v)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        (host == registry).then_some(v)
    })?;
    let from = format!("{} (auths.{registry})", path.display());
    if let Some(token) = entry["identitytoken"].as_str().filter(|t| !t.is_empty()) {
        return Some(Credentials {
            username: "<token>".into(),
            secret: SecretValue::new(token),
            from,
        });
    }
    let (user, pass) = match entry["auth"].as_str().filter(|a| !a.is_empty()) {
        Some(auth) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()?;
            let text = String::from_utf8(raw).ok()?;
            let (u, p) = text.split_once(':')?;
            (u.to_string(), p.to_string())
        }
        None => (
            entry["username"].as_str()?.to_string(),
            entry["password"].as_str()?.to_string(),
        ),
    };
    Some(Credentials {
        username: user,
        secret: SecretValue::new(pass),
        from,
    })
}

/// `docker-credential-HELPER get` with the registry on stdin, as the docker
/// CLI runs it; "not found" is no error, just no credentials.
async fn from_helper(
    helper: &str,
    registry: &str,
) -> Result<Option<Credentials>, CredentialsError> {
    let program = format!("docker-credential-{helper}");
    let failed = |message: String| CredentialsError::Helper {
        helper: helper.to_string(),
        registry: registry.to_string(),
        message,
    };
    let out = crate::exec::run_with_input(
        program.as_ref(),
        ["get"],
        &[],
        Some(registry.as_bytes()),
        HELPER_DEADLINE,
    )
    .await
    .map_err(|e| failed(e.to_string()))?;
    if out.code != Some(0) {
        let said = format!("{}{}", out.stdout, out.stderr);
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        // The helper's words, which carry no secret on failure.
        return Err(failed(said.trim().chars().take(200).collect()));
    }
    let answer: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|_| failed("its answer is not JSON".into()))?;
    let (Some(user), Some(secret)) = (answer["Username"].as_str(), answer["Secret"].as_str())
    else {
        return Err(failed("its answer has no Username and Secret".into()));
    };
    Ok(Some(Credentials {
        username: match user {
            "<token>" | "" => "<token>".into(),
            u => u.to_string(),
        },
        secret: SecretValue::new(secret),
        from: format!("docker-credential-{helper}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_auths_as_docker_login_writes_them() {
        let p = std::path::Path::new("/home/u/.docker/config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("todo:pa:ss");
        let config = json!({"auths": {
            "https://127.0.0.1:5443/v1/": {"auth": auth},
            "ghcr.io": {"username": "me", "password": "tok"},
            "quay.io": {"auth": "", "identitytoken": "idt"},
        }});
        let c = from_auths(&config, "127.0.0.1:5443", p).unwrap();
        assert_eq!((c.username.as_str(), c.secret.expose()), ("todo", "pa:ss"));
        assert!(!format!("{c:?}").contains("pa:ss"), "Debug shows no secret");
        let c = from_auths(&config, "ghcr.io", p).unwrap();
        assert_eq!(c.secret.expose(), "tok");
        assert_eq!(
            from_auths(&config, "quay.io", p).unwrap().secret.expose(),
            "idt"
        );
        assert!(from_auths(&config, "127.0.0.1:5000", p).is_none());
    }
}
