//! `export helm`: a chart whose `helm template` with default values gives
//! the same objects as `render` for the profile. The templates are the
//! rendered objects with a few values lifted into values.yaml: namespace,
//! each workload's replicaCount and image, and the Secret's inputs. Beside
//! them, `helm test` hooks (super::helm_tests), and in each checked Service's
//! NetworkPolicy one more rule: the one that admits its hook pod.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::helm_tests::{self, ChartTest};
use super::render::Manifest;
use crate::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("{} already exists and is not empty\n  help: pick a new directory, or remove it first", .0.display())]
    NotEmpty(std::path::PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialise {0}: {1}")]
    Yaml(String, #[source] serde_saphyr::ser::Error),
}

/// `mcp-server` -> `mcpServer`: Helm value keys must be identifiers.
pub fn values_key(component: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in component.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `"repo:tag"` from a workload's image values.
fn image_expr(key: &str) -> String {
    format!("\"{{{{ .Values.{key}.image.repository }}}}:{{{{ .Values.{key}.image.tag }}}}\"")
}

const NAMESPACE_EXPR: &str = "{{ .Values.namespace | quote }}";

/// Lifted values are first replaced by marker strings, then the markers by
/// template expressions once the object is YAML text.
struct Lifter {
    exprs: Vec<String>,
}

impl Lifter {
    fn mark(&mut self, expr: String) -> Value {
        self.exprs.push(expr);
        Value::String(format!("__HELM_{}__", self.exprs.len() - 1))
    }

    fn finish(&self, yaml: String) -> String {
        let mut out = yaml;
        for (i, e) in self.exprs.iter().enumerate() {
            out = out.replace(&format!("__HELM_{i}__"), e);
        }
        out
    }
}

/// Writes the chart for `manifests` (rendered for `project`) into `dir`.
pub fn export(
    project: &Project,
    manifests: &[Manifest],
    dir: &Path,
) -> Result<Vec<String>, HelmError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(HelmError::NotEmpty(dir.to_path_buf()));
    }
    let mut values = serde_json::Map::new();
    values.insert("namespace".into(), json!(project.namespace));
    // The checks run in the backend's image: without a backend, no tests.
    let runner = helm_tests::runner_spec(manifests);
    let tests: Vec<ChartTest> = match runner {
        Some(_) => helm_tests::plan(manifests),
        None => Vec::new(),
    };
    let file_name = |i: usize, m: &Manifest| {
        format!(
            "templates/{:02}-{}-{}.yaml",
            i,
            m.kind().to_lowercase(),
            m.name()
        )
    };
    // As charts do: a workload's checksum is the sha256 of the rendered config templates.
    let config_files: Vec<String> = manifests
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m.kind(), "ConfigMap" | "Secret"))
        .map(|(i, m)| file_name(i, m))
        .collect();
    let checksum_expr = format!(
        "{{{{ print {} | sha256sum | quote }}}}",
        config_files
            .iter()
            .map(|f| format!(
                "(include (print $.Template.BasePath \"/{}\") .)",
                f.trim_start_matches("templates/")
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (i, m) in manifests.iter().enumerate() {
        let mut obj = m.object.clone();
        let mut lift = Lifter { exprs: Vec::new() };
        if obj["metadata"].get("namespace").is_some() {
            obj["metadata"]["namespace"] = lift.mark(NAMESPACE_EXPR.into());
        }
        if m.kind() == "Namespace" {
            obj["metadata"]["name"] = lift.mark(NAMESPACE_EXPR.into());
        }
        if matches!(m.kind(), "Deployment" | "StatefulSet") {
            let key = values_key(m.name());
            let mut entry = json!({});
            if let Some(r) = obj["spec"].get("replicas").cloned() {
                entry["replicaCount"] = r;
                obj["spec"]["replicas"] =
                    lift.mark(format!("{{{{ .Values.{key}.replicaCount }}}}"));
            }
            if let Some(image) = obj["spec"]["template"]["spec"]["containers"][0]["image"].as_str()
            {
                let (repo, tag) = image.rsplit_once(':').unwrap_or((image, ""));
                entry["image"] = json!({"repository": repo, "tag": tag});
                obj["spec"]["template"]["spec"]["containers"][0]["image"] =
                    lift.mark(image_expr(&key));
            }
            values.insert(key, entry);
            if let Some(sum) =
                obj.pointer_mut("/spec/template/metadata/annotations/checksum~1config")
            {
                *sum = lift.mark(checksum_expr.clone());
            }
        }
        let mut preamble = String::new();
        let test = tests.iter().find(|t| t.service == m.name());
        if let (Some(t), "NetworkPolicy") = (test, m.kind()) {
            if admit_test(&mut obj, t, project) {
                preamble = format!(
                    "# The last rule admits only `helm test`'s pod {} (templates/tests/), on port {}.\n",
                    t.pod_name(),
                    t.pod_port
                );
            }
        }
        if m.kind() == "Secret" {
            preamble = secret_preamble(project);
            let mut secrets = serde_json::Map::new();
            if let Some(Value::Object(data)) = obj.get_mut("data") {
                for (k, v) in data.iter_mut() {
                    *v = lift.mark(secret_expr(k));
                    secrets.insert(k.clone(), json!(""));
                }
            }
            values.insert("secrets".into(), Value::Object(secrets));
        }
        let yaml = serde_saphyr::to_string(&obj).map_err(|e| HelmError::Yaml(m.id(), e))?;
        files.insert(file_name(i, m), format!("{preamble}{}", lift.finish(yaml)));
    }
    if let Some(runner) = runner {
        for (order, t) in tests.iter().enumerate() {
            let mut lift = Lifter { exprs: Vec::new() };
            let image = lift.mark(image_expr(&values_key(helm_tests::RUNNER.as_str())));
            let seconds = lift.mark("{{ .Values.tests.timeoutSeconds | quote }}".into());
            let mut obj = helm_tests::pod(project, t, runner, order, image, seconds);
            obj["metadata"]["namespace"] = lift.mark(NAMESPACE_EXPR.into());
            let id = format!("Pod/{}", t.pod_name());
            let yaml = serde_saphyr::to_string(&obj).map_err(|e| HelmError::Yaml(id, e))?;
            files.insert(
                format!("templates/tests/{}.yaml", t.pod_name()),
                format!("{}{}", test_preamble(t), lift.finish(yaml)),
            );
        }
        values.insert(
            "tests".into(),
            json!({"timeoutSeconds": helm_tests::DEFAULT_TIMEOUT_SECONDS}),
        );
    }
    files.insert("Chart.yaml".into(), chart_yaml(project));
    let tests_note = if tests.is_empty() {
        ""
    } else {
        "# tests.timeoutSeconds: how long each `helm test` pod retries its Service before it fails.\n"
    };
    let values_text = serde_saphyr::to_string(&Value::Object(values))
        .map_err(|e| HelmError::Yaml("values".into(), e))?;
    files.insert(
        "values.yaml".into(),
        format!("# Defaults equal `todo-dev render --profile {}`.\n# Secret values are never written here: pass them with --set secrets.NAME=... (empty = generated or required).\n{tests_note}{values_text}", project.profile.name),
    );
    files.insert("templates/NOTES.txt".into(), notes(project));
    files.insert("README.md".into(), readme(project));
    files.insert(".helmignore".into(), "*.md.orig\n.git/\n".into());
    for (name, text) in &files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| HelmError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| HelmError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(files.into_keys().collect())
}

/// Adds the rule admitting `t`'s hook pod to a NetworkPolicy, unless one
/// of its rules already admits every source. True when it was added.
fn admit_test(policy: &mut Value, t: &ChartTest, project: &Project) -> bool {
    let Some(rules) = policy["spec"]["ingress"].as_array_mut() else {
        return false;
    };
    if rules
        .iter()
        .any(|r| r.get("from").is_none() && r.get("ports").is_none())
    {
        return false;
    }
    rules.push(t.admit_rule(project));
    true
}

fn test_preamble(t: &ChartTest) -> String {
    format!(
        "# `helm test`: GET the {svc} Service's {paths} from inside the cluster, as `up` waits on them.\n\
         # In the backend's image (it has python3: nothing more to pull), as its user, under the restricted\n\
         # Pod Security Standard. Deleted when every test passed (hook objects outlive `helm uninstall`);\n\
         # a failed one stays for `kubectl logs -n NAMESPACE {pod}` until the next `helm test` replaces it.\n",
        svc = t.service,
        paths = t.paths.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(" "),
        pod = t.pod_name(),
    )
}

/// Generated secrets: random on first install, kept from the cluster after.
fn secret_preamble(project: &Project) -> String {
    let mut s = String::from(
        "{{- $existing := (lookup \"v1\" \"Secret\" .Values.namespace \"todo-secrets\") | default dict }}\n{{- $data := (get $existing \"data\") | default dict }}\n",
    );
    s.push_str("{{- $pw := .Values.secrets.POSTGRES_PASSWORD | default ((get $data \"POSTGRES_PASSWORD\") | default \"\" | b64dec) | default (randAlphaNum 32) }}\n");
    s.push_str("{{- $auth := .Values.secrets.BETTER_AUTH_SECRET | default ((get $data \"BETTER_AUTH_SECRET\") | default \"\" | b64dec) | default (randAlphaNum 64) }}\n");
    if project.database == crate::project::model::DatabaseMode::External {
        s.push_str("{{- $db := required \"set secrets.DATABASE_URL (this profile uses an external database)\" .Values.secrets.DATABASE_URL }}\n");
    } else {
        s.push_str("{{- $db := .Values.secrets.DATABASE_URL | default (printf \"postgresql://todo:%s@postgres:5432/todo\" $pw) }}\n");
    }
    s
}

fn secret_expr(key: &str) -> String {
    match key {
        "POSTGRES_PASSWORD" => "{{ $pw | b64enc | quote }}".into(),
        "BETTER_AUTH_SECRET" => "{{ $auth | b64enc | quote }}".into(),
        "DATABASE_URL" => "{{ $db | b64enc | quote }}".into(),
        other => format!("{{{{ .Values.secrets.{other} | b64enc | quote }}}}"),
    }
}

fn chart_yaml(project: &Project) -> String {
    format!(
        "apiVersion: v2\nname: todo\ndescription: The Todo AI chatbot stack (profile {}), exported by todo-dev\ntype: application\nversion: 0.1.0\nappVersion: \"{}\"\n",
        project.profile.name,
        env!("CARGO_PKG_VERSION")
    )
}

fn notes(project: &Project) -> String {
    let access = match &project.access.ingress_host {
        Some(h) => format!("Open http://{h} (map it to the cluster IP in /etc/hosts)."),
        None => format!("Find the frontend: minikube service frontend -n {{{{ .Values.namespace }}}} --url (profile {}).", project.profile.name),
    };
    format!("The Todo chatbot is installed in namespace {{{{ .Values.namespace }}}}.\n{access}\nCheck it from inside the cluster: helm test {{{{ .Release.Name }}}} (once its pods are Ready).\n")
}

fn readme(project: &Project) -> String {
    format!(
        "# todo chart\n\nExported by `todo-dev export helm` from profile `{p}`. With default values,\n`helm template` gives the same objects as `todo-dev render --profile {p}`.\n\n```sh\nhelm install todo . --set backend.replicaCount=3\n```\n\nValues: `namespace`; per workload (`frontend`, `backend`, `mcpServer`, `aiAgent`,\n`postgres`, `redis`) `replicaCount` and `image.repository`/`image.tag`;\n`secrets.*` (never stored in the chart: pass with `--set`; empty\nBETTER_AUTH_SECRET/POSTGRES_PASSWORD are generated once and kept from the cluster).\nThe images are the ones todo-dev built into Minikube's Docker daemon.\n\n`helm test todo` runs one pod per Service with a health endpoint\n(templates/tests/): it GETs the probes' paths (and the frontend's `/` as HTML)\nthrough the Service, retrying for `tests.timeoutSeconds` (default 60), and prints\neach URL's status and time. A passing pod is deleted; read a failed one with\n`kubectl logs -n NAMESPACE SERVICE-test` (with that delete policy `helm test --logs`\nfinds no pods: helm/helm#9098). Each checked Service's NetworkPolicy admits its\ntest pod, on its port only.\n",
        p = project.profile.name
    )
}
