//! The waits of an install: CRDs established, controller and speaker rolled out, webhook
//! serving. Each is driven by a watch (the webhook check by a dry-run create with backoff, as
//! nothing else proves the API server can reach it) and stops at the command's one deadline.

use crate::kube::deadline::Deadline;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::runtime::wait::conditions::is_crd_established;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::crds::WEBHOOK_SERVICE;
use super::webhook_health::{self as health, WebhookFailure};
use crate::kube::ClusterTarget;
use crate::kube::apply::{ObjectRef, dry_run_create};
use crate::kube::erased::watch;
use crate::kube::rollout::{self, RolloutStatus};
use crate::kube::wait::{until, until_set};
use crate::{Error, Result};
use kube::runtime::watcher;

/// Waits until every CRD named is `Established`.
pub async fn crds_established(
    target: &ClusterTarget,
    names: &[String],
    deadline: Instant,
    timeout: Duration,
) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(target.client.clone());
    let waits = names
        .iter()
        .map(|name| until(target, api.clone(), name, deadline, is_crd_established()));
    let results = futures::future::join_all(waits).await;
    let mut pending = Vec::new();
    for (name, result) in names.iter().zip(results) {
        if !result? {
            pending.push(name.clone());
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(Error::Timeout {
        what: format!("CRDs to become Established ({})", pending.join(", ")),
        after: timeout,
        detail: Some(format!(
            "look at their conditions: kubectl get crd {} -o jsonpath='{{.status.conditions}}'",
            pending[0]
        )),
    })
}

/// The workloads' state once they rolled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub controller: RolloutStatus,
    pub speaker: RolloutStatus,
}

/// Waits (watch-driven, `kube::rollout`) for the controller and every speaker to roll out.
/// `progress` sees each status change of either workload.
pub async fn rollouts(
    target: &ClusterTarget,
    namespace: &str,
    deadline: Deadline,
    progress: impl Fn(&str, &RolloutStatus),
) -> Result<Rollout> {
    let (controller, speaker) = tokio::join!(
        rollout::wait::<Deployment>(target, namespace, "controller", deadline, |s| progress(
            "controller",
            s
        )),
        rollout::wait::<DaemonSet>(target, namespace, "speaker", deadline, |s| progress(
            "speaker", s
        )),
    );
    let with_pods = |err: Error, selector: &'static str| async move {
        match err {
            Error::Timeout {
                what,
                after,
                detail,
            } => {
                let problems = rollout::pod_problems(target, namespace, selector, 5).await;
                let mut text = detail.unwrap_or_default();
                if !problems.is_empty() {
                    text.push_str(&format!("; {}", problems.join("; ")));
                }
                text.push_str(&format!(
                    "; look further: kubectl -n {namespace} get pods -l {selector} -o wide; kubectl -n {namespace} describe pods -l {selector}"
                ));
                Error::Timeout {
                    what,
                    after,
                    detail: Some(text),
                }
            }
            other => other,
        }
    };
    let controller = match controller {
        Ok(s) => s,
        Err(e) => return Err(with_pods(e, CONTROLLER_PODS).await),
    };
    let speaker = match speaker {
        Ok(s) => s,
        Err(e) => return Err(with_pods(e, "app=metallb,component=speaker").await),
    };
    Ok(Rollout {
        controller,
        speaker,
    })
}

const CONTROLLER_PODS: &str = "app=metallb,component=controller";

/// A pool that only exists to ask the webhook something when the plan has no pool of its own;
/// created with `dryRun=All`, so it is never stored. TEST-NET-1 keeps it clear of real pools.
fn probe_pool(namespace: &str) -> Value {
    json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "lbctl-webhook-probe", "namespace": namespace},
        "spec": {"addresses": ["192.0.2.1/32"]}
    })
}

/// Waits until the webhook Service has a ready endpoint and then until the API server gets an
/// answer from the webhook for each of `objects` (dry-run creates, retried with backoff).
/// Returns the number of dry-run attempts. A webhook that answers by rejecting an object of the
/// plan stops the install with that message.
pub async fn webhook(
    target: &ClusterTarget,
    namespace: &str,
    objects: &[Value],
    deadline: Instant,
    timeout: Duration,
) -> Result<u32> {
    let slices: Api<EndpointSlice> = Api::namespaced(target.client.clone(), namespace);
    let selector = format!("kubernetes.io/service-name={WEBHOOK_SERVICE}");
    let events = watch(&slices, watcher::Config::default().labels(&selector));
    let has_endpoints = until_set(target, events, &selector, deadline, |s| {
        health::ready_endpoints(s) > 0
    })
    .await?;
    let mut last: Option<WebhookFailure> = None;
    let mut attempts = 0;
    if has_endpoints {
        let probe = [probe_pool(namespace)];
        let asked: &[Value] = if objects.is_empty() { &probe } else { objects };
        let mut backoff = Duration::from_millis(200);
        let mut pending: Vec<&Value> = asked.iter().collect();
        while !pending.is_empty() {
            attempts += 1;
            let mut still = Vec::new();
            for obj in pending {
                // A create the API server has not answered by the deadline is one it is still
                // sending to the webhook: unless an earlier answer said more, the webhook pod
                // does not answer.
                let Ok(answer) =
                    tokio::time::timeout_at(deadline, dry_run_create(target, obj)).await
                else {
                    last.get_or_insert(WebhookFailure::Unreachable(
                        "the API server was still waiting for the webhook's answer when the deadline came".into(),
                    ));
                    still.push(obj);
                    continue;
                };
                match answer {
                    Ok(()) => {}
                    // Already there: the webhook let the create through to storage.
                    Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {}
                    Err(kube::Error::Api(s)) => match WebhookFailure::classify(&s.message) {
                        Some(failure) => {
                            last = Some(failure);
                            still.push(obj);
                        }
                        None if objects.is_empty() => {} // the probe got an answer: serving
                        None => {
                            return Err(Error::Rejected {
                                object: ObjectRef::of(obj).describe(),
                                message: s.message,
                            });
                        }
                    },
                    Err(other) => {
                        last = Some(WebhookFailure::Other(other.to_string()));
                        still.push(obj);
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                return Ok(attempts);
            }
            if Instant::now() + backoff >= deadline {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(3));
        }
    }
    let endpoints = slices
        .list(&ListParams::default().labels(&selector))
        .await
        .map(|l| health::ready_endpoints(&l.items))
        .unwrap_or(0);
    let problems = rollout::pod_problems(target, namespace, CONTROLLER_PODS, 5).await;
    let d = health::diagnose(last.as_ref(), endpoints, &problems, namespace);
    Err(Error::WebhookNotReady {
        after: timeout,
        summary: d.summary,
        hint: d.hint,
    })
}
