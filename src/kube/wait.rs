//! Watch-driven waits with one deadline: no polling, one watch per thing waited for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures::StreamExt;
use kube::Resource;
use kube::api::{Api, DynamicObject};
use kube::runtime::wait::Condition;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::ClusterTarget;
use super::apply::{ObjectRef, dynamic_api};
use super::erased::watch;
use crate::{Error, Result};

fn watch_error(target: &ClusterTarget, what: &str, err: impl std::fmt::Display) -> Error {
    Error::Api {
        action: format!("watch {what} on {}", target.server),
        code: 0,
        message: err.to_string(),
    }
}

/// Waits until `cond` holds for the object `name` (given `None` while it does not exist).
/// `Ok(true)` when it does, `Ok(false)` when the deadline passed first.
pub async fn until<K>(
    target: &ClusterTarget,
    api: Api<K>,
    name: &str,
    deadline: Instant,
    cond: impl Condition<K>,
) -> Result<bool>
where
    K: Clone + Debug + Send + DeserializeOwned + Resource<DynamicType = ()> + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = std::pin::pin!(watch(&api, config));
    let watched = async {
        let mut seen = false;
        while let Some(event) = stream.next().await {
            let holds = match event.map_err(|e| watch_error(target, name, e))? {
                watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                    seen = true;
                    cond.matches_object(Some(&o))
                }
                watcher::Event::Delete(_) => cond.matches_object(None),
                watcher::Event::Init => {
                    seen = false;
                    false
                }
                watcher::Event::InitDone => !seen && cond.matches_object(None),
            };
            if holds {
                return Ok(());
            }
        }
        Err(watch_error(target, name, "the watch stream ended"))
    };
    match tokio::time::timeout_at(deadline, watched).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(err)) => Err(err),
        Err(_) => Ok(false),
    }
}

/// Follows `events` (a watch of a set of objects, e.g. by label) and returns as soon as `done`
/// holds for the current set (`Ok(true)`), or `Ok(false)` at the deadline. `what` names the
/// set in errors.
pub async fn until_set<K>(
    target: &ClusterTarget,
    events: impl futures::Stream<Item = std::result::Result<watcher::Event<K>, watcher::Error>>,
    what: &str,
    deadline: Instant,
    done: impl Fn(&[K]) -> bool,
) -> Result<bool>
where
    K: Clone + Resource,
{
    let key = |o: &K| {
        let m = o.meta();
        (
            m.namespace.clone().unwrap_or_default(),
            m.name.clone().unwrap_or_default(),
        )
    };
    let mut stream = std::pin::pin!(events);
    let mut current: BTreeMap<(String, String), K> = BTreeMap::new();
    let mut listing: BTreeMap<(String, String), K> = BTreeMap::new();
    // Judged only once the first list is complete: before that the set is not empty, only
    // unknown (a real API server's deletes can take seconds, so "nothing left" must be seen).
    let mut listed = false;
    loop {
        let next = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Ok(false),
            Ok(None) => return Ok(false),
            Ok(Some(event)) => event.map_err(|e| watch_error(target, what, e))?,
        };
        match next {
            watcher::Event::Init => listing.clear(),
            watcher::Event::InitApply(o) => {
                listing.insert(key(&o), o);
            }
            watcher::Event::InitDone => {
                current = std::mem::take(&mut listing);
                listed = true;
            }
            watcher::Event::Apply(o) => {
                current.insert(key(&o), o);
            }
            watcher::Event::Delete(o) => {
                current.remove(&key(&o));
            }
        }
        if !listed {
            continue;
        }
        let objects: Vec<K> = current.values().cloned().collect();
        if done(&objects) {
            return Ok(true);
        }
    }
}

/// Waits, with one watch per kind and namespace, until none of `refs` exists any more; a
/// timeout at `deadline` names what is left and what holds each (its finalizers, and the
/// condition a CRD's own finalizer reports), as the watch last saw them.
pub async fn until_gone(
    target: &ClusterTarget,
    refs: &[ObjectRef],
    deadline: Instant,
    timeout: std::time::Duration,
) -> Result<()> {
    let mut by_kind: BTreeMap<(String, String, Option<String>), BTreeSet<String>> = BTreeMap::new();
    for r in refs {
        by_kind
            .entry((r.api_version.clone(), r.kind.clone(), r.namespace.clone()))
            .or_default()
            .insert(r.name.clone());
    }
    let waits = by_kind
        .iter()
        .map(|((api_version, kind, namespace), names)| {
            let probe = ObjectRef {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: namespace.clone(),
                name: String::new(),
            };
            let api = dynamic_api(target, &probe.resource(), namespace.as_deref());
            async move {
                let left = std::sync::Mutex::new(Vec::new());
                let events = watcher(api, watcher::Config::default());
                let gone = until_set(
                    target,
                    events,
                    kind,
                    deadline,
                    |objs: &[DynamicObject]| {
                        let held: Vec<DynamicObject> = objs
                            .iter()
                            .filter(|o| o.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
                            .cloned()
                            .collect();
                        let done = held.is_empty();
                        *left.lock().unwrap_or_else(|e| e.into_inner()) = held;
                        done
                    },
                )
                .await?;
                let left = left.into_inner().unwrap_or_else(|e| e.into_inner());
                Ok::<_, Error>((probe.kind, names, gone, left))
            }
        });
    for result in futures::future::join_all(waits).await {
        let (kind, names, gone, left) = result?;
        if !gone {
            return Err(Error::Timeout {
                what: format!(
                    "{kind} {} to be deleted",
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                after: timeout,
                detail: Some(what_holds(&kind, &left)),
            });
        }
    }
    Ok(())
}

/// Lists each of `resources` in `namespace` from the API server's watch cache
/// (`resourceVersion=0`) until every one answers, or `deadline` passes.
///
/// Why: a real kube-apiserver builds a CRD's watch cache on the first request for its kind, and
/// while it builds, the CRD's own finalizer fails to list the objects it must delete ("storage is
/// (re)initializing") and retries with a backoff that doubles each time: on a busy server a CRD
/// nobody had read (BGPPeers on an L2 cluster) then stays Terminating for minutes. A list from
/// the cache is refused (429) until the cache is built, so once each answers the deletes go
/// through at once. Best effort: a kind that is not served or not readable is left to the
/// deletion itself.
pub async fn until_cached(
    target: &ClusterTarget,
    resources: &[kube::core::ApiResource],
    namespace: &str,
    deadline: Instant,
) {
    let lists = resources.iter().map(|resource| async move {
        let api = dynamic_api(target, resource, Some(namespace));
        // No limit: with one, kube-rs leaves out `resourceVersion=0` and the server reads etcd.
        let params = kube::api::ListParams::default().match_any();
        loop {
            match api.list_metadata(&params).await {
                Err(kube::Error::Api(status)) if status.code == 429 => {}
                _ => return,
            }
            if tokio::time::timeout_at(deadline, tokio::time::sleep(CACHE_RETRY))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    futures::future::join_all(lists).await;
}

/// How often [`until_cached`] asks again after the client's own retries of a 429.
const CACHE_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

/// Why objects being deleted are still there, from what the watch last saw of them: their
/// finalizers and, for a CRD, the Terminating condition its finalizer writes (e.g. "could not
/// confirm zero CustomResources remaining"), then what to do.
fn what_holds(kind: &str, left: &[DynamicObject]) -> String {
    let mut held: Vec<String> = left
        .iter()
        .filter_map(|o| {
            let name = o.metadata.name.as_deref()?;
            let mut why = Vec::new();
            if let Some(finalizers) = o.metadata.finalizers.as_ref().filter(|f| !f.is_empty()) {
                why.push(format!("finalizers {}", finalizers.join(", ")));
            }
            if let Some(terminating) = condition(o, "Terminating") {
                why.push(terminating);
            }
            (!why.is_empty()).then(|| format!("{name}: {}", why.join("; ")))
        })
        .collect();
    let kind_lower = kind.to_lowercase();
    held.push(format!(
        "look at them with `kubectl get {kind_lower} <name> -o yaml`, then re-run {} (it continues)",
        crate::invocation::command_line("uninstall")
    ));
    held.join("; ")
}

/// `reason: message` of the condition `kind` when it is True.
fn condition(o: &DynamicObject, kind: &str) -> Option<String> {
    o.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .map(|c| {
            format!(
                "{kind}: {} {}",
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            )
            .trim_end()
            .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_held_crd_names_its_finalizer_and_the_condition_its_finalizer_wrote() {
        let crd = object(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {
                "name": "bgppeers.metallb.io",
                "deletionTimestamp": "2026-12-06T10:00:00Z",
                "finalizers": ["customresourcecleanup.apiextensions.k8s.io"]
            },
            "status": {"conditions": [
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                {"type": "Terminating", "status": "True", "reason": "InstanceDeletionCheck",
                 "message": "could not confirm zero CustomResources remaining: timed out"}
            ]}
        }));
        let free = object(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "communities.metallb.io"}
        }));
        let said = what_holds("CustomResourceDefinition", &[crd, free]);
        assert_eq!(
            said,
            "bgppeers.metallb.io: finalizers customresourcecleanup.apiextensions.k8s.io; \
             Terminating: InstanceDeletionCheck could not confirm zero CustomResources remaining: timed out; \
             look at them with `kubectl get customresourcedefinition <name> -o yaml`, then re-run lbctl uninstall (it continues)"
        );
    }
}
