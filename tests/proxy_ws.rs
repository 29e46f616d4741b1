//! mod_proxy_wstunnel-style WebSocket passthrough against a tiny WebSocket echo backend the
//! test starts (std threads, hand-written handshake and frames): `ProxyPass ws://`,
//! `ProxyPass http:// upgrade=websocket`, the one-argument ProxyPass inside `<Location>`;
//! bytes the backend sends right after its 101, messages both ways, a close from the client
//! ends both connections; without `upgrade=` an http:// rule does not forward the Upgrade.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{connect, read_response, Server};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// SHA-1 (RFC 3174), for Sec-WebSocket-Accept.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn accept_for(key: &str) -> String {
    base64(&sha1(format!("{key}{GUID}").as_bytes()))
}

/// One frame: (opcode, payload). Unmasks client frames.
fn read_frame(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h)?;
    let op = h[0] & 0x0f;
    let masked = h[1] & 0x80 != 0;
    let mut len = (h[1] & 0x7f) as u64;
    if len == 126 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b)?;
        len = u16::from_be_bytes(b) as u64;
    } else if len == 127 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        len = u64::from_be_bytes(b);
    }
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask)?;
    }
    let mut p = vec![0u8; len as usize];
    r.read_exact(&mut p)?;
    if masked {
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((op, p))
}

fn frame(op: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![0x80 | op];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if payload.len() < 126 {
        f.push(m | payload.len() as u8);
    } else {
        f.push(m | 126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    match mask {
        Some(k) => {
            f.extend_from_slice(&k);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// An echo backend: a WebSocket handshake when asked (then "welcome", echoes, close), a plain
/// `200 plain` (naming the Upgrade header it saw, if any) otherwise.
fn backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for c in l.incoming().take(100) {
            let Ok(c) = c else { continue };
            thread::spawn(move || serve(c));
        }
    });
    port
}

fn serve(c: TcpStream) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(20)));
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut w = c;
    let mut key = None;
    let mut upgrade = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().to_string();
            match k.to_ascii_lowercase().as_str() {
                "sec-websocket-key" => key = Some(v),
                "upgrade" => upgrade = Some(v),
                _ => {}
            }
        }
    }
    let (Some(key), Some(_)) = (key, upgrade.clone()) else {
        let body = format!("plain upgrade={}", upgrade.unwrap_or_default());
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    };
    // The 101 and the first message in one write: the proxy must pass both.
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(&key)
    )
    .into_bytes();
    out.extend_from_slice(&frame(1, b"welcome", None));
    if w.write_all(&out).is_err() {
        return;
    }
    for _ in 0..100 {
        let Ok((op, p)) = read_frame(&mut r) else {
            return;
        };
        if op == 8 {
            let _ = w.write_all(&frame(8, &p, None));
            return;
        }
        let mut reply = b"echo: ".to_vec();
        reply.extend_from_slice(&p);
        if w.write_all(&frame(1, &reply, None)).is_err() {
            return;
        }
    }
}

const MODULES: &str = "LoadModule proxy_module modules/mod_proxy.so\n\
     LoadModule proxy_http_module modules/mod_proxy_http.so\n\
     LoadModule proxy_wstunnel_module modules/mod_proxy_wstunnel.so\n";

fn config(port: u16) -> String {
    format!(
        "{MODULES}ProxyPass /ws ws://127.0.0.1:{port}/\n\
         ProxyPass /up http://127.0.0.1:{port}/ upgrade=websocket\n\
         ProxyPass /plain http://127.0.0.1:{port}/\n\
         <Location /loc>\n ProxyPass ws://127.0.0.1:{port}/\n</Location>\n"
    )
}

/// Handshake through the proxy; returns the open connection (the 101 read).
fn open(port: u16, path: &str) -> BufReader<TcpStream> {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let mut s = connect(port).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 101"), "{path}: {status}");
    let mut accept = None;
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        if l == "\r\n" || l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("Sec-WebSocket-Accept:") {
            accept = Some(v.trim().to_string());
        }
    }
    assert_eq!(accept.as_deref(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    r
}

fn tunnel_both_ways(mpm: &str) {
    let bport = backend();
    let mut s = Server::start(mpm, &config(bport));
    for path in ["/ws/chat", "/up/chat", "/loc/chat"] {
        let mut r = open(s.port, path);
        assert_eq!(
            read_frame(&mut r).unwrap(),
            (1, b"welcome".to_vec()),
            "{path}"
        );
        for msg in ["hello", "second message", &"x".repeat(3000)] {
            let f = frame(1, msg.as_bytes(), Some([1, 2, 3, 4]));
            r.get_mut().write_all(&f).unwrap();
            let (op, p) = read_frame(&mut r).unwrap();
            assert_eq!(op, 1);
            assert_eq!(p, format!("echo: {msg}").into_bytes(), "{path}");
        }
        // Close: the backend answers and hangs up; the proxy then closes the client side.
        r.get_mut()
            .write_all(&frame(8, &[0x03, 0xe8], Some([9, 9, 9, 9])))
            .unwrap();
        assert_eq!(read_frame(&mut r).unwrap(), (8, vec![0x03, 0xe8]));
        let mut rest = Vec::new();
        r.get_mut()
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let n = r
            .read_to_end(&mut rest)
            .expect("the proxy closes the tunnel");
        assert_eq!(n, 0, "{path}");
    }
    assert!(s.stop());
}

/// Without an Upgrade from the client a ws:// rule proxies plain HTTP; an http:// rule
/// without `upgrade=` does not forward the client's Upgrade.
fn plain_requests(mpm: &str) {
    let bport = backend();
    let mut s = Server::start(mpm, &config(bport));
    let r = common::get(s.port, "/ws/x").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"plain upgrade="[..]));
    let mut c = connect(s.port).unwrap();
    write!(
        c,
        "GET /plain/x HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"plain upgrade="[..]));
    let r = common::get(s.port, "/loc/x").unwrap();
    assert_eq!(r.status, 200);
    assert!(s.stop());
}

mpm_tests!(tunnel_both_ways, plain_requests);

#[test]
fn accept_key_matches_rfc6455_example() {
    assert_eq!(
        accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}
