//! Releases as a user meets them: scripts/dist.sh builds the host's archive
//! (a real release build), which is unpacked into an empty directory and run;
//! the shell installer installs it into a prefix from a file and from a
//! release address (a static file server on loopback), and refuses it when
//! the checksum does not match; install.sh takes the release over a build
//! from source, and builds from source when nothing is published.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// 2026-01-01T00:00:00Z: `--version` must show the date of this, not today.
const EPOCH: &str = "1767225600";

fn host() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Serves `dir`'s files over HTTP on loopback (404 for anything else);
/// returns the address.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // The rest of the request head.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let file = dir.join(path.trim_start_matches('/'));
            let reply = match std::fs::read(&file) {
                Ok(body) if file.starts_with(&dir) && !path.contains("..") => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

/// A `cargo` on PATH that only records how it was called.
fn fake_cargo(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\n",
            dir.join("cargo-calls").display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    bin
}

/// The release's shell installer into `prefix`, from `archive` (else it downloads).
fn installer(dist: &Path, archive: Option<&Path>, prefix: &Path) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(dist.join("todo-dev-installer.sh"))
        .arg("--prefix")
        .arg(prefix)
        .env("TODO_DEV_TARGET", host());
    if let Some(archive) = archive {
        cmd.arg("--archive").arg(archive);
    }
    cmd.output().unwrap()
}

fn install_sh(tmp: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        fake_cargo(tmp).display(),
        std::env::var("PATH").unwrap()
    );
    Command::new("bash")
        .arg(Path::new(ROOT).join("install.sh"))
        .args(args)
        .env("PATH", path)
        .env("HOME", tmp.join("home"))
        .env("TODO_DEV_TARGET", host())
        .output()
        .unwrap()
}

#[test]
fn the_host_archive_runs_unpacked_and_installs_only_when_its_checksum_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let dist = tmp.join("dist");
    let target = host();
    // A target directory of its own: the outer `cargo test` may still hold its own.
    let build_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(ROOT).join("target"))
        .join("dist-build");
    // The release address is only known once the server is up; it serves `dist`.
    let url = serve(dist.clone());
    let run_dist = || {
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(ROOT).join("scripts/dist.sh"))
            .args(["--out", dist.to_str().unwrap(), "--release-url", &url])
            // The environment a user's shell has: the variables `cargo test`
            // sets for its tests would make the release build start over.
            .env_clear()
            .env("CARGO_TARGET_DIR", &build_dir)
            .env("SOURCE_DATE_EPOCH", EPOCH);
        for var in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
        ] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd.output().unwrap()
    };
    let built = run_dist();
    assert!(built.status.success(), "{}", text(&built));
    let name = format!("todo-dev-v{VERSION}-{target}");
    let archive = dist.join(format!("{name}.tar.gz"));
    let checksum = std::fs::read_to_string(dist.join(format!("{name}.tar.gz.sha256"))).unwrap();
    assert_eq!(
        checksum,
        format!("{}  {name}.tar.gz\n", sha256(&archive)),
        "sha256sum format"
    );
    // Reproducible: the same commit and date give the same bytes.
    let again = run_dist();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(dist.join(format!("{name}.tar.gz.sha256"))).unwrap(),
        checksum
    );

    // Unpacked into an empty directory, as a user would.
    let unpacked = tmp.join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .unwrap();
    assert!(untar.status.success(), "{}", text(&untar));
    let root = unpacked.join(&name);
    for file in [
        "todo-dev",
        "README.md",
        "CHANGELOG.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "THIRD-PARTY-LICENSES.md",
        "completions/todo-dev.bash",
        "completions/_todo-dev",
        "completions/todo-dev.fish",
        "completions/_todo-dev.ps1",
        "man/man1/todo-dev.1",
        "man/man1/todo-dev-up.1",
        "man/man1/todo-dev-export-helm.1",
    ] {
        assert!(root.join(file).is_file(), "{file} missing from the archive");
    }
    let licenses = std::fs::read_to_string(root.join("THIRD-PARTY-LICENSES.md")).unwrap();
    assert!(
        licenses.contains("## tokio ") && licenses.contains("## kube "),
        "the dependencies' licenses are collected"
    );
    let exe = root.join("todo-dev");
    let version = Command::new(&exe).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(
        version.trim(),
        format!("todo-dev {VERSION} (commit {head}, built 2026-01-01)")
    );
    let doctor = Command::new(&exe)
        .args(["doctor", "--json"])
        .current_dir(tmp)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", text(&doctor)));
    assert!(
        report["checks"].as_array().is_some_and(|c| !c.is_empty()),
        "{report}"
    );
    let completions = Command::new(&exe)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(completions.status.success());
    assert!(String::from_utf8_lossy(&completions.stdout).contains("complete -F _todo__dev"));

    // The shell installer, from the archive file.
    let prefix = tmp.join("prefix-file");
    let installed = installer(&dist, Some(&archive), &prefix);
    assert!(installed.status.success(), "{}", text(&installed));
    let out = Command::new(prefix.join("bin/todo-dev"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), version);
    assert!(prefix.join("share/man/man1/todo-dev-watch.1").is_file());
    assert!(prefix
        .join("share/todo-dev/completions/todo-dev.bash")
        .is_file());

    // ... and from the release address the release wrote into it.
    let prefix = tmp.join("prefix-url");
    let installed = installer(&dist, None, &prefix);
    assert!(installed.status.success(), "{}", text(&installed));
    assert!(prefix.join("bin/todo-dev").is_file());

    // An archive that is not the one the checksum names: refused, nothing installed.
    let tampered_dir = tmp.join("tampered");
    std::fs::create_dir(&tampered_dir).unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let tampered = tampered_dir.join(format!("{name}.tar.gz"));
    std::fs::write(&tampered, bytes).unwrap();
    std::fs::write(
        tampered_dir.join(format!("{name}.tar.gz.sha256")),
        &checksum,
    )
    .unwrap();
    let prefix = tmp.join("prefix-refused");
    let refused = installer(&dist, Some(&tampered), &prefix);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("refused"), "{}", text(&refused));
    assert!(!prefix.exists(), "nothing installed from a refused archive");
    // No checksum file at all: refused too.
    std::fs::remove_file(tampered_dir.join(format!("{name}.tar.gz.sha256"))).unwrap();
    let unchecked = installer(&dist, Some(&tampered), &prefix);
    assert_eq!(unchecked.status.code(), Some(1), "{}", text(&unchecked));
    assert!(!prefix.exists());

    // install.sh prefers the published release of this version: no cargo.
    let prefix = tmp.join("prefix-install-sh");
    let out = install_sh(
        tmp,
        &["--release-url", &url, "--prefix", prefix.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(prefix.join("bin/todo-dev").is_file(), "{}", text(&out));
    assert!(
        !tmp.join("cargo-calls").exists(),
        "cargo ran: {}",
        text(&out)
    );
    // Nothing published there: built from source, said so.
    let out = install_sh(tmp, &["--release-url", &format!("{url}/nothing-here")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("building from source"),
        "{}",
        text(&out)
    );
    let calls = std::fs::read_to_string(tmp.join("cargo-calls")).unwrap();
    assert_eq!(calls.trim(), format!("install --path . --locked"));
    // A release whose archive does not match its checksum: refused, no build either.
    std::fs::remove_file(tmp.join("cargo-calls")).unwrap();
    std::fs::copy(&tampered, dist.join(format!("{name}.tar.gz"))).unwrap();
    let prefix = tmp.join("prefix-install-sh-refused");
    let out = install_sh(
        tmp,
        &["--release-url", &url, "--prefix", prefix.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("refused"), "{}", text(&out));
    assert!(!prefix.join("bin/todo-dev").exists());
    assert!(!tmp.join("cargo-calls").exists(), "{}", text(&out));
}

#[test]
fn the_homebrew_formula_names_each_archive_with_its_checksum_and_refuses_a_missing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let sums = tmp.path();
    let url = "https://github.com/example/todo-dev/releases/download/v9.8.7";
    let targets = [
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "aarch64-unknown-linux-musl",
        "x86_64-unknown-linux-musl",
    ];
    let run = || {
        Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/dist/homebrew.sh"))
            .args(["9.8.7", url])
            .arg(sums)
            .output()
            .unwrap()
    };
    for (i, t) in targets.iter().enumerate().skip(1) {
        let name = format!("todo-dev-v9.8.7-{t}.tar.gz");
        std::fs::write(
            sums.join(format!("{name}.sha256")),
            format!("{}  {name}\n", format!("{i}").repeat(64)),
        )
        .unwrap();
    }
    // One platform's checksum is missing: no formula.
    let out = run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("aarch64-apple-darwin"),
        "{}",
        text(&out)
    );
    assert!(!sums.join("todo-dev.rb").exists());

    let name = "todo-dev-v9.8.7-aarch64-apple-darwin.tar.gz";
    std::fs::write(
        sums.join(format!("{name}.sha256")),
        format!("{}  {name}\n", "0".repeat(64)),
    )
    .unwrap();
    let out = run();
    assert!(out.status.success(), "{}", text(&out));
    let formula = std::fs::read_to_string(sums.join("todo-dev.rb")).unwrap();
    for (i, t) in targets.iter().enumerate() {
        let archive = format!("url \"{url}/todo-dev-v9.8.7-{t}.tar.gz\"");
        let sha = format!("sha256 \"{}\"", format!("{i}").repeat(64));
        let at = formula
            .find(&archive)
            .unwrap_or_else(|| panic!("{archive} in\n{formula}"));
        // Each url is followed by its own checksum.
        assert!(
            formula[at..]
                .trim_start_matches(&archive)
                .trim_start()
                .starts_with(&sha),
            "{t}: {formula}"
        );
    }
    assert!(formula.contains("homepage \"https://github.com/example/todo-dev\""));
    assert!(formula.contains("version \"9.8.7\""));
    assert!(formula.contains("bin.install \"todo-dev\""));
}
