//! `watch`: file events -> change sets -> actions.
//!
//! - `scope`: which directories get a watch and which paths each service
//!   sees (never-watched names, editor temp files, `.dockerignore`);
//!   `doctor` counts the same directories against the inotify limit.
//! - `watcher`: one watcher for all services, a non-recursive watch per
//!   directory, polling when the inotify limit is reached, and the loop that
//!   coalesces events (quiet for the debounce, capped at 2 s).
//! - `snapshot`: what each file held (the build stage's blake3), so a change
//!   set is the net difference.
//! - `change`: per service, `sync` when its rules cover every changed path,
//!   else `rebuild`.

pub mod change;
pub mod scope;
pub mod snapshot;
pub mod watcher;

pub use change::{Action, ChangeSet};
pub use scope::{ScopeError, WatchScope, NEVER_WATCHED};
pub use watcher::{start, LimitNotice, Ready, WatchError, WatchEvent, WatchOptions, Watcher};
