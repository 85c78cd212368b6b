//! kube-proxy: where its configuration lives, how to edit it losslessly, and what to change.

pub mod config;
pub mod edit;
pub mod locate;
pub mod plan;
