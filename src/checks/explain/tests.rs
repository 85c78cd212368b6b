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
