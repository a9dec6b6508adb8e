//! A kube client for the one context todo-dev is allowed to change.

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::context::{self, KubeContext, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the kubeconfig: {0}\n  help: `todo-dev up` starts Minikube, which writes it (KUBECONFIG or ~/.kube/config)")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot use kube context `{context}`: {source}")]
    Client {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the cluster of kube context `{context}` ({server}) does not answer: {source}\n  help: is it running? `minikube status -p {cluster}`; `todo-dev up` starts it")]
    Unreachable {
        context: String,
        server: String,
        cluster: String,
        #[source]
        source: kube::Error,
    },
}

/// Connects to the target context (see `context::choose_target`).
pub async fn connect(
    cluster_name: &str,
    explicit: Option<&str>,
    allow_remote: bool,
) -> Result<(kube::Client, KubeContext), ConnectError> {
    connect_with(cluster_name, explicit, allow_remote, Some(READ_TIMEOUT)).await
}

/// The same, for long-lived streams (log follows, port-forwards, execs):
/// no read timeout, as an idle stream is not a dead cluster.
pub async fn connect_streaming(
    cluster_name: &str,
    explicit: Option<&str>,
    allow_remote: bool,
) -> Result<(kube::Client, KubeContext), ConnectError> {
    connect_with(cluster_name, explicit, allow_remote, None).await
}

const READ_TIMEOUT: Duration = Duration::from_secs(30);

async fn connect_with(
    cluster_name: &str,
    explicit: Option<&str>,
    allow_remote: bool,
    read_timeout: Option<Duration>,
) -> Result<(kube::Client, KubeContext), ConnectError> {
    let config = Kubeconfig::read().map_err(ConnectError::Kubeconfig)?;
    let target = context::choose_target(&config, cluster_name, explicit, allow_remote)?;
    let options = KubeConfigOptions {
        context: Some(target.name.clone()),
        ..Default::default()
    };
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| ConnectError::Client {
        context: target.name.clone(),
        source,
    };
    let mut client_config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|e| fail(Box::new(e)))?;
    // A local cluster is reached directly: a proxy from HTTPS_PROXY would not
    // know 192.168.49.2 (and kube needs its http-proxy feature to use one).
    if matches!(target.locality, context::Locality::Local(_)) {
        client_config.proxy_url = None;
    }
    // A cluster that does not answer should fail fast, not hang the command.
    client_config.connect_timeout = Some(Duration::from_secs(5));
    client_config.read_timeout = read_timeout;
    let client = match read_timeout {
        Some(_) => kube::Client::try_from(client_config),
        None => streaming_client(client_config),
    }
    .map_err(|e| fail(Box::new(e)))?;
    // One cheap request, so a stopped cluster is named as such, not as a failed apply.
    client
        .apiserver_version()
        .await
        .map_err(|source| ConnectError::Unreachable {
            context: target.name.clone(),
            server: target.server.clone().unwrap_or_default(),
            cluster: cluster_name.to_string(),
            source,
        })?;
    Ok((client, target))
}

/// A client whose connections send small frames at once (TCP_NODELAY): an
/// exec's stdin CLOSE right after the data, or a forwarded request, would
/// otherwise wait for the server's delayed ACK (about 40 ms each).
pub fn streaming_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use kube::client::ConfigExt;
    if config.proxy_url.is_some() {
        // kube's own builder owns proxy support (and its errors).
        return kube::Client::try_from(config);
    }
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(config.connect_timeout);
    let https = config.rustls_https_connector_with_connector(http)?;
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        // One error type on every path (the auth layer's filter boxes its own).
        .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        .service(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https),
        );
    Ok(kube::Client::new(service, config.default_namespace))
}
