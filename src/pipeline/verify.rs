//! `verify` on the project's cluster: the cluster checks against the
//! offline render, the address `up` printed, then the app checks through
//! port-forwards (they work wherever the API does), with the deployment's
//! own signing secret for the MCP tool token.

use tokio::sync::mpsc;

use super::event::VerifyEvent;
use super::{attach, report, Engine, PipelineError};
use crate::cluster::forward;
use crate::deploy::render::Manifest;
use crate::deploy::values::pod_selector;
use crate::deploy::{apply, plan};
use crate::project::model::ServiceName;
use crate::project::secrets::SecretValue;
use crate::verify::disruptive::Disruptive;
use crate::verify::{self, VerifyCheck, VerifyInput};

/// The workloads that keep data in the cluster (the render's Postgres and
/// Redis, when the profile has them).
fn data_stores(manifests: &[Manifest]) -> Vec<&str> {
    manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .map(|m| m.name())
        .filter(|n| matches!(*n, "postgres" | "redis"))
        .collect()
}

/// The MCP server's streamable HTTP path (embedded/app/backend/app/mcp_server.py).
const MCP_PATH: &str = "/mcp";

impl Engine {
    /// Every check, in order, each emitted as it ends.
    /// `disruptive`: also delete a backend pod and the data stores' pods.
    pub async fn verify(
        &self,
        run_id: String,
        disruptive: bool,
    ) -> Result<Vec<VerifyCheck>, PipelineError> {
        let project = &self.project;
        let offline = self.plan().await?;
        let (client, context) = self.client().await?;
        self.events.verify(VerifyEvent::OnCluster {
            context: context.name.clone(),
            namespace: project.namespace.clone(),
        });
        let mut checks =
            verify::cluster::run(client, project, &offline.manifests, &self.events).await;

        let printed = report::access(project, context, client).await;
        let address = match printed.first() {
            Some((url, _)) => verify::address(url).await,
            None => VerifyCheck {
                name: "address",
                ok: false,
                ms: 0,
                figure: String::new(),
                seen: Some("not run: the project has no frontend to open".into()),
                fix: Some("enable the frontend service in todo-dev.yaml".into()),
            },
        };
        self.events.verify(VerifyEvent::Check(address.clone()));
        checks.push(address);

        let specs = attach::forward_specs(
            project,
            &[
                ServiceName::Frontend,
                ServiceName::Backend,
                ServiceName::McpServer,
            ],
        );
        // A connection that fails shows as the check that made it failing.
        let (problems, _ignored) = mpsc::unbounded_channel();
        let forwards = forward::start(client, &project.namespace, &specs, problems)
            .await
            .map_err(|e| PipelineError::Verify {
                message: e.to_string(),
            })?;
        let url = |service: ServiceName, path: &str| {
            forwards
                .forwarded
                .iter()
                .find(|f| f.service == service.as_str())
                .and_then(|f| format!("{}{path}", f.url()).parse().ok())
        };
        let secrets = apply::existing_secret(client, &project.namespace, plan::SECRET_NAME).await?;
        let frontend = url(ServiceName::Frontend, "").ok_or_else(|| PipelineError::Verify {
            message: "the project has no frontend: verify checks the app through it".into(),
        })?;
        let input = VerifyInput {
            frontend,
            backend: url(ServiceName::Backend, ""),
            mcp: url(ServiceName::McpServer, MCP_PATH),
            auth_secret: secrets
                .and_then(|mut s| s.remove("BETTER_AUTH_SECRET"))
                .filter(|s| !s.is_empty())
                .map(SecretValue::new),
            run_id,
            disruptive: disruptive.then(|| Disruptive {
                client: client.clone(),
                namespace: project.namespace.clone(),
                backend: pod_selector(project, ServiceName::Backend.as_str()),
                stores: data_stores(&offline.manifests)
                    .into_iter()
                    .map(|w| (w.to_string(), pod_selector(project, w)))
                    .collect(),
            }),
        };
        checks.extend(verify::run(&input, &self.events).await);
        Ok(checks)
    }
}
