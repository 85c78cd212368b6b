//! Writing kube-proxy's ConfigMap with the resourceVersion it was planned from: a concurrent
//! change (409) is re-read and re-planned, never overwritten; a server error is retried the
//! same way, as the update is safe to repeat (a write that did land reads back as planned).

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};

use super::discover;
use super::locate::ConfigMapKey;
use crate::kube::ClusterTarget;
use crate::kube::apply::{WRITE_RETRIES, is_transient};
use crate::kube::errors::{Request, api_error};
use crate::{Error, Result};

/// Attempts of the read-plan-write cycle when the ConfigMap changes under us (409).
const MAX_CONFLICTS: u32 = 5;

/// Why an attempt is repeated, for the caller's progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// 409: the ConfigMap changed since it was read; `attempt` is the next one.
    Conflict { attempt: u32 },
    /// The server failed the write with `code`; `attempt` is the next one.
    ServerError { code: u16, attempt: usize },
}

/// Writes `make(current)` with current's resourceVersion, re-reading and calling `make` again
/// after a conflict or a server error. `None` from `make`: nothing (more) to write.
pub async fn update(
    target: &ClusterTarget,
    key: &ConfigMapKey,
    mut current: ConfigMap,
    mut retrying: impl FnMut(Retry),
    mut make: impl FnMut(&ConfigMap) -> Result<Option<ConfigMap>>,
) -> Result<Option<ConfigMap>> {
    let api: Api<ConfigMap> = Api::namespaced(target.client.clone(), &key.namespace);
    let object = format!("ConfigMap {}/{}", key.namespace, key.name);
    let (mut conflicts, mut failures) = (0u32, 0usize);
    loop {
        let Some(next) = make(&current)? else {
            return Ok(None);
        };
        let wait = match api.replace(&key.name, &PostParams::default(), &next).await {
            Ok(written) => return Ok(Some(written)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                conflicts += 1;
                if conflicts >= MAX_CONFLICTS {
                    return Err(Error::Api {
                        action: format!("update {object}"),
                        code: 409,
                        message: format!(
                            "it kept changing concurrently ({MAX_CONFLICTS} attempts); nothing of lbctl's was written"
                        ),
                    });
                }
                retrying(Retry::Conflict {
                    attempt: conflicts + 1,
                });
                Duration::from_millis(100 * 2u64.pow(conflicts - 1))
            }
            Err(kube::Error::Api(s)) if is_transient(s.code) => {
                if failures >= WRITE_RETRIES.len() {
                    return Err(Error::WriteFailed {
                        object,
                        attempts: failures + 1,
                        code: s.code,
                        message: s.message,
                        progress: None,
                    });
                }
                failures += 1;
                retrying(Retry::ServerError {
                    code: s.code,
                    attempt: failures + 1,
                });
                WRITE_RETRIES[failures - 1]
            }
            Err(e) => {
                let req = Request {
                    verb: "update",
                    resource: "configmaps",
                    namespace: Some(&key.namespace),
                };
                return Err(api_error(e, req, &target.server, &target.context));
            }
        };
        tokio::time::sleep(wait).await;
        current = discover::configmap(target, key).await?;
    }
}
