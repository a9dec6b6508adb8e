//! `helm test` for the exported chart: one hook pod per app Service with an
//! HTTP health endpoint, GETting from inside the cluster what `up` waits on
//! (each probe's path, and the frontend's `/` as an HTML page), and the
//! NetworkPolicy rule that admits exactly that pod to its Service.

use serde_json::{json, Map, Value};

use super::render::Manifest;
use super::values::{labels, INSTANCE, NAME};
use crate::project::model::ServiceName;
use crate::project::Project;

/// What every hook pod runs with `python3 -c` (its argv: service, seconds, URLs).
pub const CHECK_SCRIPT: &str = include_str!("../../embedded/helm/check.py");

/// How long a hook pod retries by default: long enough for `helm test` right
/// after an `helm install` without `--wait`, and for a CNI to program the policy.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 60;

/// Replaced before each run (no "already exists" after a failed one), deleted
/// when every test passed (hook objects outlive `helm uninstall`); a failed
/// pod stays for `kubectl logs`.
pub const DELETE_POLICY: &str = "before-hook-creation,hook-succeeded";

/// Marks a test pod, beside its chart labels.
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const COMPONENT_VALUE: &str = "helm-test";

/// The image the checks run in: the backend's, which has python3 (the stack's
/// backend is FastAPI), so `helm test` pulls nothing the chart does not.
pub const RUNNER: ServiceName = ServiceName::Backend;

/// One Service's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartTest {
    /// The Service, also its workload's name.
    pub service: String,
    /// The Service's port: what the URLs name.
    pub port: u64,
    /// The pods' port it forwards to: what the NetworkPolicy rule opens.
    pub pod_port: u64,
    /// Paths in order, each with whether it must answer an HTML page.
    pub paths: Vec<(String, bool)>,
}

impl ChartTest {
    /// The hook pod's name and its `app.kubernetes.io/name`: never a
    /// workload's, so no Service selects it and no production pod matches its rule.
    pub fn pod_name(&self) -> String {
        format!("{}-test", self.service)
    }

    /// The check's argv after the seconds: `[--html] URL` per path.
    pub fn url_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (path, html) in &self.paths {
            if *html {
                args.push("--html".to_string());
            }
            args.push(format!("http://{}:{}{path}", self.service, self.port));
        }
        args
    }

    /// The labels that select the hook pod: its name and the project's instance.
    pub fn selector(&self, project: &Project) -> Value {
        json!({NAME: self.pod_name(), INSTANCE: project.instance_name()})
    }

    /// The ingress rule its Service's NetworkPolicy gains: the hook pod, on
    /// the Service's pod port only.
    pub fn admit_rule(&self, project: &Project) -> Value {
        json!({
            "from": [{"podSelector": {"matchLabels": self.selector(project)}}],
            "ports": [{"protocol": "TCP", "port": self.pod_port}],
        })
    }
}

/// The checks for the Services in `manifests`, in stack order: each
/// workload whose container has an HTTP probe, at its probes' paths
/// (liveness, then readiness), the frontend's `/` first. The databases
/// probe with commands: they have none.
pub fn plan(manifests: &[Manifest]) -> Vec<ChartTest> {
    let mut tests = Vec::new();
    for name in ServiceName::ALL {
        let name = name.as_str();
        let workload = manifests
            .iter()
            .find(|m| matches!(m.kind(), "Deployment" | "StatefulSet") && m.name() == name);
        let service = manifests
            .iter()
            .find(|m| m.kind() == "Service" && m.name() == name);
        let (Some(workload), Some(service)) = (workload, service) else {
            continue;
        };
        let container = &workload.object["spec"]["template"]["spec"]["containers"][0];
        let mut paths: Vec<(String, bool)> = Vec::new();
        if name == ServiceName::Frontend.as_str() {
            paths.push(("/".into(), true));
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            if let Some(path) = container[probe]["httpGet"]["path"].as_str() {
                if !paths.iter().any(|(p, _)| p == path) {
                    paths.push((path.to_string(), false));
                }
            }
        }
        let Some(port) = service.object["spec"]["ports"].get(0) else {
            continue;
        };
        let pod_port = match &port["targetPort"] {
            Value::String(named) => container["ports"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == named.as_str()))
                .and_then(|p| p["containerPort"].as_u64()),
            other => other.as_u64().or_else(|| port["port"].as_u64()),
        };
        let (Some(port), Some(pod_port)) = (port["port"].as_u64(), pod_port) else {
            continue;
        };
        // Only a Service with a health endpoint is checked.
        if paths.iter().any(|(_, html)| !html) {
            tests.push(ChartTest {
                service: name.to_string(),
                port,
                pod_port,
                paths,
            });
        }
    }
    tests
}

/// The runner's pod-level facts the hook pods copy: its user and pull Secrets.
pub fn runner_spec(manifests: &[Manifest]) -> Option<&Value> {
    manifests
        .iter()
        .find(|m| m.kind() == "Deployment" && m.name() == RUNNER.as_str())
        .map(|m| &m.object["spec"]["template"]["spec"])
}

/// The hook pod for `test`, `order` its place in stack order (Helm runs test
/// hooks one at a time, by weight). `image` and `seconds` are what the chart
/// writes there (template expressions, lifted by the caller).
pub fn pod(
    project: &Project,
    test: &ChartTest,
    runner: &Value,
    order: usize,
    image: Value,
    seconds: Value,
) -> Value {
    let mut pod_labels = labels(project, &test.pod_name());
    pod_labels[COMPONENT] = json!(COMPONENT_VALUE);
    let uid = runner["securityContext"]["runAsUser"].clone();
    let mut args = vec![json!(test.service), seconds];
    args.extend(test.url_args().into_iter().map(Value::String));
    let mut spec = Map::new();
    spec.insert("restartPolicy".into(), json!("Never"));
    spec.insert("automountServiceAccountToken".into(), json!(false));
    if let Some(secrets) = runner.get("imagePullSecrets").filter(|s| !s.is_null()) {
        spec.insert("imagePullSecrets".into(), secrets.clone());
    }
    // The restricted Pod Security Standard, as the app pods meet it.
    spec.insert(
        "securityContext".into(),
        json!({"runAsNonRoot": true, "runAsUser": uid, "runAsGroup": uid, "seccompProfile": {"type": "RuntimeDefault"}}),
    );
    spec.insert(
        "containers".into(),
        json!([{
            "name": "check",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["python3", "-c", CHECK_SCRIPT],
            "args": args,
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
        }]),
    );
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": test.pod_name(),
            "namespace": project.namespace,
            "labels": pod_labels,
            "annotations": {
                "helm.sh/hook": "test",
                "helm.sh/hook-weight": order.to_string(),
                "helm.sh/hook-delete-policy": DELETE_POLICY,
            },
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_survives_helm_templating() {
        assert!(!CHECK_SCRIPT.contains("{{") && !CHECK_SCRIPT.contains("}}"));
    }
}
