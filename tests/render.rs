//! `render` for every profile: snapshots of the exact objects, every object
//! read as its k8s-openapi type, Kubernetes security practice, and no Secret
//! value in any output without --show-secrets.
//! UPDATE_SNAPSHOTS=1 cargo test --test render rewrites tests/snapshots/.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use todo_dev::deploy::render::{self, Manifest};
use todo_dev::deploy::values::{ImageRef, RenderInput};
use todo_dev::project::model::ServiceName;
use todo_dev::project::secrets::SecretValue;
use todo_dev::project::{self, LoadOptions};

const PROFILES: [&str; 5] = ["standard", "lite", "full", "agents", "classic"];

fn render_profile(root: &Path, profile: &str) -> Vec<Manifest> {
    let opts = LoadOptions {
        profile: Some(profile.into()),
        ..Default::default()
    };
    let project = project::load(&opts, root).unwrap();
    let images: BTreeMap<ServiceName, ImageRef> = project
        .services
        .iter()
        .map(|s| {
            let image = ImageRef {
                reference: format!("{}:td-0123456789abcdef", s.image),
                run_as: Some(10001),
            };
            (s.name, image)
        })
        .collect();
    let secrets: BTreeMap<String, SecretValue> = [
        (
            "DATABASE_URL",
            "postgresql://todo:pw-secret-1@postgres:5432/todo",
        ),
        ("BETTER_AUTH_SECRET", "auth-secret-2"),
        ("POSTGRES_PASSWORD", "pw-secret-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), SecretValue::new(v)))
    .collect();
    let settings = BTreeMap::new();
    render::render(&RenderInput {
        project: &project,
        images: &images,
        secrets: &secrets,
        settings: &settings,
    })
    .unwrap()
}

fn yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_saphyr::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn every_profile_matches_its_snapshot() {
    let (_dir, root) = support::todo_app();
    let mut stale = Vec::new();
    for profile in PROFILES {
        let got = yaml(&render::redacted(&render_profile(&root, profile)));
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/snapshots/render-{profile}.yaml"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            stale.push(format!(
                "{profile}: {} differs (UPDATE_SNAPSHOTS=1 to accept)",
                path.display()
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn rendered_objects_follow_the_stack_and_security_practice() {
    let (_dir, root) = support::todo_app();
    for profile in PROFILES {
        let manifests = render_profile(&root, profile);
        for m in &manifests {
            let o = &m.object;
            let labels = &o["metadata"]["labels"];
            assert_eq!(
                labels["app.kubernetes.io/managed-by"],
                "todo-dev",
                "{profile} {}",
                m.id()
            );
            assert_eq!(
                labels["app.kubernetes.io/part-of"],
                "todo",
                "{profile} {}",
                m.id()
            );
            assert_eq!(
                labels["app.kubernetes.io/instance"],
                "todo-app",
                "{profile} {}",
                m.id()
            );
            if !matches!(m.kind(), "Deployment" | "StatefulSet") {
                continue;
            }
            let pod = &o["spec"]["template"]["spec"];
            assert_eq!(
                pod["automountServiceAccountToken"],
                false,
                "{profile} {}",
                m.id()
            );
            assert_eq!(
                pod["securityContext"]["runAsNonRoot"],
                true,
                "{profile} {}",
                m.id()
            );
            for c in pod["containers"].as_array().unwrap() {
                let image = c["image"].as_str().unwrap();
                let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
                assert!(
                    !tag.is_empty() && tag != "latest",
                    "{profile} {}: unpinned image {image}",
                    m.id()
                );
                assert_eq!(c["imagePullPolicy"], "IfNotPresent", "{profile} {}", m.id());
                assert_eq!(
                    c["securityContext"]["allowPrivilegeEscalation"],
                    false,
                    "{profile} {}",
                    m.id()
                );
                assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
                for key in ["requests", "limits"] {
                    assert!(
                        c["resources"][key]["cpu"].is_string()
                            && c["resources"][key]["memory"].is_string(),
                        "{profile} {}",
                        m.id()
                    );
                }
                assert!(
                    c["livenessProbe"].is_object() && c["readinessProbe"].is_object(),
                    "{profile} {}",
                    m.id()
                );
            }
        }
        let kinds: Vec<String> = manifests.iter().map(Manifest::id).collect();
        let has = |id: &str| kinds.iter().any(|k| k == id);
        match profile {
            "standard" => {
                assert!(
                    has("Ingress/todo")
                        && has("Deployment/postgres")
                        && has("PersistentVolumeClaim/postgres-data")
                );
                assert!(has("PodDisruptionBudget/frontend") && has("PodDisruptionBudget/backend"));
            }
            "lite" => assert!(
                !has("Deployment/postgres")
                    && !has("Ingress/todo")
                    && !kinds.iter().any(|k| k.starts_with("PodDisruptionBudget"))
            ),
            "full" => {
                assert!(
                    has("StatefulSet/redis")
                        && has("HorizontalPodAutoscaler/backend")
                        && has("HorizontalPodAutoscaler/frontend")
                );
                let backend = manifests
                    .iter()
                    .find(|m| m.id() == "Deployment/backend")
                    .unwrap();
                assert!(
                    backend.object["spec"].get("replicas").is_none(),
                    "the HPA owns replicas"
                );
                assert!(manifests.iter().all(|m| m.kind() == "Namespace"
                    || m.object["metadata"]["namespace"] == "todo-phaseiv"));
            }
            "agents" => {
                assert!(has("Deployment/ai-agent") && has("Deployment/mcp-server"));
                let svc = manifests
                    .iter()
                    .find(|m| m.id() == "Service/frontend")
                    .unwrap();
                assert_eq!(svc.object["spec"]["ports"][0]["nodePort"], 30000);
            }
            "classic" => {
                let d = manifests
                    .iter()
                    .find(|m| m.id() == "Deployment/backend")
                    .unwrap();
                assert_eq!(d.object["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
                assert_eq!(d.object["spec"]["replicas"], 2);
            }
            _ => unreachable!(),
        }
        // Apply order: namespace, config, databases, backends, frontends.
        let pos = |id: &str| kinds.iter().position(|k| k == id);
        assert_eq!(
            pos("Namespace/todo").or(pos("Namespace/todo-phaseiv")),
            Some(0),
            "{profile}"
        );
        assert!(
            pos("Secret/todo-secrets") < pos("Deployment/backend"),
            "{profile}"
        );
        assert!(
            pos("Service/backend") < pos("Deployment/frontend"),
            "{profile}: nginx needs the backend Service at start"
        );
    }
}

#[test]
fn no_secret_value_in_any_output_without_show_secrets() {
    let sb = support::Sandbox::new(&[]);
    let (_dir, root) = support::todo_app();
    std::fs::write(root.join(".env"), "DATABASE_URL=postgresql://u:leak-me-1@neon/db\nOPENAI_API_KEY=sk-leak-me-2\nBETTER_AUTH_SECRET=leak-me-3\n").unwrap();
    for profile in PROFILES {
        for args in [
            vec!["render"],
            vec!["render", "-o", "json"],
            vec!["render", "--json"],
            vec!["render", "--values"],
        ] {
            let mut all = args.clone();
            all.extend(["--profile", profile]);
            let out = sb.todo_dev(&root, &all).output().unwrap();
            assert!(out.status.success(), "{all:?}: {}", support::stderr(&out));
            let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
            assert!(!text.contains("leak-me"), "{all:?} leaked a secret");
            assert!(text.contains("<redacted>"), "{all:?}");
        }
    }
    let out = sb
        .todo_dev(
            &root,
            &[
                "render",
                "--profile",
                "lite",
                "--show-secrets",
                "-o",
                "json",
            ],
        )
        .output()
        .unwrap();
    let v = support::json(&out);
    let secret = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Secret")
        .unwrap();
    let url = secret["data"]["DATABASE_URL"].as_str().unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(url)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "postgresql://u:leak-me-1@neon/db"
    );
}
