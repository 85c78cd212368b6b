//! kube-proxy: where its configuration lives, how to edit it losslessly, and what to change.

pub mod config;
pub mod decide;
pub mod discover;
pub mod edit;
pub mod locate;
pub mod plan;
pub mod restart;
pub mod revert;
pub mod staleness;
pub mod update;
