//! Access logs written by the real server under each MPM: combined lines with the fields of
//! the requests we sent, per-vhost CustomLog, piped loggers, BufferedLogs flushed when the
//! children exit.

mod common;

use std::io::{BufReader, Write};
use std::time::Duration;

use common::{connect, read_response, wait_until, Server};

const COMBINED: &str =
    "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined\n";

/// A vhost `logged.example` with its own logs; the harness's probes go to the first
/// (default) vhost and are not logged there.
fn conf(logs: &str) -> String {
    format!(
        "{COMBINED}\
         <VirtualHost *>\nServerName localhost\n</VirtualHost>\n\
         <VirtualHost *>\nServerName logged.example\n{logs}</VirtualHost>\n"
    )
}

/// One request to `logged.example` on its own connection; the status.
fn request(port: u16, method: &str, path: &str, extra: &str) -> u16 {
    let mut s = connect(port).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: logged.example\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    if method == "HEAD" {
        // no body follows whatever Content-Length says
        let mut line = String::new();
        std::io::BufRead::read_line(&mut BufReader::new(s), &mut line).unwrap();
        return line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
    }
    read_response(&mut BufReader::new(s)).unwrap().status
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn combined_lines_match_requests(mpm: &str) {
    let s = Server::start(
        mpm,
        &conf("CustomLog logs/access.log combined\nCustomLog logs/extra.log \"%m|%U|%q|%>s|%b|%B|%H|%v|%V|%X|%{local}p|%a|%A\"\n"),
    );
    let log = s.path("logs/access.log");
    assert_eq!(
        request(
            s.port,
            "GET",
            "/index.html?x=1",
            "User-Agent: test-agent/1.0\r\nReferer: http://ref.example/\r\n"
        ),
        200
    );
    assert_eq!(
        request(
            s.port,
            "GET",
            "/missing",
            "User-Agent: a \"quoted\" agent\r\n"
        ),
        404
    );
    assert_eq!(request(s.port, "HEAD", "/index.html", ""), 200);
    assert!(
        wait_until(Duration::from_secs(5), || lines(&log).len() >= 3),
        "log lines: {:?}",
        lines(&log)
    );
    let l = lines(&log);
    assert_eq!(l.len(), 3, "{l:?}");
    let re = regex::Regex::new(
        r#"^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+) "([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)"$"#,
    )
    .unwrap();
    // a line is written after its response went out: the next request, on another
    // worker, may be logged first; find each line by its request
    let caps: Vec<_> = l
        .iter()
        .map(|x| {
            re.captures(x)
                .unwrap_or_else(|| panic!("not combined: {x}"))
        })
        .collect();
    let line = |req: &str| {
        caps.iter()
            .find(|c| &c[1] == req)
            .unwrap_or_else(|| panic!("no line for {req}: {l:?}"))
    };
    let get = line("GET /index.html?x=1 HTTP/1.1");
    assert_eq!(&get[2], "200");
    assert_eq!(&get[4], "http://ref.example/");
    assert_eq!(&get[5], "test-agent/1.0");
    let missing = line("GET /missing HTTP/1.1");
    assert_eq!(&missing[2], "404");
    assert_eq!(&missing[4], "-");
    assert_eq!(&missing[5], "a \\\"quoted\\\" agent");
    let head = line("HEAD /index.html HTTP/1.1");
    assert_eq!(&head[2], "200");
    let extra = lines(&s.path("logs/extra.log"));
    let port = s.port;
    let find = |prefix: &str| {
        extra
            .iter()
            .find(|e| e.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {extra:?}"))
            .clone()
    };
    assert_eq!(
        find("GET|/index.html|"),
        format!("GET|/index.html|?x=1|200|11|11|HTTP/1.1|logged.example|logged.example|-|{port}|127.0.0.1|127.0.0.1")
    );
    find("GET|/missing||404|");
    find("HEAD|/index.html||200|-|0|");
    // the probe requests of the harness went to the default vhost, which has no log
    assert!(!s.path("logs/access_log").exists());
}

fn piped_logger_receives_lines(mpm: &str) {
    // the piped command runs in the server's working directory: give it an absolute path
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("piped.log");
    let s = Server::start(
        mpm,
        &conf(&format!(
            "CustomLog \"|/bin/cat >> {}\" \"%>s %U\"\n",
            path.display()
        )),
    );
    for i in 0..4 {
        request(s.port, "GET", &format!("/index.html?n={i}"), "");
    }
    assert!(
        wait_until(Duration::from_secs(5), || lines(&path).len() == 4),
        "{:?}",
        lines(&path)
    );
    assert!(lines(&path).iter().all(|l| l == "200 /index.html"));
}

fn buffered_logs_flush_at_child_exit(mpm: &str) {
    let mut s = Server::start(
        mpm,
        &format!(
            "BufferedLogs On\n{}",
            conf("CustomLog logs/buffered.log \"%U\"\n")
        ),
    );
    for _ in 0..5 {
        assert_eq!(request(s.port, "GET", "/index.html", ""), 200);
    }
    let path = s.path("logs/buffered.log");
    // a few small lines stay in the children's buffers
    assert_eq!(lines(&path).len(), 0);
    // graceful-stop: children finish and exit normally, writing out their buffers
    s.signal(28);
    assert!(
        s.wait_exit(Duration::from_secs(20)).is_some(),
        "no graceful stop"
    );
    assert_eq!(lines(&path), vec!["/index.html".to_string(); 5]);
}

fn graceful_restart_reopens_rotated_logs(mpm: &str) {
    let s = Server::start(mpm, &conf("CustomLog logs/access.log \"%U\"\n"));
    assert_eq!(request(s.port, "GET", "/index.html?before", ""), 200);
    let log = s.path("logs/access.log");
    assert!(wait_until(Duration::from_secs(5), || lines(&log).len() == 1));
    std::fs::rename(&log, s.path("logs/access.log.1")).unwrap();
    let gen = s.generation();
    s.signal(10); // graceful
                  // the new generation is up and the old children are gone
    let ok = wait_until(Duration::from_secs(20), || {
        let snap = s.scoreboard();
        let g = snap.global.running_generation;
        g != gen && snap.live().count() > 0 && snap.live().all(|(_, p)| p.generation == g)
    });
    assert!(ok, "old generation still serving");
    assert_eq!(request(s.port, "GET", "/index.html?after", ""), 200);
    assert!(
        wait_until(Duration::from_secs(5), || lines(&log).len() == 1),
        "new log: {:?}",
        lines(&log)
    );
    assert_eq!(lines(&log), vec!["/index.html".to_string()]);
    assert_eq!(lines(&s.path("logs/access.log.1")).len(), 1);
}

fn env_conditions_follow_setenvif(mpm: &str) {
    let s = Server::start(
        mpm,
        &format!(
            "LoadModule setenvif_module modules/mod_setenvif.so\n\
             SetEnvIf Request_URI \"\\.txt$\" dontlog\n\
             SetEnvIf User-Agent \"^probe\" from_probe=yes\n{}",
            conf(
                "CustomLog logs/kept.log \"%U %{from_probe}e\" env=!dontlog\n\
                 CustomLog logs/txt.log \"%U\" env=dontlog\n"
            )
        ),
    );
    std::fs::write(s.path("htdocs/a.txt"), b"a\n").unwrap();
    assert_eq!(request(s.port, "GET", "/a.txt", ""), 200);
    assert_eq!(
        request(s.port, "GET", "/index.html", "User-Agent: probe/1\r\n"),
        200
    );
    let kept = s.path("logs/kept.log");
    let txt = s.path("logs/txt.log");
    assert!(
        wait_until(Duration::from_secs(5), || lines(&kept).len() == 1
            && lines(&txt).len() == 1),
        "kept {:?} txt {:?}",
        lines(&kept),
        lines(&txt)
    );
    assert_eq!(lines(&kept), vec!["/index.html yes".to_string()]);
    assert_eq!(lines(&txt), vec!["/a.txt".to_string()]);
}

mpm_tests!(
    combined_lines_match_requests,
    piped_logger_receives_lines,
    buffered_logs_flush_at_child_exit,
    graceful_restart_reopens_rotated_logs,
    env_conditions_follow_setenvif,
);
