//! The page's HTTP side (axum): 127.0.0.1 only, every request checked
//! before it is routed:
//! - the token (`?token=` or `X-Todo-Dev-Token`), random per run, which
//!   `watch` prints in the page's URL;
//! - `Host` must name this listener (127.0.0.1 or localhost and its port),
//!   so a DNS-rebound name reaching it is refused;
//! - an `Origin`, when sent, must be the page's own.
//!
//! Anything else is 403. Actions are POST only (another method is 405) and
//! only hand an [`Ask`] to the command's loop. Assets are embedded, served
//! with a CSP that allows this origin alone (no CDN, nothing inline).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::Stream;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::{Ask, Message, Page};
use crate::project::model::ServiceName;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/page.js");
const STYLE: &str = include_str!("assets/page.css");

const TOKEN_HEADER: &str = "x-todo-dev-token";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page being served; dropping it stops the server.
pub struct Serving {
    /// The page's address, token included.
    pub url: String,
    pub port: u16,
    /// The port asked for, when it was busy and another was used.
    pub moved_from: Option<u16>,
    task: JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct App {
    page: Arc<Page>,
    asks: mpsc::UnboundedSender<Ask>,
    token: Arc<str>,
    port: u16,
}

/// Serves `page` on 127.0.0.1:`port` (0: any free port; a busy one moves
/// to a free one), handing its buttons' asks to `asks`.
pub async fn serve(
    page: Arc<Page>,
    asks: mpsc::UnboundedSender<Ask>,
    port: u16,
) -> std::io::Result<Serving> {
    let at = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (listener, moved_from) = match TcpListener::bind(at(port)).await {
        Ok(l) => (l, None),
        Err(e) if port != 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
            (TcpListener::bind(at(0)).await?, Some(port))
        }
        Err(e) => return Err(e),
    };
    let port = listener.local_addr()?.port();
    let token: Arc<str> = random_token()?.into();
    let url = format!("http://127.0.0.1:{port}/?token={token}");
    let app = App {
        page,
        asks,
        token,
        port,
    };
    let router = router(app);
    let task = tokio::spawn(async move {
        // The listener only fails when the process is going away.
        let _ = axum::serve(listener, router).await;
    });
    Ok(Serving {
        url,
        port,
        moved_from,
        task,
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/page.js",
            get(|| async { typed(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/page.css",
            get(|| async { typed(StatusCode::OK, "text/css; charset=utf-8", STYLE) }),
        )
        .route("/state", get(state))
        .route("/events", get(events))
        .route("/rebuild/{service}", post(rebuild))
        .route("/restart/{service}", post(restart))
        .route("/verify", post(verify))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// The token, the Host and the Origin, checked before any route; the
/// security headers added to every answer.
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let mut response = match refusal(&app, request.headers(), request.uri().query()) {
        Some(why) => (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response(),
        None => next.run(request).await,
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why a request is refused, if it is.
fn refusal(app: &App, headers: &HeaderMap, query: Option<&str>) -> Option<&'static str> {
    let own = [
        format!("127.0.0.1:{}", app.port),
        format!("localhost:{}", app.port),
    ];
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| own.iter().any(|o| o.eq_ignore_ascii_case(h))) {
        return Some("the Host is not this page's (127.0.0.1 or localhost, its port)");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin.to_str().ok().is_some_and(|o| {
            own.iter()
                .any(|h| o.eq_ignore_ascii_case(&format!("http://{h}")))
        });
        if !ok {
            return Some("the request comes from another origin");
        }
    }
    let given = headers
        .get(TOKEN_HEADER)
        .and_then(|t| t.to_str().ok())
        .or_else(|| query_token(query));
    match given {
        Some(t) if same(t.as_bytes(), app.token.as_bytes()) => None,
        Some(_) => Some("wrong token"),
        None => Some("no token (open the URL todo-dev printed)"),
    }
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

const JSON: &str = "application/json";

/// An answer of `kind` (its Content-Type).
fn typed(status: StatusCode, kind: &'static str, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, kind)], body.into()).into_response()
}

async fn index(State(app): State<App>) -> Response {
    let html = INDEX.replace("{{TOKEN}}", &app.token);
    typed(StatusCode::OK, "text/html; charset=utf-8", html)
}

async fn state(State(app): State<App>) -> Response {
    typed(StatusCode::OK, JSON, app.page.snapshot().data)
}

/// The snapshot, then each change as it happens; a page that fell behind
/// gets a fresh snapshot instead of the messages it missed.
async fn events(State(app): State<App>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (first, rx) = app.page.subscribe();
    let start = (Some(first), rx, app.page.clone());
    let stream = futures::stream::unfold(start, |(first, mut rx, page)| async move {
        if let Some(m) = first {
            return Some((Ok(sse(&m)), (None, rx, page)));
        }
        match rx.recv().await {
            Ok(m) => Some((Ok(sse(&m)), (None, rx, page))),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let (snapshot, rx) = page.subscribe();
                Some((Ok(sse(&snapshot)), (None, rx, page)))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn sse(m: &Message) -> SseEvent {
    SseEvent::default().event(m.kind).data(&m.data)
}

async fn rebuild(State(app): State<App>, Path(service): Path<String>) -> Response {
    ask_for(&app, &service, Ask::Rebuild, "rebuild")
}

async fn restart(State(app): State<App>, Path(service): Path<String>) -> Response {
    ask_for(&app, &service, Ask::Restart, "restart")
}

async fn verify(State(app): State<App>) -> Response {
    accepted(&app, Ask::Verify, "verify", None)
}

fn ask_for(app: &App, service: &str, ask: fn(ServiceName) -> Ask, what: &str) -> Response {
    match ServiceName::parse(service).filter(|_| app.page.is_service(service)) {
        Some(s) => accepted(app, ask(s), what, Some(service)),
        None => typed(
            StatusCode::NOT_FOUND,
            JSON,
            serde_json::json!({"error": format!("no service `{service}` in this project")})
                .to_string(),
        ),
    }
}

fn accepted(app: &App, ask: Ask, what: &str, service: Option<&str>) -> Response {
    let body = serde_json::json!({"accepted": what, "service": service}).to_string();
    match app.asks.send(ask) {
        Ok(()) => typed(StatusCode::ACCEPTED, JSON, body),
        Err(_) => typed(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "the loop is stopping: nothing can be done now\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn app() -> (App, mpsc::UnboundedReceiver<Ask>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = App {
            page: Page::new(&[ServiceName::Frontend, ServiceName::Backend]),
            asks: tx,
            token: "t0ken".into(),
            port: 4242,
        };
        (app, rx)
    }

    async fn call(app: &App, method: &str, uri: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = axum::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = router(app.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let csp = res.headers().get(header::CONTENT_SECURITY_POLICY).cloned();
        assert_eq!(
            csp.as_ref().map(|v| v.to_str().unwrap()),
            Some(CSP),
            "{uri}"
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    const HOST: (&str, &str) = ("host", "127.0.0.1:4242");

    #[tokio::test]
    async fn the_token_the_host_and_the_origin_are_checked_before_any_route() {
        let (app, _rx) = app();
        let (status, body) = call(&app, "GET", "/?token=t0ken", &[HOST]).await;
        assert_eq!(status, 200);
        assert!(body.contains("/page.js?token=t0ken"), "{body}");
        // The same page on localhost, and the token in a header.
        let localhost = ("host", "localhost:4242");
        let token = (TOKEN_HEADER, "t0ken");
        assert_eq!(
            call(&app, "GET", "/state", &[localhost, token]).await.0,
            200
        );

        for (uri, headers, why) in [
            ("/", vec![HOST], "no token"),
            ("/?token=t0ke", vec![HOST], "wrong token"),
            ("/?token=t0kenX", vec![HOST], "wrong token"),
            (
                "/events?token=t0ken",
                vec![("host", "evil.example:4242")],
                "Host",
            ),
            ("/?token=t0ken", vec![("host", "127.0.0.1:80")], "Host"),
            ("/?token=t0ken", vec![], "Host"),
            (
                "/state?token=t0ken",
                vec![HOST, ("origin", "http://evil.example")],
                "another origin",
            ),
            (
                "/page.js?token=t0ken",
                vec![HOST, ("origin", "http://127.0.0.1:4243")],
                "another origin",
            ),
        ] {
            let (status, body) = call(&app, "GET", uri, &headers).await;
            assert_eq!(status, 403, "{uri} {headers:?}: {body}");
            assert!(body.contains(why), "{uri}: {body}");
        }
    }

    #[tokio::test]
    async fn actions_are_post_only_need_the_token_and_reach_the_loop() {
        let (app, mut rx) = app();
        let own_origin = ("origin", "http://127.0.0.1:4242");
        let token = (TOKEN_HEADER, "t0ken");
        let (status, body) =
            call(&app, "POST", "/rebuild/backend", &[HOST, own_origin, token]).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(rx.try_recv().unwrap(), Ask::Rebuild(ServiceName::Backend));
        assert_eq!(
            call(&app, "POST", "/restart/frontend?token=t0ken", &[HOST])
                .await
                .0,
            202
        );
        assert_eq!(rx.try_recv().unwrap(), Ask::Restart(ServiceName::Frontend));
        assert_eq!(call(&app, "POST", "/verify", &[HOST, token]).await.0, 202);
        assert_eq!(rx.try_recv().unwrap(), Ask::Verify);

        // A GET is no action; neither is a POST without the token, from
        // another origin, or for a service the project does not have.
        assert_eq!(
            call(&app, "GET", "/rebuild/backend", &[HOST, token])
                .await
                .0,
            405
        );
        assert_eq!(call(&app, "POST", "/rebuild/backend", &[HOST]).await.0, 403);
        let evil = ("origin", "http://evil.example");
        assert_eq!(
            call(&app, "POST", "/restart/backend", &[HOST, evil, token])
                .await
                .0,
            403
        );
        let (status, body) = call(&app, "POST", "/rebuild/ai-agent", &[HOST, token]).await;
        assert_eq!(
            (status, body.contains("no service `ai-agent`")),
            (404, true),
            "{body}"
        );
        assert!(rx.try_recv().is_err(), "nothing else reached the loop");
    }

    #[tokio::test]
    async fn served_on_loopback_with_a_random_token_and_a_busy_port_moves() {
        let (app, _rx) = app();
        let first = serve(app.page.clone(), app.asks.clone(), 0).await.unwrap();
        assert!(first
            .url
            .starts_with(&format!("http://127.0.0.1:{}/?token=", first.port)));
        let token = first.url.rsplit('=').next().unwrap().to_string();
        assert_eq!(token.len(), 32);
        let second = serve(app.page.clone(), app.asks.clone(), first.port)
            .await
            .unwrap();
        assert_eq!(second.moved_from, Some(first.port));
        assert_ne!(second.port, first.port);
        assert!(
            !second.url.ends_with(&token),
            "each server has its own token"
        );
    }
}
