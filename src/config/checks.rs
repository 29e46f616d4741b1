//! Checks that run once the whole configuration is read (httpd's check_config hooks): the MPM
//! sizing adjustments of spec/mpm.md §2, in httpd's order and wording (startup form).

use super::{MpmConfig, MpmDirectives, MpmKind};

/// prefork's compile-time `MAX_SERVER_LIMIT`.
pub const PREFORK_MAX_SERVER_LIMIT: i64 = 200_000;
/// worker's and event's `MAX_SERVER_LIMIT`.
pub const THREADED_MAX_SERVER_LIMIT: i64 = 20_000;
pub const WORKER_MAX_THREAD_LIMIT: i64 = 20_000;
pub const EVENT_MAX_THREAD_LIMIT: i64 = 100_000;

/// The AH numbers of one threaded MPM's startup warnings, in check order. The restart form
/// of each is the next number; `*_changed` are the restart-only "not allowed during restart".
struct Tags {
    sl_high: u32,
    sl_low: u32,
    sl_changed: u32,
    tl_high: u32,
    tl_low: u32,
    tl_changed: u32,
    tpc_high: u32,
    tpc_low: u32,
    mrw_low: u32,
    mrw_mult: u32,
    mrw_sl: u32,
    ss_low: u32,
    mst_low: u32,
}

const EVENT_TAGS: Tags = Tags {
    sl_high: 497,
    sl_low: 499,
    sl_changed: 501,
    tl_high: 502,
    tl_low: 504,
    tl_changed: 506,
    tpc_high: 507,
    tpc_low: 509,
    mrw_low: 511,
    mrw_mult: 513,
    mrw_sl: 515,
    ss_low: 517,
    mst_low: 519,
};

const WORKER_TAGS: Tags = Tags {
    sl_high: 300,
    sl_low: 302,
    sl_changed: 304,
    tl_high: 305,
    tl_low: 307,
    tl_changed: 309,
    tpc_high: 310,
    tpc_low: 312,
    mrw_low: 314,
    mrw_mult: 316,
    mrw_sl: 318,
    ss_low: 320,
    mst_low: 322,
};

/// When the checks run: the first start prints long `WARNING:` lines on the console; a
/// restart logs short ones and keeps the ServerLimit/ThreadLimit of the first start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckPhase {
    Startup,
    Restart {
        first_server_limit: u32,
        first_thread_limit: u32,
    },
}

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

/// Collects messages in the phase's form.
struct Out {
    startup: bool,
    lines: Vec<String>,
}

impl Out {
    /// `tag` is the startup AH number; the restart form uses the next one.
    fn say(&mut self, tag: u32, long: String, short: String) {
        if self.startup {
            self.lines.push(format!("AH{tag:05}: WARNING: {long}"));
        } else {
            self.lines.push(format!("AH{:05}: {short}", tag + 1));
        }
    }
    /// A restart-only message with its own tag.
    fn restart_only(&mut self, tag: u32, msg: String) {
        self.lines.push(format!("AH{tag:05}: {msg}"));
    }
}

/// Applies the defaults and startup checks of `kind` to the directives as written. Returns
/// the final sizing and the warnings, in the order httpd prints them.
pub fn mpm(kind: MpmKind, d: &MpmDirectives) -> (MpmConfig, Vec<String>) {
    mpm_checks(kind, d, CheckPhase::Startup)
}

/// `mpm` for a given phase: on a restart the messages are httpd's short log forms and a
/// changed ServerLimit/ThreadLimit is refused (the first values are kept).
pub fn mpm_checks(kind: MpmKind, d: &MpmDirectives, phase: CheckPhase) -> (MpmConfig, Vec<String>) {
    let mut o = Out {
        startup: phase == CheckPhase::Startup,
        lines: Vec::new(),
    };
    let threaded = kind.is_threaded();
    let mut server_limit = d.server_limit.unwrap_or(if threaded { 16 } else { 256 });
    let mut thread_limit = d.thread_limit.unwrap_or(64);
    let mut tpc = d.threads_per_child.unwrap_or(25);
    let mut mrw = d
        .max_request_workers
        .unwrap_or(if threaded { 400 } else { 256 });
    let mut start = d.start_servers.unwrap_or(if threaded { 3 } else { 5 });
    let mut min_spare_threads = d.min_spare_threads.unwrap_or(75);
    let max_spare_threads = d.max_spare_threads.unwrap_or(250);
    let mut min_spare_servers = d.min_spare_servers.unwrap_or(5);
    let max_spare_servers = d.max_spare_servers.unwrap_or(10);

    let (max_sl, sl_tags) = if threaded {
        (THREADED_MAX_SERVER_LIMIT, (None, 0))
    } else {
        (PREFORK_MAX_SERVER_LIMIT, (Some((175u32, 177u32)), 179u32))
    };
    let t = match kind {
        MpmKind::Event => &EVENT_TAGS,
        _ => &WORKER_TAGS,
    };
    let (sl_high, sl_low, sl_changed) = match sl_tags {
        (Some((h, l)), c) => (h, l, c),
        (None, _) => (t.sl_high, t.sl_low, t.sl_changed),
    };

    // ServerLimit: compile-time range, then (on restart) the first value.
    if server_limit > max_sl {
        o.say(
            sl_high,
            format!("ServerLimit of {server_limit} exceeds compile-time limit of {max_sl} servers, decreasing to {max_sl}."),
            format!("ServerLimit of {server_limit} exceeds compile-time limit of {max_sl}, decreasing to match"),
        );
        server_limit = max_sl;
    } else if server_limit < 1 {
        o.say(
            sl_low,
            format!("ServerLimit of {server_limit} not allowed, increasing to 1."),
            format!("ServerLimit of {server_limit} not allowed, increasing to 1"),
        );
        server_limit = 1;
    }
    if let CheckPhase::Restart {
        first_server_limit, ..
    } = phase
    {
        let first = i64::from(first_server_limit);
        if first != 0 && server_limit != first {
            o.restart_only(sl_changed, format!("changing ServerLimit to {server_limit} from original value of {first} not allowed during restart"));
            server_limit = first;
        }
    }

    if threaded {
        let max_tl = match kind {
            MpmKind::Event => EVENT_MAX_THREAD_LIMIT,
            _ => WORKER_MAX_THREAD_LIMIT,
        };
        if thread_limit > max_tl {
            o.say(
                t.tl_high,
                format!("ThreadLimit of {thread_limit} exceeds compile-time limit of {max_tl} threads, decreasing to {max_tl}."),
                format!("ThreadLimit of {thread_limit} exceeds compile-time limit of {max_tl}, decreasing to match"),
            );
            thread_limit = max_tl;
        } else if thread_limit < 1 {
            o.say(
                t.tl_low,
                format!("ThreadLimit of {thread_limit} not allowed, increasing to 1."),
                format!("ThreadLimit of {thread_limit} not allowed, increasing to 1"),
            );
            thread_limit = 1;
        }
        if let CheckPhase::Restart {
            first_thread_limit, ..
        } = phase
        {
            let first = i64::from(first_thread_limit);
            if first != 0 && thread_limit != first {
                o.restart_only(t.tl_changed, format!("changing ThreadLimit to {thread_limit} from original value of {first} not allowed during restart"));
                thread_limit = first;
            }
        }
        if tpc > thread_limit {
            o.say(
                t.tpc_high,
                format!("ThreadsPerChild of {tpc} exceeds ThreadLimit of {thread_limit} threads, decreasing to {thread_limit}. To increase, please see the ThreadLimit directive."),
                format!("ThreadsPerChild of {tpc} exceeds ThreadLimit of {thread_limit}, decreasing to match"),
            );
            tpc = thread_limit;
        } else if tpc < 1 {
            o.say(
                t.tpc_low,
                format!("ThreadsPerChild of {tpc} not allowed, increasing to 1."),
                format!("ThreadsPerChild of {tpc} not allowed, increasing to 1"),
            );
            tpc = 1;
        }
        if mrw < tpc {
            o.say(
                t.mrw_low,
                format!("MaxRequestWorkers of {mrw} is less than ThreadsPerChild of {tpc}, increasing to {tpc}. MaxRequestWorkers must be at least as large as the number of threads in a single server."),
                format!("MaxRequestWorkers of {mrw} is less than ThreadsPerChild of {tpc}, increasing to match"),
            );
            mrw = tpc;
        }
        let mut processes = mrw / tpc;
        if mrw % tpc != 0 {
            let rounded = processes * tpc;
            o.say(
                t.mrw_mult,
                format!("MaxRequestWorkers of {mrw} is not an integer multiple of ThreadsPerChild of {tpc}, decreasing to nearest multiple {rounded}, for a maximum of {processes} servers."),
                format!("MaxRequestWorkers of {mrw} is not an integer multiple of ThreadsPerChild of {tpc}, decreasing to nearest multiple {rounded}"),
            );
            mrw = rounded;
        }
        if processes > server_limit {
            let capped = server_limit * tpc;
            o.say(
                t.mrw_sl,
                format!("MaxRequestWorkers of {mrw} would require {processes} servers and would exceed ServerLimit of {server_limit}, decreasing to {capped}. To increase, please see the ServerLimit directive."),
                format!("MaxRequestWorkers of {mrw} would require {processes} servers and exceed ServerLimit of {server_limit}, decreasing to {capped}"),
            );
            processes = server_limit;
            mrw = processes * tpc;
        }
        if start < 1 {
            o.say(
                t.ss_low,
                format!("StartServers of {start} not allowed, increasing to 1."),
                format!("StartServers of {start} not allowed, increasing to 1"),
            );
            start = 1;
        }
        if min_spare_threads < 1 {
            o.say(
                t.mst_low,
                format!("MinSpareThreads of {min_spare_threads} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."),
                format!("MinSpareThreads of {min_spare_threads} not allowed, increasing to 1"),
            );
            min_spare_threads = 1;
        }
    } else {
        if mrw > server_limit {
            o.say(
                180,
                format!("MaxRequestWorkers of {mrw} exceeds ServerLimit value of {server_limit} servers, decreasing MaxRequestWorkers to {server_limit}. To increase, please see the ServerLimit directive."),
                format!("MaxRequestWorkers of {mrw} exceeds ServerLimit value of {server_limit} servers, decreasing to match"),
            );
            mrw = server_limit;
        } else if mrw < 1 {
            o.say(
                182,
                format!("MaxRequestWorkers of {mrw} not allowed, increasing to 1."),
                format!("MaxRequestWorkers of {mrw} not allowed, increasing to 1"),
            );
            mrw = 1;
        }
        if start < 1 {
            o.say(
                184,
                format!("StartServers of {start} not allowed, increasing to 1."),
                format!("StartServers of {start} not allowed, increasing to 1"),
            );
            start = 1;
        }
        if min_spare_servers < 1 {
            o.say(
                186,
                format!("MinSpareServers of {min_spare_servers} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."),
                format!("MinSpareServers of {min_spare_servers} not allowed, increasing to 1"),
            );
            min_spare_servers = 1;
        }
    }

    let factor = d.async_request_worker_factor.unwrap_or(2.0);
    let cfg = MpmConfig {
        start_servers: clamp_u32(start),
        min_spare_servers: clamp_u32(min_spare_servers),
        max_spare_servers: clamp_u32(max_spare_servers),
        min_spare_threads: clamp_u32(min_spare_threads),
        max_spare_threads: clamp_u32(max_spare_threads),
        max_request_workers: clamp_u32(mrw),
        server_limit: clamp_u32(server_limit),
        thread_limit: if threaded { clamp_u32(thread_limit) } else { 1 },
        threads_per_child: if threaded { clamp_u32(tpc) } else { 1 },
        // Values in (0, 1) act as 1 (spec/mpm.md §1).
        async_request_worker_factor: if factor < 1.0 { 1.0 } else { factor },
        max_connections_per_child: d.max_connections_per_child.unwrap_or(0),
        graceful_shutdown_timeout: d.graceful_shutdown_timeout.unwrap_or(0).max(0) as u64,
        listen_backlog: d.listen_backlog.unwrap_or(511).min(i32::MAX as i64) as i32,
        thread_stack_size: d.thread_stack_size.unwrap_or(0).max(0) as usize,
        listen_cores_buckets_ratio: clamp_u32(d.listen_cores_buckets_ratio.unwrap_or(0)),
        send_buffer_size: clamp_u32(d.send_buffer_size.unwrap_or(0)),
        receive_buffer_size: clamp_u32(d.receive_buffer_size.unwrap_or(0)),
        max_mem_free: d.max_mem_free.unwrap_or(2048).max(0) as u64,
    };
    (cfg, o.lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_forms_are_short_and_keep_the_first_limits() {
        let d = MpmDirectives {
            server_limit: Some(8),
            thread_limit: Some(20),
            threads_per_child: Some(30),
            max_request_workers: Some(130),
            ..Default::default()
        };
        let phase = CheckPhase::Restart {
            first_server_limit: 4,
            first_thread_limit: 20,
        };
        let (c, w) = mpm_checks(MpmKind::Event, &d, phase);
        assert_eq!(w, vec![
            "AH00501: changing ServerLimit to 8 from original value of 4 not allowed during restart",
            "AH00508: ThreadsPerChild of 30 exceeds ThreadLimit of 20, decreasing to match",
            "AH00514: MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 20, decreasing to nearest multiple 120",
            "AH00516: MaxRequestWorkers of 120 would require 6 servers and exceed ServerLimit of 4, decreasing to 80",
        ]);
        assert_eq!((c.server_limit, c.max_request_workers), (4, 80));
        let (_, w) = mpm_checks(
            MpmKind::Prefork,
            &MpmDirectives {
                start_servers: Some(0),
                ..Default::default()
            },
            CheckPhase::Restart {
                first_server_limit: 256,
                first_thread_limit: 0,
            },
        );
        assert_eq!(
            w,
            vec!["AH00185: StartServers of 0 not allowed, increasing to 1"]
        );
    }

    #[test]
    fn spec_example_three_warnings() {
        let d = MpmDirectives {
            server_limit: Some(4),
            thread_limit: Some(20),
            threads_per_child: Some(30),
            max_request_workers: Some(130),
            ..Default::default()
        };
        let (c, w) = mpm(MpmKind::Event, &d);
        assert_eq!(w, vec![
            "AH00507: WARNING: ThreadsPerChild of 30 exceeds ThreadLimit of 20 threads, decreasing to 20. To increase, please see the ThreadLimit directive.",
            "AH00513: WARNING: MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 20, decreasing to nearest multiple 120, for a maximum of 6 servers.",
            "AH00515: WARNING: MaxRequestWorkers of 120 would require 6 servers and would exceed ServerLimit of 4, decreasing to 80. To increase, please see the ServerLimit directive.",
        ]);
        assert_eq!(
            (c.threads_per_child, c.max_request_workers, c.server_limit),
            (20, 80, 4)
        );
    }

    #[test]
    fn defaults() {
        let (c, w) = mpm(MpmKind::Event, &MpmDirectives::default());
        assert!(w.is_empty());
        assert_eq!(
            (c.max_request_workers, c.server_limit, c.start_servers),
            (400, 16, 3)
        );
        let (p, w) = mpm(MpmKind::Prefork, &MpmDirectives::default());
        assert!(w.is_empty());
        assert_eq!(
            (p.max_request_workers, p.server_limit, p.start_servers),
            (256, 256, 5)
        );
    }

    #[test]
    fn prefork_mrw_over_server_limit() {
        let d = MpmDirectives {
            server_limit: Some(4),
            max_request_workers: Some(130),
            ..Default::default()
        };
        let (c, w) = mpm(MpmKind::Prefork, &d);
        assert_eq!(w, vec!["AH00180: WARNING: MaxRequestWorkers of 130 exceeds ServerLimit value of 4 servers, decreasing MaxRequestWorkers to 4. To increase, please see the ServerLimit directive."]);
        assert_eq!(c.max_request_workers, 4);
    }
}
