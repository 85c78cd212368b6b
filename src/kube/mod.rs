//! The Kubernetes edge: building a client from kubeconfig/context and turning API errors into
//! errors a user can act on.

pub mod access;
pub mod apply;
pub mod changes;
pub mod client;
pub mod deadline;
pub mod erased;
pub mod errors;
pub mod in_flight;
pub mod request_log;
pub mod rollout;
pub mod wait;

pub use client::{ClusterTarget, ConnectOptions, connect};
pub use erased::typed;
pub use errors::api_error;
