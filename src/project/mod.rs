//! `todo-dev.yaml` + profiles + `--set`: load, merge, validate.

pub mod error;
pub mod load;
pub mod model;
pub mod profiles;
pub mod schema;
pub mod secrets;
pub mod values;
mod yaml;

pub use error::ConfigError;
pub use load::{check_sources, load, LoadOptions};
pub use model::Project;

#[cfg(test)]
mod tests;
