//! The deploy step: render with the cluster's secrets, apply in stage
//! order, prune, wait for every workload, diagnose what failed. The
//! engine ([`super::Engine`]) owns the client and calls these.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::cancel::Cancel;
use super::event::{DeployEvent, Events};
use super::{Images, PipelineError};
use crate::cluster::context::KubeContext;
use crate::deploy::apply::{self, ApplyError};
use crate::deploy::render::Manifest;
use crate::deploy::rollout::{self, RolloutFailure, RolloutReady, RolloutState, Workload};
use crate::deploy::values::{DevVariant, Ownership};
use crate::deploy::{plan, recreate};
use crate::project::secrets::SecretValue;
use crate::project::Project;

/// Which cluster a deploy may change: the project's Minikube context unless
/// one is named (a remote one only with `allow_remote`).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub context: Option<String>,
    pub allow_remote: bool,
}

/// What a deploy ended with (failures already diagnosed).
#[derive(Debug, Default)]
pub struct Deployed {
    /// `Kind/name` of each workload whose rollout failed.
    pub failed: Vec<String>,
}

/// What a render is made of: the image of each service, the variant, and
/// the registry's pull credentials (when the images are pulled with them).
#[derive(Clone, Copy)]
pub struct Objects<'a> {
    pub images: &'a Images,
    pub dev: &'a DevVariant,
    pub pull_secret: Option<&'a SecretValue>,
}

/// How rolling one workload ended.
#[derive(Debug)]
pub enum Rolled {
    Ready,
    /// The new pods did not become ready; the diagnosis was reported.
    Failed(String),
}

/// The cluster side of one run: the client, where it points, what it may stop on.
pub struct Cluster<'a> {
    pub client: &'a kube::Client,
    pub context: &'a KubeContext,
    pub events: &'a Events,
    pub cancel: &'a Cancel,
}

/// Render, apply, prune, wait, diagnose. `images` are the content tags the
/// build step planned (and built into the cluster's daemon); `dev` is
/// `watch`'s variant (hardened for everything else).
pub async fn deploy(
    at: &Cluster<'_>,
    project: &Project,
    objects: Objects<'_>,
    timeout: Duration,
) -> Result<Deployed, PipelineError> {
    let events = at.events;
    let manifests = render_with_secrets(at.client, project, objects).await?;
    let workloads: Vec<Workload> = manifests
        .iter()
        .filter(|m| is_workload(m))
        .map(|m| workload_of(m, objects.images))
        .collect();
    events.rows(workloads.iter().map(Workload::id).collect());
    events.deploy(DeployEvent::Target {
        context: at.context.name.clone(),
        server: at.context.server.clone().unwrap_or_default(),
        namespace: project.namespace.clone(),
    });
    let applied = apply(at, project, &manifests, true).await;
    if let Err(e) = applied {
        events.rows_done();
        return Err(e);
    }
    let owner = Ownership::of(project);
    if at.cancel.is_tripped() {
        return Err(interrupted_after(events, &manifests));
    }
    for object in apply::prune(at.client, &project.namespace, &owner, &manifests).await? {
        events.deploy(DeployEvent::Pruned { object });
    }

    let waits = workloads.iter().map(|w| async move {
        let id = w.id();
        let state = rollout::wait(at.client, &project.namespace, w, timeout, |s| {
            let message = match s {
                RolloutState::Done(m) | RolloutState::Waiting(m) | RolloutState::Failed(m) => {
                    m.clone()
                }
            };
            events.deploy(DeployEvent::RolloutStatus {
                workload: id.clone(),
                message,
            });
        })
        .await;
        (w, rolled_out(state))
    });
    let waited = at.cancel.unless(futures::future::join_all(waits)).await;
    let Ok(results) = waited else {
        return Err(interrupted_after(events, &manifests));
    };
    let mut failed = Vec::new();
    for (w, result) in results {
        let workload = w.id();
        match result {
            Ok(()) => events.deploy(DeployEvent::RolloutReady { workload }),
            Err(message) => {
                events.deploy(DeployEvent::RolloutFailed {
                    workload,
                    message: message.clone(),
                });
                failed.push((w.clone(), message));
            }
        }
    }
    events.rows_done();
    for (w, message) in &failed {
        diagnose(at, project, &manifests, w, message).await;
    }
    Ok(Deployed {
        failed: failed.into_iter().map(|(w, _)| w.id()).collect(),
    })
}

/// What `roll` does to the one workload it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// `watch`'s rollout: the render applied with `objects` (one service's
    /// new image among them; everything else applies unchanged).
    Apply,
    /// The page's restart: new pods from the image it runs
    /// (`kubectl rollout restart`), nothing applied.
    Restart,
}

/// Rolls `service`'s workload as `how` says and waits for it only,
/// diagnosing a failure as `deploy` does.
pub async fn roll(
    at: &Cluster<'_>,
    project: &Project,
    objects: Objects<'_>,
    service: &str,
    how: Rollout,
    timeout: Duration,
    on_state: impl FnMut(&RolloutState),
) -> Result<Rolled, PipelineError> {
    let manifests = render_with_secrets(at.client, project, objects).await?;
    if how == Rollout::Apply {
        apply(at, project, &manifests, false).await?;
    }
    let Some(m) = manifests
        .iter()
        .find(|m| is_workload(m) && m.name() == service)
    else {
        return Ok(match how {
            Rollout::Apply => Rolled::Ready,
            Rollout::Restart => Rolled::Failed(format!("`{service}` has no workload to restart")),
        });
    };
    if how == Rollout::Restart {
        let ours = Ownership::of(project);
        apply::restart(at.client, &project.namespace, &ours, m.kind(), m.name()).await?;
    }
    let w = workload_of(m, objects.images);
    wait_one(at, project, &manifests, &w, timeout, on_state).await
}

async fn wait_one(
    at: &Cluster<'_>,
    project: &Project,
    manifests: &[Manifest],
    w: &Workload,
    timeout: Duration,
    on_state: impl FnMut(&RolloutState),
) -> Result<Rolled, PipelineError> {
    let state = rollout::wait(at.client, &project.namespace, w, timeout, on_state);
    match rolled_out(at.cancel.unless(state).await?) {
        Ok(()) => Ok(Rolled::Ready),
        Err(message) => {
            diagnose(at, project, manifests, w, &message).await;
            Ok(Rolled::Failed(format!("{}: {message}", w.id())))
        }
    }
}

/// `--recreate`: deletes the named workloads (checked against the offline
/// render before the cluster is touched; never a claim) so the apply that
/// follows creates them anew, for a change of an immutable field.
pub async fn recreate(
    at: &Cluster<'_>,
    project: &Project,
    offline: &[Manifest],
    names: &[String],
    timeout: Duration,
) -> Result<(), PipelineError> {
    if names.is_empty() {
        return Ok(());
    }
    let workloads = recreate::workloads_named(offline, names)
        .map_err(|message| PipelineError::Recreate { message })?;
    for w in &workloads {
        let deleted = recreate::delete_workload(
            at.client,
            &project.namespace,
            &Ownership::of(project),
            w,
            timeout,
        )
        .await?;
        at.events.deploy(DeployEvent::Recreated {
            object: w.id(),
            deleted,
        });
    }
    Ok(())
}

/// The render with the cluster's generated secrets: absent, they are
/// generated; any other answer stops here, before anything is applied.
async fn render_with_secrets(
    client: &kube::Client,
    project: &Project,
    objects: Objects<'_>,
) -> Result<Vec<Manifest>, PipelineError> {
    let existing = apply::existing_secret(client, &project.namespace, plan::SECRET_NAME)
        .await?
        .unwrap_or_default();
    Ok(plan::render(
        project,
        objects.images,
        &existing,
        objects.dev,
        objects.pull_secret,
    )?)
}

/// Applies every object; `report` says each result. Interrupted, it says
/// what was and was not applied.
async fn apply(
    at: &Cluster<'_>,
    project: &Project,
    manifests: &[Manifest],
    report: bool,
) -> Result<(), PipelineError> {
    let applied = apply::apply_all(
        at.client,
        &project.namespace,
        &Ownership::of(project),
        manifests,
        || at.cancel.is_tripped(),
        |m, a| {
            if report {
                at.events.deploy(DeployEvent::Applied {
                    object: m.id(),
                    result: a.clone(),
                });
            }
        },
    )
    .await;
    match applied {
        Err(ApplyError::Interrupted {
            applied,
            not_applied,
        }) => {
            at.events.deploy(DeployEvent::Interrupted {
                applied,
                not_applied,
            });
            Err(PipelineError::Interrupted)
        }
        other => Ok(other?),
    }
}

/// Ctrl-C after every object was applied (while pruning or waiting).
fn interrupted_after(events: &Events, manifests: &[Manifest]) -> PipelineError {
    events.rows_done();
    events.deploy(DeployEvent::Interrupted {
        applied: manifests.iter().map(Manifest::id).collect(),
        not_applied: Vec::new(),
    });
    PipelineError::Interrupted
}

/// A rollout's end: ready, or why not (the message the user reads).
fn rolled_out(state: Result<RolloutReady, RolloutFailure>) -> Result<(), String> {
    state.map(|_| ()).map_err(|failure| failure.to_string())
}

async fn diagnose(
    at: &Cluster<'_>,
    project: &Project,
    manifests: &[Manifest],
    w: &Workload,
    message: &str,
) {
    let labels = selector_of(manifests, w);
    let d = rollout::diagnose(at.client, &project.namespace, w, &labels).await;
    at.events.deploy(DeployEvent::Diagnosis {
        workload: w.id(),
        message: message.to_string(),
        kubectl_ai: rollout::kubectl_ai_question(&project.namespace, &d),
        diagnosis: Arc::new(d),
    });
}

fn is_workload(m: &Manifest) -> bool {
    matches!(m.kind(), "Deployment" | "StatefulSet")
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
