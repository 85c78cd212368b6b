//! Link settings of the release binary (docs/benchmarks.md, "Build time and binary size").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if std::env::var("PROFILE").as_deref() == Ok("release") && links_with_rust_lld() {
        // The linker folds identical functions: the monomorphized serde and drop code of types
        // with the same layout compiles to the same bytes (-0.6 MB). `safe` folds a third of
        // that: rustc does not mark which functions have their address taken.
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// Whether the binary is linked by the toolchain's own LLD, which knows `--icf`: the default on
/// x86_64 Linux since Rust 1.90. Not when another linker is configured (GNU ld has no `--icf`),
/// nor with an older rustc.
fn links_with_rust_lld() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("TARGET") != "x86_64-unknown-linux-gnu"
        || std::env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link")
    {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
