//! `verify --disruptive`: what the plans check by deleting pods. A backend
//! pod deleted comes back (a new pod, a new name) within the plans' 60 s;
//! a marker task written before the database's pods are deleted (Postgres,
//! and Redis where the profile has it) is still there once they are back.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::Api;
use serde_json::json;

use super::{
    failed, list, ms, seen, unreachable, Endpoint, Failed, Step, TestUser, REQUEST_TIMEOUT,
};

/// The plans' bound on a deleted backend pod's replacement being Ready.
pub const RESTART_LIMIT: Duration = Duration::from_secs(60);
/// How long a replacement is waited for before the check gives up.
const WAIT: Duration = Duration::from_secs(300);

/// The cluster side of the disruptive checks.
pub struct Disruptive {
    pub client: kube::Client,
    pub namespace: String,
    /// The backend's pods' label selector.
    pub backend: String,
    /// (workload, its pods' selector) for each data store in the cluster.
    pub stores: Vec<(String, String)>,
}

/// Deletes one Ready pod of `selector` and waits for as many Ready pods as
/// before, none of them the deleted one: (deleted, replacement, seconds).
async fn delete_and_wait(pods: &Api<Pod>, selector: &str) -> Result<(String, String, f64), Failed> {
    let api = |e: kube::Error| {
        failed(
            format!("the cluster refused: {e}"),
            "check the context (`todo-dev doctor`)",
        )
    };
    let ready = |p: &Pod| {
        p.metadata.deletion_timestamp.is_none()
            && p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let lp = ListParams::default().labels(selector);
    let before: Vec<Pod> = pods.list(&lp).await.map_err(api)?.items;
    let wanted = before.iter().filter(|p| ready(p)).count();
    let Some(victim) = before.iter().find(|p| ready(p)) else {
        return Err(failed(
            format!("no Ready pod matches {selector}"),
            "run `todo-dev up` first; `--disruptive` restarts what is running",
        ));
    };
    let name = victim.metadata.name.clone().unwrap_or_default();
    let started = Instant::now();
    pods.delete(&name, &DeleteParams::default())
        .await
        .map_err(api)?;
    // By uid: a StatefulSet's replacement keeps the pod's name.
    let known: Vec<Option<String>> = before.iter().map(|p| p.metadata.uid.clone()).collect();
    loop {
        let now: Vec<Pod> = pods.list(&lp).await.map_err(api)?.items;
        let fresh: Vec<&Pod> = now
            .iter()
            .filter(|p| ready(p) && p.metadata.uid != victim.metadata.uid)
            .collect();
        let replacement = fresh.iter().find(|p| !known.contains(&p.metadata.uid));
        if let (true, Some(new)) = (fresh.len() >= wanted, replacement) {
            let new = new.metadata.name.clone().unwrap_or_default();
            return Ok((name, new, started.elapsed().as_secs_f64()));
        }
        if started.elapsed() > WAIT {
            return Err(failed(
                format!(
                    "{name} deleted; {} of {wanted} pods Ready after {} s",
                    fresh.len(),
                    WAIT.as_secs()
                ),
                "`todo-dev logs SERVICE` and `kubectl describe pod` show why the replacement is not Ready",
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A backend pod deleted: its replacement Ready within the plans' 60 s.
pub(super) async fn backend_restart(d: &Disruptive, step: &mut Step) -> Result<(), Failed> {
    let pods: Api<Pod> = Api::namespaced(d.client.clone(), &d.namespace);
    let (old, new, s) = delete_and_wait(&pods, &d.backend).await?;
    step.figures.push(format!(
        "{old} deleted, {new} Ready in {s:.1} s (limit 60 s)"
    ));
    if s > RESTART_LIMIT.as_secs_f64() {
        return Err(failed(
            format!("the replacement took {s:.1} s, over the plans' 60 s"),
            "a slow start: the backend's readiness probe (initial delay, period) and its start-up (migrations)",
        ));
    }
    Ok(())
}

/// A marker task, the data stores' pods deleted and back, the marker still listed.
pub(super) async fn data_kept(
    d: &Disruptive,
    entry: &Endpoint,
    user: &TestUser,
    run_id: &str,
    step: &mut Step,
) -> Result<(), Failed> {
    if d.stores.is_empty() {
        step.figures.push(
            "the profile keeps its data outside the cluster (DATABASE_URL): nothing of todo-dev's to restart".into(),
        );
        return Ok(());
    }
    let title = format!("todo-dev verify marker {run_id}");
    let body = json!({"title": title, "description": "must outlive a database restart"});
    let r = entry
        .send(
            "POST",
            "/api/tasks",
            Some(&user.token),
            Some(&body),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| unreachable("the app", e))?;
    if r.status != 201 {
        return Err(failed(
            format!("POST /api/tasks (the marker): {}", seen(&r)),
            "creating a task must answer 201",
        ));
    }
    let pods: Api<Pod> = Api::namespaced(d.client.clone(), &d.namespace);
    for (store, selector) in &d.stores {
        let (old, new, s) = delete_and_wait(&pods, selector).await?;
        step.figures
            .push(format!("{store}: {old} deleted, {new} Ready in {s:.1} s"));
    }
    // The app reconnects to the new database pod; give it the plans' minute.
    let t = Instant::now();
    loop {
        match list(entry, user).await {
            Ok(tasks) if tasks.iter().any(|(_, t, _)| *t == title) => break,
            Ok(_) => {
                return Err(failed(
                    format!("the marker task `{title}` is gone after the restart"),
                    "the data is not on the claim: check the database's volume mount (postgres-data at PGDATA) and that its claim is Bound",
                ))
            }
            Err(f) if t.elapsed() > RESTART_LIMIT => return Err(f),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    step.figures
        .push(format!("marker listed again after {} ms", ms(t)));
    Ok(())
}
