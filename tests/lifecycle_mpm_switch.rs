//! Switching the MPM on a graceful restart (beyond httpd, which refuses): under client load
//! (keep-alive and new connections), the config is rewritten to load another MPM and
//! `mpmd -k graceful` sent; no request may fail, `-V` and the scoreboard name the new MPM,
//! the new generation runs the new engine and the old children exit.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mpmd::scoreboard::{Snapshot, WorkerState, MPM_EVENT, MPM_PREFORK, MPM_WORKER};

fn mpm_code(mpm: &str) -> u32 {
    match mpm {
        "prefork" => MPM_PREFORK,
        "worker" => MPM_WORKER,
        "event" => MPM_EVENT,
        other => panic!("unknown MPM {other}"),
    }
}

/// `Server MPM:` of `mpmd -f conf -V`.
fn v_mpm(s: &Server) -> String {
    let out = std::process::Command::new(BIN)
        .arg("-f")
        .arg(&s.conf)
        .arg("-V")
        .output()
        .expect("run mpmd -V");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Server MPM:"))
        .map(|m| m.trim().to_string())
        .unwrap_or_default()
}

/// Live children of generation `generation`: (pid, workers not dead).
fn generation_children(snap: &Snapshot, generation: u32) -> Vec<(i32, usize)> {
    snap.live()
        .filter(|(_, p)| p.generation == generation)
        .map(|(_, p)| {
            let busy = p
                .workers
                .iter()
                .filter(|w| w.state != WorkerState::Dead)
                .count();
            (p.pid, busy)
        })
        .collect()
}

fn switch_cycle(first: &str) {
    let mut s = Server::start(first, "KeepAliveTimeout 5\n");
    // The two other MPMs, then back to the first one.
    let mut next: Vec<&str> = ["prefork", "worker", "event"]
        .into_iter()
        .filter(|m| *m != first)
        .collect();
    next.push(first);
    let mut prev = first.to_string();
    for mpm in next {
        let gen = s.generation();
        let old: Vec<i32> = s.children();
        assert!(!old.is_empty(), "no children under {prev}");

        let stop = Arc::new(AtomicBool::new(false));
        let keep_alive = load(s.port, 3, true, stop.clone(), Duration::from_secs(20));
        let fresh = load(s.port, 2, false, stop.clone(), Duration::from_secs(20));
        // Let the clients get going before the switch (bounded; not a synchronisation).
        assert!(wait_until(Duration::from_secs(5), || s
            .scoreboard()
            .totals()
            .0
            > 0));

        s.mpm = mpm.to_string();
        s.write_config();
        let (code, out, err) = s.ctl("graceful");
        assert_eq!(code, 0, "graceful {prev} -> {mpm}: {out}{err}");

        let switched = wait_until(Duration::from_secs(20), || {
            let snap = s.scoreboard();
            snap.global.running_generation == gen + 1
                && snap.global.mpm == mpm_code(mpm)
                && !generation_children(&snap, gen + 1).is_empty()
        });
        assert!(
            switched,
            "{prev} -> {mpm}: no new generation\n{}",
            s.error_log()
        );
        let gone = wait_until(Duration::from_secs(20), || {
            old.iter().all(|p| !pid_alive(*p))
                && generation_children(&s.scoreboard(), gen).is_empty()
        });
        assert!(
            gone,
            "{prev} -> {mpm}: old children {old:?} still alive\n{}",
            s.error_log()
        );
        // The clients keep running on the new engine for a moment, then stop.
        assert!(wait_until(Duration::from_secs(10), || {
            get(s.port, "/index.html").is_ok_and(|r| r.status == 200)
        }));
        stop.store(true, Ordering::Relaxed);
        for (what, h) in [("keep-alive", keep_alive), ("new connections", fresh)] {
            let (ok, failed) = h.join().expect("load thread");
            assert!(ok > 0, "{prev} -> {mpm}: no {what} request succeeded");
            assert!(
                failed.is_empty(),
                "{prev} -> {mpm}: {} {what} requests failed: {:?}\n{}",
                failed.len(),
                &failed[..failed.len().min(5)],
                s.error_log()
            );
        }

        // The new generation runs the new engine: prefork children use one worker slot,
        // worker/event children ThreadsPerChild (25 by default).
        let snap = s.scoreboard();
        let kids = generation_children(&snap, gen + 1);
        assert!(!kids.is_empty());
        for (pid, threads) in &kids {
            if mpm == "prefork" {
                assert_eq!(*threads, 1, "{mpm} child {pid} shows {threads} workers");
            } else {
                assert!(*threads > 1, "{mpm} child {pid} shows {threads} workers");
            }
        }
        assert_eq!(v_mpm(&s), mpm, "mpmd -V after switching to {mpm}");
        let log = s.error_log();
        assert!(
            log.contains(&format!(
                "MPMD0001: MPM changed from {prev} to {mpm}: the new generation starts with the new engine"
            )),
            "{log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("[mpm_{mpm}:notice]"))
                    && l.contains("resuming normal operations")),
            "{log}"
        );
        assert!(!log.contains("Configuration Failed"), "{log}");
        prev = mpm.to_string();
    }
    assert!(s.stop(), "the server did not stop\n{}", s.error_log());
}

mpm_tests!(switch_cycle);
