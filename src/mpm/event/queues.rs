//! The listener's timeout queues: one FIFO per (state, timeout value), so the oldest entry of
//! each queue is always the next to expire and a push or pop is O(1). Entries are removed
//! lazily: a connection woken before its deadline leaves a stale entry that the listener
//! skips by its serial number.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a parked connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A new connection waiting for its first bytes.
    Accepted,
    KeepAlive,
    WriteCompletion,
    Linger,
    /// A new connection that sent nothing in time, waiting for a worker to log its 408 line
    /// (httpd's) and close it: the listener does no log writes, which may block.
    Silent,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::KeepAlive => 0,
            Kind::WriteCompletion => 1,
            Kind::Linger => 2,
            Kind::Accepted => 3,
            Kind::Silent => 4,
        }
    }
}

struct Queue {
    kind: Kind,
    timeout: Duration,
    /// (deadline, parked index, serial), deadlines non-decreasing.
    entries: VecDeque<(Instant, usize, u64)>,
}

#[derive(Default)]
pub struct TimeoutQueues {
    queues: Vec<Queue>,
    /// Live (non-stale) entries per kind.
    counts: [usize; 5],
}

impl TimeoutQueues {
    /// Queues `(idx, serial)` to expire `timeout` after `now`. `is_live` says whether an
    /// entry still stands for a parked connection; it is asked when stale entries have piled
    /// up (a busy keep-alive connection leaves one per request until its deadline, so without
    /// this a queue would grow with the request rate times the timeout, not with the
    /// connections). Such a queue is compacted: O(1) per push amortized.
    pub fn push(
        &mut self,
        kind: Kind,
        timeout: Duration,
        now: Instant,
        (idx, serial): (usize, u64),
        is_live: impl Fn(usize, u64) -> bool,
    ) {
        let live = self.counts[kind.index()] + 1;
        let q = match self
            .queues
            .iter_mut()
            .position(|q| q.kind == kind && q.timeout == timeout)
        {
            Some(i) => &mut self.queues[i],
            None => {
                self.queues.push(Queue {
                    kind,
                    timeout,
                    entries: VecDeque::new(),
                });
                self.queues.last_mut().expect("just pushed")
            }
        };
        q.entries.push_back((now + timeout, idx, serial));
        self.counts[kind.index()] = live;
        if q.entries.len() > 2 * live + 64 {
            q.entries.retain(|e| is_live(e.1, e.2));
            if q.entries.capacity() > 4 * q.entries.len() + 256 {
                q.entries.shrink_to(2 * q.entries.len() + 64);
            }
        }
    }

    /// A connection of `kind` left its queue early (its entry becomes stale).
    pub fn forget(&mut self, kind: Kind) {
        let c = &mut self.counts[kind.index()];
        *c = c.saturating_sub(1);
    }

    pub fn len(&self, kind: Kind) -> usize {
        self.counts[kind.index()]
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.queues
            .iter()
            .filter_map(|q| q.entries.front().map(|e| e.0))
            .min()
    }

    /// The next entry whose deadline has passed (possibly stale: check the serial).
    pub fn pop_expired(&mut self, now: Instant) -> Option<(usize, u64)> {
        for q in &mut self.queues {
            if q.entries.front().is_some_and(|e| e.0 <= now) {
                let (_, idx, serial) = q.entries.pop_front()?;
                return Some((idx, serial));
            }
        }
        // Drop queues of timeouts no longer in use.
        self.queues.retain(|q| !q.entries.is_empty());
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_per_timeout_and_earliest_first() {
        let mut q = TimeoutQueues::default();
        let t0 = Instant::now();
        q.push(
            Kind::KeepAlive,
            Duration::from_secs(5),
            t0,
            (1, 1),
            |_, _| true,
        );
        q.push(
            Kind::KeepAlive,
            Duration::from_secs(1),
            t0,
            (2, 2),
            |_, _| true,
        );
        q.push(Kind::Linger, Duration::from_secs(2), t0, (3, 3), |_, _| {
            true
        });
        assert_eq!(q.len(Kind::KeepAlive), 2);
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.pop_expired(t0), None);
        let at3 = t0 + Duration::from_secs(3);
        let mut got = vec![];
        while let Some(e) = q.pop_expired(at3) {
            got.push(e);
        }
        got.sort();
        assert_eq!(got, vec![(2, 2), (3, 3)]);
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn stale_entries_do_not_pile_up() {
        // One connection re-parked a million times: the queue stays small.
        let mut q = TimeoutQueues::default();
        let t0 = Instant::now();
        let ka = Duration::from_secs(60);
        for serial in 1..=1_000_000u64 {
            if serial > 1 {
                q.forget(Kind::KeepAlive);
            }
            q.push(Kind::KeepAlive, ka, t0, (0, serial), |_, s| s == serial);
            assert!(q.queues[0].entries.len() <= 2 + 64 + 1); // 2 x one live, +64, +the push
        }
        assert!(q.queues[0].entries.capacity() < 1024);
        assert_eq!(q.len(Kind::KeepAlive), 1);
        // the live entry survived compaction (stale ones still come out first)
        let mut out = vec![];
        while let Some(e) = q.pop_expired(t0 + Duration::from_secs(61)) {
            out.push(e);
        }
        assert!(out.len() <= 67, "{}", out.len());
        assert_eq!(out.last(), Some(&(0, 1_000_000)));
    }

    #[test]
    fn forget_keeps_counts_right() {
        let mut q = TimeoutQueues::default();
        let t0 = Instant::now();
        q.push(
            Kind::WriteCompletion,
            Duration::from_secs(1),
            t0,
            (7, 9),
            |_, _| true,
        );
        q.forget(Kind::WriteCompletion);
        assert_eq!(q.len(Kind::WriteCompletion), 0);
        // the stale entry still comes out, for the caller to skip by serial
        assert_eq!(q.pop_expired(t0 + Duration::from_secs(2)), Some((7, 9)));
    }
}
