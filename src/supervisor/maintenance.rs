//! Spare-server maintenance (spec/mpm.md §3), read from the scoreboard once a second: count
//! idle workers of the current generation, then fork, ask one child to leave, or do nothing.
//! `decide` is pure so the policy is tested without processes.

use std::sync::atomic::Ordering;

use crate::config::{MpmConfig, MpmKind};
use crate::scoreboard::{Scoreboard, WorkerState};

/// What the scoreboard says about the children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Idle workers (prefork: idle children) of active children.
    pub idle: usize,
    /// Live child processes, any generation.
    pub total: usize,
    /// Live children of the current generation that are not stopping.
    pub active: usize,
    /// Live children that are stopping (old generation or quiescing).
    pub stopping: usize,
}

pub fn census(sb: &Scoreboard, generation: u32, mpm: MpmKind, tpc: usize) -> Census {
    let mut c = Census::default();
    for s in 0..sb.server_limit() {
        let p = sb.process(s);
        if p.pid.load(Ordering::Acquire) == 0 {
            continue;
        }
        c.total += 1;
        let current = p.generation.load(Ordering::Relaxed) == generation
            && p.quiescing.load(Ordering::Relaxed) == 0;
        if !current {
            c.stopping += 1;
            continue;
        }
        c.active += 1;
        match mpm {
            MpmKind::Prefork => {
                if matches!(
                    sb.worker(s, 0).state(),
                    WorkerState::Ready | WorkerState::Starting
                ) {
                    c.idle += 1;
                }
            }
            MpmKind::Worker | MpmKind::Event => {
                // event: a process that stopped accepting does not count as idle capacity.
                if mpm == MpmKind::Event && p.not_accepting.load(Ordering::Relaxed) != 0 {
                    continue;
                }
                c.idle += (0..tpc.min(sb.thread_limit()))
                    .filter(|&t| sb.worker(s, t).own_state().is_idle())
                    .count();
            }
        }
    }
    c
}

/// The sizing that maintenance applies, after httpd's silent run-time adjustments.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub mpm: MpmKind,
    pub min_spare: usize,
    pub max_spare: usize,
    /// Most active children (MaxRequestWorkers, in processes).
    pub process_limit: usize,
    pub server_limit: usize,
}

impl Policy {
    pub fn from_config(
        mpm: MpmKind,
        m: &MpmConfig,
        tpc: usize,
        process_limit: usize,
        server_limit: usize,
    ) -> Policy {
        let (min_spare, max_spare) = match mpm {
            MpmKind::Prefork => {
                let min = (m.min_spare_servers as usize).max(1);
                (min, (m.max_spare_servers as usize).max(min + 1))
            }
            _ => {
                let min = (m.min_spare_threads as usize).max(1);
                (min, (m.max_spare_threads as usize).max(min + tpc + 1))
            }
        };
        Policy {
            mpm,
            min_spare,
            max_spare,
            process_limit,
            server_limit,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Too many idle: one child leaves gracefully (a `!` in the pipe of death).
    KillOne,
    /// Too few idle: fork this many.
    Spawn(usize),
    /// Too few idle but MaxRequestWorkers reached.
    AtLimit,
}

pub fn decide(p: &Policy, c: &Census, rate: u32) -> Action {
    if c.idle > p.max_spare && c.active > 0 {
        // event: kill only when nobody else is stopping, or there is still slack.
        let slack = p.server_limit.saturating_sub(c.total) > p.process_limit;
        if p.mpm != MpmKind::Event || c.stopping == 0 || slack {
            return Action::KillOne;
        }
        return Action::Nothing;
    }
    if c.idle < p.min_spare {
        if c.active >= p.process_limit {
            return Action::AtLimit;
        }
        let n = (rate.max(1) as usize).min(p.process_limit - c.active);
        return Action::Spawn(n);
    }
    Action::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefork(min: usize, max: usize, limit: usize) -> Policy {
        Policy {
            mpm: MpmKind::Prefork,
            min_spare: min,
            max_spare: max,
            process_limit: limit,
            server_limit: 256,
        }
    }

    fn census(idle: usize, active: usize) -> Census {
        Census {
            idle,
            total: active,
            active,
            stopping: 0,
        }
    }

    #[test]
    fn prefork_spawns_at_rate_below_min_spare() {
        let p = prefork(5, 10, 150);
        assert_eq!(decide(&p, &census(2, 2), 1), Action::Spawn(1));
        assert_eq!(decide(&p, &census(2, 2), 8), Action::Spawn(8));
        // never beyond MaxRequestWorkers
        assert_eq!(decide(&p, &census(0, 148), 32), Action::Spawn(2));
        assert_eq!(decide(&p, &census(0, 150), 32), Action::AtLimit);
    }

    #[test]
    fn prefork_kills_one_above_max_spare() {
        let p = prefork(5, 10, 150);
        assert_eq!(decide(&p, &census(11, 11), 4), Action::KillOne);
        assert_eq!(decide(&p, &census(10, 10), 4), Action::Nothing);
        assert_eq!(decide(&p, &census(5, 10), 4), Action::Nothing);
    }

    #[test]
    fn max_spare_is_raised_above_min_spare() {
        let mut m = test_mpm();
        m.min_spare_servers = 8;
        m.max_spare_servers = 3;
        let p = Policy::from_config(MpmKind::Prefork, &m, 1, 150, 256);
        assert_eq!((p.min_spare, p.max_spare), (8, 9));
        m.min_spare_threads = 25;
        m.max_spare_threads = 30;
        let p = Policy::from_config(MpmKind::Worker, &m, 25, 6, 16);
        assert_eq!((p.min_spare, p.max_spare), (25, 51));
    }

    #[test]
    fn event_does_not_kill_while_another_child_stops_without_slack() {
        let p = Policy {
            mpm: MpmKind::Event,
            min_spare: 25,
            max_spare: 75,
            process_limit: 6,
            server_limit: 8,
        };
        let c = Census {
            idle: 100,
            total: 5,
            active: 4,
            stopping: 1,
        };
        assert_eq!(decide(&p, &c, 1), Action::Nothing);
        let p = Policy {
            server_limit: 16,
            ..p
        };
        assert_eq!(decide(&p, &c, 1), Action::KillOne);
    }

    fn test_mpm() -> MpmConfig {
        MpmConfig {
            start_servers: 5,
            min_spare_servers: 5,
            max_spare_servers: 10,
            min_spare_threads: 75,
            max_spare_threads: 250,
            max_request_workers: 150,
            server_limit: 256,
            thread_limit: 64,
            threads_per_child: 25,
            async_request_worker_factor: 2.0,
            max_connections_per_child: 0,
            graceful_shutdown_timeout: 0,
            listen_backlog: 511,
            thread_stack_size: 0,
            listen_cores_buckets_ratio: 0,
            send_buffer_size: 0,
            receive_buffer_size: 0,
            max_mem_free: 2048,
        }
    }

    #[test]
    fn census_counts_current_generation_only() {
        let sb = Scoreboard::create(4, 1, None).unwrap();
        sb.claim(0, 10, 1, 1);
        sb.slot(0, 0).start(10, 10, 1);
        sb.claim(1, 11, 0, 1); // old generation
        sb.slot(1, 0).start(11, 11, 0);
        sb.claim(2, 12, 1, 1);
        sb.slot(2, 0).set_state(WorkerState::BusyWrite);
        let c = super::census(&sb, 1, MpmKind::Prefork, 1);
        assert_eq!(
            c,
            Census {
                idle: 1,
                total: 3,
                active: 2,
                stopping: 1
            }
        );
    }

    /// worker/event: a thread whose slot shows `W` for the HTTP/2 streams it handed over is
    /// still free for new connections, so it counts as idle capacity.
    #[test]
    fn census_counts_threads_serving_h2_streams_as_idle() {
        let sb = Scoreboard::create(2, 4, None).unwrap();
        sb.claim(0, 10, 0, 4);
        for t in 0..4 {
            sb.slot(0, t).start(10, 10 + t as i32, 0);
        }
        let streams = sb.slot(0, 1).h2_stream();
        sb.slot(0, 2).set_state(WorkerState::BusyWrite);
        assert_eq!(sb.worker(0, 1).state(), WorkerState::BusyWrite);
        let c = super::census(&sb, 0, MpmKind::Worker, 4);
        assert_eq!(c.idle, 3);
        drop(streams);
    }

    /// After a graceful switch from event to prefork: the old event child's idle threads
    /// are not spare capacity of the new prefork generation.
    #[test]
    fn census_after_an_mpm_switch_ignores_the_old_engine() {
        let sb = Scoreboard::create(4, 64, None).unwrap();
        sb.claim(0, 10, 0, 25); // event child of generation 0, 25 idle threads
        for t in 0..25 {
            sb.slot(0, t).start(10, 10 + t as i32, 0);
        }
        sb.claim(1, 11, 1, 1); // prefork child of generation 1
        sb.slot(1, 0).start(11, 11, 1);
        sb.claim(2, 12, 1, 1);
        sb.slot(2, 0).set_state(WorkerState::BusyRead);
        let c = super::census(&sb, 1, MpmKind::Prefork, 1);
        assert_eq!(
            c,
            Census {
                idle: 1,
                total: 3,
                active: 2,
                stopping: 1
            }
        );
        let p = prefork(2, 10, 150);
        assert_eq!(decide(&p, &c, 1), Action::Spawn(1));
    }
}
