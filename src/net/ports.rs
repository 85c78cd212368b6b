//! Whether a port is free on the node, from the socket tables in `/proc/net/{tcp,udp}{,6}`.

use serde::{Deserialize, Serialize};

use super::roots::NodeFiles;

/// The port MetalLB's speakers use for memberlist, TCP and UDP.
pub const MEMBERLIST_PORT: u16 = 7946;

/// TCP state `LISTEN` in the kernel's socket tables.
const TCP_LISTEN: &str = "0A";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortUse {
    pub port: u16,
    pub tcp_free: bool,
    pub udp_free: bool,
    /// False when no socket table could be read (the answer is then unknown).
    pub readable: bool,
}

impl PortUse {
    pub fn read(files: &impl NodeFiles, port: u16) -> PortUse {
        let table = |name: &str| files.read(&format!("/proc/net/{name}"));
        let tcp: Vec<String> = ["tcp", "tcp6"].iter().filter_map(|n| table(n)).collect();
        let udp: Vec<String> = ["udp", "udp6"].iter().filter_map(|n| table(n)).collect();
        PortUse {
            port,
            tcp_free: !tcp.iter().any(|t| bound(t, port, Some(TCP_LISTEN))),
            udp_free: !udp.iter().any(|t| bound(t, port, None)),
            readable: !tcp.is_empty() || !udp.is_empty(),
        }
    }
}

/// True when a socket in the table has local `port` (and the given state, for TCP).
pub fn bound(table: &str, port: u16, state: Option<&str>) -> bool {
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = f
            .get(1)
            .and_then(|local| local.rsplit(':').next())
            .and_then(|p| u16::from_str_radix(p, 16).ok());
        local_port == Some(port) && state.is_none_or(|s| f.get(3) == Some(&s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F0A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F0B 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
";

    #[test]
    fn listeners_count_and_connections_do_not() {
        assert!(bound(TCP, 7946, Some(TCP_LISTEN)));
        assert!(
            !bound(TCP, 7947, Some(TCP_LISTEN)),
            "established, not listening"
        );
        assert!(bound(TCP, 7947, None));
        assert!(!bound(TCP, 80, None));
    }
}
