//! The built-in Dockerfiles, built by `todo-dev build` from the fixture apps
//! on locally made base images (scripts/base-images.sh), then run: non-root
//! users, health endpoints, and nginx's /api/ proxy to BACKEND_URL.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use support::{docker, docker_host_or_skip, stderr, stdout, Sandbox};

struct BaseImages {
    python: String,
    node: String,
    nginx: String,
}

fn base_images_or_skip(test: &str) -> Option<BaseImages> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("TODO_DEV_TEST_PYTHON_IMAGE"),
        get("TODO_DEV_TEST_NODE_IMAGE"),
        get("TODO_DEV_TEST_NGINX_IMAGE"),
    ) {
        (Some(python), Some(node), Some(nginx)) => Some(BaseImages {
            python,
            node,
            nginx,
        }),
        _ if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: TODO_DEV_TEST_*_IMAGE unset under scripts/test.sh (see its base-images step)")
        }
        _ => {
            eprintln!("SKIPPED {test}: no local base images (run scripts/test.sh)");
            None
        }
    }
}

/// The example project's apps (examples/todo-app): a Vite SPA and a FastAPI backend.
fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/todo-app")
        .join(name)
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apps")
        .join(name)
}

fn built_images(out: &Output) -> Vec<(String, String)> {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "build.done")
        .map(|e| {
            (
                e["service"].as_str().unwrap().to_string(),
                e["image"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// GET http://ip:port/path -> (status, body), retried while the server starts.
fn http_get(ip: &str, port: u16, path: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = (|| -> std::io::Result<(u16, String)> {
            let mut s = std::net::TcpStream::connect((ip, port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            let status = text
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            Ok((
                status,
                text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
            ))
        })();
        match attempt {
            Ok(r) if r.0 != 0 => return r,
            _ if Instant::now() > deadline => panic!("no answer from {ip}:{port}{path}"),
            _ => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

fn container_ip(host: &str, name: &str, network: &str) -> String {
    let f = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    stdout(&docker(host, &["inspect", "-f", &f, name]))
        .trim()
        .to_string()
}

#[test]
fn templates_build_run_as_non_root_and_serve() {
    let test = "templates_build_run_as_non_root_and_serve";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(base) = base_images_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    support::copy_dir(&example("frontend"), &dir.path().join("frontend"));
    support::copy_dir(&example("backend"), &dir.path().join("backend"));
    support::copy_dir(&fixture("worker"), &dir.path().join("worker"));
    std::fs::write(
        dir.path().join("todo-dev.yaml"),
        format!(
            "profile: lite\nservices:\n  frontend:\n    image: tdt-vite\n    buildArgs: {{NODE_IMAGE: \"{n}\", NGINX_IMAGE: \"{x}\"}}\n  backend:\n    image: tdt-fastapi\n    buildArgs: {{PYTHON_IMAGE: \"{p}\"}}\n  mcp-server:\n    enabled: true\n    context: worker\n    image: tdt-worker\n    buildArgs: {{PYTHON_IMAGE: \"{p}\", WORKER_MODULE: app.worker}}\n",
            n = base.node, x = base.nginx, p = base.python
        ),
    )
    .unwrap();
    let out = sb
        .todo_dev(dir.path(), &["build", "--json"])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let images = built_images(&out);
    assert_eq!(images.len(), 3, "{images:?}");
    let image = |s: &str| images.iter().find(|(n, _)| n == s).unwrap().1.clone();
    for (service, img) in &images {
        let user = stdout(&docker(
            &host,
            &["image", "inspect", "-f", "{{.Config.User}}", img],
        ));
        let uid: u32 = user
            .trim()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{service}: user `{user}`"));
        assert_ne!(uid, 0, "{service} runs as root");
        let listing = stdout(&docker(
            &host,
            &[
                "run",
                "--rm",
                "--entrypoint",
                "/bin/sh",
                img,
                "-c",
                "ls -a / /app /srv/www 2>/dev/null; env",
            ],
        ));
        assert!(
            !listing.contains(".todo-dev"),
            "{service}: template files leaked into the image"
        );
    }

    // Run them: backend + worker + frontend on one network, frontend proxying /api/.
    let net = format!("tdt-net-{}", std::process::id());
    docker(&host, &["network", "create", &net]);
    let names = [
        format!("tdt-backend-{}", std::process::id()),
        format!("tdt-worker-{}", std::process::id()),
        format!("tdt-frontend-{}", std::process::id()),
    ];
    let run = |name: &str, img: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name, "--network", &net];
        args.extend_from_slice(extra);
        args.push(img);
        let o = docker(&host, &args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run(
        &names[0],
        &image("backend"),
        &["--network-alias", "backend"],
    );
    run(&names[1], &image("mcp-server"), &[]);
    run(
        &names[2],
        &image("frontend"),
        // As the pod runs it: a uid of 10000+ other than the image's, read-only root.
        &["--user", "10777:10777", "--read-only", "--tmpfs", "/tmp"],
    );
    let result = std::panic::catch_unwind(|| {
        let backend = container_ip(&host, &names[0], &net);
        assert_eq!(
            http_get(&backend, 8000, "/health"),
            (200, r#"{"status":"ok"}"#.to_string())
        );
        let worker = container_ip(&host, &names[1], &net);
        assert_eq!(http_get(&worker, 8001, "/health").0, 200);
        let front = container_ip(&host, &names[2], &net);
        assert_eq!(http_get(&front, 8080, "/healthz").0, 200);
        let (status, body) = http_get(&front, 8080, "/");
        assert_eq!(status, 200);
        assert!(body.to_lowercase().contains("<html"), "{body}");
        assert_eq!(
            http_get(&front, 8080, "/api/echo"),
            (200, r#"{"from":"backend"}"#.to_string())
        );
    });
    for n in &names {
        docker(&host, &["rm", "-f", n]);
    }
    docker(&host, &["network", "rm", &net]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn nextjs_and_static_frontends_pick_their_templates() {
    let test = "nextjs_and_static_frontends_pick_their_templates";
    let Some(host) = docker_host_or_skip(test) else {
        return;
    };
    let Some(base) = base_images_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    for (app, want_user) in [("nextjs", "10001"), ("static", "10001")] {
        let dir = tempfile::tempdir().unwrap();
        support::copy_dir(&fixture(app), &dir.path().join("frontend"));
        std::fs::create_dir_all(dir.path().join("backend")).unwrap();
        std::fs::write(
            dir.path().join("todo-dev.yaml"),
            format!("profile: lite\nservices:\n  frontend:\n    image: tdt-{app}\n    buildArgs: {{NODE_IMAGE: \"{}\", NGINX_IMAGE: \"{}\"}}\n", base.node, base.nginx),
        )
        .unwrap();
        let out = sb
            .todo_dev(dir.path(), &["build", "frontend", "--json"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{app}: {}", stderr(&out));
        let images = built_images(&out);
        let img = &images[0].1;
        let user = stdout(&docker(
            &host,
            &["image", "inspect", "-f", "{{.Config.User}}", img],
        ));
        assert!(user.trim().starts_with(want_user), "{app}: user {user}");
        let name = format!("tdt-{app}-{}", std::process::id());
        let net = format!("tdt-{app}-net-{}", std::process::id());
        docker(&host, &["network", "create", &net]);
        let o = docker(
            &host,
            // nginx resolves the backend host at start: give it one that resolves.
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                &net,
                "-e",
                "BACKEND_URL=http://127.0.0.1:8000",
                "--user",
                "10555:10555",
                "--read-only",
                "--tmpfs",
                "/tmp",
                img,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let ip = container_ip(&host, &name, &net);
        let path = if app == "static" { "/healthz" } else { "/" };
        let status = http_get(&ip, 8080, path).0;
        docker(&host, &["rm", "-f", &name]);
        docker(&host, &["network", "rm", &net]);
        assert_eq!(status, 200, "{app}");
    }
}
