//! `--recreate WORKLOAD`: delete one Deployment or StatefulSet of ours so
//! the apply that follows creates it anew, for a change Kubernetes refuses
//! on an existing object (see `immutable`). Only that workload goes: never a
//! claim (a StatefulSet's claims are kept by its retention policy, and one
//! that would delete them is refused).

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, DeleteParams};
use kube::{Client, Resource};

use super::apply::ApplyError;
use super::render::Manifest;
use super::values::Ownership;

/// A workload of the render to recreate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recreate {
    pub kind: String,
    pub name: String,
}

impl Recreate {
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// The workloads `names` refer to; an unknown name is the user's mistake,
/// answered with the names there are.
pub fn workloads_named(manifests: &[Manifest], names: &[String]) -> Result<Vec<Recreate>, String> {
    let workloads: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .collect();
    names
        .iter()
        .map(|n| {
            workloads
                .iter()
                .find(|m| m.name() == n)
                .map(|m| Recreate {
                    kind: m.kind().to_string(),
                    name: n.clone(),
                })
                .ok_or_else(|| {
                    let known: Vec<&str> = workloads.iter().map(|m| m.name()).collect();
                    format!(
                        "--recreate {n}: no Deployment or StatefulSet `{n}` in this render (claims are never recreated)\n  help: one of: {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// Deletes `w` (if it exists and is ours) and waits until it is gone.
/// Returns whether there was anything to delete.
pub async fn delete_workload(
    client: &Client,
    namespace: &str,
    ours: &Ownership,
    w: &Recreate,
    timeout: Duration,
) -> Result<bool, ApplyError> {
    match w.kind.as_str() {
        "StatefulSet" => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
            let Some(live) = get(&api, w).await? else {
                return Ok(false);
            };
            let deletes_claims = live
                .spec
                .as_ref()
                .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
                .and_then(|p| p.when_deleted.as_deref())
                == Some("Delete");
            if deletes_claims {
                return Err(ApplyError::WouldDeleteClaims { id: w.id() });
            }
            delete_and_wait(&api, live, w, namespace, ours, timeout).await?;
        }
        _ => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
            let Some(live) = get(&api, w).await? else {
                return Ok(false);
            };
            delete_and_wait(&api, live, w, namespace, ours, timeout).await?;
        }
    }
    Ok(true)
}

async fn get<K>(api: &Api<K>, w: &Recreate) -> Result<Option<K>, ApplyError>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(&w.name)
        .await
        .map_err(|source| ApplyError::Api {
            what: format!("reading {}", w.id()),
            source,
        })
}

async fn delete_and_wait<K>(
    api: &Api<K>,
    live: K,
    w: &Recreate,
    namespace: &str,
    ours: &Ownership,
    timeout: Duration,
) -> Result<(), ApplyError>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if !ours.owns(live.meta().labels.as_ref()) {
        return Err(ApplyError::NotOurs {
            id: w.id(),
            namespace: namespace.to_string(),
        });
    }
    // Foreground: its ReplicaSets and pods go first, so the new one starts clean.
    api.delete(&w.name, &DeleteParams::foreground())
        .await
        .map_err(|source| ApplyError::Api {
            what: format!("deleting {}", w.id()),
            source,
        })?;
    let uid = live.meta().uid.clone();
    let deadline = Instant::now() + timeout;
    loop {
        match get(api, w).await? {
            Some(o) if o.meta().uid == uid => {}
            _ => return Ok(()),
        }
        if Instant::now() > deadline {
            return Err(ApplyError::Timeout {
                what: format!("deleting {}", w.id()),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
