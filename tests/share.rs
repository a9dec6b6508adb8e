//! share/: the shell completions and man pages every release archive ships
//! (scripts/dist.sh copies them), generated from the clap definitions. A
//! stale or missing file fails here; `TODO_DEV_BLESS=1 cargo test --test
//! share` writes them anew.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use todo_dev::cli::Cli;

/// Every file share/ should hold, with its contents.
fn expected() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "todo-dev.bash"),
        (Shell::Zsh, "_todo-dev"),
        (Shell::Fish, "todo-dev.fish"),
        (Shell::PowerShell, "_todo-dev.ps1"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "todo-dev", &mut script);
        files.push((PathBuf::from("completions").join(name), script));
    }
    // The release's version only: a commit in the page would make it stale at every commit.
    let mut cli = Cli::command().version(env!("CARGO_PKG_VERSION"));
    cli.build();
    man_pages(&cli, "todo-dev", &mut files);
    files
}

/// `todo-dev.1`, then `todo-dev-up.1`, `todo-dev-export-helm.1`, ...
fn man_pages(cmd: &clap::Command, name: &str, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut page = Vec::new();
    // clap takes a &'static name without its `string` feature; a test can leak it.
    let static_name: &'static str = Box::leak(name.to_string().into_boxed_str());
    let named = cmd.clone().name(static_name);
    clap_mangen::Man::new(named)
        .render(&mut page)
        .expect("to memory");
    files.push((PathBuf::from("man/man1").join(format!("{name}.1")), page));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), files);
    }
}

fn share() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("share")
}

/// Files under `dir`, relative to it.
fn present(dir: &Path, prefix: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        let rel = prefix.join(e.file_name());
        if path.is_dir() {
            present(&path, &rel, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn share_holds_the_completions_and_man_pages_of_these_definitions() {
    let expected = expected();
    if std::env::var_os("TODO_DEV_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(share());
        for (rel, contents) in &expected {
            let path = share().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (rel, contents) in &expected {
        match std::fs::read(share().join(rel)) {
            Ok(on_disk) if &on_disk == contents => {}
            Ok(_) => stale.push(format!("{} is stale", rel.display())),
            Err(_) => stale.push(format!("{} is missing", rel.display())),
        }
    }
    let mut on_disk = Vec::new();
    present(&share(), Path::new(""), &mut on_disk);
    for rel in on_disk {
        if !expected.iter().any(|(e, _)| *e == rel) {
            stale.push(format!("{} is no longer generated", rel.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "share/ is out of step with src/cli.rs:\n  {}\n  fix: TODO_DEV_BLESS=1 cargo test --test share",
        stale.join("\n  ")
    );
    // Every command has its page, and the pages say what the commands do.
    assert!(expected.len() > 4 + 10, "{} files", expected.len());
    let up = &expected
        .iter()
        .find(|(p, _)| p.ends_with("todo-dev-up.1"))
        .expect("a page for up")
        .1;
    assert!(String::from_utf8_lossy(up).contains("Minikube"));
}
