//! The human rendering of an [`Explanation`]: the seven steps, then the verdict.

use std::fmt::Write;

use super::Explanation;

pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "service {} (externalTrafficPolicy {})",
        e.service, e.external_traffic_policy
    );
    match (e.address.ips.is_empty(), &e.address.pool) {
        (true, _) => {
            let why = e
                .address
                .allocation_failure
                .as_deref()
                .unwrap_or("no AllocationFailed event");
            let _ = writeln!(w, "  address:     none ({why})");
        }
        (false, Some(pool)) => {
            let _ = writeln!(
                w,
                "  address:     {} from pool {pool}",
                e.address.ips.join(", ")
            );
        }
        (false, None) => {
            let _ = writeln!(
                w,
                "  address:     {} (in no MetalLB pool)",
                e.address.ips.join(", ")
            );
        }
    }
    if e.advertisements.is_empty() {
        let _ = writeln!(w, "  advertised:  no L2Advertisement");
    }
    for a in &e.advertisements {
        let applies = match (a.selects_pool, a.selects_service) {
            (true, true) => "applies",
            (false, _) => "does not select the pool",
            (true, false) => "serviceSelectors do not select the Service",
        };
        let ifaces = if a.interfaces.is_empty() {
            "all interfaces".to_string()
        } else {
            format!("interfaces {}", a.interfaces.join(", "))
        };
        let _ = writeln!(
            w,
            "  advertised:  L2Advertisement {}: {applies} (nodes {}; {ifaces})",
            a.name,
            if a.nodes.is_empty() {
                "none".into()
            } else {
                a.nodes.join(", ")
            }
        );
    }
    let _ = writeln!(
        w,
        "  endpoints:   {} serving{}",
        e.endpoints.serving,
        if e.endpoints.nodes.is_empty() {
            String::new()
        } else {
            format!(" (on {})", e.endpoints.nodes.join(", "))
        }
    );
    let _ = writeln!(w, "  candidates:");
    for c in &e.candidates {
        let mark = if c.kept { "kept   " } else { "dropped" };
        let _ = writeln!(w, "    {mark} {}: {}", c.node, c.reason);
    }
    if let Some(el) = &e.election {
        let _ = writeln!(
            w,
            "  election:    sha256(node#{}), lowest first",
            el.address
        );
        for (i, r) in el.order.iter().enumerate() {
            let _ = writeln!(w, "    {}. {} {}", i + 1, r.node, &r.sha256[..16]);
        }
        let _ = writeln!(
            w,
            "  predicted:   {}",
            el.predicted.as_deref().unwrap_or("nobody announces")
        );
    }
    let statuses: Vec<String> = e
        .status
        .l2_statuses
        .iter()
        .map(|s| {
            if s.interfaces.is_empty() {
                s.node.clone()
            } else {
                format!("{} ({})", s.node, s.interfaces.join(", "))
            }
        })
        .collect();
    let _ = writeln!(
        w,
        "  status:      ServiceL2Status {}",
        if statuses.is_empty() {
            "none".into()
        } else {
            statuses.join(", ")
        }
    );
    if let Some(ev) = &e.status.latest_event {
        let _ = writeln!(w, "  last event:  {}: {}", ev.reason, ev.message);
    }
    for n in &e.interfaces {
        let role = if n.predicted {
            "predicted"
        } else {
            "ServiceL2Status"
        };
        match &n.not_read {
            Some(why) => {
                let _ = writeln!(w, "  interfaces:  {} ({role}): not read: {why}", n.node);
            }
            None => {
                let _ = writeln!(w, "  interfaces:  {} ({role})", n.node);
                for i in &n.interfaces {
                    let mark = if i.answers { "answers" } else { "silent " };
                    let mac = i.mac.as_deref().unwrap_or("no MAC");
                    let addrs = if i.addresses.is_empty() {
                        "no address".to_string()
                    } else {
                        i.addresses.join(" ")
                    };
                    let subnet = if i.on_subnet { ", on the subnet" } else { "" };
                    let why = i
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    let _ = writeln!(w, "    {mark} {} {mac} ({addrs}{subnet}){why}", i.name);
                }
            }
        }
    }
    let facts_macs: Option<Vec<String>> = e
        .interfaces
        .iter()
        .find(|n| n.predicted && n.not_read.is_none())
        .map(|n| {
            n.answering()
                .map(|i| format!("{} {}", i.name, i.mac.as_deref().unwrap_or("no MAC")))
                .collect()
        });
    if e.wire.probed {
        let macs = if e.wire.macs.is_empty() {
            "nobody".into()
        } else {
            e.wire.macs.join(", ")
        };
        let node = match &facts_macs {
            Some(on) => format!(" (the predicted node answers on {})", on.join(", ")),
            None => e
                .wire
                .node_mac
                .as_deref()
                .map(|m| format!(" (the predicted node answers with {m})"))
                .unwrap_or_default(),
        };
        let _ = writeln!(w, "  on the wire: answered by {macs}{node}");
    } else {
        let _ = writeln!(
            w,
            "  on the wire: not probed ({})",
            e.wire.reason.as_deref().unwrap_or("")
        );
    }
    let status = if e.verdict.ok { "ok" } else { "FAIL" };
    let _ = writeln!(
        w,
        "verdict: {} {status}: {}",
        e.verdict.code.id(),
        e.verdict.message
    );
    if let Some(h) = &e.verdict.hint {
        let _ = writeln!(w, "  hint: {h}");
    }
    for warning in &e.warnings {
        let _ = writeln!(w, "warning: {} {}", warning.code.id(), warning.message);
        if let Some(h) = &warning.hint {
            let _ = writeln!(w, "  hint: {h}");
        }
    }
    out
}

/// One line for `--all`.
pub fn line(e: &Explanation) -> String {
    let ip = e.address.ips.first().map(String::as_str).unwrap_or("-");
    let node = e
        .election
        .as_ref()
        .and_then(|el| el.predicted.as_deref())
        .unwrap_or("-");
    format!(
        "{} {ip} {node} {} {}",
        e.service,
        e.verdict.code.id(),
        e.verdict.message
    )
}
