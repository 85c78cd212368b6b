//! lbctl as the kubectl plugin `kubectl-lbctl`: the real kubectl finds it on PATH and runs it,
//! and then every command line lbctl prints says `kubectl lbctl`; run as `lbctl` it still says
//! `lbctl`. Also the kubectl-style `-n/--namespace`, which kubectl passes to the plugin as it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{self, Sim};
use serde_json::Value;

/// A directory holding only `kubectl-lbctl`, a symlink to the built binary (as a user or krew
/// installs it), and the PATH that puts it first.
struct PluginDir {
    dir: tempfile::TempDir,
}

impl PluginDir {
    fn new() -> PluginDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_lbctl"),
            dir.path().join("kubectl-lbctl"),
        )
        .expect("symlink kubectl-lbctl");
        PluginDir { dir }
    }

    fn plugin(&self) -> PathBuf {
        self.dir.path().join("kubectl-lbctl")
    }

    fn path(&self) -> std::ffi::OsString {
        let rest = std::env::var_os("PATH").unwrap_or_default();
        std::env::join_paths(
            std::iter::once(self.dir.path().to_path_buf()).chain(std::env::split_paths(&rest)),
        )
        .expect("PATH")
    }

    /// `kubectl ARGS` with the plugin first on PATH, isolated like `Cluster::lbctl`.
    fn kubectl(&self, home: &Path, args: &[&str]) -> std::process::Output {
        assert_cmd::Command::new("kubectl")
            .env("PATH", self.path())
            .env_remove("KUBECONFIG")
            .env("HOME", home)
            .env("NO_COLOR", "1")
            .env("LANG", "C.UTF-8")
            .args(args)
            .timeout(Duration::from_secs(120))
            .output()
            .expect("kubectl runs")
    }
}

/// Every place `text` names an lbctl command line, with what precedes it: `lbctl install`
/// must read `kubectl lbctl install` under kubectl, and never so when run as `lbctl`.
fn command_lines(text: &str) -> Vec<(bool, String)> {
    let re = regex::Regex::new(
        r"(kubectl )?lbctl (preflight|enable-strictarp|install|doctor|explain|uninstall|probe|version)\b",
    )
    .unwrap();
    re.captures_iter(text)
        .map(|c| (c.get(1).is_some(), c[0].to_string()))
        .collect()
}

on_both_backends! {
fn kubectl_runs_the_plugin_and_it_names_itself_kubectl_lbctl(backend) {
    // No MetalLB yet: doctor fails, and its hints tell the user what to run.
    let Some(cluster) = Sim::scenario("kubeadm-ipvs").on(backend) else {
        return;
    };
    let plugin = PluginDir::new();
    let home = cluster.dir();
    let kubeconfig = cluster.kubeconfig().to_str().unwrap();

    let list = plugin.kubectl(home, &["plugin", "list"]);
    let (listed, _) = support::output_text(&list);
    assert!(
        listed.lines().any(|l| l.trim() == plugin.plugin().to_str().unwrap()),
        "kubectl plugin list finds {}:\n{listed}",
        plugin.plugin().display()
    );

    // kubectl passes --kubeconfig and every other flag after the plugin name through.
    let doctor = plugin.kubectl(
        home,
        &["lbctl", "doctor", "--kubeconfig", kubeconfig, "--no-probe"],
    );
    let (out, err) = support::output_text(&doctor);
    assert_eq!(doctor.status.code(), Some(1), "{out}\n{err}");
    assert!(out.starts_with("kubectl lbctl doctor on "), "{out}");
    assert!(out.contains("kubectl lbctl install"), "{out}");
    let lines = command_lines(&out);
    assert!(lines.iter().all(|(kubectl, _)| *kubectl), "{lines:?}\n{out}");

    // The same report as JSON: its hints are the same command lines.
    let json = plugin.kubectl(
        home,
        &["lbctl", "doctor", "--kubeconfig", kubeconfig, "--no-probe", "-o", "json"],
    );
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    let hints: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["hint"].as_str())
        .collect();
    assert!(hints.contains(&"kubectl lbctl install (or pass -n NAME when MetalLB runs elsewhere)"), "{hints:?}");

    // Help, usage errors and the version line.
    let help = plugin.kubectl(home, &["lbctl", "doctor", "--help"]);
    let (text, _) = support::output_text(&help);
    assert_eq!(help.status.code(), Some(0));
    assert!(text.contains("Usage: kubectl lbctl doctor [OPTIONS]"), "{text}");
    assert!(text.contains("Examples:\n  kubectl lbctl doctor\n"), "{text}");
    assert!(command_lines(&text).iter().all(|(kubectl, _)| *kubectl), "{text}");
    let top = plugin.kubectl(home, &["lbctl", "--help"]);
    assert!(support::output_text(&top).0.contains("Usage: kubectl lbctl [OPTIONS] <COMMAND>"));
    let bad = plugin.kubectl(home, &["lbctl", "doctor", "--bogus"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(support::output_text(&bad).1.contains("Usage: kubectl lbctl doctor [OPTIONS]"));
    let version = plugin.kubectl(home, &["lbctl", "version", "--client"]);
    assert_eq!(version.status.code(), Some(0));
    let version = plugin.kubectl(home, &["lbctl", "--version"]);
    assert_eq!(
        support::output_text(&version).0,
        format!("kubectl lbctl {}\n", env!("CARGO_PKG_VERSION"))
    );

    // -n reaches the plugin as it is: MetalLB's namespace for doctor.
    let elsewhere = plugin.kubectl(
        home,
        &["lbctl", "doctor", "--kubeconfig", kubeconfig, "--no-probe", "-n", "lb-elsewhere"],
    );
    let (out, _) = support::output_text(&elsewhere);
    assert!(out.contains("namespace lb-elsewhere does not exist"), "{out}");

    // Run directly, the same binary still calls itself lbctl.
    let direct = cluster.lbctl().args(["doctor", "--no-probe"]).output().unwrap();
    let (out, _) = support::output_text(&direct);
    assert_eq!(direct.status.code(), Some(1));
    assert!(out.starts_with("lbctl doctor on "), "{out}");
    let lines = command_lines(&out);
    assert!(!lines.is_empty() && lines.iter().all(|(kubectl, _)| !kubectl), "{lines:?}\n{out}");
    let help = cluster.lbctl().args(["doctor", "--help"]).output().unwrap();
    let (text, _) = support::output_text(&help);
    assert!(text.contains("Usage: lbctl doctor [OPTIONS]"), "{text}");
    assert!(!text.contains("kubectl lbctl"), "{text}");
}
}

on_both_backends! {
fn explain_without_n_looks_in_the_contexts_namespace(backend) {
    let Some(cluster) = Sim::scenario("metallb-healthy").on(backend) else {
        return;
    };
    let explain = |args: &[&str]| {
        let out = cluster
            .lbctl()
            .args(["explain", "--no-probe"])
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = support::output_text(&out);
        (out.status.code(), format!("{stdout}{stderr}"))
    };
    // Service web lives in default, the namespace of a context that names none.
    let (code, text) = explain(&["web"]);
    assert_ne!(code, Some(2), "{text}");

    // As kubectl does, a context's namespace becomes the default.
    let set = cluster
        .kubectl()
        .args(["config", "set-context", "--current", "--namespace", "kube-system"])
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");
    let (code, text) = explain(&["web"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("service kube-system/web not found"), "{text}");
    let (code, text) = explain(&["web", "-n", "default"]);
    assert_ne!(code, Some(2), "{text}");
    let (code, text) = explain(&["web", "--namespace", "Not_A_Name"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not a valid namespace name"), "{text}");
}
}
