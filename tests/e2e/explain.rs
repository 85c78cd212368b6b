//! `lbctl explain` end to end: the real binary against kube-sim and the real control plane, one
//! scenario per reason of issue 16's "Done when" list. kube-sim's MetalLB stand-in elects as
//! MetalLB v0.16.1 does (sha256 of node#ip), so the predicted node is what the cluster reports.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::support::node_facts::{Edit, NodeSpec, node_facts_edited};
use crate::support::{self, Cluster, Sim};
use kube_sim::Scenario;
use serde_json::{Value, json};

fn scenario(name: &str) -> Scenario {
    Scenario::from_file(&support::scenario_path(name)).expect("fixture loads")
}

fn edit(s: &mut Scenario, kind: &str, name: &str, f: impl Fn(&mut Value)) {
    let mut found = false;
    for o in s.objects.iter_mut() {
        if o["kind"] == kind && o["metadata"]["name"] == name {
            f(o);
            found = true;
        }
    }
    assert!(found, "{kind} {name} in the scenario");
}

struct Run {
    code: i32,
    human: String,
    json: Value,
}

fn explain(cluster: &Cluster, args: &[&str]) -> Run {
    let run = |extra: &[&str]| {
        cluster
            .lbctl()
            .args(["--color", "never", "explain", "--no-probe"])
            .args(args)
            .args(extra)
            .output()
            .expect("lbctl runs")
    };
    let human = run(&[]);
    let json = run(&["-o", "json"]);
    let (human_text, stderr) = support::output_text(&human);
    assert_eq!(
        human.status.code(),
        json.status.code(),
        "same exit code in every format"
    );
    let json_value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {stderr}"));
    Run {
        code: human.status.code().unwrap_or(-1),
        human: human_text,
        json: json_value,
    }
}

fn settled(cluster: &Cluster, ready: impl Fn(&Cluster) -> bool) {
    assert!(
        cluster.eventually(Duration::from_secs(60), ready),
        "the scenario never settled"
    );
    if cluster.is_real() {
        assert!(
            cluster.real().agent.wait_idle(Duration::from_secs(30)),
            "the agent kept writing"
        );
    }
}

fn has_ingress(c: &Cluster, name: &str) -> bool {
    c.get("v1", "Service", Some("default"), name)
        .is_some_and(|s| s["status"]["loadBalancer"]["ingress"][0]["ip"].is_string())
}

fn l2_status_nodes(c: &Cluster) -> Vec<String> {
    let out = c
        .kubectl()
        .args([
            "-n",
            "metallb-system",
            "get",
            "servicel2statuses",
            "-o",
            "json",
        ])
        .output()
        .expect("kubectl");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["status"]["node"].as_str().map(str::to_string))
        .collect()
}

fn serving_endpoints(c: &Cluster, n: usize) -> bool {
    let out = c
        .kubectl()
        .args([
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "json",
        ])
        .output()
        .expect("kubectl");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    let ready = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] == true)
        .count();
    ready == n
}

fn verdict(run: &Run) -> &str {
    run.json["verdict"]["code"].as_str().unwrap_or("")
}

on_both_backends! {
fn healthy(backend) {
    let Some(cluster) = Sim::new(scenario("metallb-healthy")).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web") && serving_endpoints(c, 2) && l2_status_nodes(c) == ["w1"]);
    let run = explain(&cluster, &["web"]);
    assert_eq!(run.code, 0, "{}", run.human);
    assert_eq!(verdict(&run), "LB600");
    // `printf 'w1#192.168.77.240' | sha256sum` = e82d..., below w2's ee68...
    assert_eq!(run.json["election"]["predicted"], "w1");
    assert_eq!(run.json["election"]["order"][0]["sha256"], "e82d0c0eda927257775272ee5853c95467fb08553d01f9cf02f2b9130322a8b8");
    assert!(run.human.contains("dropped cp1: labelled node.kubernetes.io/exclude-from-external-load-balancers"), "{}", run.human);
    assert!(run.human.contains("verdict: LB600 ok: 192.168.77.240 is announced by w1"), "{}", run.human);
    let all = cluster.lbctl().args(["explain", "--all"]).output().unwrap();
    let (text, _) = support::output_text(&all);
    assert_eq!(all.status.code(), Some(0));
    assert!(text.contains("default/web 192.168.77.240 w1 LB600"), "{text}");
}
}

on_both_backends! {
fn no_endpoints(backend) {
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "Deployment", "web", |d| d["spec"]["replicas"] = json!(0));
    let Some(cluster) = Sim::new(s).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web") && serving_endpoints(c, 0));
    let run = explain(&cluster, &["web"]);
    assert_eq!(run.code, 1, "{}", run.human);
    assert_eq!(verdict(&run), "LB605", "{}", run.human);
    assert!(l2_status_nodes(&cluster).is_empty(), "MetalLB announces nothing without endpoints");
}
}

on_both_backends! {
fn local_policy_without_a_local_endpoint(backend) {
    // The pods run only on cp1, which is excluded from announcing.
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "Service", "web", |svc| svc["spec"]["externalTrafficPolicy"] = json!("Local"));
    edit(&mut s, "Deployment", "web", |d| {
        d["spec"]["replicas"] = json!(1);
        d["spec"]["template"]["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "cp1"});
        d["spec"]["template"]["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
    });
    let Some(cluster) = Sim::new(s).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web") && serving_endpoints(c, 1));
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB606", "{}", run.human);
    assert_eq!(run.code, 1);
}
}

on_both_backends! {
fn every_node_excluded(backend) {
    let mut s = scenario("metallb-healthy");
    for n in ["w1", "w2"] {
        edit(&mut s, "Node", n, |node| {
            node["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        });
    }
    let Some(cluster) = Sim::new(s).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web") && serving_endpoints(c, 2));
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB607", "{}", run.human);
    assert!(run.human.contains("dropped w2: labelled node.kubernetes.io/exclude-from-external-load-balancers"), "{}", run.human);
}
}

on_both_backends! {
fn node_selectors_select_nobody(backend) {
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "L2Advertisement", "lan", |ad| {
        ad["spec"]["nodeSelectors"] = json!([{"matchLabels": {"role": "edge"}}]);
    });
    let Some(cluster) = Sim::new(s).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web") && serving_endpoints(c, 2));
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB607", "{}", run.human);
    assert!(run.human.contains("dropped w1: not selected by the nodeSelectors of L2Advertisement lan"), "{}", run.human);
}
}

on_both_backends! {
fn no_l2advertisement(backend) {
    let Some(cluster) = Sim::new(scenario("metallb-pool-without-l2advertisement")).on(backend) else { return };
    settled(&cluster, |c| has_ingress(c, "web"));
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB604", "{}", run.human);
    assert_eq!(run.code, 1);
}
}

on_both_backends! {
fn pool_exhausted(backend) {
    let Some(cluster) = Sim::new(scenario("metallb-pending-services")).on(backend) else { return };
    settled(&cluster, |c| {
        ["web", "api", "shop"].iter().filter(|s| has_ingress(c, s)).count() == 2
    });
    let pending = ["web", "api", "shop"].into_iter().find(|s| !has_ingress(&cluster, s)).unwrap();
    let done = cluster.eventually(Duration::from_secs(30), |_| {
        verdict(&explain(&cluster, &[pending])) == "LB602"
    });
    let run = explain(&cluster, &[pending]);
    assert!(done, "{}", run.human);
    assert!(run.human.contains("no available IPs"), "{}", run.human);
    let all = cluster.lbctl().args(["explain", "--all", "-o", "json"]).output().unwrap();
    assert_eq!(all.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(doc["services"].as_array().unwrap().len() >= 4);
}
}

#[test]
fn status_on_another_node_than_predicted_sim_only() {
    let mut s = scenario("metallb-healthy");
    s.settings.0.insert(
        "metallb".into(),
        json!({"l2StatusNode": {"default/web": "w2"}}),
    );
    let Some(cluster) = Cluster::sim_only(
        "status_on_another_node_than_predicted_sim_only",
        Sim::new(s),
    ) else {
        return;
    };
    settled(&cluster, |c| {
        has_ingress(c, "web") && l2_status_nodes(c) == ["w2"]
    });
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB609", "{}", run.human);
    assert!(
        run.human
            .contains("picks w1 for 192.168.77.240, but ServiceL2Status names w2"),
        "{}",
        run.human
    );
}

#[test]
fn missing_or_wrong_service_is_bad_input_sim_only() {
    let Some(cluster) = Cluster::sim_only(
        "missing_or_wrong_service_is_bad_input_sim_only",
        Sim::new(scenario("metallb-healthy")),
    ) else {
        return;
    };
    let out = cluster.lbctl().args(["explain", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("service default/nope not found"));
    let out = cluster
        .lbctl()
        .args(["explain", "kube-dns", "-n", "kube-system"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn events(c: &Cluster, reason: &str) -> Vec<String> {
    let out = c
        .kubectl()
        .args([
            "get",
            "events",
            "--field-selector",
            &format!("reason={reason},involvedObject.name=web"),
            "-o",
            "json",
        ])
        .output()
        .expect("kubectl");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

on_both_backends! {
fn announce_failed_when_the_advertised_interface_is_missing(backend) {
    // The nodes have eth0, eth0.100, kube-ipvs0 and lo (the last two excluded by
    // metallb-excludel2); the advertisement names eth1, which the winner lacks.
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "L2Advertisement", "lan", |ad| ad["spec"]["interfaces"] = json!(["eth1"]));
    let log = support::node_facts::node_log("ipvs-strictarp-node", &[]);
    let sim = Sim::new(s).setting("nodeFacts", json!({"*": log}));
    let Some(cluster) = sim.on(backend) else { return };
    settled(&cluster, |c| {
        has_ingress(c, "web") && serving_endpoints(c, 2) && !events(c, "announceFailed").is_empty()
    });
    assert!(l2_status_nodes(&cluster).is_empty(), "no status without an announcement");
    assert_eq!(
        events(&cluster, "announceFailed"),
        ["the interfaces specified by LB IP \"192.168.77.240\" doesn't exist in assigned node \"w1\" with protocol \"layer2\""]
    );
    let run = explain(&cluster, &["web"]);
    assert_eq!(verdict(&run), "LB610", "{}", run.human);
    assert_eq!(run.code, 1);
    assert!(run.human.contains("advertised:  L2Advertisement lan: applies (nodes cp1, w1, w2; interfaces eth1)"), "{}", run.human);
    assert!(run.human.contains("w1 should announce 192.168.77.240, but its speaker reported announceFailed"), "{}", run.human);
}
}

/// Node facts for the three nodes of `metallb-healthy` on their InternalIPs (eth0 on
/// 192.168.77.0/24, eth0.100 on 192.168.100.0/24), w1's (the predicted node's) files edited.
fn node_facts_with_w1(edits: &[Edit]) -> Value {
    let spec = |name: &str, last: u8| NodeSpec {
        name: name.into(),
        ip: Ipv4Addr::new(192, 168, 77, last),
        ipvs: true,
        strict_arp: true,
        memberlist: true,
    };
    json!({
        "cp1": node_facts_edited(&spec("cp1", 10), &[]),
        "w1": node_facts_edited(&spec("w1", 11), edits),
        "w2": node_facts_edited(&spec("w2", 12), &[]),
    })
}

/// `metallb-healthy` with these node facts, settled with w1 announcing, explained with
/// `--nodes all`.
fn explain_with_nodes(backend: support::Backend, s: Scenario, facts: Value) -> Option<Run> {
    let cluster = Sim::new(s).setting("nodeFacts", facts).on(backend)?;
    settled(&cluster, |c| {
        has_ingress(c, "web") && serving_endpoints(c, 2) && l2_status_nodes(c) == ["w1"]
    });
    let run = explain(&cluster, &["web", "--nodes", "all"]);
    // The real output, for docs/explain.md (`--nocapture`).
    eprintln!("{}", run.human);
    Some(run)
}

fn down(_: &str) -> String {
    "0x1002\n".into()
}

on_both_backends! {
fn nodes_no_usable_interface(backend) {
    // Both LAN interfaces of w1 are down; lo and kube-ipvs0 are excluded by metallb-excludel2.
    let facts = node_facts_with_w1(&[
        ("sysfs/class/net/eth0/flags", &down),
        ("sysfs/class/net/eth0.100/flags", &down),
    ]);
    let Some(run) = explain_with_nodes(backend, scenario("metallb-healthy"), facts) else { return };
    assert_eq!(verdict(&run), "LB614", "{}", run.human);
    assert_eq!(run.code, 1);
    assert!(run.human.contains("  interfaces:  w1 (predicted)"), "{}", run.human);
    assert!(
        run.human.contains("eth0: down; eth0.100: down; kube-ipvs0: excluded by the metallb-excludel2 ConfigMap"),
        "{}",
        run.human
    );
    let w1 = &run.json["interfaces"][0];
    assert_eq!(w1["node"], "w1");
    assert!(w1["interfaces"].as_array().unwrap().iter().all(|i| i["answers"] == false));
}
}

on_both_backends! {
fn nodes_interface_excluded_by_regex(backend) {
    // metallb-excludel2 also excludes eth0: only eth0.100 answers, off the address's subnet.
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "ConfigMap", "metallb-excludel2", |cm| {
        let text = cm["data"]["excludel2.yaml"].as_str().unwrap().replace("[\"^docker.*\"", "[\"^eth0$\", \"^docker.*\"");
        cm["data"]["excludel2.yaml"] = json!(text);
    });
    let Some(run) = explain_with_nodes(backend, s, node_facts_with_w1(&[])) else { return };
    assert_eq!(verdict(&run), "LB615", "{}", run.human);
    assert_eq!(run.code, 1);
    assert!(run.human.contains("silent  eth0 52:54:00:00:00:0b (192.168.77.11/24"), "{}", run.human);
    assert!(run.human.contains("on the subnet): excluded by the metallb-excludel2 ConfigMap"), "{}", run.human);
    assert!(run.human.contains("w1's speaker answers for 192.168.77.240 on eth0.100, but none of them"), "{}", run.human);
}
}

on_both_backends! {
fn nodes_interface_limited_by_the_advertisement(backend) {
    // The advertisement names eth0: eth0.100 stays silent, eth0 answers on the subnet.
    let mut s = scenario("metallb-healthy");
    edit(&mut s, "L2Advertisement", "lan", |ad| ad["spec"]["interfaces"] = json!(["eth0"]));
    let Some(run) = explain_with_nodes(backend, s, node_facts_with_w1(&[])) else { return };
    assert_eq!(verdict(&run), "LB600", "{}", run.human);
    assert_eq!(run.code, 0);
    assert!(run.human.contains("answers eth0 52:54:00:00:00:0b (192.168.77.11/24"), "{}", run.human);
    assert!(run.human.contains("silent  eth0.100 52:54:00:00:00:0b (192.168.100.11/24"), "{}", run.human);
    assert!(run.human.contains("not among the L2Advertisement's interfaces"), "{}", run.human);
    assert_eq!(run.json["warnings"], json!([]));
}
}

on_both_backends! {
fn nodes_two_answering_interfaces_on_one_segment(backend) {
    // eth0.100 gets an address of eth0's fd00::/64 and a MAC of its own (a VLAN keeps its
    // parent's, which is no conflict): one segment, two answering interfaces, two MACs.
    let second = |text: &str| format!("{text}fd00000000000000000000000000010b 03 40 00 80 eth0.100\n");
    let own_mac = |_: &str| "52:54:00:00:01:0b\n".to_string();
    let facts = node_facts_with_w1(&[
        ("net/if_inet6", &second),
        ("sysfs/class/net/eth0.100/address", &own_mac),
    ]);
    let Some(run) = explain_with_nodes(backend, scenario("metallb-healthy"), facts) else { return };
    assert_eq!(verdict(&run), "LB600", "a warning leaves the verdict: {}", run.human);
    assert_eq!(run.code, 0);
    assert_eq!(run.json["warnings"][0]["code"], "LB616", "{}", run.human);
    assert!(
        run.human.contains("warning: LB616 w1's speaker answers for 192.168.77.240 on eth0, eth0.100, all on fd00::/64"),
        "{}",
        run.human
    );
}
}
