//! The current kube context and whether it is a local cluster.

use serde_json::json;

use super::{Check, Status};
use crate::cluster::context::{self, Locality};
use crate::project::Project;

/// Blocking (reads the kubeconfig): doctor runs it off the runtime.
pub fn check(project: &Project) -> Check {
    let check = Check::new("kube.context", "kube context", false);
    let cluster = &project.cluster.name;
    let config = match kube::config::Kubeconfig::read() {
        Ok(c) => c,
        Err(kube::config::KubeconfigError::FindPath)
        | Err(kube::config::KubeconfigError::ReadConfig(..)) => {
            return check.problem(
                Status::Warning,
                "no kubeconfig yet",
                "`todo-dev up` starts Minikube, which writes one",
            )
        }
        Err(e) => {
            return check.problem(
                Status::Warning,
                format!("cannot read the kubeconfig: {e}"),
                "fix or move the file named by KUBECONFIG (default ~/.kube/config)",
            )
        }
    };
    let Some(ctx) = context::current(&config) else {
        return check.problem(
            Status::Warning,
            "no current context is set",
            "`todo-dev up` uses the Minikube cluster's own context",
        );
    };
    let data = json!({
        "name": ctx.name,
        "server": ctx.server,
        "local": matches!(ctx.locality, Locality::Local(_)),
    });
    match &ctx.locality {
        Locality::Local(why) => check.ok(format!("`{}` is a local cluster ({why})", ctx.name)),
        Locality::Remote => check.problem(
            Status::Warning,
            format!(
                "current context `{}` ({}) is not a local cluster",
                ctx.name,
                ctx.server.as_deref().unwrap_or("no server")
            ),
            format!("todo-dev deploys to the `{cluster}` Minikube context and refuses other clusters unless given --context NAME --allow-remote; `kubectl config use-context {cluster}` to switch yours"),
        ),
    }
    .with_data(data)
}
