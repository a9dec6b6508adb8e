//! Starting a project: the reference app written out (`init`), or a
//! `todo-dev.yaml` for an existing repository (`init --detect`).

pub mod app;
pub mod detect;
