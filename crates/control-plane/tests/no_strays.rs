//! No control-plane process outlives its test process, however that process ends: this test
//! runs the test binary itself for tests that start a cluster and then panic, or abort.

use control_plane::{ControlPlane, ControlPlaneOptions};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "LBCTL_CP_STRAY_CHILD";

fn child_mode() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

#[test]
#[ignore = "a child of no_process_or_directory_outlives_a_failed_test"]
fn child_panics_holding_a_cluster() {
    if child_mode().as_deref() != Some("panic") {
        return;
    }
    let _cp = ControlPlane::start(ControlPlaneOptions::default()).unwrap();
    panic!("deliberately, with a cluster running");
}

#[test]
#[ignore = "a child of no_process_or_directory_outlives_a_failed_test"]
fn child_aborts_holding_a_cluster() {
    if child_mode().as_deref() != Some("abort") {
        return;
    }
    let _cp = ControlPlane::start(ControlPlaneOptions::default()).unwrap();
    // No unwinding, no Drop, no atexit: only PR_SET_PDEATHSIG stands between the cluster and
    // a stray API server.
    std::process::abort();
}

/// Processes whose command line mentions the directories of test process `pid`.
fn processes_of(pid: u32) -> Vec<String> {
    let marker = format!("lbctl-cp-{pid}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&marker) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

fn directories_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("lbctl-cp-{pid}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[test]
fn no_process_or_directory_outlives_a_failed_test() {
    if control_plane::should_skip() {
        return;
    }
    for (mode, test) in [
        ("panic", "child_panics_holding_a_cluster"),
        ("abort", "child_aborts_holding_a_cluster"),
    ] {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, mode)
            .env_remove(control_plane::KEEP_ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success() && said.contains("lbctl-cp: cluster"),
            "the {mode} child should start a cluster and fail ({}):\n{said}",
            output.status
        );

        // SIGKILL is delivered at once, but the kernel takes a moment to tear processes down.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !processes_of(pid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            processes_of(pid),
            Vec::<String>::new(),
            "after the {mode} child exited"
        );

        let left = directories_of(pid);
        if mode == "panic" {
            // Drop removed the cluster's directory, the exit handler etcd's.
            assert_eq!(left, Vec::<PathBuf>::new(), "after the panic");
        } else {
            // Nothing ran at the abort: the next start removes what a dead process left.
            assert_eq!(
                left.len(),
                2,
                "the cluster's and etcd's directories: {left:?}"
            );
            let removed = control_plane::remove_leftovers();
            for dir in &left {
                assert!(
                    removed.contains(dir),
                    "{} not removed: {removed:?}",
                    dir.display()
                );
                assert!(!dir.exists());
            }
        }
    }
}
