//! The walk against what the docker CLI sends.

use std::fs;
use std::path::Path;

use super::*;

struct Tree(tempfile::TempDir);

impl Tree {
    fn new(files: &[&str]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            if let Some(d) = f.strip_suffix('/') {
                fs::create_dir_all(dir.path().join(d)).unwrap();
            } else {
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, f.as_bytes()).unwrap();
            }
        }
        Tree(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn sent(&self, dockerignore: &str, always: &[&str]) -> Vec<String> {
        let rules = DockerIgnore::parse(dockerignore).unwrap();
        walk(self.path(), &rules, always)
            .unwrap()
            .into_iter()
            .map(|e| match e.kind {
                EntryKind::Dir => format!("{}/", e.rel_path),
                _ => e.rel_path,
            })
            .collect()
    }
}

#[test]
fn excluded_directory_is_skipped_whole() {
    let t = Tree::new(&[
        "node_modules/a/b.js",
        "node_modules/keep.txt",
        "src/main.js",
    ]);
    assert_eq!(t.sent("node_modules", &[]), ["src/", "src/main.js"]);
}

#[test]
fn exception_beneath_an_excluded_directory_is_sent_without_the_directory() {
    let t = Tree::new(&[
        "node_modules/a/b.js",
        "node_modules/keep.txt",
        "src/main.js",
    ]);
    // TarWithOptions descends but does not write `node_modules/` itself.
    assert_eq!(
        t.sent("node_modules\n!node_modules/keep.txt", &[]),
        ["node_modules/keep.txt", "src/", "src/main.js"]
    );
    // A wildcard exception does not open the directory (its text must start with it).
    assert_eq!(
        t.sent("node_modules\n!**/keep.txt", &[]),
        ["src/", "src/main.js"]
    );
    assert_eq!(
        t.sent("node_modules\n!node_modules/*.txt", &[]),
        ["node_modules/keep.txt", "src/", "src/main.js"]
    );
    // An exception for a directory brings back everything in it.
    assert_eq!(t.sent("*\n!src", &[]), ["src/", "src/main.js"]);
}

#[test]
fn double_star_reaches_any_depth() {
    let t = Tree::new(&[
        "a.pyc",
        "a.py",
        "pkg/b.pyc",
        "pkg/deep/c.pyc",
        "pkg/deep/c.py",
    ]);
    assert_eq!(
        t.sent("**/*.pyc", &[]),
        ["a.py", "pkg/", "pkg/deep/", "pkg/deep/c.py"]
    );
    assert_eq!(
        t.sent("*.pyc", &[]),
        [
            "a.py",
            "pkg/",
            "pkg/b.pyc",
            "pkg/deep/",
            "pkg/deep/c.py",
            "pkg/deep/c.pyc"
        ]
    );
}

#[test]
fn last_match_wins_in_the_walk() {
    let t = Tree::new(&["README.md", "CHANGES.md", "x.txt"]);
    assert_eq!(t.sent("*.md\n!README.md", &[]), ["README.md", "x.txt"]);
    assert_eq!(t.sent("!README.md\n*.md", &[]), ["x.txt"]);
}

#[test]
fn walk_uses_parent_results_like_tar_with_options() {
    // `a/x` then `!a`: the exception never matched `a` itself (skipped while
    // nothing was matched), so TarWithOptions drops `a/x`, unlike excludes().
    let t = Tree::new(&["a/x", "a/y"]);
    let rules = DockerIgnore::parse("a/x\n!a").unwrap();
    assert!(!rules.excludes("a/x"));
    assert_eq!(t.sent("a/x\n!a", &[]), ["a/", "a/y"]);
}

#[test]
fn dockerfile_and_dockerignore_are_always_sent() {
    let t = Tree::new(&[
        "Dockerfile",
        ".dockerignore",
        "app.py",
        "docker/Dockerfile",
        "docker/other",
    ]);
    let always = ["Dockerfile", ".dockerignore"];
    assert_eq!(t.sent("*", &always), [".dockerignore", "Dockerfile"]);
    assert_eq!(
        t.sent("Dockerfile\n.dockerignore", &always),
        [
            ".dockerignore",
            "Dockerfile",
            "app.py",
            "docker/",
            "docker/Dockerfile",
            "docker/other"
        ]
    );
    assert_eq!(
        t.sent("Dockerfile\n.dockerignore", &[]),
        ["app.py", "docker/", "docker/Dockerfile", "docker/other"]
    );
    assert_eq!(
        t.sent("docker", &["docker/Dockerfile", ".dockerignore"]),
        [".dockerignore", "Dockerfile", "app.py", "docker/Dockerfile"]
    );
}

#[test]
fn symlinks_are_sent_as_links_and_not_followed() {
    let t = Tree::new(&["real/inner.txt", "file.txt"]);
    std::os::unix::fs::symlink("real", t.path().join("dirlink")).unwrap();
    std::os::unix::fs::symlink("file.txt", t.path().join("filelink")).unwrap();
    std::os::unix::fs::symlink("/nowhere/at/all", t.path().join("dangling")).unwrap();
    let rules = DockerIgnore::empty();
    let entries = walk(t.path(), &rules, &[]).unwrap();
    let kinds: Vec<(&str, &EntryKind)> = entries
        .iter()
        .map(|e| (e.rel_path.as_str(), &e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "dangling",
                &EntryKind::Symlink {
                    target: "/nowhere/at/all".into()
                }
            ),
            (
                "dirlink",
                &EntryKind::Symlink {
                    target: "real".into()
                }
            ),
            ("file.txt", &EntryKind::File { size: 8 }),
            (
                "filelink",
                &EntryKind::Symlink {
                    target: "file.txt".into()
                }
            ),
            ("real", &EntryKind::Dir),
            ("real/inner.txt", &EntryKind::File { size: 14 }),
        ]
    );
    // A pattern on the link applies to the link, not to what it points at.
    assert_eq!(
        t.sent("real", &[]),
        ["dangling", "dirlink", "file.txt", "filelink"]
    );
    assert_eq!(
        t.sent("dirlink/*", &[]),
        [
            "dangling",
            "dirlink",
            "file.txt",
            "filelink",
            "real/",
            "real/inner.txt"
        ]
    );
}

#[test]
fn odd_names_are_matched_and_sorted_by_bytes() {
    let t = Tree::new(&[
        "with space.txt",
        "ünïcødé.txt",
        "-dash",
        "[x].txt",
        "a-b",
        "a/b",
        "Z",
    ]);
    // Byte order of rel_path: `a` < `a-b` < `a/b` ('-' sorts before '/').
    let all = [
        "-dash",
        "Z",
        "[x].txt",
        "a/",
        "a-b",
        "a/b",
        "with space.txt",
        "ünïcødé.txt",
    ];
    let all_but = |gone: &[&str]| -> Vec<&str> {
        all.iter().copied().filter(|e| !gone.contains(e)).collect()
    };
    assert_eq!(t.sent("", &[]), all);
    let gone = ["with space.txt", "ünïcødé.txt", "-dash"];
    assert_eq!(t.sent(&gone.join("\n"), &[]), all_but(&gone));
    // `[x].txt` as a pattern is a class (it names `x.txt`); escaped brackets name the file.
    assert_eq!(t.sent("[x].txt", &[]), all);
    assert_eq!(t.sent("\\[x\\].txt", &[]), all_but(&["[x].txt"]));
    assert_eq!(
        t.sent("[[]x].txt\n?nïcødé.*", &[]),
        all_but(&["[x].txt", "ünïcødé.txt"])
    );
}

#[test]
fn empty_and_comment_only_dockerignore_send_everything() {
    let t = Tree::new(&[".dockerignore", "a/b.txt", "c/"]);
    let all = [".dockerignore", "a/", "a/b.txt", "c/"];
    assert_eq!(t.sent("", &[]), all);
    assert_eq!(t.sent("# a/b.txt\n\n   \n", &[]), all);
    assert_eq!(t.sent("# comment\na # not a comment here", &[]), all);
    assert_eq!(t.sent("# comment\na\n", &[]), [".dockerignore", "c/"]);
}

#[test]
fn entries_carry_size_mode_and_absolute_path() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new(&["bin/run.sh", "data/"]);
    fs::set_permissions(
        t.path().join("bin/run.sh"),
        fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    fs::set_permissions(t.path().join("data"), fs::Permissions::from_mode(0o700)).unwrap();
    let entries = walk(t.path(), &DockerIgnore::empty(), &[]).unwrap();
    let run = entries.iter().find(|e| e.rel_path == "bin/run.sh").unwrap();
    assert_eq!(run.kind, EntryKind::File { size: 10 });
    assert_eq!(run.mode, 0o4755);
    assert_eq!(run.abs_path, t.path().join("bin/run.sh"));
    let data = entries.iter().find(|e| e.rel_path == "data").unwrap();
    assert_eq!((&data.kind, data.mode), (&EntryKind::Dir, 0o700));
}

#[test]
fn walk_reports_a_root_that_is_not_a_directory() {
    let t = Tree::new(&["file"]);
    let err = walk(&t.path().join("file"), &DockerIgnore::empty(), &[]).unwrap_err();
    assert!(matches!(err, WalkError::NotADirectory { .. }), "{err}");
    let err = walk(&t.path().join("missing"), &DockerIgnore::empty(), &[]).unwrap_err();
    assert!(matches!(err, WalkError::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn sockets_are_not_sent() {
    let t = Tree::new(&["a"]);
    let _listener = std::os::unix::net::UnixListener::bind(t.path().join("sock")).unwrap();
    assert_eq!(t.sent("", &[]), ["a"]);
}
