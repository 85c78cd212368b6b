//! LB501-LB503: LoadBalancer services: pending ones (with MetalLB's reason), assigned ones that no
//! node announces, and `externalTrafficPolicy: Local` ones whose announcing node has no ready
//! endpoint (MetalLB announces, kube-proxy drops the traffic).

use k8s_openapi::api::core::v1::{Event, Service};
use k8s_openapi::jiff::Timestamp;

use super::metallb_facts;
use super::qualified;
use crate::checks::Outcome;
use crate::checks::preflight::{all_of, list, read};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::MetalLbFacts;
pub(crate) use crate::k8s_status::ingress_ips;
use crate::k8s_status::is_metallbs_load_balancer;

pub const POOL_ANNOTATION: &str = "metallb.io/address-pool";
pub const IPS_ANNOTATION: &str = "metallb.io/loadBalancerIPs";
pub const SHARING_ANNOTATION: &str = "metallb.io/allow-shared-ip";

/// Services MetalLB serves: type LoadBalancer without a `loadBalancerClass` of someone else.
pub(crate) fn load_balancers(services: &[Service]) -> Vec<&Service> {
    services
        .iter()
        .filter(|s| is_metallbs_load_balancer(s))
        .collect()
}

pub(crate) fn pending_services<'a>(lbs: &[&'a Service]) -> Vec<&'a Service> {
    lbs.iter()
        .copied()
        .filter(|s| ingress_ips(s).is_empty())
        .collect()
}

fn annotation<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service
        .metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The message of the latest `AllocationFailed` event of the service.
fn allocation_failure<'a>(events: &'a [Event], service: &Service) -> Option<&'a str> {
    events
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("AllocationFailed")
                && e.involved_object.kind.as_deref() == Some("Service")
                && e.involved_object.name == service.metadata.name
                && e.involved_object.namespace == service.metadata.namespace
        })
        .max_by_key(|e| event_time(e))
        .and_then(|e| e.message.as_deref())
}

/// What the service asks for: a pool, addresses, a sharing key.
fn requests(service: &Service) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(pool) = annotation(service, POOL_ANNOTATION) {
        out.push(format!("requests pool {pool}"));
    }
    let ip = annotation(service, IPS_ANNOTATION)
        .map(str::to_string)
        .or_else(|| {
            service
                .spec
                .as_ref()?
                .load_balancer_ip
                .clone()
                .filter(|s| !s.is_empty())
        });
    if let Some(ip) = ip {
        out.push(format!("requests {ip}"));
    }
    if let Some(key) = annotation(service, SHARING_ANNOTATION) {
        out.push(format!("shares with key {key}"));
    }
    out
}

pub fn pending(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let services = read!(m.services);
    let events = read!(m.events);
    let lbs = load_balancers(services);
    let pending = pending_services(&lbs);
    let Some(first) = pending.first() else {
        if lbs.is_empty() {
            return Outcome::pass("no LoadBalancer services yet");
        }
        return Outcome::pass(all_of(
            lbs.len(),
            "LoadBalancer service has an address",
            "LoadBalancer services have an address",
        ));
    };
    let mut exhausted = false;
    let described: Vec<String> = pending
        .iter()
        .map(|s| {
            let mut why = match allocation_failure(events, s) {
                Some(msg) => {
                    exhausted |= msg.contains("no available IPs");
                    vec![format!("AllocationFailed: {msg}")]
                }
                None => vec!["no AllocationFailed event".to_string()],
            };
            why.extend(requests(s));
            format!("{} ({})", qualified(&s.metadata), why.join("; "))
        })
        .collect();
    let name = first.metadata.name.as_deref().unwrap_or("");
    let svc_ns = first.metadata.namespace.as_deref().unwrap_or("");
    let hint = if exhausted {
        format!(
            "the pool is exhausted (LB414): add addresses (kubectl -n {ns} edit ipaddresspool NAME) or delete unused LoadBalancer services"
        )
    } else {
        format!(
            "kubectl -n {svc_ns} describe service {name}; kubectl -n {ns} logs deployment/controller"
        )
    };
    Outcome::fail(
        format!(
            "{} of {} LoadBalancer services have no address: {}",
            pending.len(),
            lbs.len(),
            list(&described, 3)
        ),
        hint,
    )
}

/// The node whose speaker announces the service (its ServiceL2Status), if any.
pub(crate) fn announcer<'a>(m: &'a MetalLbFacts, service: &Service) -> Option<&'a str> {
    m.l2_statuses.as_ref().ok()?.iter().find_map(|st| {
        let s = st.status.as_ref()?;
        (s.service_name == service.metadata.name
            && s.service_namespace == service.metadata.namespace)
            .then_some(s.node.as_deref())
            .flatten()
    })
}

fn assigned<'a>(lbs: &[&'a Service]) -> Vec<&'a Service> {
    lbs.iter()
        .copied()
        .filter(|s| !ingress_ips(s).is_empty())
        .collect()
}

fn with_ips(service: &Service) -> String {
    let ips: Vec<String> = ingress_ips(service)
        .iter()
        .map(ToString::to_string)
        .collect();
    format!("{} ({})", qualified(&service.metadata), ips.join(", "))
}

pub fn announced(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let services = read!(m.services);
    let _ = read!(m.l2_statuses);
    let lbs = load_balancers(services);
    let assigned = assigned(&lbs);
    let silent: Vec<String> = assigned
        .iter()
        .filter(|s| announcer(m, s).is_none())
        .map(|s| with_ips(s))
        .collect();
    if silent.is_empty() {
        if assigned.is_empty() {
            return Outcome::pass("no service has an address to announce yet");
        }
        return Outcome::pass(all_of(
            assigned.len(),
            "assigned service is announced by a node",
            "assigned services are announced by a node",
        ));
    }
    Outcome::fail(
        format!(
            "assigned but nobody announces {} of {} services: {}",
            silent.len(),
            assigned.len(),
            list(&silent, 3)
        ),
        format!(
            "an L2Advertisement must cover the address's pool (LB413) and select a node with a ready speaker (LB406); externalTrafficPolicy Local also needs a ready endpoint; kubectl -n {ns} logs daemonset/speaker"
        ),
    )
}

pub fn local_endpoints(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let services = read!(m.services);
    let slices = read!(m.endpoint_slices);
    let lbs = load_balancers(services);
    let local: Vec<&Service> = assigned(&lbs)
        .into_iter()
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|s| s.external_traffic_policy.as_deref())
                == Some("Local")
        })
        .collect();
    let mut broken = Vec::new();
    for svc in &local {
        let Some(node) = announcer(m, svc) else {
            continue;
        };
        let has_local = slices
            .iter()
            .filter(|sl| {
                sl.metadata.namespace == svc.metadata.namespace
                    && sl
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("kubernetes.io/service-name"))
                        == svc.metadata.name.as_ref()
            })
            .flat_map(|sl| &sl.endpoints)
            .any(|e| {
                e.node_name.as_deref() == Some(node)
                    && e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
            });
        if !has_local {
            broken.push(format!("{} announced from {node}", with_ips(svc)));
        }
    }
    if broken.is_empty() {
        if local.is_empty() {
            return Outcome::pass("no announced service uses externalTrafficPolicy Local");
        }
        return Outcome::pass(all_of(
            local.len(),
            "externalTrafficPolicy Local service has a ready endpoint on its announcing node",
            "externalTrafficPolicy Local services have a ready endpoint on their announcing node",
        ));
    }
    Outcome::fail(
        format!(
            "externalTrafficPolicy Local service announced from a node without a ready endpoint (traffic is dropped there): {}",
            list(&broken, 3)
        ),
        "check the pods behind the service (kubectl get endpointslices -l kubernetes.io/service-name=NAME); MetalLB moves the announcement once a node has a ready endpoint",
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{event, l2_status, lb_service, obj, slice, with};
    use super::*;
    use crate::checks::Status;
    use serde_json::json;

    #[test]
    fn pending_table() {
        let o = pending(&with(|_| {}));
        assert_eq!(o.message, "all 2 LoadBalancer services have an address");

        let o = pending(&with(|m| {
            let mut svc = lb_service("shop", "cart", None, false);
            svc["metadata"]["annotations"] =
                json!({POOL_ANNOTATION: "default", SHARING_ANNOTATION: "k1"});
            m.services.as_mut().unwrap().push(obj(svc));
            m.events = Ok(vec![
                obj(event("shop", "cart", "old failure", "2026-11-25T09:00:00Z")),
                obj(event(
                    "shop",
                    "cart",
                    "no available IPs",
                    "2026-11-25T09:05:00Z",
                )),
                obj(event("shop", "other", "unrelated", "2026-11-25T09:06:00Z")),
            ]);
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "1 of 3 LoadBalancer services have no address: shop/cart (AllocationFailed: no available IPs; requests pool default; shares with key k1)"
        );
        assert!(o.hint.unwrap().starts_with("the pool is exhausted (LB414)"));

        let o = pending(&with(|m| {
            let mut svc = lb_service("shop", "cart", None, false);
            svc["spec"]["loadBalancerIP"] = json!("10.9.9.9");
            m.services.as_mut().unwrap().push(obj(svc));
        }));
        assert!(
            o.message
                .ends_with("shop/cart (no AllocationFailed event; requests 10.9.9.9)"),
            "{o:?}"
        );
        assert!(
            o.hint
                .unwrap()
                .starts_with("kubectl -n shop describe service cart")
        );

        // Another implementation's class is not MetalLB's business.
        let o = pending(&with(|m| {
            let mut svc = lb_service("shop", "cart", None, false);
            svc["spec"]["loadBalancerClass"] = json!("kube-vip.io/kube-vip-class");
            m.services.as_mut().unwrap().push(obj(svc));
        }));
        assert_eq!(o.status, Status::Pass);
    }

    #[test]
    fn announced_table() {
        assert_eq!(announced(&with(|_| {})).status, Status::Pass);
        let o = announced(&with(|m| {
            m.l2_statuses.as_mut().unwrap().remove(0);
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "assigned but nobody announces 1 of 2 services: default/web (192.168.1.240)"
        );
    }

    #[test]
    fn local_endpoints_table() {
        let o = local_endpoints(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        // MetalLB announces local from w1, whose endpoint is elsewhere.
        let o = local_endpoints(&with(|m| {
            m.l2_statuses = Ok(vec![
                obj(l2_status("default", "web", "w1")),
                obj(l2_status("default", "local", "w1")),
            ]);
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .ends_with("default/local (192.168.1.241) announced from w1"),
            "{o:?}"
        );
        // The endpoint on the announcing node is not ready.
        let o = local_endpoints(&with(|m| {
            m.endpoint_slices = Ok(vec![obj(slice(
                "default",
                "local",
                &[("10.244.2.7", "w2", false)],
            ))]);
        }));
        assert_eq!(o.status, Status::Fail);
    }
}
