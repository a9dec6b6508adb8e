use serde_json::json;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{ExportCommand, GlobalArgs};
use crate::deploy::helm;
use crate::pipeline;
use crate::project::check_sources;
use crate::ui::Output;

pub async fn run(global: &GlobalArgs, cmd: &ExportCommand, out: &Output) -> CommandResult {
    let ExportCommand::Helm { dir } = cmd;
    let project = load_project(global)?;
    check_sources(&project)?;
    // Offline and secret-free: the chart gets only the Secret's keys.
    let manifests = pipeline::plan(&project).await?.manifests;
    let files = helm::export(&project, &manifests, dir).map_err(CommandError::failed)?;
    if out.json {
        out.print_json(&json!({"chart": dir, "profile": project.profile.name, "files": files}))?;
    } else {
        println!(
            "wrote a Helm chart for profile `{}` to {} ({} files)",
            project.profile.name,
            dir.display(),
            files.len()
        );
        println!(
            "  check it: helm lint {0} && helm template todo {0}",
            dir.display()
        );
    }
    Ok(Outcome::Success)
}
