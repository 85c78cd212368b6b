//! ServiceAccounts: the controller manager's serviceaccount controller gives every namespace
//! its `default` ServiceAccount right after the namespace appears, and the API server's
//! ServiceAccount admission refuses pods whose ServiceAccount does not exist, so the workload
//! controllers' pod creates fail (a `FailedCreate` event on the workload) until it does.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta;
use super::world::{Action, World};

/// `default` for every namespace that lacks one (not for terminating namespaces).
pub fn sync(world: &World) -> Vec<Action> {
    world
        .list("Namespace")
        .iter()
        .filter(|ns| !meta::is_terminating(ns))
        .filter(|ns| {
            world
                .get("ServiceAccount", meta::name(ns), "default")
                .is_none()
        })
        .map(|ns| {
            Action::Create(json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": meta::name(ns)},
            }))
        })
        .collect()
}

/// The ServiceAccount a pod runs as (`serviceAccountName`, else the deprecated
/// `serviceAccount`, else `default`).
pub fn account_of(pod: &Value) -> &str {
    ["serviceAccountName", "serviceAccount"]
        .iter()
        .filter_map(|key| pod.pointer(&format!("/spec/{key}")).and_then(Value::as_str))
        .find(|name| !name.is_empty())
        .unwrap_or("default")
}

/// What the ServiceAccount admission plugin says of a pod in `namespace` whose account does
/// not exist: `error looking up service account <ns>/<name>: serviceaccount "<name>" not found`.
pub fn lookup_error(namespace: &str, account: &str) -> String {
    format!(
        "error looking up service account {namespace}/{account}: serviceaccount \"{account}\" not found"
    )
}

/// Drops the controllers' creates of pods whose ServiceAccount (other than `default`) is
/// missing from a namespace the world knows, as admission refuses them, and reports each refusal once per workload with the
/// controller's `FailedCreate` event (`reported` remembers them).
pub fn admit_creates(
    world: &World,
    actions: Vec<Action>,
    reported: &mut HashSet<String>,
    now: Timestamp,
) -> Vec<Action> {
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        let Action::Create(pod) = &action else {
            out.push(action);
            continue;
        };
        let ns = meta::namespace(pod);
        let account = account_of(pod);
        // `default` comes right after its namespace (this very pass, if need be), and admission
        // waits a moment for it.
        let refused = pod["kind"] == "Pod"
            && world.get("Namespace", "", ns).is_some()
            && account != "default"
            && world.get("ServiceAccount", ns, account).is_none();
        if !refused {
            out.push(action);
            continue;
        }
        let Some(owner_ref) = meta::controller_of(pod) else {
            continue;
        };
        let owner_kind = meta::str_at(owner_ref, &["kind"]);
        let Some(owner) = world.get(owner_kind, ns, meta::str_at(owner_ref, &["name"])) else {
            continue;
        };
        let shown = match meta::str_at(pod, &["metadata", "generateName"]) {
            "" => meta::name(pod),
            prefix => prefix,
        };
        let message = format!(
            "Error creating: pods \"{shown}\" is forbidden: {}",
            lookup_error(ns, account)
        );
        if reported.insert(format!("{}/{message}", meta::uid(owner))) {
            let component = match owner_kind {
                "DaemonSet" => "daemonset-controller",
                _ => "replicaset-controller",
            };
            out.push(Action::Create(meta::event(
                owner,
                "Warning",
                "FailedCreate",
                &message,
                component,
                now,
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::now;
    use super::*;

    fn namespace(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    }

    #[test]
    fn every_namespace_gets_its_default_account() {
        let mut terminating = namespace("going");
        terminating["metadata"]["deletionTimestamp"] = json!("2026-11-25T10:00:00Z");
        let world = World::new([
            namespace("a"),
            namespace("b"),
            terminating,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "b"}}),
        ]);
        let actions = sync(&world);
        assert_eq!(actions.len(), 1);
        let created = actions[0].object().unwrap();
        assert_eq!(
            created["metadata"],
            json!({"name": "default", "namespace": "a"})
        );
    }

    #[test]
    fn pods_without_their_account_are_not_created_and_reported_once() {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "a", "uid": "rs-uid"}});
        let world = World::new([namespace("a"), rs.clone()]);
        let pod = super::super::pods::new_pod(
            &rs,
            &json!({"spec": {"serviceAccountName": "web"}}),
            "web-1-",
            &[],
        );
        let mut reported = HashSet::new();
        let actions = vec![Action::Create(pod.clone())];
        let out = admit_creates(&world, actions.clone(), &mut reported, now());
        assert_eq!(out.len(), 1);
        let event = out[0].object().unwrap();
        assert_eq!(event["reason"], "FailedCreate");
        assert_eq!(
            event["message"],
            "Error creating: pods \"web-1-\" is forbidden: error looking up service account a/web: serviceaccount \"web\" not found"
        );
        assert!(admit_creates(&world, actions, &mut reported, now()).is_empty());
        // A namespace the world does not know is not judged here (the store refuses the pod).
        let elsewhere = World::new([rs]);
        let out = admit_creates(&elsewhere, vec![Action::Create(pod)], &mut reported, now());
        assert_eq!(out[0].object().unwrap()["kind"], "Pod");
    }
}
