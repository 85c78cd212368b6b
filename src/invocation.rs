//! How the user runs lbctl: `lbctl ...`, or `kubectl lbctl ...` when the binary is installed as
//! the kubectl plugin `kubectl-lbctl`. Every command line lbctl prints for the user to type
//! (help examples, hints, "run ... again") goes through [`command_line`], so that it can be
//! pasted as it is.
//!
//! kubectl runs a plugin with the plugin's own path as argv[0] and sets no variable a plugin
//! can rely on, so the file name of argv[0] is the only sign; it is read once at start-up.
//! Object labels, field managers and file names are not command lines and keep `lbctl`.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::OnceLock;

/// The name kubectl finds a plugin by: `kubectl-` and the command it adds.
pub const PLUGIN_FILE: &str = "kubectl-lbctl";

/// How lbctl was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Invocation {
    /// As `lbctl` (or under any other file name).
    #[default]
    Direct,
    /// As `kubectl-lbctl`, which kubectl runs for `kubectl lbctl`.
    KubectlPlugin,
}

impl Invocation {
    /// Judges argv[0]: its file name is `kubectl-lbctl` (`kubectl-lbctl.exe` on Windows).
    pub fn from_argv0(argv0: &OsStr) -> Invocation {
        let name = Path::new(argv0).file_name().and_then(OsStr::to_str);
        let stem = name.map(|n| {
            n.len()
                .checked_sub(4)
                .filter(|&at| n.is_char_boundary(at) && n[at..].eq_ignore_ascii_case(".exe"))
                .map_or(n, |at| &n[..at])
        });
        if stem == Some(PLUGIN_FILE) {
            Invocation::KubectlPlugin
        } else {
            Invocation::Direct
        }
    }

    /// What the user types to run lbctl.
    pub fn program(self) -> &'static str {
        match self {
            Invocation::Direct => "lbctl",
            Invocation::KubectlPlugin => "kubectl lbctl",
        }
    }

    /// `rest` (a subcommand and its flags) as a command line the user types.
    pub fn command_line(self, rest: &str) -> String {
        if rest.is_empty() {
            self.program().to_string()
        } else {
            format!("{} {rest}", self.program())
        }
    }
}

static CURRENT: OnceLock<Invocation> = OnceLock::new();

/// Records how lbctl was invoked; called once by `main` before anything is printed. Without
/// it (tests, library use) lbctl is invoked directly.
pub fn init(argv0: Option<&OsStr>) {
    let _ = CURRENT.set(argv0.map(Invocation::from_argv0).unwrap_or_default());
}

/// How lbctl was invoked in this process.
pub fn current() -> Invocation {
    CURRENT.get().copied().unwrap_or_default()
}

/// What the user types to run lbctl in this process: `lbctl` or `kubectl lbctl`.
pub fn program() -> &'static str {
    current().program()
}

/// `rest` as the command line to type in this process: `command_line("install --pool X")` is
/// `lbctl install --pool X`, or `kubectl lbctl install --pool X` under kubectl.
pub fn command_line(rest: &str) -> String {
    current().command_line(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_recognised_by_the_file_name_of_argv0_only() {
        for argv0 in [
            "kubectl-lbctl",
            "/usr/local/bin/kubectl-lbctl",
            "/home/u/.krew/bin/kubectl-lbctl",
            "kubectl-lbctl.exe",
            "kubectl-lbctl.EXE",
        ] {
            assert_eq!(
                Invocation::from_argv0(OsStr::new(argv0)),
                Invocation::KubectlPlugin,
                "{argv0}"
            );
        }
        for argv0 in [
            "lbctl",
            "./target/debug/lbctl",
            "/opt/kubectl-lbctl/lbctl",
            "kubectl-lbctl2",
            "kubectl-lbctl.sh",
            "kubectl",
            "lbctl.exe",
            "",
        ] {
            assert_eq!(
                Invocation::from_argv0(OsStr::new(argv0)),
                Invocation::Direct,
                "{argv0}"
            );
        }
    }

    #[test]
    fn command_lines_name_the_program_as_the_user_runs_it() {
        assert_eq!(
            Invocation::Direct.command_line("install --pool 10.0.0.1"),
            "lbctl install --pool 10.0.0.1"
        );
        assert_eq!(
            Invocation::KubectlPlugin.command_line("install --pool 10.0.0.1"),
            "kubectl lbctl install --pool 10.0.0.1"
        );
        assert_eq!(Invocation::KubectlPlugin.command_line(""), "kubectl lbctl");
        assert_eq!(Invocation::Direct.program(), "lbctl");
    }

    /// The krew template's placeholders: `{{NAME}}`, every one.
    fn placeholders(text: &str) -> std::collections::BTreeSet<String> {
        text.split("{{")
            .skip(1)
            .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn the_krew_manifest_template_installs_the_plugin_from_the_documented_archives() {
        let text = include_str!("../plugins/lbctl.yaml");
        let doc = include_str!("../docs/kubectl-plugin.md");
        let m: serde_json::Value = serde_saphyr::from_str(text).expect("the template parses");
        assert_eq!(
            m["apiVersion"],
            "krew.googlecontainertools.github.com/v1alpha2"
        );
        assert_eq!(m["kind"], "Plugin");
        // krew requires the manifest's file name to be the plugin's name.
        assert_eq!(m["metadata"]["name"], "lbctl");
        assert_eq!(PLUGIN_FILE, "kubectl-lbctl");
        let spec = &m["spec"];
        assert_eq!(spec["version"], "v{{VERSION}}");
        for field in ["homepage", "shortDescription", "description"] {
            assert!(
                spec[field].as_str().is_some_and(|v| !v.trim().is_empty()),
                "{field}"
            );
        }
        let triples = [
            ("amd64", "x86_64-unknown-linux-gnu"),
            ("arm64", "aarch64-unknown-linux-gnu"),
        ];
        let platforms = spec["platforms"].as_array().expect("platforms");
        assert_eq!(platforms.len(), triples.len());
        for (arch, triple) in triples {
            let p = platforms
                .iter()
                .find(|p| {
                    p["selector"]["matchLabels"]["os"] == "linux"
                        && p["selector"]["matchLabels"]["arch"] == arch
                })
                .unwrap_or_else(|| panic!("a linux/{arch} platform"));
            let archive = format!("lbctl-v{{{{VERSION}}}}-{triple}.tar.gz");
            let uri = p["uri"].as_str().unwrap();
            assert!(uri.starts_with("https://"), "{uri}");
            assert!(uri.ends_with(&format!("/{archive}")), "{uri}");
            let doc_name = archive.replace("{{VERSION}}", "{VERSION}");
            assert!(
                doc.contains(&format!("`{doc_name}`")),
                "{doc_name} documented"
            );
            let sha = format!("{{{{SHA256_LINUX_{}}}}}", arch.to_uppercase());
            assert_eq!(p["sha256"], sha.as_str());
            // The archive holds `lbctl` and LICENSE; kubectl finds the plugin by `bin`.
            assert_eq!(p["bin"], PLUGIN_FILE);
            let files = p["files"].as_array().expect("files");
            let to = |from: &str| {
                files
                    .iter()
                    .find(|f| f["from"] == from)
                    .and_then(|f| f["to"].as_str())
                    .map(str::to_string)
            };
            assert_eq!(to("lbctl").as_deref(), Some(PLUGIN_FILE), "bin is in files");
            assert_eq!(to("LICENSE").as_deref(), Some("."));
        }
        let expected: std::collections::BTreeSet<String> = [
            "VERSION",
            "REPOSITORY",
            "SHA256_LINUX_AMD64",
            "SHA256_LINUX_ARM64",
        ]
        .map(String::from)
        .into();
        assert_eq!(placeholders(text), expected);
        for name in &expected {
            assert!(
                doc.contains(&format!("| `{{{{{name}}}}}` |")),
                "{name} is documented in docs/kubectl-plugin.md"
            );
        }
    }

    #[test]
    fn without_init_lbctl_is_invoked_directly() {
        // Unit tests never call init: hints keep the plain `lbctl`.
        assert_eq!(command_line("doctor"), "lbctl doctor");
    }
}
