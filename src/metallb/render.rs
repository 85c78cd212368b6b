//! Render options and the complete list of objects of a MetalLB installation, in apply order.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use super::{VERSION, crds, rbac, webhook, workloads};

/// Label every object lbctl writes carries; upgrades find stale objects by it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "lbctl";
/// Label holding the MetalLB version an object was rendered for.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// Label naming the application, so lbctl's own objects of other kinds are never mistaken.
pub const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
pub const PART_OF: &str = "metallb";
/// The registry and repository prefix of MetalLB's upstream images.
pub const UPSTREAM_REPOSITORY: &str = "quay.io/metallb";

/// MetalLB's log levels (`--log-level` of both components).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    All,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    None,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::All => "all",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::None => "none",
        }
    }
}

/// Kubernetes image pull policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// What a user can change about the installation.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    pub namespace: String,
    /// Replaces `quay.io/metallb` in image references (air-gapped mirrors).
    pub registry: Option<String>,
    pub image_pull_policy: Option<PullPolicy>,
    /// Added to the speaker's `kubernetes.io/os: linux` node selector.
    pub speaker_node_selector: BTreeMap<String, String>,
    /// Added to the speaker's control-plane tolerations.
    pub speaker_tolerations: Vec<Toleration>,
    pub log_level: LogLevel,
    /// Speakers announce from nodes labelled `node.kubernetes.io/exclude-from-external-load-balancers`.
    pub ignore_exclude_lb: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            namespace: "metallb-system".into(),
            registry: None,
            image_pull_policy: None,
            speaker_node_selector: BTreeMap::new(),
            speaker_tolerations: Vec::new(),
            log_level: LogLevel::Info,
            ignore_exclude_lb: false,
        }
    }
}

impl RenderOptions {
    /// The image of a component (`controller` or `speaker`), from the mirror when one is set.
    pub fn image(&self, component: &str) -> String {
        let repository = self
            .registry
            .as_deref()
            .map(|r| r.trim_end_matches('/'))
            .unwrap_or(UPSTREAM_REPOSITORY);
        format!("{repository}/{component}:{VERSION}")
    }
}

/// Parses `--speaker-node-selector key=value`.
pub fn parse_node_selector(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!(
            "{text:?} is not key=value; example: --speaker-node-selector metallb-speaker=true"
        )),
    }
}

/// Parses one `--speaker-tolerations` item, written like a taint: `key[=value][:Effect]`.
/// Without a value the toleration uses `Exists`; without an effect it tolerates every effect.
pub fn parse_toleration(text: &str) -> Result<Toleration, String> {
    let example =
        "examples: dedicated=lb:NoSchedule, node-role.kubernetes.io/edge:NoExecute, special";
    let (key_value, effect) = match text.rsplit_once(':') {
        Some((kv, effect)) => (kv, Some(effect)),
        None => (text, None),
    };
    if let Some(effect) = effect
        && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
    {
        return Err(format!(
            "{text:?}: effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute; {example}"
        ));
    }
    let (key, value) = match key_value.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (key_value, None),
    };
    if key.trim().is_empty() {
        return Err(format!("{text:?} has no taint key; {example}"));
    }
    Ok(Toleration {
        key: Some(key.trim().to_string()),
        operator: Some(if value.is_some() { "Equal" } else { "Exists" }.to_string()),
        value: value.map(|v| v.trim().to_string()),
        effect: effect.map(str::to_string),
        ..Default::default()
    })
}

/// Labels every rendered object carries.
pub fn common_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), "metallb".to_string()),
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (PART_OF_LABEL.to_string(), PART_OF.to_string()),
        (VERSION_LABEL.to_string(), VERSION.to_string()),
    ])
}

/// Metadata of an object in MetalLB's namespace.
pub fn namespaced_meta(name: &str, opts: &RenderOptions) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(opts.namespace.clone()),
        ..cluster_meta(name, opts)
    }
}

/// Metadata of a cluster-scoped object.
pub fn cluster_meta(name: &str, _opts: &RenderOptions) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: Some(common_labels()),
        ..Default::default()
    }
}

/// The install steps objects belong to; install applies them in this order and waits between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Namespace,
    Crds,
    /// Service accounts, RBAC, the exclusion ConfigMap, the webhook Secret and Service.
    Config,
    /// Controller, speaker and the webhook configuration they serve.
    Workloads,
}

/// One rendered object: its install phase and its JSON form (with apiVersion and kind).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub phase: Phase,
    pub object: Value,
}

impl Rendered {
    fn new(phase: Phase, object: impl Serialize) -> Self {
        let object = serde_json::to_value(object).expect("k8s objects serialize to JSON");
        Rendered { phase, object }
    }

    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }
    /// `Kind/name` or `Kind namespace/name`, for messages.
    pub fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind(), self.name()),
            None => format!("{}/{}", self.kind(), self.name()),
        }
    }
}

/// The namespace with Pod Security labels: the speaker needs the host network and NET_RAW,
/// which only the `privileged` level allows.
pub fn namespace(opts: &RenderOptions) -> Namespace {
    let mut metadata = cluster_meta(&opts.namespace, opts);
    let labels = metadata.labels.get_or_insert_with(Default::default);
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}"),
            "privileged".into(),
        );
    }
    Namespace {
        metadata,
        ..Default::default()
    }
}

/// Every object of the installation, in apply order.
pub fn render(opts: &RenderOptions) -> Vec<Rendered> {
    let mut out = vec![Rendered::new(Phase::Namespace, namespace(opts))];
    for mut crd in crds::all(&opts.namespace) {
        crd.metadata.labels = Some(common_labels());
        out.push(Rendered::new(Phase::Crds, crd));
    }
    let config = Phase::Config;
    out.extend(
        rbac::service_accounts(opts)
            .into_iter()
            .map(|o| Rendered::new(config, o)),
    );
    out.extend(
        rbac::roles(opts)
            .into_iter()
            .map(|o| Rendered::new(config, o)),
    );
    out.extend(
        rbac::cluster_roles(opts)
            .into_iter()
            .map(|o| Rendered::new(config, o)),
    );
    out.extend(
        rbac::role_bindings(opts)
            .into_iter()
            .map(|o| Rendered::new(config, o)),
    );
    out.extend(
        rbac::cluster_role_bindings(opts)
            .into_iter()
            .map(|o| Rendered::new(config, o)),
    );
    out.push(Rendered::new(
        config,
        workloads::exclude_l2_config_map(opts),
    ));
    out.push(Rendered::new(config, webhook::cert_secret(opts)));
    out.push(Rendered::new(config, webhook::service(opts)));
    out.push(Rendered::new(Phase::Workloads, workloads::controller(opts)));
    out.push(Rendered::new(Phase::Workloads, workloads::speaker(opts)));
    out.push(Rendered::new(
        Phase::Workloads,
        webhook::configuration(opts),
    ));
    out
}

/// The objects as one multi-document YAML stream, ready for `kubectl apply -f -`.
pub fn to_yaml(objects: &[Rendered]) -> String {
    let mut out = String::new();
    for rendered in objects {
        out.push_str("---\n");
        out.push_str(
            &serde_saphyr::to_string(&rendered.object).expect("JSON values serialize to YAML"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_carries_the_managed_by_and_version_labels() {
        for r in render(&RenderOptions::default()) {
            let labels = &r.object["metadata"]["labels"];
            assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY, "{}", r.describe());
            assert_eq!(labels[VERSION_LABEL], VERSION, "{}", r.describe());
        }
    }

    #[test]
    fn namespace_option_moves_every_namespaced_object_and_reference() {
        let opts = RenderOptions {
            namespace: "lb".into(),
            ..Default::default()
        };
        let objects = render(&opts);
        let text =
            serde_json::to_string(&objects.iter().map(|r| &r.object).collect::<Vec<_>>()).unwrap();
        assert!(
            !text.contains("metallb-system"),
            "a reference to the default namespace is left"
        );
        assert!(
            objects
                .iter()
                .filter_map(Rendered::namespace)
                .all(|ns| ns == "lb")
        );
    }

    #[test]
    fn registry_rewrites_both_images() {
        let opts = RenderOptions {
            registry: Some("mirror.local:5000/mlb/".into()),
            ..Default::default()
        };
        assert_eq!(
            opts.image("speaker"),
            "mirror.local:5000/mlb/speaker:v0.16.1"
        );
        let yaml = to_yaml(&render(&opts));
        assert!(!yaml.contains("quay.io"));
        assert_eq!(yaml.matches("mirror.local:5000/mlb/").count(), 2);
    }

    #[test]
    fn tolerations_follow_taint_syntax() {
        let t = parse_toleration("dedicated=lb:NoSchedule").unwrap();
        assert_eq!(
            (
                t.key.as_deref(),
                t.operator.as_deref(),
                t.value.as_deref(),
                t.effect.as_deref()
            ),
            (
                Some("dedicated"),
                Some("Equal"),
                Some("lb"),
                Some("NoSchedule")
            )
        );
        let t = parse_toleration("node-role.kubernetes.io/edge").unwrap();
        assert_eq!((t.operator.as_deref(), t.effect), (Some("Exists"), None));
        assert!(
            parse_toleration("x:Sometimes")
                .unwrap_err()
                .contains("NoExecute")
        );
        assert!(parse_toleration("=v:NoSchedule").is_err());
    }

    #[test]
    fn speaker_options_reach_the_daemonset() {
        let opts = RenderOptions {
            speaker_node_selector: [parse_node_selector("lb=yes").unwrap()].into(),
            speaker_tolerations: vec![parse_toleration("edge:NoExecute").unwrap()],
            ignore_exclude_lb: true,
            log_level: LogLevel::Debug,
            image_pull_policy: Some(PullPolicy::Never),
            ..Default::default()
        };
        let ds = workloads::speaker(&opts);
        let pod = ds.spec.unwrap().template.spec.unwrap();
        let selector = pod.node_selector.unwrap();
        assert_eq!(selector["lb"], "yes");
        assert_eq!(selector["kubernetes.io/os"], "linux");
        assert_eq!(pod.tolerations.unwrap().len(), 3);
        let c = &pod.containers[0];
        let args = c.args.clone().unwrap();
        assert!(args.contains(&"--ignore-exclude-lb".to_string()));
        assert!(args.contains(&"--log-level=debug".to_string()));
        assert_eq!(c.image_pull_policy.as_deref(), Some("Never"));
        assert!(parse_node_selector("novalue").is_err());
    }

    #[test]
    fn phases_are_in_apply_order() {
        let phases: Vec<Phase> = render(&RenderOptions::default())
            .iter()
            .map(|r| r.phase)
            .collect();
        let mut sorted = phases.clone();
        sorted.sort();
        assert_eq!(phases, sorted);
    }
}
