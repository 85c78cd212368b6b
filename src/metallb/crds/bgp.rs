//! The BGP kinds. lbctl installs L2 only, but MetalLB's controller and speaker watch these
//! too: without their CRDs neither starts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selectors::LabelSelector;

/// Announces the addresses of the selected pools to BGP peers.
#[derive(
    kube::CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BGPAdvertisement",
    namespaced,
    status = "BGPAdvertisementStatus",
    derive = "PartialEq",
    doc = "Tells speakers to announce addresses of the selected pools over BGP.",
    printcolumn(
        name = "IPAddressPools",
        type_ = "string",
        json_path = ".spec.ipAddressPools"
    ),
    printcolumn(
        name = "IPAddressPool Selectors",
        type_ = "string",
        json_path = ".spec.ipAddressPoolSelectors"
    ),
    printcolumn(name = "Peers", type_ = "string", json_path = ".spec.peers"),
    printcolumn(
        name = "Node Selectors",
        type_ = "string",
        json_path = ".spec.nodeSelectors",
        priority = 10
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.serviceSelectors) || self.serviceSelectors.size() == 0 || ((!has(self.aggregationLength) || self.aggregationLength == 32) && (!has(self.aggregationLengthV6) || self.aggregationLengthV6 == 128))",
    "message": "aggregationLength/aggregationLengthV6 other than 32/128 cannot be combined with serviceSelectors"
}]))]
pub struct BGPAdvertisementSpec {
    /// IPv4 prefix length used to aggregate announced routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 32))]
    pub aggregation_length: Option<i32>,
    /// IPv6 prefix length used to aggregate announced routes.
    #[serde(
        default,
        rename = "aggregationLengthV6",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend("default" = 128))]
    pub aggregation_length_v6: Option<i32>,
    /// BGP communities (values or Community aliases) attached to the routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<Vec<String>>,
    /// Pools to announce, chosen by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_pool_selectors: Option<Vec<LabelSelector>>,
    /// Pools to announce, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_pools: Option<Vec<String>>,
    /// BGP LOCAL_PREF attribute for iBGP sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>")]
    pub local_pref: Option<u32>,
    /// Nodes that announce (all when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selectors: Option<Vec<LabelSelector>>,
    /// BGPPeer names to announce to (all peers when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<String>>,
    /// Services whose addresses are announced (all when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_selectors: Option<Vec<LabelSelector>>,
}

/// Reserved by MetalLB; carries no fields today.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BGPAdvertisementStatus {}

/// BFD session parameters that BGP peers can refer to by name.
#[derive(
    kube::CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BFDProfile",
    namespaced,
    status = "BFDProfileStatus",
    derive = "PartialEq",
    doc = "Bidirectional Forwarding Detection timers shared by BGP sessions.",
    printcolumn(
        name = "Passive Mode",
        type_ = "boolean",
        json_path = ".spec.passiveMode"
    ),
    printcolumn(
        name = "Transmit Interval",
        type_ = "integer",
        json_path = ".spec.transmitInterval"
    ),
    printcolumn(
        name = "Receive Interval",
        type_ = "integer",
        json_path = ".spec.receiveInterval"
    ),
    printcolumn(
        name = "Multiplier",
        type_ = "integer",
        json_path = ".spec.detectMultiplier"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct BFDProfileSpec {
    /// Missed packets before the session is declared down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 2, max = 255))]
    pub detect_multiplier: Option<u32>,
    /// Echo transmission interval in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 10, max = 60000))]
    pub echo_interval: Option<u32>,
    /// Send echo packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_mode: Option<bool>,
    /// Lowest TTL accepted on incoming packets (multi-hop sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 1, max = 254))]
    pub minimum_ttl: Option<u32>,
    /// Wait for the peer to start the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_mode: Option<bool>,
    /// Shortest interval between received packets, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 10, max = 60000))]
    pub receive_interval: Option<u32>,
    /// Shortest interval between sent packets, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 10, max = 60000))]
    pub transmit_interval: Option<u32>,
}

/// Reserved by MetalLB; carries no fields today.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BFDProfileStatus {}

/// Named BGP community values.
#[derive(
    kube::CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "Community",
    plural = "communities",
    namespaced,
    status = "CommunityStatus",
    derive = "PartialEq",
    doc = "Readable names for BGP community values."
)]
pub struct CommunitySpec {
    /// The aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<Vec<CommunityAlias>>,
}

/// One alias: a name and the community value it stands for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommunityAlias {
    /// The alias used in BGPAdvertisements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The community, `AA:NN` or `large:AA:BB:CC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Reserved by MetalLB; carries no fields today.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommunityStatus {}
