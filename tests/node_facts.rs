//! Node facts read from fixture proc trees (no root, no real /proc needed).

use std::path::PathBuf;

use lbctl::net::modules::{IpvsSupport, ModuleState};
use lbctl::net::ports::PortUse;
use lbctl::net::roots::HostRoots;
use lbctl::net::routes::RouteTable;
use lbctl::net::sysctl::ArpSysctls;

fn fixture(name: &str) -> HostRoots {
    HostRoots::fixture(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/proc")
            .join(name),
    )
}

#[test]
fn strictarp_node_has_effective_values_per_interface() {
    let sysctls = ArpSysctls::read(&fixture("ipvs-strictarp-node")).unwrap();
    assert_eq!(sysctls.ip_forward, Some(1));
    let eth0 = sysctls.effective("eth0");
    // `all` raises arp_ignore/arp_announce although eth0's own entries are 0.
    assert_eq!(sysctls.interfaces["eth0"].own.arp_ignore, Some(0));
    assert_eq!((eth0.arp_ignore, eth0.arp_announce), (Some(1), Some(2)));
    assert_eq!(
        (eth0.rp_filter, eth0.proxy_arp, eth0.arp_notify),
        (Some(2), Some(0), Some(1))
    );
    // A VLAN keeps its dot in /proc.
    let vlan = sysctls.effective("eth0.100");
    assert_eq!(
        (vlan.proxy_arp, vlan.rp_filter, vlan.drop_gratuitous_arp),
        (Some(1), Some(1), Some(1))
    );
    assert!(sysctls.interfaces.contains_key("kube-ipvs0"));
    assert!(!sysctls.interfaces.contains_key("all"));
    assert_eq!(sysctls.default.rp_filter, Some(2));
}

#[test]
fn default_node_answers_arp_for_every_local_address() {
    let sysctls = ArpSysctls::read(&fixture("default-node")).unwrap();
    assert_eq!(sysctls.effective("eth0").arp_ignore, Some(0));
    assert_eq!(sysctls.ip_forward, Some(0));
}

#[test]
fn ipvs_modules_loaded_builtin_or_missing() {
    let ipvs = IpvsSupport::read(&fixture("ipvs-strictarp-node"));
    assert_eq!(ipvs.kernel_release.as_deref(), Some("6.1.0-40-amd64"));
    assert_eq!(ipvs.modules["ip_vs"], ModuleState::Loaded);
    assert_eq!(ipvs.modules["ip_vs_wrr"], ModuleState::BuiltIn);
    assert!(ipvs.missing().is_empty());
    assert!(ipvs.ip_vs_proc_present);

    let plain = IpvsSupport::read(&fixture("default-node"));
    assert_eq!(
        plain.missing(),
        ["ip_vs", "ip_vs_rr", "ip_vs_sh", "ip_vs_wrr"]
    );
    assert_eq!(plain.modules["nf_conntrack"], ModuleState::Loaded);
    assert!(!plain.ip_vs_proc_present);
}

#[test]
fn memberlist_port_in_use_by_a_tcp_listener() {
    let used = PortUse::read(&fixture("ipvs-strictarp-node"), 7946);
    assert!(used.readable);
    assert!(!used.tcp_free);
    assert!(used.udp_free);
    let other = PortUse::read(&fixture("ipvs-strictarp-node"), 7947);
    assert!(other.tcp_free && other.udp_free);
}

#[test]
fn routes_from_the_fixture_decide_on_link() {
    let table = RouteTable::read(&fixture("ipvs-strictarp-node"));
    let vip = table.get("192.168.10.240".parse().unwrap()).unwrap();
    assert!(vip.on_link());
    assert_eq!(vip.interface, "eth0");
    assert_eq!(
        table
            .get("192.168.100.9".parse().unwrap())
            .unwrap()
            .interface,
        "eth0.100"
    );
    let far = table.get("10.20.0.1".parse().unwrap()).unwrap();
    assert_eq!(far.gateway, Some("192.168.10.1".parse().unwrap()));
}

#[test]
fn facts_round_trip_through_json() {
    let roots = fixture("ipvs-strictarp-node");
    let facts = lbctl::net::node::NodeNetFacts {
        sysctls: ArpSysctls::read(&roots),
        ipvs: IpvsSupport::read(&roots),
        interfaces: vec![],
        routes: RouteTable::read(&roots),
        memberlist: PortUse::read(&roots, 7946),
    };
    let text = serde_json::to_string(&facts).unwrap();
    let back: lbctl::net::node::NodeNetFacts = serde_json::from_str(&text).unwrap();
    assert_eq!(back, facts);
}

#[test]
fn path_to_pool_addresses_like_ip_route_get() {
    use lbctl::net::interfaces::Interface;
    use lbctl::net::node::{AddressPath, NodeNetFacts};
    let roots = fixture("ipvs-strictarp-node");
    let facts = NodeNetFacts {
        sysctls: None,
        ipvs: IpvsSupport::read(&roots),
        interfaces: vec![Interface {
            name: "eth0".into(),
            index: 2,
            mac: Some("52:54:00:00:00:01".into()),
            flags: 0x1043,
            addresses: vec!["192.168.10.5/24".parse().unwrap()],
            master: None,
        }],
        routes: RouteTable::read(&roots),
        memberlist: PortUse::read(&roots, 7946),
    };
    let path = |a: &str| facts.path_to(a.parse().unwrap());
    assert_eq!(
        path("192.168.10.5"),
        AddressPath::Local {
            interface: "eth0".into()
        }
    );
    assert_eq!(
        path("192.168.10.240"),
        AddressPath::OnLink {
            interface: "eth0".into()
        }
    );
    assert_eq!(
        path("10.1.1.1"),
        AddressPath::ViaGateway {
            interface: "eth0".into(),
            gateway: "192.168.10.1".parse().unwrap()
        }
    );
    assert_eq!(path("fd00::1"), AddressPath::NoRoute);
}
