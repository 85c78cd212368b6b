//! The pool parser must never panic, and whatever it accepts must be self-consistent.
#![no_main]

#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        properties::pool_parser(text);
    }
});
