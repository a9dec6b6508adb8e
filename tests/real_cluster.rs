//! A first `up`/`deploy` on a developer's machine as a real Minikube and
//! Kubernetes behave (../shared/design/real-cluster.md): an existing cluster
//! on another version, a slow ingress addon, a stale kubeconfig, minikube
//! flooding stderr, failures explained from pod states long before the
//! 600 s progress deadline, the ingress webhook not ready yet, immutable
//! fields, and `down --stop` / `--delete-cluster`. The fakes in
//! tests/support/ behave like the real thing here; see their headers.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::apiserver::{Behavior, FakeApiServer};
use support::{quick_app, stderr, stdout, Sandbox};

struct Cluster {
    api: FakeApiServer,
    kubeconfig: PathBuf,
    sb: Sandbox,
    log: PathBuf,
}

fn cluster() -> Cluster {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let log = sb.home.path().join("minikube.log");
    Cluster {
        api,
        kubeconfig,
        sb,
        log,
    }
}

impl Cluster {
    /// `todo-dev ARGS` with the fake API server's kubeconfig and a logged fake minikube.
    fn cmd(&self, root: &Path, args: &[&str]) -> Command {
        let mut cmd = self.sb.todo_dev(root, args);
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("FAKE_MINIKUBE_LOG", &self.log);
        cmd
    }

    fn deploy(&self, root: &Path, args: &[&str]) -> Output {
        let mut all = vec!["deploy"];
        all.extend_from_slice(args);
        self.cmd(root, &all)
            .env("FAKE_MINIKUBE_STATE", "running")
            .output()
            .unwrap()
    }

    /// What the fake minikube was asked, one invocation a line.
    fn minikube_calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Writes a profile the fake minikube already has (as `minikube start`
    /// on an earlier day would have left it).
    fn existing_profile(&self, lines: &str) {
        let dir = self.sb.home.path().join(".fake-minikube/profiles/minikube");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), lines).unwrap();
    }
}

/// `cmd` pointed at the TLS test daemon as the node's Docker (for `up`).
fn with_node_docker(cmd: &mut Command, host: &str, certs: &str) {
    cmd.env("FAKE_MINIKUBE_DOCKER_HOST", host)
        .env("FAKE_MINIKUBE_CERT_PATH", certs);
}

fn events(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

// ---- 1. existing clusters ---------------------------------------------------

#[test]
fn up_restarts_an_existing_cluster_on_its_own_version_and_driver() {
    let Some((host, certs)) = support::tls_docker_or_skip(
        "up_restarts_an_existing_cluster_on_its_own_version_and_driver",
    ) else {
        return;
    };
    let c = cluster();
    // minikube v1.38 made this cluster on v1.35.0; the profile asks v1.34.0,
    // 2 CPUs and 4 GiB, the cluster has 1 CPU and 3 GiB.
    c.existing_profile(
        "state=stopped\ndriver=docker\ncpus=1\nmemory=3072\nk8s=v1.35.0\naddons=ingress\n",
    );
    let (_d, root) = quick_app();
    let mut cmd = c.cmd(&root, &["up", "--timeout", "60"]);
    with_node_docker(&mut cmd, &host, &certs);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let calls = c.minikube_calls();
    let start = calls
        .lines()
        .find(|l| l.starts_with("start "))
        .unwrap_or_else(|| panic!("no start in {calls}"));
    assert!(
        !start.contains("--kubernetes-version") && !start.contains("--driver"),
        "an existing cluster is started as it is: {start}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("Kubernetes v1.35.0") && err.contains("driver docker"),
        "says what is in use:\n{err}"
    );
    assert!(
        err.contains("the profile asks for v1.34.0"),
        "warns about the version:\n{err}"
    );
    assert!(
        err.contains("1 CPUs") && err.contains("minikube delete -p minikube"),
        "warns about resources with the fix:\n{err}"
    );
}

#[test]
fn up_on_a_running_cluster_of_another_version_says_so_and_deploys() {
    let Some((host, certs)) = support::tls_docker_or_skip(
        "up_on_a_running_cluster_of_another_version_says_so_and_deploys",
    ) else {
        return;
    };
    let c = cluster();
    c.existing_profile("state=running\ndriver=docker\nk8s=v1.35.0\naddons=ingress\n");
    let (_d, root) = quick_app();
    let mut cmd = c.cmd(&root, &["up", "--json", "--timeout", "60"]);
    with_node_docker(&mut cmd, &host, &certs);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&out);
    let ready = ev
        .iter()
        .find(|e| e["event"] == "minikube.ready")
        .unwrap_or_else(|| panic!("no minikube.ready: {ev:#?}"));
    assert_eq!(ready["kubernetesVersion"], "v1.35.0", "{ready}");
    assert_eq!(ready["driver"], "docker", "{ready}");
    assert!(
        ev.iter().any(|e| e["event"] == "minikube.warning"
            && e["message"].as_str().unwrap_or("").contains("v1.34.0")),
        "{ev:#?}"
    );
    assert!(!c.minikube_calls().contains("start "));
}

/// minikube v1.39 makes containerd the default runtime (constants.go), whose
/// node has no Docker daemon to build into: todo-dev asks for Docker.
#[test]
fn up_creates_a_docker_runtime_cluster_where_minikube_defaults_to_containerd() {
    let Some((host, certs)) = support::tls_docker_or_skip(
        "up_creates_a_docker_runtime_cluster_where_minikube_defaults_to_containerd",
    ) else {
        return;
    };
    let c = cluster();
    let (_d, root) = quick_app();
    let mut cmd = c.cmd(&root, &["up", "--json", "--timeout", "60"]);
    with_node_docker(&mut cmd, &host, &certs);
    cmd.env("FAKE_MINIKUBE_VERSION", "v1.39.0")
        .env("FAKE_MINIKUBE_DEFAULT_STATE", "nonexistent");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let calls = c.minikube_calls();
    let start = calls
        .lines()
        .find(|l| l.starts_with("start "))
        .unwrap_or_else(|| panic!("no start in {calls}"));
    assert!(
        start.contains("--container-runtime=docker"),
        "a new cluster gets the Docker runtime: {start}"
    );
    let config = std::fs::read_to_string(
        c.sb.home
            .path()
            .join(".fake-minikube/profiles/minikube/config"),
    )
    .unwrap();
    assert!(config.contains("runtime=docker"), "{config}");
    // Built into the node's daemon, then deployed.
    let ev = events(&out);
    let built: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "build.done" || e["event"] == "build.cached")
        .collect();
    assert_eq!(built.len(), 2, "frontend and backend built: {ev:#?}");
    assert!(c.api.get("deployments", Some("todo"), "backend").is_some());
}

/// An existing cluster with no Docker daemon to build into (containerd,
/// cri-o) or with several nodes: the images are built on this machine's
/// Docker and copied into every node with `minikube image load` (image.go),
/// said before anything is built; docker-env is never asked for.
#[test]
fn a_cluster_without_a_node_daemon_to_build_into_gets_its_images_by_image_load() {
    let test = "a_cluster_without_a_node_daemon_to_build_into_gets_its_images_by_image_load";
    let Some(host) = support::docker_host_or_skip(test) else {
        return;
    };
    for (runtime, nodes, why) in [
        ("containerd", 1, "runs the `containerd` container runtime"),
        ("cri-o", 1, "runs the `cri-o` container runtime"),
        ("docker", 2, "has 2 nodes"),
    ] {
        let c = cluster();
        c.existing_profile(&format!(
            "state=running\ndriver=docker\nk8s=v1.34.0\nruntime={runtime}\nnodes={nodes}\naddons=ingress\n"
        ));
        let (_d, root) = quick_app();
        std::fs::write(root.join("backend/main.txt"), format!("{runtime} {nodes}")).unwrap();
        let out = c
            .cmd(&root, &["up", "--json", "--timeout", "60"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{runtime}/{nodes}: {}", show(&out));
        let ev = events(&out);
        let said = ev
            .iter()
            .find(|e| e["event"] == "minikube.image-load")
            .unwrap_or_else(|| panic!("{runtime}/{nodes}: not said: {ev:#?}"));
        assert!(
            said["message"].as_str().unwrap().contains(why)
                && said["message"]
                    .as_str()
                    .unwrap()
                    .contains("minikube image load"),
            "{said}"
        );
        let built: Vec<String> = ev
            .iter()
            .filter(|e| e["event"] == "build.done")
            .map(|e| e["image"].as_str().unwrap().to_string())
            .collect();
        let mut loaded: Vec<String> = ev
            .iter()
            .filter(|e| e["event"] == "minikube.image-loaded")
            .map(|e| e["image"].as_str().unwrap().to_string())
            .collect();
        let mut want = built.clone();
        want.sort();
        loaded.sort();
        assert_eq!(loaded, want, "{runtime}/{nodes}: every built image loaded");
        assert_eq!(built.len(), 2, "{ev:#?}");
        let calls = c.minikube_calls();
        assert!(!calls.contains("docker-env"), "{runtime}/{nodes}: {calls}");
        for image in &built {
            assert!(
                calls.contains(&format!("image load {image} -p minikube")),
                "{calls}"
            );
        }
        // The pods run those local tags.
        let image = c.api.get("deployments", Some("todo"), "backend").unwrap()["spec"]["template"]
            ["spec"]["containers"][0]["image"]
            .clone();
        assert!(built.iter().any(|b| image == b.as_str()), "{image}");
    }
}

/// A second `up` sends only what some node lacks, as the nodes' kubelets
/// report their images (containerd's spelling of a local tag included).
#[test]
fn image_load_skips_what_every_node_already_has() {
    let test = "image_load_skips_what_every_node_already_has";
    let Some(host) = support::docker_host_or_skip(test) else {
        return;
    };
    let c = cluster();
    c.existing_profile(
        "state=running\ndriver=docker\nk8s=v1.34.0\nruntime=containerd\nnodes=2\naddons=ingress\n",
    );
    let (_d, root) = quick_app();
    std::fs::write(root.join("backend/main.txt"), test).unwrap();
    let up = |c: &Cluster| {
        let out = c
            .cmd(&root, &["up", "--json", "--timeout", "60"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        events(&out)
    };
    let named = |ev: &[Value], event: &str| -> Vec<String> {
        let mut v: Vec<String> = ev
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| e["image"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // No node reported yet: everything is sent.
    let ev = up(&c);
    let built = named(&ev, "build.done");
    assert_eq!(built.len(), 2, "{ev:#?}");
    assert_eq!(named(&ev, "minikube.image-loaded"), built);
    let node = |name: &str, images: &[&String]| {
        let names: Vec<Value> = images
            .iter()
            .map(|i| json!({"names": [format!("docker.io/library/{i}")], "sizeBytes": 1000}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
               "status": {"images": names}})
    };
    let (frontend, backend) = (&built[1], &built[0]);
    assert!(frontend.starts_with("todo-frontend") && backend.starts_with("todo-backend"));
    // The second node has only the backend: the frontend goes again.
    c.api.insert(node("minikube", &[frontend, backend]));
    c.api.insert(node("minikube-m02", &[backend]));
    let loads = |c: &Cluster| c.minikube_calls().matches("image load ").count();
    let before = loads(&c);
    let ev = up(&c);
    assert_eq!(named(&ev, "minikube.image-present"), [backend.as_str()]);
    assert_eq!(named(&ev, "minikube.image-loaded"), [frontend.as_str()]);
    assert_eq!(loads(&c) - before, 1);
    // Both nodes have both: nothing is sent.
    c.api.insert(node("minikube-m02", &[frontend, backend]));
    let before = loads(&c);
    let ev = up(&c);
    assert_eq!(named(&ev, "minikube.image-present"), built);
    assert!(named(&ev, "minikube.image-loaded").is_empty(), "{ev:#?}");
    assert_eq!(loads(&c), before);
}

/// An image missing from the daemon minikube reads is GUEST_IMAGE_LOAD: named, nothing applied.
#[test]
fn a_failed_image_load_is_named_and_nothing_is_applied() {
    let c = cluster();
    c.existing_profile(
        "state=running\ndriver=docker\nk8s=v1.34.0\nruntime=containerd\naddons=ingress\n",
    );
    let (_d, root) = quick_app();
    let Some(host) =
        support::docker_host_or_skip("a_failed_image_load_is_named_and_nothing_is_applied")
    else {
        return;
    };
    // The fake checks the image in the daemon with this CLI: one that says no to everything.
    let no = c.sb.bin.path().join("docker-says-no");
    std::fs::write(&no, "#!/bin/sh\necho 'Error: No such image' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&no, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = c
        .cmd(&root, &["up", "--timeout", "60"])
        .env("DOCKER_HOST", &host)
        .env("FAKE_MINIKUBE_DOCKER_CLI", &no)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("image load") && err.contains("GUEST_IMAGE_LOAD"),
        "{err}"
    );
    let writes = c
        .api
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0, "nothing applied");
}

/// With a registry the nodes pull what was pushed, so a containerd cluster
/// is used as it is: built on this machine's Docker, no docker-env at all.
#[test]
fn with_a_registry_a_containerd_cluster_runs_the_pushed_images() {
    let test = "with_a_registry_a_containerd_cluster_runs_the_pushed_images";
    let Some(host) = support::docker_host_or_skip(test) else {
        return;
    };
    let Ok(registry) = std::env::var("TODO_DEV_TEST_REGISTRY") else {
        assert!(
            std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_none(),
            "{test}: scripts/test.sh starts the registries"
        );
        eprintln!("SKIPPED {test}: no test registry");
        return;
    };
    let c = cluster();
    c.existing_profile(
        "state=running\ndriver=docker\nk8s=v1.34.0\nruntime=containerd\naddons=ingress\n",
    );
    let (_d, root) = quick_app();
    let nonce = format!("{:?}", std::time::SystemTime::now());
    std::fs::write(root.join("backend/main.txt"), nonce).unwrap();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("config.json"), "{}").unwrap();
    let repo = format!("{registry}/containerd");
    let out = c
        .cmd(
            &root,
            &["up", "--json", "--timeout", "60", "--registry", &repo],
        )
        .env("FAKE_MINIKUBE_STATE", "running")
        .env("DOCKER_HOST", &host)
        .env("DOCKER_CONFIG", config.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let calls = c.minikube_calls();
    assert!(
        !calls.contains("docker-env"),
        "nothing built into the node: {calls}"
    );
    let image = c.api.get("deployments", Some("todo"), "backend").unwrap()["spec"]["template"]
        ["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        image.starts_with(&format!("{repo}/todo-backend:")) && image.contains("@sha256:"),
        "{image}"
    );
}

// ---- 2. slow addons, the ingress webhook -------------------------------------

#[test]
fn up_waits_for_a_slow_ingress_addon() {
    let Some((host, certs)) = support::tls_docker_or_skip("up_waits_for_a_slow_ingress_addon")
    else {
        return;
    };
    let c = cluster();
    // Running, without ingress: `addons enable ingress` waits for the
    // controller's pods (real minikube: up to 6 minutes; here 35 s, beyond
    // the 30 s a probe may take).
    c.existing_profile("state=running\ndriver=docker\nk8s=v1.34.0\n");
    let (_d, root) = quick_app();
    let mut cmd = c.cmd(&root, &["up", "--json", "--timeout", "60"]);
    with_node_docker(&mut cmd, &host, &certs);
    cmd.env("FAKE_MINIKUBE_ADDON_SECONDS", "35");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&out);
    assert!(
        ev.iter().any(|e| e["event"] == "minikube.addon"
            && e["addon"] == "ingress"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("ingress-nginx")),
        "a progress line says what it waits for: {ev:#?}"
    );
    assert!(c
        .minikube_calls()
        .contains("addons enable ingress -p minikube"));
    assert!(ev.iter().any(|e| e["event"] == "deploy.done"));
}

#[test]
fn the_ingress_is_created_once_the_admission_webhook_answers() {
    let c = cluster();
    // ingress-nginx's validating webhook (failurePolicy Fail) is not ready yet.
    c.api.set_ingress_webhook_ready_in(Duration::from_secs(3));
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--json", "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(c.api.get("ingresses", Some("todo"), "todo").is_some());
    let ev = events(&out);
    assert!(
        ev.iter().any(|e| e["event"] == "apply.retry"
            && e["object"] == "Ingress/todo"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("admission webhook")),
        "{ev:#?}"
    );
    let refused = c
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/ingresses/todo"))
        .count();
    assert!(refused >= 2, "the apply was retried ({refused} PATCHes)");
}

// ---- 3. failures explained in seconds ------------------------------------------

/// Each case fails from the pod's state, not from a deadline: the fake
/// keeps progressDeadlineSeconds (600 s) and --timeout is 30 s.
#[test]
fn failing_pods_fail_the_rollout_from_their_state_not_a_deadline() {
    let table: Vec<(Behavior, &str, &str)> = vec![
        (
            Behavior::CrashLoop {
                exit_code: 1,
                reason: "Error".into(),
                logs: "ModuleNotFoundError: No module named 'app.main'".into(),
            },
            "CrashLoopBackOff",
            "ModuleNotFoundError",
        ),
        (
            Behavior::ImagePullBackOff,
            "ImagePullBackOff",
            "Back-off pulling image",
        ),
        (
            Behavior::ErrImageNeverPull,
            "ErrImageNeverPull",
            "pull policy of Never",
        ),
        (
            Behavior::CreateContainerConfigError {
                message: "secret \"todo-secrets\" not found".into(),
            },
            "CreateContainerConfigError",
            "secret \"todo-secrets\" not found",
        ),
        (
            Behavior::Unschedulable {
                message: "0/1 nodes are available: 1 Insufficient memory.".into(),
            },
            "Unschedulable",
            "Insufficient memory",
        ),
    ];
    for (behavior, reason, detail) in table {
        let c = cluster();
        c.api.set_behavior("backend", behavior);
        let (_d, root) = quick_app();
        let started = std::time::Instant::now();
        let out = c.deploy(&root, &["--timeout", "30"]);
        // A measurement for the record, not a bound.
        eprintln!("{reason}: deploy failed after {:?}", started.elapsed());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{reason}: {}", show(&out));
        assert!(
            err.contains("failed Deployment/backend") && err.contains(reason),
            "{reason}:\n{err}"
        );
        assert!(err.contains(detail), "{reason}: `{detail}` in\n{err}");
        assert!(
            !err.contains("timed out") && !err.contains("progress deadline"),
            "{reason}: the pod's state ends the wait, not a deadline:\n{err}"
        );
        let backend = c.api.get("deployments", Some("todo"), "backend").unwrap();
        assert_eq!(backend["spec"]["progressDeadlineSeconds"], 600);
    }
}

/// The kubelet retries a registry pull with back-off: a blip passes by
/// itself, and the wait says what it waits for.
#[test]
fn a_registry_pull_that_fails_then_succeeds_is_waited_for() {
    let c = cluster();
    c.api
        .set_behavior("postgres", Behavior::PullFailsThenSucceeds { failures: 2 });
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--json", "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let notes: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["event"] == "rollout" && e["workload"] == "Deployment/postgres")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .filter(|m| m.starts_with("pulling postgres:16.4 from docker.io, retry"))
        .collect();
    assert!(!notes.is_empty(), "the retries are said:\n{}", show(&out));
    assert!(
        notes.iter().any(|n| n.contains("TLS handshake timeout")),
        "{notes:#?}"
    );
}

/// A registry image that never arrives fails with the registry and the
/// image named, not the node's daemon (that is for images todo-dev built).
#[test]
fn a_registry_image_that_cannot_be_pulled_names_the_registry() {
    let c = cluster();
    c.api.set_behavior("postgres", Behavior::ImagePullBackOff);
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("failed Deployment/postgres")
            && err.contains("pulling postgres:16.4 from docker.io, retry"),
        "the wait ends on the pull it waited for:\n{err}"
    );
    assert!(
        err.contains("hint: the node could not pull postgres:16.4 from docker.io"),
        "{err}"
    );
    assert!(!err.contains("node's Docker daemon"), "{err}");
}

#[test]
fn a_crash_looping_statefulset_fails_from_its_pods_state() {
    let c = cluster();
    c.api.set_behavior(
        "redis",
        Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: "FATAL CONFIG FILE ERROR".into(),
        },
    );
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--set", "redis=true", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("failed StatefulSet/redis")
            && err.contains("CrashLoopBackOff")
            && err.contains("FATAL CONFIG FILE ERROR"),
        "{err}"
    );
    assert!(!err.contains("timed out"), "{err}");
}

#[test]
fn a_fix_rolls_out_past_the_old_revisions_crash_looping_pods() {
    let c = cluster();
    c.api.set_behavior(
        "backend",
        Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: "ImportError".into(),
        },
    );
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // The fix: new sources, a new image tag, pods that start. The old
    // revision's pods keep crash-looping until the new ones are ready.
    c.api.set_behavior("backend", Behavior::Ready);
    std::fs::write(root.join("backend/main.txt"), "fixed").unwrap();
    let out = c.deploy(&root, &["--timeout", "30"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(c.api.replicaset_count("todo", "backend"), 2);
}

#[test]
fn scheduler_events_are_counted_from_their_series() {
    let c = cluster();
    c.api.set_behavior(
        "backend",
        Behavior::Unschedulable {
            message: "0/1 nodes are available: 1 Insufficient cpu.".into(),
        },
    );
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // events.k8s.io events seen through core/v1: no count, no lastTimestamp.
    let ev = c
        .api
        .list("events", Some("todo"))
        .into_iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .expect("a FailedScheduling event");
    assert!(
        ev["count"].is_null() && ev["lastTimestamp"].is_null(),
        "{ev}"
    );
    let n = ev["series"]["count"].as_i64().expect("series.count");
    assert!(n >= 2, "{ev}");
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("FailedScheduling"))
        .unwrap_or_else(|| panic!("no FailedScheduling event in\n{err}"));
    assert!(
        line.contains("Insufficient cpu") && line.contains("(x"),
        "{line}"
    );
}

#[test]
fn rollouts_are_watched_and_a_flaky_read_is_retried() {
    let c = cluster();
    // Reads of the backend Deployment fail twice after it is applied (an API
    // server restarting, a dropped connection).
    c.api
        .fail_reads_after_apply("deployments", "todo", "backend", 2);
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--json", "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let requests = c.api.requests();
    let watches: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.param("watch").as_deref() == Some("true"))
        .collect();
    assert!(
        watches.iter().any(|r| r.path.ends_with("/deployments")),
        "the Deployments are watched"
    );
    assert!(
        watches.iter().any(|r| r.path.ends_with("/pods")),
        "their pods are watched"
    );
    let polls = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/deployments/backend"))
        .count();
    assert!(polls <= 2, "no polling of the Deployment ({polls} GETs)");
}

#[test]
fn a_statefulset_rollout_follows_kubectls_partitioned_rule() {
    let c = cluster();
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--set", "redis=true", "--json", "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&out);
    let redis: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "rollout" && e["workload"] == "StatefulSet/redis")
        .collect();
    assert!(
        redis.iter().any(|e| e["message"]
            .as_str()
            .unwrap_or("")
            .contains("partitioned roll out complete")),
        "{redis:#?}"
    );
}

// ---- 4. a stale kubeconfig, a slow `minikube status` ---------------------------

#[test]
fn up_repairs_a_misconfigured_kubeconfig_before_connecting() {
    let Some((host, certs)) =
        support::tls_docker_or_skip("up_repairs_a_misconfigured_kubeconfig_before_connecting")
    else {
        return;
    };
    let c = cluster();
    c.existing_profile("state=running\ndriver=docker\nk8s=v1.34.0\naddons=ingress\n");
    // Docker Desktop restarted: the forwarded API port changed.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stale = format!("http://127.0.0.1:{}", gone.local_addr().unwrap().port());
    drop(gone);
    let text = std::fs::read_to_string(&c.kubeconfig)
        .unwrap()
        .replace(&c.api.url(), &stale);
    std::fs::write(&c.kubeconfig, text).unwrap();
    let (_d, root) = quick_app();
    let mut cmd = c.cmd(&root, &["up", "--timeout", "60"]);
    with_node_docker(&mut cmd, &host, &certs);
    cmd.env("FAKE_MINIKUBE_KUBECONFIG", "Misconfigured")
        .env("FAKE_MINIKUBE_APISERVER_URL", c.api.url());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(c.minikube_calls().contains("update-context -p minikube"));
    assert!(
        stderr(&out).contains("update-context"),
        "says what it repaired:\n{}",
        stderr(&out)
    );
}

#[test]
fn doctor_waits_for_a_slow_minikube_status() {
    let sb = Sandbox::new(&[]);
    let project = support::reference_project();
    // `minikube status` SSHes into the node: 3 s, more than a probe's 1.5 s.
    let out = sb
        .todo_dev(project.path(), &["doctor", "--json"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("FAKE_MINIKUBE_STATE", "running")
        .env("FAKE_MINIKUBE_STATUS_SECONDS", "3")
        .output()
        .unwrap();
    let report = support::json(&out);
    let cluster = support::check(&report, "minikube.cluster");
    assert_eq!(cluster["status"], "ok", "{cluster:#}");
    assert!(
        cluster["detail"].as_str().unwrap().contains("is running"),
        "{cluster:#}"
    );
}

// ---- 8. minikube writing a lot to stderr ------------------------------------------

#[test]
fn up_reads_minikube_stderr_while_it_runs() {
    let c = cluster();
    let (_d, root) = quick_app();
    // 256 KiB of klog lines before the first event, then a refusal.
    let mut child = c
        .cmd(&root, &["up"])
        .env("FAKE_MINIKUBE_DEFAULT_STATE", "nonexistent")
        .env("FAKE_MINIKUBE_STDERR_BYTES", "262144")
        .env("FAKE_MINIKUBE_START_FAIL", "RSRC_INSUFFICIENT_CORES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hang guard, not a performance bound: a deadlock never ends.
    let mut waited = Duration::ZERO;
    while child.try_wait().unwrap().is_none() {
        if waited > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`up` hung on minikube's stderr");
        }
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("RSRC_INSUFFICIENT_CORES"),
        "{}",
        show(&out)
    );
}

// ---- 7. immutable fields ------------------------------------------------------------

#[test]
fn an_immutable_field_is_named_and_recreate_replaces_only_that_workload() {
    let c = cluster();
    let (_d, root) = quick_app();
    assert_eq!(c.deploy(&root, &[]).status.code(), Some(0));
    let claim_uid = c
        .api
        .get("persistentvolumeclaims", Some("todo"), "postgres-data")
        .unwrap()["metadata"]["uid"]
        .clone();
    // An older todo-dev selected the backend's pods by another label.
    let mut old = c.api.get("deployments", Some("todo"), "backend").unwrap();
    old["spec"]["selector"]["matchLabels"]["tier"] = "api".into();
    old["spec"]["template"]["metadata"]["labels"]["tier"] = "api".into();
    c.api.insert(old);
    let before_frontend = c.api.get("deployments", Some("todo"), "frontend").unwrap()["metadata"]
        ["resourceVersion"]
        .clone();

    let out = c.deploy(&root, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Deployment/backend")
            && err.contains("spec.selector")
            && err.contains("immutable")
            && err.contains("--recreate backend"),
        "{err}"
    );
    assert!(
        c.api.requests().iter().all(|r| r.method != "DELETE"),
        "nothing pruned"
    );
    assert_eq!(
        c.api.get("deployments", Some("todo"), "frontend").unwrap()["metadata"]["resourceVersion"],
        before_frontend,
        "everything else kept as it was"
    );

    let out = c.deploy(&root, &["--recreate", "backend", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "recreate" && e["object"] == "Deployment/backend"),
        "{ev:#?}"
    );
    let backend = c.api.get("deployments", Some("todo"), "backend").unwrap();
    assert!(backend["spec"]["selector"]["matchLabels"]["tier"].is_null());
    assert_eq!(
        c.api
            .get("persistentvolumeclaims", Some("todo"), "postgres-data")
            .unwrap()["metadata"]["uid"],
        claim_uid,
        "never a claim"
    );
    let deletes: Vec<_> = c
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert!(
        deletes.len() == 1 && deletes[0].path.ends_with("/deployments/backend"),
        "{:?}",
        deletes.iter().map(|d| &d.path).collect::<Vec<_>>()
    );
}

#[test]
fn recreate_names_a_workload_of_the_render() {
    let c = cluster();
    let (_d, root) = quick_app();
    let out = c.deploy(&root, &["--recreate", "postgres-data"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("postgres-data") && err.contains("backend") && err.contains("frontend"),
        "{err}"
    );
    assert!(c.api.requests().iter().all(|r| r.method != "DELETE"));
}

// ---- 9. down --stop / --delete-cluster ------------------------------------------------

#[test]
fn down_stop_removes_the_stack_then_stops_the_cluster() {
    let c = cluster();
    let (_d, root) = quick_app();
    assert_eq!(c.deploy(&root, &[]).status.code(), Some(0));
    let out = c
        .cmd(&root, &["down", "--stop"])
        .env("FAKE_MINIKUBE_DEFAULT_STATE", "running")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(c.api.get("deployments", Some("todo"), "backend").is_none());
    assert!(
        c.minikube_calls().contains("stop -p minikube"),
        "{}",
        c.minikube_calls()
    );
    assert!(stdout(&out).contains("stopped"), "{}", show(&out));
}

#[test]
fn down_delete_cluster_needs_yes_without_a_terminal() {
    let c = cluster();
    let (_d, root) = quick_app();
    let out = c
        .cmd(&root, &["down", "--delete-cluster"])
        .env("FAKE_MINIKUBE_DEFAULT_STATE", "running")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("--yes"), "{}", show(&out));
    assert!(!c.minikube_calls().contains("delete"));

    let out = c
        .cmd(&root, &["down", "--delete-cluster", "--yes"])
        .env("FAKE_MINIKUBE_DEFAULT_STATE", "running")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(c.minikube_calls().contains("delete -p minikube"));
    let status = Command::new(support::fake_bin().join("minikube"))
        .args(["status", "-p", "minikube", "-o", "json"])
        .env(
            "FAKE_MINIKUBE_HOME",
            c.sb.home.path().join(".fake-minikube"),
        )
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(85), "the cluster is gone");
}

// ---- Ctrl-C: the object in flight finishes, nothing after it is applied ----

/// Runs `deploy --json`, sends SIGINT once `ready_to_interrupt` holds for
/// an event, and returns the exit code, every event and stderr.
fn deploy_interrupted(
    c: &Cluster,
    root: &Path,
    ready_to_interrupt: impl Fn(&Value) -> bool,
) -> (Option<i32>, Vec<Value>, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = c
        .cmd(root, &["deploy", "--json", "--timeout", "120"])
        .env("FAKE_MINIKUBE_STATE", "running")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut events = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let now = ready_to_interrupt(&e);
        events.push(e);
        if now {
            let kill = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(kill.success());
            break;
        }
    }
    events.extend(
        lines
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok()),
    );
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), events, err)
}

#[test]
fn ctrl_c_during_an_apply_finishes_that_object_and_applies_nothing_after_it() {
    let c = cluster();
    // The Ingress is refused (webhook not ready) for 3 s: Ctrl-C comes in that time.
    c.api.set_ingress_webhook_ready_in(Duration::from_secs(3));
    let (_d, root) = quick_app();
    let (code, ev, err) = deploy_interrupted(&c, &root, |e| e["event"] == "apply.retry");
    assert_eq!(code, Some(130), "{ev:#?}\n{err}");
    let done = ev
        .iter()
        .find(|e| e["event"] == "deploy.interrupted")
        .unwrap_or_else(|| panic!("what was applied is said: {ev:#?}"));
    let applied: Vec<&str> = done["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let not_applied: Vec<&str> = done["notApplied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The object in flight finished once the webhook answered ...
    assert_eq!(applied.last(), Some(&"Ingress/todo"), "{done}");
    assert!(applied.contains(&"Deployment/backend"), "{done}");
    assert!(c.api.get("ingresses", Some("todo"), "todo").is_some());
    // ... and the ones after it were never sent.
    assert_eq!(
        not_applied,
        [
            "PodDisruptionBudget/frontend",
            "PodDisruptionBudget/backend"
        ]
    );
    for name in ["frontend", "backend"] {
        assert!(c
            .api
            .get("poddisruptionbudgets", Some("todo"), name)
            .is_none());
    }
    assert!(
        !ev.iter().any(|e| e["event"] == "rollout"),
        "nothing waited for: {ev:#?}"
    );
    assert!(err.contains("interrupted"), "{err}");
}

#[test]
fn ctrl_c_while_waiting_for_rollouts_says_everything_was_applied_and_exits_130() {
    let c = cluster();
    // Pods take a minute to become ready: Ctrl-C comes while they are waited for.
    c.api.set_ready_delay(Duration::from_secs(60));
    let (_d, root) = quick_app();
    let (code, ev, err) = deploy_interrupted(&c, &root, |e| e["event"] == "rollout");
    assert_eq!(code, Some(130), "{ev:#?}\n{err}");
    let done = ev
        .iter()
        .find(|e| e["event"] == "deploy.interrupted")
        .unwrap_or_else(|| panic!("{ev:#?}"));
    assert_eq!(done["notApplied"], serde_json::json!([]), "{done}");
    assert_eq!(done["applied"].as_array().unwrap().len(), 16, "{done}");
    assert!(!ev.iter().any(|e| e["event"] == "deploy.done"), "{ev:#?}");
}
