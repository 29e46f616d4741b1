//! mod_status: the `server-status` handler. Everything shown comes from a scoreboard
//! `Snapshot` plus what the OS says about the server's processes (load, CPU times); the
//! rendering is pure (`render_auto`, `render_html`) so it is tested against fixed snapshots,
//! and `handle` is the glue the request pipeline calls for `SetHandler server-status`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use super::{Body, Request, Response};
use crate::config::{MpmKind, ServerConfig};
use crate::scoreboard::{Scoreboard, Snapshot, WorkerState, MPM_EVENT, MPM_PREFORK, MPM_WORKER};

const KBYTE: u64 = 1024;
const MBYTE: u64 = 1024 * 1024;
const GBYTE: u64 = 1024 * 1024 * 1024;

/// `text/html` page and `?auto` text content types (mod_status sends ISO-8859-1).
pub const HTML_TYPE: &str = "text/html; charset=ISO-8859-1";
pub const TEXT_TYPE: &str = "text/plain; charset=ISO-8859-1";

/// CPU clock ticks of one process, as `times()` / `/proc/<pid>/stat` count them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub system: u64,
    pub children_user: u64,
    pub children_system: u64,
}

impl Ticks {
    fn total(&self) -> u64 {
        self.user + self.system + self.children_user + self.children_system
    }
    fn add(&mut self, o: &Ticks) {
        self.user += o.user;
        self.system += o.system;
        self.children_user += o.children_user;
        self.children_system += o.children_system;
    }
}

/// CPU times of the parent and of the children, by pid; `tick` = clock ticks per second.
#[derive(Clone, Debug, Default)]
pub struct CpuTimes {
    pub tick: f64,
    pub parent: Option<Ticks>,
    pub children: HashMap<i32, Ticks>,
}

/// What the page shows that is not in the scoreboard: the request's names, the server's
/// strings, the clock and the OS figures.
#[derive(Clone, Debug)]
pub struct StatusInfo<'a> {
    /// The request's server name (`ap_get_server_name`).
    pub server_name: &'a str,
    /// The connection's local IP ("via …").
    pub local_ip: &'a str,
    /// Server description, e.g. `mpmd/0.1.0 (Unix)`.
    pub server_version: &'a str,
    pub server_built: &'a str,
    pub extended: bool,
    /// µs since the epoch.
    pub now: u64,
    /// 1, 5, 15 minute load averages; -1 when unknown.
    pub load: [f64; 3],
    pub cpu: &'a CpuTimes,
    /// The ServerSignature footer (HTML) or "".
    pub signature: &'a str,
}

/// The query options mod_status looks for (substrings, in any order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusOptions {
    /// `Refresh:` header value.
    pub refresh: Option<u64>,
    pub notable: bool,
    pub auto: bool,
}

impl StatusOptions {
    pub fn parse(query: Option<&str>) -> StatusOptions {
        let mut o = StatusOptions::default();
        let Some(q) = query else { return o };
        if let Some(i) = q.find("refresh") {
            let rest = &q[i + "refresh".len()..];
            let n = rest.strip_prefix('=').map(atol).unwrap_or(0);
            o.refresh = Some(if n < 1 { 10 } else { n as u64 });
        }
        o.notable = q.contains("notable");
        o.auto = q.contains("auto");
        o
    }
}

/// C `atol`: optional sign and leading digits, 0 when none.
fn atol(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add((b - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

/// One live process, for the event table and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessRow {
    pub slot: usize,
    pub pid: i32,
    pub stopping: bool,
    pub old_generation: bool,
    pub connections: u32,
    pub accepting: bool,
    pub busy: u32,
    pub graceful: u32,
    pub idle: u32,
    pub wait_io: u32,
    pub writing: u32,
    pub keep_alive: u32,
    pub closing: u32,
}

/// The figures mod_status computes from the scoreboard, with its counting rules.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub mpm: Option<MpmKind>,
    pub mpm_generation: u32,
    pub config_generation: u32,
    /// Configured process slots (MaxRequestWorkers, in processes).
    pub max_servers: usize,
    pub threads_per_child: usize,
    pub busy: u32,
    pub graceful: u32,
    pub idle: u32,
    /// ExtendedStatus sums over the slots that served or are busy.
    pub accesses: u64,
    pub kbytes: u64,
    pub duration_us: u64,
    pub cpu: Ticks,
    /// Letters of every non-disabled slot, process-major.
    pub letters: String,
    /// Count of each state over the non-disabled slots.
    pub states: Vec<(WorkerState, u32)>,
    pub rows: Vec<ProcessRow>,
    pub processes: u32,
    pub stopping: u32,
    pub conns_total: u32,
    pub wait_io: u32,
    pub writing: u32,
    pub keep_alive: u32,
    pub closing: u32,
    /// Seconds since the restart time.
    pub uptime: u32,
}

/// Every state in the order the legend lists them.
pub const ALL_STATES: [WorkerState; 11] = [
    WorkerState::Ready,
    WorkerState::Starting,
    WorkerState::BusyRead,
    WorkerState::BusyWrite,
    WorkerState::BusyKeepalive,
    WorkerState::BusyDns,
    WorkerState::Closing,
    WorkerState::BusyLog,
    WorkerState::Graceful,
    WorkerState::IdleKill,
    WorkerState::Dead,
];

pub fn mpm_of(snap: &Snapshot) -> Option<MpmKind> {
    match snap.global.mpm {
        MPM_PREFORK => Some(MpmKind::Prefork),
        MPM_WORKER => Some(MpmKind::Worker),
        MPM_EVENT => Some(MpmKind::Event),
        _ => None,
    }
}

/// A slot "took part" in the ExtendedStatus sums: it served something or is not idle.
fn counted(w: &crate::scoreboard::WorkerSnapshot) -> bool {
    w.access_count != 0 || !matches!(w.state, WorkerState::Ready | WorkerState::Dead)
}

impl Summary {
    pub fn from_snapshot(snap: &Snapshot, extended: bool, cpu: &CpuTimes, now: u64) -> Summary {
        let g = &snap.global;
        let mpm = mpm_of(snap);
        let tpc = match mpm {
            Some(MpmKind::Prefork) | None => 1,
            _ => (g.threads_per_child as usize).max(1),
        };
        let max_servers = match mpm {
            Some(MpmKind::Prefork) | None => g.max_request_workers as usize,
            _ => g.max_request_workers as usize / tpc,
        };
        let is_async = mpm == Some(MpmKind::Event);
        let mut s = Summary {
            mpm,
            mpm_generation: g.running_generation,
            config_generation: g.config_generation,
            max_servers,
            threads_per_child: tpc,
            uptime: (now.saturating_sub(g.restart_time) / 1_000_000) as u32,
            ..Summary::default()
        };
        let mut counts: HashMap<u8, u32> = HashMap::new();
        let mut bytes: u64 = 0;
        if let Some(p) = &cpu.parent {
            s.cpu.add(p);
        }
        for (i, p) in snap.processes.iter().enumerate() {
            let mut row = ProcessRow {
                slot: i,
                pid: p.pid,
                stopping: p.quiescing != 0,
                old_generation: p.generation != g.running_generation,
                connections: p.connections,
                accepting: !p.not_accepting,
                wait_io: p.wait_io,
                writing: p.write_completion,
                keep_alive: p.keep_alive,
                closing: p.lingering_close,
                ..ProcessRow::default()
            };
            let mut took_part = false;
            for (j, w) in p.workers.iter().enumerate() {
                let disabled = (i >= max_servers || j >= tpc) && w.state == WorkerState::Dead;
                if !disabled {
                    s.letters.push(w.state.letter());
                    *counts.entry(w.state as u8).or_default() += 1;
                }
                if p.quiescing == 0 && p.pid != 0 {
                    match w.state {
                        WorkerState::Ready => {
                            if p.generation == g.running_generation {
                                s.idle += 1;
                            }
                            row.idle += 1;
                        }
                        WorkerState::Dead | WorkerState::Starting | WorkerState::IdleKill => {}
                        WorkerState::Graceful => {
                            s.graceful += 1;
                            row.graceful += 1;
                        }
                        _ => {
                            s.busy += 1;
                            row.busy += 1;
                        }
                    }
                }
                if extended && counted(w) {
                    took_part = true;
                    s.accesses += w.access_count;
                    bytes += w.bytes_served;
                    s.duration_us += w.duration;
                }
            }
            if took_part {
                if let Some(t) = cpu.children.get(&p.pid) {
                    s.cpu.add(t);
                }
            }
            if p.pid != 0 {
                s.processes += 1;
                if row.stopping {
                    s.stopping += 1;
                }
                s.conns_total += p.connections;
                s.wait_io += p.wait_io;
                s.writing += p.write_completion;
                s.keep_alive += p.keep_alive;
                s.closing += p.lingering_close;
                if is_async {
                    s.rows.push(row);
                }
            }
        }
        s.kbytes = bytes / KBYTE;
        s.states = ALL_STATES
            .iter()
            .map(|st| (*st, counts.get(&(*st as u8)).copied().unwrap_or(0)))
            .collect();
        s
    }

    pub fn is_async(&self) -> bool {
        self.mpm == Some(MpmKind::Event)
    }

    fn cpu_load(&self, tick: f64) -> Option<f64> {
        let cpu = self.cpu.total();
        // httpd divides floats: cpu / tick / uptime * 100
        (cpu != 0).then(|| (cpu as f32 / tick as f32 / self.uptime as f32) as f64 * 100.0)
    }
}

/// APR's `%g` with `ndigit` significant digits: like C's, but a value below 1 loses its
/// leading zero (`.25`), and the exponent form is `1.e+5`-shaped (the tests pin both).
pub fn apr_g(x: f64, ndigit: usize) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let ndigit = ndigit.max(1);
    let mut out = String::new();
    let neg = x < 0.0;
    let x = x.abs();
    // digits and decimal-point position as ecvt gives them
    let e = format!("{:.*e}", ndigit - 1, x);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let mut decpt: i32 = exp.parse::<i32>().unwrap_or(0) + 1;
    if x == 0.0 {
        decpt = 0;
    }
    let mut n = digits.len();
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    digits.truncate(n);
    if neg {
        out.push('-');
    }
    let n = n as i32;
    if (decpt >= 0 && decpt - n > 4) || decpt < -3 {
        let exp = decpt - 1;
        out.push(digits[0] as char);
        out.push('.');
        for d in &digits[1..] {
            out.push(*d as char);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a / 100 > 0 {
            out.push((b'0' + (a / 100) as u8) as char);
        }
        if a / 10 > 0 {
            out.push((b'0' + ((a % 100) / 10) as u8) as char);
        }
        out.push((b'0' + (a % 10) as u8) as char);
        return out;
    }
    if decpt <= 0 {
        if digits[0] != b'0' {
            out.push('.');
        }
        for _ in decpt..0 {
            out.push('0');
        }
    }
    for (i, d) in digits.iter().enumerate() {
        out.push(*d as char);
        if i as i32 + 1 == decpt {
            out.push('.');
        }
    }
    if n < decpt {
        for _ in n..decpt {
            out.push('0');
        }
        out.push('.');
    }
    if out.ends_with('.') {
        out.pop();
    }
    out
}

/// `" 1 day 2 hours 5 seconds"`: zero parts left out, each with a leading space.
pub fn human_uptime(secs: u32) -> String {
    let mut out = String::new();
    let parts = [
        (secs / 86400, "day"),
        ((secs / 3600) % 24, "hour"),
        ((secs / 60) % 60, "minute"),
        (secs % 60, "second"),
    ];
    for (n, unit) in parts {
        if n != 0 {
            let _ = write!(out, " {n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    out
}

/// `%A, %d-%b-%Y %H:%M:%S %Z` in local time.
pub fn status_time(micros: u64) -> String {
    super::log_config::strftime_local((micros / 1_000_000) as i64, "%A, %d-%b-%Y %H:%M:%S %Z")
}

fn format_byte_out(out: &mut String, bytes: u64) {
    if bytes < 5 * KBYTE {
        let _ = write!(out, "{} B", bytes as i32);
    } else if bytes < MBYTE / 2 {
        let _ = write!(out, "{:.1} kB", bytes as f32 / KBYTE as f32);
    } else if bytes < GBYTE / 2 {
        let _ = write!(out, "{:.1} MB", bytes as f32 / MBYTE as f32);
    } else {
        let _ = write!(out, "{:.1} GB", bytes as f32 / GBYTE as f32);
    }
}

fn format_kbyte_out(out: &mut String, kbytes: u64) {
    if kbytes < KBYTE {
        let _ = write!(out, "{} kB", kbytes as i32);
    } else if kbytes < MBYTE {
        let _ = write!(out, "{:.1} MB", kbytes as f32 / KBYTE as f32);
    } else {
        let _ = write!(out, "{:.1} GB", kbytes as f32 / MBYTE as f32);
    }
}

fn tick_of(info: &StatusInfo<'_>) -> f64 {
    if info.cpu.tick > 0.0 {
        info.cpu.tick
    } else {
        100.0
    }
}

fn secs(t: u64, tick: f64) -> String {
    apr_g((t as f32 / tick as f32) as f64, 6)
}

/// The `?auto` text.
pub fn render_auto(snap: &Snapshot, info: &StatusInfo<'_>) -> String {
    let s = Summary::from_snapshot(snap, info.extended, info.cpu, info.now);
    let tick = tick_of(info);
    let mut o = String::with_capacity(1024 + s.letters.len());
    let mpm = s.mpm.map(MpmKind::name).unwrap_or("unknown");
    let _ = writeln!(o, "{}", info.server_name);
    let _ = writeln!(o, "ServerVersion: {}", info.server_version);
    let _ = writeln!(o, "ServerMPM: {mpm}");
    let _ = writeln!(o, "Server Built: {}", info.server_built);
    let _ = writeln!(o, "CurrentTime: {}", status_time(info.now));
    let _ = writeln!(o, "RestartTime: {}", status_time(snap.global.restart_time));
    let _ = writeln!(o, "ParentServerConfigGeneration: {}", s.config_generation);
    let _ = writeln!(o, "ParentServerMPMGeneration: {}", s.mpm_generation);
    let _ = writeln!(o, "ServerUptimeSeconds: {}", s.uptime);
    let _ = writeln!(o, "ServerUptime:{}", human_uptime(s.uptime));
    let _ = writeln!(
        o,
        "Load1: {:.2}\nLoad5: {:.2}\nLoad15: {:.2}",
        info.load[0], info.load[1], info.load[2]
    );
    if info.extended {
        let _ = writeln!(o, "Total Accesses: {}", s.accesses);
        let _ = writeln!(o, "Total kBytes: {}", s.kbytes);
        let _ = writeln!(o, "Total Duration: {}", s.duration_us / 1000);
        let _ = writeln!(o, "CPUUser: {}", secs(s.cpu.user, tick));
        let _ = writeln!(o, "CPUSystem: {}", secs(s.cpu.system, tick));
        let _ = writeln!(o, "CPUChildrenUser: {}", secs(s.cpu.children_user, tick));
        let _ = writeln!(
            o,
            "CPUChildrenSystem: {}",
            secs(s.cpu.children_system, tick)
        );
        if let Some(l) = s.cpu_load(tick) {
            let _ = writeln!(o, "CPULoad: {}", apr_g(l, 6));
        }
        let _ = writeln!(o, "Uptime: {}", s.uptime);
        let up = s.uptime as f32;
        let kb = (KBYTE as f32) * s.kbytes as f32;
        if s.uptime > 0 {
            let _ = writeln!(
                o,
                "ReqPerSec: {}",
                apr_g((s.accesses as f32 / up) as f64, 6)
            );
            let _ = writeln!(o, "BytesPerSec: {}", apr_g((kb / up) as f64, 6));
        }
        if s.accesses > 0 {
            let n = s.accesses as f32;
            let _ = writeln!(o, "BytesPerReq: {}", apr_g((kb / n) as f64, 6));
            let ms = (s.duration_us / 1000) as f32;
            let _ = writeln!(o, "DurationPerReq: {}", apr_g((ms / n) as f64, 6));
        }
    }
    let _ = writeln!(o, "BusyWorkers: {}", s.busy);
    let _ = writeln!(o, "GracefulWorkers: {}", s.graceful);
    let _ = writeln!(o, "IdleWorkers: {}", s.idle);
    if s.is_async() {
        let _ = writeln!(o, "Processes: {}", s.processes);
        let _ = writeln!(o, "Stopping: {}", s.stopping);
        let _ = writeln!(o, "ConnsTotal: {}", s.conns_total);
        let _ = writeln!(o, "ConnsAsyncWaitIO: {}", s.wait_io);
        let _ = writeln!(o, "ConnsAsyncWriting: {}", s.writing);
        let _ = writeln!(o, "ConnsAsyncKeepAlive: {}", s.keep_alive);
        let _ = writeln!(o, "ConnsAsyncClosing: {}", s.closing);
    }
    let _ = writeln!(o, "Scoreboard: {}", s.letters);
    o
}

/// `&`, `<`, `>`, `"` as entities (`ap_escape_html`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const SCOREBOARD_KEY: &str = "<p>Scoreboard Key:<br />\n\
\"<b><code>_</code></b>\" Waiting for Connection, \n\
\"<b><code>S</code></b>\" Starting up, \n\
\"<b><code>R</code></b>\" Reading Request,<br />\n\
\"<b><code>W</code></b>\" Sending Reply, \n\
\"<b><code>K</code></b>\" Keepalive (read), \n\
\"<b><code>D</code></b>\" DNS Lookup,<br />\n\
\"<b><code>C</code></b>\" Closing connection, \n\
\"<b><code>L</code></b>\" Logging, \n\
\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n\
\"<b><code>I</code></b>\" Idle cleanup of worker, \n\
\"<b><code>.</code></b>\" Open slot with no current process<br />\n\
</p>\n";

const WORKER_LEGEND: &str = "</table>\n \
<hr /> <table>\n \
<tr><th>Srv</th><td>Child Server number - generation</td></tr>\n \
<tr><th>PID</th><td>OS process ID</td></tr>\n \
<tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n \
<tr><th>M</th><td>Mode of operation</td></tr>\n\
<tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n\
<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n \
<tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n \
<tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n \
<tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n \
<tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n \
<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n \
</table>\n";

/// Non-printable bytes as `\xhh`, quotes and backslashes escaped (`ap_escape_logitem`), then
/// HTML-escaped: how the request line is shown.
fn shown_request(r: &str) -> String {
    let mut b = Vec::new();
    super::log_config::escape_logitem(r.as_bytes(), &mut b);
    escape_html(&String::from_utf8_lossy(&b))
}

/// The HTML page; `notable` lists the workers instead of tabling them.
pub fn render_html(snap: &Snapshot, info: &StatusInfo<'_>, notable: bool) -> String {
    let s = Summary::from_snapshot(snap, info.extended, info.cpu, info.now);
    let tick = tick_of(info);
    let mpm = s.mpm.map(MpmKind::name).unwrap_or("unknown");
    let mut o = String::with_capacity(8192);
    o.push_str(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
         <html><head>\n<title>Apache Status</title>\n</head><body>\n<h1>Apache Server Status for ",
    );
    let _ = write!(
        o,
        "{} (via {})</h1>\n\n",
        escape_html(info.server_name),
        info.local_ip
    );
    let _ = writeln!(o, "<dl><dt>Server Version: {}</dt>", info.server_version);
    let _ = writeln!(o, "<dt>Server MPM: {mpm}</dt>");
    let _ = writeln!(
        o,
        "<dt>Server Built: {}\n</dt></dl><hr /><dl>",
        info.server_built
    );
    let _ = writeln!(o, "<dt>Current Time: {}</dt>", status_time(info.now));
    let _ = writeln!(
        o,
        "<dt>Restart Time: {}</dt>",
        status_time(snap.global.restart_time)
    );
    let _ = writeln!(
        o,
        "<dt>Parent Server Config. Generation: {}</dt>",
        s.config_generation
    );
    let _ = writeln!(
        o,
        "<dt>Parent Server MPM Generation: {}</dt>",
        s.mpm_generation
    );
    let _ = writeln!(o, "<dt>Server uptime: {}</dt>", human_uptime(s.uptime));
    let _ = writeln!(
        o,
        "<dt>Server load: {:.2} {:.2} {:.2}</dt>",
        info.load[0], info.load[1], info.load[2]
    );
    if info.extended {
        let _ = write!(o, "<dt>Total accesses: {} - Total Traffic: ", s.accesses);
        format_kbyte_out(&mut o, s.kbytes);
        let _ = writeln!(o, " - Total Duration: {}</dt>", s.duration_us / 1000);
        let _ = write!(
            o,
            "<dt>CPU Usage: u{} s{} cu{} cs{}",
            secs(s.cpu.user, tick),
            secs(s.cpu.system, tick),
            secs(s.cpu.children_user, tick),
            secs(s.cpu.children_system, tick)
        );
        match s.cpu_load(tick) {
            Some(l) => {
                let _ = writeln!(o, " - {}% CPU load</dt>", apr_g(l, 3));
            }
            None => o.push_str("</dt>\n"),
        }
        o.push_str("<dt>");
        let up = s.uptime as f32;
        let kb = KBYTE as f32 * s.kbytes as f32;
        if s.uptime > 0 {
            let _ = write!(
                o,
                "{} requests/sec - ",
                apr_g((s.accesses as f32 / up) as f64, 3)
            );
            format_byte_out(&mut o, (kb / up) as u64);
            o.push_str("/second");
        }
        if s.accesses > 0 {
            if s.uptime > 0 {
                o.push_str(" - ");
            }
            let n = s.accesses as f32;
            format_byte_out(&mut o, (kb / n) as u64);
            let ms = (s.duration_us / 1000) as f32;
            let _ = write!(o, "/request - {} ms/request", apr_g((ms / n) as f64, 6));
        }
        o.push_str("</dt>\n");
    }
    let _ = writeln!(
        o,
        "<dt>{} requests currently being processed, {} workers gracefully restarting, {} idle workers</dt>",
        s.busy, s.graceful, s.idle
    );
    o.push_str("</dl>");
    if s.is_async() {
        o.push_str(
            "\n\n<table rules=\"all\" cellpadding=\"1%\">\n\
             <tr><th rowspan=\"2\">Slot</th><th rowspan=\"2\">PID</th><th rowspan=\"2\">Stopping</th><th colspan=\"2\">Connections</th>\n\
             <th colspan=\"3\">Threads</th><th colspan=\"4\">Async connections</th></tr>\n\
             <tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th><th>wait-io</th><th>writing</th><th>keep-alive</th><th>closing</th></tr>\n",
        );
        for r in &s.rows {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.slot,
                r.pid,
                if r.stopping { "yes" } else { "no" },
                if r.old_generation { " (old gen)" } else { "" },
                r.connections,
                if r.accepting { "yes" } else { "no" },
                r.busy,
                r.graceful,
                r.idle,
                r.wait_io,
                r.writing,
                r.keep_alive,
                r.closing
            );
        }
        let _ = writeln!(
            o,
            "<tr><td>Sum</td><td>{}</td><td>{}</td><td>{}</td><td>&nbsp;</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>",
            s.processes, s.stopping, s.conns_total, s.busy, s.graceful, s.idle, s.wait_io,
            s.writing, s.keep_alive, s.closing
        );
    }
    o.push_str("<pre>");
    for (n, c) in s.letters.chars().enumerate() {
        o.push(c);
        if n % 64 == 63 {
            o.push('\n');
        }
    }
    o.push_str("</pre>\n");
    o.push_str(SCOREBOARD_KEY);
    if !info.extended {
        o.push_str("PID Key: <br />\n<pre>\n");
        let mut k = 0;
        for (i, p) in snap.processes.iter().enumerate() {
            for (j, w) in p.workers.iter().enumerate() {
                let disabled = (i >= s.max_servers || j >= s.threads_per_child)
                    && w.state == WorkerState::Dead;
                if disabled || w.state == WorkerState::Dead {
                    continue;
                }
                let _ = write!(o, "   {} in state: {} ", p.pid, w.state.letter());
                k += 1;
                if k >= 3 {
                    o.push('\n');
                    k = 0;
                } else {
                    o.push(',');
                }
            }
        }
        o.push_str("\n</pre>\n");
        o.push_str(
            "<hr />To obtain a full report with current status information you need to use the \
             <code>ExtendedStatus On</code> directive.\n",
        );
    } else {
        worker_details(&mut o, snap, info, tick, notable);
    }
    o.push_str(info.signature);
    o.push_str("</body></html>\n");
    o
}

fn worker_details(
    o: &mut String,
    snap: &Snapshot,
    info: &StatusInfo<'_>,
    tick: f64,
    notable: bool,
) {
    if notable {
        o.push_str("<hr /><h2>Server Details</h2>\n\n");
    } else {
        o.push_str(
            "\n\n<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th>\
             <th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th>\
             <th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n",
        );
    }
    for (i, p) in snap.processes.iter().enumerate() {
        for w in &p.workers {
            if w.access_count == 0 && matches!(w.state, WorkerState::Ready | WorkerState::Dead) {
                continue;
            }
            let req_ms = if w.start_time == 0 {
                0
            } else {
                (w.stop_time.saturating_sub(w.start_time) / 1000) as i64
            };
            let (pid, gen) = if w.pid != 0 {
                (w.pid, w.generation)
            } else {
                (p.pid, p.generation)
            };
            let ss = (info.now.saturating_sub(w.last_used) / 1_000_000) as i64;
            let dur_ms = w.duration / 1000;
            let t = info.cpu.children.get(&pid).copied().unwrap_or_default();
            // A dead slot shows `-` where its pid would be.
            let shown_pid = if w.state == WorkerState::Dead {
                "-".to_string()
            } else {
                pid.to_string()
            };
            if notable {
                let _ = write!(
                    o,
                    "<b>Server {i}-{gen}</b> ({shown_pid}): {}|{}|{} [",
                    w.conn_count, w.my_access_count, w.access_count
                );
                o.push_str(match w.state {
                    WorkerState::Ready => "Ready",
                    WorkerState::Starting => "Starting",
                    WorkerState::BusyRead => "<b>Read</b>",
                    WorkerState::BusyWrite => "<b>Write</b>",
                    WorkerState::BusyKeepalive => "<b>Keepalive</b>",
                    WorkerState::BusyLog => "<b>Logging</b>",
                    WorkerState::BusyDns => "<b>DNS lookup</b>",
                    WorkerState::Closing => "<b>Closing</b>",
                    WorkerState::Dead => "Dead",
                    WorkerState::Graceful => "Graceful",
                    WorkerState::IdleKill => "Dying",
                });
                let _ = write!(
                    o,
                    "] u{} s{} cu{} cs{}\n {ss} {req_ms} {dur_ms}(",
                    secs(t.user, tick),
                    secs(t.system, tick),
                    secs(t.children_user, tick),
                    secs(t.children_system, tick)
                );
                format_byte_out(o, w.conn_bytes);
                o.push('|');
                format_byte_out(o, w.my_bytes_served);
                o.push('|');
                format_byte_out(o, w.bytes_served);
                let _ = write!(
                    o,
                    ")\n <i>{} {{{}}}</i> <i>({})</i> <b>[{}]</b><br />\n\n",
                    escape_html(&w.client),
                    shown_request(&w.request),
                    escape_html(&w.protocol),
                    escape_html(&w.vhost)
                );
            } else {
                let _ = write!(
                    o,
                    "<tr><td><b>{i}-{gen}</b></td><td>{shown_pid}</td><td>{}/{}/{}",
                    w.conn_count, w.my_access_count, w.access_count
                );
                o.push_str(match w.state {
                    WorkerState::Ready => "</td><td>_",
                    WorkerState::Starting => "</td><td><b>S</b>",
                    WorkerState::BusyRead => "</td><td><b>R</b>",
                    WorkerState::BusyWrite => "</td><td><b>W</b>",
                    WorkerState::BusyKeepalive => "</td><td><b>K</b>",
                    WorkerState::BusyLog => "</td><td><b>L</b>",
                    WorkerState::BusyDns => "</td><td><b>D</b>",
                    WorkerState::Closing => "</td><td><b>C</b>",
                    WorkerState::Dead => "</td><td>.",
                    WorkerState::Graceful => "</td><td>G",
                    WorkerState::IdleKill => "</td><td>I",
                });
                let _ = write!(
                    o,
                    "\n</td><td>{:.2}</td><td>{ss}</td><td>{req_ms}</td><td>{dur_ms}",
                    (t.total() as f32 / tick as f32)
                );
                let _ = writeln!(
                    o,
                    "</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}",
                    w.conn_bytes as f32 / KBYTE as f32,
                    w.my_bytes_served as f32 / MBYTE as f32,
                    w.bytes_served as f32 / MBYTE as f32
                );
                let _ = write!(
                    o,
                    "</td><td>{}</td><td>{}</td><td nowrap>{}</td><td nowrap>{}</td></tr>\n\n",
                    escape_html(&w.client),
                    escape_html(&w.protocol),
                    escape_html(&w.vhost),
                    shown_request(&w.request)
                );
            }
        }
    }
    if !notable {
        o.push_str(WORKER_LEGEND);
    }
}

/// What `handle` answers: a status, a content type, extra headers and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The request facts a generated page needs.
#[derive(Clone, Copy, Debug)]
pub struct HandlerRequest<'a> {
    pub method: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// `ap_get_server_name` of the request.
    pub server_name: &'a str,
    pub local_ip: &'a str,
}

/// Load averages from `/proc/loadavg`; -1 each when unreadable (httpd prints `-1.00`).
pub fn load_average() -> [f64; 3] {
    let mut out = [-1.0; 3];
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        for (o, v) in out.iter_mut().zip(text.split_whitespace()) {
            if let Ok(f) = v.parse() {
                *o = f;
            }
        }
    }
    out
}

/// CPU ticks of one process from `/proc/<pid>/stat` (fields 14–17).
pub fn process_ticks(pid: i32) -> Option<Ticks> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name may hold spaces and parentheses: fields start after the last ')'
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(Ticks {
        user: n(11)?,
        system: n(12)?,
        children_user: n(13)?,
        children_system: n(14)?,
    })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn clock_tick() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// CPU times of the parent and the live children of a snapshot.
pub fn cpu_times(snap: &Snapshot) -> CpuTimes {
    let mut c = CpuTimes {
        tick: clock_tick(),
        parent: None,
        children: HashMap::new(),
    };
    if snap.global.parent_pid > 0 {
        c.parent = process_ticks(snap.global.parent_pid);
    }
    for (_, p) in snap.live() {
        if let Some(t) = process_ticks(p.pid) {
            c.children.insert(p.pid, t);
        }
    }
    c
}

/// "Server Built": the build time of the running binary (its modification time).
pub fn server_built() -> String {
    let secs = std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    super::log_config::strftime_local(secs, "%Y-%m-%dT%H:%M:%S")
}

/// The `server-status` handler. `None` = declined (not GET/HEAD: another handler may take
/// it). Without a scoreboard (single-process debugging) the answer is a 500 like httpd's
/// inetd mode.
pub fn handle(
    req: &HandlerRequest<'_>,
    config: &ServerConfig,
    scoreboard: Option<&Scoreboard>,
    signature: &str,
) -> Option<HandlerResponse> {
    if req.method != "GET" && req.method != "HEAD" {
        return None;
    }
    let Some(sb) = scoreboard else {
        crate::ap_log!(
            error,
            "status",
            "AH01237: Server status unavailable in inetd mode"
        );
        return Some(HandlerResponse {
            status: 500,
            content_type: HTML_TYPE,
            headers: Vec::new(),
            body: Vec::new(),
        });
    };
    let opts = StatusOptions::parse(req.query);
    let snap = sb.snapshot();
    let cpu = cpu_times(&snap);
    let version = crate::supervisor::server_description();
    let built = server_built();
    let info = StatusInfo {
        server_name: req.server_name,
        local_ip: req.local_ip,
        server_version: &version,
        server_built: &built,
        extended: config.extended_status,
        now: crate::scoreboard::now_micros(),
        load: load_average(),
        cpu: &cpu,
        signature,
    };
    let (content_type, body) = if opts.auto {
        (TEXT_TYPE, render_auto(&snap, &info))
    } else {
        (HTML_TYPE, render_html(&snap, &info, opts.notable))
    };
    let mut headers = Vec::new();
    if let Some(n) = opts.refresh {
        headers.push(("Refresh", n.to_string()));
    }
    Some(HandlerResponse {
        status: 200,
        content_type,
        headers,
        body: body.into_bytes(),
    })
}

/// The scoreboard of this server, set by the parent once it is made (children inherit it).
static SCOREBOARD: OnceLock<&'static Scoreboard> = OnceLock::new();

pub fn set_scoreboard(sb: &'static Scoreboard) {
    let _ = SCOREBOARD.set(sb);
}

pub fn scoreboard() -> Option<&'static Scoreboard> {
    SCOREBOARD.get().copied()
}

/// `ap_get_server_name` with UseCanonicalName Off: the Host header's name, else ServerName,
/// else the local address.
pub(crate) fn request_server_name(req: &Request<'_>) -> String {
    match &req.hostname {
        Some(h) if !h.is_empty() => h.clone(),
        _ => req
            .server
            .server_name
            .clone()
            .unwrap_or_else(|| req.local.ip().to_string()),
    }
}

/// Fills the pipeline's response from a generated one; `Err(status)` for an error page,
/// and when the handler declines, what the default handler would answer (404, or 405 for
/// an existing file).
pub(crate) fn answer(
    req: &Request<'_>,
    r: Option<HandlerResponse>,
    resp: &mut Response,
) -> Result<(), u16> {
    let Some(r) = r else {
        return Err(if req.finfo.is_some() { 405 } else { 404 });
    };
    if r.status != 200 {
        return Err(r.status);
    }
    resp.status = 200;
    resp.content_type = Some(r.content_type.to_string());
    for (n, v) in r.headers {
        resp.headers.push((n.into(), v));
    }
    resp.body = Body::Bytes(r.body);
    Ok(())
}

/// `SetHandler server-status`, as registered in `modules::HANDLERS`.
pub fn handler(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    let name = request_server_name(req);
    let local_ip = req.local.ip().to_string();
    let hr = HandlerRequest {
        method: req.method_str,
        query: req.query.as_deref(),
        server_name: &name,
        local_ip: &local_ip,
    };
    let sig = super::signature(req);
    let sig = match sig.strip_prefix("<hr>\n") {
        Some(rest) => format!("<hr />\n{rest}"),
        None => sig,
    };
    answer(req, handle(&hr, req.config, scoreboard(), &sig), resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoreboard::{GlobalSnapshot, ProcessSnapshot, WorkerSnapshot};

    fn worker(state: WorkerState, pid: i32) -> WorkerSnapshot {
        WorkerSnapshot {
            state,
            pid,
            tid: 0,
            generation: 0,
            access_count: 0,
            bytes_served: 0,
            my_access_count: 0,
            my_bytes_served: 0,
            conn_count: 0,
            conn_bytes: 0,
            start_time: 0,
            stop_time: 0,
            last_used: 0,
            duration: 0,
            client: String::new(),
            request: String::new(),
            vhost: String::new(),
            protocol: String::new(),
        }
    }

    fn process(pid: i32, states: &str) -> ProcessSnapshot {
        ProcessSnapshot {
            pid,
            generation: 0,
            quiescing: 0,
            not_accepting: false,
            connections: 0,
            write_completion: 0,
            keep_alive: 0,
            lingering_close: 0,
            suspended: 0,
            wait_io: 0,
            workers: states
                .bytes()
                .map(|b| worker(WorkerState::from_byte(b), if b == b'.' { 0 } else { pid }))
                .collect(),
        }
    }

    /// `procs` as letter strings of thread_limit letters each (pid 0 when all dead).
    fn snap(mpm: u32, mrw: u32, tpc: u32, procs: &[&str]) -> Snapshot {
        let thread_limit = procs.first().map(|p| p.len()).unwrap_or(1) as u32;
        Snapshot {
            global: GlobalSnapshot {
                server_limit: procs.len() as u32,
                thread_limit,
                running_generation: 0,
                config_generation: 1,
                restart_time: 1_000_000_000_000,
                mpm,
                max_request_workers: mrw,
                threads_per_child: tpc,
                parent_pid: 1,
            },
            processes: procs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let pid = if s.bytes().all(|b| b == b'.') {
                        0
                    } else {
                        100 + i as i32
                    };
                    process(pid, s)
                })
                .collect(),
        }
    }

    fn info<'a>(cpu: &'a CpuTimes, extended: bool, uptime: u64) -> StatusInfo<'a> {
        StatusInfo {
            server_name: "127.0.0.1",
            local_ip: "127.0.0.1",
            server_version: "mpmd/0.1.0 (Unix)",
            server_built: "2026-11-12T08:58:41",
            extended,
            now: 1_000_000_000_000 + uptime * 1_000_000,
            load: [0.03, 0.08, 0.5],
            cpu,
            signature: "",
        }
    }

    fn keys(text: &str) -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| l.split(':').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn apr_g_matches_observed_apache_numbers() {
        assert_eq!(apr_g(0.0, 6), "0");
        assert_eq!(apr_g(0.01, 6), ".01");
        assert_eq!(apr_g(1.0 / 7.0, 6), ".142857");
        assert_eq!(apr_g(8.0 / 7.0, 6), "1.14286");
        assert_eq!(apr_g(438.857142, 6), "438.857");
        assert_eq!(apr_g(384.0, 6), "384");
        assert_eq!(apr_g(0.25, 6), ".25");
        assert_eq!(apr_g(1000.0, 6), "1000");
        assert_eq!(apr_g(123456.0, 6), "123456");
        // APR switches to the exponent form only past 4 extra zeros
        assert_eq!(apr_g(1234567.0, 6), "1234570");
        assert_eq!(apr_g(100000.0, 6), "1.e+5");
        assert_eq!(apr_g(0.000012, 6), "1.2e-5");
        assert_eq!(apr_g(0.0303, 3), ".0303");
        assert_eq!(apr_g(0.394, 3), ".394");
        assert_eq!(apr_g(2.0, 3), "2");
        assert_eq!(apr_g(-0.5, 6), "-.5");
    }

    #[test]
    fn uptime_in_words() {
        assert_eq!(human_uptime(0), "");
        assert_eq!(human_uptime(1), " 1 second");
        assert_eq!(human_uptime(7), " 7 seconds");
        assert_eq!(human_uptime(86400 + 3600 + 120), " 1 day 1 hour 2 minutes");
        assert_eq!(human_uptime(2 * 86400 + 59), " 2 days 59 seconds");
    }

    #[test]
    fn options_are_substrings_and_refresh_defaults_to_ten() {
        assert_eq!(StatusOptions::parse(None), StatusOptions::default());
        let o = StatusOptions::parse(Some("auto&refresh=5"));
        assert!(o.auto && !o.notable);
        assert_eq!(o.refresh, Some(5));
        assert_eq!(StatusOptions::parse(Some("refresh")).refresh, Some(10));
        assert_eq!(StatusOptions::parse(Some("refresh=x")).refresh, Some(10));
        assert_eq!(StatusOptions::parse(Some("refresh=0")).refresh, Some(10));
        assert!(StatusOptions::parse(Some("xnotabley")).notable);
    }

    #[test]
    fn prefork_auto_keys_and_values() {
        let cpu = CpuTimes::default();
        let s = snap(
            MPM_PREFORK,
            10,
            1,
            &["W", "_", "_", "_", "_", ".", ".", ".", ".", ".", ".", "."],
        );
        let text = render_auto(&s, &info(&cpu, true, 2));
        assert_eq!(
            keys(&text),
            [
                "ServerVersion",
                "ServerMPM",
                "Server Built",
                "CurrentTime",
                "RestartTime",
                "ParentServerConfigGeneration",
                "ParentServerMPMGeneration",
                "ServerUptimeSeconds",
                "ServerUptime",
                "Load1",
                "Load5",
                "Load15",
                "Total Accesses",
                "Total kBytes",
                "Total Duration",
                "CPUUser",
                "CPUSystem",
                "CPUChildrenUser",
                "CPUChildrenSystem",
                "Uptime",
                "ReqPerSec",
                "BytesPerSec",
                "BusyWorkers",
                "GracefulWorkers",
                "IdleWorkers",
                "Scoreboard"
            ]
        );
        assert!(
            text.starts_with("127.0.0.1\nServerVersion: mpmd/0.1.0 (Unix)\nServerMPM: prefork\n")
        );
        assert!(text.contains("\nServerUptime: 2 seconds\n"));
        assert!(text.contains("\nLoad1: 0.03\nLoad5: 0.08\nLoad15: 0.50\n"));
        assert!(text.contains("\nBusyWorkers: 1\nGracefulWorkers: 0\nIdleWorkers: 4\n"));
        // 10 configured slots shown, the two beyond MaxRequestWorkers left out
        assert!(text.ends_with("\nScoreboard: W____.....\n"), "{text}");
    }

    #[test]
    fn event_auto_has_async_keys_and_sums() {
        let cpu = CpuTimes::default();
        let mut s = snap(MPM_EVENT, 8, 4, &["_W__....", "K___....", "........"]);
        s.processes[0].connections = 3;
        s.processes[0].keep_alive = 2;
        s.processes[1].wait_io = 1;
        s.processes[1].lingering_close = 1;
        s.processes[1].write_completion = 4;
        let text = render_auto(&s, &info(&cpu, false, 0));
        assert_eq!(
            keys(&text),
            [
                "ServerVersion",
                "ServerMPM",
                "Server Built",
                "CurrentTime",
                "RestartTime",
                "ParentServerConfigGeneration",
                "ParentServerMPMGeneration",
                "ServerUptimeSeconds",
                "ServerUptime",
                "Load1",
                "Load5",
                "Load15",
                "BusyWorkers",
                "GracefulWorkers",
                "IdleWorkers",
                "Processes",
                "Stopping",
                "ConnsTotal",
                "ConnsAsyncWaitIO",
                "ConnsAsyncWriting",
                "ConnsAsyncKeepAlive",
                "ConnsAsyncClosing",
                "Scoreboard"
            ]
        );
        assert!(text.contains("\nServerUptime:\n"));
        assert!(text.contains("\nBusyWorkers: 2\nGracefulWorkers: 0\nIdleWorkers: 6\n"));
        assert!(text.contains(
            "\nProcesses: 2\nStopping: 0\nConnsTotal: 3\nConnsAsyncWaitIO: 1\nConnsAsyncWriting: 4\nConnsAsyncKeepAlive: 2\nConnsAsyncClosing: 1\n"
        ));
        assert!(text.ends_with("\nScoreboard: _W__K___\n"), "{text}");
    }

    #[test]
    fn quiescing_and_old_generation_processes_follow_httpd_rules() {
        let cpu = CpuTimes::default();
        let mut s = snap(MPM_WORKER, 8, 2, &["GG", "_W", "__"]);
        s.processes[0].quiescing = 1; // stopping: its G and W not counted
        s.processes[2].generation = 7; // old generation: idle not counted
        s.processes[2].workers[1].state = WorkerState::Graceful;
        let sum = Summary::from_snapshot(&s, false, &cpu, s.global.restart_time);
        assert_eq!((sum.busy, sum.graceful, sum.idle), (1, 1, 1));
        assert_eq!(sum.stopping, 1);
        assert_eq!(sum.processes, 3);
        assert_eq!(sum.letters, "GG_W_G");
    }

    #[test]
    fn extended_figures_and_cpu() {
        let mut cpu = CpuTimes {
            tick: 100.0,
            ..CpuTimes::default()
        };
        cpu.parent = Some(Ticks {
            user: 0,
            system: 1,
            children_user: 0,
            children_system: 0,
        });
        let mut s = snap(MPM_EVENT, 150, 25, &["_W", "__"]);
        s.global.max_request_workers = 4;
        s.global.threads_per_child = 2;
        cpu.children.insert(
            100,
            Ticks {
                user: 0,
                system: 0,
                children_user: 0,
                children_system: 0,
            },
        );
        let w = &mut s.processes[0].workers[1];
        w.access_count = 5;
        w.bytes_served = 2048;
        w.duration = 1000;
        let w = &mut s.processes[1].workers[0];
        w.access_count = 3;
        w.bytes_served = 1024;
        w.duration = 1000;
        let text = render_auto(&s, &info(&cpu, true, 7));
        assert!(
            text.contains("\nTotal Accesses: 8\nTotal kBytes: 3\nTotal Duration: 2\n"),
            "{text}"
        );
        assert!(text.contains("\nCPUUser: 0\nCPUSystem: .01\nCPUChildrenUser: 0\nCPUChildrenSystem: 0\nCPULoad: .142857\n"), "{text}");
        assert!(text.contains("\nUptime: 7\nReqPerSec: 1.14286\nBytesPerSec: 438.857\nBytesPerReq: 384\nDurationPerReq: .25\n"), "{text}");
        let html = render_html(&s, &info(&cpu, true, 7), false);
        assert!(
            html.contains("<dt>Total accesses: 8 - Total Traffic: 3 kB - Total Duration: 2</dt>\n")
        );
        assert!(
            html.contains("<dt>CPU Usage: u0 s.01 cu0 cs0 - .143% CPU load</dt>\n"),
            "{html}"
        );
        assert!(
            html.contains(
                "<dt>1.14 requests/sec - 438 B/second - 384 B/request - .25 ms/request</dt>\n"
            ),
            "{html}"
        );
    }

    #[test]
    fn html_sections_in_order() {
        let cpu = CpuTimes::default();
        let mut s = snap(MPM_EVENT, 8, 4, &["_W__", "____"]);
        let w = &mut s.processes[0].workers[1];
        w.access_count = 1;
        w.my_access_count = 1;
        w.client = "127.0.0.1".into();
        w.request = "GET /a<b>\"c HTTP/1.1".into();
        w.vhost = "localhost:80".into();
        w.protocol = "http/1.1".into();
        w.last_used = s.global.restart_time + 30_000_000;
        let html = render_html(&s, &info(&cpu, true, 33), false);
        let order = [
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"",
            "<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>",
            "<dl><dt>Server Version: mpmd/0.1.0 (Unix)</dt>\n<dt>Server MPM: event</dt>\n<dt>Server Built: 2026-11-12T08:58:41\n</dt></dl><hr /><dl>\n",
            "<dt>Parent Server Config. Generation: 1</dt>",
            "<dt>Server uptime:  33 seconds</dt>",
            "<dt>1 requests currently being processed, 0 workers gracefully restarting, 7 idle workers</dt>\n</dl>",
            "<tr><td>0</td><td>100</td><td>no</td><td>0</td><td>yes</td><td>1</td><td>0</td><td>3</td>",
            "<tr><td>Sum</td><td>2</td><td>0</td><td>0</td><td>&nbsp;</td><td>1</td><td>0</td><td>7</td>",
            "<pre>_W______</pre>\n<p>Scoreboard Key:<br />",
            "<th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th>",
            "<tr><td><b>0-0</b></td><td>100</td><td>0/1/1</td><td><b>W</b>\n</td><td>0.00</td>",
            "<td nowrap>GET /a&lt;b&gt;\\&quot;c HTTP/1.1</td></tr>",
            "<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>",
            "</body></html>\n",
        ];
        let mut at = 0;
        for part in order {
            let found = html[at..]
                .find(part)
                .unwrap_or_else(|| panic!("missing after {at}: {part}\n{html}"));
            at += found + part.len();
        }
        let notable = render_html(&s, &info(&cpu, true, 33), true);
        assert!(notable.contains("<hr /><h2>Server Details</h2>"));
        assert!(
            notable.contains(
                "<b>Server 0-0</b> (100): 0|1|1 [<b>Write</b>] u0 s0 cu0 cs0\n 3 0 0(0 B|0 B|0 B)"
            ),
            "{notable}"
        );
        assert!(!notable.contains("<table border"));
    }

    #[test]
    fn html_without_extended_status_has_pid_key() {
        let cpu = CpuTimes::default();
        let s = snap(MPM_PREFORK, 3, 1, &["W", "_", "_", "."]);
        let html = render_html(&s, &info(&cpu, false, 1), false);
        assert!(html.contains("PID Key: <br />\n<pre>\n   100 in state: W ,   101 in state: _ ,   102 in state: _ \n\n</pre>\n"), "{html}");
        assert!(html.contains("<code>ExtendedStatus On</code> directive."));
        assert!(!html.contains("<table"));
        assert!(!html.contains("Total accesses"));
    }

    #[test]
    fn scoreboard_letters_wrap_at_64_in_html() {
        let cpu = CpuTimes::default();
        let procs: Vec<String> = (0..3).map(|_| "_".repeat(25)).collect();
        let refs: Vec<&str> = procs.iter().map(String::as_str).collect();
        let s = snap(MPM_WORKER, 75, 25, &refs);
        let html = render_html(&s, &info(&cpu, false, 1), false);
        let pre = &html[html.find("<pre>").unwrap() + 5..html.find("</pre>").unwrap()];
        let lines: Vec<&str> = pre.split('\n').collect();
        assert_eq!(lines.iter().map(|l| l.len()).collect::<Vec<_>>(), [64, 11]);
    }

    #[test]
    fn handler_declines_other_methods_and_answers_without_scoreboard() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::modules::log_config::config_from(dir.path(), "");
        let req = HandlerRequest {
            method: "POST",
            query: None,
            server_name: "h",
            local_ip: "127.0.0.1",
        };
        assert!(handle(&req, &cfg, None, "").is_none());
        let req = HandlerRequest {
            method: "GET",
            ..req
        };
        assert_eq!(handle(&req, &cfg, None, "").unwrap().status, 500);
    }

    #[test]
    fn handler_renders_a_live_scoreboard() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::modules::log_config::config_from(dir.path(), "");
        let sb = Scoreboard::create(2, 1, None).unwrap();
        let g = sb.global();
        g.mpm
            .store(MPM_PREFORK, std::sync::atomic::Ordering::Relaxed);
        g.max_request_workers
            .store(2, std::sync::atomic::Ordering::Relaxed);
        g.threads_per_child
            .store(1, std::sync::atomic::Ordering::Relaxed);
        sb.claim(0, std::process::id() as i32, 0, 1);
        sb.slot(0, 0).start(std::process::id() as i32, 0, 0);
        sb.slot(0, 0).set_state(WorkerState::BusyWrite);
        let req = HandlerRequest {
            method: "GET",
            query: Some("auto&refresh=3"),
            server_name: "h",
            local_ip: "127.0.0.1",
        };
        let r = handle(&req, &cfg, Some(&sb), "").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, TEXT_TYPE);
        assert_eq!(r.headers, vec![("Refresh", "3".to_string())]);
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("\nBusyWorkers: 1\n"), "{body}");
        assert!(body.ends_with("Scoreboard: W.\n"), "{body}");
    }

    #[test]
    fn loading_mod_status_turns_extended_status_on() {
        let dir = tempfile::tempdir().unwrap();
        let lm = "LoadModule status_module modules/mod_status.so";
        let cfg = crate::modules::log_config::config_from(dir.path(), "");
        assert!(!cfg.extended_status);
        let cfg = crate::modules::log_config::config_from(dir.path(), lm);
        assert!(cfg.extended_status);
        let cfg = crate::modules::log_config::config_from(
            dir.path(),
            &format!("{lm}\nExtendedStatus Off"),
        );
        assert!(!cfg.extended_status);
    }
}
