use serde_json::{Value, json};

use super::*;
use crate::facts::metallb::ArpProbe;
use crate::net::arp::classify::{Status, Verdict as ArpVerdict};

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn node(name: &str, ip: &str, excluded: bool) -> Node {
    let mut labels = json!({"kubernetes.io/hostname": name});
    if excluded {
        labels[crate::metallb::speaker::EXCLUDE_LABEL] = json!("");
    }
    from(json!({"metadata": {"name": name, "labels": labels},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                   "conditions": [{"type": "Ready", "status": "True"}]}}))
}

fn speaker(node: &str, ready: bool) -> Pod {
    from(
        json!({"metadata": {"name": format!("speaker-{node}"), "namespace": "metallb-system"},
        "spec": {"nodeName": node, "containers": []},
        "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}}),
    )
}

fn view() -> ClusterView {
    ClusterView {
        metallb_namespace: "metallb-system".into(),
        nodes: vec![
            node("cp1", "192.168.77.10", true),
            node("w1", "192.168.77.11", false),
            node("w2", "192.168.77.12", false),
        ],
        speakers: vec![
            speaker("cp1", true),
            speaker("w1", true),
            speaker("w2", true),
        ],
        speaker: Some(SpeakerPlacement::default()),
        pools: vec![from(
            json!({"metadata": {"name": "lan", "namespace": "metallb-system"},
            "spec": {"addresses": ["192.168.77.240-192.168.77.250"]}}),
        )],
        advertisements: vec![from(
            json!({"metadata": {"name": "lan", "namespace": "metallb-system"},
            "spec": {"ipAddressPools": ["lan"]}}),
        )],
        l2_statuses: vec![l2_status("w1")],
        endpoint_slices: vec![slice(&["w1", "w2"])],
        events: vec![],
        exclude_l2: vec![],
        node_facts: None,
    }
}

fn l2_status(node: &str) -> ServiceL2Status {
    from(
        json!({"metadata": {"name": format!("l2-{node}"), "namespace": "metallb-system"}, "spec": {},
        "status": {"node": node, "serviceName": "web", "serviceNamespace": "default"}}),
    )
}

fn slice(nodes: &[&str]) -> EndpointSlice {
    let eps: Vec<Value> = nodes
        .iter()
        .map(|n| json!({"addresses": ["10.0.0.1"], "nodeName": n, "conditions": {"ready": true}}))
        .collect();
    from(json!({"metadata": {"name": "web-x", "namespace": "default",
        "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4", "endpoints": eps}))
}

fn service(ip: Option<&str>, local: bool) -> Service {
    let status = match ip {
        Some(ip) => json!({"loadBalancer": {"ingress": [{"ip": ip}]}}),
        None => json!({}),
    };
    from(
        json!({"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": if local {"Local"} else {"Cluster"}},
        "status": status}),
    )
}

fn event(reason: &str, message: &str) -> Event {
    from(
        json!({"metadata": {"name": format!("web.{reason}"), "namespace": "default"},
        "involvedObject": {"kind": "Service", "name": "web", "namespace": "default"},
        "reason": reason, "message": message, "lastTimestamp": "2026-11-25T10:00:00Z"}),
    )
}

fn no_probe() -> ArpFacts {
    ArpFacts::NotProbed {
        reason: "--no-probe".into(),
    }
}

fn probed(vip_macs: &[&str], node_mac: &str) -> ArpFacts {
    let verdict = |ip: &str, macs: &[&str]| ArpVerdict {
        address: ip.parse().unwrap(),
        status: if macs.is_empty() {
            Status::Free
        } else {
            Status::InUse
        },
        macs: macs.iter().map(|m| m.to_string()).collect(),
        reply_ms: None,
        attempts: 1,
        flags: vec![],
        interface: Some("eth0".into()),
        reason: None,
    };
    ArpFacts::Probed(ArpProbe {
        addresses: vec![verdict("192.168.77.240", vip_macs)],
        nodes: vec![verdict("192.168.77.11", &[node_mac])],
    })
}

const IP: Option<&str> = Some("192.168.77.240");

fn code(view: &ClusterView, svc: &Service, wire: &ArpFacts) -> (Code, Explanation) {
    let e = explain(view, svc, wire);
    (e.verdict.code, e)
}

#[test]
fn healthy_service_is_reachable_from_the_predicted_node() {
    let (c, e) = code(&view(), &service(IP, false), &no_probe());
    assert_eq!(c, Code::Reachable, "{e:#?}");
    let el = e.election.unwrap();
    assert_eq!(el.predicted.as_deref(), Some("w1"));
    // `printf 'w1#192.168.77.240' | sha256sum`
    assert!(el.order[0].sha256.starts_with("e82d0c0eda927257"));
    assert_eq!(e.candidates[0].node, "cp1");
    assert!(!e.candidates[0].kept);
    assert!(
        e.candidates[0]
            .reason
            .contains("exclude-from-external-load-balancers")
    );
    let (c, _) = code(
        &view(),
        &service(IP, false),
        &probed(&["aa:aa:aa:aa:aa:01"], "aa:aa:aa:aa:aa:01"),
    );
    assert_eq!(c, Code::Reachable);
}

#[test]
fn address_problems_come_first() {
    let mut v = view();
    v.events = vec![event(
        "AllocationFailed",
        "Failed to allocate IP for \"default/web\": no available IPs",
    )];
    assert_eq!(
        code(&v, &service(None, false), &no_probe()).0,
        Code::PoolExhausted
    );
    v.events = vec![event(
        "AllocationFailed",
        "Failed to allocate IP for \"default/web\": unknown pool \"x\"",
    )];
    assert_eq!(
        code(&v, &service(None, false), &no_probe()).0,
        Code::NotAssigned
    );
    assert_eq!(
        code(&view(), &service(Some("10.1.1.1"), false), &no_probe()).0,
        Code::NotFromPool
    );
}

#[test]
fn advertisement_endpoint_and_candidate_problems() {
    let mut v = view();
    v.advertisements.clear();
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::NoAdvertisement
    );

    let mut v = view();
    v.advertisements[0].spec.service_selectors =
        Some(vec![from(json!({"matchLabels": {"app": "db"}}))]);
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::NoAdvertisement);
    assert!(e.verdict.message.contains("serviceSelectors"));

    let mut v = view();
    v.endpoint_slices = vec![slice(&[])];
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::NoEndpoints
    );

    let mut v = view();
    v.endpoint_slices = vec![slice(&["cp1"])];
    let (c, e) = code(&v, &service(IP, true), &no_probe());
    assert_eq!(c, Code::NoLocalEndpoint, "{e:#?}");
    v.endpoint_slices = vec![slice(&["w2"])];
    v.l2_statuses = vec![l2_status("w2")];
    let (c, e) = code(&v, &service(IP, true), &no_probe());
    assert_eq!(c, Code::Reachable, "{e:#?}");
    assert_eq!(e.election.unwrap().predicted.as_deref(), Some("w2"));

    let mut v = view();
    for n in &mut v.nodes {
        n.metadata
            .labels
            .get_or_insert_default()
            .insert(crate::metallb::speaker::EXCLUDE_LABEL.into(), String::new());
    }
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::NoCandidate
    );
    v.speaker = Some(SpeakerPlacement {
        ignore_exclude_lb: true,
        ..SpeakerPlacement::default()
    });
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::OtherNode,
        "cp1 wins now"
    );

    let mut v = view();
    v.advertisements[0].spec.node_selectors =
        Some(vec![from(json!({"matchLabels": {"role": "edge"}}))]);
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::NoCandidate);
    assert!(e.candidates[1].reason.contains("nodeSelectors"), "{e:#?}");

    let mut v = view();
    v.speakers = vec![speaker("w1", false), speaker("w2", true)];
    v.l2_statuses = vec![l2_status("w2")];
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::Reachable
    );
}

#[test]
fn status_and_event_disagreements() {
    let mut v = view();
    v.l2_statuses.clear();
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::NotAnnounced
    );
    v.l2_statuses = vec![l2_status("w2")];
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::OtherNode);
    assert!(e.verdict.message.contains("picks w1") && e.verdict.message.contains("names w2"));
    let mut v = view();
    v.events = vec![event(
        "announceFailed",
        "the interfaces specified by LB IP ... doesn't exist",
    )];
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::AnnounceFailed
    );
}

#[test]
fn announce_failed_wins_over_the_node_assigned_of_the_same_sync() {
    // The speaker emits announceFailed, then nodeAssigned, within the same second.
    let mut v = view();
    v.l2_statuses.clear();
    v.events = vec![
        event(
            "announceFailed",
            "the interfaces specified by LB IP \"192.168.77.240\" doesn't exist in assigned node \"w1\" with protocol \"layer2\"",
        ),
        event(
            "nodeAssigned",
            "announcing from node \"w1\" with protocol \"layer2\"",
        ),
    ];
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::AnnounceFailed, "{e:#?}");
    assert_eq!(e.status.latest_event.unwrap().reason, "announceFailed");
    // A later nodeAssigned (the interface came back) ends it.
    v.events[1].last_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-25T10:00:05Z".parse().unwrap(),
    ));
    v.l2_statuses = vec![l2_status("w1")];
    assert_eq!(
        code(&v, &service(IP, false), &no_probe()).0,
        Code::Reachable
    );
}

#[test]
fn wire_problems() {
    let svc = service(IP, false);
    let two = probed(
        &["aa:aa:aa:aa:aa:01", "bb:bb:bb:bb:bb:02"],
        "aa:aa:aa:aa:aa:01",
    );
    let (c, e) = code(&view(), &svc, &two);
    assert_eq!(c, Code::SeveralMacs);
    assert!(e.verdict.message.contains("bb:bb:bb:bb:bb:02"));
    assert_eq!(
        code(&view(), &svc, &probed(&[], "aa:aa:aa:aa:aa:01")).0,
        Code::NoAnswer
    );
    assert_eq!(
        code(
            &view(),
            &svc,
            &probed(&["cc:cc:cc:cc:cc:03"], "aa:aa:aa:aa:aa:01")
        )
        .0,
        Code::WrongMac
    );
}

#[test]
fn every_code_has_a_docs_anchor() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md");
    let docs = std::fs::read_to_string(path).unwrap();
    for c in CODES {
        let anchor = format!("<a id=\"{}\"></a>", c.id().to_ascii_lowercase());
        assert!(docs.contains(&anchor), "docs/checks.md lacks {anchor}");
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.id()));
    }
}

#[test]
fn candidate_reasons_come_from_the_shared_speaker_rule() {
    // A node the DaemonSet does not place a speaker on says why, as preflight and doctor do.
    let mut v = view();
    v.speakers = vec![speaker("cp1", true), speaker("w1", true)];
    v.speaker = Some(SpeakerPlacement {
        node_selector: [("role".to_string(), "lb".to_string())].into(),
        ..SpeakerPlacement::default()
    });
    let e = explain(&v, &service(IP, false), &no_probe());
    assert_eq!(
        e.candidates[2].reason,
        "no speaker pod on this node: not selected by the speaker's nodeSelector role=lb"
    );
    v.speaker = None;
    let e = explain(&v, &service(IP, false), &no_probe());
    assert_eq!(
        e.candidates[2].reason,
        "no speaker pod on this node (no speaker DaemonSet)"
    );
    // A speaker that is not ready says why, with k8s_status's reason.
    let mut v = view();
    v.speakers[1] = speaker("w1", false);
    let e = explain(&v, &service(IP, false), &no_probe());
    assert_eq!(
        e.candidates[1].reason,
        "speaker speaker-w1 is not ready (pod speaker-w1 on w1: Pending, not ready)"
    );
    assert!(!e.candidates[1].kept);
}

/// `--nodes`: a node read with these interfaces (name, flags, MAC, addresses).
fn read_node(name: &str, interfaces: &[(&str, u32, &str, &[&str])]) -> (String, NodeState) {
    use crate::net::dump::NodeDump;
    use crate::net::interfaces::Interface;
    use crate::net::node::NodeNetFacts;
    let empty = NodeDump::parse("lbctl-node-facts 1\nend lbctl-node-facts\n").unwrap();
    let mut facts = NodeNetFacts::from_files(&empty);
    facts.interfaces = interfaces
        .iter()
        .enumerate()
        .map(|(i, (n, flags, mac, addrs))| Interface {
            name: n.to_string(),
            index: i as u32 + 1,
            mac: Some(mac.to_string()),
            flags: *flags,
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            master: None,
        })
        .collect();
    (
        name.to_string(),
        NodeState::Remote {
            node: name.to_string(),
            facts: Box::new(facts),
        },
    )
}

const UP: u32 = 0x1003;
const W1_MAC: &str = "52:54:00:00:00:0b";

fn with_nodes(nodes: Vec<(String, NodeState)>) -> ClusterView {
    let mut v = view();
    v.exclude_l2 = vec!["^lo$".into(), "^kube-ipvs.*".into()];
    v.node_facts = Some(nodes);
    v
}

fn w1(extra: &[(&str, u32, &str, &[&str])]) -> (String, NodeState) {
    let mut ifs: Vec<(&str, u32, &str, &[&str])> = vec![
        ("lo", 0x9, "00:00:00:00:00:00", &["127.0.0.1/8"]),
        ("eth0", UP, W1_MAC, &["192.168.77.11/24"]),
        ("kube-ipvs0", 0x82, "aa:00:00:00:00:01", &["10.96.0.1/32"]),
    ];
    ifs.extend_from_slice(extra);
    read_node("w1", &ifs)
}

#[test]
fn node_interfaces_healthy_and_the_wire_by_their_macs() {
    let v = with_nodes(vec![w1(&[])]);
    let svc = service(IP, false);
    let (c, e) = code(&v, &svc, &no_probe());
    assert_eq!(c, Code::Reachable, "{e:#?}");
    let n = &e.interfaces[0];
    assert!(n.predicted);
    let answering: Vec<&str> = n.answering().map(|i| i.name.as_str()).collect();
    assert_eq!(answering, ["eth0"]);
    assert_eq!(
        n.interfaces[0].reason.as_deref(),
        Some("excluded by the metallb-excludel2 ConfigMap")
    );
    assert!(e.warnings.is_empty());
    // The MAC the node facts give decides, not the one learnt by ARP for the InternalIP.
    let wire = probed(&[W1_MAC], "ee:ee:ee:ee:ee:ee");
    assert_eq!(code(&v, &svc, &wire).0, Code::Reachable);
    let wire = probed(&["cc:cc:cc:cc:cc:03"], W1_MAC);
    let (c, e) = code(&v, &svc, &wire);
    assert_eq!(c, Code::WrongMac);
    assert!(
        e.verdict
            .message
            .contains("w1's speaker answers on eth0 52:54:00:00:00:0b"),
        "{}",
        e.verdict.message
    );
}

#[test]
fn wrong_mac_names_the_node_that_owns_it() {
    let mut v = with_nodes(vec![
        w1(&[]),
        read_node(
            "w2",
            &[("eth0", UP, "52:54:00:00:00:0c", &["192.168.77.12/24"])],
        ),
    ]);
    v.l2_statuses = vec![l2_status("w1"), l2_status("w2")];
    // Both statuses: LB609 first; with w1's status alone, w2 is not read.
    let (c, e) = code(
        &v,
        &service(IP, false),
        &probed(&["52:54:00:00:00:0c"], W1_MAC),
    );
    assert_eq!(c, Code::OtherNode, "{e:#?}");
    assert_eq!(e.interfaces.len(), 2);
    assert!(!e.interfaces[1].predicted);
    v.l2_statuses = vec![l2_status("w1")];
    let (c, e) = code(
        &v,
        &service(IP, false),
        &probed(&["52:54:00:00:00:0c"], W1_MAC),
    );
    assert_eq!(c, Code::WrongMac);
    assert_eq!(e.interfaces.len(), 1, "only the nodes that matter");
}

#[test]
fn no_answering_interface() {
    // eth0 down, eth1 a bond port, eth2 NOARP: nothing is left.
    let (_, mut state) = read_node(
        "w1",
        &[
            ("eth0", 0x1002, W1_MAC, &["192.168.77.11/24"]),
            ("eth1", UP, "52:54:00:00:01:0b", &[]),
            ("eth2", 0x1083, "52:54:00:00:02:0b", &["192.168.77.21/24"]),
        ],
    );
    if let NodeState::Remote { facts, .. } = &mut state {
        facts.interfaces[1].master = Some("bond0".into());
    }
    let v = with_nodes(vec![("w1".into(), state)]);
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::NoAnsweringInterface, "{e:#?}");
    assert!(!e.verdict.ok);
    assert!(
        e.verdict
            .message
            .contains("eth0: down; eth1: enslaved to bond0; eth2: NOARP"),
        "{}",
        e.verdict.message
    );
}

#[test]
fn excluded_by_regex_or_limited_by_the_advertisement() {
    let mut v = with_nodes(vec![w1(&[])]);
    v.exclude_l2.push("^eth.*".into());
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    assert_eq!(c, Code::NoAnsweringInterface, "{e:#?}");
    let mut v = with_nodes(vec![w1(&[("eth1", UP, "52:54:00:00:01:0b", &[])])]);
    v.advertisements[0].spec.interfaces = Some(vec!["eth1".into()]);
    let (c, e) = code(&v, &service(IP, false), &no_probe());
    // eth1 answers, but has no address on the VIP's subnet.
    assert_eq!(c, Code::OffSubnet, "{e:#?}");
    assert_eq!(
        e.interfaces[0].interfaces[1].reason.as_deref(),
        Some("not among the L2Advertisement's interfaces")
    );
}

#[test]
fn two_interfaces_on_one_segment_warn() {
    let v = with_nodes(vec![w1(&[(
        "eth1",
        UP,
        "52:54:00:00:01:0b",
        &["192.168.77.21/24"],
    )])]);
    let svc = service(IP, false);
    let (c, e) = code(&v, &svc, &no_probe());
    assert_eq!(c, Code::Reachable, "a warning leaves the verdict: {e:#?}");
    assert_eq!(e.warnings.len(), 1);
    assert_eq!(e.warnings[0].code, Code::SharedSegment);
    assert!(
        e.warnings[0]
            .message
            .contains("eth0, eth1, all on 192.168.77.0/24")
    );
    // Both MACs answering are the node's own: not two hosts.
    let wire = probed(&[W1_MAC, "52:54:00:00:01:0b"], W1_MAC);
    assert_eq!(code(&v, &svc, &wire).0, Code::Reachable);
    let text = human::render(&code(&v, &svc, &wire).1);
    assert!(
        text.contains("warning: LB616 w1's speaker answers"),
        "{text}"
    );
}
