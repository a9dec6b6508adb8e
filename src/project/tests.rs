//! Loading, merging and every bad-input case of the project model.

use std::path::Path;

use super::model::{ProfileSource, ServiceName, ServiceType};
use super::schema::{DatabaseMode, Millis, Quantity};
use super::{check_sources, load, ConfigError, LoadOptions, Project};

/// A project directory with the reference app's folders and these files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["frontend", "backend"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn load_in(dir: &Path, profile: Option<&str>, sets: &[&str]) -> Result<Project, ConfigError> {
    load(
        &LoadOptions {
            project_dir: None,
            profile: profile.map(str::to_string),
            sets: sets.iter().map(|s| s.to_string()).collect(),
        },
        dir,
    )
}

fn err_in(dir: &Path, profile: Option<&str>, sets: &[&str]) -> String {
    load_in(dir, profile, sets)
        .expect_err("should be rejected")
        .to_string()
}

fn names(p: &Project) -> Vec<&'static str> {
    p.services.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn without_a_config_file_the_standard_profile_and_reference_layout_apply() {
    let dir = project(&[]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert_eq!(p.profile.name, "standard");
    assert_eq!(p.profile.source, ProfileSource::Embedded);
    assert!(p.config_file.is_none());
    assert_eq!(names(&p), ["frontend", "backend"]);
    let backend = &p.services[1];
    assert_eq!(backend.context, dir.path().join("backend"));
    assert_eq!(
        (backend.image.as_str(), backend.port, backend.replicas),
        ("todo-backend", 8000, 2)
    );
    assert_eq!(backend.watch, vec![dir.path().join("backend")]);
    assert_eq!(p.database, DatabaseMode::InCluster);
    assert_eq!(p.access.ingress_host.as_deref(), Some("todo.local"));
    assert_eq!((p.cluster.cpus, p.cluster.memory_mib), (2, 4096));
    check_sources(&p).unwrap();
}

#[test]
fn every_shipped_profile_loads_with_its_topology() {
    let dir = project(&[]);
    let table: [(&str, &[&str], DatabaseMode, u32, &str); 5] = [
        (
            "standard",
            &["frontend", "backend"],
            DatabaseMode::InCluster,
            2,
            "todo",
        ),
        (
            "lite",
            &["frontend", "backend"],
            DatabaseMode::External,
            2,
            "todo",
        ),
        (
            "full",
            &["frontend", "backend", "mcp-server"],
            DatabaseMode::InCluster,
            4,
            "todo-phaseiv",
        ),
        (
            "agents",
            &["frontend", "backend", "mcp-server", "ai-agent"],
            DatabaseMode::External,
            4,
            "todo",
        ),
        (
            "classic",
            &["frontend", "backend"],
            DatabaseMode::External,
            2,
            "todo",
        ),
    ];
    for (name, services, db, cpus, ns) in table {
        let p = load_in(dir.path(), Some(name), &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(names(&p), services, "{name}");
        assert_eq!(p.database, db, "{name}");
        assert_eq!(p.cluster.cpus, cpus, "{name}");
        assert_eq!(p.namespace, ns, "{name}");
        assert!(!p.profile.summary.is_empty(), "{name} has a summary");
    }
    let full = load_in(dir.path(), Some("full"), &[]).unwrap();
    assert!(full.redis);
    assert_eq!(full.cluster.memory_mib, 8192);
    assert!(full.cluster.addons.contains(&"metrics-server".to_string()));
    let hpa = full.autoscaling.unwrap();
    assert_eq!((hpa.min_replicas, hpa.max_replicas), (2, 5));
    assert_eq!(hpa.services, [ServiceName::Frontend, ServiceName::Backend]);
    assert_eq!(full.access.ingress_host.as_deref(), Some("todo-app.local"));
    let classic = load_in(dir.path(), Some("classic"), &[]).unwrap();
    assert_eq!(classic.access.node_port, Some(30080));
    let ru = classic.rolling_update.unwrap();
    assert_eq!((ru.max_unavailable, ru.max_surge), (1, 1));
    assert_eq!(classic.services[0].replicas, 2);
    let agents = load_in(dir.path(), Some("agents"), &[]).unwrap();
    assert_eq!(
        (agents.access.service_type, agents.access.node_port),
        (ServiceType::NodePort, Some(30000))
    );
    assert_eq!(agents.service(ServiceName::AiAgent).unwrap().port, 8002);
    let lite = load_in(dir.path(), Some("lite"), &[]).unwrap();
    assert!(lite.services.iter().all(|s| s.replicas == 1));
}

#[test]
fn project_file_then_set_override_the_profile() {
    let dir = project(&[(
        "todo-dev.yaml",
        "profile: classic\nservices:\n  backend:\n    replicas: 4\n    buildArgs: {PYTHON_IMAGE: python:3.13-slim}\n    env: {LOG_LEVEL: debug}\n",
    )]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert_eq!(p.profile.name, "classic");
    assert_eq!(p.config_file, Some(dir.path().join("todo-dev.yaml")));
    assert_eq!(p.services[1].replicas, 4);
    assert_eq!(p.services[1].build_args["PYTHON_IMAGE"], "python:3.13-slim");
    let p = load_in(
        dir.path(),
        None,
        &[
            "services.backend.replicas=3",
            "cluster.memory=6g",
            "database=in-cluster",
        ],
    )
    .unwrap();
    assert_eq!(p.services[1].replicas, 3);
    assert_eq!(p.cluster.memory_mib, 6144);
    assert_eq!(p.database, DatabaseMode::InCluster);
    // --profile wins over the file, --set profile=... too.
    assert_eq!(
        load_in(dir.path(), Some("lite"), &[]).unwrap().profile.name,
        "lite"
    );
    assert_eq!(
        load_in(dir.path(), None, &["profile=full"])
            .unwrap()
            .profile
            .name,
        "full"
    );
}

#[test]
fn the_project_root_is_found_upward_and_can_be_given() {
    let dir = project(&[("todo-dev.yaml", "profile: lite\n")]);
    let nested = dir.path().join("backend/app/api");
    std::fs::create_dir_all(&nested).unwrap();
    let p = load_in(&nested, None, &[]).unwrap();
    assert_eq!(p.root, dir.path());
    assert_eq!(p.profile.name, "lite");
    let elsewhere = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        project_dir: Some(dir.path().into()),
        ..Default::default()
    };
    assert_eq!(load(&opts, elsewhere.path()).unwrap().profile.name, "lite");
    let opts = LoadOptions {
        project_dir: Some("nope".into()),
        ..Default::default()
    };
    let e = load(&opts, elsewhere.path()).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("no such directory"), "{e}");
}

#[test]
fn user_profiles_lay_over_shipped_ones_or_stand_alone() {
    let dir = project(&[
        (".todo-dev/profiles/standard.yaml", "cluster:\n  cpus: 6\n"),
        (
            ".todo-dev/profiles/tiny.yaml",
            "summary: one of each\nservices:\n  frontend: {replicas: 1}\n",
        ),
    ]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert_eq!(p.cluster.cpus, 6);
    assert_eq!(
        p.services[0].replicas, 2,
        "the rest of the shipped standard stays"
    );
    assert!(matches!(p.profile.source, ProfileSource::File(_)));
    let tiny = load_in(dir.path(), Some("tiny"), &[]).unwrap();
    assert_eq!(tiny.profile.summary, "one of each");
    assert_eq!(tiny.services[0].replicas, 1);
}

/// Each bad input and the words its error must contain.
#[test]
fn bad_inputs_get_pointed_errors() {
    // (case, todo-dev.yaml, --profile, --set args, words the error must contain)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a [&'a str],
        &'a [&'a str],
    );
    let table: &[Case] = &[
        (
            "unknown top-level key",
            "profile: lite\nreplicsa: 2\n",
            None,
            &[],
            &["todo-dev.yaml:2:1", "unknown key `replicsa`", "valid keys"],
        ),
        (
            "unknown nested key",
            "services:\n  backend:\n    replcas: 2\n",
            None,
            &[],
            &[
                "todo-dev.yaml:3:5",
                "unknown key `replcas`",
                "did you mean `replicas`?",
            ],
        ),
        (
            "unknown service",
            "services:\n  fronted:\n    port: 1\n",
            None,
            &[],
            &["todo-dev.yaml:2:3", "`fronted`", "did you mean `frontend`?"],
        ),
        (
            "wrong type",
            "cluster:\n  cpus: two\n",
            None,
            &[],
            &["todo-dev.yaml:2:9", "two"],
        ),
        (
            "wrong type in a list",
            "services:\n  backend:\n    watch: 5\n",
            None,
            &[],
            &["todo-dev.yaml:3:12"],
        ),
        (
            "bad size",
            "cluster:\n  memory: lots\n",
            None,
            &[],
            &["todo-dev.yaml:2:11", "`lots`", "4GiB"],
        ),
        (
            "bad enum value",
            "database: incluster\n",
            None,
            &[],
            &[
                "todo-dev.yaml:1:11",
                "`incluster`",
                "did you mean `in-cluster`?",
            ],
        ),
        (
            "bad yaml",
            "services:\n  backend: [\n",
            None,
            &[],
            &["todo-dev.yaml:"],
        ),
        (
            "unknown profile from file",
            "profile: standrd\n",
            None,
            &[],
            &[
                "unknown profile `standrd`",
                "did you mean `standard`?",
                "agents, classic, full, lite, standard",
            ],
        ),
        (
            "unknown profile from flag",
            "",
            Some("prod"),
            &[],
            &[
                "unknown profile `prod`",
                "known profiles: agents, classic, full, lite, standard",
            ],
        ),
        (
            "unknown --set key",
            "",
            None,
            &["services.backend.replica=3"],
            &[
                "--set services.backend.replica=3",
                "unknown key `replica`",
                "did you mean `replicas`?",
            ],
        ),
        (
            "wrong --set type",
            "",
            None,
            &["cluster.cpus=many"],
            &["--set cluster.cpus=many", "many"],
        ),
        (
            "--set without =",
            "",
            None,
            &["cluster.cpus"],
            &["--set cluster.cpus", "key=value"],
        ),
        (
            "tagged image",
            "services:\n  backend:\n    image: todo-backend:latest\n",
            None,
            &[],
            &["services.backend.image", "has a tag"],
        ),
        (
            "node port out of range",
            "access:\n  nodePort: 8080\n",
            None,
            &[],
            &["access.nodePort 8080", "30000-32767"],
        ),
        (
            "too little memory",
            "cluster:\n  memory: 1g\n",
            None,
            &[],
            &["cluster.memory is 1024 MiB", "1800"],
        ),
        (
            "summary in project file",
            "summary: hi\n",
            None,
            &[],
            &["`summary` belongs in a profile file"],
        ),
    ];
    for (case, yaml, profile, sets, want) in table {
        let dir = project(&[("todo-dev.yaml", yaml)]);
        let err = err_in(dir.path(), *profile, sets);
        eprintln!("{case}: {err}");
        for w in *want {
            assert!(err.contains(w), "{case}: expected `{w}` in:\n{err}");
        }
    }
}

#[test]
fn a_missing_context_directory_names_the_service_and_path() {
    let dir = project(&[("todo-dev.yaml", "services:\n  backend:\n    context: api\n")]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    let err = check_sources(&p).unwrap_err().to_string();
    assert!(err.contains("service `backend`"), "{err}");
    assert!(
        err.contains(&dir.path().join("api").display().to_string()),
        "{err}"
    );
    assert!(err.contains("services.backend.context"), "{err}");
}

#[test]
fn a_broken_user_profile_names_its_file() {
    let dir = project(&[(".todo-dev/profiles/mine.yaml", "cluster:\n  cpu: 4\n")]);
    let err = err_in(dir.path(), Some("mine"), &[]);
    assert!(
        err.contains("mine.yaml:2:3") && err.contains("did you mean `cpus`?"),
        "{err}"
    );
    let dir = project(&[(".todo-dev/profiles/mine.yaml", "profile: lite\n")]);
    assert!(err_in(dir.path(), Some("mine"), &[]).contains("a profile cannot choose a profile"));
}

#[test]
fn sizes() {
    let table = [
        ("4GiB", 4096),
        ("4g", 4096),
        ("4096mb", 4096),
        ("4096", 4096),
        ("1Ti", 1 << 20),
        (" 8 GB", 8192),
    ];
    for (text, mib) in table {
        assert_eq!(Quantity::parse(text).map(|q| q.mib), Ok(mib), "{text}");
    }
    for bad in ["", "lots", "4 parsecs", "-1g"] {
        assert!(Quantity::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn durations() {
    for (text, ms) in [
        ("100ms", 100),
        ("0.5s", 500),
        ("2s", 2000),
        ("250", 250),
        ("0", 0),
    ] {
        assert_eq!(Millis::parse(text).map(|d| d.ms), Ok(ms), "{text}");
    }
    for bad in ["", "soon", "10 min", "-5ms", "0.5ms"] {
        assert!(Millis::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn watch_debounce_defaults_to_100ms_and_is_capped() {
    let dir = project(&[]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert_eq!(p.watch.debounce, std::time::Duration::from_millis(100));
    let p = load_in(dir.path(), None, &["watch.debounce=250ms"]).unwrap();
    assert_eq!(p.watch.debounce, std::time::Duration::from_millis(250));
    let err = err_in(dir.path(), None, &["watch.debounce=5s"]);
    assert!(
        err.contains("watch.debounce is 5s") && err.contains("2s or less"),
        "{err}"
    );
    let dir = project(&[("todo-dev.yaml", "watch:\n  debounce: soon\n")]);
    let err = err_in(dir.path(), None, &[]);
    assert!(
        err.contains("todo-dev.yaml:2") && err.contains("`soon` is not a duration"),
        "{err}"
    );
}

#[test]
fn template_built_services_get_default_sync_rules_unless_the_user_sets_any() {
    let srcs = |p: &Project, n: ServiceName| -> Vec<(String, String)> {
        p.service(n)
            .unwrap()
            .sync
            .iter()
            .map(|r| (r.src.clone(), r.dest.clone()))
            .collect()
    };
    // FastAPI template (COPY . /app) and a static site (served from /srv/www).
    let dir = project(&[
        ("backend/requirements.txt", "fastapi\n"),
        ("frontend/index.html", "<h1>hi</h1>\n"),
    ]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert_eq!(
        srcs(&p, ServiceName::Backend),
        [("**/*.py".to_string(), "/app/".to_string())]
    );
    let site = srcs(&p, ServiceName::Frontend);
    assert!(
        site.contains(&("**/*.html".into(), "/srv/www/".into())),
        "{site:?}"
    );
    assert!(
        site.contains(&("**/*.css".into(), "/srv/www/".into())),
        "{site:?}"
    );

    // The user's rules replace the defaults; `[]` turns syncing off.
    let p = load_in(
        dir.path(),
        None,
        &[
            "services.backend.sync=[]",
            "services.frontend.sync=[{src: a/*.js, dest: /x, run: make}]",
        ],
    )
    .unwrap();
    assert!(srcs(&p, ServiceName::Backend).is_empty());
    let frontend = &p.service(ServiceName::Frontend).unwrap().sync;
    assert_eq!(frontend.len(), 1);
    assert_eq!(frontend[0].run.as_deref(), Some("make"));

    // An own Dockerfile: only its author knows where files go.
    let dir = project(&[
        ("backend/requirements.txt", "fastapi\n"),
        ("backend/Dockerfile", "FROM python\n"),
        ("frontend/package.json", "{}"),
    ]);
    let p = load_in(dir.path(), None, &[]).unwrap();
    assert!(srcs(&p, ServiceName::Backend).is_empty());
    assert!(srcs(&p, ServiceName::Frontend).is_empty());
}
