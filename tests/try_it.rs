//! `scripts/try-it`, the README's one-command tour on kube-sim: the journey's exit code and key
//! lines, and that kube-sim and its files are gone afterwards, also after Ctrl-C.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The kube-sim binary beside lbctl's; built when this test binary was built alone.
fn kube_sim() -> PathBuf {
    let lbctl = Path::new(env!("CARGO_BIN_EXE_lbctl"));
    let path = lbctl.with_file_name(format!("kube-sim{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--locked", "-p", "kube-sim"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p kube-sim: {status}");
    }
    path
}

/// The script with these binaries, its temporary files in `tmp`, in a process group of its
/// own (as a terminal's foreground job is, so Ctrl-C can reach all of it).
fn try_it(tmp: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/try-it"));
    cmd.env("LBCTL", env!("CARGO_BIN_EXE_lbctl"))
        .env("KUBE_SIM", kube_sim())
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .process_group(0);
    cmd
}

/// The address kube-sim served on, from the tour's first line.
fn served_on(first_line: &str) -> String {
    let url = first_line
        .strip_prefix("kube-sim serving on https://")
        .unwrap_or_else(|| panic!("first line: {first_line}"));
    url.split_whitespace().next().unwrap().to_string()
}

fn assert_cleaned_up(tmp: &Path, address: &str) {
    assert!(
        TcpStream::connect(address).is_err(),
        "kube-sim still serves on {address}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_tour_runs_the_journey_and_stops_kube_sim() {
    let tmp = tempfile::tempdir().unwrap();
    let out: Output = try_it(tmp.path()).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // Each step as typed, then its output, in the journey's order.
    let mut rest = stdout.as_str();
    for key in [
        "$ lbctl preflight --nodes all --no-probe --pool 192.168.77.240-192.168.77.250",
        "kube-proxy runs in IPVS mode with strictARP false",
        "result: FAIL (exit 1)",
        "$ lbctl enable-strictarp\n",
        "[done] kube-proxy runs IPVS with strictARP.",
        "$ lbctl install --pool 192.168.77.240-192.168.77.250\n",
        "is installed and serving",
        "$ lbctl doctor --nodes all --no-probe",
        "result: pass (exit 0)",
        "kube-sim stopped",
    ] {
        let at = rest
            .find(key)
            .unwrap_or_else(|| panic!("{key:?} missing or out of order in:\n{stdout}"));
        rest = &rest[at + key.len()..];
    }
    assert_cleaned_up(tmp.path(), &served_on(stdout.lines().next().unwrap()));
}

#[test]
fn ctrl_c_stops_kube_sim_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = try_it(tmp.path()).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = served_on(&lines.next().unwrap().unwrap());
    // Ctrl-C in a terminal signals the whole foreground process group.
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    // Drain stdout so the script never blocks on a full pipe.
    for _ in lines {}
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_cleaned_up(tmp.path(), &address);
}

#[test]
fn a_kube_sim_that_does_not_start_is_exit_3_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = try_it(tmp.path())
        .env("KUBE_SIM", "false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kube-sim did not start"),
        "{out:?}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
