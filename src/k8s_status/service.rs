//! What a Service's status and spec say about its load balancer.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

/// `status.loadBalancer.ingress[].ip`, in status order (hostnames-only entries are skipped).
pub fn ingress_ips(service: &Service) -> Vec<IpAddr> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse().ok())
        .collect()
}

/// `type: LoadBalancer` with no `loadBalancerClass` or MetalLB's own: the Services MetalLB
/// serves (another class belongs to another implementation).
pub fn is_metallbs_load_balancer(service: &Service) -> bool {
    service.spec.as_ref().is_some_and(|spec| {
        spec.type_.as_deref() == Some("LoadBalancer")
            && spec
                .load_balancer_class
                .as_deref()
                .is_none_or(|c| c == "metallb.io/metallb")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(spec: serde_json::Value, status: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": spec, "status": status}))
            .unwrap()
    }

    #[test]
    fn ingress_addresses_in_order_without_hostnames() {
        let s = service(
            json!({"type": "LoadBalancer"}),
            json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example"}, {"ip": "fd00::1"}]}}),
        );
        let ips: Vec<String> = ingress_ips(&s).iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.0.0.2", "fd00::1"]);
        assert!(ingress_ips(&service(json!({}), json!({}))).is_empty());
    }

    #[test]
    fn only_metallbs_load_balancers() {
        assert!(is_metallbs_load_balancer(&service(
            json!({"type": "LoadBalancer"}),
            json!({})
        )));
        assert!(is_metallbs_load_balancer(&service(
            json!({"type": "LoadBalancer", "loadBalancerClass": "metallb.io/metallb"}),
            json!({})
        )));
        assert!(!is_metallbs_load_balancer(&service(
            json!({"type": "LoadBalancer", "loadBalancerClass": "other.io/lb"}),
            json!({})
        )));
        assert!(!is_metallbs_load_balancer(&service(
            json!({"type": "ClusterIP"}),
            json!({})
        )));
    }
}
