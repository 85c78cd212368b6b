//! The ARP frame parser reads whatever arrives on the wire: it must never panic, and a frame it
//! accepts must encode back to the same fields.
#![no_main]

#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::arp_frame(data));
