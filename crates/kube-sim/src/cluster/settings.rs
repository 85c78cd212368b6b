//! The behaviour switches a scenario's `settings:` (or a test at run time) gives the simulated
//! cluster.

use std::collections::BTreeMap;
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
    /// `nodeFacts`: what a run-to-completion pod (`restartPolicy: Never`) prints and how it
    /// exits, per node name, with `"*"` for every other node.
    pub node_facts: BTreeMap<String, NodeFact>,
    /// `imagePullFailures`: images (exactly as pods name them) the kubelet cannot pull, as
    /// `image` (every node) or `image@node`.
    pub image_pull_failures: Vec<String>,
    /// `missingHostPaths`: host paths (`PATH` or `PATH@NODE`) that do not exist, so hostPath
    /// volumes of type Directory or File naming them cannot be mounted ([`super::mounts`]).
    pub missing_host_paths: Vec<String>,
    /// `podAdmissionFailures`: nodes (or `"*"`) whose kubelet rejects new pods that no
    /// controller owns.
    pub pod_admission_failures: BTreeMap<String, Rejection>,
    /// `hostEffects` (default true): node facts show what kube-proxy and the speaker did to
    /// their node ([`super::host`]); false serves `nodeFacts` exactly.
    pub host_effects: bool,
}

/// One `settings.podAdmissionFailures` entry: a reason the kubelet's admission gives (`OutOfcpu`,
/// `OutOfmemory`, `OutOfpods`, `OutOfephemeral-storage`, `NodeAffinity`, `NodePorts`; the message
/// is built as the kubelet builds it), or `{reason: R, message: M}` for any other.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: String,
    /// Given verbatim (None: derived from the reason, the pod and the node).
    pub message: Option<String>,
}

/// The reasons `podAdmissionFailures` can give without a message.
pub const REJECTION_REASONS: &[&str] = &[
    "OutOfcpu",
    "OutOfmemory",
    "OutOfpods",
    "OutOfephemeral-storage",
    "NodeAffinity",
    "NodePorts",
];

/// One `settings.nodeFacts` entry: `TEXT`, or `{log: TEXT, exitCode: N}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFact {
    /// Served verbatim by `pods/<name>/log`.
    pub log: String,
    /// The container's exit code: 0 ends the pod Succeeded, anything else Failed.
    pub exit_code: i32,
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
    /// `l2StatusNode: {"<ns>/<service>": "<node>"}`: the speakers report that node in the
    /// Service's ServiceL2Status and event instead of the elected one, as speakers of another
    /// version (electing differently) would.
    pub l2_status_node: BTreeMap<String, String>,
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
            node_facts: BTreeMap::new(),
            image_pull_failures: Vec::new(),
            missing_host_paths: Vec::new(),
            pod_admission_failures: BTreeMap::new(),
            host_effects: true,
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
            l2_status_node: BTreeMap::new(),
        }
    }
}

/// The keys of a scenario's `settings:` map.
pub const KEYS: &[&str] = &[
    "controllers",
    "podReadyDelay",
    "bootAge",
    "bootTime",
    "podsNeverReady",
    "metallb",
    "nodeFacts",
    "imagePullFailures",
    "podAdmissionFailures",
    "missingHostPaths",
    "hostEffects",
];

/// The keys of `settings.metallb`.
const METALLB_KEYS: &[&str] = &[
    "webhookSettle",
    "webhookServing",
    "caBundleInjected",
    "configInvalid",
    "l2StatusNode",
];

impl MetalLbSettings {
    /// Reads `settings.metallb`.
    pub fn from_settings(m: &Value) -> Result<MetalLbSettings, String> {
        let mut out = MetalLbSettings::default();
        let map = m.as_object().ok_or("settings.metallb must be a map")?;
        if let Some(unknown) = map.keys().find(|k| !METALLB_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "settings.metallb.{unknown} is not a setting (known: {})",
                METALLB_KEYS.join(", ")
            ));
        }
        if let Some(v) = m.get("webhookSettle") {
            out.webhook_settle = duration_value("metallb.webhookSettle", v)?;
        }
        if let Some(v) = m.get("webhookServing") {
            out.webhook_serving = bool_value("metallb.webhookServing", v)?;
        }
        if let Some(v) = m.get("caBundleInjected") {
            out.ca_bundle_injected = bool_value("metallb.caBundleInjected", v)?;
        }
        if let Some(v) = m.get("configInvalid") {
            let s = v
                .as_str()
                .ok_or("settings.metallb.configInvalid must be a string")?;
            out.config_invalid = Some(s.to_string());
        }
        if let Some(v) = m.get("l2StatusNode") {
            let map = v
                .as_object()
                .ok_or("settings.metallb.l2StatusNode must be a map of namespace/name to node")?;
            for (svc, node) in map {
                let node = node
                    .as_str()
                    .ok_or("settings.metallb.l2StatusNode values must be node names")?;
                out.l2_status_node.insert(svc.clone(), node.to_string());
            }
        }
        Ok(out)
    }
}

impl ClusterSettings {
    /// Reads a scenario's `settings` map. Unknown keys and wrong types are errors naming the key.
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
        if let Some(v) = settings.get("nodeFacts") {
            out.node_facts = node_facts(v)?;
        }
        if let Some(v) = settings.get("hostEffects") {
            out.host_effects = bool_value("hostEffects", v)?;
        }
        if let Some(v) = settings.get("imagePullFailures") {
            out.image_pull_failures = string_list("imagePullFailures", v)?;
            if let Some(bad) = out.image_pull_failures.iter().find(|e| {
                let (image, node) = e.rsplit_once('@').unwrap_or((e.as_str(), "x"));
                image.is_empty() || node.is_empty()
            }) {
                return Err(format!(
                    "settings.imagePullFailures: {bad:?} must be IMAGE or IMAGE@NODE"
                ));
            }
        }
        if let Some(v) = settings.get("missingHostPaths") {
            out.missing_host_paths = string_list("missingHostPaths", v)?;
            if let Some(bad) = out.missing_host_paths.iter().find(|e| !e.starts_with('/')) {
                return Err(format!(
                    "settings.missingHostPaths: {bad:?} must be an absolute PATH or PATH@NODE"
                ));
            }
        }
        if let Some(v) = settings.get("podAdmissionFailures") {
            out.pod_admission_failures = rejections(v)?;
        }
        if let Some(m) = settings.get("metallb") {
            out.metallb = MetalLbSettings::from_settings(m)?;
        }
        if let Some(map) = settings.as_object()
            && let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "settings.{unknown} is not a setting (known: {})",
                KEYS.join(", ")
            ));
        }
        Ok(out)
    }

    /// When the scenario's workloads started, for a cluster loaded at `now`.
    pub fn boot_time(&self, now: Timestamp) -> Timestamp {
        self.boot_time
            .unwrap_or_else(|| now - SignedDuration::try_from(self.boot_age).unwrap_or_default())
    }

    /// What a run-to-completion pod on `node` prints and how it exits (empty log, exit 0 when
    /// neither the node nor `"*"` is listed).
    pub fn node_fact(&self, node: &str) -> NodeFact {
        self.node_facts
            .get(node)
            .or_else(|| self.node_facts.get("*"))
            .cloned()
            .unwrap_or_default()
    }

    /// Why the kubelet on `node` rejects new pods, if it does.
    pub fn rejection(&self, node: &str) -> Option<&Rejection> {
        self.pod_admission_failures
            .get(node)
            .or_else(|| self.pod_admission_failures.get("*"))
    }

    /// Whether `path` is missing on `node`.
    pub fn host_path_missing(&self, path: &str, node: &str) -> bool {
        self.missing_host_paths
            .iter()
            .any(|entry| match entry.rsplit_once('@') {
                Some((p, n)) => p == path && n == node,
                None => entry == path,
            })
    }

    /// Whether the kubelet on `node` fails to pull `image`.
    pub fn pull_fails(&self, image: &str, node: &str) -> bool {
        self.image_pull_failures.iter().any(|entry| {
            // `@` also starts a digest (`busybox@sha256:...`): only a suffix naming a node counts.
            match entry.rsplit_once('@') {
                Some((i, n)) if !n.contains(':') => i == image && n == node,
                _ => entry == image,
            }
        })
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

fn node_facts(v: &Value) -> Result<BTreeMap<String, NodeFact>, String> {
    let map = v
        .as_object()
        .ok_or("settings.nodeFacts must be a map of node name (or \"*\") to log text")?;
    let mut out = BTreeMap::new();
    for (node, fact) in map {
        let key = format!("settings.nodeFacts.{node}");
        let fact = match fact {
            Value::String(log) => NodeFact {
                log: log.clone(),
                exit_code: 0,
            },
            Value::Object(fields) => {
                if let Some(other) = fields
                    .keys()
                    .find(|k| !matches!(k.as_str(), "log" | "exitCode"))
                {
                    return Err(format!(
                        "{key}: unknown key {other:?} (expected log and exitCode)"
                    ));
                }
                let log = match fields.get("log") {
                    None => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(format!("{key}.log must be a string")),
                };
                let exit_code = match fields.get("exitCode") {
                    None => 0,
                    Some(n) => n
                        .as_i64()
                        .filter(|n| (0..=255).contains(n))
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| format!("{key}.exitCode must be a number from 0 to 255"))?,
                };
                NodeFact { log, exit_code }
            }
            _ => {
                return Err(format!(
                    "{key} must be the log text or {{log: TEXT, exitCode: N}}"
                ));
            }
        };
        out.insert(node.clone(), fact);
    }
    Ok(out)
}

fn rejections(v: &Value) -> Result<BTreeMap<String, Rejection>, String> {
    let map = v
        .as_object()
        .ok_or("settings.podAdmissionFailures must be a map of node name (or \"*\") to a reason")?;
    let mut out = BTreeMap::new();
    for (node, entry) in map {
        let key = format!("settings.podAdmissionFailures.{node}");
        let rejection = match entry {
            Value::String(reason) if REJECTION_REASONS.contains(&reason.as_str()) => Rejection {
                reason: reason.clone(),
                message: None,
            },
            Value::Object(fields) => {
                let text = |field: &str| {
                    fields
                        .get(field)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| format!("{key}.{field} must be a non-empty string"))
                };
                if let Some(other) = fields
                    .keys()
                    .find(|k| !matches!(k.as_str(), "reason" | "message"))
                {
                    return Err(format!(
                        "{key}: unknown key {other:?} (expected reason and message)"
                    ));
                }
                Rejection {
                    reason: text("reason")?,
                    message: Some(text("message")?),
                }
            }
            _ => {
                return Err(format!(
                    "{key} must be one of {} or {{reason: R, message: M}}",
                    REJECTION_REASONS.join(", ")
                ));
            }
        };
        out.insert(node.clone(), rejection);
    }
    Ok(out)
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
        let err = ClusterSettings::from_settings(&json!({"podReadyDelai": "1s"})).unwrap_err();
        assert!(
            err.starts_with(
                "settings.podReadyDelai is not a setting (known: controllers, podReadyDelay,"
            ),
            "{err}"
        );
        let err =
            ClusterSettings::from_settings(&json!({"metallb": {"serving": true}})).unwrap_err();
        assert!(
            err.starts_with("settings.metallb.serving is not a setting"),
            "{err}"
        );
        for (facts, wanted) in [
            (json!(["w1"]), "settings.nodeFacts must be a map"),
            (
                json!({"w1": 3}),
                "settings.nodeFacts.w1 must be the log text",
            ),
            (
                json!({"w1": {"log": 1}}),
                "settings.nodeFacts.w1.log must be a string",
            ),
            (
                json!({"w1": {"exitCode": 256}}),
                "settings.nodeFacts.w1.exitCode must be a number from 0 to 255",
            ),
            (
                json!({"w1": {"exitcode": 1}}),
                "settings.nodeFacts.w1: unknown key \"exitcode\"",
            ),
        ] {
            let err = ClusterSettings::from_settings(&json!({"nodeFacts": facts})).unwrap_err();
            assert!(err.starts_with(wanted), "{err}");
        }
    }

    #[test]
    fn admission_failures_per_node_with_a_fallback() {
        let s = ClusterSettings::from_settings(&json!({"podAdmissionFailures": {
            "w1": "OutOfcpu", "*": {"reason": "NodeShutdown", "message": "Pod was rejected as the node is shutting down."}}}))
        .unwrap();
        assert_eq!(s.rejection("w1").unwrap().reason, "OutOfcpu");
        assert_eq!(
            s.rejection("w2").unwrap().message.as_deref(),
            Some("Pod was rejected as the node is shutting down.")
        );
        assert_eq!(ClusterSettings::default().rejection("w1"), None);
        for (bad, wanted) in [
            (
                json!({"w1": "Full"}),
                "settings.podAdmissionFailures.w1 must be one of OutOfcpu,",
            ),
            (
                json!({"w1": {"reason": "X"}}),
                "settings.podAdmissionFailures.w1.message must be a non-empty string",
            ),
            (json!("w1"), "settings.podAdmissionFailures must be a map"),
        ] {
            let err =
                ClusterSettings::from_settings(&json!({"podAdmissionFailures": bad})).unwrap_err();
            assert!(err.starts_with(wanted), "{err}");
        }
    }

    #[test]
    fn image_pull_failures_per_image_and_node() {
        let s = ClusterSettings::from_settings(&json!({"imagePullFailures": [
            "busybox:1.37@w2", "mirror.local/busybox:1.37", "busybox@sha256:abc"]}))
        .unwrap();
        assert!(s.pull_fails("busybox:1.37", "w2"));
        assert!(!s.pull_fails("busybox:1.37", "w1"));
        assert!(s.pull_fails("mirror.local/busybox:1.37", "w1"));
        assert!(
            s.pull_fails("busybox@sha256:abc", "w1"),
            "a digest is not a node"
        );
        let err = ClusterSettings::from_settings(&json!({"imagePullFailures": ["busybox@"]}))
            .unwrap_err();
        assert!(err.contains("must be IMAGE or IMAGE@NODE"), "{err}");
    }

    #[test]
    fn node_facts_per_node_with_a_fallback() {
        let s = ClusterSettings::from_settings(&json!({"nodeFacts": {
            "w1": "a=1\n", "w2": {"log": "broken\n", "exitCode": 3}, "*": {"log": "any\n"}}}))
        .unwrap();
        assert_eq!(
            s.node_fact("w1"),
            NodeFact {
                log: "a=1\n".into(),
                exit_code: 0
            }
        );
        assert_eq!(
            s.node_fact("w2"),
            NodeFact {
                log: "broken\n".into(),
                exit_code: 3
            }
        );
        assert_eq!(s.node_fact("cp1").log, "any\n");
        let none = ClusterSettings::default();
        assert_eq!(none.node_fact("w1"), NodeFact::default());
    }
}
