//! Requests refused while their head is read (bad request line, bad or too many header
//! fields, a line over its limit, bad framing, no Host, a head cut off or timed out) get the
//! access-log line Debian's apache2 writes for them, compared line for line under every MPM:
//! the request line as httpd rebuilds it, the raw path, the protocol it understood, the
//! server name (not Host: no virtual host was chosen yet), only the header fields it had
//! stored, and as `%I` the bytes it had read (up to the line where it stopped, not the
//! whole buffer). mpmd once logged none of these.

mod common;
mod modules_oracle;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use modules_oracle::{available, Site};

const CONF: &str = r#"
Timeout 2
LimitRequestBody 10
LogFormat "%h %l %u \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %U|%q|%m|%H|%v|%V|%{Host}i|%f|%I" refused
CustomLog @ROOT@/logs/@TAG@_refused_log refused
"#;

/// How a case ends on the client side.
#[derive(Clone, Copy, Debug)]
enum End {
    /// Sent, then the write side closed: the server sees EOF after the bytes.
    Close,
    /// Sent, then nothing more: the server's `Timeout` (2 s) ends it.
    Stall,
}

fn cases() -> Vec<(&'static str, Vec<u8>, End)> {
    use End::*;
    let mut long_uri = b"GET /".to_vec();
    long_uri.resize(9000, b'a');
    long_uri.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut long_field = b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Long: ".to_vec();
    long_field.resize(9100, b'b');
    long_field.extend_from_slice(b"\r\nUser-Agent: ua\r\n\r\n");
    let mut many = b"GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let mut blanks = b"\r\n".repeat(12);
    blanks.extend_from_slice(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    let c = |s: &str| s.as_bytes().to_vec();
    vec![
        // The request line.
        ("method only", c("GARBAGE\r\n\r\n"), Close),
        ("bad version", c("GET /x?y HTTP/1.x\r\nHost: x\r\n\r\n"), Close),
        ("version 0.9", c("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), Close),
        ("lowercase protocol", c("GET /index.html http/1.1\r\nHost: x\r\n\r\n"), Close),
        ("bad method", c("G@T /index.html HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("control in target", c("GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("fragment", c("GET /index.html#x HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("double space", c("GET  /index.html HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("tab", c("GET\t/index.html HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("trailing text", c("GET /a%20b HTTP/1.0 extra\r\nHost: x\r\n\r\n"), Close),
        ("userinfo", c("GET http://u@Other:81/p?q HTTP/1.1\r\nHost: x\r\n\r\n"), Close),
        ("0.9 POST", c("POST /index.html\r\n"), Close),
        ("bare LF", c("GET /index.html HTTP/1.1\nHost: x\n\n"), Close),
        ("too many blank lines", blanks, Close),
        ("URI too long", long_uri, Close),
        // Header fields.
        (
            "malformed field",
            c("GET /a%20b?q=%41 HTTP/1.1\r\nUser-Agent: ua\r\nReferer: r\r\nHost: x\r\nBad Line\r\nX: y\r\n\r\n"),
            Close,
        ),
        ("empty name", c("GET /index.html HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"), Close),
        ("space before colon", c("GET /index.html HTTP/1.1\r\nHost : x\r\n\r\n"), Close),
        ("control in value", c("GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n"), Close),
        ("NUL in value", c("GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n"), Close),
        ("fold first", c("GET /index.html HTTP/1.1\r\n X: y\r\nHost: x\r\n\r\n"), Close),
        ("empty fold", c("GET /index.html HTTP/1.1\r\nHost: x\r\nA: b\r\n \r\n\r\n"), Close),
        ("bare LF field", c("GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: u\n\r\n"), Close),
        ("field too long", long_field, Close),
        ("too many fields", many, Close),
        // Framing and Host.
        ("bad length", c("POST /a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"), Close),
        ("two lengths", c("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), Close),
        ("bad coding", c("POST /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), Close),
        ("HEAD, bad length", c("HEAD /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"), Close),
        ("HEAD, bad field", c("HEAD /index.html HTTP/1.1\r\nHost: x\r\nBad\r\n\r\n"), Close),
        ("no Host", c("GET /a%20b HTTP/1.1\r\nUser-Agent: ua\r\n\r\n"), Close),
        ("bad Host", c("GET /index.html HTTP/1.1\r\nHost: a b\r\n\r\n"), Close),
        ("two Hosts", c("GET /index.html HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"), Close),
        ("body too large", c("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"), Close),
        // Cut off, and timed out.
        ("cut off in the line", c("GET /index.ht"), Close),
        ("cut off in the fields", c("GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n"), Close),
        ("stalled in the line", c("GET /index.ht"), Stall),
        ("stalled in the fields", c("GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n"), Stall),
        ("stalled after a request", c("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /x"), Stall),
        ("well formed", c("GET /index.html?a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Close),
    ]
}

fn exchange(port: u16, bytes: &[u8], end: End) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes);
    if let End::Close = end {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
}

/// The log's lines once it stops growing (the line of the last request may trail its close).
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

fn refused_requests_are_logged_as_apache_does(mpm: &str) {
    if !available() {
        return;
    }
    let site = Site::new(&[], CONF);
    site.file("htdocs/index.html", b"index\n");
    let cases = cases();
    // One connection per case, in order; the stalled ones run side by side.
    let (a, m) = site.with_both(mpm, |port, tag| {
        for (_, bytes, end) in &cases {
            if let End::Close = end {
                exchange(port, bytes, *end);
            }
        }
        std::thread::scope(|sc| {
            for (i, (_, bytes, end)) in cases.iter().enumerate() {
                if let End::Stall = end {
                    sc.spawn(move || {
                        // Apart, so that the lines come in the order of the list.
                        std::thread::sleep(Duration::from_millis(400 * i as u64 % 1200));
                        exchange(port, bytes, *end)
                    });
                }
            }
        });
        settled_log(&site, &format!("{tag}_refused_log"))
    });
    let sort_stalled = |mut v: Vec<String>| {
        // The timed-out lines come last; their order between them is the threads'.
        let n = v.len().saturating_sub(2);
        v[n..].sort();
        v
    };
    // %I (last field): httpd reads a request line over LimitRequestLine on to its end and
    // the line after it; mpmd stops at the limit, so a 414's count differs.
    let drop_414_count = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|l| match l.rsplit_once('|') {
                Some((rest, _)) if l.contains("\" 414 ") => format!("{rest}|-"),
                _ => l,
            })
            .collect()
    };
    let (a, m) = (
        drop_414_count(sort_stalled(a)),
        drop_414_count(sort_stalled(m)),
    );
    for (i, (x, y)) in a.iter().zip(&m).enumerate() {
        assert_eq!(
            x, y,
            "line {i}: apache2 (left) vs mpmd (right)\napache2: {a:#?}\nmpmd: {m:#?}"
        );
    }
    assert_eq!(a.len(), m.len(), "apache2: {a:#?}\nmpmd: {m:#?}");
    // The cases that must be there (apache2 logs them; a silent server would agree with
    // a silent oracle otherwise).
    let joined = m.join("\n");
    for want in [
        "\"GARBAGE\" 400 ",
        "\"-\" 408 - ",
        "\"GET /index.html HTTP/1.1\" 408 ",
        "\"GET /a%20b?q=%41 HTTP/1.1\" 400 ",
        " 414 ",
    ] {
        assert!(joined.contains(want), "{want:?} not logged:\n{joined}");
    }
}

mpm_tests!(refused_requests_are_logged_as_apache_does);
