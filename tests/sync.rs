//! Syncing into running containers of the real dockerd through Docker's
//! archive and exec APIs (what `watch` does with Minikube's docker runtime):
//! content, ownership and modes inside the container, a deletion, `run`
//! commands, an image built `FROM scratch` with no tar, shell or rm, and one
//! deletion through Docker and through the Kubernetes exec API.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use k8s_openapi::api::core::v1::Pod;
use support::apiserver::FakeApiServer;
use todo_dev::container_exec::{
    Command, ContainerExec, DockerExec, ExecError, Exit, KubeExec, Program, Stdin,
};
use todo_dev::docker::DockerEndpoint;
use todo_dev::project::model::SyncRule;
use todo_dev::sync::docker::{self, Target};
use todo_dev::sync::{self, SyncError, SyncPlan};

const UID: u32 = 10001;

/// `docker ARGS` on `host`, which must succeed; its stdout.
fn dk(host: &str, args: &[&str]) -> String {
    let out = support::docker(host, args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        support::stderr(&out)
    );
    support::stdout(&out)
}

/// A container (removed on drop) and the image it runs.
struct Running {
    host: String,
    id: String,
    image: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = support::docker(&self.host, &["rm", "-f", &self.id]);
        let _ = support::docker(&self.host, &["rmi", "-f", &self.image]);
    }
}

/// Builds `dockerfile` (with `files` beside it) as `tdsync-<pid>-<name>` and
/// starts it with a writable root filesystem, as `uid`, as the dev variant does.
fn start(host: &str, name: &str, dockerfile: &str, files: &[(&str, &Path)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (to, from) in files {
        std::fs::copy(from, dir.path().join(to)).unwrap();
    }
    let image = format!("tdsync-{}-{name}:test", std::process::id());
    dk(
        host,
        &["build", "-q", "-t", &image, dir.path().to_str().unwrap()],
    );
    let user = format!("{UID}:{UID}");
    let id = dk(host, &["run", "-d", "--user", &user, &image])
        .trim()
        .to_string();
    Running {
        host: host.to_string(),
        id,
        image,
    }
}

/// A static program that sleeps: the only thing in the scratch image.
fn sleeper(dir: &Path) -> PathBuf {
    let src = dir.join("sleeper.rs");
    std::fs::write(
        &src,
        "fn main() { loop { std::thread::sleep(std::time::Duration::from_secs(3600)); } }\n",
    )
    .unwrap();
    let bin = dir.join("sleeper");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .args(["-O", "-C", "target-feature=+crt-static", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    bin
}

fn client(host: &str) -> bollard::Docker {
    let endpoint = DockerEndpoint::from_vars(|k| (k == "DOCKER_HOST").then(|| host.to_string()));
    endpoint.client(Duration::from_secs(60)).unwrap()
}

fn rule(src: &str, dest: &str, run: Option<&str>) -> SyncRule {
    SyncRule {
        src: src.into(),
        dest: dest.into(),
        run: run.map(String::from),
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn sync(
    docker: &bollard::Docker,
    c: &Running,
    ctx: &Path,
    rules: &[SyncRule],
    changed: &[PathBuf],
) -> Result<(), SyncError> {
    let plan = SyncPlan::new(ctx, rules, changed)?;
    let tar = docker::archive(&plan, UID)?;
    let target = Target {
        pod: "todo/backend-test".into(),
        container_id: c.id.clone(),
    };
    docker::apply(docker, &target, &plan, tar.into(), UID).await
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_files_land_in_the_running_container_owned_by_its_user_and_deletions_go() {
    let Some(host) = support::docker_host_or_skip("sync") else {
        return;
    };
    // The app's code as the reference Dockerfile leaves it: owned by root.
    let c = start(
        &host,
        "py",
        "FROM todo-dev-test/debian:bookworm\nRUN mkdir -p /app/app && echo old > /app/app/main.py && echo keep > /app/app/old.py\nCMD [\"sleep\", \"infinity\"]\n",
        &[],
    );
    let docker = client(&host);
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path();
    write(&ctx.join("app/main.py"), "print('new')\n", 0o644);
    write(
        &ctx.join("app/routes/tasks.py"),
        "#!/usr/bin/env python3\n",
        0o750,
    );
    let rules = [rule(
        "app/**/*.py",
        "/app/app/",
        Some("echo ran > /tmp/ran"),
    )];
    let changed = [ctx.join("app/main.py"), ctx.join("app/routes/tasks.py")];
    sync(&docker, &c, ctx, &rules, &changed).await.unwrap();

    let inside = |cmd: &str| dk(&host, &["exec", &c.id, "sh", "-c", cmd]);
    assert_eq!(inside("cat /app/app/main.py"), "print('new')\n");
    assert_eq!(
        inside("stat -c '%u:%g %a' /app/app/main.py /app/app/routes/tasks.py /app/app"),
        "10001:10001 644\n10001:10001 750\n10001:10001 755\n",
        "owned by the pod's user, modes kept"
    );
    assert_eq!(
        inside("cat /tmp/ran"),
        "ran\n",
        "the rule's run command ran"
    );

    // Deleted locally: removed in the container (a file the image made, too).
    std::fs::remove_file(ctx.join("app/routes/tasks.py")).unwrap();
    let gone = [ctx.join("app/routes/tasks.py"), ctx.join("app/old.py")];
    sync(&docker, &c, ctx, &rules, &gone).await.unwrap();
    assert_eq!(
        inside("ls /app/app /app/app/routes"),
        "/app/app:\nmain.py\nroutes\n\n/app/app/routes:\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_from_scratch_without_tar_or_shell_is_synced_and_a_deletion_there_is_refused() {
    let Some(host) = support::docker_host_or_skip("sync") else {
        return;
    };
    let tools = tempfile::tempdir().unwrap();
    let bin = sleeper(tools.path());
    let c = start(
        &host,
        "scratch",
        "FROM scratch\nCOPY sleeper /sleeper\nCMD [\"/sleeper\"]\n",
        &[("sleeper", &bin)],
    );
    let docker = client(&host);
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path();
    write(&ctx.join("site/index.html"), "<h1>v2</h1>\n", 0o640);
    let rules = [rule("site/*.html", "/srv/www", None)];
    sync(&docker, &c, ctx, &rules, &[ctx.join("site/index.html")])
        .await
        .unwrap();

    // No shell to look with: read the file back through the archive API.
    let out = support::docker(
        &host,
        &["cp", &format!("{}:/srv/www/index.html", c.id), "-"],
    );
    assert!(out.status.success(), "{}", support::stderr(&out));
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let header = entry.header().clone();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    assert_eq!(text, "<h1>v2</h1>\n");
    assert_eq!(
        (header.uid().unwrap(), header.gid().unwrap()),
        (10001, 10001)
    );
    assert_eq!(header.mode().unwrap() & 0o777, 0o640);

    // A deletion needs `rm`, which this image does not have: said plainly.
    std::fs::remove_file(ctx.join("site/index.html")).unwrap();
    let err = sync(&docker, &c, ctx, &rules, &[ctx.join("site/index.html")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Exec(ExecError::NoRm { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("has no `rm`"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_that_is_gone_or_read_only_is_an_error_not_a_success() {
    let Some(host) = support::docker_host_or_skip("sync") else {
        return;
    };
    let docker = client(&host);
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path();
    write(&ctx.join("app/main.py"), "x = 1\n", 0o644);
    let rules = [rule("app/**/*.py", "/app/app/", None)];
    let changed = [ctx.join("app/main.py")];

    let c = start(
        &host,
        "gone",
        "FROM todo-dev-test/debian:bookworm\nCMD [\"sleep\", \"infinity\"]\n",
        &[],
    );
    dk(&host, &["rm", "-f", &c.id]);
    let err = sync(&docker, &c, ctx, &rules, &changed).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Exec(ExecError::ContainerGone { .. })),
        "{err:?}"
    );

    // The hardened objects `up` applies: Docker refuses the copy.
    let ro = start(
        &host,
        "ro",
        "FROM todo-dev-test/debian:bookworm\nCMD [\"sleep\", \"infinity\"]\n",
        &[],
    );
    dk(&host, &["rm", "-f", &ro.id]);
    let user = format!("{UID}:{UID}");
    let id = dk(
        &host,
        &["run", "-d", "--read-only", "--user", &user, &ro.image],
    )
    .trim()
    .to_string();
    let ro = Running {
        host: host.clone(),
        id,
        image: ro.image.clone(),
    };
    let err = sync(&docker, &ro, ctx, &rules, &changed).await.unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}

/// uvicorn's StatReload (the reloader when `watchfiles` is not installed,
/// as in the reference app): reload when the file's mtime is newer than the
/// last one seen. Two saves 100 ms apart within one wall-clock second must
/// both be served: synced files carry the sync's time to the nanosecond.
#[tokio::test(flavor = "multi_thread")]
async fn two_saves_within_one_second_are_both_seen_by_a_reloader_comparing_mtimes() {
    let Some(host) = support::docker_host_or_skip("sync statreload") else {
        return;
    };
    let Ok(python) = std::env::var("TODO_DEV_TEST_PYTHON_IMAGE") else {
        assert!(
            std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_none(),
            "TODO_DEV_TEST_PYTHON_IMAGE unset under scripts/test.sh (see its base-images step)"
        );
        eprintln!("SKIPPED sync statreload: TODO_DEV_TEST_PYTHON_IMAGE unset");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // StatReload's check, every 20 ms; each reload "serves" the file's content.
    let poll = dir.path().join("poll.py");
    std::fs::write(
        &poll,
        "import os, time\np = '/app/app/main.py'\nlast = os.stat(p).st_mtime\nopen('/tmp/ready', 'w').close()\nwhile True:\n    time.sleep(0.02)\n    try:\n        m = os.stat(p).st_mtime\n    except FileNotFoundError:\n        continue\n    if m > last:\n        last = m\n        with open(p) as f, open('/tmp/served', 'a') as out:\n            out.write(f.read())\n",
    )
    .unwrap();
    let c = start(
        &host,
        "statreload",
        &format!("FROM {python}\nRUN mkdir -p /app/app && echo v0 > /app/app/main.py\nCOPY poll.py /poll.py\nCMD [\"python3\", \"/poll.py\"]\n"),
        &[("poll.py", &poll)],
    );
    let docker = client(&host);
    let ctx = dir.path().join("ctx");
    let rules = [rule("app/**/*.py", "/app/app/", None)];
    let changed = [ctx.join("app/main.py")];
    // The reloader has taken its first look (python starts slowly on a busy machine).
    let mut ready = false;
    for _ in 0..200 {
        ready = support::docker(&host, &["exec", &c.id, "test", "-e", "/tmp/ready"])
            .status
            .success();
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the StatReload-style poller did not start");
    // Both saves in one second, as whole-second mtimes would make them equal.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 20_000_000,
    ))
    .await;
    write(&ctx.join("app/main.py"), "v1\n", 0o644);
    sync(&docker, &c, &ctx, &rules, &changed).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    write(&ctx.join("app/main.py"), "v2\n", 0o644);
    sync(&docker, &c, &ctx, &rules, &changed).await.unwrap();
    let mut served = String::new();
    for _ in 0..100 {
        let out = support::docker(&host, &["exec", &c.id, "cat", "/tmp/served"]);
        served = support::stdout(&out);
        if served.contains("v2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served, "v1\nv2\n", "both saves served, in order");
    let stamp = dk(
        &host,
        &["exec", &c.id, "stat", "-c", "%y", "/app/app/main.py"],
    );
    assert!(
        !stamp.contains(".000000000"),
        "the sync's time to the nanosecond: {stamp}"
    );
}

/// Every entry is stamped with the sync's time to the nanosecond, long and
/// multi-byte names included (they travel as GNU long names).
#[test]
fn the_archive_carries_the_sync_time_for_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path();
    let long = format!("app/{}.py", "ж".repeat(60));
    write(&ctx.join(&long), "x = 1\n", 0o644);
    write(&ctx.join("app/main.py"), "y = 2\n", 0o644);
    let rules = [rule("app/**/*.py", "/app/app/", None)];
    let plan = SyncPlan::new(ctx, &rules, &[ctx.join(&long), ctx.join("app/main.py")]).unwrap();
    let at = std::time::UNIX_EPOCH + Duration::new(1_796_506_645, 311_104_734);
    let tar = docker::archive_at(&plan, UID, at).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let pax: Vec<(String, String)> = entry
            .pax_extensions()
            .unwrap()
            .into_iter()
            .flatten()
            .map(|e| e.unwrap())
            .map(|e| (e.key().unwrap().to_string(), e.value().unwrap().to_string()))
            .collect();
        assert!(
            pax.contains(&("mtime".into(), "1796506645.311104734".into())),
            "{path}: {pax:?}"
        );
        files.push(path);
    }
    assert!(
        files.contains(&format!("app/app/{}.py", "ж".repeat(60))),
        "{files:?}"
    );
    assert!(files.contains(&"app/app/main.py".to_string()), "{files:?}");
}

/// The Kubernetes client todo-dev streams with, against the fake API server.
async fn kube_client(api: &FakeApiServer, dir: &Path) -> kube::Client {
    let path = api.write_kubeconfig(dir, "minikube");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let options = kube::config::KubeConfigOptions::default();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    config.proxy_url = None;
    todo_dev::cluster::kube::streaming_client(config).unwrap()
}

/// One deletion, written once: the same `rm -rf --` reaches a container by
/// Docker's exec API and one by the Kubernetes exec API, and a deleted
/// directory goes with its files on both.
#[tokio::test(flavor = "multi_thread")]
async fn the_same_deletion_is_the_same_command_through_docker_and_kubernetes() {
    let Some(host) = support::docker_host_or_skip("sync deletion") else {
        return;
    };
    let deletions = vec!["/app/app/old.py".to_string(), "/app/app/olddir".into()];
    let rm = ["rm", "-rf", "--", "/app/app/old.py", "/app/app/olddir"];

    // Docker: a container of the real dockerd, whose `rm` (first in PATH)
    // writes down its argv.
    let tools = tempfile::tempdir().unwrap();
    let recorder = tools.path().join("rm");
    write(
        &recorder,
        "#!/bin/sh\nprintf '%s\\n' rm \"$@\" > /tmp/argv\nexec /bin/rm \"$@\"\n",
        0o755,
    );
    let c = start(
        &host,
        "rm",
        "FROM todo-dev-test/debian:bookworm\nCOPY rm /usr/local/bin/rm\nRUN mkdir -p /app/app/olddir && touch /app/app/old.py /app/app/olddir/x.py /app/app/main.py && chown -R 10001:10001 /app\nCMD [\"sleep\", \"infinity\"]\n",
        &[("rm", &recorder)],
    );
    let docker = client(&host);
    let target = Target {
        pod: "todo/backend-test".into(),
        container_id: c.id.clone(),
    };
    let applied = sync::apply(&target.exec(&docker, UID), &deletions, Bytes::new(), &[])
        .await
        .unwrap();
    assert_eq!(applied.deleted, 2);
    let by_docker: Vec<String> = dk(&host, &["exec", &c.id, "cat", "/tmp/argv"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(by_docker, rm);
    assert_eq!(
        dk(&host, &["exec", &c.id, "ls", "-A", "/app/app"]),
        "main.py\n"
    );

    // Kubernetes: a pod of the fake API server.
    let api = FakeApiServer::start();
    let home = tempfile::tempdir().unwrap();
    let kube = kube_client(&api, home.path()).await;
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "backend-0"},
        "spec": {"containers": [{"name": "backend", "image": "todo-backend:td-1"}]}
    }))
    .unwrap();
    pods.create(&Default::default(), &pod).await.unwrap();
    api.wait_for(Duration::from_secs(30), |a| {
        a.get("pods", Some("default"), "backend-0")
            .filter(|p| p["status"]["phase"] == "Running")
    })
    .expect("backend-0 running");
    api.put_container_file("backend-0", "/app/app/olddir/x.py", b"gone");
    let exec = KubeExec::new(&kube, "default", "backend-0", "backend");
    sync::apply(&exec, &deletions, Bytes::new(), &[])
        .await
        .unwrap();
    let execs = api.execs();
    assert_eq!(execs.len(), 1, "{execs:?}");
    assert_eq!(execs[0].command, by_docker, "the same command on both");
    assert_eq!(
        api.container_file("backend-0", "/app/app/olddir/x.py"),
        None
    );
}

/// Docker's exec feeds stdin to its end, keeps stdout and stderr apart,
/// and its exit codes read as the Kubernetes API's do.
#[tokio::test(flavor = "multi_thread")]
async fn a_docker_exec_reads_its_stdin_and_reports_how_it_ended() {
    let Some(host) = support::docker_host_or_skip("docker exec") else {
        return;
    };
    let c = start(
        &host,
        "exec",
        "FROM todo-dev-test/debian:bookworm\nCMD [\"sleep\", \"infinity\"]\n",
        &[],
    );
    let exec = DockerExec::named(&client(&host), &c.id);
    let input = b"line one\nline two\n".repeat(5000);
    let argv = |v: &[&str]| -> Vec<String> { v.iter().map(|s| s.to_string()).collect() };
    let cat = Command {
        argv: argv(&["sh", "-c", "wc -c; echo done >&2"]),
        shown: "wc -c".into(),
        program: Program::Shell,
        stdin: Stdin::Closed(&input),
    };
    let ran = exec.run(&cat).await.unwrap();
    assert_eq!(ran.exit, Exit::Success);
    assert_eq!(ran.stdout.trim(), input.len().to_string());
    assert_eq!(ran.stderr, "done\n");

    let killed = Command {
        argv: argv(&["sh", "-c", "kill -9 $$"]),
        shown: "kill".into(),
        program: Program::Shell,
        stdin: Stdin::None,
    };
    assert_eq!(exec.run(&killed).await.unwrap().exit, Exit::Signal(9));
    let err = exec.check(&Command::shell("exit 3")).await;
    let err = err.unwrap_err().to_string();
    assert!(
        err.contains("failed in container") && err.contains("exit 3"),
        "{err}"
    );
    let ran = exec
        .run(&Command::new(argv(&["no-such-program"])))
        .await
        .unwrap();
    assert!(
        matches!(ran.exit, Exit::NotFound | Exit::NotExecutable),
        "{ran:?}"
    );
}
