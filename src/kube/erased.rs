//! Typed objects watched and created through kube's `DynamicObject` calls: one copy of each
//! call for every type, and one encoder and one decoder per type.
//!
//! Why: every type given to kube's `watcher` compiles its own copy of the watcher's state
//! machine and, through the tagged `WatchEvent`, a second full decoder of the type (from
//! serde's buffered `Content`); six watched types made about 0.8 MB of the binary. A typed
//! `create` compiles a JSON text encoder of the type beside the `serde_json::Value` encoder the
//! manifests already use. Here the objects travel as `DynamicObject`s and [`typed`] turns them
//! into their types with the decoder the types' lists and gets already use. Watch events and
//! creates are few: the extra encoding costs nothing measurable.

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;

/// The same API (client, resource, namespace) for dynamic objects.
fn erase<K: Resource<DynamicType = ()> + Clone>(api: &Api<K>) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    let client = api.clone().into_client();
    match api.namespace() {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    }
}

/// `watcher(api, config)`, with the same requests, for any type with a static kind.
pub fn watch<K>(
    api: &Api<K>,
    config: watcher::Config,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + use<K>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Send + 'static,
{
    watcher::watcher(erase(api), config).map(|event| {
        let decode = |o: DynamicObject| {
            typed::<K>(&o).map_err(|e| watcher::Error::WatchFailed(kube::Error::SerdeError(e)))
        };
        Ok(match event? {
            Event::Apply(o) => Event::Apply(decode(o)?),
            Event::Delete(o) => Event::Delete(decode(o)?),
            Event::InitApply(o) => Event::InitApply(decode(o)?),
            Event::Init => Event::Init,
            Event::InitDone => Event::InitDone,
        })
    })
}

/// `api.create(params, object)`: the same request, and the object the server made.
pub async fn create<K>(api: &Api<K>, params: &PostParams, object: &K) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + serde::Serialize + Clone,
{
    let value = serde_json::to_value(object).map_err(kube::Error::SerdeError)?;
    let object: DynamicObject = serde_json::from_value(value).map_err(kube::Error::SerdeError)?;
    let made = erase(api).create(params, &object).await?;
    typed(&made).map_err(kube::Error::SerdeError)
}

/// A dynamic object as its type, through the type's JSON text decoder: the one kube's typed
/// `list`, `get` and `patch` instantiate anyway (`serde_json::from_value` would compile another
/// decoder per type).
pub fn typed<K: DeserializeOwned>(object: &impl serde::Serialize) -> serde_json::Result<K> {
    serde_json::from_str(&serde_json::to_string(object)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    #[test]
    fn a_listed_object_without_kind_and_a_watched_one_with_it_both_decode() {
        let listed: DynamicObject = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
        }))
        .unwrap();
        let pod: Pod = typed(&listed).unwrap();
        assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some("n1"));

        let watched: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p"},
            "status": {"phase": "Running"},
        }))
        .unwrap();
        let pod: Pod = typed(&watched).unwrap();
        assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));
    }

    /// The size this module saves comes back with the first typed watch written elsewhere.
    #[test]
    fn every_watch_goes_through_this_module() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src];
        let mut offenders = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let name = path.to_string_lossy().replace('\\', "/");
            // wait.rs watches dynamic objects only (until_gone), which are already erased.
            if name.ends_with("kube/erased.rs") || name.ends_with("kube/wait.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                let watcher_call = code.match_indices("watcher(").any(|(at, _)| {
                    !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if watcher_call || code.contains("await_condition") {
                    offenders.push(format!("{name}:{}: {}", i + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use kube::erased::watch: {offenders:#?}"
        );
    }

    #[test]
    fn an_object_of_another_kind_is_refused() {
        let node: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
        }))
        .unwrap();
        assert!(typed::<Pod>(&node).is_err());
    }
}
