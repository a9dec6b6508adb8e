//! Hostile input to every parser a user feeds: `todo-dev.yaml`, profile
//! files, `--set`, `.env` and `.dockerignore`. Each input gives a value or a
//! pointed configuration error (exit 2), never a panic, never a hang.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use todo_dev::build::ignore::DockerIgnore;
use todo_dev::project::secrets::{parse_dotenv, Secrets};
use todo_dev::project::{self, ConfigError, LoadOptions};

/// Far longer than any parse takes: only a hang gets here.
const HANG: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread; a panic is re-raised, a hang fails the case.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(HANG) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what}: no answer within {HANG:?} (a hang)"),
    }
}

/// Text that looks like YAML: keys todo-dev knows, YAML punctuation,
/// anchors and aliases, tags, odd numbers, deep nesting, and noise.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("profile: ".to_string()),
        Just("services:\n  backend:\n    ".to_string()),
        Just("cluster:\n  ".to_string()),
        Just("memory: ".to_string()),
        Just("replicas: ".to_string()),
        Just("sync: [{src: ".to_string()),
        Just("nodePort: ".to_string()),
        Just("&a [*a, *a] ".to_string()),
        Just("<<: *a\n".to_string()),
        Just("!!binary ".to_string()),
        Just("- ".to_string()),
        Just("? ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        Just("---\n".to_string()),
        Just("9999999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("4GiB".to_string()),
        Just("~".to_string()),
        Just(": ".to_string()),
        "[a-zA-Z0-9_.-]{1,12}",
        any::<String>(),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn load(root: &Path, profile: Option<&str>, sets: Vec<String>) -> Result<(), ConfigError> {
    let opts = LoadOptions {
        project_dir: Some(root.to_path_buf()),
        profile: profile.map(str::to_string),
        sets,
    };
    project::load(&opts, root).map(|_| ())
}

/// A configuration error a user can act on: it says where, or what.
fn assert_pointed(e: &ConfigError, place: &str) {
    let text = e.to_string();
    assert!(!text.trim().is_empty(), "empty error");
    if let ConfigError::Invalid { .. } = e {
        assert!(
            text.contains(place) || text.contains("help:") || text.contains('`'),
            "{place}: {text}"
        );
    }
}

fn project_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["frontend", "backend"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn project_files_give_a_project_or_a_pointed_error(text in prop_oneof![yamlish(), any::<String>()]) {
        let dir = project_dir();
        std::fs::write(dir.path().join("todo-dev.yaml"), &text).unwrap();
        let root = dir.path().to_path_buf();
        if let Err(e) = bounded("todo-dev.yaml", move || load(&root, None, vec![])) {
            assert_pointed(&e, "todo-dev.yaml");
        }
    }

    #[test]
    fn profile_files_give_a_profile_or_a_pointed_error(text in prop_oneof![yamlish(), any::<String>()]) {
        let dir = project_dir();
        let profiles = dir.path().join(".todo-dev/profiles");
        std::fs::create_dir_all(&profiles).unwrap();
        std::fs::write(profiles.join("mine.yaml"), &text).unwrap();
        let root = dir.path().to_path_buf();
        if let Err(e) = bounded("profile", move || load(&root, Some("mine"), vec![])) {
            assert_pointed(&e, "mine.yaml");
        }
    }

    #[test]
    fn set_arguments_give_a_value_or_a_pointed_error(
        key in prop_oneof![
            Just("services.backend.replicas".to_string()),
            Just("cluster.memory".to_string()),
            Just("cluster.addons".to_string()),
            Just("access.nodePort".to_string()),
            Just("services.frontend.sync".to_string()),
            "[a-zA-Z.\\[\\]=]{0,30}",
            any::<String>(),
        ],
        value in prop_oneof![yamlish(), any::<String>()],
        raw in any::<bool>(),
    ) {
        let dir = project_dir();
        let arg = if raw { format!("{key}{value}") } else { format!("{key}={value}") };
        let root = dir.path().to_path_buf();
        let set = arg.clone();
        if let Err(e) = bounded("--set", move || load(&root, None, vec![set])) {
            assert_pointed(&e, "--set");
        }
    }

    #[test]
    fn dotenv_files_never_break(text in prop_oneof![
        any::<String>(),
        prop::collection::vec(prop_oneof![
            Just("export ".to_string()), Just("KEY=".to_string()), Just("DATABASE_URL=".to_string()),
            Just("\"".to_string()), Just("'".to_string()), Just("\\".to_string()), Just("#".to_string()),
            Just("\n".to_string()), Just("\r\n".to_string()), Just("=".to_string()), Just(" ".to_string()),
            any::<String>(),
        ], 0..30).prop_map(|t| t.concat()),
    ]) {
        let dir = project_dir();
        std::fs::write(dir.path().join(".env"), &text).unwrap();
        let parsed = bounded(".env", move || parse_dotenv(&text));
        for k in parsed.keys() {
            prop_assert!(!k.is_empty() && !k.contains('=') && !k.contains(char::is_whitespace), "key {k:?}");
        }
        let root = dir.path().to_path_buf();
        bounded(".env gather", move || Secrets::gather(&root, |_| None));
    }

    #[test]
    fn dockerignore_patterns_give_rules_or_a_line_error(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(prop_oneof![
                Just("*".to_string()), Just("**".to_string()), Just("?".to_string()), Just("[".to_string()),
                Just("]".to_string()), Just("^".to_string()), Just("!".to_string()), Just("\\".to_string()),
                Just("/".to_string()), Just("\n".to_string()), Just("-".to_string()), Just("a".to_string()),
                Just("{".to_string()), Just("(".to_string()), Just("$".to_string()), Just(".".to_string()),
                "[a-z]{1,4}",
            ], 0..40).prop_map(|t| t.concat()),
        ],
        path in "[a-z*?.!\\[\\]/]{0,20}",
    ) {
        let lines = text.split('\n').count();
        match bounded(".dockerignore", move || DockerIgnore::parse(&text).map(|rules| (rules.excludes(&path), rules))) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}: {e}", e.line),
        }
    }
}
