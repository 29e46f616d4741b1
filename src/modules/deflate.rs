//! mod_deflate's output filter: gzip for the types `AddOutputFilterByType DEFLATE` names
//! (or everything under `SetOutputFilter DEFLATE`) when the client accepts gzip, with
//! `Vary: Accept-Encoding`, the ETag suffixed `-gzip` (DeflateAlterETag) and, like httpd, a
//! byte range taken from the compressed body. Bodies under 69 bytes, generated pages, 204/304,
//! already-encoded responses and `no-gzip` requests are left alone. The bytes are httpd's: the
//! system's zlib with httpd's settings (`sys`), and httpd's framing (a Content-Length only when
//! the compressed body fits DeflateBufferSize).

use std::io::{Read, Seek, SeekFrom};

mod sys;

use super::request::{Body, Framing, Request, Response};
use crate::config::directives::deflate::AlterETag;

/// httpd leaves bodies this short uncompressed (found by probing apache2 2.4).
const MIN_LEN: u64 = 69;
/// Larger bodies are sent uncompressed (the filter works in memory).
const MAX_LEN: u64 = 64 << 20;

/// Does `Accept-Encoding` accept gzip (`gzip`/`x-gzip` without `q=0`)?
fn accepts_gzip(ae: &str) -> bool {
    ae.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !(coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip")) {
            return false;
        }
        !parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        })
    })
}

fn wanted(req: &Request<'_>, resp: &Response) -> bool {
    let Some(conf) = req.dir.deflate.as_deref() else {
        return false;
    };
    if conf.set_filter == Some(true) {
        return true;
    }
    let ctype = resp.content_type.as_deref().map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if ctype.is_some_and(|t| conf.by_type.contains(&t)) {
        return true;
    }
    let name = req
        .filename
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.split('.')
        .skip(1)
        .any(|e| conf.by_ext.iter().any(|x| x == e))
}

/// `Vary: Accept-Encoding` merged into the response's first Vary field (httpd's
/// apr_table_mergen), unless `dont-vary`.
fn add_vary(req: &Request<'_>, resp: &mut Response) {
    if req.env_var("dont-vary").is_some() {
        return;
    }
    match resp
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("Vary"))
    {
        Some((_, v)) => v.push_str(", Accept-Encoding"),
        None => resp.headers.push(("Vary".into(), "Accept-Encoding".into())),
    }
}

/// Reads a streamed body into memory when it is at most MAX_LEN bytes (true); a longer
/// one is put back together (what was read, then the rest) and left streamed (false).
fn stream_to_bytes(resp: &mut Response) -> bool {
    let Body::Stream(src, len) = std::mem::take(&mut resp.body) else {
        return false;
    };
    if len.is_some_and(|l| l > MAX_LEN) {
        resp.body = Body::Stream(src, len);
        return false;
    }
    let mut src = src.0;
    let mut v = Vec::with_capacity(len.unwrap_or(8192).min(MAX_LEN) as usize);
    let read = (&mut src).take(MAX_LEN + 1).read_to_end(&mut v);
    if read.is_err() || v.len() as u64 > MAX_LEN {
        // Not whole: what was read goes first, then the rest as it comes.
        let rest = std::io::Cursor::new(v).chain(src);
        resp.body = Body::Stream(super::request::StreamBody(Box::new(rest)), len);
        return false;
    }
    resp.body = Body::Bytes(v);
    true
}

/// A single `bytes=` range of a body of `len` bytes, inclusive.
fn single_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        return (n > 0).then(|| (len.saturating_sub(n), len - 1));
    }
    let start: u64 = a.parse().ok()?;
    let end = if b.is_empty() {
        len - 1
    } else {
        b.parse::<u64>().ok()?.min(len - 1)
    };
    (start <= end && start < len).then_some((start, end))
}

fn read_all(req: &Request<'_>, resp: &mut Response) -> Option<Vec<u8>> {
    match &mut resp.body {
        Body::Bytes(b) => Some(b.clone()),
        Body::Shared(b) => Some(b.to_vec()),
        Body::File { file, offset, len } if resp.status == 200 => {
            let mut v = Vec::with_capacity(*len as usize);
            file.seek(SeekFrom::Start(*offset)).ok()?;
            file.take(*len).read_to_end(&mut v).ok()?;
            Some(v)
        }
        // A range: the whole file, compressed, then the range of that.
        Body::File { .. } => std::fs::read(&req.filename).ok(),
        _ => None,
    }
}

/// The DEFLATE output filter: before mod_headers' rules, as httpd's filter chain runs them
/// (with AddOutputFilterByType and SetOutputFilter alike: `Header` sees the gzip ETag).
pub fn fixup(req: &Request<'_>, resp: &mut Response) {
    if !wanted(req, resp)
        || resp.generated
        || !matches!(resp.status, 200 | 206)
        || req.env_var("no-gzip").is_some()
    {
        return;
    }
    if resp
        .header("Content-Encoding")
        .is_some_and(|e| !e.eq_ignore_ascii_case("identity"))
    {
        return;
    }
    // A streamed body (mod_proxy's) is read here when it is to be compressed, up to
    // MAX_LEN; a longer one goes out as it is, without Vary, as when the filter cannot run.
    if let (Body::Stream(_, len), 200) = (&resp.body, resp.status) {
        if !req.header_in("Accept-Encoding").is_some_and(accepts_gzip) {
            if !len.is_some_and(|l| l < MIN_LEN) {
                add_vary(req, resp);
            }
            return;
        }
        // Compressed as a whole, as httpd does when the backend's body came with its head;
        // when it came later, mod_proxy passes a FLUSH first and httpd's output differs
        // (an empty sync block, no Content-Length): timing mpmd does not reproduce.
        if !stream_to_bytes(resp) {
            return;
        }
    }
    let full_len = match (&resp.body, resp.status) {
        (Body::Bytes(b), 200) => b.len() as u64,
        (Body::Shared(b), 200) => b.len() as u64,
        (Body::File { len, .. }, 200) => *len,
        (Body::File { .. }, 206) => req.finfo.as_ref().map_or(0, |m| m.len()),
        _ => return,
    };
    if full_len < MIN_LEN {
        return;
    }
    add_vary(req, resp);
    // Bodies are compressed in memory: very large ones go out as they are.
    if !req.header_in("Accept-Encoding").is_some_and(accepts_gzip) || full_len > MAX_LEN {
        return;
    }
    let Some(plain) = read_all(req, resp) else {
        return;
    };
    let conf = req.dir.deflate.as_deref();
    let params = Params {
        level: conf.and_then(|c| c.level).unwrap_or(6) as i32,
        window: conf.and_then(|c| c.window_size).unwrap_or(15),
        mem_level: conf.and_then(|c| c.mem_level).unwrap_or(9),
        buffer: conf.and_then(|c| c.buffer_size).unwrap_or(8096) as usize,
    };
    let Gzipped { body: gz, streamed } = match gzip(&plain, &params) {
        Ok(g) => g,
        Err(rc) => {
            crate::ap_log!(
                error,
                "deflate",
                "AH01383: unable to init Zlib: deflateInit2 returned {rc}: URL {}",
                req.uri
            );
            return;
        }
    };
    let alter = req
        .dir
        .deflate
        .as_deref()
        .and_then(|c| c.alter_etag)
        .unwrap_or(AlterETag::AddSuffix);
    match alter {
        AlterETag::AddSuffix => {
            if let Some((_, v)) = resp
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case("ETag"))
            {
                if let Some(stripped) = v.strip_suffix('"') {
                    *v = format!("{stripped}-gzip\"");
                }
            }
        }
        AlterETag::Remove => resp
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("ETag")),
        AlterETag::NoChange => {}
    }
    resp.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("Content-Length"));
    resp.headers
        .push(("Content-Encoding".into(), "gzip".into()));
    // A body httpd streams has no length for the byterange filter: the whole of it, 200.
    if resp.status == 206 && streamed {
        resp.status = 200;
        resp.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("Content-Range"));
    }
    if resp.status == 206 {
        let total = gz.len() as u64;
        match req.header_in("Range").and_then(|h| single_range(h, total)) {
            Some((a, b)) => {
                resp.set("Content-Range", format!("bytes {a}-{b}/{total}"));
                resp.body = Body::Bytes(gz[a as usize..=b as usize].to_vec());
            }
            None => {
                resp.status = 200;
                resp.headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("Content-Range"));
                resp.body = Body::Bytes(gz);
            }
        }
        return;
    }
    // httpd's content-length filter sets the length only when the whole compressed body
    // reached it at once, with the end of the response.
    resp.framing = if streamed {
        Framing::Chunked
    } else {
        Framing::Length
    };
    resp.body = Body::Bytes(gz);
}

/// httpd's compression settings (DeflateCompressionLevel, DeflateWindowSize,
/// DeflateMemLevel, DeflateBufferSize).
struct Params {
    level: i32,
    window: u8,
    mem_level: u8,
    buffer: usize,
}

struct Gzipped {
    body: Vec<u8>,
    /// The compressed bytes filled httpd's output buffer before the body ended: httpd
    /// would have passed them on then, and the response has no Content-Length.
    streamed: bool,
}

/// The gzip header httpd writes: no name, no time, no extra flags, OS Unix.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// Compresses `plain` as mod_deflate does: httpd's header, a raw deflate stream fed with
/// `Z_NO_FLUSH` through a `buffer`-sized output buffer then finished, the CRC-32 and the
/// length. Zlib's code when it refuses the settings (a raw window under 9 bits).
fn gzip(plain: &[u8], p: &Params) -> Result<Gzipped, i32> {
    let mut z = sys::RawDeflate::new(p.level, p.window, p.mem_level)?;
    let buffer = p.buffer.max(1);
    let mut out = Vec::with_capacity(plain.len() / 3 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    // httpd's output buffer is emulated at the end of `out`: `used` bytes of it are filled.
    let mut used = 0usize;
    let mut streamed = false;
    let mut input = plain;
    let mut step = |input: &[u8], out: &mut Vec<u8>, used: &mut usize, flush: sys::Flush| {
        let start = out.len();
        out.resize(start + (buffer - *used), 0);
        let r = z.run(input, &mut out[start..], flush);
        let wrote = r.map_or(0, |(_, w, _)| w);
        out.truncate(start + wrote);
        *used += wrote;
        r.map(|(read, _, end)| (read, end))
    };
    while !input.is_empty() {
        if used == buffer {
            // Full: httpd passes it on now, before the end of the body.
            used = 0;
            streamed = true;
        }
        let (read, _) = step(input, &mut out, &mut used, sys::Flush::None)?;
        input = &input[read..];
    }
    loop {
        if used == buffer {
            used = 0;
        }
        if step(&[], &mut out, &mut used, sys::Flush::Finish)?.1 {
            break;
        }
    }
    out.extend_from_slice(&sys::crc32(0, plain).to_le_bytes());
    out.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    Ok(Gzipped {
        body: out,
        streamed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("deflate, x-gzip"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(accepts_gzip("gzip;q=0.5"));
        assert!(!accepts_gzip("br"));
    }

    #[test]
    fn ranges() {
        assert_eq!(single_range("bytes=0-9", 53), Some((0, 9)));
        assert_eq!(single_range("bytes=-5", 53), Some((48, 52)));
        assert_eq!(single_range("bytes=50-", 53), Some((50, 52)));
        assert_eq!(single_range("bytes=60-70", 53), None);
        assert_eq!(single_range("bytes=0-1,3-4", 53), None);
    }
}
