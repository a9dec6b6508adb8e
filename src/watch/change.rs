//! Change sets: what changed for one service, and what to do about it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::project::model::ServiceName;

use super::scope::WatchScope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Every changed path falls under the service's `sync` rules: copy them
    /// into the running pods.
    Sync,
    /// Anything else: build the new content tag and roll it out.
    Rebuild,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Sync => "sync",
            Action::Rebuild => "rebuild",
        }
    }
}

/// One service's net change after a quiet period.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    pub service: ServiceName,
    pub action: Action,
    /// Relative to the project root, '/'-separated, sorted.
    pub paths: Vec<String>,
    /// Absolute, same order as `paths`.
    pub abs_paths: Vec<PathBuf>,
    /// The first and last file events (for this service) the set coalesced.
    pub first_event_at: SystemTime,
    pub last_event_at: SystemTime,
    pub decided_at: SystemTime,
}

impl ChangeSet {
    /// The `watch.change` line of `--json` output (keys in this order).
    pub fn json_line(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            event: &'static str,
            service: &'static str,
            action: &'static str,
            paths: &'a [String],
            first_event_at: f64,
            last_event_at: f64,
            decided_at: f64,
        }
        json_line(&Line {
            event: "watch.change",
            service: self.service.as_str(),
            action: self.action.as_str(),
            paths: &self.paths,
            first_event_at: unix_seconds(self.first_event_at),
            last_event_at: unix_seconds(self.last_event_at),
            decided_at: unix_seconds(self.decided_at),
        })
    }
}

/// One JSON line; these event shapes always serialize.
pub fn json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Unix seconds with microseconds, as a float (for latency measured from outside).
pub fn unix_seconds(t: SystemTime) -> f64 {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (d.as_micros() as f64) / 1e6
}

/// When the events that touched a service came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTimes {
    pub first: SystemTime,
    pub last: SystemTime,
}

impl EventTimes {
    pub fn at(t: SystemTime) -> EventTimes {
        EventTimes { first: t, last: t }
    }

    pub fn extend(&mut self, t: SystemTime) {
        self.first = self.first.min(t);
        self.last = self.last.max(t);
    }
}

/// One change set per service that sees any of `changed`; sync when its
/// rules cover every one of its paths, else rebuild.
pub fn decide(
    scope: &WatchScope,
    changed: &BTreeSet<PathBuf>,
    times: &BTreeMap<ServiceName, EventTimes>,
    window: EventTimes,
    decided_at: SystemTime,
) -> Vec<ChangeSet> {
    let mut out = Vec::new();
    for service in &scope.services {
        let mut paths: Vec<(String, PathBuf)> = changed
            .iter()
            .filter(|p| service.sees(p))
            .map(|p| (scope.display(p), p.clone()))
            .collect();
        if paths.is_empty() {
            continue;
        }
        paths.sort();
        let action = if paths.iter().all(|(_, p)| service.syncs(p)) {
            Action::Sync
        } else {
            Action::Rebuild
        };
        // A rescan finds changes no event of this service announced.
        let t = times.get(&service.name).copied().unwrap_or(window);
        out.push(ChangeSet {
            service: service.name,
            action,
            paths: paths.iter().map(|(d, _)| d.clone()).collect(),
            abs_paths: paths.into_iter().map(|(_, p)| p).collect(),
            first_event_at: t.first,
            last_event_at: t.last,
            decided_at,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_json_line_has_the_documented_keys_in_order_and_microsecond_times() {
        let at = |micros: u64| SystemTime::UNIX_EPOCH + Duration::from_micros(micros);
        let set = ChangeSet {
            service: ServiceName::Backend,
            action: Action::Sync,
            paths: vec!["backend/app/main.py".into()],
            abs_paths: vec![PathBuf::from("/p/backend/app/main.py")],
            first_event_at: at(1_700_000_000_000_001),
            last_event_at: at(1_700_000_000_050_000),
            decided_at: at(1_700_000_000_150_250),
        };
        assert_eq!(
            set.json_line(),
            r#"{"event":"watch.change","service":"backend","action":"sync","paths":["backend/app/main.py"],"firstEventAt":1700000000.000001,"lastEventAt":1700000000.05,"decidedAt":1700000000.15025}"#
        );
    }
}
