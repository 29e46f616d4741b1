//! URL path decoding and normalisation in httpd's order: decode the unreserved escapes, resolve
//! dot segments (refusing to climb above `/`), merge slashes, then decode the rest with the
//! AllowEncodedSlashes rule (`%2F` → 404 when Off, `%00` → 404).

/// How `%2F` is treated (`AllowEncodedSlashes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodedSlashes {
    Off,
    On,
    NoDecode,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Normalises a raw origin-form path (no query). `Err(status)` on refusal.
pub fn normalize(raw: &[u8], merge_slashes: bool, slashes: EncodedSlashes) -> Result<String, u16> {
    if raw.first() != Some(&b'/') {
        return Err(400);
    }
    // Nothing to decode, no dot segment, no empty segment: the path is its own normal form.
    if memchr::memchr(b'%', raw).is_none() && !has_dot_or_empty_segment(raw) {
        return Ok(match std::str::from_utf8(raw) {
            Ok(t) => t.to_owned(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        });
    }
    normalize_general(raw, merge_slashes, slashes)
}

/// Whether a `/` in `b` is followed by `/` or `.`: an empty segment, or one that starts with
/// a dot (`.`, `..`, or merely a dot file: the callers then take their general path).
pub(crate) fn has_dot_or_empty_segment(b: &[u8]) -> bool {
    memchr::memchr_iter(b'/', b).any(|i| matches!(b.get(i + 1), Some(b'/' | b'.')))
}

fn normalize_general(
    raw: &[u8],
    merge_slashes: bool,
    slashes: EncodedSlashes,
) -> Result<String, u16> {
    // 1. decode %XX of unreserved characters; validate every escape.
    let mut p = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|&c| hex(c)),
                raw.get(i + 2).and_then(|&c| hex(c)),
            ) else {
                return Err(400);
            };
            let c = h * 16 + l;
            if is_unreserved(c) {
                p.push(c);
            } else {
                p.extend_from_slice(&raw[i..i + 3]);
            }
            i += 3;
        } else {
            p.push(b);
            i += 1;
        }
    }
    // 2. dot segments, 3. merge slashes.
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    let segs: Vec<&[u8]> = p[1..].split(|&b| b == b'/').collect();
    let last = segs.len() - 1;
    for (n, seg) in segs.iter().enumerate() {
        match *seg {
            b"." => {
                if n == last && !out.ends_with(b"/") {
                    out.push(b'/');
                }
            }
            b".." => {
                if out.is_empty() {
                    return Err(400);
                }
                // drop the last segment (and its leading slash)
                if out.ends_with(b"/") {
                    out.pop();
                }
                match out.iter().rposition(|&b| b == b'/') {
                    Some(k) => out.truncate(k),
                    None => return Err(400),
                }
                if n == last {
                    out.push(b'/');
                }
                if out.is_empty() && n != last {
                    // still at root: fine
                }
            }
            b"" if merge_slashes && n != 0 && n != last => {}
            b"" if merge_slashes && n == last => {
                if !out.ends_with(b"/") {
                    out.push(b'/');
                }
            }
            seg => {
                if merge_slashes && seg.is_empty() {
                    continue;
                }
                out.push(b'/');
                out.extend_from_slice(seg);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
    // 4. decode the remaining escapes.
    let mut dec = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i] == b'%' {
            let c = hex(out[i + 1]).unwrap_or(0) * 16 + hex(out[i + 2]).unwrap_or(0);
            match c {
                b'/' => match slashes {
                    EncodedSlashes::Off => return Err(404),
                    EncodedSlashes::On => dec.push(b'/'),
                    EncodedSlashes::NoDecode => dec.extend_from_slice(&out[i..i + 3]),
                },
                0 => return Err(404),
                c => dec.push(c),
            }
            i += 3;
        } else {
            dec.push(out[i]);
            i += 1;
        }
    }
    String::from_utf8(dec).or_else(|e| {
        // Non-UTF-8 bytes in a file name: keep them losslessly via OsString later; here we
        // keep a lossy copy only for matching, which httpd would do on bytes.
        Ok(String::from_utf8_lossy(e.as_bytes()).into_owned())
    })
}

/// Percent-encodes a path for use in a URL (`ap_escape_uri`).
pub fn escape_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortcut_gives_what_the_general_path_gives() {
        for p in [
            "/",
            "/a",
            "/a/",
            "/index.html",
            "/a/b/c.txt",
            "/caf\u{e9}",
            "/a-b_c~d",
            "/x?y",
            "/a/b/",
            "/..a",
            "/a..",
            "/a.b/c.d",
        ] {
            for merge in [true, false] {
                let raw = p.as_bytes();
                assert_eq!(
                    normalize(raw, merge, EncodedSlashes::Off),
                    normalize_general(raw, merge, EncodedSlashes::Off),
                    "{p}"
                );
            }
        }
    }

    fn n(s: &str) -> Result<String, u16> {
        normalize(s.as_bytes(), true, EncodedSlashes::Off)
    }

    #[test]
    fn dot_segments_and_traversal() {
        assert_eq!(n("/subdir/../notes.txt"), Ok("/notes.txt".into()));
        assert_eq!(n("/../notes.txt"), Err(400));
        assert_eq!(n("/%2e%2e/notes.txt"), Err(400));
        assert_eq!(n("/%2E%2E/%2E%2E/etc/passwd"), Err(400));
        assert_eq!(n("/subdir/%2e/page.html"), Ok("/subdir/page.html".into()));
        assert_eq!(n("/subdir/.."), Ok("/".into()));
        assert_eq!(n("/a/b/.."), Ok("/a/".into()));
        assert_eq!(n("/./notes.txt"), Ok("/notes.txt".into()));
        assert_eq!(n("/subdir/."), Ok("/subdir/".into()));
    }

    #[test]
    fn slashes_and_escapes() {
        assert_eq!(n("//notes.txt"), Ok("/notes.txt".into()));
        assert_eq!(n("/subdir//page.html"), Ok("/subdir/page.html".into()));
        assert_eq!(n("/subdir/"), Ok("/subdir/".into()));
        assert_eq!(n("/"), Ok("/".into()));
        assert_eq!(n("/subdir%2Fpage.html"), Err(404));
        assert_eq!(n("/a%252Fb.txt"), Ok("/a%2Fb.txt".into()));
        assert_eq!(n("/notes.txt%00"), Err(404));
        assert_eq!(n("/%zz"), Err(400));
        assert_eq!(n("/notes%2.txt"), Err(400));
        assert_eq!(
            n("/file%20with%20spaces%20%C3%BC.txt"),
            Ok("/file with spaces ü.txt".into())
        );
        assert_eq!(
            normalize(b"//a//b", false, EncodedSlashes::Off),
            Ok("//a//b".into())
        );
        assert_eq!(
            normalize(b"/a%2Fb", false, EncodedSlashes::On),
            Ok("/a/b".into())
        );
    }
}
