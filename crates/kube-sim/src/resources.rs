//! The resource table: which kinds the server knows, under which group/version/plural, and how
//! discovery describes them. Built-in kinds come from a static table; CRDs add their own.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const NS_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const REVIEW_VERBS: &[&str] = &["create"];

/// A subresource served under `<resource>/<name>/<subresource>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subresource {
    pub name: String,
    pub kind: String,
    pub verbs: Vec<String>,
}

/// One resource of one group/version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    /// Other served versions (CRDs with several versions); objects are stored once.
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    /// Whether `metadata.generation` is maintained (workloads, CRDs, custom resources, ...).
    pub generation: bool,
    /// Defined by a CustomResourceDefinition (lists carry kind/apiVersion on items, deletes
    /// answer with the object).
    pub custom: bool,
    /// Access reviews: create-only, never stored.
    pub virtual_only: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s.name == "status")
    }

    pub fn serves_version(&self, version: &str) -> bool {
        self.version == version || self.versions.iter().any(|v| v == version)
    }

    pub fn key(&self) -> GroupResource {
        GroupResource {
            group: self.group.clone(),
            resource: self.plural.clone(),
        }
    }

    /// Stable pseudo storage-version hash (base64 of 8 bytes), as discovery shows one.
    pub fn storage_version_hash(&self) -> String {
        use base64::Engine;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in format!("{}/{}/{}", self.group, self.version, self.kind).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        base64::engine::general_purpose::STANDARD.encode(hash.to_be_bytes())
    }
}

/// The identity objects are stored under (versions of one resource share storage).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

struct Builtin {
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    verbs: &'static [&'static str],
    short: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [(&'static str, &'static str, &'static [&'static str])],
    generation: bool,
}

const STATUS: (&str, &str, &[&str]) = ("status", "", &["get", "patch", "update"]);

macro_rules! builtin {
    ($group:expr, $plural:expr, $singular:expr, $kind:expr, $ns:expr, $verbs:expr, $short:expr, $cat:expr, $subs:expr, $gen:expr) => {
        Builtin {
            group: $group,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            verbs: $verbs,
            short: $short,
            categories: $cat,
            subresources: $subs,
            generation: $gen,
        }
    };
}

/// Groups in kube-apiserver's priority order, which is the order discovery lists them in.
#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    builtin!("", "configmaps", "configmap", "ConfigMap", true, ALL_VERBS, &["cm"], &[], &[], false),
    builtin!("", "endpoints", "endpoints", "Endpoints", true, ALL_VERBS, &["ep"], &[], &[], false),
    builtin!("", "events", "event", "Event", true, ALL_VERBS, &["ev"], &[], &[], false),
    builtin!("", "namespaces", "namespace", "Namespace", false, NS_VERBS, &["ns"], &[], &[STATUS], false),
    builtin!("", "nodes", "node", "Node", false, ALL_VERBS, &["no"], &[], &[STATUS], false),
    builtin!("", "pods", "pod", "Pod", true, ALL_VERBS, &["po"], &["all"], &[("log", "Pod", &["get"]), STATUS], true),
    builtin!("", "secrets", "secret", "Secret", true, ALL_VERBS, &[], &[], &[], false),
    builtin!("", "serviceaccounts", "serviceaccount", "ServiceAccount", true, ALL_VERBS, &["sa"], &[], &[], false),
    builtin!("", "services", "service", "Service", true, ALL_VERBS, &["svc"], &["all"], &[STATUS], false),
    builtin!("apps", "daemonsets", "daemonset", "DaemonSet", true, ALL_VERBS, &["ds"], &["all"], &[STATUS], true),
    builtin!("apps", "deployments", "deployment", "Deployment", true, ALL_VERBS, &["deploy"], &["all"], &[STATUS], true),
    builtin!("apps", "replicasets", "replicaset", "ReplicaSet", true, ALL_VERBS, &["rs"], &["all"], &[STATUS], true),
    builtin!("events.k8s.io", "events", "event", "Event", true, ALL_VERBS, &["ev"], &[], &[], false),
    builtin!("authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, REVIEW_VERBS, &[], &[], &[], false),
    builtin!("authorization.k8s.io", "selfsubjectrulesreviews", "selfsubjectrulesreview", "SelfSubjectRulesReview", false, REVIEW_VERBS, &[], &[], &[], false),
    builtin!("networking.k8s.io", "servicecidrs", "servicecidr", "ServiceCIDR", false, ALL_VERBS, &[], &[], &[STATUS], true),
    builtin!("rbac.authorization.k8s.io", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, ALL_VERBS, &[], &[], &[], false),
    builtin!("rbac.authorization.k8s.io", "clusterroles", "clusterrole", "ClusterRole", false, ALL_VERBS, &[], &[], &[], false),
    builtin!("rbac.authorization.k8s.io", "rolebindings", "rolebinding", "RoleBinding", true, ALL_VERBS, &[], &[], &[], false),
    builtin!("rbac.authorization.k8s.io", "roles", "role", "Role", true, ALL_VERBS, &[], &[], &[], false),
    builtin!("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", "MutatingWebhookConfiguration", false, ALL_VERBS, &[], &["api-extensions"], &[], true),
    builtin!("admissionregistration.k8s.io", "validatingwebhookconfigurations", "validatingwebhookconfiguration", "ValidatingWebhookConfiguration", false, ALL_VERBS, &[], &["api-extensions"], &[], true),
    builtin!("apiextensions.k8s.io", "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, ALL_VERBS, &["crd", "crds"], &["api-extensions"], &[STATUS], true),
    builtin!("discovery.k8s.io", "endpointslices", "endpointslice", "EndpointSlice", true, ALL_VERBS, &[], &[], &[], true),
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// All known resource types, indexed for the lookups the server needs.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// In discovery order: built-ins first (table order), then CRDs by creation.
    types: Vec<Arc<ResourceType>>,
    by_plural: BTreeMap<(String, String), Arc<ResourceType>>,
    by_kind: BTreeMap<(String, String), Arc<ResourceType>>,
}

impl Registry {
    pub fn builtin() -> Registry {
        let mut registry = Registry::default();
        for b in BUILTINS {
            let subresources = b
                .subresources
                .iter()
                .map(|(name, kind, verbs)| Subresource {
                    name: name.to_string(),
                    kind: if kind.is_empty() { b.kind } else { kind }.to_string(),
                    verbs: strings(verbs),
                })
                .collect();
            registry.insert(ResourceType {
                group: b.group.into(),
                version: "v1".into(),
                versions: Vec::new(),
                plural: b.plural.into(),
                singular: b.singular.into(),
                kind: b.kind.into(),
                namespaced: b.namespaced,
                verbs: strings(b.verbs),
                short_names: strings(b.short),
                categories: strings(b.categories),
                subresources,
                generation: b.generation,
                custom: false,
                virtual_only: b.group == "authorization.k8s.io",
            });
        }
        registry
    }

    pub fn insert(&mut self, rt: ResourceType) {
        let rt = Arc::new(rt);
        self.remove(&rt.group, &rt.plural);
        self.by_plural
            .insert((rt.group.clone(), rt.plural.clone()), rt.clone());
        self.by_kind
            .insert((rt.group.clone(), rt.kind.clone()), rt.clone());
        self.types.push(rt);
    }

    pub fn remove(&mut self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        let rt = self
            .by_plural
            .remove(&(group.to_string(), plural.to_string()))?;
        self.by_kind.remove(&(rt.group.clone(), rt.kind.clone()));
        self.types.retain(|t| !Arc::ptr_eq(t, &rt));
        Some(rt)
    }

    /// The type served at `/apis/<group>/<version>/<plural>`.
    pub fn by_plural(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.by_plural
            .get(&(group.to_string(), plural.to_string()))
            .filter(|rt| rt.serves_version(version))
            .cloned()
    }

    /// The type of an object with this `apiVersion` and `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.by_kind
            .get(&(group.to_string(), kind.to_string()))
            .filter(|rt| rt.serves_version(version))
            .cloned()
    }

    pub fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    /// Groups in discovery order with their served versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for rt in &self.types {
            let versions: Vec<String> = std::iter::once(rt.version.clone())
                .chain(rt.versions.iter().cloned())
                .collect();
            match out.iter_mut().find(|(g, _)| *g == rt.group) {
                Some((_, vs)) => {
                    for v in versions {
                        if !vs.contains(&v) {
                            vs.push(v);
                        }
                    }
                }
                None => out.push((rt.group.clone(), versions)),
            }
        }
        out
    }
}

/// `apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The resource types a CustomResourceDefinition object defines (one per served version, the
/// storage version first). Returns `None` when the CRD lacks the names it needs.
pub fn from_crd(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let list_of = |key: &str| -> Vec<String> {
        names
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions = spec.get("versions")?.as_array()?;
    let served: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .collect();
    // Discovery lists the storage version first only when it is the preferred one; the real
    // server prefers the highest-priority version (kube-aware sort). Storage first is close
    // enough and keeps one version per stored object.
    let storage = served
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool).unwrap_or(false))
        .or(served.first())?;
    let version = storage.get("name")?.as_str()?.to_string();
    let others = served
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .filter(|v| *v != version)
        .map(str::to_string)
        .collect();
    let status = storage.pointer("/subresources/status").is_some();
    Some(ResourceType {
        group,
        version,
        versions: others,
        plural,
        singular,
        kind: kind.clone(),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        verbs: strings(&[
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch",
        ]),
        short_names: list_of("shortNames"),
        categories: list_of("categories"),
        subresources: if status {
            vec![Subresource {
                name: "status".into(),
                kind,
                verbs: strings(&["get", "patch", "update"]),
            }]
        } else {
            Vec::new()
        },
        generation: true,
        custom: true,
        virtual_only: false,
    })
}
