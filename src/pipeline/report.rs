//! What the deploy step tells the user at its end: why a workload failed,
//! or where to open the app.

use std::time::Duration;

use serde_json::json;

use crate::cluster::access::{access_lines, AccessFacts, HostOs};
use crate::cluster::minikube::Minikube;
use crate::deploy::rollout::{self, Diagnosis, Workload};
use crate::project::model::{ServiceName, ServiceType};
use crate::project::Project;
use crate::ui::progress::event;
use crate::ui::{Output, Tone};

pub fn failure(out: &Output, namespace: &str, w: &Workload, msg: &str, d: &Diagnosis) {
    let question = rollout::kubectl_ai_question(namespace, d);
    if out.json {
        println!(
            "{}",
            event(
                "diagnosis",
                json!({"workload": w.id(), "message": msg, "pod": d.pod, "container": d.container(), "reason": d.reason(),
                       "detail": d.detail(), "events": d.events, "logs": d.logs.as_ref().map(|l| &l.1),
                       "previousLogs": d.logs.as_ref().map(|l| l.0), "hint": d.hint, "kubectlAi": question})
            )
        );
        return;
    }
    eprintln!("\n{} {}: {msg}", out.paint(Tone::Bad, "failed"), w.id());
    let pod = d.pod.as_deref().unwrap_or("-");
    eprintln!(
        "  pod {pod}: {} {}",
        out.paint(Tone::Bold, d.reason()),
        d.detail()
    );
    if !d.events.is_empty() {
        eprintln!("  recent events:");
        for e in &d.events {
            eprintln!("    {e}");
        }
    }
    if let Some((previous, logs)) = &d.logs {
        let which = if *previous {
            "the crashed instance's"
        } else {
            "the container's"
        };
        eprintln!(
            "  last {} log lines ({which}, {}):",
            logs.lines().count(),
            d.container().unwrap_or("?")
        );
        for l in logs.lines() {
            eprintln!("    | {l}");
        }
    }
    if let Some(h) = &d.hint {
        eprintln!("  hint: {h}");
    }
    if let Some(q) = question {
        eprintln!("  ask kubectl-ai: {q}");
    }
}

/// Where to open the app (the lines themselves: `cluster::access`, per OS and driver).
pub async fn access(out: &Output, project: &Project) {
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
    let urls: Vec<(String, String)> = access_lines(&facts)
        .into_iter()
        .map(|l| (l.url, l.note))
        .collect();
    if out.json {
        let list: Vec<_> = urls
            .iter()
            .map(|(u, n)| json!({"url": u, "note": n}))
            .collect();
        println!("{}", event("deploy.done", json!({"open": list})));
    } else {
        println!(
            "{} the stack is up in namespace `{}`",
            out.paint(Tone::Good, "ready:"),
            project.namespace
        );
        for (u, n) in urls {
            println!("  open {u}  ({n})");
        }
    }
}
