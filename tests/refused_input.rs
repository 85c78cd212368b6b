//! Input every command must refuse before it contacts the cluster (exit 2, nothing written), with
//! a message a user can act on. The kubeconfig points at a port nobody listens on: a request
//! would end in exit 3, so exit 2 also proves that nothing was sent.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn closed_port_kubeconfig(dir: &Path) -> PathBuf {
    // Bind and drop: the port stays closed for the test's lifetime with high probability.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    path
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn lbctl(dir: &tempfile::TempDir, args: &[&str]) -> Run {
    let out = Command::cargo_bin("lbctl")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(closed_port_kubeconfig(dir.path()))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit 2 with every `wanted` piece in the message, nothing on stdout.
fn refused(dir: &tempfile::TempDir, args: &[&str], wanted: &[&str]) -> String {
    let run = lbctl(dir, args);
    assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
    for piece in wanted {
        assert!(
            run.stderr.contains(piece),
            "{args:?}: {piece:?} not in:\n{}",
            run.stderr
        );
    }
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    run.stderr
}

#[test]
fn misspelled_config_fields_are_refused_with_object_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pools.yaml");
    std::fs::write(
        &config,
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lan\n  lables: {zone: a}\nspec:\n  addresses: [192.168.10.240/28]\n  autoassign: false\n  avoidBuggyIps: true\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: lan}\nspec:\n  nodeSelector:\n  - matchLabels: {rack: r1}\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let stderr = refused(
        &dir,
        &["install", "--config", config],
        &[
            "IPAddressPool \"lan\"",
            "unknown field \"metadata.lables\" (line 5)",
            "unknown field \"spec.autoassign\" (line 8)",
            "unknown field \"spec.avoidBuggyIps\" (line 9)",
            "nothing was written",
        ],
    );
    assert!(
        !stderr.contains("nodeSelector"),
        "one object at a time: {stderr}"
    );
    // The same file with the pool fixed: the advertisement's singular nodeSelector is named.
    let fixed = std::fs::read_to_string(config)
        .unwrap()
        .replace("  lables: {zone: a}\n", "")
        .replace("autoassign", "autoAssign")
        .replace("avoidBuggyIps", "avoidBuggyIPs");
    std::fs::write(config, fixed).unwrap();
    refused(
        &dir,
        &["install", "--dry-run", "--config", config],
        &["L2Advertisement \"lan\": unknown field \"spec.nodeSelector\" (line 14)"],
    );
}
