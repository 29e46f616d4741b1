//! The supervisor's signal life cycle, under each MPM: stop, restart, graceful-stop with a
//! request in flight, a broken config at graceful, -k with pid files, User/Group.

mod common;

use std::time::Duration;

use common::*;

fn stop_ends_everything(mpm: &str) {
    let mut s = Server::start(mpm, &sizing(mpm, 3));
    let children = s.children();
    assert!(!children.is_empty());
    let pidfile = s.path("logs/mpmd.pid");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        s.pid().to_string()
    );
    let (code, out, _) = s.ctl("stop");
    assert_eq!(code, 0, "{out}");
    let st = s.wait_exit(Duration::from_secs(15)).expect("parent exits");
    assert!(st.success(), "{st}");
    assert!(
        wait_until(Duration::from_secs(5), || children
            .iter()
            .all(|p| !pid_alive(*p))),
        "children still alive after stop"
    );
    assert!(!pidfile.exists(), "pid file removed on stop");
    let log = s.error_log();
    assert!(log.contains("caught SIGTERM, shutting down"), "{log}");
    // Not running any more: httpd's words, exit 0.
    let (code, out, _) = s.ctl("stop");
    assert_eq!((code, out.trim()), (0, "httpd (no pid file) not running"));
}

fn restart_works(mpm: &str) {
    let s = Server::start(mpm, &sizing(mpm, 2));
    for _ in 0..5 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    let before = s.children();
    // The access is counted right after the response is sent: wait for it.
    assert!(wait_until(Duration::from_secs(5), || s
        .scoreboard()
        .totals()
        .0
        >= 5));
    let (code, _, err) = s.ctl("restart");
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(Duration::from_secs(15), || s.generation() == 1
            && before.iter().all(|p| !pid_alive(*p))
            && !s.children().is_empty()),
        "restart did not replace the children\n{}",
        s.error_log()
    );
    // SIGHUP resets the scoreboard (counters back to 0, config generation 2).
    let snap = s.scoreboard();
    assert_eq!(snap.global.config_generation, 2);
    assert!(
        snap.totals().0 < 5,
        "counters were not reset: {:?}",
        snap.totals()
    );
    assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    assert!(s
        .error_log()
        .contains("SIGHUP received.  Attempting to restart"));
}

fn graceful_stop_finishes_in_flight_request(mpm: &str) {
    let mut s = Server::start(mpm, &sizing(mpm, 2));
    let pidfile = s.path("logs/mpmd.pid");
    let inflight = partial_request(s.port).unwrap();
    // Wait until a worker holds it (state R).
    assert!(
        wait_until(Duration::from_secs(10), || s
            .scoreboard()
            .processes
            .iter()
            .flat_map(|p| &p.workers)
            .any(|w| w.state == mpmd::scoreboard::WorkerState::BusyRead)),
        "no worker reading the request"
    );
    let (code, _, err) = s.ctl("graceful-stop");
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(Duration::from_secs(5), || !pidfile.exists()),
        "pid file is removed at once on graceful-stop"
    );
    // New connections are refused once the listeners are closed everywhere.
    assert!(
        wait_until(Duration::from_secs(5), || connect(s.port).is_err()),
        "still accepting after graceful-stop"
    );
    let r = finish_request(inflight).expect("in-flight request answered");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello mpmd\n");
    let st = s.wait_exit(Duration::from_secs(15)).expect("parent exits");
    assert!(st.success());
    assert!(s
        .error_log()
        .contains("caught SIGWINCH, shutting down gracefully"));
}

fn broken_config_at_graceful_keeps_serving(mpm: &str) {
    let mut s = Server::start(mpm, &sizing(mpm, 2));
    let start = if mpm == "prefork" { 2 } else { 1 };
    assert!(
        wait_until(Duration::from_secs(10), || s.children().len() >= start),
        "StartServers children never appeared"
    );
    let before = s.children();
    s.extra.push_str("\nBogusDirective on\n");
    s.write_config();
    // `-k graceful` checks the config first and refuses, like httpd.
    let (code, _, err) = s.ctl("graceful");
    assert_eq!(code, 1);
    assert!(err.contains("BogusDirective"), "{err}");
    // The signal itself (systemd reload, kill -USR1) re-reads the broken file.
    s.signal(10);
    assert!(
        wait_until(Duration::from_secs(10), || s
            .error_log()
            .contains("Invalid command 'BogusDirective'")),
        "the config error is not logged\n{}",
        s.error_log()
    );
    let log = s.error_log();
    let line = log
        .lines()
        .find(|l| l.contains("Syntax error on line"))
        .expect("file:line in the log");
    assert!(line.contains(&s.conf.display().to_string()), "{line}");
    assert_eq!(s.generation(), 0, "generation must not move");
    for _ in 0..10 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
    // Spare-server maintenance may add a child meanwhile (a busy child leaves fewer than
    // MinSpareServers idle); none of the running ones may be replaced.
    let after = s.children();
    assert!(
        before.iter().all(|pid| after.contains(pid)),
        "the running children keep serving: before {before:?}, after {after:?}"
    );
    assert!(s.stop());
}

fn k_start_refuses_a_live_server_and_corrupt_pid_file(mpm: &str) {
    let s = Server::start(mpm, &sizing(mpm, 1));
    let (code, out, _) = s.ctl("start");
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("httpd (pid {}) already running", s.pid())
    );
    let other = tempfile::tempdir().unwrap();
    let conf = other.path().join("c.conf");
    let pid = other.path().join("x.pid");
    std::fs::write(&pid, "garbage").unwrap();
    std::fs::write(
        &conf,
        format!(
            "ServerRoot {r}\nLoadModule mpm_{mpm}_module x.so\nListen 127.0.0.1:1\nPidFile {p}\nDocumentRoot {r}\n",
            r = other.path().display(),
            p = pid.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["-f", conf.to_str().unwrap(), "-k", "stop"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AH00058: Error retrieving pid file"), "{err}");
    assert!(err.contains("AH00059"), "{err}");
}

fn children_run_as_user_parent_stays_root(mpm: &str) {
    if unsafe_free_euid() != 0 {
        eprintln!("skipped: needs root");
        return;
    }
    let uid = std::process::Command::new("id")
        .args(["-u", "www-data"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        })
        .expect("user www-data exists (scripts/setup.sh creates it)");
    let s = Server::start(
        mpm,
        &format!("User www-data\nGroup www-data\n{}", sizing(mpm, 2)),
    );
    assert_eq!(uid_of(s.pid()), Some(0), "parent stays root");
    let children = s.children();
    assert!(!children.is_empty());
    // A child forked a moment ago may not have switched user yet: wait for it, bounded.
    for c in children {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut seen = uid_of(c);
        while seen == Some(0) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            seen = uid_of(c);
        }
        if seen.is_none() {
            continue; // it exited meanwhile (spare-server maintenance)
        }
        assert_eq!(seen, Some(uid), "child {c} runs as www-data");
    }
}

fn unsafe_free_euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(u32::MAX)
}

fn error_log_reopened_on_graceful_and_piped(mpm: &str) {
    let s = Server::start(mpm, &sizing(mpm, 1));
    // Rotation: move the file away, graceful; the new generation writes a fresh file.
    std::fs::rename(s.path("logs/error_log"), s.path("logs/error_log.1")).unwrap();
    let (code, _, err) = s.ctl("graceful");
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(Duration::from_secs(10), || s
            .error_log()
            .contains("configured -- resuming normal operations")),
        "the error log was not reopened"
    );
    let old = std::fs::read_to_string(s.path("logs/error_log.1")).unwrap();
    assert!(old.contains("restart"), "{old}");
    drop(s);

    // `ErrorLog "|cmd"`: lines reach the program's stdin.
    let probe = tempfile::tempdir().unwrap();
    let out = probe.path().join("piped.log");
    let s = Server::start(
        mpm,
        &format!(
            "ErrorLog \"|/bin/cat >> {}\"\n{}",
            out.display(),
            sizing(mpm, 1)
        ),
    );
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("configured -- resuming normal operations")),
        "nothing reached the piped logger"
    );
    drop(s);
}

fn k_start_daemonizes_and_k_stop_stops(mpm: &str) {
    let mut s = Server::prepare(mpm, &sizing(mpm, 2));
    let out = std::process::Command::new(BIN)
        .args(["-f", s.conf.to_str().unwrap(), "-k", "start"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_until(Duration::from_secs(15), || get(s.port, "/index.html")
            .is_ok_and(|r| r.status == 200)),
        "daemon does not answer\n{}",
        s.error_log()
    );
    let pid = s.pidfile_pid().expect("pid file");
    let (ppid, sid) = ppid_sid(pid).unwrap();
    assert_ne!(
        ppid as u32,
        std::process::id(),
        "the daemon is not our direct child"
    );
    assert_eq!(sid, pid, "the daemon leads its own session");
    // stderr now goes to the error log, not to /dev/null or our pipe.
    let fd2 = std::fs::read_link(format!("/proc/{pid}/fd/2")).unwrap();
    assert_eq!(fd2, s.path("logs/error_log"));
    let children = s.children();
    assert!(!children.is_empty());
    let (code, _, _) = s.ctl("start");
    assert_eq!(code, 0);
    let (code, _, err) = s.ctl("stop");
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(Duration::from_secs(15), || !pid_alive(pid)
            && children.iter().all(|c| !pid_alive(*c))),
        "daemon or children still alive after -k stop"
    );
    assert!(s.pidfile_pid().is_none());
    let _ = s.wait_exit(Duration::from_millis(1));
}

fn sd_notify_ready_reloading_stopping(mpm: &str) {
    let sockdir = tempfile::tempdir().unwrap();
    let path = sockdir.path().join("notify");
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut s = Server::start_env(
        mpm,
        &sizing(mpm, 1),
        &[],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    let next = || {
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = next();
    assert!(ready.starts_with("READY=1"), "{ready}");
    assert!(ready.contains(&format!("MAINPID={}", s.pid())), "{ready}");
    let (code, _, err) = s.ctl("graceful");
    assert_eq!(code, 0, "{err}");
    assert_eq!(next(), "RELOADING=1");
    assert_eq!(next(), "READY=1");
    assert!(s.stop());
    assert_eq!(next(), "STOPPING=1");
}

fn graceful_shutdown_timeout_ends_the_wait(mpm: &str) {
    let mut s = Server::start(
        mpm,
        &format!("GracefulShutdownTimeout 1\n{}", sizing(mpm, 2)),
    );
    let stuck = partial_request(s.port).unwrap();
    assert!(wait_until(Duration::from_secs(10), || s
        .scoreboard()
        .processes
        .iter()
        .flat_map(|p| &p.workers)
        .any(|w| w.state == mpmd::scoreboard::WorkerState::BusyRead)));
    let children = s.children();
    let t0 = std::time::Instant::now();
    let (code, _, _) = s.ctl("graceful-stop");
    assert_eq!(code, 0);
    let st = s.wait_exit(Duration::from_secs(15)).expect("parent exits");
    assert!(st.success());
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
        "graceful-stop waited {waited:?} with GracefulShutdownTimeout 1"
    );
    assert!(children.iter().all(|c| !pid_alive(*c)));
    // The request that never finished was cut off.
    assert!(finish_request(stuck).is_err());
}

/// A keep-alive connection idle across a graceful restart: its next request is answered with
/// `Connection: close` (or, under event, the idle connection was closed at once), the request
/// never hangs, and the old generation's child then goes away.
fn idle_keep_alive_across_graceful(mpm: &str) {
    use std::io::Write;
    let s = Server::start(mpm, &format!("{}KeepAliveTimeout 30\n", sizing(mpm, 2)));
    let mut c = std::io::BufReader::new(connect(s.port).unwrap());
    let ask = |c: &mut std::io::BufReader<std::net::TcpStream>| {
        write!(
            c.get_mut(),
            "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .and_then(|_| read_response(c))
    };
    let r = ask(&mut c).unwrap();
    assert!(!r.closes());
    let old: Vec<i32> = s.children();
    let (code, _, err) = s.ctl("graceful");
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(Duration::from_secs(10), || s.generation() == 1),
        "no new generation"
    );
    match ask(&mut c) {
        Ok(r) => {
            assert_eq!(r.status, 200);
            assert!(
                r.closes(),
                "old generation kept the connection alive: {:?}",
                r.headers
            );
        }
        // event closes idle keep-alive connections when its child starts stopping.
        Err(e) => assert_eq!(mpm, "event", "{mpm}: {e}"),
    }
    drop(c);
    assert!(
        wait_until(Duration::from_secs(15), || old
            .iter()
            .all(|p| !pid_alive(*p))),
        "old children still running: {old:?}"
    );
    assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
}

/// Regression: an immediate stop (SIGTERM) right after the answers arrive lost the access-log
/// lines BufferedLogs held (the children died of the signal without flushing). Every answered
/// request has its line, with BufferedLogs On and Off, over a bounded number of rounds.
fn stop_keeps_log_lines_of_answered_requests(mpm: &str) {
    for buffered in ["On", "Off"] {
        for round in 0..10 {
            let extra = format!(
                "{}LogFormat \"%U %q %>s\" mini\nCustomLog logs/access_log mini\n\
                 BufferedLogs {buffered}\n",
                sizing(mpm, 2)
            );
            let mut s = Server::start(mpm, &extra);
            let mut answered = Vec::new();
            let mut keep = Client::new(s.port);
            for i in 0..10 {
                if keep.get(&format!("/index.html?k{i}")).unwrap().status == 200 {
                    answered.push(format!("?k{i} 200"));
                }
                if get(s.port, &format!("/index.html?c{i}")).unwrap().status == 200 {
                    answered.push(format!("?c{i} 200"));
                }
            }
            assert!(s.stop(), "stop ({buffered}, round {round})");
            let log = std::fs::read_to_string(s.path("logs/access_log")).unwrap_or_default();
            let missing: Vec<&String> = answered
                .iter()
                .filter(|a| !log.lines().any(|l| l.ends_with(a.as_str())))
                .collect();
            assert!(
                missing.is_empty(),
                "BufferedLogs {buffered}, round {round}: {} of {} answered requests not \
                 logged: {missing:?}\n{log}",
                missing.len(),
                answered.len()
            );
        }
    }
}

/// The same under load: clients keep sending on keep-alive connections while the stop
/// comes; every request answered in full has its line (requests read after the signal are
/// dropped unanswered, so they need none).
fn stop_under_load_logs_every_answer(mpm: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    for round in 0..3 {
        let extra = format!(
            "{}LogFormat \"%U %q %>s\" mini\nCustomLog logs/access_log mini\n\
             BufferedLogs On\n",
            sizing(mpm, 4)
        );
        let mut s = Server::start(mpm, &extra);
        let answered = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let port = s.port;
        let clients: Vec<_> = (0..4)
            .map(|t| {
                let (answered, stop) = (answered.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut c = Client::new(port);
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) && i < 100_000 {
                        match c.get(&format!("/index.html?t{t}i{i}")) {
                            Ok(r) if r.status == 200 => {
                                answered.lock().unwrap().push(format!("?t{t}i{i} 200"));
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        assert!(s.stop(), "stop (round {round})");
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            let _ = c.join();
        }
        let log = std::fs::read_to_string(s.path("logs/access_log")).unwrap_or_default();
        let logged: std::collections::HashSet<&str> = log.lines().collect();
        let answered = answered.lock().unwrap();
        assert!(answered.len() > 10, "the load ran: {}", answered.len());
        let missing: Vec<&String> = answered
            .iter()
            .filter(|a| !logged.contains(format!("/index.html {a}").as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} of {} answered requests not logged: {:?}",
            missing.len(),
            answered.len(),
            &missing[..missing.len().min(5)]
        );
    }
}

mpm_tests!(
    stop_under_load_logs_every_answer,
    stop_keeps_log_lines_of_answered_requests,
    idle_keep_alive_across_graceful,
    graceful_shutdown_timeout_ends_the_wait,
    sd_notify_ready_reloading_stopping,
    k_start_daemonizes_and_k_stop_stops,
    error_log_reopened_on_graceful_and_piped,
    stop_ends_everything,
    restart_works,
    graceful_stop_finishes_in_flight_request,
    broken_config_at_graceful_keeps_serving,
    k_start_refuses_a_live_server_and_corrupt_pid_file,
    children_run_as_user_parent_stays_root,
);
