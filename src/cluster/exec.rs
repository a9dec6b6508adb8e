//! Syncing files into a running container through the Kubernetes API (exec),
//! for containers todo-dev's Docker client cannot reach (containerd or cri-o
//! runtimes, a remote cluster): `tar -x` with the archive on stdin, as
//! `kubectl cp` does (framed by its length, so its exit status comes back
//! over v4 too), and `rm -rf --` for deleted paths.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, AttachedProcess};
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// One exec may take this long before the sync counts as failed.
const EXEC_DEADLINE: Duration = Duration::from_secs(60);

/// Stderr kept for an error message.
const STDERR_KEPT: usize = 4096;

/// Where a sync goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodContainer {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

impl std::fmt::Display for PodContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pod {}/{} (container {})",
            self.namespace, self.pod, self.container
        )
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSynced {
    pub tar_bytes: usize,
    pub deleted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecSyncError {
    #[error("the image of {at} has no `tar`: files cannot be copied into it through the Kubernetes API ({detail})\n  help: todo-dev rebuilds the image instead; add `tar` to the image for syncs")]
    NoTar { at: PodContainer, detail: String },
    #[error("the image of {at} has no `rm`: deleted files cannot be removed from it ({detail})\n  help: todo-dev rebuilds the image instead")]
    NoRm { at: PodContainer, detail: String },
    #[error("the image of {at} has no `sh`: a sync rule's `run` cannot run in it ({detail})\n  help: todo-dev rebuilds the image instead")]
    NoShell { at: PodContainer, detail: String },
    #[error("the image of {at} has no `head` to read an archive framed by its length ({detail})")]
    NoHead { at: PodContainer, detail: String },
    #[error("cannot start `{command}` in {at}: {source}")]
    Start {
        command: String,
        at: PodContainer,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("`{command}` failed in {at}: {message}")]
    Failed {
        command: String,
        at: PodContainer,
        message: String,
    },
    #[error("sending the files to {at} failed")]
    Send {
        at: PodContainer,
        #[source]
        source: std::io::Error,
    },
    #[error("the exec connection to {at} failed")]
    Connection {
        at: PodContainer,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the API server closed the exec in {at} without tar's result: it speaks only v4.channel.k8s.io (Kubernetes before 1.30), where the end of stdin can only be signalled by closing the connection, and the image has no `sh` and `head` to read an archive framed by its length, so the sync is not confirmed")]
    Unconfirmed { at: PodContainer },
    #[error("`{command}` in {at} did not finish within {}s", EXEC_DEADLINE.as_secs())]
    Timeout { command: String, at: PodContainer },
    #[error("refusing to delete `{path}` in {at}: a deletion must be an absolute path below `/` without `..`")]
    UnsafeDeletion { path: String, at: PodContainer },
}

/// Extracts `tar_bytes` at the container's root, then removes `deletions`
/// (absolute paths in the container). Removal runs first, so a directory
/// replaced by a file (or the reverse) ends as the archive says.
pub async fn sync_by_exec(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    tar_bytes: &[u8],
    deletions: &[String],
) -> Result<ExecSynced, ExecSyncError> {
    let at = PodContainer {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: container.to_string(),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    if !deletions.is_empty() {
        let command = removal(&at, deletions)?;
        run(&pods, &at, Program::Rm, &command, Stdin::None).await?;
    }
    if !tar_bytes.is_empty() {
        let framed = framed_extract(tar_bytes.len());
        match run(
            &pods,
            &at,
            Program::FramedTar,
            &framed,
            Stdin::Framed(tar_bytes),
        )
        .await
        {
            // No shell or no head: plain tar, whose end is stdin's close
            // (confirmed over v5 only).
            Err(ExecSyncError::NoShell { .. } | ExecSyncError::NoHead { .. }) => {
                let command: Vec<String> = TAR_EXTRACT.iter().map(|s| s.to_string()).collect();
                run(&pods, &at, Program::Tar, &command, Stdin::Closed(tar_bytes)).await?;
            }
            other => other?,
        }
    }
    Ok(ExecSynced {
        tar_bytes: tar_bytes.len(),
        deleted: deletions.len(),
    })
}

/// `rm -rf -- PATHS`, each path checked: an exec with `-rf` must never reach `/`.
fn removal(at: &PodContainer, deletions: &[String]) -> Result<Vec<String>, ExecSyncError> {
    let mut command: Vec<String> = ["rm", "-rf", "--"].iter().map(|s| s.to_string()).collect();
    for path in deletions {
        let unsafe_path = !path.starts_with('/')
            || path.trim_matches('/').is_empty()
            || path.split('/').any(|c| c == ".." || c == ".");
        if unsafe_path {
            return Err(ExecSyncError::UnsafeDeletion {
                path: path.clone(),
                at: at.clone(),
            });
        }
        command.push(path.clone());
    }
    Ok(command)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Tar,
    /// `sh` running `head -c N | tar` (FRAMED_TAR_SCRIPT).
    FramedTar,
    Rm,
    Shell,
}

/// What the command reads, and how its end is known.
#[derive(Debug, Clone, Copy)]
enum Stdin<'a> {
    None,
    /// Ended by closing stdin (a CLOSE frame over v5, the socket over v4).
    Closed(&'a [u8]),
    /// The command reads exactly this much: stdin stays open until the
    /// status arrives, on any protocol.
    Framed(&'a [u8]),
}

impl Stdin<'_> {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Stdin::None => None,
            Stdin::Closed(b) | Stdin::Framed(b) => Some(b),
        }
    }
}

/// A sync rule's `run` in the container: `sh -c SCRIPT`.
pub async fn run_by_exec(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    script: &str,
) -> Result<(), ExecSyncError> {
    let at = PodContainer {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: container.to_string(),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let command = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
    run(&pods, &at, Program::Shell, &command, Stdin::None).await
}

async fn run(
    pods: &Api<Pod>,
    at: &PodContainer,
    program: Program,
    command: &[String],
    stdin: Stdin<'_>,
) -> Result<(), ExecSyncError> {
    let shown = match program {
        // The script is long: say what it does.
        Program::FramedTar => format!(
            "head -c {} | tar -x -m -f - -C /",
            stdin.bytes().map_or(0, <[u8]>::len)
        ),
        _ => command.join(" "),
    };
    let params = AttachParams::default()
        .container(at.container.as_str())
        .stdin(stdin.bytes().is_some())
        .stdout(false)
        .stderr(true);
    let attempt = async {
        let process = pods
            .exec(&at.pod, command.to_vec(), &params)
            .await
            .map_err(|source| ExecSyncError::Start {
                command: shown.clone(),
                at: at.clone(),
                source: Box::new(source),
            })?;
        finish(process, at, program, &shown, stdin).await
    };
    tokio::time::timeout(EXEC_DEADLINE, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(ExecSyncError::Timeout {
                command: shown.clone(),
                at: at.clone(),
            })
        })
}

/// Feeds stdin (closing it after), collects stderr and the exit status.
async fn finish(
    mut process: AttachedProcess,
    at: &PodContainer,
    program: Program,
    shown: &str,
    stdin: Stdin<'_>,
) -> Result<(), ExecSyncError> {
    let status = process.take_status();
    let writer = process.stdin();
    let stderr = process.stderr();
    // A framed stdin's writer is kept (open) until the status has come.
    let mut kept_open = None;
    let sending = async {
        match (writer, stdin) {
            (Some(mut w), Stdin::Closed(bytes)) => {
                w.write_all(bytes).await?;
                // Over v5 this is the CLOSE frame for stdin: tar sees its end of input.
                w.shutdown().await
            }
            (Some(mut w), Stdin::Framed(bytes)) => {
                w.write_all(bytes).await?;
                w.flush().await?;
                kept_open = Some(w);
                Ok(())
            }
            _ => Ok(()),
        }
    };
    let reading = async {
        let mut text = Vec::new();
        if let Some(mut r) = stderr {
            let _ = r.read_to_end(&mut text).await;
        }
        text
    };
    // The status (or the end of the connection) can come before stdin is
    // all sent (tar missing): stop sending then, as nobody reads it any more.
    let outcome = async {
        let mut status = match status {
            Some(s) => futures::FutureExt::boxed(s),
            None => futures::FutureExt::boxed(async { None }),
        };
        tokio::pin!(sending);
        tokio::select! {
            sent = &mut sending => (sent, status.await),
            early = &mut status => (Ok(()), early),
        }
    };
    let ((sent, status), stderr_bytes) = tokio::join!(outcome, reading);
    drop(kept_open);
    let joined = process.join().await;
    let stderr_text = tail(&String::from_utf8_lossy(&stderr_bytes));
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        Some(s) => Err(classify(&s, &stderr_text, at, program, shown)),
        None => {
            if let Err(source) = sent {
                return Err(ExecSyncError::Send {
                    at: at.clone(),
                    source,
                });
            }
            if let Err(e) = joined {
                return Err(ExecSyncError::Connection {
                    at: at.clone(),
                    source: Box::new(e),
                });
            }
            Err(ExecSyncError::Unconfirmed { at: at.clone() })
        }
    }
}

/// The failure status as a typed error: a missing executable (exit 126/127
/// from the docker runtime, "executable file not found" from containerd
/// and cri-o) says which program the image lacks.
fn classify(
    status: &Status,
    stderr: &str,
    at: &PodContainer,
    program: Program,
    shown: &str,
) -> ExecSyncError {
    let message = status.message.clone().unwrap_or_default();
    let exit_code = exit_code(status);
    let missing = matches!(exit_code, Some(126 | 127))
        || message.contains("executable file not found")
        || message.contains("no such file or directory");
    if missing {
        let detail = if message.is_empty() {
            format!("exit code {}", exit_code.unwrap_or_default())
        } else {
            message
        };
        // The script names what it lacks; the runtime names `sh` itself.
        let framed_lacks = |p: &str| stderr.contains(&format!("{p}: not found"));
        return match program {
            Program::FramedTar if framed_lacks("tar") => ExecSyncError::NoTar {
                at: at.clone(),
                detail,
            },
            Program::FramedTar if framed_lacks("head") => ExecSyncError::NoHead {
                at: at.clone(),
                detail,
            },
            Program::Tar => ExecSyncError::NoTar {
                at: at.clone(),
                detail,
            },
            Program::FramedTar => ExecSyncError::NoShell {
                at: at.clone(),
                detail,
            },
            Program::Rm => ExecSyncError::NoRm {
                at: at.clone(),
                detail,
            },
            Program::Shell => ExecSyncError::NoShell {
                at: at.clone(),
                detail,
            },
        };
    }
    let mut message = if message.is_empty() {
        status.reason.clone().unwrap_or_else(|| "failed".into())
    } else {
        message
    };
    if !stderr.trim().is_empty() {
        message.push_str(": ");
        message.push_str(stderr.trim());
    }
    ExecSyncError::Failed {
        command: shown.to_string(),
        at: at.clone(),
        message,
    }
}

/// The exit code a `NonZeroExitCode` status carries in its `ExitCode` cause.
fn exit_code(status: &Status) -> Option<i32> {
    status
        .details
        .as_ref()?
        .causes
        .as_ref()?
        .iter()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))?
        .message
        .as_deref()?
        .trim()
        .parse()
        .ok()
}

fn tail(text: &str) -> String {
    if text.len() <= STDERR_KEPT {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_KEPT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> PodContainer {
        PodContainer {
            namespace: "todo".into(),
            pod: "backend-1".into(),
            container: "backend".into(),
        }
    }

    fn status(json: &str) -> Status {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn exit_127_from_the_docker_runtime_means_no_tar() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [tar -x -m -f - -C /], exit code 127","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"127"}]}}"#,
        );
        let e = classify(&s, "", &at(), Program::Tar, "tar");
        assert!(matches!(e, ExecSyncError::NoTar { .. }), "{e}");
        assert!(e.to_string().contains("has no `tar`"), "{e}");
    }

    #[test]
    fn the_framed_extraction_names_what_the_image_lacks() {
        let exit_127 = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit code 127","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"127"}]}}"#,
        );
        let shown = "head -c 10 | tar -x -m -f - -C /";
        let e = classify(
            &exit_127,
            "tar: not found\n",
            &at(),
            Program::FramedTar,
            shown,
        );
        assert!(matches!(e, ExecSyncError::NoTar { .. }), "{e}");
        let e = classify(
            &exit_127,
            "head: not found\n",
            &at(),
            Program::FramedTar,
            shown,
        );
        assert!(matches!(e, ExecSyncError::NoHead { .. }), "{e}");
        let no_sh = status(
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": executable file not found in $PATH: unknown","reason":"InternalError","code":500}"#,
        );
        let e = classify(&no_sh, "", &at(), Program::FramedTar, shown);
        assert!(matches!(e, ExecSyncError::NoShell { .. }), "{e}");
        assert_eq!(framed_extract(10)[4], "10");
    }

    #[test]
    fn containerd_executable_not_found_means_no_rm() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"rm\": executable file not found in $PATH: unknown","reason":"InternalError","code":500}"#,
        );
        let e = classify(&s, "", &at(), Program::Rm, "rm -rf --");
        assert!(matches!(e, ExecSyncError::NoRm { .. }), "{e}");
    }

    #[test]
    fn exit_2_is_a_failure_with_stderr() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit code 2","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}"#,
        );
        let e = classify(
            &s,
            "tar: app/x.py: Cannot open: Permission denied\n",
            &at(),
            Program::Tar,
            "tar -x",
        );
        match e {
            ExecSyncError::Failed { message, .. } => {
                assert!(message.contains("Permission denied"), "{message}")
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn deletions_must_be_absolute_and_below_root() {
        for bad in ["/", "//", "app/x.py", "/app/../etc", "/app/./x"] {
            assert!(
                removal(&at(), &[bad.to_string()]).is_err(),
                "{bad} accepted"
            );
        }
        let cmd = removal(&at(), &["/app/app/old.py".into(), "/app/-n".into()]).unwrap();
        assert_eq!(cmd, ["rm", "-rf", "--", "/app/app/old.py", "/app/-n"]);
    }
}
