//! A minimal HTTP/1.0 client for the smoke checks: one request per
//! connection, body read to the end (HTTP/1.0 servers never chunk), JSON in
//! and out. Enough for health endpoints and the app's JSON API.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: {source}")]
    Io {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr} did not answer within {:.0}s", .after.as_secs_f64())]
    TimedOut { addr: SocketAddr, after: Duration },
    #[error("{addr} sent something that is not an HTTP response")]
    Malformed { addr: SocketAddr },
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// (name lower-cased, value)
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body cut to one short line, for reports.
    pub fn summary(&self) -> String {
        let one_line: String = self.body.split_whitespace().collect::<Vec<_>>().join(" ");
        let cut: String = one_line.chars().take(120).collect();
        format!("HTTP {} {cut}", self.status)
    }
}

/// A request with an optional bearer token and JSON body; `headers` replace
/// the defaults of the same name (Host: the address, Accept: JSON).
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<&'a serde_json::Value>,
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str) -> Request<'a> {
        Request {
            method: "GET",
            path,
            token: None,
            body: None,
            headers: &[],
        }
    }
}

pub async fn send(
    addr: SocketAddr,
    req: &Request<'_>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    match tokio::time::timeout(timeout, exchange(addr, req)).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::TimedOut {
            addr,
            after: timeout,
        }),
    }
}

async fn exchange(addr: SocketAddr, req: &Request<'_>) -> Result<Response, HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|source| HttpError::Connect { addr, source })?;
    let body = req.body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{} {} HTTP/1.0\r\n", req.method, req.path);
    let given = |name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !given("host") {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    if !given("accept") {
        head.push_str("Accept: application/json\r\n");
    }
    for (k, v) in req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(token) = req.token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if req.body.is_some() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body.as_bytes()).await.map_err(io)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(io)?;
    parse(&raw).ok_or(HttpError::Malformed { addr })
}

fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&raw[split + 4..]).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_body() {
        let r = parse(b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n\r\n{\"id\": 1}")
            .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.json().unwrap()["id"], 1);
        assert!(parse(b"garbage").is_none());
    }

    #[tokio::test]
    async fn talks_to_a_real_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let seen = String::from_utf8_lossy(&buf[..n]).into_owned();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\n[]").await.unwrap();
            seen
        });
        let body = serde_json::json!({"title": "x"});
        let req = Request {
            method: "POST",
            path: "/api/tasks",
            token: Some("t0k"),
            body: Some(&body),
            headers: &[("Accept", "text/event-stream")],
        };
        let r = send(addr, &req, Duration::from_secs(5)).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "[]"));
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /api/tasks HTTP/1.0\r\n"), "{seen}");
        assert!(seen.contains("Authorization: Bearer t0k\r\n"), "{seen}");
        assert!(seen.contains("Accept: text/event-stream\r\n"), "{seen}");
        assert_eq!(seen.matches("Accept:").count(), 1, "{seen}");
        assert!(seen.ends_with("\r\n\r\n{\"title\":\"x\"}"), "{seen}");
    }
}
