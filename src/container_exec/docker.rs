//! Commands in a container of the Docker daemon todo-dev talks to (a pod's
//! with Minikube's docker runtime, a smoke run's): Docker's exec API, and
//! its archive API for extraction (`PUT /containers/{id}/archive`: the
//! daemon unpacks the tar itself, so the image needs no `tar`).

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{Command, Container, ContainerExec, ExecError, Exit, Ran, Tail};

/// A container in the daemon, and who commands run as.
#[derive(Debug, Clone)]
pub struct DockerExec {
    docker: Docker,
    id: String,
    at: Container,
    /// `uid:gid`; the image's own user when `None`.
    user: Option<String>,
}

impl DockerExec {
    /// A pod's container (`namespace/pod`), its commands run as `uid`: what
    /// they write belongs to the pod's user.
    pub fn pod(docker: &Docker, pod: &str, container_id: &str, uid: u32) -> DockerExec {
        DockerExec {
            docker: docker.clone(),
            id: container_id.to_string(),
            at: Container::DockerPod {
                pod: pod.to_string(),
                id: container_id.to_string(),
            },
            user: Some(format!("{uid}:{uid}")),
        }
    }

    /// A container by name, its commands run as the image's user.
    pub fn named(docker: &Docker, name: &str) -> DockerExec {
        DockerExec {
            docker: docker.clone(),
            id: name.to_string(),
            at: Container::Docker {
                name: name.to_string(),
            },
            user: None,
        }
    }

    /// Whether the container is in this daemon and running.
    pub async fn running(&self) -> Result<(), ExecError> {
        match self.docker.inspect_container(&self.id, None).await {
            Ok(c) if c.state.as_ref().and_then(|s| s.running) == Some(true) => Ok(()),
            Ok(_) => Err(ExecError::ContainerStopped {
                at: self.at.clone(),
            }),
            Err(
                source @ bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                },
            ) => Err(self.gone(source)),
            Err(source) => Err(self.docker_error(source)),
        }
    }

    fn gone(&self, source: bollard::errors::Error) -> ExecError {
        ExecError::ContainerGone {
            at: self.at.clone(),
            source: Some(Box::new(source)),
        }
    }

    fn docker_error(&self, source: bollard::errors::Error) -> ExecError {
        ExecError::Docker {
            at: self.at.clone(),
            source: Box::new(source),
        }
    }

    fn upload_error(&self, source: bollard::errors::Error) -> ExecError {
        let hint = if source.to_string().contains("read-only") {
            "\n  help: the container's root filesystem is read-only; `watch` deploys synced services with a writable one, so this pod predates it"
        } else {
            ""
        };
        match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => self.gone(source),
            source => ExecError::Upload {
                at: self.at.clone(),
                hint,
                source: Box::new(source),
            },
        }
    }
}

impl ContainerExec for DockerExec {
    fn container(&self) -> &Container {
        &self.at
    }

    async fn run(&self, command: &Command<'_>) -> Result<Ran, ExecError> {
        let stdin = command.stdin.bytes();
        let created = self
            .docker
            .create_exec(
                &self.id,
                CreateExecOptions {
                    cmd: Some(command.argv.clone()),
                    user: self.user.clone(),
                    attach_stdin: Some(stdin.is_some()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match e {
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404 | 409,
                    ..
                } => self.gone(e),
                e => self.docker_error(e),
            })?;
        let (mut stdout, mut stderr) = (Tail::default(), Tail::default());
        if let StartExecResults::Attached { mut output, input } = self
            .docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(|e| self.docker_error(e))?
        {
            // Docker ends a command's stdin when the client half-closes it.
            let sending = async move {
                let mut input = input;
                if let Some(bytes) = stdin {
                    input.write_all(bytes).await?;
                    input.shutdown().await?;
                }
                Ok::<_, std::io::Error>(input)
            };
            let reading = async {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(|e| self.docker_error(e))? {
                        LogOutput::StdErr { message } => stderr.push(&message),
                        other => stdout.push(&other.into_bytes()),
                    }
                }
                Ok::<_, ExecError>(())
            };
            let (sent, read) = tokio::join!(sending, reading);
            read?;
            // A program that exits without reading its input is no failure to send.
            drop(sent);
        }
        // The exit code is set once the process is reaped, just after its output ends.
        let mut code = None;
        let mut running = true;
        for _ in 0..50 {
            let inspected = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(|e| self.docker_error(e))?;
            if inspected.running != Some(true) {
                code = inspected.exit_code;
                running = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let exit = code
            .and_then(|c| i32::try_from(c).ok())
            .map_or(Exit::NoCode, Exit::from_code);
        Ok(Ran {
            exit,
            message: running.then(|| "still running after its output ended".to_string()),
            stdout: stdout.text(),
            stderr: stderr.text(),
        })
    }

    /// Through the archive API: no `tar` needed in the image.
    async fn extract(&self, archive: bytes::Bytes) -> Result<(), ExecError> {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(&self.id, Some(options), bollard::body_full(archive))
            .await
            .map_err(|e| self.upload_error(e))
    }
}
