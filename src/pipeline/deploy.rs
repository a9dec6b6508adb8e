//! The deploy step: render with the cluster's secrets, apply in stage
//! order, prune, wait for every workload, explain what failed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;

use super::{report, Images, PipelineError};
use crate::cluster::kube::connect;
use crate::deploy::apply::{self, Applied};
use crate::deploy::render::Manifest;
use crate::deploy::rollout::{self, RolloutState, Workload};
use crate::deploy::values::{DevVariant, Ownership};
use crate::deploy::{plan, recreate};
use crate::project::Project;
use crate::ui::progress::{event, Progress};
use crate::ui::{Output, Tone};

/// Which cluster a deploy may change: the project's Minikube context unless
/// one is named (a remote one only with `allow_remote`).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub context: Option<String>,
    pub allow_remote: bool,
}

/// What a deploy ended with (failures already explained on the terminal).
#[derive(Debug, Default)]
pub struct Deployed {
    /// `Kind/name` of each workload whose rollout failed.
    pub failed: Vec<String>,
}

/// Render, apply, prune, wait, report. `images` are the content tags the
/// build step planned (and built into the cluster's daemon); `dev` is
/// `watch`'s variant (hardened for everything else).
pub async fn deploy(
    project: &Project,
    images: &Images,
    dev: &DevVariant,
    target: &Target,
    timeout: Duration,
    out: &Output,
) -> Result<Deployed, PipelineError> {
    // The offline render that fails before any cluster call is the caller's
    // `plan_and_render`, made once before building.
    let (client, ctx) = connect_target(project, target).await?;
    // Not there: generate. Any other answer stops here, before anything is applied.
    let existing = apply::existing_secret(&client, &project.namespace, plan::SECRET_NAME)
        .await?
        .unwrap_or_default();
    let manifests = plan::render(project, images, &existing, dev)?;

    let workloads: Vec<Workload> = manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .map(|m| workload_of(m, images))
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
    let owner = Ownership::of(project);
    apply::apply_all(
        &client,
        &project.namespace,
        &owner,
        &manifests,
        |m: &Manifest, a: &Applied| {
            let word = match a {
                Applied::Created => "created",
                Applied::Changed => "configured",
                Applied::Unchanged => "unchanged",
                Applied::Borrowed => "exists (not this project's: used, left as is)",
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
    for gone in apply::prune(&client, &project.namespace, &owner, &manifests).await? {
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
            Ok(_) => progress.finish(
                &id,
                Tone::Good,
                "ready",
                event("rollout.done", json!({"workload": id})),
            ),
            Err(failure) => {
                let msg = failure.to_string();
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
            let d = rollout::diagnose(&client, &project.namespace, w, &labels).await;
            report::failure(out, &project.namespace, w, msg, &d);
        }
        return Ok(Deployed {
            failed: failed.into_iter().map(|(w, _)| w.id()).collect(),
        });
    }
    report::access(out, project).await;
    Ok(Deployed::default())
}

/// A Deployment or StatefulSet to wait for, with the images of its pods
/// that the build step made (the rest come from a registry).
fn workload_of(m: &Manifest, images: &Images) -> Workload {
    let built: BTreeSet<&str> = images.values().map(|i| i.reference.as_str()).collect();
    let spec = &m.object["spec"]["template"]["spec"];
    let built_images = ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec[k].as_array())
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .filter(|i| built.contains(i))
        .map(str::to_string)
        .collect();
    Workload {
        kind: m.kind().to_string(),
        name: m.name().to_string(),
        built_images,
    }
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

/// `--recreate`: deletes the named workloads (checked against the render
/// before the cluster is touched; never a claim) so the apply that follows
/// creates them anew, for a change of an immutable field.
pub async fn recreate(
    project: &Project,
    images: &Images,
    target: &Target,
    names: &[String],
    timeout: Duration,
    out: &Output,
) -> Result<(), PipelineError> {
    if names.is_empty() {
        return Ok(());
    }
    let manifests = plan::render(project, images, &BTreeMap::new(), &DevVariant::hardened())?;
    let workloads = recreate::workloads_named(&manifests, names)
        .map_err(|message| PipelineError::Recreate { message })?;
    let (client, _) = connect_target(project, target).await?;
    for w in &workloads {
        let deleted = recreate::delete_workload(
            &client,
            &project.namespace,
            &Ownership::of(project),
            w,
            timeout,
        )
        .await?;
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

/// Connects to the target cluster (for a loop that deploys many times).
pub async fn connect_target(
    project: &Project,
    target: &Target,
) -> Result<(kube::Client, crate::cluster::context::KubeContext), PipelineError> {
    Ok(connect(
        &project.cluster.name,
        target.context.as_deref(),
        target.allow_remote,
    )
    .await?)
}

/// What a render is made of: the image of each service and the variant.
#[derive(Clone, Copy)]
pub struct Objects<'a> {
    pub images: &'a Images,
    pub dev: &'a DevVariant,
}

/// How rolling one workload ended.
#[derive(Debug)]
pub enum Rolled {
    Ready,
    /// The new pods did not become ready; the diagnosis was reported.
    Failed(String),
}

/// `watch`'s rollout: applies the render with `images` (one service's new
/// image among them; everything else applies unchanged) and waits for that
/// service's workload only, diagnosing a failure as `deploy` does.
pub async fn roll(
    client: &kube::Client,
    project: &Project,
    objects: Objects<'_>,
    service: &str,
    timeout: Duration,
    out: &Output,
    on_state: impl FnMut(&RolloutState),
) -> Result<Rolled, PipelineError> {
    let existing = apply::existing_secret(client, &project.namespace, plan::SECRET_NAME)
        .await?
        .unwrap_or_default();
    let manifests = plan::render(project, objects.images, &existing, objects.dev)?;
    apply::apply_all(
        client,
        &project.namespace,
        &Ownership::of(project),
        &manifests,
        |_, _| {},
    )
    .await?;
    let Some(m) = manifests
        .iter()
        .find(|m| matches!(m.kind(), "Deployment" | "StatefulSet") && m.name() == service)
    else {
        return Ok(Rolled::Ready);
    };
    let w = workload_of(m, objects.images);
    let state = rollout::wait(client, &project.namespace, &w, timeout, on_state).await;
    let message = match state {
        Ok(_) => return Ok(Rolled::Ready),
        Err(failure) => failure.to_string(),
    };
    let d = rollout::diagnose(client, &project.namespace, &w, &selector_of(&manifests, &w)).await;
    report::failure(out, &project.namespace, &w, &message, &d);
    Ok(Rolled::Failed(format!("{}: {message}", w.id())))
}
