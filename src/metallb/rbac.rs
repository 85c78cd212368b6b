//! Service accounts, roles and bindings of the controller and the speaker.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

use super::render::{RenderOptions, cluster_meta, namespaced_meta};

const METALLB: &str = "metallb.io";
const CORE: &str = "";
const READ: &[&str] = &["get", "list", "watch"];
const MANAGE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..Default::default()
    }
}

fn named_rule(group: &str, resource: &str, names: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        resource_names: Some(strings(names)),
        ..rule(&[group], &[resource], verbs)
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `controller` and `speaker`.
pub fn service_accounts(opts: &RenderOptions) -> Vec<ServiceAccount> {
    ["controller", "speaker"]
        .into_iter()
        .map(|name| ServiceAccount {
            metadata: namespaced_meta(name, opts),
            ..Default::default()
        })
        .collect()
}

/// Cluster role names carry the namespace so two MetalLBs in different namespaces cannot clash.
pub fn cluster_role_name(opts: &RenderOptions, component: &str) -> String {
    format!("{}:{component}", opts.namespace)
}

/// The controller's namespace-local permissions (certificates, memberlist secret, MetalLB config)
/// and the `pod-lister` role both components share.
pub fn roles(opts: &RenderOptions) -> Vec<Role> {
    let controller = vec![
        rule(&[CORE], &["secrets"], MANAGE),
        named_rule(CORE, "secrets", &["memberlist"], &["list"]),
        named_rule("apps", "deployments", &["controller"], &["get"]),
        rule(&[METALLB], &["bgppeers"], &["get", "list"]),
        rule(&[METALLB], &["bfdprofiles"], READ),
        rule(&[METALLB], &["ipaddresspools"], READ),
        rule(&[METALLB], &["ipaddresspools/status"], &["update"]),
        rule(&[METALLB], &["bgpadvertisements"], READ),
        rule(&[METALLB], &["l2advertisements"], READ),
        rule(&[METALLB], &["communities"], READ),
    ];
    let pod_lister = vec![
        rule(&[CORE], &["pods"], &["list", "get"]),
        rule(&[CORE], &["secrets"], READ),
        rule(&[CORE], &["configmaps"], READ),
        rule(&[METALLB], &["bfdprofiles"], READ),
        rule(&[METALLB], &["bgppeers"], READ),
        rule(&[METALLB], &["l2advertisements"], READ),
        rule(&[METALLB], &["bgpadvertisements"], READ),
        rule(&[METALLB], &["ipaddresspools"], READ),
        rule(&[METALLB], &["communities"], READ),
        rule(
            &[METALLB],
            &["servicebgpstatuses", "servicebgpstatuses/status"],
            &["*"],
        ),
    ];
    [("controller", controller), ("pod-lister", pod_lister)]
        .into_iter()
        .map(|(name, rules)| Role {
            metadata: namespaced_meta(name, opts),
            rules: Some(rules),
        })
        .collect()
}

/// Cluster-wide permissions: Services and nodes to watch, events to write, and the controller's
/// right to maintain its own webhook configuration and the CRDs' CA bundle.
pub fn cluster_roles(opts: &RenderOptions) -> Vec<ClusterRole> {
    let crd_names = [
        "bfdprofiles.metallb.io",
        "bgpadvertisements.metallb.io",
        "bgppeers.metallb.io",
        "ipaddresspools.metallb.io",
        "l2advertisements.metallb.io",
        "communities.metallb.io",
        "configurationstates.metallb.io",
    ];
    let controller = vec![
        rule(&[CORE], &["services", "namespaces"], READ),
        rule(&[CORE], &["nodes"], &["list"]),
        rule(&[CORE], &["services/status"], &["update"]),
        rule(&[CORE], &["events"], &["create", "patch"]),
        named_rule("policy", "podsecuritypolicies", &["controller"], &["use"]),
        named_rule(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            &[super::webhook::CONFIGURATION_NAME],
            MANAGE,
        ),
        rule(
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations"],
            &["list", "watch"],
        ),
        named_rule(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            &crd_names,
            MANAGE,
        ),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["list", "watch"],
        ),
        rule(&[METALLB], &["configurationstates"], MANAGE),
        rule(
            &[METALLB],
            &["configurationstates/status"],
            &["get", "patch", "update"],
        ),
    ];
    let speaker = vec![
        rule(
            &[METALLB],
            &[
                "servicel2statuses",
                "servicel2statuses/status",
                "configurationstates",
                "configurationstates/status",
            ],
            &["*"],
        ),
        rule(
            &[CORE],
            &["services", "endpoints", "nodes", "namespaces"],
            READ,
        ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(&[CORE], &["events"], &["create", "patch"]),
        named_rule("policy", "podsecuritypolicies", &["speaker"], &["use"]),
    ];
    [("controller", controller), ("speaker", speaker)]
        .into_iter()
        .map(|(component, rules)| ClusterRole {
            metadata: cluster_meta(&cluster_role_name(opts, component), opts),
            rules: Some(rules),
            ..Default::default()
        })
        .collect()
}

fn subject(opts: &RenderOptions, account: &str) -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: account.into(),
        namespace: Some(opts.namespace.clone()),
        ..Default::default()
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

/// Binds `controller` to the controller account and `pod-lister` to both accounts.
pub fn role_bindings(opts: &RenderOptions) -> Vec<RoleBinding> {
    [
        ("controller", vec!["controller"]),
        ("pod-lister", vec!["controller", "speaker"]),
    ]
    .into_iter()
    .map(|(role, accounts)| RoleBinding {
        metadata: namespaced_meta(role, opts),
        role_ref: role_ref("Role", role),
        subjects: Some(accounts.iter().map(|a| subject(opts, a)).collect()),
    })
    .collect()
}

/// Binds each cluster role to its component's account.
pub fn cluster_role_bindings(opts: &RenderOptions) -> Vec<ClusterRoleBinding> {
    ["controller", "speaker"]
        .into_iter()
        .map(|component| {
            let name = cluster_role_name(opts, component);
            ClusterRoleBinding {
                metadata: cluster_meta(&name, opts),
                role_ref: role_ref("ClusterRole", &name),
                subjects: Some(vec![subject(opts, component)]),
            }
        })
        .collect()
}
