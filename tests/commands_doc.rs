//! docs/commands.md is kept in step with the clap definitions: every
//! command (`## todo-dev PATH`) and every long flag (a `` - `--flag` ``
//! line under it; global flags under `## Global flags`) is documented, and
//! nothing that does not exist is.

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use todo_dev::cli::Cli;

/// Section name -> the long flags listed in it.
type Sections = BTreeMap<String, BTreeSet<String>>;

fn documented(text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            let name = name.strip_prefix("todo-dev ").unwrap_or(name).trim();
            sections.insert(name.to_string(), BTreeSet::new());
            current = Some(name.to_string());
        } else if let (Some(rest), Some(section)) = (line.strip_prefix("- `--"), &current) {
            let flag: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            sections
                .get_mut(section)
                .expect("section exists")
                .insert(format!("--{flag}"));
        }
    }
    sections
}

/// The same, from clap: each leaf command with its own long flags.
fn defined() -> Sections {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Sections) {
        let subs: Vec<_> = cmd
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if !path.is_empty() && subs.is_empty() {
            let flags = cmd
                .get_arguments()
                .filter(|a| !a.is_global_set() && !a.is_hide_set())
                .filter_map(|a| a.get_long())
                .filter(|l| !matches!(*l, "help" | "version"))
                .map(|l| format!("--{l}"))
                .collect();
            out.insert(path.join(" "), flags);
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s.get_name().to_string());
            walk(s, p, out);
        }
    }
    let mut cli = Cli::command();
    cli.build();
    let mut out = Sections::new();
    walk(&cli, Vec::new(), &mut out);
    let mut global: BTreeSet<String> = cli
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    global.extend(["--help".to_string(), "--version".to_string()]);
    out.insert("Global flags".into(), global);
    out
}

/// What differs between the two, one line each ("" when they agree).
fn differences(doc: &Sections, cli: &Sections) -> String {
    let mut out = String::new();
    for (name, flags) in cli {
        match doc.get(name) {
            None => out.push_str(&format!("missing section `## todo-dev {name}`\n")),
            Some(listed) => {
                for f in flags.difference(listed) {
                    out.push_str(&format!("{name}: `{f}` is not documented\n"));
                }
                for f in listed.difference(flags) {
                    out.push_str(&format!("{name}: `{f}` is documented but does not exist\n"));
                }
            }
        }
    }
    for name in doc.keys().filter(|n| !cli.contains_key(*n)) {
        out.push_str(&format!("section `{name}` documents no command\n"));
    }
    out
}

#[test]
fn docs_commands_md_lists_every_command_and_flag_and_nothing_else() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md"))
        .expect("docs/commands.md");
    let diff = differences(&documented(&text), &defined());
    assert!(diff.is_empty(), "docs/commands.md is out of step:\n{diff}");
}

#[test]
fn a_missing_or_invented_flag_is_named() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md"))
        .expect("docs/commands.md");
    let cli = defined();
    let dropped = text.replace("- `--dry-run`", "- dry run");
    let diff = differences(&documented(&dropped), &cli);
    assert_eq!(diff, "watch: `--dry-run` is not documented\n");
    let invented = text.replace("- `--dry-run`", "- `--dry-runs`");
    let diff = differences(&documented(&invented), &cli);
    assert!(
        diff.contains("watch: `--dry-runs` is documented but does not exist"),
        "{diff}"
    );
    let no_section = text.replace("## todo-dev export helm", "## todo-dev export chart");
    let diff = differences(&documented(&no_section), &cli);
    assert!(
        diff.contains("missing section `## todo-dev export helm`"),
        "{diff}"
    );
    assert!(
        diff.contains("section `export chart` documents no command"),
        "{diff}"
    );
}
