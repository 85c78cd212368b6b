//! LB20x in doctor (`--nodes`): preflight's node rules, judged on every selected node, except
//! the memberlist port: with MetalLB installed, 7946 in use is the speaker, as expected.

use crate::checks::Outcome;
use crate::checks::model::CheckSpec;
use crate::checks::preflight::node;
use crate::facts::doctor::DoctorFacts;

/// The checks `--nodes` runs once per selected node.
pub const PER_NODE: &[&str] = &[
    "LB200", "LB201", "LB202", "LB203", "LB204", "LB205", "LB206",
];

const NODE: &[&str] = &["LB200"];

// One line per check reads as the catalog it is.
#[rustfmt::skip]
pub fn specs() -> Vec<CheckSpec<DoctorFacts>> {
    let spec = |id, title, depends_on, rule| CheckSpec {
        id,
        title,
        area: "node",
        depends_on,
        can_become_true: false,
        rule,
    };
    vec![
        spec("LB200", "node can be checked", &[], |f: &DoctorFacts| node::host(&f.preflight)),
        spec("LB201", "ARP sysctls for the kube-proxy mode", NODE, |f: &DoctorFacts| node::arp_sysctls(&f.preflight)),
        spec("LB202", "IPVS kernel modules", NODE, |f: &DoctorFacts| node::ipvs_modules(&f.preflight)),
        spec("LB203", "reverse-path filter not strict", NODE, |f: &DoctorFacts| node::rp_filter(&f.preflight)),
        spec("LB204", "proxy ARP off", NODE, |f: &DoctorFacts| node::proxy_arp(&f.preflight)),
        spec("LB205", "IP forwarding on", NODE, |f: &DoctorFacts| node::ip_forward(&f.preflight)),
        spec("LB206", "memberlist port 7946 in use by the speaker", NODE, memberlist),
    ]
}

/// The speaker binds 7946 (TCP and UDP) on the host network when memberlist is on; a free
/// port means no speaker runs memberlist on this node.
fn memberlist(f: &DoctorFacts) -> Outcome {
    let (name, n) = match node::node(&f.preflight) {
        Ok(n) => n,
        Err(o) => return o,
    };
    let p = &n.memberlist;
    if !p.readable {
        return Outcome::skip("cannot read /proc/net/tcp and /proc/net/udp");
    }
    match (p.tcp_free, p.udp_free) {
        (false, false) => Outcome::pass(format!(
            "port {} is in use (TCP and UDP), as MetalLB's speaker does for memberlist",
            p.port
        )),
        (true, true) => Outcome::warn(
            format!(
                "port {} is free on {name}: no speaker runs memberlist on this node (memberlist disabled, or no speaker here; see LB406)",
                p.port
            ),
            format!(
                "kubectl -n {} get pods -l component=speaker -o wide --field-selector spec.nodeName={name}",
                f.metallb_namespace
            ),
        ),
        (tcp_free, _) => Outcome::warn(
            format!(
                "port {} is in use for {} only: memberlist needs both TCP and UDP",
                p.port,
                if tcp_free { "UDP" } else { "TCP" }
            ),
            format!(
                "find the owner on the node: ss -lntup 'sport = :{}'",
                p.port
            ),
        ),
    }
}
