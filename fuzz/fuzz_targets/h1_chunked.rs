//! Arbitrary bytes into the chunked decoder, fed whole and in small pieces: both must decode
//! the same data or fail the same way, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpmd::proto::h1::body::ChunkedDecoder;

fn run(data: &[u8], piece: usize) -> Result<(Vec<u8>, bool), u16> {
    let mut d = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() && !d.is_done() {
        let end = pos.saturating_add(piece).min(data.len());
        let step = d.feed(&data[pos..end]).map_err(|e| e.status())?;
        out.extend_from_slice(&data[pos..end][step.data.clone()]);
        if step.used == 0 {
            break;
        }
        pos += step.used;
    }
    Ok((out, d.is_done()))
}

fuzz_target!(|data: &[u8]| {
    let whole = run(data, usize::MAX);
    let split = run(data, 3);
    assert_eq!(whole, split);
});
