//! `todo-dev doctor` as a user runs it: against a real dockerd (plain and
//! TLS), with no daemon, with a fake minikube in each state, and with tools
//! missing from PATH.

mod support;

use std::net::TcpListener;
use std::time::Instant;

use support::{
    check, docker_host_or_skip, json, reference_project, stdout, tls_docker_or_skip, Sandbox,
};

/// A Docker address where nothing listens.
const NO_DAEMON: &str = "unix:///nonexistent/docker.sock";

#[test]
fn reports_a_real_daemon_with_version_and_resources() {
    let Some(host) = docker_host_or_skip("reports_a_real_daemon_with_version_and_resources") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let out = sb
        .todo_dev(project.path(), &["doctor", "--json"])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let report = json(&out);
    let daemon = check(&report, "docker.daemon");
    assert_eq!(daemon["status"], "ok", "{daemon:#}");
    let data = &daemon["data"];
    assert!(!data["serverVersion"].as_str().unwrap().is_empty());
    let api: Vec<u32> = data["apiVersion"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(api[0] == 1 && api[1] >= 41, "negotiated API {api:?}");
    assert!(data["cpus"].as_u64().unwrap() >= 1);
    assert!(data["memoryBytes"].as_u64().unwrap() > 0);
    assert_eq!(check(&report, "docker.cli")["status"], "ok");
    assert_eq!(check(&report, "docker.resources")["status"], "ok");
    assert_eq!(check(&report, "minikube.cli")["status"], "ok");
    assert_eq!(check(&report, "minikube.cluster")["status"], "ok");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(out.status.code(), Some(0));

    // The plain report says the same, one line a check.
    let out = sb
        .todo_dev(project.path(), &["doctor"])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let text = stdout(&out);
    let line = text.lines().find(|l| l.contains("Docker daemon")).unwrap();
    assert!(line.trim_start().starts_with("ok"), "{text}");
    assert!(
        line.contains(data["serverVersion"].as_str().unwrap()),
        "{line}"
    );
    assert!(text.contains("ready for `todo-dev up`"), "{text}");
}

#[test]
fn reaches_a_tls_daemon_as_minikube_docker_env_describes_it() {
    let Some((host, certs)) =
        tls_docker_or_skip("reaches_a_tls_daemon_as_minikube_docker_env_describes_it")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let run = |cert_path: &str| {
        let out = sb
            .todo_dev(project.path(), &["doctor", "--json"])
            .env("DOCKER_HOST", &host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", cert_path)
            .output()
            .unwrap();
        json(&out)
    };
    let report = run(&certs);
    let daemon = check(&report, "docker.daemon");
    assert_eq!(daemon["status"], "ok", "{daemon:#}");
    assert_eq!(daemon["data"]["tls"], true);
    assert_eq!(daemon["data"]["host"], host.as_str());

    let empty = tempfile::tempdir().unwrap();
    let report = run(empty.path().to_str().unwrap());
    let daemon = check(&report, "docker.daemon");
    assert_eq!(daemon["status"], "fail");
    assert!(
        daemon["detail"].as_str().unwrap().contains("ca.pem"),
        "{daemon:#}"
    );
    assert!(
        daemon["fix"].as_str().unwrap().contains("DOCKER_CERT_PATH"),
        "{daemon:#}"
    );
}

#[test]
fn without_a_daemon_it_says_so_with_a_fix_and_exits_1() {
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let out = sb
        .todo_dev(project.path(), &["doctor", "--json"])
        .env("DOCKER_HOST", NO_DAEMON)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["ok"], false);
    let daemon = check(&report, "docker.daemon");
    assert_eq!(daemon["status"], "missing");
    assert_eq!(daemon["required"], true);
    assert!(
        daemon["detail"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/docker.sock"),
        "{daemon:#}"
    );
    assert!(
        daemon["fix"].as_str().unwrap().contains("DOCKER_HOST"),
        "{daemon:#}"
    );
    assert_eq!(check(&report, "docker.resources")["status"], "skipped");
}

/// A daemon that accepts and never answers, and a minikube that hangs: the
/// probe deadlines must end doctor long before the 30 s the fakes would take.
#[test]
fn hanging_daemon_and_minikube_do_not_hang_doctor() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", listener.local_addr().unwrap());
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let started = Instant::now();
    let out = sb
        .todo_dev(project.path(), &["doctor", "--json"])
        .env("DOCKER_HOST", &host)
        .env("FAKE_MINIKUBE_STATE", "hang")
        .output()
        .unwrap();
    let took = started.elapsed();
    drop(listener);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1));
    let daemon = check(&report, "docker.daemon");
    assert_eq!(daemon["status"], "missing");
    assert!(
        daemon["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{daemon:#}"
    );
    let mk = check(&report, "minikube.cli");
    assert!(
        mk["detail"].as_str().unwrap().contains("took longer than"),
        "{mk:#}"
    );
    // Not a performance bound: without deadlines this takes 30 s or forever.
    assert!(took.as_secs() < 15, "doctor took {took:?}");
    eprintln!("doctor with a hanging daemon and minikube took {took:?}");
}

#[test]
fn reads_each_minikube_state_from_the_cli() {
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let log = sb.home.path().join("minikube.log");
    let run = |envs: &[(&str, &str)]| {
        let mut cmd = sb.todo_dev(project.path(), &["doctor", "--json"]);
        cmd.env("DOCKER_HOST", NO_DAEMON)
            .env("FAKE_MINIKUBE_LOG", &log);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        json(&cmd.output().unwrap())
    };
    // (fake minikube environment, expected status, words in detail or fix)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let table: &[Case] = &[
        (
            &[("FAKE_MINIKUBE_STATE", "running")],
            "ok",
            "is running (driver docker, container runtime docker)",
        ),
        (
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_CONTAINER_RUNTIME", "containerd"),
            ],
            // up copies the images in: said, with why
            "ok",
            "runs the `containerd` container runtime, which has no Docker daemon to build into: images are built on this machine's Docker and copied into the cluster with `minikube image load`",
        ),
        (
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_CONTAINER_RUNTIME", "cri-o"),
            ],
            "ok",
            "`cri-o` container runtime",
        ),
        (
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_NODES", "3"),
            ],
            "ok",
            "has 3 nodes, and an image built in one node's daemon would reach only that node",
        ),
        (
            // With a registry the nodes pull: any runtime will do.
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_CONTAINER_RUNTIME", "containerd"),
                ("TODO_DEV_REGISTRY", "127.0.0.1:1/team"),
            ],
            "ok",
            "container runtime containerd; its pods pull from 127.0.0.1:1/team",
        ),
        (&[("FAKE_MINIKUBE_STATE", "stopped")], "warning", "Stopped"),
        (
            &[("FAKE_MINIKUBE_STATE", "paused")],
            "warning",
            "minikube unpause",
        ),
        (
            &[("FAKE_MINIKUBE_STATE", "nonexistent")],
            "warning",
            "does not exist yet",
        ),
        (
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_DRIVER", "kvm2"),
            ],
            "warning",
            "`kvm2` driver",
        ),
        (
            &[
                ("FAKE_MINIKUBE_STATE", "running"),
                ("FAKE_MINIKUBE_MEMORY", "2048"),
            ],
            "warning",
            "minikube delete -p minikube",
        ),
    ];
    for (envs, status, words) in table {
        let report = run(envs);
        let c = check(&report, "minikube.cluster");
        assert_eq!(c["status"], *status, "{envs:?}: {c:#}");
        let text = format!("{} {}", c["detail"], c["fix"]);
        assert!(
            text.contains(words),
            "{envs:?}: expected `{words}` in {c:#}"
        );
        let mk = check(&report, "minikube.cli");
        assert_eq!(mk["data"]["version"], "v1.37.0");
    }
    let report = run(&[
        ("FAKE_MINIKUBE_STATE", "running"),
        ("FAKE_MINIKUBE_CONTAINER_RUNTIME", "containerd"),
    ]);
    assert_eq!(
        check(&report, "minikube.cluster")["data"]["containerRuntime"],
        "containerd"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("status -p minikube -o json"), "{calls}");
    assert!(calls.contains("profile list -o json"), "{calls}");

    // The cluster name comes from the project.
    let report = run(&[("FAKE_MINIKUBE_STATE", "running")]);
    assert!(check(&report, "minikube.cluster")["detail"]
        .as_str()
        .unwrap()
        .contains("`minikube`"));
    std::fs::write(
        project.path().join("todo-dev.yaml"),
        "cluster:\n  name: todo\n",
    )
    .unwrap();
    let report = run(&[("FAKE_MINIKUBE_STATE", "running")]);
    assert_eq!(check(&report, "minikube.cluster")["data"]["name"], "todo");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("status -p todo -o json"));
}

#[test]
fn tools_missing_from_path_are_named_with_how_to_install_them() {
    let sb = Sandbox::new(&[
        "docker",
        "minikube",
        "kubectl",
        "helm",
        "kubectl-ai",
        "kagent",
    ]);
    let project = reference_project();
    let out = sb
        .todo_dev(project.path(), &["doctor", "--json"])
        .env("DOCKER_HOST", NO_DAEMON)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    for (id, status, fix_words) in [
        ("docker.cli", "missing", "install Docker"),
        ("minikube.cli", "missing", "install minikube"),
        ("kubectl", "missing", "install kubectl"),
        ("helm", "warning", "helm"),
        ("ai.kubectl-ai", "warning", "optional"),
        ("ai.kagent", "warning", "optional"),
    ] {
        let c = check(&report, id);
        assert_eq!(c["status"], status, "{c:#}");
        assert!(c["fix"].as_str().unwrap().contains(fix_words), "{c:#}");
    }
    assert_eq!(check(&report, "minikube.cluster")["status"], "skipped");
    // Optional tools never block.
    for id in ["helm", "ai.kubectl-ai", "ai.kagent", "ai.docker-ai"] {
        assert_eq!(check(&report, id)["required"], false, "{id}");
    }

    let text = stdout(
        &sb.todo_dev(project.path(), &["doctor"])
            .env("DOCKER_HOST", NO_DAEMON)
            .output()
            .unwrap(),
    );
    let line = text.lines().position(|l| l.contains("docker CLI")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[line].trim_start().starts_with("missing"), "{text}");
    assert!(lines[line + 1].contains("fix:"), "{text}");
    assert!(
        text.contains("not ready; fix first: docker CLI, Docker daemon, minikube, kubectl"),
        "{text}"
    );
}

#[test]
fn external_database_profiles_need_database_url_and_never_print_it() {
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = sb.todo_dev(project.path(), &["doctor", "--json", "--profile", "lite"]);
        cmd.env("DOCKER_HOST", NO_DAEMON);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let report = json(&run(&[]));
    let s = check(&report, "project.secrets");
    assert_eq!(
        (s["status"].as_str(), s["required"].as_bool()),
        (Some("missing"), Some(true)),
        "{s:#}"
    );
    assert!(s["fix"]
        .as_str()
        .unwrap()
        .contains("--set database=in-cluster"));

    std::fs::write(
        project.path().join(".env"),
        "DATABASE_URL=postgresql://neon:hunter2-secret@ep-x.neon.tech/db\n",
    )
    .unwrap();
    let out = run(&[]);
    let report = json(&out);
    assert_eq!(check(&report, "project.secrets")["status"], "ok");
    let out_env = run(&[("OPENAI_API_KEY", "sk-live-abcdef")]);
    for o in [&out, &out_env] {
        let all = format!("{}{}", stdout(o), support::stderr(o));
        assert!(
            !all.contains("hunter2") && !all.contains("sk-live"),
            "secret leaked:\n{all}"
        );
    }
    assert!(check(&json(&out_env), "project.secrets")["detail"]
        .as_str()
        .unwrap()
        .contains("OPENAI_API_KEY"));

    // A provider whose key is missing stops the backend at start: doctor says so, required.
    let report = json(&run(&[("LLM_PROVIDER", "gemini")]));
    let s = check(&report, "project.secrets");
    assert_eq!(
        (s["status"].as_str(), s["required"].as_bool()),
        (Some("missing"), Some(true)),
        "{s:#}"
    );
    assert!(
        s["detail"].as_str().unwrap().contains("GEMINI_API_KEY")
            && s["fix"].as_str().unwrap().contains(".env"),
        "{s:#}"
    );
    let report = json(&run(&[
        ("LLM_PROVIDER", "gemini"),
        ("GEMINI_API_KEY", "gm-live-x"),
    ]));
    let s = check(&report, "project.secrets");
    assert_eq!(s["status"], "ok", "{s:#}");
    assert!(
        s["detail"].as_str().unwrap().contains("GEMINI_API_KEY"),
        "{s:#}"
    );
}

#[test]
fn judges_the_current_kube_context() {
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    let kube = sb.home.path().join(".kube");
    std::fs::create_dir_all(&kube).unwrap();
    let config = |ctx: &str, server: &str| {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {ctx}\nclusters:\n- name: {ctx}\n  cluster:\n    server: {server}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {ctx}\n    user: u\nusers:\n- name: u\n  user: {{}}\n"
        )
    };
    let run = || {
        json(
            &sb.todo_dev(project.path(), &["doctor", "--json"])
                .env("DOCKER_HOST", NO_DAEMON)
                .output()
                .unwrap(),
        )
    };

    assert!(check(&run(), "kube.context")["detail"]
        .as_str()
        .unwrap()
        .contains("no kubeconfig"));
    std::fs::write(
        kube.join("config"),
        config("minikube", "https://192.168.49.2:8443"),
    )
    .unwrap();
    let c = run();
    let c = check(&c, "kube.context");
    assert_eq!(
        (c["status"].as_str(), c["data"]["local"].as_bool()),
        (Some("ok"), Some(true)),
        "{c:#}"
    );
    std::fs::write(
        kube.join("config"),
        config("prod-eks", "https://ABC.gr7.eu-west-1.eks.amazonaws.com"),
    )
    .unwrap();
    let c = run();
    let c = check(&c, "kube.context");
    assert_eq!(c["status"], "warning");
    assert_eq!(c["data"]["local"], false);
    assert!(
        c["fix"].as_str().unwrap().contains("--allow-remote"),
        "{c:#}"
    );
}

#[test]
fn bad_configuration_stops_doctor_with_exit_2() {
    let sb = Sandbox::new(&[]);
    let project = reference_project();
    std::fs::write(
        project.path().join("todo-dev.yaml"),
        "profile: standard\nservices:\n  backend:\n    prot: 8000\n",
    )
    .unwrap();
    let out = sb.todo_dev(project.path(), &["doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(
        err.contains("todo-dev.yaml:4:5") && err.contains("did you mean `port`?"),
        "{err}"
    );
}
