//! Conformance: the objects lbctl renders are equivalent to MetalLB's upstream native manifest
//! (loaded from `../shared/reference`, never copied into the repository). Descriptions are
//! compared only to make sure they are our own words.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lbctl::metallb::{RenderOptions, render};
use serde_json::Value;

fn reference() -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/metallb-v0.16.1/metallb-native.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return None;
    };
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(&text).expect("reference parses");
    Some(docs.into_iter().filter(|d| d.is_object()).collect())
}

fn ours() -> Vec<Value> {
    render(&RenderOptions::default())
        .into_iter()
        .map(|r| r.object)
        .collect()
}

fn key(obj: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&obj["kind"]),
        s(&obj["metadata"]["namespace"]),
        s(&obj["metadata"]["name"]),
    )
}

fn by_key(objects: &[Value]) -> BTreeMap<(String, String, String), Value> {
    objects.iter().map(|o| (key(o), o.clone())).collect()
}

fn pairs() -> Option<Vec<(Value, Value)>> {
    let upstream = by_key(&reference()?);
    let ours = by_key(&ours());
    Some(
        upstream
            .iter()
            .filter_map(|(k, u)| ours.get(k).map(|o| (u.clone(), o.clone())))
            .collect(),
    )
}

/// Upstream and our object of one kind, paired by name; `None` (test skipped) without reference.
fn of_kind(kind: &str) -> Option<Vec<(Value, Value)>> {
    Some(
        pairs()?
            .into_iter()
            .filter(|(u, _)| u["kind"] == kind)
            .collect(),
    )
}

/// Removes nulls and empty objects so `{"x": null}` and `{}` compare equal to an absent field.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| Value::from(f as i64))
            .unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

#[test]
fn same_kinds_and_names() {
    let Some(upstream) = reference() else { return };
    let want: BTreeSet<_> = upstream.iter().map(key).collect();
    let got: BTreeSet<_> = ours().iter().map(key).collect();
    assert_eq!(got, want);
    // 26 objects: namespace, 9 CRDs, 2 accounts, 4 roles, 4 bindings, 6 others.
    assert_eq!(upstream.len(), 26);
}

#[test]
fn namespace_has_the_privileged_pod_security_labels() {
    let Some(namespaces) = of_kind("Namespace") else {
        return;
    };
    assert_eq!(namespaces.len(), 1);
    for (u, o) in namespaces {
        for (label, value) in u["metadata"]["labels"].as_object().unwrap() {
            assert_eq!(&o["metadata"]["labels"][label], value, "{label}");
        }
    }
}

/// A rule as a set of (group, resource, resourceName, verb) grants.
fn grants(rules: &Value) -> BTreeSet<(String, String, String, String)> {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for rule in rules.as_array().unwrap() {
        let names = list(&rule["resourceNames"]);
        let names = if names.is_empty() {
            vec![String::new()]
        } else {
            names
        };
        for g in list(&rule["apiGroups"]) {
            for r in list(&rule["resources"]) {
                for n in &names {
                    for v in list(&rule["verbs"]) {
                        out.insert((g.clone(), r.clone(), n.clone(), v));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn rbac_rules_are_the_same_sets() {
    let (Some(roles), Some(cluster_roles)) = (of_kind("Role"), of_kind("ClusterRole")) else {
        return;
    };
    let roles: Vec<_> = roles.into_iter().chain(cluster_roles).collect();
    assert_eq!(roles.len(), 4);
    for (u, o) in roles {
        assert_eq!(grants(&o["rules"]), grants(&u["rules"]), "{:?}", key(&u));
    }
    let (Some(bindings), Some(cluster_bindings)) =
        (of_kind("RoleBinding"), of_kind("ClusterRoleBinding"))
    else {
        return;
    };
    let bindings: Vec<_> = bindings.into_iter().chain(cluster_bindings).collect();
    assert_eq!(bindings.len(), 4);
    for (u, o) in bindings {
        assert_eq!(o["roleRef"], u["roleRef"], "{:?}", key(&u));
        let set = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| clean(s).to_string())
                .collect()
        };
        assert_eq!(set(&o["subjects"]), set(&u["subjects"]), "{:?}", key(&u));
    }
}

#[test]
fn workloads_match_container_by_container() {
    let (Some(deployments), Some(daemonsets)) = (of_kind("Deployment"), of_kind("DaemonSet"))
    else {
        return;
    };
    let workloads: Vec<_> = deployments.into_iter().chain(daemonsets).collect();
    assert_eq!(workloads.len(), 2);
    for (u, o) in workloads {
        let what = key(&u);
        assert_eq!(
            clean(&o["spec"]["selector"]),
            clean(&u["spec"]["selector"]),
            "{what:?}"
        );
        let (up, op) = (
            &u["spec"]["template"]["spec"],
            &o["spec"]["template"]["spec"],
        );
        for field in [
            "volumes",
            "tolerations",
            "nodeSelector",
            "securityContext",
            "hostNetwork",
            "serviceAccountName",
            "terminationGracePeriodSeconds",
        ] {
            assert_eq!(clean(&op[field]), clean(&up[field]), "{what:?} pod {field}");
        }
        assert_eq!(
            clean(&o["spec"]["template"]["metadata"]["labels"]),
            clean(&u["spec"]["template"]["metadata"]["labels"])
        );
        let uc = up["containers"].as_array().unwrap();
        let oc = op["containers"].as_array().unwrap();
        assert_eq!(oc.len(), uc.len());
        for (uc, oc) in uc.iter().zip(oc) {
            for field in [
                "name",
                "image",
                "args",
                "env",
                "ports",
                "livenessProbe",
                "readinessProbe",
                "securityContext",
                "volumeMounts",
            ] {
                assert_eq!(
                    clean(&oc[field]),
                    clean(&uc[field]),
                    "{what:?} container {field}"
                );
            }
        }
    }
}

#[test]
fn config_map_secret_and_service_match() {
    for kind in ["ConfigMap", "Secret", "Service"] {
        let Some(found) = of_kind(kind) else { return };
        assert_eq!(found.len(), 1, "{kind}");
        for (u, o) in found {
            assert_eq!(clean(&o["data"]), clean(&u["data"]), "{kind} data");
            assert_eq!(clean(&o["spec"]), clean(&u["spec"]), "{kind} spec");
        }
    }
}

#[test]
fn webhooks_have_the_same_names_rules_paths_and_policies() {
    let Some(found) = of_kind("ValidatingWebhookConfiguration") else {
        return;
    };
    assert_eq!(found.len(), 1);
    let index = |v: &Value| -> BTreeMap<String, Value> {
        v["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["name"].as_str().unwrap().to_string(), clean(w)))
            .collect()
    };
    for (u, o) in found {
        let (u, o) = (index(&u), index(&o));
        assert_eq!(o.keys().collect::<Vec<_>>(), u.keys().collect::<Vec<_>>());
        for (name, uw) in &u {
            let ow = &o[name];
            for field in [
                "rules",
                "failurePolicy",
                "sideEffects",
                "admissionReviewVersions",
            ] {
                assert_eq!(ow[field], uw[field], "{name} {field}");
            }
            assert_eq!(
                ow["clientConfig"]["service"], uw["clientConfig"]["service"],
                "{name}"
            );
        }
    }
}

/// Every schema node as `path -> (type, enum, default, required, format, bounds, markers)`,
/// plus the description separately.
fn schema_facts(schema: &Value) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    fn walk(
        s: &Value,
        path: String,
        facts: &mut BTreeMap<String, Value>,
        docs: &mut BTreeMap<String, String>,
    ) {
        let mut fact = serde_json::Map::new();
        for field in [
            "type",
            "enum",
            "default",
            "format",
            "minimum",
            "maximum",
            "minItems",
            "minLength",
            "maxLength",
            "pattern",
            "additionalProperties",
            "x-kubernetes-map-type",
            "x-kubernetes-list-type",
            "x-kubernetes-list-map-keys",
        ] {
            if let Some(v) = s.get(field) {
                fact.insert(field.into(), clean(v));
            }
        }
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            let mut names: Vec<_> = required.iter().filter_map(Value::as_str).collect();
            names.sort();
            fact.insert("required".into(), names.into());
        }
        if let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) {
            let rules: Vec<_> = rules.iter().map(|r| r["rule"].clone()).collect();
            fact.insert("rules".into(), rules.into());
        }
        if let Some(d) = s.get("description").and_then(Value::as_str) {
            docs.insert(path.clone(), d.to_string());
        }
        facts.insert(path.clone(), Value::Object(fact));
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                walk(child, format!("{path}.{name}"), facts, docs);
            }
        }
        if let Some(items) = s.get("items") {
            walk(items, format!("{path}[]"), facts, docs);
        }
    }
    let (mut facts, mut docs) = (BTreeMap::new(), BTreeMap::new());
    walk(schema, String::new(), &mut facts, &mut docs);
    (facts, docs)
}

/// Every schema node as `path -> the keywords it sets`, descriptions aside (ours may describe
/// more than upstream does).
fn schema_keywords(schema: &Value) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(s: &Value, path: String, out: &mut BTreeMap<String, BTreeSet<String>>) {
        let keywords = s
            .as_object()
            .map(|m| m.keys().filter(|k| *k != "description").cloned().collect())
            .unwrap_or_default();
        out.insert(path.clone(), keywords);
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                walk(child, format!("{path}.{name}"), out);
            }
        }
        if let Some(items) = s.get("items") {
            walk(items, format!("{path}[]"), out);
        }
    }
    let mut out = BTreeMap::new();
    walk(schema, String::new(), &mut out);
    out
}

#[test]
fn crds_match_in_names_versions_and_schemas() {
    let Some(crds) = of_kind("CustomResourceDefinition") else {
        return;
    };
    assert_eq!(crds.len(), 9);
    for (u, o) in crds {
        let name = u["metadata"]["name"].as_str().unwrap().to_string();
        let (us, os) = (&u["spec"], &o["spec"]);
        for field in ["group", "names", "scope", "conversion"] {
            assert_eq!(clean(&os[field]), clean(&us[field]), "{name} {field}");
        }
        let versions = |v: &Value| -> BTreeMap<String, Value> {
            v["versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v["name"].as_str().unwrap().to_string(), v.clone()))
                .collect()
        };
        let (uv, ov) = (versions(us), versions(os));
        assert_eq!(
            ov.keys().collect::<Vec<_>>(),
            uv.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (version, u) in &uv {
            let o = &ov[version];
            for field in ["served", "storage", "subresources", "deprecated"] {
                assert_eq!(
                    clean(&o[field]),
                    clean(&u[field]),
                    "{name} {version} {field}"
                );
            }
            let columns = |v: &Value| -> Vec<Value> {
                v["additionalPrinterColumns"]
                    .as_array()
                    .map(|cols| {
                        cols.iter()
                            .map(|c| {
                                let mut c = clean(c);
                                c.as_object_mut().unwrap().remove("description");
                                c
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            assert_eq!(columns(o), columns(u), "{name} {version} printer columns");
            let (ufacts, udocs) = schema_facts(&u["schema"]["openAPIV3Schema"]);
            let (ofacts, odocs) = schema_facts(&o["schema"]["openAPIV3Schema"]);
            assert_eq!(
                ofacts.keys().collect::<Vec<_>>(),
                ufacts.keys().collect::<Vec<_>>(),
                "{name} {version} property paths"
            );
            for (path, fact) in &ufacts {
                assert_eq!(&ofacts[path], fact, "{name} {version} schema at `{path}`");
            }
            let (ukeys, okeys) = (
                schema_keywords(&u["schema"]["openAPIV3Schema"]),
                schema_keywords(&o["schema"]["openAPIV3Schema"]),
            );
            for (path, keywords) in &ukeys {
                assert_eq!(
                    &okeys[path], keywords,
                    "{name} {version} schema keywords at `{path}`"
                );
            }
            // A structural schema may say nothing about the root's metadata but its type (the
            // API server refuses even a description there).
            assert_eq!(
                o["schema"]["openAPIV3Schema"]["properties"]["metadata"],
                serde_json::json!({"type": "object"}),
                "{name} {version} root metadata"
            );
            for (path, theirs) in &udocs {
                if let Some(mine) = odocs.get(path) {
                    assert_ne!(
                        mine, theirs,
                        "{name} {version} `{path}`: write our own description"
                    );
                }
            }
        }
    }
}
