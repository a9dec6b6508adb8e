//! The dev loop through the Kubernetes API, against the fake API server:
//! syncing files by exec (v5 and v4 WebSockets, an image without `tar`),
//! `logs -f` following a replaced pod, a restarted container and a crash
//! loop, `logs --since`, and `up --port-forward` carrying an HTTP request to
//! a real local server standing in for the pod's port (and a refused one).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{json, Value};
use support::apiserver::{Behavior, FakeApiServer};
use support::{stderr, Sandbox};
use todo_dev::container_exec::{framed_extract, ExecError, KubeExec, TAR_EXTRACT};
use todo_dev::sync::Applied;

const WAIT: Duration = Duration::from_secs(30);

async fn client(api: &FakeApiServer, dir: &Path) -> Client {
    let path = api.write_kubeconfig(dir, "minikube");
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    config.proxy_url = None;
    // The client todo-dev streams with (TCP_NODELAY), as `connect_streaming` makes it.
    todo_dev::cluster::kube::streaming_client(config).unwrap()
}

/// A running pod `backend-0` with one container `backend`.
async fn running_pod(api: &FakeApiServer, client: &Client) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "backend-0"},
        "spec": {"containers": [{"name": "backend", "image": "todo-backend:td-1"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    api.wait_for(WAIT, |a| {
        a.get("pods", Some("default"), "backend-0")
            .filter(|p| p["status"]["phase"] == "Running")
    })
    .expect("backend-0 running");
}

/// A tar as the sync stage makes it: paths relative to `/`, modes kept.
fn archive(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(*mode);
        h.set_uid(10001);
        h.set_cksum();
        b.append_data(&mut h, path, *content).unwrap();
    }
    b.into_inner().unwrap()
}

/// A sync's deletions and archive, into `pod`'s `container` by exec.
async fn sync_by_exec(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: &str,
    tar: &[u8],
    deletions: &[String],
) -> Result<Applied, ExecError> {
    let exec = KubeExec::new(client, namespace, pod, container);
    let archive = bytes::Bytes::copy_from_slice(tar);
    todo_dev::sync::apply(&exec, deletions, archive, &[]).await
}

fn command(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_sync_over_v5_sends_the_tar_byte_for_byte_and_removes_deleted_files() {
    let api = FakeApiServer::start();
    let home = tempfile::tempdir().unwrap();
    let client = client(&api, home.path()).await;
    running_pod(&api, &client).await;
    api.put_container_file("backend-0", "/app/app/old.py", b"gone soon");
    api.put_container_file("backend-0", "/app/app/olddir/x.py", b"gone too");
    // Big enough for many stdin frames.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let tar = archive(&[
        ("app/app/main.py", b"print('v2')\n", 0o644),
        ("app/app/blob.bin", &big, 0o600),
    ]);
    let synced = sync_by_exec(
        &client,
        "default",
        "backend-0",
        "backend",
        &tar,
        &["/app/app/old.py".into(), "/app/app/olddir".into()],
    )
    .await
    .unwrap();
    assert_eq!(synced.tar_bytes, tar.len());
    assert_eq!(synced.deleted, 2);

    let execs = api.execs();
    assert_eq!(execs.len(), 2, "{execs:?}");
    assert_eq!(
        execs[0].command,
        command(&["rm", "-rf", "--", "/app/app/old.py", "/app/app/olddir"])
    );
    assert!(execs[0].stdin.is_empty());
    // The archive framed by its length: the remote side ends by itself.
    assert_eq!(execs[1].command, framed_extract(tar.len()));
    assert_eq!(execs[1].container, "backend");
    assert_eq!(execs[1].protocol, "v5.channel.k8s.io");
    assert!(execs[1].stdin == tar, "the tar stream arrived altered");
    assert_eq!(execs[1].exit_code, Some(0));
    assert!(execs[1].status_sent);

    assert_eq!(
        api.container_file("backend-0", "/app/app/main.py"),
        Some((0o644, b"print('v2')\n".to_vec()))
    );
    assert_eq!(
        api.container_file("backend-0", "/app/app/blob.bin"),
        Some((0o600, big))
    );
    assert_eq!(api.container_file("backend-0", "/app/app/old.py"), None);
    assert_eq!(
        api.container_file("backend-0", "/app/app/olddir/x.py"),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_without_tar_is_a_typed_error_saying_so() {
    let api = FakeApiServer::start();
    let home = tempfile::tempdir().unwrap();
    let client = client(&api, home.path()).await;
    running_pod(&api, &client).await;
    api.set_missing_programs("backend", &["tar"]);
    let tar = archive(&[("app/app/main.py", b"x = 1\n", 0o644)]);
    let err = sync_by_exec(&client, "default", "backend-0", "backend", &tar, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::NoTar { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("has no `tar`"), "{text}");
    assert!(
        text.contains("pod default/backend-0 (container backend)"),
        "{text}"
    );
    assert!(text.contains("rebuilds"), "{text}");
    assert_eq!(api.container_file("backend-0", "/app/app/main.py"), None);
}

/// Over v5 and over v4 alike: tar's exit status comes back with its words.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_archive_fails_with_tars_own_words() {
    for protocol in ["v5.channel.k8s.io", "v4.channel.k8s.io"] {
        let api = FakeApiServer::start();
        api.set_exec_protocols(&[protocol]);
        let home = tempfile::tempdir().unwrap();
        let client = client(&api, home.path()).await;
        running_pod(&api, &client).await;
        let err = sync_by_exec(
            &client,
            "default",
            "backend-0",
            "backend",
            &[b'x'; 1024],
            &[],
        )
        .await
        .unwrap_err();
        match &err {
            ExecError::Failed { message, .. } => {
                assert!(
                    message.contains("does not look like a tar archive"),
                    "{protocol}: {message}"
                );
                assert!(message.contains("exit code 2"), "{protocol}: {message}");
            }
            other => panic!("{protocol}: {other}"),
        }
    }
}

/// Kubernetes before 1.30 speaks only v4, where stdin ends only with the
/// whole socket: the archive is framed by its length, so tar's exit status
/// still comes back (a failure too: see above), and only an image without `sh` or
/// `head` falls back to plain tar, unconfirmed.
#[tokio::test(flavor = "multi_thread")]
async fn over_v4_the_framed_tar_keeps_its_exit_status() {
    let api = FakeApiServer::start();
    api.set_exec_protocols(&["v4.channel.k8s.io"]);
    let home = tempfile::tempdir().unwrap();
    let client = client(&api, home.path()).await;
    running_pod(&api, &client).await;
    api.put_container_file("backend-0", "/app/app/old.py", b"old");
    let tar = archive(&[("app/app/main.py", b"print('v4')\n", 0o644)]);
    let synced = sync_by_exec(&client, "default", "backend-0", "backend", &tar, &[])
        .await
        .unwrap();
    assert_eq!(synced.tar_bytes, tar.len());
    let execs = api.execs();
    assert_eq!(execs.len(), 1);
    assert_eq!(execs[0].protocol, "v4.channel.k8s.io");
    assert_eq!(execs[0].command, framed_extract(tar.len()));
    assert!(execs[0].stdin == tar);
    assert!(execs[0].status_sent, "the status came back over v4");
    assert_eq!(
        api.container_file("backend-0", "/app/app/main.py"),
        Some((0o644, b"print('v4')\n".to_vec()))
    );

    // An image without tar says so over v4 too.
    api.set_missing_programs("backend", &["tar"]);
    let err = sync_by_exec(&client, "default", "backend-0", "backend", &tar, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::NoTar { .. }), "{err}");

    // No `head` to frame with: plain tar, whose end is the socket's: the
    // files arrive, but over v4 the result is lost and the sync unconfirmed.
    api.set_missing_programs("backend", &["head"]);
    let before = api.execs().len();
    let err = sync_by_exec(&client, "default", "backend-0", "backend", &tar, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::Unconfirmed { .. }), "{err}");
    assert!(err.to_string().contains("v4.channel.k8s.io"), "{err}");
    let fallback = &api.execs()[before + 1];
    assert_eq!(fallback.command, command(&TAR_EXTRACT));
    assert!(fallback.stdin == tar && !fallback.stdin_closed_by_frame && !fallback.status_sent);

    // A deletion needs no stdin: its status arrives over v4 too.
    let done = sync_by_exec(
        &client,
        "default",
        "backend-0",
        "backend",
        &[],
        &["/app/app/old.py".into()],
    )
    .await
    .unwrap();
    assert_eq!(done.deleted, 1);
    assert_eq!(api.container_file("backend-0", "/app/app/old.py"), None);
}

/// Over v5 an image without `sh` still syncs: plain tar, ended by v5's
/// CLOSE frame for stdin.
#[tokio::test(flavor = "multi_thread")]
async fn over_v5_an_image_without_sh_syncs_with_plain_tar() {
    let api = FakeApiServer::start();
    let home = tempfile::tempdir().unwrap();
    let client = client(&api, home.path()).await;
    running_pod(&api, &client).await;
    api.set_missing_programs("backend", &["sh"]);
    let tar = archive(&[("app/app/main.py", b"print('v5')\n", 0o644)]);
    sync_by_exec(&client, "default", "backend-0", "backend", &tar, &[])
        .await
        .unwrap();
    let execs = api.execs();
    assert_eq!(execs.len(), 2, "{execs:?}");
    assert_eq!(execs[0].command, framed_extract(tar.len()));
    assert_eq!(execs[1].command, command(&TAR_EXTRACT));
    assert!(execs[1].stdin_closed_by_frame && execs[1].status_sent);
    assert_eq!(
        api.container_file("backend-0", "/app/app/main.py"),
        Some((0o644, b"print('v5')\n".to_vec()))
    );
}

// ---- whole commands -----------------------------------------------------------

/// The reference layout in `todo-app`, Dockerfiles that build in a blink.
fn reference_app() -> (tempfile::TempDir, PathBuf) {
    support::quick_app()
}

/// A child whose stdout lines arrive on a channel; killed on drop.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: std::process::Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// An event for which `want` is true, already read or still to come.
    fn expect_any(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let earlier = self
            .seen
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| want(v));
        match earlier {
            Some(v) => v,
            None => self.expect(what, want),
        }
    }

    /// An event for which `want` is true, read since the `mark`th line or still to come.
    fn expect_since(&mut self, mark: usize, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let earlier = self.seen[mark.min(self.seen.len())..]
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| want(v));
        match earlier {
            Some(v) => v,
            None => self.expect(what, want),
        }
    }

    /// The first JSON event (from now on) for which `want` is true.
    fn expect(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let end = std::time::Instant::now() + WAIT;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if want(&v) {
                            return v;
                        }
                    }
                }
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!(
            "no {what}; stdout so far:\n{}\nstderr:\n{err}",
            self.seen.join("\n")
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn backend_pods(api: &FakeApiServer) -> Vec<String> {
    api.list("pods", Some("todo"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == "backend")
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| p["status"]["phase"] == "Running")
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn logs_follow_attaches_the_pod_that_replaces_a_deleted_one() {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let (_d, root) = reference_app();
    let deployed = sb
        .todo_dev(&root, &["deploy", "--timeout", "60"])
        .env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_STATE", "running")
        .output()
        .unwrap();
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    let initial = backend_pods(&api);
    assert!(!initial.is_empty(), "no backend pod running");
    let first = initial[0].clone();

    // Without -f: the last line of each pod, then the command ends.
    let lines = logs_json(&sb, &root, &kubeconfig, &["backend", "--tail", "1"]);
    let mut pods: Vec<&str> = lines.iter().map(|e| e["pod"].as_str().unwrap()).collect();
    pods.sort();
    let mut want: Vec<&str> = initial.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(pods, want, "one line per pod: {lines:?}");
    for e in &lines {
        assert_eq!(e["event"], "log.line");
        assert!(
            e["line"]
                .as_str()
                .unwrap()
                .starts_with("INFO:     Uvicorn running on"),
            "{e}"
        );
    }
    let plain = sb
        .todo_dev(&root, &["logs", "--tail", "1"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let text = support::stdout(&plain);
    for pod in &initial {
        assert!(
            text.contains(&format!("backend {pod} | INFO:     Uvicorn running on")),
            "{text}"
        );
    }
    assert!(text.lines().any(|l| l.starts_with("frontend ")), "{text}");

    let mut cmd = sb.todo_dev(&root, &["logs", "backend", "-f", "--json"]);
    cmd.env("KUBECONFIG", &kubeconfig);
    let mut logs = Running::spawn(cmd);
    let is = |e: &Value, event: &str, pod: &str| {
        e["event"] == event && e["service"] == "backend" && e["pod"] == pod
    };
    // Every pod of the service is attached.
    let mut pending: Vec<String> = initial.clone();
    while !pending.is_empty() {
        let e = logs.expect("every pod attached", |e| {
            e["event"] == "log.attached" && pending.iter().any(|p| e["pod"] == p.as_str())
        });
        pending.retain(|p| e["pod"] != p.as_str());
    }
    // A line printed now arrives while following, with the runtime's time.
    api.append_log(&first, "GET /api/todos 200");
    let line = logs.expect("the appended line", |e| {
        is(e, "log.line", &first) && e["line"] == "GET /api/todos 200"
    });
    assert_eq!(line["container"], "backend");
    assert!(
        line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );

    // The pod is replaced: its stream ends, the new pod is attached.
    api.remove("pods", Some("todo"), &first);
    logs.expect("the deleted pod detached", |e| {
        is(e, "log.detached", &first)
    });
    let second = api
        .wait_for(WAIT, |a| {
            backend_pods(a).into_iter().find(|p| !initial.contains(p))
        })
        .expect("a replacement pod");
    logs.expect("the new pod attached", |e| is(e, "log.attached", &second));
    // A new pod is shown from its start: its startup lines come first.
    logs.expect("the new pod's startup line", |e| {
        is(e, "log.line", &second)
            && e["line"]
                .as_str()
                .is_some_and(|l| l.contains("Application startup complete"))
    });
    api.append_log(&second, "hello from the new pod");
    logs.expect("the new pod's line", |e| {
        is(e, "log.line", &second) && e["line"] == "hello from the new pod"
    });
}

/// `todo-dev logs ARGS --json`, which must succeed: its events.
fn logs_json(sb: &Sandbox, root: &Path, kubeconfig: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sb
        .todo_dev(root, &all)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    support::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Deploys the quick app to the fake cluster; the backend's pods behave as `backend`.
fn deployed(api: &FakeApiServer, sb: &Sandbox, root: &Path, backend: Option<Behavior>) -> PathBuf {
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let crash = backend.is_some();
    if let Some(b) = backend {
        api.set_behavior("backend", b);
    }
    let out = sb
        .todo_dev(root, &["deploy", "--timeout", "60"])
        .env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_STATE", "running")
        .output()
        .unwrap();
    // A crash loop fails the deploy; its objects are applied all the same.
    let want = if crash { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(want), "{}", stderr(&out));
    kubeconfig
}

/// A crash-looping container waits nearly all the time and may never be
/// seen running: each ended instance's log is printed once, marked.
#[test]
fn logs_follow_prints_each_ended_instance_of_a_crash_loop() {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let (_d, root) = reference_app();
    let crash = "ModuleNotFoundError: No module named 'app.main'";
    let kubeconfig = deployed(
        &api,
        &sb,
        &root,
        Some(Behavior::CrashLoop {
            exit_code: 1,
            reason: "Error".into(),
            logs: format!("Traceback (most recent call last):\n{crash}"),
        }),
    );
    let mut cmd = sb.todo_dev(&root, &["logs", "backend", "-f", "--json"]);
    cmd.env("KUBECONFIG", &kubeconfig);
    let mut logs = Running::spawn(cmd);
    let ended = logs.expect("an ended instance", |e| e["event"] == "log.ended");
    assert_eq!(
        (ended["exitCode"].as_i64(), ended["reason"].as_str()),
        (Some(1), Some("Error")),
        "{ended}"
    );
    let pod = ended["pod"].as_str().unwrap().to_string();
    let first = ended["restartCount"].as_i64().unwrap();
    let line = logs.expect("its last line", |e| {
        e["event"] == "log.line" && e["pod"] == pod.as_str() && e["line"] == crash
    });
    assert_eq!(line["previous"], true, "{line}");
    // The next crash of the same container is the next instance: printed too.
    logs.expect("the next instance of the same container", |e| {
        e["event"] == "log.ended"
            && e["pod"] == pod.as_str()
            && e["restartCount"].as_i64().is_some_and(|n| n > first)
    });
    // Once per instance.
    let mut instances: Vec<(String, i64)> = logs
        .seen
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "log.ended")
        .map(|e| {
            (
                e["pod"].as_str().unwrap().to_string(),
                e["restartCount"].as_i64().unwrap(),
            )
        })
        .collect();
    let printed = instances.len();
    instances.sort();
    instances.dedup();
    assert_eq!(
        printed,
        instances.len(),
        "an instance printed twice: {:?}",
        logs.seen
    );
    // Without -f: the ended instance's log, marked as the previous one.
    let plain = sb
        .todo_dev(&root, &["logs", "backend"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let text = support::stdout(&plain);
    assert!(
        text.contains(&format!("backend {pod} | (previous) {crash}")),
        "{text}"
    );
}

/// A followed log ends with its container (the kubelet's stream does); the
/// restarted container is a new stream, attached by its restart count.
#[test]
fn a_followed_log_ends_with_its_container_and_the_restart_is_attached() {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let (_d, root) = reference_app();
    let kubeconfig = deployed(&api, &sb, &root, None);
    let pod = backend_pods(&api)[0].clone();
    let mut cmd = sb.todo_dev(&root, &["logs", "backend", "-f", "--json"]);
    cmd.env("KUBECONFIG", &kubeconfig);
    let mut logs = Running::spawn(cmd);
    let is = |e: &Value, event: &str| e["event"] == event && e["pod"] == pod.as_str();
    logs.expect("attached", |e| is(e, "log.attached"));
    api.append_log(&pod, "before the restart");
    logs.expect("a line of the first instance", |e| {
        is(e, "log.line") && e["line"] == "before the restart"
    });
    let mark = logs.seen.len();
    api.restart_container("todo", &pod);
    logs.expect("the first instance's stream ended", |e| {
        is(e, "log.detached")
    });
    // The new instance may be attached before the old stream's end is read.
    logs.expect_since(mark, "the new instance attached", |e| is(e, "log.attached"));
    logs.expect_since(mark, "the new instance's startup line", |e| {
        is(e, "log.line")
            && e["line"]
                .as_str()
                .is_some_and(|l| l.contains("Application startup complete"))
    });
    api.append_log(&pod, "after the restart");
    logs.expect("a line of the new instance", |e| {
        is(e, "log.line") && e["line"] == "after the restart"
    });
    assert!(
        !logs.seen.iter().any(|l| l.contains("\"log.ended\"")),
        "an instance followed while it ran is not printed again: {:?}",
        logs.seen
    );
}

/// `--since` keeps only what the runtime recorded in that window.
#[test]
fn logs_since_keeps_only_recent_lines() {
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let (_d, root) = reference_app();
    let kubeconfig = deployed(&api, &sb, &root, None);
    let pod = backend_pods(&api)[0].clone();
    // The startup lines are older than the window asked for below.
    std::thread::sleep(Duration::from_secs(3));
    api.append_log(&pod, "a recent line");
    let lines: Vec<Value> = logs_json(&sb, &root, &kubeconfig, &["backend", "--since", "2s"])
        .into_iter()
        .filter(|e| e["pod"] == pod.as_str())
        .collect();
    let texts: Vec<&str> = lines.iter().filter_map(|e| e["line"].as_str()).collect();
    assert_eq!(texts, ["a recent line"], "{lines:#?}");
    // Without it the pod's whole log, startup lines first.
    let all = sb
        .todo_dev(&root, &["logs", "backend", "--json"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let text = support::stdout(&all);
    assert!(
        text.contains("Application startup complete") && text.contains("a recent line"),
        "{text}"
    );
}

#[test]
fn logs_of_an_unknown_service_is_a_usage_error() {
    let sb = Sandbox::new(&[]);
    let (_d, root) = reference_app();
    let out = sb.todo_dev(&root, &["logs", "backnd"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no service named `backnd`"), "{err}");
    assert!(err.contains("backend"), "{err}");
    let out = sb
        .todo_dev(&root, &["logs", "--since", "5x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown unit `x`"),
        "{}",
        stderr(&out)
    );
}

/// A one-request-at-a-time HTTP responder standing in for the backend's port.
fn http_responder() -> (std::net::SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let _ = tx.send(request_line.trim().to_string());
            let body = "{\"status\":\"ok\",\"from\":\"the pod\"}";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, rx)
}

#[test]
fn up_port_forward_carries_an_http_request_to_the_pod_and_moves_off_a_busy_port() {
    let Some((host, certs)) = support::tls_docker_or_skip(
        "up_port_forward_carries_an_http_request_to_the_pod_and_moves_off_a_busy_port",
    ) else {
        return;
    };
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let (_d, root) = reference_app();
    // Distinct ports from other tests; the backend's is taken here, so it must move.
    let (backend_port, frontend_port) = (38_421u16, 38_461u16);
    let busy = TcpListener::bind(("127.0.0.1", backend_port));
    let (backend_addr, requests) = http_responder();
    let (frontend_addr, _frontend_requests) = http_responder();
    api.set_port_target(backend_port, backend_addr);
    api.set_port_target(frontend_port, frontend_addr);
    let mut cmd = sb.todo_dev(
        &root,
        &[
            "up",
            "--port-forward",
            "--json",
            "--timeout",
            "60",
            "--set",
            &format!("services.backend.port={backend_port}"),
            "--set",
            &format!("services.frontend.port={frontend_port}"),
            "--set",
            "services.backend.replicas=1",
        ],
    );
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_DOCKER_HOST", &host)
        .env("FAKE_MINIKUBE_CERT_PATH", &certs);
    let mut up = Running::spawn(cmd);
    let ready = up.expect("the backend's forward", |e| {
        e["event"] == "forward.ready" && e["service"] == "backend"
    });
    assert_eq!(ready["pod_port"], backend_port);
    let url = ready["url"].as_str().unwrap().to_string();
    if busy.is_ok() {
        assert_eq!(ready["moved_from"], backend_port, "{ready}");
        assert_ne!(url, format!("http://127.0.0.1:{backend_port}"));
    }
    let local = url.trim_start_matches("http://").to_string();
    let get = |path: &str| {
        let mut conn = TcpStream::connect(&local).unwrap();
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        conn.read_to_string(&mut answer).unwrap();
        answer
    };
    let answer = get("/health");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer.ends_with("{\"status\":\"ok\",\"from\":\"the pod\"}"),
        "{answer}"
    );
    assert_eq!(requests.recv_timeout(WAIT).unwrap(), "GET /health HTTP/1.1");
    let first = backend_pods(&api);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        api.forwarded().last(),
        Some(&(first[0].clone(), backend_port))
    );

    // The pod is replaced: the next connection goes to the new one.
    api.remove("pods", Some("todo"), &first[0]);
    let second = api
        .wait_for(WAIT, |a| {
            a.list("pods", Some("todo")).into_iter().find(|p| {
                p["metadata"]["labels"]["app.kubernetes.io/name"] == "backend"
                    && p["metadata"]["name"] != first[0].as_str()
                    && p["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
        })
        .expect("a ready replacement pod");
    let second = second["metadata"]["name"].as_str().unwrap().to_string();
    let answer = get("/api/todos");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(
        requests.recv_timeout(WAIT).unwrap(),
        "GET /api/todos HTTP/1.1"
    );
    assert_eq!(api.forwarded().last(), Some(&(second, backend_port)));

    // Nothing listens on the pod's port any more: the kubelet sends its error
    // and closes; the local connection ends and the error is said.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    api.set_port_target(backend_port, closed);
    let answer = get("/health");
    assert_eq!(answer, "", "the local connection is closed, not answered");
    let problem = up.expect("the pod's refusal", |e| {
        e["event"] == "forward.problem" && e["service"] == "backend"
    });
    assert!(
        problem["message"]
            .as_str()
            .is_some_and(|m| m.contains("connect: connection refused")),
        "{problem}"
    );
    drop(busy);
}

#[test]
fn watch_forwards_ports_by_default_and_prints_new_log_lines_with_logs() {
    let Some((host, certs)) =
        support::tls_docker_or_skip("watch_forwards_ports_by_default_and_prints_new_log_lines")
    else {
        return;
    };
    let api = FakeApiServer::start();
    let sb = Sandbox::new(&[]);
    let kubeconfig = api.write_kubeconfig(sb.home.path(), "minikube");
    let (_d, root) = reference_app();
    let (backend_addr, requests) = http_responder();
    let backend_port = 38_521u16;
    api.set_port_target(backend_port, backend_addr);
    let mut cmd = sb.todo_dev(
        &root,
        &[
            "watch",
            "--json",
            "--logs",
            "--timeout",
            "60",
            "--set",
            &format!("services.backend.port={backend_port}"),
            "--set",
            "services.frontend.port=38561",
        ],
    );
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("FAKE_MINIKUBE_STATE", "running")
        .env("FAKE_MINIKUBE_DOCKER_HOST", &host)
        .env("FAKE_MINIKUBE_CERT_PATH", &certs);
    let mut watch = Running::spawn(cmd);
    // Frontend first, then the backend: the order they are listed in.
    watch.expect("the frontend's forward", |e| {
        e["event"] == "forward.ready" && e["service"] == "frontend"
    });
    let backend = watch.expect("the backend's forward", |e| {
        e["event"] == "forward.ready" && e["service"] == "backend"
    });
    watch.expect("the watcher ready", |e| e["event"] == "watch.ready");
    let pods = backend_pods(&api);
    assert!(!pods.is_empty());
    // --logs follows from now: the startup lines already printed are not repeated.
    for pod in &pods {
        watch.expect_any("each backend pod attached", |e| {
            e["event"] == "log.attached" && e["pod"] == pod.as_str()
        });
    }
    api.append_log(&pods[0], "POST /api/chat 200");
    let line = watch.expect("the new line", |e| {
        e["event"] == "log.line" && e["pod"] == pods[0].as_str()
    });
    assert_eq!(line["line"], "POST /api/chat 200", "{:#?}", watch.seen);

    let local = backend["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://");
    let mut conn = TcpStream::connect(local).unwrap();
    write!(conn, "GET /health HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(requests.recv_timeout(WAIT).unwrap(), "GET /health HTTP/1.0");
}
