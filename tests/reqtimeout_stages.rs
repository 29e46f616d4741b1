//! mod_reqtimeout's header and body stages against Debian's apache2, under every MPM: a
//! request head that stops half-way and a body that stops short get 408 once the stage's
//! time is up, not at `Timeout`. Pins the driver's lazily armed socket timeouts (a read that
//! finds its bytes sets none; the one that would block sets the stage's deadline).

mod common;
mod modules_oracle;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use modules_oracle::{available, Site};

const CONF: &str = "RequestReadTimeout header=2 body=2\nTimeout 30\n";

/// Sends `req`, then waits for the answer and the close: (status line, seconds taken).
fn stall(port: u16, req: &[u8]) -> (String, f64) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(req).unwrap();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let line = String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (line, t0.elapsed().as_secs_f64())
}

fn stages(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["reqtimeout"], CONF);
    s.file("htdocs/a.txt", b"a\n");
    let cases: [(&str, &[u8]); 4] = [
        (
            "head cut after the request line",
            b"GET /a.txt HTTP/1.1\r\n",
        ),
        (
            "head cut inside a field",
            b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Ag",
        ),
        (
            "POST body short",
            b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        ),
        (
            "GET body short",
            b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        ),
    ];
    let (a, m) = s.with_both(mpm, |port, _| {
        cases
            .iter()
            .map(|(_, req)| stall(port, req))
            .collect::<Vec<_>>()
    });
    for (i, (what, _)) in cases.iter().enumerate() {
        assert_eq!(a[i].0, m[i].0, "{what}: apache2 vs mpmd");
        assert_eq!(m[i].0, "HTTP/1.1 408 Request Timeout", "{what}");
        // The stage's 2 s, not Timeout's 30 s (and not twice the stage).
        assert!(m[i].1 >= 1.5 && m[i].1 < 5.0, "{what}: {:.1} s", m[i].1);
    }
}

mpm_tests!(stages);
