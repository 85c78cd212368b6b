//! The plan: which settings change, the new text, and the warnings that come with it
//! (`--mode` rules, IPVS deprecation from Kubernetes 1.35 on).

use serde::Serialize;

use super::config::{ConfigError, ProxyMode, ProxySettings};
use super::edit::{Change, Target, edit};

/// `--mode`: what to do with kube-proxy's proxy mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeChoice {
    /// Switch kube-proxy to IPVS mode (the mode in which strictARP matters).
    Ipvs,
    /// Leave the mode as it is; only set ipvs.strictARP.
    Keep,
}

/// The API server's version (one type with preflight's facts).
pub use crate::facts::cluster::ServerVersion;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "kube-proxy runs in nftables mode; lbctl does not switch it to IPVS unless asked with --mode ipvs"
    )]
    LeavingNftables,
}

impl PlanError {
    pub fn hint(&self) -> String {
        match self {
            PlanError::LeavingNftables => "MetalLB L2 needs no strictARP in nftables mode. To switch to IPVS anyway (deprecated since Kubernetes 1.35) pass --mode ipvs; to only set strictARP pass --mode keep".into(),
            PlanError::Config(ConfigError::NotYaml(_) | ConfigError::NotKubeProxyConfiguration(_) | ConfigError::Invalid(_)) => {
                "fix the kube-proxy configuration first (`kubectl -n kube-system edit configmap <name>`); lbctl never writes a configuration kube-proxy could not load".into()
            }
            PlanError::Config(_) => "edit the configuration by hand: set `mode: ipvs` and `ipvs.strictARP: true`".into(),
        }
    }
}

impl PlanError {
    /// A plan that cannot be made is bad input: nothing is written (exit 2).
    pub fn into_error(self) -> crate::Error {
        crate::Error::Usage {
            hint: Some(self.hint()),
            message: self.to_string(),
        }
    }
}

/// What `enable-strictarp` will change in the configuration text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub before: ProxySettings,
    pub new_text: String,
    pub changes: Vec<Change>,
    /// Things the user must read before applying (e.g. the IPVS deprecation).
    pub warnings: Vec<String>,
    /// Useful facts (e.g. `mode: ""` means iptables).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Plans the edit of `text` for `--mode` (`None` when the flag was not given).
pub fn plan(
    text: &str,
    mode: Option<ModeChoice>,
    server: Option<&ServerVersion>,
) -> Result<Plan, PlanError> {
    let (_, current) = super::config::parse(text)?;
    let choice = match (mode, &current.mode) {
        (None, ProxyMode::Nftables) => return Err(PlanError::LeavingNftables),
        (None, _) => ModeChoice::Ipvs,
        (Some(m), _) => m,
    };
    let edited = edit(
        text,
        Target {
            mode_ipvs: choice == ModeChoice::Ipvs,
        },
    )?;
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    if current.mode_value.as_deref() == Some("") {
        notes.push("mode \"\" means iptables on Linux".into());
    }
    let switching = choice == ModeChoice::Ipvs && current.mode != ProxyMode::Ipvs;
    if switching {
        match server {
            Some(v) if v.ipvs_deprecated() => warnings.push(format!(
                "IPVS mode is deprecated since Kubernetes 1.35 and this server runs {}: kube-proxy logs a deprecation warning, \
                 IPVS is planned to be off by default in 1.40 and removed in 1.43. Its replacement is nftables mode, in which \
                 MetalLB L2 needs no strictARP. Switching from {} to IPVS now means migrating again later.",
                v.git_version, current.mode
            )),
            Some(_) => {}
            None => warnings.push(
                "the server version is unknown; IPVS mode is deprecated since Kubernetes 1.35".into(),
            ),
        }
        warnings.push(format!(
            "switching kube-proxy from {} to IPVS needs the ip_vs kernel modules on every node (`{}` checks them)",
            current.mode,
            crate::invocation::command_line("preflight")
        ));
    }
    if choice == ModeChoice::Keep && current.mode != ProxyMode::Ipvs {
        notes.push(format!(
            "kube-proxy stays in {} mode, where strictARP has no effect and MetalLB L2 does not need it",
            current.mode
        ));
    }
    Ok(Plan {
        before: edited.before,
        new_text: edited.text,
        changes: edited.changes,
        warnings,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

    fn v(minor: u32) -> ServerVersion {
        ServerVersion::new(&format!("v1.{minor}.0"), "1", &minor.to_string()).unwrap()
    }

    #[test]
    fn nftables_needs_an_explicit_mode() {
        let text = format!("{HEAD}mode: nftables\n");
        assert_eq!(
            plan(&text, None, Some(&v(36))),
            Err(PlanError::LeavingNftables)
        );
        let p = plan(&text, Some(ModeChoice::Ipvs), Some(&v(36))).unwrap();
        assert_eq!(p.changes.len(), 2);
        assert!(
            p.warnings[0].contains("deprecated since Kubernetes 1.35")
                && p.warnings[0].contains("v1.36.0")
        );
        let p = plan(&text, Some(ModeChoice::Keep), Some(&v(36))).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert!(p.warnings.is_empty());
        assert!(p.notes[0].contains("nftables"));
    }

    #[test]
    fn deprecation_warning_only_from_1_35_when_switching() {
        let text = format!("{HEAD}mode: \"\"\n");
        let p = plan(&text, None, Some(&v(34))).unwrap();
        assert!(!p.warnings.iter().any(|w| w.contains("deprecated")));
        assert!(p.notes.iter().any(|n| n.contains("means iptables")));
        let p = plan(&text, None, Some(&v(35))).unwrap();
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("deprecated") && w.contains("v1.35.0"))
        );
        let text = format!("{HEAD}mode: ipvs\n");
        let p = plan(&text, None, Some(&v(36))).unwrap();
        assert!(p.warnings.is_empty());
        assert_eq!(p.changes.len(), 1);
    }

    #[test]
    fn server_versions_parse_like_kubectl() {
        let s = ServerVersion::new("v1.30.2+k3s1", "1", "30+").unwrap();
        assert_eq!((s.major, s.minor), (1, 30));
        let s = ServerVersion::new("v1.36.0-eks-1", "", "").unwrap();
        assert!(s.ipvs_deprecated());
        assert_eq!(ServerVersion::new("garbage", "", ""), None);
    }
}
