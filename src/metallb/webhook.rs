//! The validating webhooks: the certificate Secret the controller fills, the Service in front of
//! the controller, and the webhook configuration whose `caBundle` the controller injects.

use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use k8s_openapi::api::core::v1::{Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::crds::WEBHOOK_SERVICE;
use super::render::{RenderOptions, cluster_meta, namespaced_meta};
use super::workloads::WEBHOOK_PORT;

/// The ValidatingWebhookConfiguration's name (the controller looks it up by this name).
pub const CONFIGURATION_NAME: &str = "metallb-webhook-configuration";
/// The Secret the controller writes its serving certificate into.
pub const CERT_SECRET: &str = "metallb-webhook-cert";

/// One webhook per validated kind: (webhook name prefix, resource, version, operations).
/// BFD profiles are checked on delete too (a profile still in use must stay).
const WEBHOOKS: &[(&str, &str, &str, &[&str])] = &[
    ("bgppeers", "bgppeers", "v1beta2", &["CREATE", "UPDATE"]),
    (
        "bfdprofile",
        "bfdprofiles",
        "v1beta1",
        &["CREATE", "DELETE"],
    ),
    (
        "bgpadvertisement",
        "bgpadvertisements",
        "v1beta1",
        &["CREATE", "UPDATE"],
    ),
    ("community", "communities", "v1beta1", &["CREATE", "UPDATE"]),
    (
        "ipaddresspool",
        "ipaddresspools",
        "v1beta1",
        &["CREATE", "UPDATE"],
    ),
    (
        "l2advertisement",
        "l2advertisements",
        "v1beta1",
        &["CREATE", "UPDATE"],
    ),
];

/// The name of the webhook that validates `resource` (e.g. `ipaddresspools`), as it appears in
/// the API server's errors.
pub fn webhook_name_for(resource: &str) -> Option<String> {
    WEBHOOKS
        .iter()
        .find(|(_, r, _, _)| *r == resource)
        .map(|(prefix, _, _, _)| format!("{prefix}validationwebhook.metallb.io"))
}

/// Empty on purpose: the controller generates the certificate at start-up. Applying it with
/// server-side apply never touches the data the controller wrote.
pub fn cert_secret(opts: &RenderOptions) -> Secret {
    Secret {
        metadata: namespaced_meta(CERT_SECRET, opts),
        ..Default::default()
    }
}

/// `metallb-webhook-service:443` -> controller pods on the webhook port.
pub fn service(opts: &RenderOptions) -> Service {
    Service {
        metadata: namespaced_meta(WEBHOOK_SERVICE, opts),
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                port: 443,
                target_port: Some(IntOrString::Int(WEBHOOK_PORT)),
                ..Default::default()
            }]),
            selector: Some([("component".to_string(), "controller".to_string())].into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The webhooks, without `caBundle`: the controller injects it, and lbctl's server-side apply
/// does not own that field, so re-running install keeps it.
pub fn configuration(opts: &RenderOptions) -> ValidatingWebhookConfiguration {
    let webhooks = WEBHOOKS
        .iter()
        .map(|(prefix, resource, version, operations)| {
            let kind = resource_kind_path(resource);
            ValidatingWebhook {
                name: format!("{prefix}validationwebhook.metallb.io"),
                admission_review_versions: vec!["v1".into()],
                client_config: WebhookClientConfig {
                    service: Some(ServiceReference {
                        name: WEBHOOK_SERVICE.into(),
                        namespace: opts.namespace.clone(),
                        path: Some(format!("/validate-metallb-io-{version}-{kind}")),
                        port: None,
                    }),
                    ..Default::default()
                },
                failure_policy: Some("Fail".into()),
                rules: Some(vec![RuleWithOperations {
                    api_groups: Some(vec!["metallb.io".into()]),
                    api_versions: Some(vec![version.to_string()]),
                    operations: Some(operations.iter().map(|o| o.to_string()).collect()),
                    resources: Some(vec![resource.to_string()]),
                    ..Default::default()
                }]),
                side_effects: "None".into(),
                ..Default::default()
            }
        })
        .collect();
    ValidatingWebhookConfiguration {
        metadata: cluster_meta(CONFIGURATION_NAME, opts),
        webhooks: Some(webhooks),
    }
}

/// The webhook server's path segment for a resource: its singular, lower-case kind.
fn resource_kind_path(resource: &str) -> &str {
    match resource {
        "communities" => "community",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}
