//! The default handler (httpd core): static files with Last-Modified and ETag (FileETag),
//! conditional requests (`ap_meets_conditions`), byte ranges (`byterange_filter.c` rules:
//! merging, MaxRanges/Overlaps/Reversals, 416) and the methods a static file answers.

use std::fmt::Write as _;
use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use super::filecache;
use super::request::{Body, Method, Request, Response};
use crate::config::dir::etag;
use crate::proto::h1::response::http_date;

/// `Allow` for a static resource.
pub fn allow_header(trace: bool) -> &'static str {
    if trace {
        "GET,POST,OPTIONS,HEAD,TRACE"
    } else {
        "GET,POST,OPTIONS,HEAD"
    }
}

fn mtime_micros(m: &Metadata) -> i64 {
    m.mtime() * 1_000_000 + m.mtime_nsec() / 1000
}

/// The ETag per FileETag bits, or `None` (`FileETag None`).
pub fn make_etag(m: &Metadata, bits: u8, request_time: u64) -> Option<String> {
    if bits & etag::NONE != 0 || bits & (etag::INODE | etag::MTIME | etag::SIZE) == 0 {
        return None;
    }
    // Built as bytes (at most `W/"` + 3 × 16 digits + 2 dashes + `"`), checked once.
    let mut b = [0u8; 56];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        b[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    // Weak when the file changed within the last second: it may change again unseen.
    if m.mtime() >= request_time as i64 {
        put(b"W/");
    }
    put(b"\"");
    let mut first = true;
    for (bit, v) in [
        (etag::INODE, m.ino()),
        (etag::SIZE, m.size()),
        (etag::MTIME, mtime_micros(m) as u64),
    ] {
        if bits & bit != 0 {
            if !first {
                put(b"-");
            }
            first = false;
            let mut digits = [0u8; 16];
            put(hex_digits(v, &mut digits));
        }
    }
    put(b"\"");
    std::str::from_utf8(&b[..n]).ok().map(str::to_owned)
}

/// `v` in lower-case hex, as `{v:x}` writes it, in the tail of `buf`.
fn hex_digits(mut v: u64, buf: &mut [u8; 16]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = DIGITS[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

fn parse_date(v: &str) -> Option<u64> {
    httpdate::parse_http_date(v.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

fn strip_weak(t: &str) -> &str {
    t.strip_prefix("W/").unwrap_or(t)
}

/// Does a list header (`If-Match`, `If-None-Match`) hold the tag?
fn list_has(list: &str, tag: &str, strong: bool) -> bool {
    if strong && tag.starts_with("W/") {
        return false;
    }
    list.split(',').map(str::trim).any(|t| {
        if strong {
            !t.starts_with("W/") && t == tag
        } else {
            strip_weak(t) == strip_weak(tag)
        }
    })
}

/// `ap_meets_conditions`: `None` to go on, or 304/412.
pub fn meets_conditions(req: &Request<'_>, etag: Option<&str>, mtime: u64) -> Option<u16> {
    let now = req.time;
    if let Some(im) = req.header_in("If-Match") {
        if im.trim() != "*" && !etag.is_some_and(|e| list_has(im, e, true)) {
            return Some(412);
        }
    } else if let Some(ius) = req.header_in("If-Unmodified-Since") {
        if let Some(d) = parse_date(ius) {
            if mtime > d {
                return Some(412);
            }
        }
    }
    let inm = req.header_in("If-None-Match");
    let mut not_modified = None;
    if let Some(inm) = inm {
        if inm.trim() == "*" || etag.is_some_and(|e| list_has(inm, e, false)) {
            if req.method.is_get_like() {
                not_modified = Some(true);
            } else {
                return Some(412);
            }
        } else {
            not_modified = Some(false);
        }
    }
    if req.method.is_get_like() && not_modified != Some(false) {
        if let Some(ims) = req.header_in("If-Modified-Since") {
            match parse_date(ims) {
                Some(d) if mtime <= d && d <= now => {
                    if not_modified.is_none() {
                        not_modified = Some(true);
                    }
                }
                _ => not_modified = Some(false),
            }
        }
    }
    if not_modified == Some(true) {
        Some(304)
    } else {
        None
    }
}

/// The multipart boundary: 16 hex digits fixed per process start.
pub(crate) fn boundary() -> &'static str {
    static B: OnceLock<String> = OnceLock::new();
    B.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        format!("{:016x}", t ^ (u64::from(std::process::id()) << 32))
    })
}

/// The outcome of parsing `Range` against a length.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranges {
    /// Ignore the header: send the whole entity.
    Ignore,
    Unsatisfiable,
    /// Inclusive (start, end) pairs, merged.
    Some(Vec<(u64, u64)>),
}

/// Limits: (MaxRanges, MaxRangeOverlaps, MaxRangeReversals); -1 = unlimited, 0 = none.
pub fn parse_ranges(v: &str, len: u64, limits: (i64, i64, i64)) -> Ranges {
    let v = v.trim();
    let Some(specs) = v
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("bytes="))
        .map(|_| &v[6..])
    else {
        return Ranges::Ignore;
    };
    if limits.0 == 0 {
        return Ranges::Ignore;
    }
    let mut out: Vec<(u64, u64)> = Vec::new();
    let (mut overlaps, mut reversals, mut count, mut any_valid) = (0i64, 0i64, 0i64, false);
    for spec in specs.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        count += 1;
        let Some((a, b)) = spec.split_once('-') else {
            return Ranges::Ignore;
        };
        let num = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                None
            } else {
                s.parse().ok()
            }
        };
        let (start, end) = if a.is_empty() {
            let Some(n) = num(b) else {
                return Ranges::Ignore;
            };
            any_valid = true;
            if n == 0 || len == 0 {
                continue;
            }
            (len.saturating_sub(n), len - 1)
        } else {
            let Some(s) = num(a) else {
                return Ranges::Ignore;
            };
            let e = if b.is_empty() {
                u64::MAX
            } else {
                match num(b) {
                    Some(e) => e,
                    None => return Ranges::Ignore,
                }
            };
            if e < s {
                return Ranges::Ignore;
            }
            any_valid = true;
            if s >= len {
                continue;
            }
            (s, e.min(len - 1))
        };
        if let Some(last) = out.last_mut() {
            if start < last.0 {
                reversals += 1;
            }
            if start <= last.1.saturating_add(1) && end.saturating_add(1) >= last.0 {
                if start <= last.1 && end >= last.0 {
                    overlaps += 1;
                }
                last.0 = last.0.min(start);
                last.1 = last.1.max(end);
                continue;
            }
        }
        out.push((start, end));
    }
    let over = |n: i64, lim: i64| lim >= 0 && n > lim;
    if over(count, limits.0) || over(overlaps, limits.1) || over(reversals, limits.2) {
        return Ranges::Ignore;
    }
    if !any_valid {
        return Ranges::Ignore;
    }
    if out.is_empty() {
        return Ranges::Unsatisfiable;
    }
    Ranges::Some(out)
}

/// Opens the file a request maps to, with httpd's statuses for the failures.
fn open_for_serving(req: &Request<'_>) -> Result<File, u16> {
    match File::open(&req.filename) {
        Ok(f) => Ok(f),
        // Gone between the walk's stat and here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(404),
        // httpd's default handler answers 403 for any other open failure, EMFILE included.
        Err(e) => {
            crate::ap_log!(
                error,
                "core",
                "({}){e}: AH00132: file permissions deny server access: {}",
                e.raw_os_error().unwrap_or(0),
                req.filename.display()
            );
            Err(403)
        }
    }
}

/// Serves a regular file already found by translate (`req.finfo`).
pub fn serve_file(
    req: &Request<'_>,
    content_type: Option<String>,
    resp: &mut Response,
) -> Result<(), u16> {
    match req.method {
        Method::Get | Method::Head | Method::Post => {}
        Method::Other => return Err(501),
        _ => {
            resp.set(
                "Allow",
                allow_header(req.dir.trace_enable.unwrap_or(req.config.trace_enable)).to_string(),
            );
            return Err(405);
        }
    }
    let Some(meta) = req.finfo.as_ref() else {
        return Err(404);
    };
    // A whole small file may come from the per-process cache: no open, read or close.
    let cached = if meta.size() <= filecache::MAX_FILE && req.header_in("Range").is_none() {
        filecache::get(&req.filename, meta)
    } else {
        None
    };
    let file = match cached {
        Some(_) => None,
        None => Some(open_for_serving(req)?),
    };
    let len = meta.size();
    let mtime = (meta.mtime().max(0) as u64).min(req.time);
    let mut etag = make_etag(meta, req.dir.etag_bits(), req.time);
    if let (Some(e), Some(v)) = (&etag, &resp.vlist_validator) {
        etag = Some(super::negotiation::structured_etag(e, v));
    }
    resp.status = 200;
    resp.headers
        .push(("Last-Modified".into(), http_date(mtime)));
    if let Some(e) = &etag {
        resp.headers.push(("ETag".into(), e.clone()));
    }
    let max_ranges = req.dir.max_ranges.unwrap_or(200);
    resp.headers.push((
        "Accept-Ranges".into(),
        if max_ranges == 0 { "none" } else { "bytes" }.into(),
    ));
    resp.length_at = Some(resp.headers.len());
    resp.content_type = content_type;

    let conditions = if req.prev_status.is_none() {
        meets_conditions(req, etag.as_deref(), mtime)
    } else {
        None
    };
    match conditions {
        Some(304) => {
            // The type stays known (mod_expires' ExpiresByType, %{CONTENT_TYPE}, the log's
            // %{Content-Type}o, as httpd's r->content_type); the writers send no
            // Content-Type on a 304. mod_mime's language and coding go (httpd's header filter
            // drops them for a 304).
            resp.headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("Content-Language")
                    && !n.eq_ignore_ascii_case("Content-Encoding")
            });
            resp.status = 304;
            return Ok(());
        }
        Some(s) => {
            resp.status = s;
            return Ok(());
        }
        None => {}
    }

    let mut ranges = Ranges::Ignore;
    if req.method.is_get_like() && req.prev_status.is_none() {
        if let Some(r) = req.header_in("Range") {
            let if_range_ok = match req.header_in("If-Range") {
                None => true,
                Some(ir) => {
                    let ir = ir.trim();
                    if ir.starts_with('"') || ir.starts_with("W/") {
                        etag.as_deref()
                            .is_some_and(|e| !e.starts_with("W/") && e == ir)
                    } else {
                        parse_date(ir) == Some(mtime)
                    }
                }
            };
            if if_range_ok {
                ranges = parse_ranges(
                    r,
                    len,
                    (
                        max_ranges,
                        req.dir.max_range_overlaps.unwrap_or(20),
                        req.dir.max_range_reversals.unwrap_or(20),
                    ),
                );
            }
        }
    }
    match ranges {
        Ranges::Ignore => {
            resp.body = match (cached, file) {
                (Some(data), _) => Body::Shared(data),
                // A small file read whole (GET): kept for the next request.
                (None, Some(file)) if len <= filecache::MAX_FILE && req.method == Method::Get => {
                    let mut data = vec![0u8; len as usize];
                    match std::os::unix::fs::FileExt::read_exact_at(&file, &mut data, 0) {
                        Ok(()) => {
                            filecache::put(&req.filename, meta, &data, req.time as i64);
                            Body::Bytes(data)
                        }
                        Err(_) => Body::File {
                            file,
                            offset: 0,
                            len,
                        },
                    }
                }
                (None, Some(file)) => Body::File {
                    file,
                    offset: 0,
                    len,
                },
                (None, None) => return Err(500),
            };
        }
        Ranges::Unsatisfiable => {
            super::negotiation::forget_headers(resp);
            return Err(416);
        }
        Ranges::Some(r) if r.len() == 1 => {
            let (s, e) = r[0];
            // A Range header means nothing came from the cache: the file is open.
            let Some(file) = file else { return Err(500) };
            resp.status = 206;
            resp.headers
                .push(("Content-Range".into(), format!("bytes {s}-{e}/{len}")));
            resp.body = Body::File {
                file,
                offset: s,
                len: e - s + 1,
            };
        }
        Ranges::Some(r) => {
            resp.status = 206;
            let b = boundary();
            let ct = resp.content_type.take();
            let mut parts = Vec::with_capacity(r.len());
            for &(s, e) in r.iter() {
                let mut h = String::with_capacity(96);
                h.push_str("\r\n--");
                h.push_str(b);
                h.push_str("\r\n");
                if let Some(ct) = &ct {
                    let _ = write!(h, "Content-type: {ct}\r\n");
                }
                let _ = write!(h, "Content-range: bytes {s}-{e}/{len}\r\n\r\n");
                parts.push((h.into_bytes(), s, e - s + 1));
            }
            resp.content_type = Some(format!("multipart/byteranges; boundary={b}"));
            let Some(file) = file else { return Err(500) };
            resp.body = Body::Multipart {
                file,
                parts,
                trailer: format!("\r\n--{b}--\r\n").into_bytes(),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_as_format_writes_it() {
        for v in [0u64, 1, 9, 10, 15, 16, 255, 0x1234_abcd, u64::MAX] {
            let mut buf = [0u8; 16];
            assert_eq!(hex_digits(v, &mut buf), format!("{v:x}").as_bytes());
        }
    }

    const L: (i64, i64, i64) = (200, 20, 20);

    #[test]
    fn ranges() {
        assert_eq!(
            parse_ranges("bytes=0-9", 1024, L),
            Ranges::Some(vec![(0, 9)])
        );
        assert_eq!(
            parse_ranges("bytes=-10", 1024, L),
            Ranges::Some(vec![(1014, 1023)])
        );
        assert_eq!(
            parse_ranges("bytes=-5000", 1024, L),
            Ranges::Some(vec![(0, 1023)])
        );
        assert_eq!(
            parse_ranges("bytes=1000-", 1024, L),
            Ranges::Some(vec![(1000, 1023)])
        );
        assert_eq!(
            parse_ranges("bytes=1000-5000", 1024, L),
            Ranges::Some(vec![(1000, 1023)])
        );
        assert_eq!(
            parse_ranges("bytes=0-9,10-19", 1024, L),
            Ranges::Some(vec![(0, 19)])
        );
        assert_eq!(
            parse_ranges("bytes=0-9,2000-3000", 1024, L),
            Ranges::Some(vec![(0, 9)])
        );
        assert_eq!(
            parse_ranges("bytes=0-9,20-29", 1024, L),
            Ranges::Some(vec![(0, 9), (20, 29)])
        );
        assert_eq!(parse_ranges("bytes=2000-", 1024, L), Ranges::Unsatisfiable);
        assert_eq!(parse_ranges("bytes=abc", 1024, L), Ranges::Ignore);
        assert_eq!(parse_ranges("bytes=10-5", 1024, L), Ranges::Ignore);
        assert_eq!(parse_ranges("items=0-5", 1024, L), Ranges::Ignore);
        // Regression (fuzz): a multi-byte character across the prefix must not panic.
        assert_eq!(parse_ranges("nnnnn\u{455}nn", 1024, L), Ranges::Ignore);
        assert_eq!(
            parse_ranges("bytes=0-1,3-4,6-7", 1024, (2, 20, 20)),
            Ranges::Ignore
        );
    }

    #[test]
    fn conditional_lists() {
        assert!(list_has("\"a\", \"b\"", "\"b\"", true));
        assert!(!list_has("W/\"b\"", "\"b\"", true));
        assert!(list_has("W/\"b\"", "\"b\"", false));
    }
}
