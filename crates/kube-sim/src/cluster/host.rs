//! What a node's workloads have done to its host, as a node-check pod sees it. `nodeFacts` is
//! the host as it booted (lbctl's node-check dump: `file PATH` lines, each followed by the
//! file's lines prefixed with `|`); on top of it, as on a real node:
//!
//! - kube-proxy in IPVS mode with `strictARP: true` sets `net.ipv4.conf.all.arp_ignore=1` and
//!   `arp_announce=2` when it starts, so a running kube-proxy pod that started after its
//!   ConfigMap last changed has applied them (an older one runs the previous configuration);
//! - a ready MetalLB speaker listens on port 7946 (memberlist, TCP and UDP).
//!
//! Switched off with `settings.hostEffects: false` (the facts are then exactly `nodeFacts`),
//! and files a log does not carry are never added.

use jiff::Timestamp;
use serde_json::Value;

use super::meta;
use super::world::World;

/// A listener on 0.0.0.0:7946 (0x1F0A) as `/proc/net/tcp` and `/proc/net/udp` show it.
const TCP_7946: &str = "   0: 00000000:1F0A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7946 1 0 100 0 0 10 0";
const UDP_7946: &str = "  0: 00000000:1F0A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 7946 2 0";

/// `log` (the node's booted facts) with what the workloads on `node` have changed since.
pub fn effects(log: &str, node: &str, world: &World) -> String {
    let mut out = log.to_string();
    if kube_proxy_applied_strict_arp(node, world) {
        out = set_file(&out, "/proc/sys/net/ipv4/conf/all/arp_ignore", "1");
        out = set_file(&out, "/proc/sys/net/ipv4/conf/all/arp_announce", "2");
    }
    if speaker_ready(node, world) {
        out = add_line(&out, "/proc/net/tcp", TCP_7946, ":1F0A ");
        out = add_line(&out, "/proc/net/udp", UDP_7946, ":1F0A ");
    }
    out
}

fn pods_on<'a>(world: &'a World, node: &'a str) -> impl Iterator<Item = &'a Value> {
    world
        .list("Pod")
        .iter()
        .filter(move |p| meta::str_at(p, &["spec", "nodeName"]) == node)
        .filter(|p| meta::str_at(p, &["status", "phase"]) == "Running")
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
}

fn label<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn kube_proxy_applied_strict_arp(node: &str, world: &World) -> bool {
    pods_on(world, node)
        .filter(|p| label(p, "k8s-app") == "kube-proxy")
        .any(|pod| {
            let started = meta::parse_time(pod.pointer("/status/startTime"));
            config_maps(pod).iter().any(|name| {
                world
                    .get("ConfigMap", meta::namespace(pod), name)
                    .is_some_and(|cm| strict_ipvs(cm) && started >= Some(last_change(cm)))
            })
        })
}

/// The ConfigMaps a pod mounts.
fn config_maps(pod: &Value) -> Vec<&str> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/configMap/name").and_then(Value::as_str))
        .collect()
}

/// Whether any key of the ConfigMap is a KubeProxyConfiguration with IPVS and strictARP.
fn strict_ipvs(cm: &Value) -> bool {
    cm.get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, text)| text.as_str())
        .filter_map(|text| serde_saphyr::from_str::<Value>(text).ok())
        .any(|config| {
            config["kind"] == "KubeProxyConfiguration"
                && config["mode"] == "ipvs"
                && config.pointer("/ipvs/strictARP") == Some(&Value::Bool(true))
        })
}

/// When the object was last written: the newest `managedFields` time, else its creation.
fn last_change(obj: &Value) -> Timestamp {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| meta::parse_time(f.get("time")))
        .chain(meta::parse_time(obj.pointer("/metadata/creationTimestamp")))
        .max()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn speaker_ready(node: &str, world: &World) -> bool {
    pods_on(world, node)
        .filter(|p| label(p, "app") == "metallb" && label(p, "component") == "speaker")
        .any(|p| {
            p.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
}

/// Replaces the content of `path`'s block (nothing happens when the log has no such file).
fn set_file(log: &str, path: &str, content: &str) -> String {
    let header = format!("file {path}");
    let mut out = String::with_capacity(log.len());
    let mut in_block = false;
    for line in log.lines() {
        if in_block && line.starts_with('|') {
            continue;
        }
        in_block = line == header;
        out.push_str(line);
        out.push('\n');
        if in_block {
            out.push('|');
            out.push_str(content);
            out.push('\n');
        }
    }
    out
}

/// Appends `row` to `path`'s block unless a row of it contains `marker` already.
fn add_line(log: &str, path: &str, row: &str, marker: &str) -> String {
    let header = format!("file {path}");
    let lines: Vec<&str> = log.lines().collect();
    let Some(start) = lines.iter().position(|l| *l == header) else {
        return log.to_string();
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.starts_with('|'))
        .map_or(lines.len(), |i| start + 1 + i);
    if lines[start + 1..end].iter().any(|l| l.contains(marker)) {
        return log.to_string();
    }
    let row = format!("|{row}");
    let mut out: Vec<&str> = lines[..end].to_vec();
    out.push(&row);
    out.extend(&lines[end..]);
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOG: &str = "lbctl-node-facts 1\nfile /proc/sys/net/ipv4/conf/all/arp_ignore\n|0\nfile /proc/sys/net/ipv4/conf/all/arp_announce\n|0\nfile /proc/net/tcp\n|  sl  local_address\nfile /proc/net/udp\n|   sl  local_address\nend\n";

    fn config(strict: bool) -> String {
        format!(
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: {strict}\n"
        )
    }

    fn world(strict: bool, changed: &str, started: &str, speaker_ready: bool) -> World {
        World::new([
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system",
                "creationTimestamp": "2026-11-01T00:00:00Z", "managedFields": [{"time": changed}]},
                "data": {"config.conf": config(strict)}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-proxy-abcde", "namespace": "kube-system",
                "labels": {"k8s-app": "kube-proxy"}},
                "spec": {"nodeName": "w1", "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}}]},
                "status": {"phase": "Running", "startTime": started}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "speaker-xyz", "namespace": "metallb-system",
                "labels": {"app": "metallb", "component": "speaker"}},
                "spec": {"nodeName": "w1"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if speaker_ready {"True"} else {"False"}}]}}),
        ])
    }

    #[test]
    fn kube_proxy_started_with_strict_arp_sets_the_sysctls_of_its_node_only() {
        let w = world(true, "2026-11-02T00:00:00Z", "2026-11-02T00:00:05Z", false);
        let seen = effects(LOG, "w1", &w);
        assert!(seen.contains("conf/all/arp_ignore\n|1\n"), "{seen}");
        assert!(seen.contains("conf/all/arp_announce\n|2\n"), "{seen}");
        assert_eq!(effects(LOG, "w2", &w), LOG, "no kube-proxy pod on w2");
    }

    #[test]
    fn a_kube_proxy_older_than_its_config_or_without_strict_arp_changes_nothing() {
        let stale = world(true, "2026-11-02T00:00:05Z", "2026-11-02T00:00:00Z", false);
        assert_eq!(effects(LOG, "w1", &stale), LOG);
        let lax = world(false, "2026-11-02T00:00:00Z", "2026-11-02T00:00:05Z", false);
        assert_eq!(effects(LOG, "w1", &lax), LOG);
    }

    #[test]
    fn a_ready_speaker_listens_on_7946_once() {
        let w = world(false, "2026-11-02T00:00:00Z", "2026-11-02T00:00:05Z", true);
        let seen = effects(LOG, "w1", &w);
        assert!(
            seen.contains(&format!(
                "file /proc/net/tcp\n|  sl  local_address\n|{TCP_7946}\n"
            )),
            "{seen}"
        );
        assert!(
            seen.contains(&format!(
                "file /proc/net/udp\n|   sl  local_address\n|{UDP_7946}\n"
            )),
            "{seen}"
        );
        assert_eq!(effects(&seen, "w1", &w), seen, "already listening");
        let not_ready = world(false, "2026-11-02T00:00:00Z", "2026-11-02T00:00:05Z", false);
        assert_eq!(effects(LOG, "w1", &not_ready), LOG);
    }

    #[test]
    fn logs_without_the_files_are_left_alone() {
        let w = world(true, "2026-11-02T00:00:00Z", "2026-11-02T00:00:05Z", true);
        assert_eq!(effects("arp_ignore=1\n", "w1", &w), "arp_ignore=1\n");
    }
}
