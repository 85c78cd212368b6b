//! MetalLB: the version lbctl embeds and installs, its resource kinds, and the objects of an
//! installation rendered from [`render::RenderOptions`].

pub mod answering;
pub mod crds;
pub mod election;
pub mod existing;
pub mod pools;
pub mod rbac;
pub mod render;
pub mod speaker;
pub mod steps;
pub mod strict;
pub mod waits;
pub mod webhook;
pub mod webhook_health;
pub mod workloads;

pub use render::{Phase, RenderOptions, Rendered, render};

/// The MetalLB release whose manifests are built into this binary.
pub const VERSION: &str = "v0.16.1";
