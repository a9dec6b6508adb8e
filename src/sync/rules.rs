//! Where each changed file goes: the first `sync` rule whose `src` matches
//! it (Docker's pattern language, relative to the context) puts it at the
//! rule's `dest` plus its path below the glob's fixed prefix
//! (`app/**/*.py` -> `/app/app/`: `app/routes/x.py` -> `/app/app/routes/x.py`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::SyncError;
use crate::build::ignore::DockerIgnore;
use crate::project::model::SyncRule;

/// A local path and where it goes in the container (absolute, '/'-separated).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Placement {
    pub local: PathBuf,
    pub container: String,
}

/// What one change set does in each container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncPlan {
    /// Files that exist locally: copied.
    pub copies: Vec<Placement>,
    /// The directories from each rule's `dest` down to the copied files,
    /// sent along so they belong to the container's user too (it can then
    /// replace and remove files in them).
    pub dirs: Vec<Placement>,
    /// Files gone locally: removed in the container.
    pub deletions: Vec<String>,
    /// The `run` commands of the rules that matched, in rule order.
    pub runs: Vec<String>,
}

/// The part of a glob before its first wildcard component (never the whole
/// of a literal path: `main.py` has the prefix "").
pub fn fixed_prefix(src: &str) -> Vec<&str> {
    let parts: Vec<&str> = src
        .trim_start_matches("./")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let wild = |p: &str| p.contains(['*', '?', '[', '\\']);
    let fixed = parts.iter().take_while(|p| !wild(p)).count();
    parts[..fixed.min(parts.len().saturating_sub(1))].to_vec()
}

impl SyncPlan {
    /// Places `changed` (absolute paths in `context`) by `rules`; a path
    /// no rule covers is an error (the watcher sends only covered ones).
    pub fn new(
        context: &Path,
        rules: &[SyncRule],
        changed: &[PathBuf],
    ) -> Result<SyncPlan, SyncError> {
        let matchers: Vec<(usize, DockerIgnore)> = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| DockerIgnore::parse(&r.src).ok().map(|m| (i, m)))
            .collect();
        let mut plan = SyncPlan::default();
        let (mut dirs, mut used) = (BTreeSet::new(), BTreeSet::new());
        for path in changed {
            let not_covered = || SyncError::NotCovered(path.clone());
            let rel: Vec<String> = path
                .strip_prefix(context)
                .map_err(|_| not_covered())?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let rel_text = rel.join("/");
            let index = matchers
                .iter()
                .find(|(_, m)| m.excludes(&rel_text))
                .map(|(i, _)| *i)
                .ok_or_else(not_covered)?;
            let rule = &rules[index];
            used.insert(index);
            let prefix = fixed_prefix(&rule.src);
            let fixed: Vec<String> = prefix.iter().map(|p| p.to_string()).collect();
            let below = rel
                .strip_prefix(fixed.as_slice())
                .ok_or_else(not_covered)?
                .to_vec();
            let dest = format!("/{}", rule.dest.trim_matches('/'));
            let dest = dest.trim_end_matches('/').to_string();
            let container = format!("{dest}/{}", below.join("/"));
            if path.symlink_metadata().is_err() {
                plan.deletions.push(container);
                continue;
            }
            // The rule's dest is the local prefix directory; each level below it too.
            let mut local_dir = context.to_path_buf();
            local_dir.extend(prefix.iter());
            let mut container_dir = dest.clone();
            dirs.insert(Placement {
                local: local_dir.clone(),
                container: container_dir.clone(),
            });
            for part in &below[..below.len().saturating_sub(1)] {
                local_dir.push(part);
                container_dir = format!("{container_dir}/{part}");
                dirs.insert(Placement {
                    local: local_dir.clone(),
                    container: container_dir.clone(),
                });
            }
            plan.copies.push(Placement {
                local: path.clone(),
                container,
            });
        }
        plan.dirs = dirs.into_iter().collect();
        // Parents before children in the tar.
        plan.dirs.sort_by(|a, b| a.container.cmp(&b.container));
        plan.runs = used
            .into_iter()
            .filter_map(|i| rules[i].run.clone())
            .collect();
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(src: &str, dest: &str, run: Option<&str>) -> SyncRule {
        SyncRule {
            src: src.into(),
            dest: dest.into(),
            run: run.map(String::from),
        }
    }

    #[test]
    fn prefix_stops_at_the_first_wildcard() {
        assert_eq!(fixed_prefix("app/**/*.py"), vec!["app"]);
        assert_eq!(fixed_prefix("**/*.py"), Vec::<&str>::new());
        assert_eq!(fixed_prefix("src/app/*.js"), vec!["src", "app"]);
        assert_eq!(fixed_prefix("main.py"), Vec::<&str>::new());
        assert_eq!(fixed_prefix("app/main.py"), vec!["app"]);
    }

    #[test]
    fn files_land_below_dest_and_deletions_and_runs_are_planned() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path();
        std::fs::create_dir_all(ctx.join("app/routes")).unwrap();
        std::fs::write(ctx.join("app/main.py"), "x").unwrap();
        std::fs::write(ctx.join("app/routes/tasks.py"), "x").unwrap();
        std::fs::write(ctx.join("static.css"), "x").unwrap();
        let rules = [
            rule("app/**/*.py", "/app/app/", None),
            rule("*.css", "/srv/www", Some("nginx -s reload")),
            rule("*.md", "/docs", Some("never")),
        ];
        let changed = [
            ctx.join("app/main.py"),
            ctx.join("app/routes/tasks.py"),
            ctx.join("app/gone.py"),
            ctx.join("static.css"),
        ];
        let plan = SyncPlan::new(ctx, &rules, &changed).unwrap();
        let containers: Vec<&str> = plan.copies.iter().map(|p| p.container.as_str()).collect();
        assert_eq!(
            containers,
            [
                "/app/app/main.py",
                "/app/app/routes/tasks.py",
                "/srv/www/static.css"
            ]
        );
        assert_eq!(plan.deletions, ["/app/app/gone.py"]);
        let dirs: Vec<(&Path, &str)> = plan
            .dirs
            .iter()
            .map(|p| (p.local.strip_prefix(ctx).unwrap(), p.container.as_str()))
            .collect();
        assert_eq!(
            dirs,
            [
                (Path::new("app"), "/app/app"),
                (Path::new("app/routes"), "/app/app/routes"),
                (Path::new(""), "/srv/www"),
            ]
        );
        assert_eq!(plan.runs, ["nginx -s reload"]);
    }

    #[test]
    fn a_path_no_rule_covers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rules = [rule("app/**/*.py", "/app/app/", None)];
        let err = SyncPlan::new(dir.path(), &rules, &[dir.path().join("requirements.txt")]);
        assert!(matches!(err, Err(SyncError::NotCovered(_))), "{err:?}");
    }
}
