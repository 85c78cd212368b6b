//! `lbctl install` input errors: caught before any cluster contact (exit 2, nothing written).
//! The kubeconfig points at a port nobody listens on, so any request would fail with exit 3.

use assert_cmd::Command;

fn lbctl(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("lbctl").unwrap();
    cmd.env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(crate::support::closed_port_kubeconfig(dir.path()));
    cmd
}

#[test]
fn the_users_file_in_namespace_system_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/install/wrong-namespace.yaml"
    );
    let out = lbctl(&dir)
        .args(["install", "--config", fixture])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is in namespace \"system\", but MetalLB objects must be in the MetalLB namespace \"metallb-system\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("set `namespace: metallb-system`"),
        "{stderr}"
    );
    assert!(stderr.contains("--metallb-namespace system"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_same_file_is_accepted_for_namespace_system_in_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/install/wrong-namespace.yaml"
    );
    let out = lbctl(&dir)
        .args([
            "--metallb-namespace",
            "system",
            "install",
            "--dry-run",
            "--config",
            fixture,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("name: my-metallb-config"));
    assert!(!stdout.contains("metallb-system"));
}

#[test]
fn bad_pools_and_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["install", "--pool", "10.0.0.9-10.0.0.1"][..],
        &["install", "--pool", "10.0.0.1", "--pool-name", "No_Caps"],
        &["install", "--speaker-node-selector", "novalue"],
        &["install", "--speaker-tolerations", "x:Sometimes"],
        &["install", "--registry", "https://mirror"],
        &["--metallb-namespace", "Bad_NS", "install"],
        &["install", "--pool", "10.0.0.1", "--config", "x.yaml"],
    ] {
        let out = lbctl(&dir).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dry_run_prints_only_yaml_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = lbctl(&dir)
        .args([
            "install",
            "--dry-run",
            "--pool",
            "10.0.0.10-10.0.0.20",
            "--registry",
            "mirror.local/mlb",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_str_multiple(&text).unwrap();
    let docs: Vec<_> = docs.into_iter().filter(|d| !d.is_null()).collect();
    // 26 MetalLB objects + the pool + its L2Advertisement.
    assert_eq!(docs.len(), 28);
    assert!(
        docs.iter()
            .all(|d| d["kind"].is_string() && d["apiVersion"].is_string())
    );
    assert!(text.contains("image: mirror.local/mlb/speaker:v0.16.1"));
    assert_eq!(docs[27]["kind"], "L2Advertisement");
}

/// A `--config` that cannot be read (missing, a directory) is bad input, exit 2, as for
/// preflight: it names the file and says what to pass.
#[test]
fn an_unreadable_config_is_bad_input_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (command, path) in [
        ("install", dir.path().join("missing.yaml")),
        ("install", dir.path().to_path_buf()),
        ("preflight", dir.path().join("missing.yaml")),
    ] {
        let out = lbctl(&dir)
            .arg(command)
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command} {}: {stderr}",
            path.display()
        );
        assert!(
            stderr.contains(&format!("cannot read --config {}", path.display())),
            "{stderr}"
        );
        assert!(stderr.contains("hint: pass a YAML file"), "{stderr}");
    }
}

/// A closed port is "could not run" (exit 3): the report says LB101 could not reach the server
/// and the last line does not send the user to fix failed checks that do not exist.
#[test]
fn a_closed_port_is_exit_3_without_talk_of_failed_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = lbctl(&dir)
        .args(["install", "--no-probe", "--timeout", "20s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("LB101"), "{stdout}");
    assert!(!stdout.contains("Fix the failed checks"), "{stdout}");
    assert!(
        stdout.contains("Nothing was written: a check could not run."),
        "{stdout}"
    );
}
