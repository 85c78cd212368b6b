//! The Deployment and ReplicaSet controllers: a ReplicaSet per pod template (named
//! `<deployment>-<pod-template-hash>`), rolling or recreate scaling between them, pods for each
//! ReplicaSet, and status with the real conditions.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::daemonset::scaled;
use super::meta::{self, rfc3339};
use super::pods;
use super::world::{Action, World};

const REVISION: &str = "deployment.kubernetes.io/revision";
const TEMPLATE_HASH: &str = "pod-template-hash";

pub fn sync(world: &World, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    for d in world.list("Deployment") {
        if !meta::is_terminating(d) {
            sync_deployment(world, d, now, &mut actions);
        }
    }
    for rs in world.list("ReplicaSet") {
        if !meta::is_terminating(rs) {
            sync_replicaset(world, rs, now, &mut actions);
        }
    }
    actions
}

fn spec_replicas(obj: &Value) -> i64 {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn status_count(obj: &Value, field: &str) -> i64 {
    obj.pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn revision(rs: &Value) -> i64 {
    meta::annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn sync_deployment(world: &World, d: &Value, now: Timestamp, actions: &mut Vec<Action>) {
    let name = meta::name(d);
    let template = &d["spec"]["template"];
    let hash = meta::template_hash(template);
    let replicas = spec_replicas(d);
    let owned = world.claim("ReplicaSet", d, actions);
    let new_rs = owned
        .iter()
        .find(|rs| meta::label(rs, TEMPLATE_HASH) == Some(hash.as_str()))
        .copied();
    let mut old: Vec<&Value> = owned
        .iter()
        .filter(|rs| meta::label(rs, TEMPLATE_HASH) != Some(hash.as_str()))
        .copied()
        .collect();
    old.sort_by_key(|rs| revision(rs));

    let strategy = &d["spec"]["strategy"];
    let recreate = meta::str_at(strategy, &["type"]) == "Recreate";
    let max_surge = if recreate {
        0
    } else {
        scaled(
            strategy
                .pointer("/rollingUpdate/maxSurge")
                .or(Some(&json!("25%"))),
            replicas,
            1,
            true,
        )
    };
    let mut max_unavailable = if recreate {
        replicas
    } else {
        scaled(
            strategy
                .pointer("/rollingUpdate/maxUnavailable")
                .or(Some(&json!("25%"))),
            replicas,
            1,
            false,
        )
    };
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let old_total: i64 = old.iter().map(|rs| spec_replicas(rs)).sum();
    let rs_name = format!("{name}-{hash}");
    let new_revision = match new_rs {
        Some(rs) => revision(rs).max(1),
        None => old.iter().map(|rs| revision(rs)).max().unwrap_or(0) + 1,
    };

    // Scale: the new ReplicaSet up within maxSurge, then old ones down within maxUnavailable.
    let new_current = new_rs.map(spec_replicas).unwrap_or(0);
    let new_target = if recreate {
        let old_pods = world
            .in_namespace("Pod", meta::namespace(d))
            .any(|p| old.iter().any(|rs| meta::is_controlled_by(p, rs)));
        if old_total > 0 || old_pods {
            0
        } else {
            replicas
        }
    } else if new_current > replicas {
        replicas
    } else {
        let room = replicas + max_surge - (old_total + new_current);
        (new_current + room.max(0)).min(replicas)
    };
    let annotate = |rs: &mut Value, count: i64| {
        rs["spec"]["replicas"] = json!(count);
        meta::set_annotation(rs, REVISION, &new_revision.to_string());
        meta::set_annotation(
            rs,
            "deployment.kubernetes.io/desired-replicas",
            &replicas.to_string(),
        );
        meta::set_annotation(
            rs,
            "deployment.kubernetes.io/max-replicas",
            &(replicas + max_surge).to_string(),
        );
    };
    let created_new = new_rs.is_none();
    match new_rs {
        None => {
            let mut rs_template = template.clone();
            meta::set_label(&mut rs_template, TEMPLATE_HASH, &hash);
            let mut selector = d["spec"]["selector"].clone();
            meta::object_at(&mut selector, &["matchLabels"])
                .insert(TEMPLATE_HASH.to_string(), json!(hash));
            let mut rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": meta::namespace(d),
                    "labels": rs_template["metadata"]["labels"].clone(),
                    "ownerReferences": [meta::controller_ref(d)],
                },
                "spec": {"selector": selector, "template": rs_template},
            });
            if let Some(mrs) = d.pointer("/spec/minReadySeconds") {
                rs["spec"]["minReadySeconds"] = mrs.clone();
            }
            annotate(&mut rs, new_target);
            actions.push(Action::Create(rs));
        }
        Some(rs) if spec_replicas(rs) != new_target || revision(rs) != new_revision => {
            let mut rs = rs.clone();
            annotate(&mut rs, new_target);
            actions.push(Action::Update(rs));
        }
        Some(_) => {}
    }
    if new_target == new_current || recreate {
        let all = old_total + new_current;
        let min_available = replicas - max_unavailable;
        let new_unavailable = new_rs.map_or(0, |rs| {
            spec_replicas(rs) - status_count(rs, "availableReplicas")
        });
        let mut can_remove = if recreate {
            old_total
        } else {
            (all - min_available - new_unavailable).max(0)
        };
        // Old ReplicaSets with unavailable pods shrink first: removing those costs no availability.
        let mut order = old.clone();
        order.sort_by_key(|rs| -(spec_replicas(rs) - status_count(rs, "availableReplicas")));
        for rs in order {
            let current = spec_replicas(rs);
            let take = current.min(can_remove);
            if take > 0 {
                can_remove -= take;
                let mut scaled_rs = rs.clone();
                scaled_rs["spec"]["replicas"] = json!(current - take);
                actions.push(Action::Update(scaled_rs));
            }
        }
    }

    if meta::annotation(d, REVISION) != Some(new_revision.to_string().as_str()) {
        let mut updated = d.clone();
        meta::set_annotation(&mut updated, REVISION, &new_revision.to_string());
        actions.push(Action::Update(updated));
    }

    // Status, from the ReplicaSets' own status (as the real controller sums them).
    let all: Vec<&Value> = owned.clone();
    let sum = |field: &str| all.iter().map(|rs| status_count(rs, field)).sum::<i64>();
    let updated_replicas = new_rs.map_or(0, |rs| status_count(rs, "replicas"));
    let total = sum("replicas");
    let available = sum("availableReplicas");
    let mut status = json!({"observedGeneration": meta::generation(d), "terminatingReplicas": sum("terminatingReplicas")});
    meta::insert_nonzero(&mut status, "replicas", total);
    meta::insert_nonzero(&mut status, "updatedReplicas", updated_replicas);
    meta::insert_nonzero(&mut status, "readyReplicas", sum("readyReplicas"));
    meta::insert_nonzero(&mut status, "availableReplicas", available);
    meta::insert_nonzero(
        &mut status,
        "unavailableReplicas",
        (replicas - available).max(0),
    );
    if let Some(cc) = d.pointer("/status/collisionCount") {
        status["collisionCount"] = cc.clone();
    }

    let old_conditions = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let at = rfc3339(now);
    let available_ok = available >= replicas - max_unavailable;
    let available_cond = if available_ok {
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".to_string(),
        )
    } else {
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".to_string(),
        )
    };
    let complete =
        !created_new && updated_replicas == replicas && total == replicas && available == replicas;
    let previous = old_conditions.iter().find(|c| c["type"] == "Progressing");
    let stalled = previous
        .filter(|c| c["reason"] == "ReplicaSetUpdated")
        .and_then(|c| meta::parse_time(c.get("lastUpdateTime")))
        .zip(
            d.pointer("/spec/progressDeadlineSeconds")
                .and_then(Value::as_i64)
                .or(Some(600)),
        )
        .is_some_and(|(since, deadline)| since + jiff::SignedDuration::from_secs(deadline) < now);
    let progressing = if created_new {
        (
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{rs_name}\""),
        )
    } else if complete {
        (
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        )
    } else if stalled || previous.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        (
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
        )
    } else {
        (
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        )
    };
    // Progress (more pods updated or available) refreshes lastUpdateTime of ReplicaSetUpdated.
    let progressed = d.get("status").is_some_and(|s| {
        s.get("updatedReplicas") != status.get("updatedReplicas")
            || s.get("availableReplicas") != status.get("availableReplicas")
    });
    status["conditions"] = json!([
        condition(&old_conditions, "Available", available_cond, &at, false),
        condition(&old_conditions, "Progressing", progressing, &at, progressed),
    ]);
    if d.get("status") != Some(&status) {
        let mut out = d.clone();
        out["status"] = status;
        actions.push(Action::UpdateStatus(out));
    }
}

/// A Deployment condition that keeps its times when nothing about it changed.
fn condition(
    old: &[Value],
    kind: &str,
    (status, reason, message): (&str, &str, String),
    at: &str,
    touch: bool,
) -> Value {
    let prev = old.iter().find(|c| c["type"] == kind);
    let same_status = prev.is_some_and(|c| c["status"] == status);
    let same_all = same_status
        && prev.is_some_and(|c| c["reason"] == reason && c["message"] == message.as_str());
    let transition = match prev {
        Some(c) if same_status => c["lastTransitionTime"].clone(),
        _ => json!(at),
    };
    let update = match prev {
        Some(c) if same_all && !touch => c["lastUpdateTime"].clone(),
        _ => json!(at),
    };
    json!({
        "lastTransitionTime": transition,
        "lastUpdateTime": update,
        "message": message,
        "reason": reason,
        "status": status,
        "type": kind,
    })
}

fn sync_replicaset(world: &World, rs: &Value, now: Timestamp, actions: &mut Vec<Action>) {
    let wanted = spec_replicas(rs);
    let mut active: Vec<&Value> = world
        .claim("Pod", rs, actions)
        .into_iter()
        .filter(|p| !meta::is_terminating(p) && !matches!(pods::phase(p), "Succeeded" | "Failed"))
        .collect();
    let count = active.len() as i64;
    if count < wanted {
        let prefix = format!("{}-", meta::name(rs));
        for _ in count..wanted {
            actions.push(Action::Create(pods::new_pod(
                rs,
                &rs["spec"]["template"],
                &prefix,
                &[],
            )));
        }
    } else if count > wanted {
        // Delete the least useful first: unscheduled, then not ready, then the newest.
        active.sort_by_key(|p| {
            let scheduled = !meta::str_at(p, &["spec", "nodeName"]).is_empty();
            let created = meta::str_at(p, &["metadata", "creationTimestamp"]).to_string();
            (scheduled, pods::is_ready(p), std::cmp::Reverse(created))
        });
        actions.extend(
            active
                .iter()
                .take((count - wanted) as usize)
                .map(|p| Action::delete_of(p)),
        );
    }
    let min_ready = rs
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let template_labels = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let fully_labeled = active
        .iter()
        .filter(|p| {
            template_labels.is_none_or(|l| {
                l.iter()
                    .all(|(k, v)| meta::labels(p).and_then(|pl| pl.get(k)) == Some(v))
            })
        })
        .count() as i64;
    let mut status = json!({"observedGeneration": meta::generation(rs), "replicas": count, "terminatingReplicas": 0});
    meta::insert_nonzero(&mut status, "fullyLabeledReplicas", fully_labeled);
    meta::insert_nonzero(
        &mut status,
        "readyReplicas",
        active.iter().filter(|p| pods::is_ready(p)).count() as i64,
    );
    meta::insert_nonzero(
        &mut status,
        "availableReplicas",
        active
            .iter()
            .filter(|p| pods::is_available(p, min_ready, now))
            .count() as i64,
    );
    if rs.get("status") != Some(&status) {
        let mut out = rs.clone();
        out["status"] = status;
        actions.push(Action::UpdateStatus(out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testutil::*;

    fn controller() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "controller", "namespace": "metallb-system", "uid": "d-uid", "generation": 1},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "metallb", "component": "controller"}},
                     "template": {"metadata": {"labels": {"app": "metallb", "component": "controller"}},
                                  "spec": {"containers": [{"name": "controller", "image": "quay.io/metallb/controller:v0.16.1"}]}}}})
    }

    fn rs_of(d: &Value, replicas: i64, status: Value) -> Value {
        let hash = meta::template_hash(&d["spec"]["template"]);
        let mut template = d["spec"]["template"].clone();
        meta::set_label(&mut template, TEMPLATE_HASH, &hash);
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{}-{hash}", meta::name(d)), "namespace": meta::namespace(d), "uid": "rs-uid",
                         "labels": template["metadata"]["labels"].clone(), "annotations": {REVISION: "1"},
                         "ownerReferences": [meta::controller_ref(d)]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": template["metadata"]["labels"].clone()}, "template": template},
            "status": status})
    }

    #[test]
    fn new_deployment_creates_a_replicaset_named_by_hash() {
        let d = controller();
        let world = World::new([three_nodes(), vec![d.clone()]].concat());
        let actions = sync(&world, now());
        let rs = creates(&actions, "ReplicaSet");
        assert_eq!(rs.len(), 1);
        let hash = meta::template_hash(&d["spec"]["template"]);
        assert_eq!(meta::name(rs[0]), format!("controller-{hash}"));
        assert_eq!(rs[0]["spec"]["replicas"], 1);
        assert_eq!(meta::annotation(rs[0], REVISION), Some("1"));
        assert_eq!(
            rs[0]["spec"]["template"]["metadata"]["labels"][TEMPLATE_HASH],
            json!(hash)
        );
        let status = status_update(&actions, "Deployment").unwrap();
        assert_eq!(status["conditions"][1]["reason"], "NewReplicaSetCreated");
        assert_eq!(status["conditions"][0]["status"], "False");
        assert_eq!(status["unavailableReplicas"], 1);
    }

    #[test]
    fn available_deployment_status_matches_the_real_shape() {
        let mut d = controller();
        meta::set_annotation(&mut d, REVISION, "1");
        let rs = rs_of(
            &d,
            1,
            json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1, "terminatingReplicas": 0}),
        );
        let world = World::new([three_nodes(), vec![d, rs.clone()]].concat());
        let actions = sync(&world, now());
        let status = status_update(&actions, "Deployment").unwrap();
        let at = rfc3339(now());
        assert_eq!(
            status,
            json!({"availableReplicas": 1, "observedGeneration": 1, "readyReplicas": 1, "replicas": 1, "terminatingReplicas": 0, "updatedReplicas": 1,
                   "conditions": [
                       {"lastTransitionTime": at, "lastUpdateTime": at, "message": "Deployment has minimum availability.", "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                       {"lastTransitionTime": at, "lastUpdateTime": at, "message": format!("ReplicaSet \"{}\" has successfully progressed.", meta::name(&rs)), "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"}]})
        );
    }

    #[test]
    fn replicaset_creates_missing_pods_and_counts_ready_ones() {
        let d = controller();
        let rs = rs_of(&d, 2, json!({}));
        let hash = meta::label(&rs, TEMPLATE_HASH).unwrap().to_string();
        let pod = ready_pod(&rs, "w1", &hash);
        let world = World::new([three_nodes(), vec![rs.clone(), pod]].concat());
        let actions = sync(&world, now());
        let pods = creates(&actions, "Pod");
        assert_eq!(pods.len(), 1);
        assert!(meta::name(pods[0]).starts_with(&format!("{}-", meta::name(&rs))));
        assert_eq!(meta::label(pods[0], TEMPLATE_HASH), Some(hash.as_str()));
        let status = status_update(&actions, "ReplicaSet").unwrap();
        assert_eq!(status["replicas"], 1);
        assert_eq!(status["readyReplicas"], 1);
    }

    #[test]
    fn template_change_surges_a_new_replicaset_and_keeps_the_old_until_available() {
        let mut d = controller();
        d["spec"]["replicas"] = json!(4);
        let old = rs_of(
            &d,
            4,
            json!({"replicas": 4, "readyReplicas": 4, "availableReplicas": 4}),
        );
        meta::set_annotation(
            &mut d["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "2026-11-25T10:00:00Z",
        );
        d["metadata"]["generation"] = json!(2);
        let world = World::new([three_nodes(), vec![d, old]].concat());
        let actions = sync(&world, now());
        let new_rs = creates(&actions, "ReplicaSet");
        assert_eq!(new_rs[0]["spec"]["replicas"], 1, "maxSurge 25% of 4");
        assert_eq!(meta::annotation(new_rs[0], REVISION), Some("2"));
        assert!(
            updates(&actions, "ReplicaSet").is_empty(),
            "old RS untouched while the new one scales up"
        );
        assert_eq!(
            meta::annotation(updates(&actions, "Deployment")[0], REVISION),
            Some("2")
        );
    }

    #[test]
    fn old_replicaset_scales_down_within_max_unavailable() {
        let mut d = controller();
        d["spec"]["replicas"] = json!(4);
        let mut old = rs_of(
            &d,
            4,
            json!({"replicas": 4, "readyReplicas": 4, "availableReplicas": 4}),
        );
        old["metadata"]["uid"] = json!("old-uid");
        meta::set_annotation(
            &mut d["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "x",
        );
        let mut new = rs_of(
            &d,
            1,
            json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
        );
        new["metadata"]["annotations"][REVISION] = json!("2");
        let world = World::new([three_nodes(), vec![d, old, new]].concat());
        let actions = sync(&world, now());
        let scaled: Vec<i64> = updates(&actions, "ReplicaSet")
            .iter()
            .map(|rs| rs["spec"]["replicas"].as_i64().unwrap())
            .collect();
        // all 5, min available 3 (4 - 25%), new unavailable 0: two old pods may go.
        assert_eq!(scaled, [2]);
    }

    #[test]
    fn recreate_scales_old_to_zero_first() {
        let mut d = controller();
        d["spec"]["strategy"] = json!({"type": "Recreate"});
        let mut old = rs_of(&d, 1, json!({"replicas": 1}));
        old["metadata"]["uid"] = json!("old-uid");
        meta::set_annotation(
            &mut d["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "x",
        );
        let world = World::new([three_nodes(), vec![d, old]].concat());
        let actions = sync(&world, now());
        assert_eq!(creates(&actions, "ReplicaSet")[0]["spec"]["replicas"], 0);
        assert_eq!(updates(&actions, "ReplicaSet")[0]["spec"]["replicas"], 0);
    }

    #[test]
    fn stalled_rollout_reports_progress_deadline_exceeded() {
        let mut d = controller();
        d["spec"]["progressDeadlineSeconds"] = json!(60);
        meta::set_annotation(&mut d, REVISION, "1");
        let rs = rs_of(&d, 1, json!({"replicas": 1}));
        d["status"] = json!({"conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "lastUpdateTime": "2026-11-25T09:50:00Z", "lastTransitionTime": "2026-11-25T09:50:00Z"}]});
        let world = World::new([three_nodes(), vec![d, rs]].concat());
        let status = status_update(&sync(&world, now()), "Deployment").unwrap();
        assert_eq!(
            status["conditions"][1]["reason"],
            "ProgressDeadlineExceeded"
        );
        assert_eq!(status["conditions"][1]["status"], "False");
    }
}
