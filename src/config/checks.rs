//! Checks that run once the whole configuration is read (httpd's check_config hooks): the MPM
//! sizing adjustments of spec/mpm.md §2, in httpd's order and wording (startup form).

use super::{MpmConfig, MpmDirectives, MpmKind};

/// prefork's compile-time `MAX_SERVER_LIMIT`.
pub const PREFORK_MAX_SERVER_LIMIT: i64 = 200_000;
/// worker's and event's `MAX_SERVER_LIMIT`.
pub const THREADED_MAX_SERVER_LIMIT: i64 = 20_000;
pub const WORKER_MAX_THREAD_LIMIT: i64 = 20_000;
pub const EVENT_MAX_THREAD_LIMIT: i64 = 100_000;

/// The AH numbers of one threaded MPM's warnings, in check order.
struct Tags {
    sl_high: &'static str,
    sl_low: &'static str,
    tl_high: &'static str,
    tl_low: &'static str,
    tpc_high: &'static str,
    tpc_low: &'static str,
    mrw_low: &'static str,
    mrw_mult: &'static str,
    mrw_sl: &'static str,
    ss_low: &'static str,
    mst_low: &'static str,
}

const EVENT_TAGS: Tags = Tags {
    sl_high: "AH00497",
    sl_low: "AH00499",
    tl_high: "AH00502",
    tl_low: "AH00504",
    tpc_high: "AH00507",
    tpc_low: "AH00509",
    mrw_low: "AH00511",
    mrw_mult: "AH00513",
    mrw_sl: "AH00515",
    ss_low: "AH00517",
    mst_low: "AH00519",
};

const WORKER_TAGS: Tags = Tags {
    sl_high: "AH00300",
    sl_low: "AH00302",
    tl_high: "AH00305",
    tl_low: "AH00307",
    tpc_high: "AH00310",
    tpc_low: "AH00312",
    mrw_low: "AH00314",
    mrw_mult: "AH00316",
    mrw_sl: "AH00318",
    ss_low: "AH00320",
    mst_low: "AH00322",
};

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

/// Applies the defaults and startup checks of `kind` to the directives as written. Returns
/// the final sizing and the warnings, in the order httpd prints them.
pub fn mpm(kind: MpmKind, d: &MpmDirectives) -> (MpmConfig, Vec<String>) {
    let mut w = Vec::new();
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

    if threaded {
        let (t, max_tl) = match kind {
            MpmKind::Event => (&EVENT_TAGS, EVENT_MAX_THREAD_LIMIT),
            _ => (&WORKER_TAGS, WORKER_MAX_THREAD_LIMIT),
        };
        let max_sl = THREADED_MAX_SERVER_LIMIT;
        if server_limit > max_sl {
            w.push(format!("{}: WARNING: ServerLimit of {server_limit} exceeds compile-time limit of {max_sl} servers, decreasing to {max_sl}.", t.sl_high));
            server_limit = max_sl;
        } else if server_limit < 1 {
            w.push(format!(
                "{}: WARNING: ServerLimit of {server_limit} not allowed, increasing to 1.",
                t.sl_low
            ));
            server_limit = 1;
        }
        if thread_limit > max_tl {
            w.push(format!("{}: WARNING: ThreadLimit of {thread_limit} exceeds compile-time limit of {max_tl} threads, decreasing to {max_tl}.", t.tl_high));
            thread_limit = max_tl;
        } else if thread_limit < 1 {
            w.push(format!(
                "{}: WARNING: ThreadLimit of {thread_limit} not allowed, increasing to 1.",
                t.tl_low
            ));
            thread_limit = 1;
        }
        if tpc > thread_limit {
            w.push(format!("{}: WARNING: ThreadsPerChild of {tpc} exceeds ThreadLimit of {thread_limit} threads, decreasing to {thread_limit}. To increase, please see the ThreadLimit directive.", t.tpc_high));
            tpc = thread_limit;
        } else if tpc < 1 {
            w.push(format!(
                "{}: WARNING: ThreadsPerChild of {tpc} not allowed, increasing to 1.",
                t.tpc_low
            ));
            tpc = 1;
        }
        if mrw < tpc {
            w.push(format!("{}: WARNING: MaxRequestWorkers of {mrw} is less than ThreadsPerChild of {tpc}, increasing to {tpc}. MaxRequestWorkers must be at least as large as the number of threads in a single server.", t.mrw_low));
            mrw = tpc;
        }
        let mut processes = mrw / tpc;
        if mrw % tpc != 0 {
            let rounded = processes * tpc;
            w.push(format!("{}: WARNING: MaxRequestWorkers of {mrw} is not an integer multiple of ThreadsPerChild of {tpc}, decreasing to nearest multiple {rounded}, for a maximum of {processes} servers.", t.mrw_mult));
            mrw = rounded;
        }
        if processes > server_limit {
            w.push(format!("{}: WARNING: MaxRequestWorkers of {mrw} would require {processes} servers and would exceed ServerLimit of {server_limit}, decreasing to {}. To increase, please see the ServerLimit directive.", t.mrw_sl, server_limit * tpc));
            processes = server_limit;
            mrw = processes * tpc;
        }
        if start < 1 {
            w.push(format!(
                "{}: WARNING: StartServers of {start} not allowed, increasing to 1.",
                t.ss_low
            ));
            start = 1;
        }
        if min_spare_threads < 1 {
            w.push(format!("{}: WARNING: MinSpareThreads of {min_spare_threads} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation.", t.mst_low));
            min_spare_threads = 1;
        }
    } else {
        let max_sl = PREFORK_MAX_SERVER_LIMIT;
        if server_limit > max_sl {
            w.push(format!("AH00175: WARNING: ServerLimit of {server_limit} exceeds compile-time limit of {max_sl} servers, decreasing to {max_sl}."));
            server_limit = max_sl;
        } else if server_limit < 1 {
            w.push(format!(
                "AH00177: WARNING: ServerLimit of {server_limit} not allowed, increasing to 1."
            ));
            server_limit = 1;
        }
        if mrw > server_limit {
            w.push(format!("AH00180: WARNING: MaxRequestWorkers of {mrw} exceeds ServerLimit value of {server_limit} servers, decreasing MaxRequestWorkers to {server_limit}. To increase, please see the ServerLimit directive."));
            mrw = server_limit;
        } else if mrw < 1 {
            w.push(format!(
                "AH00182: WARNING: MaxRequestWorkers of {mrw} not allowed, increasing to 1."
            ));
            mrw = 1;
        }
        if start < 1 {
            w.push(format!(
                "AH00184: WARNING: StartServers of {start} not allowed, increasing to 1."
            ));
            start = 1;
        }
        if min_spare_servers < 1 {
            w.push(format!("AH00186: WARNING: MinSpareServers of {min_spare_servers} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."));
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
    (cfg, w)
}

#[cfg(test)]
mod tests {
    use super::*;

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
