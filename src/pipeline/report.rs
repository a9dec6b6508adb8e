//! What the deploy step tells the user at its end: why a workload failed,
//! or where to open the app.

use std::time::Duration;

use serde_json::json;

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
                json!({"workload": w.id(), "message": msg, "pod": d.pod, "container": d.container, "reason": d.reason,
                       "detail": d.message, "events": d.events, "logs": d.logs.as_ref().map(|l| &l.1),
                       "previousLogs": d.logs.as_ref().map(|l| l.0), "hint": d.hint, "kubectlAi": question})
            )
        );
        return;
    }
    eprintln!("\n{} {}: {msg}", out.paint(Tone::Bad, "failed"), w.id());
    let pod = d.pod.as_deref().unwrap_or("-");
    eprintln!(
        "  pod {pod}: {} {}",
        out.paint(Tone::Bold, &d.reason),
        d.message
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
            d.container.as_deref().unwrap_or("?")
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

/// Where to open the app.
pub async fn access(out: &Output, project: &Project) {
    let mut urls = Vec::new();
    let ip = match Minikube::locate(&project.cluster.name, Duration::from_secs(5)) {
        Some(mk) => mk.ip().await.ok(),
        None => None,
    };
    if let Some(host) = &project.access.ingress_host {
        urls.push((
            format!("http://{host}"),
            format!(
                "needs `{} {host}` in /etc/hosts",
                ip.as_deref().unwrap_or("<minikube ip>")
            ),
        ));
    }
    if project.access.service_type == ServiceType::NodePort
        && project.service(ServiceName::Frontend).is_some()
    {
        match (project.access.node_port, &ip) {
            (Some(port), Some(ip)) => urls.push((format!("http://{ip}:{port}"), "NodePort".into())),
            _ => urls.push((
                format!(
                    "minikube service frontend -n {} -p {} --url",
                    project.namespace, project.cluster.name
                ),
                "prints the NodePort URL".into(),
            )),
        }
    }
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
