//! Asking the API server what the current user may do (SelfSubjectAccessReview), so a command
//! can refuse before its first write and name every missing permission exactly.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use serde::Serialize;

use super::client::ClusterTarget;
use super::errors::{Request, api_error};
use crate::{Error, Result};

/// One permission, the way RBAC names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub verb: String,
    /// API group; `""` for the core group.
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    /// A single object, when the command only needs that one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Permission {
    pub fn new(verb: &str, group: &str, resource: &str) -> Permission {
        Permission {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: None,
            name: None,
        }
    }

    pub fn in_namespace(mut self, namespace: &str) -> Permission {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn named(mut self, name: &str) -> Permission {
        self.name = Some(name.into());
        self
    }

    /// `daemonsets.apps/kube-proxy`: the resource as `kubectl auth can-i` accepts it.
    pub fn resource_ref(&self) -> String {
        let mut r = self.resource.clone();
        if !self.group.is_empty() {
            r = format!("{r}.{}", self.group);
        }
        if let Some(name) = &self.name {
            r = format!("{r}/{name}");
        }
        r
    }

    /// The `kubectl auth can-i` command that checks this permission.
    pub fn can_i(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        format!(
            "kubectl auth can-i {} {}{ns}",
            self.verb,
            self.resource_ref()
        )
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource_ref())?;
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns:?}"),
            None => write!(f, " (cluster-wide)"),
        }
    }
}

fn review(p: &Permission) -> SelfSubjectAccessReview {
    // `pods/log` is resource `pods`, subresource `log` for the authorizer.
    let (resource, subresource) = match p.resource.split_once('/') {
        Some((r, sub)) => (r.to_string(), Some(sub.to_string())),
        None => (p.resource.clone(), None),
    };
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(p.verb.clone()),
                group: Some(p.group.clone()),
                resource: Some(resource),
                subresource,
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The permissions of `wanted` the current user does not have, in the order given.
pub async fn missing(target: &ClusterTarget, wanted: &[Permission]) -> Result<Vec<Permission>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(target.client.clone());
    let mut missing = Vec::new();
    for p in wanted {
        let answer = api
            .create(&PostParams::default(), &review(p))
            .await
            .map_err(|e| {
                api_error(
                    e,
                    Request {
                        verb: "create",
                        resource: "selfsubjectaccessreviews.authorization.k8s.io",
                        namespace: None,
                    },
                    &target.server,
                    &target.context,
                )
            })?;
        if !answer.status.is_some_and(|s| s.allowed) {
            missing.push(p.clone());
        }
    }
    Ok(missing)
}

/// Fails with the missing permissions named exactly (exit 3), before anything is written.
pub async fn require(target: &ClusterTarget, wanted: &[Permission]) -> Result<()> {
    let missing = missing(target, wanted).await?;
    match missing.len() {
        0 => Ok(()),
        _ => Err(Error::PermissionsMissing { missing }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_render_like_rbac_and_kubectl() {
        let p = Permission::new("patch", "apps", "daemonsets")
            .in_namespace("kube-system")
            .named("kube-proxy");
        assert_eq!(
            p.to_string(),
            "patch daemonsets.apps/kube-proxy in namespace \"kube-system\""
        );
        assert_eq!(
            p.can_i(),
            "kubectl auth can-i patch daemonsets.apps/kube-proxy -n kube-system"
        );
        let p = Permission::new("list", "", "nodes");
        assert_eq!(p.to_string(), "list nodes (cluster-wide)");
        let r = review(&Permission::new("get", "", "configmaps").in_namespace("kube-system"));
        let attrs = r.spec.resource_attributes.unwrap();
        assert_eq!(attrs.group.as_deref(), Some(""));
        assert_eq!(attrs.namespace.as_deref(), Some("kube-system"));
    }
}
