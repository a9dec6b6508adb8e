//! Where to open the app once everything is ready (the lines themselves:
//! `cluster::access`, per OS and driver); on another cluster, the address
//! it published (Ingress or Service status), never `minikube ip`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;

use crate::cluster::access::{access_lines, AccessFacts, HostOs};
use crate::cluster::context::KubeContext;
use crate::cluster::minikube::Minikube;
use crate::project::model::{ServiceName, ServiceType};
use crate::project::Project;

/// The URLs (and a note each) of the deployed app. Minikube is asked for
/// its address and driver only when `context` is the project's own cluster.
pub async fn access(
    project: &Project,
    context: &KubeContext,
    client: &kube::Client,
) -> Vec<(String, String)> {
    if context.name != project.cluster.name {
        return published(project, &context.name, client).await;
    }
    let mk = Minikube::locate(&project.cluster.name, Duration::from_secs(5));
    let (ip, profile) = match &mk {
        Some(mk) => (
            mk.ip().await.ok(),
            mk.cluster_profile().await.ok().flatten(),
        ),
        None => (None, None),
    };
    let frontend = project.service(ServiceName::Frontend);
    let facts = AccessFacts {
        os: HostOs::current(),
        driver: profile.as_ref().map_or("", |p| p.driver.as_str()),
        node_ip: ip.as_deref(),
        cluster: &project.cluster.name,
        namespace: &project.namespace,
        ingress_host: project.access.ingress_host.as_deref(),
        frontend_port: frontend.map_or(8080, |s| s.port),
        frontend_node_port: (project.access.service_type == ServiceType::NodePort
            && frontend.is_some())
        .then_some(project.access.node_port),
    };
    access_lines(&facts)
        .into_iter()
        .map(|l| (l.url, l.note))
        .collect()
}

/// Another cluster's addresses for the app: the Ingress's (its controller
/// publishes it in the status), the frontend Service's load balancer or
/// NodePort, and a port-forward, which works wherever the API does.
async fn published(
    project: &Project,
    context: &str,
    client: &kube::Client,
) -> Vec<(String, String)> {
    let ns = &project.namespace;
    let Some(frontend) = project.service(ServiceName::Frontend) else {
        return vec![];
    };
    let port = frontend.port;
    let mut lines = Vec::new();
    if let Some(host) = &project.access.ingress_host {
        let ingress = Api::<Ingress>::namespaced(client.clone(), ns)
            .get_opt("todo")
            .await
            .ok()
            .flatten();
        let address = ingress
            .and_then(|i| i.status?.load_balancer?.ingress?.into_iter().next())
            .and_then(|a| a.hostname.or(a.ip));
        let note = match address {
            Some(a) => format!("the Ingress's address is {a}: {host} must resolve to it (DNS, or `{a} {host}` in the hosts file)"),
            None => format!("the Ingress has no address yet (its controller publishes one): `kubectl get ingress todo -n {ns} --context {context}`"),
        };
        lines.push((format!("http://{host}"), note));
    }
    let service = Api::<Service>::namespaced(client.clone(), ns)
        .get_opt("frontend")
        .await
        .ok()
        .flatten();
    if let Some(s) = service {
        let balancer = s
            .status
            .and_then(|st| st.load_balancer?.ingress?.into_iter().next())
            .and_then(|a| a.hostname.or(a.ip));
        let node_port = s
            .spec
            .and_then(|sp| sp.ports?.into_iter().next()?.node_port);
        match (balancer, node_port) {
            (Some(a), _) => lines.push((format!("http://{a}:{port}"), "the frontend's load balancer".into())),
            (None, Some(p)) => lines.push((
                format!("http://NODE:{p}"),
                format!("NodePort {p} on any node's address (`kubectl get nodes -o wide --context {context}`)"),
            )),
            (None, None) => {}
        }
    }
    lines.push((
        format!("http://127.0.0.1:{port}"),
        format!("through the API: `kubectl port-forward -n {ns} service/frontend {port}:{port} --context {context}`"),
    ));
    lines
}
