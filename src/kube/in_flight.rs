//! The requests a client has sent and not yet had an answer to, so that a command whose
//! deadline passed can name the request it was waiting for (`patch customresourcedefinitions
//! communities.metallb.io`) instead of the step it happened to be in. A request leaves the set
//! when its response headers arrive (a watch then streams outside it) or when it is dropped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Method, Request, Response};
use tokio::time::Instant;
use tower::{Layer, Service};

/// One request without an answer yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What the request does, as RBAC names it: `patch customresourcedefinitions x`.
    pub what: String,
    pub at: Instant,
}

/// The shared set of requests in flight; cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    next: Arc<AtomicU64>,
    sent: Arc<Mutex<BTreeMap<u64, Sent>>>,
}

impl InFlight {
    fn insert(&self, what: String) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let sent = Sent {
            what,
            at: Instant::now(),
        };
        self.lock().insert(id, sent);
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Sent>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests sent before `at` and still unanswered, oldest first.
    pub fn sent_before(&self, at: Instant) -> Vec<Sent> {
        self.lock()
            .values()
            .filter(|s| s.at < at)
            .cloned()
            .collect()
    }
}

/// Removes a request from the set however its future ends (answered, failed or dropped).
struct Pending {
    set: InFlight,
    id: u64,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.set.remove(self.id);
    }
}

/// Describes a request the way RBAC and `kubectl` name it: verb, resource, and the object's
/// name (with its namespace) when the path has one. Paths outside the resource API
/// (`/version`) are shown as method and path.
pub fn describe(method: &Method, path: &str, query: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /api/v1/... or /apis/group/version/...
    let rest = match parts.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return format!("{method} {path}"),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(*ns), rest),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, sub, ..] => (*resource, Some(*name), Some(*sub)),
        [] => return format!("{method} {path}"),
    };
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match *method {
        Method::GET if watch => "watch",
        Method::GET if name.is_none() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if name.is_none() => "deletecollection",
        Method::DELETE => "delete",
        _ => method.as_str(),
    };
    let resource = match subresource {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    match (namespace, name) {
        (Some(ns), Some(name)) => format!("{verb} {resource} {ns}/{name}"),
        (None, Some(name)) => format!("{verb} {resource} {name}"),
        (Some(ns), None) => format!("{verb} {resource} in namespace {ns}"),
        (None, None) => format!("{verb} {resource}"),
    }
}

#[derive(Clone)]
pub struct InFlightLayer {
    pub set: InFlight,
}

impl<S> Layer<S> for InFlightLayer {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            set: self.set.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    set: InFlight,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Tracked<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let what = describe(
            req.method(),
            req.uri().path(),
            req.uri().query().unwrap_or_default(),
        );
        let pending = Pending {
            id: self.set.insert(what),
            set: self.set.clone(),
        };
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            drop(pending);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_verb_resource_and_object() {
        let cases = [
            (
                Method::PATCH,
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/communities.metallb.io",
                "fieldManager=lbctl",
                "patch customresourcedefinitions communities.metallb.io",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/metallb-system/pods",
                "labelSelector=app",
                "list pods in namespace metallb-system",
            ),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/metallb-system/daemonsets",
                "watch=true&resourceVersion=1",
                "watch daemonsets in namespace metallb-system",
            ),
            (
                Method::DELETE,
                "/apis/apps/v1/namespaces/metallb-system/deployments/controller",
                "",
                "delete deployments metallb-system/controller",
            ),
            (
                Method::POST,
                "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools",
                "dryRun=All",
                "create ipaddresspools in namespace metallb-system",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/metallb-system",
                "",
                "get namespaces metallb-system",
            ),
            (
                Method::PUT,
                "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy/status",
                "",
                "update daemonsets/status kube-system/kube-proxy",
            ),
            (Method::GET, "/version", "", "GET /version"),
        ];
        for (method, path, query, want) in cases {
            assert_eq!(describe(&method, path, query), want, "{method} {path}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_in_flight_until_it_is_answered_or_dropped() {
        let set = InFlight::default();
        let id = set.insert("get pods x".into());
        let later = Instant::now() + std::time::Duration::from_secs(1);
        assert_eq!(set.sent_before(later).len(), 1);
        assert!(
            set.sent_before(Instant::now()).is_empty(),
            "sent at, not before, now"
        );
        drop(Pending {
            set: set.clone(),
            id,
        });
        assert!(set.sent_before(later).is_empty());
    }
}
