//! Reading what a bundle holds from the API, as JSON, each object passed through
//! [`super::redact`] before it becomes a file. A failed read becomes a [`super::Missing`] entry
//! naming the permission (403), the object (404) or the cause (timeout, 5xx); never an error.

use futures::future::join_all;
use k8s_openapi::api::apps::v1::DaemonSet;
use serde_json::{Value, json};

use super::{Contents, LOG_MAX_BYTES, Settings, redact};
use crate::kube::ClusterTarget;
use crate::kubeproxy::locate::{self, DistributionFacts, Location};
use crate::metallb::webhook::CONFIGURATION_NAME;
use crate::permissions::Permission;

/// One request: its path and the permission it needs (named when it is refused).
struct Read<'a> {
    path: String,
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
}

impl Read<'_> {
    /// Why the request failed, as MANIFEST.txt says it.
    fn why(&self, err: &kube::Error) -> String {
        match err {
            kube::Error::Api(status) if status.code == 403 => {
                let mut p = Permission::new(self.verb, self.group, self.resource);
                p.namespace = self.namespace.map(str::to_string);
                format!(
                    "403 forbidden: missing permission {p}; check it with `{}`",
                    p.can_i()
                )
            }
            kube::Error::Api(status) if status.code == 404 => {
                format!("404 not found: {}", status.message)
            }
            other => crate::kube::errors::reason(other),
        }
    }

    async fn json(&self, target: &ClusterTarget) -> Result<Value, String> {
        let request = http::Request::get(&self.path)
            .body(Vec::new())
            .expect("a GET request from a path builds");
        target
            .client
            .request::<Value>(request)
            .await
            .map_err(|e| self.why(&e))
    }

    async fn text(&self, target: &ClusterTarget) -> Result<String, String> {
        let request = http::Request::get(&self.path)
            .body(Vec::new())
            .expect("a GET request from a path builds");
        target
            .client
            .request_text(request)
            .await
            .map_err(|e| self.why(&e))
    }
}

/// A list's items, each redacted by `edit`, as YAML documents (empty text for no items).
fn yaml(items: &[Value], edit: impl Fn(&mut Value)) -> String {
    let docs: Vec<String> = items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            redact::strip_bookkeeping(&mut item);
            edit(&mut item);
            serde_saphyr::to_string(&item).expect("JSON values serialize to YAML")
        })
        .collect();
    docs.join("---\n")
}

fn items(list: &Value) -> Vec<Value> {
    list.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A list's kind on each item (the API leaves it out), so every document says what it is.
fn with_kind(mut items: Vec<Value>, api_version: &str, kind: &str) -> Vec<Value> {
    for item in &mut items {
        item["apiVersion"] = json!(api_version);
        item["kind"] = json!(kind);
    }
    items
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A field selector's value in a query string.
fn query_value(text: &str) -> String {
    text.replace('=', "%3D").replace(',', "%2C")
}

/// Reads everything a bundle holds besides the report, the version and node facts, adding the
/// files and what could not be read to `out`.
pub async fn collect(target: &ClusterTarget, ns: &str, settings: &Settings, out: &mut Contents) {
    let list = |path: String, group, resource, namespace| Read {
        path,
        verb: "list",
        group,
        resource,
        namespace,
    };
    let mns = Some(ns);
    let reads = [
        list(
            format!("/apis/apps/v1/namespaces/{ns}/deployments"),
            "apps",
            "deployments",
            mns,
        ),
        list(
            format!("/apis/apps/v1/namespaces/{ns}/daemonsets"),
            "apps",
            "daemonsets",
            mns,
        ),
        list(format!("/api/v1/namespaces/{ns}/pods"), "", "pods", mns),
        list(
            format!("/api/v1/namespaces/{ns}/secrets"),
            "",
            "secrets",
            mns,
        ),
        list(format!("/api/v1/namespaces/{ns}/events"), "", "events", mns),
        list("/api/v1/services".into(), "", "services", None),
        list("/api/v1/nodes".into(), "", "nodes", None),
        list(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions".into(),
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            None,
        ),
        Read {
            path: format!(
                "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{CONFIGURATION_NAME}"
            ),
            verb: "get",
            group: "admissionregistration.k8s.io",
            resource: "validatingwebhookconfigurations",
            namespace: None,
        },
        Read {
            path: format!(
                "/apis/apps/v1/namespaces/{}/daemonsets/{}",
                locate::NAMESPACE,
                locate::DAEMONSET
            ),
            verb: "get",
            group: "apps",
            resource: "daemonsets",
            namespace: Some(locate::NAMESPACE),
        },
    ];
    let answers = join_all(reads.iter().map(|r| r.json(target))).await;
    let [
        deployments,
        daemonsets,
        pods,
        secrets,
        events,
        services,
        nodes,
        crds,
        webhook,
        proxy,
    ] = <[Result<Value, String>; 10]>::try_from(answers).expect("one answer per read");
    let mut keep = |path: &str, what: &str, answer: Result<String, String>| match answer {
        Ok(text) => out.objects(path, what, text),
        Err(why) => out.missing(what, why),
    };

    keep(
        "metallb/deployments.yaml",
        &format!("Deployments in {ns}"),
        deployments.map(|l| {
            yaml(
                &with_kind(items(&l), "apps/v1", "Deployment"),
                redact::env_values,
            )
        }),
    );
    keep(
        "metallb/daemonsets.yaml",
        &format!("DaemonSets in {ns}"),
        daemonsets.map(|l| {
            yaml(
                &with_kind(items(&l), "apps/v1", "DaemonSet"),
                redact::env_values,
            )
        }),
    );
    let pod_items = pods.map(|l| with_kind(items(&l), "v1", "Pod"));
    keep(
        "metallb/pods.yaml",
        &format!("Pods in {ns}"),
        pod_items.clone().map(|p| yaml(&p, redact::env_values)),
    );
    keep(
        "metallb/secrets.yaml",
        &format!("Secrets in {ns} (names, types and keys)"),
        secrets.map(|l| {
            let shown: Vec<Value> = items(&l).iter().map(redact::secret).collect();
            yaml(&shown, |_| {})
        }),
    );
    keep(
        "metallb/validatingwebhookconfiguration.yaml",
        &format!("ValidatingWebhookConfiguration {CONFIGURATION_NAME}"),
        webhook.map(|w| yaml(&[w], redact::ca_bundles)),
    );
    keep(
        &format!("events/{ns}.yaml"),
        &format!("Events in {ns}"),
        events.map(|l| yaml(&with_kind(items(&l), "v1", "Event"), |_| {})),
    );
    keep(
        "cluster/nodes.yaml",
        "Nodes",
        nodes.map(|l| yaml(&with_kind(items(&l), "v1", "Node"), redact::node)),
    );
    metallb_objects(target, ns, crds, out).await;
    load_balancers(target, services, out).await;
    kube_proxy(target, proxy, out).await;
    match pod_items {
        Ok(pods) => logs(target, ns, &pods, settings, out).await,
        Err(why) => out.missing(
            format!("logs of MetalLB's pods in {ns}"),
            format!("the pods could not be listed: {why}"),
        ),
    }
}

/// The objects of every metallb.io CRD that exists, one file per kind.
async fn metallb_objects(
    target: &ClusterTarget,
    ns: &str,
    crds: Result<Value, String>,
    out: &mut Contents,
) {
    let crds = match crds {
        Ok(l) => items(&l),
        Err(why) => {
            out.missing("MetalLB's custom resources (the CRD list)", why);
            return;
        }
    };
    let kinds: Vec<(String, String, String)> = crds
        .iter()
        .filter(|c| str_at(c, "/spec/group") == "metallb.io")
        .filter_map(|c| {
            let versions = c.pointer("/spec/versions")?.as_array()?;
            let served = |v: &&Value| v["served"] == json!(true);
            let version = versions
                .iter()
                .filter(served)
                .find(|v| v["storage"] == json!(true))
                .or_else(|| versions.iter().find(served))?;
            Some((
                str_at(c, "/spec/names/plural").to_string(),
                str_at(c, "/spec/names/kind").to_string(),
                version["name"].as_str()?.to_string(),
            ))
        })
        .collect();
    if kinds.is_empty() {
        out.missing(
            "MetalLB's custom resources",
            "404 not found: no CustomResourceDefinition of group metallb.io exists",
        );
        return;
    }
    let reads: Vec<Read> = kinds
        .iter()
        .map(|(plural, _, version)| Read {
            path: format!("/apis/metallb.io/{version}/namespaces/{ns}/{plural}"),
            verb: "list",
            group: "metallb.io",
            resource: plural,
            namespace: Some(ns),
        })
        .collect();
    let answers = join_all(reads.iter().map(|r| r.json(target))).await;
    for ((plural, kind, version), answer) in kinds.iter().zip(answers) {
        match answer {
            Ok(l) => {
                let objects = with_kind(items(&l), &format!("metallb.io/{version}"), kind);
                out.objects(
                    format!("metallb/{plural}.yaml"),
                    format!("{kind} objects in {ns}"),
                    yaml(&objects, |_| {}),
                );
            }
            Err(why) => out.missing(format!("{kind} objects in {ns}"), why),
        }
    }
}

/// The LoadBalancer Services of every namespace and the events about each.
async fn load_balancers(
    target: &ClusterTarget,
    services: Result<Value, String>,
    out: &mut Contents,
) {
    let services: Vec<Value> = match services {
        Ok(l) => with_kind(items(&l), "v1", "Service")
            .into_iter()
            .filter(|s| str_at(s, "/spec/type") == "LoadBalancer")
            .collect(),
        Err(why) => {
            out.missing("LoadBalancer Services (and their events)", why);
            return;
        }
    };
    out.objects(
        "services/loadbalancers.yaml",
        "LoadBalancer Services",
        yaml(&services, |_| {}),
    );
    let reads: Vec<Read> = services
        .iter()
        .map(|s| {
            let namespace = str_at(s, "/metadata/namespace");
            let selector = format!(
                "involvedObject.kind=Service,involvedObject.name={}",
                str_at(s, "/metadata/name")
            );
            Read {
                path: format!(
                    "/api/v1/namespaces/{namespace}/events?fieldSelector={}",
                    query_value(&selector)
                ),
                verb: "list",
                group: "",
                resource: "events",
                namespace: Some(namespace),
            }
        })
        .collect();
    let answers = join_all(reads.iter().map(|r| r.json(target))).await;
    let mut events = Vec::new();
    for (service, answer) in services.iter().zip(answers) {
        match answer {
            Ok(l) => events.extend(with_kind(items(&l), "v1", "Event")),
            Err(why) => out.missing(
                format!(
                    "events of Service {}/{}",
                    str_at(service, "/metadata/namespace"),
                    str_at(service, "/metadata/name")
                ),
                why,
            ),
        }
    }
    out.objects(
        "events/loadbalancer-services.yaml",
        "Events about LoadBalancer Services",
        yaml(&events, |_| {}),
    );
}

/// kube-proxy's DaemonSet and the ConfigMap it reads its configuration from.
async fn kube_proxy(target: &ClusterTarget, ds: Result<Value, String>, out: &mut Contents) {
    let what = format!("DaemonSet {}/{}", locate::NAMESPACE, locate::DAEMONSET);
    let ds = match ds {
        Ok(ds) => ds,
        Err(why) => {
            out.missing(what, why);
            return;
        }
    };
    out.file(
        "kube-proxy/daemonset.yaml",
        yaml(std::slice::from_ref(&ds), redact::env_values),
    );
    let location = crate::kube::typed::<DaemonSet>(&ds)
        .map_err(|e| e.to_string())
        .and_then(|ds| {
            locate::from_daemonset(&ds, &DistributionFacts::default()).map_err(|e| e.to_string())
        });
    let key = match location {
        Ok(Location::ConfigMap(key)) => key,
        Ok(_) => {
            out.missing(
                "kube-proxy's ConfigMap",
                "none: kube-proxy is configured by flags (see kube-proxy/daemonset.yaml)",
            );
            return;
        }
        Err(why) => {
            out.missing("kube-proxy's ConfigMap", format!("not located: {why}"));
            return;
        }
    };
    let read = Read {
        path: format!(
            "/api/v1/namespaces/{}/configmaps/{}",
            key.namespace, key.name
        ),
        verb: "get",
        group: "",
        resource: "configmaps",
        namespace: Some(&key.namespace),
    };
    match read.json(target).await {
        Ok(cm) => {
            let mut cm = cm;
            cm["apiVersion"] = json!("v1");
            cm["kind"] = json!("ConfigMap");
            out.file("kube-proxy/configmap.yaml", yaml(&[cm], |_| {}));
        }
        Err(why) => out.missing(format!("ConfigMap {}/{}", key.namespace, key.name), why),
    }
}

/// The containers of a pod with their restart counts.
fn containers(pod: &Value) -> Vec<(String, i64)> {
    let restarts = |name: &str| {
        pod.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|s| s["name"] == json!(name))
            .and_then(|s| s["restartCount"].as_i64())
            .unwrap_or(0)
    };
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .map(|name| (name.to_string(), restarts(name)))
        .collect()
}

/// Keeps the newest `LOG_MAX_BYTES` of a log, at a line start where one is near; says why it
/// is not the whole log.
fn bounded(mut text: String, lines: u32) -> (String, Option<String>) {
    let mut cut = Vec::new();
    if text.lines().count() >= lines as usize {
        cut.push(format!("the last {lines} lines (--bundle-log-lines)"));
    }
    if text.len() > LOG_MAX_BYTES {
        let mut start = text.len() - LOG_MAX_BYTES;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        if let Some(nl) = text[start..].find('\n') {
            start += nl + 1;
        }
        text.drain(..start);
        cut.push(format!("the newest {} bytes at most", LOG_MAX_BYTES));
    }
    let cut = (!cut.is_empty()).then(|| cut.join(", "));
    (text, cut)
}

/// Every container's log (and the previous container's when it restarted) of `pods`.
async fn logs(
    target: &ClusterTarget,
    ns: &str,
    pods: &[Value],
    settings: &Settings,
    out: &mut Contents,
) {
    let mut wanted = Vec::new();
    for pod in pods {
        let name = str_at(pod, "/metadata/name");
        for (container, restarts) in containers(pod) {
            wanted.push((name.to_string(), container.clone(), false));
            if restarts > 0 {
                wanted.push((name.to_string(), container, true));
            }
        }
    }
    let reads: Vec<Read> = wanted
        .iter()
        .map(|(pod, container, previous)| Read {
            path: format!(
                "/api/v1/namespaces/{ns}/pods/{pod}/log?container={container}&tailLines={}{}",
                settings.log_lines,
                if *previous { "&previous=true" } else { "" }
            ),
            verb: "get",
            group: "",
            resource: "pods/log",
            namespace: Some(ns),
        })
        .collect();
    let answers = join_all(reads.iter().map(|r| r.text(target))).await;
    for ((pod, container, previous), answer) in wanted.iter().zip(answers) {
        let which = if *previous { "previous " } else { "" };
        let what = format!("log of the {which}container {container} of pod {ns}/{pod}");
        match answer {
            Ok(text) => {
                let (data, cut) = bounded(text, settings.log_lines);
                let suffix = if *previous { ".previous" } else { "" };
                out.unless_empty(
                    format!("logs/{pod}/{container}{suffix}.log"),
                    what,
                    data.into_bytes(),
                    cut,
                    "0 lines",
                );
            }
            Err(why) => out.missing(what, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_bounded_by_lines_and_bytes() {
        let (text, cut) = bounded("a\nb\n".into(), 5);
        assert_eq!((text.as_str(), cut), ("a\nb\n", None));
        let (_, cut) = bounded("a\nb\n".into(), 2);
        assert_eq!(
            cut.as_deref(),
            Some("the last 2 lines (--bundle-log-lines)")
        );
        let line = format!("{}\n", "x".repeat(1023));
        let big = line.repeat(LOG_MAX_BYTES / 1024 + 10) + "newest\n";
        let (text, cut) = bounded(big, 1_000_000);
        assert!(text.len() <= LOG_MAX_BYTES && text.ends_with("newest\n"));
        assert!(text.starts_with('x'), "cut at a line start");
        assert!(cut.unwrap().contains("bytes"));
    }

    #[test]
    fn restarted_containers_are_found() {
        let pod = json!({"spec": {"containers": [{"name": "speaker"}, {"name": "frr"}]},
            "status": {"containerStatuses": [{"name": "frr", "restartCount": 2}]}});
        assert_eq!(
            containers(&pod),
            [("speaker".to_string(), 0), ("frr".to_string(), 2)]
        );
    }
}
