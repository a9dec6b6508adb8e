use std::time::Instant;

use super::{CommandResult, Outcome};
use crate::cli::VerifyArgs;
use crate::pipeline::event::VerifyEvent;
use crate::project::secrets::SecretValue;
use crate::ui::{report, Output};
use crate::verify::{self, VerifyInput};

/// `verify --url`: the app-level checks against a running app; exit 0 only
/// when every one passes.
pub async fn run(args: &VerifyArgs, out: &Output) -> CommandResult {
    let events = report::events_for(*out);
    let input = VerifyInput {
        frontend: args.url.clone(),
        backend: args.backend_url.clone(),
        mcp: args.mcp_url.clone(),
        // An empty BETTER_AUTH_SECRET= is no secret.
        auth_secret: args
            .auth_secret
            .clone()
            .filter(|s| !s.is_empty())
            .map(SecretValue::new),
        run_id: crate::smoke::random_hex(4).map_err(super::CommandError::failed)?,
    };
    events.verify(VerifyEvent::Started {
        frontend: input.frontend.to_string(),
        backend: input.backend.as_ref().map(ToString::to_string),
        mcp: input.mcp.as_ref().map(ToString::to_string),
    });
    let started = Instant::now();
    let checks = verify::run(&input, &events).await;
    let failed = checks.iter().filter(|c| !c.ok).count();
    events.verify(VerifyEvent::Done {
        ok: failed == 0,
        checks: checks.len(),
        failed,
        ms: started.elapsed().as_millis() as u64,
    });
    Ok(match failed {
        0 => Outcome::Success,
        _ => Outcome::Failed,
    })
}
