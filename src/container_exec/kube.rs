//! Commands in a pod's container through the Kubernetes exec API, for
//! containers todo-dev's Docker client cannot reach (containerd or cri-o
//! runtimes, a remote cluster): as `kubectl exec` and `kubectl cp` do, an
//! archive extracted by `tar` in the container (framed by its length, so its
//! exit status comes back over v4 too).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, AttachedProcess};
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Command, Container, ContainerExec, ExecError, Exit, Ran, Stdin, Tail};

/// One exec may take this long before the sync counts as failed.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(60);

/// A pod's container, reached through the API server.
#[derive(Clone)]
pub struct KubeExec {
    pods: Api<Pod>,
    at: Container,
    pod: String,
    container: String,
}

impl KubeExec {
    pub fn new(client: &kube::Client, namespace: &str, pod: &str, container: &str) -> KubeExec {
        KubeExec {
            pods: Api::namespaced(client.clone(), namespace),
            at: Container::Pod {
                namespace: namespace.to_string(),
                pod: pod.to_string(),
                container: container.to_string(),
            },
            pod: pod.to_string(),
            container: container.to_string(),
        }
    }
}

impl ContainerExec for KubeExec {
    fn container(&self) -> &Container {
        &self.at
    }

    /// Stderr only is attached (stdout stays empty), as `kubectl cp` does.
    async fn run(&self, command: &Command<'_>) -> Result<Ran, ExecError> {
        let params = AttachParams::default()
            .container(self.container.as_str())
            .stdin(command.stdin.bytes().is_some())
            .stdout(false)
            .stderr(true);
        let attempt = async {
            let process = self
                .pods
                .exec(&self.pod, command.argv.clone(), &params)
                .await
                .map_err(|source| ExecError::Start {
                    command: command.shown.clone(),
                    at: self.at.clone(),
                    source: Box::new(source),
                })?;
            finish(process, &self.at, command.stdin).await
        };
        tokio::time::timeout(EXEC_DEADLINE, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(ExecError::Timeout {
                    command: command.shown.clone(),
                    at: self.at.clone(),
                })
            })
    }
}

/// Feeds stdin (closing it after), collects stderr and the exit status.
async fn finish(
    mut process: AttachedProcess,
    at: &Container,
    stdin: Stdin<'_>,
) -> Result<Ran, ExecError> {
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
        let mut tail = Tail::default();
        if let Some(mut r) = stderr {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = r.read(&mut chunk).await {
                tail.push(&chunk[..n]);
            }
        }
        tail
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
    let ((sent, status), stderr) = tokio::join!(outcome, reading);
    drop(kept_open);
    let joined = process.join().await;
    match status {
        Some(s) => Ok(ran(&s, stderr.text())),
        None => {
            if let Err(source) = sent {
                return Err(ExecError::Send {
                    at: at.clone(),
                    source,
                });
            }
            if let Err(e) = joined {
                return Err(ExecError::Connection {
                    at: at.clone(),
                    source: Box::new(e),
                });
            }
            Err(ExecError::Unconfirmed { at: at.clone() })
        }
    }
}

/// The API server's status for an exec: `Success`, or a failure with the
/// exit code in an `ExitCode` cause (none when the runtime could not start
/// the program: containerd and cri-o say so in the message).
fn ran(status: &Status, stderr: String) -> Ran {
    let exit = match status.status.as_deref() {
        Some("Success") => Exit::Success,
        _ => exit_code(status).map_or(Exit::NoCode, Exit::from_code),
    };
    let message = match status.message.as_deref() {
        Some(m) if !m.is_empty() => Some(m.to_string()),
        _ => status.reason.clone().filter(|r| !r.is_empty()),
    };
    Ran {
        exit,
        message: (exit != Exit::Success).then_some(message).flatten(),
        stdout: String::new(),
        stderr,
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

#[cfg(test)]
mod tests {
    use super::super::tests::at;
    use super::super::{framed_extract, outcome};
    use super::*;

    fn status(json: &str) -> Status {
        serde_json::from_str(json).unwrap()
    }

    /// The typed error for `status` and `stderr` from running `command`.
    fn classify(status: &Status, stderr: &str, command: &Command<'_>) -> ExecError {
        outcome(ran(status, stderr.to_string()), &at(), command).unwrap_err()
    }

    #[test]
    fn exit_127_from_the_docker_runtime_means_no_tar() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [tar -x -m -f - -C /], exit code 127","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"127"}]}}"#,
        );
        let e = classify(&s, "", &Command::extract(b""));
        assert!(matches!(e, ExecError::NoTar { .. }), "{e}");
        assert!(e.to_string().contains("has no `tar`"), "{e}");
    }

    #[test]
    fn the_framed_extraction_names_what_the_image_lacks() {
        let exit_127 = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit code 127","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"127"}]}}"#,
        );
        let archive = [0u8; 10];
        let framed = Command::framed_extract(&archive);
        assert_eq!(framed.shown, "head -c 10 | tar -x -m -f - -C /");
        let e = classify(&exit_127, "tar: not found\n", &framed);
        assert!(matches!(e, ExecError::NoTar { .. }), "{e}");
        let e = classify(&exit_127, "head: not found\n", &framed);
        assert!(matches!(e, ExecError::NoHead { .. }), "{e}");
        let no_sh = status(
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": executable file not found in $PATH: unknown","reason":"InternalError","code":500}"#,
        );
        let e = classify(&no_sh, "", &framed);
        assert!(matches!(e, ExecError::NoShell { .. }), "{e}");
        assert_eq!(framed_extract(10)[4], "10");
    }

    #[test]
    fn containerd_executable_not_found_means_no_rm() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"rm\": executable file not found in $PATH: unknown","reason":"InternalError","code":500}"#,
        );
        let rm = Command::remove(&at(), &["/app/x.py".into()]).unwrap();
        let e = classify(&s, "", &rm);
        assert!(matches!(e, ExecError::NoRm { .. }), "{e}");
    }

    #[test]
    fn exit_2_is_a_failure_with_stderr() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit code 2","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}"#,
        );
        let e = classify(
            &s,
            "tar: app/x.py: Cannot open: Permission denied\n",
            &Command::extract(b""),
        );
        match e {
            ExecError::Failed { message, .. } => {
                assert!(message.contains("Permission denied"), "{message}")
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn deletions_must_be_absolute_and_below_root() {
        for bad in ["/", "//", "app/x.py", "/app/../etc", "/app/./x"] {
            assert!(
                Command::remove(&at(), &[bad.to_string()]).is_err(),
                "{bad} accepted"
            );
        }
        let cmd = Command::remove(&at(), &["/app/app/old.py".into(), "/app/-n".into()]).unwrap();
        assert_eq!(cmd.argv, ["rm", "-rf", "--", "/app/app/old.py", "/app/-n"]);
    }
}
