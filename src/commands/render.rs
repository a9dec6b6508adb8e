use serde_json::{json, Value};

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::cli::{GlobalArgs, RenderArgs, RenderFormat};
use crate::deploy::plan;
use crate::deploy::render::redacted;
use crate::pipeline;
use crate::project::check_sources;
use crate::ui::Output;

/// Offline: image tags are computed from the sources, generated secrets are
/// fresh (the cluster's are only read by `deploy`).
pub async fn run(global: &GlobalArgs, args: &RenderArgs, out: &Output) -> CommandResult {
    let project = load_project(global)?;
    check_sources(&project)?;
    let pipeline::Plan {
        builds: plans,
        manifests,
    } = pipeline::plan(&project).await?;
    if args.values {
        let values = plan::values(&project, &pipeline::offline_images(&project, &plans))
            .map_err(pipeline::PipelineError::from)?;
        out.print_json(&values)?;
        return Ok(Outcome::Success);
    }
    let objects: Vec<Value> = if args.show_secrets {
        manifests.iter().map(|m| m.object.clone()).collect()
    } else {
        redacted(&manifests)
    };
    match (args.format, out.json) {
        (RenderFormat::Json, _) | (_, true) => {
            out.print_json(&json!({"apiVersion": "v1", "kind": "List", "items": objects}))?;
        }
        (RenderFormat::Yaml, false) => {
            let mut text = String::new();
            for (i, o) in objects.iter().enumerate() {
                if i > 0 {
                    text.push_str("---\n");
                }
                text.push_str(&format!("# {}\n", manifests[i].file));
                text.push_str(&serde_saphyr::to_string(o).map_err(CommandError::failed)?);
            }
            print!("{text}");
        }
    }
    Ok(Outcome::Success)
}
