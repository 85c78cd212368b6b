//! The MetalLB scenarios under tests/fixtures/clusters are generated: the kubeadm IPVS cluster
//! (strictARP on) plus the objects `lbctl install` renders, plus each scenario's pools, apps and
//! switches. This test checks they are fresh (`LBCTL_REGENERATE=1` rewrites them) and that each
//! one boots in kube-sim into the state it describes.
//!
//! Every scenario's `settings.nodeFacts` (what a node-check pod prints on each node) is generated
//! too, by running the node-check script over an edited fixture proc tree
//! (`tests/support/node_facts.rs`): in the hand-written scenarios only that block is rewritten.

use crate::support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use kube_sim::Scenario;
use lbctl::metallb::render::{RenderOptions, render};
use lbctl::net::dump::NodeDump;
use lbctl::net::node::NodeNetFacts;
use lbctl::net::roots::NodeFiles;
use serde_json::{Value, json};
use support::node_facts::{NodeSpec, node_facts};

const NS: &str = "metallb-system";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clusters")
}

/// The kubeadm IPVS scenario with strictARP switched on (what `lbctl enable-strictarp` leaves).
fn base() -> Value {
    let text = std::fs::read_to_string(dir().join("kubeadm-ipvs.yaml")).unwrap();
    let mut doc: Value = serde_saphyr::from_str(&text).unwrap();
    for obj in doc["objects"].as_array_mut().unwrap() {
        if obj["kind"] == "ConfigMap" && obj["metadata"]["name"] == "kube-proxy" {
            let conf = obj["data"]["config.conf"]
                .as_str()
                .unwrap()
                .replace("strictARP: false", "strictARP: true");
            obj["data"]["config.conf"] = json!(conf);
        }
    }
    doc
}

fn pool(name: &str, namespace: &str, addresses: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": name, "namespace": namespace},
           "spec": {"addresses": addresses, "autoAssign": true, "avoidBuggyIPs": false}})
}

fn l2_advertisement(name: &str, pools: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": name, "namespace": NS},
           "spec": {"ipAddressPools": pools}})
}

/// A web app: Deployment plus a LoadBalancer Service, optionally asking for a pool.
fn app(name: &str, pool: Option<&str>) -> Vec<Value> {
    let labels = json!({"app": name});
    let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"type": "LoadBalancer", "selector": labels, "externalTrafficPolicy": "Cluster",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}});
    if let Some(p) = pool {
        svc["metadata"]["annotations"] = json!({"metallb.io/address-pool": p});
    }
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.29",
                                                           "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}]}]}}}}),
        svc,
    ]
}

struct Fixture {
    file: &'static str,
    about: &'static str,
    settings: Value,
    extra: Vec<Value>,
}

fn fixtures() -> Vec<Fixture> {
    let lan = || pool("lan", NS, &["192.168.77.240-192.168.77.250"]);
    vec![
        Fixture {
            file: "metallb-healthy.yaml",
            about: "MetalLB v0.16.1 installed by lbctl and healthy: pool `lan` announced by L2Advertisement `lan`; Service default/web has an address announced from a worker.",
            settings: json!({}),
            extra: [
                vec![lan(), l2_advertisement("lan", &["lan"])],
                app("web", None),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-webhook-no-endpoints.yaml",
            about: "MetalLB installed but its controller never becomes ready: the webhook Service has no ready endpoints, so every IPAddressPool write fails with the API server's 500; no pool exists and Service default/web stays pending.",
            settings: json!({"podsNeverReady": ["metallb-system/controller"]}),
            extra: app("web", None),
        },
        Fixture {
            file: "metallb-pool-wrong-namespace.yaml",
            about: "The IPAddressPool was created in namespace `default` (while the webhook was not enforcing): MetalLB ignores it, so Service default/web stays pending without any event.",
            settings: json!({}),
            extra: [
                vec![
                    pool("lan", "default", &["192.168.77.240-192.168.77.250"]),
                    l2_advertisement("lan", &["lan"]),
                ],
                app("web", None),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-pool-without-l2advertisement.yaml",
            about: "Pool `lan` exists but no L2Advertisement selects it: Service default/web gets an address that no node announces (no ServiceL2Status).",
            settings: json!({}),
            extra: [vec![lan()], app("web", None)].concat(),
        },
        Fixture {
            file: "metallb-pending-services.yaml",
            about: "Pool `small` has two addresses for three LoadBalancer Services, and Service default/reserved asks for pool `reserved` that does not exist: both pending Services carry AllocationFailed events.",
            settings: json!({}),
            extra: [
                vec![
                    pool("small", NS, &["192.168.77.240/31"]),
                    l2_advertisement("small", &["small"]),
                ],
                app("web", None),
                app("api", None),
                app("shop", None),
                app("reserved", Some("reserved")),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-speakers-not-ready.yaml",
            about: "The speakers on the workers never become ready and the control plane is excluded from announcing: Service default/web has an address but nobody announces it.",
            settings: json!({"podsNeverReady": ["metallb-system/speaker@w1", "metallb-system/speaker@w2"]}),
            extra: [
                vec![lan(), l2_advertisement("lan", &["lan"])],
                app("web", None),
            ]
            .concat(),
        },
    ]
}

/// Name and InternalIP of every Node of a scenario.
fn nodes_of(doc: &Value) -> Vec<(String, Ipv4Addr)> {
    doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Node")
        .map(|n| {
            let ip = n["status"]["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str()?.parse().ok())
                .unwrap_or_else(|| panic!("node without an InternalIP: {n}"));
            (n["metadata"]["name"].as_str().unwrap().to_string(), ip)
        })
        .collect()
}

/// The kube-proxy state of the nodes of a hand-written scenario.
struct HandWritten {
    file: &'static str,
    ipvs: bool,
    strict_arp: bool,
}

const HAND_WRITTEN: [HandWritten; 7] = [
    // strictARP off in kube-proxy's ConfigMap: `lbctl enable-strictarp` has work to do.
    HandWritten {
        file: "kubeadm-ipvs.yaml",
        ipvs: true,
        strict_arp: false,
    },
    HandWritten {
        file: "kubeadm-iptables.yaml",
        ipvs: false,
        strict_arp: false,
    },
    HandWritten {
        file: "kubeadm-nftables.yaml",
        ipvs: false,
        strict_arp: false,
    },
    HandWritten {
        file: "single-node.yaml",
        ipvs: true,
        strict_arp: true,
    },
    HandWritten {
        file: "eks.yaml",
        ipvs: false,
        strict_arp: false,
    },
    // proxy-mode=ipvs without --ipvs-strict-arp.
    HandWritten {
        file: "k3s.yaml",
        ipvs: true,
        strict_arp: false,
    },
    // Cilium replaces kube-proxy: no IPVS.
    HandWritten {
        file: "cilium.yaml",
        ipvs: false,
        strict_arp: false,
    },
];

/// Each node's pod log, by node name.
fn node_facts_of(
    doc: &Value,
    ipvs: bool,
    strict_arp: bool,
    memberlist: impl Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    nodes_of(doc)
        .into_iter()
        .map(|(name, ip)| {
            let log = node_facts(&NodeSpec {
                memberlist: memberlist(&name),
                name: name.clone(),
                ip,
                ipvs,
                strict_arp,
            });
            (name, log)
        })
        .collect()
}

/// Who generates the fixtures and how to run it, as the fixtures' first comment says.
const GENERATOR: &str =
    "tests/e2e/cluster_fixtures.rs (LBCTL_REGENERATE=1 cargo test --test e2e cluster_fixtures::)";

/// Where a generated block starts; any generator's mark, so that a block written when this file
/// lived elsewhere is replaced, not kept next to the new one.
const NODE_FACTS_MARK: &str = "  # GENERATED by ";

/// A hand-written scenario with its `settings.nodeFacts` replaced: the last entry of
/// `settings:` (which comes before `objects:`), one literal block per node.
fn with_node_facts(text: &str, facts: &BTreeMap<String, String>) -> String {
    let settings = text.find("\nsettings:\n").expect("a settings: block") + 1;
    let end = settings
        + text[settings..]
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .find(|&i| text[settings + i..].starts_with(|c: char| !c.is_whitespace() && c != '#'))
            .expect("settings: is followed by objects:");
    let cut = text[settings..end]
        .find(NODE_FACTS_MARK)
        .map_or(end, |i| settings + i);
    let mut block = format!(
        "{NODE_FACTS_MARK}{GENERATOR}:\n  # each node's node-check pod log: src/net/node_facts.sh over tests/fixtures/proc, per node.\n  nodeFacts:\n"
    );
    for (node, log) in facts {
        block.push_str(&format!("    {node}: |\n"));
        for line in log.lines() {
            block.push_str(&format!("      {line}\n"));
        }
    }
    format!("{}{block}{}", &text[..cut], &text[end..])
}

#[test]
fn node_facts_of_hand_written_fixtures_are_fresh() {
    let regenerate = std::env::var_os("LBCTL_REGENERATE").is_some();
    for f in HAND_WRITTEN {
        let path = dir().join(f.file);
        let have = std::fs::read_to_string(&path).unwrap();
        let doc: Value = serde_saphyr::from_str(&have).unwrap();
        let want = with_node_facts(&have, &node_facts_of(&doc, f.ipvs, f.strict_arp, |_| false));
        if regenerate {
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        assert!(
            have == want,
            "the nodeFacts of {} are stale: run `LBCTL_REGENERATE=1 cargo test --test e2e cluster_fixtures::`",
            path.display()
        );
    }
}

/// kube-sim's generated clusters (`kube-sim --nodes N`) give every node one of these logs.
#[test]
fn node_facts_of_generated_clusters_are_fresh() {
    let regenerate = std::env::var_os("LBCTL_REGENERATE").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/kube-sim/src/cluster/node-facts");
    for (file, memberlist) in [
        ("ipvs-strictarp.txt", false),
        ("ipvs-strictarp-speaker.txt", true),
    ] {
        let want = node_facts(&NodeSpec {
            name: String::new(),
            ip: Ipv4Addr::new(10, 10, 1, 1),
            ipvs: true,
            strict_arp: true,
            memberlist,
        });
        let path = dir.join(file);
        if regenerate {
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        assert!(
            std::fs::read_to_string(&path).unwrap_or_default() == want,
            "{} is stale: run `LBCTL_REGENERATE=1 cargo test --test e2e cluster_fixtures::`",
            path.display()
        );
    }
    let generated = Scenario::generated(5, 0, true);
    let log = generated.settings.0["nodeFacts"]["*"].as_str().unwrap();
    let facts = NodeNetFacts::from_files(&NodeDump::parse(log).unwrap());
    assert!(!facts.memberlist.tcp_free && !facts.memberlist.udp_free);
}

/// Every scenario's nodeFacts parse as lbctl parses a pod's log, and describe their node.
#[test]
fn node_facts_of_every_fixture_parse_as_their_node() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let scenario = Scenario::from_file(&path).unwrap();
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let facts = &scenario.settings.0["nodeFacts"];
        for (node, ip) in nodes_of(&doc) {
            let log = facts[&node].as_str().unwrap_or_else(|| {
                panic!("{}: no settings.nodeFacts for node {node}", path.display())
            });
            let dump =
                NodeDump::parse(log).unwrap_or_else(|e| panic!("{}: {node}: {e}", path.display()));
            assert_eq!(
                dump.read("/proc/sys/kernel/hostname").as_deref(),
                Some(format!("{node}\n").as_str())
            );
            let parsed = NodeNetFacts::from_files(&dump);
            assert!(
                parsed
                    .interface("eth0")
                    .is_some_and(|i| i.has_address(IpAddr::V4(ip))),
                "{}: {node}: {:?}",
                path.display(),
                parsed.interfaces
            );
            assert!(parsed.sysctls.is_some() && parsed.memberlist.readable);
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} nodes");
}

fn generate(f: &Fixture) -> String {
    let mut doc = base();
    let objects = doc["objects"].as_array_mut().unwrap();
    objects.extend(
        render(&RenderOptions::default())
            .into_iter()
            .map(|r| r.object),
    );
    objects.extend(f.extra.iter().cloned());
    if let Some(settings) = f.settings.as_object() {
        for (k, v) in settings {
            doc["settings"][k] = v.clone();
        }
    }
    // The speakers listen on 7946 where they run, except those that never become ready.
    let down = &doc["settings"]["podsNeverReady"];
    let speaker_down = |node: &str| {
        down.as_array()
            .is_some_and(|d| d.contains(&json!(format!("{NS}/speaker@{node}"))))
    };
    doc["settings"]["nodeFacts"] = json!(node_facts_of(&doc, true, true, |n| !speaker_down(n)));
    let mut header = format!("# GENERATED by {GENERATOR}:\n");
    header.push_str(
        "# kubeadm-ipvs.yaml with strictARP on, plus MetalLB as `lbctl install` renders it; nodeFacts:\n# strictARP applied, the speakers' memberlist on 7946 where they are ready.\n",
    );
    for line in textwrap(f.about, 96) {
        header.push_str(&format!("# {line}\n"));
    }
    header + &serde_saphyr::to_string(&doc).unwrap()
}

fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().unwrap();
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[test]
fn metallb_fixtures_are_fresh() {
    let regenerate = std::env::var_os("LBCTL_REGENERATE").is_some();
    for f in fixtures() {
        let path = dir().join(f.file);
        let want = generate(&f);
        if regenerate {
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `LBCTL_REGENERATE=1 cargo test --test e2e cluster_fixtures::`",
            path.display()
        );
    }
}

fn spawn(file: &str) -> kube_sim::SimHandle {
    let scenario = Scenario::from_file(&dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    kube_sim::spawn(scenario).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn ingress(sim: &kube_sim::SimHandle, name: &str) -> Option<String> {
    let svc = sim.get("v1", "Service", Some("default"), name)?;
    svc.pointer("/status/loadBalancer/ingress/0/ip")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn l2_statuses(sim: &kube_sim::SimHandle) -> Vec<Value> {
    sim.store()
        .list("metallb.io/v1beta1", "ServiceL2Status", Some(NS))
}

fn event_reasons(sim: &kube_sim::SimHandle, service: &str) -> Vec<String> {
    sim.store()
        .list("v1", "Event", Some("default"))
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == service)
        .map(|e| {
            format!(
                "{}: {}",
                e["reason"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn healthy_metallb_scenario_announces_the_service() {
    let sim = spawn("metallb-healthy.yaml");
    assert_eq!(ingress(&sim, "web").as_deref(), Some("192.168.77.240"));
    let l2 = l2_statuses(&sim);
    assert_eq!(l2.len(), 1);
    assert_ne!(l2[0]["status"]["node"], "cp1");
    let speaker = sim
        .get("apps/v1", "DaemonSet", Some(NS), "speaker")
        .unwrap();
    assert_eq!(speaker["status"]["numberReady"], 3);
    let controller = sim
        .get(
            "metallb.io/v1beta1",
            "ConfigurationState",
            Some(NS),
            "controller",
        )
        .unwrap();
    assert_eq!(controller["status"]["result"], "Valid");
    let vwc = sim
        .get(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
            "metallb-webhook-configuration",
        )
        .unwrap();
    assert!(vwc["webhooks"].as_array().unwrap().iter().all(|w| {
        w["clientConfig"]["caBundle"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    }));
    assert!(
        event_reasons(&sim, "web")
            .contains(&"IPAllocated: Assigned IP [\"192.168.77.240\"]".to_string())
    );
}

#[test]
fn broken_metallb_scenarios_show_their_symptom() {
    let sim = spawn("metallb-webhook-no-endpoints.yaml");
    let slices = sim
        .store()
        .list("discovery.k8s.io/v1", "EndpointSlice", Some(NS));
    let webhook = slices
        .iter()
        .find(|s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "metallb-webhook-service"
        })
        .unwrap();
    assert!(
        webhook["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["conditions"]["ready"] == false)
    );
    assert_eq!(ingress(&sim, "web"), None);
    drop(sim);

    let sim = spawn("metallb-pool-wrong-namespace.yaml");
    assert_eq!(ingress(&sim, "web"), None);
    assert!(event_reasons(&sim, "web").is_empty());
    drop(sim);

    let sim = spawn("metallb-pool-without-l2advertisement.yaml");
    assert!(ingress(&sim, "web").is_some());
    assert!(l2_statuses(&sim).is_empty());
    drop(sim);

    let sim = spawn("metallb-pending-services.yaml");
    let assigned: Vec<String> = ["api", "reserved", "shop", "web"]
        .iter()
        .filter_map(|s| ingress(&sim, s))
        .collect();
    assert_eq!(assigned.len(), 2, "{assigned:?}");
    assert!(event_reasons(&sim, "reserved").contains(&"AllocationFailed: Failed to allocate IP for \"default/reserved\": unknown pool \"reserved\"".to_string()));
    let failed = ["api", "shop", "web"]
        .iter()
        .filter(|s| {
            event_reasons(&sim, s)
                .iter()
                .any(|e| e.ends_with("no available IPs"))
        })
        .count();
    assert_eq!(failed, 1);
    drop(sim);

    let sim = spawn("metallb-speakers-not-ready.yaml");
    assert!(ingress(&sim, "web").is_some());
    assert!(l2_statuses(&sim).is_empty());
    let speaker = sim
        .get("apps/v1", "DaemonSet", Some(NS), "speaker")
        .unwrap();
    assert_eq!(speaker["status"]["numberReady"], 1);
}
