//! LB412-LB415: the pools MetalLB really uses: objects outside its namespace (ignored), pools no
//! L2Advertisement covers (assigned but never announced), exhausted pools, overlapping pools.

use super::metallb_facts;
use super::services::{load_balancers, pending_services};
use crate::checks::Outcome;
use crate::checks::preflight::{all_of, list, read};
use crate::facts::doctor::DoctorFacts;
use crate::metallb::pools::covers;
use crate::net::pool::Pool;

/// Share of a pool's addresses in use from which it counts as nearly exhausted.
const NEARLY_EXHAUSTED_PERCENT: i64 = 90;

fn in_namespace<'a, T: kube::Resource>(items: &'a [T], ns: &str) -> Vec<&'a T> {
    items
        .iter()
        .filter(|i| i.meta().namespace.as_deref() == Some(ns))
        .collect()
}

fn name_of<T: kube::Resource>(item: &T) -> &str {
    item.meta().name.as_deref().unwrap_or("")
}

pub fn foreign_namespaces(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let pools = read!(m.pools);
    let ads = read!(m.l2_advertisements);
    let foreign: Vec<String> = pools
        .iter()
        .map(|p| ("IPAddressPool", &p.metadata))
        .chain(ads.iter().map(|a| ("L2Advertisement", &a.metadata)))
        .filter(|(_, meta)| meta.namespace.as_deref() != Some(ns))
        .map(|(kind, meta)| format!("{kind} {}", super::qualified(meta)))
        .collect();
    let Some(first) = foreign.first() else {
        return Outcome::pass(format!(
            "every IPAddressPool and L2Advertisement is in {ns}"
        ));
    };
    let (kind, rest) = first.split_once(' ').unwrap_or(("", first));
    let (other_ns, name) = rest.split_once('/').unwrap_or(("", rest));
    let resource = kind.to_ascii_lowercase();
    Outcome::fail(
        format!(
            "{} MetalLB object{} outside namespace {ns}, which MetalLB ignores: {}",
            foreign.len(),
            if foreign.len() == 1 { "" } else { "s" },
            list(&foreign, 3)
        ),
        format!(
            "move it: kubectl -n {other_ns} get {resource} {name} -o json | jq '.metadata.namespace=\"{ns}\" | del(.metadata.uid,.metadata.resourceVersion,.metadata.creationTimestamp,.metadata.managedFields,.status)' | kubectl create -f - && kubectl -n {other_ns} delete {resource} {name}"
        ),
    )
}

pub fn advertised(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let pools = in_namespace(read!(m.pools), ns);
    let ads = in_namespace(read!(m.l2_advertisements), ns);
    if pools.is_empty() {
        return Outcome::warn(
            format!("no IPAddressPool in {ns}: LoadBalancer services get no address"),
            crate::invocation::command_line(
                "install --pool 192.168.1.240-192.168.1.250 (a free range of the nodes' segment)",
            ),
        );
    }
    let uncovered: Vec<&str> = pools
        .iter()
        .filter(|p| !ads.iter().any(|a| covers(&a.spec, p)))
        .map(|p| name_of(*p))
        .collect();
    let Some(first) = uncovered.first() else {
        return Outcome::pass(all_of(
            pools.len(),
            "pool is announced by an L2Advertisement",
            "pools are announced by an L2Advertisement",
        ));
    };
    let names: Vec<String> = uncovered.iter().map(|s| s.to_string()).collect();
    Outcome::fail(
        format!(
            "{} of {} pools have no L2Advertisement ({}): their addresses are assigned but nobody answers ARP for them",
            uncovered.len(),
            pools.len(),
            list(&names, 3)
        ),
        format!(
            "printf 'apiVersion: metallb.io/v1beta1\\nkind: L2Advertisement\\nmetadata: {{name: {first}, namespace: {ns}}}\\nspec: {{ipAddressPools: [{first}]}}\\n' | kubectl apply -f -"
        ),
    )
}

pub fn capacity(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let pools = in_namespace(read!(m.pools), ns);
    let pending = m
        .services
        .as_ref()
        .map(|s| pending_services(&load_balancers(s)).len())
        .unwrap_or(0);
    let mut exhausted = Vec::new();
    let mut nearly = Vec::new();
    let mut counted = 0;
    for pool in &pools {
        let Some(s) = &pool.status else { continue };
        counted += 1;
        let assigned = s.assigned_ipv4 + s.assigned_ipv6;
        let available = s.available_ipv4 + s.available_ipv6;
        let total = assigned + available;
        let name = name_of(*pool);
        if total > 0 && available == 0 {
            exhausted.push(format!("{name} ({assigned} of {total} assigned)"));
        } else if total > 0 && assigned * 100 >= total * NEARLY_EXHAUSTED_PERCENT {
            nearly.push(format!("{name} ({assigned} of {total} assigned)"));
        }
    }
    let hint = format!(
        "add addresses to the pool (kubectl -n {ns} edit ipaddresspool NAME) or free addresses by deleting unused LoadBalancer services"
    );
    if !exhausted.is_empty() {
        let message = format!(
            "{} pool{} exhausted: {}",
            exhausted.len(),
            if exhausted.len() == 1 { " is" } else { "s are" },
            list(&exhausted, 3)
        );
        return if pending > 0 {
            Outcome::fail(
                format!("{message}; {pending} LoadBalancer services wait for an address"),
                hint,
            )
        } else {
            Outcome::warn(
                format!("{message}; the next LoadBalancer service will stay pending"),
                hint,
            )
        };
    }
    if !nearly.is_empty() {
        return Outcome::warn(
            format!(
                "nearly exhausted (at least {NEARLY_EXHAUSTED_PERCENT}% assigned): {}",
                list(&nearly, 3)
            ),
            hint,
        );
    }
    if counted == 0 {
        return Outcome::pass("no pool reports its usage yet");
    }
    Outcome::pass(all_of(
        counted,
        "pool has free addresses",
        "pools have free addresses",
    ))
}

pub fn overlaps(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let pools = in_namespace(read!(m.pools), ns);
    let mut parsed = Vec::new();
    let mut broken = Vec::new();
    for pool in &pools {
        match Pool::from_addresses(&pool.spec.addresses) {
            Ok(p) => parsed.push((name_of(*pool), p)),
            Err(e) => broken.push(format!("{}: {e}", name_of(*pool))),
        }
    }
    let mut shared = Vec::new();
    for (i, (a, pa)) in parsed.iter().enumerate() {
        for (b, pb) in &parsed[i + 1..] {
            let overlap = pa.overlap(pb);
            if let Some(first) = overlap.first() {
                shared.push(format!("{a} and {b} share {first}"));
            }
        }
    }
    if !broken.is_empty() {
        return Outcome::fail(
            format!("pools with invalid addresses: {}", list(&broken, 2)),
            format!("kubectl -n {ns} edit ipaddresspool NAME"),
        );
    }
    if !shared.is_empty() {
        return Outcome::fail(
            format!(
                "overlapping pools (MetalLB may hand out one address twice): {}",
                list(&shared, 2)
            ),
            format!(
                "remove the shared range from one of them: kubectl -n {ns} edit ipaddresspool NAME"
            ),
        );
    }
    match parsed.len() {
        1 => Outcome::pass("1 pool, nothing it could overlap"),
        n => Outcome::pass(format!("{n} pools, no overlap")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{NS, advertisement, lb_service, obj, pool, with};
    use super::*;
    use crate::checks::Status;
    use serde_json::json;

    #[test]
    fn foreign_namespaces_table() {
        assert_eq!(foreign_namespaces(&with(|_| {})).status, Status::Pass);
        let o = foreign_namespaces(&with(|m| {
            m.pools.as_mut().unwrap().push(obj(pool(
                "default",
                "lab",
                &["10.0.0.1-10.0.0.9"],
                0,
                9,
            )));
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "1 MetalLB object outside namespace metallb-system, which MetalLB ignores: IPAddressPool default/lab"
        );
        let hint = o.hint.unwrap();
        assert!(
            hint.starts_with("move it: kubectl -n default get ipaddresspool lab"),
            "{hint}"
        );
        assert!(hint.ends_with("kubectl -n default delete ipaddresspool lab"));
    }

    #[test]
    fn advertised_table() {
        let cases = [
            (json!({"ipAddressPools": ["default"]}), Status::Pass),
            (json!({}), Status::Pass),
            (
                json!({"ipAddressPoolSelectors": [{"matchLabels": {"zone": "a"}}]}),
                Status::Pass,
            ),
            (
                json!({"ipAddressPoolSelectors": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}),
                Status::Pass,
            ),
            (json!({"ipAddressPools": ["other"]}), Status::Fail),
            (
                json!({"ipAddressPoolSelectors": [{"matchLabels": {"zone": "b"}}]}),
                Status::Fail,
            ),
            (
                json!({"ipAddressPoolSelectors": [{"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}]}),
                Status::Fail,
            ),
        ];
        for (spec, want) in cases {
            let o = advertised(&with(|m| {
                m.l2_advertisements = Ok(vec![obj(advertisement("l2", spec.clone()))])
            }));
            assert_eq!(o.status, want, "{spec}: {o:?}");
        }
        let o = advertised(&with(|m| m.l2_advertisements = Ok(vec![])));
        assert_eq!(
            o.message,
            "1 of 1 pools have no L2Advertisement (default): their addresses are assigned but nobody answers ARP for them"
        );
        assert!(
            o.hint
                .unwrap()
                .contains("spec: {ipAddressPools: [default]}")
        );
        // An advertisement outside MetalLB's namespace covers nothing.
        let o = advertised(&with(|m| {
            let mut ad = advertisement("l2", json!({}));
            ad["metadata"]["namespace"] = json!("default");
            m.l2_advertisements = Ok(vec![obj(ad)]);
        }));
        assert_eq!(o.status, Status::Fail);
        let o = advertised(&with(|m| m.pools = Ok(vec![])));
        assert_eq!(o.status, Status::Warn);
    }

    #[test]
    fn capacity_table() {
        assert_eq!(
            capacity(&with(|_| {})).message,
            "the 1 pool has free addresses"
        );
        let o = capacity(&with(|m| {
            m.pools = Ok(vec![obj(pool(
                NS,
                "default",
                &["192.168.1.240-192.168.1.241"],
                2,
                0,
            ))])
        }));
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.message
                .starts_with("1 pool is exhausted: default (2 of 2 assigned)")
        );
        let o = capacity(&with(|m| {
            m.pools = Ok(vec![obj(pool(
                NS,
                "default",
                &["192.168.1.240-192.168.1.241"],
                2,
                0,
            ))]);
            m.services
                .as_mut()
                .unwrap()
                .push(obj(lb_service("default", "late", None, false)));
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .ends_with("1 LoadBalancer services wait for an address")
        );
        let o = capacity(&with(|m| {
            m.pools = Ok(vec![obj(pool(
                NS,
                "default",
                &["192.168.1.240-192.168.1.249"],
                9,
                1,
            ))])
        }));
        assert_eq!(o.status, Status::Warn);
        assert!(o.message.starts_with("nearly exhausted"));
    }

    #[test]
    fn overlaps_table() {
        assert_eq!(overlaps(&with(|_| {})).status, Status::Pass);
        let o = overlaps(&with(|m| {
            m.pools
                .as_mut()
                .unwrap()
                .push(obj(pool(NS, "b", &["192.168.1.248/29"], 0, 8)));
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("default and b share 192.168.1.248-192.168.1.250"),
            "{o:?}"
        );
        let o = overlaps(&with(|m| {
            m.pools
                .as_mut()
                .unwrap()
                .push(obj(pool(NS, "bad", &["192.168.1.300"], 0, 0)));
        }));
        assert!(
            o.message.starts_with("pools with invalid addresses: bad:"),
            "{o:?}"
        );
    }
}
