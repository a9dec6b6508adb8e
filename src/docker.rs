//! Reaching a Docker daemon the way the docker CLI does: DOCKER_HOST,
//! DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (as `minikube docker-env` sets
//! them), with the API version negotiated down for older engines.

use std::path::PathBuf;
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};

#[cfg(unix)]
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
#[cfg(windows)]
const DEFAULT_HOST: &str = "npipe:////./pipe/docker_engine";

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("DOCKER_HOST `{0}` is not a unix://, tcp://, https:// or npipe:// address")]
    BadHost(String),
    #[error("TLS is on (DOCKER_TLS_VERIFY) but {} is missing", .0.display())]
    MissingCert(PathBuf),
    #[error("cannot reach the Docker daemon at {host}: {source}")]
    Unreachable {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the Docker daemon at {host} did not answer within {:.1}s", .after.as_secs_f64())]
    TimedOut { host: String, after: Duration },
}

/// Client certificates for a TLS daemon (`ca.pem`, `cert.pem`, `key.pem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub dir: PathBuf,
}

/// Where a Docker daemon is and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEndpoint {
    pub host: String,
    pub tls: Option<TlsFiles>,
}

impl DockerEndpoint {
    /// Reads the docker CLI's variables through `get` (the process environment,
    /// or the map `minikube docker-env` printed).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> DockerEndpoint {
        let host = get("DOCKER_HOST")
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        // The docker CLI treats any non-empty DOCKER_TLS_VERIFY as on.
        let tls = get("DOCKER_TLS_VERIFY").filter(|v| !v.is_empty()).map(|_| {
            let dir = get("DOCKER_CERT_PATH")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::host::home_dir().join(".docker"));
            TlsFiles { dir }
        });
        DockerEndpoint { host, tls }
    }

    pub fn from_env() -> DockerEndpoint {
        DockerEndpoint::from_vars(|k| std::env::var(k).ok())
    }

    /// A client for this endpoint; no request is made yet.
    pub fn client(&self, request_timeout: Duration) -> Result<Docker, DockerError> {
        // bollard counts whole seconds: round up so the caller's deadline rules.
        let secs = request_timeout.as_secs_f64().ceil().max(1.0) as u64;
        let unreachable = |source: bollard::errors::Error| DockerError::Unreachable {
            host: self.host.clone(),
            source,
        };
        let h = self.host.as_str();
        if let Some(tls) = &self.tls {
            if !(h.starts_with("tcp://") || h.starts_with("https://")) {
                return Err(DockerError::BadHost(self.host.clone()));
            }
            let [ca, cert, key] = ["ca.pem", "cert.pem", "key.pem"].map(|f| tls.dir.join(f));
            if let Some(absent) = [&ca, &cert, &key].into_iter().find(|p| !p.is_file()) {
                return Err(DockerError::MissingCert(absent.clone()));
            }
            return Docker::connect_with_ssl(h, &key, &cert, &ca, secs, API_DEFAULT_VERSION)
                .map_err(unreachable);
        }
        if h.starts_with("unix://") {
            #[cfg(unix)]
            return Docker::connect_with_unix(h, secs, API_DEFAULT_VERSION).map_err(unreachable);
        }
        if h.starts_with("npipe://") {
            #[cfg(windows)]
            return Docker::connect_with_named_pipe(h, secs, API_DEFAULT_VERSION)
                .map_err(unreachable);
        }
        if h.starts_with("tcp://") || h.starts_with("http://") {
            return Docker::connect_with_http(h, secs, API_DEFAULT_VERSION).map_err(unreachable);
        }
        Err(DockerError::BadHost(self.host.clone()))
    }
}

/// What a reachable daemon says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonFacts {
    /// Where it answered (a BuildKit session of our own connects there too).
    pub endpoint: DockerEndpoint,
    pub server_version: String,
    /// The API version both sides speak after negotiation.
    pub api_version: String,
    pub os: String,
    /// `linux` or `windows`: which images the daemon builds.
    pub os_type: String,
    pub cpus: u32,
    pub memory_bytes: u64,
}

/// Connects, negotiates the API version and reads version and info, all
/// within `deadline`.
pub async fn probe(
    endpoint: &DockerEndpoint,
    deadline: Duration,
) -> Result<(Docker, DaemonFacts), DockerError> {
    let host = endpoint.host.clone();
    let unreachable = |e: bollard::errors::Error| match e {
        bollard::errors::Error::RequestTimeoutError => DockerError::TimedOut {
            host: host.clone(),
            after: deadline,
        },
        source => DockerError::Unreachable {
            host: host.clone(),
            source,
        },
    };
    let work = async {
        let docker = endpoint
            .client(deadline)?
            .negotiate_version()
            .await
            .map_err(unreachable)?;
        // info carries the server version too: one round trip less than version() + info().
        let info = docker.info().await.map_err(unreachable)?;
        let facts = DaemonFacts {
            endpoint: endpoint.clone(),
            server_version: info.server_version.unwrap_or_default(),
            api_version: docker.client_version().to_string(),
            os: info.operating_system.unwrap_or_default(),
            os_type: info.os_type.unwrap_or_default(),
            cpus: info.ncpu.unwrap_or(0).max(0) as u32,
            memory_bytes: info.mem_total.unwrap_or(0).max(0) as u64,
        };
        Ok((docker, facts))
    };
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or(Err(DockerError::TimedOut {
            host: endpoint.host.clone(),
            after: deadline,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn endpoint(vars: &[(&str, &str)]) -> DockerEndpoint {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DockerEndpoint::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_the_docker_cli_variables() {
        assert_eq!(endpoint(&[]).host, DEFAULT_HOST);
        assert_eq!(endpoint(&[]).tls, None);
        let e = endpoint(&[
            ("DOCKER_HOST", "tcp://192.168.49.2:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/home/u/.minikube/certs"),
        ]);
        assert_eq!(e.host, "tcp://192.168.49.2:2376");
        assert_eq!(
            e.tls,
            Some(TlsFiles {
                dir: "/home/u/.minikube/certs".into()
            })
        );
        // An empty DOCKER_TLS_VERIFY is off, as in the docker CLI.
        assert_eq!(
            endpoint(&[("DOCKER_HOST", "tcp://h:2375"), ("DOCKER_TLS_VERIFY", "")]).tls,
            None
        );
    }

    #[test]
    fn tls_without_certificates_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = DockerEndpoint {
            host: "tcp://127.0.0.1:2376".into(),
            tls: Some(TlsFiles {
                dir: dir.path().into(),
            }),
        };
        let err = e.client(Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("ca.pem"), "{err}");
        let bad = DockerEndpoint {
            host: "ftp://x".into(),
            tls: None,
        };
        assert!(matches!(
            bad.client(Duration::from_secs(1)),
            Err(DockerError::BadHost(_))
        ));
    }
}
