//! The raw link-layer socket, kept thin: a packet socket for one protocol (ARP, or IPv6 for
//! NDP) on one interface that sends a batch of frames with one system call, waits for replies,
//! and reads them in batches too.
//!
//! The socket is bound to one ethertype rather than ETH_P_ALL (what pnet's Layer2 channel uses):
//! the kernel then hands it incoming frames of that protocol only, and never a copy of what the
//! host sends (ETH_P_ALL sockets are taps on every transmitted frame, our own probes included).

use std::io::ErrorKind;
use std::mem::{size_of, zeroed};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use pnet_base::MacAddr;

use crate::Error;

/// Frames per sendmmsg call.
const SEND_BATCH: usize = 64;
/// Frames per recvmmsg call, and the bytes kept of each (an ARP frame is 42, 60 with padding;
/// a Neighbor Advertisement with its link-layer address option 86).
const READ_BATCH: usize = 16;
const READ_SIZE: usize = 128;

pub struct ArpSocket {
    /// The interface's MAC and IPv6 link-local address: where probes come from.
    pub sender: super::Sender,
    /// "ARP" or "NDP", for error messages.
    protocol: &'static str,
    fd: OwnedFd,
    /// Reused by every read: receiving allocates nothing.
    buffers: Box<[[u8; READ_SIZE]; READ_BATCH]>,
}

impl ArpSocket {
    /// Opens a packet socket for `ethertype` on `name` (not promiscuous) that also receives the
    /// link-layer multicast `groups`.
    pub fn open(
        name: &str,
        protocol: &'static str,
        ethertype: u16,
        groups: &[[u8; 6]],
    ) -> Result<ArpSocket, Error> {
        let interface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| {
                Error::usage_with_hint(
                    format!("no network interface named {name:?}"),
                    "list interfaces with `ip -br link`",
                )
            })?;
        let mac = interface
            .mac
            .filter(|m| *m != MacAddr::zero())
            .ok_or_else(|| Error::usage(format!("interface {name} has no MAC address")))?;
        let fd =
            packet_socket(interface.index, ethertype, groups).map_err(|err| Error::RawSocket {
                interface: name.to_string(),
                reason: if err.kind() == ErrorKind::PermissionDenied {
                    "permission denied (CAP_NET_RAW is missing)".into()
                } else {
                    err.to_string()
                },
            })?;
        let link_local = interface.ips.iter().find_map(|network| match network.ip() {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(v6),
            _ => None,
        });
        Ok(ArpSocket {
            sender: super::Sender { mac, link_local },
            protocol,
            fd,
            buffers: Box::new([[0; READ_SIZE]; READ_BATCH]),
        })
    }

    /// Sends every frame, up to SEND_BATCH per system call.
    pub fn send_all<B: AsRef<[u8]>>(&mut self, frames: &[B]) -> Result<(), Error> {
        let mut rest = frames;
        while !rest.is_empty() {
            let chunk = &rest[..rest.len().min(SEND_BATCH)];
            // SAFETY: plain C structs; all-zero is a valid value for both.
            let mut iovecs: [libc::iovec; SEND_BATCH] = unsafe { zeroed() };
            let mut messages: [libc::mmsghdr; SEND_BATCH] = unsafe { zeroed() };
            for ((frame, iovec), message) in chunk.iter().zip(&mut iovecs).zip(&mut messages) {
                // No address: the socket is bound to the interface and to the ethertype.
                let frame = frame.as_ref();
                point(
                    message,
                    iovec,
                    frame.as_ptr().cast_mut().cast(),
                    frame.len(),
                );
            }
            // SAFETY: `messages` points at `chunk.len()` headers whose buffers outlive the call.
            let sent = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    messages.as_mut_ptr(),
                    chunk.len() as libc::c_uint,
                    0,
                )
            };
            if sent < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io(
                    format!("cannot send an {} probe", self.protocol),
                    err,
                ));
            }
            rest = &rest[sent as usize..];
        }
        Ok(())
    }

    /// Waits up to `timeout` for a frame to read; false when none came (or a signal woke us).
    pub fn wait(&self, timeout: Duration) -> Result<bool, Error> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one live pollfd, a valid timespec, no signal mask.
        let ready = unsafe { libc::ppoll(&mut poll, 1, &timeout, std::ptr::null()) };
        if ready < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(Error::io(
                format!("cannot wait for {} replies", self.protocol),
                err,
            ));
        }
        Ok(ready > 0)
    }

    /// Reads every frame waiting on the socket, without blocking, READ_BATCH per system call,
    /// and hands what `parse` makes of each to `frame`. Frames we sent ourselves (our MAC as
    /// Ethernet source) are dropped: a bridge or a tap could reflect them.
    pub fn receive<T>(
        &mut self,
        parse: impl Fn(&[u8]) -> Option<T>,
        mut frame: impl FnMut(T),
    ) -> Result<(), Error> {
        let ours = self.sender.mac.octets();
        loop {
            // SAFETY: plain C structs; all-zero is a valid value for both.
            let mut iovecs: [libc::iovec; READ_BATCH] = unsafe { zeroed() };
            let mut messages: [libc::mmsghdr; READ_BATCH] = unsafe { zeroed() };
            for ((buffer, iovec), message) in
                self.buffers.iter_mut().zip(&mut iovecs).zip(&mut messages)
            {
                point(message, iovec, buffer.as_mut_ptr().cast(), READ_SIZE);
            }
            // SAFETY: READ_BATCH headers, each pointing at a READ_SIZE buffer we own.
            let read = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    messages.as_mut_ptr(),
                    READ_BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if read < 0 {
                let err = std::io::Error::last_os_error();
                return match err.kind() {
                    ErrorKind::WouldBlock => Ok(()),
                    ErrorKind::Interrupted => continue,
                    _ => Err(Error::io(
                        format!("cannot read {} replies", self.protocol),
                        err,
                    )),
                };
            }
            let read = read as usize;
            for (buffer, message) in self.buffers.iter().zip(&messages).take(read) {
                let len = (message.msg_len as usize).min(READ_SIZE);
                if buffer.get(6..12) != Some(&ours[..])
                    && let Some(parsed) = parse(&buffer[..len])
                {
                    frame(parsed);
                }
            }
            if read < READ_BATCH {
                return Ok(());
            }
        }
    }
}

/// Points a message header at one buffer (through its one iovec) for sendmmsg or recvmmsg.
fn point(
    message: &mut libc::mmsghdr,
    iovec: &mut libc::iovec,
    base: *mut libc::c_void,
    len: usize,
) {
    iovec.iov_base = base;
    iovec.iov_len = len;
    message.msg_hdr.msg_iov = iovec;
    message.msg_hdr.msg_iovlen = 1;
}

/// A packet socket for one ethertype on one interface. Created with protocol 0, it receives
/// nothing until it is bound, so no frame of another interface slips in meanwhile.
fn packet_socket(index: u32, ethertype: u16, groups: &[[u8; 6]]) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: all-zero is a valid sockaddr_ll; the fields that matter are set below.
    let mut address: libc::sockaddr_ll = unsafe { zeroed() };
    address.sll_family = libc::AF_PACKET as libc::c_ushort;
    address.sll_protocol = ethertype.to_be();
    address.sll_ifindex = index as libc::c_int;
    // SAFETY: the address points at a live sockaddr_ll of the stated size.
    let bound = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if bound != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for group in groups {
        // SAFETY: all-zero is a valid packet_mreq; the fields that matter are set below.
        let mut membership: libc::packet_mreq = unsafe { zeroed() };
        membership.mr_ifindex = index as libc::c_int;
        membership.mr_type = libc::PACKET_MR_MULTICAST as libc::c_ushort;
        membership.mr_alen = 6;
        membership.mr_address[..6].copy_from_slice(group);
        // SAFETY: the option value points at a live packet_mreq of the stated size.
        let joined = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&membership as *const libc::packet_mreq).cast(),
                size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        };
        if joined != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(fd)
}
