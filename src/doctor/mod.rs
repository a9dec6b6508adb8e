//! `doctor`: probes the machine concurrently, each probe under a deadline,
//! and turns what it finds into checks with a fix for every problem.

mod docker;
mod host;
mod kube;
mod minikube;
mod project;
mod registry;
mod tools;

use std::time::Duration;

use serde::Serialize;

use crate::project::Project;

/// Version of the `--json` report layout; bump on any breaking change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but something is off or optional and absent.
    Warning,
    /// A tool, daemon or input is not there.
    Missing,
    /// Present but not good enough (e.g. too little memory).
    Fail,
    /// Not checked because a check it depends on did not pass.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Missing => "missing",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `docker.daemon`.
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    /// Whether `todo-dev up` needs this check to pass.
    pub required: bool,
    pub detail: String,
    /// What to do about it; present whenever status is not `ok`/`skipped`.
    pub fix: Option<String>,
    /// Facts the check found (versions, sizes in bytes, paths).
    pub data: serde_json::Value,
}

impl Check {
    fn new(id: &'static str, title: &'static str, required: bool) -> Check {
        Check {
            id,
            title,
            status: Status::Ok,
            required,
            detail: String::new(),
            fix: None,
            data: serde_json::Value::Null,
        }
    }

    fn ok(mut self, detail: impl Into<String>) -> Check {
        self.status = Status::Ok;
        self.detail = detail.into();
        self
    }

    fn problem(
        mut self,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        self.status = status;
        self.detail = detail.into();
        self.fix = Some(fix.into());
        self
    }

    fn skipped(mut self, detail: impl Into<String>) -> Check {
        self.status = Status::Skipped;
        self.detail = detail.into();
        self
    }

    fn with_data(mut self, data: serde_json::Value) -> Check {
        self.data = data;
        self
    }

    /// A required check that is missing or failing makes doctor exit 1.
    pub fn blocks(&self) -> bool {
        self.required && matches!(self.status, Status::Missing | Status::Fail)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub profile: String,
    pub project_root: String,
    /// True when no required check is missing or failing.
    pub ok: bool,
    pub needs: Needs,
    pub checks: Vec<Check>,
}

/// What the chosen profile asks of the machine.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Needs {
    pub cpus: u32,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub driver: String,
    pub cluster: String,
}

/// A group of checks run as one probe: named, so that a probe that panics
/// or runs out of time is still a check in the report, never a gap in it.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub id: &'static str,
    pub title: &'static str,
    pub required: bool,
}

const PROBES: [Probe; 7] = [
    Probe {
        id: "docker",
        title: "Docker",
        required: true,
    },
    Probe {
        id: "minikube",
        title: "Minikube",
        required: true,
    },
    Probe {
        id: "tools",
        title: "kubectl, helm and AI tools",
        required: false,
    },
    Probe {
        id: "host",
        title: "host CPUs, memory and disk",
        required: true,
    },
    Probe {
        id: "host.inotify",
        title: "file watch limit",
        required: false,
    },
    Probe {
        id: "kube.context",
        title: "kube context",
        required: false,
    },
    Probe {
        id: "project",
        title: "project sources and secrets",
        required: true,
    },
];

/// How long a whole probe may take: its own deadline for each external call
/// inside it, and room for a few of them.
pub fn probe_deadline(deadline: Duration) -> Duration {
    deadline * 2 + Duration::from_secs(1)
}

/// Runs `checks` on its own task under `limit`. A panic or a timeout becomes
/// one failed check named after the probe.
pub async fn guarded<F>(probe: Probe, limit: Duration, checks: F) -> Vec<Check>
where
    F: std::future::Future<Output = Vec<Check>> + Send + 'static,
{
    let failed = |detail: String, fix: String| {
        vec![Check::new(probe.id, probe.title, probe.required).problem(Status::Fail, detail, fix)]
    };
    match tokio::time::timeout(limit, tokio::spawn(checks)).await {
        Ok(Ok(found)) if !found.is_empty() => found,
        Ok(Ok(_)) => failed(
            "the probe found nothing to report".into(),
            "run `todo-dev doctor -v` and report this as a bug".into(),
        ),
        Ok(Err(e)) => failed(
            format!("the probe failed: {e}"),
            "report this as a bug; the other checks still hold".into(),
        ),
        Err(_) => failed(
            format!("took longer than {:.1} s", limit.as_secs_f64()),
            format!(
                "something it asks is slow or hung; rerun with a longer deadline (`todo-dev doctor --timeout {:.0}`)",
                (limit.as_secs_f64() * 2.0).ceil()
            ),
        ),
    }
}

/// Runs blocking work (file walks, kubeconfig reads) off the runtime, as a future.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        // Re-raise on this task: `guarded` turns it into a failed check.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

pub async fn run(project: &Project, deadline: Duration) -> Report {
    let needs = Needs {
        cpus: project.cluster.cpus,
        memory_bytes: project.cluster.memory_mib << 20,
        disk_bytes: project.cluster.disk_mib << 20,
        driver: project.cluster.driver.clone(),
        cluster: project.cluster.name.clone(),
    };
    let limit = probe_deadline(deadline);
    // `minikube status` SSHes into the node: it has a longer deadline of its own.
    let minikube_limit =
        limit.max(crate::cluster::minikube::STATUS_DEADLINE + Duration::from_secs(2));
    let [p_docker, p_minikube, p_tools, p_host, p_inotify, p_kube, p_project] = PROBES;
    let (
        docker_checks,
        minikube_checks,
        tool_checks,
        host_checks,
        inotify,
        kube_check,
        project_checks,
    ) = {
        let (n1, n2) = (needs.clone(), needs.clone());
        let (pr1, pr2, pr3, pr4) = (
            project.clone(),
            project.clone(),
            project.clone(),
            project.clone(),
        );
        tokio::join!(
            guarded(p_docker, limit, async move {
                docker::checks(&n1, deadline).await
            }),
            guarded(p_minikube, minikube_limit, async move {
                minikube::checks(&pr1, deadline).await
            }),
            guarded(p_tools, limit, tools::checks(deadline)),
            guarded(p_host, limit, blocking(move || host::checks(&n2))),
            guarded(
                p_inotify,
                limit,
                blocking(move || vec![host::inotify(&pr2)])
            ),
            guarded(p_kube, limit, blocking(move || vec![kube::check(&pr3)])),
            guarded(p_project, limit, blocking(move || project::checks(&pr4))),
        )
    };
    // Only a project with a registry has registry checks.
    let registry_checks = match &project.registry {
        Some(r) => {
            let repository = project
                .services
                .first()
                .map(|s| s.image.clone())
                .unwrap_or_else(|| "todo".into());
            let probe = Probe {
                id: "registry",
                title: "image registry",
                required: false,
            };
            guarded(probe, limit, registry::checks(r.clone(), repository)).await
        }
        None => vec![],
    };
    let mut checks = Vec::new();
    checks.extend(docker_checks);
    checks.extend(minikube_checks);
    checks.extend(tool_checks);
    checks.extend(host_checks);
    checks.extend(inotify);
    checks.extend(kube_check);
    checks.extend(project_checks);
    checks.extend(registry_checks);
    Report {
        schema_version: SCHEMA_VERSION,
        profile: project.profile.name.clone(),
        project_root: project.root.display().to_string(),
        ok: !checks.iter().any(Check::blocks),
        needs,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: Probe = Probe {
        id: "docker",
        title: "Docker",
        required: true,
    };

    #[tokio::test]
    async fn a_probe_that_panics_is_a_failed_check_with_its_name() {
        let checks = guarded(PROBE, Duration::from_secs(5), async {
            panic!("boom");
        })
        .await;
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].id, "docker");
        assert_eq!(checks[0].status, Status::Fail);
        assert!(checks[0].detail.contains("failed"), "{}", checks[0].detail);
        assert!(
            checks[0].blocks(),
            "a required probe that failed blocks `ready`"
        );
        let walked = guarded(
            PROBE,
            Duration::from_secs(5),
            blocking(|| -> Vec<Check> { panic!("in a walk") }),
        )
        .await;
        assert_eq!((walked.len(), walked[0].status), (1, Status::Fail));
    }

    #[tokio::test]
    async fn a_probe_that_runs_out_of_time_says_how_long_it_had() {
        let checks = guarded(PROBE, Duration::from_millis(50), async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            vec![Check::new("docker.daemon", "Docker daemon", true)]
        })
        .await;
        assert_eq!(checks.len(), 1);
        assert_eq!((checks[0].id, checks[0].status), ("docker", Status::Fail));
        assert!(
            checks[0].detail.contains("took longer than 0.1 s"),
            "{}",
            checks[0].detail
        );
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("--timeout"));
    }

    #[tokio::test]
    async fn a_probe_that_reports_nothing_is_not_a_pass() {
        let checks = guarded(PROBE, Duration::from_secs(5), async { Vec::new() }).await;
        assert_eq!((checks.len(), checks[0].status), (1, Status::Fail));
    }
}
