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
    let mut report = VersionReport::client_only();
    if !args.client {
        match server_version(global).await {
            Ok(v) => report.server_version = Some(v),
            Err(e) => report.server_error = Some(e),
        }
    }
    if is_json(global.output) {
        print_json(&report);
    } else {
        print!("{}", report.text(|s| s.dimmed().to_string()));
    }
    Ok(ExitCode::Ok)
}

impl VersionReport {
    /// The report as `lbctl version` prints it; `dim` styles the reason a server version is
    /// missing (plain text for a file).
    pub fn text(&self, dim: impl Fn(&str) -> String) -> String {
        let mut out = format!(
            "lbctl:   v{}\nMetalLB: {} (embedded)\n",
            self.lbctl_version, self.metallb_version
        );
        match (&self.server_version, &self.server_error) {
            (Some(v), _) => out.push_str(&format!("Server:  {v}\n")),
            (None, Some(e)) => out.push_str(&format!(
                "Server:  {}\n",
                dim(&format!("unavailable ({e})"))
            )),
            (None, None) => {}
        }
        out
    }

    /// This lbctl's versions alone, no server line (`--client`; a bundle without a cluster).
    pub fn client_only() -> VersionReport {
        VersionReport {
            server_error: None,
            ..VersionReport::with_server(None)
        }
    }

    /// This lbctl's versions with the server version doctor read (`None`: not read).
    pub fn with_server(server_version: Option<String>) -> VersionReport {
        VersionReport {
            lbctl_version: env!("CARGO_PKG_VERSION"),
            metallb_version: metallb::VERSION,
            server_error: server_version.is_none().then(|| "not read".to_string()),
            server_version,
        }
    }
}

async fn server_version(global: &GlobalArgs) -> std::result::Result<String, String> {
    let mut global = global.clone();
    // `version` must stay quick when no cluster is around.
    global.request_timeout.get_or_insert(Duration::from_secs(5));
    let target = crate::kube::connect(&global)
        .await
        .map_err(|e| e.to_string())?;
    let info = target
        .client
        .apiserver_version()
        .await
        .map_err(|e| crate::kube::errors::version_error(&target, e).to_string())?;
    Ok(info.git_version)
}
