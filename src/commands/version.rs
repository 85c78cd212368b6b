//! `lbctl version`: the client version, the embedded MetalLB version and, when a cluster is
//! reachable, the server version. An unreachable cluster is reported, not fatal.

use std::time::Duration;

use colored::Colorize;
use serde::Serialize;

use crate::cli::{GlobalArgs, VersionArgs};
use crate::output::{is_json, print_json};
use crate::{ExitCode, Result, metallb};

/// The `-o json` schema of `lbctl version`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub lbctl_version: &'static str,
    pub metallb_version: &'static str,
    /// The API server's `gitVersion`, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Why the server version is missing, when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_error: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: &VersionArgs) -> Result<ExitCode> {
    let mut report = VersionReport {
        lbctl_version: env!("CARGO_PKG_VERSION"),
        metallb_version: metallb::VERSION,
        server_version: None,
        server_error: None,
    };
    if !args.client {
        match server_version(global).await {
            Ok(v) => report.server_version = Some(v),
            Err(e) => report.server_error = Some(e),
        }
    }
    if is_json(global.output) {
        print_json(&report);
    } else {
        println!("lbctl:   v{}", report.lbctl_version);
        println!("MetalLB: {} (embedded)", report.metallb_version);
        match (&report.server_version, &report.server_error) {
            (Some(v), _) => println!("Server:  {v}"),
            (None, Some(e)) => println!("Server:  {}", format!("unavailable ({e})").dimmed()),
            (None, None) => {}
        }
    }
    Ok(ExitCode::Ok)
}

async fn server_version(global: &GlobalArgs) -> std::result::Result<String, String> {
    let mut global = global.clone();
    // `version` must stay quick when no cluster is around.
    global.request_timeout.get_or_insert(Duration::from_secs(5));
    let target = crate::kube::connect(&global)
        .await
        .map_err(|e| e.to_string())?;
    let info = target.client.apiserver_version().await.map_err(|e| {
        crate::kube::api_error(
            e,
            crate::kube::errors::Request {
                verb: "get",
                resource: "/version",
                namespace: None,
            },
            &target.server,
            &target.context,
        )
        .to_string()
    })?;
    Ok(info.git_version)
}
