//! The interfaces a node's speaker knows, for `announceFailed` (MetalLB v0.16.1
//! `internal/layer2/announcer.go` `updateInterfaces`: every interface of the node whose name
//! does not match the `metallb-excludel2` regexes; `speaker/main.go`
//! `parseAnnouncedInterfacesToExclude` joins them as `(a)|(b)|...`). The node's interfaces are
//! the `/sys/class/net/NAME/...` files of its `nodeFacts` log, the same dump the node-check pods
//! print.

use regex::Regex;
use serde_json::Value;

use super::super::world::World;

/// The ConfigMap the speaker mounts at `/etc/metallb/excludel2.yaml`.
const EXCLUDE_L2: &str = "metallb-excludel2";

/// The exclusion regex of MetalLB's namespace; `None` when the ConfigMap is missing, empty or
/// does not parse (the speaker then excludes nothing, or would not start).
pub fn exclusions(world: &World, ns: &str) -> Option<Regex> {
    let cm = world.get("ConfigMap", ns, EXCLUDE_L2)?;
    let text = cm.pointer("/data/excludel2.yaml")?.as_str()?;
    let conf: Value = serde_saphyr::from_str(text).ok()?;
    let list: Vec<&str> = conf
        .get("announcedInterfacesToExclude")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if list.is_empty() {
        return None;
    }
    Regex::new(&format!("({})", list.join(")|("))).ok()
}

/// The interface names of a node-facts dump; `None` when it lists none (unknown, not absent).
pub fn node_interfaces(log: &str) -> Option<Vec<String>> {
    let mut names: Vec<String> = log
        .lines()
        .filter_map(|l| l.strip_prefix("file /sys/class/net/"))
        .filter_map(|rest| rest.split_once('/').map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    (!names.is_empty()).then_some(names)
}

/// The interfaces the speaker on a node announces from, as `Announce.GetInterfaces` returns
/// them, or `None` when the node's interfaces are unknown.
pub fn speaker_interfaces(log: &str, exclude: Option<&Regex>) -> Option<Vec<String>> {
    let names = node_interfaces(log)?;
    Some(
        names
            .into_iter()
            .filter(|n| exclude.is_none_or(|r| !r.is_match(n)))
            .collect(),
    )
}

/// MetalLB's `announceFailed` message (`layer2_controller.go` `SetBalancer`).
pub fn announce_failed(ip: &str, node: &str) -> String {
    format!(
        "the interfaces specified by LB IP {ip:?} doesn't exist in assigned node {node:?} with protocol \"layer2\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "lbctl-node-facts 1\nfile /sys/class/net/eth0/ifindex\n|2\nfile /sys/class/net/eth0/flags\n|0x1003\nfile /sys/class/net/docker0/ifindex\n|3\nfile /sys/class/net/lo/ifindex\n|1\nend lbctl-node-facts\n";

    #[test]
    fn names_come_from_sysfs_minus_the_exclusions() {
        assert_eq!(node_interfaces(LOG).unwrap(), ["docker0", "eth0", "lo"]);
        assert_eq!(
            node_interfaces("lbctl-node-facts 1\nend lbctl-node-facts\n"),
            None
        );
        let exclude = Regex::new("(^docker.*)|(^lo$)").unwrap();
        assert_eq!(speaker_interfaces(LOG, Some(&exclude)).unwrap(), ["eth0"]);
        assert_eq!(speaker_interfaces(LOG, None).unwrap().len(), 3);
    }

    /// The same cases as lbctl's `metallb::answering` tests (the two cannot share code: lbctl
    /// depends on kube-sim only for its tests).
    #[test]
    fn exclusions_join_like_the_speaker() {
        let cm = serde_json::json!({"kind": "ConfigMap", "metadata": {"name": EXCLUDE_L2, "namespace": "metallb-system"},
            "data": {"excludel2.yaml": "announcedInterfacesToExclude: [\"^docker.*\", \"^lo$\", \"^kube-ipvs.*\"]\n"}});
        let world = World::new([cm]);
        let r = exclusions(&world, "metallb-system").unwrap();
        for (name, excluded) in [
            ("docker0", true),
            ("lo", true),
            ("kube-ipvs0", true),
            ("eth0", false),
            ("lo0", false),
        ] {
            assert_eq!(r.is_match(name), excluded, "{name}");
        }
        assert!(exclusions(&World::default(), "metallb-system").is_none());
    }

    #[test]
    fn the_message_is_metallbs() {
        assert_eq!(
            announce_failed("192.168.77.240", "w1"),
            "the interfaces specified by LB IP \"192.168.77.240\" doesn't exist in assigned node \"w1\" with protocol \"layer2\""
        );
    }
}
