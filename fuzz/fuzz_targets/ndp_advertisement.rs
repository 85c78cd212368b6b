//! The Neighbor Advertisement parser reads whatever IPv6 frames arrive on the wire: it must
//! never panic, and an advertisement it accepts must encode back to the same claim.
#![no_main]

#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::ndp_advertisement(data));
