//! Sampling the live server: the shared-memory scoreboard through its `ScoreBoardFile` when
//! the config names one (and we may open it), else server-status `?auto` over HTTP.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::scoreboard::{Scoreboard, Snapshot, WorkerState};

use super::decide::LoadSample;

/// Where the figures come from.
#[derive(Clone, Debug)]
pub enum Source {
    Scoreboard(PathBuf),
    Status(String),
}

/// One look at the server.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tick {
    pub busy: u64,
    pub keepalive: u64,
    pub idle: u64,
    pub slots: u64,
    pub not_accepting: bool,
    pub accesses: u64,
    pub parent_pid: i32,
}

/// Counts a scoreboard snapshot: live slots of live children.
pub fn tick_from_snapshot(s: &Snapshot) -> Tick {
    let threads = s.global.threads_per_child.max(1) as usize;
    let mut t = Tick {
        parent_pid: s.global.parent_pid,
        ..Default::default()
    };
    // event stops accepting per child; the server is full only when every child has.
    let mut children = 0;
    let mut refusing = 0;
    for (_, p) in s.live() {
        children += 1;
        refusing += usize::from(p.not_accepting);
        // event's parked keep-alive connections hold no worker slot.
        t.keepalive += u64::from(p.keep_alive);
        for w in p.workers.iter().take(threads) {
            count(&mut t, w.state);
        }
    }
    t.not_accepting = children > 0 && refusing == children;
    t.accesses = s.totals().0;
    t
}

fn count(t: &mut Tick, st: WorkerState) {
    match st {
        WorkerState::Dead => return,
        WorkerState::Ready | WorkerState::Starting | WorkerState::IdleKill => t.idle += 1,
        WorkerState::BusyKeepalive => t.keepalive += 1,
        _ => t.busy += 1,
    }
    t.slots += 1;
}

/// Counts a server-status `?auto` page; the request that fetched it is not counted.
pub fn tick_from_auto(text: &str) -> Option<Tick> {
    let mut t = Tick::default();
    let mut letters = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Scoreboard" => letters = Some(v.to_owned()),
            "ConnsAsyncKeepAlive" => t.keepalive += v.parse::<u64>().unwrap_or(0),
            "Total Accesses" => t.accesses = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    for c in letters?.bytes() {
        count(&mut t, WorkerState::from_byte(c));
    }
    t.busy = t.busy.saturating_sub(1);
    Some(t)
}

pub fn take(source: &Source, sb: Option<&Scoreboard>) -> Result<Tick, String> {
    match (source, sb) {
        (Source::Scoreboard(_), Some(sb)) => Ok(tick_from_snapshot(&sb.snapshot())),
        (Source::Status(url), _) => {
            let url = if url.contains('?') {
                format!("{url}&auto")
            } else {
                format!("{url}?auto")
            };
            let body =
                super::super::http::get(&url, Duration::from_secs(5)).map_err(|e| e.to_string())?;
            tick_from_auto(&String::from_utf8_lossy(&body))
                .ok_or_else(|| format!("{url} has no Scoreboard line"))
        }
        (Source::Scoreboard(p), None) => Err(format!("{} is not open", p.display())),
    }
}

/// Folds ticks into the sample the decision reads. `max_workers` is MaxRequestWorkers.
pub fn summarize(ticks: &[Tick], window_secs: f64, source: String, max_workers: u64) -> LoadSample {
    let n = ticks.len().max(1) as f64;
    let mut l = LoadSample {
        samples: ticks.len() as u32,
        window_secs,
        source,
        ..Default::default()
    };
    for t in ticks {
        l.peak_busy = l.peak_busy.max(t.busy);
        l.peak_keepalive = l.peak_keepalive.max(t.keepalive);
        l.peak_connections = l.peak_connections.max(t.busy + t.keepalive);
        l.mean_busy += t.busy as f64 / n;
        l.mean_keepalive += t.keepalive as f64 / n;
        l.mean_idle += t.idle as f64 / n;
        // Saturated: no idle worker left while every worker the config allows is up, or
        // event's listener stopped accepting.
        // (Every running child full below MaxRequestWorkers is the spare-thread settings
        // lagging, counted in `starved`.)
        let occupied = t.slots - t.idle.min(t.slots);
        let full = t.not_accepting || t.idle == 0;
        l.saturated |= full && occupied >= max_workers;
        l.starved += u32::from(full && occupied < max_workers);
    }
    if let (Some(a), Some(b)) = (ticks.first(), ticks.last()) {
        l.requests = b.accesses.saturating_sub(a.accesses);
    }
    l
}

fn parent_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    pid > 0
        && !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(Errno::ESRCH)
        )
}

/// Samples every `interval` for `window`; stops early after repeated failures.
pub fn run(
    source: &Source,
    window: Duration,
    interval: Duration,
    max_workers: u64,
) -> Result<(LoadSample, Vec<Tick>), String> {
    let sb = match source {
        Source::Scoreboard(p) => {
            let sb = Scoreboard::open(p).map_err(|e| e.to_string())?;
            // A ScoreBoardFile outlives its server: only a live parent's counts are load.
            let pid = sb.snapshot().global.parent_pid;
            if !parent_alive(pid) {
                return Err(format!("its server (pid {pid}) is not running"));
            }
            Some(sb)
        }
        Source::Status(_) => None,
    };
    let label = match source {
        Source::Scoreboard(p) => format!("scoreboard {}", p.display()),
        Source::Status(u) => format!("server-status {u}?auto"),
    };
    let start = Instant::now();
    let interval = interval.max(Duration::from_millis(50));
    let max_ticks = (window.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 1;
    let mut ticks = Vec::new();
    let mut errors = 0;
    while ticks.len() < max_ticks.min(100_000) {
        match take(source, sb.as_ref()) {
            Ok(t) => ticks.push(t),
            Err(e) => {
                errors += 1;
                if errors >= 3 || ticks.is_empty() {
                    if ticks.is_empty() {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        if start.elapsed() >= window {
            break;
        }
        std::thread::sleep(interval.min(window.saturating_sub(start.elapsed())));
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((summarize(&ticks, secs, label, max_workers), ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_page_counts_without_our_own_request() {
        let page = "Total Accesses: 10\nBusyWorkers: 3\nIdleWorkers: 1\nConnsAsyncKeepAlive: 4\nScoreboard: WWK_....\n";
        let t = tick_from_auto(page).unwrap();
        assert_eq!((t.busy, t.keepalive, t.idle, t.slots), (1, 5, 1, 4));
        assert_eq!(tick_from_auto("BusyWorkers: 1\n"), None);
    }

    #[test]
    fn saturation_needs_every_allowed_worker_taken() {
        let full = Tick {
            busy: 16,
            slots: 16,
            ..Default::default()
        };
        let half = Tick {
            busy: 8,
            idle: 8,
            slots: 16,
            accesses: 50,
            ..Default::default()
        };
        let l = summarize(&[half, full], 2.0, "t".into(), 16);
        assert!(l.saturated);
        assert_eq!(l.peak_busy, 16);
        assert_eq!(l.mean_busy, 12.0);
        assert!(!summarize(&[half], 1.0, "t".into(), 16).saturated);
        let below = summarize(&[full], 1.0, "t".into(), 32);
        assert!(!below.saturated);
        assert_eq!(below.starved, 1);
    }
}
