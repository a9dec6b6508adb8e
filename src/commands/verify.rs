use std::time::Instant;

use super::{interrupt_on_ctrl_c, load_project, CommandResult, Outcome};
use crate::cli::{GlobalArgs, VerifyArgs};
use crate::pipeline::event::{Events, VerifyEvent};
use crate::pipeline::Engine;
use crate::project::secrets::SecretValue;
use crate::ui::page::last_verify;
use crate::ui::{report, Output};
use crate::verify::{self, VerifyCheck, VerifyInput};

/// `verify`: the project's deployment (its cluster, then the app through
/// it), or with `--url` the app at that address only; exit 0 only when
/// every check passes.
pub async fn run(global: &GlobalArgs, args: &VerifyArgs, out: &Output) -> CommandResult {
    let events = report::events_for(*out);
    let run_id = crate::smoke::random_hex(4).map_err(super::CommandError::failed)?;
    let started = Instant::now();
    let mut kept_at = None;
    let checks = match &args.url {
        Some(url) => {
            let input = VerifyInput {
                frontend: url.clone(),
                backend: args.backend_url.clone(),
                mcp: args.mcp_url.clone(),
                // An empty BETTER_AUTH_SECRET= is no secret.
                auth_secret: args
                    .auth_secret
                    .clone()
                    .filter(|s| !s.is_empty())
                    .map(SecretValue::new),
                run_id,
                disruptive: None,
            };
            events.verify(VerifyEvent::Started {
                frontend: input.frontend.to_string(),
                backend: input.backend.as_ref().map(ToString::to_string),
                mcp: input.mcp.as_ref().map(ToString::to_string),
            });
            verify::run(&input, &events).await
        }
        None => {
            let project = load_project(global)?;
            kept_at = Some(project.root.clone());
            let engine = Engine::new(project, (&args.target).into(), events.clone());
            let signals = interrupt_on_ctrl_c(&engine.cancel);
            let checks = engine.verify(run_id, args.disruptive).await;
            signals.abort();
            checks?
        }
    };
    Ok(done(&events, &checks, started, kept_at.as_deref()))
}

/// The verdict; on the project's cluster also kept for the status page.
fn done(
    events: &Events,
    checks: &[VerifyCheck],
    started: Instant,
    kept_at: Option<&std::path::Path>,
) -> Outcome {
    let verdict = VerifyEvent::done(checks, started);
    if let Some(root) = kept_at {
        if let Err(e) = last_verify::remember(root, checks, &verdict) {
            eprintln!(
                "warning: could not keep the result in {} for the status page: {e}",
                last_verify::path(root).display()
            );
        }
    }
    events.verify(verdict);
    match checks.iter().all(|c| c.ok) {
        true => Outcome::Success,
        false => Outcome::Failed,
    }
}
