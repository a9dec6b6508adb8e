//! Applying while a validating admission webhook is not ready yet.
//! `minikube addons enable ingress` installs ingress-nginx's webhook with
//! `failurePolicy: Fail`: until its controller answers, every Ingress write
//! fails with "failed calling webhook" (real-cluster.md). That is the
//! cluster settling, not the user's mistake: retry it for a while.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long to wait for a webhook to answer before explaining.
pub const WEBHOOK_PATIENCE: Duration = Duration::from_secs(120);
/// How often to try again meanwhile.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// A write refused because an admission webhook could not be called.
pub fn is_webhook_unready(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 500 && s.message.contains("failed calling webhook"))
}

/// The webhook's name from the API server's message, e.g.
/// `validate.nginx.ingress.kubernetes.io`.
pub fn webhook_name(e: &kube::Error) -> Option<String> {
    let kube::Error::Api(s) = e else { return None };
    let rest = s.message.split("failed calling webhook \"").nth(1)?;
    rest.split('"').next().map(str::to_string)
}

/// Runs `write` every `every` until it succeeds, fails otherwise, or
/// `patience` passes with the webhook still unready; `on_retry` hears each
/// refusal.
pub async fn retry_while_webhook_unready<T, F, Fut>(
    patience: Duration,
    every: Duration,
    mut write: F,
    mut on_retry: impl FnMut(&kube::Error),
) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let give_up = Instant::now() + patience;
    loop {
        match write().await {
            Err(e) if is_webhook_unready(&e) && Instant::now() + every < give_up => {
                on_retry(&e);
                tokio::time::sleep(every).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status {
                code,
                message: message.into(),
                reason: "InternalError".into(),
                ..Default::default()
            }
            .boxed(),
        )
    }

    const REFUSED: &str = "Internal error occurred: failed calling webhook \"validate.nginx.ingress.kubernetes.io\": failed to call webhook: Post \"https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s\": dial tcp 10.96.213.129:443: connect: connection refused";

    #[test]
    fn recognises_the_webhook_refusal() {
        assert!(is_webhook_unready(&status(500, REFUSED)));
        assert_eq!(
            webhook_name(&status(500, REFUSED)).as_deref(),
            Some("validate.nginx.ingress.kubernetes.io")
        );
        assert!(!is_webhook_unready(&status(
            500,
            "etcdserver: request timed out"
        )));
        assert!(!is_webhook_unready(&status(422, REFUSED)));
    }

    #[tokio::test]
    async fn retries_until_the_webhook_answers_then_gives_up() {
        let every = Duration::from_millis(5);
        let mut calls = 0;
        let mut retries = 0;
        let ok = retry_while_webhook_unready(
            Duration::from_secs(60),
            every,
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(status(500, REFUSED))
                    } else {
                        Ok(n)
                    }
                }
            },
            |_| retries += 1,
        )
        .await
        .unwrap();
        assert_eq!((ok, retries), (3, 2));

        let mut refusals = 0;
        let err = retry_while_webhook_unready(
            Duration::from_millis(50),
            every,
            || async { Err::<(), _>(status(500, REFUSED)) },
            |_| refusals += 1,
        )
        .await
        .unwrap_err();
        assert!(is_webhook_unready(&err), "the last refusal is the error");
        assert!(refusals >= 1);
    }
}
