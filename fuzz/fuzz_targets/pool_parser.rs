//! The pool parser must never panic, and whatever it accepts must be self-consistent.
#![no_main]

use lbctl::net::pool::Pool;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pool) = Pool::parse(text) {
        // Printing and parsing again gives the same addresses.
        let again = Pool::parse(&pool.to_string()).expect("a printed pool parses");
        assert_eq!(again.ranges(), pool.ranges());
        // Every range's first address is in the pool.
        for range in pool.ranges() {
            assert!(pool.contains(range.start()));
        }
    }
});
