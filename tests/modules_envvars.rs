//! httpd's special-purpose environment variables for broken clients, against Debian's
//! apache2 (the `BrowserMatch` lines of Debian's setenvif.conf set them): `downgrade-1.0`,
//! `force-response-1.0`, `force-no-vary` (the status line's protocol, keep-alive, Vary) and
//! `redirect-carefully` (mod_dir's trailing-slash redirect of methods other than GET), plus
//! mod_dir's redirect of every method and the OPTIONS answer for a directory. The status
//! line, the headers that matter and whether the server closed are compared, under every MPM.

mod common;
mod modules_oracle;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use modules_oracle::{available, Site};

const CONF: &str = r#"
BrowserMatch "^frv" force-response-1.0
BrowserMatch "^dg" downgrade-1.0
BrowserMatch "^both" downgrade-1.0 force-response-1.0
BrowserMatch "^nv" force-no-vary
BrowserMatch "^rc" redirect-carefully
Header always append Vary X-Test
<Location /order>
    Header set X-B b
    Header always set X-A a
</Location>
"#;

/// Sends `raw` and reads until the server closes or goes quiet for a second: the status
/// line, the compared headers (sorted; Allow's methods sorted, as httpd's order varies),
/// `Content-Length`'s presence and whether the connection was closed.
fn exchange(port: u16, raw: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match s.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&buf).replace(&port.to_string(), "PORT");
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("").to_string();
    let mut kept: Vec<String> = lines
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            let n = n.trim().to_ascii_lowercase();
            let v = v.trim();
            match n.as_str() {
                "allow" => {
                    let mut m: Vec<&str> = v.split(',').collect();
                    m.sort_unstable();
                    Some(format!("allow: {}", m.join(",")))
                }
                "vary" | "location" | "connection" | "content-type" | "transfer-encoding" => {
                    Some(format!("{n}: {v}"))
                }
                "keep-alive" | "content-length" => Some(n),
                _ => None,
            }
        })
        .collect();
    kept.sort();
    format!("{status} | {} | closed={closed}", kept.join(" / "))
}

fn req(method: &str, path: &str, version: &str, ua: &str, extra: &str) -> String {
    let host = if version == "1.1" { "Host: x\r\n" } else { "" };
    let body = if method == "POST" || method == "PUT" {
        "Content-Length: 0\r\n"
    } else {
        ""
    };
    format!("{method} {path} HTTP/{version}\r\n{host}User-Agent: {ua}\r\n{body}{extra}\r\n")
}

fn special_variables(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/index.html", b"hi\n");
    s.file("htdocs/dir/index.html", b"d\n");
    std::fs::create_dir_all(s.root().join("htdocs/empty")).unwrap();
    let ka = "Connection: keep-alive\r\n";
    let close = "Connection: close\r\n";
    let cases = vec![
        req("GET", "/index.html", "1.0", "frv", ka),
        req("GET", "/index.html", "1.1", "frv", ""),
        req("GET", "/index.html", "1.1", "dg", ""),
        req("GET", "/index.html", "1.1", "dg", ka),
        req("GET", "/index.html", "1.1", "both", ""),
        req("GET", "/index.html", "1.1", "nv", ""),
        req("GET", "/index.html", "1.0", "nv", ""),
        req("GET", "/missing", "1.1", "nv", ""),
        req("HEAD", "/index.html", "1.0", "both", ""),
        req("GET", "/index.html", "1.1", "plain", ""),
        // mod_dir: every method is redirected to the slash, but for redirect-carefully.
        req("GET", "/dir?a=1", "1.1", "rc", close),
        req("HEAD", "/dir", "1.1", "rc", close),
        req("POST", "/dir", "1.1", "x", close),
        req("POST", "/dir", "1.1", "rc", close),
        req("PUT", "/dir", "1.1", "x", close),
        req("PUT", "/dir", "1.1", "rc", close),
        req("OPTIONS", "/dir", "1.1", "x", close),
        req("OPTIONS", "/dir", "1.1", "rc", close),
        req("OPTIONS", "/dir/", "1.1", "x", close),
        req("OPTIONS", "/empty/", "1.1", "x", close),
    ];
    let (a, m) = s.with_both(mpm, |port, _| {
        cases.iter().map(|r| exchange(port, r)).collect::<Vec<_>>()
    });
    for (i, r) in cases.iter().enumerate() {
        assert_eq!(a[i], m[i], "{r:?}: apache2 (left) vs mpmd (right)");
    }
    // The oracle really took these paths (two identical failures would pass the above).
    assert!(m[0].starts_with("HTTP/1.0 200"), "{}", m[0]);
    assert!(m[1].starts_with("HTTP/1.1 200") && m[1].ends_with("closed=false"));
    assert!(
        m[5].starts_with("HTTP/1.0 200") && !m[5].contains("vary"),
        "{}",
        m[5]
    );
    assert!(m[9].contains("vary: X-Test"), "{}", m[9]);
    assert!(m[16].starts_with("HTTP/1.1 301"), "{}", m[16]);
    assert!(m[17].contains("httpd/unix-directory"), "{}", m[17]);
}

/// The order of the response's fields, names only: httpd writes the `always` ones first,
/// then the handler's (a file's Content-Length after Accept-Ranges), then the later modules'.
fn field_order(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/order/f.txt", b"f\n");
    let cases = [
        "GET /order/f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "HEAD /order/f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /order HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /order/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    let names = |port: u16, raw: &str| -> Vec<String> {
        let mut st = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        st.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        st.write_all(raw.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = st.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .collect()
    };
    let (a, m) = s.with_both(mpm, |port, _| {
        cases.iter().map(|r| names(port, r)).collect::<Vec<_>>()
    });
    for (i, r) in cases.iter().enumerate() {
        assert_eq!(a[i], m[i], "{r:?}: apache2 (left) vs mpmd (right)");
    }
    assert_eq!(m[0].iter().position(|n| n == "X-A"), Some(3), "{:?}", m[0]);
}

mpm_tests!(special_variables, field_order);
