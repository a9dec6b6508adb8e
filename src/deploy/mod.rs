//! The deploy side: render the embedded manifests, apply them in order,
//! wait for rollouts and explain failures, prune and remove.

pub mod admission;
pub mod apply;
pub mod helm;
pub mod helm_tests;
pub mod immutable;
pub mod kinds;
pub mod plan;
pub mod pod_failure;
pub mod recreate;
pub mod render;
pub mod rollout;
pub mod secrets;
pub mod values;
