//! lbctl's objects already in the cluster: to tell "unchanged" from "changed" after an apply,
//! to find objects a newer version dropped, and to know what uninstall removes. (Another
//! MetalLB installation and the namespace's Pod Security level are preflight's LB120/LB122.)

use std::collections::{BTreeMap, BTreeSet};

use super::render::{MANAGED_BY, MANAGED_BY_LABEL, PART_OF, PART_OF_LABEL, Rendered};
use crate::Result;
use crate::kube::ClusterTarget;
use crate::kube::apply::{ObjectRef, list};

/// The selector of every object lbctl wrote for MetalLB.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{PART_OF_LABEL}={PART_OF}")
}

/// Objects of the kinds in `objects` that match `selector` as they are now: reference ->
/// resourceVersion (namespaced kinds in `namespace` only).
pub async fn snapshot(
    target: &ClusterTarget,
    objects: &[Rendered],
    namespace: &str,
    selector: &str,
) -> Result<BTreeMap<ObjectRef, String>> {
    let mut kinds: BTreeSet<(String, String, bool)> = BTreeSet::new();
    for r in objects {
        kinds.insert((
            r.api_version().into(),
            r.kind().into(),
            r.namespace().is_some(),
        ));
    }
    let lists = kinds.iter().map(|(api_version, kind, namespaced)| {
        let probe = ObjectRef {
            api_version: api_version.clone(),
            kind: kind.clone(),
            namespace: None,
            name: String::new(),
        };
        let resource = probe.resource();
        async move {
            let ns = namespaced.then_some(namespace);
            let items = list(target, &resource, ns, selector).await?;
            Ok::<_, crate::Error>(
                items
                    .into_iter()
                    .map(|o| {
                        let r = ObjectRef {
                            api_version: probe.api_version.clone(),
                            kind: probe.kind.clone(),
                            namespace: o.metadata.namespace.clone(),
                            name: o.metadata.name.clone().unwrap_or_default(),
                        };
                        (r, o.metadata.resource_version.unwrap_or_default())
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    let mut out = BTreeMap::new();
    for found in futures::future::join_all(lists).await {
        out.extend(found?);
    }
    Ok(out)
}
