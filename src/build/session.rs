//! A BuildKit session of our own, for builds that mount secrets. bollard's
//! `/build` session serves registry auth only, so such a build upgrades
//! `/session` on the daemon itself, serves Health and Secrets there (the
//! daemon is the gRPC client; a value is read only when BuildKit asks for
//! it and goes nowhere else), then sends the same `/build?version=2`
//! request naming that session. The answer is the same trace stream as
//! every other BuildKit build: steps, cache hits and failing lines show.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::errors::Error;
use bollard::health::health_server::{Health, HealthServer};
use bollard::health::{
    health_check_response::ServingStatus, HealthCheckRequest, HealthCheckResponse,
    HealthListRequest, HealthListResponse,
};
use bollard::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard::models::BuildInfo;
use bollard::query_parameters::BuildImageOptions;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

use crate::docker::DockerEndpoint;
use crate::project::model::{BuildSecret, BuildSecretFrom};

/// BuildKit's own limit for one secret (`secrets.MaxSecretSize`).
const MAX_SECRET_BYTES: u64 = 500 * 1024;
/// How long reaching the daemon may take before the build is given up.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// What one build's session needs: where the daemon is, the API version
/// both sides negotiated, and the declared secrets the Dockerfile mounts.
pub struct SessionBuild {
    pub endpoint: DockerEndpoint,
    pub api_version: String,
    pub secrets: Vec<BuildSecret>,
}

/// The build's progress, as bollard's `build_image` yields it: the session
/// is served until the stream is dropped.
pub fn build(
    session: SessionBuild,
    mut options: BuildImageOptions,
    tar: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
) -> impl Stream<Item = Result<BuildInfo, Error>> + Send {
    let start = async move {
        let served = open(&session).await?;
        options.session = Some(served.id.clone());
        let query = serde_urlencoded::to_string(&options).map_err(|e| Error::IOError {
            err: std::io::Error::other(e),
        })?;
        let body = StreamBody::new(tar.map(|chunk| chunk.map(Frame::data)));
        let request = hyper::Request::post(format!("/v{}/build?{query}", session.api_version))
            .header(http::header::HOST, "docker")
            .header(http::header::CONTENT_TYPE, "application/x-tar")
            .body(body)
            .map_err(|e| Error::IOError {
                err: std::io::Error::other(e),
            })?;
        let response = send(&session.endpoint, request).await?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.into_body().collect().await?.to_bytes();
            return Err(server_error(status.as_u16(), &bytes));
        }
        Ok((served, response.into_body()))
    };
    futures::stream::once(start).flat_map(|started| match started {
        Ok((served, body)) => progress(served, body).boxed(),
        Err(e) => futures::stream::once(async { Err(e) }).boxed(),
    })
}

/// The daemon's JSON lines, one `BuildInfo` each; an `errorDetail` becomes
/// the stream error bollard makes of it, so both paths read the same;
/// `served` is kept until the last line (the session lives as long).
fn progress<B>(served: impl Send, body: B) -> impl Stream<Item = Result<BuildInfo, Error>>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let blank = |bytes: &[u8]| bytes.iter().all(u8::is_ascii_whitespace);
    futures::stream::unfold(Some((served, body, Vec::new())), move |state| async move {
        // The state goes with the last item: the session is closed then.
        let (served, mut body, mut buf) = state?;
        loop {
            if let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                if !blank(&line) {
                    return Some((decode(&line), Some((served, body, buf))));
                }
                continue;
            }
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        buf.extend_from_slice(&data);
                    }
                }
                Some(Err(err)) => {
                    let err = std::io::Error::other(err);
                    return Some((Err(Error::IOError { err }), None));
                }
                None if blank(&buf) => return None,
                None => return Some((decode(&buf), None)),
            }
        }
    })
}

fn decode(line: &[u8]) -> Result<BuildInfo, Error> {
    let info: BuildInfo = serde_json::from_slice(line)?;
    match info.error_detail.as_ref().and_then(|d| d.message.clone()) {
        Some(error) => Err(Error::DockerStreamError { error }),
        None => Ok(info),
    }
}

/// A refused request as bollard reports one: the daemon's `message`.
fn server_error(status_code: u16, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let message = serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string());
    Error::DockerResponseServerError {
        status_code,
        message,
    }
}

/// A session the daemon knows by `id`, served until this is dropped.
struct Served {
    id: String,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Upgrades `/session` and serves Health and Secrets on the connection.
async fn open(session: &SessionBuild) -> Result<Served, Error> {
    let id = session_id();
    let secrets = SecretValues(
        session
            .secrets
            .iter()
            .map(|s| (s.id.clone(), s.from.clone()))
            .collect(),
    );
    let methods = [
        format!("/{}/Check", <HealthServer<Healthy> as NamedService>::NAME),
        format!(
            "/{}/GetSecret",
            <SecretsServer<SecretValues> as NamedService>::NAME
        ),
    ];
    let mut request = hyper::Request::post(format!("/v{}/session", session.api_version))
        .header(http::header::HOST, "docker")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "h2c")
        .header("X-Docker-Expose-Session-Uuid", &id)
        .header("X-Docker-Expose-Session-Name", "todo-dev");
    for method in &methods {
        request = request.header("X-Docker-Expose-Session-Grpc-Method", method);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| Error::IOError {
            err: std::io::Error::other(e),
        })?;
    let response = send(&session.endpoint, request).await?;
    let status = response.status();
    if status != http::StatusCode::SWITCHING_PROTOCOLS {
        let bytes = response.into_body().collect().await?.to_bytes();
        return Err(server_error(status.as_u16(), &bytes));
    }
    let upgraded = Upgraded(TokioIo::new(hyper::upgrade::on(response).await?));
    let router = tonic::transport::Server::builder()
        .add_service(HealthServer::new(Healthy))
        .add_service(SecretsServer::new(secrets));
    let serving = tokio::spawn(async move {
        let incoming = futures::stream::iter([Ok::<_, std::io::Error>(upgraded)]);
        // The daemon closes the session when the build ends; nothing to report.
        let _ = router.serve_with_incoming(incoming).await;
    });
    Ok(Served { id, serving })
}

/// Sends one request on a connection of its own (upgrades keep it).
async fn send<B>(
    endpoint: &DockerEndpoint,
    request: hyper::Request<B>,
) -> Result<hyper::Response<Incoming>, Error>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let io = tokio::time::timeout(CONNECT_DEADLINE, connect(endpoint))
        .await
        .map_err(|_| Error::RequestTimeoutError)??;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(sender.send_request(request).await?)
}

trait Duplex: hyper::rt::Read + hyper::rt::Write + Send + Unpin {}
impl<T: hyper::rt::Read + hyper::rt::Write + Send + Unpin> Duplex for T {}

/// A connection to the daemon as the docker CLI makes it: the unix socket,
/// plain TCP, or TCP with the client certificates of DOCKER_CERT_PATH.
async fn connect(endpoint: &DockerEndpoint) -> Result<Box<dyn Duplex>, Error> {
    let host = endpoint.host.as_str();
    if let Some(tls) = &endpoint.tls {
        let authority = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("https://"))
            .unwrap_or(host);
        let uri: http::Uri =
            format!("https://{authority}")
                .parse()
                .map_err(|e| Error::IOError {
                    err: std::io::Error::other(e),
                })?;
        let config = client_tls(&tls.dir).map_err(|err| Error::IOError { err })?;
        let mut https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .build();
        use tower::Service;
        let stream = https.call(uri).await.map_err(|e| Error::IOError {
            err: std::io::Error::other(e),
        })?;
        return Ok(Box::new(stream));
    }
    if let Some(path) = host.strip_prefix("unix://") {
        #[cfg(unix)]
        return Ok(Box::new(TokioIo::new(
            tokio::net::UnixStream::connect(path).await?,
        )));
    }
    let authority = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    Ok(Box::new(TokioIo::new(
        tokio::net::TcpStream::connect(authority).await?,
    )))
}

/// The daemon's CA (`ca.pem`) and our client certificate (`cert.pem`, `key.pem`).
fn client_tls(dir: &std::path::Path) -> Result<rustls::ClientConfig, std::io::Error> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let pem_err = |file: &str, e: rustls::pki_types::pem::Error| {
        std::io::Error::other(format!("{}: {e}", dir.join(file).display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(dir.join("ca.pem")).map_err(|e| pem_err("ca.pem", e))?
    {
        roots
            .add(cert.map_err(|e| pem_err("ca.pem", e))?)
            .map_err(std::io::Error::other)?;
    }
    let chain = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .map_err(|e| pem_err("cert.pem", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err("cert.pem", e))?;
    let key =
        PrivateKeyDer::from_pem_file(dir.join("key.pem")).map_err(|e| pem_err("key.pem", e))?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(std::io::Error::other)
}

/// The upgraded connection as tonic serves it.
struct Upgraded(TokioIo<hyper::upgrade::Upgraded>);

impl tonic::transport::server::Connected for Upgraded {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The session is alive as long as it is served: BuildKit checks it often.
struct Healthy;

#[tonic::async_trait]
impl Health for Healthy {
    type WatchStream =
        Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static>>;

    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

/// Where each declared secret's value is, read when BuildKit asks.
struct SecretValues(HashMap<String, BuildSecretFrom>);

#[tonic::async_trait]
impl Secrets for SecretValues {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        // NotFound is what BuildKit reads as "not there" (an optional mount is skipped).
        let not_found = || Status::not_found(format!("secret {id} not found"));
        let data = match self.0.get(id) {
            None => return Err(not_found()),
            Some(BuildSecretFrom::Env(var)) => std::env::var_os(var)
                .ok_or_else(not_found)?
                .into_encoded_bytes(),
            Some(BuildSecretFrom::File(path)) => {
                let size = tokio::fs::metadata(path)
                    .await
                    .map_err(|_| not_found())?
                    .len();
                if size > MAX_SECRET_BYTES {
                    return Err(Status::failed_precondition(format!(
                        "secret {id} is {size} bytes, over BuildKit's {MAX_SECRET_BYTES}"
                    )));
                }
                tokio::fs::read(path).await.map_err(|_| not_found())?
            }
        };
        Ok(Response::new(GetSecretResponse { data }))
    }
}

/// A fresh BuildKit session id (the daemon keys the build's session on it).
pub fn session_id() -> String {
    let mut bytes = [0u8; 16];
    // Uniqueness, not secrecy: a clock-based id is as good if the OS has no randomness.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon's lines as they come: split across frames, several in
    /// one, blank ones, the last without its newline.
    #[tokio::test]
    async fn reads_the_daemons_lines_however_they_are_framed() {
        let frames = [
            "{\"stream\":\"Step 1/2\"}\r\n{\"str",
            "eam\":\"two\"}\r\n\r\n",
            "{\"errorDetail\":{\"message\":\"no space\"},\"error\":\"no space\"}",
        ];
        let body = StreamBody::new(futures::stream::iter(
            frames.map(|f| Ok::<_, std::io::Error>(Frame::data(Bytes::from(f)))),
        ));
        let items: Vec<_> = progress((), body).collect().await;
        assert_eq!(items.len(), 3, "{items:?}");
        let streams: Vec<Option<String>> = items[..2]
            .iter()
            .map(|i| i.as_ref().unwrap().stream.clone())
            .collect();
        assert_eq!(streams, [Some("Step 1/2".into()), Some("two".into())]);
        match &items[2] {
            Err(Error::DockerStreamError { error }) => assert_eq!(error, "no space"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_carries_the_daemons_message() {
        let e = server_error(400, br#"{"message":"session not supported"}"#);
        assert!(
            matches!(&e, Error::DockerResponseServerError { status_code: 400, message } if message == "session not supported"),
            "{e:?}"
        );
        let e = server_error(502, b"bad gateway\n");
        assert!(
            matches!(&e, Error::DockerResponseServerError { message, .. } if message == "bad gateway"),
            "{e:?}"
        );
    }
}
