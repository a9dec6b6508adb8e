//! `verify`'s cluster checks, against what the offline render says the
//! profile deploys: every workload Ready (and how long its pods took), the
//! HPAs and volumes the profile has, and the app images' sizes against the
//! source plans' limits, as the nodes' kubelets report them.

use std::time::Instant;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::ListParams;
use kube::Api;

use super::VerifyCheck;
use crate::cluster::nodes;
use crate::deploy::render::Manifest;
use crate::deploy::values::Ownership;
use crate::pipeline::event::{Events, VerifyEvent};
use crate::project::Project;

/// The plans' image limits: the frontend's 300 MB, the Python images' 500 MB.
pub const IMAGE_LIMITS_MB: [(&str, u64); 4] = [
    ("frontend", 300),
    ("backend", 500),
    ("mcp-server", 500),
    ("ai-agent", 500),
];

/// What the cluster must hold, from the render of the profile.
struct Expected<'a> {
    workloads: Vec<(&'a str, &'a str)>,
    autoscalers: Vec<&'a str>,
    claims: Vec<String>,
}

fn expected(manifests: &[Manifest]) -> Expected<'_> {
    let mut e = Expected {
        workloads: Vec::new(),
        autoscalers: Vec::new(),
        claims: Vec::new(),
    };
    for m in manifests {
        match m.kind() {
            "Deployment" | "StatefulSet" => e.workloads.push((m.kind(), m.name())),
            "HorizontalPodAutoscaler" => e.autoscalers.push(m.name()),
            "PersistentVolumeClaim" => e.claims.push(m.name().to_string()),
            _ => {}
        }
        // A StatefulSet's claims are named TEMPLATE-SET-ORDINAL.
        if m.kind() == "StatefulSet" {
            let replicas = m.object["spec"]["replicas"].as_u64().unwrap_or(1);
            if let Some(templates) = m.object["spec"]["volumeClaimTemplates"].as_array() {
                for t in templates {
                    let t = t["metadata"]["name"].as_str().unwrap_or_default();
                    for i in 0..replicas {
                        e.claims.push(format!("{t}-{}-{i}", m.name()));
                    }
                }
            }
        }
    }
    e
}

/// The cluster checks, in order, each emitted as it ends.
pub async fn run(
    client: &kube::Client,
    project: &Project,
    manifests: &[Manifest],
    events: &Events,
) -> Vec<VerifyCheck> {
    let expected = expected(manifests);
    let ns = &project.namespace;
    let mut checks = Vec::new();
    let mut emit = |c: VerifyCheck| {
        events.verify(VerifyEvent::Check(c.clone()));
        checks.push(c);
    };
    emit(
        timed(
            "workloads ready",
            workloads(client, project, &expected.workloads),
        )
        .await,
    );
    emit(
        timed(
            "autoscaling",
            autoscaling(client, ns, &expected.autoscalers),
        )
        .await,
    );
    emit(timed("volumes", volumes(client, ns, &expected.claims)).await);
    emit(
        timed(
            "image sizes",
            image_sizes(client, project, &expected.workloads),
        )
        .await,
    );
    checks
}

/// (figure, or (what was seen, the fix)).
type Outcome = Result<String, (String, String)>;

/// `work` run as the check `name`, with how long it took.
async fn timed(
    name: &'static str,
    work: impl std::future::Future<Output = Outcome>,
) -> VerifyCheck {
    let started = Instant::now();
    let outcome = work.await;
    let ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(figure) => VerifyCheck {
            name,
            ok: true,
            ms,
            figure,
            seen: None,
            fix: None,
        },
        Err((seen, fix)) => VerifyCheck {
            name,
            ok: false,
            ms,
            figure: String::new(),
            seen: Some(seen),
            fix: Some(fix),
        },
    }
}

fn api_error(what: &str, e: kube::Error) -> (String, String) {
    (
        format!("cannot read {what}: {e}"),
        "check the context (`todo-dev doctor`) and that `todo-dev up` ran".into(),
    )
}

/// Each workload Ready at its current generation; how long its pods took
/// from creation to Ready (the pods' own Ready condition).
async fn workloads(client: &kube::Client, project: &Project, want: &[(&str, &str)]) -> Outcome {
    let ns = &project.namespace;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let mut not_ready = Vec::new();
    for (kind, name) in want {
        let state = match *kind {
            "Deployment" => deployments
                .get_opt(name)
                .await
                .map_err(|e| api_error("Deployments", e))?
                .map(|d| {
                    let gen = d.metadata.generation.unwrap_or(0);
                    let spec = d.spec.and_then(|s| s.replicas).unwrap_or(1);
                    let s = d.status.unwrap_or_default();
                    let ready = s.ready_replicas.unwrap_or(0);
                    let updated = s.updated_replicas.unwrap_or(0);
                    let current = s.observed_generation.unwrap_or(0) >= gen;
                    (current && ready >= spec && updated >= spec, ready, spec)
                }),
            _ => sets
                .get_opt(name)
                .await
                .map_err(|e| api_error("StatefulSets", e))?
                .map(|d| {
                    let gen = d.metadata.generation.unwrap_or(0);
                    let spec = d.spec.and_then(|s| s.replicas).unwrap_or(1);
                    let s = d.status.unwrap_or_default();
                    let ready = s.ready_replicas.unwrap_or(0);
                    let current = s.observed_generation.unwrap_or(0) >= gen;
                    (current && ready >= spec, ready, spec)
                }),
        };
        match state {
            None => not_ready.push(format!("{kind} {name} is missing")),
            Some((false, ready, spec)) => {
                not_ready.push(format!("{kind} {name}: {ready}/{spec} Ready"))
            }
            Some((true, ..)) => {}
        }
    }
    if !not_ready.is_empty() {
        return Err((
            not_ready.join("; "),
            "`todo-dev up` (or `deploy`) says why a rollout stops; `todo-dev logs SERVICE` shows the pods".into(),
        ));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let selector = Ownership::of(project).selector();
    let pods = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error("Pods", e))?;
    let slowest = pods
        .items
        .iter()
        .filter_map(|p| {
            let created = p.metadata.creation_timestamp.as_ref()?.0;
            let ready = p
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready" && c.status == "True")?
                .last_transition_time
                .as_ref()?
                .0;
            let seconds = ready.duration_since(created).as_secs_f64();
            Some((seconds, p.metadata.name.clone().unwrap_or_default()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let timing = match slowest {
        Some((s, pod)) => format!("; the slowest pod Ready {s:.1} s after it was created ({pod})"),
        None => String::new(),
    };
    Ok(format!("{} workloads Ready{timing}", want.len()))
}

/// The profile's HPAs present, none reporting that it cannot scale.
async fn autoscaling(client: &kube::Client, ns: &str, want: &[&str]) -> Outcome {
    if want.is_empty() {
        return Ok("this profile has no HorizontalPodAutoscaler".into());
    }
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns);
    let mut figures = Vec::new();
    for name in want {
        let Some(hpa) = api
            .get_opt(name)
            .await
            .map_err(|e| api_error("HorizontalPodAutoscalers", e))?
        else {
            return Err((
                format!("HorizontalPodAutoscaler {name} is missing"),
                "`todo-dev deploy` applies it".into(),
            ));
        };
        let spec = hpa.spec.unwrap_or_default();
        let status = hpa.status.unwrap_or_default();
        let blocked = status
            .conditions
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "ScalingActive" && c.status == "False");
        if let Some(c) = blocked {
            return Err((
                format!(
                    "HorizontalPodAutoscaler {name} cannot scale: {} {}",
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                ),
                "it needs CPU metrics: `minikube addons enable metrics-server` (the profile's addons)".into(),
            ));
        }
        figures.push(format!(
            "{name} {}..{} (now {})",
            spec.min_replicas.unwrap_or(1),
            spec.max_replicas,
            status.current_replicas.unwrap_or(0)
        ));
    }
    Ok(figures.join(", "))
}

/// The profile's claims Bound.
async fn volumes(client: &kube::Client, ns: &str, want: &[String]) -> Outcome {
    if want.is_empty() {
        return Ok("this profile keeps no data in the cluster".into());
    }
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let mut figures = Vec::new();
    for name in want {
        let claim = api
            .get_opt(name)
            .await
            .map_err(|e| api_error("PersistentVolumeClaims", e))?;
        let status = claim.and_then(|c| c.status);
        let phase = status.as_ref().and_then(|s| s.phase.clone());
        match phase.as_deref() {
            Some("Bound") => {
                let size = status
                    .and_then(|s| s.capacity)
                    .and_then(|c| c.get("storage").map(|q| q.0.clone()))
                    .unwrap_or_default();
                figures.push(format!("{name} Bound {size}").trim_end().to_string());
            }
            other => {
                return Err((
                    format!(
                        "PersistentVolumeClaim {name} is {}",
                        other.unwrap_or("missing")
                    ),
                    "a claim stays Pending without a StorageClass: `minikube addons enable storage-provisioner default-storageclass`".into(),
                ))
            }
        }
    }
    Ok(figures.join(", "))
}

/// The app images the workloads run, each within its limit, by the size
/// the nodes report.
async fn image_sizes(client: &kube::Client, project: &Project, want: &[(&str, &str)]) -> Outcome {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &project.namespace);
    let nodes = nodes::images(client)
        .await
        .map_err(|e| api_error("Nodes", e))?;
    let mut figures = Vec::new();
    let mut problems = Vec::new();
    let mut unreported = Vec::new();
    for (name, limit_mb) in IMAGE_LIMITS_MB {
        if !want.contains(&("Deployment", name)) {
            continue;
        }
        let image = deployments
            .get_opt(name)
            .await
            .map_err(|e| api_error("Deployments", e))?
            .and_then(|d| d.spec?.template.spec?.containers.into_iter().next()?.image);
        let Some(image) = image else {
            unreported.push(format!("{name}: no image in its Deployment"));
            continue;
        };
        let size = nodes
            .iter()
            .flatten()
            .find(|i| i.is(&image))
            .map(|i| i.size_bytes);
        match size {
            None => unreported.push(format!(
                "{name}: no node reports {image} (a kubelet lists its 50 largest images)"
            )),
            Some(bytes) => {
                let mb = bytes as f64 / 1e6;
                if mb > limit_mb as f64 {
                    problems.push(format!("{name}: {image} is {mb:.0} MB, over {limit_mb} MB"));
                } else {
                    figures.push(format!("{name} {mb:.0}/{limit_mb} MB"));
                }
            }
        }
    }
    // Too large is the image's to fix; not reported, the cluster's to say.
    let fix = match problems.is_empty() {
        false => "a smaller base (the built-in templates' slim ones), a multi-stage build, `pip --no-cache-dir`; `docker history IMAGE` shows which layer is large",
        true => "a missing workload first (see `workloads ready`); the sizes come from the nodes' status.images: check `kubectl get nodes -o jsonpath='{.items[*].status.images}'`, or size the image on the node's daemon (`docker image inspect IMAGE --format '{{.Size}}'`)",
    };
    problems.extend(unreported);
    match problems.is_empty() {
        true => Ok(figures.join(", ")),
        false => Err((problems.join("; "), fix.into())),
    }
}
