//! mod_proxy + mod_proxy_http against a small std-TcpListener backend the test starts:
//! ProxyPass, ProxyPassReverse, `!` exclusions, X-Forwarded-*, POST bodies, chunked backend
//! bodies, backend down → 503, backend slower than ProxyTimeout → 502 (as httpd 2.4.71 does).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{connect, read_response, Server};

/// What the backend saw: each request head (and body) as text.
type Seen = Arc<Mutex<Vec<String>>>;

/// A backend that answers by path: `/slow` sleeps 3 s, `/redirect` sends a Location on the
/// backend's own URL, `/chunked` answers chunked, anything else echoes the request.
/// Serves keep-alive connections; runs until the test process ends (bounded per connection).
fn backend() -> (u16, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    thread::spawn(move || {
        for c in l.incoming().take(200) {
            let Ok(c) = c else { continue };
            let seen = s2.clone();
            thread::spawn(move || serve_backend(c, port, seen));
        }
    });
    (port, seen)
}

fn serve_backend(c: TcpStream, port: u16, seen: Seen) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut w = c;
    for _ in 0..50 {
        let mut head = String::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(v) = line
                .to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
            {
                len = v.parse().unwrap_or(0);
            }
            let end = line == "\r\n";
            head.push_str(&line);
            if end {
                break;
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let text = format!("{head}{}", String::from_utf8_lossy(&body));
        seen.lock().unwrap().push(text.clone());
        let path = head.split(' ').nth(1).unwrap_or("").to_string();
        let out = if path.starts_with("/slow") {
            thread::sleep(Duration::from_secs(3));
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow".to_string()
        } else if path.starts_with("/redirect") {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/target?x=1\r\n\
                 Content-Length: 0\r\n\r\n"
            )
        } else if path.starts_with("/chunked") {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\
             Connection: keep-alive\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
                .to_string()
        } else if path.starts_with("/garbage") {
            "this is not http\r\n\r\n".to_string()
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Backend: yes\r\n\
                 Content-Length: {}\r\n\r\n{text}",
                text.len()
            )
        };
        if w.write_all(out.as_bytes()).is_err() {
            return;
        }
        if path.starts_with("/garbage") {
            return;
        }
    }
}

fn request(port: u16, raw: &str) -> common::Response {
    let s = connect(port).unwrap();
    (&s).write_all(raw.as_bytes()).unwrap();
    read_response(&mut BufReader::new(s)).unwrap()
}

fn start(mpm: &str, bport: u16) -> Server {
    let extra = format!(
        "LoadModule proxy_module modules/mod_proxy.so\n\
         LoadModule proxy_http_module modules/mod_proxy_http.so\n\
         LoadModule authz_core_module modules/mod_authz_core.so\n\
         ProxyRequests Off\n\
         ProxyTimeout 1\n\
         ProxyPass /local !\n\
         ProxyPass /app/ http://127.0.0.1:{bport}/\n\
         ProxyPassReverse /app/ http://127.0.0.1:{bport}/\n\
         ProxyPassMatch ^/m/(.*)$ http://127.0.0.1:{bport}/matched/$1\n\
         ProxyPass /down/ http://127.0.0.1:1/\n\
         ProxyPass /denied/ http://127.0.0.1:{bport}/secret/\n\
         <Proxy http://127.0.0.1:{bport}/secret/*>\n  Require all denied\n</Proxy>\n"
    );
    let s = Server::start(mpm, &extra);
    std::fs::create_dir_all(s.path("htdocs/local")).unwrap();
    std::fs::write(s.path("htdocs/local/f.txt"), "local file\n").unwrap();
    s
}

fn proxied_get_and_headers(mpm: &str) {
    let (bport, seen) = backend();
    let mut s = start(mpm, bport);
    let r = request(
        s.port,
        "GET /app/echo?q=1 HTTP/1.1\r\nHost: front.example\r\nX-Forwarded-For: 10.0.0.1\r\n\
         Connection: close, X-Drop\r\nX-Drop: gone\r\nX-Keep: kept\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("X-Backend"), Some("yes"));
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(body.starts_with("GET /echo?q=1 HTTP/1.1\r\n"), "{body}");
    assert!(
        body.contains(&format!("Host: 127.0.0.1:{bport}\r\n")),
        "{body}"
    );
    assert!(
        body.contains("X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n"),
        "{body}"
    );
    assert!(
        body.contains("X-Forwarded-Host: front.example\r\n"),
        "{body}"
    );
    assert!(body.contains("X-Forwarded-Server: localhost\r\n"), "{body}");
    assert!(body.contains("X-Keep: kept\r\n"), "{body}");
    assert!(
        !body.contains("X-Drop"),
        "hop-by-hop named in Connection: {body}"
    );
    assert!(
        !body.to_ascii_lowercase().contains("connection: close"),
        "{body}"
    );
    // ProxyPassMatch.
    let r = request(
        s.port,
        "GET /m/a/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).starts_with("GET /matched/a/b HTTP/1.1"));
    // `!` keeps /local on the file system.
    let r = request(
        s.port,
        "GET /local/f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"local file\n");
    assert_eq!(seen.lock().unwrap().len(), 2);
    s.stop();
}

fn post_body_and_reuse(mpm: &str) {
    let (bport, seen) = backend();
    let mut s = start(mpm, bport);
    let mut c = BufReader::new(connect(s.port).unwrap());
    // Content-Length body, then a chunked one, on one client connection.
    c.get_ref()
        .write_all(
            b"POST /app/form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 11\r\n\r\na=1&b=hello",
        )
        .unwrap();
    let r = read_response(&mut c).unwrap();
    assert_eq!(r.status, 200);
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(body.contains("Content-Length: 11\r\n"), "{body}");
    assert!(body.ends_with("\r\n\r\na=1&b=hello"), "{body}");
    c.get_ref()
        .write_all(
            b"POST /app/form2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
    let r = read_response(&mut c).unwrap();
    assert_eq!(r.status, 200);
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(body.contains("Content-Length: 5\r\n"), "{body}");
    assert!(
        !body.to_ascii_lowercase().contains("transfer-encoding"),
        "{body}"
    );
    assert!(body.ends_with("\r\n\r\nabcde"), "{body}");
    // A chunked backend body reaches the client whole.
    c.get_ref()
        .write_all(b"GET /app/chunked HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello, world");
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(seen.lock().unwrap().len(), 3);
    s.stop();
}

fn reverse_rewrites_location(mpm: &str) {
    let (bport, _) = backend();
    let mut s = start(mpm, bport);
    let r = request(
        s.port,
        "GET /app/redirect HTTP/1.1\r\nHost: front.example:8443\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("Location"),
        Some("http://front.example:8443/app/target?x=1")
    );
    s.stop();
}

fn backend_failures(mpm: &str) {
    let (bport, _) = backend();
    let mut s = start(mpm, bport);
    let r = request(
        s.port,
        "GET /down/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.body.len(), 339, "httpd's page length");
    assert!(String::from_utf8_lossy(&r.body).contains("Service Unavailable"));
    let r = request(
        s.port,
        "GET /app/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // httpd 2.4.71: a backend slower than ProxyTimeout is a 502 "Proxy Error".
    assert_eq!(r.status, 502);
    assert_eq!(r.body.len(), 381, "httpd's page length");
    assert!(String::from_utf8_lossy(&r.body)
        .contains("<p>Reason: <strong>Error reading from remote server</strong></p></p>"));
    let r = request(
        s.port,
        "GET /app/garbage HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 502);
    assert!(String::from_utf8_lossy(&r.body).contains("<h1>Proxy Error</h1>"));
    let r = request(
        s.port,
        "GET /denied/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 403, "<Proxy> access control");
    s.stop();
}

/// The request body streams to the backend: the backend sees the request head (and the first
/// half of the body) before the client has sent the second half.
fn request_body_streams(mpm: &str) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let bport = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    thread::spawn(move || {
        let Ok((c, _)) = l.accept() else { return };
        let _ = c.set_read_timeout(Some(Duration::from_secs(20)));
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut first = [0u8; 5];
        if r.read_exact(&mut first).is_err() {
            return;
        }
        let _ = tx.send(format!("{head}{}", String::from_utf8_lossy(&first)));
        let mut second = [0u8; 5];
        if r.read_exact(&mut second).is_err() {
            return;
        }
        let body = format!(
            "{}{}",
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second)
        );
        let _ = write!(
            &c,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let mut s = Server::start(
        mpm,
        &format!(
            "LoadModule proxy_module modules/mod_proxy.so\n\
             LoadModule proxy_http_module modules/mod_proxy_http.so\n\
             ProxyPass /up/ http://127.0.0.1:{bport}/\n"
        ),
    );
    let c = connect(s.port).unwrap();
    (&c).write_all(
        b"POST /up/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
          Content-Length: 10\r\n\r\nfirst",
    )
    .unwrap();
    let seen = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the backend got the head and the first half before the rest was sent");
    assert!(seen.starts_with("POST /x HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("Content-Length: 10\r\n"), "{seen}");
    (&c).write_all(b"+rest").unwrap();
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"first+rest"[..]));
    assert!(s.stop());
}

/// Behind mod_remoteip the backend gets the header as rewritten, the client it named as the
/// added X-Forwarded-For hop, the proxies header, and `RequestHeader` changes (as apache2 2.4.71
/// sends them).
fn remoteip_and_request_headers_reach_the_backend(mpm: &str) {
    let (bport, _seen) = backend();
    let mut s = Server::start(
        mpm,
        &format!(
            "LoadModule proxy_module modules/mod_proxy.so\n\
             LoadModule proxy_http_module modules/mod_proxy_http.so\n\
             LoadModule remoteip_module modules/mod_remoteip.so\n\
             LoadModule headers_module modules/mod_headers.so\n\
             RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-By\n\
             RequestHeader set X-Req added\n\
             ProxyPass /app/ http://127.0.0.1:{bport}/\n"
        ),
    );
    let get = |xff: &str| {
        let r = request(
            s.port,
            &format!(
                "GET /app/x HTTP/1.1\r\nHost: front.example\r\nX-Forwarded-For: {xff}\r\n\
                 X-By: forged\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(r.status, 200, "{r:?}");
        String::from_utf8_lossy(&r.body).into_owned()
    };
    let body = get("203.0.113.5");
    assert_eq!(body.matches("X-Forwarded-For:").count(), 1, "{body}");
    assert!(body.contains("X-Forwarded-For: 203.0.113.5\r\n"), "{body}");
    assert_eq!(body.matches("X-By:").count(), 1, "{body}");
    assert!(body.contains("X-By: 127.0.0.1\r\n"), "{body}");
    assert!(body.contains("X-Req: added\r\n"), "{body}");
    let body = get("10.0.0.1, 203.0.113.5");
    assert!(
        body.contains("X-Forwarded-For: 10.0.0.1, 203.0.113.5\r\n"),
        "{body}"
    );
    assert!(s.stop());
}

mpm_tests!(
    remoteip_and_request_headers_reach_the_backend,
    request_body_streams,
    proxied_get_and_headers,
    post_body_and_reuse,
    reverse_rewrites_location,
    backend_failures
);
