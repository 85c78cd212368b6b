//! MetalLB's custom resource kinds as Rust types, and the CRDs derived from them.
//!
//! The derive produces one CRD per kind and version; [`all`] then applies what the derive cannot
//! express: BGPPeer's two versions merged with the conversion webhook, `spec` optional where
//! MetalLB allows it, no `nullable` markers.

// Several `printcolumn(...)` entries share keys such as `type_`; clippy reads them as duplicated
// attributes although each belongs to its own column.
#![allow(clippy::duplicated_attributes)]

pub mod bgp;
pub mod bgppeer;
pub mod pools;
pub mod schema;
pub mod selectors;
pub mod status;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition, ServiceReference, WebhookClientConfig,
    WebhookConversion,
};
use kube::CustomResourceExt;
use kube::core::crd::merge_crds;

pub use bgp::{BFDProfile, BGPAdvertisement, Community};
pub use pools::{
    IPAddressPool, IPAddressPoolSpec, IPAddressPoolStatus, L2Advertisement, L2AdvertisementSpec,
};
pub use selectors::LabelSelector;
pub use status::{ConfigurationState, ConfigurationStateStatus, ServiceBGPStatus, ServiceL2Status};

/// The Service through which the API server reaches MetalLB's webhooks.
pub const WEBHOOK_SERVICE: &str = "metallb-webhook-service";

/// The nine CRDs, in a stable order (by name), for a MetalLB running in `namespace`.
pub fn all(namespace: &str) -> Vec<CustomResourceDefinition> {
    let bgppeers = merge_crds(
        vec![
            bgppeer::v1beta1::BGPPeer::crd(),
            bgppeer::v1beta2::BGPPeer::crd(),
        ],
        "v1beta2",
    )
    // Both inputs are single-version CRDs of one kind and group, built just above.
    .expect("the two BGPPeer versions merge");
    let mut crds = vec![
        BFDProfile::crd(),
        BGPAdvertisement::crd(),
        with_conversion_webhook(bgppeers, namespace),
        Community::crd(),
        ConfigurationState::crd(),
        IPAddressPool::crd(),
        L2Advertisement::crd(),
        ServiceBGPStatus::crd(),
        ServiceL2Status::crd(),
    ];
    for crd in &mut crds {
        let spec_required = crd.spec.names.kind == "IPAddressPool";
        crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
        crd.spec.versions.sort_by(|a, b| a.name.cmp(&b.name));
        for version in &mut crd.spec.versions {
            let Some(validation) = version.schema.as_mut() else {
                continue;
            };
            let Some(props) = validation.open_api_v3_schema.take() else {
                continue;
            };
            let mut value = serde_json::to_value(props).expect("a schema serializes");
            schema::strip_nullable(&mut value);
            schema::drop_empty_properties(&mut value);
            schema::standard_root(&mut value);
            if !spec_required {
                schema::spec_optional(&mut value);
            }
            validation.open_api_v3_schema =
                Some(crate::kube::typed(&value).expect("a cleaned schema is still a schema"));
        }
    }
    crds
}

/// Each CRD's objects as the API server stores them: group, storage version, kind and plural.
pub fn stored_kinds(namespace: &str) -> Vec<kube::core::ApiResource> {
    all(namespace)
        .into_iter()
        .filter_map(|crd| {
            let version = crd.spec.versions.iter().find(|v| v.storage)?.name.clone();
            let gvk =
                kube::core::GroupVersionKind::gvk(&crd.spec.group, &version, &crd.spec.names.kind);
            Some(kube::core::ApiResource::from_gvk_with_plural(
                &gvk,
                &crd.spec.names.plural,
            ))
        })
        .collect()
}

/// BGPPeer objects are stored as v1beta2; MetalLB's webhook converts v1beta1 requests.
fn with_conversion_webhook(
    mut crd: CustomResourceDefinition,
    namespace: &str,
) -> CustomResourceDefinition {
    crd.spec.conversion = Some(CustomResourceConversion {
        strategy: "Webhook".into(),
        webhook: Some(WebhookConversion {
            client_config: Some(WebhookClientConfig {
                service: Some(ServiceReference {
                    name: WEBHOOK_SERVICE.into(),
                    namespace: namespace.into(),
                    path: Some("/convert".into()),
                    port: None,
                }),
                ..Default::default()
            }),
            conversion_review_versions: vec!["v1beta1".into(), "v1beta2".into()],
        }),
    });
    crd
}
