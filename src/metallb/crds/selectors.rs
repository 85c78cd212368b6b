//! Label selectors as MetalLB's resources embed them. Our own types (not k8s-openapi's) so the
//! derived schema carries the merge markers the API server uses for server-side apply.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Selects objects by labels; an empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct LabelSelector {
    /// Requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub match_expressions: Option<Vec<LabelRequirement>>,
    /// Labels that must all be present with exactly these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// One requirement of a label selector: `key operator values`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabelRequirement {
    /// The label key the requirement is about.
    pub key: String,
    /// One of In, NotIn, Exists, DoesNotExist.
    pub operator: String,
    /// Values compared by In and NotIn; empty for Exists and DoesNotExist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub values: Option<Vec<String>>,
}

/// The older node selector of `BGPPeer` v1beta1: every requirement lists at least one value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyNodeSelector {
    /// Requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LegacyRequirement>>,
    /// Labels that must all be present with exactly these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// A v1beta1 node selector requirement (values are mandatory there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LegacyRequirement {
    /// The node label key.
    pub key: String,
    /// One of In, NotIn, Exists, DoesNotExist.
    pub operator: String,
    /// At least one value to compare with.
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
}
