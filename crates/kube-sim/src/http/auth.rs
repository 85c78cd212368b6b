//! Authorization from the scenario's rules, the recorded 403 body, and the access reviews.

use super::route::Target;
use super::{Ctx, Identity};
use crate::scenario::Rule;
use crate::status::Status;
use serde_json::{Value, json};

/// The attributes a request is authorized on.
pub(crate) struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

fn rule_allows(rule: &Rule, a: &Attributes) -> bool {
    let resource_ok = if a.subresource.is_empty() {
        has(&rule.resources, a.resource)
    } else {
        let full = format!("{}/{}", a.resource, a.subresource);
        rule.resources
            .iter()
            .any(|r| r == "*" || *r == full || *r == format!("*/{}", a.subresource))
    };
    let namespace_ok = rule.namespaces.is_empty()
        || (!a.namespace.is_empty() && rule.namespaces.iter().any(|n| n == a.namespace));
    let name_ok = rule.resource_names.is_empty()
        || (!a.name.is_empty() && rule.resource_names.iter().any(|n| n == a.name));
    has(&rule.verbs, a.verb)
        && has(&rule.api_groups, a.group)
        && resource_ok
        && namespace_ok
        && name_ok
}

pub(crate) fn allows(user: &Identity, a: &Attributes) -> bool {
    match &user.rules {
        None => true,
        Some(rules) => rules.iter().any(|rule| rule_allows(rule, a)),
    }
}

/// The 403 kube-apiserver's RBAC authorizer answers with.
pub(crate) fn forbidden(user: &str, a: &Attributes) -> Status {
    let resource = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    let why = format!(
        "User {user:?} cannot {} resource {resource:?} in API group {:?} {scope}",
        a.verb, a.group
    );
    Status::forbidden(a.group, a.resource, a.name, &why)
}

pub(crate) fn authorize(ctx: &Ctx, target: &Target) -> Result<(), Status> {
    let subresource = target.subresource.as_deref().unwrap_or_default();
    let attributes = Attributes {
        verb: &ctx.verb,
        group: &target.rt.group,
        resource: &target.rt.plural,
        subresource,
        namespace: target.ns(),
        name: target.name(),
    };
    // Everyone may review their own access (system:basic-user).
    if target.rt.virtual_only || allows(&ctx.user, &attributes) {
        Ok(())
    } else {
        Err(forbidden(&ctx.user.name, &attributes))
    }
}

/// A SelfSubjectAccessReview's status for the calling user.
pub(crate) fn access_review(user: &Identity, spec: &Value) -> Value {
    if let Some(ra) = spec.get("resourceAttributes") {
        let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or_default();
        let attributes = Attributes {
            verb: s("verb"),
            group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
            namespace: s("namespace"),
            name: s("name"),
        };
        if allows(user, &attributes) {
            let reason = match user.rules {
                None => format!(
                    "RBAC: allowed by ClusterRoleBinding \"kube-sim-admin\" of ClusterRole \"cluster-admin\" to User {:?}",
                    user.name
                ),
                Some(_) => format!(
                    "RBAC: allowed by ClusterRoleBinding \"kube-sim-{}\" of ClusterRole \"kube-sim-{}\" to User {:?}",
                    user.name, user.name, user.name
                ),
            };
            return json!({"allowed": true, "reason": reason});
        }
        return json!({"allowed": false});
    }
    // Non-resource URLs (discovery, version) are open to every authenticated user.
    json!({"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\""})
}

/// A SelfSubjectRulesReview's status for the calling user in `namespace`.
pub(crate) fn rules_review(user: &Identity, namespace: &str) -> Value {
    let review_rule = json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]});
    let mut resource_rules = vec![review_rule];
    match &user.rules {
        None => {
            resource_rules.push(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}))
        }
        Some(rules) => {
            for rule in rules {
                if !rule.namespaces.is_empty() && !rule.namespaces.iter().any(|n| n == namespace) {
                    continue;
                }
                let mut r = json!({"verbs": rule.verbs, "apiGroups": rule.api_groups, "resources": rule.resources});
                if !rule.resource_names.is_empty() {
                    r["resourceNames"] = json!(rule.resource_names);
                }
                resource_rules.push(r);
            }
        }
    }
    let non_resource = match &user.rules {
        None => json!([{"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        Some(_) => {
            json!([{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}])
        }
    };
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": false})
}
