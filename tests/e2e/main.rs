//! The end-to-end tests: one test binary (one link, one place for the harness) with a module
//! per command or concern, all over `tests/support`. The network-namespace tests stay binaries
//! of their own (`tests/netns_*.rs`): they need root and re-run themselves inside namespaces.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod closed_pipe;
mod cluster_fixtures;
mod doctor;
mod doctor_bundle;
mod enable_strictarp;
mod explain;
mod install;
mod install_input;
mod kubectl_plugin;
mod nodes;
mod output;
mod permissions;
mod preflight;
mod refused_input;
mod restricted_users;
mod verbose;
