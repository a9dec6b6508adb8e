//! `render` for every profile: snapshots of the exact objects, every object
//! read as its k8s-openapi type, Kubernetes security practice, and no Secret
//! value in any output without --show-secrets.
//! UPDATE_SNAPSHOTS=1 cargo test --test render rewrites tests/snapshots/.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use todo_dev::deploy::kinds;
use todo_dev::deploy::render::{self, Manifest};
use todo_dev::deploy::values::{DevVariant, ImageRef, RenderInput};
use todo_dev::project::model::ServiceName;
use todo_dev::project::secrets::SecretValue;
use todo_dev::project::{self, LoadOptions};

const PROFILES: [&str; 5] = ["standard", "lite", "full", "agents", "classic"];

fn render_profile(root: &Path, profile: &str) -> Vec<Manifest> {
    render_with(root, profile, &[], &[])
}

/// Renders with the fixed test secrets, `extra` secrets laid over them, and `settings`.
fn render_with(
    root: &Path,
    profile: &str,
    extra: &[(&str, &str)],
    settings: &[(&str, &str)],
) -> Vec<Manifest> {
    render_variant(root, profile, extra, settings, |_| DevVariant::hardened())
}

/// As `render_with`, in the variant `dev` makes for the loaded project.
fn render_variant(
    root: &Path,
    profile: &str,
    extra: &[(&str, &str)],
    settings: &[(&str, &str)],
    dev: impl FnOnce(&project::Project) -> DevVariant,
) -> Vec<Manifest> {
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
                reload_command: None,
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
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_string(), SecretValue::new(v)))
    .collect();
    let settings: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    render::render(&RenderInput {
        project: &project,
        images: &images,
        secrets: &secrets,
        settings: &settings,
        dev: &dev(&project),
        pull_secret: None,
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

/// Apply, prune and `down` know only the kinds in `deploy::kinds`: an object
/// of another kind would be rendered but never applied or removed.
#[test]
fn every_rendered_kind_is_a_managed_kind() {
    let (_dir, root) = support::todo_app();
    let profiles = todo_dev::project::profiles::Catalog::load(&root).names();
    assert!(profiles.len() >= PROFILES.len(), "{profiles:?}");
    for profile in &profiles {
        let plain = render_profile(&root, profile);
        // Every service synced: the dev variant as `watch` makes it at most.
        let dev = render_variant(&root, profile, &[], &[], |p| DevVariant {
            synced: p.services.iter().map(|s| s.name).collect(),
        });
        for m in plain.iter().chain(&dev) {
            assert!(
                kinds::find(m.kind()).is_some(),
                "{profile}: {} is of a kind missing from deploy::kinds::KINDS",
                m.id()
            );
        }
    }
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

/// The environment variable names of one workload's container.
fn env_names(manifests: &[Manifest], id: &str) -> Vec<String> {
    let m = manifests
        .iter()
        .find(|m| m.id() == id)
        .unwrap_or_else(|| panic!("no {id}"));
    m.object["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn llm_provider_and_its_key_reach_only_the_model_callers_and_a_bad_one_is_refused() {
    let sb = support::Sandbox::new(&[]);
    let (_dir, root) = support::todo_app();
    // Nothing set: no provider, base URL or model forced on the app, which picks its own.
    let plain = render_profile(&root, "agents");
    let config = plain.iter().find(|m| m.kind() == "ConfigMap").unwrap();
    for key in ["LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL"] {
        assert!(
            config.object["data"].get(key).is_none(),
            "{key} set by default"
        );
    }
    let set = render_with(
        &root,
        "agents",
        &[("GEMINI_API_KEY", "gm-1")],
        &[("LLM_PROVIDER", "gemini")],
    );
    let config = set.iter().find(|m| m.kind() == "ConfigMap").unwrap();
    assert_eq!(config.object["data"]["LLM_PROVIDER"], "gemini");
    for id in ["Deployment/backend", "Deployment/ai-agent"] {
        let names = env_names(&set, id);
        for key in ["LLM_PROVIDER", "GEMINI_API_KEY"] {
            assert!(
                names.iter().any(|n| n == key),
                "{id} lacks {key}: {names:?}"
            );
        }
    }
    for id in ["Deployment/frontend", "Deployment/mcp-server"] {
        let names = env_names(&set, id);
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with("_API_KEY") || n == "LLM_PROVIDER"),
            "{id}: {names:?}"
        );
    }

    // Through the CLI: the checks `up` and `deploy` plan with, before any cluster.
    let render = |env: &str| {
        std::fs::write(root.join(".env"), env).unwrap();
        sb.todo_dev(&root, &["render", "--profile", "standard"])
            .output()
            .unwrap()
    };
    let out = render("LLM_PROVIDER=groq\n");
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("LLM_PROVIDER=groq needs GROQ_API_KEY") && err.contains(".env"),
        "{err}"
    );
    let out = render("LLM_PROVIDER=claude\n");
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("LLM_PROVIDER=claude") && err.contains("openai, groq, gemini, openrouter"),
        "{err}"
    );
    let out = render("LLM_PROVIDER=groq\nGROQ_API_KEY=gsk-leak-me\n");
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    assert!(
        text.contains("LLM_PROVIDER: groq") && text.contains("GROQ_API_KEY"),
        "{text}"
    );
    assert!(!text.contains("gsk-leak-me"), "the key leaked into render");
}

/// Secrets or settings laid over a render.
type Pairs<'a> = &'a [(&'a str, &'a str)];

/// `checksum/config` of each workload (`Kind/name`), None where it has none.
fn checksums(manifests: &[Manifest]) -> BTreeMap<String, Option<String>> {
    manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .map(|m| {
            let c = m.object["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                .as_str()
                .map(str::to_string);
            (m.id(), c)
        })
        .collect()
}

/// The workloads whose checksum differs between two renders.
fn rolled(a: &[Manifest], b: &[Manifest]) -> Vec<String> {
    let (a, b) = (checksums(a), checksums(b));
    a.iter()
        .filter(|(id, c)| b.get(*id) != Some(*c))
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn a_changed_value_rolls_exactly_the_workloads_that_read_it() {
    let (_dir, root) = support::todo_app();
    for profile in PROFILES {
        let base = render_with(&root, profile, &[], &[]);
        for (id, c) in checksums(&base) {
            match id.as_str() {
                // Redis reads no configuration.
                "StatefulSet/redis" => assert_eq!(c, None, "{profile}"),
                _ => assert!(
                    c.as_ref()
                        .is_some_and(|c| c.len() == 32 && c.chars().all(|x| x.is_ascii_hexdigit())),
                    "{profile} {id}: {c:?}"
                ),
            }
        }
        assert!(
            rolled(&base, &render_with(&root, profile, &[], &[])).is_empty(),
            "{profile}: unchanged render rolls nothing"
        );
        let has = |id: &str| checksums(&base).contains_key(id);
        let expect = |ids: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = ids
                .iter()
                .filter(|i| has(i))
                .map(|i| i.to_string())
                .collect();
            v.sort();
            v
        };
        let cases: [(Pairs, Pairs, Vec<String>); 6] = [
            (
                // only the backend holds the signing key; the others fetch its JWKS
                &[("BETTER_AUTH_SECRET", "rotated")],
                &[],
                expect(&["Deployment/backend"]),
            ),
            (
                &[("OPENAI_API_KEY", "sk-new")],
                &[],
                expect(&["Deployment/backend", "Deployment/ai-agent"]),
            ),
            (
                // every provider's key reaches the workloads that call the model
                &[("GROQ_API_KEY", "gsk-new")],
                &[],
                expect(&["Deployment/backend", "Deployment/ai-agent"]),
            ),
            (
                &[],
                &[("LLM_MODEL", "other-model")],
                expect(&["Deployment/backend", "Deployment/ai-agent"]),
            ),
            (
                &[],
                &[("LLM_PROVIDER", "groq")],
                expect(&["Deployment/backend", "Deployment/ai-agent"]),
            ),
            (
                &[("POSTGRES_PASSWORD", "new-pw")],
                &[],
                expect(&["Deployment/postgres"]),
            ),
        ];
        for (extra, settings, want) in cases {
            let mut got = rolled(&base, &render_with(&root, profile, extra, settings));
            got.sort();
            assert_eq!(got, want, "{profile}: {extra:?} {settings:?}");
        }
    }
}

#[test]
fn every_workload_is_hardened_and_fenced_by_its_network_policy() {
    let (_dir, root) = support::todo_app();
    // ../design/stack.md: who may call whom.
    let callers = |c: &str| -> &[&str] {
        match c {
            "backend" => &["frontend", "ai-agent", "mcp-server", "ingress-nginx"],
            "mcp-server" => &["backend", "ai-agent"],
            "ai-agent" => &["backend"],
            "postgres" => &["backend", "mcp-server", "ai-agent"],
            "redis" => &["backend"],
            _ => &[],
        }
    };
    for profile in PROFILES {
        let manifests = render_profile(&root, profile);
        let workloads: Vec<&Manifest> = manifests
            .iter()
            .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
            .collect();
        assert!(workloads.len() >= 2, "{profile}");
        let present: Vec<&str> = workloads.iter().map(|m| m.name()).collect();
        for w in &workloads {
            let pod = &w.object["spec"]["template"]["spec"];
            let uid = pod["securityContext"]["runAsUser"].as_u64().unwrap();
            assert!(uid >= 10_000, "{profile} {}: uid {uid}", w.id());
            assert!(pod["securityContext"]["runAsGroup"].as_u64().unwrap() >= 10_000);
            for c in pod["containers"].as_array().unwrap() {
                assert!(c["securityContext"]
                    .get("runAsUser")
                    .is_none_or(|u| u.as_u64().unwrap() >= 10_000));
                assert_eq!(
                    c["securityContext"]["readOnlyRootFilesystem"],
                    true,
                    "{profile} {}",
                    w.id()
                );
            }
            if matches!(w.name(), "postgres" | "redis") {
                assert_eq!(
                    pod["securityContext"]["fsGroup"].as_u64(),
                    Some(uid),
                    "{profile} {}",
                    w.id()
                );
            }
            if w.name() == "postgres" {
                let mounts: Vec<&str> = pod["containers"][0]["volumeMounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["mountPath"].as_str().unwrap())
                    .collect();
                for dir in ["/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"] {
                    assert!(
                        mounts.contains(&dir),
                        "{profile}: postgres writes {dir}: {mounts:?}"
                    );
                }
            }
            let policy = manifests
                .iter()
                .find(|m| m.kind() == "NetworkPolicy" && m.name() == w.name())
                .unwrap_or_else(|| panic!("{profile}: no NetworkPolicy for {}", w.id()));
            let spec = &policy.object["spec"];
            assert_eq!(
                spec["podSelector"]["matchLabels"],
                w.object["spec"]["selector"]["matchLabels"]
            );
            assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress"]));
            if w.name() == "frontend" {
                assert_eq!(
                    spec["ingress"],
                    serde_json::json!([{}]),
                    "{profile}: frontend from anywhere"
                );
                continue;
            }
            let mut admitted: Vec<String> = spec["ingress"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["from"].as_array().cloned().unwrap_or_default())
                .map(|peer| {
                    let name = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    if peer.get("namespaceSelector").is_none() {
                        assert_eq!(
                            peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"],
                            "todo-app"
                        );
                    }
                    name
                })
                .collect();
            admitted.sort();
            let mut want: Vec<String> = callers(w.name())
                .iter()
                .filter(|c| **c == "ingress-nginx" || present.contains(c))
                .map(|c| c.to_string())
                .collect();
            want.sort();
            assert_eq!(admitted, want, "{profile} {}", w.id());
        }
        let policies = manifests
            .iter()
            .filter(|m| m.kind() == "NetworkPolicy")
            .count();
        assert_eq!(
            policies,
            workloads.len(),
            "{profile}: one policy per workload"
        );
    }
}

/// `watch`'s dev variant: the synced service's container gets a writable
/// root filesystem and its image's reload command; every other object, and
/// every other field, is what `up` applies.
#[test]
fn the_dev_variant_differs_from_the_hardened_objects_only_where_sync_needs_it() {
    let dir = support::reference_project();
    let project = project::load(&LoadOptions::default(), dir.path()).unwrap();
    let reload = vec![
        "sh".to_string(),
        "-c".into(),
        "exec uvicorn app.main:app --port \"$PORT\" --reload".into(),
    ];
    let images: BTreeMap<ServiceName, ImageRef> = project
        .services
        .iter()
        .map(|s| {
            let image = ImageRef {
                reference: format!("{}:td-0123456789abcdef", s.image),
                run_as: Some(10001),
                reload_command: (s.name == ServiceName::Backend).then(|| reload.clone()),
            };
            (s.name, image)
        })
        .collect();
    let secrets: BTreeMap<String, SecretValue> =
        [("BETTER_AUTH_SECRET", "s"), ("POSTGRES_PASSWORD", "p")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretValue::new(v)))
            .collect();
    let render_as = |dev: &DevVariant| {
        render::render(&RenderInput {
            project: &project,
            images: &images,
            secrets: &secrets,
            settings: &BTreeMap::new(),
            dev,
            pull_secret: None,
        })
        .unwrap()
    };
    let hardened = render_as(&DevVariant::hardened());
    let dev = render_as(&DevVariant {
        synced: [ServiceName::Backend].into_iter().collect(),
    });
    assert_eq!(hardened.len(), dev.len());
    for (h, d) in hardened.iter().zip(&dev) {
        if h.id() != "Deployment/backend" {
            assert_eq!(h.object, d.object, "{} is the same in both", h.id());
            continue;
        }
        let (hc, dc) = (
            &h.object["spec"]["template"]["spec"]["containers"][0],
            &d.object["spec"]["template"]["spec"]["containers"][0],
        );
        assert_eq!(hc["securityContext"]["readOnlyRootFilesystem"], true);
        assert!(hc.get("command").is_none(), "{hc:#}");
        assert_eq!(dc["securityContext"]["readOnlyRootFilesystem"], false);
        assert_eq!(dc["command"], serde_json::json!(reload));
        // Everything else is the same object.
        let mut d = d.object.clone();
        let c = &mut d["spec"]["template"]["spec"]["containers"][0];
        c["securityContext"]["readOnlyRootFilesystem"] = true.into();
        c.as_object_mut().unwrap().remove("command");
        assert_eq!(h.object, d);
    }
}

/// Offline, with a registry: the names the registry will hold, no digest
/// (only the registry knows it; `up` and `deploy` add it), no pull Secret.
#[test]
fn render_with_a_registry_names_the_registrys_images_without_a_digest() {
    let sb = support::Sandbox::new(&[]);
    let (_dir, root) = support::todo_app();
    let images = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["render", "-o", "json", "--profile", "full"];
        all.extend_from_slice(args);
        let out = sb.todo_dev(&root, &all).output().unwrap();
        assert!(out.status.success(), "{}", support::stderr(&out));
        let list: Value = serde_json::from_str(&support::stdout(&out)).unwrap();
        let items = list["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|o| o["metadata"]["name"] != "todo-registry"),
            "a pull Secret offline"
        );
        let mut out = Vec::new();
        for o in items
            .iter()
            .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        {
            for c in o["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
            {
                out.push(c["image"].as_str().unwrap().to_string());
            }
        }
        out
    };
    let local = images(&[]);
    let pushed = images(&["--registry", "127.0.0.1:5000/team"]);
    assert_eq!(local.len(), pushed.len());
    let app: Vec<(&String, &String)> = local
        .iter()
        .zip(&pushed)
        .filter(|(l, _)| l.starts_with("todo-"))
        .collect();
    assert!(app.len() >= 3, "{local:?}");
    for (l, p) in app {
        assert_eq!(p, &format!("127.0.0.1:5000/team/{l}"));
        assert!(!p.contains('@'), "{p}");
    }
    // The databases come from Docker Hub either way.
    let hub: Vec<_> = local
        .iter()
        .zip(&pushed)
        .filter(|(l, _)| !l.starts_with("todo-"))
        .collect();
    assert!(!hub.is_empty(), "{local:?}");
    for (l, p) in hub {
        assert_eq!(l, p);
    }
}
