//! Server-side apply in stage order, pruning what a new render dropped, and
//! removal. Only this project's objects (todo-dev's `managed-by` label and
//! this project's `instance` label) are ever changed or deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::Value;

use super::kinds::{self, ManagedKind, KINDS};
use super::render::Manifest;
use super::values::{owner, Ownership, MANAGER};
use super::{admission, immutable};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("interrupted: {} object(s) applied, {} not", .applied.len(), .not_applied.len())]
    Interrupted {
        applied: Vec<String>,
        not_applied: Vec<String>,
    },
    #[error("todo-dev does not manage kind `{0}`")]
    UnknownKind(String),
    #[error("{id} already exists in namespace `{namespace}` and was not made by todo-dev: todo-dev leaves it alone\n  help: delete or rename it yourself, or deploy to another namespace (--set namespace=NAME)")]
    NotOurs { id: String, namespace: String },
    #[error("{id} in namespace `{namespace}` belongs to todo-dev project `{project}`, not to this one (`{this}`): todo-dev leaves it alone\n  help: deploy this project to another namespace (--set namespace=NAME), or run `todo-dev down` in project `{project}` first")]
    OtherProject {
        id: String,
        namespace: String,
        project: String,
        this: String,
    },
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot read Secret/{name} in namespace `{namespace}` (so cannot tell whether its generated values exist): {source}\n  help: nothing was applied; check the cluster (`kubectl get secret {name} -n {namespace}`) and deploy again")]
    ReadSecret {
        name: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("{id} keeps its claims only while it exists: its persistentVolumeClaimRetentionPolicy.whenDeleted is Delete, so deleting it would delete their data, which --recreate never does\n  help: change the policy to Retain, or delete it yourself")]
    WouldDeleteClaims { id: String },
    #[error("{what} did not finish within {}s", .after.as_secs())]
    Timeout { what: String, after: Duration },
    #[error(transparent)]
    Immutable(#[from] Box<super::immutable::ImmutableField>),
    #[error("applying {id}: the admission webhook `{webhook}` still did not answer after {} s: {source}\n  help: its controller is not ready: `kubectl get pods -n ingress-nginx` shows why; `minikube addons enable ingress -p <cluster>` (re)installs it", .waited.as_secs())]
    WebhookUnready {
        id: String,
        webhook: String,
        waited: Duration,
        #[source]
        source: Box<kube::Error>,
    },
}

fn managed(kind: &str) -> Result<&'static ManagedKind, ApplyError> {
    kinds::find(kind).ok_or_else(|| ApplyError::UnknownKind(kind.to_string()))
}

fn api(client: &Client, kind: &str, namespace: &str) -> Result<Api<DynamicObject>, ApplyError> {
    Ok(kind_api(client, managed(kind)?, namespace))
}

fn kind_api(client: &Client, k: &ManagedKind, namespace: &str) -> Api<DynamicObject> {
    let ar = k.api_resource();
    if k.namespaced {
        Api::namespaced_with(client.clone(), namespace, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    }
}

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> ApplyError {
    let what = what.into();
    move |source| ApplyError::Api { what, source }
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Created,
    Changed,
    Unchanged,
    /// A namespace that existed before todo-dev: used, never adopted.
    Borrowed,
    /// Refused for now (an admission webhook not ready yet); retrying.
    Retrying(String),
}

/// Applies `manifests` (already in stage order) with field manager `todo-dev`.
/// Every object is checked before anything is written, so an object of
/// another owner stops the deploy with nothing half-applied. Once
/// `cancelled` says so, the object in flight finishes and the rest are not
/// applied ([`ApplyError::Interrupted`] lists both).
pub async fn apply_all(
    client: &Client,
    namespace: &str,
    ours: &Ownership,
    manifests: &[Manifest],
    cancelled: impl Fn() -> bool,
    mut on_applied: impl FnMut(&Manifest, &Applied),
) -> Result<(), ApplyError> {
    let mut found = Vec::with_capacity(manifests.len());
    for m in manifests {
        let id = m.id();
        let api = api(client, m.kind(), namespace)?;
        let before = api
            .get_opt(m.name())
            .await
            .map_err(api_error(format!("reading {id}")))?;
        let borrowed = match before
            .as_ref()
            .map(|b| check_owner(b, ours, &id, namespace))
        {
            None | Some(Ok(())) => false,
            // A namespace that is not ours is used as it is, never adopted.
            Some(Err(_)) if m.kind() == "Namespace" => true,
            Some(Err(e)) => return Err(e),
        };
        found.push((api, before, borrowed));
    }
    for (i, (m, (api, before, borrowed))) in manifests.iter().zip(found).enumerate() {
        if cancelled() {
            let ids = |ms: &[Manifest]| ms.iter().map(Manifest::id).collect();
            return Err(ApplyError::Interrupted {
                applied: ids(&manifests[..i]),
                not_applied: ids(&manifests[i..]),
            });
        }
        if borrowed {
            on_applied(m, &Applied::Borrowed);
            continue;
        }
        let params = PatchParams::apply(MANAGER).force();
        let patch = Patch::Apply(&m.object);
        let after = admission::retry_while_webhook_unready(
            admission::WEBHOOK_PATIENCE,
            admission::RETRY_EVERY,
            || api.patch(m.name(), &params, &patch),
            |e| {
                let webhook = admission::webhook_name(e).unwrap_or_default();
                on_applied(m, &Applied::Retrying(format!("the admission webhook `{webhook}` is not ready yet; trying again for up to {} s", admission::WEBHOOK_PATIENCE.as_secs())));
            },
        )
        .await
        .map_err(|e| apply_failure(m, namespace, e))?;
        let outcome = match before {
            None => Applied::Created,
            Some(b) if b.metadata.resource_version == after.metadata.resource_version => {
                Applied::Unchanged
            }
            Some(_) => Applied::Changed,
        };
        on_applied(m, &outcome);
    }
    Ok(())
}

/// Why one apply failed, in the most useful words.
fn apply_failure(m: &Manifest, namespace: &str, e: kube::Error) -> ApplyError {
    if let Some(f) = immutable::from_api_error(m.kind(), m.name(), namespace, &e) {
        return ApplyError::Immutable(Box::new(f));
    }
    if admission::is_webhook_unready(&e) {
        return ApplyError::WebhookUnready {
            id: m.id(),
            webhook: admission::webhook_name(&e).unwrap_or_default(),
            waited: admission::WEBHOOK_PATIENCE,
            source: Box::new(e),
        };
    }
    ApplyError::Api {
        what: format!("applying {}", m.id()),
        source: e,
    }
}

/// Deletes our objects in `namespace` that the new render no longer has.
/// Claims are kept (they hold data); only `down --purge` removes them.
pub async fn prune(
    client: &Client,
    namespace: &str,
    ours: &Ownership,
    rendered: &[Manifest],
) -> Result<Vec<String>, ApplyError> {
    let selector = ours.selector();
    let keep: BTreeSet<(String, String)> = rendered
        .iter()
        .map(|m| (m.kind().to_string(), m.name().to_string()))
        .collect();
    let mut pruned = Vec::new();
    for k in KINDS.iter().rev().filter(|k| k.namespaced && k.prunable) {
        let kind = k.kind;
        let api = kind_api(client, k, namespace);
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(api_error(format!("listing {kind}s")))?;
        for obj in list.items {
            let name = obj.metadata.name.clone().unwrap_or_default();
            if keep.contains(&(kind.to_string(), name.clone()))
                || !ours.owns(obj.metadata.labels.as_ref())
            {
                continue;
            }
            api.delete(&name, &DeleteParams::foreground())
                .await
                .map_err(api_error(format!("deleting {kind}/{name}")))?;
            pruned.push(format!("{kind}/{name}"));
        }
    }
    Ok(pruned)
}

/// What `down` removed.
#[derive(Debug, Default, Clone)]
pub struct Removal {
    pub deleted: Vec<String>,
    pub kept_claims: Vec<String>,
    pub namespace_deleted: bool,
    /// Why `--purge` left the namespace (another project's or the user's objects are in it).
    pub namespace_kept: Option<String>,
}

/// Deletes every object of this project, stages in reverse, waiting until
/// each kind is gone. Claims stay unless `purge`; the namespace goes only with
/// `purge`, only if this project created it, and only when nothing else is in it.
pub async fn remove(
    client: &Client,
    namespace: &str,
    ours: &Ownership,
    purge: bool,
    timeout: Duration,
) -> Result<Removal, ApplyError> {
    let selector = ours.selector();
    let mut removal = Removal::default();
    for k in kinds::removal_order() {
        let kind = k.kind;
        let api = kind_api(client, k, namespace);
        let lp = ListParams::default().labels(&selector);
        let listed = api
            .list(&lp)
            .await
            .map_err(api_error(format!("listing {kind}s")))?;
        let names: Vec<String> = listed
            .items
            .iter()
            .filter(|o| ours.owns(o.metadata.labels.as_ref()))
            .filter_map(|o| o.metadata.name.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        if !k.down && !purge {
            removal
                .kept_claims
                .extend(names.iter().map(|n| format!("{kind}/{n}")));
            continue;
        }
        api.delete_collection(&DeleteParams::foreground(), &lp)
            .await
            .map_err(api_error(format!("deleting {kind}s by label")))?;
        wait_gone(&api, &lp, &format!("deleting the {kind}s"), timeout).await?;
        removal
            .deleted
            .extend(names.iter().map(|n| format!("{kind}/{n}")));
    }
    if purge && managed("Namespace")?.purge {
        let ns_api = api(client, "Namespace", namespace)?;
        let ns = ns_api
            .get_opt(namespace)
            .await
            .map_err(api_error(format!("reading Namespace/{namespace}")))?;
        if !ns.is_some_and(|n| ours.owns(n.metadata.labels.as_ref())) {
            return Ok(removal);
        }
        // Deleting a namespace deletes everything in it: only an empty one goes.
        if let Some(left) = first_remaining(client, namespace).await? {
            removal.namespace_kept = Some(format!("{left} is still in it (not this project's)"));
        } else {
            ns_api
                .delete(namespace, &DeleteParams::foreground())
                .await
                .map_err(api_error(format!("deleting Namespace/{namespace}")))?;
            let deadline = Instant::now() + timeout;
            while ns_api.get_opt(namespace).await.ok().flatten().is_some() {
                if Instant::now() > deadline {
                    return Err(ApplyError::Timeout {
                        what: format!("deleting namespace {namespace}"),
                        after: timeout,
                    });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            removal.namespace_deleted = true;
        }
    }
    Ok(removal)
}

async fn wait_gone(
    api: &Api<DynamicObject>,
    lp: &ListParams,
    what: &str,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = api.list(lp).await.map_err(api_error(what))?;
        if left.items.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ApplyError::Timeout {
                what: what.to_string(),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The first object in `namespace` that is in the way of deleting it, as
/// `Kind/name`; what Kubernetes itself puts in every namespace does not count.
async fn first_remaining(client: &Client, namespace: &str) -> Result<Option<String>, ApplyError> {
    for k in KINDS.iter().filter(|k| k.namespaced) {
        let kind = k.kind;
        let list = kind_api(client, k, namespace)
            .list(&ListParams::default())
            .await
            .map_err(api_error(format!("listing {kind}s")))?;
        let found = list.items.iter().find(|o| {
            let name = o.metadata.name.as_deref().unwrap_or_default();
            let token = o.data.get("type").and_then(Value::as_str)
                == Some("kubernetes.io/service-account-token");
            // Published into every namespace by kube-controller-manager.
            let root_ca = name == "kube-root-ca.crt" && kind == "ConfigMap";
            !(token || root_ca)
        });
        if let Some(o) = found {
            return Ok(Some(format!(
                "{kind}/{}",
                o.metadata.name.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(None)
}

/// The Secret's current values in the cluster, so generated ones stay
/// stable: `None` only when the API says it does not exist (404). Any
/// other answer (403, 500, a timeout) is an error: generating new values
/// then would lock the backend out of a Postgres that keeps the old password.
pub async fn existing_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, ApplyError> {
    use base64::Engine;
    let secret = api(client, "Secret", namespace)?
        .get_opt(name)
        .await
        .map_err(|source| ApplyError::ReadSecret {
            name: name.to_string(),
            namespace: namespace.to_string(),
            source,
        })?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let data = secret
        .data
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Ok(Some(
        data.into_iter()
            .filter_map(|(k, v)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str()?)
                    .ok()?;
                Some((k, String::from_utf8(bytes).ok()?))
            })
            .collect(),
    ))
}

/// Request shapes against kube-rs's mock service.
/// An object of this project, or the error naming whose it is.
fn check_owner(
    object: &DynamicObject,
    ours: &Ownership,
    id: &str,
    namespace: &str,
) -> Result<(), ApplyError> {
    let labels = object.metadata.labels.as_ref();
    if ours.owns(labels) {
        return Ok(());
    }
    Err(match owner(labels) {
        Some(project) => ApplyError::OtherProject {
            id: id.to_string(),
            namespace: namespace.to_string(),
            project,
            this: ours.instance.clone(),
        },
        None => ApplyError::NotOurs {
            id: id.to_string(),
            namespace: namespace.to_string(),
        },
    })
}

/// The field manager of a restart's annotation, apart from the apply's own:
/// the next apply neither owns nor drops it (as `kubectl rollout restart`).
const RESTART_MANAGER: &str = "todo-dev-restart";

/// Restarts a workload's pods the way `kubectl rollout restart` does: a new
/// `kubectl.kubernetes.io/restartedAt` on its pod template, so its
/// controller replaces the pods one by one under its own rollout rules.
/// Only an object todo-dev made for this project (checked first).
pub async fn restart(
    client: &Client,
    namespace: &str,
    ownership: &Ownership,
    kind: &str,
    name: &str,
) -> Result<(), ApplyError> {
    let api = api(client, kind, namespace)?;
    let id = format!("{kind}/{name}");
    let existing = api
        .get(name)
        .await
        .map_err(api_error(format!("reading {id}")))?;
    check_owner(&existing, ownership, &id, namespace)?;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now,
    }}}}});
    let params = PatchParams {
        field_manager: Some(RESTART_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(&patch))
        .await
        .map_err(api_error(format!("restarting {id}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::kinds::Stage;
    use crate::deploy::values::{INSTANCE, MANAGED_BY};
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::json;
    use tower_test::mock;

    type Handle = mock::Handle<Request<Body>, Response<Body>>;

    struct Seen {
        method: String,
        uri: String,
        content_type: String,
        body: String,
    }

    /// Answers each request with `answer(method, path)` and records it.
    fn serve(
        answer: impl Fn(&str, &str) -> (u16, Value) + Send + 'static,
    ) -> (Client, tokio::task::JoinHandle<Vec<Seen>>) {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let task = tokio::spawn(async move {
            let mut handle: std::pin::Pin<Box<Handle>> = Box::pin(handle);
            let mut seen = Vec::new();
            while let Some((req, send)) = handle.next_request().await {
                let (parts, body) = req.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let path = parts.uri.path().to_string();
                let (status, value) = answer(parts.method.as_str(), &path);
                seen.push(Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    content_type: parts
                        .headers
                        .get("content-type")
                        .map(|v| v.to_str().unwrap_or("").to_string())
                        .unwrap_or_default(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                let resp = Response::builder()
                    .status(status)
                    .body(Body::from(serde_json::to_vec(&value).unwrap()))
                    .unwrap();
                send.send_response(resp);
            }
            seen
        });
        (Client::new(service, "default"), task)
    }

    fn not_found(name: &str) -> (u16, Value) {
        (
            404,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":format!("configmaps \"{name}\" not found"),"reason":"NotFound","code":404}),
        )
    }

    fn manifest(object: Value) -> Manifest {
        Manifest {
            file: "config.yaml".into(),
            stage: Stage::Config,
            object,
        }
    }

    fn ours() -> Ownership {
        Ownership {
            instance: "todo-app".into(),
        }
    }

    #[tokio::test]
    async fn apply_is_a_server_side_apply_patch_with_our_field_manager_and_force() {
        let (client, task) = serve(|method, _| match method {
            "GET" => not_found("todo-config"),
            _ => (
                201,
                json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"todo-config","namespace":"todo","resourceVersion":"1"}}),
            ),
        });
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"todo-config","namespace":"todo","labels":{MANAGED_BY: MANAGER, INSTANCE: "todo-app"}},"data":{"A":"1"}});
        let mut outcomes = Vec::new();
        apply_all(
            &client,
            "todo",
            &ours(),
            &[manifest(cm)],
            || false,
            |_, a| outcomes.push(a.clone()),
        )
        .await
        .unwrap();
        drop(client);
        let seen = task.await.unwrap();
        assert_eq!(outcomes, [Applied::Created]);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].uri.as_str()),
            ("GET", "/api/v1/namespaces/todo/configmaps/todo-config")
        );
        let patch = &seen[1];
        assert_eq!(patch.method, "PATCH");
        assert_eq!(
            patch.uri,
            "/api/v1/namespaces/todo/configmaps/todo-config?&force=true&fieldManager=todo-dev"
        );
        assert_eq!(patch.content_type, "application/apply-patch+yaml");
        let body: Value = serde_json::from_str(&patch.body).unwrap();
        assert_eq!(body["data"]["A"], "1");
        assert_eq!(body["metadata"]["labels"][MANAGED_BY], MANAGER);
    }

    #[tokio::test]
    async fn an_object_we_did_not_make_is_left_alone() {
        let (client, task) = serve(|_, _| {
            (
                200,
                json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"todo-config","namespace":"todo","labels":{"owner":"someone"}}}),
            )
        });
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"todo-config","namespace":"todo"}});
        let err = apply_all(
            &client,
            "todo",
            &ours(),
            &[manifest(cm)],
            || false,
            |_, _| {},
        )
        .await
        .unwrap_err();
        drop(client);
        let seen = task.await.unwrap();
        assert!(matches!(err, ApplyError::NotOurs { .. }), "{err}");
        assert!(seen.iter().all(|s| s.method == "GET"), "nothing but a read");
    }

    #[tokio::test]
    async fn removal_deletes_by_label_selector_and_keeps_claims() {
        let listed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = listed.clone();
        let (client, task) = serve(move |method, path| {
            let ours = json!({"metadata":{"name":"x","labels":{MANAGED_BY: MANAGER, INSTANCE: "todo-app"}}});
            match (method, path) {
                ("GET", p) if p.ends_with("/deployments") => {
                    // Present on the first list, gone after the delete.
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let items = if n == 0 { vec![ours] } else { vec![] };
                    (
                        200,
                        json!({"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{"resourceVersion":"5"},"items":items}),
                    )
                }
                ("GET", p) if p.ends_with("/persistentvolumeclaims") => (
                    200,
                    json!({"apiVersion":"v1","kind":"PersistentVolumeClaimList","metadata":{},"items":[{"metadata":{"name":"postgres-data","labels":{MANAGED_BY: MANAGER, INSTANCE: "todo-app"}}}]}),
                ),
                ("GET", _) => (
                    200,
                    json!({"apiVersion":"v1","kind":"List","metadata":{},"items":[]}),
                ),
                ("DELETE", _) => (
                    200,
                    json!({"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{},"items":[]}),
                ),
                _ => (405, json!({})),
            }
        });
        let removal = remove(&client, "todo", &ours(), false, Duration::from_secs(5))
            .await
            .unwrap();
        drop(client);
        let seen = task.await.unwrap();
        assert_eq!(removal.deleted, ["Deployment/x"]);
        assert_eq!(removal.kept_claims, ["PersistentVolumeClaim/postgres-data"]);
        let deletes: Vec<&Seen> = seen.iter().filter(|s| s.method == "DELETE").collect();
        assert_eq!(deletes.len(), 1, "only the deployments, by label");
        assert_eq!(
            deletes[0].uri,
            "/apis/apps/v1/namespaces/todo/deployments?&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtodo-dev%2Capp.kubernetes.io%2Finstance%3Dtodo-app"
        );
        assert!(
            deletes[0]
                .body
                .contains("\"propagationPolicy\":\"Foreground\""),
            "{}",
            deletes[0].body
        );
        let lists: Vec<&Seen> = seen.iter().filter(|s| s.method == "GET").collect();
        assert!(
            lists.iter().all(|s| s
                .uri
                .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtodo-dev")),
            "every list is by our labels"
        );
    }
}
