//! `BGPPeer` in its two served versions: v1beta1 (deprecated) and v1beta2 (stored). The API
//! server converts between them through MetalLB's conversion webhook.

/// The deprecated version, still served so old manifests keep working.
pub mod v1beta1 {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use crate::metallb::crds::selectors::LegacyNodeSelector;

    /// A BGP router the speakers open sessions with.
    #[derive(
        kube::CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
    )]
    #[kube(
        group = "metallb.io",
        version = "v1beta1",
        kind = "BGPPeer",
        namespaced,
        status = "BGPPeerStatus",
        derive = "PartialEq",
        deprecated = "metallb.io/v1beta1 BGPPeer is deprecated; switch to metallb.io/v1beta2",
        doc = "A BGP router the speakers peer with (deprecated version).",
        printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
        printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
        printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
        printcolumn(
            name = "Multi Hops",
            type_ = "string",
            json_path = ".spec.ebgpMultiHop"
        )
    )]
    #[serde(rename_all = "camelCase")]
    pub struct BGPPeerSpec {
        /// BFDProfile to run on the session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bfd_profile: Option<String>,
        /// The peer is more than one hop away.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ebgp_multi_hop: Option<bool>,
        /// BGP hold time, as a duration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hold_time: Option<String>,
        /// BGP keepalive interval, as a duration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keepalive_time: Option<String>,
        /// Our AS number.
        #[serde(rename = "myASN")]
        #[schemars(with = "i64", range(min = 0, max = 4294967295u32))]
        pub my_asn: u32,
        /// Nodes that peer (all when empty).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selectors: Option<Vec<LegacyNodeSelector>>,
        /// TCP MD5 password in clear text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub password: Option<String>,
        /// The peer's AS number.
        #[serde(rename = "peerASN")]
        #[schemars(with = "i64", range(min = 0, max = 4294967295u32))]
        pub peer_asn: u32,
        /// The peer's address.
        pub peer_address: String,
        /// The peer's TCP port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(schema_with = "crate::metallb::crds::schema::port_0_16384")]
        pub peer_port: Option<u16>,
        /// BGP router ID to send.
        #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
        pub router_id: Option<String>,
        /// Local address to open the session from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source_address: Option<String>,
    }

    /// Reserved by MetalLB; carries no fields today.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    pub struct BGPPeerStatus {}
}

/// The stored version.
pub mod v1beta2 {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use crate::metallb::crds::selectors::LabelSelector;

    /// A BGP router the speakers open sessions with.
    #[derive(
        kube::CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
    )]
    #[kube(
        group = "metallb.io",
        version = "v1beta2",
        kind = "BGPPeer",
        namespaced,
        status = "BGPPeerStatus",
        derive = "PartialEq",
        doc = "A BGP router the speakers peer with.",
        printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
        printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
        printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
        printcolumn(
            name = "Multi Hops",
            type_ = "string",
            json_path = ".spec.ebgpMultiHop"
        )
    )]
    #[serde(rename_all = "camelCase")]
    pub struct BGPPeerSpec {
        /// BFDProfile to run on the session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bfd_profile: Option<String>,
        /// How long to wait for the TCP connection, as a duration of whole seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("x-kubernetes-validations" = [
            {
                "rule": "duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535",
                "message": "connectTime must be from 1s to 65535s"
            },
            {
                "rule": "duration(self).getMilliseconds() % 1000 == 0",
                "message": "connectTime must be whole seconds"
            }
        ]))]
        pub connect_time: Option<String>,
        /// Do not carry IPv4 and IPv6 routes over one session.
        #[serde(default, rename = "disableMP", skip_serializing_if = "Option::is_none")]
        #[schemars(extend("default" = false))]
        pub disable_mp: Option<bool>,
        /// Announce both families over this session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("default" = false))]
        pub dual_stack_address_family: Option<bool>,
        /// Learn the peer's AS number instead of naming it.
        #[serde(
            default,
            rename = "dynamicASN",
            skip_serializing_if = "Option::is_none"
        )]
        pub dynamic_asn: Option<DynamicAsnMode>,
        /// The peer is more than one hop away.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ebgp_multi_hop: Option<bool>,
        /// Keep routes while the peer restarts (fixed at creation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "enableGracefulRestart is fixed once the peer exists"
        }]))]
        pub enable_graceful_restart: Option<bool>,
        /// BGP hold time, as a duration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hold_time: Option<String>,
        /// Node interface to peer over (unnumbered BGP).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interface: Option<String>,
        /// BGP keepalive interval, as a duration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keepalive_time: Option<String>,
        /// AS number to present instead of myASN.
        #[serde(default, rename = "localASN", skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<i64>", range(min = 1, max = 4294967295u32))]
        pub local_asn: Option<u32>,
        /// Our AS number.
        #[serde(rename = "myASN")]
        #[schemars(with = "i64", range(min = 0, max = 4294967295u32))]
        pub my_asn: u32,
        /// Nodes that peer (all when empty).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selectors: Option<Vec<LabelSelector>>,
        /// TCP MD5 password in clear text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub password: Option<String>,
        /// Secret holding the TCP MD5 password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub password_secret: Option<SecretRef>,
        /// The peer's AS number.
        #[serde(default, rename = "peerASN", skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<i64>", range(min = 0, max = 4294967295u32))]
        pub peer_asn: Option<u32>,
        /// The peer's address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub peer_address: Option<String>,
        /// The peer's TCP port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(schema_with = "crate::metallb::crds::schema::port_1_16384_default_179")]
        pub peer_port: Option<u16>,
        /// BGP router ID to send.
        #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
        pub router_id: Option<String>,
        /// Local address to open the session from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source_address: Option<String>,
        /// VRF the session runs in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub vrf: Option<String>,
    }

    /// How the peer's AS number is learned.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DynamicAsnMode {
        /// Same AS as ours (iBGP).
        Internal,
        /// A different AS (eBGP).
        External,
    }

    /// Points at a Secret by name and namespace.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[schemars(extend("x-kubernetes-map-type" = "atomic"))]
    pub struct SecretRef {
        /// Secret name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Secret namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace: Option<String>,
    }

    /// Reserved by MetalLB; carries no fields today.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    pub struct BGPPeerStatus {}
}
