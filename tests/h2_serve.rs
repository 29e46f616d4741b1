//! HTTP/2 under each MPM: h2c by prior knowledge and by `Upgrade: h2c` (not with a body),
//! nghttp over TLS, h2load without errors, and a stream stalled by flow control does not
//! hold up the others of its connection.

mod common;
mod tlsutil;

use std::process::Command;
use std::time::Duration;

use common::*;

fn h2c_prior_knowledge_and_upgrade(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    let (rc, body, info) = s.curl(&["--http2-prior-knowledge"], &s.http("/index.html"));
    assert_eq!(rc, 0, "{info}");
    assert_eq!(info, "2 200");
    assert_eq!(body, b"hello mpmd\n");
    // curl --http2 on cleartext sends `Upgrade: h2c`: 101, then the answer on stream 1.
    let (rc, body, info) = s.curl(&["--http2"], &s.http("/index.html"));
    assert_eq!(rc, 0, "{info}");
    assert_eq!(info, "2 200");
    assert_eq!(body, b"hello mpmd\n");
    // With a request body httpd does not upgrade: HTTP/1.1 answers.
    let (rc, body, info) = s.curl(&["--http2", "-d", "abc"], &s.http("/index.html"));
    assert_eq!(rc, 0, "{info}");
    assert_eq!(info, "1.1 200");
    assert_eq!(body, b"hello mpmd\n");
    // nghttp -u: the upgraded request on stream 1, then more streams on the connection.
    let out = tlsutil::run(Command::new("nghttp").args([
        "-nvu",
        "-t",
        "20",
        &s.http("/index.html"),
        &s.http("/missing"),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("HTTP Upgrade response"), "{text}");
    assert!(text.contains("HTTP/1.1 101 Switching Protocols"), "{text}");
    assert!(text.contains(":status: 200"), "{text}");
    assert!(text.contains(":status: 404"), "{text}");
    // H2Upgrade off: answered over HTTP/1.1 again.
    drop(s);
    let s = tlsutil::start(mpm, "H2Upgrade off");
    let (rc, _, info) = s.curl(&["--http2"], &s.http("/index.html"));
    assert_eq!(rc, 0, "{info}");
    assert_eq!(info, "1.1 200");
    // HTTP/1.1 still works on the same port after h2c connections.
    assert_eq!(get(s.srv.port, "/index.html").unwrap().status, 200);
}

fn h2c_off_without_protocol(mpm: &str) {
    // Without h2c in Protocols the preface is not inspected: HTTP/1 answers it.
    let s = tlsutil::start(mpm, "Protocols http/1.1");
    let (_, _, info) = s.curl(&["--http2-prior-knowledge"], &s.http("/index.html"));
    assert!(!info.starts_with("2 "), "{info}");
}

fn nghttp_over_tls(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    let out = tlsutil::run(Command::new("nghttp").args([
        "-nv",
        "-t",
        "20",
        &format!("https://127.0.0.1:{}/index.html", s.tls_port),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("The negotiated protocol: h2"), "{text}");
    assert!(text.contains(":status: 200"), "{text}");
}

fn h2load_without_errors(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    for url in [
        format!("https://127.0.0.1:{}/index.html", s.tls_port),
        s.http("/index.html"),
    ] {
        let out = tlsutil::run(
            Command::new("timeout")
                .args(["120", "h2load", "-n", "2000", "-c", "10", "-m", "10", &url]),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout"),
            "{url}: {text}"
        );
        assert!(text.contains("status codes: 2000 2xx"), "{url}: {text}");
    }
}

/// Stream A asks for a large file and never reads it (its window stays at 1 KiB, so the
/// server cannot finish it); stream B on the same connection must still complete.
fn slow_stream_does_not_stall_a_fast_one(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    std::fs::write(s.srv.path("htdocs/big.bin"), vec![b'x'; 1 << 20]).unwrap();
    let port = s.srv.port;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (client, conn) = h2::client::Builder::new()
            .initial_window_size(1024)
            .handshake::<_, bytes::Bytes>(tcp)
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.unwrap();
        let get = |path: &str| {
            http::Request::get(format!("http://127.0.0.1:{port}{path}"))
                .body(())
                .unwrap()
        };
        let (slow, _) = client.send_request(get("/big.bin"), true).unwrap();
        let slow = tokio::time::timeout(Duration::from_secs(10), slow)
            .await
            .expect("headers of the slow stream")
            .unwrap();
        assert_eq!(slow.status(), 200);
        let mut client = client.ready().await.unwrap();
        let (fast, _) = client.send_request(get("/index.html"), true).unwrap();
        let fast = tokio::time::timeout(Duration::from_secs(10), async {
            let r = fast.await.unwrap();
            let mut body = r.into_body();
            let mut got = Vec::new();
            while let Some(d) = body.data().await {
                let d = d.unwrap();
                let _ = body.flow_control().release_capacity(d.len());
                got.extend_from_slice(&d);
            }
            got
        })
        .await
        .expect("the fast stream finished while the slow one is stalled");
        assert_eq!(fast, b"hello mpmd\n");
        drop(slow);
    });
}

/// HTTP/1.1 responses announce HTTP/2 as httpd's mod_http2 does: `Upgrade: h2c` on
/// cleartext, `Upgrade: h2` over TLS, with `Upgrade` first in the Connection header (and the
/// connection's own token merged in); not on error responses; not with `H2Upgrade off`.
fn http11_responses_announce_h2(mpm: &str) {
    let headers = |s: &tlsutil::TlsServer, args: &[&str], url: &str| -> String {
        let mut a = vec!["-i", "--http1.1"];
        a.extend_from_slice(args);
        let (rc, body, info) = s.curl(&a, url);
        assert_eq!(rc, 0, "{info}");
        let text = String::from_utf8_lossy(&body).into_owned();
        text.split("\r\n\r\n").next().unwrap_or("").to_string()
    };
    let s = tlsutil::start(mpm, "");
    let h = headers(&s, &[], &s.http("/index.html"));
    assert!(
        h.contains("\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"),
        "{h}"
    );
    let h = headers(&s, &["-H", "Connection: close"], &s.http("/index.html"));
    assert!(h.contains("\r\nConnection: Upgrade, close\r\n"), "{h}");
    assert_eq!(h.matches("Connection:").count(), 1, "{h}");
    let h = headers(&s, &[], &s.http("/missing"));
    assert!(h.starts_with("HTTP/1.1 404"), "{h}");
    assert!(!h.contains("Upgrade"), "{h}");
    // Only the first response of a connection: two requests on one connection.
    {
        use std::io::Write;
        let mut c = std::io::BufReader::new(connect(s.srv.port).unwrap());
        let req = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
        c.get_mut()
            .write_all(format!("{req}{req}").as_bytes())
            .unwrap();
        let first = read_response(&mut c).unwrap();
        let second = read_response(&mut c).unwrap();
        assert_eq!(first.header("Upgrade"), Some("h2c"));
        assert_eq!(second.status, 200);
        assert_eq!(second.header("Upgrade"), None);
    }
    let h = headers(&s, &[], &s.https("a.test", "/index.html"));
    assert!(
        h.contains("\r\nUpgrade: h2\r\nConnection: Upgrade\r\n"),
        "{h}"
    );
    drop(s);
    let s = tlsutil::start(mpm, "H2Upgrade off");
    let h = headers(&s, &[], &s.http("/index.html"));
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(!h.contains("Upgrade"), "{h}");
}

/// `<If>` sees an HTTP/2 request as apache2 does: `%{HTTP2}` is `on` (mpmd once always said
/// `off`) and `%{SERVER_PROTOCOL}` is `HTTP/2.0`, over h2c and over TLS; HTTP/1.1 gets `off`.
fn http2_variables(mpm: &str) {
    let s = tlsutil::start(
        mpm,
        "LoadModule headers_module x.so
         <If \"%{HTTP2} == 'on'\">\nHeader always set X-H2 on\n</If>\n         <Else>\nHeader always set X-H2 off\n</Else>\n         <If \"%{SERVER_PROTOCOL} == 'HTTP/2.0'\">\nHeader always set X-SP h2\n</If>\n",
    );
    let dump = s.srv.path("headers.out");
    let dump_s = dump.to_str().unwrap();
    let headers = |args: &[&str], url: &str| -> String {
        let mut a = vec!["-D", dump_s];
        a.extend_from_slice(args);
        let (rc, _, info) = s.curl(&a, url);
        assert_eq!(rc, 0, "{info}");
        std::fs::read_to_string(&dump).unwrap().to_ascii_lowercase()
    };
    let h2c = headers(&["--http2-prior-knowledge"], &s.http("/index.html"));
    assert!(h2c.starts_with("http/2 200"), "{h2c}");
    assert!(h2c.contains("x-h2: on\r\n"), "{h2c}");
    assert!(h2c.contains("x-sp: h2\r\n"), "{h2c}");
    let tls = headers(&["--http2"], &s.https("a.test", "/index.html"));
    assert!(tls.starts_with("http/2 200"), "{tls}");
    assert!(tls.contains("x-h2: on\r\n"), "{tls}");
    let h1 = headers(&["--http1.1"], &s.http("/index.html"));
    assert!(h1.starts_with("http/1.1 200"), "{h1}");
    assert!(h1.contains("x-h2: off\r\n"), "{h1}");
    assert!(!h1.contains("x-sp:"), "{h1}");
}

mpm_tests!(
    http2_variables,
    http11_responses_announce_h2,
    h2c_prior_knowledge_and_upgrade,
    h2c_off_without_protocol,
    nghttp_over_tls,
    h2load_without_errors,
    slow_stream_does_not_stall_a_fast_one,
);

/// worker and event: HTTP/2 connections live on the child's h2 runtime, so more idle h2c
/// connections than there are MPM workers still leave the workers free for HTTP/1.
/// (prefork serves an HTTP/2 connection in place and is left out on purpose.)
fn idle_h2_connections_hold_no_worker(mpm: &str) {
    let sizing = "StartServers 1\nServerLimit 1\nThreadsPerChild 2\nThreadLimit 2\n\
                  MaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 2\n\
                  KeepAliveTimeout 30\n";
    let s = tlsutil::start(mpm, sizing);
    let port = s.srv.port;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _clients = rt.block_on(async move {
        let mut clients = Vec::new();
        for _ in 0..6 {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (client, conn) = h2::client::handshake(tcp).await.unwrap();
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let mut client = client.ready().await.unwrap();
            let req = http::Request::get(format!("http://127.0.0.1:{port}/index.html"))
                .body(())
                .unwrap();
            let (resp, _) = client.send_request(req, true).unwrap();
            let resp = tokio::time::timeout(Duration::from_secs(10), resp)
                .await
                .expect("an h2c answer")
                .unwrap();
            assert_eq!(resp.status(), 200);
            clients.push(client);
        }
        clients
    });
    // Six h2 connections are open and idle; both MPM workers must be free.
    for _ in 0..3 {
        let r = get(port, "/index.html").expect("HTTP/1.1 served beside idle h2 connections");
        assert_eq!(r.status, 200);
    }
    // The thread that served the last HTTP/1.1 request may still be closing it (lingering
    // close) when the answer arrives: poll, bounded, until at most one thread is taken.
    let busy_now = || -> usize {
        let snap = s.srv.scoreboard();
        snap.live()
            .map(|(_, p)| {
                p.workers
                    .iter()
                    .take(2)
                    .filter(|w| {
                        !matches!(
                            w.state,
                            mpmd::scoreboard::WorkerState::Ready
                                | mpmd::scoreboard::WorkerState::Dead
                        )
                    })
                    .count()
            })
            .sum()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut busy = busy_now();
    while busy > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        busy = busy_now();
    }
    assert!(busy <= 1, "{busy} workers busy with idle h2 connections");
}

mod threaded {
    #[test]
    fn worker_idle_h2_connections_hold_no_worker() {
        super::idle_h2_connections_hold_no_worker("worker")
    }
    #[test]
    fn event_idle_h2_connections_hold_no_worker() {
        super::idle_h2_connections_hold_no_worker("event")
    }
}

/// worker and event: a graceful restart lets an HTTP/2 stream in flight finish (the old
/// child sends GOAWAY and waits for its streams before it exits).
fn graceful_restart_finishes_h2_streams(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    let size = 1usize << 20;
    std::fs::write(s.srv.path("htdocs/big.bin"), vec![b'x'; size]).unwrap();
    let port = s.srv.port;
    let gen0 = s.srv.generation();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let srv = &s.srv;
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (client, conn) = h2::client::Builder::new()
            .initial_window_size(1024)
            .handshake::<_, bytes::Bytes>(tcp)
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.unwrap();
        let req = http::Request::get(format!("http://127.0.0.1:{port}/big.bin"))
            .body(())
            .unwrap();
        let (resp, _) = client.send_request(req, true).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), resp)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), 200);
        // The stream is stalled on our window; restart gracefully meanwhile.
        let (rc, _, err) = srv.ctl("graceful");
        assert_eq!(rc, 0, "{err}");
        assert!(
            wait_until(Duration::from_secs(15), || srv.generation() > gen0),
            "no new generation"
        );
        let mut body = resp.into_body();
        let mut got = 0usize;
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(d) = body.data().await {
                let d = d.expect("the stream ends cleanly");
                got += d.len();
                let _ = body.flow_control().release_capacity(d.len());
            }
        })
        .await;
        assert!(read.is_ok(), "body not finished in time");
        assert_eq!(got, size, "the body was cut by the restart");
    });
}

mod threaded_graceful {
    #[test]
    fn worker_graceful_restart_finishes_h2_streams() {
        super::graceful_restart_finishes_h2_streams("worker")
    }
    #[test]
    fn event_graceful_restart_finishes_h2_streams() {
        super::graceful_restart_finishes_h2_streams("event")
    }
}
