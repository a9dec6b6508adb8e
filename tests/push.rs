//! `build` with a registry (`deploy.registry` / `--registry`): images pushed
//! through a real Docker engine to real registries (Debian's docker-registry,
//! started by scripts/test.sh: plain HTTP, and TLS with htpasswd), only what
//! the registry lacks, answered with digest references that pull back the
//! very image built. A small fake registry in this file gives the refusals
//! the reference one does not (403, 413, name unknown, a digest that moves).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use support::apiserver::FakeApiServer;
use support::{docker, docker_host_or_skip, stderr, stdout, Sandbox};

fn registries_or_skip(test: &str) -> Option<(String, String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let all = (
        get("TODO_DEV_TEST_REGISTRY"),
        get("TODO_DEV_TEST_TLS_REGISTRY"),
        get("TODO_DEV_TEST_REGISTRY_USER"),
        get("TODO_DEV_TEST_REGISTRY_PASSWORD"),
    );
    match all {
        (Some(a), Some(b), Some(c), Some(d)) => Some((a, b, c, d)),
        _ if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: TODO_DEV_TEST_REGISTRY and friends are unset (scripts/test.sh starts the registries)")
        }
        _ => {
            eprintln!("SKIPPED {test}: no test registries (run scripts/test.sh)");
            None
        }
    }
}

/// A name no earlier run used, so a registry's earlier content is no help.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// A one-service project built from scratch (no base image needed) with
/// `marker` in it, so each test's image is its own.
fn project(image: &str, marker: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("backend")).unwrap();
    std::fs::write(p.join("backend/marker.txt"), marker).unwrap();
    std::fs::write(
        p.join("backend/Dockerfile"),
        "FROM scratch\nCOPY marker.txt /\n",
    )
    .unwrap();
    std::fs::write(
        p.join("todo-dev.yaml"),
        format!("profile: lite\nservices:\n  frontend: {{enabled: false}}\n  backend:\n    image: {image}\n"),
    )
    .unwrap();
    dir
}

struct Run {
    sb: Sandbox,
    docker_config: tempfile::TempDir,
    host: String,
}

impl Run {
    fn new(host: &str) -> Run {
        let docker_config = tempfile::tempdir().unwrap();
        std::fs::write(docker_config.path().join("config.json"), "{}").unwrap();
        Run {
            sb: Sandbox::new(&[]),
            docker_config,
            host: host.to_string(),
        }
    }

    fn config(&self, json: &str) {
        std::fs::write(self.docker_config.path().join("config.json"), json).unwrap();
    }

    fn build(&self, dir: &Path, registry: &str) -> Output {
        self.sb
            .todo_dev(dir, &["build", "--json", "--registry", registry])
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.docker_config.path())
            .output()
            .unwrap()
    }
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn event(out: &Output, name: &str) -> serde_json::Value {
    events(out)
        .into_iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} in:\n{}\n{}", stdout(out), stderr(out)))
}

fn basic(user: &str, password: &str) -> String {
    let out = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{user}:{password}").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    stdout(&out)
}

fn image_id(host: &str, image: &str) -> String {
    let out = docker(host, &["image", "inspect", "--format", "{{.Id}}", image]);
    assert!(out.status.success(), "{image}: {}", stderr(&out));
    stdout(&out).trim().to_string()
}

#[test]
fn pushes_only_what_the_registry_lacks_and_pulls_back_by_digest() {
    let test = "pushes_only_what_the_registry_lacks_and_pulls_back_by_digest";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some((plain, ..)) = registries_or_skip(test) else {
        return;
    };
    let run = Run::new(&host);
    let repo = unique("tdpush");
    let dir = project(&repo, &repo);
    let registry = format!("{plain}/team");

    let out = run.build(dir.path(), &registry);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let local = event(&out, "build.done")["image"]
        .as_str()
        .unwrap()
        .to_string();
    let tag = local.rsplit_once(':').unwrap().1.to_string();
    let done = event(&out, "push.done");
    assert_eq!(done["result"], "pushed", "{done}");
    let reference = done["reference"].as_str().unwrap().to_string();
    let prefix = format!("{plain}/team/{repo}:{tag}@sha256:");
    assert!(reference.starts_with(&prefix), "{reference}");
    assert_eq!(
        event(&out, "push.target")["credentials"],
        serde_json::Value::Null
    );

    // Again: the registry has that tag, so nothing is sent, same digest.
    let again = run.build(dir.path(), &registry);
    assert!(again.status.success(), "{}", stderr(&again));
    let done = event(&again, "push.done");
    assert_eq!(done["result"], "already-there", "{done}");
    assert_eq!(done["reference"], reference.as_str());

    // Pulled by digest with no local copy left, it is the image that was built.
    let built_id = image_id(&host, &local);
    for img in [local.clone(), format!("{plain}/team/{repo}:{tag}")] {
        assert!(docker(&host, &["rmi", &img]).status.success());
    }
    let pulled = docker(&host, &["pull", &reference]);
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(image_id(&host, &reference), built_id);
    docker(&host, &["rmi", &reference]);
}

#[test]
fn a_tls_registry_with_htpasswd_takes_the_docker_config_credentials() {
    let test = "a_tls_registry_with_htpasswd_takes_the_docker_config_credentials";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some((_, tls, user, password)) = registries_or_skip(test) else {
        return;
    };
    let run = Run::new(&host);
    let repo = unique("tdtls");
    let dir = project(&repo, &repo);
    let said = |out: &Output| format!("{}{}", stdout(out), stderr(out));

    // No credentials: named, with the fix, and nothing pushed.
    let out = run.build(dir.path(), &tls);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let failed = event(&out, "push.failed");
    assert!(
        failed["error"].as_str().unwrap().contains(&format!(
            "registry {tls} asks for credentials and the Docker config has none for it"
        )),
        "{failed}"
    );
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains(&format!("docker login {tls}")));

    // Wrong ones: refused, named.
    run.config(&format!(
        r#"{{"auths": {{"{tls}": {{"auth": "{}"}}}}}}"#,
        basic(&user, "not-the-password")
    ));
    let out = run.build(dir.path(), &tls);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        said(&out).contains(&format!("registry {tls} refused the credentials")),
        "{}",
        said(&out)
    );

    // The right ones from `auths`: pushed, and the password is in no output.
    run.config(&format!(
        r#"{{"auths": {{"https://{tls}": {{"auth": "{}"}}}}}}"#,
        basic(&user, &password)
    ));
    let out = run.build(dir.path(), &tls);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(event(&out, "push.done")["result"], "pushed");
    assert!(event(&out, "push.target")["credentials"]
        .as_str()
        .unwrap()
        .contains("auths"));
    assert!(!said(&out).contains(&password), "{}", said(&out));

    // From a credential helper, as the docker CLI runs it (`get`, host on stdin).
    let helper = run.sb.bin.path().join("docker-credential-tdtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r host\n[ \"$host\" = '{tls}' ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$host\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    run.config(&format!(r#"{{"credHelpers": {{"{tls}": "tdtest"}}}}"#));
    let repo2 = unique("tdhelper");
    let dir2 = project(&repo2, &repo2);
    let out = run.build(dir2.path(), &tls);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(event(&out, "push.done")["result"], "pushed");
    assert_eq!(
        event(&out, "push.target")["credentials"],
        "docker-credential-tdtest"
    );
    assert!(!said(&out).contains(&password));
}

#[test]
fn a_registry_that_is_down_or_untrusted_is_named() {
    let test = "a_registry_that_is_down_or_untrusted_is_named";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some((_, tls, ..)) = registries_or_skip(test) else {
        return;
    };
    let run = Run::new(&host);
    let repo = unique("tddown");
    let dir = project(&repo, &repo);

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let out = run.build(dir.path(), &down);
    assert_eq!(out.status.code(), Some(1));
    let error = event(&out, "push.failed")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains(&format!("registry {down} does not answer")),
        "{error}"
    );

    // The TLS registry under a name whose certs.d has no CA: not trusted.
    let port = tls.rsplit_once(':').unwrap().1;
    let untrusted = format!("localhost:{port}");
    let out = run.build(dir.path(), &untrusted);
    assert_eq!(out.status.code(), Some(1));
    let error = event(&out, "push.failed")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("TLS certificate is not trusted")
            && error.contains(&format!("/etc/docker/certs.d/{untrusted}/ca.crt")),
        "{error}"
    );
}

/// What the fake registry answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 403 to everything below /v2/NAME/.
    Denied,
    /// Blob uploads fail with 413.
    TooLarge,
    /// Uploads say NAME_UNKNOWN.
    NameUnknown,
    /// Takes the push, then serves another digest for the tag.
    DigestMoves,
}

/// A registry just good enough for the Docker daemon's push, answering as `mode` says.
fn fake_registry(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let pushed = Arc::new(Mutex::new(false));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten().take(200) {
            let pushed = pushed.clone();
            std::thread::spawn(move || serve(conn, mode, &pushed));
        }
    });
    addr
}

fn serve(conn: TcpStream, mode: Mode, pushed: &Mutex<bool>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if h == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let moved = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let (status, headers, text): (&str, Vec<String>, String) = if path == "/v2/" {
            ("200 OK", vec![], "{}".into())
        } else if mode == Mode::Denied {
            ("403 Forbidden", vec![], r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#.into())
        } else if path.contains("/manifests/") && method == "HEAD" {
            match (mode, *pushed.lock().unwrap()) {
                (Mode::DigestMoves, true) => (
                    "200 OK",
                    vec![format!("Docker-Content-Digest: {moved}")],
                    String::new(),
                ),
                _ => ("404 Not Found", vec![], String::new()),
            }
        } else if path.contains("/manifests/") && method == "PUT" {
            *pushed.lock().unwrap() = true;
            let digest = format!("sha256:{:064x}", body.len());
            (
                "201 Created",
                vec![
                    format!("Docker-Content-Digest: {digest}"),
                    "Location: /v2/x/manifests/y".into(),
                ],
                String::new(),
            )
        } else if path.contains("/blobs/uploads") {
            match (mode, method) {
                (Mode::NameUnknown, _) => ("404 Not Found", vec![], r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#.into()),
                (Mode::TooLarge, "PATCH" | "PUT") => ("413 Request Entity Too Large", vec![], "too large".into()),
                (_, "POST" | "PATCH") => ("202 Accepted", vec!["Location: /v2/x/blobs/uploads/1".into(), "Range: 0-0".into(), "Docker-Upload-UUID: 1".into()], String::new()),
                (_, _) => ("201 Created", vec!["Location: /v2/x/blobs/sha256:1".into()], String::new()),
            }
        } else if path.contains("/blobs/") && mode == Mode::DigestMoves {
            // "Already there": the daemon goes straight to the manifest.
            let digest = path.rsplit('/').next().unwrap_or_default();
            (
                "200 OK",
                vec![format!("Docker-Content-Digest: {digest}")],
                String::new(),
            )
        } else {
            ("404 Not Found", vec![], String::new())
        };
        let mut reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nDocker-Distribution-Api-Version: registry/2.0\r\n",
            if method == "HEAD" { 0 } else { text.len() }
        );
        for h in headers {
            reply.push_str(&h);
            reply.push_str("\r\n");
        }
        reply.push_str("\r\n");
        if method != "HEAD" {
            reply.push_str(&text);
        }
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn each_refusal_names_the_registry_and_the_image() {
    let Some(host) = docker_host_or_skip("each_refusal_names_the_registry_and_the_image") else {
        return;
    };
    let run = Run::new(&host);
    let repo = unique("tdrefuse");
    let dir = project(&repo, &repo);
    for (mode, words) in [
        (Mode::Denied, vec!["denies pull", "(403)", "push access"]),
        (Mode::TooLarge, vec!["413", "body size limit"]),
        (Mode::NameUnknown, vec!["name unknown", "create it first"]),
        (
            Mode::DigestMoves,
            vec!["but the registry now serves sha256:0000"],
        ),
    ] {
        let registry = fake_registry(mode);
        let out = run.build(dir.path(), &registry);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let failed = event(&out, "push.failed");
        let error = failed["error"].as_str().unwrap();
        assert_eq!(failed["service"], "backend");
        assert!(error.contains(&registry), "{error}");
        for w in words {
            assert!(
                error.to_ascii_lowercase().contains(&w.to_ascii_lowercase()),
                "`{w}` in: {error}"
            );
        }
        let image = match mode {
            // Refused at the registry's door: the repository it was asked about.
            Mode::Denied => format!("`{repo}`"),
            _ => format!("{registry}/{repo}:td-"),
        };
        assert!(error.contains(&image), "names the image: {error}");
    }
}

#[test]
fn doctor_checks_the_registry_reach_credentials_and_push() {
    let test = "doctor_checks_the_registry_reach_credentials_and_push";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some((_, tls, user, password)) = registries_or_skip(test) else {
        return;
    };
    let run = Run::new(&host);
    let dir = project(&unique("tddoctor"), "doctor");
    let doctor = |registry: &str| {
        let out = run
            .sb
            .todo_dev(dir.path(), &["doctor", "--json", "--registry", registry])
            .env("DOCKER_HOST", &host)
            .env("DOCKER_CONFIG", run.docker_config.path())
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
        let get = |id: &str| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("no {id} in {report:#}"))
        };
        (get("registry.reach"), get("registry.push"))
    };

    let (reach, push) = doctor(&tls);
    assert_eq!(reach["status"], "missing", "{reach}");
    assert!(reach["fix"]
        .as_str()
        .unwrap()
        .contains(&format!("docker login {tls}")));
    assert_eq!(push["status"], "skipped");

    run.config(&format!(
        r#"{{"auths": {{"{tls}": {{"auth": "{}"}}}}}}"#,
        basic(&user, &password)
    ));
    let (reach, push) = doctor(&tls);
    assert_eq!(reach["status"], "ok", "{reach}");
    assert_eq!(push["status"], "ok", "{push}");
    let text = format!("{reach}{push}");
    assert!(!text.contains(&password), "{text}");

    // A registry that lets us in but denies the push: named, with the fix.
    let denied = fake_registry(Mode::Denied);
    let (reach, push) = doctor(&denied);
    assert_eq!(reach["status"], "ok", "{reach}");
    assert_eq!(push["status"], "fail", "{push}");
    assert!(
        push["detail"].as_str().unwrap().contains("denies push"),
        "{push}"
    );
    assert!(
        push["fix"].as_str().unwrap().contains("push access"),
        "{push}"
    );
}

/// `project` in profile standard (in-cluster Postgres: nothing else to set).
fn standard_project(image: &str, marker: &str) -> tempfile::TempDir {
    let dir = project(image, marker);
    let yaml = dir.path().join("todo-dev.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("profile: lite", "profile: standard")).unwrap();
    dir
}

#[test]
fn deploy_up_and_down_run_the_pushed_digests_with_a_pull_secret_of_the_users_credentials() {
    let test =
        "deploy_up_and_down_run_the_pushed_digests_with_a_pull_secret_of_the_users_credentials";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some((_, tls, user, password)) = registries_or_skip(test) else {
        return;
    };
    let run = Run::new(&host);
    run.config(&format!(
        r#"{{"auths": {{"{tls}": {{"auth": "{}"}}}}}}"#,
        basic(&user, &password)
    ));
    let repo = unique("tdcluster");
    let dir = standard_project(&repo, &repo);
    let api = FakeApiServer::start();
    let kubeconfig = api.write_kubeconfig(run.sb.home.path(), "minikube");
    let minikube_log = run.sb.home.path().join("minikube.log");
    let todo = |args: &[&str]| {
        run.sb
            .todo_dev(dir.path(), args)
            .env("KUBECONFIG", &kubeconfig)
            .env("FAKE_MINIKUBE_STATE", "running")
            .env("FAKE_MINIKUBE_LOG", &minikube_log)
            .env("DOCKER_HOST", &host)
            .env("DOCKER_CONFIG", run.docker_config.path())
            .output()
            .unwrap()
    };
    let said = |out: &Output| format!("{}{}", stdout(out), stderr(out));
    let backend = || api.get("deployments", Some("todo"), "backend");

    // Nothing pushed yet: deploy stops before applying anything, with the fix.
    let out = todo(&["deploy", "--json", "--registry", &tls]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr(&out).contains(&format!("{tls} has no {tls}/{repo}:"))
            && stderr(&out).contains("todo-dev build"),
        "{}",
        said(&out)
    );
    assert!(
        api.get("namespaces", None, "todo").is_none(),
        "nothing applied"
    );

    // build pushes; deploy runs exactly those digests and pulls with the user's credentials.
    let out = run.build(dir.path(), &tls);
    assert!(out.status.success(), "{}", said(&out));
    let reference = event(&out, "push.done")["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let out = todo(&["deploy", "--json", "--registry", &tls]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(!said(&out).contains(&password), "the password leaked");
    let pod = &backend().unwrap()["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], reference.as_str(), "{pod}");
    assert!(reference.contains("@sha256:"), "{reference}");
    assert_eq!(
        pod["imagePullSecrets"],
        serde_json::json!([{"name": "todo-registry"}])
    );
    let secret = api.get("secrets", Some("todo"), "todo-registry").unwrap();
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(
        secret["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "todo-dev"
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let config: serde_json::Value = serde_json::from_slice(
        &b64.decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let auths = config["auths"].as_object().unwrap();
    assert_eq!(
        auths.keys().collect::<Vec<_>>(),
        [&tls],
        "that registry only"
    );
    let entry = &auths[&tls];
    assert_eq!(
        (entry["username"].as_str(), entry["password"].as_str()),
        (Some(user.as_str()), Some(password.as_str()))
    );
    assert_eq!(entry["auth"], basic(&user, &password).trim());
    // Postgres comes from Docker Hub, not through the project's credentials.
    let pg = api.get("deployments", Some("todo"), "postgres").unwrap();
    assert!(pg["spec"]["template"]["spec"]["imagePullSecrets"].is_null());

    // A source change: up builds on this machine's daemon, pushes and rolls the new digest.
    std::fs::write(dir.path().join("backend/marker.txt"), format!("{repo} v2")).unwrap();
    let out = todo(&["up", "--json", "--registry", &tls]);
    assert!(out.status.success(), "{}", said(&out));
    let second = event(&out, "push.done");
    assert_eq!(second["result"], "pushed", "{second}");
    let rolled = backend().unwrap()["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_eq!(rolled, second["reference"], "{}", said(&out));
    assert_ne!(rolled, reference.as_str());

    // Another cluster: no registry is refused before anything; with one, no minikube call.
    std::fs::write(&minikube_log, "").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let shared = api.write_kubeconfig(elsewhere.path(), "shared");
    let up_shared = |registry: Option<&str>| {
        let mut args = vec!["up", "--json", "--context", "shared", "--allow-remote"];
        if let Some(r) = registry {
            args.extend(["--registry", r]);
        }
        run.sb
            .todo_dev(dir.path(), &args)
            .env("KUBECONFIG", &shared)
            .env("FAKE_MINIKUBE_LOG", &minikube_log)
            .env("DOCKER_HOST", &host)
            .env("DOCKER_CONFIG", run.docker_config.path())
            .output()
            .unwrap()
    };
    let out = up_shared(None);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        stderr(&out).contains("set deploy.registry"),
        "{}",
        said(&out)
    );
    let out = up_shared(Some(&tls));
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(event(&out, "push.done")["result"], "already-there");
    assert_eq!(
        std::fs::read_to_string(&minikube_log).unwrap_or_default(),
        "",
        "minikube was called for another cluster"
    );

    // down removes the pull Secret with everything else.
    let out = todo(&["down", "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(api.get("secrets", Some("todo"), "todo-registry").is_none());
}
