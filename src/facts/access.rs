//! Whether the user may run `enable-strictarp` and `install` (LB104): their lists from
//! `crate::permissions`, judged by RBAC rule matching over two SelfSubjectRulesReviews
//! (kube-system and the MetalLB namespace) instead of one SelfSubjectAccessReview per permission.

use super::cluster::{Access, Source, SourceError};
use crate::permissions::{self, Command, Namespaces};

/// One permission a later command needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub verb: String,
    pub group: String,
    pub resource: String,
    /// `None` for cluster-scoped resources and for every namespace.
    pub namespace: Option<String>,
    pub needed_by: &'static str,
}

/// What `command` must be allowed before it writes: its one list (`crate::permissions`), the
/// reads it does without left out.
pub fn needs(command: Command, namespaces: &Namespaces) -> Vec<Need> {
    permissions::required(command, namespaces)
        .into_iter()
        .map(|p| Need {
            verb: p.verb,
            group: p.group,
            resource: p.resource,
            namespace: p.namespace,
            needed_by: command.name(),
        })
        .collect()
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
            matches(&r.verbs, &need.verb)
                && matches(&r.api_groups, &need.group)
                && matches(&r.resources, &need.resource)
                && r.resource_names.is_empty()
        })
    }
}

/// Judges every need against the review of its namespace. A rules review lists the
/// cluster-wide bindings' rules with the namespace's own, so a need for every namespace (or a
/// cluster-scoped resource) counts as allowed only when each review of `cluster_wide` allows it:
/// a Role in one namespace cannot pass for a ClusterRole. An incomplete review that does not list
/// a permission cannot deny it: that is reported as unknown.
pub fn evaluate(
    needs: Vec<Need>,
    cluster_wide: &[&str],
    review_for: impl Fn(&str) -> Option<Source<RulesReview>>,
) -> Vec<Access> {
    let judge = |need: &Need, ns: &str| -> Source<bool> {
        match review_for(ns) {
            None => Err(SourceError::Failed {
                what: format!("the permissions in namespace {ns}"),
                reason: "not reviewed".into(),
            }),
            Some(Err(e)) => Err(e),
            Some(Ok(review)) if review.allows(need) => Ok(true),
            Some(Ok(review)) if review.incomplete => Err(SourceError::Failed {
                what: format!("whether {} {} is allowed", need.verb, need.resource),
                reason: "the server's rules review is incomplete; ask `kubectl auth can-i`".into(),
            }),
            Some(Ok(_)) => Ok(false),
        }
    };
    needs
        .into_iter()
        .map(|need| {
            let allowed = match &need.namespace {
                Some(ns) => judge(&need, ns),
                None => {
                    let answers: Vec<Source<bool>> =
                        cluster_wide.iter().map(|ns| judge(&need, ns)).collect();
                    // One definite "no" decides; an unknown answer only when none says no.
                    match answers.iter().find(|a| *a != &Ok(true)) {
                        None => Ok(true),
                        Some(_) if answers.contains(&Ok(false)) => Ok(false),
                        Some(other) => other.clone(),
                    }
                }
            };
            Access {
                verb: need.verb,
                resource: need.resource,
                group: need.group,
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

    fn need(verb: &str, group: &str, resource: &str, ns: Option<&str>) -> Need {
        Need {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: ns.map(str::to_string),
            needed_by: "enable-strictarp",
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
        let ks = Some("kube-system");
        let needs = [
            need("get", "", "configmaps", ks),
            need("watch", "apps", "daemonsets", ks),
            need("list", "", "pods", ks),
        ];
        let allowed: Vec<bool> = needs.iter().map(|n| review.allows(n)).collect();
        assert_eq!(allowed, vec![true, true, false]);
        // Group must match: configmaps in "batch" is not configmaps in core.
        let mut other = needs[0].clone();
        other.group = "batch".into();
        assert!(!review.allows(&other));
        // Name-restricted rules do not grant the whole resource.
        let mut named = review.clone();
        named.rules = vec![Rule {
            resource_names: vec!["kube-proxy".into()],
            ..rule(&["*"], &["*"], &["*"])
        }];
        assert!(!named.allows(&needs[0]));
    }

    #[test]
    fn lb104_judges_enable_strictarps_own_list() {
        // The Role the docs gave before: no list/watch on daemonsets, no list on pods.
        let old = RulesReview {
            rules: vec![
                rule(&["get", "update"], &[""], &["configmaps"]),
                rule(&["get", "patch"], &["apps"], &["daemonsets"]),
            ],
            incomplete: false,
        };
        let access = evaluate(
            needs(Command::EnableStrictarp, &Namespaces::default()),
            &["kube-system"],
            |_| Some(Ok(old.clone())),
        );
        let denied: Vec<String> = access
            .iter()
            .filter(|a| a.allowed == Ok(false))
            .map(Access::describe)
            .collect();
        assert_eq!(
            denied,
            [
                "list daemonsets.apps -n kube-system",
                "watch daemonsets.apps -n kube-system",
                "list pods -n kube-system"
            ]
        );
    }

    #[test]
    fn evaluate_uses_the_review_of_each_namespace() {
        let admin = RulesReview {
            rules: vec![rule(&["*"], &["*"], &["*"])],
            incomplete: false,
        };
        let access = evaluate(
            needs(Command::Install, &Namespaces::default()),
            &["kube-system"],
            |ns| match ns {
                "kube-system" => Some(Ok(admin.clone())),
                "metallb-system" => Some(Err(SourceError::forbidden(
                    "create",
                    "selfsubjectrulesreviews",
                    None,
                ))),
                _ => None,
            },
        );
        let cluster = access
            .iter()
            .find(|a| a.resource == "customresourcedefinitions" && a.verb == "create")
            .unwrap();
        assert_eq!(cluster.allowed, Ok(true));
        assert_eq!(
            cluster.describe(),
            "create customresourcedefinitions.apiextensions.k8s.io"
        );
        let deployments = access
            .iter()
            .find(|a| a.resource == "deployments" && a.verb == "create")
            .unwrap();
        assert!(deployments.allowed.is_err());
        assert_eq!(
            deployments.describe(),
            "create deployments.apps -n metallb-system"
        );
    }

    #[test]
    fn a_role_in_one_namespace_is_no_cluster_wide_permission() {
        let with = |rules| RulesReview {
            rules,
            incomplete: false,
        };
        let everywhere = with(vec![rule(&["list"], &[""], &["services"])]);
        let nothing = with(vec![]);
        let list_services = || vec![need("list", "", "services", None)];
        let judged = |ks: &RulesReview, mns: &RulesReview| {
            evaluate(list_services(), &["kube-system", "metallb-system"], |ns| {
                Some(Ok(if ns == "kube-system" { ks } else { mns }.clone()))
            })[0]
                .allowed
                .clone()
        };
        assert_eq!(judged(&everywhere, &everywhere), Ok(true));
        assert_eq!(judged(&everywhere, &nothing), Ok(false));
    }

    #[test]
    fn incomplete_reviews_cannot_deny() {
        let review = RulesReview {
            rules: vec![],
            incomplete: true,
        };
        let list = || needs(Command::EnableStrictarp, &Namespaces::default());
        let access = evaluate(list(), &["kube-system"], |_| Some(Ok(review.clone())));
        assert!(access.iter().all(|a| a.allowed.is_err()));
        let complete = RulesReview::default();
        let access = evaluate(list(), &["kube-system"], |_| Some(Ok(complete.clone())));
        assert!(access.iter().all(|a| a.allowed == Ok(false)));
    }
}
