//! `todo-dev export helm` checked by the real helm (scripts/test.sh installs
//! it): `helm lint` passes, `helm template` with default values gives the
//! same objects as `todo-dev render`, and `--set backend.replicaCount=3` works.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{stderr, stdout, Sandbox};

const PROFILES: [&str; 5] = ["standard", "lite", "full", "agents", "classic"];

fn helm_or_skip(test: &str) -> Option<String> {
    match std::env::var("TODO_DEV_TEST_HELM") {
        Ok(h) => Some(h),
        Err(_) if std::env::var_os("TODO_DEV_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: TODO_DEV_TEST_HELM unset under scripts/test.sh")
        }
        Err(_) => {
            eprintln!("SKIPPED {test}: no helm (run scripts/test.sh, which installs it)");
            None
        }
    }
}

/// External-database profiles need a DATABASE_URL; it must never reach the chart.
fn app_with_database_url() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = support::todo_app();
    std::fs::write(
        root.join(".env"),
        "DATABASE_URL=postgresql://u:chart-leak@neon/db\n",
    )
    .unwrap();
    (dir, root)
}

/// Secret values differ by design (generated, or passed at install): compare
/// keys. So do config checksums (render: a keyed hash of the values a workload
/// reads; the chart: sha256 of the config templates): check their form.
fn masked(mut o: Value) -> Value {
    if o["kind"] == "Secret" {
        if let Some(Value::Object(data)) = o.get_mut("data") {
            for v in data.values_mut() {
                *v = Value::String("<value>".into());
            }
        }
    }
    if let Some(sum) = o.pointer_mut("/spec/template/metadata/annotations/checksum~1config") {
        let text = sum.as_str().unwrap_or_default();
        assert!(
            matches!(text.len(), 32 | 64) && text.chars().all(|c| c.is_ascii_hexdigit()),
            "checksum/config: {text}"
        );
        *sum = Value::String("<checksum>".into());
    }
    o
}

fn helm_template(helm: &str, chart: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::new(helm)
        .args(["template", "todo"])
        .arg(chart)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "helm template: {}", stderr(&out));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&stdout(&out)).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

#[test]
fn exported_charts_lint_and_template_to_the_render() {
    let Some(helm) = helm_or_skip("exported_charts_lint_and_template_to_the_render") else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let (dir, root) = app_with_database_url();
    for profile in PROFILES {
        let chart = dir.path().join(format!("chart-{profile}"));
        let out = sb
            .todo_dev(
                &root,
                &[
                    "export",
                    "helm",
                    chart.to_str().unwrap(),
                    "--profile",
                    profile,
                ],
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        for f in [
            "Chart.yaml",
            "values.yaml",
            "templates/NOTES.txt",
            "README.md",
        ] {
            assert!(chart.join(f).is_file(), "{profile}: no {f}");
        }
        let all_files: String = walk(&chart)
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(
            !all_files.contains("chart-leak"),
            "{profile}: a secret reached the chart"
        );

        // External-database profiles require the URL at install, as users must.
        let set: &[&str] = match profile {
            "lite" | "agents" | "classic" => {
                &["--set", "secrets.DATABASE_URL=postgresql://u:p@db/todo"]
            }
            _ => &[],
        };
        let lint = Command::new(&helm)
            .arg("lint")
            .arg(&chart)
            .args(set)
            .output()
            .unwrap();
        assert!(
            lint.status.success(),
            "{profile}: helm lint:\n{}{}",
            stdout(&lint),
            stderr(&lint)
        );

        let templated: Vec<Value> = helm_template(&helm, &chart, set)
            .into_iter()
            .map(masked)
            .collect();
        let rendered = sb
            .todo_dev(&root, &["render", "-o", "json", "--profile", profile])
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", stderr(&rendered));
        let rendered: Vec<Value> = support::json(&rendered)["items"]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(masked)
            .collect();
        assert_eq!(templated.len(), rendered.len(), "{profile}: object count");
        for r in &rendered {
            let found = templated
                .iter()
                .find(|t| t["kind"] == r["kind"] && t["metadata"]["name"] == r["metadata"]["name"]);
            let t = found.unwrap_or_else(|| {
                panic!(
                    "{profile}: helm template lacks {} {}",
                    r["kind"], r["metadata"]["name"]
                )
            });
            assert_eq!(
                t, r,
                "{profile}: {} {} differs",
                r["kind"], r["metadata"]["name"]
            );
        }
    }
}

#[test]
fn replica_count_can_be_set_at_install_as_the_source_plans_do() {
    let Some(helm) = helm_or_skip("replica_count_can_be_set_at_install_as_the_source_plans_do")
    else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let (dir, root) = app_with_database_url();
    let chart = dir.path().join("chart");
    let out = sb
        .todo_dev(
            &root,
            &[
                "export",
                "helm",
                chart.to_str().unwrap(),
                "--profile",
                "classic",
            ],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = helm_template(
        &helm,
        &chart,
        &[
            "--set",
            "backend.replicaCount=3",
            "--set",
            "secrets.DATABASE_URL=postgresql://u:p@db/todo",
            "--set",
            "namespace=todo-staging",
        ],
    );
    let backend = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "backend")
        .unwrap();
    assert_eq!(backend["spec"]["replicas"], 3);
    assert!(docs
        .iter()
        .filter(|d| d["kind"] != "Namespace")
        .all(|d| d["metadata"]["namespace"] == "todo-staging"));
    // A second export into the same directory is refused, not merged.
    let again = sb
        .todo_dev(&root, &["export", "helm", chart.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
