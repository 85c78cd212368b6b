//! The completion scripts in `completions/` and the man pages in `man/` are generated from the
//! CLI definition and committed. This test fails when they are stale; regenerate them with
//! `LBCTL_REGENERATE=1 cargo test --test generated_files`.

use std::path::PathBuf;

use lbctl::commands::{completions, man};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_or_write(path: PathBuf, expected: &str, stale: &mut Vec<String>) {
    if std::env::var_os("LBCTL_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual != expected {
        stale.push(path.strip_prefix(root()).unwrap().display().to_string());
    }
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let mut stale = Vec::new();
    for shell in completions::SHELLS {
        let path = root()
            .join("completions")
            .join(completions::file_name(shell));
        check_or_write(path, &completions::script(shell), &mut stale);
    }
    for (name, page) in man::all_pages() {
        check_or_write(root().join("man").join(name), &page, &mut stale);
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}\nregenerate with: LBCTL_REGENERATE=1 cargo test --test generated_files",
        stale.join(", ")
    );
}

#[test]
fn no_stray_man_pages() {
    // A removed subcommand must not leave its page behind.
    let expected: Vec<String> = man::all_pages().into_iter().map(|(n, _)| n).collect();
    let Ok(entries) = std::fs::read_dir(root().join("man")) else {
        return;
    };
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            expected.contains(&name),
            "man/{name} belongs to no subcommand; delete it"
        );
    }
}

/// docs/permissions.md shows each command's Role/ClusterRole as `lbctl::permissions` renders
/// its one list.
#[test]
fn documented_permissions_are_fresh() {
    let path = root().join("docs/permissions.md");
    let actual = std::fs::read_to_string(&path).unwrap();
    let expected = lbctl::permissions::refresh_docs(&actual).unwrap_or_else(|e| panic!("{e}"));
    let mut stale = Vec::new();
    check_or_write(path, &expected, &mut stale);
    assert!(
        stale.is_empty(),
        "docs/permissions.md differs from src/permissions/mod.rs\nregenerate with: LBCTL_REGENERATE=1 cargo test --test generated_files"
    );
}
