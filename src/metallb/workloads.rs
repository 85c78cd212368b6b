//! The controller Deployment, the speaker DaemonSet and the speaker's interface exclusion list.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    SecretVolumeSource, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::render::{RenderOptions, namespaced_meta};

/// The port both components serve `/healthz` and `/readyz` on.
pub const HEALTH_PORT: i32 = 17472;
/// The controller's webhook port, behind `metallb-webhook-service:443`.
pub const WEBHOOK_PORT: i32 = 9443;
/// Name of the ConfigMap listing interfaces the speaker never announces on.
pub const EXCLUDE_L2_CONFIGMAP: &str = "metallb-excludel2";
/// The Secret the controller creates for the speakers' memberlist encryption.
pub const MEMBERLIST_SECRET: &str = "memberlist";

/// Interfaces that belong to container runtimes, CNIs and kube-proxy, never to the L2 segment
/// users want announced on.
const EXCLUDED_INTERFACES: &[&str] = &[
    "^docker.*",
    "^cbr.*",
    "^dummy.*",
    "^virbr.*",
    "^lxcbr.*",
    "^veth.*",
    "^lo$",
    "^cali.*",
    "^tunl.*",
    "^flannel.*",
    "^kube-ipvs.*",
    "^cni.*",
    "^nodelocaldns.*",
    "^lxc.*",
];

/// The speaker's `excludel2.yaml`.
pub fn exclude_l2_config_map(opts: &RenderOptions) -> ConfigMap {
    let list: Vec<String> = EXCLUDED_INTERFACES
        .iter()
        .map(|p| format!("{p:?}"))
        .collect();
    let body = format!("announcedInterfacesToExclude: [{}]\n", list.join(", "));
    ConfigMap {
        metadata: namespaced_meta(EXCLUDE_L2_CONFIGMAP, opts),
        data: Some(BTreeMap::from([("excludel2.yaml".to_string(), body)])),
        ..Default::default()
    }
}

fn component_labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), "metallb".to_string()),
        ("component".to_string(), component.to_string()),
    ])
}

fn pod_meta(component: &str) -> ObjectMeta {
    ObjectMeta {
        labels: Some(component_labels(component)),
        annotations: Some(BTreeMap::from([
            ("prometheus.io/port".to_string(), "9120".to_string()),
            ("prometheus.io/scrape".to_string(), "true".to_string()),
        ])),
        ..Default::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn value_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

fn port(name: &str, number: i32, protocol: Option<&str>) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: protocol.map(String::from),
        ..Default::default()
    }
}

/// A health probe on the component's health port; the speaker (host network) asks 127.0.0.1.
fn probe(path: &str, host: Option<&str>) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            host: host.map(String::from),
            path: Some(path.into()),
            port: IntOrString::Int(HEALTH_PORT),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(true),
        ..Default::default()
    }
}

fn args(opts: &RenderOptions, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--port=9120".to_string(),
        format!("--log-level={}", opts.log_level.as_str()),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn linux_only() -> BTreeMap<String, String> {
    BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])
}

/// The controller: assigns addresses, serves the webhooks, rotates their certificate.
pub fn controller(opts: &RenderOptions) -> Deployment {
    let container = Container {
        name: "controller".into(),
        image: Some(opts.image("controller")),
        image_pull_policy: opts.image_pull_policy.map(|p| p.as_str().to_string()),
        args: Some(args(opts, &[])),
        env: Some(vec![
            field_env("METALLB_POD_NAME", "metadata.name"),
            value_env("METALLB_ML_SECRET_NAME", MEMBERLIST_SECRET),
            value_env("METALLB_DEPLOYMENT", "controller"),
        ]),
        ports: Some(vec![
            port("metricshttps", 9120, None),
            port("webhook-server", WEBHOOK_PORT, Some("TCP")),
        ]),
        liveness_probe: Some(probe("/healthz", None)),
        readiness_probe: Some(probe("/readyz", None)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["all".into()]),
                ..Default::default()
            }),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![mount("cert", "/tmp/k8s-webhook-server/serving-certs")]),
        ..Default::default()
    };
    let mut metadata = namespaced_meta("controller", opts);
    metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("component".into(), "controller".into());
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            revision_history_limit: Some(3),
            selector: LabelSelector {
                match_labels: Some(component_labels("controller")),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(pod_meta("controller")),
                spec: Some(PodSpec {
                    containers: vec![container],
                    node_selector: Some(linux_only()),
                    security_context: Some(PodSecurityContext {
                        fs_group: Some(65534),
                        run_as_non_root: Some(true),
                        run_as_user: Some(65534),
                        ..Default::default()
                    }),
                    service_account_name: Some("controller".into()),
                    termination_grace_period_seconds: Some(0),
                    volumes: Some(vec![Volume {
                        name: "cert".into(),
                        secret: Some(SecretVolumeSource {
                            default_mode: Some(0o644),
                            secret_name: Some(super::webhook::CERT_SECRET.into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Control-plane taints the speaker tolerates so that it can announce from every node.
fn default_tolerations() -> Vec<Toleration> {
    [
        "node-role.kubernetes.io/master",
        "node-role.kubernetes.io/control-plane",
    ]
    .into_iter()
    .map(|key| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    })
    .collect()
}

/// The speaker: one per node on the host network, answers ARP for the addresses it owns.
pub fn speaker(opts: &RenderOptions) -> DaemonSet {
    let extra: &[&str] = if opts.ignore_exclude_lb {
        &["--ignore-exclude-lb"]
    } else {
        &[]
    };
    let container = Container {
        name: "speaker".into(),
        image: Some(opts.image("speaker")),
        image_pull_policy: opts.image_pull_policy.map(|p| p.as_str().to_string()),
        args: Some(args(opts, extra)),
        env: Some(vec![
            field_env("METALLB_NODE_NAME", "spec.nodeName"),
            field_env("METALLB_POD_NAME", "metadata.name"),
            field_env("METALLB_HOST", "status.hostIP"),
            field_env("METALLB_ML_BIND_ADDR", "status.podIP"),
            value_env("METALLB_ML_LABELS", "app=metallb,component=speaker"),
            value_env("METALLB_ML_SECRET_KEY_PATH", "/etc/ml_secret_key"),
        ]),
        ports: Some(vec![
            port("metricshttps", 9120, None),
            port("memberlist-tcp", 7946, None),
            port("memberlist-udp", 7946, Some("UDP")),
        ]),
        liveness_probe: Some(probe("/healthz", Some("127.0.0.1"))),
        readiness_probe: Some(probe("/readyz", Some("127.0.0.1"))),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                add: Some(vec!["NET_RAW".into()]),
                drop: Some(vec!["ALL".into()]),
            }),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("memberlist", "/etc/ml_secret_key"),
            mount(EXCLUDE_L2_CONFIGMAP, "/etc/metallb"),
            mount("memberlist-config", "/etc/metallb/memberlist"),
        ]),
        ..Default::default()
    };
    let mut node_selector = linux_only();
    node_selector.extend(opts.speaker_node_selector.clone());
    let mut tolerations = default_tolerations();
    tolerations.extend(opts.speaker_tolerations.iter().cloned());
    let mut metadata = namespaced_meta("speaker", opts);
    metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("component".into(), "speaker".into());
    DaemonSet {
        metadata,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(component_labels("speaker")),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(pod_meta("speaker")),
                spec: Some(PodSpec {
                    containers: vec![container],
                    host_network: Some(true),
                    node_selector: Some(node_selector),
                    service_account_name: Some("speaker".into()),
                    termination_grace_period_seconds: Some(2),
                    tolerations: Some(tolerations),
                    volumes: Some(vec![
                        Volume {
                            name: "memberlist".into(),
                            secret: Some(SecretVolumeSource {
                                default_mode: Some(0o644),
                                secret_name: Some(MEMBERLIST_SECRET.into()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: EXCLUDE_L2_CONFIGMAP.into(),
                            config_map: Some(ConfigMapVolumeSource {
                                default_mode: Some(0o400),
                                name: EXCLUDE_L2_CONFIGMAP.into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: "memberlist-config".into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: "metallb-memberlist-config".into(),
                                optional: Some(true),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}
