//! Asking the API server what the current user may do (SelfSubjectAccessReview), so a command
//! can refuse before its first write and name every missing permission exactly.

use super::client::ClusterTarget;
use super::errors::{Request, api_error};
use crate::{Error, Result};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

/// Kept here too: the permissions a command needs are listed next to their review.
pub use crate::permissions::Permission;

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
    fn a_review_names_group_namespace_and_subresource() {
        let r = review(&Permission::new("get", "", "configmaps").in_namespace("kube-system"));
        let attrs = r.spec.resource_attributes.unwrap();
        assert_eq!(attrs.group.as_deref(), Some(""));
        assert_eq!(attrs.namespace.as_deref(), Some("kube-system"));
        let r = review(&Permission::new("get", "", "pods/log").in_namespace("lbctl"));
        let attrs = r.spec.resource_attributes.unwrap();
        assert_eq!(attrs.resource.as_deref(), Some("pods"));
        assert_eq!(attrs.subresource.as_deref(), Some("log"));
    }
}
