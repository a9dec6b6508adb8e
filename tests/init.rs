//! `todo-dev init`: the reference app written out with its modes, never over
//! anything; `init --detect`: a todo-dev.yaml for each source plan's layout.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::{json, stderr, stdout, Sandbox};

const JUNK: [&str; 7] = [
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "node_modules",
    ".venv",
    ".todo-dev",
];

/// Every file under `dir` (relative '/'-path -> (bytes, executable)), junk skipped.
fn tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, bool)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            if p.is_dir() {
                if !JUNK.contains(&name.as_str()) && name != ".git" {
                    walk(root, &p, out);
                }
            } else if !name.ends_with(".pyc") && name != ".env" {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let exec = std::fs::metadata(&p).unwrap().permissions().mode() & 0o111 != 0;
                out.insert(rel, (std::fs::read(&p).unwrap(), exec));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn embedded_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("embedded/app")
}

#[test]
fn init_writes_the_reference_app_exactly_with_its_modes() {
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my-todo");
    let out = sb
        .todo_dev(tmp.path(), &["init", "my-todo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("todo-dev up"), "{}", stdout(&out));
    let want = tree(&embedded_app());
    let got = tree(&dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(got, want, "contents and executable bits as in embedded/app");
    for f in [
        "backend/Dockerfile",
        "backend/Dockerfile.mcp",
        "backend/Dockerfile.agent",
        "frontend/Dockerfile",
        "todo-dev.yaml",
    ] {
        assert!(got.contains_key(f), "{f} missing");
    }
    let scripts: Vec<_> = got.iter().filter(|(p, _)| p.ends_with(".sh")).collect();
    assert!(!scripts.is_empty());
    for (p, (_, exec)) in scripts {
        assert!(exec, "{p} is not executable");
    }
    // The written project loads with the real loader.
    let config = sb.todo_dev(&dir, &["config"]).output().unwrap();
    assert!(config.status.success(), "{}", stderr(&config));
}

#[test]
fn init_frontend_next_writes_the_next_app_in_place_of_the_spa_built_from_the_template() {
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("next-todo");
    let out = sb
        .todo_dev(
            tmp.path(),
            &["init", "next-todo", "--frontend", "next", "--json"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["frontend"], "next");
    let next = Path::new(env!("CARGO_MANIFEST_DIR")).join("embedded/frontends/next");
    let mut want: BTreeMap<String, (Vec<u8>, bool)> = tree(&embedded_app())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("frontend/"))
        .collect();
    want.extend(
        tree(&next)
            .into_iter()
            .map(|(p, f)| (format!("frontend/{p}"), f)),
    );
    let got = tree(&dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        got, want,
        "the app with embedded/frontends/next as frontend/"
    );
    for f in [
        "frontend/package.json",
        "frontend/package-lock.json",
        "frontend/next.config.mjs",
    ] {
        assert!(got.contains_key(f), "{f} missing");
    }
    assert!(
        !got.contains_key("frontend/Dockerfile"),
        "the SPA's Dockerfile would win over the template"
    );
    // No Dockerfile: the build plan takes todo-dev's nextjs template.
    let out = sb
        .todo_dev(&dir, &["context", "frontend", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(listed.contains(".todo-dev/template/Dockerfile"), "{listed}");
    assert!(listed.contains("pages/index.jsx"), "{listed}");

    // Switching to the SPA with --force: the Next files would stay and
    // be built instead, so it is refused before anything is written.
    let before = tree(&dir);
    let out = sb
        .todo_dev(&dir, &["init", "--force", "--frontend", "spa"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("frontend/") && err.contains("`next` frontend"),
        "{err}"
    );
    assert_eq!(tree(&dir), before, "nothing written on refusal");
    // And the other way round.
    let spa = tmp.path().join("spa-todo");
    assert!(sb
        .todo_dev(tmp.path(), &["init", "spa-todo"])
        .output()
        .unwrap()
        .status
        .success());
    let out = sb
        .todo_dev(&spa, &["init", "--force", "--frontend", "next"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("`spa` frontend"), "{}", stderr(&out));
    let out = sb
        .todo_dev(tmp.path(), &["init", "x", "--detect", "--frontend", "next"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--detect writes no app: {}",
        stderr(&out)
    );
}

#[test]
fn init_refuses_to_overwrite_and_force_replaces_only_the_apps_files() {
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let out = sb.todo_dev(dir, &["init"]).output().unwrap();
    assert!(
        out.status.success(),
        "a directory holding only .git is fine: {}",
        stderr(&out)
    );

    let first = tree(&embedded_app()).keys().next().unwrap().clone();
    let mine = dir.join(&first);
    std::fs::write(&mine, "my own edit\n").unwrap();
    std::fs::write(dir.join("NOTES.md"), "mine\n").unwrap();
    let out = sb.todo_dev(dir, &["init", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&first) && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my own edit\n");

    let out = sb.todo_dev(dir, &["init", "--force"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read_to_string(&mine).unwrap(), "my own edit\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("NOTES.md")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".git/HEAD")).unwrap(),
        "ref: refs/heads/main\n"
    );
}

/// One source plan's repository, as files.
struct Layout {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    profile: &'static str,
    /// (service, context, Dockerfile as printed: "Dockerfile PATH" or "template X")
    services: &'static [(&'static str, &'static str, &'static str)],
}

const NEXT_PKG: &str = r#"{"dependencies":{"next":"14.2.0","react":"18.3.0"}}"#;
const VITE_PKG: &str = r#"{"devDependencies":{"vite":"^6.0.0"}}"#;

const LAYOUTS: &[Layout] = &[
    Layout {
        name: "000 agents: deploy/docker/<service>/ for four services",
        files: &[
            ("frontend/package.json", NEXT_PKG),
            ("frontend/app/page.tsx", "export default function P() {}\n"),
            ("backend/requirements.txt", "fastapi\nmcp\n"),
            ("backend/app/main.py", "app = None\n"),
            ("backend/app/mcp_server.py", "server = None\n"),
            ("backend/app/agent.py", "agent = None\n"),
            ("deploy/docker/frontend/Dockerfile", "FROM node:20-alpine\nCOPY package.json ./\nCOPY . .\nEXPOSE 3000\n"),
            ("deploy/docker/backend/Dockerfile", "FROM python:3.13-slim\nCOPY requirements.txt .\nCOPY app ./app\nEXPOSE 8000\n"),
            ("deploy/docker/mcp-server/Dockerfile", "FROM python:3.13-slim\nCOPY requirements.txt .\nCOPY app ./app\nEXPOSE 8001\n"),
            ("deploy/docker/ai-agent/Dockerfile", "FROM python:3.13-slim\nCOPY requirements.txt .\nCOPY app ./app\nEXPOSE 8002\n"),
            ("deploy/helm/todo-app/Chart.yaml", "name: todo-app\n"),
        ],
        profile: "agents",
        services: &[
            ("frontend", "frontend", "Dockerfile deploy/docker/frontend/Dockerfile"),
            ("backend", "backend", "Dockerfile deploy/docker/backend/Dockerfile"),
            ("mcp-server", "backend", "Dockerfile deploy/docker/mcp-server/Dockerfile"),
            ("ai-agent", "backend", "Dockerfile deploy/docker/ai-agent/Dockerfile"),
        ],
    },
    Layout {
        name: "001 lite: src/frontend + src/backend, docker/<service>/ built from the root",
        files: &[
            ("src/frontend/package.json", VITE_PKG),
            ("src/frontend/index.html", "<html></html>\n"),
            ("src/backend/requirements.txt", "fastapi\nopenai-agents\nmcp\n"),
            ("src/backend/main.py", "app = None\n"),
            ("src/backend/mcp_server.py", "server = None\n"),
            ("src/backend/agent.py", "agent = None\n"),
            ("docker/frontend/Dockerfile", "FROM node:20-slim AS build\nCOPY src/frontend/package.json ./\nCOPY src/frontend/ ./\nFROM nginx:alpine\nCOPY docker/frontend/nginx.conf /etc/nginx/templates/default.conf.template\nCOPY --from=build /dist /usr/share/nginx/html\nEXPOSE 80\n"),
            ("docker/frontend/nginx.conf", "server {}\n"),
            ("docker/backend/Dockerfile", "FROM python:3.11-slim\nCOPY src/backend/requirements.txt .\nCOPY src/backend/ /app/\nEXPOSE 8000\n"),
        ],
        profile: "lite",
        services: &[
            ("frontend", ".", "Dockerfile docker/frontend/Dockerfile"),
            ("backend", ".", "Dockerfile docker/backend/Dockerfile"),
        ],
    },
    Layout {
        name: "002 full: a phaseIV/ folder with backend/Dockerfile.mcp and Redis in compose",
        files: &[
            ("phaseIV/frontend/package.json", NEXT_PKG),
            ("phaseIV/frontend/next.config.js", "module.exports = {output: 'standalone'}\n"),
            ("phaseIV/frontend/Dockerfile", "FROM node:20-alpine\nCOPY . .\nEXPOSE 3000\n"),
            ("phaseIV/backend/pyproject.toml", "[project]\nname = \"todo\"\ndependencies = [\"fastapi\"]\n"),
            ("phaseIV/backend/Dockerfile", "FROM python:3.12-slim\nCOPY . .\nEXPOSE 8000\n"),
            ("phaseIV/backend/Dockerfile.mcp", "FROM python:3.12-slim\nCOPY . .\nEXPOSE 8001\n"),
            ("phaseIV/backend/src/mcp_server.py", "server = None\n"),
            ("phaseIV/docker-compose.yml", "services:\n  redis:\n    image: redis:7\n"),
            ("specs/sphaseIV/001-kubernetes-deployment/spec.md", "# spec\n"),
        ],
        profile: "full",
        services: &[
            ("frontend", "phaseIV/frontend", "Dockerfile phaseIV/frontend/Dockerfile"),
            ("backend", "phaseIV/backend", "Dockerfile phaseIV/backend/Dockerfile"),
            ("mcp-server", "phaseIV/backend", "Dockerfile phaseIV/backend/Dockerfile.mcp"),
        ],
    },
    Layout {
        name: "003 classic: frontend/ and backend/ with their own Dockerfiles",
        files: &[
            ("frontend/package.json", NEXT_PKG),
            ("frontend/src/app.tsx", "x\n"),
            ("frontend/Dockerfile", "FROM node:20-alpine\nCOPY . .\nEXPOSE 3000\n"),
            ("frontend/.dockerignore", "node_modules\n"),
            ("backend/requirements.txt", "fastapi\n"),
            ("backend/app/main.py", "app = None\n"),
            ("backend/Dockerfile", "FROM python:3.12-slim\nCOPY . .\nEXPOSE 8000\n"),
            ("k8s/backend-deployment.yaml", "kind: Deployment\n"),
        ],
        profile: "standard",
        services: &[
            ("frontend", "frontend", "Dockerfile frontend/Dockerfile"),
            ("backend", "backend", "Dockerfile backend/Dockerfile"),
        ],
    },
    Layout {
        name: "004 standard: no Dockerfiles yet, Next.js + pyproject.toml",
        files: &[
            ("frontend/package.json", NEXT_PKG),
            ("frontend/next.config.ts", "export default {output: 'standalone'}\n"),
            ("frontend/src/page.tsx", "x\n"),
            ("backend/pyproject.toml", "[project]\nname = \"todo\"\ndependencies = [\"fastapi\", \"sqlmodel\"]\n"),
            ("backend/src/main.py", "app = None\n"),
            ("helm/todo-frontend/Chart.yaml", "name: todo-frontend\n"),
        ],
        profile: "standard",
        services: &[
            ("frontend", "frontend", "template nextjs"),
            ("backend", "backend", "template fastapi"),
        ],
    },
];

#[test]
fn detect_writes_a_working_project_for_every_source_plan_layout() {
    let sb = Sandbox::new(&[]);
    for layout in LAYOUTS {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        for (path, text) in layout.files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let before = tree(&root);
        let out = sb
            .todo_dev(
                tmp.path(),
                &["init", "--detect", "--project", "repo", "--json"],
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", layout.name, stderr(&out));
        let report = json(&out);
        assert_eq!(
            report["profile"], layout.profile,
            "{}: {report:#}",
            layout.name
        );
        let found: Vec<(String, String, String)> = report["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["service"].as_str().unwrap().to_string(),
                    s["context"].as_str().unwrap().to_string(),
                    s["dockerfile"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String, String)> = layout
            .services
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(found, want, "{}: {report:#}", layout.name);
        for s in report["services"].as_array().unwrap() {
            assert!(
                !s["evidence"].as_str().unwrap().is_empty(),
                "{}: {s}",
                layout.name
            );
        }

        // Only todo-dev.yaml was added; the user's files are as they were.
        let mut after = tree(&root);
        assert!(after.remove("todo-dev.yaml").is_some());
        assert_eq!(after, before, "{}", layout.name);

        // Every service's context can be listed, with the Dockerfile's own rules.
        for (service, _, _) in layout.services {
            let out = sb
                .todo_dev(&root, &["context", service, "--list"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{} {service}: {}",
                layout.name,
                stderr(&out)
            );
            assert!(!stdout(&out).trim().is_empty(), "{} {service}", layout.name);
        }

        // A second run refuses to replace the file; --force replaces it.
        let again = sb.todo_dev(&root, &["init", "--detect"]).output().unwrap();
        assert_eq!(again.status.code(), Some(2), "{}", layout.name);
        assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
        let forced = sb
            .todo_dev(&root, &["init", "--detect", "--force"])
            .output()
            .unwrap();
        assert!(forced.status.success(), "{}", stderr(&forced));
        let text = stdout(&forced);
        for (service, context, _) in layout.services {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(service) && l.contains(&format!("context {context} "))),
                "{}: no line for {service}:\n{text}",
                layout.name
            );
        }
    }
}

#[test]
fn detect_recognises_the_reference_app_init_writes() {
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = sb.todo_dev(tmp.path(), &["init", "app"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let root = tmp.path().join("app");
    std::fs::remove_file(root.join("todo-dev.yaml")).unwrap();
    let out = sb
        .todo_dev(&root, &["init", "--detect", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["profile"], "agents", "{report:#}");
    let dockerfiles: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dockerfile"].as_str().unwrap())
        .collect();
    assert_eq!(
        dockerfiles,
        [
            "Dockerfile frontend/Dockerfile",
            "Dockerfile backend/Dockerfile",
            "Dockerfile backend/Dockerfile.mcp",
            "Dockerfile backend/Dockerfile.agent"
        ]
    );
}

#[test]
fn detect_in_an_empty_directory_says_what_it_looked_for() {
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = sb
        .todo_dev(tmp.path(), &["init", "--detect"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("found no service") && err.contains("phaseIV"),
        "{err}"
    );
    assert!(!tmp.path().join("todo-dev.yaml").exists());
}
