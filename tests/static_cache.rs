//! The per-process cache of small static files (src/modules/filecache.rs) never serves stale
//! bytes: a file rewritten in place with the same size, replaced by rename, or truncated is
//! served as it now is on the very next request, and ranges and HEAD of a kept file are
//! right. Each case runs under prefork, worker and event.

mod common;

use std::io::{BufReader, Write};
use std::time::Duration;

use common::{connect, read_response, Response, Server};

/// Requests on one keep-alive connection, so a worker/prefork child that kept the file is
/// the one asked again.
struct Conn(BufReader<std::net::TcpStream>);

impl Conn {
    fn send(&mut self, method: &str, path: &str, extra: &str) -> Response {
        write!(
            self.0.get_mut(),
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n"
        )
        .unwrap();
        read_response(&mut self.0).unwrap()
    }
}

fn kept_files_follow_every_change(mpm: &str) {
    let s = Server::start(mpm, "");
    let file = s.path("htdocs/kept.txt");
    std::fs::write(&file, b"first version\n").unwrap();
    // The cache only keeps files unchanged for two seconds (timestamps move in ticks).
    std::thread::sleep(Duration::from_millis(2200));
    let mut c = Conn(BufReader::new(connect(s.port).unwrap()));
    for _ in 0..3 {
        let r = c.send("GET", "/kept.txt", "");
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"first version\n"[..])
        );
    }
    // Same size, rewritten in place: new bytes at once.
    std::fs::write(&file, b"other version\n").unwrap();
    let r = c.send("GET", "/kept.txt", "");
    assert_eq!(r.body, b"other version\n");
    // Settle again, get it kept, then replace the file by rename.
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(c.send("GET", "/kept.txt", "").body, b"other version\n");
    let tmp = s.path("htdocs/kept.tmp");
    std::fs::write(&tmp, b"renamed  over\n").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    assert_eq!(c.send("GET", "/kept.txt", "").body, b"renamed  over\n");
    // Ranges and HEAD of a kept file.
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(c.send("GET", "/kept.txt", "").status, 200);
    let r = c.send("GET", "/kept.txt", "Range: bytes=0-6\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"renamed"[..]));
    assert_eq!(r.header("Content-Range"), Some("bytes 0-6/14"));
    let mut h = connect(s.port).unwrap();
    write!(
        h,
        "HEAD /kept.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = String::new();
    std::io::Read::read_to_string(&mut h, &mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head.contains("Content-Length: 14\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "a body after HEAD: {head}");
    // The ETag and Last-Modified of a kept file are the file's.
    let etag = c
        .send("GET", "/kept.txt", "")
        .header("ETag")
        .unwrap()
        .to_string();
    let r = c.send("GET", "/kept.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    // Truncated: the new length, not the kept bytes.
    std::fs::write(&file, b"short\n").unwrap();
    let r = c.send("GET", "/kept.txt", "");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"short\n"[..]));
    // Gone: 404, not the kept bytes.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(c.send("GET", "/kept.txt", "").status, 404);
}

mpm_tests!(kept_files_follow_every_change);
