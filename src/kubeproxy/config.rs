//! Reading a KubeProxyConfiguration: what mode it selects and whether strict ARP is on.
//! Parsing goes through serde-saphyr into a JSON value so that unknown and obsolete keys are
//! simply carried along, as kube-proxy's own lenient decoder does.

use serde::Serialize;
use serde_json::Value;

/// The API group every KubeProxyConfiguration version lives in.
pub const API_GROUP: &str = "kubeproxy.config.k8s.io";
pub const KIND: &str = "KubeProxyConfiguration";

/// Why a text cannot be edited. Every variant means "nothing was written".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the kube-proxy configuration is not valid YAML: {0}")]
    NotYaml(String),
    #[error("the text is not a KubeProxyConfiguration: {0}")]
    NotKubeProxyConfiguration(String),
    #[error("the KubeProxyConfiguration is invalid: {0}")]
    Invalid(String),
    #[error("lbctl cannot edit this layout safely: {0}")]
    Unsupported(String),
    #[error("the edited configuration did not verify ({0}); nothing was written")]
    Verification(String),
}

/// The proxy mode as kube-proxy understands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    Iptables,
    Ipvs,
    Nftables,
    Kernelspace,
    #[serde(untagged)]
    Other(String),
}

impl ProxyMode {
    /// Maps a `mode` value; an empty or missing mode means iptables on Linux. kube-proxy
    /// compares modes case-sensitively, so `IPVS` is not `ipvs`.
    pub fn from_value(text: Option<&str>) -> ProxyMode {
        match text {
            None | Some("") | Some("iptables") => ProxyMode::Iptables,
            Some("ipvs") => ProxyMode::Ipvs,
            Some("nftables") => ProxyMode::Nftables,
            Some("kernelspace") => ProxyMode::Kernelspace,
            Some(other) => ProxyMode::Other(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Kernelspace => "kernelspace",
            ProxyMode::Other(s) => s,
        }
    }
}

impl std::fmt::Display for ProxyMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a KubeProxyConfiguration says about the settings lbctl cares about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxySettings {
    pub api_version: String,
    /// The literal `mode` value; `None` when the key is missing or null.
    pub mode_value: Option<String>,
    /// The effective mode (`""` and missing mean iptables).
    pub mode: ProxyMode,
    /// `ipvs.strictARP`; `None` when missing (kube-proxy then uses false).
    #[serde(rename = "strictARP")]
    pub strict_arp: Option<bool>,
}

impl ProxySettings {
    /// True when kube-proxy runs IPVS with strict ARP: what MetalLB L2 needs.
    pub fn is_configured(&self) -> bool {
        self.mode == ProxyMode::Ipvs && self.strict_arp == Some(true)
    }
}

/// Parses the text and checks that it is a KubeProxyConfiguration kube-proxy could load.
pub fn parse(text: &str) -> Result<(Value, ProxySettings), ConfigError> {
    let value: Value = serde_saphyr::from_str(text)
        .map_err(|e| ConfigError::NotYaml(first_line(&e.to_string())))?;
    let settings = settings_of(&value)?;
    Ok((value, settings))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// Reads the settings out of a parsed document.
pub fn settings_of(value: &Value) -> Result<ProxySettings, ConfigError> {
    let Value::Object(map) = value else {
        return Err(ConfigError::NotKubeProxyConfiguration(format!(
            "expected a mapping with apiVersion and kind, found {}",
            describe(value)
        )));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != KIND
        || api_version.split('/').next() != Some(API_GROUP)
        || !api_version.contains('/')
    {
        return Err(ConfigError::NotKubeProxyConfiguration(format!(
            "found apiVersion {api_version:?} kind {kind:?}, expected {API_GROUP}/<version> {KIND}"
        )));
    }
    let mode_value = match map.get("mode") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "mode must be a string, found {}",
                describe(other)
            )));
        }
    };
    let strict_arp = match map.get("ipvs") {
        None | Some(Value::Null) => None,
        Some(Value::Object(ipvs)) => match ipvs.get("strictARP") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "ipvs.strictARP must be true or false, found {}",
                    describe(other)
                )));
            }
        },
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "ipvs must be a mapping, found {}",
                describe(other)
            )));
        }
    };
    Ok(ProxySettings {
        api_version: api_version.to_string(),
        mode: ProxyMode::from_value(mode_value.as_deref()),
        mode_value,
        strict_arp,
    })
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_missing_mode_mean_iptables() {
        let (_, s) = parse("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"\"\n").unwrap();
        assert_eq!(s.mode, ProxyMode::Iptables);
        assert_eq!(s.mode_value.as_deref(), Some(""));
        let (_, s) =
            parse("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n")
                .unwrap();
        assert_eq!(s.mode, ProxyMode::Iptables);
        assert_eq!(s.mode_value, None);
        assert_eq!(s.strict_arp, None);
    }

    #[test]
    fn rejects_other_kinds_and_bad_types() {
        assert!(matches!(
            parse("apiVersion: v1\nkind: ConfigMap\n"),
            Err(ConfigError::NotKubeProxyConfiguration(_))
        ));
        assert!(matches!(
            parse("- a\n- b\n"),
            Err(ConfigError::NotKubeProxyConfiguration(_))
        ));
        assert!(matches!(parse("a: [\n"), Err(ConfigError::NotYaml(_))));
        let bad = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  strictARP: \"yes\"\n";
        assert!(matches!(parse(bad), Err(ConfigError::Invalid(m)) if m.contains("strictARP")));
        let bad = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs: [1]\n";
        assert!(
            matches!(parse(bad), Err(ConfigError::Invalid(m)) if m.contains("ipvs must be a mapping"))
        );
    }

    #[test]
    fn configured_means_ipvs_and_strict_arp() {
        let (_, s) = parse("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs: {strictARP: true}\n").unwrap();
        assert_eq!(s.mode, ProxyMode::Ipvs);
        assert!(s.is_configured());
        assert_eq!(
            ProxyMode::from_value(Some("IPVS")),
            ProxyMode::Other("IPVS".into())
        );
    }
}
