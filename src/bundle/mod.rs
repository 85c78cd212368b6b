//! `lbctl doctor --bundle FILE.tar.gz`: a support bundle. Collection reads the cluster into
//! plain data ([`Contents`]: files and what could not be read), the redaction rules in
//! [`redact`] decide what of an object may be written, and [`archive`] writes the archive.
//! Nothing in a bundle is fatal to doctor except failing to write the archive itself.

pub mod archive;
pub mod collect;
pub mod redact;

use std::path::PathBuf;

use crate::output::ErrorMessage;

pub use archive::{Written, check_path, write};
pub use collect::collect;

/// Lines of each container's log (`--bundle-log-lines`'s default).
pub const DEFAULT_LOG_LINES: u32 = 2000;

/// The most bytes one log file keeps (its newest part); the line limit comes first.
pub const LOG_MAX_BYTES: usize = 4 * 1024 * 1024;

/// What `--bundle` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub path: PathBuf,
    /// `tailLines` of every log request.
    pub log_lines: u32,
}

/// One file of the bundle, its path relative to the bundle's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub data: Vec<u8>,
    /// Why the content is not complete (a log cut to its limits), for MANIFEST.txt.
    pub cut: Option<String>,
}

/// Something that could not be collected, and why (a 403 names the permission).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    pub reason: String,
}

/// Something read that has nothing in it (a kind with no objects, an empty log): no file, a
/// MANIFEST.txt line, so that "none exist" reads differently from "could not be read".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Empty {
    /// The file it would have been.
    pub path: String,
    pub what: String,
    /// What it had: `0 objects`, `0 lines`.
    pub had: &'static str,
}

/// Everything collected, in the order it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    pub files: Vec<File>,
    pub missing: Vec<Missing>,
    pub empty: Vec<Empty>,
    /// Why nothing was read from the cluster, when doctor could not read it at all (no usable
    /// kubeconfig, unreachable, credentials rejected): the error doctor printed and its hint.
    pub unreached: Option<ErrorMessage>,
}

impl Contents {
    pub fn file(&mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) {
        self.files.push(File {
            path: path.into(),
            data: data.into(),
            cut: None,
        });
    }

    pub fn missing(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.missing.push(Missing {
            what: what.into(),
            reason: reason.into(),
        });
    }

    /// The objects of one kind as a file, or an [`Empty`] line when there are none.
    pub fn objects(&mut self, path: impl Into<String>, what: impl Into<String>, yaml: String) {
        self.unless_empty(path, what, yaml.into_bytes(), None, "0 objects");
    }

    /// `data` as a file, or an [`Empty`] line (`had` says what it had) when there is none.
    pub fn unless_empty(
        &mut self,
        path: impl Into<String>,
        what: impl Into<String>,
        data: Vec<u8>,
        cut: Option<String>,
        had: &'static str,
    ) {
        let path = path.into();
        if data.is_empty() {
            self.empty.push(Empty {
                path,
                what: what.into(),
                had,
            });
        } else {
            self.files.push(File { path, data, cut });
        }
    }

    /// A bundle for a cluster doctor could not read: `report` (doctor's report as far as it
    /// got, or the error document `-o json` prints), lbctl's own versions, and why nothing
    /// else is in it.
    pub fn unreached(report: String, why: ErrorMessage) -> Contents {
        let mut contents = Contents::default();
        contents.file("report.json", report);
        contents.file(
            "version.txt",
            crate::commands::version::VersionReport::client_only().text(str::to_string),
        );
        contents.missing(
            "everything read from the cluster (the server version, MetalLB's objects and logs, \
events, nodes, Services, kube-proxy)",
            "doctor could not read the cluster (see above)",
        );
        contents.unreached = Some(why);
        contents
    }
}

/// The bundle's directory: `lbctl-bundle-20250102T030405Z`.
pub fn root_name(at: jiff::Timestamp) -> String {
    format!("lbctl-bundle-{}", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// What `--nodes` gathered, one file per node: the facts its node-check pod reported, or why
/// there are none.
pub fn node_facts(states: &[(String, crate::facts::NodeState)]) -> Vec<File> {
    use crate::facts::NodeState;
    states
        .iter()
        .map(|(node, state)| {
            let value = match state {
                NodeState::Remote { facts, .. } | NodeState::Local { facts, .. } => {
                    serde_json::json!({"node": node, "facts": facts})
                }
                NodeState::Unreadable { message, hint, .. } => {
                    serde_json::json!({"node": node, "unreadable": message, "hint": hint})
                }
                NodeState::NotRead { reason } => {
                    serde_json::json!({"node": node, "notRead": reason})
                }
            };
            File {
                path: format!("nodes/{node}.json"),
                data: format!("{value:#}\n").into_bytes(),
                cut: None,
            }
        })
        .collect()
}

/// Doctor's closing line: `bundle: wrote b.tar.gz (84.2 KiB, 31 files); 2 items could not be
/// collected, see MANIFEST.txt`.
pub fn closing_line(w: &Written) -> String {
    let size = match w.bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    };
    let missing = match w.missing {
        _ if w.unreached => {
            "it holds only what could be collected without the cluster, see MANIFEST.txt"
                .to_string()
        }
        0 => "everything was collected".to_string(),
        1 => "1 item could not be collected, see MANIFEST.txt".to_string(),
        n => format!("{n} items could not be collected, see MANIFEST.txt"),
    };
    format!(
        "bundle: wrote {} ({size}, {} files); {missing}",
        w.path.display(),
        w.files
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_closing_line() {
        let at: jiff::Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(root_name(at), "lbctl-bundle-20250102T030405Z");
        let w = Written {
            path: "b.tar.gz".into(),
            bytes: 2048,
            files: 30,
            missing: 2,
            unreached: false,
        };
        assert_eq!(
            closing_line(&w),
            "bundle: wrote b.tar.gz (2.0 KiB, 30 files); 2 items could not be collected, see MANIFEST.txt"
        );
        let w = Written {
            files: 3,
            missing: 1,
            unreached: true,
            ..w
        };
        assert_eq!(
            closing_line(&w),
            "bundle: wrote b.tar.gz (2.0 KiB, 3 files); it holds only what could be collected without the cluster, see MANIFEST.txt"
        );
    }

    #[test]
    fn node_facts_say_why_a_node_has_none() {
        let files = node_facts(&[(
            "w1".into(),
            crate::facts::NodeState::Unreadable {
                node: "w1".into(),
                message: "not Ready".into(),
                hint: "fix it".into(),
            },
        )]);
        assert_eq!(files[0].path, "nodes/w1.json");
        let v: serde_json::Value = serde_json::from_slice(&files[0].data).unwrap();
        assert_eq!(v["unreadable"], "not Ready");
    }
}
