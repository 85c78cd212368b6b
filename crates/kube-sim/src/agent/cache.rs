//! What the agent knows of the real cluster: the watched kinds, kept current by watches and by
//! the answers to its own writes (so a pass never acts twice on a state it already changed).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, utils::Backoff};
use serde_json::Value;
use tokio::sync::Notify;

use crate::cluster::World;
use crate::cluster::meta;

type Key = (String, String, String);

/// Objects by (kind, namespace, name), with a notification on every change.
#[derive(Default)]
pub struct Cache {
    objects: Mutex<HashMap<Key, Arc<Value>>>,
    pub changed: Notify,
}

/// The resourceVersion as a number: etcd's revisions order every write of one cluster.
fn revision(obj: &Value) -> u64 {
    meta::str_at(obj, &["metadata", "resourceVersion"])
        .parse()
        .unwrap_or(0)
}

fn key_of(obj: &Value) -> Key {
    (
        meta::str_at(obj, &["kind"]).to_string(),
        meta::namespace(obj).to_string(),
        meta::name(obj).to_string(),
    )
}

impl Cache {
    /// Keeps the newer of what is cached and `obj` (watch events can trail the agent's writes).
    pub fn put(&self, obj: Value) {
        let key = key_of(&obj);
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let newer = objects
            .get(&key)
            .is_none_or(|old| revision(old) <= revision(&obj));
        if newer {
            objects.insert(key, Arc::new(obj));
            drop(objects);
            self.changed.notify_one();
        }
    }

    pub fn remove(&self, kind: &str, namespace: &str, name: &str) {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        let removed = self
            .objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if removed.is_some() {
            self.changed.notify_one();
        }
    }

    /// After a relist: objects of `kind` the list did not hold are gone.
    fn retain_listed(&self, kind: &str, listed: &HashSet<(String, String)>) {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let before = objects.len();
        objects
            .retain(|(k, ns, name), _| k != kind || listed.contains(&(ns.clone(), name.clone())));
        if objects.len() != before {
            drop(objects);
            self.changed.notify_one();
        }
    }

    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
    }

    /// A snapshot for one pass of the simulated parts.
    pub fn world(&self) -> World {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        World::new(objects.values().cloned().collect::<Vec<_>>())
    }
}

/// A watched object as plain JSON, with the type fields list items leave out.
pub fn to_value(obj: DynamicObject, resource: &ApiResource) -> Option<Value> {
    let mut value = serde_json::to_value(obj).ok()?;
    value["apiVersion"] = Value::String(resource.api_version.clone());
    value["kind"] = Value::String(resource.kind.clone());
    Some(value)
}

/// Retries a failed watch soon: a kind whose CRD is not installed yet should be seen within a
/// second of its installation, not after an exponential backoff.
struct Soon;

impl Iterator for Soon {
    type Item = std::time::Duration;
    fn next(&mut self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(300))
    }
}

impl Backoff for Soon {
    fn reset(&mut self) {}
}

/// Watches one kind for as long as the task runs, feeding `cache`; `synced` is notified after
/// each complete (re)list.
pub async fn watch(
    client: kube::Client,
    api_version: &str,
    kind: &str,
    cache: Arc<Cache>,
    synced: Arc<Notify>,
) {
    use futures::StreamExt;
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let stream = watcher::watcher(api, watcher::Config::default()).backoff(Soon);
    futures::pin_mut!(stream);
    let mut listed = HashSet::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => listed.clear(),
            Ok(Event::InitApply(obj)) => {
                if let Some(value) = to_value(obj, &resource) {
                    listed.insert((
                        meta::namespace(&value).to_string(),
                        meta::name(&value).to_string(),
                    ));
                    cache.put(value);
                }
            }
            Ok(Event::InitDone) => {
                cache.retain_listed(kind, &listed);
                synced.notify_one();
            }
            Ok(Event::Apply(obj)) => {
                if let Some(value) = to_value(obj, &resource) {
                    cache.put(value);
                }
            }
            Ok(Event::Delete(obj)) => {
                if let Some(value) = to_value(obj, &resource) {
                    cache.remove(kind, meta::namespace(&value), meta::name(&value));
                }
            }
            Err(_) => {}
        }
    }
}
