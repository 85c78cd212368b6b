//! The agent's pod network: a network namespace of its own, joined to this machine by a veth
//! pair, holding the addresses of the pods it serves for. A real API server refuses loopback
//! endpoint addresses (EndpointSlice validation), so the pods the API server calls (MetalLB's
//! webhook) need addresses that are not loopback; these are the project's own test hosts, in
//! `198.18.R.0/24` (RFC 2544's benchmarking range, never routed), reached over the veth.
//! Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip` from iproute2.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;

/// The namespace and its veth, removed on drop.
pub struct PodNetwork {
    r: u8,
    name: String,
    added: std::sync::Mutex<Vec<Ipv4Addr>>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The base of the pod network of the agent that claimed `r`.
pub fn pod_subnet(r: u8) -> [u8; 4] {
    [198, 18, r, 0]
}

impl PodNetwork {
    /// Creates `ksim-R-PID` with veth `ksimR` (198.18.R.1/24) on this side. `r` is claimed by
    /// the caller, so a namespace or link of that number left behind is a dead agent's.
    pub fn create(r: u8) -> Result<PodNetwork, String> {
        let host = format!("ksim{r}");
        remove_leftovers(r, &host);
        let name = format!("ksim-{r}-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let network = PodNetwork {
            r,
            name: name.clone(),
            added: Default::default(),
        };
        ip(&[
            "link", "add", &host, "type", "veth", "peer", "name", "eth0", "netns", &name,
        ])?;
        let [a, b, c, _] = pod_subnet(r);
        ip(&["addr", "add", &format!("{a}.{b}.{c}.1/24"), "dev", &host])?;
        ip(&["link", "set", &host, "up"])?;
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        ip(&["-n", &name, "link", "set", "eth0", "up"])?;
        Ok(network)
    }

    /// A listener at `addr` inside the namespace (the address is added to it first).
    pub fn listen(&self, addr: SocketAddr) -> Result<std::net::TcpListener, String> {
        let std::net::IpAddr::V4(v4) = addr.ip() else {
            return Err("IPv4 only".into());
        };
        if v4.octets()[..3] != pod_subnet(self.r)[..3] {
            return Err(format!("{v4} is not in this agent's pod network"));
        }
        let mut added = self.added.lock().unwrap_or_else(|e| e.into_inner());
        if !added.contains(&v4) {
            ip(&[
                "-n",
                &self.name,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                "eth0",
            ])?;
            added.push(v4);
        }
        drop(added);
        let path = format!("/run/netns/{}", self.name);
        // A socket belongs to the namespace of the thread that made it, for its whole life.
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
            // SAFETY: setns on a namespace file this thread opened; the thread ends right after.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
            }
            let listener =
                std::net::TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(listener)
        })
        .join()
        .map_err(|_| "the namespace thread panicked".to_string())?
    }
}

impl Drop for PodNetwork {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &format!("ksim{}", self.r)]);
    }
}

/// Namespaces `ksim-R-*` and the link `ksimR` of agents that died without cleaning up.
fn remove_leftovers(r: u8, host: &str) {
    let prefix = format!("ksim-{r}-");
    if let Ok(entries) = std::fs::read_dir("/run/netns") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                let _ = ip(&["netns", "del", &name]);
            }
        }
    }
    if std::path::Path::new(&format!("/sys/class/net/{host}")).exists() {
        let _ = ip(&["link", "del", host]);
    }
}
