//! Restarting kube-proxy after a configuration change, and proving it happened: the restart
//! patch moved the DaemonSet's generation, the controller observed it, and every pod started
//! after the change. A restart that only looked done would leave the old configuration running.

use crate::kube::deadline::Deadline;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::locate::{DAEMONSET, NAMESPACE};
use super::staleness::{self, Staleness};
use crate::kube::ClusterTarget;
use crate::kube::apply::{WRITE_RETRIES, is_transient};
use crate::kube::errors::{Request, api_error};
use crate::kube::rollout::{self, RolloutStatus};
use crate::{Error, Result};

/// What is true when a restart step fails, so the message can say what stays and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// What this run wrote before the restart (`ConfigMap kube-system/kube-proxy`), if anything.
    pub written: Option<String>,
    /// The command that continues from here.
    pub rerun: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartError {
    #[error(
        "could not restart DaemonSet {NAMESPACE}/{DAEMONSET}: the API server failed the restart patch {attempts} times: {message} (HTTP {code})"
    )]
    PatchFailed {
        attempts: usize,
        code: u16,
        message: String,
        context: Context,
    },
    #[error(
        "the restart of DaemonSet {NAMESPACE}/{DAEMONSET} did not take effect: its generation stayed {generation} after the restart patch, so no pod was replaced"
    )]
    GenerationUnchanged { generation: i64, context: Context },
    #[error(
        "DaemonSet {NAMESPACE}/{DAEMONSET} reports its rollout complete, but {} of its pods still run the configuration from before {}: {}",
        staleness.stale.len(),
        staleness.changed,
        staleness.stale.iter().map(|p| p.describe()).collect::<Vec<_>>().join(", ")
    )]
    PodsNotReplaced {
        staleness: Staleness,
        on_delete: bool,
        context: Context,
    },
}

impl RestartError {
    pub fn hint(&self) -> String {
        let (Self::PatchFailed { context, .. }
        | Self::GenerationUnchanged { context, .. }
        | Self::PodsNotReplaced { context, .. }) = self;
        let written = match &context.written {
            Some(w) => format!("{w} is written and stays; "),
            None => String::new(),
        };
        let step = match self {
            Self::PodsNotReplaced {
                on_delete: true, ..
            } => format!(
                "its updateStrategy is OnDelete, so pods are replaced only when deleted: delete the listed pods one node at a time (`kubectl -n {NAMESPACE} delete pod <name>`), then run `{}`",
                crate::invocation::command_line("enable-strictarp --check")
            ),
            _ => format!(
                "run `{}` again: it finds the configuration in place and kube-proxy older than it, and restarts it",
                context.rerun
            ),
        };
        format!("{written}kube-proxy still runs the old configuration; {step}")
    }
}

impl From<RestartError> for Error {
    fn from(e: RestartError) -> Error {
        Error::Unsupported {
            hint: Some(e.hint()),
            message: e.to_string(),
        }
    }
}

/// Whether the restart patch moved the DaemonSet to a new generation.
pub fn generation_moved(seen: Option<&DaemonSet>, patched: &DaemonSet) -> Result<(), i64> {
    let generation = |ds: &DaemonSet| ds.metadata.generation.unwrap_or_default();
    match seen {
        Some(seen) if generation(patched) <= generation(seen) => Err(generation(patched)),
        _ => Ok(()),
    }
}

/// Patches the pod template as `kubectl rollout restart` does, retrying server errors (the
/// patch is idempotent: a repeat only restarts once more), and checks the generation moved.
/// `seen` is the DaemonSet as this run read it.
pub async fn restart(
    target: &ClusterTarget,
    seen: Option<&DaemonSet>,
    context: &Context,
    mut retrying: impl FnMut(u16, usize),
) -> Result<DaemonSet> {
    let previous = seen.and_then(restarted_at);
    let mut failures = 0;
    let patched = loop {
        match rollout::restart::<DaemonSet>(target, NAMESPACE, DAEMONSET, previous.as_deref()).await
        {
            Err(Error::Api { code, message, .. }) if is_transient(code) => {
                if failures >= WRITE_RETRIES.len() {
                    return Err(RestartError::PatchFailed {
                        attempts: failures + 1,
                        code,
                        message,
                        context: context.clone(),
                    }
                    .into());
                }
                failures += 1;
                retrying(code, failures + 1);
                tokio::time::sleep(WRITE_RETRIES[failures - 1]).await;
            }
            other => break other?,
        }
    };
    generation_moved(seen, &patched).map_err(|generation| RestartError::GenerationUnchanged {
        generation,
        context: context.clone(),
    })?;
    Ok(patched)
}

/// Waits for the rollout of `patched`; on timeout names the pods that are not ready.
pub async fn wait(
    target: &ClusterTarget,
    patched: &DaemonSet,
    deadline: Deadline,
    progress: impl FnMut(&RolloutStatus),
) -> Result<RolloutStatus> {
    let waited = rollout::wait::<DaemonSet>(target, NAMESPACE, DAEMONSET, deadline, progress).await;
    let Err(Error::Timeout {
        what,
        after,
        detail,
    }) = waited
    else {
        return waited;
    };
    let selector = selector_of(patched);
    let problems = rollout::pod_problems(target, NAMESPACE, &selector, 5).await;
    let mut detail = detail.unwrap_or_default();
    for p in &problems {
        detail.push_str(&format!("\n  {p}"));
    }
    detail.push_str(&format!(
        "\n  the configuration change is written; inspect with `kubectl -n {NAMESPACE} get pods -l {selector}` and `kubectl -n {NAMESPACE} rollout status daemonset {DAEMONSET}`; undo with `{}`",
        crate::invocation::command_line("enable-strictarp --revert")
    ));
    Err(Error::Timeout {
        what,
        after,
        detail: Some(detail),
    })
}

/// After the rollout: every kube-proxy pod started after the configuration changed.
pub async fn verify_pods(
    target: &ClusterTarget,
    patched: &DaemonSet,
    changed: Option<Timestamp>,
    context: &Context,
) -> Result<()> {
    let pods = current_pods(target, patched).await?;
    let Some(staleness) = Staleness::of(&pods, changed) else {
        return Ok(());
    };
    Err(RestartError::PodsNotReplaced {
        staleness,
        on_delete: crate::kube::rollout::Workload::rollout(patched).on_delete,
        context: context.clone(),
    }
    .into())
}

/// Why kube-proxy pods run an older configuration than `changed`, if they do.
pub async fn staleness(
    target: &ClusterTarget,
    ds: &DaemonSet,
    changed: Option<Timestamp>,
) -> Result<Option<Staleness>> {
    Ok(Staleness::of(&current_pods(target, ds).await?, changed))
}

/// The DaemonSet's pods that are not on their way out.
async fn current_pods(target: &ClusterTarget, ds: &DaemonSet) -> Result<Vec<staleness::PodStart>> {
    let api: Api<Pod> = Api::namespaced(target.client.clone(), NAMESPACE);
    let pods = api
        .list(&ListParams::default().labels(&selector_of(ds)))
        .await
        .map_err(|e| {
            let req = Request {
                verb: "list",
                resource: "pods",
                namespace: Some(NAMESPACE),
            };
            api_error(e, req, &target.server, &target.context)
        })?;
    Ok(pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(staleness::pod_start)
        .collect())
}

/// The pod template's restart annotation (`kubectl rollout restart`'s).
fn restarted_at(ds: &DaemonSet) -> Option<String> {
    ds.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(rollout::RESTARTED_AT)
        .cloned()
}

/// The DaemonSet's selector as a label selector string.
pub fn selector_of(ds: &DaemonSet) -> String {
    ds.spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "k8s-app=kube-proxy".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64) -> DaemonSet {
        serde_json::from_value(
            json!({"metadata": {"name": "kube-proxy", "generation": generation}}),
        )
        .unwrap()
    }

    #[test]
    fn a_restart_must_move_the_generation() {
        assert_eq!(generation_moved(Some(&ds(3)), &ds(4)), Ok(()));
        assert_eq!(generation_moved(Some(&ds(3)), &ds(3)), Err(3));
        assert_eq!(generation_moved(None, &ds(1)), Ok(()));
    }

    #[test]
    fn failures_say_what_was_written_and_how_to_continue() {
        let context = Context {
            written: Some("ConfigMap kube-system/kube-proxy".into()),
            rerun: "lbctl enable-strictarp".into(),
        };
        let e = RestartError::PatchFailed {
            attempts: 4,
            code: 500,
            message: "etcd".into(),
            context: context.clone(),
        };
        assert!(
            e.to_string().contains("DaemonSet kube-system/kube-proxy"),
            "{e}"
        );
        assert_eq!(
            e.hint(),
            "ConfigMap kube-system/kube-proxy is written and stays; kube-proxy still runs the old configuration; run `lbctl enable-strictarp` again: it finds the configuration in place and kube-proxy older than it, and restarts it"
        );
        let stale = Staleness {
            changed: "2026-01-01T00:00:00Z".parse().unwrap(),
            stale: vec![staleness::PodStart {
                name: "kp-a".into(),
                node: Some("n1".into()),
                started_at: None,
            }],
        };
        let e = RestartError::PodsNotReplaced {
            staleness: stale,
            on_delete: true,
            context,
        };
        assert!(e.to_string().contains("kp-a on n1"), "{e}");
        assert!(e.hint().contains("OnDelete"), "{}", e.hint());
    }
}
