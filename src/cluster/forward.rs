//! Port-forwarding services to localhost through the Kubernetes API: a
//! listener on 127.0.0.1 per service, and for each accepted connection a
//! new forwarded stream to a ready pod of the service, chosen at that
//! moment (so a replaced pod is followed).

use std::net::SocketAddr;

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// How many ports after the wanted one are tried when it is busy.
const PORT_ATTEMPTS: u16 = 20;

/// One service to forward.
#[derive(Debug, Clone)]
pub struct ForwardSpec {
    pub service: String,
    /// Label selector of the service's pods.
    pub selector: String,
    /// The container port in the pod.
    pub pod_port: u16,
    /// The local port wanted (the next free one is taken when busy).
    pub local_port: u16,
}

/// A listener in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub service: String,
    pub local: SocketAddr,
    pub pod_port: u16,
    /// The wanted local port, when it was busy.
    pub moved_from: Option<u16>,
}

impl Forwarded {
    pub fn url(&self) -> String {
        format!("http://{}", self.local)
    }
}

/// What happened to one forwarded connection that did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardProblem {
    pub service: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(
        "cannot listen on 127.0.0.1 for {service}: ports {first}..{last} are all busy or refused"
    )]
    Bind {
        service: String,
        first: u16,
        last: u16,
        #[source]
        source: std::io::Error,
    },
}

/// The running forwards; dropping it (or `stop`) closes every listener
/// and the connections in flight.
pub struct Forwards {
    pub forwarded: Vec<Forwarded>,
    tasks: Vec<JoinHandle<()>>,
}

impl Forwards {
    pub fn stop(self) {}
}

impl Drop for Forwards {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Binds a listener per spec and starts accepting. Problems with single
/// connections (no ready pod, a refused stream) go to `problems`.
pub async fn start(
    client: &kube::Client,
    namespace: &str,
    specs: &[ForwardSpec],
    problems: UnboundedSender<ForwardProblem>,
) -> Result<Forwards, ForwardError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut forwarded = Vec::new();
    let mut tasks = Vec::new();
    for spec in specs {
        let (listener, local) = bind_near(spec).await?;
        forwarded.push(Forwarded {
            service: spec.service.clone(),
            local,
            pod_port: spec.pod_port,
            moved_from: (local.port() != spec.local_port).then_some(spec.local_port),
        });
        tasks.push(tokio::spawn(accept_loop(
            listener,
            pods.clone(),
            spec.clone(),
            problems.clone(),
        )));
    }
    Ok(Forwards { forwarded, tasks })
}

/// The wanted port, else the next free one after it, else any free one.
async fn bind_near(spec: &ForwardSpec) -> Result<(TcpListener, SocketAddr), ForwardError> {
    let first = spec.local_port;
    let last = first.saturating_add(PORT_ATTEMPTS);
    // Every nearby port busy (or privileged): then any free port, still said as moved.
    let candidates = (first..=last).chain(std::iter::once(0));
    let mut last_error = std::io::Error::other("no port tried");
    for port in candidates {
        let bound = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l.local_addr().map(|addr| (l, addr)),
            Err(e) => Err(e),
        };
        match bound {
            Ok(found) => return Ok(found),
            Err(e) => last_error = e,
        }
    }
    Err(ForwardError::Bind {
        service: spec.service.clone(),
        first,
        last,
        source: last_error,
    })
}

async fn accept_loop(
    listener: TcpListener,
    pods: Api<Pod>,
    spec: ForwardSpec,
    problems: UnboundedSender<ForwardProblem>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else {
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                };
                let (pods, spec, problems) = (pods.clone(), spec.clone(), problems.clone());
                connections.spawn(async move {
                    if let Err(message) = carry(socket, &pods, &spec).await {
                        let _ = problems.send(ForwardProblem { service: spec.service.clone(), message });
                    }
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One local connection, copied both ways into a new stream to a ready pod.
async fn carry(mut socket: TcpStream, pods: &Api<Pod>, spec: &ForwardSpec) -> Result<(), String> {
    let pod = ready_pod(pods, &spec.selector).await?.ok_or_else(|| {
        format!(
            "no ready pod of {} to forward port {} to (is it rolling out?)",
            spec.service, spec.pod_port
        )
    })?;
    let mut forwarder = pods
        .portforward(&pod, &[spec.pod_port])
        .await
        .map_err(|e| format!("port-forward to pod {pod} refused: {e}"))?;
    let mut upstream = forwarder
        .take_stream(spec.pod_port)
        .ok_or_else(|| format!("no stream for port {} of pod {pod}", spec.pod_port))?;
    let error = forwarder.take_error(spec.pod_port);
    let copied = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
    drop(upstream);
    let server_error = match error {
        Some(e) => futures::FutureExt::now_or_never(e).flatten(),
        None => None,
    };
    let _ = forwarder.join().await;
    if let Some(message) = server_error {
        return Err(format!("pod {pod} port {}: {message}", spec.pod_port));
    }
    // A client or pod closing mid-stream is an ordinary end of a connection.
    let _ = copied;
    Ok(())
}

/// A ready, not terminating pod of the selector: the newest one, so a
/// rollout's new pod is preferred as soon as it is ready.
async fn ready_pod(pods: &Api<Pod>, selector: &str) -> Result<Option<String>, String> {
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| format!("cannot list pods ({selector}): {e}"))?;
    let mut ready: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
        .collect();
    ready.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
    Ok(ready.last().map(|p| p.name_any()))
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(port: u16) -> ForwardSpec {
        ForwardSpec {
            service: "backend".into(),
            selector: "app.kubernetes.io/name=backend".into(),
            pod_port: 8000,
            local_port: port,
        }
    }

    #[tokio::test]
    async fn a_busy_port_moves_to_the_next_free_one() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let (_l, addr) = bind_near(&spec(port)).await.unwrap();
        assert_ne!(addr.port(), port);
        assert!(addr.ip().is_loopback());
    }

    #[tokio::test]
    async fn a_free_port_is_taken_as_asked() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let (_l, addr) = bind_near(&spec(port)).await.unwrap();
        assert_eq!(addr.port(), port);
    }
}
