//! lbctl: get MetalLB working in L2 mode on bare-metal Kubernetes, and prove it works.
//!
//! Layout: `cli` holds the flag definitions, `commands` one orchestration file per subcommand,
//! and the pure rules live in their domain modules; I/O stays at the edges (`kube`).

pub mod bundle;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod error;
pub mod facts;
pub mod interrupt;
pub mod invocation;
pub mod k8s_status;
pub mod kube;
pub mod kubeproxy;
pub mod metallb;
pub mod names;
pub mod net;
pub mod output;
pub mod output_path;
pub mod panic_exit;
pub mod permissions;
pub mod progress;
pub mod report;
pub mod verbose;

pub use error::{Error, ExitCode, Result};
