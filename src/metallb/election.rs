//! MetalLB v0.16.1's layer-2 election, replayed: which nodes may announce a LoadBalancer address
//! and which one does. Pure; the rules are pinned to MetalLB's source (tag v0.16.1):
//!
//! - `speaker/layer2_controller.go:84` `ShouldAnnounce`: no endpoint that can serve -> nobody
//!   announces (`activeEndpointExists`, line 201).
//! - `:89` `l2AdsForService`: the pool's L2Advertisements without `serviceSelectors`, or with
//!   one matching the Service's labels (line 223).
//! - `:253` `speakersForAds`: nodes with a usable speaker (memberlist member), minus nodes whose
//!   `NetworkUnavailable` condition is `True` (`internal/k8s/nodes/nodes.go:10`), minus nodes
//!   labelled `node.kubernetes.io/exclude-from-external-load-balancers` unless the speaker runs
//!   with `--ignore-exclude-lb` (`nodes.go:30`), kept when any of those advertisements selects
//!   the node (`adsMatchNodeL2`; no `nodeSelectors` selects every node,
//!   `internal/config/config.go:1148`).
//! - `:99` `externalTrafficPolicy: Local`: only those nodes holding an endpoint that can serve
//!   (`nodesWithEndpoint`, line 53).
//! - `:115` the candidates sorted by `sha256(node + "#" + ip)` compared as bytes, `ip` the
//!   Service's first ingress IP in Go's `net.IP.String()` form; the first announces.
//! - `internal/k8s/epslices/endpoint_slices.go:15` `EndpointCanServe`: `ready` unset or true,
//!   or `serving` true (a terminating pod that still serves counts).

use std::net::IpAddr;

/// `sha256(node + "#" + ip)`: a node's place in the election for one address. Rust's `Display`
/// of an address is Go's `net.IP.String()` for IPv4 and for IPv6 (both RFC 5952).
pub fn election_hash(node: &str, ip: IpAddr) -> [u8; 32] {
    let text = format!("{node}#{ip}");
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The hash as lower-case hex, as `sha256sum` prints it.
pub fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The candidates in election order for `ip`: the first one announces.
pub fn order<S: AsRef<str>>(candidates: &[S], ip: IpAddr) -> Vec<(String, [u8; 32])> {
    let mut ranked: Vec<(String, [u8; 32])> = candidates
        .iter()
        .map(|n| (n.as_ref().to_string(), election_hash(n.as_ref(), ip)))
        .collect();
    ranked.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

/// Whether an endpoint can serve, by its EndpointSlice conditions (`EndpointCanServe`).
pub fn endpoint_can_serve(ready: Option<bool>, serving: Option<bool>) -> bool {
    ready.unwrap_or(true) || serving == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Computed once in a shell, independently of this code:
    /// `printf 'node-a#192.168.1.240' | sha256sum` and so on.
    const NODE_A_V4: &str = "0905ce28e61d7edba0d1a1e81637d349ef0299ecc2fb9fc9c8347049ba3a9c82";
    const NODE_B_V4: &str = "c5db69956edf2871b03fcd4fea381f3374cd4082ef0a18aac7f889b3f88265d6";
    const NODE_C_V4: &str = "a6530f9db1eb6e43a6ee4c1e37064e767a245ba829d2651c16d53e8ccba47e74";
    const NODE_A_V6: &str = "2fcfc3b76419740b24e9bda0e5a33fcaa945fca43d7db3716871ed6440bb4b9c";
    const NODE_B_V6: &str = "fb65515549054e83cf6efa23539bbeb3b6f859fe2b2e3d35b0549cb279f61ce4";
    const W1: &str = "e82d0c0eda927257775272ee5853c95467fb08553d01f9cf02f2b9130322a8b8";
    const W2: &str = "ee68ad2d01020818f61698706957770e0941669935482ed0585af81367c6eba4";

    #[test]
    fn hash_is_sha256_of_node_hash_sign_address() {
        let v4 = ip("192.168.1.240");
        assert_eq!(hex(&election_hash("node-a", v4)), NODE_A_V4);
        assert_eq!(hex(&election_hash("node-b", v4)), NODE_B_V4);
        assert_eq!(hex(&election_hash("node-c", v4)), NODE_C_V4);
        // IPv6 in its compressed form, as Go prints it.
        let v6 = ip("fd00:0:0:0:0:0:0:240");
        assert_eq!(hex(&election_hash("node-a", v6)), NODE_A_V6);
        assert_eq!(hex(&election_hash("node-b", v6)), NODE_B_V6);
        assert_eq!(hex(&election_hash("w1", ip("192.168.77.240"))), W1);
        assert_eq!(hex(&election_hash("w2", ip("192.168.77.240"))), W2);
    }

    #[test]
    fn order_is_by_hash_bytes_not_by_name() {
        let ranked = order(&["node-b", "node-c", "node-a"], ip("192.168.1.240"));
        let names: Vec<&str> = ranked.iter().map(|(n, _)| n.as_str()).collect();
        // 0905.. < a653.. < c5db..
        assert_eq!(names, ["node-a", "node-c", "node-b"]);
        let ranked = order(&["node-b", "node-a"], ip("fd00::240"));
        assert_eq!(ranked[0].0, "node-a");
        assert!(order::<&str>(&[], ip("192.168.1.240")).is_empty());
    }

    #[test]
    fn endpoint_readiness_follows_endpoint_can_serve() {
        assert!(endpoint_can_serve(None, None), "unset ready means ready");
        assert!(endpoint_can_serve(Some(true), Some(false)));
        assert!(
            endpoint_can_serve(Some(false), Some(true)),
            "terminating but serving"
        );
        assert!(!endpoint_can_serve(Some(false), None));
        assert!(!endpoint_can_serve(Some(false), Some(false)));
    }
}
