//! What the fuzz targets check, in one place: `fuzz/fuzz_targets/*` feed these functions
//! libFuzzer's inputs (nightly), `tests/fuzz_properties.rs` feeds them proptest's (stable, CI), so
//! both exercise the same entry points with the same assertions. Each function panics when a
//! property fails.
#![allow(dead_code)] // each fuzz target uses one of them

use lbctl::kubeproxy::config::{ProxyMode, parse};
use lbctl::kubeproxy::plan::{ModeChoice, plan};
use lbctl::net::arp::packet::ArpFrame;
use lbctl::net::arp::{MacAddr, ndp};
use lbctl::net::pool::Pool;

/// The pool parser never panics, and whatever it accepts is self-consistent.
pub fn pool_parser(text: &str) {
    if let Ok(pool) = Pool::parse(text) {
        // Printing and parsing again gives the same addresses.
        let again = Pool::parse(&pool.to_string()).expect("a printed pool parses");
        assert_eq!(again.ranges(), pool.ranges());
        // Every range's first address is in the pool.
        for range in pool.ranges() {
            assert!(pool.contains(range.start()));
        }
    }
}

/// The kube-proxy configuration editor never panics; whatever it plans parses back with the
/// intended values, and planning again on its output changes nothing.
pub fn kubeproxy_edit(text: &str) {
    for mode in [ModeChoice::Ipvs, ModeChoice::Keep] {
        let Ok(planned) = plan(text, Some(mode), None) else {
            continue;
        };
        let (_, after) = parse(&planned.new_text).expect("a planned text parses");
        assert_eq!(after.strict_arp, Some(true));
        if mode == ModeChoice::Ipvs {
            assert_eq!(after.mode, ProxyMode::Ipvs);
        }
        let again = plan(&planned.new_text, Some(mode), None).expect("a planned text plans again");
        assert!(again.is_empty());
    }
}

/// The ARP frame parser (it reads whatever arrives on the wire) never panics, and a frame it
/// accepts encodes back to the same ARP fields.
pub fn arp_frame(bytes: &[u8]) {
    if let Some(frame) = ArpFrame::parse(bytes) {
        assert_eq!(ArpFrame::parse(&frame.to_bytes()), Some(frame));
        assert!(bytes.len() >= 42, "accepted a {}-byte frame", bytes.len());
    }
}

/// The Neighbor Advertisement parser (IPv6 probing reads it off the wire) never panics, accepts
/// only complete frames with hop limit 255, and what it accepts encodes back to the same claim.
/// The same holds for the solicitation parser that shares its checks.
pub fn ndp_advertisement(bytes: &[u8]) {
    if let Some(claim) = ndp::parse_advertisement(bytes) {
        assert!(bytes.len() >= 78, "accepted a {}-byte frame", bytes.len());
        assert_eq!(bytes[21], 255, "accepted hop limit {}", bytes[21]);
        let again = ndp::advertisement(claim.mac, claim.target, claim.target, true);
        assert_eq!(ndp::parse_advertisement(&again), Some(claim));
    }
    if let Some(asked) = ndp::parse_solicitation(bytes) {
        assert!(bytes.len() >= 78, "accepted a {}-byte frame", bytes.len());
        assert_eq!(bytes[21], 255, "accepted hop limit {}", bytes[21]);
        let our_mac = MacAddr::from(<[u8; 6]>::try_from(&bytes[6..12]).unwrap());
        let again = match asked.source_mac {
            Some(mac) => ndp::solicitation(mac, asked.source, asked.target).to_vec(),
            None => ndp::probe(our_mac, asked.target).to_vec(),
        };
        let parsed = ndp::parse_solicitation(&again).expect("our own solicitation parses");
        assert_eq!(parsed.target, asked.target);
        assert_eq!(parsed.source_mac, asked.source_mac);
    }
}
