//! Where to open the app once everything is ready (the lines themselves:
//! `cluster::access`, per OS and driver).

use std::time::Duration;

use crate::cluster::access::{access_lines, AccessFacts, HostOs};
use crate::cluster::context::KubeContext;
use crate::cluster::minikube::Minikube;
use crate::project::model::{ServiceName, ServiceType};
use crate::project::Project;

/// The URLs (and a note each) of the deployed app. Minikube is asked for
/// its address and driver only when `context` is the project's own cluster.
pub async fn access(project: &Project, context: &KubeContext) -> Vec<(String, String)> {
    let ours = context.name == project.cluster.name;
    let mk = ours
        .then(|| Minikube::locate(&project.cluster.name, Duration::from_secs(5)))
        .flatten();
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
