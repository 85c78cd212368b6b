//! Watch-driven waits with one deadline: no polling, one watch per thing waited for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures::{StreamExt, TryStreamExt};
use kube::Resource;
use kube::api::{Api, DynamicObject};
use kube::runtime::wait::{Condition, await_condition};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::ClusterTarget;
use super::apply::{ObjectRef, dynamic_api};
use crate::{Error, Result};

fn watch_error(target: &ClusterTarget, what: &str, err: impl std::fmt::Display) -> Error {
    Error::Api {
        action: format!("watch {what} on {}", target.server),
        code: 0,
        message: err.to_string(),
    }
}

/// Waits until `cond` holds for the object `name`. `Ok(true)` when it does, `Ok(false)` when the
/// deadline passed first.
pub async fn until<K>(
    target: &ClusterTarget,
    api: Api<K>,
    name: &str,
    deadline: Instant,
    cond: impl Condition<K>,
) -> Result<bool>
where
    K: Clone + Debug + Send + DeserializeOwned + Resource + 'static,
{
    match tokio::time::timeout_at(deadline, await_condition(api, name, cond)).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(err)) => Err(watch_error(target, name, err)),
        Err(_) => Ok(false),
    }
}

/// Watches every object matching `labels` and returns as soon as `done` holds for the current
/// set (`Ok(true)`), or `Ok(false)` at the deadline.
pub async fn until_set<K>(
    target: &ClusterTarget,
    api: Api<K>,
    labels: &str,
    deadline: Instant,
    done: impl Fn(&[K]) -> bool,
) -> Result<bool>
where
    K: Clone + Debug + Send + DeserializeOwned + Resource + 'static,
{
    let key = |o: &K| {
        let m = o.meta();
        (
            m.namespace.clone().unwrap_or_default(),
            m.name.clone().unwrap_or_default(),
        )
    };
    let stream = watcher(api, watcher::Config::default().labels(labels));
    let mut stream = std::pin::pin!(stream.into_stream());
    let mut current: BTreeMap<(String, String), K> = BTreeMap::new();
    let mut listing: BTreeMap<(String, String), K> = BTreeMap::new();
    // Judged only once the first list is complete: before that the set is not empty, only
    // unknown (a real API server's deletes can take seconds, so "nothing left" must be seen).
    let mut listed = false;
    loop {
        let next = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Ok(false),
            Ok(None) => return Ok(false),
            Ok(Some(event)) => event.map_err(|e| watch_error(target, labels, e))?,
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
/// timeout at `deadline` names what is left and what usually holds it.
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
                let gone = until_set(target, api, "", deadline, |objs: &[DynamicObject]| {
                    !objs
                        .iter()
                        .any(|o| o.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
                })
                .await?;
                Ok::<_, Error>((probe.kind, names, gone))
            }
        });
    for result in futures::future::join_all(waits).await {
        let (kind, names, gone) = result?;
        if !gone {
            return Err(Error::Timeout {
                what: format!(
                    "{kind} {} to be deleted",
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                after: timeout,
                detail: Some(format!(
                    "a finalizer may hold it: look at metadata.finalizers with `kubectl get <kind> <name> -o yaml`, then re-run {}",
                    crate::invocation::command_line("uninstall")
                )),
            });
        }
    }
    Ok(())
}
