//! event specifics: thousands of idle keep-alive connections parked in the listener cost no
//! worker and little memory; new clients are still served.

mod common;

use std::io::BufReader;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;

/// Lifts this test process's descriptor limit (2000 client sockets).
fn raise_nofile() {
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(4096);
    assert!(
        hard >= 4200,
        "hard RLIMIT_NOFILE too low for this test: {hard}"
    );
    // std has no setrlimit; nix is a dependency of the crate under test, usable here.
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard).unwrap();
}

#[test]
fn holds_2000_idle_keep_alive_with_64_threads() {
    raise_nofile();
    let s = Server::start(
        "event",
        "StartServers 1\nServerLimit 1\nThreadLimit 64\nThreadsPerChild 64\n\
         MaxRequestWorkers 64\nMinSpareThreads 1\nMaxSpareThreads 200\n\
         AsyncRequestWorkerFactor 40\nKeepAliveTimeout 60\nListenBacklog 4096\n",
    );
    let child = s.children()[0];
    let rss_before = rss_kib(child).unwrap();
    let n = 2000;
    let mut idle = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = connect(s.port).unwrap_or_else(|e| panic!("connect #{i}: {e}"));
        write!(c, "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut r = BufReader::new(c);
        let resp = read_response(&mut r).unwrap_or_else(|e| panic!("response #{i}: {e}"));
        assert_eq!(resp.status, 200);
        assert!(!resp.closes(), "connection #{i} not kept alive");
        idle.push(r);
    }
    // All parked in the listener: no worker busy, the process counters say so.
    assert!(
        wait_until(Duration::from_secs(10), || {
            let snap = s.scoreboard();
            let p = &snap.processes[0];
            p.keep_alive as usize == n && p.connections as usize == n
        }),
        "keep-alive connections not all parked: {:?}",
        s.scoreboard().processes[0]
    );
    // A worker shows `_` again just after handing its connection back: wait for that.
    let busy = || {
        s.scoreboard().processes[0]
            .workers
            .iter()
            .filter(|w| !w.state.is_idle())
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(5), || busy() == 0),
        "a parked connection must not hold a worker: {} busy",
        busy()
    );
    // New clients are still served, each with a fresh connection.
    for _ in 0..50 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    // Every parked connection still works.
    for (i, r) in idle.iter_mut().enumerate().step_by(97) {
        write!(
            r.get_mut(),
            "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        let resp = read_response(r).unwrap_or_else(|e| panic!("reuse #{i}: {e}"));
        assert_eq!(resp.status, 200);
    }
    // User memory per parked connection well under 2 KiB (kernel socket buffers aside).
    let rss_after = rss_kib(child).unwrap();
    let per_conn = (rss_after.saturating_sub(rss_before) * 1024) / n as u64;
    eprintln!("rss {rss_before} KiB -> {rss_after} KiB: {per_conn} B per parked connection");
    assert!(
        per_conn < 2048,
        "{per_conn} bytes of RSS per idle connection ({rss_before} KiB → {rss_after} KiB)"
    );
}

#[test]
fn stops_accepting_over_async_request_worker_factor() {
    // 2 threads, factor 1: at most 2 + 2×1 = 4 connections before the process stops
    // accepting and says so in the scoreboard; it accepts again when they go.
    let s = Server::start(
        "event",
        "StartServers 1\nServerLimit 2\nThreadLimit 2\nThreadsPerChild 2\n\
         MaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 10\n\
         AsyncRequestWorkerFactor 1\nKeepAliveTimeout 30\n",
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = Client::new(s.port);
        assert_eq!(c.get("/index.html").unwrap().status, 200);
        held.push(c);
    }
    assert!(
        wait_until(Duration::from_secs(5), || s.scoreboard().processes[0]
            .not_accepting),
        "over the limit but still accepting: {:?}",
        s.scoreboard().processes[0]
    );
    drop(held);
    assert!(
        wait_until(Duration::from_secs(5), || !s.scoreboard().processes[0]
            .not_accepting),
        "not accepting again after the connections closed"
    );
    assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
}

/// The idle wait after a response is the KeepAliveTimeout of the virtual host that answered
/// it (httpd's behaviour), not the main server's: a vhost with 1 s closes its idle
/// connections long before the main server's 60 s, and the main server's stay open.
#[test]
fn keep_alive_timeout_of_the_answering_vhost() {
    for mpm in ["event", "worker", "prefork"] {
        let s = Server::start(
            mpm,
            "StartServers 1\nKeepAliveTimeout 60\n\
             <VirtualHost *:*>\n  ServerName main.test\n</VirtualHost>\n\
             <VirtualHost *:*>\n  ServerName short.test\n  KeepAliveTimeout 1\n</VirtualHost>\n",
        );
        let open_one = |host: &str| {
            let mut c = connect(s.port).unwrap();
            write!(c, "GET /index.html HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
            let mut r = BufReader::new(c);
            let resp = read_response(&mut r).unwrap();
            assert_eq!(resp.status, 200, "{mpm} {host}");
            assert!(!resp.closes(), "{mpm} {host}: not kept alive");
            r
        };
        let long = open_one("main.test");
        let short = open_one("short.test");
        let closed = |r: &BufReader<TcpStream>| {
            let s = r.get_ref();
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let gone = match s.peek(&mut b) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            };
            s.set_nonblocking(false).unwrap();
            gone
        };
        assert!(
            wait_until(Duration::from_secs(20), || closed(&short)),
            "{mpm}: the short vhost's idle connection is still open after 20 s"
        );
        assert!(
            !closed(&long),
            "{mpm}: the main vhost's idle connection closed before its 60 s"
        );
    }
}

/// Worker threads start on demand: a child that has only served one request at a time runs
/// few threads, yet shows its full ThreadsPerChild as idle capacity in the scoreboard; slow
/// requests occupying the running workers make it start more, so a new client is still
/// served at once.
#[test]
fn worker_threads_start_on_demand() {
    let s = Server::start(
        "event",
        "StartServers 1\nServerLimit 1\nThreadLimit 16\nThreadsPerChild 16\n\
         MaxRequestWorkers 16\nMinSpareThreads 1\nMaxSpareThreads 64\n\
         AsyncRequestWorkerFactor 4\nTimeout 30\n",
    );
    let child = s.children()[0];
    let threads = || {
        std::fs::read_dir(format!("/proc/{child}/task"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    for _ in 0..20 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    let idle = |s: &Server| {
        s.scoreboard().processes[0]
            .workers
            .iter()
            .take(16)
            .filter(|w| w.state.is_idle())
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(5), || idle(&s) == 16),
        "all 16 workers must show as idle capacity, {} do",
        idle(&s)
    );
    let before = threads();
    assert!(
        before < 16,
        "{before} threads after sequential requests: expected fewer than ThreadsPerChild"
    );
    // 6 requests stuck in their head hold 6 workers.
    let slow: Vec<TcpStream> = (0..6).map(|_| partial_request(s.port).unwrap()).collect();
    assert!(
        wait_until(Duration::from_secs(10), || 16 - idle(&s) >= 6),
        "the slow requests do not hold workers"
    );
    assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    assert!(threads() >= 8, "{} threads with 6 busy workers", threads());
    for c in slow {
        assert_eq!(finish_request(c).unwrap().status, 200);
    }
}
