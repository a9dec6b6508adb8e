//! What the status page shows, folded from the engine's events: one view per
//! row (each service, minikube, the data stores), the app's addresses and
//! `verify`'s last result. A row's state text is the terminal's own
//! (`report::row_of`), so the page and the terminal never disagree; the log
//! buffer of each row is bounded.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::{json, Value};

use super::super::report::{json_of, row_of, Row};
use super::super::Tone;
use crate::cluster::logs::LogEvent;
use crate::pipeline::event::{
    AttachEvent, BuildEvent, DeployEvent, Event, LoopEvent, VerifyEvent, WatcherEvent,
};

/// Log lines kept per row (the page shows them; older ones are dropped).
pub const LOG_LINES: usize = 200;
/// A longer line is cut here (a minified bundle or a JSON dump in one line).
const LOG_LINE_CHARS: usize = 2_000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowView {
    pub name: String,
    /// A service of the project: the rebuild and restart buttons apply.
    pub service: bool,
    /// The image it runs or was last built (tag, or the registry's digest).
    pub image: Option<String>,
    pub bytes: Option<u64>,
    /// `built` or `unchanged` (the daemon had the tag: nothing was built).
    pub build: Option<&'static str>,
    /// The terminal row's text.
    pub state: String,
    /// busy | good | warn | bad | dim
    pub tone: &'static str,
    /// The last note under the row (a built image, a fallback).
    pub note: Option<String>,
    /// When `state` last changed (ms since the epoch).
    pub since: f64,
    /// The last failure, kept after the service recovers (with its time).
    pub failure: Option<Failure>,
    /// The app's addresses and port-forwards that reach this row's pods.
    pub endpoints: Vec<Endpoint>,
    #[serde(skip)]
    logs: VecDeque<LogLine>,
    /// A diagnosis arrived for the failure the loop is about to report.
    #[serde(skip)]
    fresh_diagnosis: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub at: f64,
    pub stage: String,
    pub message: String,
    /// `--json`'s `diagnosis` object: pod, reason, detail, events, logs, hint.
    pub diagnosis: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub url: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub at: f64,
    pub pod: String,
    pub line: String,
    /// From the instance that crashed, not the one running now.
    pub previous: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AppView {
    /// Where to open the app (what `up` printed).
    pub open: Vec<Endpoint>,
    /// What a save does now (the watcher is ready).
    pub watcher: Option<String>,
    pub verify: Option<VerifyView>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyView {
    pub running: bool,
    pub at: f64,
    pub ok: Option<bool>,
    pub failed: usize,
    pub ms: Option<u64>,
    /// `--json`'s `verify.check` objects, in order.
    pub checks: Vec<Value>,
    /// The run could not go on.
    pub message: Option<String>,
}

/// What an event changed, to be pushed to the open pages.
#[derive(Debug)]
pub enum Change {
    Row(RowView),
    Log { row: String, line: LogLine },
    App(AppView),
}

#[derive(Debug, Default)]
pub struct PageState {
    rows: Vec<RowView>,
    app: AppView,
}

impl PageState {
    /// The project's services first, in their order.
    pub fn new(services: &[&str]) -> PageState {
        let mut state = PageState::default();
        for s in services {
            state.row(s, 0.0).service = true;
        }
        state
    }

    pub fn is_service(&self, name: &str) -> bool {
        self.rows.iter().any(|r| r.name == name && r.service)
    }

    /// Everything, for a page that just connected.
    pub fn snapshot(&self) -> Value {
        let logs: BTreeMap<&str, &VecDeque<LogLine>> = self
            .rows
            .iter()
            .map(|r| (r.name.as_str(), &r.logs))
            .collect();
        json!({"rows": self.rows, "app": self.app, "logs": logs})
    }

    fn has(&self, name: &str) -> bool {
        self.rows.iter().any(|r| r.name == row_key(name))
    }

    fn row(&mut self, name: &str, at: f64) -> &mut RowView {
        let name = row_key(name);
        let i = match self.rows.iter().position(|r| r.name == name) {
            Some(i) => i,
            None => {
                self.rows.push(RowView {
                    name: name.to_string(),
                    service: false,
                    image: None,
                    bytes: None,
                    build: None,
                    state: "waiting".into(),
                    tone: "dim",
                    note: None,
                    since: at,
                    failure: None,
                    endpoints: Vec::new(),
                    logs: VecDeque::new(),
                    fresh_diagnosis: false,
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[i]
    }

    /// Folds `event` (reported at `at`, ms since the epoch) into the state.
    pub fn apply(&mut self, event: &Event, at: f64) -> Vec<Change> {
        let mut touched: Vec<String> = Vec::new();
        let mut changes = Vec::new();
        let mut app = false;
        // Rows are the services, minikube and the deploy's workloads; the
        // other objects' notes (a ConfigMap created) stay on the terminal.
        let row_text = row_of(event).filter(|(name, ..)| self.has(name));
        if let Some((name, how, text)) = row_text {
            let row = self.row(&name, at);
            match how {
                Row::Note(_) => row.note = Some(text),
                Row::Status => (row.state, row.tone, row.since) = (text, "busy", at),
                Row::Settle(t) | Row::Finish(t) => {
                    (row.state, row.tone, row.since) = (text, tone(t), at)
                }
            }
            touched.push(name);
        }
        match event {
            Event::Rows(names) => {
                for n in names {
                    self.row(n, at);
                    touched.push(n.clone());
                }
            }
            Event::Build(BuildEvent::Done {
                service,
                image,
                seconds,
                bytes,
            }) => {
                let built = if seconds.is_some() {
                    "built"
                } else {
                    "unchanged"
                };
                self.image(service, image, *bytes, built, at);
                touched.push(service.clone());
            }
            Event::Watch(LoopEvent::Built {
                service,
                image,
                unchanged,
                bytes,
                ..
            }) => {
                let built = if *unchanged { "unchanged" } else { "built" };
                self.image(service, image, *bytes, built, at);
                touched.push(service.clone());
            }
            Event::Watch(LoopEvent::UpToDate { service, image, .. }) if !image.is_empty() => {
                self.row(service, at).image = Some(image.clone());
            }
            Event::Push(crate::pipeline::event::PushEvent::Done {
                service, reference, ..
            }) => {
                self.row(service, at).image = Some(reference.clone());
                touched.push(service.clone());
            }
            Event::Watch(LoopEvent::Planning { service, .. })
            | Event::Watch(LoopEvent::Syncing { service, .. })
            | Event::Watch(LoopEvent::Restarting { service }) => {
                self.row(service, at).fresh_diagnosis = false;
            }
            Event::Build(BuildEvent::Failed { service, error, .. }) => {
                self.fail(service, "build", error, at);
                touched.push(service.clone());
            }
            Event::Watch(LoopEvent::Failed {
                service,
                stage,
                message,
            }) => {
                self.fail(service, stage, message, at);
                touched.push(service.clone());
            }
            Event::Deploy(DeployEvent::RolloutFailed { workload, message }) => {
                self.fail(workload, "rollout", message, at);
                touched.push(workload.clone());
            }
            Event::Deploy(DeployEvent::Diagnosis {
                workload, message, ..
            }) => {
                let diagnosis = fields_of(event);
                let row = self.row(workload, at);
                row.failure = Some(Failure {
                    at,
                    stage: "rollout".into(),
                    message: message.clone(),
                    diagnosis: Some(diagnosis),
                });
                row.fresh_diagnosis = true;
                touched.push(workload.clone());
            }
            Event::Deploy(DeployEvent::Open { urls, .. }) => {
                self.app.open = urls
                    .iter()
                    .map(|(url, note)| Endpoint {
                        url: url.clone(),
                        note: note.clone(),
                    })
                    .collect();
                app = true;
            }
            Event::Attach(AttachEvent::ForwardReady { service, url, .. }) => {
                let row = self.row(service, at);
                row.endpoints.retain(|e| e.note != "port-forward");
                row.endpoints.push(Endpoint {
                    url: url.clone(),
                    note: "port-forward".into(),
                });
                touched.push(service.clone());
            }
            Event::Attach(AttachEvent::Log(log)) => {
                if let Some((row, line)) = log_line(log, at) {
                    let logs = &mut self.row(&row, at).logs;
                    if logs.len() == LOG_LINES {
                        logs.pop_front();
                    }
                    logs.push_back(line.clone());
                    changes.push(Change::Log { row, line });
                }
            }
            Event::Watcher(WatcherEvent::Ready { next, .. }) => {
                self.app.watcher = Some(next.to_string());
                app = true;
            }
            Event::Verify(v) => {
                self.verify(v, event, at);
                app = true;
            }
            _ => {}
        }
        // `Deployment/backend` and `backend` are one row: sent once.
        let mut keys: Vec<&str> = touched.iter().map(|n| row_key(n)).collect();
        keys.dedup();
        for key in keys {
            if let Some(r) = self.rows.iter().find(|r| r.name == key) {
                changes.push(Change::Row(r.clone()));
            }
        }
        if app {
            changes.push(Change::App(self.app.clone()));
        }
        changes
    }

    /// A verify result from elsewhere; the app view to push.
    pub fn verified(&mut self, view: VerifyView) -> AppView {
        self.app.verify = Some(view);
        self.app.clone()
    }

    fn image(&mut self, row: &str, image: &str, bytes: Option<u64>, built: &'static str, at: f64) {
        let row = self.row(row, at);
        row.image = Some(image.to_string());
        row.bytes = bytes.or(row.bytes.filter(|_| built == "unchanged"));
        row.build = Some(built);
    }

    /// A failure; the diagnosis that came just before it (a failed
    /// rollout's) stays with it.
    fn fail(&mut self, row: &str, stage: &str, message: &str, at: f64) {
        let row = self.row(row, at);
        if row.fresh_diagnosis {
            if let Some(f) = &mut row.failure {
                f.message = message.to_string();
                f.stage = stage.to_string();
                row.fresh_diagnosis = false;
                return;
            }
        }
        row.failure = Some(Failure {
            at,
            stage: stage.to_string(),
            message: message.to_string(),
            diagnosis: None,
        });
    }

    fn verify(&mut self, v: &VerifyEvent, event: &Event, at: f64) {
        match v {
            VerifyEvent::Started { .. } | VerifyEvent::OnCluster { .. } => {
                self.app.verify = Some(VerifyView {
                    running: true,
                    at,
                    ..VerifyView::default()
                });
            }
            VerifyEvent::Check(_) => {
                let view = self.app.verify.get_or_insert_with(VerifyView::default);
                view.checks.push(fields_of(event));
            }
            VerifyEvent::Done { ok, failed, ms, .. } => {
                let view = self.app.verify.get_or_insert_with(VerifyView::default);
                (view.running, view.ok, view.failed, view.ms) =
                    (false, Some(*ok), *failed, Some(*ms));
                view.at = at;
            }
            VerifyEvent::Failed { message } => {
                let view = self.app.verify.get_or_insert_with(VerifyView::default);
                (view.running, view.ok, view.message) = (false, Some(false), Some(message.clone()));
                view.at = at;
            }
        }
    }
}

/// An event's `--json` object without its `event` name: the fields the
/// page shows as they are (a diagnosis, a verify check).
pub fn fields_of(event: &Event) -> Value {
    let mut v = json_of(event).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("event");
    }
    v
}

/// A deploy's `Deployment/backend` is the `backend` row: one row a service.
fn row_key(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, n)| n)
}

fn tone(t: Tone) -> &'static str {
    match t {
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Dim | Tone::Bold => "dim",
    }
}

/// A log event as a line of its row, if it is one to show.
fn log_line(log: &LogEvent, at: f64) -> Option<(String, LogLine)> {
    let cut = |s: &str| s.chars().take(LOG_LINE_CHARS).collect::<String>();
    match log {
        LogEvent::Line(l) => Some((
            l.service.clone(),
            LogLine {
                at,
                pod: l.pod.clone(),
                line: cut(&l.line),
                previous: l.previous,
            },
        )),
        LogEvent::Ended {
            service,
            pod,
            restart_count,
            exit_code,
            reason,
            ..
        } => Some((
            service.clone(),
            LogLine {
                at,
                pod: pod.clone(),
                line: format!(
                    "-- the container ended: {reason} (exit {exit_code}, restarts {restart_count})"
                ),
                previous: true,
            },
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::logs::LogLine as Line;
    use crate::deploy::rollout::{Diagnosis, Finding};

    fn watch(e: LoopEvent) -> Event {
        Event::Watch(e)
    }

    fn row<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
        let rows = snapshot["rows"].as_array().unwrap();
        rows.iter().find(|r| r["name"] == name).unwrap()
    }

    fn log(n: usize) -> Event {
        Event::Attach(AttachEvent::Log(LogEvent::Line(Line {
            service: "backend".into(),
            pod: "backend-1".into(),
            container: "backend".into(),
            time: None,
            line: format!("line {n}"),
            previous: false,
        })))
    }

    #[test]
    fn a_rebuild_shows_as_the_terminal_row_says_with_its_image_and_size() {
        let mut s = PageState::new(&["frontend", "backend"]);
        let names: Vec<_> = PageState::new(&["frontend", "backend"])
            .rows
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["frontend", "backend"]);
        s.apply(
            &watch(LoopEvent::Planning {
                service: "backend".into(),
                paths: vec![],
            }),
            1.0,
        );
        assert_eq!(row(&s.snapshot(), "backend")["tone"], "busy");
        let changes = s.apply(
            &watch(LoopEvent::Built {
                service: "backend".into(),
                image: "todo-backend:abc".into(),
                unchanged: false,
                seconds: 2.0,
                bytes: Some(123_000_000),
            }),
            2.0,
        );
        assert!(
            matches!(&changes[..], [Change::Row(r)] if r.name == "backend"),
            "{changes:?}"
        );
        s.apply(
            &watch(LoopEvent::UpToDate {
                service: "backend".into(),
                image: "todo-backend:abc".into(),
                seconds: 3.0,
                paths: vec![],
            }),
            3.0,
        );
        let snap = s.snapshot();
        let b = row(&snap, "backend");
        assert_eq!(
            (
                &b["image"],
                &b["bytes"],
                &b["build"],
                &b["tone"],
                &b["service"]
            ),
            (
                &json!("todo-backend:abc"),
                &json!(123_000_000),
                &json!("built"),
                &json!("good"),
                &json!(true)
            )
        );
        assert_eq!(row(&snap, "frontend")["state"], "waiting");
    }

    #[test]
    fn a_failed_rollout_keeps_its_diagnosis_until_the_next_failure() {
        let mut s = PageState::new(&["backend"]);
        let diagnosis = Diagnosis {
            pod: Some("backend-2".into()),
            finding: Finding::NoPods {
                selector: "app=backend".into(),
            },
            events: vec!["Back-off restarting failed container".into()],
            logs: Some((true, "Traceback: boom".into())),
            hint: Some("look at the app's start".into()),
        };
        s.apply(
            &watch(LoopEvent::Planning {
                service: "backend".into(),
                paths: vec![],
            }),
            1.0,
        );
        s.apply(
            &Event::Deploy(DeployEvent::Diagnosis {
                workload: "Deployment/backend".into(),
                message: "CrashLoopBackOff".into(),
                diagnosis: Arc::new(diagnosis),
                kubectl_ai: None,
            }),
            2.0,
        );
        s.apply(
            &watch(LoopEvent::Failed {
                service: "backend".into(),
                stage: "rollout",
                message: "Deployment/backend: CrashLoopBackOff".into(),
            }),
            3.0,
        );
        let snap = s.snapshot();
        let f = &row(&snap, "backend")["failure"];
        assert_eq!(f["message"], "Deployment/backend: CrashLoopBackOff");
        assert_eq!(f["diagnosis"]["logs"], "Traceback: boom");
        assert_eq!(f["diagnosis"]["hint"], "look at the app's start");
        assert_eq!(row(&snap, "backend")["tone"], "bad");
        // A later failure of another cycle is its own, without that diagnosis.
        s.apply(
            &watch(LoopEvent::Planning {
                service: "backend".into(),
                paths: vec![],
            }),
            4.0,
        );
        s.apply(
            &watch(LoopEvent::Failed {
                service: "backend".into(),
                stage: "build",
                message: "at Dockerfile line 3".into(),
            }),
            5.0,
        );
        let snap = s.snapshot();
        let f = &row(&snap, "backend")["failure"];
        assert_eq!(
            (&f["stage"], &f["diagnosis"]),
            (&json!("build"), &Value::Null)
        );
    }

    #[test]
    fn each_rows_log_is_bounded() {
        let mut s = PageState::new(&["backend"]);
        for n in 0..LOG_LINES + 50 {
            let changes = s.apply(&log(n), n as f64);
            assert!(matches!(&changes[..], [Change::Log { row, .. }] if row == "backend"));
        }
        let snap = s.snapshot();
        let lines = snap["logs"]["backend"].as_array().unwrap();
        assert_eq!(lines.len(), LOG_LINES);
        assert_eq!(lines[0]["line"], "line 50");
        assert_eq!(
            lines[LOG_LINES - 1]["line"],
            format!("line {}", LOG_LINES + 49)
        );
    }

    #[test]
    fn a_secret_a_container_prints_never_leaves_the_page() {
        use crate::pipeline::event::Reporter;
        use crate::project::model::ServiceName;
        use crate::project::secrets::SecretValue;
        let page = super::super::Page::new(&[ServiceName::Backend]);
        page.mask(&[SecretValue::new("s3cr\"et-value"), SecretValue::new("abc")]);
        let (_, mut rx) = page.subscribe();
        let leak = Event::Attach(AttachEvent::Log(LogEvent::Line(Line {
            service: "backend".into(),
            pod: "backend-1".into(),
            container: "backend".into(),
            time: None,
            line: "DATABASE_URL=postgresql://todo:s3cr\"et-value@postgres/todo abc".into(),
            previous: false,
        })));
        page.report(&leak);
        let sent = rx.try_recv().unwrap();
        assert_eq!(sent.kind, "log");
        assert!(!sent.data.contains("s3cr"), "{}", sent.data);
        assert!(
            sent.data.contains("todo:<redacted>@postgres"),
            "{}",
            sent.data
        );
        // Too short to mask without masking words.
        assert!(sent.data.contains(" abc"), "{}", sent.data);
        let snapshot = page.snapshot();
        assert!(!snapshot.data.contains("s3cr"), "{}", snapshot.data);
    }
}
