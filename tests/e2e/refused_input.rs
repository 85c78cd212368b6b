//! Input every command must refuse before it contacts the cluster (exit 2, nothing written), with
//! a message a user can act on. The kubeconfig points at a port nobody listens on: a request
//! would end in exit 3, so exit 2 also proves that nothing was sent.

use assert_cmd::Command;

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
        .arg(crate::support::closed_port_kubeconfig(dir.path()))
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
    // preflight reads `--config` by install's rules (before, it ignored the misspellings and
    // judged a pool that install would then refuse).
    refused(
        &dir,
        &["preflight", "--local", "--config", config],
        &["unknown field \"spec.autoassign\" (line 8)"],
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

/// Durations past any sensible deadline overflowed a clock (a panic reported as "cannot reach")
/// or reached a pod's activeDeadlineSeconds; counts had no ceiling.
#[test]
fn impossible_durations_and_counts_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--request-timeout", "18446744073709551615", "doctor"][..],
        &[
            "install",
            "--pool",
            "10.0.0.1",
            "--timeout",
            "18446744073709551615s",
        ],
        &["uninstall", "--timeout", "99999999999999999s"],
        &["enable-strictarp", "--timeout", "25h"],
        &["preflight", "--wait", "99999999999999999999"],
        &["doctor", "--wait", "400d"],
        &[
            "doctor",
            "--nodes",
            "all",
            "--node-timeout",
            "99999999999999999s",
        ],
        &["probe", "10.0.0.1", "--timeout", "18446744073709551615"],
    ] {
        let flag = args
            .iter()
            .find(|a| a.starts_with("--") && !["--pool", "--nodes"].contains(*a))
            .unwrap();
        let stderr = refused(&dir, args, &[flag, "longer than 24h", "30s, 5m or 1h"]);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("cannot reach"),
            "{stderr}"
        );
    }
    refused(
        &dir,
        &["doctor", "--nodes", "all", "--node-concurrency", "65535"],
        &["--node-concurrency", "1..=1000"],
    );
}

/// Names are checked as Kubernetes and registries check them, before any request: `a/b` used
/// to reach the API and come back as a `Status { .. }` dump.
#[test]
fn invalid_names_and_images_are_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["--metallb-namespace", "a/b", "doctor"],
            &["--metallb-namespace \"a/b\": not a valid namespace name"],
        ),
        (
            &["--metallb-namespace", "a/b", "uninstall"],
            &["--metallb-namespace \"a/b\""],
        ),
        (
            &[
                "install",
                "--registry",
                "UPPER CASE/!!",
                "--pool",
                "10.0.0.1",
            ],
            &["--registry \"UPPER CASE/!!\": not a registry path"],
        ),
        (
            &["install", "--registry", "quay.io/metallb:v1", "--dry-run"],
            &["--registry", "without a tag"],
        ),
        (
            &["preflight", "--nodes", "all", "--node-image", ""],
            &["--node-image \"\": not a valid image: it is empty"],
        ),
        (
            &[
                "doctor",
                "--nodes",
                "all",
                "--node-namespace",
                "Kube_System",
            ],
            &["--node-namespace \"Kube_System\": not a valid namespace name"],
        ),
        (
            &["install", "--pool", "10.0.0.1", "--pool-name", "my pool"],
            &["--pool-name \"my pool\": not a valid object name"],
        ),
    ];
    for (args, wanted) in cases {
        let stderr = refused(&dir, args, wanted);
        assert!(!stderr.contains("Status {"), "{stderr}");
    }
    // What is valid still gets through to the dry run.
    let run = lbctl(
        &dir,
        &[
            "install",
            "--dry-run",
            "--registry",
            "registry.local:5000/metallb/",
            "--pool",
            "10.0.0.1",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("image: registry.local:5000/metallb/controller:v0.16.1")
    );
}

/// Files written beside the report are checked before the cluster is contacted: a report
/// that cannot be saved is not worth a run (before, `--junit` in a missing directory failed
/// with exit 3 after all the checks had run).
#[test]
fn output_files_that_cannot_be_written_are_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/report.xml");
    let missing = missing.to_str().unwrap();
    let here = dir.path().to_str().unwrap();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["doctor", "--junit", missing],
            &["--junit", "no-such-dir does not exist"],
        ),
        (
            &["preflight", "--junit", missing],
            &["--junit", "does not exist"],
        ),
        (
            &["preflight", "--local", "--junit", here],
            &["--junit", "is a directory"],
        ),
        (
            &["doctor", "--bundle", here],
            &["--bundle", "is a directory"],
        ),
    ];
    for (args, wanted) in cases {
        refused(&dir, args, wanted);
    }
    assert!(!dir.path().join("no-such-dir").exists());
}

/// Messages are sentences about the user's input: long input is cut, YAML limits are named.
#[test]
fn long_input_is_shortened_and_yaml_limits_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let pool = "1".repeat(10_000);
    for args in [
        &["install", "--pool", pool.as_str()][..],
        &[
            "preflight",
            "--local",
            "--no-probe",
            "--pool",
            pool.as_str(),
        ],
        &["--metallb-namespace", pool.as_str(), "doctor"],
    ] {
        let stderr = refused(&dir, args, &["... (10000 characters)"]);
        assert!(stderr.len() < 1000, "{} characters: {stderr}", stderr.len());
    }
    let bomb = dir.path().join("bomb.yaml");
    std::fs::write(&bomb, "---\n".repeat(5000)).unwrap();
    let stderr = refused(
        &dir,
        &["install", "--config", bomb.to_str().unwrap()],
        &["documents, more than lbctl reads from one file"],
    );
    assert!(!stderr.contains("budget breached"), "{stderr}");
    assert!(!stderr.contains("Documents"), "{stderr}");
}

/// A request that outlives `--request-timeout` says so and how to allow more time, instead of
/// `ServiceError: client error (SendRequest)`.
#[test]
fn a_request_timeout_names_the_flag_sim_only() {
    use crate::support::{Cluster, Sim, output_text};
    let Some(cluster) = Cluster::sim_only("a stalled request", Sim::scenario("kubeadm-ipvs"))
    else {
        return;
    };
    cluster.sim().inject(kube_sim::Fault::latency(
        "GET",
        "/api/*",
        std::time::Duration::from_secs(3),
        100,
    ));
    let out = cluster
        .lbctl()
        .args(["--request-timeout", "1s", "uninstall", "--dry-run"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("did not answer in time"), "{stderr}");
    assert!(stderr.contains("--request-timeout"), "{stderr}");
    for internal in ["ServiceError", "SendRequest", "client error", "Status {"] {
        assert!(!stderr.contains(internal), "{internal}: {stderr}");
    }
}

/// `--ignore` with a real ID of another command says whose check it is, not "unknown".
#[test]
fn ignoring_a_check_the_command_does_not_run_says_whose_it_is() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &dir,
        &["doctor", "--ignore", "LB301"],
        &["LB301 is a check of lbctl preflight, which this command does not run"],
    );
    refused(
        &dir,
        &["preflight", "--local", "--ignore", "lb401"],
        &["LB401 is a check of lbctl doctor, which this command does not run"],
    );
    refused(
        &dir,
        &["install", "--pool", "10.0.0.1", "--ignore", "LB401"],
        &["LB401 is a check of lbctl doctor"],
    );
    let stderr = refused(
        &dir,
        &["doctor", "--ignore", "LB999"],
        &["unknown check ID \"LB999\""],
    );
    assert!(stderr.contains("this command runs LB101"), "{stderr}");
}

/// `--dry-run` is spelled the same by every command that has it: bare, or `=client`; a
/// server-side dry run a command does not have is refused, never taken for a real run.
#[test]
fn dry_run_is_spelled_the_same_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["uninstall", "enable-strictarp"] {
        for flag in ["--dry-run", "--dry-run=client"] {
            // Accepted: the run goes on to contact the (closed) cluster, exit 3.
            let run = lbctl(&dir, &[command, flag]);
            assert_eq!(run.code, Some(3), "{command} {flag}: {}", run.stderr);
        }
        refused(
            &dir,
            &[command, "--dry-run=server"],
            &["no server-side dry run"],
        );
    }
    let run = lbctl(&dir, &["install", "--dry-run=client", "--pool", "10.0.0.1"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}
