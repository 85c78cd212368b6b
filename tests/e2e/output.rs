//! What the real binary prints for `-o json` when it fails, and `--color` on clap's own output.
//! Under `-o json` every failure is one error document on stdout (the check report's envelope
//! with an `error`), nothing else; stderr keeps the human lines.

use crate::support::{Cluster, Sim, output_text};
use serde_json::{Value, json};

/// lbctl with no kubeconfig of the caller's and no colour settings of the caller's.
fn lbctl(home: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_lbctl"));
    cmd.env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env("HOME", home)
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// Asserts the run exited `code` with exactly one JSON error document on stdout saying so, and
/// the human error on stderr; returns the document.
fn assert_error_document(out: &std::process::Output, code: i32) -> Value {
    let (stdout, stderr) = output_text(out);
    assert_eq!(out.status.code(), Some(code), "{stdout}\n{stderr}");
    let mut docs = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let doc = docs
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout; stderr:\n{stderr}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(docs.next().is_none(), "more than one document: {stdout}");
    assert_eq!(doc["result"], "error", "{doc}");
    assert_eq!(doc["exitCode"], code, "{doc}");
    assert_eq!(doc["schemaVersion"], 1, "{doc}");
    assert_eq!(doc["tool"]["name"], "lbctl", "{doc}");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{doc}");
    // Clap's message may wrap on stderr; its start is on the `error:` line.
    let start: String = message.chars().take(40).collect();
    assert!(
        stderr.contains(&start),
        "stderr keeps the message:\n{stderr}"
    );
    doc
}

#[test]
fn usage_errors_from_clap_are_one_json_document() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["-o", "json", "doctor", "--bogus"][..],
        &["doctor", "--output=json", "--fail-on", "sometimes"],
        &["preflight", "-ojson", "--wait", "soon"],
        &["--output", "json"],
    ] {
        let out = lbctl(home.path()).args(args).output().unwrap();
        let doc = assert_error_document(&out, 2);
        let command = args.iter().find(|a| ["doctor", "preflight"].contains(a));
        assert_eq!(doc["command"].as_str(), command.copied(), "{args:?}: {doc}");
        assert!(
            doc["error"]["hint"].as_str().unwrap().contains("--help"),
            "{doc}"
        );
    }
    let out = lbctl(home.path())
        .args(["-o", "json", "doctor", "--bogus"])
        .output()
        .unwrap();
    let doc = assert_error_document(&out, 2);
    assert_eq!(
        doc["error"]["message"],
        "unexpected argument '--bogus' found"
    );
    // Help is no failure: it stays text, on stdout, exit 0.
    let out = lbctl(home.path())
        .args(["-o", "json", "doctor", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: lbctl doctor"));
}

/// kubectl users write `-n` before the command; lbctl refuses it there (exit 2, nothing
/// contacted) and says where it goes, in text and in the JSON error's hint.
#[test]
fn an_option_given_before_its_command_is_refused_with_where_it_goes() {
    let home = tempfile::tempdir().unwrap();
    let out = lbctl(home.path())
        .args(["-n", "metallb", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "'-n' is an option of 'doctor': put it after the command, e.g. 'lbctl doctor -n ...'"
        ),
        "{stderr}"
    );
    let out = lbctl(home.path())
        .args(["-o", "json", "--namespace=metallb", "uninstall"])
        .output()
        .unwrap();
    let doc = assert_error_document(&out, 2);
    let hint = doc["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("'lbctl uninstall --namespace ...'"), "{doc}");
    // An option no command has gets clap's own error only.
    let out = lbctl(home.path())
        .args(["-n", "x", "version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("tip:"));
}

#[test]
fn kubeconfig_problems_are_one_json_document() {
    let home = tempfile::tempdir().unwrap();
    let garbage = home.path().join("garbage");
    std::fs::write(&garbage, "clusters: [this is not: a kubeconfig").unwrap();
    let missing = home.path().join("missing");
    for (args, words) in [
        (vec!["doctor"], "no kubeconfig found"),
        (
            vec!["doctor", "--kubeconfig", missing.to_str().unwrap()],
            "does not exist",
        ),
        (
            vec!["install", "--kubeconfig", garbage.to_str().unwrap()],
            "kubeconfig",
        ),
    ] {
        let out = lbctl(home.path())
            .args(["-o", "json"])
            .args(&args)
            .output()
            .unwrap();
        let doc = assert_error_document(&out, 3);
        assert_eq!(doc["command"], args[0], "{doc}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{args:?}: {doc}");
        assert!(doc["error"]["hint"].is_string(), "{doc}");
        if args.contains(&"--kubeconfig") && args[2] == missing.to_str().unwrap() {
            // The way out, not `kubectl config view` of a file that is not there.
            let hint = doc["error"]["hint"].as_str().unwrap();
            assert!(
                hint.contains("existing kubeconfig with --kubeconfig FILE"),
                "{doc}"
            );
        }
    }
}

#[test]
fn unknown_context_bad_pool_and_unreachable_cluster_are_one_json_document() {
    let cluster = Cluster::start(Sim::scenario("kubeadm-iptables"));
    let out = cluster
        .lbctl()
        .args(["-o", "json", "--context", "nope", "doctor"])
        .output()
        .unwrap();
    let doc = assert_error_document(&out, 3);
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("nope"),
        "{doc}"
    );

    let out = cluster
        .lbctl()
        .args(["-o", "json", "install", "--pool", "10.0.0.300"])
        .output()
        .unwrap();
    let doc = assert_error_document(&out, 2);
    assert_eq!(doc["command"], "install");
    assert!(doc["error"]["hint"].is_string(), "{doc}");

    // A port nothing listens on: the kubeconfig's server with another port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let re = regex::Regex::new(r"server: https://[^\s]+").unwrap();
    let unreachable = cluster.dir().join("unreachable");
    let server = format!("server: https://127.0.0.1:{port}");
    std::fs::write(&unreachable, re.replace(&text, server.as_str()).as_ref()).unwrap();
    let out = lbctl(cluster.dir())
        .arg("--kubeconfig")
        .arg(&unreachable)
        .args(["-o", "json", "uninstall"])
        .output()
        .unwrap();
    let doc = assert_error_document(&out, 3);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{doc}"
    );
}

#[test]
fn a_command_that_prints_its_own_result_with_the_error_gets_no_second_document() {
    let sim = Sim::scenario("kubeadm-iptables")
        .setting("podsNeverReady", json!(["kube-system/kube-proxy"]));
    let Some(cluster) = Cluster::sim_only("a_command_that_prints_its_own_result", sim) else {
        return;
    };
    let out = cluster
        .lbctl()
        .args(["-o", "json", "enable-strictarp", "--timeout", "2s"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(docs.len(), 1, "{stdout}");
    assert_eq!(docs[0]["kind"], "EnableStrictARPResult");
    assert!(docs[0]["error"]["message"].is_string(), "{stdout}");
}

#[test]
fn install_dry_run_in_json_is_a_kubernetes_list() {
    let home = tempfile::tempdir().unwrap();
    let out = lbctl(home.path())
        .args([
            "install",
            "--dry-run",
            "-o",
            "json",
            "--pool",
            "192.168.77.240/28",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    // The same objects, in the same order, as the YAML stream.
    let yaml = lbctl(home.path())
        .args(["install", "--dry-run", "--pool", "192.168.77.240/28"])
        .output()
        .unwrap();
    let yaml_kinds: Vec<String> = String::from_utf8(yaml.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("kind: ").map(str::to_string))
        .collect();
    assert_eq!(kinds, yaml_kinds);
    assert_eq!(kinds.first(), Some(&"Namespace"));
    assert_eq!(kinds.last(), Some(&"L2Advertisement"));
}

const ESC: &str = "\x1b[";

#[test]
fn color_never_and_no_color_reach_clap_errors_and_help() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = lbctl(home.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        output_text(&out)
    };
    // CLICOLOR_FORCE makes clap colour even without a terminal, as on a CI log.
    let force = [("CLICOLOR_FORCE", "1")];
    let (_, err) = run(&["doctor", "--bogus"], &force);
    assert!(
        err.contains(ESC),
        "clap colours here unless told not to: {err:?}"
    );
    let (_, err) = run(&["--color", "never", "doctor", "--bogus"], &force);
    assert!(!err.contains(ESC), "{err:?}");
    let (_, err) = run(&["doctor", "--bogus", "--color=never"], &force);
    assert!(!err.contains(ESC), "{err:?}");
    let (help, _) = run(&["doctor", "--help", "--color", "never"], &force);
    assert!(help.contains("Usage:") && !help.contains(ESC), "{help:?}");
    let (_, err) = run(
        &["doctor", "--bogus"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!err.contains(ESC), "{err:?}");
    // --color always colours clap's output even into a pipe, as it does lbctl's.
    let (_, err) = run(&["--color", "always", "doctor", "--bogus"], &[]);
    assert!(err.contains(ESC), "{err:?}");
    let (help, _) = run(&["--color=always", "doctor", "--help"], &[]);
    assert!(help.contains(ESC), "{help:?}");
}
