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
        let config = Config {
            promiscuous: false,
            read_timeout: Some(READ_TIMEOUT),
            ..Config::default()
        };
        let raw_error = |reason: String| Error::RawSocket {
            interface: name.to_string(),
            reason,
        };
        match datalink::channel(&interface, config) {
            Ok(Channel::Ethernet(tx, rx)) => Ok(ArpSocket {
                mac,
                tx,
                rx: Some(rx),
            }),
            Ok(_) => Err(raw_error("not an Ethernet channel".into())),
            Err(err) if err.kind() == ErrorKind::PermissionDenied => Err(raw_error(
                "permission denied (CAP_NET_RAW is missing)".into(),
            )),
            Err(err) => Err(raw_error(err.to_string())),
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
    pub fn spawn_receiver(
        &mut self,
        frames: Sender<(Instant, ArpFrame)>,
        stop: Arc<AtomicBool>,
    ) -> Option<JoinHandle<()>> {
        let mut rx = self.rx.take()?;
        Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match rx.next() {
                    Ok(bytes) => {
                        if let Some(frame) = ArpFrame::parse(bytes)
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
