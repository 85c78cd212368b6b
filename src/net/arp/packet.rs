//! ARP frames on Ethernet: building RFC 5227 probes (and replies, for test responders) and
//! parsing whatever comes back. Matching uses the ARP fields only, never the Ethernet
//! destination, because some hosts send their replies to the broadcast address.

use std::net::Ipv4Addr;

use pnet_base::MacAddr;
use pnet_packet::Packet;
use pnet_packet::arp::{
    ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket,
};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};

/// Ethernet header (14) + ARP for IPv4 over Ethernet (28).
pub const FRAME_LEN: usize = 42;
const ETHERNET_HEADER_LEN: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Request,
    Reply,
}

/// The fields of an ARP frame that classification looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpFrame {
    /// An RFC 5227 probe: a request with sender IP 0.0.0.0, so no neighbour cache learns from it.
    pub fn probe(our_mac: MacAddr, candidate: Ipv4Addr) -> ArpFrame {
        ArpFrame {
            operation: Operation::Request,
            sender_mac: our_mac,
            sender_ip: Ipv4Addr::UNSPECIFIED,
            target_mac: MacAddr::zero(),
            target_ip: candidate,
        }
    }

    /// A reply from `owner_mac` claiming `owned_ip`, addressed to whoever sent `request`.
    pub fn reply_to(request: &ArpFrame, owner_mac: MacAddr) -> ArpFrame {
        ArpFrame {
            operation: Operation::Reply,
            sender_mac: owner_mac,
            sender_ip: request.target_ip,
            target_mac: request.sender_mac,
            target_ip: request.sender_ip,
        }
    }

    /// True for a probe: a request from the unspecified address.
    pub fn is_probe(&self) -> bool {
        self.operation == Operation::Request && self.sender_ip.is_unspecified()
    }

    /// The 42-byte Ethernet frame. Requests go to broadcast, replies to the target MAC.
    pub fn to_bytes(&self) -> [u8; FRAME_LEN] {
        let mut frame = [0u8; FRAME_LEN];
        let destination = match self.operation {
            Operation::Request => MacAddr::broadcast(),
            Operation::Reply => self.target_mac,
        };
        {
            // The buffer is exactly large enough for both headers, so these cannot fail.
            let mut eth = MutableEthernetPacket::new(&mut frame).expect("42-byte buffer");
            eth.set_destination(destination);
            eth.set_source(self.sender_mac);
            eth.set_ethertype(EtherTypes::Arp);
        }
        let mut arp =
            MutableArpPacket::new(&mut frame[ETHERNET_HEADER_LEN..]).expect("28-byte ARP body");
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(match self.operation {
            Operation::Request => ArpOperations::Request,
            Operation::Reply => ArpOperations::Reply,
        });
        arp.set_sender_hw_addr(self.sender_mac);
        arp.set_sender_proto_addr(self.sender_ip);
        arp.set_target_hw_addr(self.target_mac);
        arp.set_target_proto_addr(self.target_ip);
        frame
    }

    /// Parses an Ethernet frame; `None` for anything but IPv4-over-Ethernet ARP.
    pub fn parse(bytes: &[u8]) -> Option<ArpFrame> {
        let eth = EthernetPacket::new(bytes)?;
        if eth.get_ethertype() != EtherTypes::Arp {
            return None;
        }
        let arp = ArpPacket::new(eth.payload())?;
        if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
            || arp.get_protocol_type() != EtherTypes::Ipv4
            || arp.get_hw_addr_len() != 6
            || arp.get_proto_addr_len() != 4
        {
            return None;
        }
        let operation = match arp.get_operation() {
            ArpOperation(1) => Operation::Request,
            ArpOperation(2) => Operation::Reply,
            _ => return None,
        };
        Some(ArpFrame {
            operation,
            sender_mac: arp.get_sender_hw_addr(),
            sender_ip: arp.get_sender_proto_addr(),
            target_mac: arp.get_target_hw_addr(),
            target_ip: arp.get_target_proto_addr(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUR_MAC: MacAddr = MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

    #[test]
    fn probe_is_the_rfc_5227_frame() {
        let bytes = ArpFrame::probe(OUR_MAC, Ipv4Addr::new(192, 168, 10, 240)).to_bytes();
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // broadcast
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // our MAC
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet/IPv4, request
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, // sender MAC, sender IP 0.0.0.0
            0, 0, 0, 0, 0, 0, 192, 168, 10, 240, // target MAC zero, candidate
        ];
        assert_eq!(bytes, expected);
        let parsed = ArpFrame::parse(&bytes).unwrap();
        assert!(parsed.is_probe());
        assert_eq!(parsed.target_ip, Ipv4Addr::new(192, 168, 10, 240));
    }

    #[test]
    fn replies_round_trip_and_go_to_the_asker() {
        let probe = ArpFrame::probe(OUR_MAC, Ipv4Addr::new(10, 0, 0, 9));
        let owner = MacAddr(0, 0, 0x5e, 0, 1, 0x0a);
        let reply = ArpFrame::reply_to(&probe, owner);
        let bytes = reply.to_bytes();
        assert_eq!(&bytes[..6], &[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        let parsed = ArpFrame::parse(&bytes).unwrap();
        assert_eq!(parsed, reply);
        assert_eq!(parsed.sender_ip, Ipv4Addr::new(10, 0, 0, 9));
        assert!(!parsed.is_probe());
    }

    #[test]
    fn ignores_other_frames() {
        let mut bytes = ArpFrame::probe(OUR_MAC, Ipv4Addr::new(10, 0, 0, 9)).to_bytes();
        assert!(ArpFrame::parse(&bytes[..30]).is_none(), "truncated");
        bytes[12] = 0x08;
        bytes[13] = 0x00;
        assert!(ArpFrame::parse(&bytes).is_none(), "IPv4, not ARP");
        let mut odd_op = ArpFrame::probe(OUR_MAC, Ipv4Addr::new(10, 0, 0, 9)).to_bytes();
        odd_op[21] = 3;
        assert!(ArpFrame::parse(&odd_op).is_none(), "RARP operation");
    }
}
