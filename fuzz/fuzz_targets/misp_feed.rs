#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tiaki_fuzz_targets::misp_feed(data));
