//! Arbitrary bytes as a request head, strict and unsafe: a head, a need-more or a status,
//! never a panic; the parse is the same whatever the split point (re-parse from the start).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpmd::proto::h1::body::framing;
use mpmd::proto::h1::head::{parse_head, split_absolute, Limits, Parsed};

fuzz_target!(|data: &[u8]| {
    for strict in [true, false] {
        let limits = Limits { line: 256, field_size: 256, fields: 20, strict };
        match parse_head(data, &limits) {
            Parsed::Complete(head, used) => {
                assert!(used <= data.len());
                let _ = framing(&head);
                let _ = split_absolute(head.target());
                for f in &head.fields {
                    let _ = (head.name(f), head.value(f));
                }
                // A prefix of a complete head is never complete with a different length.
                if let Parsed::Complete(_, u2) = parse_head(&data[..used], &limits) {
                    assert_eq!(u2, used);
                }
            }
            Parsed::Partial | Parsed::Empty(_) | Parsed::Error(_) => {}
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = mpmd::modules::uri::normalize(s.as_bytes(), true, mpmd::modules::uri::EncodedSlashes::Off);
        let _ = mpmd::modules::core::parse_ranges(s, 1 << 20, (200, 20, 20));
    }
});
