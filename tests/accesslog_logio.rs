//! Access-log figures that depend on how the connection was read, compared line for line
//! with Debian's apache2 under every MPM:
//! - `%I` (mod_logio) is what a request used as received: request line, fields and body
//!   with their line ends and chunk framing, skipped empty lines, and on a kept-alive
//!   connection httpd's look-ahead for a pipelined request (mpmd once logged the length of
//!   its parsed head, without line ends or body);
//! - `%V` is the host of an absolute-form target (`GET http://other.example/`) under
//!   UseCanonicalName Off (mpmd once logged the Host field's);
//! - `%k` counts the responses that kept the connection open, less one, so the request
//!   that closes it repeats the figure before it (mpmd once counted that one too);
//! - a connection that opens and sends nothing (or only empty lines) until its timeout gets
//!   httpd's `"-" 408` line, and none when the client closes it first (mpmd once logged
//!   nothing, and prefork and worker held such a connection for Timeout + KeepAliveTimeout).

mod common;
mod modules_oracle;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use modules_oracle::{available, Site};

// apache2 would hold a silent connection in the kernel for ~30 s (TCP_DEFER_ACCEPT) without
// `AcceptFilter http none`; mpmd accepts at once either way.
const CONF: &str = r#"
Timeout 2
AcceptFilter http none
UseCanonicalName Off
LogFormat "\"%r\" %>s %b %I %O %V %k" logio
CustomLog @ROOT@/logs/@TAG@_logio_log logio
"#;

/// Sends `parts` on one connection (a pause after each, so that they arrive apart), then
/// reads until the server closes; how long the server took to close after the last part.
fn exchange(port: u16, parts: &[Vec<u8>], shut: bool) -> Duration {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        s.write_all(p).unwrap();
    }
    if shut {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    start.elapsed()
}

/// The log's lines once it stops growing.
fn settled_log(site: &Site, name: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = site.log(name);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = site.log(name);
        if now == last || Instant::now() > deadline {
            return now.lines().map(str::to_string).collect();
        }
        last = now;
    }
}

fn compare(a: &[String], m: &[String]) {
    for (i, (x, y)) in a.iter().zip(m).enumerate() {
        assert_eq!(
            x, y,
            "line {i}: apache2 (left) vs mpmd (right)\napache2: {a:#?}\nmpmd: {m:#?}"
        );
    }
    assert_eq!(a.len(), m.len(), "apache2: {a:#?}\nmpmd: {m:#?}");
}

const A: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
const B: &[u8] = b"GET /index.html?b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

fn bytes_in_and_server_name_as_apache(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&[], CONF);
    site.file("htdocs/index.html", b"index\n");
    let post =
        b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world";
    let (ab, blank_b) = ([A, B].concat(), [b"\r\n", B].concat());
    let (a_blanks_b, post_b) = ([A, b"\r\n\r\n", B].concat(), [&post[..], B].concat());
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nConnection: close\r\n\r\n"],
        vec![b"GET /index.html HTTP/1.0\r\n\r\n"],
        // A body, read by nobody (a static file) and by an error page.
        vec![b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"],
        vec![b"POST /nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"],
        // Chunked: the framing counts.
        vec![b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6; e=1\r\n world\r\n0\r\nT: v\r\n\r\n"],
        // Keep-alive: two requests apart, pipelined, with empty lines between.
        vec![A, B],
        // %k: a last request that closes shows its predecessor's figure, as httpd's.
        vec![A, A, B],
        vec![&ab],
        vec![A, &blank_b],
        vec![&a_blanks_b],
        vec![post, B],
        vec![&post_b],
        vec![b"\r\n\r\nGET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"],
        // %V: the absolute-form host when its scheme is the connection's, else Host.
        vec![b"GET http://other.example/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"],
        vec![b"GET http://Other.Example:8080/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"],
        vec![b"GET https://third.example/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"],
        vec![b"GET /index.html HTTP/1.1\r\nHost: named.example:81\r\nConnection: close\r\n\r\n"],
    ];
    let cases: Vec<Vec<Vec<u8>>> = cases
        .into_iter()
        .map(|c| c.into_iter().map(<[u8]>::to_vec).collect())
        .collect();
    let (a, m) = site.with_both(mpm, |port, tag| {
        for parts in &cases {
            exchange(port, parts, false);
        }
        settled_log(&site, &format!("{tag}_logio_log"))
    });
    compare(&a, &m);
    // What the comparison stands on (a server logging nothing would agree with a silent
    // oracle otherwise).
    let joined = m.join("\n");
    for want in [
        "\"GET /index.html HTTP/1.1\" 200 6 79 ",
        "\"POST /index.html HTTP/1.1\" 200 6 96 ",
        "\"GET /index.html?b HTTP/1.1\" 200 6 67 ",
        " other.example ",
    ] {
        assert!(joined.contains(want), "{want:?} not logged:\n{joined}");
    }
}

fn silent_connections_as_apache(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&[], CONF);
    site.file("htdocs/index.html", b"index\n");
    let (a, m) = site.with_both(mpm, |port, tag| {
        // Closed by the client: no line. Timed out: a 408 line, the empty lines counted.
        // Timed out between requests: no line.
        exchange(port, &[], true);
        exchange(port, &[b"\r\n".to_vec()], true);
        let cases = [vec![], vec![b"\r\n".to_vec()], vec![A.to_vec()]];
        let waits: Vec<Duration> = std::thread::scope(|sc| {
            let h: Vec<_> = cases
                .iter()
                .enumerate()
                .map(|(i, parts)| {
                    sc.spawn(move || {
                        // Apart, so that the lines come in the order of the list.
                        std::thread::sleep(Duration::from_millis(500 * i as u64));
                        exchange(port, parts, false)
                    })
                })
                .collect();
            h.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Timeout 2 (KeepAliveTimeout 5 for the kept-alive one), not Timeout plus
        // KeepAliveTimeout.
        for w in &waits[..2] {
            assert!(
                *w < Duration::from_millis(3500),
                "{tag}: closed after {w:?}"
            );
        }
        settled_log(&site, &format!("{tag}_logio_log"))
    });
    compare(&a, &m);
    assert_eq!(
        m.iter().filter(|l| l.starts_with("\"-\" 408 - ")).count(),
        2,
        "{m:#?}"
    );
}

const H2_CONF: &str = r#"
Protocols h2c http/1.1
Header set X-Mine "m1"
Header always set X-Err "e1"
LogFormat "%H \"%r\" %>s %b ct=%{Content-Type}o cl=%{Content-Length}o srv=%{Server}o xm=%{X-Mine}o xe=%{X-Err}o lm=%{Last-Modified}o et=%{ETag}o ar=%{Accept-Ranges}o I=%I" h2out
CustomLog @ROOT@/logs/@TAG@_h2out_log h2out
"#;

/// `%{Name}o` on an HTTP/2 request shows the response's fields as httpd's mod_http2 leaves
/// them (the handler's, the `always` ones, Content-Type without parameters, Content-Length,
/// Server); mpmd once logged `-` for every one of them over HTTP/2. `%b` of a HEAD counts
/// the body it would have sent, as httpd's does over HTTP/2. An HTTP/1.1 request on the
/// same h2c address counts httpd's 24-byte look for the preface in its `%I`.
fn h2_response_headers_as_apache(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&["http2"], H2_CONF);
    site.file("htdocs/index.html", b"index\n");
    let (a, m) = site.with_both(mpm, |port, tag| {
        for args in [
            &["/index.html"][..],
            &["/nope"],
            // (No request body: apache2's h2c answers one with a stream error now and then.)
            &["-I", "/index.html"],
            &["--http1.1", "/index.html"],
        ] {
            let (path, opts) = args.split_last().unwrap();
            let out = std::process::Command::new("timeout")
                .args(["20", "curl", "-s", "-o", "/dev/null"])
                .args(if opts.first() == Some(&"--http1.1") {
                    &[][..]
                } else {
                    &["--http2-prior-knowledge"][..]
                })
                .args(opts)
                .arg(format!("http://127.0.0.1:{port}{path}"))
                .output()
                .expect("curl");
            assert!(out.status.success(), "{tag}: curl {args:?}: {out:?}");
        }
        // %I over HTTP/2 counts frames in httpd: not compared.
        settled_log(&site, &format!("{tag}_h2out_log"))
            .into_iter()
            .map(|l| match l.rsplit_once(" I=") {
                Some((rest, _)) if l.starts_with("HTTP/2.0") => rest.to_string(),
                _ => l,
            })
            .collect::<Vec<_>>()
    });
    compare(&a, &m);
    let joined = m.join("\n");
    for want in [
        "HTTP/2.0 \"GET /index.html HTTP/2.0\" 200 6 ct=text/html cl=6 srv=Apache xm=m1 xe=e1 ",
        "HTTP/2.0 \"GET /nope HTTP/2.0\" 404 ",
        "HTTP/1.1 \"GET /index.html HTTP/1.1\" 200 6 ct=text/html cl=6 ",
    ] {
        assert!(joined.contains(want), "{want:?} not logged:\n{joined}");
    }
}

const CL_CONF: &str = r#"
Redirect /r http://x.example/
LogFormat "%r %>s %b cl=%{Content-Length}o" clout
CustomLog @ROOT@/logs/@TAG@_clout_log clout
"#;

/// `%{Content-Length}o` over HTTP/1.1 is the length the head carried (HEAD and error pages
/// and redirects included, none on a 304), as httpd's content-length filter leaves it in
/// headers_out; mpmd once logged `-`.
fn content_length_out_as_apache(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&[], CL_CONF);
    site.file("htdocs/index.html", b"index\n");
    let reqs = [
        modules_oracle::get("/index.html", &[]),
        modules_oracle::req("HEAD", "/index.html", &[]),
        modules_oracle::get("/nope", &[]),
        modules_oracle::get("/r", &[]),
        modules_oracle::get("/index.html", &["Range: bytes=0-1"]),
        modules_oracle::get("/index.html", &["If-None-Match: *"]),
        "GET /index.html HTTP/1.0\r\n\r\n".to_string(),
    ];
    let (a, m) = site.with_both(mpm, |port, tag| {
        for r in &reqs {
            modules_oracle::send(port, r);
        }
        settled_log(&site, &format!("{tag}_clout_log"))
    });
    compare(&a, &m);
    assert!(m[0].ends_with(" cl=6"), "{m:#?}");
}

mpm_tests!(
    bytes_in_and_server_name_as_apache,
    silent_connections_as_apache,
    h2_response_headers_as_apache,
    content_length_out_as_apache,
    tls_bytes_in_as_apache
);

const TLS_CONF: &str = r#"
Timeout 2
AcceptFilter http none
AcceptFilter https none
SSLEngine on
SSLCertificateFile @ROOT@/tls.crt
SSLCertificateKeyFile @ROOT@/tls.key
LogFormat "\"%r\" %>s %b %I" tlsin
CustomLog @ROOT@/logs/@TAG@_tlsin_log tlsin
"#;

/// Over TLS `%I` counts what was read below TLS, as httpd's mod_logio under mod_ssl: the
/// first request its handshake and records, the next ones their records (mpmd once counted
/// the plaintext); a connection that completes the handshake and sends nothing gets the 408
/// line with its handshake's bytes, one that sends nothing at all gets none.
fn tls_bytes_in_as_apache(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&["ssl", "socache_shmcb"], TLS_CONF);
    site.file("htdocs/index.html", b"index\n");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(site.root().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(site.root().join("tls.key"), key.serialize_pem()).unwrap();
    let (a, m) = site.with_both(mpm, |port, tag| {
        let url = |p: &str| format!("https://localhost:{port}{p}");
        let out = std::process::Command::new("timeout")
            .args([
                "20",
                "curl",
                "-sk",
                "--http1.1",
                "-o",
                "/dev/null",
                "-o",
                "/dev/null",
            ])
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args([url("/index.html"), url("/index.html?2")])
            .output()
            .expect("curl");
        assert!(out.status.success(), "{tag}: curl: {out:?}");
        // Nothing at all: no line (the TLS handshake never began).
        exchange(port, &[], false);
        // A handshake, then nothing: the 408 line.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "sleep 4 | timeout 10 openssl s_client -connect 127.0.0.1:{port} -quiet"
            ))
            .output()
            .expect("openssl");
        let _ = out;
        settled_log(&site, &format!("{tag}_tlsin_log"))
    });
    compare(&a, &m);
    assert_eq!(m.len(), 3, "{m:#?}");
    assert!(m[2].starts_with("\"-\" 408 - "), "{m:#?}");
}
