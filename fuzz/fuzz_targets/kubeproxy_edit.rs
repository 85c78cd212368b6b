//! The kube-proxy configuration editor must never panic; whatever it plans must parse back
//! with the intended values, and planning again on its output must change nothing.
#![no_main]

#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        properties::kubeproxy_edit(text);
    }
});
