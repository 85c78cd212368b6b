//! Loads a scenario's objects into a real API server, in the order a real installation makes
//! them (namespaces, CRDs once Established, the rest, MetalLB's resources, webhook
//! configurations last so nothing waits on a webhook that is not serving yet), and turns the
//! scenario's users' rules into RBAC objects.

use std::time::Duration;

use serde_json::{Value, json};

use super::writer::{WriteError, Writer};
use crate::cluster::meta;
use crate::scenario::Rule;

fn rank(obj: &Value) -> u8 {
    let api_version = meta::str_at(obj, &["apiVersion"]);
    match meta::str_at(obj, &["kind"]) {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => 4,
        _ if api_version.starts_with("metallb.io/") => 3,
        _ => 2,
    }
}

/// Creates `objects` (status included); objects the API server made itself (`default`, the
/// `kubernetes` Service) are left as they are.
pub async fn load(writer: &Writer, objects: &[Value]) -> Result<(), WriteError> {
    let mut ordered: Vec<&Value> = objects.iter().collect();
    ordered.sort_by_key(|o| rank(o));
    let mut crds = Vec::new();
    for (i, obj) in ordered.iter().enumerate() {
        if rank(obj) > 1 && !crds.is_empty() {
            writer
                .wait_established(&std::mem::take(&mut crds), Duration::from_secs(30))
                .await?;
        }
        let obj = (*obj).clone();
        let what = format!("{} {}", meta::str_at(&obj, &["kind"]), meta::name(&obj));
        let mut result = writer.create(obj.clone()).await;
        // A scenario's cluster IP may lie outside this API server's service range: it takes
        // one of its own, as it would for a Service written without one.
        if result
            .as_ref()
            .is_err_and(|e| e.1.as_deref() == Some("Invalid"))
            && meta::str_at(&obj, &["kind"]) == "Service"
        {
            let mut without = obj.clone();
            if let Some(spec) = without.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("clusterIP");
                spec.remove("clusterIPs");
            }
            result = writer.create(without).await;
        }
        match result {
            Ok(_) => {}
            Err(e) if e.already_exists() => {}
            Err(e) => {
                return Err(WriteError(
                    format!("loading object {} ({what}): {}", i + 1, e.0),
                    e.1,
                ));
            }
        }
        if meta::str_at(&obj, &["kind"]) == "CustomResourceDefinition" {
            crds.push(meta::name(&obj).to_string());
        }
    }
    if !crds.is_empty() {
        writer
            .wait_established(&crds, Duration::from_secs(30))
            .await?;
    }
    Ok(())
}

/// Creates the users' RBAC objects; returns those whose namespace does not exist yet.
pub async fn grant(writer: &Writer, objects: Vec<Value>) -> Result<Vec<Value>, WriteError> {
    let mut pending = Vec::new();
    for obj in objects {
        match writer.create(obj.clone()).await {
            Ok(_) => {}
            Err(e) if e.already_exists() => {}
            Err(e) if e.1.as_deref() == Some("NotFound") && !meta::namespace(&obj).is_empty() => {
                pending.push(obj)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(pending)
}

/// The RBAC objects granting `user` exactly `rules`: a ClusterRole and binding for rules without
/// namespaces, a Role and binding in each namespace a rule names.
pub fn rbac_objects(user: &str, rules: &[Rule]) -> Vec<Value> {
    let policy = |r: &Rule| {
        let mut rule =
            json!({"apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs});
        if !r.resource_names.is_empty() {
            rule["resourceNames"] = json!(r.resource_names);
        }
        rule
    };
    let name = format!("kube-sim:{user}");
    let subject = json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]);
    let mut out = Vec::new();
    let cluster_rules: Vec<Value> = rules
        .iter()
        .filter(|r| r.namespaces.is_empty())
        .map(policy)
        .collect();
    if !cluster_rules.is_empty() {
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": cluster_rules}),
        );
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name}, "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}}));
    }
    let mut namespaces: Vec<&String> = rules.iter().flat_map(|r| &r.namespaces).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        let ns_rules: Vec<Value> = rules
            .iter()
            .filter(|r| r.namespaces.contains(ns))
            .map(policy)
            .collect();
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": ns}, "rules": ns_rules}),
        );
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": ns}, "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}}),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_become_cluster_and_namespaced_roles() {
        let rules: Vec<Rule> = serde_saphyr::from_str(
            "- { apiGroups: [''], resources: [nodes], verbs: [list] }\n- { apiGroups: [apps], resources: [daemonsets], verbs: [get], namespaces: [kube-system], resourceNames: [kube-proxy] }\n",
        )
        .unwrap();
        let objects = rbac_objects("viewer", &rules);
        let kinds: Vec<&str> = objects.iter().map(|o| meta::str_at(o, &["kind"])).collect();
        assert_eq!(
            kinds,
            ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
        );
        assert_eq!(
            objects[2]["rules"][0]["resourceNames"],
            json!(["kube-proxy"])
        );
        assert_eq!(objects[0]["rules"].as_array().unwrap().len(), 1);
        assert_eq!(objects[3]["subjects"][0]["name"], "viewer");
    }

    #[test]
    fn webhook_configurations_come_last_and_crds_early() {
        let objects = [
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration"}),
            json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool"}),
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}),
            json!({"apiVersion": "v1", "kind": "Namespace"}),
        ];
        let ranks: Vec<u8> = objects.iter().map(rank).collect();
        assert_eq!(ranks, [4, 3, 2, 1, 0]);
    }
}
