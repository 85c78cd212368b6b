//! The waits of an install: CRDs established, controller and speaker rolled out, webhook
//! serving. Each is driven by a watch (the webhook check by a dry-run create with backoff, as
//! nothing else proves the API server can reach it) and stops at the command's one deadline.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::runtime::wait::conditions::is_crd_established;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::crds::WEBHOOK_SERVICE;
use super::health::{self, PodState, WebhookFailure};
use crate::kube::ClusterTarget;
use crate::kube::apply::{ObjectRef, dry_run_create};
use crate::kube::wait::{until, until_set};
use crate::{Error, Result};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollout {
    pub speakers_ready: i32,
    pub speakers_desired: i32,
}

async fn controller_pods(target: &ClusterTarget, namespace: &str) -> Vec<PodState> {
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
    pods.list(&ListParams::default().labels("app=metallb,component=controller"))
        .await
        .map(|l| l.items.iter().map(PodState::of).collect())
        .unwrap_or_default()
}

/// Waits for the controller Deployment to be available and every speaker to be ready.
pub async fn rollouts(
    target: &ClusterTarget,
    namespace: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<Rollout> {
    let deployments: Api<Deployment> = Api::namespaced(target.client.clone(), namespace);
    let daemonsets: Api<DaemonSet> = Api::namespaced(target.client.clone(), namespace);
    let (controller, speaker) = tokio::join!(
        until(
            target,
            deployments.clone(),
            "controller",
            deadline,
            |d: Option<&Deployment>| { d.is_some_and(health::deployment_available) }
        ),
        until(
            target,
            daemonsets.clone(),
            "speaker",
            deadline,
            |d: Option<&DaemonSet>| { d.is_some_and(health::daemonset_ready) }
        ),
    );
    let (controller, speaker) = (controller?, speaker?);
    let ds = daemonsets.get_opt("speaker").await.ok().flatten();
    let (speakers_ready, speakers_desired) = ds
        .as_ref()
        .map(health::daemonset_progress)
        .unwrap_or((0, 0));
    if controller && speaker {
        return Ok(Rollout {
            speakers_ready,
            speakers_desired,
        });
    }
    let mut waiting = Vec::new();
    if !controller {
        let pods = controller_pods(target, namespace).await;
        let states: Vec<String> = pods
            .iter()
            .map(|p| {
                format!(
                    "{} {}{}",
                    p.name,
                    p.phase,
                    p.waiting_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        waiting.push(format!(
            "controller not available (pods: {})",
            if states.is_empty() {
                "none".into()
            } else {
                states.join(", ")
            }
        ));
    }
    if !speaker {
        waiting.push(format!(
            "speakers {speakers_ready}/{speakers_desired} ready"
        ));
    }
    Err(Error::Timeout {
        what: format!("MetalLB to roll out: {}", waiting.join("; ")),
        after: timeout,
        detail: Some(format!(
            "kubectl -n {namespace} get pods -o wide; kubectl -n {namespace} describe deploy/controller ds/speaker"
        )),
    })
}

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
    let has_endpoints = until_set(target, slices.clone(), &selector, deadline, |s| {
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
                match dry_run_create(target, obj).await {
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
    let pods = controller_pods(target, namespace).await;
    let d = health::diagnose(last.as_ref(), endpoints, &pods, namespace);
    Err(Error::WebhookNotReady {
        after: timeout,
        summary: d.summary,
        hint: d.hint,
    })
}
