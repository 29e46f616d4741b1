//! TLS connections between requests: under event an idle TLS keep-alive connection is parked
//! in the listener's poller like a plain one (no worker thread), and plaintext rustls has
//! already decrypted (a pipelined request in the same TLS record) is served, not lost, when a
//! connection goes back to waiting. The client is rustls itself, trusting the CA the test
//! generates.

mod common;
mod tlsutil;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn client_config(ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

fn open(cfg: &Arc<rustls::ClientConfig>, port: u16) -> Tls {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let name = ServerName::try_from("a.test").unwrap();
    let conn = rustls::ClientConnection::new(cfg.clone(), name).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Reads one response (status, body) framed by Content-Length.
fn read_response(s: &mut Tls) -> (u16, Vec<u8>) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut b).expect("response head");
        assert!(
            n == 1,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(b[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let status: u16 = text[9..12].parse().unwrap();
    let len: usize = text
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no content-length in {text}"));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, body)
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: a.test\r\n\r\n")
}

/// Two requests in one TLS record: rustls decrypts both at once, so the second is plaintext
/// inside the session, not bytes on the socket. It must be answered without the client
/// sending anything more (under event, the connection must not be parked waiting for socket
/// readiness that never comes), then the connection is reused after a real idle period.
fn pipelined_plaintext_in_the_session_is_served(mpm: &str) {
    let s = tlsutil::start(mpm, "KeepAliveTimeout 30\n");
    std::fs::write(s.srv.path("htdocs/second.txt"), "second\n").unwrap();
    let cfg = client_config(&s.certs.path("ca.pem"));
    let mut c = open(&cfg, s.tls_port);
    // The first request fills exactly one TLS record (16 KiB of plaintext, the most a record
    // and the driver's TLS read take at once), so the second arrives as a record of its own
    // that rustls decrypts along with it and keeps buffered after the first is read.
    let mut first = String::from("GET /index.html HTTP/1.1\r\nHost: a.test\r\n");
    for i in 0..2 {
        first.push_str(&format!("X-Pad-{i}: {}\r\n", "p".repeat(6000)));
    }
    let fill = 16 * 1024 - first.len() - "X-Pad-2: \r\n\r\n".len();
    first.push_str(&format!("X-Pad-2: {}\r\n\r\n", "p".repeat(fill)));
    assert_eq!(first.len(), 16 * 1024);
    let both = format!("{first}{}", request("/second.txt"));
    c.write_all(both.as_bytes()).unwrap();
    c.flush().unwrap();
    assert_eq!(read_response(&mut c), (200, b"hello mpmd\n".to_vec()));
    assert_eq!(read_response(&mut c), (200, b"second\n".to_vec()));
    // Idle long enough to be parked (event) or waiting in its thread (worker/prefork).
    std::thread::sleep(Duration::from_millis(300));
    c.write_all(request("/second.txt").as_bytes()).unwrap();
    assert_eq!(read_response(&mut c), (200, b"second\n".to_vec()));
}

mpm_tests!(pipelined_plaintext_in_the_session_is_served);

/// event: 64 idle TLS keep-alive connections on a child with 4 worker threads are all parked
/// in the poller — no worker busy, the process' keep-alive counter says 64 — new TLS clients
/// are still served, and every parked session still works afterwards.
#[test]
fn event_parks_idle_tls_connections_without_a_worker() {
    let s = tlsutil::start(
        "event",
        "StartServers 1\nServerLimit 1\nThreadLimit 4\nThreadsPerChild 4\n\
         MaxRequestWorkers 4\nMinSpareThreads 1\nMaxSpareThreads 8\n\
         AsyncRequestWorkerFactor 40\nKeepAliveTimeout 60\n",
    );
    let cfg = client_config(&s.certs.path("ca.pem"));
    let n = 64;
    let mut idle: Vec<Tls> = (0..n)
        .map(|i| {
            let mut c = open(&cfg, s.tls_port);
            c.write_all(request("/index.html").as_bytes()).unwrap();
            let (status, _) = read_response(&mut c);
            assert_eq!(status, 200, "connection #{i}");
            c
        })
        .collect();
    let busy = || {
        s.srv.scoreboard().processes[0]
            .workers
            .iter()
            .filter(|w| !w.state.is_idle())
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(10), || {
            s.srv.scoreboard().processes[0].keep_alive as usize == n && busy() == 0
        }),
        "idle TLS connections not parked: keep_alive {} (want {n}), {} workers busy",
        s.srv.scoreboard().processes[0].keep_alive,
        busy()
    );
    // 64 sessions held by 4 threads: a new TLS client is still served.
    let mut fresh = open(&cfg, s.tls_port);
    fresh.write_all(request("/index.html").as_bytes()).unwrap();
    assert_eq!(read_response(&mut fresh).0, 200);
    for (i, c) in idle.iter_mut().enumerate() {
        c.write_all(request("/index.html").as_bytes()).unwrap();
        let (status, body) = read_response(c);
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"hello mpmd\n"[..]),
            "#{i}"
        );
    }
}
