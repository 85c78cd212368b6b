//! `/version`, legacy discovery (`/api`, `/apis`, `/apis/<g>/<v>`) and aggregated discovery
//! (`apidiscovery.k8s.io/v2`, chosen by the Accept header as client-go and kube-rs send it).

use super::{Ctx, Reply, Server, json_reply, json_reply_typed};
use crate::resources::ResourceType;
use serde_json::{Value, json};
use std::cmp::Ordering;

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub(crate) fn version(server: &Server) -> Reply {
    let minor: u32 = server.minor.parse().unwrap_or(0);
    json_reply(
        200,
        &json!({
            "major": server.major,
            "minor": server.minor,
            "emulationMajor": server.major,
            "emulationMinor": server.minor,
            "minCompatibilityMajor": server.major,
            "minCompatibilityMinor": minor.saturating_sub(1).to_string(),
            "gitVersion": server.git_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.25.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
    )
}

fn wants_aggregated(ctx: &Ctx) -> bool {
    ctx.header("accept")
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList") && first.contains("v=v2"))
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        (3, major, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, major, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, major, n.parse().unwrap_or(0))
    } else {
        (0, major, 0)
    }
}

fn sorted_versions(mut versions: Vec<String>) -> Vec<String> {
    versions.sort_by(|a, b| match version_rank(b).cmp(&version_rank(a)) {
        Ordering::Equal => a.cmp(b),
        other => other,
    });
    versions
}

fn groups(server: &Server) -> Vec<(String, Vec<String>)> {
    server
        .store
        .registry()
        .groups()
        .into_iter()
        .map(|(g, vs)| (g, sorted_versions(vs)))
        .collect()
}

fn gv_string(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": gv_string(group, v), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": list,
        "preferredVersion": list.first().cloned().unwrap_or_default(),
    })
}

fn resources_in(server: &Server, group: &str, version: &str) -> Vec<std::sync::Arc<ResourceType>> {
    let mut list: Vec<_> = server
        .store
        .registry()
        .all()
        .iter()
        .filter(|rt| rt.group == group && rt.serves_version(version))
        .cloned()
        .collect();
    list.sort_by(|a, b| a.plural.cmp(&b.plural));
    list
}

pub(crate) fn api(server: &Server, ctx: &Ctx) -> Reply {
    if wants_aggregated(ctx) {
        let item = json!({"metadata": {}, "versions": [aggregated_version(server, "", "v1")]});
        return aggregated_list(vec![item]);
    }
    json_reply(
        200,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server.address}],
        }),
    )
}

pub(crate) fn apis(server: &Server, ctx: &Ctx) -> Reply {
    let named: Vec<(String, Vec<String>)> = groups(server)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .collect();
    if wants_aggregated(ctx) {
        let items = named
            .iter()
            .map(|(g, vs)| {
                let versions: Vec<Value> = vs
                    .iter()
                    .map(|v| aggregated_version(server, g, v))
                    .collect();
                json!({"metadata": {"name": g}, "versions": versions})
            })
            .collect();
        return aggregated_list(items);
    }
    let list: Vec<Value> = named.iter().map(|(g, vs)| group_entry(g, vs)).collect();
    json_reply(
        200,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}),
    )
}

pub(crate) fn group(server: &Server, group: &str) -> Reply {
    match groups(server)
        .into_iter()
        .find(|(g, _)| g == group && !g.is_empty())
    {
        Some((g, vs)) => {
            let mut entry = group_entry(&g, &vs);
            entry["kind"] = json!("APIGroup");
            entry["apiVersion"] = json!("v1");
            json_reply(200, &entry)
        }
        None => super::no_such_resource(),
    }
}

pub(crate) fn group_version(server: &Server, group: &str, version: &str) -> Reply {
    let types = resources_in(server, group, version);
    if types.is_empty() {
        return super::no_such_resource();
    }
    let mut resources = Vec::new();
    for rt in &types {
        let mut entry = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs,
        });
        if !rt.short_names.is_empty() {
            entry["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            entry["categories"] = json!(rt.categories);
        }
        if !rt.virtual_only {
            entry["storageVersionHash"] = json!(rt.storage_version_hash());
        }
        resources.push(entry);
        for sub in &rt.subresources {
            resources.push(json!({
                "name": format!("{}/{}", rt.plural, sub.name),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": sub.kind,
                "verbs": sub.verbs,
            }));
        }
    }
    json_reply(
        200,
        &json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv_string(group, version),
            "resources": resources,
        }),
    )
}

fn aggregated_version(server: &Server, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = resources_in(server, group, version)
        .iter()
        .map(|rt| {
            // Built-in kinds leave group/version empty ("same as the list"); CRDs fill them.
            let kind_ref = |kind: &str| {
                if rt.custom {
                    json!({"group": rt.group, "version": version, "kind": kind})
                } else {
                    json!({"group": "", "version": "", "kind": kind})
                }
            };
            let mut entry = json!({
                "resource": rt.plural,
                "responseKind": kind_ref(&rt.kind),
                "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": rt.singular,
                "verbs": rt.verbs,
            });
            if !rt.short_names.is_empty() {
                entry["shortNames"] = json!(rt.short_names);
            }
            if !rt.categories.is_empty() {
                entry["categories"] = json!(rt.categories);
            }
            if !rt.subresources.is_empty() {
                entry["subresources"] = rt
                    .subresources
                    .iter()
                    .map(|s| json!({"subresource": s.name, "responseKind": kind_ref(&s.kind), "verbs": s.verbs}))
                    .collect();
            }
            entry
        })
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

fn aggregated_list(items: Vec<Value>) -> Reply {
    json_reply_typed(
        200,
        &json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }),
        AGGREGATED,
    )
}
