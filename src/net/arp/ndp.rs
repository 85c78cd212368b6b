//! NDP frames on Ethernet: building the Neighbor Solicitations lbctl probes IPv6 addresses with
//! (and Neighbor Advertisements, for tests) and parsing the advertisements owners answer with.
//!
//! Two kinds of solicitation, both to the target's solicited-node multicast group:
//! - address resolution (RFC 4861 section 7.2.2): from our link-local address, with our MAC in
//!   a source link-layer address option. Every owner answers it, kernels and user-space
//!   responders alike; MetalLB's speaker drops a solicitation without that option, and so never
//!   answers a DAD probe. An owner answers to our link-local address and may keep it in its
//!   neighbour cache, as after any client's lookup; a host still running DAD for the address
//!   ignores it (RFC 4862 section 5.4.3).
//! - Duplicate Address Detection (RFC 4862 section 5.4), the fallback for an interface without a
//!   link-local address: from `::` and without options (the IPv6 counterpart of an RFC 5227
//!   ARP probe); no cache learns from it, owners answer to all-nodes (ff02::1), and a host in
//!   the middle of its own DAD for the address gives it up.

use std::net::Ipv6Addr;

use pnet_base::MacAddr;

/// Ethernet header (14) + IPv6 header (40) + Neighbor Solicitation without options (24).
pub const PROBE_LEN: usize = 78;
/// The same with a source link-layer address option (8).
pub const SOLICITATION_LEN: usize = PROBE_LEN + 8;
const ETHERNET_HEADER_LEN: usize = 14;
const IPV6_HEADER_LEN: usize = 40;
/// Where the ICMPv6 message starts in a frame.
const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
/// ICMPv6 header (4) + reserved/flags (4) + target address (16).
const NDP_BODY_LEN: usize = 24;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const NEXT_HEADER_ICMPV6: u8 = 58;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// RFC 4861: NDP messages are sent with hop limit 255 and any other value means the message
/// crossed a router, so it is discarded.
const HOP_LIMIT: u8 = 255;
const OPTION_SOURCE_LINK_LAYER: u8 = 1;
const OPTION_TARGET_LINK_LAYER: u8 = 2;
/// Neighbor Advertisement flags (RFC 4861 section 4.4).
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;
/// The Ethernet group of ff02::1 (all nodes), where owners send their answers.
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// The solicited-node multicast address of `target`: ff02::1:ff00:0/104 plus its low 24 bits.
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let o = target.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet multicast address of an IPv6 multicast group (RFC 2464): 33:33 + its low 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr(0x33, 0x33, o[12], o[13], o[14], o[15])
}

/// The ICMPv6 checksum (RFC 4443 section 2.3): the one's complement sum over the IPv6
/// pseudo-header (source, destination, upper-layer length, next header) and the message, whose
/// checksum field must be zero (or hold the checksum, to verify: the result is then zero).
pub fn checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(&source.octets());
    add(&destination.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes Ethernet and IPv6 headers (hop limit 255, ICMPv6) and the ICMPv6 checksum around the
/// message already in `frame[ICMP..]`.
fn frame_around(
    frame: &mut [u8],
    (eth_source, eth_destination): (MacAddr, MacAddr),
    (source, destination): (Ipv6Addr, Ipv6Addr),
) {
    let message_len = frame.len() - ICMP;
    frame[0..6].copy_from_slice(&eth_destination.octets());
    frame[6..12].copy_from_slice(&eth_source.octets());
    frame[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let ip = &mut frame[ETHERNET_HEADER_LEN..ICMP];
    ip[..4].copy_from_slice(&[0x60, 0, 0, 0]); // version 6, no traffic class or flow label
    ip[4..6].copy_from_slice(&(message_len as u16).to_be_bytes());
    ip[6] = NEXT_HEADER_ICMPV6;
    ip[7] = HOP_LIMIT;
    ip[8..24].copy_from_slice(&source.octets());
    ip[24..40].copy_from_slice(&destination.octets());
    frame[ICMP + 2..ICMP + 4].fill(0);
    let sum = checksum(source, destination, &frame[ICMP..]);
    frame[ICMP + 2..ICMP + 4].copy_from_slice(&sum.to_be_bytes());
}

/// A DAD probe for `candidate` from `our_mac`: a Neighbor Solicitation from `::` to the
/// solicited-node group, without a source link-layer address option (RFC 4861 forbids one
/// when the source is unspecified, and Linux drops a DAD probe that has one).
pub fn probe(our_mac: MacAddr, candidate: Ipv6Addr) -> [u8; PROBE_LEN] {
    let mut frame = [0u8; PROBE_LEN];
    solicit(&mut frame, our_mac, Ipv6Addr::UNSPECIFIED, candidate);
    frame
}

/// An address-resolution solicitation for `candidate` from `source` (our link-local address)
/// and `our_mac`, which it names in a source link-layer address option.
pub fn solicitation(
    our_mac: MacAddr,
    source: Ipv6Addr,
    candidate: Ipv6Addr,
) -> [u8; SOLICITATION_LEN] {
    let mut frame = [0u8; SOLICITATION_LEN];
    let option = &mut frame[ICMP + NDP_BODY_LEN..];
    option[0] = OPTION_SOURCE_LINK_LAYER;
    option[1] = 1; // in units of 8 bytes
    option[2..8].copy_from_slice(&our_mac.octets());
    solicit(&mut frame, our_mac, source, candidate);
    frame
}

/// Fills in a solicitation for `candidate` around the options already in `frame`.
fn solicit(frame: &mut [u8], our_mac: MacAddr, source: Ipv6Addr, candidate: Ipv6Addr) {
    frame[ICMP] = NEIGHBOR_SOLICITATION;
    frame[ICMP + 8..ICMP + 24].copy_from_slice(&candidate.octets());
    let group = solicited_node(candidate);
    frame_around(frame, (our_mac, multicast_mac(group)), (source, group));
}

/// A probe of either kind, as the prober sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Dad([u8; PROBE_LEN]),
    Resolution([u8; SOLICITATION_LEN]),
}

impl Probe {
    /// A resolution solicitation from `link_local` when the interface has one, else a DAD probe.
    pub fn new(our_mac: MacAddr, link_local: Option<Ipv6Addr>, candidate: Ipv6Addr) -> Probe {
        match link_local {
            Some(source) => Probe::Resolution(solicitation(our_mac, source, candidate)),
            None => Probe::Dad(probe(our_mac, candidate)),
        }
    }
}

impl AsRef<[u8]> for Probe {
    fn as_ref(&self) -> &[u8] {
        match self {
            Probe::Dad(frame) => frame,
            Probe::Resolution(frame) => frame,
        }
    }
}

/// What a Neighbor Solicitation asks (parsed for test responders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Solicitation {
    pub source: Ipv6Addr,
    pub target: Ipv6Addr,
    /// The source link-layer address option: absent in DAD probes.
    pub source_mac: Option<MacAddr>,
}

/// A Neighbor Advertisement from `owner_mac` for `target`, to all nodes, as a Linux owner
/// answers a DAD probe (override flag, target link-layer address option unless `option` is
/// false). For test responders.
pub fn advertisement(
    owner_mac: MacAddr,
    source: Ipv6Addr,
    target: Ipv6Addr,
    option: bool,
) -> Vec<u8> {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    advertise(
        (owner_mac, multicast_mac(all_nodes)),
        (source, all_nodes),
        target,
        FLAG_OVERRIDE,
        option,
    )
}

/// The advertisement `owner_mac` sends back for a solicitation: to all nodes for a DAD probe,
/// else solicited and unicast to the solicitor, with the target link-layer address option, as
/// MetalLB's speaker answers. For test responders.
pub fn answer(owner_mac: MacAddr, to: &Solicitation) -> Vec<u8> {
    match to.source_mac {
        Some(mac) if !to.source.is_unspecified() => advertise(
            (owner_mac, mac),
            (to.target, to.source),
            to.target,
            FLAG_SOLICITED,
            true,
        ),
        _ => advertisement(owner_mac, to.target, to.target, true),
    }
}

fn advertise(
    macs: (MacAddr, MacAddr),
    addresses: (Ipv6Addr, Ipv6Addr),
    target: Ipv6Addr,
    flags: u8,
    option: bool,
) -> Vec<u8> {
    let len = ICMP + NDP_BODY_LEN + if option { 8 } else { 0 };
    let mut frame = vec![0u8; len];
    frame[ICMP] = NEIGHBOR_ADVERTISEMENT;
    frame[ICMP + 4] = flags;
    frame[ICMP + 8..ICMP + 24].copy_from_slice(&target.octets());
    if option {
        frame[ICMP + 24] = OPTION_TARGET_LINK_LAYER;
        frame[ICMP + 25] = 1; // in units of 8 bytes
        frame[ICMP + 26..ICMP + 32].copy_from_slice(&macs.0.octets());
    }
    frame_around(&mut frame, macs, addresses);
    frame
}

/// What an advertisement says: `mac` owns `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement {
    pub target: Ipv6Addr,
    /// The target link-layer address option, else the Ethernet source.
    pub mac: MacAddr,
}

/// Parses an Ethernet frame; `None` for anything but a valid Neighbor Advertisement (RFC 4861
/// section 7.1.2: hop limit 255, code 0, a correct checksum, options of non-zero length).
/// Solicitations are never claims: another host's DAD probe for an address does not own it.
/// A frame longer than `bytes` (cut by the read buffer) cannot be checked and is dropped.
pub fn parse_advertisement(bytes: &[u8]) -> Option<Advertisement> {
    let m = ndp_message(bytes, NEIGHBOR_ADVERTISEMENT)?;
    let source_mac: [u8; 6] = bytes[6..12].try_into().ok()?;
    let mac = link_layer_option(m.options, OPTION_TARGET_LINK_LAYER)?
        .unwrap_or(MacAddr::from(source_mac));
    Some(Advertisement {
        target: m.target,
        mac,
    })
}

/// Parses a Neighbor Solicitation with the same checks (section 7.1.1).
pub fn parse_solicitation(bytes: &[u8]) -> Option<Solicitation> {
    let m = ndp_message(bytes, NEIGHBOR_SOLICITATION)?;
    Some(Solicitation {
        source: m.source,
        target: m.target,
        source_mac: link_layer_option(m.options, OPTION_SOURCE_LINK_LAYER)?,
    })
}

/// What solicitations and advertisements share: the IPv6 source, the target and the options.
struct NdpMessage<'a> {
    source: Ipv6Addr,
    target: Ipv6Addr,
    options: &'a [u8],
}

/// The parts of a valid NDP frame of type `kind`.
fn ndp_message(bytes: &[u8], kind: u8) -> Option<NdpMessage<'_>> {
    if bytes.len() < ICMP + NDP_BODY_LEN
        || u16::from_be_bytes([bytes[12], bytes[13]]) != ETHERTYPE_IPV6
    {
        return None;
    }
    let ip = &bytes[ETHERNET_HEADER_LEN..ICMP];
    let payload_len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if ip[0] >> 4 != 6
        || ip[6] != NEXT_HEADER_ICMPV6
        || ip[7] != HOP_LIMIT
        || payload_len < NDP_BODY_LEN
        || ICMP + payload_len > bytes.len()
    {
        return None;
    }
    // Ethernet pads short frames: the IPv6 payload length says where the message ends.
    let message = &bytes[ICMP..ICMP + payload_len];
    if message[0] != kind || message[1] != 0 {
        return None;
    }
    let address = |bytes: &[u8]| Some(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?));
    let source = address(&ip[8..24])?;
    if checksum(source, address(&ip[24..40])?, message) != 0 {
        return None;
    }
    Some(NdpMessage {
        source,
        target: address(&message[8..24])?,
        options: &message[NDP_BODY_LEN..],
    })
}

/// The MAC in the last link-layer address option of `kind`; `None` (the frame is invalid) when
/// an option has length zero or runs past the message.
fn link_layer_option(mut options: &[u8], kind: u8) -> Option<Option<MacAddr>> {
    let mut mac = None;
    while options.len() >= 2 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if options[0] == kind && len == 8 {
            let octets: [u8; 6] = options[2..8].try_into().ok()?;
            mac = Some(MacAddr::from(octets));
        }
        options = &options[len..];
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUR_MAC: MacAddr = MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    const OWNER: MacAddr = MacAddr(0x52, 0x54, 0x00, 0xab, 0xcd, 0xef);

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn probe_is_the_frame_the_linux_kernel_sends_for_dad() {
        // Captured from a veth whose MAC is OUR_MAC when `ip addr add fd00:10::f0/64` started
        // DAD (enhanced_dad=0, so no nonce option): the kernel's own DAD probe, checksum 7bb7.
        let kernel = hex(concat!(
            "3333ff0000f0",
            "525400123456",
            "86dd",
            "6000000000183aff",
            "00000000000000000000000000000000",
            "ff0200000000000000000001ff0000f0",
            "87007bb700000000",
            "fd0000100000000000000000000000f0",
        ));
        assert_eq!(
            probe(OUR_MAC, ip("fd00:10::f0")).as_slice(),
            kernel.as_slice()
        );
        // And the link-local one it sent first (checksum c402).
        let link_local = hex(concat!(
            "3333ff123456525400123456",
            "86dd6000000000183aff",
            "00000000000000000000000000000000",
            "ff0200000000000000000001ff123456",
            "8700c40200000000",
            "fe80000000000000505400fffe123456",
        ));
        assert_eq!(
            probe(OUR_MAC, ip("fe80::5054:ff:fe12:3456")).as_slice(),
            link_local.as_slice()
        );
    }

    #[test]
    fn checksum_matches_an_independent_computation() {
        let frame = probe(OUR_MAC, ip("2001:db8::1:2:3"));
        assert_eq!(solicited_node(ip("2001:db8::1:2:3")), ip("ff02::1:ff02:3"));
        assert_eq!(&frame[..6], &[0x33, 0x33, 0xff, 0x02, 0x00, 0x03]);
        let icmp = pnet_packet::icmpv6::Icmpv6Packet::new(&frame[ICMP..]).unwrap();
        let expected =
            pnet_packet::icmpv6::checksum(&icmp, &Ipv6Addr::UNSPECIFIED, &ip("ff02::1:ff02:3"));
        assert_eq!(
            u16::from_be_bytes([frame[ICMP + 2], frame[ICMP + 3]]),
            expected
        );
        // Verifying a correct message sums to zero.
        assert_eq!(
            checksum(Ipv6Addr::UNSPECIFIED, ip("ff02::1:ff02:3"), &frame[ICMP..]),
            0
        );
    }

    #[test]
    fn advertisements_parse_with_and_without_the_option() {
        let target = ip("fd00:10::7");
        let with = advertisement(OWNER, target, target, true);
        assert_eq!(&with[..6], &ALL_NODES_MAC);
        assert_eq!(
            parse_advertisement(&with),
            Some(Advertisement { target, mac: OWNER })
        );
        // Without the option the Ethernet source is the owner.
        let without = advertisement(OWNER, target, target, false);
        assert_eq!(parse_advertisement(&without).unwrap().mac, OWNER);
        // The option wins over the Ethernet source (a bridge or proxy may relay it).
        let mut relayed = with.clone();
        relayed[6..12].copy_from_slice(&OUR_MAC.octets());
        assert_eq!(parse_advertisement(&relayed).unwrap().mac, OWNER);
        // Ethernet padding after the message is ignored.
        let mut padded = without.clone();
        padded.resize(90, 0);
        assert!(parse_advertisement(&padded).is_some());
    }

    #[test]
    fn resolution_solicitations_carry_our_link_local_and_mac() {
        let source = ip("fe80::5054:ff:fe12:3456");
        let target = ip("2001:db8::1:2:3");
        let frame = solicitation(OUR_MAC, source, target);
        assert_eq!(&frame[..6], &[0x33, 0x33, 0xff, 0x02, 0x00, 0x03]);
        assert_eq!(&frame[6..12], &OUR_MAC.octets());
        // Payload length 32: the solicitation and its option.
        assert_eq!(
            &frame[ETHERNET_HEADER_LEN + 4..ETHERNET_HEADER_LEN + 6],
            &[0, 32]
        );
        assert_eq!(frame[ETHERNET_HEADER_LEN + 7], 255);
        assert_eq!(
            &frame[ICMP + 24..],
            &[1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
        );
        let icmp = pnet_packet::icmpv6::Icmpv6Packet::new(&frame[ICMP..]).unwrap();
        let expected = pnet_packet::icmpv6::checksum(&icmp, &source, &ip("ff02::1:ff02:3"));
        assert_eq!(
            u16::from_be_bytes([frame[ICMP + 2], frame[ICMP + 3]]),
            expected
        );
        assert_eq!(
            parse_solicitation(&frame),
            Some(Solicitation {
                source,
                target,
                source_mac: Some(OUR_MAC)
            })
        );
        // A DAD probe parses without a source MAC.
        assert_eq!(
            parse_solicitation(&probe(OUR_MAC, target))
                .unwrap()
                .source_mac,
            None
        );
        assert_eq!(
            parse_solicitation(&advertisement(OWNER, target, target, true)),
            None
        );
        // Which kind the prober sends depends on a link-local address.
        assert_eq!(
            Probe::new(OUR_MAC, Some(source), target).as_ref(),
            frame.as_slice()
        );
        assert_eq!(Probe::new(OUR_MAC, None, target).as_ref().len(), PROBE_LEN);
    }

    #[test]
    fn answers_go_back_the_way_the_solicitation_came() {
        let source = ip("fe80::5054:ff:fe12:3456");
        let target = ip("fd00:10::7");
        let asked = parse_solicitation(&solicitation(OUR_MAC, source, target)).unwrap();
        let unicast = answer(OWNER, &asked);
        assert_eq!(&unicast[..6], &OUR_MAC.octets(), "to the solicitor's MAC");
        assert_eq!(&unicast[ETHERNET_HEADER_LEN + 24..ICMP], &source.octets());
        assert_eq!(unicast[ICMP + 4], FLAG_SOLICITED);
        assert_eq!(
            parse_advertisement(&unicast),
            Some(Advertisement { target, mac: OWNER })
        );
        let dad = parse_solicitation(&probe(OUR_MAC, target)).unwrap();
        assert_eq!(
            &answer(OWNER, &dad)[..6],
            &ALL_NODES_MAC,
            "a DAD probe: to all nodes"
        );
    }

    #[test]
    fn rejects_solicitations_routed_corrupt_and_truncated_frames() {
        let target = ip("fd00:10::7");
        assert_eq!(
            parse_advertisement(&probe(OWNER, target)),
            None,
            "a DAD probe is no claim"
        );
        let good = advertisement(OWNER, target, target, true);
        let mut routed = good.clone();
        routed[ETHERNET_HEADER_LEN + 7] = 64;
        assert_eq!(parse_advertisement(&routed), None, "hop limit 64");
        let mut corrupt = good.clone();
        corrupt[ICMP + 23] ^= 1;
        assert_eq!(parse_advertisement(&corrupt), None, "bad checksum");
        assert_eq!(
            parse_advertisement(&good[..good.len() - 1]),
            None,
            "truncated"
        );
        let mut code = good.clone();
        code[ICMP + 1] = 1;
        assert_eq!(parse_advertisement(&code), None, "code 1");
        let mut ipv4 = good.clone();
        ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(parse_advertisement(&ipv4), None, "not IPv6");
    }
}
