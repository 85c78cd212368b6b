//! The network layer: address pools, node facts read from /proc and the interfaces, and the
//! ARP prober. Parsing and judging are pure; reading /proc and raw sockets stay at the edges.

pub mod arp;
pub mod dump;
pub mod interfaces;
pub mod modules;
pub mod node;
pub mod pool;
pub mod ports;
pub mod roots;
pub mod routes;
pub mod sysctl;
