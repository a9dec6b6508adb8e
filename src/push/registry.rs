//! The registry's side of a push, spoken directly (Distribution's HTTP API
//! v2): is it there, does it let us in, does it have this manifest already,
//! may we push. The layers themselves go through the Docker daemon.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;

use super::credentials::Credentials;

/// The manifest types a pushed image's tag may name (Docker's and OCI's).
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// Where the Docker daemon reads a registry's CA (`certs.d/HOST[:PORT]/*.crt`).
pub const CERTS_D: &str = "/etc/docker/certs.d";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {registry} does not answer at {url}: {message}\n  help: check that it runs and that this machine reaches it (`curl {url}`)")]
    Unreachable {
        registry: String,
        url: String,
        message: String,
    },
    #[error("registry {registry}: its TLS certificate is not trusted: {message}\n  help: put the CA that signed it in {certs_d}/{registry}/ca.crt (the Docker daemon reads it there too), or into the system's trust store")]
    Tls {
        registry: String,
        certs_d: &'static str,
        message: String,
    },
    #[error("registry {registry} asks for credentials and the Docker config has none for it\n  help: `docker login {registry}` (todo-dev reads the same config and credential helpers)")]
    NoCredentials { registry: String },
    #[error("registry {registry} refused the credentials from the Docker config ({status})\n  help: `docker login {registry}` again; the stored password or token may have expired")]
    BadCredentials { registry: String, status: u16 },
    #[error("registry {registry} denies {action} on `{repository}` (403)\n  help: give this account push access to `{repository}`, or choose another deploy.registry path")]
    Denied {
        registry: String,
        repository: String,
        action: &'static str,
    },
    #[error("registry {registry}: `{repository}` is unknown to it (NAME_UNKNOWN)\n  help: create the repository first where the registry wants that (some do), or check the deploy.registry path")]
    NameUnknown {
        registry: String,
        repository: String,
    },
    #[error("registry {registry} answered {status} to {what}: {body}")]
    Unexpected {
        registry: String,
        what: String,
        status: u16,
        body: String,
    },
}

/// One registry, reached over HTTPS (or plain HTTP on loopback, as the
/// Docker daemon allows for 127.0.0.0/8), with the user's credentials.
pub struct RegistryClient {
    pub host: String,
    base: String,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: Option<Credentials>,
    /// How the registry wants to be asked, learnt from its 401 on `/v2/`.
    challenge: Challenge,
    tokens: Mutex<HashMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: String },
}

/// Deadline for one request (a HEAD or a token), not for a push.
const REQUEST_DEADLINE: Duration = Duration::from_secs(20);

impl RegistryClient {
    /// Reaches `host`'s `/v2/` and learns how it authenticates; with
    /// credentials it checks them there too.
    pub async fn connect(
        host: &str,
        credentials: Option<Credentials>,
    ) -> Result<RegistryClient, RegistryError> {
        let http = http_client(host)?;
        let mut schemes = vec!["https"];
        if is_loopback(host) {
            schemes.push("http");
        }
        let mut last = None;
        for scheme in schemes {
            let base = format!("{scheme}://{host}");
            let mut client = RegistryClient {
                host: host.to_string(),
                base: base.clone(),
                http: http.clone(),
                credentials: credentials.clone(),
                challenge: Challenge::None,
                tokens: Mutex::new(HashMap::new()),
            };
            match client.ping().await {
                Ok(()) => return Ok(client),
                // A plain-HTTP registry on loopback answers TLS with garbage: try
                // http next. An untrusted certificate is an answer: said as it is.
                Err(e @ RegistryError::Unreachable { .. }) if scheme == "https" => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Unreachable {
            registry: host.to_string(),
            url: format!("https://{host}/v2/"),
            message: "no answer".into(),
        }))
    }

    async fn ping(&mut self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        let res = self.send(Method::GET, &url, None).await?;
        match res.status {
            StatusCode::OK => Ok(()),
            StatusCode::UNAUTHORIZED => {
                self.challenge = parse_challenge(&res.www_authenticate);
                if self.credentials.is_none() {
                    return Err(RegistryError::NoCredentials {
                        registry: self.host.clone(),
                    });
                }
                match &self.challenge {
                    Challenge::Basic => {
                        let again = self.send(Method::GET, &url, self.basic()).await?;
                        match again.status {
                            StatusCode::OK => Ok(()),
                            s => Err(RegistryError::BadCredentials {
                                registry: self.host.clone(),
                                status: s.as_u16(),
                            }),
                        }
                    }
                    // Checked when the first token is asked for (it needs a scope).
                    Challenge::Bearer { .. } => Ok(()),
                    Challenge::None => Err(self.unexpected("GET /v2/", &res)),
                }
            }
            _ => Err(self.unexpected("GET /v2/", &res)),
        }
    }

    /// The digest the registry has for `repository:tag`, if it has one.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base);
        let res = self
            .authorized(Method::HEAD, &url, repository, "pull")
            .await?;
        match res.status {
            StatusCode::OK => Ok(res.digest),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(&res, repository, "pull", &format!("HEAD {url}"))),
        }
    }

    /// Whether this account may push to `repository`: starts a blob upload
    /// and cancels it, writing nothing.
    pub async fn may_push(&self, repository: &str) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base);
        let res = self
            .authorized(Method::POST, &url, repository, "pull,push")
            .await?;
        match res.status {
            StatusCode::ACCEPTED => {
                if let Some(location) = &res.location {
                    let cancel = match location.starts_with("http") {
                        true => location.clone(),
                        false => format!("{}{location}", self.base),
                    };
                    let _ = self
                        .authorized(Method::DELETE, &cancel, repository, "pull,push")
                        .await;
                }
                Ok(())
            }
            _ => Err(self.status_error(&res, repository, "push", &format!("POST {url}"))),
        }
    }

    /// A request with whatever the registry asked for (basic or a token for
    /// `repository` and `actions`).
    async fn authorized(
        &self,
        method: Method,
        url: &str,
        repository: &str,
        actions: &str,
    ) -> Result<Reply, RegistryError> {
        let auth = match &self.challenge {
            Challenge::None => None,
            Challenge::Basic => self.basic(),
            Challenge::Bearer { realm, service } => {
                let scope = format!("repository:{repository}:{actions}");
                Some(format!(
                    "Bearer {}",
                    self.token(realm, service, &scope).await?
                ))
            }
        };
        self.send(method, url, auth).await
    }

    async fn token(
        &self,
        realm: &str,
        service: &str,
        scope: &str,
    ) -> Result<String, RegistryError> {
        if let Some(t) = self.tokens.lock().get(scope) {
            return Ok(t.clone());
        }
        let url = format!(
            "{realm}?service={}&scope={}",
            encode(service),
            encode(scope)
        );
        let res = self.send(Method::GET, &url, self.basic()).await?;
        if res.status != StatusCode::OK {
            return Err(match res.status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.credentials.is_some() => {
                    RegistryError::BadCredentials {
                        registry: self.host.clone(),
                        status: res.status.as_u16(),
                    }
                }
                StatusCode::UNAUTHORIZED => RegistryError::NoCredentials {
                    registry: self.host.clone(),
                },
                _ => self.unexpected("a token", &res),
            });
        }
        let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .unwrap_or_default()
            .to_string();
        self.tokens.lock().insert(scope.to_string(), token.clone());
        Ok(token)
    }

    fn basic(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.secret.expose());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        auth: Option<String>,
    ) -> Result<Reply, RegistryError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(url)
            .header("Accept", MANIFEST_TYPES)
            .header(
                "User-Agent",
                concat!("todo-dev/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.unreachable(url, e.to_string()))?;
        let work = async {
            let res = self.http.request(req).await.map_err(|e| {
                let message = error_chain(&e);
                if message.contains("certificate") || message.contains("UnknownIssuer") {
                    RegistryError::Tls {
                        registry: self.host.clone(),
                        certs_d: CERTS_D,
                        message,
                    }
                } else {
                    self.unreachable(url, message)
                }
            })?;
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (status, digest, www_authenticate, location) = (
                res.status(),
                header("Docker-Content-Digest"),
                header("WWW-Authenticate").unwrap_or_default(),
                header("Location"),
            );
            let body = match method {
                Method::HEAD => Bytes::new(),
                _ => res
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default(),
            };
            Ok(Reply {
                status,
                digest,
                www_authenticate,
                location,
                body,
            })
        };
        tokio::time::timeout(REQUEST_DEADLINE, work)
            .await
            .unwrap_or_else(|_| {
                Err(self.unreachable(
                    url,
                    format!("no answer within {} s", REQUEST_DEADLINE.as_secs()),
                ))
            })
    }

    fn unreachable(&self, url: &str, message: String) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.host.clone(),
            url: url.split('?').next().unwrap_or(url).to_string(),
            message,
        }
    }

    fn status_error(
        &self,
        res: &Reply,
        repository: &str,
        action: &'static str,
        what: &str,
    ) -> RegistryError {
        let text = String::from_utf8_lossy(&res.body);
        match res.status {
            StatusCode::UNAUTHORIZED if self.credentials.is_none() => {
                RegistryError::NoCredentials {
                    registry: self.host.clone(),
                }
            }
            StatusCode::UNAUTHORIZED => RegistryError::BadCredentials {
                registry: self.host.clone(),
                status: 401,
            },
            StatusCode::FORBIDDEN => RegistryError::Denied {
                registry: self.host.clone(),
                repository: repository.to_string(),
                action,
            },
            _ if text.contains("NAME_UNKNOWN") => RegistryError::NameUnknown {
                registry: self.host.clone(),
                repository: repository.to_string(),
            },
            _ => self.unexpected(what, res),
        }
    }

    fn unexpected(&self, what: &str, res: &Reply) -> RegistryError {
        let body: String = String::from_utf8_lossy(&res.body)
            .chars()
            .take(300)
            .collect();
        RegistryError::Unexpected {
            registry: self.host.clone(),
            what: what.to_string(),
            status: res.status.as_u16(),
            body: body.trim().to_string(),
        }
    }
}

struct Reply {
    status: StatusCode,
    digest: Option<String>,
    www_authenticate: String,
    location: Option<String>,
    body: Bytes,
}

/// HTTPS with the system's roots plus the registry's CA where Docker keeps
/// it (`/etc/docker/certs.d/HOST/*.crt`), plain HTTP allowed (for loopback).
fn http_client(
    host: &str,
) -> Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>, RegistryError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    add_certs_d(&mut roots, &Path::new(CERTS_D).join(host));
    let tls_err = |message: String| RegistryError::Tls {
        registry: host.to_string(),
        certs_d: CERTS_D,
        message,
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_err(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn add_certs_d(roots: &mut rustls::RootCertStore, dir: &Path) {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "crt") {
            if let Ok(certs) = CertificateDer::pem_file_iter(&path) {
                for cert in certs.flatten() {
                    let _ = roots.add(cert);
                }
            }
        }
    }
}

/// `127.0.0.0/8`, `::1` and `localhost`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `WWW-Authenticate: Bearer realm="...",service="..."` or `Basic realm="..."`.
fn parse_challenge(header: &str) -> Challenge {
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    let param = |name: &str| {
        params.split(',').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.eq_ignore_ascii_case(name)).then(|| v.trim_matches('"').to_string())
        })
    };
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Challenge::Basic,
        "bearer" => match param("realm") {
            Some(realm) => Challenge::Bearer {
                realm,
                service: param("service").unwrap_or_default(),
            },
            None => Challenge::None,
        },
        _ => Challenge::None,
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error with its causes, as one line (hyper hides the useful part).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_registry_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#
            ),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: "registry.docker.io".into()
            }
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="basic-realm""#),
            Challenge::Basic
        );
        assert_eq!(parse_challenge(""), Challenge::None);
    }

    #[test]
    fn loopback_as_the_docker_daemon_sees_it() {
        for h in [
            "127.0.0.1:5000",
            "127.3.4.5",
            "localhost:5000",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["ghcr.io", "10.0.0.1:5000", "registry.local:5000"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn encodes_a_scope() {
        assert_eq!(
            encode("repository:team/app:pull,push"),
            "repository%3Ateam%2Fapp%3Apull%2Cpush"
        );
    }
}
