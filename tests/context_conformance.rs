//! `todo-dev context DIR --list` against what the docker CLI really sends:
//! each corpus context is built by the docker CLI (classic builder) as
//! `FROM scratch` + `COPY . /ctx`, the image's /ctx tree is read back with
//! `docker export`, and the two file lists must be identical.

mod support;

use std::path::Path;
use std::process::Command;

use support::{docker_host_or_skip, stderr, stdout, Sandbox};

/// (name, files as (path, contents or "->target" for a symlink), .dockerignore or None)
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const CORPUS: &[Case] = &[
    (
        "nextjs",
        &[
            ("package.json", "{}"),
            ("next.config.js", "module.exports={output:'standalone'}"),
            ("src/app/page.tsx", "x"),
            ("public/logo.svg", "<svg/>"),
            ("node_modules/next/index.js", "x"),
            ("node_modules/.bin/next", "x"),
            (".next/cache/a", "x"),
            (".git/HEAD", "ref"),
            (".env.local", "S=1"),
            (".env.example", "S="),
            ("README.md", "r"),
            ("coverage/lcov.info", "x"),
        ],
        Some("node_modules\n.next\n.git\n.env*\n!.env.example\ncoverage/\n*.md\n"),
    ),
    (
        "fastapi",
        &[
            ("requirements.txt", "fastapi"),
            ("app/main.py", "x"),
            ("app/__pycache__/main.cpython-312.pyc", "x"),
            ("app/api/__pycache__/r.pyc", "x"),
            ("app/api/routes.py", "x"),
            (".venv/bin/python", "x"),
            ("tests/test_main.py", "x"),
            (".pytest_cache/v/x", "x"),
            ("alembic/versions/001.py", "x"),
            ("x.pyc", "x"),
        ],
        Some("# python\n**/__pycache__\n**/*.pyc\n.venv\n.pytest_cache\ntests\n"),
    ),
    (
        "monorepo",
        &[
            ("packages/web/package.json", "{}"),
            ("packages/web/node_modules/a/i.js", "x"),
            ("packages/web/dist/app.js", "x"),
            ("packages/keep/dist/app.js", "x"),
            ("packages/keep/src/a.ts", "x"),
            ("services/api/main.go", "x"),
            ("services/api/vendor/x.go", "x"),
            ("node_modules/root.js", "x"),
            ("docs/a.md", "x"),
        ],
        Some("**/node_modules\npackages/*/dist\n!packages/keep/dist\nservices/*/vendor\n/docs\n"),
    ),
    (
        "negations",
        &[
            ("src/a.py", "x"),
            ("src/secret.txt", "x"),
            ("src/deep/b.py", "x"),
            ("other/c.py", "x"),
            ("top.txt", "x"),
            ("logs/keep/important.log", "x"),
            ("logs/x.log", "x"),
            ("logs/keep/other.txt", "x"),
        ],
        Some("*\n!src\nsrc/secret.txt\n!logs/keep/*.log\n"),
    ),
    (
        "double-star",
        &[
            ("README.md", "x"),
            ("docs/guide.md", "x"),
            ("docs/deep/er/draft-1.txt", "x"),
            ("docs/draft-2.txt", "x"),
            ("a/b/c/notes.md", "x"),
            ("a/b/c/code.rs", "x"),
            ("x/y/z/cache/f", "x"),
            ("cache/g", "x"),
        ],
        Some("**/*.md\n!README.md\ndocs/**/draft-*\n**/cache\n"),
    ),
    (
        "odd-names",
        &[
            ("with space.txt", "x"),
            ("dir with space/f.txt", "x"),
            ("ünïcödé.txt", "x"),
            ("-dash.txt", "x"),
            ("#hash.txt", "x"),
            ("[abc].txt", "x"),
            ("a.txt", "x"),
            ("b?.log", "x"),
            ("star*.tmp", "x"),
            ("q1.log", "x"),
        ],
        Some("dir with space\n\\#hash.txt\n\\[abc\\].txt\n[ab].txt\nstar\\*.tmp\nq?.log\n"),
    ),
    (
        "dockerfile-ignored",
        &[
            ("Dockerfile", "FROM scratch\nCOPY . /ctx\n"),
            ("app.py", "x"),
            ("notes.txt", "x"),
        ],
        Some("Dockerfile\n.dockerignore\n*.txt\n"),
    ),
    (
        "symlinks",
        &[
            ("real/file.txt", "x"),
            ("link-to-file", "->real/file.txt"),
            ("link-to-dir", "->real"),
            ("dangling", "->nowhere"),
            ("ignored-link", "->real"),
        ],
        Some("ignored-link\n"),
    ),
    (
        "cleaned-patterns",
        &[
            ("tmp/a", "x"),
            ("build/out.o", "x"),
            ("b/c.txt", "x"),
            ("x/y.txt", "x"),
            ("keep.txt", "x"),
        ],
        Some("/tmp\nbuild/\na/../b\n./x/y.txt\n  \n"),
    ),
    (
        "no-dockerignore",
        &[("a.txt", "x"), ("d/e/f.txt", "x")],
        None,
    ),
    (
        "empty-dockerignore",
        &[("a.txt", "x"), (".hidden", "x")],
        Some(""),
    ),
];

fn write_case(dir: &Path, files: &[(&str, &str)], ignore: Option<&str>) {
    for (path, contents) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        match contents.strip_prefix("->") {
            Some(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
            None => std::fs::write(&p, contents).unwrap(),
        }
    }
    if !dir.join("Dockerfile").exists() {
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY . /ctx\n").unwrap();
    }
    if let Some(text) = ignore {
        std::fs::write(dir.join(".dockerignore"), text).unwrap();
    }
}

/// Files and links under /ctx in an image the docker CLI built from `dir`.
fn docker_cli_list(dir: &Path, host: &str, tag: &str) -> Vec<String> {
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", host)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
        out
    };
    docker(&["build", "-q", "-t", tag, dir.to_str().unwrap()]);
    let id = stdout(&docker(&["create", tag, "/none"]))
        .trim()
        .to_string();
    let export = docker(&["export", &id]);
    docker(&["rm", &id]);
    docker(&["rmi", tag]);
    let mut archive = tar::Archive::new(export.stdout.as_slice());
    let mut files: Vec<String> = archive
        .entries()
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let kind = e.header().entry_type();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let rel = path.strip_prefix("ctx/")?.to_string();
            (kind.is_file() || kind.is_symlink()).then_some(rel)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn context_list_matches_what_the_docker_cli_sends() {
    let Some(host) = docker_host_or_skip("context_list_matches_what_the_docker_cli_sends") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let mut mismatches = Vec::new();
    for (name, files, ignore) in CORPUS {
        let dir = tempfile::tempdir().unwrap();
        write_case(dir.path(), files, *ignore);
        let out = sb
            .todo_dev(dir.path(), &["context", ".", "--list"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let ours: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
        let mut theirs =
            docker_cli_list(dir.path(), &host, &format!("todo-dev-conformance-{name}"));
        // The CLI always sends these two, but the daemon drops them before COPY
        // when .dockerignore excludes them (Docker's .dockerignore docs say so).
        for always in ["Dockerfile", ".dockerignore"] {
            if dir.path().join(always).exists() && !theirs.iter().any(|t| t == always) {
                theirs.push(always.to_string());
            }
        }
        theirs.sort();
        if ours != theirs {
            mismatches.push(format!(
                "{name}:\n  todo-dev: {ours:?}\n  docker:   {theirs:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences:\n{}",
        mismatches.join("\n")
    );
}
