//! The output fixups on a proxied response against Debian's apache2: `Header` rules (their
//! `expr=` seeing mod_deflate's Content-Encoding), mod_deflate, and one merged `Vary` from
//! the backend's fields, mod_deflate's and `Header append Vary`. mpmd once sent proxied
//! responses without any of them. Under every MPM.

mod common;
mod modules_oracle;

use std::io::{Read, Write};
use std::net::TcpListener;

use modules_oracle::{available, get, gunzip, Answer, Site};

const PAGE: &str = "hello world, compress me please. ";

/// A backend that answers every request with an HTML page and two Vary fields, head and
/// body in one write; runs until the test process ends.
fn backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = PAGE.repeat(80);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
                     Vary: Cookie, accept-encoding\r\nVary: X-B\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = c.write_all(resp.as_bytes());
            });
        }
    });
    port
}

fn proxied_response_fixups(mpm: &str) {
    if !available() {
        return;
    }
    let bport = backend();
    let conf = format!(
        "AddOutputFilterByType DEFLATE text/html\n\
         ProxyPass /p/ http://127.0.0.1:{bport}/\n\
         Header set X-All 1\n\
         <Location /p/>\n\
         Header append Vary X-Hdr\n\
         Header set X-CE \"expr=%{{resp:Content-Encoding}}\"\n\
         </Location>\n"
    );
    let s = Site::new(&["deflate", "filter", "proxy", "proxy_http"], &conf);
    let cases = vec![
        get("/p/page", &["Accept-Encoding: gzip"]),
        get("/p/page", &[]),
    ];
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let what = format!("{:?}", r.lines().take(3).collect::<Vec<_>>());
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        let varies = |x: &Answer| -> Vec<String> {
            x.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("Vary"))
                .map(|(_, v)| v.clone())
                .collect()
        };
        assert_eq!(varies(&a[i]), varies(&m[i]), "{what}: Vary");
        for h in ["X-All", "X-CE", "Content-Encoding", "Content-Type"] {
            assert_eq!(
                a[i].header(h),
                m[i].header(h),
                "{what}: {h}\napache2 {:?}\nmpmd {:?}",
                a[i].headers,
                m[i].headers
            );
        }
        assert_eq!(gunzip(&a[i]), gunzip(&m[i]), "{what}: body");
    }
    assert_eq!(m[0].header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        m[0].header("Vary"),
        Some("Cookie,accept-encoding,X-Hdr,X-B")
    );
}

mpm_tests!(proxied_response_fixups);
