//! A snapshot of the objects the controllers read, indexed by kind, and the writes they ask for.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::meta;

/// The (apiVersion, kind) pairs the simulated controllers read. The wiring lists these from the
/// store to build a [`World`].
pub const WATCHED: &[(&str, &str)] = &[
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "Node"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Secret"),
    // kube-proxy's configuration, for what it does to its node ([`super::host`]).
    ("v1", "ConfigMap"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("metallb.io/v1beta1", "IPAddressPool"),
    ("metallb.io/v1beta1", "L2Advertisement"),
    ("metallb.io/v1beta1", "ServiceL2Status"),
    ("metallb.io/v1beta1", "ConfigurationState"),
];

/// Objects by kind, indexed by namespace and name (large clusters make every controller look
/// things up thousands of times per pass). Kinds are unique among [`WATCHED`], so the group is
/// not part of the key. Objects are shared with the store (`Arc`), so a snapshot copies no
/// object.
#[derive(Debug, Default, Clone)]
pub struct World {
    by_kind: HashMap<String, Vec<Arc<Value>>>,
    /// (kind, namespace) -> positions in `by_kind[kind]`.
    by_namespace: HashMap<(String, String), Vec<usize>>,
    /// (kind, namespace, name) -> position in `by_kind[kind]`.
    by_name: HashMap<(String, String, String), usize>,
}

impl World {
    pub fn new<O: Into<Arc<Value>>>(objects: impl IntoIterator<Item = O>) -> World {
        let mut world = World::default();
        for obj in objects {
            let obj: Arc<Value> = obj.into();
            let kind = meta::str_at(&obj, &["kind"]).to_string();
            let ns = meta::namespace(&obj).to_string();
            let name = meta::name(&obj).to_string();
            let list = world.by_kind.entry(kind.clone()).or_default();
            let at = list.len();
            list.push(obj);
            world
                .by_namespace
                .entry((kind.clone(), ns.clone()))
                .or_default()
                .push(at);
            world.by_name.insert((kind, ns, name), at);
        }
        world
    }

    pub fn list(&self, kind: &str) -> Objects<'_> {
        Objects(
            self.by_kind
                .get(kind)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        )
    }

    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        let at = self
            .by_name
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))?;
        self.list(kind).0.get(*at).map(|o| &**o)
    }

    /// Objects of `kind` in `namespace`.
    pub fn in_namespace<'a>(
        &'a self,
        kind: &str,
        namespace: &str,
    ) -> impl Iterator<Item = &'a Value> + use<'a> {
        let list = self.list(kind).0;
        self.by_namespace
            .get(&(kind.to_string(), namespace.to_string()))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(move |at| list.get(*at).map(|o| &**o))
    }
}

/// The objects of one kind in a [`World`], seen as plain `&Value`s.
#[derive(Debug, Clone, Copy)]
pub struct Objects<'a>(&'a [Arc<Value>]);

impl<'a> Objects<'a> {
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a Value> + ExactSizeIterator + use<'a> {
        self.0.iter().map(|o| &**o)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for Objects<'a> {
    type Item = &'a Value;
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, Arc<Value>>, fn(&'a Arc<Value>) -> &'a Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|o| &**o)
    }
}

impl World {
    /// Claims objects of `kind` in the owner's namespace: controlled by it, or orphans its selector
    /// matches (adopted with an Update, as the real controllers do).
    pub fn claim(&self, kind: &str, owner: &Value, actions: &mut Vec<Action>) -> Vec<&Value> {
        let selector = &owner["spec"]["selector"];
        let selects_something = selector.as_object().is_some_and(|s| !s.is_empty());
        let mut claimed = Vec::new();
        for obj in self.in_namespace(kind, meta::namespace(owner)) {
            if meta::is_controlled_by(obj, owner) {
                claimed.push(obj);
            } else if selects_something
                && meta::controller_of(obj).is_none()
                && meta::label_selector_matches(selector, obj)
            {
                let mut adopted = obj.clone();
                let refs = meta::object_at(&mut adopted, &["metadata"])
                    .entry("ownerReferences")
                    .or_insert_with(|| json!([]));
                if let Some(refs) = refs.as_array_mut() {
                    refs.push(meta::controller_ref(owner));
                }
                actions.push(Action::Update(adopted));
                claimed.push(obj);
            }
        }
        claimed
    }
}

/// A write a controller wants. Updates carry the resourceVersion they were computed from, so a
/// concurrent change makes them fail with a conflict and the next pass recomputes (as real
/// controllers do).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create(Value),
    Update(Value),
    UpdateStatus(Value),
    Delete {
        api_version: String,
        kind: String,
        namespace: String,
        name: String,
        /// As the garbage collector deletes an object whose own dependents must go first
        /// (`propagationPolicy: Foreground`).
        foreground: bool,
    },
    /// What `pods/<name>/log` serves from now on (a container's whole output).
    PodLog {
        namespace: String,
        name: String,
        text: String,
    },
}

impl Action {
    pub fn delete_of(obj: &Value) -> Action {
        Action::Delete {
            api_version: meta::str_at(obj, &["apiVersion"]).to_string(),
            kind: meta::str_at(obj, &["kind"]).to_string(),
            namespace: meta::namespace(obj).to_string(),
            name: meta::name(obj).to_string(),
            foreground: false,
        }
    }

    /// The object this action writes (None for deletes and logs).
    pub fn object(&self) -> Option<&Value> {
        match self {
            Action::Create(o) | Action::Update(o) | Action::UpdateStatus(o) => Some(o),
            Action::Delete { .. } | Action::PodLog { .. } => None,
        }
    }
}
