//! The fake API server's streaming subresources of pods, as a real one
//! serves them (kubelet's streaming server behind the API server):
//! - `exec`: a WebSocket with the `v5.channel.k8s.io` / `v4.channel.k8s.io`
//!   channel framing (0 stdin, 1 stdout, 2 stderr, 3 status; v5 adds
//!   `[255, ch]` to close one stream). Over v4 the client can only end stdin
//!   by closing the whole socket: the command then runs but its status is
//!   lost, as on a real pre-1.30 server. The "container" has a small file
//!   system and knows `tar -x ... -f - -C DIR`, `rm -rf -- PATHS` and the
//!   length-framed `sh -c '... head -c "$1" | tar -x ...' NAME LENGTH`
//!   (which ends after LENGTH bytes of stdin, as `head` does); programs can
//!   be declared missing (exit 127 / "executable file not found").
//! - `portforward`: a WebSocket (`v4.channel.k8s.io`) with a data and an
//!   error channel per port, each opened by a frame carrying the port
//!   (little-endian); the pod's port is connected to a real local TCP
//!   server the test names. A port nothing listens on gets the kubelet's
//!   error on the error channel, then the connection is closed, as the
//!   kubelet does.
//! - `log?follow=true`: a chunked body that stays open while the container
//!   instance it read runs, carrying lines the test appends, and ends when
//!   that instance ends (pod deleted, container restarted); an ended
//!   instance's log (a crash loop) ends at once, as the kubelet's.

use super::{failure, header, lock, param, query_pairs, HttpRequest};
use super::{FakeApiServer, Key, Reply, Shared};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

/// One exec as the fake's container saw it.
#[derive(Debug, Clone)]
pub struct ExecRecord {
    pub pod: String,
    pub container: String,
    pub command: Vec<String>,
    /// The subprotocol the server chose.
    pub protocol: String,
    /// Everything received on stdin, byte for byte.
    pub stdin: Vec<u8>,
    /// True when stdin was ended by a v5 CLOSE frame (not by closing the socket).
    pub stdin_closed_by_frame: bool,
    /// Exit code, when the command ran.
    pub exit_code: Option<i32>,
    /// Whether the status reached the client.
    pub status_sent: bool,
}

#[derive(Default)]
pub(super) struct StreamState {
    /// Subprotocols the server speaks for exec, in its order of preference;
    /// empty means both v5 and v4.
    exec_protocols: Vec<String>,
    /// container name -> programs its image lacks
    missing: HashMap<String, HashSet<String>>,
    execs: Vec<ExecRecord>,
    /// pod name -> path -> (mode, content)
    files: HashMap<String, BTreeMap<String, (u32, Vec<u8>)>>,
    /// pod port -> the local server standing in for it
    port_targets: HashMap<u16, SocketAddr>,
    /// pods whose port was forwarded, in order
    forwarded: Vec<(String, u16)>,
}

impl FakeApiServer {
    /// Exec WebSockets accept only these subprotocols (e.g. `["v4.channel.k8s.io"]`
    /// for a server older than Kubernetes 1.30).
    pub fn set_exec_protocols(&self, protocols: &[&str]) {
        lock(&self.shared.streams).exec_protocols =
            protocols.iter().map(|p| p.to_string()).collect();
    }

    /// The image of containers named `container` has none of `programs`.
    pub fn set_missing_programs(&self, container: &str, programs: &[&str]) {
        lock(&self.shared.streams).missing.insert(
            container.to_string(),
            programs.iter().map(|p| p.to_string()).collect(),
        );
    }

    pub fn execs(&self) -> Vec<ExecRecord> {
        lock(&self.shared.streams).execs.clone()
    }

    /// A file in a pod's (fake) container file system: (mode, content).
    pub fn container_file(&self, pod: &str, path: &str) -> Option<(u32, Vec<u8>)> {
        lock(&self.shared.streams)
            .files
            .get(pod)
            .and_then(|f| f.get(path).cloned())
    }

    /// Puts a file in a pod's container, as its image would have it.
    pub fn put_container_file(&self, pod: &str, path: &str, content: &[u8]) {
        lock(&self.shared.streams)
            .files
            .entry(pod.to_string())
            .or_default()
            .insert(path.to_string(), (0o644, content.to_vec()));
    }

    /// Port-forwards to any pod's `pod_port` reach `target`.
    pub fn set_port_target(&self, pod_port: u16, target: SocketAddr) {
        lock(&self.shared.streams)
            .port_targets
            .insert(pod_port, target);
    }

    /// (pod, port) of each port-forward, in order.
    pub fn forwarded(&self) -> Vec<(String, u16)> {
        lock(&self.shared.streams).forwarded.clone()
    }

    /// A line the pod's running container prints now (in its log from
    /// then on; followers see it).
    pub fn append_log(&self, pod: &str, line: &str) {
        let mut st = self.shared.state();
        let instance = st
            .pods
            .iter()
            .find(|(k, _)| k.name == pod)
            .map_or(0, |(_, rt)| rt.restarts.len());
        st.appended
            .entry(pod.to_string())
            .or_default()
            .push(super::LogEntry {
                at: SystemTime::now(),
                instance,
                text: line.to_string(),
            });
    }
}

/// The request's pod subresource, when it is one handled here.
struct PodStream {
    namespace: String,
    pod: String,
    sub: String,
}

fn pod_stream(req: &HttpRequest) -> Option<PodStream> {
    match super::segments(&req.path).as_slice() {
        [api, v1, namespaces, ns, pods, name, sub]
            if api == "api" && v1 == "v1" && namespaces == "namespaces" && pods == "pods" =>
        {
            Some(PodStream {
                namespace: ns.clone(),
                pod: name.clone(),
                sub: sub.clone(),
            })
        }
        _ => None,
    }
}

/// Serves the request when it is a streaming one; false leaves it to the
/// ordinary handler. The connection is consumed when true.
pub(super) fn take_over(
    shared: &Shared,
    req: &HttpRequest,
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> bool {
    let Some(target) = pod_stream(req) else {
        return false;
    };
    let query = query_pairs(&req.query);
    let upgrade =
        header(&req.headers, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let follow = req.method == "GET"
        && target.sub == "log"
        && matches!(param(&query, "follow"), Some("true" | "1"));
    if !(follow || (upgrade && matches!(target.sub.as_str(), "exec" | "portforward"))) {
        return false;
    }
    shared.state().requests.push(super::Recorded {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        content_type: String::new(),
        body: String::new(),
        headers: req.headers.clone(),
    });
    let result = if follow {
        follow_log(shared, &target, &req.query, writer)
    } else {
        let pod = match running_pod(shared, &target) {
            Ok(p) => p,
            Err(reply) => {
                let _ = super::write_reply(writer, &reply, true);
                return true;
            }
        };
        if target.sub == "exec" {
            exec(shared, &target, &pod, req, &query, reader, writer)
        } else {
            portforward(shared, &target, req, &query, reader, writer)
        }
    };
    let _ = result;
    let _ = writer.shutdown(Shutdown::Both);
    true
}

/// The pod, when it exists and runs; else the API server's refusal.
fn running_pod(shared: &Shared, t: &PodStream) -> Result<Value, Reply> {
    let st = shared.state();
    let pod = st
        .objects
        .get(&Key::new("pods", &t.namespace, &t.pod))
        .cloned()
        .ok_or_else(|| {
            failure(
                404,
                "NotFound",
                format!("pods \"{}\" not found", t.pod),
                Some(json!({"name": t.pod, "kind": "pods"})),
            )
        })?;
    if pod["status"]["phase"] != "Running" {
        return Err(failure(
            400,
            "BadRequest",
            format!(
                "unable to upgrade connection: pod {} is not running (phase {})",
                t.pod,
                pod["status"]["phase"].as_str().unwrap_or("Pending")
            ),
            None,
        ));
    }
    Ok(pod)
}

// ---- WebSocket framing (RFC 6455) -------------------------------------------

const OP_CONT: u8 = 0x0;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

fn handshake(req: &HttpRequest, w: &mut TcpStream, protocol: &str) -> io::Result<()> {
    let key = header(&req.headers, "sec-websocket-key").unwrap_or_default();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"
    );
    w.write_all(head.as_bytes())?;
    w.flush()
}

/// One message from the client (continuations joined); client frames must be masked.
fn read_message(r: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut opcode = None;
    let mut payload = Vec::new();
    loop {
        let mut h = [0u8; 2];
        r.read_exact(&mut h)?;
        let fin = h[0] & 0x80 != 0;
        let op = h[0] & 0x0F;
        if h[1] & 0x80 == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "client frame not masked (RFC 6455 5.1)",
            ));
        }
        let len = match h[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                r.read_exact(&mut b)?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                r.read_exact(&mut b)?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut mask = [0u8; 4];
        r.read_exact(&mut mask)?;
        let mut data = vec![0u8; len as usize];
        r.read_exact(&mut data)?;
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        if op >= 0x8 {
            // Control frames may come between fragments; they are whole.
            return Ok((op, data));
        }
        if op != OP_CONT {
            opcode = Some(op);
        }
        payload.extend_from_slice(&data);
        if fin {
            return Ok((opcode.unwrap_or(OP_BINARY), payload));
        }
    }
}

fn write_frame(w: &mut impl Write, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => head.push(n as u8),
        n if n <= 0xFFFF => {
            head.push(126);
            head.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            head.push(127);
            head.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    w.write_all(&head)?;
    w.write_all(payload)?;
    w.flush()
}

fn channel(w: &mut impl Write, ch: u8, data: &[u8]) -> io::Result<()> {
    let mut msg = Vec::with_capacity(data.len() + 1);
    msg.push(ch);
    msg.extend_from_slice(data);
    write_frame(w, OP_BINARY, &msg)
}

/// A graceful close, as a real server's: reads what the client still sends
/// until its own close frame (or the end, or 5 s), so no reset discards
/// what was written before the client has read it.
fn drain_until_close(reader: &mut BufReader<TcpStream>) {
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)));
    while let Ok((op, _)) = read_message(reader) {
        if op == OP_CLOSE {
            break;
        }
    }
}

fn close(w: &mut impl Write) -> io::Result<()> {
    write_frame(w, OP_CLOSE, &1000u16.to_be_bytes())
}

// ---- exec -------------------------------------------------------------------

fn exec(
    shared: &Shared,
    t: &PodStream,
    pod: &Value,
    req: &HttpRequest,
    query: &[(String, String)],
    reader: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
) -> io::Result<()> {
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let container = match param(query, "container") {
        Some(c) if containers.iter().any(|n| n == c) => c.to_string(),
        Some(c) => {
            let reply = failure(
                400,
                "BadRequest",
                format!("container {c} is not valid for pod {}", t.pod),
                None,
            );
            return super::write_reply(w, &reply, true);
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            let reply = failure(
                400,
                "BadRequest",
                format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    t.pod,
                    containers.join(" ")
                ),
                None,
            );
            return super::write_reply(w, &reply, true);
        }
    };
    let command: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let flag = |k: &str| matches!(param(query, k), Some("true" | "1"));
    let (want_stdin, want_stdout, want_stderr) = (flag("stdin"), flag("stdout"), flag("stderr"));
    if command.is_empty() || !(want_stdin || want_stdout || want_stderr) {
        let reply = failure(
            400,
            "BadRequest",
            "you must specify at least 1 of stdin, stdout, stderr and a command".into(),
            None,
        );
        return super::write_reply(w, &reply, true);
    }
    let offered: Vec<String> = header(&req.headers, "sec-websocket-protocol")
        .unwrap_or_default()
        .split(',')
        .map(|p| p.trim().to_string())
        .collect();
    let speaks = {
        let s = lock(&shared.streams);
        if s.exec_protocols.is_empty() {
            vec![V5.to_string(), V4.to_string()]
        } else {
            s.exec_protocols.clone()
        }
    };
    let Some(protocol) = speaks.into_iter().find(|p| offered.contains(p)) else {
        let reply = failure(
            400,
            "BadRequest",
            format!("none of the offered subprotocols {offered:?} is supported"),
            None,
        );
        return super::write_reply(w, &reply, true);
    };
    handshake(req, w, &protocol)?;
    // The server opens each stream with a frame carrying only its channel.
    for (on, ch) in [(want_stdout, 1u8), (want_stderr, 2), (true, 3)] {
        if on {
            write_frame(w, OP_BINARY, &[ch])?;
        }
    }
    let mut record = ExecRecord {
        pod: t.pod.clone(),
        container: container.clone(),
        command: command.clone(),
        protocol: protocol.clone(),
        stdin: Vec::new(),
        stdin_closed_by_frame: false,
        exit_code: None,
        status_sent: false,
    };
    let missing = lock(&shared.streams)
        .missing
        .get(&container)
        .is_some_and(|m| m.contains(&command[0]));
    let known = matches!(command[0].as_str(), "tar" | "rm" | "sh");
    if missing || !known {
        // The runtime cannot start it: containerd's words, on the status channel.
        let status = json!({"metadata": {}, "status": "Failure", "message": format!("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"0f3c\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"{}\": executable file not found in $PATH: unknown", command[0]), "reason": "InternalError", "details": {"causes": [{"message": "executable file not found"}]}, "code": 500});
        // Recorded before the client can see the status and move on.
        record.status_sent = true;
        lock(&shared.streams).execs.push(record);
        channel(w, 3, status.to_string().as_bytes())?;
        close(w)?;
        // A graceful close, as a real server's: read what the client still
        // sends until its own close frame (or the end), so no reset can
        // discard the status before the client has read it.
        drain_until_close(reader);
        return Ok(());
    }
    // `sh -c '... head -c "$1" | tar -x ...' NAME LENGTH`: the shell says
    // which program it lacks (exit 127) before reading anything; else it
    // reads exactly LENGTH bytes and ends by itself, whatever the protocol.
    let framed: Option<usize> = (command[0] == "sh"
        && command.len() == 5
        && command[2].contains("head -c \"$1\" | tar -x"))
    .then(|| command[4].parse().ok())
    .flatten();
    let lacking = framed.and_then(|_| {
        let streams = lock(&shared.streams);
        let missing = streams.missing.get(&container);
        ["head", "tar"]
            .into_iter()
            .find(|p| missing.is_some_and(|m| m.contains(*p)))
    });
    // Socket closed by the client before the command's end (v4's only way to end stdin).
    let mut socket_closed = false;
    if want_stdin && lacking.is_none() {
        loop {
            if framed.is_some_and(|n| record.stdin.len() >= n) {
                break;
            }
            let (op, data) = match read_message(reader) {
                Ok(m) => m,
                Err(_) => {
                    socket_closed = true;
                    break;
                }
            };
            match op {
                OP_CLOSE => {
                    // Answered below, once the command ran and was recorded.
                    socket_closed = true;
                    break;
                }
                OP_PING => write_frame(w, OP_PONG, &data)?,
                OP_BINARY if data.first() == Some(&0) => record.stdin.extend_from_slice(&data[1..]),
                OP_BINARY if protocol == V5 && data == [255, 0] => {
                    record.stdin_closed_by_frame = true;
                    break;
                }
                _ => {}
            }
        }
    }
    let (code, stderr) = match (framed, lacking) {
        (Some(_), Some(program)) => (127, format!("{program}: not found\n")),
        (Some(n), None) => {
            let tar: Vec<String> = ["tar", "-x", "-m", "-f", "-", "-C", "/"]
                .iter()
                .map(|a| a.to_string())
                .collect();
            let take = n.min(record.stdin.len());
            run_in_container(shared, &t.pod, &tar, &record.stdin[..take])
        }
        (None, _) => run_in_container(shared, &t.pod, &command, &record.stdin),
    };
    record.exit_code = Some(code);
    if !socket_closed {
        if want_stderr && !stderr.is_empty() {
            channel(w, 2, stderr.as_bytes())?;
        }
        let status = if code == 0 {
            json!({"metadata": {}, "status": "Success"})
        } else {
            json!({"metadata": {}, "status": "Failure", "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")), "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
        };
        record.status_sent = true;
        lock(&shared.streams).execs.push(record);
        channel(w, 3, status.to_string().as_bytes())?;
        let _ = close(w);
        if lacking.is_some() {
            // The client may still be sending the stdin nobody reads: read
            // it off until its close, so no reset discards the status.
            drain_until_close(reader);
        }
        return Ok(());
    }
    lock(&shared.streams).execs.push(record);
    // The status is lost: the client closed the socket to end stdin (v4).
    let _ = close(w);
    Ok(())
}

/// The two programs the fake container has: (exit code, stderr).
fn run_in_container(shared: &Shared, pod: &str, command: &[String], stdin: &[u8]) -> (i32, String) {
    let mut streams = lock(&shared.streams);
    let files = streams.files.entry(pod.to_string()).or_default();
    match command[0].as_str() {
        // A rule's `run`: recorded (in `execs`), and it succeeds.
        "sh" => (0, String::new()),
        "tar" => {
            let args = &command[1..];
            let extract = args.iter().any(|a| a == "-x");
            let from_stdin = args.windows(2).any(|w| w[0] == "-f" && w[1] == "-");
            let dir = args
                .windows(2)
                .find(|w| w[0] == "-C")
                .map_or("/", |w| w[1].as_str());
            if !extract || !from_stdin {
                return (
                    2,
                    "tar: this fake only extracts from stdin (-x -f -)\n".into(),
                );
            }
            let mut archive = tar::Archive::new(stdin);
            let entries = match archive.entries() {
                Ok(e) => e,
                Err(_) => return (2, "tar: This does not look like a tar archive\n".into()),
            };
            let mut count = 0;
            for entry in entries {
                let Ok(mut entry) = entry else {
                    return (2, "tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n".into());
                };
                let Ok(path) = entry.path().map(|p| p.to_string_lossy().into_owned()) else {
                    return (2, "tar: bad path\n".into());
                };
                let full = format!(
                    "{}/{}",
                    dir.trim_end_matches('/'),
                    path.trim_start_matches("./")
                );
                let mode = entry.header().mode().unwrap_or(0o644);
                if entry.header().entry_type().is_file() {
                    let mut content = Vec::new();
                    if entry.read_to_end(&mut content).is_err() {
                        return (2, format!("tar: {path}: Unexpected EOF in archive\n"));
                    }
                    files.insert(full.trim_end_matches('/').to_string(), (mode, content));
                }
                count += 1;
            }
            if count == 0 && !stdin.is_empty() && stdin.iter().any(|b| *b != 0) {
                return (2, "tar: This does not look like a tar archive\n".into());
            }
            (0, String::new())
        }
        "rm" => {
            let rest: Vec<&String> = command[1..].iter().collect();
            let paths: Vec<&String> = match rest.iter().position(|a| *a == "--") {
                Some(i) => rest[i + 1..].to_vec(),
                None => rest.into_iter().filter(|a| !a.starts_with('-')).collect(),
            };
            for p in paths {
                let prefix = format!("{}/", p.trim_end_matches('/'));
                files.retain(|k, _| k != p && !k.starts_with(&prefix));
            }
            (0, String::new())
        }
        other => (127, format!("{other}: not found\n")),
    }
}

// ---- portforward ------------------------------------------------------------

fn portforward(
    shared: &Shared,
    t: &PodStream,
    req: &HttpRequest,
    query: &[(String, String)],
    reader: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
) -> io::Result<()> {
    let ports: Vec<u16> = query
        .iter()
        .filter(|(k, _)| k == "ports")
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    if ports.is_empty() {
        let reply = failure(
            400,
            "BadRequest",
            "query parameter \"port\" is required".into(),
            None,
        );
        return super::write_reply(w, &reply, true);
    }
    let offered = header(&req.headers, "sec-websocket-protocol").unwrap_or_default();
    if !offered.split(',').any(|p| p.trim() == V4) {
        let reply = failure(
            400,
            "BadRequest",
            format!("portforward needs subprotocol {V4}, offered {offered:?}"),
            None,
        );
        return super::write_reply(w, &reply, true);
    }
    handshake(req, w, V4)?;
    for (i, port) in ports.iter().enumerate() {
        let le = port.to_le_bytes();
        channel(w, 2 * i as u8, &le)?;
        channel(w, 2 * i as u8 + 1, &le)?;
    }
    let writer = Arc::new(Mutex::new(w.try_clone()?));
    // One upstream connection per port, opened when the port is forwarded.
    let mut upstreams: Vec<Option<TcpStream>> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        lock(&shared.streams).forwarded.push((t.pod.clone(), *port));
        let target = lock(&shared.streams).port_targets.get(port).copied();
        let conn = target.and_then(|a| TcpStream::connect(a).ok());
        match conn {
            Some(c) => {
                let from_pod = c.try_clone()?;
                let writer = writer.clone();
                let ch = 2 * i as u8;
                thread::spawn(move || pump_from_pod(from_pod, writer, ch));
                upstreams.push(Some(c));
            }
            None => {
                let msg = format!("error forwarding port {port} to pod {}, uid : failed to connect to localhost:{port} inside namespace: dial tcp4 127.0.0.1:{port}: connect: connection refused", t.pod);
                channel(&mut *lock(&writer), 2 * i as u8 + 1, msg.as_bytes())?;
                // The kubelet closes the connection after the error channel's
                // message (cri/streaming/portforward/websocket.go).
                close(&mut *lock(&writer))?;
                drain_until_close(reader);
                return Ok(());
            }
        }
    }
    while let Ok((op, data)) = read_message(reader) {
        match op {
            OP_CLOSE => {
                let _ = close(&mut *lock(&writer));
                break;
            }
            OP_PING => write_frame(&mut *lock(&writer), OP_PONG, &data)?,
            OP_BINARY if !data.is_empty() => {
                let ch = data[0] as usize;
                if ch.is_multiple_of(2) {
                    if let Some(Some(up)) = upstreams.get_mut(ch / 2) {
                        let _ = up.write_all(&data[1..]);
                    }
                }
            }
            _ => {}
        }
    }
    for up in upstreams.into_iter().flatten() {
        let _ = up.shutdown(Shutdown::Both);
    }
    Ok(())
}

/// The pod's answers onto the data channel; when the pod side ends, the socket closes.
fn pump_from_pod(mut from: TcpStream, writer: Arc<Mutex<TcpStream>>, ch: u8) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if channel(&mut *lock(&writer), ch, &buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
    let _ = close(&mut *lock(&writer));
}

// ---- log?follow=true --------------------------------------------------------

fn follow_log(
    shared: &Shared,
    t: &PodStream,
    raw_query: &str,
    w: &mut TcpStream,
) -> io::Result<()> {
    // What a plain read gives first (errors included), as the ordinary handler reads it.
    let target = match super::route(&[
        "api".into(),
        "v1".into(),
        "namespaces".into(),
        t.namespace.clone(),
        "pods".into(),
        t.pod.clone(),
        "log".into(),
    ]) {
        Ok(target) => target,
        Err(reply) => return super::write_reply(w, &reply, true),
    };
    let q = query_pairs(raw_query);
    let timestamps = matches!(param(&q, "timestamps"), Some("true" | "1"));
    let view = match shared.state().log_view(&target, &q) {
        Ok(v) => v,
        Err(r) => return super::write_reply(w, &r, true),
    };
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n")?;
    let chunk = |w: &mut TcpStream, body: &str| -> io::Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        write!(w, "{:x}\r\n{body}\r\n", body.len())?;
        w.flush()
    };
    let initial: String = view
        .lines
        .iter()
        .map(|(at, line)| super::log_line(*at, line, timestamps))
        .collect();
    chunk(w, &initial)?;
    // The kubelet's follow ends with the container instance it read: an
    // ended one's log at once, a running one's when it stops or restarts.
    if let Some(instance) = view.running {
        let key = Key::new("pods", &t.namespace, &t.pod);
        let mut sent = view.appended_seen;
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let (new, ended) = {
                let st = shared.state();
                let gone = st.objects.get(&key).is_none_or(super::terminating);
                let restarted = st
                    .pods
                    .get(&key)
                    .is_none_or(|rt| rt.restarts.len() != instance);
                let all = st.appended.get(&t.pod).map_or(&[][..], Vec::as_slice);
                let new: Vec<super::LogEntry> = all[sent.min(all.len())..]
                    .iter()
                    .filter(|e| e.instance == instance)
                    .cloned()
                    .collect();
                sent = all.len();
                (new, gone || restarted)
            };
            let body: String = new
                .iter()
                .map(|e| super::log_line(e.at, &e.text, timestamps))
                .collect();
            chunk(w, &body)?;
            if ended {
                break;
            }
            thread::sleep(Duration::from_millis(25));
        }
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}
