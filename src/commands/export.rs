use std::collections::BTreeMap;

use serde_json::json;

use super::{load_project, Outcome};
use crate::cli::{ExportCommand, GlobalArgs};
use crate::deploy::{helm, plan};
use crate::project::check_sources;
use crate::ui::Output;

pub fn run(global: &GlobalArgs, cmd: &ExportCommand, out: &Output) -> anyhow::Result<Outcome> {
    let ExportCommand::Helm { dir } = cmd;
    let project = load_project(global)?;
    check_sources(&project)?;
    let images = plan::images(&plan::build_plans(&project)?);
    // Offline and secret-free: the chart gets only the Secret's keys.
    let manifests = plan::render(&project, &images, &BTreeMap::new())?;
    let files = helm::export(&project, &manifests, dir)?;
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
