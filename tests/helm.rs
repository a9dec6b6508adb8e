//! `todo-dev export helm` checked by the real helm (scripts/test.sh installs
//! it): `helm lint` passes, `helm template` with default values gives the
//! same objects as `todo-dev render` plus the `helm test` hooks and the
//! NetworkPolicy rules admitting them, and `--set backend.replicaCount=3`
//! works. The hooks' own command then runs on the real Docker engine against
//! the reference app, wired as the chart wires it, passing and failing.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{docker, stderr, stdout, Sandbox};

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

        let (hooks, templated): (Vec<Value>, Vec<Value>) = helm_template(&helm, &chart, set)
            .into_iter()
            .map(masked)
            .partition(|d| d["metadata"]["annotations"].get("helm.sh/hook").is_some());
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
            let t = match r["kind"].as_str() {
                Some("NetworkPolicy") => without_added_rules(t, r, profile),
                _ => t.clone(),
            };
            assert_eq!(
                &t, r,
                "{profile}: {} {} differs",
                r["kind"], r["metadata"]["name"]
            );
        }
        check_test_hooks(profile, &hooks, &templated, &rendered);
    }
}

/// What each app Service's hook GETs (../design/stack.md: ports and probe paths).
fn expected_checks(service: &str) -> &'static [&'static str] {
    match service {
        "frontend" => &[
            "--html",
            "http://frontend:8080/",
            "http://frontend:8080/healthz",
        ],
        "backend" => &["http://backend:8000/health", "http://backend:8000/ready"],
        "mcp-server" => &["http://mcp-server:8001/health"],
        "ai-agent" => &["http://ai-agent:8002/health", "http://ai-agent:8002/ready"],
        other => panic!("no checks known for {other}"),
    }
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

/// `matchLabels` of `selector` all among `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    assert!(
        selector.get("matchExpressions").is_none(),
        "matchExpressions: {selector}"
    );
    selector["matchLabels"]
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Whether `rule` admits a pod of this namespace with `labels`: a rule with
/// no `from` admits every source; a peer with a namespaceSelector names
/// another namespace (ingress-nginx), never this one.
fn rule_admits(rule: &Value, labels: &Value) -> bool {
    match rule.get("from").and_then(Value::as_array) {
        None => true,
        Some(peers) => peers.iter().any(|p| {
            p.get("namespaceSelector").is_none()
                && p.get("ipBlock").is_none()
                && selects(&p["podSelector"], labels)
        }),
    }
}

fn policy_admits(policy: &Value, labels: &Value) -> bool {
    policy["spec"]["ingress"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(|r| rule_admits(r, labels)))
}

/// The labels of every pod the chart runs (workload pod templates).
fn production_pods(docs: &[Value]) -> Vec<(String, Value)> {
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap().to_string(),
                d["spec"]["template"]["metadata"]["labels"].clone(),
            )
        })
        .collect()
}

/// The chart's NetworkPolicy without the rules the render does not have:
/// at most one, checked by `check_test_hooks`.
fn without_added_rules(t: &Value, r: &Value, profile: &str) -> Value {
    let mut t = t.clone();
    let rendered = r["spec"]["ingress"].as_array().unwrap();
    let rules = t["spec"]["ingress"].as_array_mut().unwrap();
    let before = rules.len();
    rules.retain(|rule| rendered.contains(rule));
    assert!(
        before - rules.len() <= 1,
        "{profile}: {} gained {} rules",
        r["metadata"]["name"],
        before - rules.len()
    );
    t
}

/// One hook pod per app Service, hardened as the app pods are, in the
/// backend's image; and the policies admit each hook pod to its own Service
/// only, while every production pod is admitted exactly where it was.
fn check_test_hooks(profile: &str, hooks: &[Value], templated: &[Value], rendered: &[Value]) {
    let services: Vec<&str> = ["frontend", "backend", "mcp-server", "ai-agent"]
        .into_iter()
        .filter(|s| named(rendered, "Deployment", s).is_some())
        .collect();
    let mut names: Vec<&str> = hooks
        .iter()
        .map(|h| h["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    let mut want: Vec<String> = services.iter().map(|s| format!("{s}-test")).collect();
    want.sort();
    assert_eq!(names, want, "{profile}: hook pods");
    let backend = named(rendered, "Deployment", "backend").unwrap();
    let backend_pod = &backend["spec"]["template"]["spec"];
    let policies: Vec<&Value> = templated
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .collect();
    for service in &services {
        let name = format!("{service}-test");
        let hook = hooks
            .iter()
            .find(|h| h["metadata"]["name"] == name.as_str())
            .unwrap();
        assert_eq!(hook["kind"], "Pod", "{profile}: {name}");
        let notes = &hook["metadata"]["annotations"];
        assert_eq!(notes["helm.sh/hook"], "test", "{profile}: {name}");
        assert_eq!(
            notes["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded",
            "{profile}: {name}"
        );
        let labels = &hook["metadata"]["labels"];
        for (k, v) in [
            ("app.kubernetes.io/part-of", "todo"),
            ("app.kubernetes.io/managed-by", "todo-dev"),
            ("app.kubernetes.io/instance", "todo-app"),
            ("app.kubernetes.io/name", name.as_str()),
            ("app.kubernetes.io/component", "helm-test"),
        ] {
            assert_eq!(labels[k], v, "{profile}: {name} label {k}");
        }
        let spec = &hook["spec"];
        assert_eq!(spec["restartPolicy"], "Never", "{profile}: {name}");
        assert_eq!(spec["automountServiceAccountToken"], false);
        // The restricted Pod Security Standard, as the app pods meet it.
        let pod_sc = &spec["securityContext"];
        assert_eq!(pod_sc["runAsNonRoot"], true, "{profile}: {name}");
        assert!(pod_sc["runAsUser"].as_u64().unwrap() >= 10_000);
        assert_eq!(
            pod_sc["runAsUser"], backend_pod["securityContext"]["runAsUser"],
            "{profile}: {name} runs as the backend image's user"
        );
        assert_eq!(pod_sc["seccompProfile"]["type"], "RuntimeDefault");
        let containers = spec["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "{profile}: {name}");
        let c = &containers[0];
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{profile}: {name}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{profile}: {name}");
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(sc["capabilities"].get("add").is_none());
        for k in ["requests", "limits"] {
            for r in ["cpu", "memory"] {
                assert!(
                    c["resources"][k][r].is_string(),
                    "{profile}: {name} {k}.{r}"
                );
            }
        }
        // No image to pull beyond the chart's own.
        assert_eq!(
            c["image"], backend_pod["containers"][0]["image"],
            "{profile}: {name}"
        );
        assert_eq!(c["command"][0], "python3");
        let args: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(args[..2], [*service, "60"], "{profile}: {name}");
        assert_eq!(args[2..], *expected_checks(service), "{profile}: {name}");

        // Admitted by its own Service's policy, on that Service's pod port only.
        let own = policies
            .iter()
            .find(|p| p["metadata"]["name"] == *service)
            .unwrap();
        assert!(
            policy_admits(own, labels),
            "{profile}: {service} refuses {name}"
        );
        let stranger = serde_json::json!({"app.kubernetes.io/name": "stranger"});
        if !policy_admits(own, &stranger) {
            let rules: Vec<&Value> = own["spec"]["ingress"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| rule_admits(r, labels))
                .collect();
            assert_eq!(rules.len(), 1, "{profile}: {service}: {rules:?}");
            let port = named(rendered, "Deployment", service).unwrap()["spec"]["template"]["spec"]
                ["containers"][0]["ports"][0]["containerPort"]
                .clone();
            assert_eq!(
                rules[0]["ports"],
                serde_json::json!([{"protocol": "TCP", "port": port}]),
                "{profile}: {service}"
            );
        }
        // Refused by every other policy that does not admit anyone.
        for p in &policies {
            if p["metadata"]["name"] != *service && policy_admits(p, labels) {
                assert!(
                    policy_admits(p, &stranger),
                    "{profile}: {} admits {name}",
                    p["metadata"]["name"]
                );
            }
        }
    }
    // No production pod gains or loses a peer.
    for (pod, labels) in production_pods(templated) {
        for p in &policies {
            let r = named(
                rendered,
                "NetworkPolicy",
                p["metadata"]["name"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(
                policy_admits(p, &labels),
                policy_admits(r, &labels),
                "{profile}: {} and {pod}",
                p["metadata"]["name"]
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

/// A Docker network standing in for the chart's namespace: each container
/// on it answers at its Service's name. Removed, with its containers, on drop.
struct Namespace {
    host: String,
    id: String,
}

impl Namespace {
    fn new(host: &str) -> Namespace {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let ns = Namespace {
            host: host.to_string(),
            id: format!("todo-dev-helmtest-{}-{nanos}", std::process::id()),
        };
        let label = format!("todo-dev.helmtest={}", ns.id);
        ns.docker_ok(&["network", "create", "--label", &label, &ns.id]);
        ns
    }

    fn docker_ok(&self, args: &[&str]) -> String {
        let out = docker(&self.host, args);
        assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// Starts `image` in the background as the Service `alias`.
    fn start(&self, alias: &str, flags: &[String], image: &str, cmd: &[String]) {
        let name = format!("{}-{alias}", self.id);
        let label = format!("todo-dev.helmtest={}", self.id);
        let mut args: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &label,
            "--network",
            &self.id,
            "--network-alias",
            alias,
        ];
        args.extend(flags.iter().map(String::as_str));
        args.push(image);
        args.extend(cmd.iter().map(String::as_str));
        self.docker_ok(&args);
    }

    fn stop(&self, alias: &str) {
        self.docker_ok(&["stop", "-t", "2", &format!("{}-{alias}", self.id)]);
    }

    fn logs(&self, alias: &str) -> String {
        let out = docker(
            &self.host,
            &["logs", "--tail", "20", &format!("{}-{alias}", self.id)],
        );
        format!("{}{}", stdout(&out), stderr(&out))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let filter = format!("label=todo-dev.helmtest={}", self.id);
        let ids = stdout(&docker(&self.host, &["ps", "-aq", "--filter", &filter]));
        let mut args = vec!["rm", "-f"];
        args.extend(ids.split_whitespace());
        if args.len() > 2 {
            docker(&self.host, &args);
        }
        docker(&self.host, &["network", "rm", &self.id]);
    }
}

/// `docker run` flags for a pod's container that do what its securityContext,
/// emptyDir mounts and limits do in a cluster.
fn pod_flags(pod: &Value) -> Vec<String> {
    let spec = &pod["spec"];
    let c = &spec["containers"][0];
    let (sc, pod_sc) = (&c["securityContext"], &spec["securityContext"]);
    let uid = pod_sc["runAsUser"].as_u64().expect("a numeric runAsUser");
    let gid = pod_sc["runAsGroup"].as_u64().unwrap_or(uid);
    let mut flags = vec!["--user".to_string(), format!("{uid}:{gid}")];
    if sc["capabilities"]["drop"] == serde_json::json!(["ALL"]) {
        flags.extend(["--cap-drop".into(), "ALL".into()]);
    }
    if sc["allowPrivilegeEscalation"] == false {
        flags.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    if sc["readOnlyRootFilesystem"] == true {
        flags.push("--read-only".into());
    }
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let volume = spec["volumes"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["name"] == m["name"]))
            .unwrap();
        assert!(volume.get("emptyDir").is_some(), "{volume}");
        flags.extend(["--tmpfs".into(), m["mountPath"].as_str().unwrap().into()]);
    }
    let limits = &c["resources"]["limits"];
    if let Some(mem) = limits["memory"].as_str() {
        let mib = mem.strip_suffix("Mi").expect("a limit in Mi");
        flags.extend(["--memory".into(), format!("{mib}m")]);
    }
    if let Some(cpu) = limits["cpu"].as_str() {
        let milli: f64 = cpu
            .strip_suffix('m')
            .expect("a limit in m")
            .parse()
            .unwrap();
        flags.extend(["--cpus".into(), format!("{}", milli / 1000.0)]);
    }
    flags
}

/// `-e` flags for a container's env, each valueFrom read from the chart's
/// ConfigMap or Secret, as the kubelet does.
fn env_flags(docs: &[Value], container: &Value) -> Vec<String> {
    use base64::Engine;
    let mut flags = Vec::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let from = &e["valueFrom"];
        let value = if let Some(v) = e["value"].as_str() {
            v.to_string()
        } else if let Some(r) = from.get("configMapKeyRef") {
            let cm = named(docs, "ConfigMap", r["name"].as_str().unwrap()).unwrap();
            cm["data"][r["key"].as_str().unwrap()]
                .as_str()
                .unwrap()
                .to_string()
        } else {
            let r = &from["secretKeyRef"];
            let secret = named(docs, "Secret", r["name"].as_str().unwrap()).unwrap();
            let b64 = secret["data"][r["key"].as_str().unwrap()].as_str().unwrap();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            String::from_utf8(raw).unwrap()
        };
        flags.extend([
            "-e".to_string(),
            format!("{}={value}", e["name"].as_str().unwrap()),
        ]);
    }
    flags
}

/// Runs a hook pod as the kubelet would: its image, its command and args,
/// its securityContext and limits, in the namespace. (exit code, output)
fn run_hook(ns: &Namespace, hook: &Value) -> (Option<i32>, String) {
    let c = &hook["spec"]["containers"][0];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let (command, args) = (strings(&c["command"]), strings(&c["args"]));
    let mut run: Vec<String> = vec![
        "run".into(),
        "--rm".into(),
        "--network".into(),
        ns.id.clone(),
    ];
    run.extend(pod_flags(hook));
    run.extend(["--entrypoint".into(), command[0].clone()]);
    run.push(c["image"].as_str().unwrap().into());
    run.extend(command[1..].iter().cloned());
    run.extend(args);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = docker(&ns.host, &run);
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn helm_test_hooks_pass_on_the_reference_app_and_name_the_service_that_fails() {
    let test = "helm_test_hooks_pass_on_the_reference_app_and_name_the_service_that_fails";
    let Some(helm) = helm_or_skip(test) else {
        return;
    };
    let Some(host) = support::docker_host_or_skip(test) else {
        return;
    };
    let Some(bases) = support::bases_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let app = sb.init_app(tmp.path());
    // agents: all four HTTP services. The images are smoke's (same app, same base images).
    let mut args: Vec<String> = vec!["--profile".into(), "agents".into()];
    args.extend(bases.build_args());
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(args.iter().cloned())
            .collect()
    };
    let database_url = "postgresql://todo:helmtest-pw@postgres:5432/todo";
    let run = |argv: Vec<String>| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = sb
            .todo_dev(&app, &argv)
            .env("DOCKER_HOST", &host)
            .env("DATABASE_URL", database_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{argv:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    };
    let started = std::time::Instant::now();
    run(with(&["build"]));
    let chart = tmp.path().join("chart");
    run(with(&["export", "helm", chart.to_str().unwrap()]));
    let url = format!("secrets.DATABASE_URL={database_url}");
    let template = |seconds: &str| {
        let timeout = format!("tests.timeoutSeconds={seconds}");
        helm_template(&helm, &chart, &["--set", &url, "--set", &timeout])
    };
    let docs = template("60");
    let hook = |docs: &[Value], service: &str| -> Value {
        named(docs, "Pod", &format!("{service}-test"))
            .unwrap_or_else(|| panic!("no {service}-test"))
            .clone()
    };
    eprintln!(
        "built and exported in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let ns = Namespace::new(&host);
    ns.start(
        "postgres",
        &[
            "--user",
            "999:999",
            "-e",
            "POSTGRES_USER=todo",
            "-e",
            "POSTGRES_DB=todo",
            "-e",
            "POSTGRES_PASSWORD=helmtest-pw",
        ]
        .map(String::from),
        &bases.postgres,
        &[],
    );
    // Backends first: nginx resolves BACKEND_URL's host when it starts.
    for service in ["backend", "mcp-server", "ai-agent", "frontend"] {
        let d = named(&docs, "Deployment", service).unwrap();
        let s = named(&docs, "Service", service).unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        // The network alias stands in for the Service: its port must be the pods'.
        assert_eq!(
            s["spec"]["ports"][0]["port"],
            c["ports"][0]["containerPort"]
        );
        let mut flags = pod_flags(&serde_json::json!({"spec": d["spec"]["template"]["spec"]}));
        flags.extend(env_flags(&docs, c));
        assert!(c["command"].is_null(), "{service}: the image's own command");
        ns.start(service, &flags, c["image"].as_str().unwrap(), &[]);
    }

    // Passing: every hook, in Helm's order (by weight), exits 0 with a line a URL.
    let mut hooks: Vec<Value> = docs
        .iter()
        .filter(|d| d["metadata"]["annotations"]["helm.sh/hook"] == "test")
        .cloned()
        .collect();
    hooks.sort_by_key(|h| {
        h["metadata"]["annotations"]["helm.sh/hook-weight"]
            .as_str()
            .unwrap()
            .parse::<i32>()
            .unwrap()
    });
    assert_eq!(hooks.len(), 4);
    let passing = std::time::Instant::now();
    for h in &hooks {
        let (code, text) = run_hook(&ns, h);
        let service = h["spec"]["containers"][0]["args"][0].as_str().unwrap();
        assert_eq!(
            code,
            Some(0),
            "{service}-test:\n{text}\n--- {service}:\n{}",
            ns.logs(service)
        );
        let urls = expected_checks(service).iter().filter(|a| **a != "--html");
        for url in urls {
            let line = text
                .lines()
                .find(|l| l.contains(&format!("GET {url} ")))
                .unwrap_or_else(|| panic!("{service}-test says nothing of {url}:\n{text}"));
            assert!(
                line.starts_with(&format!("ok     {service}: GET {url} -> 200 "))
                    && line.ends_with(" ms"),
                "{line}"
            );
        }
        if service == "frontend" {
            assert!(
                text.contains("GET http://frontend:8080/ -> 200 text/html"),
                "{text}"
            );
        }
        eprintln!("{text}");
    }
    eprintln!("hooks passed in {:.1}s", passing.elapsed().as_secs_f64());

    // Failing, with a short deadline the chart offers: the MCP server down.
    let short = template("3");
    ns.stop("mcp-server");
    let (code, text) = run_hook(&ns, &hook(&short, "mcp-server"));
    eprintln!("{text}");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAILED mcp-server: GET http://mcp-server:8001/health -> error: "),
        "{text}"
    );
    // ai-agent answers, but not ready: the status it gave is what the pod says.
    let (code, text) = run_hook(&ns, &hook(&short, "ai-agent"));
    eprintln!("{text}");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("ok     ai-agent: GET http://ai-agent:8002/health -> 200 "),
        "{text}"
    );
    assert!(
        text.contains("FAILED ai-agent: GET http://ai-agent:8002/ready -> 503 application/json: "),
        "{text}"
    );
    // The backend down: its hook fails and names it; the frontend's still pass.
    ns.stop("backend");
    let (code, text) = run_hook(&ns, &hook(&short, "backend"));
    eprintln!("{text}");
    assert_eq!(code, Some(1), "{text}");
    for path in ["/health", "/ready"] {
        assert!(
            text.contains(&format!(
                "FAILED backend: GET http://backend:8000{path} -> error: "
            )),
            "{text}"
        );
    }
    let (code, text) = run_hook(&ns, &hook(&short, "frontend"));
    assert_eq!(code, Some(0), "{text}");
    eprintln!("whole test: {:.1}s", started.elapsed().as_secs_f64());
}
