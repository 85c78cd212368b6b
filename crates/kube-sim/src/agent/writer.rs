//! Carries out the simulated parts' writes against the real API server, as their real
//! counterparts would: creates, updates with the resourceVersion they were computed from, status
//! through the status subresource, and the kubelet's final pod delete with grace period 0.

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::{Api, DeleteParams, DynamicObject, PostParams, Preconditions};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope, pinned_kind};
use serde_json::Value;
use tokio::sync::Mutex;

use super::cache::{Cache, to_value};
use crate::cluster::Action;
use crate::cluster::meta;

/// Resolves kinds through discovery once, then writes.
pub struct Writer {
    client: kube::Client,
    cache: Arc<Cache>,
    kinds: Mutex<HashMap<(String, String), (ApiResource, ApiCapabilities)>>,
    /// What `pods/<name>/log` serves (namespace, pod) -> text, read by the kubelet servers.
    pub logs: Arc<std::sync::Mutex<HashMap<(String, String), String>>>,
}

/// Why a write did not happen (conflicts and vanished objects are expected: the next pass
/// recomputes from fresh state, as real controllers do).
#[derive(Debug)]
pub struct WriteError(pub String, pub Option<String>);

impl WriteError {
    fn other(message: impl Into<String>) -> WriteError {
        WriteError(message.into(), None)
    }

    pub fn already_exists(&self) -> bool {
        self.1.as_deref() == Some("AlreadyExists")
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Writer {
    pub fn new(client: kube::Client, cache: Arc<Cache>) -> Writer {
        Writer {
            client,
            cache,
            kinds: Mutex::new(HashMap::new()),
            logs: Arc::default(),
        }
    }

    async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, ApiCapabilities), WriteError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().await.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| WriteError::other(format!("discovery of {api_version} {kind}: {e}")))?;
        self.kinds.lock().await.insert(key, found.clone());
        Ok(found)
    }

    async fn api_for(
        &self,
        obj: &Value,
    ) -> Result<(Api<DynamicObject>, ApiResource, bool), WriteError> {
        self.api(
            meta::str_at(obj, &["apiVersion"]),
            meta::str_at(obj, &["kind"]),
            meta::namespace(obj),
        )
        .await
    }

    async fn api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<(Api<DynamicObject>, ApiResource, bool), WriteError> {
        let (resource, caps) = self.resolve(api_version, kind).await?;
        let has_status = caps.subresources.iter().any(|(r, _)| r.plural == "status")
            || matches!(kind, "Pod" | "Node" | "Service");
        let api = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(self.client.clone(), namespace, &resource),
            Scope::Cluster => Api::all_with(self.client.clone(), &resource),
        };
        Ok((api, resource, has_status))
    }

    fn remember(&self, obj: DynamicObject, resource: &ApiResource) -> Option<Value> {
        let value = to_value(obj, resource)?;
        if crate::cluster::WATCHED
            .iter()
            .any(|(_, k)| *k == meta::str_at(&value, &["kind"]))
        {
            self.cache.put(value.clone());
        }
        Some(value)
    }

    /// Creates `obj`; a non-empty status is written through the status subresource after the
    /// create, which ignores it (as a controller creating an object with a status does).
    pub async fn create(&self, obj: Value) -> Result<Option<Value>, WriteError> {
        let pp = PostParams::default();
        let status = obj
            .get("status")
            .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
            .cloned();
        let (api, resource, has_status) = self.api_for(&obj).await?;
        let created = api
            .create(&pp, &dynamic(for_create(obj))?)
            .await
            .map_err(err)?;
        let Some(mut created) = self.remember(created, &resource) else {
            return Ok(None);
        };
        if let (Some(status), true) = (status, has_status) {
            created["status"] = status;
            let name = meta::name(&created).to_string();
            let updated = api
                .replace_status(&name, &pp, &dynamic(created)?)
                .await
                .map_err(err)?;
            return Ok(self.remember(updated, &resource));
        }
        Ok(Some(created))
    }

    /// Waits until the named CRDs are Established (their resources are served).
    pub async fn wait_established(
        &self,
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<(), WriteError> {
        let (api, _, _) = self
            .api("apiextensions.k8s.io/v1", "CustomResourceDefinition", "")
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        for name in names {
            loop {
                let crd = api.get(name).await.map_err(err)?;
                let established = crd.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Established" && c["status"] == "True");
                if established {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(WriteError::other(format!(
                        "CRD {name} is not Established after {timeout:?}"
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    pub async fn perform(&self, action: Action) -> Result<(), WriteError> {
        let pp = PostParams::default();
        match action {
            Action::Create(obj) => {
                self.create(obj).await?;
            }
            Action::Update(obj) => {
                let (api, resource, _) = self.api_for(&obj).await?;
                let name = meta::name(&obj).to_string();
                let updated = api.replace(&name, &pp, &dynamic(obj)?).await.map_err(err)?;
                self.remember(updated, &resource);
            }
            Action::UpdateStatus(obj) => {
                let (api, resource, _) = self.api_for(&obj).await?;
                let name = meta::name(&obj).to_string();
                let updated = api
                    .replace_status(&name, &pp, &dynamic(obj)?)
                    .await
                    .map_err(err)?;
                self.remember(updated, &resource);
            }
            Action::Delete {
                api_version,
                kind,
                namespace,
                name,
                ..
            } => {
                let (api, _, _) = self.api(&api_version, &kind, &namespace).await?;
                let cached = self.cache.get(&kind, &namespace, &name);
                // The kubelet's last word on a pod whose containers stopped: gone at once, and
                // only the pod it saw (a new pod of the same name is not its to remove).
                let params = if kind == "Pod" {
                    DeleteParams {
                        grace_period_seconds: Some(0),
                        preconditions: cached.map(|p| Preconditions {
                            uid: Some(meta::uid(&p).to_string()),
                            resource_version: None,
                        }),
                        ..DeleteParams::default()
                    }
                } else {
                    DeleteParams::default()
                };
                api.delete(&name, &params).await.map_err(err)?;
            }
            Action::PodLog {
                namespace,
                name,
                text,
            } => {
                self.logs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((namespace, name), text);
            }
        }
        Ok(())
    }
}

fn err(e: kube::Error) -> WriteError {
    let reason = match &e {
        kube::Error::Api(status) => Some(status.reason.clone()),
        _ => None,
    };
    WriteError(e.to_string(), reason)
}

fn dynamic(obj: Value) -> Result<DynamicObject, WriteError> {
    serde_json::from_value(obj).map_err(|e| WriteError::other(format!("object: {e}")))
}

/// Drops what the API server sets itself (a resourceVersion on create is refused).
pub fn for_create(mut obj: Value) -> Value {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
        ] {
            m.remove(key);
        }
    }
    obj
}
