//! Kernel support for IPVS: each module is loaded (`/proc/modules`), built in
//! (`/lib/modules/<release>/modules.builtin`) or missing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::roots::NodeFiles;

/// What kube-proxy's IPVS mode needs from the kernel.
pub const IPVS_MODULES: [&str; 5] = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleState {
    Loaded,
    BuiltIn,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsSupport {
    /// `uname -r`, when readable.
    pub kernel_release: Option<String>,
    /// False when neither /proc/modules nor modules.builtin could be read: states are then guesses.
    pub module_lists_readable: bool,
    pub modules: BTreeMap<String, ModuleState>,
    /// `/proc/net/ip_vs` exists once ip_vs is active.
    pub ip_vs_proc_present: bool,
}

impl IpvsSupport {
    pub fn read(files: &impl NodeFiles) -> IpvsSupport {
        let kernel_release = files
            .read("/proc/sys/kernel/osrelease")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let loaded_text = files.read("/proc/modules");
        let builtin_text = kernel_release
            .as_ref()
            .and_then(|release| files.read(&format!("/lib/modules/{release}/modules.builtin")));
        let loaded = loaded_text
            .as_deref()
            .map(parse_proc_modules)
            .unwrap_or_default();
        let builtin = builtin_text
            .as_deref()
            .map(parse_builtin)
            .unwrap_or_default();
        IpvsSupport {
            kernel_release,
            module_lists_readable: loaded_text.is_some() || builtin_text.is_some(),
            modules: judge(&loaded, &builtin),
            ip_vs_proc_present: files.exists("/proc/net/ip_vs"),
        }
    }

    pub fn missing(&self) -> Vec<&str> {
        self.modules
            .iter()
            .filter(|(_, s)| **s == ModuleState::Missing)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

fn judge(loaded: &BTreeSet<String>, builtin: &BTreeSet<String>) -> BTreeMap<String, ModuleState> {
    IPVS_MODULES
        .iter()
        .map(|name| {
            let state = if loaded.contains(*name) {
                ModuleState::Loaded
            } else if builtin.contains(*name) {
                ModuleState::BuiltIn
            } else {
                ModuleState::Missing
            };
            (name.to_string(), state)
        })
        .collect()
}

/// Module names from `/proc/modules` (first column).
pub fn parse_proc_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(normalize)
        .collect()
}

/// Module names from `modules.builtin` (`kernel/net/netfilter/ipvs/ip_vs.ko` -> `ip_vs`).
pub fn parse_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.trim().rsplit('/').next())
        .filter_map(|file| file.strip_suffix(".ko"))
        .map(normalize)
        .collect()
}

/// The kernel treats `-` and `_` in module names alike; /proc/modules shows `_`.
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_wins_over_builtin_and_dashes_match() {
        let loaded = parse_proc_modules(
            "ip_vs_rr 12288 1 - Live 0x0000000000000000\nip_vs 188416 3 ip_vs_rr, Live 0x0\n",
        );
        let builtin = parse_builtin(
            "kernel/net/netfilter/nf_conntrack.ko\nkernel/net/netfilter/ipvs/ip-vs-sh.ko\nkernel/net/netfilter/ipvs/ip_vs.ko\n",
        );
        let states = judge(&loaded, &builtin);
        assert_eq!(states["ip_vs"], ModuleState::Loaded);
        assert_eq!(states["ip_vs_rr"], ModuleState::Loaded);
        assert_eq!(states["ip_vs_sh"], ModuleState::BuiltIn);
        assert_eq!(states["nf_conntrack"], ModuleState::BuiltIn);
        assert_eq!(states["ip_vs_wrr"], ModuleState::Missing);
    }
}
