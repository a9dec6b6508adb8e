use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::{load_project, CommandError, CommandResult, Outcome};
use crate::build::context::BuildContext;
use crate::build::ignore::EntryKind;
use crate::build::image;
use crate::cli::{ContextArgs, GlobalArgs};
use crate::project::model::ServiceName;
use crate::ui::Output;
use crate::UsageError;

pub fn run(global: &GlobalArgs, args: &ContextArgs, out: &Output) -> CommandResult {
    let ctx = scan(global, &args.target)?;
    let root = ctx.root.clone();
    // Exactly the tar's members: the context's files and links, then what todo-dev injects.
    let mut files: Vec<(&str, u64)> = ctx
        .entries
        .iter()
        .filter_map(|e| match e.kind {
            EntryKind::File { size } => Some((e.rel_path.as_str(), size)),
            EntryKind::Symlink { .. } => Some((e.rel_path.as_str(), 0)),
            EntryKind::Dir => None,
        })
        .chain(
            ctx.injected
                .iter()
                .map(|f| (f.rel_path.as_str(), f.contents.len() as u64)),
        )
        .collect();
    files.sort_unstable();
    if args.list {
        if out.json {
            out.print_json(
                &json!({"root": root, "files": files.iter().map(|(p, _)| p).collect::<Vec<_>>()}),
            )?;
        } else {
            let mut text = String::with_capacity(files.len() * 32);
            for (p, _) in &files {
                text.push_str(p);
                text.push('\n');
            }
            print!("{text}");
        }
        return Ok(Outcome::Success);
    }
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    let dirs = biggest_dirs(&files);
    let warnings = ctx.warnings();
    if out.json {
        let dirs: Vec<_> = dirs
            .iter()
            .map(|(d, s)| json!({"path": d, "bytes": s}))
            .collect();
        let warnings: Vec<_> = warnings
            .iter()
            .map(|w| json!({"message": w.message, "dockerignoreLine": w.ignore_line}))
            .collect();
        out.print_json(&json!({"root": root, "files": files.len(), "bytes": total, "directories": dirs, "warnings": warnings}))?;
        return Ok(Outcome::Success);
    }
    println!(
        "{}: {} files, {}",
        root.display(),
        files.len(),
        human(total)
    );
    if args.size {
        for (dir, bytes) in dirs.iter().take(20) {
            println!("{:>10}  {dir}", human(*bytes));
        }
    }
    for w in warnings {
        match w.ignore_line {
            Some(line) => println!(
                "warning: {}; add `{line}` to {}",
                w.message,
                root.join(".dockerignore").display()
            ),
            None => println!("warning: {}", w.message),
        }
    }
    Ok(Outcome::Success)
}

/// A service's context as its build prepares it (Dockerfile chosen, outside
/// Dockerfile and template files injected, secrets refused); anything else
/// is a directory as-is.
fn scan(global: &GlobalArgs, target: &str) -> Result<BuildContext, CommandError> {
    if let Some(name) = ServiceName::parse(target) {
        let project = load_project(global)?;
        if let Some(service) = project.service(name) {
            return match image::prepare(service) {
                Ok(prepared) => Ok(prepared.context),
                // No Dockerfile yet: still show what the context holds.
                Err(image::BuildError::Dockerfile(_)) => {
                    BuildContext::scan(&service.context, &["Dockerfile", ".dockerignore"])
                        .map_err(CommandError::failed)
                }
                Err(e) => Err(CommandError::failed(e)),
            };
        }
    }
    let dir = PathBuf::from(target);
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "`{target}` is neither a service of this project nor a directory\n  help: give a service (frontend, backend, mcp-server, ai-agent) or a path"
        ))
        .into());
    }
    BuildContext::scan(&dir, &["Dockerfile", ".dockerignore"]).map_err(CommandError::failed)
}

/// Bytes under each directory (recursively), biggest first; "." is the root.
fn biggest_dirs(files: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for (path, size) in files {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            *sums.entry(parts[..i].join("/")).or_default() += size;
        }
    }
    let mut v: Vec<(String, u64)> = sums.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
