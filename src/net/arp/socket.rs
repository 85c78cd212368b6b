//! The raw link-layer socket, kept thin: open a pnet channel on one interface, send frames,
//! and hand received ARP frames to the prober with the instant they arrived.

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel, Config, DataLinkReceiver, DataLinkSender};
use pnet::util::MacAddr;

use super::packet::ArpFrame;
use crate::Error;

/// How long one read may block, so the receiver notices when probing is over.
const READ_TIMEOUT: Duration = Duration::from_millis(20);

pub struct ArpSocket {
    pub mac: MacAddr,
    tx: Box<dyn DataLinkSender>,
    rx: Option<Box<dyn DataLinkReceiver>>,
}

impl ArpSocket {
    /// Opens a non-promiscuous layer-2 channel on `name`.
    pub fn open(name: &str) -> Result<ArpSocket, Error> {
        let interface = datalink::interfaces()
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
        let raw_error = |reason: String| Error::RawSocket {
            interface: name.to_string(),
            reason,
        };
        let permission = |err: std::io::Error| {
            if err.kind() == ErrorKind::PermissionDenied {
                raw_error("permission denied (CAP_NET_RAW is missing)".into())
            } else {
                raw_error(err.to_string())
            }
        };
        let config = Config {
            promiscuous: false,
            read_timeout: Some(READ_TIMEOUT),
            socket_fd: Some(arp_only_socket().map_err(permission)?),
            ..Config::default()
        };
        match datalink::channel(&interface, config) {
            Ok(Channel::Ethernet(tx, rx)) => Ok(ArpSocket {
                mac,
                tx,
                rx: Some(rx),
            }),
            Ok(_) => Err(raw_error("not an Ethernet channel".into())),
            Err(err) => Err(permission(err)),
        }
    }

    pub fn send(&mut self, frame: &ArpFrame) -> Result<(), Error> {
        let bytes = frame.to_bytes();
        match self.tx.send_to(&bytes, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(err)) => Err(Error::io("cannot send an ARP probe", err)),
            None => Err(Error::io(
                "cannot send an ARP probe",
                std::io::Error::other("the channel refused the frame"),
            )),
        }
    }

    /// Starts a thread that forwards every ARP frame with its arrival time until `stop` is set.
    /// Our own frames (an ETH_P_ALL socket sees what we send) are dropped here already, so the
    /// prober is not woken for each of its own probes.
    pub fn spawn_receiver(
        &mut self,
        frames: Sender<(Instant, ArpFrame)>,
        stop: Arc<AtomicBool>,
    ) -> Option<JoinHandle<()>> {
        let mut rx = self.rx.take()?;
        let ours = self.mac;
        Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match rx.next() {
                    Ok(bytes) => {
                        if let Some(frame) = ArpFrame::parse(bytes)
                            && frame.sender_mac != ours
                            && frames.send((Instant::now(), frame)).is_err()
                        {
                            return;
                        }
                    }
                    Err(err) if err.kind() == ErrorKind::TimedOut => {}
                    Err(_) => return,
                }
            }
        }))
    }
}

/// A packet socket that only hands ARP frames to user space and, where the kernel supports it
/// (4.20+), not the frames we send ourselves: probing a /20 then costs a wake-up per reply
/// instead of one per frame on the wire. pnet binds it to the interface.
fn arp_only_socket() -> std::io::Result<i32> {
    let protocol = i32::from((libc::ETH_P_ALL as u16).to_be());
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, protocol) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Classic BPF: load the ethertype (offset 12); ARP -> accept the whole frame, else drop.
    let mut program = [
        libc::sock_filter {
            code: 0x28,
            jt: 0,
            jf: 0,
            k: 12,
        },
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 0x0806,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0xffff,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    let filter = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: fd is ours, the option values point at live data of the stated size.
    let attached = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&filter as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if attached != 0 {
        let err = std::io::Error::last_os_error();
        // SAFETY: closing the descriptor we opened above.
        unsafe { libc::close(fd) };
        return Err(err);
    }
    let one: libc::c_int = 1;
    // Older kernels lack the option; their own frames are then dropped in user space instead.
    // SAFETY: as above.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Ok(fd)
}
