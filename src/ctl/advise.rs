//! `mpmctl advise`: the sizing an Apache admin works out by hand, from figures the server
//! already has. It samples the scoreboard over a window, measures the server's processes in
//! /proc, reads MemTotal, the cgroup limits, RLIMIT_NOFILE and the PHP-FPM pools and proxy
//! backends behind the config, then prints the MPM that fits and a sized `<IfModule>` block
//! (`decide` holds the rules). `--write` puts the block into the enabled mpm_X.conf.

pub mod decide;
pub mod sample;
pub mod write;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli;
use crate::conf::expand::{expand_logged, ExpandOptions};
use crate::config::lint::{self, ConfigFacts, HostRoots, LintHost};
use crate::config::registry::Catalog;
use crate::config::{self, LoadOptions, ServerConfig};

use self::decide::{Current, Downstream, Host, Inputs, Recommendation};
use self::sample::Source;
use super::Ctl;

/// The command line of `advise`.
#[derive(Clone, Debug)]
pub struct Options {
    pub window: Duration,
    pub interval: Duration,
    pub json: bool,
    pub write: bool,
    pub roots: HostRoots,
    /// Use server-status even when the scoreboard file is readable.
    pub status_only: bool,
}

pub const USAGE: &str =
    "Usage: mpmctl advise [--window SECS] [--interval SECS] [--json] [--write]\n\
\x20                    [--proc-root DIR] [--sys-root DIR] [--fpm-conf PATH]... [--status]\n\
  Samples the running server (scoreboard, else server-status ?auto) for --window seconds\n\
  (default 10, 0 = no sample), measures its processes and the host, and prints the MPM that\n\
  fits with a sized <IfModule> block. --write puts it into the enabled mpm_X.conf (keeping a\n\
  .bak-TIMESTAMP copy); then run `mpmctl graceful`. See docs/sizing.md.\n";

fn secs(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("not a number of seconds: {v}"))
}

impl Options {
    pub fn parse(args: &[String], env: &super::env::Env) -> Result<Options, String> {
        let mut o = Options {
            window: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            json: false,
            write: false,
            roots: HostRoots::from_lookup(|k| env.var(k).map(str::to_owned)),
            status_only: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
                _ => (a.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match name {
                "--window" => o.window = secs(&value()?)?,
                "--interval" => o.interval = secs(&value()?)?,
                "--json" => o.json = true,
                "--write" => o.write = true,
                "--status" => o.status_only = true,
                "--proc-root" => o.roots.proc_root = PathBuf::from(value()?),
                "--sys-root" => o.roots.sys_root = PathBuf::from(value()?),
                "--fpm-conf" => o.roots.fpm_conf.insert(0, value()?),
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(o)
    }
}

/// The config as mpmd would read it with this tree's arguments, and the facts of its tree.
pub fn load_config(ctl: &Ctl) -> Result<(ServerConfig, ConfigFacts), String> {
    let parsed = cli::parse(&ctl.base_args).map_err(|e| e.message)?;
    let opts = LoadOptions::from(&parsed.run_options());
    let cfg = config::load_with(&opts).map_err(|e| e.report("mpmd"))?;
    let mut xo = ExpandOptions::new(opts.server_root());
    xo.defines = opts.defines.iter().map(|d| (d.clone(), None)).collect();
    xo.pre_directives = opts.pre_directives.clone();
    xo.post_directives = opts.post_directives.clone();
    let tree = expand_logged(&opts.main_file(), &xo, &Catalog, &mut |_: &str| {})
        .map_err(|e| e.to_string())?;
    Ok((cfg, ConfigFacts::from_nodes(&tree.nodes)))
}

/// Everything the decision needs, gathered from the config, the host and the live server.
pub struct Gathered {
    pub inputs: Inputs,
    pub parent_pid: Option<i32>,
    pub sample_note: String,
    pub fpm_note: Vec<String>,
    pub lint: Vec<String>,
}

pub fn gather(cfg: &ServerConfig, facts: &ConfigFacts, o: &Options, status_url: &str) -> Gathered {
    let m = &cfg.mpm_config;
    let current = Current {
        mpm: cfg.mpm,
        max_request_workers: u64::from(m.max_request_workers),
        server_limit: u64::from(m.server_limit),
        thread_limit: u64::from(m.thread_limit),
        threads_per_child: u64::from(m.threads_per_child),
        async_request_worker_factor: m.async_request_worker_factor,
        max_connections_per_child: m.max_connections_per_child,
        keep_alive: cfg.main.keep_alive,
        keep_alive_timeout: cfg.main.keep_alive_timeout.as_secs(),
        h2: !facts.h2.is_empty(),
    };
    let roots = &o.roots;

    // The load, and the parent pid the scoreboard knows.
    let mut parent_pid = None;
    let mut sample_note = String::new();
    let mut load = None;
    if o.window.is_zero() {
        sample_note = "no sample (--window 0)".into();
    } else {
        let mut sources = Vec::new();
        if let (Some(f), false) = (&cfg.scoreboard_file, o.status_only) {
            sources.push(Source::Scoreboard(f.clone()));
        }
        sources.push(Source::Status(status_url.to_owned()));
        let mut why = Vec::new();
        for s in &sources {
            match sample::run(s, o.window, o.interval, current.max_request_workers) {
                Ok((l, ticks)) => {
                    parent_pid = ticks.iter().map(|t| t.parent_pid).find(|p| *p > 0);
                    sample_note = if why.is_empty() {
                        format!("sampled {}", l.source)
                    } else {
                        format!("sampled {} ({})", l.source, why.join("; "))
                    };
                    load = Some(l);
                    break;
                }
                Err(e) => why.push(match s {
                    Source::Scoreboard(p) => {
                        format!("scoreboard {} not reachable: {e}", p.display())
                    }
                    Source::Status(u) => format!("{u}?auto not reachable: {e}"),
                }),
            }
        }
        if load.is_none() {
            sample_note = format!("no sample: {}", why.join("; "));
        }
    }
    if parent_pid.is_none() {
        parent_pid = std::fs::read_to_string(&cfg.pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|p: &i32| roots.comm(*p).is_some_and(|c| c.starts_with("mpmd")));
    }

    // Memory and limits of the server's processes (or this host, when none runs).
    let pid_s = parent_pid.map_or("self".to_owned(), |p| p.to_string());
    let cg = roots.cgroup(&pid_s);
    let cpus = match (roots.cpus(), cg.cpu_quota) {
        (Some(n), Some(q)) => Some(q.min(n as f64)),
        (Some(n), None) => Some(n as f64),
        (None, q) => q,
    };
    let mut host = Host {
        mem_total: roots.mem_total(),
        cgroup_memory: cg.memory_max,
        cpus,
        nofile: roots.nofile(&pid_s),
        ..Default::default()
    };
    if let Some(pid) = parent_pid {
        let parent = roots.memory(pid);
        host.parent_rss = parent.map(|p| p.rss);
        let kids: Vec<lint::ProcMemory> = roots
            .children(pid)
            .into_iter()
            .filter_map(|c| roots.memory(c))
            .collect();
        if !kids.is_empty() {
            let n = kids.len() as u64;
            host.children = n as u32;
            host.child_pss = Some(kids.iter().map(|k| k.pss).sum::<u64>() / n);
            host.child_rss = Some(kids.iter().map(|k| k.rss).sum::<u64>() / n);
            if cfg.mpm.is_threaded() {
                let threads = kids
                    .iter()
                    .map(|k| u64::from(k.threads))
                    .sum::<u64>()
                    .max(1);
                let grown: u64 = kids
                    .iter()
                    .map(|k| k.rss.saturating_sub(host.parent_rss.unwrap_or(0)))
                    .sum();
                // Never below a stack's first pages: idle threads have touched little yet.
                host.per_thread = Some((grown / threads).max(lint::EST_PER_THREAD / 4));
            }
        }
    }

    // What sits behind: PHP-FPM pools and ProxyPass max=.
    let pools = roots.fpm_pools();
    let links = lint::fpm_links(facts, &pools);
    let mut fpm_note = Vec::new();
    let mut total = 0;
    let mut what = Vec::new();
    for (t, span, pool) in &links {
        match pool {
            Some(p) => {
                let mc = p.max_children.unwrap_or(5); // php-fpm's own default
                total += mc;
                what.push(format!("[{}] {mc}", p.name));
                fpm_note.push(format!(
                    "{t} ({}:{}) → pool [{}] in {}: pm.max_children {mc}",
                    span.file.display(),
                    span.line,
                    p.name,
                    p.file.display()
                ));
            }
            None => fpm_note.push(format!(
                "{t} ({}:{}): no php-fpm pool with that listen address found",
                span.file.display(),
                span.line
            )),
        }
    }
    let downstream = Downstream {
        fpm_children: (total > 0).then(|| (total, format!("pm.max_children {}", what.join(" + ")))),
        backend_max: facts
            .backends
            .iter()
            .filter_map(|b| Some((b.max?, b.url.clone())))
            .min_by_key(|(m, _)| *m),
    };
    Gathered {
        inputs: Inputs {
            current,
            load,
            host,
            downstream,
        },
        parent_pid,
        sample_note,
        fpm_note,
        // Run the lint with the advisor's roots (--proc-root, --fpm-conf …), not the process's.
        lint: lint::lint(cfg, facts, &LintHost::probe(roots, Some(&cfg.pid_file)))
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map_or("unknown".into(), lint::human)
}

/// The human report.
pub fn report(g: &Gathered, r: &Recommendation) -> String {
    let i = &g.inputs;
    let mut s = String::new();
    let c = &i.current;
    s.push_str(&format!(
        "Current: {} MPM, MaxRequestWorkers {}, ThreadsPerChild {}, ServerLimit {}\n",
        c.mpm.name(),
        c.max_request_workers,
        c.threads_per_child,
        c.server_limit
    ));
    s.push_str(&format!("Load: {}\n", g.sample_note));
    if let Some(l) = &i.load {
        let share = |b: f64| 100.0 * b / c.max_request_workers.max(1) as f64;
        s.push_str(&format!(
            "  {} samples over {:.1} s, {} requests: busy peak {} mean {:.1} ({:.0}% of MaxRequestWorkers at peak), idle mean {:.1}\n",
            l.samples,
            l.window_secs,
            l.requests,
            l.peak_busy,
            l.mean_busy,
            share(l.peak_busy as f64),
            l.mean_idle
        ));
        let ka = l.mean_keepalive / (l.mean_busy + l.mean_keepalive).max(1.0);
        s.push_str(&format!(
            "  keep-alive peak {} ({:.0}% of occupied), peak concurrency {}{}\n",
            l.peak_keepalive,
            ka * 100.0,
            l.peak_connections,
            if l.saturated { ", SATURATED" } else { "" }
        ));
    }
    let h = &i.host;
    s.push_str(&format!(
        "Memory: MemTotal {}, cgroup limit {}, usable for the server {}\n",
        opt_bytes(h.mem_total),
        h.cgroup_memory.map_or("none".into(), lint::human),
        opt_bytes(decide::usable_memory(h))
    ));
    match g.parent_pid {
        Some(p) => s.push_str(&format!(
            "Processes: parent {p} Rss {}; {} children, mean Pss {} Rss {}{}\n",
            opt_bytes(h.parent_rss),
            h.children,
            opt_bytes(h.child_pss),
            opt_bytes(h.child_rss),
            h.per_thread.map_or(String::new(), |t| format!(
                ", per thread {}",
                lint::human(t)
            ))
        )),
        None => s.push_str("Processes: no running server found; child sizes are estimates\n"),
    }
    s.push_str(&format!(
        "CPUs: {}   open-files limit: {}\n",
        h.cpus.map_or("unknown".into(), |c| format!("{c:.1}")),
        h.nofile.map_or("unknown".into(), |n| n.to_string())
    ));
    for f in &g.fpm_note {
        s.push_str(&format!("PHP-FPM: {f}\n"));
    }
    if let Some((m, u)) = &i.downstream.backend_max {
        s.push_str(&format!("Proxy: {u} max={m} per child\n"));
    }
    for l in &g.lint {
        s.push_str(&format!("Lint: {l}\n"));
    }
    s.push_str(&format!("\nMPM: {} — {}\n\n", r.mpm.name(), r.mpm_reason));
    s.push_str(&decide::render_block(r));
    for n in &r.notes {
        s.push_str(&format!("\nNote: {n}"));
    }
    if !r.notes.is_empty() {
        s.push('\n');
    }
    s
}

fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn jn(v: Option<u64>) -> String {
    v.map_or("null".into(), |v| v.to_string())
}

/// `--json`: the inputs and the recommendation, for tools.
pub fn json(g: &Gathered, r: &Recommendation) -> String {
    let i = &g.inputs;
    let h = &i.host;
    let load = match &i.load {
        Some(l) => format!(
            "{{\"source\":{},\"samples\":{},\"window_secs\":{:.3},\"requests\":{},\"peak_busy\":{},\"mean_busy\":{:.3},\"peak_keepalive\":{},\"mean_keepalive\":{:.3},\"peak_connections\":{},\"mean_idle\":{:.3},\"saturated\":{}}}",
            js(&l.source), l.samples, l.window_secs, l.requests, l.peak_busy, l.mean_busy,
            l.peak_keepalive, l.mean_keepalive, l.peak_connections, l.mean_idle, l.saturated
        ),
        None => "null".into(),
    };
    let dirs: Vec<String> = r
        .directives
        .iter()
        .map(|d| {
            format!(
                "{{\"name\":{},\"value\":{},\"reason\":{}}}",
                js(d.name),
                js(&d.value),
                js(&d.reason)
            )
        })
        .collect();
    let notes: Vec<String> = r.notes.iter().map(|n| js(n)).collect();
    let lints: Vec<String> = g.lint.iter().map(|n| js(n)).collect();
    let fpm: Vec<String> = g.fpm_note.iter().map(|n| js(n)).collect();
    format!(
        "{{\"current\":{{\"mpm\":{},\"max_request_workers\":{},\"threads_per_child\":{},\"server_limit\":{}}},\
\"sample_note\":{},\"load\":{load},\
\"host\":{{\"mem_total\":{},\"cgroup_memory\":{},\"usable_memory\":{},\"cpus\":{},\"nofile\":{},\"parent_pid\":{},\"children\":{},\"child_pss\":{},\"child_rss\":{},\"per_thread\":{}}},\
\"downstream\":{{\"fpm_max_children\":{},\"fpm\":[{}],\"backend_max\":{}}},\
\"lint\":[{}],\
\"recommendation\":{{\"mpm\":{},\"mpm_reason\":{},\"wanted_workers\":{},\"needs_restart\":{},\"directives\":[{}],\"notes\":[{}],\"block\":{}}}}}\n",
        js(i.current.mpm.name()),
        i.current.max_request_workers,
        i.current.threads_per_child,
        i.current.server_limit,
        js(&g.sample_note),
        jn(h.mem_total),
        jn(h.cgroup_memory),
        jn(decide::usable_memory(h)),
        h.cpus.map_or("null".into(), |c| format!("{c:.2}")),
        jn(h.nofile),
        g.parent_pid.map_or("null".into(), |p| p.to_string()),
        h.children,
        jn(h.child_pss),
        jn(h.child_rss),
        jn(h.per_thread),
        jn(i.downstream.fpm_children.as_ref().map(|f| f.0)),
        fpm.join(","),
        jn(i.downstream.backend_max.as_ref().map(|b| b.0)),
        lints.join(","),
        js(r.mpm.name()),
        js(&r.mpm_reason),
        r.wanted_workers,
        r.needs_restart,
        dirs.join(","),
        notes.join(","),
        js(&decide::render_block(r)),
    )
}

/// `mpmctl advise …`; returns the exit code.
pub fn main(ctl: &Ctl, args: &[String]) -> i32 {
    let o = match Options::parse(args, &ctl.env) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mpmctl advise: {e}");
            }
            eprint!("{USAGE}");
            return if e.is_empty() { 0 } else { 1 };
        }
    };
    let (cfg, facts) = match load_config(ctl) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "mpmctl advise: the configuration does not load; fix it first (mpmctl configtest)."
            );
            return 1;
        }
    };
    if !o.json && !o.window.is_zero() {
        eprintln!(
            "mpmctl advise: sampling for {:.0} s …",
            o.window.as_secs_f64()
        );
    }
    let g = gather(&cfg, &facts, &o, &ctl.status_url);
    let r = decide::decide(&g.inputs);
    if o.json {
        print!("{}", json(&g, &r));
    } else {
        print!("{}", report(&g, &r));
    }
    if o.write {
        match write::apply(&ctl.confdir, &cfg, &facts, &r) {
            Ok(w) => {
                let out = w.message(&r);
                if o.json {
                    eprint!("{out}");
                } else {
                    print!("\n{out}");
                }
            }
            Err(e) => {
                eprintln!("mpmctl advise: could not write the block: {e}");
                return 1;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_roots_and_windows() {
        let env = super::super::env::Env::from_pairs([("MPMD_PROC_ROOT", "/fake/proc")]);
        let args: Vec<String> = [
            "--window",
            "2.5",
            "--interval=0.5",
            "--json",
            "--fpm-conf",
            "/x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = Options::parse(&args, &env).unwrap();
        assert_eq!(o.window, Duration::from_millis(2500));
        assert_eq!(o.interval, Duration::from_millis(500));
        assert!(o.json && !o.write);
        assert_eq!(o.roots.proc_root, PathBuf::from("/fake/proc"));
        assert_eq!(o.roots.fpm_conf, vec!["/x".to_string()]);
        assert!(Options::parse(&["--bogus".to_string()], &env).is_err());
        assert!(Options::parse(&["--window".to_string(), "x".to_string()], &env).is_err());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(js("a\"b\\c\n\t"), "\"a\\\"b\\\\c\\n\\u0009\"");
    }
}
