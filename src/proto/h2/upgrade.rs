//! h2c by `Upgrade: h2c` (RFC 7540 §3.2, as mod_http2 does it on cleartext HTTP/1.1).
//!
//! The h2 crate has no way to adopt the upgraded request as stream 1, so the request is
//! handed to it as if the client had sent it: right after the client's preface and first
//! SETTINGS frame, a HEADERS frame for stream 1 (END_STREAM, literal fields that leave the
//! HPACK table alone) is spliced into the bytes the crate reads. The crate then answers
//! stream 1 like any other request and the client's own streams start at 3.
//!
//! Like httpd, only a request without a body is upgraded; one with a body is served over
//! HTTP/1.1 as if no `Upgrade` had been sent.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::proto::h1::Head;

/// Largest header block we splice (the peer's frames may be up to 16 KiB before SETTINGS).
const MAX_BLOCK: usize = 16 * 1024;

/// The upgraded request, as the HEADERS frame to splice in.
#[derive(Debug)]
pub struct Upgraded {
    pub frame: Vec<u8>,
}

/// Is this HTTP/1.1 request an `Upgrade: h2c` we take? `Some` holds the HEADERS frame for
/// stream 1. `None`: serve it over HTTP/1.1.
pub fn candidate(head: &Head) -> Option<Upgraded> {
    if !head.is_http11() || head.version != (1, 1) {
        return None;
    }
    let upgrade = head.header("Upgrade")?;
    let offers_h2c = upgrade
        .split(|b| *b == b',')
        .any(|t| crate::proto::h1::head::trim(t).eq_ignore_ascii_case(b"h2c"));
    if !offers_h2c
        || !head.has_token("Connection", "upgrade")
        || !head.has_token("Connection", "http2-settings")
        || head.count("HTTP2-Settings") != 1
        || !settings_ok(head.header("HTTP2-Settings")?)
    {
        return None;
    }
    // A request body would have to be read before switching: httpd declines those.
    if head.header("Transfer-Encoding").is_some() {
        return None;
    }
    if let Some(cl) = head.header("Content-Length") {
        if crate::proto::h1::head::trim(cl) != b"0" {
            return None;
        }
    }
    let target = head.target();
    if !target.starts_with(b"/") {
        return None;
    }
    let authority = head.header("Host")?;
    let mut block = Vec::with_capacity(256);
    literal(&mut block, b":method", head.method());
    literal(&mut block, b":scheme", b"http");
    literal(&mut block, b":authority", authority);
    literal(&mut block, b":path", target);
    let hop: Vec<Vec<u8>> = head
        .headers("Connection")
        .flat_map(|v| v.split(|b| *b == b','))
        .map(|t| crate::proto::h1::head::trim(t).to_ascii_lowercase())
        .collect();
    for f in &head.fields {
        let name = head.name(f).to_ascii_lowercase();
        let skip = matches!(
            &name[..],
            b"host"
                | b"connection"
                | b"upgrade"
                | b"http2-settings"
                | b"keep-alive"
                | b"proxy-connection"
                | b"transfer-encoding"
                | b"te"
        ) || hop.contains(&name);
        if !skip {
            literal(&mut block, &name, head.value(f));
        }
    }
    if block.len() > MAX_BLOCK {
        return None;
    }
    let mut frame = Vec::with_capacity(9 + block.len());
    let len = block.len() as u32;
    frame.extend_from_slice(&len.to_be_bytes()[1..]);
    frame.push(0x1); // HEADERS
    frame.push(0x1 | 0x4); // END_STREAM | END_HEADERS
    frame.extend_from_slice(&1u32.to_be_bytes());
    frame.extend_from_slice(&block);
    Some(Upgraded { frame })
}

/// `HTTP2-Settings`: base64url (no padding) of a SETTINGS payload, six bytes per setting.
fn settings_ok(v: &[u8]) -> bool {
    let v = crate::proto::h1::head::trim(v);
    let ok_chars = v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'=');
    let data = v.iter().filter(|b| **b != b'=').count();
    // Decoded length = data * 3 / 4 (rounded down) must be a multiple of 6.
    ok_chars && data % 4 != 1 && (data * 3 / 4) % 6 == 0
}

/// HPACK "literal header field without indexing — new name" (RFC 7541 §6.2.2), no Huffman.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    string(out, name);
    string(out, value);
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    integer(out, s.len(), 7, 0);
    out.extend_from_slice(s);
}

/// HPACK integer with an N-bit prefix (RFC 7541 §5.1).
fn integer(out: &mut Vec<u8>, mut v: usize, bits: u8, flags: u8) {
    let max = (1usize << bits) - 1;
    if v < max {
        out.push(flags | v as u8);
        return;
    }
    out.push(flags | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// Reads the client preface and its first frame (which must be SETTINGS), and returns them
/// with the HEADERS frame of stream 1 spliced in after them, followed by whatever else was
/// read. `early` holds bytes the HTTP/1 driver had already read past the request.
pub async fn splice<T: AsyncRead + Unpin>(
    io: &mut T,
    early: Vec<u8>,
    up: &Upgraded,
) -> io::Result<Vec<u8>> {
    let mut buf = early;
    let pre = super::PREFACE.len();
    loop {
        if buf.len() >= pre + 9 {
            if &buf[..pre] != super::PREFACE || buf[pre + 3] != 0x4 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "no HTTP/2 preface after 101",
                ));
            }
            let len = u32::from_be_bytes([0, buf[pre], buf[pre + 1], buf[pre + 2]]) as usize;
            let end = pre + 9 + len;
            if buf.len() >= end {
                let mut out = Vec::with_capacity(buf.len() + up.frame.len());
                out.extend_from_slice(&buf[..end]);
                out.extend_from_slice(&up.frame);
                out.extend_from_slice(&buf[end..]);
                return Ok(out);
            }
            if len > MAX_BLOCK {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "oversized first SETTINGS frame",
                ));
            }
        } else if buf.len() >= 4 && buf[..4] != super::PREFACE[..4] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no HTTP/2 preface after 101",
            ));
        }
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An IO that yields `prefix` before reading from `inner`.
pub struct Prefixed<T> {
    prefix: Vec<u8>,
    pos: usize,
    inner: T,
}

impl<T> Prefixed<T> {
    pub fn new(prefix: Vec<u8>, inner: T) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h1::head::{parse_head, Limits, Parsed};

    fn head(raw: &[u8]) -> Head {
        match parse_head(raw, &Limits::default()) {
            Parsed::Complete(h, _) => h,
            other => panic!("{other:?}"),
        }
    }

    const UP: &str = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n";

    #[test]
    fn a_plain_upgrade_is_taken_and_encoded() {
        let h = head(
            format!("GET /a?b HTTP/1.1\r\nHost: x.test\r\nAccept: */*\r\n{UP}\r\n").as_bytes(),
        );
        let up = candidate(&h).expect("upgrade");
        let f = &up.frame;
        let len = u32::from_be_bytes([0, f[0], f[1], f[2]]) as usize;
        assert_eq!(len, f.len() - 9);
        assert_eq!(&f[3..9], &[1, 5, 0, 0, 0, 1]);
        let block = &f[9..];
        // Literal, new name, no Huffman: 0x00, len, name, len, value.
        assert_eq!(&block[..9], b"\x00\x07:method");
        let text = String::from_utf8_lossy(block);
        for part in [":authority", "x.test", ":path", "/a?b", "accept", "*/*"] {
            assert!(text.contains(part), "{part} in {text:?}");
        }
        for gone in ["upgrade", "http2-settings", "connection", "host"] {
            assert!(!text.contains(gone), "{gone} in {text:?}");
        }
    }

    #[test]
    fn bodies_and_incomplete_offers_stay_http1() {
        let with = |extra: &str, up: &str| {
            candidate(&head(
                format!("POST / HTTP/1.1\r\nHost: x\r\n{extra}{up}\r\n").as_bytes(),
            ))
        };
        assert!(with("Content-Length: 3\r\n", UP).is_none());
        assert!(with("Transfer-Encoding: chunked\r\n", UP).is_none());
        assert!(with("Content-Length: 0\r\n", UP).is_some());
        assert!(with("", "Upgrade: h2c\r\nConnection: Upgrade\r\n").is_none());
        assert!(with(
            "",
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2\r\nHTTP2-Settings: AAMAAABk\r\n"
        )
        .is_none());
        assert!(with(
            "",
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMA\r\n"
        )
        .is_none());
        let h10 = head(format!("GET / HTTP/1.0\r\nHost: x\r\n{UP}\r\n").as_bytes());
        assert!(candidate(&h10).is_none());
    }

    #[test]
    fn hpack_integers() {
        let mut v = Vec::new();
        integer(&mut v, 10, 7, 0);
        integer(&mut v, 127, 7, 0);
        integer(&mut v, 1337, 5, 0);
        assert_eq!(v, [10, 127, 0, 31, 154, 10]);
    }

    #[test]
    fn splice_puts_headers_after_the_first_settings() {
        let up = Upgraded {
            frame: b"HEADERS".to_vec(),
        };
        let mut input = super::super::PREFACE.to_vec();
        input.extend_from_slice(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        input.extend_from_slice(b"rest");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (early, late) = input.split_at(10);
        let mut late: &[u8] = late;
        let out = rt.block_on(splice(&mut late, early.to_vec(), &up)).unwrap();
        let cut = super::super::PREFACE.len() + 15;
        assert_eq!(&out[..cut], &input[..cut]);
        assert_eq!(&out[cut..cut + 7], b"HEADERS");
        // What was read past the SETTINGS frame follows (or stays in the socket).
        assert!(b"rest".starts_with(&out[cut + 7..]) || out[cut + 7..] == *b"rest");
        let mut bad = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        bad.extend_from_slice(&[0; 40]);
        let mut r: &[u8] = &bad;
        assert!(rt.block_on(splice(&mut r, Vec::new(), &up)).is_err());
    }
}
