//! The behaviour switches a scenario's `settings:` (or a test at run time) gives the simulated
//! cluster.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// Switches for the simulated controllers and kubelet. Scenario keys are camelCase, e.g.
/// `settings: { podReadyDelay: 300ms, podsNeverReady: [metallb-system/controller] }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    /// `controllers: false` turns the whole simulated cluster off (objects stay as written).
    pub controllers: bool,
    /// How long a scheduled pod stays Pending (ContainerCreating) before it runs.
    pub pod_ready_delay: Duration,
    /// Workloads whose pods run but never pass readiness: `namespace/name` of a DaemonSet,
    /// Deployment or ReplicaSet, optionally `@node` to limit it to the pod on one node.
    pub pods_never_ready: Vec<String>,
    /// How long before the scenario started its workloads were started (pods that exist when the
    /// scenario loads run from then on, instead of waiting `pod_ready_delay`).
    pub boot_age: Duration,
    /// `bootTime`: the absolute time the scenario's workloads started (wins over `bootAge`), so
    /// scenarios can order pod start times against the times recorded in their objects.
    pub boot_time: Option<Timestamp>,
    pub metallb: MetalLbSettings,
}

/// Switches of the MetalLB stand-in (`settings.metallb`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetalLbSettings {
    /// How long the webhook refuses connections after its Service got ready endpoints.
    pub webhook_settle: Duration,
    /// `webhookServing: false`: the webhook port never opens (connection refused forever).
    pub webhook_serving: bool,
    /// `caBundleInjected: false`: certificates are never written (TLS errors forever).
    pub ca_bundle_injected: bool,
    /// `configInvalid: "<errorSummary>"`: the controller and speakers report Invalid config.
    pub config_invalid: Option<String>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            controllers: true,
            pod_ready_delay: Duration::from_millis(200),
            pods_never_ready: Vec::new(),
            boot_age: Duration::from_secs(3600),
            boot_time: None,
            metallb: MetalLbSettings::default(),
        }
    }
}

impl Default for MetalLbSettings {
    fn default() -> Self {
        MetalLbSettings {
            webhook_settle: Duration::from_millis(300),
            webhook_serving: true,
            ca_bundle_injected: true,
            config_invalid: None,
        }
    }
}

impl ClusterSettings {
    /// Reads the keys this module owns from a scenario's `settings` map; other keys are left to
    /// their owners. Wrong types are errors naming the key.
    pub fn from_settings(settings: &Value) -> Result<ClusterSettings, String> {
        let mut out = ClusterSettings::default();
        if settings.is_null() {
            return Ok(out);
        }
        if let Some(v) = settings.get("controllers") {
            out.controllers = bool_value("controllers", v)?;
        }
        if let Some(v) = settings.get("podReadyDelay") {
            out.pod_ready_delay = duration_value("podReadyDelay", v)?;
        }
        if let Some(v) = settings.get("bootAge") {
            out.boot_age = duration_value("bootAge", v)?;
        }
        if let Some(v) = settings.get("bootTime") {
            let text = v
                .as_str()
                .ok_or("settings.bootTime must be an RFC 3339 time")?;
            let at = text.parse().map_err(|e| {
                format!("settings.bootTime: {text:?} is not an RFC 3339 time ({e})")
            })?;
            out.boot_time = Some(at);
        }
        if let Some(v) = settings.get("podsNeverReady") {
            out.pods_never_ready = string_list("podsNeverReady", v)?;
            for entry in &out.pods_never_ready {
                if !entry.split('@').next().unwrap_or("").contains('/') {
                    return Err(format!(
                        "settings.podsNeverReady: {entry:?} must be namespace/workload[@node]"
                    ));
                }
            }
        }
        if let Some(m) = settings.get("metallb") {
            if !m.is_object() {
                return Err("settings.metallb must be a map".to_string());
            }
            if let Some(v) = m.get("webhookSettle") {
                out.metallb.webhook_settle = duration_value("metallb.webhookSettle", v)?;
            }
            if let Some(v) = m.get("webhookServing") {
                out.metallb.webhook_serving = bool_value("metallb.webhookServing", v)?;
            }
            if let Some(v) = m.get("caBundleInjected") {
                out.metallb.ca_bundle_injected = bool_value("metallb.caBundleInjected", v)?;
            }
            if let Some(v) = m.get("configInvalid") {
                let s = v
                    .as_str()
                    .ok_or("settings.metallb.configInvalid must be a string")?;
                out.metallb.config_invalid = Some(s.to_string());
            }
        }
        Ok(out)
    }

    /// When the scenario's workloads started, for a cluster loaded at `now`.
    pub fn boot_time(&self, now: Timestamp) -> Timestamp {
        self.boot_time
            .unwrap_or_else(|| now - SignedDuration::try_from(self.boot_age).unwrap_or_default())
    }

    /// Whether the pod of workload `namespace/owner` on `node` is switched to never become ready.
    pub fn never_ready(&self, namespace: &str, owner: &str, node: &str) -> bool {
        self.pods_never_ready.iter().any(|entry| {
            let (workload, on_node) = match entry.split_once('@') {
                Some((w, n)) => (w, Some(n)),
                None => (entry.as_str(), None),
            };
            workload.split_once('/') == Some((namespace, owner))
                && on_node.is_none_or(|n| n == node)
        })
    }
}

fn bool_value(key: &str, v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("settings.{key} must be true or false"))
}

fn duration_value(key: &str, v: &Value) -> Result<Duration, String> {
    match v {
        Value::String(s) => humantime::parse_duration(s)
            .map_err(|e| format!("settings.{key}: {s:?} is not a duration like 300ms or 2s ({e})")),
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_millis)
            .ok_or_else(|| format!("settings.{key} must be a duration like 300ms")),
        _ => Err(format!("settings.{key} must be a duration like 300ms")),
    }
}

fn string_list(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("settings.{key} must be a list"))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("settings.{key} must list strings"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_when_absent() {
        let s = ClusterSettings::from_settings(&json!({})).unwrap();
        assert_eq!(s, ClusterSettings::default());
        assert_eq!(s.pod_ready_delay, Duration::from_millis(200));
    }

    #[test]
    fn parses_every_key() {
        let s = ClusterSettings::from_settings(&json!({
            "podReadyDelay": "1s", "bootAge": "2h", "bootTime": "2026-11-20T08:05:00Z", "controllers": false,
            "podsNeverReady": ["metallb-system/speaker@w2", "kube-system/kube-proxy"],
            "metallb": {"webhookSettle": "50ms", "webhookServing": false, "caBundleInjected": false, "configInvalid": "boom"}
        }))
        .unwrap();
        assert_eq!(s.pod_ready_delay, Duration::from_secs(1));
        assert_eq!(s.boot_age, Duration::from_secs(7200));
        let boot: Timestamp = "2026-11-20T08:05:00Z".parse().unwrap();
        assert_eq!(s.boot_time(Timestamp::now()), boot);
        assert!(!s.controllers);
        assert!(!s.metallb.webhook_serving && !s.metallb.ca_bundle_injected);
        assert_eq!(s.metallb.webhook_settle, Duration::from_millis(50));
        assert_eq!(s.metallb.config_invalid.as_deref(), Some("boom"));
        assert!(s.never_ready("metallb-system", "speaker", "w2"));
        assert!(!s.never_ready("metallb-system", "speaker", "w1"));
        assert!(s.never_ready("kube-system", "kube-proxy", "anything"));
        assert!(!s.never_ready("kube-system", "coredns", "w1"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = ClusterSettings::from_settings(&json!({"podReadyDelay": "soon"})).unwrap_err();
        assert!(err.contains("podReadyDelay"), "{err}");
        let err =
            ClusterSettings::from_settings(&json!({"podsNeverReady": ["speaker"]})).unwrap_err();
        assert!(err.contains("namespace/workload"), "{err}");
        let err = ClusterSettings::from_settings(&json!({"metallb": {"webhookServing": "no"}}))
            .unwrap_err();
        assert!(err.contains("metallb.webhookServing"), "{err}");
    }
}
