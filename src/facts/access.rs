//! What `enable-strictarp` and `install` need to be allowed to do, and the RBAC rule matching
//! that answers it from two SelfSubjectRulesReviews (kube-system and the MetalLB namespace)
//! instead of one SelfSubjectAccessReview per permission.

use super::cluster::{Access, Source, SourceError};

/// One permission a later command needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    /// `None` for cluster-scoped resources.
    pub namespace: Option<String>,
    pub needed_by: &'static str,
}

/// The permissions `lbctl enable-strictarp` uses: edit the kube-proxy ConfigMap, restart the
/// DaemonSet and watch its pods roll.
pub fn enable_strictarp_needs() -> Vec<Need> {
    let ns = || Some("kube-system".to_string());
    let need = |verb, group, resource| Need {
        verb,
        group,
        resource,
        namespace: ns(),
        needed_by: "enable-strictarp",
    };
    vec![
        need("get", "", "configmaps"),
        need("update", "", "configmaps"),
        need("get", "apps", "daemonsets"),
        need("patch", "apps", "daemonsets"),
        need("list", "", "pods"),
        need("watch", "", "pods"),
    ]
}

/// The permissions `lbctl install` uses (server-side apply needs `create` and `patch`).
pub fn install_needs(metallb_namespace: &str) -> Vec<Need> {
    let mut needs = Vec::new();
    let cluster_scoped: [(&str, &str); 5] = [
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("", "namespaces"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
    ];
    let namespaced: [(&str, &str); 10] = [
        ("", "serviceaccounts"),
        ("", "services"),
        ("", "secrets"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("apps", "deployments"),
        ("apps", "daemonsets"),
        ("metallb.io", "ipaddresspools"),
        ("metallb.io", "l2advertisements"),
        ("", "pods"),
    ];
    for (group, resource) in cluster_scoped {
        for verb in ["create", "patch"] {
            needs.push(Need {
                verb,
                group,
                resource,
                namespace: None,
                needed_by: "install",
            });
        }
    }
    for (group, resource) in namespaced {
        // Pods are only watched for readiness.
        let verbs: &[&'static str] = if resource == "pods" {
            &["list", "watch"]
        } else {
            &["create", "patch"]
        };
        for verb in verbs {
            needs.push(Need {
                verb,
                group,
                resource,
                namespace: Some(metallb_namespace.to_string()),
                needed_by: "install",
            });
        }
    }
    needs
}

/// One rule of a SelfSubjectRulesReview's `status.resourceRules`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
}

/// The answer of a SelfSubjectRulesReview for one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesReview {
    pub rules: Vec<Rule>,
    /// The server could not list every rule (another authorizer is in use).
    pub incomplete: bool,
}

fn matches(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item == "*" || item == wanted)
}

impl RulesReview {
    /// Whether a rule allows `need` on every object (rules limited to names do not count).
    pub fn allows(&self, need: &Need) -> bool {
        self.rules.iter().any(|r| {
            matches(&r.verbs, need.verb)
                && matches(&r.api_groups, need.group)
                && matches(&r.resources, need.resource)
                && r.resource_names.is_empty()
        })
    }
}

/// Judges every need against the review of its namespace. Cluster-scoped needs are answered
/// by the kube-system review (rules reviews include cluster-wide bindings). An incomplete
/// review that does not list a permission cannot deny it: that is reported as unknown.
pub fn evaluate(
    needs: Vec<Need>,
    review_for: impl Fn(&str) -> Option<Source<RulesReview>>,
) -> Vec<Access> {
    needs
        .into_iter()
        .map(|need| {
            let ns = need.namespace.as_deref().unwrap_or("kube-system");
            let allowed = match review_for(ns) {
                None => Err(SourceError::Failed {
                    what: format!("the permissions in namespace {ns}"),
                    reason: "not reviewed".into(),
                }),
                Some(Err(e)) => Err(e),
                Some(Ok(review)) if review.allows(&need) => Ok(true),
                Some(Ok(review)) if review.incomplete => Err(SourceError::Failed {
                    what: format!("whether {} {} is allowed", need.verb, need.resource),
                    reason: "the server's rules review is incomplete; ask `kubectl auth can-i`"
                        .into(),
                }),
                Some(Ok(_)) => Ok(false),
            };
            Access {
                verb: need.verb.to_string(),
                resource: need.resource.to_string(),
                group: need.group.to_string(),
                namespace: need.namespace,
                needed_by: need.needed_by,
                allowed,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Rule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Rule {
            verbs: v(verbs),
            api_groups: v(groups),
            resources: v(resources),
            resource_names: vec![],
        }
    }

    #[test]
    fn wildcards_and_groups_match_like_rbac() {
        let review = RulesReview {
            rules: vec![
                rule(&["get", "update"], &[""], &["configmaps"]),
                rule(&["*"], &["apps"], &["*"]),
            ],
            incomplete: false,
        };
        let needs = enable_strictarp_needs();
        let allowed: Vec<bool> = needs.iter().map(|n| review.allows(n)).collect();
        assert_eq!(allowed, vec![true, true, true, true, false, false]);
        // Group must match: configmaps in "apps" is not configmaps in core.
        let mut need = needs[0].clone();
        need.group = "batch";
        assert!(!review.allows(&need));
        // Name-restricted rules do not grant the whole resource.
        let mut named = review.clone();
        named.rules = vec![Rule {
            resource_names: vec!["kube-proxy".into()],
            ..rule(&["*"], &["*"], &["*"])
        }];
        assert!(!named.allows(&needs[0]));
    }

    #[test]
    fn evaluate_uses_the_review_of_each_namespace() {
        let admin = RulesReview {
            rules: vec![rule(&["*"], &["*"], &["*"])],
            incomplete: false,
        };
        let mut needs = enable_strictarp_needs();
        needs.extend(install_needs("metallb-system"));
        let access = evaluate(needs, |ns| match ns {
            "kube-system" => Some(Ok(admin.clone())),
            "metallb-system" => Some(Err(SourceError::forbidden(
                "create",
                "selfsubjectrulesreviews",
                None,
            ))),
            _ => None,
        });
        let cluster = access
            .iter()
            .find(|a| a.resource == "customresourcedefinitions")
            .unwrap();
        assert_eq!(cluster.allowed, Ok(true));
        assert_eq!(
            cluster.describe(),
            "create customresourcedefinitions.apiextensions.k8s.io"
        );
        let deployments = access.iter().find(|a| a.resource == "deployments").unwrap();
        assert!(deployments.allowed.is_err());
        assert_eq!(
            deployments.describe(),
            "create deployments.apps -n metallb-system"
        );
    }

    #[test]
    fn incomplete_reviews_cannot_deny() {
        let review = RulesReview {
            rules: vec![],
            incomplete: true,
        };
        let access = evaluate(enable_strictarp_needs(), |_| Some(Ok(review.clone())));
        assert!(access.iter().all(|a| a.allowed.is_err()));
        let complete = RulesReview::default();
        let access = evaluate(enable_strictarp_needs(), |_| Some(Ok(complete.clone())));
        assert!(access.iter().all(|a| a.allowed == Ok(false)));
    }
}
