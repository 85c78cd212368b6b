//! A minimal `/openapi/v3`: the root index and, per group/version, the PATCH operations of
//! each kind with the query parameters the server accepts. kubectl reads exactly this to learn
//! that `fieldValidation` is handled server-side (otherwise it wants full schemas to validate
//! client-side). kube-sim keeps no schemas, so `components.schemas` stays empty.

use super::{Reply, Server, json_reply};
use serde_json::{Map, Value, json};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A hash that changes when the served kinds change (clients cache per hash).
fn hash_of(server: &Server, group: &str, version: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for rt in server.store.registry().all() {
        if rt.group == group && rt.serves_version(version) {
            for byte in rt.plural.bytes().chain(rt.kind.bytes()) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{hash:016X}")
}

pub(crate) fn root(server: &Server) -> Reply {
    let mut paths = Map::new();
    for (group, versions) in server.store.registry().groups() {
        for version in versions {
            let path = gv_path(&group, &version);
            let url = format!(
                "/openapi/v3/{path}?hash={}",
                hash_of(server, &group, &version)
            );
            paths.insert(path, json!({"serverRelativeURL": url}));
        }
    }
    json_reply(200, &json!({"paths": paths}))
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

pub(crate) fn group_version(server: &Server, segments: &[&str]) -> Reply {
    let (group, version) = match segments {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return super::no_such_resource(),
    };
    let registry = server.store.registry();
    let types: Vec<_> = registry
        .all()
        .iter()
        .filter(|rt| rt.group == group && rt.serves_version(version) && !rt.virtual_only)
        .collect();
    if types.is_empty() {
        return super::no_such_resource();
    }
    let prefix = format!("/{}", gv_path(group, version));
    let mut paths = Map::new();
    for rt in types {
        let scope = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{prefix}/{}/{{name}}", rt.plural)
        };
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| query_param(p))
            .collect();
        paths.insert(
            scope,
            json!({
                "patch": {
                    "operationId": format!("patch{}", rt.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": rt.group, "version": version, "kind": rt.kind},
                    "parameters": parameters,
                    "responses": {"200": {"description": "OK"}},
                }
            }),
        );
    }
    json_reply(
        200,
        &json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": server.git_version},
            "paths": paths,
            "components": {"schemas": {}},
        }),
    )
}
