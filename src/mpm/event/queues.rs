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
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::KeepAlive => 0,
            Kind::WriteCompletion => 1,
            Kind::Linger => 2,
            Kind::Accepted => 3,
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
    counts: [usize; 4],
}

impl TimeoutQueues {
    pub fn push(&mut self, kind: Kind, timeout: Duration, now: Instant, idx: usize, serial: u64) {
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
        self.counts[kind.index()] += 1;
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
        q.push(Kind::KeepAlive, Duration::from_secs(5), t0, 1, 1);
        q.push(Kind::KeepAlive, Duration::from_secs(1), t0, 2, 2);
        q.push(Kind::Linger, Duration::from_secs(2), t0, 3, 3);
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
    fn forget_keeps_counts_right() {
        let mut q = TimeoutQueues::default();
        let t0 = Instant::now();
        q.push(Kind::WriteCompletion, Duration::from_secs(1), t0, 7, 9);
        q.forget(Kind::WriteCompletion);
        assert_eq!(q.len(Kind::WriteCompletion), 0);
        // the stale entry still comes out, for the caller to skip by serial
        assert_eq!(q.pop_expired(t0 + Duration::from_secs(2)), Some((7, 9)));
    }
}
