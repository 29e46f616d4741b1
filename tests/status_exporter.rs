//! Debian's prometheus-apache-exporter (a real consumer of `?auto`) scraping mpmd, under
//! each MPM: it must see the server up and report the load we generate. Also mpmd's own
//! `SetHandler metrics` endpoint with the same load.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{connect, get, wait_until, Server};

const EXPORTER: &str = "/usr/bin/prometheus-apache-exporter";

fn conf(mpm: &str) -> String {
    let sizing = match mpm {
        "prefork" => "StartServers 6\nMinSpareServers 2\nMaxSpareServers 8\nMaxRequestWorkers 10\nServerLimit 10\n",
        _ => "StartServers 2\nMinSpareThreads 4\nMaxSpareThreads 16\nThreadsPerChild 4\nMaxRequestWorkers 8\nServerLimit 4\nThreadLimit 8\n",
    };
    format!(
        "LoadModule status_module modules/mod_status.so\n{sizing}\
         <Location /server-status>\nSetHandler server-status\n</Location>\n\
         <Location /metrics>\nSetHandler metrics\n</Location>\n"
    )
}

fn slow_post(port: u16) -> TcpStream {
    let mut c = connect(port).unwrap();
    write!(
        c,
        "POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\npartial"
    )
    .unwrap();
    c
}

/// The exporter, stopped (by pid) on drop.
struct Exporter {
    child: Child,
    port: u16,
}

impl Exporter {
    fn start(scrape_port: u16) -> Option<Exporter> {
        if !Path::new(EXPORTER).exists() {
            println!("note: {EXPORTER} not installed (apt-get install prometheus-apache-exporter); skipping");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(EXPORTER)
            .arg(format!(
                "--scrape_uri=http://127.0.0.1:{scrape_port}/server-status?auto"
            ))
            .arg(format!("--telemetry.address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the exporter");
        let e = Exporter { child, port };
        assert!(
            wait_until(Duration::from_secs(10), || e.metrics().is_some()),
            "the exporter did not come up"
        );
        Some(e)
    }

    fn metrics(&self) -> Option<String> {
        let mut s = connect(self.port).ok()?;
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        text.contains("apache_up").then_some(text)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series (`name{labels}` exactly) in exposition text.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn exporter_sees_up_and_load(mpm: &str) {
    let s = Server::start(mpm, &conf(mpm));
    let Some(exp) = Exporter::start(s.port) else {
        return;
    };
    let n = 3;
    let held: Vec<TcpStream> = (0..n).map(|_| slow_post(s.port)).collect();
    for _ in 0..5 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    let mut text = String::new();
    // busy = our slow requests + the exporter's own scrape
    let ok = wait_until(Duration::from_secs(15), || {
        text = exp.metrics().unwrap_or_default();
        series(&text, "apache_workers{state=\"busy\"}") == Some((n + 1) as f64)
    });
    assert!(ok, "exporter never saw {} busy workers:\n{text}", n + 1);
    assert_eq!(series(&text, "apache_up"), Some(1.0), "{text}");
    let working = series(&text, "apache_scoreboard{state=\"read\"}").unwrap_or(0.0)
        + series(&text, "apache_scoreboard{state=\"reply\"}").unwrap_or(0.0);
    assert_eq!(working, (n + 1) as f64, "read + reply slots:\n{text}");
    let idle = series(&text, "apache_workers{state=\"idle\"}").expect("idle workers");
    let waiting = series(&text, "apache_scoreboard{state=\"idle\"}").expect("waiting slots");
    assert_eq!(idle, waiting, "idle workers vs waiting slots:\n{text}");
    let accesses = series(&text, "apache_accesses_total").expect("accesses");
    assert!(accesses >= 5.0, "{text}");
    drop(held);
}

fn own_metrics_follow_load(mpm: &str) {
    let s = Server::start(mpm, &conf(mpm));
    let n = 2;
    let held: Vec<TcpStream> = (0..n).map(|_| slow_post(s.port)).collect();
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(10), || {
        text = get(s.port, "/metrics")
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .unwrap_or_default();
        series(&text, "mpmd_workers{state=\"busy\"}") == Some((n + 1) as f64)
    });
    assert!(ok, "mpmd_workers busy never {}:\n{text}", n + 1);
    assert_eq!(series(&text, "mpmd_up"), Some(1.0));
    let working = series(&text, "mpmd_scoreboard{state=\"read\"}").unwrap_or(0.0)
        + series(&text, "mpmd_scoreboard{state=\"reply\"}").unwrap_or(0.0);
    assert_eq!(working, (n + 1) as f64, "{text}");
    let procs = series(&text, "mpmd_processes{state=\"all\"}").unwrap_or(0.0);
    assert_eq!(procs as usize, s.children().len(), "{text}");
    assert_eq!(
        text.contains("mpmd_connections{state=\"keepalive\"}"),
        mpm == "event"
    );
    drop(held);
}

mpm_tests!(exporter_sees_up_and_load, own_metrics_follow_load);
