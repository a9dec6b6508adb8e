//! `doctor`: probes the machine concurrently, each probe under a deadline,
//! and turns what it finds into checks with a fix for every problem.

mod docker;
mod host;
mod kube;
mod minikube;
mod project;
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

pub async fn run(project: &Project, deadline: Duration) -> Report {
    let needs = Needs {
        cpus: project.cluster.cpus,
        memory_bytes: project.cluster.memory_mib << 20,
        disk_bytes: project.cluster.disk_mib << 20,
        driver: project.cluster.driver.clone(),
        cluster: project.cluster.name.clone(),
    };
    let (docker_checks, minikube_checks, tool_checks, host_checks, kube_check) = tokio::join!(
        docker::checks(&needs, deadline),
        minikube::checks(project, deadline),
        tools::checks(deadline),
        host::checks(project, &needs),
        kube::check(project),
    );
    let mut checks = Vec::new();
    checks.extend(docker_checks);
    checks.extend(minikube_checks);
    checks.extend(tool_checks);
    checks.extend(host_checks);
    checks.push(kube_check);
    checks.extend(project::checks(project));
    Report {
        schema_version: SCHEMA_VERSION,
        profile: project.profile.name.clone(),
        project_root: project.root.display().to_string(),
        ok: !checks.iter().any(Check::blocks),
        needs,
        checks,
    }
}
