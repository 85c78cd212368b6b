//! kube::Client against kube-sim through a kubeconfig it writes.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube_sim::Scenario;
use serde_json::json;

mod common;
use common::{client_for, runtime};

#[test]
fn configmap_and_daemonset_round_trip() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
        let cm: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy", "labels": {"app": "kube-proxy"}},
            "data": {"config.conf": "mode: ipvs\n"}
        }))
        .unwrap();
        let created = cms.create(&PostParams::default(), &cm).await.unwrap();
        let rv = created.metadata.resource_version.clone().unwrap();
        assert!(created.metadata.uid.is_some());
        assert!(created.metadata.creation_timestamp.is_some());
        let got = cms.get("kube-proxy").await.unwrap();
        assert_eq!(got.data, cm.data);
        let listed = cms.list(&ListParams::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);

        let mut changed = got.clone();
        changed.data.as_mut().unwrap().insert("config.conf".into(), "mode: ipvs\nstrictARP: true\n".into());
        let replaced = cms.replace("kube-proxy", &PostParams::default(), &changed).await.unwrap();
        assert_ne!(replaced.metadata.resource_version.unwrap(), rv);

        // A replace carrying the old resourceVersion is refused with the real 409.
        let err = cms.replace("kube-proxy", &PostParams::default(), &got).await.unwrap_err();
        match err {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 409);
                assert_eq!(status.reason, "Conflict");
            }
            other => panic!("expected a 409, got {other:?}"),
        }

        let dss: Api<DaemonSet> = Api::namespaced(client, "kube-system");
        let ds: DaemonSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy"},
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                    "spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.0"}]}
                }
            }
        }))
        .unwrap();
        let created = dss.create(&PostParams::default(), &ds).await.unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        // The simulated DaemonSet controller writes status concurrently; hold it still.
        sim.pause();
        let mut changed = dss.get("kube-proxy").await.unwrap();
        changed.spec.as_mut().unwrap().template.metadata.as_mut().unwrap().annotations =
            Some([("kubectl.kubernetes.io/restartedAt".to_string(), "now".to_string())].into());
        let replaced = dss.replace("kube-proxy", &PostParams::default(), &changed).await.unwrap();
        assert_eq!(replaced.metadata.generation, Some(2));
        assert_eq!(dss.list(&ListParams::default()).await.unwrap().items.len(), 1);
    });
}

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SelfSubjectRulesReview};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, WatchEvent};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, wait::await_condition, watcher};
use kube_sim::{Fault, SimBuilder};
use std::time::Duration;

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": name}
    }))
    .unwrap()
}

fn api_status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn list_selects_by_labels_and_fields_and_pages() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        for (name, tier) in [
            ("a", "web"),
            ("b", "db"),
            ("c", "web"),
            ("d", "cache"),
            ("e", ""),
        ] {
            let labels = if tier.is_empty() {
                json!({})
            } else {
                json!({"tier": tier})
            };
            cms.create(&PostParams::default(), &configmap(name, labels))
                .await
                .unwrap();
        }
        let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
            list.items
                .into_iter()
                .map(|c| c.metadata.name.unwrap())
                .collect()
        };
        let select = |s: &str| ListParams::default().labels(s);
        assert_eq!(
            names(cms.list(&select("tier=web")).await.unwrap()),
            ["a", "c"]
        );
        assert_eq!(
            names(cms.list(&select("tier!=web")).await.unwrap()),
            ["b", "d", "e"]
        );
        assert_eq!(
            names(cms.list(&select("tier in (db,cache)")).await.unwrap()),
            ["b", "d"]
        );
        assert_eq!(
            names(cms.list(&select("tier notin (db,cache)")).await.unwrap()),
            ["a", "c", "e"]
        );
        assert_eq!(
            names(cms.list(&select("tier")).await.unwrap()),
            ["a", "b", "c", "d"]
        );
        assert_eq!(names(cms.list(&select("!tier")).await.unwrap()), ["e"]);
        let by_name = ListParams::default().fields("metadata.name=c");
        assert_eq!(names(cms.list(&by_name).await.unwrap()), ["c"]);
        let bad = cms
            .list(&ListParams::default().fields("data.k=c"))
            .await
            .unwrap_err();
        assert_eq!(api_status(bad).code, 400);

        let mut seen = Vec::new();
        let mut params = ListParams::default().limit(2);
        loop {
            let page = cms.list(&params).await.unwrap();
            let token = page.metadata.continue_.clone();
            seen.extend(names(page));
            match token {
                Some(t) if !t.is_empty() => params = params.continue_token(&t),
                _ => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    });
}

#[test]
fn watcher_and_await_condition_follow_changes() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        cms.create(&PostParams::default(), &configmap("first", json!({})))
            .await
            .unwrap();
        let stream = watcher(cms.clone(), watcher::Config::default()).applied_objects();
        let mut stream = Box::pin(stream);
        let first = stream.try_next().await.unwrap().unwrap();
        assert_eq!(first.metadata.name.as_deref(), Some("first"));
        cms.create(&PostParams::default(), &configmap("second", json!({})))
            .await
            .unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(second.metadata.name.as_deref(), Some("second"));

        let waiter = tokio::spawn(await_condition(
            cms.clone(),
            "second",
            |cm: Option<&ConfigMap>| {
                cm.and_then(|c| c.data.as_ref())
                    .is_some_and(|d| d.get("ready").is_some())
            },
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let patch = json!({"data": {"ready": "yes"}});
        cms.patch("second", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        let done = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(done.unwrap().data.unwrap()["ready"], "yes");
    });
}

#[test]
fn patches_apply_dry_run_and_delete() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "kube-system");
        let ds: DaemonSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "speaker"},
            "spec": {"selector": {"matchLabels": {"app": "speaker"}}, "template": {
                "metadata": {"labels": {"app": "speaker"}},
                "spec": {"containers": [{"name": "speaker", "image": "a:1",
                    "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 7946, "name": "memberlist"}]}],
                    "tolerations": [{"key": "x", "operator": "Exists"}]}}}
        })).unwrap();
        dss.create(&PostParams::default(), &ds).await.unwrap();

        // Strategic merge: containers and env merge by name, tolerations are replaced.
        let smp = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "speaker", "env": [{"name": "B", "value": "2"}]}],
            "tolerations": [{"key": "y", "operator": "Exists"}]}}}});
        let out = dss.patch("speaker", &PatchParams::default(), &Patch::Strategic(&smp)).await.unwrap();
        let spec = out.spec.unwrap().template.spec.unwrap();
        let env: Vec<String> = spec.containers[0].env.clone().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(env, ["A", "B"]);
        assert_eq!(spec.containers[0].image.as_deref(), Some("a:1"));
        assert_eq!(spec.tolerations.unwrap().len(), 1);

        // `$patch: delete` removes a list item by key.
        let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "speaker", "env": [{"name": "A", "$patch": "delete"}]}]}}}});
        let out = dss.patch("speaker", &PatchParams::default(), &Patch::Strategic(&smp)).await.unwrap();
        let env = out.spec.unwrap().template.spec.unwrap().containers[0].env.clone().unwrap();
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].name, "B");

        let json_patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "a:2"}])).unwrap();
        let out = dss.patch("speaker", &PatchParams::default(), &Patch::Json::<()>(json_patch)).await.unwrap();
        assert_eq!(out.spec.unwrap().template.spec.unwrap().containers[0].image.as_deref(), Some("a:2"));

        // Server-side apply: ownership, conflicts without force, transfer with force.
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1", "b": "1"}});
        cms.patch("owned", &PatchParams::apply("lbctl"), &Patch::Apply(&applied)).await.unwrap();
        let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "2"}});
        let err = cms.patch("owned", &PatchParams::apply("other"), &Patch::Apply(&theirs)).await.unwrap_err();
        let status = api_status(err);
        assert_eq!(status.code, 409);
        assert_eq!(status.details.unwrap().causes[0].reason, "FieldManagerConflict");
        let out = cms.patch("owned", &PatchParams::apply("other").force(), &Patch::Apply(&theirs)).await.unwrap();
        assert_eq!(out.data.as_ref().unwrap()["a"], "2");
        // lbctl stops applying b: it goes, since nobody else owns it.
        let fewer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {}});
        let mut params = PatchParams::apply("lbctl");
        params.dry_run = true;
        let before = sim.store().resource_version();
        let out = cms.patch("owned", &params, &Patch::Apply(&fewer)).await.unwrap();
        assert_eq!(out.data.unwrap().len(), 1, "b would go");
        assert_eq!(sim.store().resource_version(), before);
        assert_eq!(cms.get("owned").await.unwrap().data.unwrap().len(), 2, "dry run stored nothing");
        let out = cms.patch("owned", &PatchParams::apply("lbctl"), &Patch::Apply(&fewer)).await.unwrap();
        assert_eq!(out.data.unwrap().len(), 1);

        // Dry run stores nothing, on create and on patch.
        let dry = PostParams { dry_run: true, ..Default::default() };
        cms.create(&dry, &configmap("dry", json!({}))).await.unwrap();
        assert!(cms.get_opt("dry").await.unwrap().is_none());

        // Finalizers hold a delete until they are removed.
        let held: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})).unwrap();
        cms.create(&PostParams::default(), &held).await.unwrap();
        let pending = cms.delete("held", &DeleteParams::default()).await.unwrap();
        let pending = pending.left().expect("the object is returned while finalizers remain");
        assert!(pending.metadata.deletion_timestamp.is_some());
        let clear = json!({"metadata": {"finalizers": null}});
        cms.patch("held", &PatchParams::default(), &Patch::Merge(&clear)).await.unwrap();
        assert!(cms.get_opt("held").await.unwrap().is_none());
        let gone = cms.delete("owned", &DeleteParams::default()).await.unwrap();
        assert!(gone.is_right(), "a plain delete answers with a Status");
    });
}

#[test]
fn namespaces_names_and_access_reviews() {
    let scenario = Scenario::from_yaml(
        "users:\n  viewer:\n    rules:\n      - { apiGroups: [\"\"], resources: [configmaps], verbs: [get], namespaces: [kube-system] }\n",
    )
    .unwrap();
    let sim = SimBuilder::new(scenario).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nope");
        let status = api_status(missing.create(&PostParams::default(), &configmap("x", json!({}))).await.unwrap_err());
        assert_eq!((status.code, status.message.as_str()), (404, "namespaces \"nope\" not found"));

        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scratch"}})).unwrap();
        namespaces.create(&PostParams::default(), &ns).await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "scratch");
        cms.create(&PostParams::default(), &configmap("x", json!({}))).await.unwrap();
        let again = api_status(cms.create(&PostParams::default(), &configmap("x", json!({}))).await.unwrap_err());
        assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
        let generated: ConfigMap = serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
        let made = cms.create(&PostParams::default(), &generated).await.unwrap();
        assert!(made.metadata.name.unwrap().starts_with("gen-"));

        namespaces.delete("scratch", &DeleteParams::default()).await.unwrap();
        assert!(namespaces.get_opt("scratch").await.unwrap().is_none());
        assert!(sim.get("v1", "ConfigMap", Some("scratch"), "x").is_none());

        let viewer = client_for(&sim, "viewer").await;
        let reviews: Api<SelfSubjectAccessReview> = Api::all(viewer);
        let ask = |verb: &str| -> SelfSubjectAccessReview {
            serde_json::from_value(json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"namespace": "kube-system", "verb": verb, "resource": "configmaps", "name": "kube-proxy"}}})).unwrap()
        };
        let allowed = reviews.create(&PostParams::default(), &ask("get")).await.unwrap();
        assert!(allowed.status.unwrap().allowed);
        let denied = reviews.create(&PostParams::default(), &ask("patch")).await.unwrap();
        assert!(!denied.status.unwrap().allowed);
    });
}

#[test]
fn crds_status_logs_events_and_discovery() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let crds: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), "customresourcedefinitions"));
        let crd: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        })).unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let discovery = kube::Discovery::new(client.clone()).run_aggregated().await.unwrap();
        let (widget, _) = discovery.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")).expect("Widget is discovered");
        assert!(discovery.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "DaemonSet")).is_some());
        let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &widget);
        let w: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ignored": true}})).unwrap();
        let created = widgets.create(&PostParams::default(), &w).await.unwrap();
        assert!(created.data.get("status").is_none(), "status is not set on create");
        let status = json!({"status": {"phase": "Ready"}});
        let out = widgets.patch_status("w", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
        assert_eq!(out.data["status"]["phase"], "Ready");
        assert_eq!(out.metadata.generation, Some(1), "status writes keep the generation");
        crds.delete("widgets.example.com", &DeleteParams::default()).await.unwrap();
        assert!(sim.get("example.com/v1", "Widget", Some("default"), "w").is_none());
        let discovery = kube::Discovery::new(client.clone()).run_aggregated().await.unwrap();
        assert!(discovery.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")).is_none());

        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        sim.apply_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}));
        let pod: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}})).unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let running = json!({"status": {"containerStatuses": [{"name": "c", "state": {"running": {}}}]}});
        pods.patch_status("p", &PatchParams::default(), &Patch::Merge(&running)).await.unwrap();
        sim.store().set_pod_log("default", "p", "one\ntwo\nthree\n");
        assert_eq!(pods.logs("p", &Default::default()).await.unwrap(), "one\ntwo\nthree\n");

        let events: Api<Event> = Api::namespaced(client, "default");
        for (name, about) in [("e1", "p"), ("e2", "q")] {
            let ev: Event = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"kind": "Pod", "name": about, "namespace": "default"}, "reason": "Test"})).unwrap();
            events.create(&PostParams::default(), &ev).await.unwrap();
        }
        let about_p = events.list(&ListParams::default().fields("involvedObject.name=p,involvedObject.kind=Pod")).await.unwrap();
        assert_eq!(about_p.items.len(), 1);
        assert_eq!(about_p.items[0].metadata.name.as_deref(), Some("e1"));
    });
}

#[test]
fn injected_faults_and_the_request_log() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        cms.create(&PostParams::default(), &configmap("x", json!({})))
            .await
            .unwrap();
        sim.clear_requests();
        sim.inject(Fault::status(
            "GET",
            "/api/v1/namespaces/default/configmaps/x",
            500,
            1,
        ));
        let status = api_status(cms.get("x").await.unwrap_err());
        assert_eq!(
            (status.code, status.reason.as_str()),
            (500, "InternalError")
        );
        // kube retries a 503 by itself: the log shows both answers.
        sim.inject(Fault::status(
            "GET",
            "/api/v1/namespaces/default/configmaps/x",
            503,
            1,
        ));
        cms.get("x").await.unwrap();
        let log = sim.requests();
        let codes: Vec<u16> = log.iter().map(|r| r.status).collect();
        assert_eq!(codes, [500, 503, 200]);
        assert_eq!(
            (log[0].verb.as_str(), log[0].user.as_str()),
            ("get", "admin")
        );
        assert!(!log.iter().any(|r| r.is_write()));

        sim.inject(Fault::close_watch_after(
            "/api/v1/namespaces/default/configmaps",
            1,
            1,
        ));
        let params = kube::api::WatchParams::default();
        let stream = cms.watch(&params, "0").await.unwrap();
        let events: Vec<_> =
            tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>())
                .await
                .unwrap();
        assert_eq!(events.len(), 1, "the watch closes after one event");
    });
}

/// A discovered resource: what it is, its scope, verbs and subresources.
type Described = (ApiResource, String, Vec<String>, Vec<String>);

/// What a discovery run knows, in a comparable form: per group, its preferred version and each
/// recommended resource.
fn discovered(discovery: &kube::Discovery) -> Vec<(String, String, Vec<Described>)> {
    discovery
        .groups_alphabetical()
        .into_iter()
        .map(|group| {
            let resources = group
                .recommended_resources()
                .into_iter()
                .map(|(ar, caps)| {
                    let subresources = caps
                        .subresources
                        .iter()
                        .map(|(sub, _)| sub.plural.clone())
                        .collect();
                    (
                        ar,
                        format!("{:?}", caps.scope),
                        caps.operations,
                        subresources,
                    )
                })
                .collect();
            (
                group.name().to_string(),
                group.preferred_version_or_latest().to_string(),
                resources,
            )
        })
        .collect()
}

#[test]
fn legacy_discovery_through_the_client() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let legacy = kube::Discovery::new(client.clone()).run().await.unwrap();
        let gvk = |g: &str, k: &str| GroupVersionKind::gvk(g, "v1", k);
        let (cm, caps) = legacy
            .resolve_gvk(&gvk("", "ConfigMap"))
            .expect("ConfigMap is discovered");
        assert_eq!(
            (cm.plural.as_str(), cm.api_version.as_str()),
            ("configmaps", "v1")
        );
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
        assert!(caps.supports_operation(kube::discovery::verbs::PATCH));
        let (_, caps) = legacy.resolve_gvk(&gvk("", "Node")).unwrap();
        assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
        let (_, caps) = legacy.resolve_gvk(&gvk("", "Pod")).unwrap();
        let subresources: Vec<&str> = caps
            .subresources
            .iter()
            .map(|(s, _)| s.plural.as_str())
            .collect();
        assert_eq!(subresources, ["log", "status"]);
        let (ds, _) = legacy.resolve_gvk(&gvk("apps", "DaemonSet")).unwrap();
        assert_eq!(ds.plural, "daemonsets");
        assert!(
            legacy
                .resolve_gvk(&gvk("discovery.k8s.io", "EndpointSlice"))
                .is_some()
        );
        let (review, caps) = legacy
            .resolve_gvk(&gvk("authorization.k8s.io", "SelfSubjectRulesReview"))
            .unwrap();
        assert_eq!(review.plural, "selfsubjectrulesreviews");
        assert_eq!(caps.operations, ["create"]);

        // Legacy and aggregated discovery describe the same API.
        let aggregated = kube::Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap();
        let (legacy, aggregated) = (discovered(&legacy), discovered(&aggregated));
        assert!(legacy.len() >= 9, "{legacy:?}");
        assert_eq!(legacy, aggregated);
    });
}

#[test]
fn watches_resume_time_out_stream_lists_and_expire() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        cms.create(&PostParams::default(), &configmap("before", json!({})))
            .await
            .unwrap();
        let rv = cms
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        cms.create(&PostParams::default(), &configmap("after", json!({})))
            .await
            .unwrap();
        let patch = json!({"data": {"k": "changed"}});
        cms.patch("after", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        cms.delete("before", &DeleteParams::default())
            .await
            .unwrap();

        // From the list's resourceVersion only what happened after it arrives, and with
        // `timeoutSeconds=1` the server ends the stream cleanly (the outer timeout only guards
        // against a hang).
        let params = kube::api::WatchParams::default().timeout(1);
        let stream = cms.watch(&params, &rv).await.unwrap();
        let events: Vec<WatchEvent<ConfigMap>> =
            tokio::time::timeout(Duration::from_secs(30), stream.try_collect())
                .await
                .expect("the watch ends by itself")
                .expect("and without an error");
        let seen: Vec<(&str, String)> = events
            .iter()
            .filter_map(|event| match event {
                WatchEvent::Added(cm) => Some(("ADDED", cm.metadata.name.clone().unwrap())),
                WatchEvent::Modified(cm) => Some(("MODIFIED", cm.metadata.name.clone().unwrap())),
                WatchEvent::Deleted(cm) => Some(("DELETED", cm.metadata.name.clone().unwrap())),
                WatchEvent::Bookmark(_) => None,
                WatchEvent::Error(status) => panic!("{status:?}"),
            })
            .collect();
        let name = |n: &str| n.to_string();
        assert_eq!(
            seen,
            [
                ("ADDED", name("after")),
                ("MODIFIED", name("after")),
                ("DELETED", name("before"))
            ]
        );

        // A streaming list: the initial state as watch events, then the end-of-initial-events
        // bookmark (without it the watcher never reports InitDone), then live changes; no LIST.
        sim.clear_requests();
        let mut stream = Box::pin(watcher(
            cms.clone(),
            watcher::Config::default().streaming_lists(),
        ));
        let mut initial = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            match next {
                watcher::Event::Init => {}
                watcher::Event::InitApply(cm) => initial.push(cm.metadata.name.unwrap()),
                watcher::Event::InitDone => break,
                other => panic!("{other:?} before InitDone"),
            }
        }
        assert_eq!(initial, ["after"]);
        cms.create(&PostParams::default(), &configmap("live", json!({})))
            .await
            .unwrap();
        let next = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match next {
            watcher::Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("live")),
            other => panic!("expected the new ConfigMap, got {other:?}"),
        }
        let verbs: Vec<(String, bool)> = sim
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v1/namespaces/default/configmaps" && r.verb != "create")
            .map(|r| (r.verb.clone(), r.query.contains("sendInitialEvents=true")))
            .collect();
        assert_eq!(verbs[0], ("watch".to_string(), true), "{verbs:?}");
        assert!(!verbs.iter().any(|(verb, _)| verb == "list"), "{verbs:?}");

        // A resourceVersion the server no longer keeps: 410 Expired, as the real watch cache says it.
        let old = rv.parse::<u64>().unwrap();
        sim.store().compact();
        let oldest = sim.store().resource_version();
        let stream = cms.watch(&params, &rv).await.unwrap();
        let events: Vec<WatchEvent<ConfigMap>> =
            tokio::time::timeout(Duration::from_secs(30), stream.try_collect())
                .await
                .unwrap()
                .unwrap();
        match &events[..] {
            [WatchEvent::Error(status)] => {
                assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
                assert_eq!(
                    status.message,
                    format!("too old resource version: {old} ({oldest})")
                );
            }
            other => panic!("expected one 410, got {other:?}"),
        }
    });
}

/// The names of a list's items, `namespace/name`.
fn qualified_names<K: kube::Resource + Clone>(list: kube::core::ObjectList<K>) -> Vec<String> {
    list.items
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o.meta().namespace.clone().unwrap_or_default(),
                o.meta().name.clone().unwrap()
            )
        })
        .collect()
}

#[test]
fn field_selectors_for_pods_namespaces_and_new_events() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        for node in ["n1", "n2"] {
            sim.apply_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}));
        }
        for (ns, name, node) in [("default", "a", "n1"), ("default", "b", "n2"), ("kube-system", "c", "n1"), ("kube-system", "pending", "")] {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            if !node.is_empty() {
                pod["spec"]["nodeName"] = json!(node);
            }
            let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
            pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
        }
        let all: Api<Pod> = Api::all(client.clone());
        let fields = |f: &str| ListParams::default().fields(f);
        assert_eq!(qualified_names(all.list(&fields("spec.nodeName=n1")).await.unwrap()), ["default/a", "kube-system/c"]);
        // What `kubectl get pods --field-selector spec.nodeName=` asks: the unscheduled ones.
        assert_eq!(qualified_names(all.list(&fields("spec.nodeName=")).await.unwrap()), ["kube-system/pending"]);
        assert_eq!(
            qualified_names(all.list(&fields("metadata.namespace=kube-system")).await.unwrap()),
            ["kube-system/c", "kube-system/pending"]
        );
        assert_eq!(
            qualified_names(all.list(&fields("metadata.namespace!=kube-system,spec.nodeName!=n1")).await.unwrap()),
            ["default/b"]
        );

        let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), "default");
        for (name, about) in [("e1", "a"), ("e2", "b"), ("e3", "a")] {
            let event = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
                "eventTime": "2026-12-03T08:00:00.000000Z", "reportingController": "test", "reportingInstance": "test-1",
                "action": "Testing", "reason": "Test", "type": "Normal",
                "regarding": {"apiVersion": "v1", "kind": "Pod", "name": about, "namespace": "default"}});
            events.create(&PostParams::default(), &serde_json::from_value(event).unwrap()).await.unwrap();
        }
        let about_a = events.list(&fields("regarding.name=a,regarding.kind=Pod")).await.unwrap();
        assert_eq!(qualified_names(about_a), ["default/e1", "default/e3"]);
        let status = api_status(events.list(&fields("regarding.uid=x,note=y")).await.unwrap_err());
        assert_eq!((status.code, status.message.as_str()), (400, "field label not supported: note"));
    });
}

#[test]
fn dry_run_replace_merge_patch_and_delete_store_nothing() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let stored = cms.create(&PostParams::default(), &configmap("cm", json!({"app": "x"}))).await.unwrap();
        let rv = stored.metadata.resource_version.clone();
        let counter = sim.store().resource_version();
        sim.clear_requests();

        // Each answer is the object as the write would have left it, at the stored version.
        let mut changed = stored.clone();
        changed.data = Some([("k".to_string(), "replaced".to_string())].into());
        let dry = PostParams { dry_run: true, ..Default::default() };
        let answer = cms.replace("cm", &dry, &changed).await.unwrap();
        assert_eq!(answer.data, changed.data);
        assert_eq!((&answer.metadata.resource_version, &answer.metadata.uid), (&rv, &stored.metadata.uid));

        let patch = json!({"data": {"k": "patched", "new": "1"}, "metadata": {"labels": {"app": null, "tier": "web"}}});
        let dry = PatchParams { dry_run: true, ..Default::default() };
        let answer = cms.patch("cm", &dry, &Patch::Merge(&patch)).await.unwrap();
        let data = [("k", "patched"), ("new", "1")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(answer.data, Some(data.into()));
        assert_eq!(answer.metadata.labels, Some([("tier".to_string(), "web".to_string())].into()));
        assert_eq!(answer.metadata.resource_version, rv);

        // kube-rs sends a delete's dryRun in the DeleteOptions body.
        let dry = DeleteParams { dry_run: true, ..Default::default() };
        let answer = cms.delete("cm", &dry).await.unwrap();
        let status = answer.right().expect("a ConfigMap's delete answers with a Status");
        assert_eq!(status.status, Some(kube::core::response::StatusSummary::Success));
        let details = status.details.unwrap();
        assert_eq!((details.name.as_str(), details.kind.as_str()), ("cm", "configmaps"));
        assert_eq!(Some(details.uid), stored.metadata.uid);

        // A pod bound to a node would be deleted gracefully: the answer shows the pod marked.
        sim.apply_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}));
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let pod: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}})).unwrap();
        let pod = pods.create(&PostParams::default(), &pod).await.unwrap();
        let counter_with_pod = sim.store().resource_version();
        let marked = pods.delete("p", &dry).await.unwrap().left().expect("a pod's delete answers with the pod");
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));

        // Nothing was stored: the objects are as they were and the counter did not move.
        assert_eq!(cms.get("cm").await.unwrap(), stored);
        assert_eq!(pods.get("p").await.unwrap(), pod);
        assert_eq!(counter, counter_with_pod - 2, "only the node and the pod were written");
        assert_eq!(sim.store().resource_version(), counter_with_pod);
        let log = sim.requests();
        let dry_runs: Vec<&str> = log.iter().filter(|r| r.dry_run).map(|r| r.verb.as_str()).collect();
        assert_eq!(dry_runs, ["update", "patch", "delete", "delete"]);
        let writes: Vec<&str> = log.iter().filter(|r| r.is_write()).map(|r| r.verb.as_str()).collect();
        assert_eq!(writes, ["create"], "only the pod's create is a write");
    });
}

/// A resource rule of a rules review: API groups, resources, verbs, resource names.
type Granted = (Vec<String>, Vec<String>, Vec<String>, Option<Vec<String>>);

#[test]
fn rules_review_reflects_the_scenario_rules() {
    let scenario = Scenario::from_yaml(
        r#"
users:
  operator:
    rules:
      - { apiGroups: [""], resources: [configmaps], verbs: [get, list], namespaces: [kube-system] }
      - { apiGroups: [apps], resources: [daemonsets], verbs: [get, patch], resourceNames: [kube-proxy] }
"#,
    )
    .unwrap();
    let sim = SimBuilder::new(scenario).spawn().unwrap();
    runtime().block_on(async {
        let operator = client_for(&sim, "operator").await;
        let reviews: Api<SelfSubjectRulesReview> = Api::all(operator.clone());
        let review_in = |ns: &str| -> SelfSubjectRulesReview {
            serde_json::from_value(
                json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                "spec": {"namespace": ns}}),
            )
            .unwrap()
        };
        let rules_in = |review: SelfSubjectRulesReview| -> Vec<Granted> {
            let status = review.status.unwrap();
            assert!(!status.incomplete);
            status
                .resource_rules
                .into_iter()
                .map(|r| {
                    (
                        r.api_groups.unwrap_or_default(),
                        r.resources.unwrap_or_default(),
                        r.verbs,
                        r.resource_names,
                    )
                })
                .collect()
        };
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let reviews_rule = (
            strings(&["authorization.k8s.io"]),
            strings(&["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            strings(&["create"]),
            None,
        );
        let configmaps_rule = (
            strings(&[""]),
            strings(&["configmaps"]),
            strings(&["get", "list"]),
            None,
        );
        let daemonset_rule = (
            strings(&["apps"]),
            strings(&["daemonsets"]),
            strings(&["get", "patch"]),
            Some(strings(&["kube-proxy"])),
        );

        let in_kube_system = reviews
            .create(&PostParams::default(), &review_in("kube-system"))
            .await
            .unwrap();
        assert_eq!(
            rules_in(in_kube_system),
            [
                reviews_rule.clone(),
                configmaps_rule,
                daemonset_rule.clone()
            ]
        );
        // The ConfigMap rule is limited to kube-system; the DaemonSet rule holds everywhere.
        let in_default = reviews
            .create(&PostParams::default(), &review_in("default"))
            .await
            .unwrap();
        let non_resource = in_default
            .status
            .as_ref()
            .unwrap()
            .non_resource_rules
            .clone();
        assert_eq!(rules_in(in_default), [reviews_rule, daemonset_rule]);
        assert!(non_resource.iter().any(|r| {
            r.verbs == ["get"]
                && r.non_resource_urls
                    .as_ref()
                    .is_some_and(|u| u.contains(&"/version".to_string()))
        }));

        // And the server enforces what the review says.
        let cms_in = |ns: &str| Api::<ConfigMap>::namespaced(operator.clone(), ns);
        assert_eq!(
            api_status(cms_in("kube-system").get("x").await.unwrap_err()).code,
            404,
            "allowed, just absent"
        );
        assert_eq!(
            api_status(cms_in("default").get("x").await.unwrap_err()).code,
            403
        );
        let dss: Api<DaemonSet> = Api::namespaced(operator.clone(), "default");
        assert_eq!(
            api_status(dss.get("kube-proxy").await.unwrap_err()).code,
            404
        );
        assert_eq!(api_status(dss.get("speaker").await.unwrap_err()).code, 403);

        // The admin's review grants everything.
        let admin = client_for(&sim, "admin").await;
        let everything = Api::<SelfSubjectRulesReview>::all(admin)
            .create(&PostParams::default(), &review_in("default"))
            .await
            .unwrap();
        let rules = rules_in(everything);
        assert!(
            rules.contains(&(strings(&["*"]), strings(&["*"]), strings(&["*"]), None)),
            "{rules:?}"
        );
    });
}
