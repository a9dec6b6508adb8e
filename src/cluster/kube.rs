//! A kube client for the one context todo-dev is allowed to change.

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::context::{self, KubeContext, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the kubeconfig: {0}\n  help: `todo-dev up` starts Minikube, which writes it (KUBECONFIG or ~/.kube/config)")]
    Kubeconfig(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot use kube context `{context}`: {reason}")]
    Client { context: String, reason: String },
    #[error("the cluster of kube context `{context}` ({server}) does not answer: {reason}\n  help: is it running? `minikube status -p {cluster}`; `todo-dev up` starts it")]
    Unreachable {
        context: String,
        server: String,
        cluster: String,
        reason: String,
    },
}

/// Connects to the target context (see `context::choose_target`).
pub async fn connect(
    cluster_name: &str,
    explicit: Option<&str>,
    allow_remote: bool,
) -> Result<(kube::Client, KubeContext), ConnectError> {
    let config = Kubeconfig::read().map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
    let target = context::choose_target(&config, cluster_name, explicit, allow_remote)?;
    let options = KubeConfigOptions {
        context: Some(target.name.clone()),
        ..Default::default()
    };
    let fail = |reason: String| ConnectError::Client {
        context: target.name.clone(),
        reason,
    };
    let mut client_config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|e| fail(e.to_string()))?;
    // A local cluster is reached directly: a proxy from HTTPS_PROXY would not
    // know 192.168.49.2 (and kube needs its http-proxy feature to use one).
    if matches!(target.locality, context::Locality::Local(_)) {
        client_config.proxy_url = None;
    }
    // A cluster that does not answer should fail fast, not hang the command.
    client_config.connect_timeout = Some(Duration::from_secs(5));
    client_config.read_timeout = Some(Duration::from_secs(30));
    let client = kube::Client::try_from(client_config).map_err(|e| fail(e.to_string()))?;
    // One cheap request, so a stopped cluster is named as such, not as a failed apply.
    client
        .apiserver_version()
        .await
        .map_err(|e| ConnectError::Unreachable {
            context: target.name.clone(),
            server: target.server.clone().unwrap_or_default(),
            cluster: cluster_name.to_string(),
            reason: e.to_string(),
        })?;
    Ok((client, target))
}
