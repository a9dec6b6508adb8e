//! A real MCP client session over the streamable HTTP transport (MCP spec
//! 2025-06-18, "Transports"): `initialize`, `notifications/initialized`, then
//! requests, each a POST accepting `application/json` or `text/event-stream`,
//! carrying `Mcp-Session-Id` when the server gave one and the negotiated
//! `MCP-Protocol-Version`.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Endpoint, RequestError};

pub const PROTOCOL_VERSION: &str = "2025-06-18";
const ACCEPT: &str = "application/json, text/event-stream";
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error(transparent)]
    Http(#[from] RequestError),
    #[error("{method}: HTTP {status} {body}")]
    Status {
        method: String,
        status: u16,
        body: String,
    },
    #[error("{method}: JSON-RPC error {code}: {message}")]
    Rpc {
        method: String,
        code: i64,
        message: String,
    },
    #[error("{method}: no JSON-RPC answer with id {id} in the {kind} body: {body}")]
    NoAnswer {
        method: String,
        id: u64,
        kind: &'static str,
        body: String,
    },
}

/// What `tools/call` gave: the tool's value, or its error text.
#[derive(Debug, Clone)]
pub struct ToolResult {
    pub is_error: bool,
    pub value: Value,
    pub text: String,
}

pub struct Session {
    endpoint: Endpoint,
    pub session_id: Option<String>,
    pub protocol: String,
    pub server: String,
    /// How the server answered requests: "json" or "sse" (the last one).
    pub transport: &'static str,
    next_id: u64,
}

impl Session {
    /// `initialize`, then `notifications/initialized`.
    pub async fn open(endpoint: &Endpoint) -> Result<Session, McpError> {
        let mut s = Session {
            endpoint: endpoint.clone(),
            session_id: None,
            protocol: PROTOCOL_VERSION.to_string(),
            server: String::new(),
            transport: "json",
            next_id: 1,
        };
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "todo-dev verify", "version": env!("CARGO_PKG_VERSION")},
        });
        let (result, session_id) = s.request("initialize", params).await?;
        s.session_id = session_id;
        if let Some(v) = result["protocolVersion"].as_str() {
            s.protocol = v.to_string();
        }
        s.server = result["serverInfo"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        s.notify("notifications/initialized").await?;
        Ok(s)
    }

    pub async fn list_tools(&mut self) -> Result<Vec<String>, McpError> {
        let (result, _) = self.request("tools/list", json!({})).await?;
        Ok(result["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments: Value,
    ) -> Result<ToolResult, McpError> {
        let (result, _) = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        let text = result["content"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter(|c| c["type"] == "text")
                    .filter_map(|c| c["text"].as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let value = match &result["structuredContent"] {
            // FastMCP wraps a non-object return as {"result": ...}.
            Value::Object(o) if o.len() == 1 && o.contains_key("result") => o["result"].clone(),
            Value::Object(_) => result["structuredContent"].clone(),
            _ => serde_json::from_str(&text).unwrap_or(Value::Null),
        };
        Ok(ToolResult {
            is_error: result["isError"] == true,
            value,
            text,
        })
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Accept", ACCEPT.to_string())];
        if let Some(id) = &self.session_id {
            h.push(("Mcp-Session-Id", id.clone()));
        }
        if self.next_id > 1 {
            h.push(("MCP-Protocol-Version", self.protocol.clone()));
        }
        h
    }

    async fn notify(&mut self, method: &str) -> Result<(), McpError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let r = self.endpoint.post(&body, &self.headers(), TIMEOUT).await?;
        match r.status {
            200 | 202 | 204 => Ok(()),
            status => Err(McpError::Status {
                method: method.into(),
                status,
                body: super::excerpt(&r.body, &[]),
            }),
        }
    }

    /// One request: its `result`, and the session id the answer carried.
    async fn request(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(Value, Option<String>), McpError> {
        let id = self.next_id;
        let headers = self.headers();
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let r = self.endpoint.post(&body, &headers, TIMEOUT).await?;
        if r.status != 200 {
            return Err(McpError::Status {
                method: method.into(),
                status: r.status,
                body: super::excerpt(&r.body, &[]),
            });
        }
        let sse = r
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"));
        self.transport = if sse { "sse" } else { "json" };
        let messages = if sse {
            sse_messages(&r.body)
        } else {
            match serde_json::from_str::<Value>(&r.body) {
                Ok(Value::Array(batch)) => batch,
                Ok(one) => vec![one],
                Err(_) => vec![],
            }
        };
        let Some(answer) = messages.into_iter().find(|m| m["id"] == id) else {
            return Err(McpError::NoAnswer {
                method: method.into(),
                id,
                kind: self.transport,
                body: super::excerpt(&r.body, &[]),
            });
        };
        if let Some(e) = answer.get("error") {
            return Err(McpError::Rpc {
                method: method.into(),
                code: e["code"].as_i64().unwrap_or(0),
                message: e["message"].as_str().unwrap_or("").to_string(),
            });
        }
        let session = r.header("mcp-session-id").map(String::from);
        Ok((answer["result"].clone(), session))
    }
}

/// The JSON messages of a `text/event-stream` body: each event's `data:`
/// lines joined, events split by a blank line.
pub fn sse_messages(body: &str) -> Vec<Value> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            (!data.is_empty())
                .then(|| serde_json::from_str(&data.join("\n")).ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_bodies_give_each_events_message() {
        let body = "event: message\r\nid: 1\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n: a comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"id\":3,\"result\":{}}\n\n";
        let m = sse_messages(body);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[1]["id"], 3);
        assert!(sse_messages("data: not json\n\n").is_empty());
    }
}
