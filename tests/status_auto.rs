//! server-status against the real binary, under each MPM: `?auto` keys in Apache's order
//! (compared with the installed apache2 when there is one), `?refresh`, the HTML page, busy
//! and idle counts with slow requests in flight, and (event) idle keep-alive connections
//! counted as ConnsAsyncKeepAlive rather than busy workers.

mod common;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{connect, get, read_response, wait_until, Server};

/// Sizing that keeps the scoreboard small and stable, per MPM.
pub fn sizing(mpm: &str) -> &'static str {
    match mpm {
        "prefork" => {
            "StartServers 6\nMinSpareServers 2\nMaxSpareServers 8\nMaxRequestWorkers 10\nServerLimit 10\n"
        }
        _ => {
            "StartServers 2\nMinSpareThreads 4\nMaxSpareThreads 16\nThreadsPerChild 4\n\
             MaxRequestWorkers 8\nServerLimit 4\nThreadLimit 8\n"
        }
    }
}

pub fn status_conf(mpm: &str) -> String {
    format!(
        "LoadModule status_module modules/mod_status.so\n\
         LoadModule authz_core_module modules/mod_authz_core.so\n\
         {}\
         KeepAliveTimeout 30\n\
         <Location /server-status>\nSetHandler server-status\n</Location>\n\
         <Location /metrics>\nSetHandler metrics\n</Location>\n",
        sizing(mpm)
    )
}

/// `Key: value` pairs of an `?auto` answer (the first line, the server name, left out).
pub fn auto_pairs(body: &str) -> Vec<(String, String)> {
    body.lines()
        .skip(1)
        .filter_map(|l| {
            l.split_once(": ")
                .or_else(|| l.strip_suffix(':').map(|k| (k, "")))
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `?auto`, or nothing while the server cannot answer (a restart in progress).
fn try_auto(port: u16) -> Option<Vec<(String, String)>> {
    let r = get(port, "/server-status?auto").ok()?;
    (r.status == 200).then(|| auto_pairs(&String::from_utf8_lossy(&r.body)))
}

pub fn auto(port: u16) -> Vec<(String, String)> {
    let r = get(port, "/server-status?auto").expect("server-status");
    assert_eq!(r.status, 200);
    auto_pairs(&String::from_utf8_lossy(&r.body))
}

pub fn value(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key} in {pairs:?}"))
}

fn num(pairs: &[(String, String)], key: &str) -> i64 {
    value(pairs, key)
        .parse()
        .unwrap_or_else(|_| panic!("{key} not a number"))
}

/// The installed apache2 on a private config, for side-by-side comparisons.
struct Apache {
    dir: tempfile::TempDir,
    port: u16,
}

const APACHE: &str = "/usr/sbin/apache2";
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

impl Apache {
    fn start(mpm: &str) -> Option<Apache> {
        if !Path::new(APACHE).exists() {
            println!("note: {APACHE} not installed; skipping the comparison with Apache");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        std::fs::write(dir.path().join("htdocs/index.html"), b"hello\n").unwrap();
        // The port is found by binding :0 and letting go: another test's server may take it
        // meanwhile, then apache2 cannot bind and `-k start` fails; try another.
        for attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let root = dir.path().display();
            let conf = format!(
                "ServerRoot {root}\nServerName localhost\nListen 127.0.0.1:{port}\n\
                 LoadModule mpm_{mpm}_module {APACHE_MODULES}/mod_mpm_{mpm}.so\n\
                 LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so\n\
                 LoadModule status_module {APACHE_MODULES}/mod_status.so\n\
                 PidFile {root}/logs/httpd.pid\nErrorLog {root}/logs/error_log\n\
                 DocumentRoot {root}/htdocs\n{}\
                 <Location /server-status>\nSetHandler server-status\n</Location>\n",
                sizing(mpm)
            );
            std::fs::write(dir.path().join("httpd.conf"), conf).unwrap();
            let out = Command::new(APACHE)
                .arg("-f")
                .arg(dir.path().join("httpd.conf"))
                .args(["-k", "start"])
                .output();
            let ok = out.as_ref().is_ok_and(|o| o.status.success());
            let taken = out
                .as_ref()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stderr).contains("AH00072"))
                || std::fs::read_to_string(dir.path().join("logs/error_log"))
                    .unwrap_or_default()
                    .contains("AH00072");
            if !ok && taken && attempt < 4 {
                continue;
            }
            let a = Apache { dir, port };
            if ok
                && wait_until(Duration::from_secs(10), || {
                    // Ours, not another test's server on the same port.
                    a.pid()
                        .is_some_and(|pid| common::listen::pid_listens_on(pid as u32, port))
                        && get(port, "/index.html").is_ok_and(|r| r.status == 200)
                })
            {
                return Some(a);
            }
            let log =
                std::fs::read_to_string(a.dir.path().join("logs/error_log")).unwrap_or_default();
            a.stop();
            panic!("apache2 is installed but did not start on port {port}: {log}");
        }
        unreachable!("the last attempt returns or panics")
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("logs/httpd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn stop(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            wait_until(Duration::from_secs(10), || !common::pid_alive(pid));
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `?auto` once the uptime is ≥ 1 s and a request has been counted.
fn settled_auto(port: u16) -> Vec<(String, String)> {
    let mut last = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        last = auto(port);
        num(&last, "ServerUptimeSeconds") >= 1 && num(&last, "Total Accesses") >= 1
    });
    assert!(ok, "status never settled: {last:?}");
    last
}

/// Keys whose presence depends on timing (CPULoad needs CPU time > 0).
fn comparable(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| k != "CPULoad")
        .collect()
}

fn auto_keys_match_apache(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    // one served request and a second of uptime on each side: the conditional keys then
    // appear on both
    assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    let ours = settled_auto(s.port);
    assert_eq!(value(&ours, "ServerMPM"), mpm);
    let expected_async = mpm == "event";
    assert_eq!(
        ours.iter().any(|(k, _)| k == "ConnsAsyncKeepAlive"),
        expected_async
    );
    let Some(apache) = Apache::start(mpm) else {
        return;
    };
    assert_eq!(get(apache.port, "/index.html").unwrap().status, 200);
    let theirs = settled_auto(apache.port);
    assert_eq!(
        comparable(&ours),
        comparable(&theirs),
        "?auto keys differ from apache2's"
    );
    // the same number formats for the fixed-format values
    for key in ["CurrentTime", "RestartTime"] {
        let (a, b) = (value(&ours, key), value(&theirs, key));
        assert_eq!(
            a.split(' ').count(),
            b.split(' ').count(),
            "{key}: {a} vs {b}"
        );
        assert_eq!(
            a.split(' ').next_back(),
            b.split(' ').next_back(),
            "{key} zone"
        );
    }
    for key in ["Load1", "Load5", "Load15"] {
        let v = value(&ours, key);
        assert!(
            v.split_once('.').is_some_and(|(_, f)| f.len() == 2),
            "{key}: {v}"
        );
    }
    let sb_ours = value(&ours, "Scoreboard");
    let sb_theirs = value(&theirs, "Scoreboard");
    // the worker running the status handler is "Sending Reply" on both
    assert_eq!(sb_ours.matches('W').count(), 1, "{sb_ours}");
    assert_eq!(sb_theirs.matches('W').count(), 1, "{sb_theirs}");
    assert_eq!(
        sb_ours.len(),
        sb_theirs.len(),
        "scoreboard lengths: {sb_ours} vs {sb_theirs}"
    );
}

fn refresh_html_and_types(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    let r = get(s.port, "/server-status?refresh=3").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Refresh"), Some("3"));
    assert_eq!(
        r.header("Content-Type"),
        Some("text/html; charset=ISO-8859-1")
    );
    let html = String::from_utf8_lossy(&r.body).into_owned();
    let mut at = 0;
    for part in [
        "<title>Apache Status</title>",
        "<h1>Apache Server Status for localhost (via 127.0.0.1)</h1>",
        &format!("<dt>Server MPM: {mpm}</dt>"),
        "<dt>Parent Server Config. Generation: 1</dt>",
        "requests currently being processed",
        "<pre>",
        "Scoreboard Key:",
        "<th>Srv</th><th>PID</th>",
        "</body></html>",
    ] {
        let i = html[at..]
            .find(part)
            .unwrap_or_else(|| panic!("no {part} in\n{html}"));
        at += i + part.len();
    }
    assert_eq!(html.contains("<th>accepting</th>"), mpm == "event");
    let r = get(s.port, "/server-status?auto&refresh").unwrap();
    assert_eq!(r.header("Refresh"), Some("10"));
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; charset=ISO-8859-1")
    );
    let r = get(s.port, "/server-status?notable").unwrap();
    let html = String::from_utf8_lossy(&r.body).into_owned();
    assert!(html.contains("<h2>Server Details</h2>"), "{html}");
}

/// Starts a POST whose body never completes: the worker stays busy reading it.
pub fn slow_post(port: u16) -> TcpStream {
    let mut c = connect(port).unwrap();
    write!(
        c,
        "POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\npartial"
    )
    .unwrap();
    c
}

fn busy_and_idle_follow_slow_requests(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    let n = 3;
    let held: Vec<TcpStream> = (0..n).map(|_| slow_post(s.port)).collect();
    // the status request itself is busy too
    let mut last = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        last = auto(s.port);
        // prefork's parent may still be forking spare servers: wait for one idle too
        num(&last, "BusyWorkers") == n + 1 && num(&last, "IdleWorkers") >= 1
    });
    assert!(
        ok,
        "BusyWorkers never reached {} with an idle worker: {last:?}",
        n + 1
    );
    let board = value(&last, "Scoreboard");
    assert_eq!(
        num(&last, "IdleWorkers"),
        board.matches('_').count() as i64,
        "idle = waiting slots of live processes: {board}"
    );
    let busy_letters = board.chars().filter(|c| "RWKLDC".contains(*c)).count() as i64;
    assert_eq!(busy_letters, n + 1, "{board}");
    drop(held);
    let ok = wait_until(Duration::from_secs(10), || {
        last = auto(s.port);
        num(&last, "BusyWorkers") == 1
    });
    assert!(ok, "workers not released: {last:?}");
}

/// Total accesses in the scoreboard file once nothing changes for 200 ms (no request in
/// flight, nothing left to count); reading the file makes no request of its own.
fn quiet_total(s: &Server) -> u64 {
    let mut prev = u64::MAX;
    let mut streak = 0;
    let ok = wait_until(Duration::from_secs(10), || {
        let t = s.scoreboard().totals().0;
        streak = if t == prev { streak + 1 } else { 0 };
        prev = t;
        streak >= 10
    });
    assert!(ok, "Total Accesses never settled");
    prev
}

fn accesses_count_requests(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    let before = quiet_total(&s);
    for _ in 0..7 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    let after = quiet_total(&s);
    assert_eq!(after, before + 7);
    // the status page shows that figure (its own request is counted when it is done)
    assert_eq!(num(&auto(s.port), "Total Accesses"), after as i64);
    assert_eq!(quiet_total(&s), after + 1);
}

fn event_keepalive_is_not_busy(mpm: &str) {
    if mpm != "event" {
        return;
    }
    let s = Server::start(mpm, &status_conf(mpm));
    let k = 5;
    let mut idle: Vec<BufReader<TcpStream>> = Vec::new();
    for _ in 0..k {
        let mut c = BufReader::new(connect(s.port).unwrap());
        write!(
            c.get_mut(),
            "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        let r = read_response(&mut c).unwrap();
        assert_eq!(r.status, 200);
        assert!(!r.closes());
        idle.push(c);
    }
    let mut last = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        last = auto(s.port);
        // a worker shows K for a moment before handing a connection to the listener
        num(&last, "ConnsAsyncKeepAlive") == k && num(&last, "BusyWorkers") == 1
    });
    assert!(
        ok,
        "never {k} parked keep-alive connections with only the status request busy: {last:?}"
    );
    assert!(num(&last, "ConnsTotal") >= k, "{last:?}");
    drop(idle);
}

/// The labels of the `<dt>` lines and the table headers of the HTML page, numbers cut off.
fn html_skeleton(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in html.lines() {
        if let Some(rest) = l.strip_prefix("<dt>") {
            let label: String = rest
                .chars()
                .take_while(|c| *c != ':' && !c.is_ascii_digit() && *c != '.')
                .collect();
            out.push(format!("dt {}", label.trim()));
        }
        for th in l.split("<th").skip(1) {
            if let Some(t) = th.split('>').nth(1) {
                out.push(format!("th {}", t.split('<').next().unwrap_or("").trim()));
            }
        }
    }
    out
}

fn html_sections_match_apache(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    let _ = settled_auto(s.port);
    let ours = String::from_utf8_lossy(&get(s.port, "/server-status").unwrap().body).into_owned();
    let Some(apache) = Apache::start(mpm) else {
        return;
    };
    assert_eq!(get(apache.port, "/index.html").unwrap().status, 200);
    let _ = settled_auto(apache.port);
    let theirs =
        String::from_utf8_lossy(&get(apache.port, "/server-status").unwrap().body).into_owned();
    // "CPU Usage" ends in a load figure only when CPU > 0; everything else must line up
    assert_eq!(
        html_skeleton(&ours),
        html_skeleton(&theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );
    assert_eq!(ours.lines().next(), theirs.lines().next(), "DOCTYPE");
}

fn generations_follow_restarts(mpm: &str) {
    let s = Server::start(mpm, &status_conf(mpm));
    for _ in 0..3 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    let before = settled_auto(s.port);
    assert_eq!(value(&before, "ParentServerConfigGeneration"), "1");
    assert_eq!(value(&before, "ParentServerMPMGeneration"), "0");
    let accesses = num(&before, "Total Accesses");
    // graceful (USR1): generations +1, restart time and counters kept
    s.signal(10);
    let mut after = Vec::new();
    let ok = wait_until(Duration::from_secs(15), || {
        after = try_auto(s.port).unwrap_or_default();
        after
            .iter()
            .any(|(k, v)| k == "ParentServerMPMGeneration" && v == "1")
    });
    assert!(ok, "no new generation: {after:?}");
    assert_eq!(value(&after, "ParentServerConfigGeneration"), "2");
    assert_eq!(value(&after, "RestartTime"), value(&before, "RestartTime"));
    assert!(num(&after, "Total Accesses") > accesses, "{after:?}");
    // restart (HUP): generations +1 again, scoreboard reset
    s.signal(1);
    let ok = wait_until(Duration::from_secs(15), || {
        after = try_auto(s.port).unwrap_or_default();
        after
            .iter()
            .any(|(k, v)| k == "ParentServerMPMGeneration" && v == "2")
    });
    assert!(ok, "no new generation after HUP: {after:?}");
    assert_eq!(value(&after, "ParentServerConfigGeneration"), "3");
    assert!(num(&after, "Total Accesses") < accesses + 2, "{after:?}");
}

mpm_tests!(
    auto_keys_match_apache,
    refresh_html_and_types,
    busy_and_idle_follow_slow_requests,
    accesses_count_requests,
    event_keepalive_is_not_busy,
    html_sections_match_apache,
    generations_follow_restarts,
);
