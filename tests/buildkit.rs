//! BuildKit builds through a real Docker engine (started by scripts/test.sh):
//! cache mounts that outlive a build and stay out of the image, build
//! secrets that reach their step and no layer, and the legacy builder as the
//! fallback, said once.

mod support;

use std::path::Path;
use std::process::Output;

use support::{docker, docker_host_or_skip, stderr, stdout, Sandbox};

fn debian_image() -> String {
    std::env::var("TODO_DEV_TEST_DEBIAN_IMAGE")
        .unwrap_or_else(|_| "todo-dev-test/debian:bookworm".into())
}

/// A project whose only service is `backend`, built from `dockerfile`,
/// with `extra` appended to todo-dev.yaml.
fn project(dockerfile: &str, image: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("backend/app")).unwrap();
    std::fs::write(p.join("backend/app/main.py"), "print('v1')\n").unwrap();
    std::fs::write(p.join("backend/Dockerfile"), dockerfile).unwrap();
    std::fs::write(
        p.join("todo-dev.yaml"),
        format!("profile: lite\nservices:\n  frontend: {{enabled: false}}\n  backend:\n    image: {image}\n{extra}"),
    )
    .unwrap();
    dir
}

fn build(sb: &Sandbox, dir: &Path, host: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    let mut cmd = sb.todo_dev(dir, &all);
    cmd.env("DOCKER_HOST", host);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Everything a run printed (`--json` puts a failed build's error in an event).
fn said(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn built_image(out: &Output) -> String {
    let ev = events(out);
    let done = ev
        .iter()
        .find(|e| e["event"] == "build.done" && e["service"] == "backend")
        .unwrap_or_else(|| panic!("no build.done in {ev:#?}\n{}", stderr(out)));
    assert_eq!(done["result"], "built", "{done}");
    done["image"].as_str().unwrap().to_string()
}

/// `cat FILE` in a container of `image`.
fn cat(host: &str, image: &str, file: &str) -> String {
    let out = docker(host, &["run", "--rm", image, "cat", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// A name no earlier run on this daemon used (cache mounts are daemon-wide).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn a_cache_mount_outlives_the_build_and_stays_out_of_the_image() {
    let Some(host) =
        docker_host_or_skip("a_cache_mount_outlives_the_build_and_stays_out_of_the_image")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let id = unique("tdcache");
    // Each build counts itself in the cache and copies the count into the image.
    let dockerfile = format!(
        "FROM {}\nCOPY app /app\nRUN --mount=type=cache,id={id},target=/cache \\\n    n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; cp /cache/n /seen\n",
        debian_image()
    );
    let dir = project(&dockerfile, "todo-dev-test-bk-cache", "");
    let out = build(&sb, dir.path(), &host, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !events(&out).iter().any(|e| e["event"] == "build.builder"),
        "BuildKit is this daemon's builder: no fallback to say"
    );
    let first = built_image(&out);
    assert_eq!(cat(&host, &first, "/seen"), "1");
    let ls = docker(&host, &["run", "--rm", &first, "ls", "-A", "/cache"]);
    assert!(
        stdout(&ls).trim().is_empty(),
        "the cache is in the image: {}",
        stdout(&ls)
    );

    // A source change reruns the step with the cache the first build left.
    std::fs::write(dir.path().join("backend/app/main.py"), "print('v2')\n").unwrap();
    let out = build(&sb, dir.path(), &host, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let second = built_image(&out);
    assert_ne!(first, second);
    assert_eq!(cat(&host, &second, "/seen"), "2");
}

#[test]
fn build_secrets_reach_their_step_and_no_layer() {
    let Some(host) = docker_host_or_skip("build_secrets_reach_their_step_and_no_layer") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let token = unique("s3cr3t-index-token");
    let npmrc = format!(
        "//registry.example/:_authToken={}\n",
        unique("npm-file-secret")
    );
    // The step proves it read both values by storing their digests, not the
    // values; the run's own word in it, as BuildKit's cache ignores secrets.
    let word = unique("run");
    let dockerfile = format!(
        "FROM {}\nARG GREETING=hi\n\
         RUN --mount=type=secret,id=pip_token,required=true \\\n    \
             --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true \\\n    \
             echo {} && sha256sum /run/secrets/pip_token /root/.npmrc | cut -d' ' -f1 > /digests\n\
         COPY app /app\n",
        debian_image(),
        word
    );
    let dir = project(
        &dockerfile,
        "todo-dev-test-bk-secret",
        "build:\n  secrets:\n    pip_token: {env: TD_TEST_PIP_TOKEN}\n    npmrc: {file: secrets/npmrc}\n",
    );
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/npmrc"), &npmrc).unwrap();

    // The variable unset: refused before anything is sent, naming the id and the variable.
    // --force: the secrets do not go into the tag, so an earlier run's image would do.
    let out = build(&sb, dir.path(), &host, &[], &["--force"]);
    let err = said(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("build secret `pip_token` comes from $TD_TEST_PIP_TOKEN, which is not set"),
        "{err}"
    );

    let with_token = || {
        build(
            &sb,
            dir.path(),
            &host,
            &[("TD_TEST_PIP_TOKEN", &token)],
            &["--force"],
        )
    };
    let out = with_token();
    assert!(out.status.success(), "{}", stderr(&out));
    let image = built_image(&out);
    let digest = |s: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        stdout(&out).split(' ').next().unwrap().to_string()
    };
    assert_eq!(
        cat(&host, &image, "/digests"),
        format!("{}\n{}", digest(&token), digest(&npmrc)),
        "the step saw both secrets"
    );

    // In no layer, no history entry, no config, no log line, no JSON event.
    let saved = docker(&host, &["save", &image]);
    assert!(saved.status.success());
    let mut archive = tar::Archive::new(saved.stdout.as_slice());
    let mut layers = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        layers += usize::from(path.ends_with("layer.tar"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&token) && !text.contains(npmrc.trim()),
            "a secret is in {path} of the saved image"
        );
    }
    assert!(layers >= 2, "the saved image has {layers} layers");
    let history = stdout(&docker(&host, &["history", "--no-trunc", &image]));
    let config = stdout(&docker(&host, &["image", "inspect", &image]));
    assert!(history.contains("sha256sum"), "{history}");
    for text in [&history, &config, &stdout(&out), &stderr(&out)] {
        assert!(
            !text.contains(&token) && !text.contains(npmrc.trim()),
            "{text}"
        );
    }
    let log = std::fs::read_to_string(dir.path().join(".todo-dev/logs/build-backend.log")).unwrap();
    assert!(!log.contains(&token), "{log}");

    // Its steps stream as any BuildKit build's do: the step, its own output.
    let steps: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["event"] == "build.step")
        .map(|e| e["instruction"].as_str().unwrap().to_string())
        .collect();
    assert!(
        steps
            .iter()
            .any(|i| i.starts_with("RUN --mount=type=secret") && i.contains("sha256sum")),
        "{steps:?}"
    );
    assert!(steps.iter().any(|i| i.starts_with("COPY")), "{steps:?}");
    assert!(
        log.contains(&word),
        "the step's output is in the log: {log}"
    );

    // A failing step with a secret names its Dockerfile line.
    let failing = format!(
        "FROM {}\nARG GREETING=hi\nRUN --mount=type=secret,id=pip_token test ! -s /run/secrets/pip_token\n",
        debian_image()
    );
    std::fs::write(dir.path().join("backend/Dockerfile"), failing).unwrap();
    let out = with_token();
    let err = said(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("at Dockerfile line 3: [2/2] RUN --mount"),
        "{err}"
    );
    assert!(!err.contains(&token), "{err}");

    // The session over TLS, as `minikube docker-env` hands out its daemon.
    let Some((tls_host, certs)) = support::tls_docker_or_skip("build_secrets_over_tls") else {
        return;
    };
    // A new word: the step runs again, so the secrets are asked for over TLS.
    let again = dockerfile.replace(&word, &unique("tls"));
    std::fs::write(dir.path().join("backend/Dockerfile"), again).unwrap();
    let tls = [
        ("TD_TEST_PIP_TOKEN", token.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs.as_str()),
    ];
    let out = build(&sb, dir.path(), &tls_host, &tls, &["--force"]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        cat(&host, &built_image(&out), "/digests"),
        format!("{}\n{}", digest(&token), digest(&npmrc))
    );
}

#[test]
fn a_secret_the_project_does_not_declare_is_refused_with_its_line() {
    let Some(host) =
        docker_host_or_skip("a_secret_the_project_does_not_declare_is_refused_with_its_line")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dockerfile = "FROM scratch\nCOPY app /app\nRUN --mount=type=secret,id=gh_token true\n";
    let dir = project(dockerfile, "todo-dev-test-bk-undeclared", "");
    // The plan refuses it, so `render` (no daemon) does too.
    for args in [&["build"][..], &["render"][..]] {
        let out = sb
            .todo_dev(dir.path(), args)
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let dockerfile = dir.path().join("backend/Dockerfile");
        assert!(
            err.contains(&format!(
                "{} line 3 mounts build secret `gh_token`, which the project does not declare",
                dockerfile.display()
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("gh_token: {env: VARIABLE}"), "{err}");
    }

    // A declaration with both sources, or neither, is named by its key.
    std::fs::write(
        dir.path().join("todo-dev.yaml"),
        "profile: lite\nservices:\n  frontend: {enabled: false}\nbuild:\n  secrets:\n    gh_token: {env: A, file: b}\n",
    )
    .unwrap();
    let out = sb.todo_dev(dir.path(), &["render"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a configuration error");
    assert!(
        stderr(&out).contains("build.secrets.gh_token: give exactly one of `env` and `file`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_legacy_builder_is_said_once_and_keeps_templates_building() {
    let Some(host) =
        docker_host_or_skip("the_legacy_builder_is_said_once_and_keeps_templates_building")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let legacy = [("DOCKER_BUILDKIT", "0")];

    // A Dockerfile of the user's with a cache mount: the fix is named.
    let dockerfile = format!(
        "FROM {}\nRUN --mount=type=cache,target=/c true\n",
        debian_image()
    );
    let dir = project(&dockerfile, "todo-dev-test-bk-legacy", "");
    let out = build(&sb, dir.path(), &host, &legacy, &["--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let notes: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e["event"] == "build.builder")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["builder"], "legacy");
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap()
            .contains("DOCKER_BUILDKIT=0 asks for it"),
        "{notes:?}"
    );
    assert!(
        said(&out).contains("`RUN --mount` needs BuildKit"),
        "{}",
        said(&out)
    );

    // todo-dev's own template (cache mounts and all) builds there without them.
    let Ok(python) = std::env::var("TODO_DEV_TEST_PYTHON_IMAGE") else {
        eprintln!("SKIPPED the template half: TODO_DEV_TEST_PYTHON_IMAGE is not set (scripts/test.sh sets it)");
        return;
    };
    std::fs::remove_file(dir.path().join("backend/Dockerfile")).unwrap();
    std::fs::write(dir.path().join("backend/requirements.txt"), "").unwrap();
    std::fs::write(
        dir.path().join("todo-dev.yaml"),
        format!("profile: lite\nservices:\n  frontend: {{enabled: false}}\n  backend:\n    image: todo-dev-test-bk-legacy\n    buildArgs: {{PYTHON_IMAGE: \"{python}\"}}\n"),
    )
    .unwrap();
    let out = build(&sb, dir.path(), &host, &legacy, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let on_legacy = built_image(&out);
    // BuildKit gives the same tag: a cache mount is no input of the image.
    let out = build(&sb, dir.path(), &host, &[], &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(built_image(&out), on_legacy);
}

#[test]
fn an_outside_dockerfile_that_needs_buildkit_is_said_to_be_in_the_copy() {
    let Some(host) =
        docker_host_or_skip("an_outside_dockerfile_that_needs_buildkit_is_said_to_be_in_the_copy")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("frontend")).unwrap();
    std::fs::create_dir_all(p.join("deploy/docker/frontend")).unwrap();
    std::fs::write(p.join("frontend/index.html"), "<html></html>\n").unwrap();
    std::fs::write(p.join("frontend/.dockerignore"), "*.log\n").unwrap();
    std::fs::write(
        p.join("deploy/docker/frontend/Dockerfile"),
        format!(
            "FROM {}\nCOPY . /ctx/\nRUN --mount=type=cache,target=/c ls /ctx\n",
            debian_image()
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("todo-dev.yaml"),
        "profile: lite\nservices:\n  backend: {enabled: false}\n  frontend:\n    image: todo-dev-test-bk-outside\n    dockerfile: ../deploy/docker/frontend/Dockerfile\n",
    )
    .unwrap();
    let out = build(&sb, p, &host, &[], &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&out);
    let warning = ev
        .iter()
        .find(|e| e["event"] == "build.warning")
        .unwrap_or_else(|| panic!("no warning: {ev:#?}"));
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("is in what `COPY .` copies"),
        "{warning}"
    );
    let image = ev
        .iter()
        .find(|e| e["event"] == "build.done")
        .map(|e| e["image"].as_str().unwrap().to_string())
        .unwrap();
    let ls = stdout(&docker(&host, &["run", "--rm", &image, "ls", "-A", "/ctx"]));
    // .dockerignore is not sent to BuildKit (todo-dev applied it); the Dockerfile must be.
    assert!(
        ls.contains("index.html") && !ls.contains(".dockerignore"),
        "{ls}"
    );
    assert!(ls.contains(".dockerfile."), "{ls}");
}
