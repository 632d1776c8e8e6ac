#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kubemacpool_policy_fuzz::inventory(data));
