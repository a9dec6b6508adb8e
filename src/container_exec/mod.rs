//! Running a command in a running container, whatever reaches it:
//! `docker` (Docker's exec and archive APIs, for containers of the daemon
//! todo-dev builds into: Minikube's docker runtime, smoke runs) or `kube`
//! (the Kubernetes exec API: containerd, cri-o, a remote cluster).
//!
//! One [`ContainerExec`] trait, one [`ExecError`], one reading of exit codes
//! ([`Exit`]): the sync operations (`sync::apply`) are written once on top.

pub mod docker;
pub mod kube;

use std::future::Future;

pub use self::docker::DockerExec;
pub use self::kube::KubeExec;

/// Output kept from each of stdout and stderr, for messages.
pub const OUTPUT_KEPT: usize = 4096;

/// What `kubectl cp` runs in the container: extract stdin at the root,
/// modification times set to now (so reloaders see the change).
pub const TAR_EXTRACT: [&str; 7] = ["tar", "-x", "-m", "-f", "-", "-C", "/"];

/// The same extraction reading exactly `$1` bytes: the archive is framed by
/// its length, so the remote side ends by itself and its exit status comes
/// back on every protocol. Over v4.channel.k8s.io (Kubernetes before 1.30)
/// stdin can only be ended by closing the whole socket, which loses the
/// status; and GNU tar reads a pipe to its end, so plain `tar` would wait.
/// A missing program is said by name (exit 127), as a shell does.
pub const FRAMED_TAR_SCRIPT: &str = r#"for p in head tar; do command -v "$p" >/dev/null 2>&1 || { echo "$p: not found" >&2; exit 127; }; done; head -c "$1" | tar -x -m -f - -C /"#;

/// `sh -c FRAMED_TAR_SCRIPT todo-dev-sync LENGTH`.
pub fn framed_extract(length: usize) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        FRAMED_TAR_SCRIPT.into(),
        "todo-dev-sync".into(),
        length.to_string(),
    ]
}

/// A container a command runs in, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Container {
    /// A pod's container in the Docker daemon: `namespace/pod` and its ID.
    DockerPod { pod: String, id: String },
    /// A container of todo-dev's own in the Docker daemon (smoke), by name.
    Docker { name: String },
    /// A pod's container reached through the Kubernetes API.
    Pod {
        namespace: String,
        pod: String,
        container: String,
    },
}

impl Container {
    /// The Docker container behind it, for Docker's own errors.
    fn in_docker(&self) -> String {
        match self {
            Container::DockerPod { pod, id } => {
                format!("pod {pod}'s container {}", short(id))
            }
            Container::Docker { name } => format!("container {name}"),
            Container::Pod { .. } => self.to_string(),
        }
    }
}

impl std::fmt::Display for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Container::DockerPod { pod, .. } => write!(f, "pod {pod}"),
            Container::Docker { name } => write!(f, "container {name}"),
            Container::Pod {
                namespace,
                pod,
                container,
            } => write!(f, "pod {namespace}/{pod} (container {container})"),
        }
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// How a command ended: exit codes as shells and container runtimes use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// 126: the program is there but cannot be run.
    NotExecutable,
    /// 127: the program is not in the image (`tar` in a slim image, say).
    NotFound,
    /// 128+N: killed by signal N.
    Signal(i32),
    Failed(i32),
    /// No exit code: the runtime could not start it, or did not say.
    NoCode,
}

/// Linux's highest signal number (SIGRTMAX): 128+N above it is a plain code.
const SIGNAL_MAX: i32 = 64;

impl Exit {
    pub fn from_code(code: i32) -> Exit {
        match code {
            0 => Exit::Success,
            126 => Exit::NotExecutable,
            127 => Exit::NotFound,
            c if (129..=128 + SIGNAL_MAX).contains(&c) => Exit::Signal(c - 128),
            c => Exit::Failed(c),
        }
    }

    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Success => Some(0),
            Exit::NotExecutable => Some(126),
            Exit::NotFound => Some(127),
            Exit::Signal(n) => Some(128 + n),
            Exit::Failed(c) => Some(c),
            Exit::NoCode => None,
        }
    }

    /// The program could not be run at all (126, 127).
    fn program_missing(self) -> bool {
        matches!(self, Exit::NotExecutable | Exit::NotFound)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Success => write!(f, "exit 0"),
            Exit::NotExecutable => write!(f, "exit 126: not executable"),
            Exit::NotFound => write!(f, "exit 127: command not found"),
            Exit::Signal(n) => match signal_name(*n) {
                Some(name) => write!(f, "exit {}: killed by signal {n} ({name})", 128 + n),
                None => write!(f, "exit {}: killed by signal {n}", 128 + n),
            },
            Exit::Failed(c) => write!(f, "exit {c}"),
            Exit::NoCode => write!(f, "no exit code"),
        }
    }
}

/// The signals a dev loop meets (the OOM killer's, Ctrl-C's, a crash's).
fn signal_name(n: i32) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// The program a command needs from the image, named when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Tar,
    /// `sh` running `head -c N | tar` (FRAMED_TAR_SCRIPT).
    FramedTar,
    Rm,
    Shell,
    /// Whatever the caller runs (smoke's probes): missing, it just fails.
    Other,
}

/// What the command reads, and how its end is known.
#[derive(Debug, Clone, Copy)]
pub enum Stdin<'a> {
    None,
    /// Ended by closing stdin (a CLOSE frame over v5, the socket over v4).
    Closed(&'a [u8]),
    /// The command reads exactly this much: stdin stays open until the
    /// status arrives, on any protocol.
    Framed(&'a [u8]),
}

impl Stdin<'_> {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Stdin::None => None,
            Stdin::Closed(b) | Stdin::Framed(b) => Some(b),
        }
    }
}

/// One command to run in a container.
#[derive(Debug, Clone)]
pub struct Command<'a> {
    pub argv: Vec<String>,
    /// How messages show it (the framed extraction's script is long).
    pub shown: String,
    pub program: Program,
    pub stdin: Stdin<'a>,
}

impl<'a> Command<'a> {
    /// `rm -rf -- PATHS`, each path checked: an exec with `-rf` must never reach `/`.
    pub fn remove(at: &Container, paths: &[String]) -> Result<Command<'a>, ExecError> {
        let mut argv: Vec<String> = ["rm", "-rf", "--"].iter().map(|s| s.to_string()).collect();
        for path in paths {
            let unsafe_path = !path.starts_with('/')
                || path.trim_matches('/').is_empty()
                || path.split('/').any(|c| c == ".." || c == ".");
            if unsafe_path {
                return Err(ExecError::UnsafeDeletion {
                    path: path.clone(),
                    at: at.clone(),
                });
            }
            argv.push(path.clone());
        }
        Ok(Command::plain(argv, Program::Rm, Stdin::None))
    }

    /// `archive` extracted at `/` by `head -c LEN | tar -x`: its end is its length.
    pub fn framed_extract(archive: &'a [u8]) -> Command<'a> {
        Command {
            argv: framed_extract(archive.len()),
            shown: format!("head -c {} | tar -x -m -f - -C /", archive.len()),
            program: Program::FramedTar,
            stdin: Stdin::Framed(archive),
        }
    }

    /// `archive` extracted at `/` by plain `tar -x`: its end is stdin's close.
    pub fn extract(archive: &'a [u8]) -> Command<'a> {
        let argv = TAR_EXTRACT.iter().map(|s| s.to_string()).collect();
        Command::plain(argv, Program::Tar, Stdin::Closed(archive))
    }

    /// A sync rule's `run`: `sh -c SCRIPT`.
    pub fn shell(script: &str) -> Command<'a> {
        let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        Command::plain(argv, Program::Shell, Stdin::None)
    }

    /// `argv` as it is, with no stdin.
    pub fn new(argv: Vec<String>) -> Command<'a> {
        Command::plain(argv, Program::Other, Stdin::None)
    }

    fn plain(argv: Vec<String>, program: Program, stdin: Stdin<'a>) -> Command<'a> {
        Command {
            shown: argv.join(" "),
            argv,
            program,
            stdin,
        }
    }
}

/// What a command did, as the runtime reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub exit: Exit,
    /// The runtime's own words on a failure (the Kubernetes status message).
    pub message: Option<String>,
    /// The last [`OUTPUT_KEPT`] bytes of each.
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the image of {at} has no `tar`: files cannot be copied into it through the Kubernetes API ({detail})\n  help: todo-dev rebuilds the image instead; add `tar` to the image for syncs")]
    NoTar { at: Container, detail: String },
    #[error("the image of {at} has no `rm`: deleted files cannot be removed from it ({detail})\n  help: todo-dev rebuilds the image instead")]
    NoRm { at: Container, detail: String },
    #[error("the image of {at} has no `sh`: a sync rule's `run` cannot run in it ({detail})\n  help: todo-dev rebuilds the image instead")]
    NoShell { at: Container, detail: String },
    #[error("the image of {at} has no `head` to read an archive framed by its length ({detail})")]
    NoHead { at: Container, detail: String },
    #[error("`{command}` failed in {at}: {message}")]
    Failed {
        command: String,
        at: Container,
        message: String,
    },
    #[error("refusing to delete `{path}` in {at}: a deletion must be an absolute path below `/` without `..`")]
    UnsafeDeletion { path: String, at: Container },
    // The Kubernetes exec API.
    #[error("cannot start `{command}` in {at}: {source}")]
    Start {
        command: String,
        at: Container,
        #[source]
        source: Box<::kube::Error>,
    },
    #[error("sending the files to {at} failed")]
    Send {
        at: Container,
        #[source]
        source: std::io::Error,
    },
    #[error("the exec connection to {at} failed")]
    Connection {
        at: Container,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the API server closed the exec in {at} without tar's result: it speaks only v4.channel.k8s.io (Kubernetes before 1.30), where the end of stdin can only be signalled by closing the connection, and the image has no `sh` and `head` to read an archive framed by its length, so the sync is not confirmed")]
    Unconfirmed { at: Container },
    #[error("`{command}` in {at} did not finish within {}s", self::kube::EXEC_DEADLINE.as_secs())]
    Timeout { command: String, at: Container },
    // Docker's exec and archive APIs.
    #[error("{} is not in the Docker daemon todo-dev builds into (gone, or another daemon)", .at.in_docker())]
    ContainerGone {
        at: Container,
        #[source]
        source: Option<Box<bollard::errors::Error>>,
    },
    #[error("{} is not running", .at.in_docker())]
    ContainerStopped { at: Container },
    #[error("copying into {at} failed: {source}{hint}")]
    Upload {
        at: Container,
        hint: &'static str,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error("Docker exec in {at} failed: {source}")]
    Docker {
        at: Container,
        #[source]
        source: Box<bollard::errors::Error>,
    },
}

/// A way into one running container.
pub trait ContainerExec: Sync {
    /// The container, as messages name it.
    fn container(&self) -> &Container;

    /// Runs `command`, feeding its stdin, and waits for it to end. An
    /// exit status of any kind is `Ok`: [`ContainerExec::check`] reads it.
    fn run(&self, command: &Command<'_>) -> impl Future<Output = Result<Ran, ExecError>> + Send;

    /// Unpacks `archive` (a tar of paths below `/`) at the container's
    /// root, modification times set to now. By default through `tar` in
    /// the container, framed by its length; without `sh` or `head`, plain
    /// `tar` ended by the close of stdin.
    fn extract(&self, archive: bytes::Bytes) -> impl Future<Output = Result<(), ExecError>> + Send {
        async move {
            match self.check(&Command::framed_extract(&archive)).await {
                Err(ExecError::NoShell { .. } | ExecError::NoHead { .. }) => {
                    self.check(&Command::extract(&archive)).await.map(drop)
                }
                other => other.map(drop),
            }
        }
    }

    /// Runs `command`; anything but a success is an error.
    fn check(&self, command: &Command<'_>) -> impl Future<Output = Result<Ran, ExecError>> + Send {
        async move {
            let ran = self.run(command).await?;
            outcome(ran, self.container(), command)
        }
    }
}

/// A run's outcome as a typed error: a missing executable (exit 126/127,
/// "executable file not found" from containerd and cri-o) says which program
/// the image lacks; any other failure carries the runtime's words and output.
pub fn outcome(ran: Ran, at: &Container, command: &Command<'_>) -> Result<Ran, ExecError> {
    if ran.exit == Exit::Success {
        return Ok(ran);
    }
    let said = |words: &str| ran.message.as_deref().is_some_and(|m| m.contains(words));
    let missing = ran.exit.program_missing()
        || said("executable file not found")
        || said("no such file or directory");
    if missing {
        let detail = ran.message.clone().unwrap_or_else(|| ran.exit.to_string());
        let at = at.clone();
        // The framed script names what it lacks; the runtime names `sh` itself.
        let framed_lacks = |p: &str| ran.stderr.contains(&format!("{p}: not found"));
        return Err(match command.program {
            Program::FramedTar if framed_lacks("tar") => ExecError::NoTar { at, detail },
            Program::FramedTar if framed_lacks("head") => ExecError::NoHead { at, detail },
            Program::Tar => ExecError::NoTar { at, detail },
            Program::FramedTar | Program::Shell => ExecError::NoShell { at, detail },
            Program::Rm => ExecError::NoRm { at, detail },
            Program::Other => ExecError::Failed {
                command: command.shown.clone(),
                at,
                message: detail,
            },
        });
    }
    let mut message = ran.message.clone().unwrap_or_else(|| ran.exit.to_string());
    let output: Vec<&str> = [ran.stdout.trim(), ran.stderr.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if !output.is_empty() {
        message.push_str(": ");
        message.push_str(&output.join("\n"));
    }
    Err(ExecError::Failed {
        command: command.shown.clone(),
        at: at.clone(),
        message,
    })
}

/// The last [`OUTPUT_KEPT`] bytes of a stream, kept as it arrives.
#[derive(Debug, Default)]
pub(crate) struct Tail(Vec<u8>);

impl Tail {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        // Trimmed in batches, not on every chunk.
        if self.0.len() > 2 * OUTPUT_KEPT {
            self.0.drain(..self.0.len() - OUTPUT_KEPT);
        }
    }

    pub(crate) fn text(&self) -> String {
        let start = self.0.len().saturating_sub(OUTPUT_KEPT);
        let text = String::from_utf8_lossy(&self.0[start..]).into_owned();
        // A character cut at the start shows as U+FFFD: drop it.
        text.trim_start_matches('\u{FFFD}').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pod's container, as the tests of both implementations name it.
    pub(super) fn at() -> Container {
        Container::Pod {
            namespace: "todo".into(),
            pod: "backend-1".into(),
            container: "backend".into(),
        }
    }

    fn ran(exit: Exit, stderr: &str) -> Ran {
        Ran {
            exit,
            message: None,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn exit_codes_read_as_shells_and_runtimes_mean_them() {
        let table = [
            (0, Exit::Success, "exit 0"),
            (1, Exit::Failed(1), "exit 1"),
            (2, Exit::Failed(2), "exit 2"),
            (126, Exit::NotExecutable, "exit 126: not executable"),
            (127, Exit::NotFound, "exit 127: command not found"),
            (128, Exit::Failed(128), "exit 128"),
            (
                130,
                Exit::Signal(2),
                "exit 130: killed by signal 2 (SIGINT)",
            ),
            (
                137,
                Exit::Signal(9),
                "exit 137: killed by signal 9 (SIGKILL)",
            ),
            (
                143,
                Exit::Signal(15),
                "exit 143: killed by signal 15 (SIGTERM)",
            ),
            (162, Exit::Signal(34), "exit 162: killed by signal 34"),
            (192, Exit::Signal(64), "exit 192: killed by signal 64"),
            (193, Exit::Failed(193), "exit 193"),
            (255, Exit::Failed(255), "exit 255"),
        ];
        for (code, exit, message) in table {
            assert_eq!(Exit::from_code(code), exit, "{code}");
            assert_eq!(exit.code(), Some(code), "{code}");
            assert_eq!(exit.to_string(), message, "{code}");
        }
        assert_eq!(Exit::NoCode.code(), None);
    }

    #[test]
    fn a_missing_program_is_named_by_what_the_command_needs() {
        let rm = Command::remove(&at(), &["/app/x".into()]).unwrap();
        let e = outcome(ran(Exit::NotFound, ""), &at(), &rm).unwrap_err();
        assert!(matches!(e, ExecError::NoRm { .. }), "{e}");
        assert!(
            e.to_string().contains("(exit 127: command not found)"),
            "{e}"
        );
        let sh = Command::shell("make");
        let e = outcome(ran(Exit::NotExecutable, ""), &at(), &sh).unwrap_err();
        assert!(matches!(e, ExecError::NoShell { .. }), "{e}");
        let e = outcome(ran(Exit::NotFound, ""), &at(), &Command::extract(b"")).unwrap_err();
        assert!(matches!(e, ExecError::NoTar { .. }), "{e}");
    }

    #[test]
    fn a_killed_command_fails_with_the_signal_and_its_output() {
        let sh = Command::shell("pip install -r requirements.txt");
        let mut r = ran(Exit::from_code(137), "Killed\n");
        r.stdout = "Collecting fastapi\n".into();
        match outcome(r, &at(), &sh).unwrap_err() {
            ExecError::Failed {
                command, message, ..
            } => {
                assert_eq!(command, "sh -c pip install -r requirements.txt");
                assert_eq!(
                    message,
                    "exit 137: killed by signal 9 (SIGKILL): Collecting fastapi\nKilled"
                );
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_tail_keeps_the_last_bytes_on_a_character_boundary() {
        let mut t = Tail::default();
        t.push("ж".repeat(OUTPUT_KEPT).as_bytes());
        t.push(b"end");
        let text = t.text();
        assert!(text.ends_with("жend"), "{text}");
        assert!(text.len() <= OUTPUT_KEPT && !text.starts_with('\u{FFFD}'));
    }
}
