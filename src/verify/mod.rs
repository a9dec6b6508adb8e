//! `verify`'s app-level checks (the source plans' acceptance list, issue 18):
//! against the running app's public address, in order: reachable, accounts,
//! tasks, MCP tools, chat, cleanup. Each is a [`VerifyCheck`] with its figure
//! and, on failure, what was seen and the fix; each is emitted as it ends.
//! No secret (password, session token, tool token) reaches a check: every
//! text from the app is masked first.

pub mod cluster;
pub mod disruptive;
pub mod mcp;
pub mod token;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::pipeline::event::{Events, VerifyEvent};
use crate::project::secrets::{SecretValue, REDACTED};
use crate::smoke::http::{self, HttpError, Request, Response};

/// The tools the reference app's MCP server exposes (embedded/app/backend/app/mcp_server.py).
pub const EXPECTED_TOOLS: [&str; 5] = [
    "add_task",
    "list_tasks",
    "complete_task",
    "delete_task",
    "update_task",
];
/// The source plans' bound on one chatbot answer.
pub const CHAT_LIMIT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than the limit, so a slow answer is measured, not cut off.
const CHAT_TIMEOUT: Duration = Duration::from_secs(30);
const EXCERPT: usize = 160;

/// An `http://host[:port][/prefix]` address (no TLS: the local cluster's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub text: String,
    host: String,
    port: u16,
    prefix: String,
}

impl std::str::FromStr for Url {
    type Err = String;

    fn from_str(s: &str) -> Result<Url, String> {
        let rest = s.strip_prefix("http://").ok_or_else(|| {
            format!("{s}: only http:// addresses (the local cluster's) are supported")
        })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.is_empty() => (
                h,
                p.parse()
                    .map_err(|_| format!("{s}: `{p}` is not a port number"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("{s}: no host"));
        }
        Ok(Url {
            text: s.trim_end_matches('/').to_string(),
            host: host.to_string(),
            port,
            prefix: format!("/{}", path.trim_end_matches('/'))
                .trim_end_matches('/')
                .to_string(),
        })
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// A resolved [`Url`]: where to connect and what Host to send.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: Url,
    addr: SocketAddr,
}

impl Endpoint {
    pub async fn resolve(url: &Url) -> Result<Endpoint, RequestError> {
        let resolve = |reason: String| RequestError::Resolve {
            host: url.host.clone(),
            reason,
        };
        let mut addrs = tokio::net::lookup_host((url.host.trim_matches(['[', ']']), url.port))
            .await
            .map_err(|e| resolve(e.to_string()))?;
        let addr = addrs
            .next()
            .ok_or_else(|| resolve("no address".to_string()))?;
        Ok(Endpoint {
            url: url.clone(),
            addr,
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&SecretValue>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Response, RequestError> {
        self.send_with(method, path, token, body, &[], timeout)
            .await
    }

    async fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&SecretValue>,
        body: Option<&Value>,
        extra: &[(&'static str, String)],
        timeout: Duration,
    ) -> Result<Response, RequestError> {
        let full = format!("{}{path}", self.url.prefix);
        let host = match self.url.port {
            80 => self.url.host.clone(),
            p => format!("{}:{p}", self.url.host),
        };
        let mut headers: Vec<(&str, &str)> = vec![("Host", &host)];
        headers.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        let req = Request {
            method,
            path: &full,
            token: token.map(SecretValue::expose),
            body,
            headers: &headers,
        };
        Ok(http::send(self.addr, &req, timeout).await?)
    }

    /// A POST to the URL itself (an MCP endpoint).
    async fn post(
        &self,
        body: &Value,
        extra: &[(&'static str, String)],
        timeout: Duration,
    ) -> Result<Response, RequestError> {
        self.send_with("POST", "", None, Some(body), extra, timeout)
            .await
    }
}

/// What `verify` is pointed at.
pub struct VerifyInput {
    /// The public address: the frontend, whose `/api/` proxy reaches the backend.
    pub frontend: Url,
    /// The backend itself, for its probes' `/health` and `/ready`.
    pub backend: Option<Url>,
    /// The MCP server's streamable HTTP endpoint (`http://mcp-server:8001/mcp`'s address).
    pub mcp: Option<Url>,
    /// The deployment's BETTER_AUTH_SECRET, to make the MCP tool token.
    pub auth_secret: Option<SecretValue>,
    /// Names the test user and its tasks.
    pub run_id: String,
    /// `--disruptive`: the pods to delete, and how.
    pub disruptive: Option<disruptive::Disruptive>,
}

/// One check, as the table and `--json` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyCheck {
    pub name: &'static str,
    pub ok: bool,
    /// How long the check took.
    pub ms: u64,
    /// What was measured: per-step times, counts.
    pub figure: String,
    /// On failure: what was seen (status, body excerpt, error).
    pub seen: Option<String>,
    pub fix: Option<String>,
}

/// A check's steps so far; `fail` ends it.
struct Step {
    name: &'static str,
    started: Instant,
    figures: Vec<String>,
}

struct Failed {
    seen: String,
    fix: String,
}

fn failed(seen: impl Into<String>, fix: impl Into<String>) -> Failed {
    Failed {
        seen: seen.into(),
        fix: fix.into(),
    }
}

impl Step {
    fn new(name: &'static str) -> Step {
        Step {
            name,
            started: Instant::now(),
            figures: vec![],
        }
    }

    fn end(self, result: Result<(), Failed>, masks: &[&SecretValue]) -> VerifyCheck {
        let (seen, fix) = match result {
            Ok(()) => (None, None),
            Err(f) => (Some(mask(&f.seen, masks)), Some(f.fix)),
        };
        VerifyCheck {
            name: self.name,
            ok: seen.is_none(),
            ms: self.started.elapsed().as_millis() as u64,
            figure: mask(&self.figures.join(", "), masks),
            seen,
            fix,
        }
    }
}

/// `text` with each secret and anything shaped like a JWT replaced.
fn mask(text: &str, secrets: &[&SecretValue]) -> String {
    let mut out = secrets.iter().fold(text.to_string(), |t, s| {
        if s.expose().is_empty() {
            t
        } else {
            t.replace(s.expose(), REDACTED)
        }
    });
    // A token cut short in an excerpt no longer matches exactly: JWTs start with `eyJ`.
    while let Some(start) = out.find("eyJ") {
        let end = out[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .map_or(out.len(), |e| start + e);
        out.replace_range(start..end, REDACTED);
    }
    out
}

/// A body on one short line, secrets masked.
pub fn excerpt(body: &str, secrets: &[&SecretValue]) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let masked = mask(&one_line, secrets);
    let cut: String = masked.chars().take(EXCERPT).collect();
    if cut.len() < masked.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

fn seen(r: &Response) -> String {
    format!("HTTP {} {}", r.status, excerpt(&r.body, &[]))
}

fn ms(since: Instant) -> u128 {
    since.elapsed().as_millis()
}

/// Runs every check in order, each emitted as it ends; all of them returned.
pub async fn run(input: &VerifyInput, events: &Events) -> Vec<VerifyCheck> {
    let mut checks = Vec::new();
    let mut emit = |c: VerifyCheck| {
        events.verify(VerifyEvent::Check(c.clone()));
        checks.push(c);
    };
    let password = SecretValue::new(crate::smoke::random_hex(16).unwrap_or_default());
    let not_run = |name: &'static str, why: &str, fix: &str| VerifyCheck {
        name,
        ok: false,
        ms: 0,
        figure: String::new(),
        seen: Some(format!("not run: {why}")),
        fix: Some(fix.to_string()),
    };
    let mut later = vec!["accounts", "tasks", "mcp tools", "chat"];
    if input.disruptive.is_some() {
        later.extend(["backend restart", "data kept"]);
    }
    later.push("cleanup");

    let mut step = Step::new("reachable");
    let reached = reachable(input, &mut step).await;
    let entry = match reached {
        Ok(entry) => {
            emit(step.end(Ok(()), &[]));
            entry
        }
        Err(f) => {
            emit(step.end(Err(f), &[]));
            for name in later {
                emit(not_run(
                    name,
                    "the app is not reachable (check reachable)",
                    "fix reachable first",
                ));
            }
            return checks;
        }
    };

    let mut step = Step::new("accounts");
    let email = format!("verify-{}@todo-dev.invalid", input.run_id);
    let user = accounts(&entry, &email, &password, &mut step).await;
    let user = match user {
        Ok(user) => {
            emit(step.end(Ok(()), &[&password, &user.token]));
            user
        }
        Err(f) => {
            emit(step.end(Err(f), &[&password]));
            later.remove(0);
            for name in later {
                emit(not_run(
                    name,
                    "no signed-in test user (check accounts)",
                    "fix accounts first",
                ));
            }
            return checks;
        }
    };
    let masks = [&password, &user.token];

    let mut step = Step::new("tasks");
    let r = tasks(&entry, &user, &input.run_id, &mut step).await;
    emit(step.end(r, &masks));

    let mut step = Step::new("mcp tools");
    let r = mcp_tools(input, &entry, &user, &mut step).await;
    emit(step.end(r, &masks));

    let mut step = Step::new("chat");
    let r = chat(&entry, &user, &input.run_id, &mut step).await;
    emit(step.end(r, &masks));

    if let Some(d) = &input.disruptive {
        let mut step = Step::new("backend restart");
        let r = disruptive::backend_restart(d, &mut step).await;
        emit(step.end(r, &masks));
        let mut step = Step::new("data kept");
        let r = disruptive::data_kept(d, &entry, &user, &input.run_id, &mut step).await;
        emit(step.end(r, &masks));
    }

    let mut step = Step::new("cleanup");
    let r = cleanup(&entry, &user, &email, &mut step).await;
    emit(step.end(r, &masks));
    checks
}

fn unreachable(what: &str, e: RequestError) -> Failed {
    let fix = match &e {
        RequestError::Resolve { .. } => "check the host name (minikube's ingress host needs its /etc/hosts line)".to_string(),
        RequestError::Http(HttpError::Connect { .. }) => format!("nothing answers at {what}: is the app running (`todo-dev up` prints its address)?"),
        RequestError::Http(_) => format!("{what} accepts connections but does not answer HTTP in time: check its pods' logs (`todo-dev logs`)"),
    };
    failed(e.to_string(), fix)
}

/// The frontend's `/` (HTML), the backend's health through the frontend's
/// `/api/` proxy, and the backend's probes when its own address is given.
async fn reachable(input: &VerifyInput, step: &mut Step) -> Result<Endpoint, Failed> {
    let front = &input.frontend;
    let (entry, took) = page(
        front,
        "the address does not serve the frontend's page: check --url (the frontend's address, not the backend's)",
    )
    .await?;
    step.figures.push(format!("frontend / {took} ms"));
    let t = Instant::now();
    let r = entry
        .send("GET", "/api/health", None, None, REQUEST_TIMEOUT)
        .await
        .map_err(|e| unreachable(&front.text, e))?;
    if r.status != 200 || r.json().is_none_or(|v| v["status"] != "ok") {
        return Err(failed(
            format!("GET {front}/api/health: {}", seen(&r)),
            "the frontend's /api/ proxy does not reach the backend: check BACKEND_URL and the backend's pods",
        ));
    }
    step.figures.push(format!("/api/health {} ms", ms(t)));
    if let Some(backend) = &input.backend {
        let b = Endpoint::resolve(backend)
            .await
            .map_err(|e| unreachable(&backend.text, e))?;
        for path in ["/health", "/ready"] {
            let t = Instant::now();
            let r = b
                .send("GET", path, None, None, REQUEST_TIMEOUT)
                .await
                .map_err(|e| unreachable(&backend.text, e))?;
            if r.status != 200 {
                return Err(failed(
                    format!("GET {backend}{path}: {}", seen(&r)),
                    "the backend is not ready: /ready pings the database (check DATABASE_URL and postgres)",
                ));
            }
            step.figures.push(format!("backend {path} {} ms", ms(t)));
        }
    }
    Ok(entry)
}

/// The address `up` printed, opened as a user opens it: `/` is the page.
pub async fn address(url: &str) -> VerifyCheck {
    let mut step = Step::new("address");
    let result = printed(url, &mut step).await;
    step.end(result, &[])
}

async fn printed(url: &str, step: &mut Step) -> Result<(), Failed> {
    let url: Url = url
        .parse()
        .map_err(|e: String| failed(e, "open the address `todo-dev up` printed by hand"))?;
    let (_, took) = page(
        &url,
        "the Ingress or NodePort does not lead to the frontend: `kubectl get ingress,svc -n NAMESPACE` shows where it points",
    )
    .await?;
    step.figures.push(format!("{url}/ {took} ms"));
    Ok(())
}

/// `url`'s `/` as the frontend's page (200, HTML): the endpoint and the ms it took.
async fn page(url: &Url, fix: &str) -> Result<(Endpoint, u128), Failed> {
    let entry = Endpoint::resolve(url)
        .await
        .map_err(|e| unreachable(&url.text, e))?;
    let t = Instant::now();
    let r = entry
        .send("GET", "/", None, None, REQUEST_TIMEOUT)
        .await
        .map_err(|e| unreachable(&url.text, e))?;
    let html = r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    if r.status != 200 || !html {
        let kind = r.header("content-type").unwrap_or("no Content-Type");
        return Err(failed(format!("GET {url}/: {} ({kind})", seen(&r)), fix));
    }
    Ok((entry, ms(t)))
}

struct TestUser {
    id: i64,
    token: SecretValue,
}

/// The `token` and `user.id` of a sign-up or sign-in answer.
fn signed_in(r: &Response) -> Option<(SecretValue, i64)> {
    let v = r.json()?;
    Some((
        SecretValue::new(v["token"].as_str()?.to_string()),
        v["user"]["id"].as_i64()?,
    ))
}

async fn accounts(
    entry: &Endpoint,
    email: &str,
    password: &SecretValue,
    step: &mut Step,
) -> Result<TestUser, Failed> {
    let api = |e| unreachable("the app", e);
    let body = json!({"email": email, "password": password.expose(), "name": "todo-dev verify"});
    let t = Instant::now();
    let r = entry
        .send(
            "POST",
            "/api/auth/sign-up",
            None,
            Some(&body),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(api)?;
    let Some((_, id)) = signed_in(&r).filter(|_| r.status == 201) else {
        return Err(failed(
            format!("POST /api/auth/sign-up: {}", excerpt_of(&r, password)),
            "sign-up must answer 201 with a token and the user: check the backend's log and BETTER_AUTH_SECRET",
        ));
    };
    step.figures.push(format!("sign-up {} ms", ms(t)));
    let body = json!({"email": email, "password": password.expose()});
    let t = Instant::now();
    let r = entry
        .send(
            "POST",
            "/api/auth/sign-in",
            None,
            Some(&body),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(api)?;
    let Some((token, signed_id)) = signed_in(&r).filter(|_| r.status == 200) else {
        return Err(failed(
            format!("POST /api/auth/sign-in: {}", excerpt_of(&r, password)),
            "the account just made cannot sign in: check the backend's log",
        ));
    };
    if signed_id != id {
        return Err(failed(
            format!("sign-in gave user {signed_id}, sign-up made user {id}"),
            "sign-in must find the account sign-up made: check the users table",
        ));
    }
    step.figures.push(format!("sign-in {} ms", ms(t)));
    let r = entry
        .send("GET", "/api/me", Some(&token), None, REQUEST_TIMEOUT)
        .await
        .map_err(api)?;
    if r.status != 200 || r.json().is_none_or(|v| v["email"] != email) {
        return Err(failed(
            format!("GET /api/me with the sign-in token: {}", excerpt_of(&r, password)),
            "the session token is refused: check the backend's signing key (BETTER_AUTH_SECRET the same on every replica)",
        ));
    }
    step.figures.push(format!("user #{id} {email}"));
    Ok(TestUser { id, token })
}

fn excerpt_of(r: &Response, secret: &SecretValue) -> String {
    format!("HTTP {} {}", r.status, excerpt(&r.body, &[secret]))
}

/// Titles and ids of `GET /api/tasks`.
fn task_list(r: &Response) -> Option<Vec<(i64, String, bool)>> {
    let v = r.json()?;
    let list = v.as_array().or_else(|| v["tasks"].as_array())?;
    Some(
        list.iter()
            .filter_map(|t| {
                Some((
                    t["id"].as_i64()?,
                    t["title"].as_str()?.to_string(),
                    t["completed"] == true,
                ))
            })
            .collect(),
    )
}

async fn list(entry: &Endpoint, user: &TestUser) -> Result<Vec<(i64, String, bool)>, Failed> {
    let r = entry
        .send(
            "GET",
            "/api/tasks",
            Some(&user.token),
            None,
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| unreachable("the app", e))?;
    match task_list(&r) {
        Some(l) if r.status == 200 => Ok(l),
        _ => Err(failed(
            format!("GET /api/tasks: {}", seen(&r)),
            "listing tasks must answer 200 with the user's tasks: check the backend's log",
        )),
    }
}

/// Create, list, update, complete, delete, list again: each answer's content checked.
async fn tasks(
    entry: &Endpoint,
    user: &TestUser,
    run_id: &str,
    step: &mut Step,
) -> Result<(), Failed> {
    let api = |e| unreachable("the app", e);
    let token = Some(&user.token);
    let title = format!("todo-dev verify {run_id}");
    let t = Instant::now();
    let body = json!({"title": title, "description": "made by todo-dev verify"});
    let r = entry
        .send("POST", "/api/tasks", token, Some(&body), REQUEST_TIMEOUT)
        .await
        .map_err(api)?;
    let created = r.json().unwrap_or_default();
    let Some(id) = created["id"].as_i64().filter(|_| {
        r.status == 201 && created["title"] == title.as_str() && created["completed"] == false
    }) else {
        return Err(failed(
            format!("POST /api/tasks: {}", seen(&r)),
            "creating a task must answer 201 with it (id, title, completed false)",
        ));
    };
    step.figures.push(format!("create {} ms", ms(t)));

    let t = Instant::now();
    let listed = list(entry, user).await?;
    if !listed.iter().any(|(i, tt, _)| *i == id && *tt == title) {
        return Err(failed(
            format!(
                "GET /api/tasks: task {id} \"{title}\" missing from {} task(s)",
                listed.len()
            ),
            "a created task must be listed: the data was lost or the list is stale (Redis cache?)",
        ));
    }
    step.figures.push(format!("list {} ms", ms(t)));

    let path = format!("/api/tasks/{id}");
    let renamed = format!("{title} (renamed)");
    for (what, body, want) in [
        (
            "update",
            json!({"title": renamed}),
            ("title", json!(renamed)),
        ),
        (
            "complete",
            json!({"completed": true}),
            ("completed", json!(true)),
        ),
    ] {
        let t = Instant::now();
        let r = entry
            .send("PATCH", &path, token, Some(&body), REQUEST_TIMEOUT)
            .await
            .map_err(api)?;
        if r.status != 200
            || r.json()
                .is_none_or(|v| v[want.0] != want.1 || v["id"] != id)
        {
            return Err(failed(
                format!("PATCH {path} {body}: {}", seen(&r)),
                format!("{what} must answer 200 with the task's new {}", want.0),
            ));
        }
        step.figures.push(format!("{what} {} ms", ms(t)));
    }

    let t = Instant::now();
    let r = entry
        .send("DELETE", &path, token, None, REQUEST_TIMEOUT)
        .await
        .map_err(api)?;
    if r.status != 204 {
        return Err(failed(
            format!("DELETE {path}: {}", seen(&r)),
            "deleting a task must answer 204",
        ));
    }
    let listed = list(entry, user).await?;
    if listed.iter().any(|(i, _, _)| *i == id) {
        return Err(failed(
            format!("task {id} still listed after DELETE"),
            "a deleted task must leave the list: a stale cache (Redis) or a failed delete",
        ));
    }
    step.figures.push(format!("delete {} ms", ms(t)));
    step.figures.push("6 requests".into());
    Ok(())
}

/// Every expected tool is listed, and each one called, over one MCP session.
async fn mcp_tools(
    input: &VerifyInput,
    entry: &Endpoint,
    user: &TestUser,
    step: &mut Step,
) -> Result<(), Failed> {
    let Some(url) = &input.mcp else {
        return Err(failed(
            "no MCP server address: profiles standard and lite run MCP as the backend's stdio subprocess, which nothing outside the pod can reach",
            "give --mcp-url (the mcp-server's /mcp, in profiles full and agents)",
        ));
    };
    let Some(secret) = &input.auth_secret else {
        return Err(failed(
            "no auth secret: the tools take a user token only the backend's key can make",
            "set BETTER_AUTH_SECRET to the deployment's (todo-secrets) in verify's environment",
        ));
    };
    let key = token::SigningKey::derive(secret)
        .map_err(|e| failed(e.to_string(), "check BETTER_AUTH_SECRET"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let tool_token = key.tool_token(user.id, now);
    let masks = [&tool_token, &user.token];
    let mcp_failed = |e: mcp::McpError| {
        failed(
            format!("{url}: {e}"),
            "check the mcp-server's pods and log (`todo-dev logs mcp-server`) and --mcp-url",
        )
    };
    let endpoint = Endpoint::resolve(url)
        .await
        .map_err(|e| unreachable(&url.text, e))?;
    let t = Instant::now();
    let mut session = mcp::Session::open(&endpoint).await.map_err(mcp_failed)?;
    step.figures.push(format!(
        "initialize {} ms ({}, protocol {}, session id {})",
        ms(t),
        session.server,
        session.protocol,
        if session.session_id.is_some() {
            "kept"
        } else {
            "none: stateless"
        }
    ));
    let t = Instant::now();
    let listed = session.list_tools().await.map_err(mcp_failed)?;
    let missing: Vec<&str> = EXPECTED_TOOLS
        .iter()
        .copied()
        .filter(|t| !listed.iter().any(|l| l == t))
        .collect();
    step.figures.push(format!(
        "tools/list {} ms: {}/{} tools",
        ms(t),
        EXPECTED_TOOLS.len() - missing.len(),
        EXPECTED_TOOLS.len()
    ));
    if !missing.is_empty() {
        return Err(failed(
            format!("tools/list lacks {} (listed: {})", missing.join(", "), listed.join(", ")),
            "the MCP server must expose every tool of mcp_server.py: is the image the app's current one?",
        ));
    }

    let t = Instant::now();
    let title = format!("todo-dev verify mcp {}", input.run_id);
    let tk = tool_token.expose();
    let mut call = async |name: &str, args: Value| -> Result<Value, Failed> {
        let mut args = args;
        args["user_token"] = json!(tk);
        let r = session.call_tool(name, args).await.map_err(mcp_failed)?;
        if r.is_error {
            return Err(failed(
                format!("tools/call {name}: tool error: {}", excerpt(&r.text, &masks)),
                "the tool refused a valid call: check the mcp-server's log, its AUTH_JWKS(_URL) and the database",
            ));
        }
        Ok(r.value)
    };
    let wrong = |name: &str, v: &Value, want: &str| {
        failed(
            format!(
                "tools/call {name} answered {}",
                excerpt(&v.to_string(), &[])
            ),
            format!("{name} must {want}"),
        )
    };
    let added = call("add_task", json!({"title": title})).await?;
    let Some(id) = added["id"]
        .as_i64()
        .filter(|_| added["title"] == title.as_str())
    else {
        return Err(wrong("add_task", &added, "return the task it added"));
    };
    let listed = call("list_tasks", json!({"status": "pending"})).await?;
    let has = |v: &Value| {
        v["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["id"] == id))
    };
    if !has(&listed) {
        return Err(wrong(
            "list_tasks",
            &listed,
            &format!("list task {id} just added"),
        ));
    }
    let renamed = format!("{title} (renamed)");
    let updated = call("update_task", json!({"task_id": id, "title": renamed})).await?;
    if updated["title"] != renamed.as_str() {
        return Err(wrong(
            "update_task",
            &updated,
            "return the task with its new title",
        ));
    }
    let done = call("complete_task", json!({"task_id": id})).await?;
    if done["completed"] != true {
        return Err(wrong("complete_task", &done, "return the task completed"));
    }
    // The public API sees what the tools wrote: the same database, the same user.
    let rest = list(entry, user).await?;
    if !rest
        .iter()
        .any(|(i, tt, c)| *i == id && *tt == renamed && *c)
    {
        return Err(failed(
            format!(
                "GET /api/tasks lacks task {id} as the tools left it ({} task(s))",
                rest.len()
            ),
            "the MCP server and the backend must share DATABASE_URL",
        ));
    }
    let deleted = call("delete_task", json!({"task_id": id})).await?;
    if deleted["id"] != id {
        return Err(wrong("delete_task", &deleted, "return the task it deleted"));
    }
    step.figures.push(format!(
        "5 tools/call {} ms ({} answers)",
        ms(t),
        session.transport
    ));
    Ok(())
}

/// One chat turn through the agent, timed against the plans' 5 s.
async fn chat(
    entry: &Endpoint,
    user: &TestUser,
    run_id: &str,
    step: &mut Step,
) -> Result<(), Failed> {
    let title = format!("verify chat {run_id}");
    let body = json!({"message": format!("add {title}")});
    let t = Instant::now();
    let r = entry
        .send(
            "POST",
            "/api/chat",
            Some(&user.token),
            Some(&body),
            CHAT_TIMEOUT,
        )
        .await
        .map_err(|e| unreachable("the app", e))?;
    let took = t.elapsed();
    step.figures.push(format!(
        "{} ms (limit {} ms)",
        took.as_millis(),
        CHAT_LIMIT.as_millis()
    ));
    let answer = r.json().unwrap_or_default();
    let reply = answer["reply"].as_str().unwrap_or("");
    let tools: Vec<&str> = answer["tool_calls"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["tool"].as_str()).collect())
        .unwrap_or_default();
    if r.status != 200 || reply.is_empty() {
        return Err(failed(
            format!("POST /api/chat: {}", seen(&r)),
            "the chat must answer 200 with a reply: check the backend's (or ai-agent's) log, and MCP_SERVER_URL",
        ));
    }
    step.figures.push(format!("tools: {}", tools.join(", ")));
    if !tools.contains(&"add_task") {
        return Err(failed(
            format!("reply \"{}\" without an add_task call", excerpt(reply, &[])),
            "the agent must act through the MCP tools: check its log and MCP_SERVER_URL",
        ));
    }
    if took > CHAT_LIMIT {
        return Err(failed(
            format!("answered in {:.1} s, over the plans' {} s", took.as_secs_f64(), CHAT_LIMIT.as_secs()),
            "the agent is too slow: check the LLM provider's latency (LLM_PROVIDER, LLM_MODEL) or the backend's CPU limits",
        ));
    }
    Ok(())
}

/// Removes what the run left (the chat's task); the app cannot delete accounts, so the user stays.
async fn cleanup(
    entry: &Endpoint,
    user: &TestUser,
    email: &str,
    step: &mut Step,
) -> Result<(), Failed> {
    let left = list(entry, user).await?;
    for (id, _, _) in &left {
        let path = format!("/api/tasks/{id}");
        let r = entry
            .send("DELETE", &path, Some(&user.token), None, REQUEST_TIMEOUT)
            .await
            .map_err(|e| unreachable("the app", e))?;
        if r.status != 204 {
            return Err(failed(
                format!("DELETE {path}: {}", seen(&r)),
                "deleting a task must answer 204",
            ));
        }
    }
    let after = list(entry, user).await?;
    step.figures.push(format!("{} task(s) deleted", left.len()));
    if !after.is_empty() {
        return Err(failed(
            format!("{} task(s) still listed", after.len()),
            "deleted tasks must leave the list: a stale cache (Redis) or a failed delete",
        ));
    }
    step.figures.push(format!(
        "user {email} kept (the app has no account deletion), with no tasks"
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_take_host_port_and_prefix() {
        let u: Url = "http://127.0.0.1:8080/".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("127.0.0.1", 8080, "")
        );
        let u: Url = "http://todo.local/app".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("todo.local", 80, "/app")
        );
        assert!("https://todo.local".parse::<Url>().is_err());
        assert!("http://x:port".parse::<Url>().is_err());
    }

    #[test]
    fn secrets_and_cut_tokens_are_masked() {
        let pw = SecretValue::new("hunter22hunter22");
        let text = r#"{"token":"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln","password":"hunter22hunter22"}"#;
        let out = excerpt(text, &[&pw]);
        assert_eq!(out, r#"{"token":"<redacted>","password":"<redacted>"}"#);
        // Cut mid-token by an excerpt elsewhere: still no token text.
        assert_eq!(mask("x eyJhbGciOiJF", &[]), "x <redacted>");
    }
}
