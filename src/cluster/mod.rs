//! The cluster side: the minikube CLI and which kube context is safe to use.

pub mod context;
pub mod kube;
pub mod minikube;
