//! Table answers (`kubectl get`'s `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) through
//! kube::Client: column definitions, rows for lists, single objects and watches, the row object
//! as PartialObjectMetadata / the object / nothing, CRD printer columns, paging.

mod common;

use common::{call_with, client_for, fixture, runtime};
use kube_sim::Scenario;
use serde_json::{Value, json};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn healthy() -> kube_sim::SimHandle {
    kube_sim::spawn(fixture("metallb-healthy.yaml")).unwrap()
}

fn column_names(table: &Value) -> Vec<&str> {
    table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

/// The row whose first cell is `name`.
fn row<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cells"][0] == name)
        .unwrap_or_else(|| panic!("no row {name} in {table}"))
}

#[test]
fn lists_and_objects_as_tables() {
    let sim = healthy();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let get = |path: &str| {
            let client = client.clone();
            let path = path.to_string();
            async move { call_with(&client, "GET", &path, &[("accept", TABLE)], None).await }
        };

        let nodes = get("/api/v1/nodes").await;
        assert_eq!(nodes.code, 200, "{}", nodes.text);
        assert_eq!(
            nodes.content_type,
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        );
        assert_eq!(nodes.body["kind"], "Table");
        assert_eq!(nodes.body["apiVersion"], "meta.k8s.io/v1");
        assert!(nodes.body["metadata"]["resourceVersion"].is_string());
        assert_eq!(
            column_names(&nodes.body),
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime"
            ]
        );
        let wide: Vec<i64> = nodes.body["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["priority"].as_i64().unwrap())
            .collect();
        assert_eq!(wide, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        let cp = row(&nodes.body, "cp1");
        assert_eq!(cp["cells"][1], "Ready");
        assert_eq!(cp["cells"][2], "control-plane");
        assert_eq!(cp["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(cp["object"]["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(cp["object"]["metadata"]["name"], "cp1");
        assert!(cp["object"].get("spec").is_none());

        // Workloads: counts from status, as the real printers show them.
        let ds = get("/apis/apps/v1/namespaces/metallb-system/daemonsets").await;
        let speaker = row(&ds.body, "speaker");
        assert_eq!(
            column_names(&ds.body)[1..6],
            ["Desired", "Current", "Ready", "Up-to-date", "Available"]
        );
        assert_eq!(
            speaker["cells"][1], speaker["cells"][3],
            "all ready: {speaker}"
        );
        assert!(speaker["cells"][1].as_i64().unwrap() > 0);
        let deployments = get("/apis/apps/v1/namespaces/metallb-system/deployments").await;
        assert_eq!(row(&deployments.body, "controller")["cells"][1], "1/1");
        let pods = get("/api/v1/namespaces/metallb-system/pods").await;
        for r in pods.body["rows"].as_array().unwrap() {
            assert_eq!(r["cells"][2], "Running", "{r}");
            assert_eq!(r["cells"][1], "1/1", "{r}");
        }

        // CRD printer columns for custom resources; CRDs themselves get Name / Created At.
        let pools = get("/apis/metallb.io/v1beta1/ipaddresspools").await;
        assert_eq!(
            column_names(&pools.body),
            ["Name", "Auto Assign", "Avoid Buggy IPs", "Addresses"]
        );
        let lan = row(&pools.body, "lan");
        assert_eq!(lan["cells"][1], true);
        assert_eq!(lan["cells"][2], false);
        assert_eq!(lan["cells"][3], "[\"192.168.77.240-192.168.77.250\"]");
        let crds = get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").await;
        assert_eq!(column_names(&crds.body), ["Name", "Created At"]);

        // One object: a one-row Table; includeObject=Object carries the object itself.
        let one =
            get("/api/v1/namespaces/kube-system/configmaps/kube-proxy?includeObject=Object").await;
        assert_eq!(one.body["rows"].as_array().unwrap().len(), 1);
        assert_eq!(column_names(&one.body), ["Name", "Data", "Age"]);
        assert_eq!(one.body["rows"][0]["object"]["kind"], "ConfigMap");
        assert_eq!(one.body["rows"][0]["object"]["apiVersion"], "v1");
        assert!(one.body["rows"][0]["object"]["data"].is_object());
        let none = get("/api/v1/namespaces?includeObject=None").await;
        assert!(none.body["rows"][0]["object"].is_null());

        // Pages: limit and continue work as for lists.
        let page = get("/api/v1/namespaces?limit=2").await;
        assert_eq!(page.body["rows"].as_array().unwrap().len(), 2);
        let token = page.body["metadata"]["continue"].as_str().unwrap();
        let rest = get(&format!("/api/v1/namespaces?limit=100&continue={token}")).await;
        assert!(!rest.body["rows"].as_array().unwrap().is_empty());
        assert!(rest.body["metadata"].get("continue").is_none());

        // Plain JSON first in Accept (or a Table version the server lacks): a normal list.
        let plain = call_with(
            &client,
            "GET",
            "/api/v1/nodes",
            &[(
                "accept",
                "application/json;as=Table;v=v9;g=meta.k8s.io, application/json",
            )],
            None,
        )
        .await;
        assert_eq!(plain.body["kind"], "NodeList");
    });
}

#[test]
fn watches_send_one_row_per_event_and_columns_once() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        for name in ["a", "b"] {
            sim.apply_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}}));
        }
        let answer = call_with(
            &client,
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1",
            &[("accept", TABLE)],
            None,
        )
        .await;
        let events: Vec<Value> = answer
            .text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 2, "{}", answer.text);
        assert_eq!(events[0]["type"], "ADDED");
        let first = &events[0]["object"];
        assert_eq!(first["kind"], "Table");
        assert_eq!(column_names(first), ["Name", "Data", "Age"]);
        assert_eq!(first["rows"][0]["cells"][0], "a");
        assert_eq!(first["rows"][0]["cells"][1], 1);
        assert!(events[1]["object"]["columnDefinitions"].is_null());
        assert_eq!(events[1]["object"]["rows"][0]["cells"][0], "b");
    });
}
