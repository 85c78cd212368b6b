//! Large generated clusters for benchmarks: N nodes (the first three a tainted, excluded control
//! plane), kube-proxy in IPVS mode with strictARP, M LoadBalancer Services spread over app
//! namespaces (100 per namespace, each namespace with a two-replica backend), and optionally
//! MetalLB with one pool big enough for every Service. Workloads come up through the normal
//! boot of the simulated cluster, so the result is what the controllers make of it.

use serde_json::{Value, json};

const SERVICES_PER_NAMESPACE: usize = 100;
const NS: &str = "metallb-system";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generate {
    pub nodes: usize,
    pub services: usize,
    pub metallb: bool,
}

impl Generate {
    pub fn objects(&self) -> Vec<Value> {
        let mut out = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
        ];
        out.extend((0..self.nodes).map(node));
        out.extend(kube_proxy());
        let namespaces = self.services.div_ceil(SERVICES_PER_NAMESPACE);
        for n in 0..namespaces {
            let ns = format!("app-{n:03}");
            out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
            out.push(backend(&ns));
            let first = n * SERVICES_PER_NAMESPACE;
            let last = self.services.min(first + SERVICES_PER_NAMESPACE);
            out.extend((first..last).map(|i| service(&ns, i)));
        }
        if self.metallb {
            out.extend(metallb(self.services));
        }
        out
    }
}

/// Node `i`: 10.10.x.y addresses, a /24 pod CIDR each; nodes 0..3 are the control plane.
fn node(i: usize) -> Value {
    let name = format!("node-{i:04}");
    let ip = format!("10.10.{}.{}", 1 + i / 250, 1 + i % 250);
    let mut labels = json!({"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"});
    let mut spec = json!({"podCIDR": format!("10.{}.{}.0/24", 100 + i / 256, i % 256)});
    if i < 3 {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        spec["taints"] =
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
    }
    spec["podCIDRs"] = json!([spec["podCIDR"].clone()]);
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                   "nodeInfo": {"architecture": "amd64", "kernelVersion": "6.12.57", "kubeletVersion": "v1.36.0",
                                "containerRuntimeVersion": "containerd://2.1.4", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 13 (trixie)"}}})
}

fn kube_proxy() -> Vec<Value> {
    let config = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nclusterCIDR: 10.100.0.0/14\nipvs:\n  excludeCIDRs: null\n  minSyncPeriod: 0s\n  scheduler: \"\"\n  strictARP: true\n  syncPeriod: 0s\nkind: KubeProxyConfiguration\nmode: ipvs\n";
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
            "data": {"config.conf": config, "kubeconfig.conf": "apiVersion: v1\nkind: Config\n"}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}], "nodeSelector": {"kubernetes.io/os": "linux"},
                                           "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.0",
                                                           "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
                                                           "volumeMounts": [{"name": "kube-proxy", "mountPath": "/var/lib/kube-proxy"}]}],
                                           "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}}]}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}}),
    ]
}

fn backend(ns: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "backend"}},
                 "template": {"metadata": {"labels": {"app": "backend"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.29", "ports": [{"name": "http", "containerPort": 80}]}]}}}})
}

fn service(ns: &str, i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("svc-{i:05}"), "namespace": ns},
        "spec": {"type": "LoadBalancer", "selector": {"app": "backend"}, "externalTrafficPolicy": "Cluster",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}})
}

/// A namespaced `metallb.io` CRD with an open schema and a status subresource.
pub fn metallb_crd(kind: &str, plural: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": format!("{plural}.metallb.io")},
        "spec": {"group": "metallb.io", "scope": "Namespaced",
                 "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": kind.to_lowercase()},
                 "versions": [{"name": "v1beta1", "served": true, "storage": true, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

/// MetalLB's objects as the simulation reads them: namespace, the CRDs the stand-in uses (open
/// schemas; bgppeers with its conversion webhook), webhook Secret, Service and configuration,
/// controller and speaker. The full install with schemas is what `lbctl install` renders; tests
/// and benchmarks that only need MetalLB's behaviour use this.
pub fn metallb_install() -> Vec<Value> {
    let labels = |c: &str| json!({"app": "metallb", "component": c});
    let mut bgppeers = metallb_crd("BGPPeer", "bgppeers");
    bgppeers["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
        "clientConfig": {"caBundle": "", "service": {"name": "metallb-webhook-service", "namespace": NS, "path": "/convert"}}}});
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
        metallb_crd("IPAddressPool", "ipaddresspools"),
        metallb_crd("L2Advertisement", "l2advertisements"),
        metallb_crd("ServiceL2Status", "servicel2statuses"),
        metallb_crd("ConfigurationState", "configurationstates"),
        bgppeers,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "metallb-webhook-cert", "namespace": NS}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metallb-webhook-service", "namespace": NS},
            "spec": {"selector": {"component": "controller"}, "ports": [{"port": 443, "targetPort": 9443}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "controller", "namespace": NS, "labels": labels("controller")},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels("controller")},
                     "template": {"metadata": {"labels": labels("controller")},
                                  "spec": {"containers": [{"name": "controller", "image": "quay.io/metallb/controller:v0.16.1",
                                                           "ports": [{"name": "webhook-server", "containerPort": 9443}]}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "speaker", "namespace": NS, "labels": labels("speaker")},
            "spec": {"selector": {"matchLabels": labels("speaker")},
                     "template": {"metadata": {"labels": labels("speaker")},
                                  "spec": {"hostNetwork": true, "nodeSelector": {"kubernetes.io/os": "linux"},
                                           "containers": [{"name": "speaker", "image": "quay.io/metallb/speaker:v0.16.1"}],
                                           "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "metallb-webhook-configuration"},
            "webhooks": [{"name": "ipaddresspoolvalidationwebhook.metallb.io", "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"name": "metallb-webhook-service", "namespace": NS, "path": "/validate-metallb-io-v1beta1-ipaddresspool"}},
                "rules": [{"apiGroups": ["metallb.io"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"], "resources": ["ipaddresspools"]}]}]}),
    ]
}

/// [`metallb_install`] plus a pool from 10.10.200.0 up with room for every Service, and an
/// L2Advertisement for it.
fn metallb(services: usize) -> Vec<Value> {
    let last = 200 * 256 + services + 16;
    let pool_end = format!("10.10.{}.{}", (last / 256).min(255), last % 256);
    let mut out = metallb_install();
    out.push(json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "lan", "namespace": NS},
        "spec": {"addresses": [format!("10.10.200.0-{pool_end}")]}}));
    out.push(json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": "lan", "namespace": NS},
        "spec": {"ipAddressPools": ["lan"]}}));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::meta;

    fn count(objects: &[Value], kind: &str) -> usize {
        objects.iter().filter(|o| o["kind"] == kind).count()
    }

    #[test]
    fn sizes_follow_the_request() {
        let objects = Generate {
            nodes: 1000,
            services: 5000,
            metallb: true,
        }
        .objects();
        assert_eq!(count(&objects, "Node"), 1000);
        assert_eq!(count(&objects, "Service"), 5001, "plus the webhook Service");
        assert_eq!(
            count(&objects, "Deployment"),
            51,
            "50 backends and MetalLB's controller"
        );
        let names: std::collections::HashSet<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "Node")
            .map(meta::name)
            .collect();
        assert_eq!(names.len(), 1000);
        let ips: std::collections::HashSet<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "Node")
            .map(|n| n["status"]["addresses"][0]["address"].as_str().unwrap())
            .collect();
        assert_eq!(ips.len(), 1000, "every node has its own address");
        let without = Generate {
            nodes: 10,
            services: 7,
            metallb: false,
        }
        .objects();
        assert_eq!(count(&without, "IPAddressPool"), 0);
        assert_eq!(count(&without, "Service"), 7);
    }

    #[test]
    fn pool_has_room_for_every_service_and_avoids_nodes() {
        let objects = Generate {
            nodes: 1000,
            services: 5000,
            metallb: true,
        }
        .objects();
        let pool = objects
            .iter()
            .find(|o| o["kind"] == "IPAddressPool")
            .unwrap();
        let ranges = crate::cluster::metallb::pool_ranges(pool).unwrap();
        assert!(ranges.capacity().0 >= 5000);
        let node_ips: Vec<std::net::IpAddr> = objects
            .iter()
            .filter(|o| o["kind"] == "Node")
            .map(|n| {
                n["status"]["addresses"][0]["address"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        crate::cluster::metallb::addresses::validate(&[ranges], &node_ips).unwrap();
    }
}
