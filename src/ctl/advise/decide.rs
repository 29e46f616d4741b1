//! The advisor's decision: measured inputs in, an MPM and a sized `<IfModule>` block out, each
//! number with the reason behind it. Pure, so every rule is unit-tested with made-up figures;
//! docs/sizing.md lists the rules in the order they run here.

use crate::config::lint::{self, human, FD_OVERHEAD, FPM_FACTOR, LONG_KEEPALIVE_SECS};
use crate::config::MpmKind;

/// BusyWorkers should stay under this share of MaxRequestWorkers at the observed peak.
pub const TARGET_BUSY_SHARE: f64 = 0.6;
/// Keep-alive share of occupied slots above which event is chosen for it.
pub const KEEPALIVE_SHARE_FOR_EVENT: f64 = 0.10;
const PREFORK_FLOOR: u64 = 16;
const DEFAULT_TPC: u64 = 25;

/// The MPM sizing now in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Current {
    pub mpm: MpmKind,
    pub max_request_workers: u64,
    pub server_limit: u64,
    pub thread_limit: u64,
    pub threads_per_child: u64,
    pub async_request_worker_factor: f64,
    pub max_connections_per_child: i64,
    pub keep_alive: bool,
    pub keep_alive_timeout: u64,
    pub h2: bool,
}

/// What the sampling window saw. Counts are of worker slots (prefork children or threads).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadSample {
    pub samples: u32,
    pub window_secs: f64,
    /// Where the figures came from (`scoreboard FILE` / `server-status URL?auto`).
    pub source: String,
    /// Workers busy with a request (R W L D C G …), keep-alive waits not counted.
    pub peak_busy: u64,
    pub mean_busy: f64,
    /// Connections in keep-alive (K slots, and event's parked connections).
    pub peak_keepalive: u64,
    pub mean_keepalive: f64,
    /// Busy + keep-alive at the busiest sample.
    pub peak_connections: u64,
    pub mean_idle: f64,
    /// Every worker was occupied (or event stopped accepting) in at least one sample.
    pub saturated: bool,
    /// Requests served during the window.
    pub requests: u64,
    /// Samples where every running worker was taken below MaxRequestWorkers (the spare
    /// settings did not start children fast enough).
    pub starved: u32,
}

/// Memory, CPU and descriptor figures; `None` = could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Host {
    pub mem_total: Option<u64>,
    pub cgroup_memory: Option<u64>,
    pub cpus: Option<f64>,
    /// The server's soft RLIMIT_NOFILE.
    pub nofile: Option<u64>,
    /// Mean Pss / Rss of the server's children, and of the parent.
    pub child_pss: Option<u64>,
    pub child_rss: Option<u64>,
    pub parent_rss: Option<u64>,
    pub children: u32,
    /// Measured private growth per thread (threaded MPMs).
    pub per_thread: Option<u64>,
}

/// Limits of what sits behind the server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Downstream {
    /// Sum of pm.max_children of the PHP-FPM pools the config proxies to, with a description.
    pub fpm_children: Option<(u64, String)>,
    /// The smallest ProxyPass `max=` (connections per child), with its URL.
    pub backend_max: Option<(u64, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    pub current: Current,
    pub load: Option<LoadSample>,
    pub host: Host,
    pub downstream: Downstream,
}

/// One directive of the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub mpm: MpmKind,
    pub mpm_reason: String,
    pub directives: Vec<Directive>,
    /// Things the admin should know that are not a number in the block.
    pub notes: Vec<String>,
    /// Workers the load asks for before any cap (0 when there was no sample).
    pub wanted_workers: u64,
    /// A graceful reload cannot apply this (MPM switch, ServerLimit/ThreadLimit change).
    pub needs_restart: bool,
}

impl Recommendation {
    pub fn value(&self, name: &str) -> Option<u64> {
        self.directives
            .iter()
            .find(|d| d.name == name)?
            .value
            .parse()
            .ok()
    }
}

fn module_of(kind: MpmKind) -> &'static str {
    match kind {
        MpmKind::Prefork => "mpm_prefork_module",
        MpmKind::Worker => "mpm_worker_module",
        MpmKind::Event => "mpm_event_module",
    }
}

/// Rule 1: the MPM.
fn choose_mpm(i: &Inputs) -> (MpmKind, String) {
    let c = &i.current;
    if c.h2 {
        return (
            MpmKind::Event,
            "h2 is offered: event keeps idle HTTP/2 connections off the worker threads".into(),
        );
    }
    let ka_share = i
        .load
        .as_ref()
        .filter(|l| l.peak_connections > 0)
        .map(|l| l.mean_keepalive / (l.mean_busy + l.mean_keepalive).max(1.0));
    if c.keep_alive {
        if let Some(s) = ka_share.filter(|s| *s > KEEPALIVE_SHARE_FOR_EVENT) {
            return (
                MpmKind::Event,
                format!(
                    "{:.0}% of occupied slots were idle keep-alive connections; event parks them without a thread",
                    s * 100.0
                ),
            );
        }
        if c.keep_alive_timeout > LONG_KEEPALIVE_SECS {
            return (
                MpmKind::Event,
                format!(
                    "KeepAliveTimeout {} s: under worker/prefork each idle client would hold a worker that long",
                    c.keep_alive_timeout
                ),
            );
        }
    }
    match c.mpm {
        MpmKind::Prefork => (
            MpmKind::Event,
            "mpmd has no thread-unsafe modules, so prefork's process per connection only costs memory; event serves the same with threads".into(),
        ),
        k => (
            k,
            format!(
                "{} fits (no h2, little keep-alive)",
                k.name()
            ),
        ),
    }
}

/// Runs the rules of docs/sizing.md over the inputs.
pub fn decide(i: &Inputs) -> Recommendation {
    let c = &i.current;
    let (mpm, mpm_reason) = choose_mpm(i);
    let switching = mpm != c.mpm;
    let mut notes = Vec::new();
    let mut dirs = Vec::new();
    let arwf = if c.async_request_worker_factor <= 1.0 {
        2.0
    } else {
        c.async_request_worker_factor
    };

    // Rule 2: threads per child (threaded MPMs), capped by descriptors and backend max=.
    let mut tpc = if c.mpm.is_threaded() {
        c.threads_per_child.max(1)
    } else {
        DEFAULT_TPC
    };
    let mut tpc_reason = if c.mpm.is_threaded() {
        format!("kept at {tpc}: no limit below calls for less")
    } else {
        format!("{tpc}, the usual size: a crash or recycle takes down only {tpc} requests")
    };
    if mpm.is_threaded() {
        if let Some(nofile) = i.host.nofile {
            let per_thread_conns = if mpm == MpmKind::Event {
                1.0 + arwf
            } else {
                1.0
            };
            let fit = ((nofile.saturating_sub(FD_OVERHEAD)) as f64 / (2.0 * per_thread_conns))
                .floor() as u64;
            if fit < tpc {
                tpc = fit.max(1);
                tpc_reason = format!(
                    "open-files limit {nofile}: each thread may hold {per_thread_conns:.0} connection(s) × 2 fds, plus {FD_OVERHEAD}"
                );
            }
        }
        if let Some((pool, _)) = &i.downstream.fpm_children {
            let cap = FPM_FACTOR * pool;
            if cap < tpc {
                tpc = cap.max(1);
                tpc_reason = format!(
                    "{FPM_FACTOR}× the PHP-FPM pool of {pool}, the MaxRequestWorkers cap: a child cannot have more threads"
                );
            }
        }
        if let Some((max, url)) = &i.downstream.backend_max {
            if tpc > 2 * max {
                tpc = (2 * max).max(1);
                tpc_reason = format!(
                    "ProxyPass {url} max={max} connections per child: more than {} threads per child would wait for a backend connection",
                    2 * max
                );
            }
        }
    }
    let unit = if mpm.is_threaded() { tpc } else { 1 };

    // Rule 3: what the load asks for.
    let cur_mrw = c.max_request_workers.max(1);
    let (mut wanted, mut mrw_reason) = match &i.load {
        Some(l) if l.samples > 0 => {
            // Keep-alive waits pin a worker except under event.
            let occupied = if mpm == MpmKind::Event {
                l.peak_busy
            } else {
                l.peak_busy + l.peak_keepalive
            };
            if l.saturated {
                let w = ((cur_mrw.max(occupied) * 2) as f64 / TARGET_BUSY_SHARE).ceil() as u64;
                notes.push(format!(
                    "every worker was taken during the sample (MaxRequestWorkers {cur_mrw}): the real demand is above that, so this doubles it; run `mpmctl advise` again under the same load after applying"
                ));
                (
                    w,
                    format!(
                        "saturated at {cur_mrw} during the sample: 2× that, kept under 60% busy"
                    ),
                )
            } else {
                let w = (occupied.max(1) as f64 / TARGET_BUSY_SHARE).ceil() as u64;
                if w <= cur_mrw && !switching {
                    // Under 60% already: no reason to shrink (only a cap below does that).
                    (
                        cur_mrw,
                        format!(
                            "kept at {cur_mrw}: peak {occupied} busy is {:.0}%, under 60%",
                            100.0 * occupied as f64 / cur_mrw as f64
                        ),
                    )
                } else {
                    (
                        w,
                        format!(
                            "peak {occupied} busy{} in {:.0} s → stays under 60% busy",
                            if mpm == MpmKind::Event {
                                ""
                            } else {
                                " (keep-alive included)"
                            },
                            l.window_secs
                        ),
                    )
                }
            }
        }
        _ => {
            notes.push(
                "no load was sampled: MaxRequestWorkers is kept unless a limit below requires less"
                    .into(),
            );
            (cur_mrw, format!("kept at {cur_mrw}: no load sample"))
        }
    };
    if let Some(l) = i.load.as_ref().filter(|l| l.starved > 0 && !l.saturated) {
        notes.push(format!(
            "in {} of {} samples every running worker was taken below MaxRequestWorkers: the spare settings below start children sooner",
            l.starved, l.samples
        ));
    }
    let floor = if mpm.is_threaded() {
        2 * tpc
    } else {
        PREFORK_FLOOR
    };
    if wanted < floor {
        wanted = floor;
        mrw_reason = format!("{mrw_reason} (floor {floor}: room for a burst)");
    }
    let wanted_before_caps = wanted;

    // Rule 4: caps — RAM, PHP-FPM pool.
    let mut mrw = wanted;
    let usable = usable_memory(&i.host);
    let (per_worker, measured) = per_worker(mpm, tpc, &i.host);
    if let Some(usable) = usable {
        let fit = usable / per_worker.max(1);
        if fit < mrw {
            mrw = fit.max(unit);
            mrw_reason = format!(
                "RAM: {} usable / {} per worker ({}) = {fit}",
                human(usable),
                human(per_worker),
                if measured { "measured" } else { "estimated" }
            );
            notes.push(format!(
                "the load asks for {wanted} workers but memory allows {fit}: add RAM or reduce what each child holds"
            ));
        }
    }
    if let Some((pool, what)) = &i.downstream.fpm_children {
        let cap = FPM_FACTOR * pool;
        if cap < mrw {
            mrw = cap.max(unit);
            mrw_reason =
                format!("{FPM_FACTOR}× the PHP-FPM pool ({what}): more only queue for a PHP child");
            if wanted > cap {
                notes.push(format!(
                    "the load asks for {wanted} workers but PHP-FPM has {pool} children: raise pm.max_children (memory permitting) before MaxRequestWorkers"
                ));
            }
        }
    }
    let capped = mrw < wanted;
    // A multiple of ThreadsPerChild: up when sizing for load, down when a cap decided.
    mrw = if capped {
        (mrw / unit).max(1) * unit
    } else {
        mrw.div_ceil(unit) * unit
    };

    // Rule 5: process counts, spares, ServerLimit/ThreadLimit.
    let procs = mrw / unit;
    let mean = i
        .load
        .as_ref()
        .map(|l| {
            if mpm == MpmKind::Event {
                l.mean_busy
            } else {
                l.mean_busy + l.mean_keepalive
            }
        })
        .unwrap_or(0.0);
    let peak = i
        .load
        .as_ref()
        .map(|l| {
            if mpm == MpmKind::Event {
                l.peak_busy
            } else {
                l.peak_busy + l.peak_keepalive
            }
        })
        .unwrap_or(0);
    let mut needs_restart = false;
    if mpm.is_threaded() {
        let start =
            ((mean / TARGET_BUSY_SHARE / tpc as f64).ceil() as u64).clamp(2.min(procs), procs);
        // Idle threads for the peak to stay under 60% of the threads running.
        let spare_min = spare_for(peak).div_ceil(tpc).max(1) * tpc;
        let spare_min = spare_min.min(mrw);
        let spare_max = (spare_min + 2 * tpc).min(mrw.max(spare_min + tpc));
        let headroom = procs.div_ceil(4).max(1);
        let mut sl = procs + headroom;
        let mut tl = tpc;
        if !switching {
            // A graceful reload keeps the first ServerLimit/ThreadLimit (AH00501/AH00506), so
            // keep them when they are big enough.
            // The graceful headroom is worth a restart only when the children themselves
            // do not fit.
            if c.server_limit >= procs {
                sl = c.server_limit;
            } else {
                needs_restart = true;
            }
            if c.thread_limit >= tpc {
                tl = c.thread_limit;
            } else {
                needs_restart = true;
            }
        } else {
            // mpmd changes the MPM on a graceful reload (docs/lifecycle.md), inside the
            // scoreboard's first dimensions; under prefork its thread dimension is ThreadLimit's
            // default, 64.
            let slots = if c.mpm == MpmKind::Prefork {
                c.thread_limit.max(64)
            } else {
                c.thread_limit
            };
            needs_restart = sl > c.server_limit || tl > slots;
        }
        dirs.push(Directive {
            name: "StartServers",
            value: start.to_string(),
            reason: format!(
                "mean load {mean:.1} busy needs {start} child(ren) of {tpc} threads at 60%"
            ),
        });
        dirs.push(Directive {
            name: "MinSpareThreads",
            value: spare_min.to_string(),
            reason: format!(
                "{spare_min} idle for a peak of {peak} busy: the running threads stay under 60% busy"
            ),
        });
        dirs.push(Directive {
            name: "MaxSpareThreads",
            value: spare_max.to_string(),
            reason:
                "MinSpareThreads + 2 children, so children are not started and stopped in a loop"
                    .into(),
        });
        dirs.push(Directive {
            name: "ThreadLimit",
            value: tl.to_string(),
            reason: if tl == tpc {
                "= ThreadsPerChild: no unused scoreboard".into()
            } else {
                format!("kept at {tl}: changing it needs a full restart")
            },
        });
        dirs.push(Directive {
            name: "ThreadsPerChild",
            value: tpc.to_string(),
            reason: tpc_reason,
        });
        dirs.push(Directive {
            name: "MaxRequestWorkers",
            value: mrw.to_string(),
            reason: mrw_reason,
        });
        dirs.push(Directive {
            name: "ServerLimit",
            value: sl.to_string(),
            reason: if sl == procs + headroom {
                format!(
                    "{procs} children for MaxRequestWorkers + {headroom} for old-generation children finishing after a graceful reload"
                )
            } else {
                format!(
                    "kept at {sl} (≥ the {procs} children needed{}): changing it needs a full restart",
                    if sl < procs + headroom {
                        format!("; {} would leave room for a graceful reload", procs + headroom)
                    } else {
                        String::new()
                    }
                )
            },
        });
        if mpm == MpmKind::Event {
            dirs.push(Directive {
                name: "AsyncRequestWorkerFactor",
                value: fmt_factor(arwf),
                reason: if c.async_request_worker_factor <= 1.0 {
                    "was 1 or less, which stops event from holding idle connections beyond its threads".into()
                } else {
                    format!(
                        "each child holds up to {} connections for its {tpc} threads",
                        ((1.0 + arwf) * tpc as f64) as u64
                    )
                },
            });
        }
    } else {
        let start = ((mean / TARGET_BUSY_SHARE).ceil() as u64).clamp(5.min(mrw), mrw);
        let spare_min = spare_for(peak).clamp(5.min(mrw), mrw);
        let spare_max = (spare_min + 10).min(mrw.max(spare_min + 1));
        let mut sl = mrw;
        if !switching && c.server_limit >= mrw {
            sl = c.server_limit;
        } else if !switching {
            needs_restart = true;
        }
        dirs.push(Directive {
            name: "StartServers",
            value: start.to_string(),
            reason: format!("mean load {mean:.1} at 60% busy"),
        });
        dirs.push(Directive {
            name: "MinSpareServers",
            value: spare_min.to_string(),
            reason: format!(
                "{spare_min} idle for a peak of {peak} busy: no fork per request at the peak"
            ),
        });
        dirs.push(Directive {
            name: "MaxSpareServers",
            value: spare_max.to_string(),
            reason: "MinSpareServers + 10, so idle children are not forked and killed in a loop"
                .into(),
        });
        dirs.push(Directive {
            name: "MaxRequestWorkers",
            value: mrw.to_string(),
            reason: mrw_reason,
        });
        dirs.push(Directive {
            name: "ServerLimit",
            value: sl.to_string(),
            reason: if sl == mrw {
                "= MaxRequestWorkers (prefork: one child per worker)".into()
            } else {
                format!("kept at {sl}: changing it needs a full restart")
            },
        });
    }
    dirs.push(Directive {
        name: "MaxConnectionsPerChild",
        value: c.max_connections_per_child.to_string(),
        reason: if c.max_connections_per_child == 0 {
            "0: mpmd children do not leak, no need to recycle them".into()
        } else {
            "kept as configured".into()
        },
    });

    // Notes that are not numbers of the block.
    if mpm != MpmKind::Event && c.keep_alive && c.keep_alive_timeout > LONG_KEEPALIVE_SECS {
        notes.push(format!(
            "KeepAliveTimeout {} s under {}: lower it to {LONG_KEEPALIVE_SECS} or less",
            c.keep_alive_timeout,
            mpm.name()
        ));
    }
    if let Some(nofile) = i.host.nofile {
        let need = lint::fds_per_child(mpm, tpc, arwf);
        if need > nofile {
            notes.push(format!(
                "open-files limit {nofile} is below the {need} descriptors a child may need: raise LimitNOFILE / ulimit -n"
            ));
        }
    }
    if switching {
        notes.push(format!(
            "switching from {}: `mpmd-enmod mpm_{}` (it disables the other MPM), then `mpmctl {}` (mpmd changes the MPM on a graceful reload{})",
            c.mpm.name(),
            mpm.name(),
            if needs_restart { "restart" } else { "graceful" },
            if needs_restart { "; the new ServerLimit/ThreadLimit need a restart" } else { "" }
        ));
    } else if needs_restart {
        notes.push(
            "ServerLimit or ThreadLimit grows: apply with `mpmctl restart`; a graceful reload keeps the old limits".into(),
        );
    }
    let _ = capped;
    Recommendation {
        mpm,
        mpm_reason,
        directives: dirs,
        notes,
        wanted_workers: if i.load.as_ref().is_some_and(|l| l.samples > 0) {
            wanted_before_caps
        } else {
            0
        },
        needs_restart,
    }
}

/// Idle workers that keep `peak` busy at 60% of those running.
fn spare_for(peak: u64) -> u64 {
    (peak as f64 * (1.0 / TARGET_BUSY_SHARE - 1.0)).ceil() as u64
}

fn fmt_factor(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// The smaller of MemTotal and the cgroup limit, less the OS reserve.
pub fn usable_memory(h: &Host) -> Option<u64> {
    let total = match (h.mem_total, h.cgroup_memory) {
        (Some(m), Some(c)) => m.min(c),
        (m, c) => m.or(c)?,
    };
    Some(total.saturating_sub(lint::reserve(total)))
}

/// Bytes one worker costs and whether that was measured: a prefork child's Pss; for threads,
/// the child's Pss shared by its threads, at least the measured per-thread growth.
pub fn per_worker(mpm: MpmKind, tpc: u64, h: &Host) -> (u64, bool) {
    if mpm.is_threaded() {
        if let Some(pss) = h
            .child_pss
            .filter(|_| h.per_thread.is_some() || h.children > 0)
        {
            // A prefork child measured for a threaded plan: its size is roughly one child's
            // base, to which each thread adds its own.
            let per_thread = h.per_thread.unwrap_or(lint::EST_PER_THREAD);
            return (
                (pss.div_ceil(tpc.max(1))).max(per_thread.min(pss)).max(1),
                true,
            );
        }
    }
    lint::per_worker_bytes(mpm, tpc, h.child_pss)
}

/// The block, ready to paste: each directive with its reason above it.
pub fn render_block(r: &Recommendation) -> String {
    let mut s = format!("# mpmctl advise: {} MPM — {}\n", r.mpm.name(), r.mpm_reason);
    s.push_str(&format!("<IfModule {}>\n", module_of(r.mpm)));
    for d in &r.directives {
        s.push_str(&format!("\t# {}\n", d.reason));
        s.push_str(&format!("\t{:<24} {}\n", d.name, d.value));
    }
    s.push_str("</IfModule>\n");
    s
}

pub fn ifmodule_name(kind: MpmKind) -> &'static str {
    module_of(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;
    const MIB: u64 = 1024 * 1024;

    fn current(mpm: MpmKind, mrw: u64) -> Current {
        Current {
            mpm,
            max_request_workers: mrw,
            server_limit: if mpm.is_threaded() { 16 } else { 256 },
            thread_limit: if mpm.is_threaded() { 64 } else { 1 },
            threads_per_child: if mpm.is_threaded() { 25 } else { 1 },
            async_request_worker_factor: 2.0,
            max_connections_per_child: 0,
            keep_alive: true,
            keep_alive_timeout: 5,
            h2: false,
        }
    }

    fn load(peak_busy: u64, peak_ka: u64, saturated: bool) -> LoadSample {
        LoadSample {
            samples: 10,
            window_secs: 10.0,
            source: "test".into(),
            peak_busy,
            mean_busy: peak_busy as f64 * 0.8,
            peak_keepalive: peak_ka,
            mean_keepalive: peak_ka as f64 * 0.8,
            peak_connections: peak_busy + peak_ka,
            mean_idle: 0.0,
            saturated,
            requests: 1000,
            starved: 0,
        }
    }

    fn inputs(c: Current, l: Option<LoadSample>) -> Inputs {
        Inputs {
            current: c,
            load: l,
            host: Host {
                mem_total: Some(64 * GIB),
                cpus: Some(16.0),
                nofile: Some(65536),
                ..Default::default()
            },
            downstream: Downstream::default(),
        }
    }

    #[test]
    fn busy_peak_is_kept_under_sixty_percent() {
        let r = decide(&inputs(
            current(MpmKind::Event, 100),
            Some(load(120, 0, false)),
        ));
        assert_eq!(r.mpm, MpmKind::Event);
        // 120 / 0.6 = 200, a multiple of 25.
        assert_eq!(r.value("MaxRequestWorkers"), Some(200));
        assert_eq!(r.value("ServerLimit"), Some(16));
        assert!(!r.needs_restart);
        let busy_share = 120.0 / r.value("MaxRequestWorkers").unwrap() as f64;
        assert!(busy_share <= TARGET_BUSY_SHARE);
        // Already under 60%: kept, not shrunk.
        let r = decide(&inputs(
            current(MpmKind::Event, 400),
            Some(load(120, 0, false)),
        ));
        assert_eq!(r.value("MaxRequestWorkers"), Some(400));
        assert!(r
            .directives
            .iter()
            .any(|d| d.reason.contains("30%, under 60%")));
    }

    #[test]
    fn saturated_distro_default_on_a_big_host_grows() {
        let r = decide(&inputs(
            current(MpmKind::Event, 150),
            Some(load(150, 0, true)),
        ));
        let mrw = r.value("MaxRequestWorkers").unwrap();
        assert_eq!(mrw, 500);
        assert!(r.notes.iter().any(|n| n.contains("every worker was taken")));
        // 500/25 = 20 children > ServerLimit 16: restart needed.
        assert_eq!(r.value("ServerLimit"), Some(25));
        assert!(r.needs_restart);
        // 14 children fit the current ServerLimit 16: kept, graceful is enough.
        let mut c = current(MpmKind::Event, 16);
        c.threads_per_child = 4;
        let r = decide(&inputs(c, Some(load(16, 0, true))));
        assert_eq!(r.value("MaxRequestWorkers"), Some(56));
        assert_eq!(r.value("ServerLimit"), Some(16));
        assert!(!r.needs_restart);
    }

    #[test]
    fn fpm_pool_caps_workers_at_twice_its_children() {
        let mut i = inputs(current(MpmKind::Event, 4000), Some(load(900, 0, false)));
        i.downstream.fpm_children = Some((80, "[www] pm.max_children 80".into()));
        let r = decide(&i);
        assert_eq!(r.value("MaxRequestWorkers"), Some(150));
        assert!(r.notes.iter().any(|n| n.contains("raise pm.max_children")));
    }

    #[test]
    fn tiny_fpm_pool_shrinks_threads_per_child() {
        let mut i = inputs(current(MpmKind::Event, 400), None);
        i.downstream.fpm_children = Some((3, "[t] 3".into()));
        let r = decide(&i);
        assert_eq!(r.value("ThreadsPerChild"), Some(6));
        assert_eq!(r.value("MaxRequestWorkers"), Some(6));
    }

    #[test]
    fn prefork_children_of_70mb_on_16gb_are_capped_by_ram_and_event_is_chosen() {
        let mut i = inputs(current(MpmKind::Prefork, 800), Some(load(700, 0, false)));
        i.host.mem_total = Some(16 * GIB);
        i.host.child_pss = Some(70 * MIB);
        i.host.children = 800;
        let r = decide(&i);
        assert_eq!(r.mpm, MpmKind::Event);
        assert!(r.notes.iter().any(|n| n.contains("mpmd-enmod mpm_event")));
        let mrw = r.value("MaxRequestWorkers").unwrap();
        let (per, measured) = per_worker(MpmKind::Event, 25, &i.host);
        assert!(measured);
        assert!(mrw * per <= usable_memory(&i.host).unwrap());
        // Staying on prefork the cap is RAM / 70 MB.
        i.current.keep_alive = false;
        let usable = usable_memory(&i.host).unwrap();
        assert_eq!(usable / (70 * MIB), 187);
    }

    #[test]
    fn prefork_ram_cap_when_kept() {
        // With h2 off and keep-alive off, a worker-MPM server stays; RAM caps it.
        let mut c = current(MpmKind::Worker, 400);
        c.keep_alive = false;
        let mut i = inputs(c, Some(load(2000, 0, false)));
        i.host.mem_total = Some(4 * GIB);
        i.host.child_pss = Some(100 * MIB);
        i.host.children = 4;
        let r = decide(&i);
        assert_eq!(r.mpm, MpmKind::Worker);
        let mrw = r.value("MaxRequestWorkers").unwrap();
        // 4 GiB - 819 MiB reserve = 3277 MiB; per worker 4 MiB → 819, down to 800.
        assert_eq!(mrw, 800);
        assert!(r.directives.iter().any(|d| d.reason.starts_with("RAM:")));
    }

    #[test]
    fn keep_alive_share_and_h2_choose_event() {
        let mut c = current(MpmKind::Worker, 400);
        c.keep_alive = true;
        let r = decide(&inputs(c.clone(), Some(load(20, 60, false))));
        assert_eq!(r.mpm, MpmKind::Event);
        assert!(r.mpm_reason.contains("keep-alive"));
        c.h2 = true;
        let r = decide(&inputs(c, None));
        assert_eq!(r.mpm, MpmKind::Event);
        assert!(r.mpm_reason.contains("h2"));
    }

    #[test]
    fn worker_counts_keep_alive_slots_as_busy() {
        let mut c = current(MpmKind::Worker, 50);
        c.keep_alive = false;
        let r = decide(&inputs(c, Some(load(30, 30, false))));
        assert_eq!(r.mpm, MpmKind::Worker);
        assert_eq!(r.value("MaxRequestWorkers"), Some(100));
    }

    #[test]
    fn fd_limit_caps_threads_per_child_and_backend_max_too() {
        let mut i = inputs(current(MpmKind::Event, 400), Some(load(100, 0, false)));
        i.host.nofile = Some(256);
        let r = decide(&i);
        // (256 - 64) / (2 × 3) = 32 ≥ 25: unchanged.
        assert_eq!(r.value("ThreadsPerChild"), Some(25));
        i.host.nofile = Some(160);
        let r = decide(&i);
        assert_eq!(r.value("ThreadsPerChild"), Some(16));
        assert_eq!(r.value("MaxRequestWorkers").unwrap() % 16, 0);
        i.host.nofile = Some(65536);
        i.downstream.backend_max = Some((5, "http://app:8080/".into()));
        let r = decide(&i);
        assert_eq!(r.value("ThreadsPerChild"), Some(10));
    }

    #[test]
    fn async_factor_one_is_raised_and_block_renders_reasons() {
        let mut c = current(MpmKind::Event, 400);
        c.async_request_worker_factor = 1.0;
        let r = decide(&inputs(c, None));
        assert_eq!(r.value("AsyncRequestWorkerFactor"), Some(2));
        assert_eq!(r.value("MaxRequestWorkers"), Some(400));
        let block = render_block(&r);
        assert!(block.contains("<IfModule mpm_event_module>\n"));
        assert!(block.ends_with("</IfModule>\n"));
        for d in &r.directives {
            assert!(block.contains(&format!("\t# {}\n\t{:<24} {}\n", d.reason, d.name, d.value)));
        }
    }
}
