#![no_main]

use kubemacpool_policy_fuzz::{Target, admit};

libfuzzer_sys::fuzz_target!(|data: &[u8]| admit(data, Target::Pod));
