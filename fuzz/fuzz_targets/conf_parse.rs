//! Arbitrary bytes into the config parser: it must return a tree or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpmd::conf::parse;

fuzz_target!(|data: &[u8]| {
    let text = parse::text_of(data);
    let mut lookup = |name: &str| match name {
        "X" => Some("\"quoted value\" <Directory".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let _ = parse::parse(&text, "/fuzz/httpd.conf", &mut lookup);
    let _ = parse::parse_limited(&text, "/fuzz/.htaccess", &mut lookup, parse::MAX_HTACCESS_LINE_LEN);
    for line in text.lines().take(64) {
        let _ = parse::classify(line);
        let _ = parse::split_words(line);
    }
});
