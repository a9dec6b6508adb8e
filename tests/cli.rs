//! The command line as a user meets it: help, version, completions,
//! profiles, config, exit codes and colour.

mod support;

use support::{json, reference_project, stderr, stdout, Sandbox};

#[test]
fn help_lists_only_working_commands_and_the_global_flags() {
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    let out = sb.todo_dev(dir.path(), &["--help"]).output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // Command names sit at a two-space indent; wrapped descriptions deeper.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "init",
            "doctor",
            "up",
            "build",
            "context",
            "render",
            "deploy",
            "smoke",
            "verify",
            "down",
            "logs",
            "watch",
            "export",
            "profiles",
            "config",
            "completions",
            "help"
        ],
        "{help}"
    );
    for flag in [
        "--profile",
        "--project",
        "--set",
        "--json",
        "--verbose",
        "--no-color",
        "--version",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let version = stdout(&sb.todo_dev(dir.path(), &["--version"]).output().unwrap());
    // `todo-dev 0.1.0 (commit 0123456789ab, built 2026-12-07)`: HEAD of this checkout.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(head.len(), 12, "git rev-parse in the checkout");
    let prefix = format!(
        "todo-dev {} (commit {head}, built ",
        env!("CARGO_PKG_VERSION")
    );
    let date = version
        .trim()
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version:?} is not {prefix}YYYY-MM-DD)"));
    let digits: Vec<bool> = date.chars().map(|c| c.is_ascii_digit()).collect();
    assert_eq!(digits.len(), 10, "{date}");
    assert!(
        date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{date}"
    );
    let year: u32 = date[..4].parse().unwrap();
    assert!((2026..2100).contains(&year), "{date}");
}

#[test]
fn completions_for_each_shell() {
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    for (shell, marker) in [
        ("bash", "complete -F _todo__dev"),
        ("zsh", "#compdef todo-dev"),
        ("fish", "complete -c todo-dev"),
    ] {
        let out = sb
            .todo_dev(dir.path(), &["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..200.min(text.len())]
        );
        assert!(text.contains("doctor"), "{shell}");
    }
    let out = sb
        .todo_dev(dir.path(), &["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn profiles_lists_the_five_with_summaries_and_user_ones() {
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    let out = sb.todo_dev(dir.path(), &["profiles"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        ["agents", "classic", "full", "lite", "standard"],
        "{text}"
    );
    let standard = text.lines().find(|l| l.starts_with("standard")).unwrap();
    assert!(
        standard.contains("(default)")
            && standard.contains("2 CPU, 4GiB")
            && standard.contains("todo.local"),
        "{standard}"
    );

    std::fs::create_dir_all(dir.path().join(".todo-dev/profiles")).unwrap();
    std::fs::write(
        dir.path().join(".todo-dev/profiles/tiny.yaml"),
        "summary: just enough\ncluster: {cpus: 2, memory: 2GiB}\n",
    )
    .unwrap();
    let report = json(
        &sb.todo_dev(dir.path(), &["profiles", "--json"])
            .output()
            .unwrap(),
    );
    let list = report["profiles"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    let tiny = list.iter().find(|p| p["name"] == "tiny").unwrap();
    assert_eq!(tiny["summary"], "just enough");
    assert!(tiny["source"].as_str().unwrap().ends_with("tiny.yaml"));
    let full = list.iter().find(|p| p["name"] == "full").unwrap();
    assert_eq!(
        (full["cluster"]["cpus"].as_u64(), full["source"].as_str()),
        (Some(4), Some("built-in"))
    );
}

#[test]
fn config_prints_the_merged_configuration_with_secrets_redacted() {
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    std::fs::write(
        dir.path().join("todo-dev.yaml"),
        "profile: classic\nservices:\n  backend:\n    env:\n      LOG_LEVEL: debug\n      JWT_SECRET: do-not-show-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=postgresql://u:do-not-show-2@db/todo\n",
    )
    .unwrap();
    let out = sb
        .todo_dev(
            dir.path(),
            &["config", "--set", "services.backend.replicas=5"],
        )
        .env("OPENAI_API_KEY", "do-not-show-3")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("do-not-show"), "{text}");
    assert!(text.contains("profile: classic"), "{text}");
    assert!(text.contains("replicas: 5"), "{text}");
    assert!(text.contains("nodePort: 30080"), "{text}");
    assert!(text.contains("LOG_LEVEL: debug"), "{text}");

    let out = sb
        .todo_dev(dir.path(), &["config", "--json"])
        .env("OPENAI_API_KEY", "do-not-show-3")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("do-not-show"));
    let v = json(&out);
    assert_eq!(v["services"]["backend"]["env"]["JWT_SECRET"], "<redacted>");
    assert!(v["secrets"]["DATABASE_URL"]
        .as_str()
        .unwrap()
        .contains(".env"));
    assert!(v["secrets"]["OPENAI_API_KEY"]
        .as_str()
        .unwrap()
        .contains("environment"));
    assert_eq!(v["secrets"]["BETTER_AUTH_SECRET"], "<not set>");
    assert_eq!(v["services"]["backend"]["replicas"], 2);
}

/// Each bad configuration: pointed error on stderr, exit code 2.
#[test]
fn bad_configuration_exits_2_with_a_pointed_error() {
    let sb = Sandbox::new(&[]);
    let table: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "unknown key",
            "servics:\n  backend: {}\n",
            &["config"],
            &[
                "todo-dev.yaml:1:1",
                "unknown key `servics`",
                "did you mean `services`?",
            ],
        ),
        (
            "wrong type",
            "services:\n  backend:\n    port: http\n",
            &["config"],
            &["todo-dev.yaml:3:11", "expected a whole number", "http"],
        ),
        (
            "missing directory",
            "services:\n  frontend:\n    context: web\n",
            &["config"],
            &["service `frontend`", "web", "does not exist"],
        ),
        (
            "unknown profile",
            "",
            &["config", "--profile", "huge"],
            &[
                "unknown profile `huge`",
                "known profiles: agents, classic, full, lite, standard",
            ],
        ),
        (
            "bad --set",
            "",
            &["config", "--set", "cluster.cpu=4"],
            &["--set cluster.cpu=4", "did you mean `cpus`?"],
        ),
    ];
    for (case, yaml, args, want) in table {
        let dir = reference_project();
        std::fs::write(dir.path().join("todo-dev.yaml"), yaml).unwrap();
        let out = sb.todo_dev(dir.path(), args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        let err = stderr(&out);
        for w in *want {
            assert!(err.contains(w), "{case}: expected `{w}` in:\n{err}");
        }
        assert!(stdout(&out).is_empty(), "{case}: nothing on stdout");
    }
    let dir = reference_project();
    let out = sb.todo_dev(dir.path(), &["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Colour only on a terminal, and never with NO_COLOR or --no-color.
#[test]
fn colour_follows_the_terminal_and_no_color() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("`script` (util-linux) is needed to give todo-dev a terminal");
    }
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    let bin = env!("CARGO_BIN_EXE_todo-dev");
    let run = |no_color_env: Option<&str>, flag: &str| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{bin} doctor {flag}"), "/dev/null"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", sb.bin.path())
            .env("HOME", sb.home.path())
            .env("DOCKER_HOST", "unix:///nonexistent.sock");
        if let Some(v) = no_color_env {
            cmd.env("NO_COLOR", v);
        }
        stdout(&cmd.output().unwrap())
    };
    assert!(run(None, "").contains("\x1b["), "a terminal gets colour");
    assert!(!run(Some("1"), "").contains("\x1b["), "NO_COLOR=1");
    assert!(!run(None, "--no-color").contains("\x1b["), "--no-color");
    // Piped output never has colour.
    let out = sb
        .todo_dev(dir.path(), &["doctor"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("\x1b["));
}

#[test]
fn a_reader_that_goes_away_ends_the_output_without_a_panic() {
    let sb = Sandbox::new(&[]);
    let dir = reference_project();
    // `todo-dev config | head -0`: the read end is closed before the first write.
    for args in [&["config"][..], &["profiles"], &["completions", "bash"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = sb
            .todo_dev(dir.path(), args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
    }
}
