//! goaccess (a real log analyser) parses mpmd's combined log and counts exactly the
//! requests we sent, with the right 404s and bandwidth, under each MPM.

mod common;

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{connect, read_response, wait_until, Server};

const GOACCESS: &str = "/usr/bin/goaccess";

/// The logged vhost is the second one; the harness's probes go to the first and are not
/// logged, so the log holds exactly our requests.
fn conf() -> String {
    "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined\n\
     <VirtualHost *>\nServerName localhost\n</VirtualHost>\n\
     <VirtualHost *>\nServerName logged.example\nCustomLog logs/access.log combined\n</VirtualHost>\n"
        .to_string()
}

/// A number in goaccess' JSON `general` section.
fn general(json: &str, key: &str) -> u64 {
    let at = json
        .find(&format!("\"{key}\""))
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at..]
        .split(':')
        .nth(1)
        .and_then(|v| {
            v.trim()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        })
        .unwrap_or_else(|| panic!("{key} not a number"))
}

fn goaccess_counts_our_requests(mpm: &str) {
    if !Path::new(GOACCESS).exists() {
        println!("note: {GOACCESS} not installed (apt-get install goaccess); skipping");
        return;
    }
    let s = Server::start(mpm, &conf());
    let (ok_n, missing_n) = (9u64, 4u64);
    let mut sent_bytes = 0u64;
    for i in 0..ok_n + missing_n {
        let path = if i < ok_n {
            format!("/index.html?i={i}")
        } else {
            format!("/nope{i}")
        };
        let mut c = connect(s.port).unwrap();
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: logged.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) test/{i}\r\nReferer: http://ref.example/{i}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let r = read_response(&mut BufReader::new(c)).unwrap();
        assert_eq!(r.status, if i < ok_n { 200 } else { 404 });
        sent_bytes += r.body.len() as u64;
    }
    let log = s.path("logs/access.log");
    let total = ok_n + missing_n;
    assert!(
        wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count() as u64
                == total
        }),
        "log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let out = s.path("report.json");
    let st = Command::new(GOACCESS)
        .arg(&log)
        .args(["--log-format=COMBINED", "--no-global-config", "-o"])
        .arg(&out)
        .output()
        .expect("run goaccess");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let json = std::fs::read_to_string(&out).unwrap();
    assert_eq!(general(&json, "total_requests"), total, "{json}");
    assert_eq!(general(&json, "valid_requests"), total);
    assert_eq!(general(&json, "failed_requests"), 0);
    assert_eq!(general(&json, "unique_not_found"), missing_n);
    // %O counts headers too: more than the bodies, but not absurdly more
    let bw = general(&json, "bandwidth");
    assert!(
        bw > sent_bytes && bw < sent_bytes + total * 1024,
        "bandwidth {bw} vs bodies {sent_bytes}"
    );
}

mpm_tests!(goaccess_counts_our_requests);
