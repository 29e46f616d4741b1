//! The connection driver in-process: a listener on 127.0.0.1:0, a thread that accepts and
//! calls `conn::drive` the way prefork does (drive, and on KeepAlive wait for readability),
//! and raw requests over a socket. Needs no config layer or engine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mpmd::config::{ServerConfig, ServerTokens};
use mpmd::conn::{drive, ConnOutcome, Connection, NoObserver, ServeCtx};

fn config(docroot: &Path) -> ServerConfig {
    let mut c = ServerConfig::with_defaults(docroot.to_path_buf(), PathBuf::from("test.conf"));
    c.server_tokens = ServerTokens::Prod;
    c.trace_enable = false;
    // mod_dir answers `/` with its index (httpd gates DirectoryIndex on the module).
    c.modules.push("dir");
    let m = &mut c.main;
    m.server_name = Some("localhost".into());
    m.server_admin = Some("admin@localhost".into());
    m.document_root = docroot.to_path_buf();
    m.timeout = Duration::from_secs(5);
    m.max_keep_alive_requests = 3;
    m.limit_request_line = 1024;
    m.limit_request_field_size = 1024;
    m.limit_request_fields = 40;
    c
}

/// Starts a one-connection-at-a-time server thread; returns its address.
fn start(cfg: ServerConfig) -> std::net::SocketAddr {
    let cfg = Arc::new(cfg);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(64) {
            let Ok(s) = s else { continue };
            let peer = s.peer_addr().unwrap();
            let local = s.local_addr().unwrap();
            let mut conn = Connection::new(s, peer, local);
            let ctx = ServeCtx {
                config: &cfg,
                observer: &NoObserver,
                stopping: false,
            };
            loop {
                match drive(&mut conn, &ctx) {
                    ConnOutcome::KeepAlive => {
                        // Wait for readability up to KeepAliveTimeout, as an engine does.
                        conn.stream
                            .set_read_timeout(Some(Duration::from_secs(2)))
                            .unwrap();
                        let mut b = [0u8; 1];
                        match conn.stream.peek(&mut b) {
                            Ok(n) if n > 0 => continue,
                            _ => break,
                        }
                    }
                    ConnOutcome::Linger => {
                        conn.linger();
                        break;
                    }
                    _ => break,
                }
            }
        }
    });
    addr
}

fn fixture() -> (tempfile::TempDir, std::net::SocketAddr) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("1k.txt"), vec![b'x'; 1024]).unwrap();
    std::fs::write(d.path().join("index.html"), b"<p>hi</p>\n").unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("sub/a.css"), b"a{}").unwrap();
    let addr = start(config(d.path()));
    (d, addr)
}

/// Sends `req`, reads until the server closes or `timeout` passes without data.
fn exchange(addr: std::net::SocketAddr, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn closed_after(addr: std::net::SocketAddr, req: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

#[test]
fn get_file_with_validators_and_keepalive() {
    let (_d, addr) = fixture();
    let (r, closed) = closed_after(addr, b"GET /1k.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("\r\nContent-Length: 1024\r\n"));
    assert!(r.contains("\r\nContent-Type: text/plain\r\n"));
    assert!(r.contains("\r\nETag: W/\"") || r.contains("\r\nETag: \""));
    assert!(r.contains("\r\nLast-Modified: "));
    assert!(r.contains("\r\nDate: "));
    assert!(r.contains("\r\nServer: Apache\r\n"));
    assert!(!r.contains("Connection: close"));
    assert!(!closed, "HTTP/1.1 keeps the connection");
    assert!(r.ends_with(&"x".repeat(1024)));
}

#[test]
fn head_has_no_body_and_dir_index() {
    let (_d, addr) = fixture();
    let (r, _) = closed_after(addr, b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("Content-Length: 10\r\n"));
    assert!(r.ends_with("\r\n\r\n"));
}

#[test]
fn not_found_page_is_apaches() {
    let (_d, addr) = fixture();
    let (r, closed) = closed_after(addr, b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
    assert!(r.contains("Content-Length: 236\r\n"));
    assert!(r.contains("Content-Type: text/html; charset=iso-8859-1\r\n"));
    assert!(r.contains("<p>The requested URL was not found on this server.</p>"));
    assert!(!closed);
}

#[test]
fn http10_closes_unless_keepalive_asked() {
    let (_d, addr) = fixture();
    let (r, closed) = closed_after(addr, b"GET /1k.txt HTTP/1.0\r\n\r\n");
    assert!(r.contains("Connection: close\r\n"), "{r}");
    assert!(closed);
    let (r, closed) = closed_after(
        addr,
        b"GET /1k.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert!(r.contains("Keep-Alive: timeout=5, max=3\r\n"), "{r}");
    assert!(r.contains("Connection: Keep-Alive\r\n"));
    assert!(!closed);
}

#[test]
fn pipelined_requests_and_max_keepalive() {
    let (_d, addr) = fixture();
    let one = b"GET /sub/a.css HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let req: Vec<u8> = one.iter().copied().cycle().take(one.len() * 5).collect();
    let (r, closed) = closed_after(addr, &req);
    // MaxKeepAliveRequests 3 allows 4 requests; the 4th says close and the 5th is dropped.
    assert_eq!(r.matches("HTTP/1.1 200 OK").count(), 4, "{r}");
    assert_eq!(r.matches("Connection: close").count(), 1);
    assert!(r.contains("Content-Type: text/css"));
    assert!(closed);
}

#[test]
fn bad_requests_close() {
    let (_d, addr) = fixture();
    let (r, closed) = closed_after(addr, b"GET /1k.txt HTTP/1.1\nHost: x\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    assert!(closed);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(1100));
    let (r, _) = closed_after(addr, long.as_bytes());
    assert!(r.starts_with("HTTP/1.1 414 "), "{r}");
    let (r, _) = closed_after(addr, b"GET /1k.txt HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 400 "), "missing Host: {r}");
    let r = exchange(addr, b"GET /1k.txt\r\n");
    assert_eq!(r, "x".repeat(1024), "HTTP/0.9 gets the bare body");
}

#[test]
fn bodies_are_consumed_before_the_next_request() {
    let (_d, addr) = fixture();
    let req = b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
                GET /sub/a.css HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    let (r, _) = closed_after(addr, req);
    assert_eq!(r.matches("HTTP/1.1 200 OK").count(), 2, "{r}");
    assert!(r.ends_with("a{}"));
    let (r, closed) = closed_after(
        addr,
        b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    assert!(closed);
}

#[test]
fn ranges_and_conditionals() {
    let (_d, addr) = fixture();
    let (r, _) = closed_after(
        addr,
        b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 206 Partial Content\r\n"), "{r}");
    assert!(r.contains("Content-Range: bytes 0-9/1024\r\n"));
    assert!(r.contains("Content-Length: 10\r\n"));
    let etag = r
        .split("ETag: ")
        .nth(1)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap()
        .to_string();
    let req = format!("GET /1k.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n");
    let (r, _) = closed_after(addr, req.as_bytes());
    assert!(r.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{r}");
    assert!(!r.contains("Content-Length"));
    let (r, _) = closed_after(
        addr,
        b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,5-6\r\n\r\n",
    );
    assert!(
        r.contains("Content-Type: multipart/byteranges; boundary="),
        "{r}"
    );
    assert!(r.contains("Content-range: bytes 5-6/1024"));
}

#[test]
fn request_read_timeout_gives_408_for_a_partial_head() {
    let d = tempfile::tempdir().unwrap();
    let mut c = config(d.path());
    c.modules.push("reqtimeout");
    c.main.request_read_timeout.header = Some(mpmd::config::ReadTimeoutStage {
        timeout: 1,
        max_timeout: Some(2),
        min_rate: Some(500),
    });
    let addr = start(c);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = std::time::Instant::now();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
    // The header stage (1 s here), not Timeout (5 s), ended the wait.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}
