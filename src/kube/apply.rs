//! Server-side apply, listing and deleting of objects known only as JSON (rendered manifests),
//! with errors mapped to what the user can act on.

use std::future::Future;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::ClusterTarget;
use super::errors::{Request, api_error};
use crate::{Error, Result};

/// The field manager of every lbctl write.
pub const FIELD_MANAGER: &str = "lbctl";

/// Identifies an object: what to talk to, and which one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn of(obj: &Value) -> ObjectRef {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        ObjectRef {
            api_version: s(&obj["apiVersion"]),
            kind: s(&obj["kind"]),
            namespace: obj["metadata"]["namespace"].as_str().map(str::to_string),
            name: s(&obj["metadata"]["name"]),
        }
    }

    pub fn resource(&self) -> ApiResource {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        };
        ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &self.kind))
    }

    /// `Kind/name` or `Kind namespace/name`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    fn request<'a>(&'a self, verb: &'a str, plural: &'a str) -> Request<'a> {
        Request {
            verb,
            resource: plural,
            namespace: self.namespace.as_deref(),
        }
    }
}

/// The dynamic API for a kind, in `namespace` or cluster-wide.
pub fn dynamic_api(
    target: &ClusterTarget,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(target.client.clone(), ns, resource),
        None => Api::all_with(target.client.clone(), resource),
    }
}

fn map_err(target: &ClusterTarget, req: Request<'_>, err: kube::Error) -> Error {
    api_error(err, req, &target.server, &target.context)
}

/// How to treat a server-side apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyMode {
    /// Ask the server to validate and admit, but store nothing.
    pub dry_run: bool,
    /// Take over fields another manager owns (kubectl's `--force-conflicts`).
    pub force: bool,
}

/// The waits before each retry of a write the server failed (also used by kube-proxy's
/// ConfigMap update and restart).
pub(crate) const WRITE_RETRIES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(200),
    std::time::Duration::from_millis(500),
    std::time::Duration::from_secs(1),
];

/// Server errors worth another try of an idempotent write (500, 502, 504; the client itself
/// retries 429 and 503).
pub(crate) fn is_transient(code: u16) -> bool {
    matches!(code, 500 | 502 | 504)
}

/// Sends an idempotent write until it succeeds, fails otherwise, or the retries run out (an
/// etcd leader change, an API server restarting behind a load balancer); with the number of
/// attempts made.
async fn with_retries<T, F: Future<Output = kube::Result<T>>>(
    mut write: impl FnMut() -> F,
) -> (kube::Result<T>, usize) {
    let mut attempt = 0;
    loop {
        match write().await {
            Err(kube::Error::Api(status))
                if is_transient(status.code) && attempt < WRITE_RETRIES.len() =>
            {
                tokio::time::sleep(WRITE_RETRIES[attempt]).await;
                attempt += 1;
            }
            other => return (other, attempt + 1),
        }
    }
}

/// The error of a write whose retries ran out on server errors.
fn write_failed(r: &ObjectRef, attempts: usize, status: kube::core::Status) -> Error {
    Error::WriteFailed {
        object: r.describe(),
        attempts,
        code: status.code,
        message: status.message,
        progress: None,
    }
}

/// Server-side applies `obj` with field manager `lbctl` and returns what the server holds.
/// A field conflict becomes an error naming the other manager and the fix; server errors are
/// retried (an apply is idempotent).
pub async fn apply(target: &ClusterTarget, obj: &Value, mode: ApplyMode) -> Result<DynamicObject> {
    let r = ObjectRef::of(obj);
    let resource = r.resource();
    let api = dynamic_api(target, &resource, r.namespace.as_deref());
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = mode.force;
    params.dry_run = mode.dry_run;
    let patch = Patch::Apply(obj);
    let (result, attempts) = with_retries(|| api.patch(&r.name, &params, &patch)).await;
    result.map_err(|err| match err {
        kube::Error::Api(status) if is_transient(status.code) => {
            write_failed(&r, attempts, *status)
        }
        kube::Error::Api(status) if status.code == 409 => Error::Conflict {
            object: r.describe(),
            message: status.message,
        },
        other => map_err(target, r.request("patch", &resource.plural), other),
    })
}

/// Creates `obj` with `dryRun=All`: admission webhooks run, nothing is stored. The raw API
/// error is returned so the caller can read webhook failures.
pub async fn dry_run_create(
    target: &ClusterTarget,
    obj: &Value,
) -> std::result::Result<(), kube::Error> {
    let r = ObjectRef::of(obj);
    let resource = r.resource();
    let api = dynamic_api(target, &resource, r.namespace.as_deref());
    let object: DynamicObject =
        serde_json::from_value(obj.clone()).map_err(kube::Error::SerdeError)?;
    let params = PostParams {
        dry_run: true,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    api.create(&params, &object).await.map(|_| ())
}

/// Lists objects of `resource` carrying `labels` (a label selector), in `namespace` or
/// cluster-wide. A kind the server does not know (CRDs not installed) lists as empty.
pub async fn list(
    target: &ClusterTarget,
    resource: &ApiResource,
    namespace: Option<&str>,
    labels: &str,
) -> Result<Vec<DynamicObject>> {
    let api = dynamic_api(target, resource, namespace);
    match api.list(&ListParams::default().labels(labels)).await {
        Ok(list) => Ok(list.items),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(err) => Err(map_err(
            target,
            Request {
                verb: "list",
                resource: &resource.plural,
                namespace,
            },
            err,
        )),
    }
}

/// Fetches one object; `None` when it (or its kind) does not exist.
pub async fn get(target: &ClusterTarget, r: &ObjectRef) -> Result<Option<DynamicObject>> {
    let resource = r.resource();
    let api = dynamic_api(target, &resource, r.namespace.as_deref());
    match api.get_opt(&r.name).await {
        Ok(found) => Ok(found),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(err) => Err(map_err(target, r.request("get", &resource.plural), err)),
    }
}

/// Whether deleting `kind` waits for its dependents (foreground deletion): workloads, whose pods
/// must be gone with them. Other kinds have no dependents lbctl waits for, and a foreground
/// delete of a custom resource waits for the garbage collector to have discovered its type
/// (up to its 30 s resync on a real cluster, right after an install).
pub fn deletes_in_foreground(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "DaemonSet" | "ReplicaSet" | "StatefulSet" | "Job"
    )
}

/// Deletes one object (workloads in the foreground: their pods first); an object already gone
/// counts as deleted. Returns whether a delete was sent for an existing object.
pub async fn delete(target: &ClusterTarget, r: &ObjectRef, dry_run: bool) -> Result<bool> {
    let resource = r.resource();
    let api = dynamic_api(target, &resource, r.namespace.as_deref());
    let base = if deletes_in_foreground(&r.kind) {
        DeleteParams::foreground()
    } else {
        DeleteParams::background()
    };
    let params = DeleteParams { dry_run, ..base };
    // A delete is idempotent too: one the server failed is sent again, and one it did before
    // failing answers 404 the next time.
    match with_retries(|| api.delete(&r.name, &params)).await {
        (Ok(_), _) => Ok(true),
        (Err(kube::Error::Api(status)), _) if status.code == 404 => Ok(false),
        (Err(kube::Error::Api(status)), attempts) if is_transient(status.code) => {
            Err(write_failed(r, attempts, *status))
        }
        (Err(err), _) => Err(map_err(target, r.request("delete", &resource.plural), err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_workloads_are_deleted_in_the_foreground() {
        assert!(deletes_in_foreground("DaemonSet"));
        assert!(deletes_in_foreground("Deployment"));
        for kind in [
            "IPAddressPool",
            "CustomResourceDefinition",
            "ClusterRole",
            "Namespace",
        ] {
            assert!(!deletes_in_foreground(kind), "{kind}");
        }
    }

    #[test]
    fn object_refs_resolve_plural_and_scope() {
        let r = ObjectRef::of(
            &json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "p", "namespace": "metallb-system"}}),
        );
        assert_eq!(r.resource().plural, "ipaddresspools");
        assert_eq!(r.describe(), "IPAddressPool metallb-system/p");
        let r = ObjectRef::of(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
        );
        assert_eq!(
            (r.resource().group.as_str(), r.resource().plural.as_str()),
            ("", "namespaces")
        );
        let r = ObjectRef::of(&json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "x"}}));
        assert_eq!(r.resource().plural, "validatingwebhookconfigurations");
    }
}
