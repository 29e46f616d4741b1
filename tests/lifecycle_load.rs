//! The supervisor under load, under each MPM: many keep-alive clients, a child killed with
//! SIGKILL, 20 graceful reloads, MaxConnectionsPerChild recycling, spare-server maintenance.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use mpmd::scoreboard::WorkerState;

fn keep_alive_50_clients_served_and_visible(mpm: &str) {
    let s = Server::start(mpm, &format!("KeepAliveTimeout 30\n{}", sizing(mpm, 60)));
    let before = s.scoreboard().totals().0;
    let n = 50;
    let hold = Arc::new(Barrier::new(n + 1));
    let release = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (hold, release) = (hold.clone(), release.clone());
            let port = s.port;
            std::thread::spawn(move || {
                let mut c = Client::new(port);
                let mut ok = 0;
                for _ in 0..3 {
                    if c.get("/index.html").is_ok_and(|r| r.status == 200) {
                        ok += 1;
                    }
                }
                let connected = c.is_connected();
                hold.wait(); // every client now holds an idle keep-alive connection
                release.wait();
                for _ in 0..2 {
                    if c.get("/index.html").is_ok_and(|r| r.status == 200) {
                        ok += 1;
                    }
                }
                (ok, connected, c.connections)
            })
        })
        .collect();
    hold.wait();
    // Visible in the scoreboard: 150 requests counted; prefork/worker hold one worker per
    // idle connection in `K`, event parks them in the listener (process keep_alive counter).
    let seen = wait_until(Duration::from_secs(10), || {
        let snap = s.scoreboard();
        let accesses = snap.totals().0 - before;
        let parked: u32 = if mpm == "event" {
            snap.live().map(|(_, p)| p.keep_alive).sum()
        } else {
            snap.processes
                .iter()
                .flat_map(|p| &p.workers)
                .filter(|w| w.state == WorkerState::BusyKeepalive)
                .count() as u32
        };
        accesses >= 3 * n as u64 && parked as usize >= n
    });
    release.wait();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        seen,
        "50 idle keep-alive connections not visible in the scoreboard"
    );
    for (ok, connected, conns) in &results {
        assert_eq!(*ok, 5, "every request served");
        assert!(*connected);
        assert_eq!(*conns, 1, "one connection per client, kept alive");
    }
}

fn kill_9_child_under_load(mpm: &str) {
    let s = Server::start(mpm, &sizing(mpm, 4));
    let stop = Arc::new(AtomicBool::new(false));
    let load = load(s.port, 4, false, stop.clone(), Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(700));
    let children = s.children();
    let victim = children[0];
    let _ = std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status();
    let replaced = wait_until(Duration::from_secs(10), || {
        let now = s.children();
        !now.contains(&victim) && now.iter().any(|p| !children.contains(p))
    });
    // After the replacement, the load must run clean: measure a second window.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    assert!(replaced, "no replacement child\n{}", s.error_log());
    assert!(ok > 50, "too few requests served: {ok}");
    // Only the connections the killed child held can fail: one per client thread at most.
    assert!(failed.len() <= 4, "{} failures: {failed:?}", failed.len());
    let log = s.error_log();
    assert!(
        log.contains(&format!(
            "AH00052: child pid {victim} exit signal Killed (9)"
        )),
        "{log}"
    );
    for _ in 0..20 {
        assert_eq!(get(s.port, "/index.html").unwrap().status, 200);
    }
}

fn graceful_reloads_lose_nothing(mpm: &str) {
    let s = Server::start(mpm, &sizing(mpm, 4));
    let stop = Arc::new(AtomicBool::new(false));
    let ka = load(s.port, 3, true, stop.clone(), Duration::from_secs(40));
    let fresh = load(s.port, 2, false, stop.clone(), Duration::from_secs(40));
    let mut gens = Vec::new();
    for i in 1..=20u32 {
        std::thread::sleep(Duration::from_millis(450));
        let (code, _, err) = s.ctl("graceful");
        assert_eq!(code, 0, "{err}");
        assert!(
            wait_until(Duration::from_secs(10), || s.generation() == i),
            "generation did not reach {i}\n{}",
            s.error_log()
        );
        gens.push(s.generation());
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (ok1, f1) = ka.join().unwrap();
    let (ok2, f2) = fresh.join().unwrap();
    assert!(f1.is_empty() && f2.is_empty(), "failures: {f1:?} {f2:?}");
    assert!(ok1 > 100 && ok2 > 50, "too few requests: {ok1} {ok2}");
    assert_eq!(gens, (1..=20).collect::<Vec<_>>());
    // Old children leave once idle: soon only generation-20 processes are alive.
    assert!(
        wait_until(Duration::from_secs(15), || {
            let snap = s.scoreboard();
            snap.live().all(|(_, p)| p.generation == 20) && snap.live().count() > 0
        }),
        "old generations linger: {:?}",
        s.scoreboard()
            .live()
            .map(|(_, p)| (p.pid, p.generation))
            .collect::<Vec<_>>()
    );
    assert_eq!(s.scoreboard().global.config_generation, 21);
}

fn max_connections_per_child_recycles(mpm: &str) {
    let s = Server::start(
        mpm,
        &format!("MaxConnectionsPerChild 10\n{}", sizing(mpm, 3)),
    );
    let first: HashSet<i32> = s.children().into_iter().collect();
    let stop = Arc::new(AtomicBool::new(false));
    let load = load(s.port, 3, false, stop.clone(), Duration::from_secs(30));
    let mut seen: HashSet<i32> = first.clone();
    let mut total = 0;
    // Enough connections to wear out every first child several times over.
    let enough = wait_until(Duration::from_secs(20), || {
        seen.extend(s.children());
        total = s.scoreboard().totals().0;
        total >= 300 && seen.len() >= first.len() + 3
    });
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    assert!(failed.is_empty(), "failures: {failed:?}");
    assert!(
        enough,
        "children not recycled: seen {} pids, {total} requests",
        seen.len()
    );
    assert!(ok >= 300);
    assert!(
        wait_until(Duration::from_secs(10), || first
            .iter()
            .all(|p| !pid_alive(*p))),
        "a first-generation child outlived MaxConnectionsPerChild"
    );
}

fn spare_servers_shrink_and_grow(mpm: &str) {
    let extra = match mpm {
        "prefork" => "StartServers 8\nMinSpareServers 1\nMaxSpareServers 3\nMaxRequestWorkers 20\nServerLimit 20\n",
        _ => "StartServers 4\nThreadsPerChild 4\nThreadLimit 4\nMinSpareThreads 4\nMaxSpareThreads 4\nMaxRequestWorkers 40\nServerLimit 12\n",
    };
    let s = Server::start(mpm, extra);
    let tpc = if mpm == "prefork" { 1 } else { 4 };
    let idle = |s: &Server| -> usize {
        let snap = s.scoreboard();
        snap.live()
            .filter(|(_, p)| p.quiescing == 0)
            .map(|(_, p)| {
                p.workers
                    .iter()
                    .take(tpc)
                    .filter(|w| w.state == WorkerState::Ready)
                    .count()
            })
            .sum()
    };
    // Shrink: one child per second until idle ≤ MaxSpare (prefork 3; W/E raised to 4+4+1).
    let max_idle = if mpm == "prefork" { 3 } else { 9 };
    assert!(
        wait_until(Duration::from_secs(15), || s.children().len() * tpc
            <= max_idle
            && idle(&s) <= max_idle),
        "idle children did not shrink: {} children, {} idle",
        s.children().len(),
        idle(&s)
    );
    let shrunk = s.children().len();
    // Grow: hold more in-flight requests than there are workers.
    let want = shrunk * tpc + 6;
    let held: Vec<_> = (0..want)
        .map(|_| partial_request(s.port).unwrap())
        .collect();
    assert!(
        wait_until(Duration::from_secs(15), || {
            let busy = s
                .scoreboard()
                .processes
                .iter()
                .flat_map(|p| &p.workers)
                .filter(|w| w.state == WorkerState::BusyRead)
                .count();
            busy >= want && idle(&s) >= 1
        }),
        "did not grow under load: {} children, scoreboard {}",
        s.children().len(),
        s.scoreboard().letters(tpc)
    );
    assert!(s.children().len() > shrunk);
    for h in held {
        assert_eq!(finish_request(h).unwrap().status, 200);
    }
}

mpm_tests!(
    keep_alive_50_clients_served_and_visible,
    kill_9_child_under_load,
    graceful_reloads_lose_nothing,
    max_connections_per_child_recycles,
    spare_servers_shrink_and_grow,
);
