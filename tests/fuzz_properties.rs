//! The fuzz targets' properties (`fuzz/properties.rs`) on stable: this machine and CI have no
//! nightly or cargo-fuzz, so proptest feeds the same functions arbitrary text and bytes, and
//! valid inputs (fixtures, generated pools, real frames) with random edits, which reach much
//! deeper than random text alone. The real fuzzer: see `fuzz/README.md`.

#[path = "../fuzz/properties.rs"]
mod properties;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use lbctl::net::arp::ndp;
use lbctl::net::arp::packet::ArpFrame;
use pnet_base::MacAddr;
use proptest::prelude::*;

/// One edit of a sequence: where (taken modulo the length), what kind, and the element used.
type Edit<T> = (usize, u8, T);

/// Applies insertions, deletions and replacements to `items`.
fn apply<T: Clone>(mut items: Vec<T>, edits: &[Edit<T>]) -> Vec<T> {
    for (at, kind, item) in edits {
        let at = at % (items.len() + 1);
        match kind % 3 {
            0 => items.insert(at, item.clone()),
            1 if at < items.len() => {
                items.remove(at);
            }
            _ if at < items.len() => items[at] = item.clone(),
            _ => items.push(item.clone()),
        }
    }
    items
}

/// `seeds` with up to `max_edits` random edits, each character drawn from `alphabet`.
fn mutated_text(
    seeds: Vec<String>,
    alphabet: &'static str,
    max_edits: usize,
) -> impl Strategy<Value = String> {
    let edits = proptest::collection::vec(
        (
            any::<usize>(),
            any::<u8>(),
            proptest::sample::select(alphabet.chars().collect::<Vec<char>>()),
        ),
        0..=max_edits,
    );
    (proptest::sample::select(seeds), edits).prop_map(|(seed, edits): (String, Vec<Edit<char>>)| {
        apply(seed.chars().collect(), &edits).into_iter().collect()
    })
}

fn kube_proxy_fixtures() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-proxy");
    let mut texts: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "yaml").then(|| std::fs::read_to_string(path).ok())?
        })
        .collect();
    texts.sort();
    assert!(texts.len() >= 10, "kube-proxy fixtures missing");
    texts
}

fn pool_seeds() -> Vec<String> {
    [
        "192.168.10.0/24",
        "192.168.10.240-192.168.10.250",
        "10.0.0.1",
        "10.0.0.0/30, 10.0.1.5-10.0.1.9",
        "fd00::/120",
        "fd00::10-fd00::1f",
        "2001:db8::1",
        "192.168.1.0/24,fd00::/64",
        "0.0.0.0/0",
        "255.255.255.255",
        "::/0",
        "192.168.10.240 - 192.168.10.250",
    ]
    .map(String::from)
    .to_vec()
}

/// Real frames: a probe, a reply, a gratuitous request, each with its Ethernet padding.
fn frame_seeds() -> Vec<Vec<u8>> {
    let ours = MacAddr(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    let probe = ArpFrame::probe(ours, Ipv4Addr::new(10, 0, 0, 9));
    let reply = ArpFrame::reply_to(&probe, MacAddr(0, 0, 0x5e, 0, 1, 0x0a));
    let mut gratuitous = ArpFrame::probe(ours, Ipv4Addr::new(10, 0, 0, 7));
    gratuitous.sender_ip = gratuitous.target_ip;
    [probe, reply, gratuitous]
        .iter()
        .map(|f| {
            let mut bytes = f.to_bytes().to_vec();
            bytes.resize(60, 0);
            bytes
        })
        .collect()
}

/// Real advertisements, with and without the target link-layer option, one padded.
fn advertisement_seeds() -> Vec<Vec<u8>> {
    let owner = MacAddr(0x52, 0x54, 0, 0xab, 0xcd, 0xef);
    let target = "fd00:10::7".parse().unwrap();
    let mut padded = ndp::advertisement(owner, target, target, false);
    padded.resize(90, 0);
    let link_local = "fe80::5054:ff:feab:cdef".parse().unwrap();
    vec![
        ndp::advertisement(owner, target, target, true),
        padded,
        ndp::solicitation(owner, link_local, target).to_vec(),
        ndp::probe(owner, target).to_vec(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pool_parser_on_any_text(text in "\\PC{0,48}") {
        properties::pool_parser(&text);
    }

    #[test]
    fn pool_parser_on_pool_like_text(text in "[0-9a-fA-F.:/, \\-]{0,48}") {
        properties::pool_parser(&text);
    }

    #[test]
    fn pool_parser_on_edited_pools(text in mutated_text(pool_seeds(), "0123456789abcdef.:/,- ", 4)) {
        properties::pool_parser(&text);
    }

    #[test]
    fn kubeproxy_edit_on_any_text(text in "\\PC{0,200}") {
        properties::kubeproxy_edit(&text);
    }

    #[test]
    fn kubeproxy_edit_on_edited_fixtures(
        text in mutated_text(kube_proxy_fixtures(), "abcmodeipvstrictARP :{}[],'\"#-\n\t\r&*!|>?%@`0123456789.", 6)
    ) {
        properties::kubeproxy_edit(&text);
    }

    #[test]
    fn arp_frame_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        properties::arp_frame(&bytes);
    }

    #[test]
    fn arp_frame_on_edited_frames(
        seed in proptest::sample::select(frame_seeds()),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        properties::arp_frame(&apply(seed, &edits));
    }

    #[test]
    fn ndp_advertisement_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        properties::ndp_advertisement(&bytes);
    }

    #[test]
    fn ndp_advertisement_on_edited_frames(
        seed in proptest::sample::select(advertisement_seeds()),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        properties::ndp_advertisement(&apply(seed, &edits));
    }
}
