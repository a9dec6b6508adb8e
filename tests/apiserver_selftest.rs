//! Tests of the fake API server itself (tests/support/apiserver.rs): plain
//! HTTP for the wire details, and a real kube-rs client for what the deploy
//! engine will do with it.

mod support;

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config, Discovery};
use serde_json::{json, Value};
use support::apiserver::{Behavior, FakeApiServer};

// ---- helpers --------------------------------------------------------------

async fn client(api: &FakeApiServer, dir: &Path) -> Client {
    let path = api.write_kubeconfig(dir, "minikube");
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    // kube reads HTTPS_PROXY into proxy_url and, without its http-proxy
    // feature, then refuses to build a client; the fake is local anyway.
    config.proxy_url = None;
    Client::try_from(config).unwrap()
}

fn apply() -> PatchParams {
    PatchParams::apply("todo-dev").force()
}

async fn ensure_namespace(client: &Client, ns: &str) {
    let obj: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .patch(ns, &apply(), &Patch::Apply(&obj))
        .await
        .unwrap();
}

fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "todo",
                     "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "todo-dev"}},
        "spec": {"replicas": replicas,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}},
                              "spec": {"containers": [{"name": "app", "image": image, "imagePullPolicy": "Never"}]}}}
    }))
    .unwrap()
}

/// Polls `probe` every 50 ms for up to 10 s.
async fn until<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn condition<'a>(d: &'a Deployment, ctype: &str) -> Option<(&'a str, &'a str)> {
    let c = d
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ctype)?;
    Some((c.status.as_str(), c.reason.as_deref().unwrap_or_default()))
}

fn waiting(pod: &Value) -> (String, String) {
    let w = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
    (
        w["reason"].as_str().unwrap_or_default().to_string(),
        w["message"].as_str().unwrap_or_default().to_string(),
    )
}

// ---- raw HTTP -------------------------------------------------------------

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(api: &FakeApiServer) -> Conn {
        let addr = api.url().trim_start_matches("http://").to_string();
        let writer = TcpStream::connect(addr).unwrap();
        Conn {
            reader: BufReader::new(writer.try_clone().unwrap()),
            writer,
        }
    }

    /// One request on this (kept-alive) connection.
    fn send(
        &mut self,
        method: &str,
        target: &str,
        ctype: &str,
        body: &str,
        chunked: bool,
    ) -> (u16, String, Value) {
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n");
        if chunked {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            let (a, b) = body.split_at(body.len() / 2);
            for part in [a, b] {
                head.push_str(&format!("{:x};ext=1\r\n{part}\r\n", part.len()));
            }
            head.push_str("0\r\n\r\n");
        } else {
            head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        }
        self.writer.write_all(head.as_bytes()).unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        let (mut len, mut content_type) = (0, String::new());
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap(),
                "content-type" => content_type = v.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        let text = String::from_utf8(body).unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (code, content_type, json)
    }
}

#[test]
fn raw_http_apply_status_shapes_on_one_kept_alive_connection() {
    let api = FakeApiServer::start();
    let mut conn = Conn::open(&api);
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"default"},"data":{"a":"1"}}"#;
    let path = "/api/v1/namespaces/default/configmaps/cfg";
    let apply = "application/apply-patch+yaml";

    let (code, _, body) = conn.send("PATCH", path, apply, cm, false);
    assert_eq!(code, 422);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}]},"code":422})
    );

    let (code, ctype, created) = conn.send(
        "PATCH",
        &format!("{path}?&fieldManager=todo-dev&force=true"),
        apply,
        cm,
        true,
    );
    assert_eq!((code, ctype.as_str()), (201, "application/json"));
    assert_eq!(
        created["metadata"]["generation"],
        Value::Null,
        "ConfigMaps have no generation"
    );
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        created["metadata"]["uid"].is_string()
            && created["metadata"]["creationTimestamp"].is_string()
    );

    let (code, _, again) = conn.send(
        "PATCH",
        &format!("{path}?&fieldManager=todo-dev&force=true"),
        apply,
        cm,
        false,
    );
    assert_eq!(code, 200);
    assert_eq!(
        again["metadata"]["resourceVersion"],
        rv.as_str(),
        "identical apply is a no-op"
    );

    let changed = cm.replace(r#""a":"1""#, r#""b":"2""#);
    let (code, _, updated) = conn.send(
        "PATCH",
        &format!("{path}?fieldManager=todo-dev"),
        apply,
        &changed,
        false,
    );
    assert_eq!(code, 200);
    assert_eq!(
        updated["data"],
        json!({"b": "2"}),
        "the applied object is the manager's whole intent"
    );
    assert_ne!(updated["metadata"]["resourceVersion"], rv.as_str());

    let (code, _, missing) = conn.send(
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/web",
        "",
        "",
        false,
    );
    assert_eq!(code, 404);
    assert_eq!(
        missing,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404})
    );

    let (code, _, list) = conn.send(
        "GET",
        "/api/v1/namespaces/default/configmaps?&labelSelector=",
        "",
        "",
        false,
    );
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "ConfigMapList");
    assert!(list["metadata"]["resourceVersion"].is_string());
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "ConfigMap" && i["apiVersion"] == "v1"));

    let secret =
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"hello"}}"#;
    let (code, _, s) = conn.send(
        "POST",
        "/api/v1/namespaces/default/secrets",
        "application/json",
        secret,
        true,
    );
    assert_eq!(code, 201);
    assert_eq!(s["data"], json!({"k": "aGVsbG8="}));
    assert_eq!(s["type"], "Opaque");
    let (code, _, exists) = conn.send(
        "POST",
        "/api/v1/namespaces/default/secrets",
        "application/json",
        secret,
        false,
    );
    assert_eq!(
        (code, exists["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );

    let (code, _, _) = conn.send(
        "PATCH",
        "/api/v1/namespaces/nope/configmaps/cfg?fieldManager=x",
        apply,
        cm.replace("default", "nope").as_str(),
        false,
    );
    assert_eq!(code, 404);

    let recorded = api.requests();
    assert_eq!(recorded.len(), 9);
    assert_eq!(
        recorded[1].param("fieldManager").as_deref(),
        Some("todo-dev")
    );
    assert_eq!(recorded[1].query, "&fieldManager=todo-dev&force=true");
    assert_eq!(recorded[1].content_type, apply);
    assert_eq!(recorded[1].body, cm, "chunked bodies are reassembled");
}

// ---- kube-rs --------------------------------------------------------------

#[tokio::test]
async fn kube_deployment_apply_rollout_logs_events_delete() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "todo");

    let v1 = deployment("web", "todo-web:td-1", 2);
    let created = deploys
        .patch("web", &apply(), &Patch::Apply(&v1))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let rv = created.metadata.resource_version.clone().unwrap();

    let done = until("web rolled out", || async {
        let d = deploys.get("web").await.unwrap();
        let s = d.status.clone()?;
        (s.available_replicas == Some(2)
            && condition(&d, "Progressing") == Some(("True", "NewReplicaSetAvailable"))
            && condition(&d, "Available") == Some(("True", "MinimumReplicasAvailable")))
        .then_some(d)
    })
    .await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas
        ),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(
        status.unavailable_replicas, None,
        "zero counters are omitted"
    );

    let rv_done = done.metadata.resource_version.clone().unwrap();
    assert_ne!(rv, rv_done, "the controller wrote status meanwhile");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = deploys
        .patch("web", &apply(), &Patch::Apply(&v1))
        .await
        .unwrap();
    assert_eq!(again.metadata.generation, Some(1));
    assert_eq!(
        again.metadata.resource_version,
        Some(rv_done),
        "identical apply does not write"
    );
    assert_eq!(api.replicaset_count("todo", "web"), 1);

    let listed = pods
        .list(&ListParams::default().labels("app.kubernetes.io/name=web"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let rs_name = api.list("replicasets", Some("todo"))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        rs_name.starts_with("web-") && rs_name.len() == "web-".len() + 10,
        "{rs_name}"
    );
    for p in &listed.items {
        let name = p.metadata.name.clone().unwrap();
        assert!(
            name.starts_with(&format!("{rs_name}-")) && name.len() == rs_name.len() + 6,
            "{name}"
        );
        let s = p.status.clone().unwrap();
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert!(s.container_statuses.unwrap()[0].ready);
    }
    let pod = listed.items[0].metadata.name.clone().unwrap();
    let logs = pods
        .logs(
            &pod,
            &LogParams {
                container: Some("app".into()),
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        logs,
        "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)\n"
    );
    let previous = pods
        .logs(
            &pod,
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        api_error(previous),
        (
            400,
            "BadRequest".into(),
            format!("previous terminated container \"app\" in pod \"{pod}\" not found")
        )
    );

    let v2 = deployment("web", "todo-web:td-2", 2);
    let updated = deploys
        .patch("web", &apply(), &Patch::Apply(&v2))
        .await
        .unwrap();
    assert_eq!(updated.metadata.generation, Some(2));
    until("v2 rolled out, old pods gone", || async {
        let d = deploys.get("web").await.unwrap();
        let pods = pods
            .list(&ListParams::default().labels("app.kubernetes.io/name=web"))
            .await
            .unwrap();
        let all_new = pods.items.iter().all(|p| {
            p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("todo-web:td-2")
        });
        (condition(&d, "Progressing") == Some(("True", "NewReplicaSetAvailable"))
            && pods.items.len() == 2
            && all_new)
            .then_some(())
    })
    .await;
    assert_eq!(api.replicaset_count("todo", "web"), 2);

    let events: Api<Event> = Api::namespaced(client.clone(), "todo");
    let ev = events
        .list(
            &ListParams::default().fields("involvedObject.kind=Deployment,involvedObject.name=web"),
        )
        .await
        .unwrap();
    let reasons: Vec<String> = ev
        .items
        .iter()
        .map(|e| e.reason.clone().unwrap_or_default())
        .collect();
    assert!(
        reasons.iter().all(|r| r == "ScalingReplicaSet") && reasons.len() >= 3,
        "{reasons:?}"
    );

    let deleted = deploys
        .delete("web", &DeleteParams::foreground())
        .await
        .unwrap();
    let deleted = deleted
        .left()
        .expect("the object comes back while it terminates");
    assert!(deleted.metadata.deletion_timestamp.is_some());
    until("web gone", || async {
        deploys
            .get_opt("web")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    until("its pods gone", || async {
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(api.list("replicasets", Some("todo")).is_empty());

    let recorded = api.requests();
    let patch = recorded.iter().find(|r| r.method == "PATCH").unwrap();
    eprintln!(
        "kube-rs apply: {} {}?{} content-type={} accept={:?} user-agent={:?}",
        patch.method,
        patch.path,
        patch.query,
        patch.content_type,
        patch.header("accept"),
        patch.header("user-agent")
    );
    let delete = recorded.iter().find(|r| r.method == "DELETE").unwrap();
    eprintln!(
        "kube-rs delete: {}?{} body={}",
        delete.path, delete.query, delete.body
    );
}

#[tokio::test]
async fn crash_loop_previous_logs_events_and_progress_deadline() {
    let api = FakeApiServer::start();
    api.set_behavior(
        "api",
        Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: "Traceback (most recent call last):\nValueError: DATABASE_URL is not set\n"
                .into(),
        },
    );
    api.set_behavior(
        "patient",
        Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: "boom".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "todo");
    // The Deployment's own progressDeadlineSeconds: 1 s here, 600 s (the
    // default) for `patient`.
    let mut api_deploy = deployment("api", "todo-backend:td-1", 1);
    api_deploy.spec.as_mut().unwrap().progress_deadline_seconds = Some(1);
    for d in [api_deploy, deployment("patient", "todo-backend:td-1", 1)] {
        let name = d.metadata.name.clone().unwrap();
        deploys
            .patch(&name, &apply(), &Patch::Apply(&d))
            .await
            .unwrap();
    }

    let pod = until("a crash-looping pod with restarts", || async {
        let p = pods
            .list(&ListParams::default().labels("app.kubernetes.io/name=api"))
            .await
            .unwrap();
        let pod = p.items.into_iter().next()?;
        let cs = pod.status.as_ref()?.container_statuses.as_ref()?[0].clone();
        (cs.restart_count >= 2).then_some(pod)
    })
    .await;
    let name = pod.metadata.name.clone().unwrap();
    let raw = api.get("pods", Some("todo"), &name).unwrap();
    assert_eq!(raw["status"]["phase"], "Running");
    let (reason, message) = waiting(&raw);
    assert_eq!(reason, "CrashLoopBackOff");
    let uid = raw["metadata"]["uid"].as_str().unwrap();
    assert!(
        message.ends_with(&format!(
            "restarting failed container=app pod={name}_todo({uid})"
        )),
        "{message}"
    );
    let restarts = raw["status"]["containerStatuses"][0]["restartCount"]
        .as_u64()
        .unwrap();
    let back_off = ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"][(restarts as usize - 1).min(5)];
    assert!(
        restarts >= 2 && message.starts_with(&format!("back-off {back_off} ")),
        "{restarts} restarts: {message}"
    );
    let last = &raw["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(
        (last["exitCode"].as_i64(), last["reason"].as_str()),
        (Some(1), Some("Error"))
    );
    let ready = raw["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("ContainersNotReady"))
    );

    let previous = LogParams {
        container: Some("app".into()),
        previous: true,
        tail_lines: Some(1),
        ..LogParams::default()
    };
    assert_eq!(
        pods.logs(&name, &previous).await.unwrap(),
        "ValueError: DATABASE_URL is not set\n"
    );
    let current = pods.logs(&name, &LogParams::default()).await.unwrap();
    assert!(
        current.starts_with("Traceback"),
        "a crash-looping container shows its last run: {current}"
    );

    let events: Api<Event> = Api::namespaced(client.clone(), "todo");
    let ev = events
        .list(&ListParams::default().fields(&format!(
            "involvedObject.name={name},involvedObject.kind=Pod"
        )))
        .await
        .unwrap();
    let backoff = ev
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("BackOff"))
        .expect("a BackOff event");
    assert_eq!(backoff.type_.as_deref(), Some("Warning"));
    assert_eq!(
        backoff.source.as_ref().unwrap().component.as_deref(),
        Some("kubelet")
    );
    assert_eq!(
        backoff.involved_object.field_path.as_deref(),
        Some("spec.containers{app}")
    );
    assert!(
        backoff.count.unwrap() >= 1
            && backoff.first_timestamp.is_some()
            && backoff.last_timestamp.is_some()
    );
    assert_eq!(
        backoff.message.as_deref(),
        Some(
            format!("Back-off restarting failed container app in pod {name}_todo({uid})").as_str()
        )
    );

    let d = until("progress deadline exceeded", || async {
        let d = deploys.get("api").await.unwrap();
        (condition(&d, "Progressing") == Some(("False", "ProgressDeadlineExceeded"))).then_some(d)
    })
    .await;
    let s = d.status.unwrap();
    assert_eq!(
        (
            s.replicas,
            s.updated_replicas,
            s.unavailable_replicas,
            s.available_replicas
        ),
        (Some(1), Some(1), Some(1), None)
    );
    assert_eq!(
        condition(&deploys.get("api").await.unwrap(), "Available"),
        Some(("False", "MinimumReplicasUnavailable"))
    );
    let patient = deploys.get("patient").await.unwrap();
    assert_eq!(
        patient.spec.as_ref().unwrap().progress_deadline_seconds,
        Some(600)
    );
    assert_eq!(
        condition(&patient, "Progressing").map(|c| c.0),
        Some("True"),
        "the same crash loop, within its default 600 s deadline"
    );
}

#[tokio::test]
async fn waiting_behaviours_have_their_states_messages_events_and_log_errors() {
    let api = FakeApiServer::start();
    let cases = [
        ("pull", Behavior::ImagePullBackOff),
        ("never", Behavior::ErrImageNeverPull),
        ("config", Behavior::CreateContainerConfigError { message: "secret \"todo-secrets\" not found".into() }),
        ("sched", Behavior::Unschedulable { message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.".into() }),
        ("probe", Behavior::NotReady),
    ];
    for (name, b) in &cases {
        api.set_behavior(name, b.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "todo");
    for (name, _) in &cases {
        // A 1 s progressDeadlineSeconds of their own, to see it exceeded.
        let mut d = deployment(name, &format!("todo-{name}:td-1"), 1);
        d.spec.as_mut().unwrap().progress_deadline_seconds = Some(1);
        deploys
            .patch(name, &apply(), &Patch::Apply(&d))
            .await
            .unwrap();
    }
    let pod_of = |name: &str| {
        api.list("pods", Some("todo"))
            .into_iter()
            .find(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == name)
    };
    let started = |name: &str| {
        pod_of(name).filter(|p| !p["status"]["podIP"].is_null() || p["spec"]["nodeName"].is_null())
    };
    let all = api.wait_for(Duration::from_secs(5), |_| {
        let ps: Vec<Value> = cases.iter().filter_map(|(n, _)| started(n)).collect();
        (ps.len() == cases.len()).then_some(ps)
    });
    let ps = all.expect("all pods past ContainerCreating");
    let events_of = |pod: &Value| -> Vec<(String, String, String, String)> {
        api.list("events", Some("todo"))
            .into_iter()
            .filter(|e| e["involvedObject"]["name"] == pod["metadata"]["name"])
            .map(|e| {
                let f = |k: &str| {
                    e.pointer(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                (
                    f("/reason"),
                    f("/type"),
                    f("/reportingComponent"),
                    f("/message"),
                )
            })
            .collect()
    };
    let logs_error = |pod: String| {
        let pods = pods.clone();
        async move { api_error(pods.logs(&pod, &LogParams::default()).await.unwrap_err()) }
    };

    let pull = &ps[0];
    assert_eq!(pull["status"]["phase"], "Pending");
    // The kubelet's cycle: each try ends in ErrImagePull, then its back-off.
    let (reason, message) = waiting(pull);
    let want_message = match reason.as_str() {
        "ErrImagePull" => "Error response from daemon: pull access denied for todo-pull, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
        "ImagePullBackOff" => "Back-off pulling image \"todo-pull:td-1\"",
        other => panic!("not a pull state: {other}"),
    };
    assert_eq!(message, want_message);
    let ev = events_of(pull);
    assert!(
        ev.iter()
            .any(|e| e.0 == "Failed" && e.1 == "Warning" && e.3 == "Error: ImagePullBackOff"),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.0 == "BackOff" && e.3 == "Back-off pulling image \"todo-pull:td-1\""),
        "{ev:?}"
    );
    let name = pull["metadata"]["name"].as_str().unwrap().to_string();
    let refused = logs_error(name.clone()).await.2;
    assert!(
        refused.starts_with(&format!("container \"app\" in pod \"{name}\" is waiting to start: "))
            // the pod may have moved to the cycle's other half since
            && (refused.ends_with("trying and failing to pull image")
                || refused.ends_with("image can't be pulled")),
        "{refused}"
    );
    // Both halves of the cycle are seen while it lasts.
    let other = if reason == "ErrImagePull" {
        "ImagePullBackOff"
    } else {
        "ErrImagePull"
    };
    api.wait_for(Duration::from_secs(5), |a| {
        a.get("pods", Some("todo"), &name)
            .filter(|p| waiting(p).0 == other)
    })
    .unwrap_or_else(|| panic!("{other} after {reason}"));

    let never = &ps[1];
    assert_eq!(
        waiting(never),
        (
            "ErrImageNeverPull".into(),
            "Container image \"todo-never:td-1\" is not present with pull policy of Never".into()
        )
    );
    assert!(events_of(never)
        .iter()
        .any(|e| e.0 == "ErrImageNeverPull" && e.1 == "Warning"));

    let config = &ps[2];
    assert_eq!(
        waiting(config),
        (
            "CreateContainerConfigError".into(),
            "secret \"todo-secrets\" not found".into()
        )
    );
    assert!(events_of(config)
        .iter()
        .any(|e| e.0 == "Failed" && e.3 == "Error: secret \"todo-secrets\" not found"));
    let name = config["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(logs_error(name.clone()).await.0, 400);

    let sched = &ps[3];
    assert_eq!(sched["status"]["phase"], "Pending");
    assert_eq!(sched["status"]["conditions"][0]["type"], "PodScheduled");
    assert_eq!(sched["status"]["conditions"][0]["status"], "False");
    assert_eq!(sched["status"]["conditions"][0]["reason"], "Unschedulable");
    assert!(sched["status"]["containerStatuses"].is_null());
    let ev = events_of(sched);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].0.as_str(), ev[0].1.as_str(), ev[0].2.as_str()),
        ("FailedScheduling", "Warning", "default-scheduler")
    );
    assert!(ev[0]
        .3
        .starts_with("0/1 nodes are available: 1 Insufficient memory."));

    let probe = &ps[4];
    assert_eq!(probe["status"]["phase"], "Running");
    assert!(probe["status"]["containerStatuses"][0]["state"]["running"].is_object());
    assert_eq!(probe["status"]["containerStatuses"][0]["ready"], false);
    assert!(events_of(probe).iter().any(|e| e.0 == "Unhealthy"
        && e.3 == "Readiness probe failed: HTTP probe failed with statuscode: 503"));
    let name = probe["metadata"]["name"].as_str().unwrap().to_string();
    assert!(pods
        .logs(&name, &LogParams::default())
        .await
        .unwrap()
        .contains("Uvicorn running"));

    for (name, _) in &cases {
        let d = until("deadline exceeded", || async {
            let d = deploys.get(name).await.unwrap();
            (condition(&d, "Progressing") == Some(("False", "ProgressDeadlineExceeded")))
                .then_some(d)
        })
        .await;
        assert_eq!(d.status.unwrap().unavailable_replicas, Some(1), "{name}");
    }
}

#[tokio::test]
async fn apply_conflicts_with_another_field_manager_unless_forced() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    deploys
        .patch("web", &apply(), &Patch::Apply(&deployment("web", "w:1", 1)))
        .await
        .unwrap();

    api.own_field(
        "deployments",
        "todo",
        "web",
        ".spec.replicas",
        "kubectl-edit",
    );
    let three = deployment("web", "w:1", 3);
    let err = deploys
        .patch(
            "web",
            &PatchParams::apply("todo-dev"),
            &Patch::Apply(&three),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error")
    };
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
    let cause = &status.details.unwrap().causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".spec.replicas")
    );

    let forced = deploys
        .patch("web", &apply(), &Patch::Apply(&three))
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().replicas, Some(3));
    assert_eq!(forced.metadata.generation, Some(2));
    deploys
        .patch(
            "web",
            &PatchParams::apply("todo-dev"),
            &Patch::Apply(&three),
        )
        .await
        .unwrap();

    // someone scales it; an apply that does not set replicas keeps theirs
    let mut scaled = api.get("deployments", Some("todo"), "web").unwrap();
    scaled["spec"]["replicas"] = json!(5);
    api.insert(scaled);
    api.own_field(
        "deployments",
        "todo",
        "web",
        ".spec.replicas",
        "kubectl-scale",
    );
    let mut no_replicas = serde_json::to_value(deployment("web", "w:1", 1)).unwrap();
    no_replicas["spec"]
        .as_object_mut()
        .unwrap()
        .remove("replicas");
    let kept = deploys
        .patch("web", &apply(), &Patch::Apply(&no_replicas))
        .await
        .unwrap();
    assert_eq!(kept.spec.unwrap().replicas, Some(5));

    let no_manager = deploys
        .patch("web", &PatchParams::default(), &Patch::Apply(&three))
        .await
        .unwrap_err();
    assert_eq!(api_error(no_manager).0, 422);

    let merged = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"extra": "yes"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        merged
            .metadata
            .labels
            .unwrap()
            .get("extra")
            .map(String::as_str),
        Some("yes")
    );

    // labels merge by key: others' stay, keys we stop applying go
    api.insert(json!({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": "shared", "labels": {"team": "mine"}}}));
    let namespace = |labels: Value| -> Namespace {
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "shared", "labels": labels}}))
        .unwrap()
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let label_keys = |ns: Namespace| -> Vec<String> {
        ns.metadata.labels.unwrap_or_default().into_keys().collect()
    };
    let ours = namespaces
        .patch(
            "shared",
            &apply(),
            &Patch::Apply(&namespace(json!({"ours": "1"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        label_keys(ours),
        ["kubernetes.io/metadata.name", "ours", "team"]
    );
    let dropped = namespaces
        .patch("shared", &apply(), &Patch::Apply(&namespace(json!({}))))
        .await
        .unwrap();
    assert_eq!(label_keys(dropped), ["kubernetes.io/metadata.name", "team"]);
}

#[tokio::test]
async fn statefulset_pods_pvcs_status_and_retained_claims() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "todo");
    let sts: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "todo"},
        "spec": {"replicas": 2, "serviceName": "db",
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "postgres", "image": "postgres:16",
                                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "db"}},
                                           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
    }))
    .unwrap();
    sets.patch("db", &apply(), &Patch::Apply(&sts))
        .await
        .unwrap();
    let done = until("db ready", || async {
        let s = sets.get("db").await.unwrap().status?;
        (s.ready_replicas == Some(2) && s.current_revision == s.update_revision).then_some(s)
    })
    .await;
    assert_eq!((done.replicas, done.observed_generation), (2, Some(1)));
    assert!(done.update_revision.unwrap().starts_with("db-"));

    let pods: Vec<String> = api
        .list("pods", Some("todo"))
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pods, ["db-0", "db-1"]);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "todo");
    let claims = pvcs
        .list(&ListParams::default().labels("tier=db,app=db"))
        .await
        .unwrap();
    let names: Vec<String> = claims
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["data-db-0", "data-db-1"]);
    assert!(claims
        .items
        .iter()
        .all(|c| c.status.as_ref().unwrap().phase.as_deref() == Some("Bound")));

    sets.delete("db", &DeleteParams::default()).await.unwrap();
    until("db gone", || async {
        sets.get_opt("db").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(api.list("pods", Some("todo")).is_empty());
    assert_eq!(
        api.list("persistentvolumeclaims", Some("todo")).len(),
        2,
        "claims are retained"
    );
}

#[tokio::test]
async fn collection_delete_and_namespace_termination() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "tmp").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "tmp");
    for (name, managed) in [("ours", true), ("theirs", false)] {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "tmp"}});
        if managed {
            cm["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "todo-dev"});
        }
        let cm: ConfigMap = serde_json::from_value(cm).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let selector = ListParams::default().labels("app.kubernetes.io/managed-by=todo-dev");
    let gone = cms
        .delete_collection(&DeleteParams::default(), &selector)
        .await
        .unwrap();
    let gone = gone.left().unwrap();
    assert_eq!(gone.items.len(), 1);
    assert!(gone.items[0].metadata.deletion_timestamp.is_some());
    until("ours gone", || async {
        cms.get_opt("ours").await.unwrap().is_none().then_some(())
    })
    .await;
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["kube-root-ca.crt", "theirs"]);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespaces
        .delete("tmp", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    let cm: ConfigMap = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}),
    )
    .unwrap();
    let (code, reason, message) =
        api_error(cms.create(&PostParams::default(), &cm).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(message
        .ends_with("unable to create new content in namespace tmp because it is being terminated"));
    until("tmp gone", || async {
        namespaces
            .get_opt("tmp")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(api.list("configmaps", Some("tmp")).is_empty());
    let (code, _, message) = api_error(
        cms.patch("late", &apply(), &Patch::Apply(&cm))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (404, "namespaces \"tmp\" not found")
    );
}

#[tokio::test]
async fn kube_discovery_and_watch_based_waits_work() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("apps") && discovery.has_group("policy"));
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    assert!(aggregated.has_group("networking.k8s.io"));
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.minor, "33");

    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    deploys
        .patch("web", &apply(), &Patch::Apply(&deployment("web", "w:1", 1)))
        .await
        .unwrap();
    let completed = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            deploys.clone(),
            "web",
            conditions::is_deployment_completed(),
        ),
    )
    .await
    .expect("await_condition finished")
    .unwrap();
    let uid = completed.unwrap().metadata.uid.unwrap();
    deploys
        .delete("web", &DeleteParams::background())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(deploys.clone(), "web", conditions::is_deleted(&uid)),
    )
    .await
    .expect("deletion observed through watch")
    .unwrap();
    let watches = api
        .requests()
        .into_iter()
        .filter(|r| r.param("watch").as_deref() == Some("true"))
        .count();
    assert!(watches >= 1);
}

// ---- what a real cluster does that a lenient fake would hide ------------------

/// Reads one chunked watch response to its end: the JSON lines it carried.
fn read_watch(api: &FakeApiServer, target: &str) -> (u16, String, Vec<Value>) {
    let mut conn = Conn::open(api);
    write!(conn.writer, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut status = String::new();
    conn.reader.read_line(&mut status).unwrap();
    let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut encoding = String::new();
    loop {
        let mut h = String::new();
        conn.reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("transfer-encoding:") {
            encoding = v.trim().to_string();
        }
    }
    let mut lines = Vec::new();
    loop {
        let mut size = String::new();
        conn.reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        conn.reader.read_exact(&mut chunk).unwrap();
        if size == 0 {
            break;
        }
        let text = String::from_utf8(chunk[..size].to_vec()).unwrap();
        assert!(text.ends_with('\n'), "one event a line: {text:?}");
        lines.push(serde_json::from_str(text.trim_end()).unwrap());
    }
    (code, encoding, lines)
}

#[test]
fn watches_stream_changes_bookmarks_and_expire_after_compaction() {
    let api = FakeApiServer::start();
    api.insert(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"todo"}}));
    api.insert(json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"todo"},"data":{"k":"1"}}));
    let rv: u64 = api.get("configmaps", Some("todo"), "a").unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let writer = {
        let url = api.url();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let writer = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
            let mut conn = Conn {
                reader: BufReader::new(writer.try_clone().unwrap()),
                writer,
            };
            let b = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b","namespace":"todo"}}"#;
            conn.send(
                "POST",
                "/api/v1/namespaces/todo/configmaps",
                "application/json",
                b,
                false,
            )
            .0
        })
    };
    let (code, encoding, events) = read_watch(
        &api,
        &format!("/api/v1/namespaces/todo/configmaps?&watch=true&timeoutSeconds=2&allowWatchBookmarks=true&resourceVersion={rv}"),
    );
    assert_eq!(writer.join().unwrap(), 201);
    assert_eq!((code, encoding.as_str()), (200, "chunked"));
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(kinds.contains(&("ADDED", "b")), "{kinds:?}");
    assert!(
        !kinds.contains(&("ADDED", "a")),
        "only what changed after {rv}: {kinds:?}"
    );
    let bookmark = events
        .iter()
        .find(|e| e["type"] == "BOOKMARK")
        .expect("a bookmark");
    assert_eq!(bookmark["object"]["kind"], "ConfigMap");
    assert!(
        bookmark["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > rv
    );

    // From the start: every object, ADDED, then the initial-events-end bookmark.
    let (_, _, all) = read_watch(
        &api,
        "/api/v1/namespaces/todo/configmaps?&watch=true&timeoutSeconds=0&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
    );
    let (last, initial) = all.split_last().unwrap();
    assert!(
        initial.len() >= 2 && initial.iter().all(|e| e["type"] == "ADDED"),
        "{all:#?}"
    );
    assert_eq!(last["type"], "BOOKMARK");
    assert_eq!(
        last["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    api.compact();
    let (code, _, expired) = read_watch(
        &api,
        &format!(
            "/api/v1/namespaces/todo/configmaps?&watch=true&timeoutSeconds=2&resourceVersion={rv}"
        ),
    );
    assert_eq!(code, 200, "the error travels inside the stream");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["type"], "ERROR");
    assert_eq!(
        (
            expired[0]["object"]["code"].as_i64(),
            expired[0]["object"]["reason"].as_str()
        ),
        (Some(410), Some("Expired"))
    );
}

#[test]
fn the_ingress_webhook_refuses_until_ready_and_immutable_fields_answer_422() {
    let api = FakeApiServer::start();
    api.set_ingress_webhook_ready_in(Duration::from_millis(600));
    let mut conn = Conn::open(&api);
    let apply = "application/apply-patch+yaml";
    let ns = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"todo"}}"#;
    assert_eq!(
        conn.send(
            "PATCH",
            "/api/v1/namespaces/todo?fieldManager=t",
            apply,
            ns,
            false
        )
        .0,
        201
    );
    let ing = r#"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web","namespace":"todo"},"spec":{"rules":[{"host":"todo.local"}]}}"#;
    let path = "/apis/networking.k8s.io/v1/namespaces/todo/ingresses/web?fieldManager=t";
    let (code, _, refused) = conn.send("PATCH", path, apply, ing, false);
    assert_eq!(
        (code, refused["reason"].as_str()),
        (500, Some("InternalError"))
    );
    assert!(refused["message"].as_str().unwrap().starts_with(
        "Internal error occurred: failed calling webhook \"validate.nginx.ingress.kubernetes.io\""
    ));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(conn.send("PATCH", path, apply, ing, false).0, 201);

    let deploy = |app: &str| {
        format!(
            r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"web","namespace":"todo"}},"spec":{{"selector":{{"matchLabels":{{"app":"{app}"}}}},"template":{{"metadata":{{"labels":{{"app":"{app}"}}}},"spec":{{"containers":[{{"name":"c","image":"i:1"}}]}}}}}}}}"#
        )
    };
    let path = "/apis/apps/v1/namespaces/todo/deployments/web?fieldManager=t";
    assert_eq!(
        conn.send("PATCH", path, apply, &deploy("web"), false).0,
        201
    );
    let (code, _, invalid) = conn.send("PATCH", path, apply, &deploy("api"), false);
    assert_eq!(code, 422);
    assert_eq!(invalid["reason"], "Invalid");
    assert_eq!(
        invalid["message"],
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"api\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    );
    assert_eq!(invalid["details"]["causes"][0]["field"], "spec.selector");

    let pvc = |size: &str, class: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{{"name":"data","namespace":"todo"}},"spec":{{"accessModes":["ReadWriteOnce"],"storageClassName":"{class}","resources":{{"requests":{{"storage":"{size}"}}}}}}}}"#
        )
    };
    let path = "/api/v1/namespaces/todo/persistentvolumeclaims/data?fieldManager=t";
    assert_eq!(
        conn.send("PATCH", path, apply, &pvc("1Gi", "standard"), false)
            .0,
        201
    );
    assert_eq!(
        conn.send("PATCH", path, apply, &pvc("2Gi", "standard"), false)
            .0,
        200,
        "growing is allowed"
    );
    let (code, _, shrink) = conn.send("PATCH", path, apply, &pvc("1Gi", "standard"), false);
    assert_eq!(
        (code, shrink["details"]["causes"][0]["field"].as_str()),
        (422, Some("spec"))
    );
    assert_eq!(
        conn.send("PATCH", path, apply, &pvc("2Gi", "fast"), false)
            .0,
        422
    );

    let sts = |svc: &str, replicas: u32| {
        format!(
            r#"{{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{{"name":"db","namespace":"todo"}},"spec":{{"replicas":{replicas},"serviceName":"{svc}","selector":{{"matchLabels":{{"app":"db"}}}},"template":{{"metadata":{{"labels":{{"app":"db"}}}},"spec":{{"containers":[{{"name":"c","image":"i:1"}}]}}}}}}}}"#
        )
    };
    let path = "/apis/apps/v1/namespaces/todo/statefulsets/db?fieldManager=t";
    assert_eq!(conn.send("PATCH", path, apply, &sts("db", 1), false).0, 201);
    assert_eq!(conn.send("PATCH", path, apply, &sts("db", 2), false).0, 200);
    let (code, _, forbidden) = conn.send("PATCH", path, apply, &sts("other", 2), false);
    assert_eq!(code, 422);
    assert!(forbidden["message"]
        .as_str()
        .unwrap()
        .contains("updates to statefulset spec for fields other than 'replicas'"));
}

#[tokio::test]
async fn scheduler_events_have_the_events_k8s_io_shape_and_reads_can_flake() {
    let api = FakeApiServer::start();
    api.set_behavior(
        "big",
        Behavior::Unschedulable {
            message: "0/1 nodes are available: 1 Insufficient memory.".into(),
        },
    );
    api.fail_reads_after_apply("deployments", "todo", "big", 2);
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    assert!(
        deploys.get_opt("big").await.unwrap().is_none(),
        "not armed before the apply"
    );
    deploys
        .patch(
            "big",
            &apply(),
            &Patch::Apply(&deployment("big", "big:1", 1)),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let (code, reason, _) = api_error(deploys.get("big").await.unwrap_err());
        assert_eq!((code, reason.as_str()), (500, "InternalError"));
    }
    deploys.get("big").await.unwrap();

    let events: Api<Event> = Api::namespaced(client.clone(), "todo");
    let ev = until("a FailedScheduling series", || async {
        let list = events.list(&ListParams::default()).await.unwrap();
        list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.series.as_ref().is_some_and(|s| s.count >= Some(2))
        })
    })
    .await;
    assert!(ev.count.is_none() && ev.first_timestamp.is_none() && ev.last_timestamp.is_none());
    assert!(ev.event_time.is_some());
    assert_eq!(ev.reporting_component.as_deref(), Some("default-scheduler"));
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
}

#[tokio::test]
async fn an_apply_keeps_what_another_manager_set_by_update() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&api, dir.path()).await;
    ensure_namespace(&client, "todo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "todo");
    let ours = deployment("web", "web:1", 1);
    deploys
        .patch("web", &apply(), &Patch::Apply(&ours))
        .await
        .unwrap();
    // `kubectl rollout restart` (a strategic merge patch by kubectl-rollout).
    let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-28T03:00:00Z"}}}}});
    let params = PatchParams {
        field_manager: Some("kubectl-rollout".into()),
        ..PatchParams::default()
    };
    deploys
        .patch("web", &params, &Patch::Strategic(&restart))
        .await
        .unwrap();
    let mut next = ours.clone();
    next.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0]
        .image = Some("web:2".into());
    let after = deploys
        .patch("web", &apply(), &Patch::Apply(&next))
        .await
        .unwrap();
    let template = after.spec.unwrap().template;
    assert_eq!(
        template.metadata.unwrap().annotations.unwrap()["kubectl.kubernetes.io/restartedAt"],
        "2026-11-28T03:00:00Z"
    );
    assert_eq!(
        template.spec.unwrap().containers[0].image.as_deref(),
        Some("web:2")
    );
}
