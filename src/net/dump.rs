//! The node-check pod's output: the script it runs ([`SCRIPT`]) and the parser of the text it
//! prints, which becomes a [`NodeFiles`] so the local readers judge a remote node unchanged.
//!
//! Format 1 (docs/node-checks.md): a header line `lbctl-node-facts 1`; per file a line
//! `file /absolute/path/on/the/node` followed by its lines, each prefixed with `|`; the end
//! marker `end lbctl-node-facts`. A file that is missing on the node is simply not listed.

use std::collections::{BTreeMap, BTreeSet};

use super::roots::NodeFiles;

/// The POSIX sh script the pod runs (busybox is enough); read-only.
pub const SCRIPT: &str = include_str!("node_facts.sh");

pub const HEADER: &str = "lbctl-node-facts";
pub const VERSION: u32 = 1;
pub const END: &str = "end lbctl-node-facts";

/// Why a pod's output is not a usable dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("the pod printed nothing (its log is empty)")]
    Empty,
    #[error("the output does not start with {HEADER:?} (it starts with {0:?})")]
    NoHeader(String),
    #[error("the output is format {0}, this lbctl reads format {VERSION}")]
    Version(String),
    #[error("the output ends before {END:?}: it was cut off")]
    Truncated,
    #[error("line {line}: unexpected {text:?}")]
    Malformed { line: usize, text: String },
}

/// A node's files as the script printed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeDump {
    files: BTreeMap<String, String>,
}

impl NodeDump {
    /// Parses the script's output (the whole pod log).
    pub fn parse(log: &str) -> Result<NodeDump, DumpError> {
        let mut lines = log
            .lines()
            .enumerate()
            .skip_while(|(_, l)| l.trim().is_empty());
        let Some((_, first)) = lines.next() else {
            return Err(DumpError::Empty);
        };
        let Some(version) = first.strip_prefix(HEADER).map(str::trim) else {
            let start: String = first.chars().take(120).collect();
            return Err(DumpError::NoHeader(start));
        };
        if version != VERSION.to_string() {
            return Err(DumpError::Version(version.to_string()));
        }
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for (index, line) in lines {
            if line == END {
                return Ok(NodeDump { files });
            }
            if let Some(path) = line.strip_prefix("file ") {
                files.insert(path.to_string(), String::new());
                current = Some(path.to_string());
            } else if let (Some(text), Some(path)) = (line.strip_prefix('|'), &current) {
                let body = files.entry(path.clone()).or_default();
                body.push_str(text);
                body.push('\n');
            } else {
                return Err(DumpError::Malformed {
                    line: index + 1,
                    text: line.chars().take(120).collect(),
                });
            }
        }
        Err(DumpError::Truncated)
    }

    /// The paths listed, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

impl NodeFiles for NodeDump {
    fn read(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }

    fn list(&self, dir: &str) -> Option<Vec<String>> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let names: BTreeSet<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next())
            .map(str::to_string)
            .collect();
        (!names.is_empty()).then(|| names.into_iter().collect())
    }

    fn exists(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.contains_key(path)
            || self
                .files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(p, _)| p.starts_with(&prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "lbctl-node-facts 1
file /proc/sys/net/ipv4/conf/eth0/arp_ignore
|1
file /proc/sys/net/ipv4/conf/all/arp_ignore
|0
file /proc/net/ip_vs
file /proc/modules
|ip_vs 1 0 - Live 0x0
||odd line starting with a bar
end lbctl-node-facts
";

    #[test]
    fn files_lines_and_directories() {
        let dump = NodeDump::parse(LOG).unwrap();
        assert_eq!(
            dump.read("/proc/sys/net/ipv4/conf/eth0/arp_ignore")
                .as_deref(),
            Some("1\n")
        );
        assert_eq!(
            dump.read("/proc/modules").as_deref(),
            Some("ip_vs 1 0 - Live 0x0\n|odd line starting with a bar\n")
        );
        assert_eq!(dump.read("/proc/net/ip_vs").as_deref(), Some(""));
        assert_eq!(
            dump.list("/proc/sys/net/ipv4/conf"),
            Some(vec!["all".to_string(), "eth0".to_string()])
        );
        assert_eq!(dump.list("/sys/class/net"), None);
        assert!(dump.exists("/proc/net/ip_vs"));
        assert!(dump.exists("/proc/sys/net"));
        assert!(!dump.exists("/proc/sys/ne"));
        assert_eq!(dump.read("/proc/net/route"), None);
    }

    #[test]
    fn bad_output_says_what_is_wrong() {
        assert_eq!(
            NodeDump::parse("sh: can't open '/proc': Permission denied\n"),
            Err(DumpError::NoHeader(
                "sh: can't open '/proc': Permission denied".into()
            ))
        );
        assert_eq!(
            NodeDump::parse("lbctl-node-facts 2\nend lbctl-node-facts\n"),
            Err(DumpError::Version("2".into()))
        );
        let cut = &LOG[..LOG.find("end").unwrap()];
        assert_eq!(NodeDump::parse(cut), Err(DumpError::Truncated));
        assert_eq!(
            NodeDump::parse("lbctl-node-facts 1\n|orphan\nend lbctl-node-facts\n"),
            Err(DumpError::Malformed {
                line: 2,
                text: "|orphan".into()
            })
        );
        assert_eq!(NodeDump::parse(""), Err(DumpError::Empty));
        assert_eq!(NodeDump::parse("\n  \n"), Err(DumpError::Empty));
        assert_eq!(
            DumpError::Empty.to_string(),
            "the pod printed nothing (its log is empty)"
        );
    }
}
