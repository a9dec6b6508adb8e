//! `todo-dev watch` (not a dry run) as a user runs it: the fake minikube
//! hands out the real dockerd (over TLS) as the node's daemon, the fake API
//! server plays the cluster. Saves rebuild and roll only their service; a
//! revert builds nothing; a failed build or a crash-looping new pod leaves
//! the old pods serving and the watcher alive.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::apiserver::Behavior;
use support::watching::{app, nonce, Loop};

fn changes_of(events: &[Value], service: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event"] == "watch.change" && e["service"] == service)
        .count()
}

#[test]
fn a_save_rebuilds_and_rolls_only_its_service_and_a_revert_builds_nothing() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    let backend_v1 = w.image("backend");
    let frontend_v1 = w.image("frontend");
    let frontend_sets = w.api.replicaset_count("todo", "frontend");

    w.write("backend/main.txt", "backend v2\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    let backend_v2 = done["image"].as_str().unwrap().to_string();
    eprintln!(
        "save -> running (build + roll on the fake cluster): {} s",
        done["seconds"]
    );
    assert_ne!(backend_v2, backend_v1);
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.built" && e["result"] == "built"),
        "{read:#?}"
    );
    assert_eq!(
        w.image("backend"),
        backend_v2,
        "the cluster runs the new image"
    );
    assert!(w.ready_pods("backend", &backend_v2) >= 1);
    assert_eq!(
        changes_of(&read, "frontend"),
        0,
        "a backend save is no frontend change"
    );
    assert_eq!(w.image("frontend"), frontend_v1);
    assert_eq!(
        w.api.replicaset_count("todo", "frontend"),
        frontend_sets,
        "the frontend did not roll"
    );

    // Back to the first content: its image is in the daemon already.
    w.write("backend/main.txt", "backend v1\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["image"], backend_v1.as_str());
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.built" && e["result"] == "unchanged"),
        "{read:#?}"
    );
    assert_eq!(w.image("backend"), backend_v1);
}

#[test]
fn with_a_registry_each_rebuild_is_pushed_and_rolled_by_digest() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let Ok(registry) = std::env::var("TODO_DEV_TEST_REGISTRY") else {
        assert!(
            std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_none(),
            "scripts/test.sh starts the registries"
        );
        eprintln!("SKIPPED: no test registry (run scripts/test.sh)");
        return;
    };
    let (_d, root) = app();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("config.json"), "{}").unwrap();
    let local = std::env::var("TODO_DEV_TEST_TLS_DOCKER_SOCKET").unwrap_or_else(|_| host.clone());
    let repo = format!("{registry}/watch");
    let mut w = Loop::start_with(
        &root,
        &host,
        &certs,
        &["--registry", &repo],
        &[
            ("DOCKER_HOST", local.as_str()),
            ("DOCKER_CONFIG", config.path().to_str().unwrap()),
        ],
    );
    let first = w.image("backend");
    assert!(
        first.starts_with(&format!("{repo}/todo-backend:")) && first.contains("@sha256:"),
        "{first}"
    );
    w.write("backend/main.txt", "backend v2\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    let pushed = read
        .iter()
        .find(|e| e["event"] == "push.done" && e["service"] == "backend")
        .unwrap_or_else(|| panic!("no push of the rebuild: {read:#?}"));
    assert_eq!(pushed["result"], "pushed", "{pushed}");
    assert_eq!(done["image"], pushed["reference"], "{read:#?}");
    assert_eq!(w.image("backend"), pushed["reference"].as_str().unwrap());
    assert_ne!(w.image("backend"), first);
    assert!(w.ready_pods("backend", &w.image("backend")) >= 1);
}

#[test]
fn a_failed_build_or_rollout_leaves_the_old_pods_serving_and_the_watcher_alive() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    let serving = w.image("backend");
    let pods = w.ready_pods("backend", &serving);
    assert!(pods >= 1);

    // A build that fails: reported with its log, nothing applied.
    w.write(
        "backend/Dockerfile",
        "FROM scratch\nCOPY no-such-file /app\n",
    );
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    assert_eq!(failed["stage"], "build");
    assert!(
        failed["message"].as_str().unwrap().contains("no-such-file"),
        "{failed}"
    );
    assert_eq!(w.image("backend"), serving);
    assert_eq!(w.ready_pods("backend", &serving), pods);

    // Fixed, but the new pods crash: the rollout fails with the diagnosis.
    w.crash_loop("backend");
    w.write("backend/Dockerfile", "FROM scratch\nCOPY . /app\n");
    w.write("backend/main.txt", "backend broken\n");
    let (failed, read) = w.outcome("backend");
    assert_eq!(failed["event"], "watch.failed", "{read:#?}");
    assert_eq!(failed["stage"], "rollout");
    assert!(
        read.iter()
            .any(|e| e["event"] == "diagnosis" && e["reason"] == "CrashLoopBackOff"),
        "{read:#?}"
    );
    assert!(
        w.ready_pods("backend", &serving) >= 1,
        "the old pods still serve"
    );

    // The watcher is alive: the next save rolls out.
    w.api.set_behavior("backend", Behavior::Ready);
    w.write("backend/main.txt", "backend fixed\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(w.image("backend"), done["image"].as_str().unwrap());
}

/// The app with a backend sync rule for `app/**/*.txt` -> /app/app/.
fn synced_app() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = app();
    std::fs::create_dir_all(root.join("backend/app")).unwrap();
    std::fs::write(root.join("backend/app/main.txt"), "v1\n").unwrap();
    std::fs::write(
        root.join("todo-dev.yaml"),
        "profile: standard\nservices:\n  backend:\n    sync:\n      - {src: \"app/**/*.txt\", dest: /app/app/}\n",
    )
    .unwrap();
    (dir, root)
}

/// `docker ARGS` on the TLS daemon the fake minikube hands out; its stdout.
fn tls_docker(host: &str, certs: &str, args: &[&str]) -> String {
    let out = support::tls_docker(host, certs, args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        support::stderr(&out)
    );
    support::stdout(&out)
}

/// A container of the real dockerd standing in for the backend's pods.
struct PodContainer {
    host: String,
    certs: String,
    id: String,
}

impl Drop for PodContainer {
    fn drop(&mut self) {
        let _ = support::tls_docker(&self.host, &self.certs, &["rm", "-f", &self.id]).output();
    }
}

#[test]
fn a_save_the_sync_rules_cover_is_copied_into_the_running_pod_and_any_other_rebuilds() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = synced_app();
    std::fs::write(
        root.join("backend/Dockerfile"),
        "FROM todo-dev-test/debian:bookworm\nCOPY app /app/app\nUSER 10001:10001\nCMD [\"sleep\", \"infinity\"]\n",
    )
    .unwrap();
    let mut w = Loop::start(&root, &host, &certs);
    assert!(
        w.seen
            .iter()
            .any(|e| e["event"] == "watch.dev" && e["synced"] == serde_json::json!(["backend"])),
        "watch says which services run as the dev variant: {:#?}",
        w.seen
    );
    let container = |w: &Loop, workload: &str| {
        w.api.get("deployments", Some("todo"), workload).unwrap()["spec"]["template"]["spec"]
            ["containers"][0]
            .clone()
    };
    assert_eq!(
        container(&w, "backend")["securityContext"]["readOnlyRootFilesystem"],
        false
    );
    assert_eq!(
        container(&w, "frontend")["securityContext"]["readOnlyRootFilesystem"],
        true,
        "only the synced service differs"
    );

    // The backend's pods are this container, as with Minikube's docker runtime.
    let image = w.image("backend");
    let id = tls_docker(
        &host,
        &certs,
        &["run", "-d", "--user", "10001:10001", &image],
    )
    .trim()
    .to_string();
    let pod = PodContainer {
        host: host.clone(),
        certs: certs.clone(),
        id: id.clone(),
    };
    w.report_container("backend", &format!("docker://{id}"));

    w.write("backend/app/main.txt", "v2\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["action"], "sync", "{read:#?}");
    assert!(done["pods"].as_u64().unwrap() >= 1, "{done}");
    assert_eq!(
        tls_docker(
            &host,
            &certs,
            &["exec", &pod.id, "cat", "/app/app/main.txt"]
        ),
        "v2\n"
    );
    assert_eq!(w.image("backend"), image, "a sync rolls nothing");
    assert_eq!(done["caughtUp"], 0, "{done}");

    // The pod replaced since (a new container from the image, without v2):
    // the next sync brings it everything synced since the build.
    let replaced = PodContainer {
        host: host.clone(),
        certs: certs.clone(),
        id: tls_docker(
            &host,
            &certs,
            &["run", "-d", "--user", "10001:10001", &image],
        )
        .trim()
        .to_string(),
    };
    w.report_container("backend", &format!("docker://{}", replaced.id));
    w.write("backend/app/other.txt", "o1\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["action"], "sync", "{read:#?}");
    assert_eq!(done["caughtUp"], 1, "{done}");
    let inside = |file: &str| tls_docker(&host, &certs, &["exec", &replaced.id, "cat", file]);
    assert_eq!(inside("/app/app/main.txt"), "v2\n");
    assert_eq!(inside("/app/app/other.txt"), "o1\n");

    // Outside the rules: rebuilt and rolled.
    w.write("backend/settings.cfg", "debug = true\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["action"], "rebuild", "{read:#?}");
    assert_ne!(w.image("backend"), image);

    // A pod whose container is not in the daemon: said, then rebuilt.
    w.report_container("backend", &format!("docker://{}", "0".repeat(64)));
    w.write("backend/app/main.txt", "v3\n");
    let (done, read) = w.outcome("backend");
    let fallback = read
        .iter()
        .find(|e| e["event"] == "watch.fallback")
        .unwrap_or_else(|| panic!("no fallback: {read:#?}"));
    assert!(
        fallback["reason"]
            .as_str()
            .unwrap()
            .contains("is not in the Docker daemon todo-dev builds into"),
        "{fallback}"
    );
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["action"], "rebuild", "{read:#?}");

    // `up` after `watch` puts the hardened objects back.
    let _ = w.child.kill();
    let _ = w.child.wait();
    let kubeconfig = w.sandbox.home.path().join(".kube/config");
    let up = w
        .sandbox
        .todo_dev(&root, &["up", "--json", "--timeout", "60"])
        .env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_STATE", "running")
        .env("FAKE_MINIKUBE_DOCKER_HOST", &host)
        .env("FAKE_MINIKUBE_CERT_PATH", &certs)
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", support::stderr(&up));
    let backend = container(&w, "backend");
    assert_eq!(
        backend["securityContext"]["readOnlyRootFilesystem"], true,
        "{backend:#}"
    );
}

#[test]
fn a_lost_cluster_is_retried_and_ctrl_c_stops_the_loop() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    // The API server fails every write of the backend until it is "back".
    let path = "/apis/apps/v1/namespaces/todo/deployments/backend";
    // 500: kube's client retries 503 by itself, so the loop would not see it.
    w.api.fail_requests("PATCH", path, 500);
    w.write("backend/main.txt", &format!("backend v2 {}\n", nonce()));
    let read = w.until(|e| e["event"] == "watch.retry" && e["service"] == "backend");
    assert!(
        read.iter()
            .any(|e| e["event"] == "watch.lost" && e["stage"] == "rollout"),
        "{read:#?}"
    );
    w.api.clear_failures();
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(w.image("backend"), done["image"].as_str().unwrap());

    // Ctrl-C: the loop ends, cleanly and at once (bounded loosely: not a measurement).
    let pid = w.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "watch did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn on_another_runtime_a_save_is_synced_through_the_exec_api() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = synced_app();
    // With a `run`, carried out in each pod after the copy.
    std::fs::write(
        root.join("todo-dev.yaml"),
        "profile: standard\nservices:\n  backend:\n    sync:\n      - {src: \"app/**/*.txt\", dest: /app/app/, run: \"touch /tmp/reloaded\"}\n",
    )
    .unwrap();
    let mut w = Loop::start(&root, &host, &certs);
    // containerd's pods are not in the daemon todo-dev builds into.
    w.report_container("backend", "containerd://4f1c0ffee");
    let image = w.image("backend");
    w.write("backend/app/main.txt", "v2 through exec\n");
    let (done, read) = w.outcome("backend");
    assert_eq!(done["event"], "watch.done", "{read:#?}");
    assert_eq!(done["action"], "sync", "{read:#?}");
    assert_eq!(w.image("backend"), image, "synced, not rebuilt");
    let tar_execs: Vec<_> = w
        .api
        .execs()
        .into_iter()
        // the length-framed extraction (`sh -c '... | tar -x ...' NAME LENGTH`)
        .filter(|e| {
            e.command
                .get(2)
                .is_some_and(|script| script.contains("tar -x"))
        })
        .collect();
    assert!(!tar_execs.is_empty(), "no tar exec reached the API server");
    let pods = done["pods"].as_u64().unwrap() as usize;
    assert_eq!(tar_execs.len(), pods, "every pod, once");
    let runs = w
        .api
        .execs()
        .into_iter()
        .filter(|e| e.command == ["sh", "-c", "touch /tmp/reloaded"])
        .count();
    assert_eq!(runs, pods, "the rule's run, once in every pod");
    for e in &tar_execs {
        assert_eq!(e.container, "backend");
        let file = w.api.container_file(&e.pod, "/app/app/main.txt");
        assert_eq!(
            file.map(|f| f.1),
            Some(b"v2 through exec\n".to_vec()),
            "{}",
            e.pod
        );
    }
}

#[test]
fn ctrl_c_during_a_cycles_apply_finishes_that_object_and_exits_130() {
    let Some((host, certs)) = support::tls_docker_or_skip("watch_loop") else {
        return;
    };
    let (_d, root) = app();
    let mut w = Loop::start(&root, &host, &certs);
    // The next Ingress write is refused for 4 s: the cycle's apply is in flight then.
    w.api.set_ingress_webhook_ready_in(Duration::from_secs(4));
    let before = w.api.requests().len();
    w.write("backend/main.txt", &format!("backend v2 {}\n", nonce()));
    let started = std::time::Instant::now();
    while !w.api.requests()[before..]
        .iter()
        .any(|r| r.method == "PATCH" && r.path.ends_with("/ingresses/todo"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the cycle never applied"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = w.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let read = w.until(|e| e["event"] == "deploy.interrupted");
    let done = read.last().unwrap();
    let applied = done["applied"].as_array().unwrap();
    assert_eq!(applied.last().unwrap(), "Ingress/todo", "{done}");
    let not_applied: Vec<&str> = done["notApplied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        not_applied,
        [
            "PodDisruptionBudget/frontend",
            "PodDisruptionBudget/backend"
        ]
    );
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}
