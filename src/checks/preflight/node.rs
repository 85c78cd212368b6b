//! LB20x: the host lbctl runs on, judged against what the cluster's kube-proxy mode needs, and
//! LB308: whether pool addresses are on a directly connected network of this host.

use std::net::IpAddr;

use super::{list, pools_or_skip};
use crate::checks::Outcome;
use crate::facts::cluster::{KubeProxy, ProxyConfig, Workload};
use crate::facts::{ClusterState, NodeState, PreflightFacts};
use crate::net::node::{AddressPath, NodeNetFacts};
use crate::net::sysctl::ArpConf;

/// What the cluster tells about kube-proxy's mode, for judging the node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// No cluster, or the mode is not visible.
    Unknown,
    /// Replaced by something that binds no LoadBalancer address locally.
    Replaced(String),
    Known {
        mode: String,
        strict_arp: bool,
    },
}

fn mode(f: &PreflightFacts) -> Mode {
    let Some(c) = f.cluster() else {
        return Mode::Unknown;
    };
    match &c.kube_proxy {
        Ok(KubeProxy::Replaced { name, .. }) => Mode::Replaced(name.clone()),
        Ok(KubeProxy::Found(k)) => match &k.config {
            ProxyConfig::ConfigMap {
                mode, strict_arp, ..
            } => Mode::Known {
                mode: mode.clone(),
                strict_arp: strict_arp.unwrap_or(false),
            },
            ProxyConfig::Flags {
                mode: Some(mode),
                strict_arp,
                ..
            } => Mode::Known {
                mode: mode.clone(),
                strict_arp: strict_arp.unwrap_or(false),
            },
            _ => Mode::Unknown,
        },
        _ => Mode::Unknown,
    }
}

pub(crate) fn node(f: &PreflightFacts) -> Result<(&str, &NodeNetFacts), Outcome> {
    match &f.node {
        NodeState::NotRead { reason } => Err(Outcome::skip(reason.clone())),
        NodeState::Local { hostname, facts } => Ok((hostname, facts)),
        NodeState::Remote { node, facts } => Ok((node, facts)),
        NodeState::Unreadable {
            node,
            message,
            hint,
        } => Err(Outcome::error(
            format!("node {node} could not be checked: {message}"),
            hint.clone(),
        )),
    }
}

macro_rules! node {
    ($f:expr) => {
        match node($f) {
            Ok(n) => n,
            Err(o) => return o,
        }
    };
}

/// The interfaces MetalLB would announce on from this host: those the pools are on-link on,
/// else the interface of the default route.
fn lb_interfaces(f: &PreflightFacts, n: &NodeNetFacts) -> Vec<String> {
    let mut names: Vec<String> = f
        .pools
        .iter()
        .flat_map(|p| p.pool.ranges().iter().map(|r| r.start()))
        .filter_map(|addr| match n.path_to(addr) {
            AddressPath::OnLink { interface } | AddressPath::Local { interface } => Some(interface),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        let default = IpAddr::from([0, 0, 0, 0]);
        if let Some(route) = n.routes.get(default) {
            names.push(route.interface);
        }
    }
    names.sort();
    names.dedup();
    names
}

fn value(v: Option<u8>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

pub fn host(f: &PreflightFacts) -> Outcome {
    let (hostname, n) = node!(f);
    if let NodeState::Remote { node, .. } = &f.node {
        return remote_host(f, node, n);
    }
    // Only the cluster's nodes tell a node from a workstation, whose sysctls say nothing about
    // the nodes; `--local` (no cluster contacted) says this host is one.
    if let ClusterState::Unreachable { .. } = &f.cluster {
        return Outcome::skip(format!(
            "skipped: without the cluster lbctl cannot tell whether this host ({hostname}) is one of its nodes; --local checks this host as a node"
        ));
    }
    if let Some(c) = f.cluster()
        && let Err(e) = &c.nodes
    {
        return Outcome::error(
            format!(
                "cannot tell whether this host ({hostname}) is a node of the cluster: {}",
                e.describe()
            ),
            e.hint(),
        );
    }
    if n.sysctls.is_none() {
        return Outcome::error(
            "cannot read /proc/sys/net/ipv4/conf on this host",
            "run preflight on a Linux node; --proc-root points at another proc tree",
        );
    }
    // From a workstation the local sysctls say nothing about the nodes.
    if let Some(c) = f.cluster()
        && let Ok(nodes) = &c.nodes
        && !nodes.is_empty()
    {
        let local = crate::net::interfaces::local_addresses(&n.interfaces);
        let is_node = nodes
            .iter()
            .any(|node| node.name == hostname || node.addresses.iter().any(|a| local.contains(a)));
        if !is_node {
            return Outcome::skip(format!(
                "this host ({hostname}) is not a node of the cluster; check every node from here with --nodes all"
            ));
        }
    }
    checking(f, n, &format!("host {hostname}"))
}

/// LB200's pass: what is checked and its LAN-facing interfaces.
fn checking(f: &PreflightFacts, n: &NodeNetFacts, what: &str) -> Outcome {
    let lb = lb_interfaces(f, n);
    Outcome::pass(format!(
        "checking {what} (interfaces facing the LAN: {})",
        if lb.is_empty() {
            "none found".to_string()
        } else {
            lb.join(", ")
        }
    ))
}

/// LB200 for a node read by a pod (`--nodes`): it is a node by construction.
fn remote_host(f: &PreflightFacts, node: &str, n: &NodeNetFacts) -> Outcome {
    if n.sysctls.is_none() {
        return Outcome::error(
            format!("the pod on node {node} could not read /proc/sys/net/ipv4/conf"),
            "the node-check pod needs hostNetwork and a readable /proc; see docs/node-checks.md",
        );
    }
    checking(f, n, &format!("node {node} through a pod"))
}

fn per_interface(f: &PreflightFacts, n: &NodeNetFacts) -> Vec<(String, ArpConf)> {
    let sysctls = n.sysctls.as_ref();
    lb_interfaces(f, n)
        .into_iter()
        .filter_map(|i| sysctls.map(|s| (i.clone(), s.effective(&i))))
        .collect()
}

/// The LAN-facing interfaces whose effective settings match `pred`; a skip when there are none
/// to look at.
fn interfaces_where(
    f: &PreflightFacts,
    n: &NodeNetFacts,
    pred: impl Fn(&ArpConf) -> bool,
) -> Result<Vec<String>, Outcome> {
    let confs = per_interface(f, n);
    if confs.is_empty() {
        return Err(Outcome::skip("no LAN-facing interface found"));
    }
    Ok(confs
        .into_iter()
        .filter(|(_, c)| pred(c))
        .map(|(i, _)| i)
        .collect())
}

pub fn arp_sysctls(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    let confs = per_interface(f, n);
    if confs.is_empty() {
        return Outcome::skip("no LAN-facing interface found (no default route, no pool on-link)");
    }
    let bad: Vec<String> = confs
        .iter()
        .filter(|(_, c)| c.arp_ignore.unwrap_or(0) < 1 || c.arp_announce.unwrap_or(0) != 2)
        .map(|(i, c)| {
            format!(
                "{i}: arp_ignore={} arp_announce={}",
                value(c.arp_ignore),
                value(c.arp_announce)
            )
        })
        .collect();
    let shown: Vec<String> = confs
        .iter()
        .map(|(i, c)| {
            format!(
                "{i}: arp_ignore={} arp_announce={}",
                value(c.arp_ignore),
                value(c.arp_announce)
            )
        })
        .collect();
    match mode(f) {
        Mode::Replaced(name) => Outcome::pass(format!(
            "kube-proxy is replaced by {name}; no requirement ({})",
            shown.join("; ")
        )),
        Mode::Known { mode, .. } if mode != "ipvs" => Outcome::pass(format!(
            "kube-proxy runs in {mode} mode, which needs no ARP sysctls ({})",
            shown.join("; ")
        )),
        Mode::Known { strict_arp, .. } if !bad.is_empty() => Outcome::fail(
            format!(
                "IPVS mode needs arp_ignore>=1 and arp_announce=2 in force, found {}: this node answers ARP for addresses it does not announce",
                bad.join("; ")
            ),
            if strict_arp {
                "strictARP is on but kube-proxy has not applied it here: restart kube-proxy (kubectl -n kube-system rollout restart daemonset/kube-proxy)".to_string()
            } else {
                crate::invocation::command_line(
                    "enable-strictarp   (kube-proxy then sets them at start)",
                )
            },
        ),
        Mode::Known { .. } => Outcome::pass(format!(
            "as IPVS with strictARP needs: {}",
            shown.join("; ")
        )),
        Mode::Unknown if bad.is_empty() => Outcome::pass(format!(
            "fine for every kube-proxy mode: {}",
            shown.join("; ")
        )),
        Mode::Unknown => Outcome::warn(
            format!(
                "fine for iptables and nftables mode; IPVS mode would need arp_ignore>=1 and arp_announce=2, found {}",
                bad.join("; ")
            ),
            format!(
                "if kube-proxy will run in IPVS mode, enable strictARP ({}), which sets them",
                crate::invocation::command_line("enable-strictarp")
            ),
        ),
    }
}

pub fn ipvs_modules(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    let mode = mode(f);
    let needed = match &mode {
        Mode::Known { mode, .. } if mode == "ipvs" => true,
        Mode::Unknown => false,
        Mode::Known { mode, .. } => {
            return Outcome::skip(format!("kube-proxy runs in {mode} mode, not IPVS"));
        }
        Mode::Replaced(name) => return Outcome::skip(format!("kube-proxy is replaced by {name}")),
    };
    if !n.ipvs.module_lists_readable {
        return Outcome::skip("cannot read /proc/modules or modules.builtin");
    }
    let missing = n.ipvs.missing();
    if missing.is_empty() {
        return Outcome::pass(
            "ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh and nf_conntrack are available",
        );
    }
    let message = format!(
        "kernel modules missing for IPVS mode: {}",
        missing.join(", ")
    );
    let hint = format!(
        "modprobe -a {0} && printf '%s\\n' {0} > /etc/modules-load.d/ipvs.conf",
        missing.join(" ")
    );
    if needed {
        Outcome::fail(message, hint)
    } else {
        Outcome::warn(
            format!("{message} (needed only if kube-proxy will use IPVS)"),
            hint,
        )
    }
}

pub fn rp_filter(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    let strict = match interfaces_where(f, n, |c| c.rp_filter == Some(1)) {
        Ok(names) => names,
        Err(skip) => return skip,
    };
    if strict.is_empty() {
        return Outcome::pass("no strict reverse-path filtering on the LAN-facing interfaces");
    }
    Outcome::warn(
        format!(
            "strict rp_filter (1) on {}: replies that leave through another interface than the request came in are dropped on multi-homed nodes",
            strict.join(", ")
        ),
        format!(
            "use loose mode: sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.{}.rp_filter=2",
            strict[0]
        ),
    )
}

pub fn proxy_arp(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    let on = match interfaces_where(f, n, |c| c.proxy_arp == Some(1)) {
        Ok(names) => names,
        Err(skip) => return skip,
    };
    if on.is_empty() {
        return Outcome::pass("proxy_arp is off on the LAN-facing interfaces");
    }
    Outcome::warn(
        format!(
            "proxy_arp is on for {}: this node answers ARP for addresses it only routes to, which hides who really owns an address",
            on.join(", ")
        ),
        format!(
            "sysctl -w net.ipv4.conf.all.proxy_arp=0 net.ipv4.conf.{}.proxy_arp=0",
            on[0]
        ),
    )
}

pub fn ip_forward(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    match n.sysctls.as_ref().and_then(|s| s.ip_forward) {
        Some(1) => Outcome::pass("net.ipv4.ip_forward = 1"),
        Some(v) => Outcome::fail(
            format!("net.ipv4.ip_forward = {v}: the node does not forward traffic to pods"),
            "sysctl -w net.ipv4.ip_forward=1, and persist it in /etc/sysctl.d/",
        ),
        None => Outcome::skip("cannot read /proc/sys/net/ipv4/ip_forward"),
    }
}

fn speaker_installed(f: &PreflightFacts) -> bool {
    f.cluster().is_some_and(|c| {
        c.workloads()
            .any(|w: &Workload| w.images.iter().any(|i| i.contains("metallb/speaker")))
    })
}

pub fn memberlist_port(f: &PreflightFacts) -> Outcome {
    let (_, n) = node!(f);
    let p = &n.memberlist;
    if !p.readable {
        return Outcome::skip("cannot read /proc/net/tcp and /proc/net/udp");
    }
    let used: Vec<&str> = [("TCP", p.tcp_free), ("UDP", p.udp_free)]
        .iter()
        .filter(|(_, free)| !free)
        .map(|(proto, _)| *proto)
        .collect();
    if used.is_empty() {
        return Outcome::pass(format!("port {} is free (TCP and UDP)", p.port));
    }
    let what = format!("port {} ({}) is in use", p.port, used.join(" and "));
    if speaker_installed(f) {
        return Outcome::pass(format!(
            "{what}, presumably by the MetalLB speaker already installed"
        ));
    }
    Outcome::fail(
        format!("{what}: MetalLB speakers need it for memberlist"),
        format!("find the owner: ss -lntup 'sport = :{}'", p.port),
    )
}

pub fn on_link(f: &PreflightFacts) -> Outcome {
    let pools = match pools_or_skip(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let (hostname, n) = node!(f);
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    for p in pools {
        for r in p.pool.ranges() {
            for addr in [r.start(), r.end()] {
                match n.path_to(addr) {
                    AddressPath::OnLink { interface } => fine.push(format!("{addr} via {interface}")),
                    AddressPath::Local { interface } => problems.push(format!(
                        "{addr} is already configured on {interface} of {hostname}"
                    )),
                    AddressPath::ViaGateway { interface, gateway } => problems.push(format!(
                        "{addr} is reached through gateway {gateway} on {interface}, not on a local network"
                    )),
                    AddressPath::NoRoute => problems.push(format!("{addr} has no route")),
                }
            }
        }
    }
    fine.dedup();
    if problems.is_empty() {
        return Outcome::pass(format!(
            "every pool range is on a network connected to {hostname} ({})",
            list(&fine, 2)
        ));
    }
    Outcome::fail(
        format!(
            "L2 mode can announce only addresses on a network the nodes are connected to: {}",
            list(&problems, 3)
        ),
        "choose a range from the subnet of the node interfaces (ip -br addr), or use BGP mode",
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts, with_pool};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::{ClusterFacts, KubeProxyFound, NodeInfo};
    use crate::net::interfaces::Interface;
    use crate::net::modules::{IpvsSupport, ModuleState};
    use crate::net::ports::PortUse;
    use crate::net::routes::{Route, RouteTable};
    use crate::net::sysctl::{ArpSysctls, InterfaceArp, conf};
    use std::collections::BTreeMap;

    fn host_facts(eth0: ArpConf) -> NodeNetFacts {
        let route = |dest: &str, gw: Option<&str>| Route {
            destination: dest.parse().unwrap(),
            gateway: gw.map(|g| g.parse().unwrap()),
            interface: "eth0".into(),
            metric: 0,
            reject: false,
        };
        NodeNetFacts {
            sysctls: Some(ArpSysctls {
                ip_forward: Some(1),
                all: conf(0, 0, 0, 0),
                default: conf(0, 0, 0, 0),
                interfaces: BTreeMap::from([(
                    "eth0".to_string(),
                    InterfaceArp {
                        own: eth0.clone(),
                        effective: eth0,
                    },
                )]),
            }),
            ipvs: IpvsSupport {
                kernel_release: Some("6.1.0".into()),
                module_lists_readable: true,
                modules: BTreeMap::from([
                    ("ip_vs".to_string(), ModuleState::Loaded),
                    ("ip_vs_sh".to_string(), ModuleState::Missing),
                ]),
                ip_vs_proc_present: true,
            },
            interfaces: vec![Interface {
                name: "eth0".into(),
                index: 2,
                mac: Some("02:00:00:00:00:01".into()),
                flags: 0x1043,
                addresses: vec!["192.168.10.5/24".parse().unwrap()],
                master: None,
            }],
            routes: RouteTable {
                routes: vec![
                    route("0.0.0.0/0", Some("192.168.10.1")),
                    route("192.168.10.0/24", None),
                ],
            },
            memberlist: PortUse {
                port: 7946,
                tcp_free: true,
                udp_free: true,
                readable: true,
            },
        }
    }

    fn on(mut f: PreflightFacts, n: NodeNetFacts) -> PreflightFacts {
        f.node = NodeState::Local {
            hostname: "n1".into(),
            facts: Box::new(n),
        };
        f
    }

    fn ipvs(strict: bool) -> ClusterFacts {
        let mut c = cluster();
        c.kube_proxy = Ok(KubeProxy::Found(Box::new(KubeProxyFound {
            daemonset: Some("kube-system/kube-proxy".into()),
            config: ProxyConfig::ConfigMap {
                namespace: "kube-system".into(),
                name: "kube-proxy".into(),
                key: "config.conf".into(),
                mode: "ipvs".into(),
                strict_arp: Some(strict),
                changed_at: None,
            },
            pods: Ok(vec![]),
        })));
        c
    }

    fn local(mut f: PreflightFacts) -> PreflightFacts {
        f.cluster = crate::facts::ClusterState::NotUsed {
            reason: "--local".into(),
        };
        f
    }

    #[test]
    fn host_is_skipped_when_it_is_not_a_node() {
        let f = on(facts(cluster()), host_facts(conf(0, 0, 0, 0)));
        assert!(host(&f).message.contains("interfaces facing the LAN: eth0"));
        let mut c = cluster();
        c.nodes = Ok(vec![NodeInfo {
            name: "other".into(),
            addresses: vec!["10.1.1.1".parse().unwrap()],
            ..Default::default()
        }]);
        assert_eq!(
            host(&on(facts(c.clone()), host_facts(conf(0, 0, 0, 0)))).status,
            Status::Skip
        );
        c.nodes = Ok(vec![NodeInfo {
            name: "x".into(),
            addresses: vec!["192.168.10.5".parse().unwrap()],
            ..Default::default()
        }]);
        assert_eq!(
            host(&on(facts(c), host_facts(conf(0, 0, 0, 0)))).status,
            Status::Pass
        );
        let mut no_proc = host_facts(conf(0, 0, 0, 0));
        no_proc.sysctls = None;
        assert_eq!(host(&on(facts(cluster()), no_proc)).status, Status::Error);
        let mut f = facts(cluster());
        f.node = NodeState::NotRead {
            reason: "not Linux".into(),
        };
        assert_eq!(host(&f), Outcome::skip("not Linux"));
    }

    #[test]
    fn host_is_judged_only_when_the_cluster_says_it_is_a_node_or_local_says_so() {
        let host_of = |cluster: ClusterState| {
            let mut f = on(
                facts(super::super::testing::cluster()),
                host_facts(conf(0, 0, 0, 0)),
            );
            f.cluster = cluster;
            host(&f)
        };
        let unreachable = host_of(ClusterState::Unreachable {
            server: None,
            message: "cannot reach".into(),
            hint: "check".into(),
        });
        assert_eq!(unreachable.status, Status::Skip);
        assert!(unreachable.message.contains("--local checks this host"));
        let local = host_of(ClusterState::NotUsed {
            reason: "--local".into(),
        });
        assert_eq!(local.status, Status::Pass);
        let mut c = cluster();
        c.nodes = Err(crate::facts::cluster::SourceError::forbidden(
            "list", "nodes", None,
        ));
        let forbidden = host_of(ClusterState::Reached(Box::new(c)));
        assert_eq!(forbidden.status, Status::Error);
        assert!(
            forbidden
                .message
                .contains("cannot tell whether this host (n1)")
        );
        assert!(forbidden.hint.unwrap().contains("can-i list nodes"));
    }

    #[test]
    fn arp_sysctls_against_the_mode() {
        let zero = host_facts(conf(0, 0, 0, 0));
        let strict = host_facts(conf(1, 2, 0, 0));
        let cases = [
            (
                on(facts(ipvs(false)), zero.clone()),
                Status::Fail,
                "lbctl enable-strictarp",
            ),
            (
                on(facts(ipvs(true)), zero.clone()),
                Status::Fail,
                "restart kube-proxy",
            ),
            (on(facts(ipvs(true)), strict.clone()), Status::Pass, ""),
            (
                on(facts(cluster()), zero.clone()),
                Status::Warn,
                "lbctl enable-strictarp",
            ),
            (
                on(local(facts(cluster())), strict.clone()),
                Status::Pass,
                "",
            ),
        ];
        for (f, want, hint) in cases {
            let o = arp_sysctls(&f);
            assert_eq!(o.status, want, "{o:?}");
            assert!(o.hint.unwrap_or_default().contains(hint));
        }
        let mut c = ipvs(false);
        if let Ok(KubeProxy::Found(k)) = &mut c.kube_proxy
            && let ProxyConfig::ConfigMap { mode, .. } = &mut k.config
        {
            *mode = "nftables".into();
        }
        let o = arp_sysctls(&on(facts(c), zero));
        assert_eq!(o.status, Status::Pass);
        assert!(
            o.message.contains("eth0: arp_ignore=0 arp_announce=0"),
            "{}",
            o.message
        );
    }

    #[test]
    fn ipvs_modules_by_mode() {
        let n = host_facts(conf(1, 2, 0, 0));
        let o = ipvs_modules(&on(facts(ipvs(true)), n.clone()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.hint.unwrap().starts_with("modprobe -a ip_vs_sh"));
        assert_eq!(
            ipvs_modules(&on(local(facts(cluster())), n.clone())).status,
            Status::Warn
        );
        let mut c = ipvs(true);
        c.kube_proxy = Ok(KubeProxy::Replaced {
            name: "Cilium".into(),
            why: String::new(),
        });
        assert_eq!(ipvs_modules(&on(facts(c), n.clone())).status, Status::Skip);
        let mut unreadable = n;
        unreadable.ipvs.module_lists_readable = false;
        assert_eq!(
            ipvs_modules(&on(facts(ipvs(true)), unreadable)).status,
            Status::Skip
        );
    }

    #[test]
    fn rp_filter_proxy_arp_and_ip_forward() {
        let f = on(facts(cluster()), host_facts(conf(1, 2, 1, 1)));
        assert_eq!(rp_filter(&f).status, Status::Warn);
        assert_eq!(proxy_arp(&f).status, Status::Warn);
        assert!(
            proxy_arp(&f)
                .hint
                .unwrap()
                .contains("net.ipv4.conf.eth0.proxy_arp=0")
        );
        let f = on(facts(cluster()), host_facts(conf(1, 2, 2, 0)));
        assert_eq!(rp_filter(&f).status, Status::Pass);
        assert_eq!(proxy_arp(&f).status, Status::Pass);
        assert_eq!(ip_forward(&f).status, Status::Pass);
        let mut n = host_facts(conf(1, 2, 2, 0));
        if let Some(s) = n.sysctls.as_mut() {
            s.ip_forward = Some(0);
        }
        assert_eq!(ip_forward(&on(facts(cluster()), n)).status, Status::Fail);
    }

    #[test]
    fn memberlist_port_in_use() {
        let mut n = host_facts(conf(1, 2, 0, 0));
        assert_eq!(
            memberlist_port(&on(facts(cluster()), n.clone())).status,
            Status::Pass
        );
        n.memberlist.udp_free = false;
        let o = memberlist_port(&on(facts(cluster()), n.clone()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.starts_with("port 7946 (UDP) is in use"));
        let mut c = cluster();
        c.daemonsets = Ok(vec![Workload {
            kind: "DaemonSet".into(),
            images: vec!["quay.io/metallb/speaker:v0.16.1".into()],
            ..Default::default()
        }]);
        assert_eq!(
            memberlist_port(&on(facts(c), n.clone())).status,
            Status::Pass
        );
        n.memberlist.readable = false;
        assert_eq!(
            memberlist_port(&on(facts(cluster()), n)).status,
            Status::Skip
        );
    }

    #[test]
    fn pools_must_be_on_link() {
        let n = host_facts(conf(1, 2, 0, 0));
        let f = on(
            with_pool(facts(cluster()), "192.168.10.240-192.168.10.250"),
            n.clone(),
        );
        assert_eq!(on_link(&f).status, Status::Pass);
        let f = on(with_pool(facts(cluster()), "10.20.0.0/28"), n.clone());
        let o = on_link(&f);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("through gateway 192.168.10.1 on eth0"),
            "{}",
            o.message
        );
        let f = on(with_pool(facts(cluster()), "192.168.10.5"), n);
        assert!(on_link(&f).message.contains("already configured on eth0"));
        assert_eq!(on_link(&facts(cluster())).status, Status::Skip);
    }
}
