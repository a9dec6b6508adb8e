//! The cluster side: the minikube CLI and which kube context is safe to use.

pub mod access;
pub mod bring_up;
pub mod context;
pub mod forward;
pub mod kube;
pub mod logs;
pub mod minikube;
pub mod nodes;
