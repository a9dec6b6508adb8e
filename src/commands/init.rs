use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CommandError, CommandResult, Outcome};
use crate::build::template::{self, DockerfileSource};
use crate::cli::{GlobalArgs, InitArgs};
use crate::project::load::CONFIG_FILE;
use crate::project::{self, LoadOptions};
use crate::scaffold::{app, detect};
use crate::ui::Output;
use crate::UsageError;

pub fn run(global: &GlobalArgs, args: &InitArgs, out: &Output) -> CommandResult {
    let cwd = std::env::current_dir()?;
    let dir = lexical(
        &cwd.join(
            args.dir
                .clone()
                .or_else(|| global.project.clone())
                .unwrap_or_else(|| PathBuf::from(".")),
        ),
    );
    if args.detect {
        return run_detect(&dir, args.force, out);
    }
    // Refusing to overwrite is the user's call to change (--force); anything else failed.
    let written =
        app::write(&dir, args.frontend, args.force).map_err(|e| match e.is_refusal() {
            true => CommandError::usage(e),
            false => CommandError::failed(e),
        })?;
    if out.json {
        let files: Vec<_> = written
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap_or(p))
            .collect();
        out.print_json(&json!({"dir": dir, "frontend": args.frontend.name(), "files": files}))?;
    } else {
        let frontend = match args.frontend {
            app::Frontend::Spa => "static SPA frontend",
            app::Frontend::Next => "Next.js frontend",
        };
        println!(
            "wrote the reference Todo chatbot ({} files, {frontend}) and its {CONFIG_FILE} to {}",
            written.len(),
            dir.display()
        );
        println!(
            "next: cd {} && todo-dev up    (or `todo-dev smoke` to try it on Docker alone)",
            dir.display()
        );
    }
    Ok(Outcome::Success)
}

fn run_detect(root: &Path, force: bool, out: &Output) -> CommandResult {
    if !root.is_dir() {
        return Err(UsageError(format!(
            "{} is not a directory\n  help: run `todo-dev init --detect` in the repository's root, or give it with --project DIR",
            root.display()
        ))
        .into());
    }
    let file = root.join(CONFIG_FILE);
    let previous = std::fs::read(&file).ok();
    if previous.is_some() && !force {
        return Err(UsageError(format!(
            "{} already exists\n  help: --detect never changes your files: pass --force to replace it",
            file.display()
        ))
        .into());
    }
    let found = detect::detect(root);
    if found.services.is_empty() {
        return Err(UsageError(format!(
            "found no service in {}: no frontend/ or backend/ (at the root, in src/ or in a phaseIV/ folder) and no docker/<service>/Dockerfile\n  help: run it in the repository's root, or write {CONFIG_FILE} by hand (see README)",
            root.display()
        ))
        .into());
    }
    std::fs::write(&file, detect::to_yaml(&found))?;
    // Prove it: the real loader reads what was written, and every service has a Dockerfile or template.
    let loaded = project::load(
        &LoadOptions {
            project_dir: Some(root.to_path_buf()),
            ..Default::default()
        },
        root,
    );
    let project = match loaded {
        Ok(p) => p,
        Err(e) => {
            match &previous {
                Some(bytes) => std::fs::write(&file, bytes)?,
                None => std::fs::remove_file(&file)?,
            }
            return Err(CommandError::failed(anyhow::Error::new(e).context(format!(
                "the {CONFIG_FILE} detection wrote does not load (put back as it was; report this, with the repository's layout)"
            ))));
        }
    };
    let mut rows = Vec::new();
    for service in &project.services {
        let dockerfile = match template::choose(service) {
            Ok(DockerfileSource::File(p)) => {
                let p = lexical(&p);
                format!(
                    "Dockerfile {}",
                    p.strip_prefix(root).unwrap_or(&p).display()
                )
            }
            Ok(DockerfileSource::Template(stack)) => format!("template {}", stack.dir_name()),
            Err(e) => format!("no Dockerfile: {e}"),
        };
        let evidence = found
            .service(service.name)
            .map(|s| s.evidence.join("; "))
            .unwrap_or_default();
        let context = service
            .context
            .strip_prefix(root)
            .unwrap_or(&service.context);
        let context = if context.as_os_str().is_empty() {
            Path::new(".")
        } else {
            context
        };
        rows.push((
            service.name.to_string(),
            context.display().to_string(),
            dockerfile,
            evidence,
        ));
    }
    if out.json {
        let services: Vec<_> = rows
            .iter()
            .map(|(n, c, d, e)| json!({"service": n, "context": c, "dockerfile": d, "evidence": e}))
            .collect();
        out.print_json(&json!({"file": file, "profile": found.profile, "profileReason": found.profile_reason, "layout": found.layout, "services": services, "notes": found.notes}))?;
        return Ok(Outcome::Success);
    }
    println!("layout: {}", found.layout);
    for (name, context, dockerfile, evidence) in &rows {
        println!("{name:11} context {context:22} {dockerfile:48} ({evidence})");
    }
    for note in &found.notes {
        println!("note: {note}");
    }
    println!("profile {}: {}", found.profile, found.profile_reason);
    println!(
        "wrote {} (it loads: profile {}, services {}); your other files are unchanged",
        file.display(),
        project.profile.name,
        project
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("next: `todo-dev context SERVICE --list` shows what each build sends; `todo-dev build`, then `todo-dev up`");
    Ok(Outcome::Success)
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}
