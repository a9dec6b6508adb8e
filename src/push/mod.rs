//! Pushing built images to the project's registry (`deploy.registry`): each
//! keeps its content tag, goes only when the registry lacks that tag, and
//! comes back as `repository:tag@sha256:...`, the exact image pods will run.
//! The registry is asked directly (registry.rs); the layers go through the
//! Docker daemon that holds the image, with the user's Docker credentials.

pub mod credentials;
pub mod registry;

use bollard::auth::DockerCredentials;
use bollard::Docker;
use futures::StreamExt;

use base64::Engine as _;

use crate::project::model::Registry;
use crate::project::secrets::SecretValue;
use credentials::{Credentials, CredentialsError};
use registry::{RegistryClient, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("pushing {image} to {registry}: the Docker daemon says: {message}{}", daemon_hint(.message, .registry))]
    Daemon {
        registry: String,
        image: String,
        message: String,
    },
    #[error("pushing {image} to {registry}: the daemon pushed {pushed} but the registry now serves {served} for that tag\n  help: another push to the same tag raced this one; build again (the tag is the content hash, so it should settle)")]
    DigestMismatch {
        registry: String,
        image: String,
        pushed: String,
        served: String,
    },
    #[error("pushing {image} to {registry}: the registry has no manifest for it after the push\n  help: check the registry's logs; nothing was deployed")]
    NotThere { registry: String, image: String },
    #[error("{registry} has no {image}: deploy runs what the registry holds, and nothing pushed it\n  help: run `todo-dev build` first (with deploy.registry set it pushes), or `todo-dev up`, which builds and pushes")]
    NotPushed { registry: String, image: String },
}

fn daemon_hint(message: &str, registry: &str) -> String {
    let m = message.to_ascii_lowercase();
    let hint = if m.contains("unauthorized") || m.contains("authentication required") {
        format!("the registry refused the credentials: `docker login {registry}` again")
    } else if m.contains("denied") {
        "this account may not push there: ask for push access, or choose another deploy.registry path".to_string()
    } else if m.contains("413") || m.contains("too large") {
        format!("{registry} (or a proxy in front of it) refuses uploads this big: raise its body size limit (nginx: client_max_body_size)")
    } else if m.contains("name unknown") || m.contains("name_unknown") {
        "the registry does not know that repository: create it first, or check the deploy.registry path".to_string()
    } else if m.contains("x509") || m.contains("certificate") {
        format!("the daemon does not trust {registry}'s certificate: put its CA in /etc/docker/certs.d/{registry}/ca.crt where the daemon runs")
    } else if m.contains("http response to https client") {
        format!("{registry} speaks plain HTTP: add it to the daemon's insecure-registries, or serve it with TLS")
    } else if m.contains("connection refused")
        || m.contains("no such host")
        || m.contains("timeout")
    {
        format!("the daemon cannot reach {registry}: it pushes from where it runs, which must reach the registry too")
    } else {
        return String::new();
    };
    format!("\n  help: {hint}")
}

/// The registry, reached and its credentials checked once for a whole push.
pub struct Target {
    pub registry: Registry,
    client: RegistryClient,
    credentials: Option<Credentials>,
}

impl Target {
    pub async fn connect(registry: &Registry) -> Result<Target, PushError> {
        let credentials = credentials::for_registry(&registry.host).await?;
        let client = RegistryClient::connect(&registry.host, credentials.clone()).await?;
        Ok(Target {
            registry: registry.clone(),
            client,
            credentials,
        })
    }

    /// Where the credentials came from (never their value), for the output.
    pub fn credentials_from(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.from.as_str())
    }

    /// The pull credentials for the cluster, from the same credentials the
    /// push uses: `{"auths": {HOST: {username, password, auth}}}`, as
    /// `kubectl create secret docker-registry` writes it.
    pub fn pull_auth(&self) -> PullAuth {
        let Some(c) = &self.credentials else {
            return PullAuth::Anonymous;
        };
        let host = &self.registry.host;
        // An identity token is exchanged for a bearer token by the docker
        // CLI; kubelet's keyring reads only username and password.
        if c.username == "<token>" {
            return PullAuth::Unusable(format!(
                "the credentials for {host} ({}) are an identity token, which kubelet cannot pull with; the pods will pull anonymously\n  help: `docker login {host}` with a username and password or access token, or give the namespace a pull Secret of your own",
                c.from
            ));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let auth = b64.encode(format!("{}:{}", c.username, c.secret.expose()));
        let config = serde_json::json!({"auths": {host.as_str(): {
            "username": c.username,
            "password": c.secret.expose(),
            "auth": auth,
        }}});
        PullAuth::Config(SecretValue::new(config.to_string()))
    }

    /// The digest reference of `local` (`repository:tag`) the registry holds
    /// now, without pushing: what `deploy` runs.
    pub async fn resolve(&self, local: &str) -> Result<String, PushError> {
        let (repository, tag) = local.rsplit_once(':').unwrap_or((local, "latest"));
        let image = self.registry.image(local);
        match self
            .client
            .manifest_digest(&self.path(repository), tag)
            .await?
        {
            Some(digest) => Ok(format!("{image}@{digest}")),
            None => Err(PushError::NotPushed {
                registry: self.registry.host.clone(),
                image,
            }),
        }
    }

    /// The path of `repository` inside the registry (`team/todo-backend`).
    fn path(&self, repository: &str) -> String {
        let full = self.registry.repository(repository);
        full[self.registry.host.len() + 1..].to_string()
    }

    /// `doctor`'s check: may this account push `repository` here?
    pub async fn may_push(&self, repository: &str) -> Result<(), PushError> {
        Ok(self.client.may_push(&self.path(repository)).await?)
    }
}

/// What kubelet needs to pull from the registry.
#[derive(Debug, Clone)]
pub enum PullAuth {
    /// No credentials for it: pulled anonymously.
    Anonymous,
    /// A `.dockerconfigjson` holding these credentials for this registry only.
    Config(SecretValue),
    /// Credentials kubelet cannot use (an identity token): why, and the fix.
    Unusable(String),
}

/// How one image reached the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `host/path/repository:tag@sha256:...`
    pub reference: String,
    /// The registry had this tag already: nothing was sent.
    pub already_there: bool,
}

/// Pushes `local` (`repository:tag`, in `docker`) unless the registry has
/// that tag; either way returns the registry's digest for it.
pub async fn push(docker: &Docker, target: &Target, local: &str) -> Result<Pushed, PushError> {
    let (repository, tag) = local.rsplit_once(':').unwrap_or((local, "latest"));
    let path = target.path(repository);
    let remote = target.registry.repository(repository);
    let registry = target.registry.host.clone();
    let image = target.registry.image(local);
    let daemon_err = |message: String| PushError::Daemon {
        registry: registry.clone(),
        image: image.clone(),
        message,
    };
    if let Some(digest) = target.client.manifest_digest(&path, tag).await? {
        return Ok(Pushed {
            reference: format!("{image}@{digest}"),
            already_there: true,
        });
    }
    docker
        .tag_image(
            local,
            Some(bollard::query_parameters::TagImageOptions {
                repo: Some(remote.clone()),
                tag: Some(tag.to_string()),
            }),
        )
        .await
        .map_err(|e| daemon_err(e.to_string()))?;
    let auth = target.credentials.as_ref().map(|c| DockerCredentials {
        username: Some(c.username.clone()).filter(|u| u != "<token>"),
        password: Some(c.secret.expose().to_string()).filter(|_| c.username != "<token>"),
        identitytoken: Some(c.secret.expose().to_string()).filter(|_| c.username == "<token>"),
        serveraddress: Some(registry.clone()),
        ..Default::default()
    });
    let mut stream = docker.push_image(
        &remote,
        Some(bollard::query_parameters::PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        }),
        auth,
    );
    let mut pushed = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(message) = info.error_detail.and_then(|d| d.message) {
                    return Err(daemon_err(message));
                }
                // The daemon's last line: "TAG: digest: sha256:... size: N".
                if let Some(status) = info.status.as_deref() {
                    if let Some(d) = status.split("digest: ").nth(1) {
                        pushed = d.split_whitespace().next().map(str::to_string);
                    }
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(daemon_err(error))
            }
            Err(e) => return Err(daemon_err(e.to_string())),
        }
    }
    let served = target.client.manifest_digest(&path, tag).await?;
    match (pushed, served) {
        (_, None) => Err(PushError::NotThere { registry, image }),
        (Some(p), Some(s)) if p != s => Err(PushError::DigestMismatch {
            registry,
            image,
            pushed: p,
            served: s,
        }),
        (_, Some(s)) => Ok(Pushed {
            reference: format!("{image}@{s}"),
            already_there: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_daemon_refusal_gets_its_fix() {
        for (message, fix) in [
            (
                "unauthorized: authentication required",
                "docker login r:5000",
            ),
            (
                "denied: requested access to the resource is denied",
                "push access",
            ),
            (
                "received unexpected HTTP status: 413 Request Entity Too Large",
                "body size limit",
            ),
            (
                "name unknown: repository name not known to registry",
                "create it first",
            ),
            (
                "Get \"https://r:5000/v2/\": x509: certificate signed by unknown authority",
                "certs.d/r:5000/ca.crt",
            ),
            (
                "Get \"https://r:5000/v2/\": http: server gave HTTP response to HTTPS client",
                "insecure-registries",
            ),
            (
                "dial tcp 10.0.0.9:5000: connect: connection refused",
                "cannot reach r:5000",
            ),
        ] {
            assert!(daemon_hint(message, "r:5000").contains(fix), "{message}");
        }
        assert_eq!(daemon_hint("something else", "r:5000"), "");
    }
}
