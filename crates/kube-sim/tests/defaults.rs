//! What the API server fills in: scheme defaults, admission on create, Service allocations,
//! and a server-side apply of an un-defaulted manifest changing nothing the second time.

use kube_sim::Scenario;
use serde_json::{Value, json};

mod common;
use common::{call, client_for, runtime};

const APPLY: &str = "application/apply-patch+yaml";

fn sim() -> kube_sim::SimHandle {
    let scenario = Scenario::from_yaml(
        "objects:\n  - { apiVersion: v1, kind: Namespace, metadata: { name: metallb-system } }\n",
    )
    .unwrap();
    kube_sim::SimBuilder::new(scenario).spawn().unwrap()
}

#[test]
fn the_default_service_cidr_gives_services_their_cluster_ips() {
    let sim = sim();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let cidr = call(&admin, "GET", "/apis/networking.k8s.io/v1/servicecidrs/kubernetes", "", None, None).await;
        assert_eq!(cidr.code, 200, "{}", cidr.text);
        assert_eq!(cidr.body["spec"]["cidrs"], json!(["10.96.0.0/12"]));
        assert_eq!(cidr.body["status"]["conditions"][0]["type"], "Ready");

        let service = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}});
        let created = call(&admin, "POST", "/api/v1/namespaces/default/services", "application/json", Some(&service), None).await;
        assert_eq!(created.code, 201, "{}", created.text);
        let spec = &created.body["spec"];
        let ip: std::net::Ipv4Addr = spec["clusterIP"].as_str().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[0..2], [10, 96], "from 10.96.0.0/12: {ip}");
        assert_eq!(spec["clusterIPs"], json!([ip.to_string()]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 8080);
        assert!(spec["ports"][0]["nodePort"].as_u64().is_some_and(|p| (30000..=32767).contains(&p)));
        assert_eq!(created.body["status"], json!({"loadBalancer": {}}));

        // A PUT without the allocated values keeps them, as the service registry does.
        let mut replacement = service.clone();
        replacement["metadata"]["resourceVersion"] = created.body["metadata"]["resourceVersion"].clone();
        replacement["metadata"]["labels"] = json!({"tier": "front"});
        let replaced = call(&admin, "PUT", "/api/v1/namespaces/default/services/web", "application/json", Some(&replacement), None).await;
        assert_eq!(replaced.code, 200, "{}", replaced.text);
        assert_eq!(replaced.body["spec"], created.body["spec"]);
    });
}

#[test]
fn pods_are_admitted_with_the_defaults_of_a_real_cluster() {
    let sim = sim();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}});
        let created = call(&admin, "POST", "/api/v1/namespaces/default/pods", "application/json", Some(&pod), None).await;
        assert_eq!(created.code, 201, "{}", created.text);
        let spec = &created.body["spec"];
        for (field, value) in [
            ("restartPolicy", json!("Always")),
            ("dnsPolicy", json!("ClusterFirst")),
            ("serviceAccountName", json!("default")),
            ("schedulerName", json!("default-scheduler")),
            ("terminationGracePeriodSeconds", json!(30)),
            ("enableServiceLinks", json!(true)),
            ("priority", json!(0)),
        ] {
            assert_eq!(spec[field], value, "spec.{field}");
        }
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(created.body["status"]["phase"], "Pending");
        assert_eq!(created.body["status"]["qosClass"], "BestEffort");
        // Defaults are nobody's fields: the creating manager owns what it sent.
        let owned = created.body["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].clone();
        assert!(owned.get("f:dnsPolicy").is_none(), "{owned}");
    });
}

#[test]
fn applying_the_same_manifest_twice_changes_nothing() {
    let sim = sim();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        // Ports without `protocol`, as MetalLB's manifest writes them: the stored, defaulted
        // ports must match them by their key, not gain copies.
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "controller", "namespace": "metallb-system"},
            "spec": {"selector": {"matchLabels": {"app": "c"}},
                "template": {"metadata": {"labels": {"app": "c"}},
                    "spec": {"containers": [{"name": "c", "image": "quay.io/metallb/controller:v0.16.1",
                        "ports": [{"containerPort": 7472, "name": "monitoring"}]}]}}}});
        let path = "/apis/apps/v1/namespaces/metallb-system/deployments/controller?fieldManager=lbctl";
        let first = call(&admin, "PATCH", path, APPLY, Some(&deployment), None).await;
        assert_eq!(first.code, 201, "{}", first.text);
        let ports = &first.body["spec"]["template"]["spec"]["containers"][0]["ports"];
        assert_eq!(ports, &json!([{"containerPort": 7472, "name": "monitoring", "protocol": "TCP"}]));
        let keys: Vec<&String> = first.body["metadata"]["managedFields"][0]["fieldsV1"]
            .pointer("/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"c\"}/f:ports")
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert!(keys.contains(&&"k:{\"containerPort\":7472,\"protocol\":\"TCP\"}".to_string()), "{keys:?}");
        let second = call(&admin, "PATCH", path, APPLY, Some(&deployment), None).await;
        assert_eq!(second.code, 200, "{}", second.text);
        assert_eq!(second.body["metadata"]["resourceVersion"], first.body["metadata"]["resourceVersion"]);
        assert_eq!(second.body["metadata"]["generation"], 1);
    });
}
