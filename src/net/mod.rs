//! The network layer: address pools, node facts read from /proc and the interfaces, and the
//! ARP prober. Parsing and judging are pure; reading /proc and raw sockets stay at the edges.

pub mod pool;
