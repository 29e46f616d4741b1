//! The shared-memory scoreboard (spec/scoreboard.md): pointer-free `#[repr(C)]` records of
//! atomics in one mapping made before the first fork. The only window into the workers: the
//! engines write their own slots, the parent marks dead children and runs maintenance from it,
//! server-status and `mpmctl status` read snapshots.
//!
//! Layout: a `GlobalRecord`, then `server_limit` `ProcessRecord`s, then
//! `server_limit × thread_limit` `WorkerRecord`s. Each slot has one writer, so there is no lock;
//! the text fields (client, request line, vhost, protocol) sit behind a per-slot sequence
//! counter so a reader never sees half of an old line and half of a new one.
//!
//! HTTP/2 is the exception to "one writer per slot": the streams of an h2 connection report
//! into the slot of the worker that took the connection over (httpd's secondary connections
//! use their main connection's handle the same way), which in worker and event is by then
//! serving other connections. So the counters are added to, never stored; the text is
//! written under the sequence counter taken with a compare-and-swap; and a stream in
//! progress is counted in `h2_streams` instead of being written to the slot's state
//! (`state` folds it in for display, `own_state` is the thread's, for maintenance).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

mod sys;

use sys::{Mapping, Record};

/// A worker's state and the letter server-status shows for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WorkerState {
    /// `.` open slot, no process/thread.
    Dead = b'.',
    /// `S` starting up.
    Starting = b'S',
    /// `_` waiting for a connection.
    Ready = b'_',
    /// `R` reading a request.
    BusyRead = b'R',
    /// `W` sending a reply.
    BusyWrite = b'W',
    /// `K` keep-alive (read) wait.
    BusyKeepalive = b'K',
    /// `L` logging.
    BusyLog = b'L',
    /// `D` DNS lookup.
    BusyDns = b'D',
    /// `C` closing connection.
    Closing = b'C',
    /// `G` gracefully finishing.
    Graceful = b'G',
    /// `I` idle cleanup of worker.
    IdleKill = b'I',
}

impl WorkerState {
    pub fn letter(self) -> char {
        self as u8 as char
    }

    /// The state a stored byte stands for; zero (a fresh mapping) and junk read as `Dead`.
    pub fn from_byte(b: u8) -> WorkerState {
        match b {
            b'S' => WorkerState::Starting,
            b'_' => WorkerState::Ready,
            b'R' => WorkerState::BusyRead,
            b'W' => WorkerState::BusyWrite,
            b'K' => WorkerState::BusyKeepalive,
            b'L' => WorkerState::BusyLog,
            b'D' => WorkerState::BusyDns,
            b'C' => WorkerState::Closing,
            b'G' => WorkerState::Graceful,
            b'I' => WorkerState::IdleKill,
            _ => WorkerState::Dead,
        }
    }

    /// Counted as idle by spare-server maintenance (starting counts as idle, as in httpd).
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            WorkerState::Ready | WorkerState::Starting | WorkerState::Dead
        )
    }
}

/// Errors of creating or opening a scoreboard.
#[derive(Debug, thiserror::Error)]
pub enum ScoreboardError {
    #[error("could not create the scoreboard ({size} bytes): {source}")]
    Create { size: usize, source: std::io::Error },
    #[error("could not open scoreboard file {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an mpmd scoreboard")]
    NotAScoreboard { path: String },
}

const MAGIC: u64 = u64::from_le_bytes(*b"MPMDSB02");

/// Which engine runs, as stored in the global record.
pub const MPM_PREFORK: u32 = 1;
pub const MPM_WORKER: u32 = 2;
pub const MPM_EVENT: u32 = 3;

/// The global record (`global_score`).
#[repr(C)]
pub struct GlobalRecord {
    magic: AtomicU64,
    /// Bytes of the whole mapping, so a reader of a ScoreBoardFile can check it.
    size: AtomicU64,
    pub server_limit: AtomicU32,
    pub thread_limit: AtomicU32,
    /// `ParentServerMPMGeneration`: 0 at first start, +1 on every restart.
    pub running_generation: AtomicU32,
    /// `ParentServerConfigGeneration`: 1 at first start, +1 on every restart.
    pub config_generation: AtomicU32,
    /// µs since the epoch; set at creation and on a SIGHUP restart.
    pub restart_time: AtomicU64,
    /// `MPM_PREFORK` / `MPM_WORKER` / `MPM_EVENT`.
    pub mpm: AtomicU32,
    pub max_request_workers: AtomicU32,
    pub threads_per_child: AtomicU32,
    pub parent_pid: AtomicI32,
    /// Set by the parent at graceful-stop: children refuse keep-alive from now on.
    pub shutdown_pending: AtomicU32,
    _pad: AtomicU32,
}

/// One child process slot (`process_score`).
#[repr(C)]
pub struct ProcessRecord {
    /// 0 = free slot.
    pub pid: AtomicI32,
    pub generation: AtomicU32,
    /// 0 = normal; 1 = the child began a graceful exit; 2 = the parent has noted it.
    pub quiescing: AtomicU32,
    /// event: the listener stopped accepting (AsyncRequestWorkerFactor or all busy).
    pub not_accepting: AtomicU32,
    pub connections: AtomicU32,
    pub write_completion: AtomicU32,
    pub keep_alive: AtomicU32,
    pub lingering_close: AtomicU32,
    pub suspended: AtomicU32,
    pub wait_io: AtomicU32,
}

const CLIENT_WORDS: usize = 8;
const REQUEST_WORDS: usize = 8;
const VHOST_WORDS: usize = 4;
const PROTOCOL_WORDS: usize = 2;

/// One worker slot (`worker_score`): a prefork child or one thread of a worker/event child.
#[repr(C)]
pub struct WorkerRecord {
    status: AtomicU8,
    _pad: [AtomicU8; 3],
    pub pid: AtomicI32,
    pub tid: AtomicI32,
    pub generation: AtomicU32,
    /// HTTP/2 streams reporting into this slot that are being served now; the slot reads as
    /// `W` while there are any (see `WorkerRecord::state`). Its own 8 bytes to keep the
    /// counters below aligned.
    h2_streams: AtomicU32,
    _pad2: AtomicU32,
    /// Requests / bytes for this slot since the scoreboard was last reset.
    pub access_count: AtomicU64,
    pub bytes_served: AtomicU64,
    /// The same for the current child in the slot.
    pub my_access_count: AtomicU64,
    pub my_bytes_served: AtomicU64,
    /// The same for the current connection.
    pub conn_count: AtomicU64,
    pub conn_bytes: AtomicU64,
    /// µs since the epoch.
    pub start_time: AtomicU64,
    pub stop_time: AtomicU64,
    pub last_used: AtomicU64,
    /// Sum of request times, µs.
    pub duration: AtomicU64,
    /// Even = the text fields are stable; odd = being written.
    text_seq: AtomicU64,
    client: [AtomicU64; CLIENT_WORDS],
    request: [AtomicU64; REQUEST_WORDS],
    vhost: [AtomicU64; VHOST_WORDS],
    protocol: [AtomicU64; PROTOCOL_WORDS],
}

// SAFETY: the three records are `#[repr(C)]`, made only of atomics (and arrays of them), valid
// when zeroed, without pointers or `Drop`.
unsafe impl Record for GlobalRecord {}
// SAFETY: as above.
unsafe impl Record for ProcessRecord {}
// SAFETY: as above.
unsafe impl Record for WorkerRecord {}

fn align_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

/// Microseconds since the epoch, the scoreboard's clock.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `now_micros` to the kernel's last tick (a few ms): what a state change records as the
/// slot's `last_used`, which server-status shows in seconds. Reading it costs no clock
/// source access, and a request changes state four or five times.
pub fn coarse_now_micros() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME_COARSE needs nothing else.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } != 0 {
        return now_micros();
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// Stores `text` NUL-terminated. Readers stop at the first NUL (`load_text`), so the words
/// past the one that holds it are left as they were.
fn store_text(words: &[AtomicU64], text: &[u8]) {
    let max = words.len() * 8 - 1; // keep a NUL at the end, like httpd's fixed arrays
    let text = &text[..text.len().min(max)];
    let mut chunks = text.chunks_exact(8);
    let mut i = 0;
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        words[i].store(u64::from_le_bytes(b), Ordering::Relaxed);
        i += 1;
    }
    // The tail and its NUL (a whole word of NULs when the text filled its words).
    let mut b = [0u8; 8];
    let tail = chunks.remainder();
    for (d, s) in b.iter_mut().zip(tail) {
        *d = *s;
    }
    words[i].store(u64::from_le_bytes(b), Ordering::Relaxed);
}

fn load_text(words: &[AtomicU64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(words.len() * 8);
    for w in words {
        out.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    if let Some(nul) = out.iter().position(|&b| b == 0) {
        out.truncate(nul);
    }
    out
}

impl WorkerRecord {
    /// The state server-status shows: the one the slot's thread set, except that a slot
    /// waiting (`_`, `K`) or reading (`R`: prefork's HTTP/2 connection between streams)
    /// while HTTP/2 streams are served for it reads as `W`, as httpd's busy main connection.
    pub fn state(&self) -> WorkerState {
        match self.own_state() {
            WorkerState::Ready | WorkerState::BusyRead | WorkerState::BusyKeepalive
                if self.h2_streams.load(Ordering::Relaxed) > 0 =>
            {
                WorkerState::BusyWrite
            }
            s => s,
        }
    }

    /// The state the slot's thread set, without its HTTP/2 streams: what maintenance counts
    /// as idle capacity (under worker and event the thread is free for new connections while
    /// the h2 runtime serves the streams it handed over).
    pub fn own_state(&self) -> WorkerState {
        WorkerState::from_byte(self.status.load(Ordering::Relaxed))
    }

    pub fn set_state(&self, state: WorkerState) {
        self.status.store(state as u8, Ordering::Relaxed);
    }

    /// Writes the text fields that are `Some`, seqlock-style. The odd count is taken with a
    /// compare-and-swap so that an HTTP/2 stream and the slot's own thread never write at
    /// once (uncontended, it costs what a plain store would).
    fn write_text(
        &self,
        client: Option<&[u8]>,
        request: Option<&[u8]>,
        vhost: Option<&[u8]>,
        protocol: Option<&[u8]>,
    ) {
        let mut spins = 0u32;
        let seq = loop {
            let seq = self.text_seq.load(Ordering::Relaxed);
            if seq % 2 == 0
                && self
                    .text_seq
                    .compare_exchange_weak(
                        seq,
                        seq.wrapping_add(1),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                break seq;
            }
            // The other writer holds it for a few dozen stores; past a short spin it may
            // have been preempted.
            spins += 1;
            if spins % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        };
        fence(Ordering::Release);
        if let Some(t) = client {
            store_text(&self.client, t);
        }
        if let Some(t) = request {
            store_text(&self.request, t);
        }
        if let Some(t) = vhost {
            store_text(&self.vhost, t);
        }
        if let Some(t) = protocol {
            store_text(&self.protocol, t);
        }
        self.text_seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// (client, request, vhost, protocol), consistent with each other; empty if the writer
    /// kept changing them for the whole (bounded) retry.
    fn read_text(&self) -> [String; 4] {
        for _ in 0..64 {
            let s1 = self.text_seq.load(Ordering::Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let c = load_text(&self.client);
            let r = load_text(&self.request);
            let v = load_text(&self.vhost);
            let p = load_text(&self.protocol);
            fence(Ordering::Acquire);
            if self.text_seq.load(Ordering::Relaxed) == s1 {
                return [c, r, v, p].map(|b| String::from_utf8_lossy(&b).into_owned());
            }
        }
        Default::default()
    }

    /// Clears the per-connection and per-child fields when a slot goes from one occupant to
    /// the next (`.`): counters since the last reset (`access_count`, `bytes_served`) stay.
    fn reset_child(&self) {
        self.h2_streams.store(0, Ordering::Relaxed);
        self.my_access_count.store(0, Ordering::Relaxed);
        self.my_bytes_served.store(0, Ordering::Relaxed);
        self.conn_count.store(0, Ordering::Relaxed);
        self.conn_bytes.store(0, Ordering::Relaxed);
    }
}

/// The mapping and where each array starts.
pub struct Scoreboard {
    map: Mapping,
    server_limit: usize,
    thread_limit: usize,
    proc_off: usize,
    worker_off: usize,
}

impl std::fmt::Debug for Scoreboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoreboard")
            .field("server_limit", &self.server_limit)
            .field("thread_limit", &self.thread_limit)
            .finish()
    }
}

fn layout(server_limit: usize, thread_limit: usize) -> (usize, usize, usize) {
    let a = 64;
    let proc_off = align_up(std::mem::size_of::<GlobalRecord>(), a);
    let worker_off = align_up(
        proc_off + server_limit * std::mem::size_of::<ProcessRecord>(),
        a,
    );
    let size = worker_off + server_limit * thread_limit * std::mem::size_of::<WorkerRecord>();
    (proc_off, worker_off, size)
}

impl Scoreboard {
    /// Makes a fresh, zeroed scoreboard: anonymous shared memory, or at `file` when
    /// `ScoreBoardFile` is set (any old file there is removed first).
    pub fn create(
        server_limit: u32,
        thread_limit: u32,
        file: Option<&Path>,
    ) -> Result<Scoreboard, ScoreboardError> {
        let server_limit = server_limit.max(1) as usize;
        let thread_limit = thread_limit.max(1) as usize;
        let (proc_off, worker_off, size) = layout(server_limit, thread_limit);
        let map = match file {
            None => Mapping::anonymous(size)
                .map_err(|source| ScoreboardError::Create { size, source })?,
            Some(p) => Mapping::file(p, Some(size)).map_err(|source| ScoreboardError::Open {
                path: p.display().to_string(),
                source,
            })?,
        };
        let sb = Scoreboard {
            map,
            server_limit,
            thread_limit,
            proc_off,
            worker_off,
        };
        let g = sb.global();
        g.size.store(size as u64, Ordering::Relaxed);
        g.server_limit.store(server_limit as u32, Ordering::Relaxed);
        g.thread_limit.store(thread_limit as u32, Ordering::Relaxed);
        sb.reset();
        g.magic.store(MAGIC, Ordering::Release);
        Ok(sb)
    }

    /// Maps an existing `ScoreBoardFile` to read it (tests, `mpmctl status`).
    pub fn open(path: &Path) -> Result<Scoreboard, ScoreboardError> {
        let err = |source| ScoreboardError::Open {
            path: path.display().to_string(),
            source,
        };
        let map = Mapping::file(path, None).map_err(err)?;
        let not = || ScoreboardError::NotAScoreboard {
            path: path.display().to_string(),
        };
        let g: &GlobalRecord = map.record(0).ok_or_else(not)?;
        if g.magic.load(Ordering::Acquire) != MAGIC
            || g.size.load(Ordering::Relaxed) as usize != map.len()
        {
            return Err(not());
        }
        let server_limit = g.server_limit.load(Ordering::Relaxed) as usize;
        let thread_limit = g.thread_limit.load(Ordering::Relaxed) as usize;
        let (proc_off, worker_off, size) = layout(server_limit, thread_limit);
        if size != map.len() {
            return Err(not());
        }
        Ok(Scoreboard {
            map,
            server_limit,
            thread_limit,
            proc_off,
            worker_off,
        })
    }

    /// Zeroes everything but the limits and sets `restart_time` to now (start and SIGHUP).
    pub fn reset(&self) {
        let g = self.global();
        g.running_generation.store(0, Ordering::Relaxed);
        g.config_generation.store(1, Ordering::Relaxed);
        g.restart_time.store(now_micros(), Ordering::Relaxed);
        g.shutdown_pending.store(0, Ordering::Relaxed);
        for s in 0..self.server_limit {
            let p = self.process(s);
            for a in [
                &p.generation,
                &p.quiescing,
                &p.not_accepting,
                &p.connections,
                &p.write_completion,
                &p.keep_alive,
                &p.lingering_close,
                &p.suspended,
                &p.wait_io,
            ] {
                a.store(0, Ordering::Relaxed);
            }
            p.pid.store(0, Ordering::Relaxed);
            for t in 0..self.thread_limit {
                let w = self.worker(s, t);
                w.set_state(WorkerState::Dead);
                w.pid.store(0, Ordering::Relaxed);
                w.tid.store(0, Ordering::Relaxed);
                w.generation.store(0, Ordering::Relaxed);
                w.h2_streams.store(0, Ordering::Relaxed);
                for a in [
                    &w.access_count,
                    &w.bytes_served,
                    &w.my_access_count,
                    &w.my_bytes_served,
                    &w.conn_count,
                    &w.conn_bytes,
                    &w.start_time,
                    &w.stop_time,
                    &w.last_used,
                    &w.duration,
                ] {
                    a.store(0, Ordering::Relaxed);
                }
                w.write_text(Some(b""), Some(b""), Some(b""), Some(b""));
            }
        }
        fence(Ordering::Release);
    }

    pub fn server_limit(&self) -> usize {
        self.server_limit
    }

    pub fn thread_limit(&self) -> usize {
        self.thread_limit
    }

    pub fn global(&self) -> &GlobalRecord {
        self.map.record(0).expect("global record is in the mapping")
    }

    /// Panics if `slot >= server_limit` (a programming error, never input-driven).
    pub fn process(&self, slot: usize) -> &ProcessRecord {
        assert!(slot < self.server_limit, "process slot {slot} out of range");
        self.map
            .record(self.proc_off + slot * std::mem::size_of::<ProcessRecord>())
            .expect("process record is in the mapping")
    }

    /// Panics if the slot is out of range (a programming error, never input-driven).
    pub fn worker(&self, slot: usize, thread: usize) -> &WorkerRecord {
        assert!(
            slot < self.server_limit && thread < self.thread_limit,
            "worker slot {slot}/{thread} out of range"
        );
        let idx = slot * self.thread_limit + thread;
        self.map
            .record(self.worker_off + idx * std::mem::size_of::<WorkerRecord>())
            .expect("worker record is in the mapping")
    }

    /// The parent, after reaping the child in `slot`: free the slot and mark its workers dead.
    pub fn mark_dead(&self, slot: usize, pid: i32) {
        let p = self.process(slot);
        if p.pid.load(Ordering::Relaxed) != pid {
            return;
        }
        for t in 0..self.thread_limit {
            let w = self.worker(slot, t);
            if w.pid.load(Ordering::Relaxed) == pid || w.pid.load(Ordering::Relaxed) == 0 {
                w.set_state(WorkerState::Dead);
                w.reset_child();
            }
        }
        p.quiescing.store(0, Ordering::Relaxed);
        p.not_accepting.store(0, Ordering::Relaxed);
        for a in [
            &p.connections,
            &p.write_completion,
            &p.keep_alive,
            &p.lingering_close,
            &p.suspended,
            &p.wait_io,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        p.pid.store(0, Ordering::Release);
    }

    /// The parent, just BEFORE forking into `slot`: the slot shows `S` for the new child.
    /// Done before the fork because the child may start writing its own slot (`_`, `R` …)
    /// before the parent runs again; nothing written after the fork may overwrite that.
    pub fn prepare(&self, slot: usize, generation: u32, threads: usize) {
        let p = self.process(slot);
        p.generation.store(generation, Ordering::Relaxed);
        p.quiescing.store(0, Ordering::Relaxed);
        p.not_accepting.store(0, Ordering::Relaxed);
        for t in 0..threads.min(self.thread_limit) {
            let w = self.worker(slot, t);
            w.set_state(WorkerState::Starting);
            w.pid.store(0, Ordering::Relaxed);
            w.generation.store(generation, Ordering::Relaxed);
            w.reset_child();
        }
        fence(Ordering::Release);
    }

    /// `prepare` then record `pid` as the slot's process (tests, `-X`).
    pub fn claim(&self, slot: usize, pid: i32, generation: u32, threads: usize) {
        self.prepare(slot, generation, threads);
        self.process(slot).pid.store(pid, Ordering::Release);
    }

    /// The writer handle of one worker slot.
    pub fn slot(&self, slot: usize, thread: usize) -> WorkerSlot<'_> {
        WorkerSlot {
            rec: self.worker(slot, thread),
        }
    }

    /// A copy of everything, for readers. Text fields are consistent per slot.
    pub fn snapshot(&self) -> Snapshot {
        let g = self.global();
        let global = GlobalSnapshot {
            server_limit: self.server_limit as u32,
            thread_limit: self.thread_limit as u32,
            running_generation: g.running_generation.load(Ordering::Acquire),
            config_generation: g.config_generation.load(Ordering::Relaxed),
            restart_time: g.restart_time.load(Ordering::Relaxed),
            mpm: g.mpm.load(Ordering::Relaxed),
            max_request_workers: g.max_request_workers.load(Ordering::Relaxed),
            threads_per_child: g.threads_per_child.load(Ordering::Relaxed),
            parent_pid: g.parent_pid.load(Ordering::Relaxed),
        };
        let processes = (0..self.server_limit)
            .map(|s| {
                let p = self.process(s);
                ProcessSnapshot {
                    pid: p.pid.load(Ordering::Acquire),
                    generation: p.generation.load(Ordering::Relaxed),
                    quiescing: p.quiescing.load(Ordering::Relaxed),
                    not_accepting: p.not_accepting.load(Ordering::Relaxed) != 0,
                    connections: p.connections.load(Ordering::Relaxed),
                    write_completion: p.write_completion.load(Ordering::Relaxed),
                    keep_alive: p.keep_alive.load(Ordering::Relaxed),
                    lingering_close: p.lingering_close.load(Ordering::Relaxed),
                    suspended: p.suspended.load(Ordering::Relaxed),
                    wait_io: p.wait_io.load(Ordering::Relaxed),
                    workers: (0..self.thread_limit)
                        .map(|t| {
                            let w = self.worker(s, t);
                            let [client, request, vhost, protocol] = w.read_text();
                            WorkerSnapshot {
                                state: w.state(),
                                pid: w.pid.load(Ordering::Relaxed),
                                tid: w.tid.load(Ordering::Relaxed),
                                generation: w.generation.load(Ordering::Relaxed),
                                access_count: w.access_count.load(Ordering::Relaxed),
                                bytes_served: w.bytes_served.load(Ordering::Relaxed),
                                my_access_count: w.my_access_count.load(Ordering::Relaxed),
                                my_bytes_served: w.my_bytes_served.load(Ordering::Relaxed),
                                conn_count: w.conn_count.load(Ordering::Relaxed),
                                conn_bytes: w.conn_bytes.load(Ordering::Relaxed),
                                start_time: w.start_time.load(Ordering::Relaxed),
                                stop_time: w.stop_time.load(Ordering::Relaxed),
                                last_used: w.last_used.load(Ordering::Relaxed),
                                duration: w.duration.load(Ordering::Relaxed),
                                client,
                                request,
                                vhost,
                                protocol,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Snapshot { global, processes }
    }
}

/// The writer handle of one worker slot; the engines' (`'static`) ones are the driver's
/// `ConnObserver`.
#[derive(Clone, Copy)]
pub struct WorkerSlot<'a> {
    rec: &'a WorkerRecord,
}

impl WorkerSlot<'_> {
    pub fn record(&self) -> &WorkerRecord {
        self.rec
    }

    pub fn set_state(&self, state: WorkerState) {
        self.rec.set_state(state);
        // httpd's update_child_status: a slot back to `_` (or `.`) no longer has a
        // connection, so server-status shows 0 for its "this connection" counts.
        if matches!(state, WorkerState::Ready | WorkerState::Dead) {
            self.rec.conn_count.store(0, Ordering::Relaxed);
            self.rec.conn_bytes.store(0, Ordering::Relaxed);
        }
        self.rec
            .last_used
            .store(coarse_now_micros(), Ordering::Relaxed);
    }

    /// A thread or child takes the slot over.
    pub fn start(&self, pid: i32, tid: i32, generation: u32) {
        self.rec.pid.store(pid, Ordering::Relaxed);
        self.rec.tid.store(tid, Ordering::Relaxed);
        self.rec.generation.store(generation, Ordering::Relaxed);
        self.rec.reset_child();
        self.set_state(WorkerState::Ready);
    }

    /// A new connection from `peer` begins in this slot.
    pub fn connection(&self, peer: &SocketAddr) {
        self.rec.conn_count.store(0, Ordering::Relaxed);
        self.rec.conn_bytes.store(0, Ordering::Relaxed);
        let ip = peer.ip().to_string();
        self.rec
            .write_text(Some(ip.as_bytes()), Some(b""), Some(b""), Some(b"http/1.1"));
        self.set_state(WorkerState::BusyRead);
    }

    /// The slot's thread exits.
    pub fn stop(&self) {
        self.rec.set_state(WorkerState::Dead);
        self.rec.conn_count.store(0, Ordering::Relaxed);
        self.rec.conn_bytes.store(0, Ordering::Relaxed);
    }
}

impl<'a> WorkerSlot<'a> {
    /// A request line was read (see `ConnObserver::request_start`).
    pub fn request_start(&self, request_line: &[u8], vhost: &str, client: Option<&[u8]>) {
        self.rec.start_time.store(now_micros(), Ordering::Relaxed);
        self.rec
            .write_text(client, Some(request_line), Some(vhost.as_bytes()), None);
    }

    /// A response was finished (see `ConnObserver::request_done`).
    pub fn request_done(&self, bytes_sent: u64) {
        let r = self.rec;
        let now = now_micros();
        r.stop_time.store(now, Ordering::Relaxed);
        let start = r.start_time.load(Ordering::Relaxed);
        self.count(now.saturating_sub(start), bytes_sent);
    }

    fn count(&self, duration_us: u64, bytes_sent: u64) {
        let r = self.rec;
        r.duration.fetch_add(duration_us, Ordering::Relaxed);
        for c in [&r.access_count, &r.my_access_count, &r.conn_count] {
            c.fetch_add(1, Ordering::Relaxed);
        }
        for c in [&r.bytes_served, &r.my_bytes_served, &r.conn_bytes] {
            c.fetch_add(bytes_sent, Ordering::Relaxed);
        }
    }

    /// An HTTP/2 connection was taken over in this slot: the protocol column says so (the
    /// slot's thread is the only writer at this point).
    pub fn h2_connection(&self, protocol: &[u8]) {
        self.rec.write_text(None, None, None, Some(protocol));
    }

    /// An HTTP/2 stream reporting into this slot begins; the slot reads as `W` until the
    /// returned guard is dropped.
    pub fn h2_stream(&self) -> H2Stream<'a> {
        self.rec.h2_streams.fetch_add(1, Ordering::Relaxed);
        H2Stream { rec: self.rec }
    }

    /// An HTTP/2 stream's request chose its server: what the slot shows for it. May run
    /// beside the slot's own thread (see the module comment).
    pub fn h2_request_start(&self, request_line: &[u8], vhost: &str, client: &[u8], proto: &[u8]) {
        self.rec.write_text(
            Some(client),
            Some(request_line),
            Some(vhost.as_bytes()),
            Some(proto),
        );
    }

    /// An HTTP/2 stream's response is complete: counted like any request. The duration is
    /// the stream's own (the slot's `start_time` may be another request's).
    pub fn h2_request_done(&self, duration: std::time::Duration, bytes_sent: u64) {
        let now = now_micros();
        self.rec.stop_time.store(now, Ordering::Relaxed);
        self.rec.last_used.store(now, Ordering::Relaxed);
        self.count(duration.as_micros() as u64, bytes_sent);
    }
}

/// An HTTP/2 stream in progress for a slot (see `WorkerSlot::h2_stream`).
pub struct H2Stream<'a> {
    rec: &'a WorkerRecord,
}

impl Drop for H2Stream<'_> {
    fn drop(&mut self) {
        // Never below zero: a slot reset while streams ran (its child replaced) must not
        // wrap to a slot that reads busy for ever.
        let before = self
            .rec
            .h2_streams
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        // The last stream is done and no thread holds the slot (event, worker: the
        // connection waits on its own): httpd's worker would now go back to `_`, which
        // clears the "this connection" counts (prefork keeps the slot busy instead).
        if before == Ok(1) && self.rec.own_state() == WorkerState::Ready {
            self.rec.conn_count.store(0, Ordering::Relaxed);
            self.rec.conn_bytes.store(0, Ordering::Relaxed);
        }
    }
}

/// The engines' slots live as long as the process (the scoreboard is mapped once, before the
/// first fork), so an HTTP/2 connection may keep its slot after the engine moved on.
impl crate::conn::ConnObserver for WorkerSlot<'static> {
    fn state(&self, state: WorkerState) {
        self.set_state(state);
    }

    fn request_start(&self, request_line: &[u8], vhost: &str, client: Option<&[u8]>) {
        WorkerSlot::request_start(self, request_line, vhost, client);
    }

    fn request_done(&self, bytes_sent: u64) {
        WorkerSlot::request_done(self, bytes_sent);
    }

    fn slot(&self) -> Option<WorkerSlot<'static>> {
        Some(*self)
    }
}

#[derive(Clone, Debug)]
pub struct GlobalSnapshot {
    pub server_limit: u32,
    pub thread_limit: u32,
    pub running_generation: u32,
    pub config_generation: u32,
    pub restart_time: u64,
    pub mpm: u32,
    pub max_request_workers: u32,
    pub threads_per_child: u32,
    pub parent_pid: i32,
}

#[derive(Clone, Debug)]
pub struct ProcessSnapshot {
    pub pid: i32,
    pub generation: u32,
    pub quiescing: u32,
    pub not_accepting: bool,
    pub connections: u32,
    pub write_completion: u32,
    pub keep_alive: u32,
    pub lingering_close: u32,
    pub suspended: u32,
    pub wait_io: u32,
    /// `thread_limit` entries (1 for prefork).
    pub workers: Vec<WorkerSnapshot>,
}

#[derive(Clone, Debug)]
pub struct WorkerSnapshot {
    pub state: WorkerState,
    pub pid: i32,
    pub tid: i32,
    pub generation: u32,
    pub access_count: u64,
    pub bytes_served: u64,
    pub my_access_count: u64,
    pub my_bytes_served: u64,
    pub conn_count: u64,
    pub conn_bytes: u64,
    pub start_time: u64,
    pub stop_time: u64,
    pub last_used: u64,
    pub duration: u64,
    pub client: String,
    pub request: String,
    pub vhost: String,
    pub protocol: String,
}

/// A copy of the scoreboard at one moment (per-record consistent; records may be from
/// slightly different moments, as in httpd).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub global: GlobalSnapshot,
    pub processes: Vec<ProcessSnapshot>,
}

impl Snapshot {
    /// Total accesses and bytes over every worker slot.
    pub fn totals(&self) -> (u64, u64) {
        self.processes
            .iter()
            .flat_map(|p| &p.workers)
            .fold((0, 0), |(a, b), w| (a + w.access_count, b + w.bytes_served))
    }

    /// Live child processes: (slot, record).
    pub fn live(&self) -> impl Iterator<Item = (usize, &ProcessSnapshot)> {
        self.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pid != 0)
    }

    /// The scoreboard letters of the first `threads` threads of every live slot (process-major).
    pub fn letters(&self, threads: usize) -> String {
        self.processes
            .iter()
            .flat_map(|p| p.workers.iter().take(threads.max(1)))
            .map(|w| w.state.letter())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_read_back_what_was_stored_last() {
        let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        for t in [
            &b"a much longer text than the next"[..],
            b"short",
            b"",
            b"exactly8",
            b"sixteen bytes!!!",
            b"x",
            b"thirty-one bytes of text, max..",
            b"thirty-two bytes or more are cut off here",
        ] {
            store_text(&words, t);
            assert_eq!(load_text(&words), &t[..t.len().min(31)]);
        }
    }

    #[test]
    fn fresh_scoreboard_is_dead_and_generation_zero() {
        let sb = Scoreboard::create(4, 3, None).unwrap();
        let s = sb.snapshot();
        assert_eq!(s.global.running_generation, 0);
        assert_eq!(s.global.config_generation, 1);
        assert_eq!(s.processes.len(), 4);
        assert!(s
            .processes
            .iter()
            .all(|p| p.pid == 0 && p.workers.len() == 3));
        assert_eq!(s.letters(3), "............");
    }

    #[test]
    fn observer_updates_counters_and_text() {
        let sb = Scoreboard::create(2, 1, None).unwrap();
        sb.claim(1, 4242, 0, 1);
        let w = sb.slot(1, 0);
        w.start(4242, 4242, 0);
        w.connection(&"127.0.0.1:5555".parse().unwrap());
        w.request_start(b"GET /index.html HTTP/1.1", "example.org:80", None);
        w.set_state(WorkerState::BusyWrite);
        w.request_done(100);
        w.request_done(28);
        let s = sb.snapshot();
        let ws = &s.processes[1].workers[0];
        assert_eq!(ws.state, WorkerState::BusyWrite);
        assert_eq!(ws.client, "127.0.0.1");
        assert_eq!(ws.request, "GET /index.html HTTP/1.1");
        assert_eq!(ws.vhost, "example.org:80");
        assert_eq!((ws.access_count, ws.bytes_served), (2, 128));
        assert_eq!(s.totals(), (2, 128));
        assert_eq!(s.processes[1].pid, 4242);
        sb.mark_dead(1, 4242);
        let s = sb.snapshot();
        assert_eq!(s.processes[1].pid, 0);
        assert_eq!(s.processes[1].workers[0].state, WorkerState::Dead);
        // slot counters survive a child's death; the child's own do not
        assert_eq!(s.processes[1].workers[0].access_count, 2);
        assert_eq!(s.processes[1].workers[0].my_access_count, 0);
    }

    #[test]
    fn long_text_is_cut_to_the_field() {
        let sb = Scoreboard::create(1, 1, None).unwrap();
        let line = vec![b'a'; 500];
        sb.slot(0, 0).request_start(&line, "v", None);
        let s = sb.snapshot();
        assert_eq!(
            s.processes[0].workers[0].request.len(),
            REQUEST_WORDS * 8 - 1
        );
    }

    #[test]
    fn file_scoreboard_is_readable_by_another_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sb");
        let sb = Scoreboard::create(3, 2, Some(&path)).unwrap();
        sb.claim(2, 77, 5, 2);
        let reader = Scoreboard::open(&path).unwrap();
        let s = reader.snapshot();
        assert_eq!((s.global.server_limit, s.global.thread_limit), (3, 2));
        assert_eq!(s.processes[2].pid, 77);
        assert_eq!(s.processes[2].workers[1].state, WorkerState::Starting);
        std::fs::write(dir.path().join("junk"), b"not a scoreboard at all").unwrap();
        assert!(Scoreboard::open(&dir.path().join("junk")).is_err());
    }

    #[test]
    fn shared_across_fork_like_threads_without_torn_text() {
        // A writer flips between two lines; a reader must only ever see one of them whole.
        let sb = std::sync::Arc::new(Scoreboard::create(1, 1, None).unwrap());
        let a = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1".to_vec();
        let b = b"POST /b HTTP/1.0".to_vec();
        let w = {
            let sb = sb.clone();
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    let line = if i % 2 == 0 { &a } else { &b };
                    sb.slot(0, 0).request_start(line, "h", None);
                }
            })
        };
        let sa = String::from_utf8(a).unwrap();
        let sbb = String::from_utf8(b).unwrap();
        for _ in 0..2_000 {
            let r = sb.snapshot().processes[0].workers[0].request.clone();
            assert!(r.is_empty() || r == sa || r == sbb, "torn: {r}");
        }
        w.join().unwrap();
    }

    #[test]
    fn h2_streams_read_busy_while_served_and_never_underflow() {
        let sb = Scoreboard::create(1, 2, None).unwrap();
        sb.claim(0, 7, 0, 2);
        let w = sb.slot(0, 0);
        w.start(7, 7, 0);
        let state = || sb.worker(0, 0).state();
        assert_eq!(state(), WorkerState::Ready);
        let a = w.h2_stream();
        let b = w.h2_stream();
        assert_eq!(state(), WorkerState::BusyWrite);
        // The slot's thread waits or reads meanwhile: still W; its own busy states show.
        for (own, shown) in [
            (WorkerState::BusyKeepalive, WorkerState::BusyWrite),
            (WorkerState::BusyRead, WorkerState::BusyWrite),
            (WorkerState::Closing, WorkerState::Closing),
            (WorkerState::Graceful, WorkerState::Graceful),
            (WorkerState::Ready, WorkerState::BusyWrite),
        ] {
            w.set_state(own);
            assert_eq!(state(), shown, "{own:?}");
        }
        drop(a);
        assert_eq!(state(), WorkerState::BusyWrite);
        drop(b);
        assert_eq!(state(), WorkerState::Ready);
        assert_eq!(sb.slot(0, 1).record().state(), WorkerState::Starting);
        // A stream outliving a reset of its slot must not wrap the count to "busy for ever".
        let c = w.h2_stream();
        w.start(7, 7, 0);
        drop(c);
        assert_eq!(state(), WorkerState::Ready);
        let d = w.h2_stream();
        assert_eq!(state(), WorkerState::BusyWrite);
        drop(d);
        assert_eq!(state(), WorkerState::Ready);
    }

    #[test]
    fn h2_requests_show_and_count() {
        let sb = Scoreboard::create(1, 1, None).unwrap();
        sb.claim(0, 7, 0, 1);
        let w = sb.slot(0, 0);
        w.start(7, 7, 0);
        w.connection(&"127.0.0.1:5555".parse().unwrap());
        w.h2_connection(b"h2");
        assert_eq!(sb.snapshot().processes[0].workers[0].protocol, "h2");
        w.h2_request_start(b"GET /a HTTP/2.0", "b.test:8443", b"203.0.113.9", b"h2");
        w.h2_request_done(std::time::Duration::from_micros(1500), 5000);
        w.h2_request_done(std::time::Duration::from_micros(500), 0);
        let s = sb.snapshot();
        let ws = &s.processes[0].workers[0];
        assert_eq!(ws.request, "GET /a HTTP/2.0");
        assert_eq!(ws.client, "203.0.113.9");
        assert_eq!(ws.vhost, "b.test:8443");
        assert_eq!(ws.protocol, "h2");
        assert_eq!(
            (ws.access_count, ws.my_access_count, ws.conn_count),
            (2, 2, 2)
        );
        assert_eq!((ws.bytes_served, ws.duration), (5000, 2000));
        assert_eq!(s.totals(), (2, 5000));
    }

    #[test]
    fn two_writers_never_tear_text() {
        // An h2 stream and the slot's own thread write the same slot: a reader sees one
        // writer's (client, request) pair whole, never a mix.
        let sb = std::sync::Arc::new(Scoreboard::create(1, 1, None).unwrap());
        let pairs: [(&[u8], &[u8]); 2] = [
            (
                b"203.0.113.111",
                b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/2.0",
            ),
            (b"10.2.2.2", b"POST /b HTTP/1.1"),
        ];
        let writers: Vec<_> = pairs
            .iter()
            .map(|&(client, line)| {
                let sb = sb.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        sb.slot(0, 0).request_start(line, "h", Some(client));
                    }
                })
            })
            .collect();
        while writers.iter().any(|w| !w.is_finished()) {
            let w = sb.worker(0, 0);
            let [client, request, _, _] = w.read_text();
            assert!(
                (client.is_empty() && request.is_empty())
                    || pairs
                        .iter()
                        .any(|(c, r)| client.as_bytes() == *c && request.as_bytes() == *r),
                "torn: {client} / {request}"
            );
        }
        for w in writers {
            w.join().unwrap();
        }
    }

    #[test]
    fn reset_keeps_limits_and_clears_counters() {
        let sb = Scoreboard::create(2, 2, None).unwrap();
        sb.slot(0, 1).request_done(10);
        sb.global().running_generation.store(3, Ordering::Relaxed);
        sb.reset();
        let s = sb.snapshot();
        assert_eq!(s.totals(), (0, 0));
        assert_eq!(s.global.running_generation, 0);
        assert_eq!(s.global.thread_limit, 2);
    }
}
