//! `todo-dev build` and `todo-dev context` against a real Docker engine
//! (started by scripts/test.sh), over the local socket and over TLS.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use support::{docker, docker_host_or_skip, stderr, stdout, tls_docker_or_skip, Sandbox};

/// A locally made Debian image (scripts/base-images.sh) for Dockerfiles that RUN.
fn debian_image() -> String {
    std::env::var("TODO_DEV_TEST_DEBIAN_IMAGE")
        .unwrap_or_else(|_| "todo-dev-test/debian:bookworm".into())
}

/// A project whose only service is `backend`, built from `dockerfile`.
fn backend_project(dockerfile: &str, image: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("backend/app")).unwrap();
    std::fs::write(p.join("backend/app/main.py"), "print('v1')\n").unwrap();
    std::fs::write(p.join("backend/Dockerfile"), dockerfile).unwrap();
    std::fs::write(
        p.join("todo-dev.yaml"),
        format!("profile: lite\nservices:\n  frontend: {{enabled: false}}\n  backend:\n    image: {image}\n"),
    )
    .unwrap();
    dir
}

fn build(sb: &Sandbox, dir: &Path, host: &str, args: &[&str]) -> Output {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    sb.todo_dev(dir, &all)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap()
}

/// The JSON events of a `build --json` run.
fn events(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn done(events: &[serde_json::Value], service: &str) -> serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "build.done" && e["service"] == service)
        .cloned()
        .unwrap_or_else(|| panic!("no build.done for {service} in {events:#?}"))
}

fn image_exists(host: &str, image: &str) -> bool {
    docker(host, &["image", "inspect", image]).status.success()
}

#[test]
fn builds_once_then_skips_until_the_inputs_change() {
    let Some(host) = docker_host_or_skip("builds_once_then_skips_until_the_inputs_change") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY . /app\n", "todo-dev-test-skip");
    let out = build(&sb, dir.path(), &host, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = done(&events(&out), "backend");
    // Logs and caches stay out of the user's git.
    let gitignore = std::fs::read_to_string(dir.path().join(".todo-dev/.gitignore")).unwrap();
    assert!(
        gitignore.contains("logs/") && gitignore.contains("cache/"),
        "{gitignore}"
    );
    assert_eq!(first["result"], "built");
    let image = first["image"].as_str().unwrap().to_string();
    assert!(
        image.starts_with("todo-dev-test-skip:td-")
            && image.len() == "todo-dev-test-skip:td-".len() + 16,
        "{image}"
    );
    assert!(image_exists(&host, &image));
    let labels = stdout(&docker(
        &host,
        &["image", "inspect", "-f", "{{json .Config.Labels}}", &image],
    ));
    assert!(
        labels.contains("\"app.kubernetes.io/managed-by\":\"todo-dev\""),
        "{labels}"
    );

    let again = done(
        &events(&build(&sb, dir.path(), &host, &["--json"])),
        "backend",
    );
    assert_eq!(
        (again["result"].as_str(), again["image"].as_str()),
        (Some("unchanged"), Some(image.as_str()))
    );

    // A new mtime alone is no change; new contents are.
    let f = dir.path().join("backend/app/main.py");
    std::fs::File::options()
        .append(true)
        .open(&f)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    assert_eq!(
        done(
            &events(&build(&sb, dir.path(), &host, &["--json"])),
            "backend"
        )["result"],
        "unchanged"
    );
    std::fs::write(&f, "print('v2')\n").unwrap();
    let changed = done(
        &events(&build(&sb, dir.path(), &host, &["--json"])),
        "backend",
    );
    assert_eq!(changed["result"], "built");
    assert_ne!(changed["image"], image.as_str());
    let forced = done(
        &events(&build(&sb, dir.path(), &host, &["--json", "--force"])),
        "backend",
    );
    assert_eq!(
        (forced["result"].as_str(), forced["image"].as_str()),
        (Some("built"), changed["image"].as_str())
    );

    // Plain output: one line per service with its image.
    let out = build(&sb, dir.path(), &host, &[]);
    assert!(
        stderr(&out).contains(&format!("{} unchanged", changed["image"].as_str().unwrap())),
        "{}",
        stderr(&out)
    );
    for img in [image.as_str(), changed["image"].as_str().unwrap()] {
        docker(&host, &["rmi", img]);
    }
}

#[test]
fn builds_into_a_tls_daemon_as_minikube_hands_it_out() {
    let Some((host, certs)) =
        tls_docker_or_skip("builds_into_a_tls_daemon_as_minikube_hands_it_out")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY . /app\n", "todo-dev-test-tls");
    let out = sb
        .todo_dev(dir.path(), &["build", "--json", "--force"])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &certs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let d = done(&events(&out), "backend");
    assert_eq!(d["result"], "built");
    let image = d["image"].as_str().unwrap();
    let check = Command::new("docker")
        .args(["image", "inspect", image])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &certs)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn a_failing_step_shows_the_log_tail_and_leaves_no_tag() {
    let Some(host) = docker_host_or_skip("a_failing_step_shows_the_log_tail_and_leaves_no_tag")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dockerfile = format!(
        "FROM {}\nRUN for i in $(seq 1 80); do echo build-line-$i; done; echo the-last-words; exit 3\n",
        debian_image()
    );
    let dir = backend_project(&dockerfile, "todo-dev-test-fail");
    let out = build(&sb, dir.path(), &host, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("backend") && err.contains("failed"), "{err}");
    // BuildKit's words, and the step traced back to its Dockerfile line.
    assert!(
        err.contains("the-last-words") && err.contains("exit code: 3"),
        "{err}"
    );
    assert!(
        err.contains("at Dockerfile line 2: [2/2] RUN for i in"),
        "{err}"
    );
    assert!(
        !err.contains("build-line-20\n"),
        "only the tail is shown:\n{err}"
    );
    let log = dir.path().join(".todo-dev/logs/build-backend.log");
    assert!(err.contains(&log.display().to_string()), "{err}");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("build-line-1\n"));
    let tags = stdout(&docker(
        &host,
        &["images", "todo-dev-test-fail", "--format", "{{.Tag}}"],
    ));
    assert!(tags.trim().is_empty(), "a tag survived: {tags}");
    // No stopped build containers left behind.
    let left = stdout(&docker(
        &host,
        &[
            "ps",
            "-a",
            "--filter",
            "status=exited",
            "--format",
            "{{.Command}}",
        ],
    ));
    assert!(!left.contains("build-line"), "{left}");
}

#[test]
fn a_dockerfile_syntax_error_names_the_service_and_line() {
    let Some(host) = docker_host_or_skip("a_dockerfile_syntax_error_names_the_service_and_line")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nRUNN nothing\n", "todo-dev-test-syntax");
    let out = build(&sb, dir.path(), &host, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("service `backend`") && err.contains("unknown instruction"),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn a_service_with_no_dockerfile_and_no_template_is_named() {
    let Some(host) = docker_host_or_skip("a_service_with_no_dockerfile_and_no_template_is_named")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = support::reference_project();
    let out = build(&sb, dir.path(), &host, &["frontend"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("service `frontend`") && err.contains("no built-in template fits"),
        "{err}"
    );
    let out = build(&sb, dir.path(), &host, &["fronted"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `frontend`?"),
        "{}",
        stderr(&out)
    );
}

/// A daemon that answers the handshake, then drops the connection while the
/// context is being sent.
#[test]
fn a_daemon_that_goes_away_mid_build_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten().take(8) {
            std::thread::spawn(move || fake_daemon_connection(conn));
        }
    });
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY . /app\n", "todo-dev-test-gone");
    // Enough context that the upload is still going when the daemon leaves.
    std::fs::write(dir.path().join("backend/big.bin"), vec![7u8; 8 << 20]).unwrap();
    let out = build(&sb, dir.path(), &host, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("service `backend`") && err.contains("lost the Docker daemon"),
        "{err}"
    );
}

fn fake_daemon_connection(mut conn: std::net::TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
        let (status, body) = if path.contains("/build") {
            // Take a little of the context, then vanish.
            let _ = conn.read(&mut buf);
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        } else if path.contains("/version") {
            ("200 OK", r#"{"Version":"20.10.24","ApiVersion":"1.41"}"#)
        } else if path.contains("/info") {
            (
                "200 OK",
                r#"{"NCPU":2,"MemTotal":4000000000,"OperatingSystem":"fake"}"#,
            )
        } else {
            ("404 Not Found", r#"{"message":"No such image"}"#)
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nApi-Version: 1.41\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn warns_about_what_should_not_be_in_a_context() {
    let Some(host) = docker_host_or_skip("warns_about_what_should_not_be_in_a_context") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY app /app\n", "todo-dev-test-warn");
    std::fs::create_dir_all(dir.path().join("backend/.venv/lib")).unwrap();
    std::fs::write(dir.path().join("backend/.venv/lib/x.py"), "x").unwrap();
    std::fs::write(dir.path().join("backend/.env"), "OPENAI_API_KEY=sk-test").unwrap();
    // A .env in the context stops the build: secrets never reach an image.
    let out = build(&sb, dir.path(), &host, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let ignore = dir.path().join("backend/.dockerignore");
    assert!(
        err.contains("refusing to send secrets into an image"),
        "{err}"
    );
    assert!(
        err.contains(&format!("add `.env` to {}", ignore.display())),
        "{err}"
    );
    assert!(!err.contains("sk-test"));
    // Without it, the rest are warnings and the build goes on.
    std::fs::write(&ignore, ".env\n").unwrap();
    let out = build(&sb, dir.path(), &host, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("add `.venv` to {}", ignore.display())),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&ignore).unwrap();

    // The planner refuses, so every caller does: `context` as well as `build`.
    let out = sb
        .todo_dev(dir.path(), &["context", "backend", "--size"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the context holds `.env`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&ignore, ".env\n").unwrap();
    let ctx = stdout(
        &sb.todo_dev(dir.path(), &["context", "backend", "--size"])
            .output()
            .unwrap(),
    );
    assert!(ctx.contains("4 files"), "{ctx}");
    assert!(ctx.lines().any(|l| l.trim_end().ends_with(" app")), "{ctx}");
    assert!(ctx.contains("add `.venv`"), "{ctx}");

    // `.env.*` too, but not the committed templates.
    std::fs::write(&ignore, ".venv\n.env\n").unwrap();
    std::fs::write(dir.path().join("backend/app/.env.local"), "X=1").unwrap();
    let out = build(&sb, dir.path(), &host, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`app/.env.local`") && stderr(&out).contains("add `**/.env.local`"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(dir.path().join("backend/app/.env.local")).unwrap();
    std::fs::write(dir.path().join("backend/.env.example"), "X=").unwrap();
    let list = stdout(
        &sb.todo_dev(dir.path(), &["context", "backend", "--list"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        list,
        ".dockerignore\n.env.example\nDockerfile\napp/main.py\n"
    );

    // A built-in template is sent inside the context: --list shows it.
    std::fs::remove_file(dir.path().join("backend/Dockerfile")).unwrap();
    std::fs::write(dir.path().join("backend/requirements.txt"), "fastapi\n").unwrap();
    let list = stdout(
        &sb.todo_dev(dir.path(), &["context", "backend", "--list"])
            .output()
            .unwrap(),
    );
    assert!(
        list.lines().any(|l| l == ".todo-dev/template/Dockerfile")
            && list.lines().any(|l| l == "requirements.txt"),
        "{list}"
    );
}

#[test]
fn independent_services_build_together() {
    let Some(host) = docker_host_or_skip("independent_services_build_together") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY . /app\n", "todo-dev-test-par-backend");
    std::fs::create_dir_all(dir.path().join("frontend")).unwrap();
    std::fs::write(
        dir.path().join("frontend/Dockerfile"),
        "FROM scratch\nCOPY . /site\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("frontend/index.html"), "<h1>todo</h1>").unwrap();
    std::fs::write(
        dir.path().join("todo-dev.yaml"),
        "profile: lite\nservices:\n  backend: {image: todo-dev-test-par-backend}\n  frontend: {image: todo-dev-test-par-frontend}\n",
    )
    .unwrap();
    let out = build(&sb, dir.path(), &host, &["--json", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&out);
    for s in ["frontend", "backend"] {
        assert_eq!(done(&ev, s)["result"], "built");
    }
    // BuildKit has no step for `FROM scratch`: one COPY step each.
    for s in ["frontend", "backend"] {
        let step = ev
            .iter()
            .find(|e| e["event"] == "build.step" && e["service"] == s)
            .unwrap_or_else(|| panic!("no step event for {s}: {ev:#?}"));
        assert_eq!(
            step["instruction"].as_str().unwrap().split(' ').next(),
            Some("COPY")
        );
    }
}

/// A daemon whose disk is full: a second dockerd on a 48 MB tmpfs, and a
/// context bigger than that. Needs root (mount, dockerd), as under scripts/test.sh.
#[test]
fn a_full_disk_is_named_with_its_fix_and_leaves_no_tag() {
    let test = "a_full_disk_is_named_with_its_fix_and_leaves_no_tag";
    let Some(_host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(daemon) = SmallDaemon::start() else {
        assert!(
            std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_none(),
            "{test}: cannot start a small dockerd here"
        );
        eprintln!("SKIPPED {test}: cannot mount a tmpfs or start a second dockerd");
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = backend_project("FROM scratch\nCOPY . /app\n", "todo-dev-test-full");
    std::fs::write(dir.path().join("backend/big.bin"), vec![1u8; 96 << 20]).unwrap();
    let out = build(&sb, dir.path(), &daemon.host, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("service `backend`") && err.contains("no space left on device"),
        "{err}"
    );
    assert!(err.contains("docker system prune"), "{err}");
    let tags = stdout(&docker(
        &daemon.host,
        &["images", "todo-dev-test-full", "--format", "{{.Tag}}"],
    ));
    assert!(tags.trim().is_empty(), "a tag survived: {tags}");
}

/// A throwaway dockerd with its data on a small tmpfs; stopped and unmounted on drop.
struct SmallDaemon {
    host: String,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmallDaemon {
    fn start() -> Option<SmallDaemon> {
        let dir = tempfile::tempdir().ok()?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
            .arg(&data)
            .status()
            .ok()?;
        if !mounted.success() {
            return None;
        }
        let sock = dir.path().join("docker.sock");
        // Its own network namespace: a second dockerd would otherwise tear
        // down the docker0 bridge the test engine's builds use.
        let child = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg("--data-root")
            .arg(&data)
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--storage-driver",
                "vfs",
            ])
            .stdout(std::fs::File::create(dir.path().join("dockerd.log")).ok()?)
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let daemon = SmallDaemon {
            host: format!("unix://{}", sock.display()),
            dir,
            child,
        };
        for _ in 0..100 {
            if docker(&daemon.host, &["version"]).status.success() {
                return Some(daemon);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        None
    }
}

impl Drop for SmallDaemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path().join("data"))
            .status();
    }
}

/// Paths in an image's filesystem (via `docker create` + `docker export`).
fn image_files(host: &str, image: &str) -> Vec<String> {
    let name = format!("todo-dev-test-files-{}", std::process::id());
    let created = docker(host, &["create", "--name", &name, image, "/none"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let exported = Command::new("docker")
        .args(["export", &name])
        .env("DOCKER_HOST", host)
        .output()
        .unwrap();
    docker(host, &["rm", "-f", &name]);
    let mut archive = tar::Archive::new(exported.stdout.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn a_dockerfile_outside_the_context_builds_as_with_the_docker_cli() {
    let Some(host) =
        docker_host_or_skip("a_dockerfile_outside_the_context_builds_as_with_the_docker_cli")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Source plan 000's layout: deploy/docker/frontend/Dockerfile, context frontend/.
    std::fs::create_dir_all(p.join("frontend/big")).unwrap();
    std::fs::create_dir_all(p.join("deploy/docker/frontend")).unwrap();
    std::fs::write(p.join("frontend/index.html"), "<html></html>\n").unwrap();
    std::fs::write(p.join("frontend/notes.md"), "notes\n").unwrap();
    std::fs::write(p.join("frontend/big/blob.bin"), "blob\n").unwrap();
    std::fs::write(p.join("frontend/.dockerignore"), "big\n").unwrap();
    std::fs::write(
        p.join("deploy/docker/frontend/Dockerfile"),
        "FROM scratch\nCOPY . /ctx/\n",
    )
    .unwrap();
    std::fs::write(
        p.join("todo-dev.yaml"),
        "profile: lite\nservices:\n  backend: {enabled: false}\n  frontend:\n    image: todo-dev-test-outside\n    dockerfile: ../deploy/docker/frontend/Dockerfile\n",
    )
    .unwrap();
    let out = build(&sb, p, &host, &["--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let image = done(&events(&out), "frontend")["image"]
        .as_str()
        .unwrap()
        .to_string();
    let files = image_files(&host, &image);
    let has = |f: &str| files.iter().any(|x| x.trim_end_matches('/') == f);
    // The context's .dockerignore applies; the Dockerfile was read, then dropped.
    assert!(has("ctx/index.html") && has("ctx/notes.md"), "{files:?}");
    assert!(!has("ctx/big/blob.bin"), "{files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f.contains(".dockerfile.") || f.contains("Dockerfile")),
        "the Dockerfile leaked into the image: {files:?}"
    );

    // Its own ignore file beside it wins over the context's, as BuildKit reads it.
    std::fs::write(
        p.join("deploy/docker/frontend/Dockerfile.dockerignore"),
        "notes.md\n",
    )
    .unwrap();
    let out = build(&sb, p, &host, &["--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let second = done(&events(&out), "frontend")["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, image, "other rules, other inputs, other tag");
    let files = image_files(&host, &second);
    let has = |f: &str| files.iter().any(|x| x.trim_end_matches('/') == f);
    assert!(
        has("ctx/index.html") && has("ctx/big/blob.bin"),
        "{files:?}"
    );
    assert!(!has("ctx/notes.md"), "{files:?}");

    // `context --list` shows what the build sends, with the same rules.
    let listed = sb
        .todo_dev(p, &["context", "frontend", "--list"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = stdout(&listed);
    assert!(
        listed.contains("big/blob.bin") && !listed.contains("notes.md"),
        "{listed}"
    );
    for img in [image, second] {
        docker(&host, &["rmi", &img]);
    }
}
