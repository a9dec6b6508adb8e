//! `deploy`, `down` and `up` as a user runs them, against the fake API
//! server (tests/support/apiserver.rs: real request/response shapes, a small
//! controller that moves workloads through real states) and the fake
//! minikube. No kube-apiserver can run here; see the README.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use support::apiserver::{Behavior, FakeApiServer};
use support::{quick_app as reference_app, stderr, stdout, Sandbox};

/// The quick app in a directory of another name: another project (instance label).
fn reference_app_named(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = reference_app();
    let other = dir.path().join(name);
    if other != root {
        std::fs::rename(&root, &other).unwrap();
    }
    (dir, other)
}

struct Cluster {
    api: FakeApiServer,
    kubeconfig: PathBuf,
    sb: Sandbox,
}

fn cluster() -> Cluster {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    Cluster {
        api,
        kubeconfig,
        sb,
    }
}

impl Cluster {
    fn run(&self, root: &Path, args: &[&str]) -> Output {
        self.sb
            .todo_dev(root, args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("FAKE_MINIKUBE_STATE", "running")
            .output()
            .unwrap()
    }

    fn get(&self, plural: &str, name: &str) -> Option<Value> {
        self.api.get(plural, Some("todo"), name)
    }
}

fn events(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn applied(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "apply")
        .map(|e| {
            (
                e["object"].as_str().unwrap().to_string(),
                e["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn deploy_applies_in_order_with_server_side_apply_and_waits_until_ready() {
    let c = cluster();
    let (_d, root) = reference_app();
    let out = c.run(&root, &["deploy", "--json", "--timeout", "60"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let ev = events(&out);
    let order: Vec<String> = applied(&ev).into_iter().map(|(o, _)| o).collect();
    let pos = |id: &str| {
        order
            .iter()
            .position(|o| o == id)
            .unwrap_or_else(|| panic!("{id} not applied: {order:?}"))
    };
    assert_eq!(pos("Namespace/todo"), 0);
    assert!(pos("Secret/todo-secrets") < pos("Deployment/postgres"));
    assert!(pos("Deployment/postgres") < pos("Deployment/backend"));
    assert!(pos("Service/backend") < pos("Deployment/frontend"));
    assert!(pos("Deployment/frontend") < pos("Ingress/todo"));
    for w in [
        "Deployment/postgres",
        "Deployment/backend",
        "Deployment/frontend",
    ] {
        assert!(
            ev.iter()
                .any(|e| e["event"] == "rollout.done" && e["workload"] == w),
            "{w} not ready: {ev:#?}"
        );
    }
    let done = ev
        .iter()
        .find(|e| e["event"] == "deploy.done")
        .expect("deploy.done");
    assert!(done.to_string().contains("http://todo.local"), "{done}");

    // The request shapes: apply patches with our field manager, forced.
    let patches: Vec<_> = c
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), order.len());
    for p in &patches {
        assert_eq!(p.content_type, "application/apply-patch+yaml", "{}", p.path);
        assert!(
            p.query.contains("fieldManager=todo-dev") && p.query.contains("force=true"),
            "{}",
            p.query
        );
    }
    let backend = c.get("deployments", "backend").unwrap();
    assert_eq!(
        backend["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "todo-dev"
    );
    assert_eq!(
        backend["metadata"]["labels"]["app.kubernetes.io/instance"],
        "todo-app"
    );
    let image = backend["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.starts_with("todo-backend:td-"), "{image}");
}

#[test]
fn deploying_the_same_render_again_changes_nothing() {
    let c = cluster();
    let (_d, root) = reference_app();
    assert_eq!(c.run(&root, &["deploy", "--json"]).status.code(), Some(0));
    let rv = c.get("deployments", "backend").unwrap()["metadata"]["resourceVersion"].clone();
    let out = c.run(&root, &["deploy", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = applied(&events(&out));
    assert!(results.iter().all(|(_, r)| r == "unchanged"), "{results:?}");
    assert_eq!(
        c.get("deployments", "backend").unwrap()["metadata"]["resourceVersion"],
        rv
    );
    assert_eq!(
        c.api.replicaset_count("todo", "backend"),
        1,
        "no new ReplicaSet"
    );
    // The generated secrets were read back, not regenerated.
    let secret = c.get("secrets", "todo-secrets").unwrap();
    assert!(secret["data"]["BETTER_AUTH_SECRET"].is_string());
}

#[test]
fn failing_rollouts_are_explained() {
    let crash_logs = "INFO:     Started server process [1]\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'app.main'";
    let table: Vec<(Behavior, Vec<&str>)> = vec![
        (
            Behavior::CrashLoop {
                exit_code: 1,
                reason: "Error".into(),
                logs: crash_logs.into(),
            },
            vec![
                "CrashLoopBackOff",
                "last exit: Error (code 1)",
                "ModuleNotFoundError: No module named 'app.main'",
                "crashed instance",
                "BackOff",
            ],
        ),
        (
            Behavior::CrashLoop {
                exit_code: 137,
                reason: "OOMKilled".into(),
                logs: "killed".into(),
            },
            vec!["OOMKilled", "memory limit"],
        ),
        (
            Behavior::ImagePullBackOff,
            vec![
                "ImagePullBackOff",
                "Back-off pulling image",
                "node's Docker daemon",
            ],
        ),
        (
            Behavior::ErrImageNeverPull,
            vec![
                "ErrImageNeverPull",
                "is not present with pull policy of Never",
            ],
        ),
        (
            Behavior::CreateContainerConfigError {
                message: "secret \"todo-secrets\" not found".into(),
            },
            vec![
                "CreateContainerConfigError",
                "secret \"todo-secrets\" not found",
            ],
        ),
        (
            Behavior::Unschedulable {
                message: "0/1 nodes are available: 1 Insufficient memory.".into(),
            },
            vec!["Unschedulable", "Insufficient memory", "FailedScheduling"],
        ),
        (
            Behavior::NotReady,
            vec!["NotReady", "Readiness probe failed"],
        ),
    ];
    for (behavior, words) in table {
        let c = cluster();
        let label = format!("{behavior:?}");
        c.api.set_behavior("backend", behavior);
        let (_d, root) = reference_app();
        // A failing readiness probe is no early failure: --timeout ends it.
        let timeout = if label == "NotReady" { "3" } else { "60" };
        let out = c.run(&root, &["deploy", "--timeout", timeout]);
        assert_eq!(out.status.code(), Some(1), "{label}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("failed Deployment/backend"), "{label}:\n{err}");
        for w in words {
            assert!(err.contains(w), "{label}: expected `{w}` in:\n{err}");
        }
        assert!(
            !err.contains("failed Deployment/frontend"),
            "{label}: only the backend fails\n{err}"
        );
    }
}

#[test]
fn kubectl_ai_gets_a_ready_to_run_question_when_installed() {
    let c = cluster();
    // A stand-in kubectl-ai on PATH: todo-dev only prints the question.
    let fake = c.sb.bin.path().join("kubectl-ai");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    c.api.set_behavior(
        "backend",
        Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: "boom".into(),
        },
    );
    let (_d, root) = reference_app();
    let err = stderr(&c.run(&root, &["deploy", "--timeout", "60"]));
    assert!(
        err.contains("kubectl-ai --quiet \"why is pod backend-")
            && err.contains("in namespace todo failing with CrashLoopBackOff"),
        "{err}"
    );
}

#[test]
fn objects_dropped_from_the_render_are_pruned_and_claims_kept() {
    let c = cluster();
    let (_d, root) = reference_app();
    assert_eq!(c.run(&root, &["deploy"]).status.code(), Some(0));
    assert!(c.get("deployments", "postgres").is_some() && c.get("ingresses", "todo").is_some());
    // lite: external database, no ingress, single replicas.
    std::fs::write(
        root.join(".env"),
        "DATABASE_URL=postgresql://u:p@neon.example/db\n",
    )
    .unwrap();
    let out = c.run(&root, &["deploy", "--profile", "lite", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pruned: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["event"] == "prune")
        .map(|e| e["object"].as_str().unwrap().to_string())
        .collect();
    for gone in [
        "Deployment/postgres",
        "Service/postgres",
        "Ingress/todo",
        "PodDisruptionBudget/backend",
    ] {
        assert!(
            pruned.iter().any(|p| p == gone),
            "{gone} not pruned: {pruned:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(600));
    assert!(c.get("deployments", "postgres").is_none());
    assert!(
        c.get("persistentvolumeclaims", "postgres-data").is_some(),
        "the data stays"
    );
    assert!(c.get("deployments", "backend").is_some());
}

#[test]
fn down_removes_only_ours_and_keeps_the_data_unless_purged() {
    let c = cluster();
    let (_d, root) = reference_app();
    assert_eq!(c.run(&root, &["deploy"]).status.code(), Some(0));
    c.api.insert(serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"users-own","namespace":"todo"},"data":{"k":"v"}}));
    c.api.insert(serde_json::json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"other-app","namespace":"todo","labels":{"app":"other"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}},"spec":{"containers":[{"name":"c","image":"x:1"}]}}}}));
    let out = c.run(&root, &["down", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = support::json(&out);
    assert!(
        report["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "Deployment/backend"),
        "{report:#}"
    );
    assert_eq!(
        report["keptClaims"][0],
        "PersistentVolumeClaim/postgres-data"
    );
    for (plural, name) in [
        ("deployments", "backend"),
        ("deployments", "frontend"),
        ("services", "backend"),
        ("secrets", "todo-secrets"),
        ("ingresses", "todo"),
    ] {
        assert!(c.get(plural, name).is_none(), "{plural}/{name} still there");
    }
    assert!(c.get("persistentvolumeclaims", "postgres-data").is_some());
    assert!(
        c.get("configmaps", "users-own").is_some() && c.get("deployments", "other-app").is_some(),
        "not ours: untouched"
    );
    assert!(c.api.get("namespaces", None, "todo").is_some());
    let deletes: Vec<_> = c
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert!(
        !deletes.is_empty()
            && deletes.iter().all(|r| r
                .query
                .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtodo-dev")),
        "deletes are by our label selector"
    );

    // Deleting the namespace would delete the user's objects in it: it stays.
    let out = c.run(&root, &["down", "--purge", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = support::json(&out);
    let kept = report["namespaceKept"].as_str().unwrap_or_default();
    assert!(
        kept.contains("ConfigMap/users-own") || kept.contains("Deployment/other-app"),
        "{report:#}"
    );
    assert!(c.get("persistentvolumeclaims", "postgres-data").is_none());
    assert!(c.api.get("namespaces", None, "todo").is_some());
    assert!(c.get("configmaps", "users-own").is_some());

    c.api.remove("configmaps", Some("todo"), "users-own");
    c.api.remove("deployments", Some("todo"), "other-app");
    let out = c.run(&root, &["down", "--purge"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        c.api.get("namespaces", None, "todo").is_none(),
        "todo-dev made the namespace and nothing else is in it: purge removes it"
    );
}

#[test]
fn a_namespace_todo_dev_did_not_create_is_never_deleted() {
    let c = cluster();
    c.api.insert(serde_json::json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"todo","labels":{"team":"mine"}}}));
    let (_d, root) = reference_app();
    let out = c.run(&root, &["deploy", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(applied(&events(&out))
        .iter()
        .any(|(o, r)| o == "Namespace/todo" && r.contains("not this project's")));
    let ns = c.api.get("namespaces", None, "todo").unwrap();
    assert!(
        ns["metadata"]["labels"]
            .get("app.kubernetes.io/managed-by")
            .is_none(),
        "not adopted"
    );
    assert_eq!(c.run(&root, &["down", "--purge"]).status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(600));
    assert!(c.api.get("namespaces", None, "todo").is_some());
    // An object of ours' name that is not ours stops the deploy untouched.
    c.api.insert(serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"todo-config","namespace":"todo"},"data":{"mine":"1"}}));
    let out = c.run(&root, &["deploy"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ConfigMap/todo-config already exists")
            && stderr(&out).contains("not made by todo-dev"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        c.get("configmaps", "todo-config").unwrap()["data"]["mine"],
        "1"
    );
}

#[test]
fn a_remote_context_is_refused_before_any_request() {
    let c = cluster();
    let (_d, root) = reference_app();
    let remote = c.sb.home.path().join("remote.yaml");
    std::fs::write(
        &remote,
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod\n  cluster: {server: 'https://k8s.prod.example.com'}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: u}\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let both = format!("{}:{}", c.kubeconfig.display(), remote.display());
    for args in [
        vec!["deploy", "--context", "prod"],
        vec!["down", "--context", "prod"],
        // Deletes pods: refused as any change is.
        vec!["verify", "--disruptive", "--context", "prod"],
        vec!["down", "--allow-remote", "--purge"],
    ] {
        let out =
            c.sb.todo_dev(&root, &args)
                .env("KUBECONFIG", &both)
                .output()
                .unwrap();
        if args.contains(&"--context") {
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains("`prod`")
                    && err.contains("not a local cluster")
                    && err.contains("--context prod --allow-remote"),
                "{err}"
            );
        } else {
            // --allow-remote without --context still targets the local minikube context.
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        }
    }
    // The current context (prod) is never used implicitly.
    let only_remote =
        c.sb.todo_dev(&root, &["deploy"])
            .env("KUBECONFIG", &remote)
            .output()
            .unwrap();
    assert_eq!(only_remote.status.code(), Some(2));
    assert!(
        stderr(&only_remote).contains("no kube context `minikube`"),
        "{}",
        stderr(&only_remote)
    );
    assert!(
        c.api.requests().iter().all(|r| r.method != "PATCH"),
        "nothing was applied"
    );
}

#[test]
fn a_missing_database_url_stops_before_the_cluster_is_touched() {
    let c = cluster();
    let (_d, root) = reference_app();
    let out = c.run(&root, &["deploy", "--profile", "lite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("DATABASE_URL is not set")
            && stderr(&out).contains("--set database=in-cluster"),
        "{}",
        stderr(&out)
    );
    assert!(
        c.api.requests().is_empty(),
        "no request reached the cluster"
    );
}

#[test]
fn up_starts_minikube_builds_into_its_daemon_and_deploys() {
    let Some((host, certs)) =
        support::tls_docker_or_skip("up_starts_minikube_builds_into_its_daemon_and_deploys")
    else {
        return;
    };
    let c = cluster();
    let (_d, root) = reference_app();
    let log = c.sb.home.path().join("minikube.log");
    let out =
        c.sb.todo_dev(&root, &["up", "--json", "--timeout", "60"])
            .env("KUBECONFIG", &c.kubeconfig)
            .env("FAKE_MINIKUBE_DEFAULT_STATE", "nonexistent")
            .env("FAKE_MINIKUBE_DOCKER_HOST", &host)
            .env("FAKE_MINIKUBE_CERT_PATH", &certs)
            .env("FAKE_MINIKUBE_LOG", &log)
            .output()
            .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("start -p minikube --cpus=2 --memory=4096mb --disk-size=20480mb --driver=docker --kubernetes-version=v1.34.0 --container-runtime=docker --output=json --addons=ingress,storage-provisioner,default-storageclass"), "{calls}");
    assert!(
        calls.contains("docker-env -p minikube --shell none -o json"),
        "{calls}"
    );
    let ev = events(&out);
    for s in ["frontend", "backend"] {
        assert!(
            ev.iter()
                .any(|e| e["event"] == "build.done" && e["service"] == s),
            "{s} not built: {ev:#?}"
        );
    }
    // The image the cluster runs is the one built into the node's daemon (over TLS).
    let image = c.get("deployments", "backend").unwrap()["spec"]["template"]["spec"]["containers"]
        [0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect = std::process::Command::new("docker")
        .args(["image", "inspect", &image])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &certs)
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{image} is not in the node's daemon"
    );
    assert!(ev.iter().any(|e| e["event"] == "deploy.done"));

    // A second `up`: cluster running, images unchanged, nothing re-applied.
    let out =
        c.sb.todo_dev(&root, &["up", "--json"])
            .env("KUBECONFIG", &c.kubeconfig)
            .env("FAKE_MINIKUBE_DOCKER_HOST", &host)
            .env("FAKE_MINIKUBE_CERT_PATH", &certs)
            .env("FAKE_MINIKUBE_LOG", &log)
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ev = events(&out);
    assert!(ev
        .iter()
        .filter(|e| e["event"] == "build.done")
        .all(|e| e["result"] == "unchanged"));
    assert!(applied(&ev).iter().all(|(_, r)| r == "unchanged"));
}

#[test]
fn up_explains_why_minikube_could_not_start() {
    let c = cluster();
    let (_d, root) = reference_app();
    let out =
        c.sb.todo_dev(&root, &["up"])
            .env("KUBECONFIG", &c.kubeconfig)
            .env("FAKE_MINIKUBE_DEFAULT_STATE", "nonexistent")
            .env("FAKE_MINIKUBE_START_FAIL", "RSRC_INSUFFICIENT_CORES")
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("RSRC_INSUFFICIENT_CORES") && err.contains("exit 29"),
        "{err}"
    );
    assert!(c.api.requests().is_empty());
}

#[test]
fn a_cluster_that_does_not_answer_is_named_with_a_fix() {
    let c = cluster();
    let (_d, root) = reference_app();
    // A kubeconfig for a local API server address where nothing listens.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let text = std::fs::read_to_string(&c.kubeconfig)
        .unwrap()
        .replace(&c.api.url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(&c.kubeconfig, text).unwrap();
    let out = c.run(&root, &["deploy"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("does not answer") && err.contains("minikube status -p minikube"),
        "{err}"
    );
}

fn secret_values(c: &Cluster) -> (String, String) {
    let secret = c.get("secrets", "todo-secrets").expect("todo-secrets");
    let data = &secret["data"];
    (
        data["POSTGRES_PASSWORD"].as_str().unwrap().to_string(),
        data["BETTER_AUTH_SECRET"].as_str().unwrap().to_string(),
    )
}

#[test]
fn generated_secrets_survive_redeploys_and_a_failed_read_applies_nothing() {
    let c = cluster();
    let (_d, root) = reference_app();
    let out = c.run(&root, &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = secret_values(&c);
    let out = c.run(&root, &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Postgres keeps the first password on its volume: a new one would lock the backend out.
    assert_eq!(secret_values(&c), first);

    for code in [500, 403] {
        let path = "/api/v1/namespaces/todo/secrets/todo-secrets";
        let c2 = cluster();
        assert_eq!(c2.run(&root, &["deploy"]).status.code(), Some(0));
        let before = secret_values(&c2);
        let writes_before = writes(&c2);
        c2.api.fail_requests("GET", path, code);
        let out = c2.run(&root, &["deploy"]);
        assert_eq!(out.status.code(), Some(1), "{code}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("cannot read Secret/todo-secrets in namespace `todo`")
                && err.contains("nothing was applied"),
            "{code}: {err}"
        );
        assert_eq!(writes(&c2), writes_before, "{code}: nothing written");
        assert_eq!(
            c2.api
                .get("secrets", Some("todo"), "todo-secrets")
                .map(|s| s["data"].clone())
                .unwrap()["POSTGRES_PASSWORD"],
            before.0.as_str()
        );
    }
}

/// Requests that change something, in order.
fn writes(c: &Cluster) -> usize {
    c.api
        .requests()
        .iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .count()
}

fn resource_versions(c: &Cluster, instance: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for plural in [
        "configmaps",
        "secrets",
        "services",
        "deployments",
        "persistentvolumeclaims",
    ] {
        for o in c.api.list(plural, Some("todo")) {
            if o["metadata"]["labels"]["app.kubernetes.io/instance"] == instance {
                out.push((
                    format!("{plural}/{}", o["metadata"]["name"].as_str().unwrap()),
                    o["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn two_projects_in_one_namespace_never_touch_each_other() {
    let c = cluster();
    let (_a, first) = reference_app_named("todo-app");
    let (_b, second) = reference_app_named("other-todo");
    let out = c.run(&first, &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let firsts = resource_versions(&c, "todo-app");
    assert!(firsts.len() >= 6, "{firsts:?}");

    // The second project's objects have the same names: it must not take them over.
    let written = writes(&c);
    let out = c.run(&second, &["deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("belongs to todo-dev project `todo-app`, not to this one (`other-todo`)"),
        "{err}"
    );
    assert_eq!(writes(&c), written, "refused before anything was written");
    assert_eq!(resource_versions(&c, "todo-app"), firsts);

    // Its `down --purge` finds nothing of its own and deletes nothing.
    let out = c.run(&second, &["down", "--purge", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(support::json(&out)["deleted"], serde_json::json!([]));
    assert_eq!(resource_versions(&c, "todo-app"), firsts);

    // Objects the second project made (say, before a rename) survive the
    // first's prune and down; the namespace stays while they are in it.
    let theirs = serde_json::json!({"app.kubernetes.io/managed-by": "todo-dev", "app.kubernetes.io/instance": "other-todo", "app.kubernetes.io/name": "worker", "app.kubernetes.io/part-of": "todo"});
    c.api.insert(serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"worker-config","namespace":"todo","labels":theirs},"data":{"k":"v"}}));
    c.api.insert(serde_json::json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"worker","namespace":"todo","labels":theirs},"spec":{"replicas":1,"selector":{"matchLabels":{"app.kubernetes.io/name":"worker"}},"template":{"metadata":{"labels":theirs},"spec":{"containers":[{"name":"c","image":"x:1"}]}}}}));
    let out = c.run(&first, &["deploy", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !events(&out).iter().any(|e| e["event"] == "prune"),
        "nothing of the first project's was dropped, and nothing else is pruned"
    );
    let out = c.run(&first, &["down", "--purge", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = support::json(&out);
    assert!(
        report["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "Deployment/backend"),
        "{report:#}"
    );
    std::thread::sleep(Duration::from_millis(600));
    assert!(resource_versions(&c, "todo-app").is_empty());
    assert!(c.get("configmaps", "worker-config").is_some());
    assert!(c.get("deployments", "worker").is_some());
    assert!(
        c.api.get("namespaces", None, "todo").is_some(),
        "{report:#}"
    );
    assert!(
        report["namespaceKept"]
            .as_str()
            .unwrap_or_default()
            .contains("worker"),
        "{report:#}"
    );

    // The second project's down removes its own objects, and not the namespace it did not make.
    let out = c.run(&second, &["down", "--purge", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(600));
    assert!(c.get("deployments", "worker").is_none());
    assert!(c.api.get("namespaces", None, "todo").is_some());
    // Now the first project's purge finds the namespace empty and removes it.
    let out = c.run(&first, &["down", "--purge"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(600));
    assert!(c.api.get("namespaces", None, "todo").is_none());
}

#[test]
fn a_changed_setting_rolls_exactly_the_workloads_that_read_it() {
    let c = cluster();
    let (_d, root) = reference_app();
    assert_eq!(c.run(&root, &["deploy"]).status.code(), Some(0));
    let result = |out: &Output, id: &str| {
        applied(&events(out))
            .into_iter()
            .find(|(o, _)| o == id)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("{id} not applied"))
    };
    let out = c.run(&root, &["deploy", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for id in [
        "Deployment/backend",
        "Deployment/frontend",
        "Deployment/postgres",
    ] {
        assert_eq!(
            result(&out, id),
            "unchanged",
            "{id}: nothing changed, nothing rolls"
        );
    }
    // LLM_MODEL is read by the backend only (standard profile has no ai-agent).
    std::fs::write(root.join(".env"), "LLM_MODEL=another-model\n").unwrap();
    let out = c.run(&root, &["deploy", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(result(&out, "ConfigMap/todo-config"), "configured");
    assert_eq!(result(&out, "Deployment/backend"), "configured");
    assert_eq!(result(&out, "Deployment/frontend"), "unchanged");
    assert_eq!(result(&out, "Deployment/postgres"), "unchanged");
    assert!(
        c.api.replicaset_count("todo", "backend") >= 2,
        "the backend rolled"
    );
    assert_eq!(
        c.api.replicaset_count("todo", "frontend"),
        1,
        "the frontend did not"
    );
}

#[test]
fn another_cluster_is_opened_at_the_address_it_published_never_through_minikube() {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "shared");
    let log = sb.home.path().join("minikube.log");
    let (_d, root) = reference_app();
    let deploy = || {
        sb.todo_dev(
            &root,
            &["deploy", "--json", "--context", "shared", "--allow-remote"],
        )
        .env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_LOG", &log)
        .output()
        .unwrap()
    };
    let open = |out: &Output| -> Vec<(String, String)> {
        let done = events(out)
            .into_iter()
            .find(|e| e["event"] == "deploy.done")
            .unwrap_or_else(|| panic!("no deploy.done:\n{}\n{}", stdout(out), stderr(out)));
        done["open"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["url"].as_str().unwrap().to_string(),
                    o["note"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let out = deploy();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = open(&out);
    assert_eq!(lines[0].0, "http://todo.local", "{lines:?}");
    assert!(lines[0].1.contains("no address yet"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|(u, n)| u.ends_with(":30080") || n.contains("NodePort")),
        "the frontend's NodePort: {lines:?}"
    );
    let (url, note) = lines.last().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && note.contains("--context shared"),
        "{lines:?}"
    );

    // The ingress controller publishes its address in the Ingress status.
    let mut ingress = api.get("ingresses", Some("todo"), "todo").unwrap();
    ingress["status"] = serde_json::json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}});
    api.insert(ingress);
    let out = deploy();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = open(&out);
    assert!(lines[0].1.contains("203.0.113.7 todo.local"), "{lines:?}");
    assert!(
        std::fs::read_to_string(&log).unwrap_or_default().is_empty(),
        "minikube was asked about another cluster"
    );
}
