//! Rendering a run of checks: human text, JSON (`-o json`) and JUnit XML (`--junit FILE`).
//! Shared by every command that runs checks; nothing here knows which checks exist.

pub mod human;
pub mod junit;
pub mod strictarp;

use std::path::Path;

use serde::Serialize;

use crate::checks::{Check, Status, Summary};
use crate::facts::ClusterState;
use crate::{Error, ExitCode, Result};

/// Version of the JSON schema below; bump it on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a report shows. Serialised as-is for `-o json` (documented in docs/checks.md).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    /// The command that produced the report, e.g. `preflight`.
    pub command: String,
    pub tool: Tool,
    /// The cluster the checks ran against; `None` when no cluster was used.
    pub target: Option<Target>,
    pub checks: Vec<Check>,
    pub summary: Summary,
    /// One entry per node `--nodes` checked, in check order; absent without `--nodes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSummary>,
    /// `pass`, `fail` or `error`: the verdict the exit code encodes.
    pub result: &'static str,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn lbctl() -> Self {
        Tool {
            name: "lbctl".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// How one node fared in the node checks (`--nodes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    pub node: String,
    /// The worst status among its checks: fail, error, warn, pass, skip (in that order).
    pub status: Status,
    /// IDs of its checks that failed or could not run.
    pub failed: Vec<String>,
}

/// Per node, in order of first appearance: its worst status and the checks that failed there.
pub fn node_summaries(checks: &[Check]) -> Vec<NodeSummary> {
    let rank = |s: Status| match s {
        Status::Fail => 4,
        Status::Error => 3,
        Status::Warn => 2,
        Status::Pass => 1,
        Status::Skip => 0,
    };
    let mut out: Vec<NodeSummary> = Vec::new();
    for c in checks {
        let Some(node) = &c.node else { continue };
        let i = match out.iter().position(|n| &n.node == node) {
            Some(i) => i,
            None => {
                out.push(NodeSummary {
                    node: node.clone(),
                    status: Status::Skip,
                    failed: Vec::new(),
                });
                out.len() - 1
            }
        };
        let entry = &mut out[i];
        if rank(c.status) > rank(entry.status) {
            entry.status = c.status;
        }
        if matches!(c.status, Status::Fail | Status::Error) {
            entry.failed.push(c.id.clone());
        }
    }
    out
}

impl Report {
    /// Which nodes fail, for the human report's `nodes:` line and JUnit's `nodes` property:
    /// `3 checked; fail on w2 (LB201); error on w3 (LB200)`.
    pub fn nodes_line(&self) -> String {
        let mut line = format!("{} checked", self.nodes.len());
        let mut any = false;
        for status in [Status::Fail, Status::Error] {
            let bad: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| n.status == status)
                .map(|n| format!("{} ({})", n.node, n.failed.join(", ")))
                .collect();
            if !bad.is_empty() {
                any = true;
                line.push_str(&format!(
                    "; {} on {}",
                    status,
                    crate::checks::preflight::list(&bad, 20)
                ));
            }
        }
        if !any {
            line.push_str("; none failed");
        }
        line
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub server: String,
    pub context: String,
    /// `gitVersion` of the server, when it could be read.
    pub server_version: Option<String>,
}

impl Target {
    /// The cluster the facts were read from; `None` when it was not reached.
    pub fn of(cluster: &ClusterState) -> Option<Target> {
        match cluster {
            ClusterState::Reached(c) => Some(Target {
                server: c.server.clone(),
                context: c.context.clone(),
                server_version: c.version.as_ref().ok().map(|v| v.git_version.clone()),
            }),
            _ => None,
        }
    }
}

/// Writes `--junit FILE` when asked, then prints the report on stdout: the JSON document with
/// `json`, else the human report.
pub fn emit(report: &Report, json: bool, junit: Option<&Path>) -> Result<()> {
    if let Some(path) = junit {
        std::fs::write(path, junit::render(report))
            .map_err(|e| Error::io(format!("cannot write --junit {}", path.display()), e))?;
    }
    if json {
        crate::output::print_json(report);
    } else {
        print!("{}", human::render(report, human::Style::for_stdout()));
    }
    Ok(())
}

impl Report {
    /// Builds a report from judged checks and the exit code they give.
    pub fn new(
        command: &str,
        target: Option<Target>,
        checks: Vec<Check>,
        exit_code: ExitCode,
    ) -> Self {
        let summary = Summary::of(&checks);
        let nodes = node_summaries(&checks);
        let result = match exit_code {
            ExitCode::Ok => "pass",
            ExitCode::Failed => "fail",
            ExitCode::Usage
            | ExitCode::CannotRun
            | ExitCode::HungUp
            | ExitCode::Interrupted
            | ExitCode::Terminated => "error",
        };
        Report {
            schema_version: SCHEMA_VERSION,
            command: command.into(),
            tool: Tool::lbctl(),
            target,
            checks,
            summary,
            nodes,
            result,
            exit_code: exit_code.code(),
        }
    }

    /// The JSON document printed by `-o json`.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        crate::output::to_json(self)
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A report exercising every status, shared by the renderer tests.
    use super::*;
    use crate::checks::Status;

    fn check(id: &str, area: &str, status: Status, message: &str, hint: Option<&str>) -> Check {
        Check {
            id: id.into(),
            title: format!("title of {id}"),
            area: area.into(),
            status,
            message: message.into(),
            hint: hint.map(str::to_string),
            docs: crate::checks::model::docs_anchor(id),
            ignored: false,
            node: None,
            can_become_true: false,
        }
    }

    pub fn report() -> Report {
        let mut ignored = check(
            "LB203",
            "node",
            Status::Warn,
            "proxy_arp is 1 on eth0 (ignored fail: --ignore LB203)",
            Some("sysctl -w net.ipv4.conf.eth0.proxy_arp=0"),
        );
        ignored.ignored = true;
        let checks = vec![
            check("LB101", "cluster", Status::Pass, "reachable", None),
            check(
                "LB104",
                "kube-proxy",
                Status::Fail,
                "kube-proxy runs in IPVS mode without strictARP <& \"quoted\">",
                Some("lbctl enable-strictarp"),
            ),
            check(
                "LB105",
                "kube-proxy",
                Status::Skip,
                "skipped: LB104 failed",
                None,
            ),
            check(
                "LB110",
                "cluster",
                Status::Error,
                "cannot list nodes: forbidden",
                Some("kubectl auth can-i list nodes"),
            ),
            ignored,
        ];
        Report::new(
            "preflight",
            Some(Target {
                server: "https://127.0.0.1:6443".into(),
                context: "kind-kind".into(),
                server_version: Some("v1.36.0".into()),
            }),
            checks,
            ExitCode::Failed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_is_stable() {
        let mut report = sample::report();
        report.tool.version = "[version]".into();
        insta::assert_snapshot!(report.to_json());
    }
}
