//! The kube-proxy configuration editor must never panic; whatever it plans must parse back
//! with the intended values, and planning again on its output must change nothing.
#![no_main]

use lbctl::kubeproxy::config::{ProxyMode, parse};
use lbctl::kubeproxy::plan::{ModeChoice, plan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for mode in [ModeChoice::Ipvs, ModeChoice::Keep] {
        let Ok(planned) = plan(text, Some(mode), None) else {
            continue;
        };
        let (_, after) = parse(&planned.new_text).expect("a planned text parses");
        assert_eq!(after.strict_arp, Some(true));
        if mode == ModeChoice::Ipvs {
            assert_eq!(after.mode, ProxyMode::Ipvs);
        }
        let again = plan(&planned.new_text, Some(mode), None).expect("a planned text plans again");
        assert!(again.is_empty());
    }
});
