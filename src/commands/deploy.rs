use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::{load_project, Outcome};
use crate::cli::{DeployArgs, GlobalArgs, TargetArgs};
use crate::cluster::access::{access_lines, AccessFacts, HostOs};
use crate::cluster::kube::connect;
use crate::cluster::minikube::Minikube;
use crate::deploy::apply::{self, Applied};
use crate::deploy::render::Manifest;
use crate::deploy::rollout::{self, Diagnosis, RolloutState, Workload};
use crate::deploy::values::ownership_selector;
use crate::deploy::{plan, recreate};
use crate::project::model::{ServiceName, ServiceType};
use crate::project::{check_sources, Project};
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};
use crate::UsageError;

pub async fn run(global: &GlobalArgs, args: &DeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    let project = load_project(global)?;
    check_sources(&project)?;
    let plans = super::build::plan_all(&project, &project.services).await;
    let images = super::build::images_or_first_error(&plans).map_err(|e| anyhow::anyhow!("{e}"))?;
    let timeout = Duration::from_secs(args.timeout);
    recreate_workloads(
        &project,
        &images,
        &args.target,
        &args.recreate,
        timeout,
        out,
    )
    .await?;
    deploy_project(
        &project,
        &images,
        &args.target,
        Duration::from_secs(args.timeout),
        out,
    )
    .await
}

/// `--recreate`: deletes the named workloads (checked against the render
/// before the cluster is touched) so the apply that follows creates them anew.
pub async fn recreate_workloads(
    project: &Project,
    images: &BTreeMap<ServiceName, String>,
    target: &TargetArgs,
    names: &[String],
    timeout: Duration,
    out: &Output,
) -> anyhow::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let manifests = plan::render(project, images, &BTreeMap::new())?;
    let workloads = recreate::workloads_named(&manifests, names).map_err(UsageError)?;
    let (client, _) = connect(
        &project.cluster.name,
        target.context.as_deref(),
        target.allow_remote,
    )
    .await?;
    for w in &workloads {
        let deleted = recreate::delete_workload(&client, &project.namespace, w, timeout).await?;
        if out.json {
            println!(
                "{}",
                event("recreate", json!({"object": w.id(), "deleted": deleted}))
            );
        } else if deleted {
            eprintln!(
                "{} {} (to create it anew)",
                out.paint(Tone::Warn, "deleted"),
                w.id()
            );
        }
    }
    Ok(())
}

/// Render, apply, prune, wait, report: the deploy half of `up`. `images`
/// are the content tags the caller planned (and `up` built).
pub async fn deploy_project(
    project: &Project,
    images: &BTreeMap<ServiceName, String>,
    target: &TargetArgs,
    timeout: Duration,
    out: &Output,
) -> anyhow::Result<Outcome> {
    // Everything that can fail without a cluster fails before we touch one.
    plan::render(project, images, &BTreeMap::new())?;
    let (client, ctx) = connect(
        &project.cluster.name,
        target.context.as_deref(),
        target.allow_remote,
    )
    .await?;
    let existing = apply::existing_secret(&client, &project.namespace, "todo-secrets").await;
    let manifests = plan::render(project, images, &existing)?;

    let workloads: Vec<Workload> = manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .map(|m| Workload {
            kind: m.kind().to_string(),
            name: m.name().to_string(),
        })
        .collect();
    let names: Vec<String> = workloads.iter().map(Workload::id).collect();
    let progress = Progress::new(*out, &names);
    progress.note(
        "context",
        Tone::Dim,
        &format!(
            "deploying to `{}` ({}), namespace `{}`",
            ctx.name,
            ctx.server.clone().unwrap_or_default(),
            project.namespace
        ),
        event(
            "deploy.target",
            json!({"context": ctx.name, "namespace": project.namespace}),
        ),
    );
    apply::apply_all(
        &client,
        &project.namespace,
        &manifests,
        |m: &Manifest, a: &Applied| {
            let word = match a {
                Applied::Created => "created",
                Applied::Changed => "configured",
                Applied::Unchanged => "unchanged",
                Applied::Borrowed => "exists (not todo-dev's: used, left as is)",
                Applied::Retrying(why) => {
                    return progress.note(
                        &m.id(),
                        Tone::Warn,
                        why,
                        event("apply.retry", json!({"object": m.id(), "message": why})),
                    )
                }
            };
            progress.note(
                &m.id(),
                Tone::Dim,
                word,
                event("apply", json!({"object": m.id(), "result": word})),
            );
        },
    )
    .await?;
    for gone in apply::prune(
        &client,
        &project.namespace,
        &ownership_selector(project),
        &manifests,
    )
    .await?
    {
        progress.note(
            &gone,
            Tone::Dim,
            "pruned",
            event("prune", json!({"object": gone})),
        );
    }

    let waits = workloads.iter().map(|w| {
        let (client, progress, ns) = (&client, &progress, project.namespace.as_str());
        async move {
            let id = w.id();
            let state = rollout::wait(client, ns, w, timeout, |s| {
                let text = match s {
                    RolloutState::Done(m) | RolloutState::Waiting(m) | RolloutState::Failed(m) => {
                        m.clone()
                    }
                };
                progress.status(
                    &id,
                    &text,
                    event("rollout", json!({"workload": id, "message": text})),
                );
            })
            .await;
            (w, state)
        }
    });
    let results = futures::future::join_all(waits).await;
    let mut failed = Vec::new();
    for (w, state) in results {
        let id = w.id();
        match state {
            Ok(RolloutState::Done(_)) => progress.finish(
                &id,
                Tone::Good,
                "ready",
                event("rollout.done", json!({"workload": id})),
            ),
            other => {
                let msg = match other {
                    Ok(
                        RolloutState::Failed(m) | RolloutState::Waiting(m) | RolloutState::Done(m),
                    ) => m,
                    Err(e) => format!("cannot read its status: {e}"),
                };
                progress.finish(
                    &id,
                    Tone::Bad,
                    &msg,
                    event("rollout.failed", json!({"workload": id, "message": msg})),
                );
                failed.push((w.clone(), msg));
            }
        }
    }
    drop(progress);
    if !failed.is_empty() {
        for (w, msg) in &failed {
            let labels = selector_of(&manifests, w);
            let d = rollout::diagnose(&client, &project.namespace, &labels).await;
            report_failure(out, &project.namespace, w, msg, &d)?;
        }
        return Ok(Outcome::Failed);
    }
    report_access(out, project).await?;
    Ok(Outcome::Success)
}

fn selector_of(manifests: &[Manifest], w: &Workload) -> BTreeMap<String, String> {
    manifests
        .iter()
        .find(|m| m.kind() == w.kind && m.name() == w.name)
        .and_then(|m| {
            serde_json::from_value(m.object["spec"]["selector"]["matchLabels"].clone()).ok()
        })
        .unwrap_or_default()
}

fn report_failure(
    out: &Output,
    namespace: &str,
    w: &Workload,
    msg: &str,
    d: &Diagnosis,
) -> anyhow::Result<()> {
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
        return Ok(());
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
    Ok(())
}

/// Where to open the app.
async fn report_access(out: &Output, project: &Project) -> anyhow::Result<()> {
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
    Ok(())
}
