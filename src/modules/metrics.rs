//! `SetHandler metrics`: mpmd's own Prometheus text endpoint. The same figures as
//! server-status (same counting rules, via `status::Summary`), as named, typed metrics.

use std::fmt::Write as _;

use super::status::{self, CpuTimes, HandlerRequest, HandlerResponse, Summary};
use crate::config::ServerConfig;
use crate::scoreboard::{Scoreboard, Snapshot, WorkerState};

/// The Prometheus text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The label value of each scoreboard state (the names prometheus' apache_exporter uses).
pub fn state_label(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Ready => "idle",
        WorkerState::Starting => "startup",
        WorkerState::BusyRead => "read",
        WorkerState::BusyWrite => "reply",
        WorkerState::BusyKeepalive => "keepalive",
        WorkerState::BusyDns => "dns",
        WorkerState::Closing => "closing",
        WorkerState::BusyLog => "logging",
        WorkerState::Graceful => "graceful_stop",
        WorkerState::IdleKill => "idle_cleanup",
        WorkerState::Dead => "open_slot",
    }
}

/// What the metrics add to a snapshot: server strings, clock, OS figures.
#[derive(Clone, Debug)]
pub struct MetricsInfo<'a> {
    pub server_version: &'a str,
    pub extended: bool,
    /// µs since the epoch.
    pub now: u64,
    pub load: [f64; 3],
    pub cpu: &'a CpuTimes,
}

fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

fn label_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text.
pub fn render(snap: &Snapshot, info: &MetricsInfo<'_>) -> String {
    let s = Summary::from_snapshot(snap, info.extended, info.cpu, info.now);
    let mut o = String::with_capacity(4096);
    let mpm = s.mpm.map(|m| m.name()).unwrap_or("unknown");
    head(
        &mut o,
        "mpmd_up",
        "gauge",
        "Whether the scoreboard could be read (1 = yes).",
    );
    o.push_str("mpmd_up 1\n");
    head(
        &mut o,
        "mpmd_info",
        "gauge",
        "Server version and MPM, as labels.",
    );
    let _ = writeln!(
        o,
        "mpmd_info{{version=\"{}\",mpm=\"{mpm}\"}} 1",
        label_escape(info.server_version)
    );
    head(
        &mut o,
        "mpmd_generation",
        "gauge",
        "Parent server generations (config: 1 at start; mpm: 0 at start), +1 on each restart.",
    );
    let _ = writeln!(
        o,
        "mpmd_generation{{type=\"config\"}} {}",
        s.config_generation
    );
    let _ = writeln!(o, "mpmd_generation{{type=\"mpm\"}} {}", s.mpm_generation);
    head(
        &mut o,
        "mpmd_uptime_seconds_total",
        "counter",
        "Seconds since the last (re)start of the scoreboard.",
    );
    let _ = writeln!(o, "mpmd_uptime_seconds_total {}", s.uptime);
    head(
        &mut o,
        "mpmd_restart_time_seconds",
        "gauge",
        "When the scoreboard was last reset, seconds since the epoch.",
    );
    let _ = writeln!(
        o,
        "mpmd_restart_time_seconds {}",
        snap.global.restart_time / 1_000_000
    );
    if info.load.iter().all(|l| *l >= 0.0) {
        head(&mut o, "mpmd_load", "gauge", "System load averages.");
        for (i, p) in ["1", "5", "15"].iter().enumerate() {
            let _ = writeln!(o, "mpmd_load{{interval=\"{p}m\"}} {}", info.load[i]);
        }
    }
    if info.extended {
        head(
            &mut o,
            "mpmd_accesses_total",
            "counter",
            "Requests served since the scoreboard was reset (ExtendedStatus).",
        );
        let _ = writeln!(o, "mpmd_accesses_total {}", s.accesses);
        head(
            &mut o,
            "mpmd_kbytes_total",
            "counter",
            "Kilobytes sent since the scoreboard was reset (ExtendedStatus).",
        );
        let _ = writeln!(o, "mpmd_kbytes_total {}", s.kbytes);
        head(
            &mut o,
            "mpmd_duration_seconds_total",
            "counter",
            "Time spent serving requests since the scoreboard was reset (ExtendedStatus).",
        );
        let _ = writeln!(
            o,
            "mpmd_duration_seconds_total {}",
            s.duration_us as f64 / 1e6
        );
        let tick = if info.cpu.tick > 0.0 {
            info.cpu.tick
        } else {
            100.0
        };
        head(
            &mut o,
            "mpmd_cpu_seconds_total",
            "counter",
            "CPU time of the parent and the serving children (ExtendedStatus).",
        );
        for (mode, t) in [
            ("user", s.cpu.user),
            ("system", s.cpu.system),
            ("children_user", s.cpu.children_user),
            ("children_system", s.cpu.children_system),
        ] {
            let _ = writeln!(
                o,
                "mpmd_cpu_seconds_total{{mode=\"{mode}\"}} {}",
                t as f64 / tick
            );
        }
    }
    head(
        &mut o,
        "mpmd_workers",
        "gauge",
        "Workers of current, non-stopping processes by server-status' rules.",
    );
    let _ = writeln!(o, "mpmd_workers{{state=\"busy\"}} {}", s.busy);
    let _ = writeln!(o, "mpmd_workers{{state=\"graceful\"}} {}", s.graceful);
    let _ = writeln!(o, "mpmd_workers{{state=\"idle\"}} {}", s.idle);
    head(
        &mut o,
        "mpmd_scoreboard",
        "gauge",
        "Scoreboard slots (within the configured capacity) by state letter.",
    );
    for (st, n) in &s.states {
        let _ = writeln!(o, "mpmd_scoreboard{{state=\"{}\"}} {n}", state_label(*st));
    }
    head(
        &mut o,
        "mpmd_processes",
        "gauge",
        "Child processes: all live ones and those stopping gracefully.",
    );
    let _ = writeln!(o, "mpmd_processes{{state=\"all\"}} {}", s.processes);
    let _ = writeln!(o, "mpmd_processes{{state=\"stopping\"}} {}", s.stopping);
    head(
        &mut o,
        "mpmd_limit",
        "gauge",
        "Configured capacity: MaxRequestWorkers and ThreadsPerChild.",
    );
    let _ = writeln!(
        o,
        "mpmd_limit{{name=\"max_request_workers\"}} {}",
        snap.global.max_request_workers
    );
    let _ = writeln!(
        o,
        "mpmd_limit{{name=\"threads_per_child\"}} {}",
        s.threads_per_child
    );
    if s.is_async() {
        head(
            &mut o,
            "mpmd_connections",
            "gauge",
            "event MPM connections: total, and those parked in the listener by state.",
        );
        let _ = writeln!(o, "mpmd_connections{{state=\"total\"}} {}", s.conns_total);
        let _ = writeln!(o, "mpmd_connections{{state=\"wait_io\"}} {}", s.wait_io);
        let _ = writeln!(o, "mpmd_connections{{state=\"writing\"}} {}", s.writing);
        let _ = writeln!(
            o,
            "mpmd_connections{{state=\"keepalive\"}} {}",
            s.keep_alive
        );
        let _ = writeln!(o, "mpmd_connections{{state=\"closing\"}} {}", s.closing);
        head(
            &mut o,
            "mpmd_process_accepting",
            "gauge",
            "event MPM: 1 when a child's listener accepts new connections.",
        );
        for r in &s.rows {
            let _ = writeln!(
                o,
                "mpmd_process_accepting{{slot=\"{}\",pid=\"{}\"}} {}",
                r.slot,
                r.pid,
                u8::from(r.accepting)
            );
        }
    }
    o
}

/// The `metrics` handler: `None` = declined (not GET/HEAD).
pub fn handle(
    req: &HandlerRequest<'_>,
    config: &ServerConfig,
    scoreboard: Option<&Scoreboard>,
) -> Option<HandlerResponse> {
    if req.method != "GET" && req.method != "HEAD" {
        return None;
    }
    let Some(sb) = scoreboard else {
        return Some(HandlerResponse {
            status: 200,
            content_type: CONTENT_TYPE,
            headers: Vec::new(),
            body: b"# HELP mpmd_up Whether the scoreboard could be read (1 = yes).\n# TYPE mpmd_up gauge\nmpmd_up 0\n".to_vec(),
        });
    };
    let snap = sb.snapshot();
    let cpu = status::cpu_times(&snap);
    let version = crate::supervisor::server_description();
    let info = MetricsInfo {
        server_version: &version,
        extended: config.extended_status,
        now: crate::scoreboard::now_micros(),
        load: status::load_average(),
        cpu: &cpu,
    };
    Some(HandlerResponse {
        status: 200,
        content_type: CONTENT_TYPE,
        headers: Vec::new(),
        body: render(&snap, &info).into_bytes(),
    })
}

/// `SetHandler metrics`, as registered in `modules::HANDLERS`.
pub fn handler(req: &mut super::Request<'_>, resp: &mut super::Response) -> Result<(), u16> {
    let name = status::request_server_name(req);
    let local_ip = req.local.ip().to_string();
    let hr = HandlerRequest {
        method: req.method_str,
        query: req.query.as_deref(),
        server_name: &name,
        local_ip: &local_ip,
    };
    status::answer(req, handle(&hr, req.config, status::scoreboard()), resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoreboard::MPM_EVENT;
    use std::sync::atomic::Ordering;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .map(|l| l[series.len() + 1..].to_string())
    }

    fn board() -> Scoreboard {
        let sb = Scoreboard::create(3, 4, None).unwrap();
        let g = sb.global();
        g.mpm.store(MPM_EVENT, Ordering::Relaxed);
        g.max_request_workers.store(8, Ordering::Relaxed);
        g.threads_per_child.store(4, Ordering::Relaxed);
        for (slot, pid) in [(0usize, 4001), (1, 4002)] {
            sb.claim(slot, pid, 0, 4);
            for t in 0..4 {
                sb.slot(slot, t).start(pid, 0, 0);
            }
        }
        sb.slot(0, 1).set_state(WorkerState::BusyWrite);
        sb.slot(1, 2).set_state(WorkerState::BusyRead);
        sb.slot(0, 1).request_done(3000);
        sb.slot(0, 1).request_done(2000);
        sb.process(1).keep_alive.store(5, Ordering::Relaxed);
        sb.process(1).connections.store(7, Ordering::Relaxed);
        sb
    }

    #[test]
    fn figures_follow_the_scoreboard() {
        let sb = board();
        let snap = sb.snapshot();
        let cpu = CpuTimes::default();
        let info = MetricsInfo {
            server_version: "mpmd/0.1.0 (Unix)",
            extended: true,
            now: snap.global.restart_time + 10_000_000,
            load: [0.5, 0.25, 0.125],
            cpu: &cpu,
        };
        let t = render(&snap, &info);
        let v = |s: &str| value(&t, s).unwrap_or_else(|| panic!("no {s} in\n{t}"));
        assert_eq!(v("mpmd_up"), "1");
        assert_eq!(v("mpmd_accesses_total"), "2");
        assert_eq!(v("mpmd_kbytes_total"), "4");
        assert_eq!(v("mpmd_uptime_seconds_total"), "10");
        assert_eq!(v("mpmd_workers{state=\"busy\"}"), "2");
        assert_eq!(v("mpmd_workers{state=\"idle\"}"), "6");
        assert_eq!(v("mpmd_scoreboard{state=\"reply\"}"), "1");
        assert_eq!(v("mpmd_scoreboard{state=\"read\"}"), "1");
        assert_eq!(v("mpmd_scoreboard{state=\"idle\"}"), "6");
        // slot 2 is beyond MaxRequestWorkers/ThreadsPerChild = 2 processes: left out
        assert_eq!(v("mpmd_scoreboard{state=\"open_slot\"}"), "0");
        assert_eq!(v("mpmd_processes{state=\"all\"}"), "2");
        assert_eq!(v("mpmd_connections{state=\"keepalive\"}"), "5");
        assert_eq!(v("mpmd_connections{state=\"total\"}"), "7");
        assert_eq!(v("mpmd_generation{type=\"config\"}"), "1");
        assert_eq!(v("mpmd_load{interval=\"15m\"}"), "0.125");
        assert_eq!(
            v("mpmd_info{version=\"mpmd/0.1.0 (Unix)\",mpm=\"event\"}"),
            "1"
        );
        assert_eq!(v("mpmd_process_accepting{slot=\"1\",pid=\"4002\"}"), "1");
    }

    #[test]
    fn exposition_format_is_well_formed() {
        let sb = board();
        let snap = sb.snapshot();
        let cpu = CpuTimes::default();
        let info = MetricsInfo {
            server_version: "x\"y",
            extended: false,
            now: snap.global.restart_time,
            load: [-1.0; 3],
            cpu: &cpu,
        };
        let t = render(&snap, &info);
        assert!(
            !t.contains("mpmd_accesses_total"),
            "ExtendedStatus Off hides the sums"
        );
        assert!(!t.contains("mpmd_load"));
        assert!(t.contains("version=\"x\\\"y\""));
        let mut typed = std::collections::HashSet::new();
        for l in t.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                let mut w = rest.split(' ');
                let name = w.next().unwrap();
                assert!(matches!(w.next(), Some("gauge" | "counter")), "{l}");
                assert!(typed.insert(name.to_string()), "duplicate TYPE {name}");
            } else if !l.starts_with("# HELP ") {
                let name = l.split(['{', ' ']).next().unwrap();
                assert!(typed.contains(name), "sample before its TYPE: {l}");
                let val = l.rsplit(' ').next().unwrap();
                assert!(val.parse::<f64>().is_ok(), "not a number: {l}");
            }
        }
    }

    #[test]
    fn handler_without_scoreboard_says_down() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::modules::log_config::config_from(dir.path(), "");
        let req = HandlerRequest {
            method: "GET",
            query: None,
            server_name: "h",
            local_ip: "127.0.0.1",
        };
        let r = handle(&req, &cfg, None).unwrap();
        assert!(String::from_utf8(r.body).unwrap().ends_with("mpmd_up 0\n"));
        let sb = board();
        let r = handle(&req, &cfg, Some(&sb)).unwrap();
        assert_eq!(r.content_type, CONTENT_TYPE);
        assert!(String::from_utf8(r.body)
            .unwrap()
            .contains("mpmd_workers{state=\"busy\"} 2\n"));
        let post = HandlerRequest {
            method: "POST",
            ..req
        };
        assert!(handle(&post, &cfg, Some(&sb)).is_none());
    }
}
