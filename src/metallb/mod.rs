//! MetalLB: the version lbctl embeds and installs.

/// The MetalLB release whose manifests are built into this binary.
pub const VERSION: &str = "v0.16.1";
