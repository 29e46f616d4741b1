//! event: like worker, but every connection waiting for something — a new connection's first
//! bytes, idle keep-alive, write completion, lingering close — is parked in the child's
//! connection set (an epoll set, each socket armed for one event) and in FIFO timeout queues
//! (one per timeout value), holding no thread and no read buffer. The listener thread (the
//! child's main thread) accepts, parks new connections, expires the queues and watches the
//! pipe of death; AsyncRequestWorkerFactor caps the connections a process takes on, and over
//! the cap it stops accepting and says so in its scoreboard slot (`not_accepting`), so the
//! parent counts it out and other children take the load.
//!
//! Idle workers wait in the connection set themselves, one event each: the connection that
//! becomes ready wakes the worker that will serve it, and a worker that finishes a request
//! and finds another connection ready takes it without sleeping. So a request costs no
//! listener wake-up and no hand-off between threads, and on a busy core one worker serves
//! ready connections back to back without a context switch. See docs/performance.md
//! ("Workers in the connection set").

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::sys::{arm_oneshot, Arm};
use super::{
    accept_error_is_transient, drive, listener_gone, new_connection, pod_says_stop, tid, ChildCtx,
    EXIT_CHILDSICK, EXIT_OK,
};
use crate::ap_log;
use crate::config::ServerConfig;
use crate::conn::{ConnOutcome, Connection, ServeCtx};
use crate::scoreboard::{Scoreboard, WorkerSlot, WorkerState};

mod queues;

use queues::{Kind, TimeoutQueues};

const POD: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
/// The connection set's data word for the stop signal; a parked connection's is its slot
/// index (low 32 bits) and the low 32 bits of its park serial (high), so that an event taken
/// for a connection since closed (its slot reused) is recognised as stale.
const STOP: u64 = u64::MAX;

/// httpd's linger limits: 30 s normally, 2 s when short (stopping, or after a timeout).
const LINGER_NORMAL: Duration = Duration::from_secs(30);
const LINGER_SHORT: Duration = Duration::from_secs(2);

fn token(idx: usize, serial: u64) -> u64 {
    (serial << 32) | (idx as u64 & 0xffff_ffff)
}

/// Every parked connection, and their timeout queues. Workers park connections here
/// (and arm their socket in the connection set) and take them out when an event for them
/// comes; the listener parks new connections and closes the expired ones.
struct Table {
    slots: Vec<Option<Parked>>,
    free: Vec<usize>,
    queues: TimeoutQueues,
    serial: u64,
    /// The listener is stopping: idle keep-alive connections are closed, not parked.
    dying: bool,
    /// When the listener will wake up next at the latest; a park whose deadline is earlier
    /// wakes it.
    next_wake: Option<Instant>,
}

/// One parked connection.
struct Parked {
    conn: Connection,
    kind: Kind,
    serial: u64,
    /// When lingering began (the 30 s limit covers the whole linger).
    since: Instant,
}

struct Shared {
    config: Arc<ServerConfig>,
    slot: usize,
    table: Mutex<Table>,
    /// The connection set: parked sockets (one-shot) and the stop signal.
    conn_ep: OwnedFd,
    /// Level-triggered in `conn_ep`: once signalled, every worker waiting there leaves.
    stop_signal: OwnedFd,
    /// Wakes the listener (its own mio poll).
    waker: Waker,
    /// Threads started on demand: indices not started yet, next to start last. None once
    /// the child is closing.
    unstarted: Mutex<Option<Vec<usize>>>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Workers waiting in the connection set.
    waiting: AtomicUsize,
    /// Workers holding a connection.
    busy: AtomicUsize,
    /// Connections taken from the set by workers so far (the listener's progress check).
    taken: AtomicU64,
    /// The CPUs this process may run on.
    cpus: usize,
    /// Connections this process owns (in workers or parked), lingering ones included.
    connections: AtomicUsize,
    /// Set by the listener when it stopped accepting: workers wake it when they free up.
    not_accepting: AtomicBool,
    stopping: AtomicBool,
    sb: &'static Scoreboard,
    generation: u32,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
            || super::generation_stopping(self.sb, self.generation)
    }

    /// Starts the next worker thread, if any is left to start and the child is not closing.
    fn start_spare(self: &Arc<Self>) -> bool {
        let mut un = self.unstarted.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = un.as_mut().and_then(|u| u.pop()) else {
            return false;
        };
        // Counted waiting at once, so that workers taking events meanwhile do not start
        // another one for the same need.
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let shared = self.clone();
        let mut b = std::thread::Builder::new().name(format!("worker-{t}"));
        if self.config.mpm_config.thread_stack_size > 0 {
            b = b.stack_size(self.config.mpm_config.thread_stack_size);
        }
        match b.spawn(move || worker_thread(&shared, t)) {
            Ok(h) => {
                drop(un);
                self.handles
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(h);
                true
            }
            Err(e) => {
                if let Some(u) = un.as_mut() {
                    u.push(t);
                }
                drop(un);
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                ap_log!(
                    alert,
                    "mpm_event",
                    "AH00480: unable to create worker thread: {e}"
                );
                false
            }
        }
    }

    /// Parks a connection: into the table with its deadline, socket armed for one event.
    fn park(&self, conn: Connection, kind: Kind, registered: bool, timeout: Duration) {
        let fd = conn.stream.as_raw_fd();
        let now = Instant::now();
        let mut t = self.table();
        if t.dying && kind == Kind::KeepAlive {
            drop(t);
            drop(conn);
            self.closed_one();
            return;
        }
        let timeout = match kind {
            Kind::Linger if t.dying => LINGER_SHORT,
            _ => timeout,
        };
        let idx = match t.free.pop() {
            Some(i) => i,
            None => {
                t.slots.push(None);
                t.slots.len() - 1
            }
        };
        let what = match kind {
            // A fresh socket is writable at once: the next free worker takes it.
            Kind::WriteCompletion | Kind::Silent => Arm::Writable,
            _ => Arm::Readable,
        };
        t.serial += 1;
        let serial = t.serial;
        // Armed under the lock: the listener cannot expire (close) it before it is armed,
        // and a worker that takes its event waits for the lock, so finds it in the table.
        if arm_oneshot(
            self.conn_ep.as_raw_fd(),
            fd,
            token(idx, serial),
            what,
            registered,
        )
        .is_err()
        {
            t.free.push(idx);
            drop(t);
            drop(conn);
            self.closed_one();
            return;
        }
        t.slots[idx] = Some(Parked {
            conn,
            kind,
            serial,
            since: now,
        });
        let Table { queues, slots, .. } = &mut *t;
        queues.push(kind, timeout, now, (idx, serial), |i, s| {
            slots
                .get(i)
                .and_then(|p| p.as_ref())
                .is_some_and(|p| p.serial == s)
        });
        let wake = t.next_wake.is_some_and(|w| now + timeout < w);
        drop(t);
        if wake {
            let _ = self.waker.wake();
        }
    }

    /// An event of the connection set: the connection to serve, if it is one for a worker.
    /// A lingering connection is drained here and stays parked until EOF or its time is up;
    /// a stale event (the connection expired and was closed meanwhile) is dropped.
    fn take_ready(&self, tok: u64) -> Option<(Connection, Kind)> {
        let idx = (tok & 0xffff_ffff) as usize;
        let mut t = self.table();
        let p = t.slots.get_mut(idx).and_then(|p| p.as_mut())?;
        if p.serial & 0xffff_ffff != tok >> 32 {
            return None;
        }
        if p.kind == Kind::Linger {
            let done = !(drain(&mut p.conn)
                && p.since.elapsed() < LINGER_NORMAL
                && arm_oneshot(
                    self.conn_ep.as_raw_fd(),
                    p.conn.stream.as_raw_fd(),
                    tok,
                    Arm::Readable,
                    true,
                )
                .is_ok());
            if done {
                let p = unpark(&mut t, idx);
                drop(t);
                if let Some(p) = p {
                    drop(p);
                    self.closed_one();
                }
            }
            return None;
        }
        // Never close an idle keep-alive early because the workers are busy: its event
        // waits in the set for the next free worker (httpd would close it).
        unpark(&mut t, idx).map(|p| (p.conn, p.kind))
    }

    fn closed_one(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
        if self.not_accepting.load(Ordering::Relaxed) || self.stopping.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
    }
}

/// A worker that finds a connection ready YIELD_EVERY times in a row lets the other threads
/// and processes on its CPU run. A worker rarely blocks while connections are ready, so
/// without this it would keep the CPU for its whole time slice, and with several children
/// on one core (8000 idle connections need 14) a ready request in another child waited for
/// every other child's slice: p99 57–126 ms in idle-8000, 4.8 ms with a yield every 16
/// (docs/performance.md, "Workers in the connection set").
const YIELD_EVERY: u32 = 16;

fn worker_thread(shared: &Arc<Shared>, t: usize) {
    let config = &shared.config;
    let ws = shared.sb.slot(shared.slot, t);
    ws.start(std::process::id() as i32, tid(), shared.generation);
    // No wake-up preemption between the child's threads (see `child_main`).
    let _ = super::sys::sched_batch_this_thread();
    let epfd = shared.conn_ep.as_raw_fd();
    // Counted waiting by whoever started this thread.
    let mut counted = true;
    // Connections taken in a row without waiting.
    let mut streak = 0u32;
    // The read buffer parked connections leave behind (see `serve`).
    let mut spare: Vec<u8> = Vec::new();
    loop {
        if !counted {
            shared.waiting.fetch_add(1, Ordering::AcqRel);
        }
        counted = false;
        let ev = match super::sys::poll_one(epfd) {
            Some(t) => {
                streak += 1;
                if streak >= YIELD_EVERY {
                    streak = 0;
                    super::sys::yield_cpu();
                }
                Ok(t)
            }
            None => {
                streak = 0;
                super::sys::wait_one(epfd)
            }
        };
        shared.waiting.fetch_sub(1, Ordering::AcqRel);
        let tok = match ev {
            Ok(STOP) => break,
            Ok(tok) => tok,
            Err(e) => {
                ap_log!(crit, "mpm_event", "AH03267: poll failed: {e}");
                break;
            }
        };
        let Some((conn, kind)) = shared.take_ready(tok) else {
            continue;
        };
        shared.taken.fetch_add(1, Ordering::Relaxed);
        let busy = shared.busy.fetch_add(1, Ordering::AcqRel) + 1;
        // Nobody left waiting for the next ready connection while a CPU is free for one
        // more: get another thread going. Busy threads beyond the CPUs would only take turns
        // on them; the listener starts more if the busy ones stop making progress (blocked
        // on a backend, a slow client), see `Listener::watch_starvation`.
        if busy < shared.cpus && shared.waiting.load(Ordering::Acquire) == 0 {
            shared.start_spare();
        }
        if kind == Kind::Silent {
            ws.set_state(WorkerState::BusyLog);
            crate::conn::log_silent_timeout(&conn, config);
            drop(conn);
            shared.closed_one();
        } else {
            serve(shared, config, &ws, conn, &mut spare);
        }
        shared.busy.fetch_sub(1, Ordering::AcqRel);
        ws.set_state(if shared.stopping.load(Ordering::Relaxed) {
            WorkerState::Graceful
        } else {
            WorkerState::Ready
        });
        if shared.not_accepting.load(Ordering::Relaxed) {
            // The listener re-counts idle workers to accept again.
            let _ = shared.waker.wake();
        }
    }
    ws.stop();
}

/// Serves a connection taken from the set (so registered there) until it must wait again.
fn serve(
    shared: &Shared,
    config: &Arc<ServerConfig>,
    ws: &WorkerSlot<'static>,
    mut conn: Connection,
    spare: &mut Vec<u8>,
) {
    if conn.requests_served == 0 {
        ws.connection(&conn.peer);
    }
    // A parked connection holds no buffer: it borrows the thread's while it is served and
    // gives it back when it parks or closes, so a keep-alive request allocates none.
    if conn.read_buf.capacity() == 0 {
        std::mem::swap(&mut conn.read_buf, spare);
    }
    // Sockets arrive blocking (new_connection) and stay so while parked (epoll does not
    // change the mode); the driver copes with a non-blocking one anyway. No fcntl here.
    loop {
        let ctx = ServeCtx {
            config,
            observer: ws,
            stopping: shared.stopping(),
        };
        match drive(&mut conn, &ctx) {
            ConnOutcome::KeepAlive if !conn.read_buf.is_empty() => continue,
            ConnOutcome::KeepAlive => {
                ws.set_state(WorkerState::BusyKeepalive);
                if shared.stopping() {
                    ws.set_state(WorkerState::Closing);
                    start_linger(shared, conn);
                } else {
                    // Park it without its buffer: an idle connection costs no memory
                    // beyond its socket.
                    keep_buffer(spare, &mut conn.read_buf);
                    // The KeepAliveTimeout of the virtual host that answered last.
                    let timeout = conn
                        .keep_alive_timeout
                        .unwrap_or(config.main.keep_alive_timeout);
                    shared.park(conn, Kind::KeepAlive, true, timeout);
                }
            }
            ConnOutcome::WriteCompletion => {
                ws.set_state(WorkerState::BusyWrite);
                shared.park(conn, Kind::WriteCompletion, true, config.main.timeout);
            }
            ConnOutcome::Linger => {
                ws.set_state(WorkerState::Closing);
                start_linger(shared, conn);
            }
            ConnOutcome::Close => {
                keep_buffer(spare, &mut conn.read_buf);
                drop(conn);
                shared.closed_one();
            }
        }
        break;
    }
}

/// Takes a connection's read buffer back as the thread's spare when the thread has none and
/// it is of the driver's usual size (a buffer grown by a big request head is let go).
fn keep_buffer(spare: &mut Vec<u8>, buf: &mut Vec<u8>) {
    let b = std::mem::take(buf);
    if spare.capacity() == 0 && b.capacity() <= SPARE_MAX {
        *spare = b;
        spare.clear();
    }
}

/// The largest read buffer a worker keeps for the next connection.
const SPARE_MAX: usize = 32 * 1024;

/// Lingering close without blocking a worker: stop sending, drain what is there, and park the
/// rest of the wait with the listener.
fn start_linger(shared: &Shared, mut conn: Connection) {
    if conn.stream.shutdown(Shutdown::Write).is_err() || !drain(&mut conn) {
        drop(conn);
        shared.closed_one();
        return;
    }
    conn.read_buf = Vec::new();
    shared.park(conn, Kind::Linger, true, LINGER_NORMAL);
}

/// Reads and discards without blocking; false once the peer is done (EOF or error).
fn drain(conn: &mut Connection) -> bool {
    if conn.stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

struct Listener {
    ctx: ChildCtx,
    shared: Arc<Shared>,
    poll: Poll,
    accept_pending: Vec<bool>,
    listening: bool,
    threads: usize,
    factor: usize,
    accepted: u64,
    /// Per listener, its address when bound to one IP (`super::known_local`).
    local: Vec<Option<std::net::SocketAddr>>,
    dying: bool,
    /// After a resource error from accept (EMFILE, ENFILE, ENOBUFS …): no accept before this
    /// instant, then retry even without a new edge on the listener (the queued connections
    /// are still there; an edge-triggered listener would not wake us for them).
    accept_backoff: Option<Instant>,
    /// Workers' `taken` count when last looked at, and when: a child whose workers are all
    /// busy and take nothing for `STARVE_CHECK` while connections are ready starts more.
    progress: (u64, Instant),
    /// Connections to close (expired, or idle when stopping), closed outside the lock.
    doomed: Vec<Connection>,
    /// New connections that sent nothing in time, for a worker to log and close.
    silent: Vec<Connection>,
}

/// How long every busy worker may go without taking a ready connection before the listener
/// starts more threads.
const STARVE_CHECK: Duration = Duration::from_millis(10);

/// How long the listener waits before retrying accept after a resource error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub fn child_main(ctx: ChildCtx) -> i32 {
    let sb = ctx.scoreboard;
    let threads = (ctx.config.mpm_config.threads_per_child as usize).clamp(1, sb.thread_limit());
    let poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            ap_log!(
                emerg,
                "mpm_event",
                "AH00471: could not create the pollset: {e}"
            );
            return EXIT_CHILDSICK;
        }
    };
    let waker = match Waker::new(poll.registry(), WAKER) {
        Ok(w) => w,
        Err(_) => return EXIT_CHILDSICK,
    };
    let sets = super::sys::epoll_create().and_then(|ep| {
        let stop = super::sys::stop_signal(ep.as_raw_fd(), STOP)?;
        Ok((ep, stop))
    });
    let (conn_ep, stop_signal) = match sets {
        Ok(s) => s,
        Err(e) => {
            ap_log!(
                emerg,
                "mpm_event",
                "AH00471: could not create the pollset: {e}"
            );
            return EXIT_CHILDSICK;
        }
    };
    let shared = Arc::new(Shared {
        config: ctx.config.clone(),
        slot: ctx.slot,
        table: Mutex::new(Table {
            slots: Vec::new(),
            free: Vec::new(),
            queues: TimeoutQueues::default(),
            serial: 0,
            dying: false,
            next_wake: None,
        }),
        conn_ep,
        stop_signal,
        waker,
        unstarted: Mutex::new(Some((0..threads).rev().collect())),
        handles: Mutex::new(Vec::with_capacity(threads)),
        waiting: AtomicUsize::new(0),
        busy: AtomicUsize::new(0),
        taken: AtomicU64::new(0),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        connections: AtomicUsize::new(0),
        not_accepting: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        sb,
        generation: ctx.generation,
    });
    // Threads not started yet show as idle capacity: their scoreboard slots show `_`
    // (Ready, no thread id), so the parent's spare-thread count and server-status see the
    // child's full capacity, and they count as idle for AsyncRequestWorkerFactor. A child
    // that only holds idle connections has few threads (each costs ~40 KiB of resident
    // stack).
    let pid = std::process::id() as i32;
    for t in 0..threads {
        sb.slot(ctx.slot, t).start(pid, 0, ctx.generation);
    }
    // The first worker now; the others when a worker takes a connection and none is left
    // waiting.
    if !shared.start_spare() {
        return EXIT_CHILDSICK;
    }
    let factor = (ctx.config.mpm_config.async_request_worker_factor.floor() as usize).max(1);
    let n = ctx.listeners.len();
    let local = super::known_local(&ctx.listeners);
    let mut l = Listener {
        ctx,
        shared: shared.clone(),
        poll,
        accept_pending: vec![true; n],
        listening: false,
        threads,
        factor,
        accepted: 0,
        local,
        dying: false,
        accept_backoff: None,
        progress: (0, Instant::now()),
        doomed: Vec::new(),
        silent: Vec::new(),
    };
    // The listener and the workers run SCHED_BATCH: the same CPU share as SCHED_OTHER, but
    // a thread that wakes up (the listener on readiness, a worker handed a job) does not
    // preempt the one running. On a busy core the running worker finishes its request and
    // takes the next queued one instead of being switched out at every wake-up: context
    // switches per keep-alive request went from ~0.55 to ~0.1 on one core. On an idle core
    // the woken thread runs at once, as before.
    let _ = super::sys::sched_batch_this_thread();
    let code = l.run();
    close_workers(&shared);
    loop {
        let hs = std::mem::take(&mut *shared.handles.lock().unwrap_or_else(|e| e.into_inner()));
        if hs.is_empty() {
            break;
        }
        for h in hs {
            let _ = h.join();
        }
    }
    // Whatever is still parked (lingering connections at exit) closes with the table.
    crate::conn::drain_http2(l.ctx.config.main.timeout.min(Duration::from_secs(30)));
    code
}

/// Stops the workers: no more threads start (their slots are cleared), and every worker
/// leaves once it is back in the connection set.
fn close_workers(shared: &Arc<Shared>) {
    shared.stopping.store(true, Ordering::Relaxed);
    let unstarted = shared
        .unstarted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    for t in unstarted {
        shared.sb.slot(shared.slot, t).stop();
    }
    super::sys::signal(shared.stop_signal.as_raw_fd());
}

impl Listener {
    fn run(&mut self) -> i32 {
        if self.start_listening().is_err()
            || self
                .poll
                .registry()
                .register(
                    &mut SourceFd(&self.ctx.pod.as_raw_fd()),
                    POD,
                    Interest::READABLE,
                )
                .is_err()
        {
            return EXIT_CHILDSICK;
        }
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            let timeout = {
                let mut t = self.shared.table();
                let timeout = t
                    .queues
                    .next_deadline()
                    .map(|d| d.saturating_duration_since(now))
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1))
                    .min(if self.may_starve() {
                        STARVE_CHECK
                    } else {
                        Duration::MAX
                    })
                    .min(
                        self.accept_backoff
                            .map(|t| t.saturating_duration_since(now))
                            .unwrap_or(Duration::MAX),
                    );
                t.next_wake = Some(now + timeout);
                timeout
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    ap_log!(crit, "mpm_event", "AH03267: poll failed: {e}");
                    return EXIT_CHILDSICK;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    POD => {
                        if pod_says_stop(&self.ctx.pod) {
                            self.begin_dying();
                        }
                    }
                    WAKER => {}
                    Token(i) => {
                        if let Some(p) = self.accept_pending.get_mut(i) {
                            *p = true;
                        }
                    }
                }
            }
            self.close_doomed();
            if !self.dying
                && (self.shared.stopping()
                    || self
                        .ctx
                        .max_connections()
                        .is_some_and(|m| self.accepted >= m))
            {
                self.begin_dying();
            }
            self.watch_starvation();
            self.accept();
            self.expire();
            self.publish();
            if self.dying && self.shared.connections.load(Ordering::Acquire) == 0 {
                return EXIT_OK;
            }
        }
    }

    fn start_listening(&mut self) -> std::io::Result<()> {
        if self.listening || self.dying {
            return Ok(());
        }
        for (i, l) in self.ctx.listeners.iter().enumerate() {
            l.set_nonblocking(true)?;
            self.poll.registry().register(
                &mut SourceFd(&l.as_raw_fd()),
                Token(i),
                Interest::READABLE,
            )?;
            // Edge-triggered: whatever queued up meanwhile must be tried once.
            self.accept_pending[i] = true;
        }
        self.listening = true;
        Ok(())
    }

    fn stop_listening(&mut self) {
        if !self.listening {
            return;
        }
        for l in &self.ctx.listeners {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&l.as_raw_fd()));
        }
        self.listening = false;
    }

    /// Every started worker holds a connection: a ready connection would wait for one.
    fn may_starve(&self) -> bool {
        self.shared.waiting.load(Ordering::Acquire) == 0
            && self.shared.busy.load(Ordering::Acquire) > 0
    }

    /// Workers start on demand, up to one busy per CPU (`worker_thread`). Past that, a
    /// ready connection waits for a worker to come back, which costs nothing while the
    /// workers are serving; but when they are all stuck (a slow backend, a client slow to
    /// send its body) and have taken no connection for `STARVE_CHECK` while some are ready,
    /// start as many more as are busy (so a burst of slow requests is met in a few steps).
    fn watch_starvation(&mut self) {
        let now = Instant::now();
        let taken = self.shared.taken.load(Ordering::Relaxed);
        if !self.may_starve() {
            self.progress = (taken, now);
            return;
        }
        if now.saturating_duration_since(self.progress.1) < STARVE_CHECK {
            return;
        }
        if taken == self.progress.0 && super::sys::readable_now(self.shared.conn_ep.as_raw_fd()) {
            let more = self.shared.busy.load(Ordering::Acquire).max(1);
            for _ in 0..more {
                if !self.shared.start_spare() {
                    break;
                }
            }
        }
        self.progress = (taken, now);
    }

    /// AsyncRequestWorkerFactor: over the limit when no worker is idle, or when the
    /// connections not lingering reach `ThreadsPerChild + idle × factor`.
    /// A new connection waiting for its first bytes has a worker reserved: it is not
    /// counted idle (as in httpd, where it would already sit in one).
    fn over_limit(&self) -> bool {
        let (lingering, fresh) = {
            let t = self.shared.table();
            (t.queues.len(Kind::Linger), t.queues.len(Kind::Accepted))
        };
        let idle = self
            .threads
            .saturating_sub(self.shared.busy.load(Ordering::Acquire) + fresh);
        if idle == 0 {
            return true;
        }
        let conns = self
            .shared
            .connections
            .load(Ordering::Acquire)
            .saturating_sub(lingering);
        conns >= self.threads + idle * self.factor
    }

    fn accept(&mut self) {
        if self.dying {
            return;
        }
        if let Some(t) = self.accept_backoff {
            if Instant::now() < t {
                return;
            }
            self.accept_backoff = None;
        }
        let proc_rec = self.ctx.scoreboard.process(self.ctx.slot);
        loop {
            if self.over_limit() {
                if !self.shared.not_accepting.swap(true, Ordering::Relaxed) {
                    proc_rec.not_accepting.store(1, Ordering::Relaxed);
                    ap_log!(
                        debug,
                        "mpm_event",
                        "Too many open connections ({}), not accepting new conns in this process",
                        self.shared.connections.load(Ordering::Relaxed)
                    );
                }
                self.stop_listening();
                return;
            }
            if self.shared.not_accepting.swap(false, Ordering::Relaxed) {
                proc_rec.not_accepting.store(0, Ordering::Relaxed);
                ap_log!(
                    debug,
                    "mpm_event",
                    "AH00457: Accepting new connections again"
                );
            }
            if !self.listening && self.start_listening().is_err() {
                return;
            }
            let Some(i) = self.accept_pending.iter().position(|p| *p) else {
                return;
            };
            match self.ctx.listeners[i].accept() {
                Ok((stream, peer)) => {
                    self.accepted += 1;
                    if let Some(conn) = new_connection(stream, peer, self.local[i]) {
                        // A worker gets it once its first bytes are there, not before: a
                        // client slow to send its request holds no thread meanwhile.
                        self.shared.connections.fetch_add(1, Ordering::AcqRel);
                        let timeout = crate::conn::first_read_wait(&self.ctx.config, &conn.local);
                        self.shared.park(conn, Kind::Accepted, false, timeout);
                    }
                    if self
                        .ctx
                        .max_connections()
                        .is_some_and(|m| self.accepted >= m)
                    {
                        self.begin_dying();
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.accept_pending[i] = false;
                }
                Err(e) if listener_gone(&e) => {
                    self.begin_dying();
                    return;
                }
                Err(e) if accept_error_is_transient(&e) => {}
                Err(e) => {
                    // Out of fds (or buffers): back off, keep the listener marked pending so
                    // the queue is retried once connections have closed.
                    ap_log!(error, "mpm_event", "AH00472: accept failed: {e}");
                    self.accept_backoff = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn close_doomed(&mut self) {
        for conn in self.doomed.drain(..) {
            drop(conn);
            self.shared.closed_one();
        }
    }

    /// Closes what has waited too long, oldest first per queue.
    fn expire(&mut self) {
        let now = Instant::now();
        {
            let mut t = self.shared.table();
            while let Some((idx, serial)) = t.queues.pop_expired(now) {
                let current = t
                    .slots
                    .get(idx)
                    .and_then(|p| p.as_ref())
                    .is_some_and(|p| p.serial == serial);
                if current {
                    match unpark(&mut t, idx) {
                        Some(p) if p.kind == Kind::Accepted => self.silent.push(p.conn),
                        Some(p) => self.doomed.push(p.conn),
                        None => {}
                    }
                }
            }
        }
        // Sent nothing in time: a worker logs httpd's 408 line and closes it.
        let timeout = self.ctx.config.main.timeout;
        for conn in self.silent.drain(..) {
            self.shared.park(conn, Kind::Silent, true, timeout);
        }
        self.close_doomed();
    }

    /// Graceful: stop listening for good, close every idle keep-alive connection, cut
    /// lingering short; in-flight requests finish; exit when no connection is left.
    fn begin_dying(&mut self) {
        if self.dying {
            return;
        }
        self.dying = true;
        self.shared.stopping.store(true, Ordering::Relaxed);
        self.stop_listening();
        self.ctx.listeners.clear();
        let rec = self.ctx.scoreboard.process(self.ctx.slot);
        rec.quiescing.store(1, Ordering::Relaxed);
        {
            let mut t = self.shared.table();
            t.dying = true;
            let idle: Vec<usize> = t
                .slots
                .iter()
                .enumerate()
                .filter(|(_, p)| p.as_ref().is_some_and(|p| p.kind == Kind::KeepAlive))
                .map(|(i, _)| i)
                .collect();
            for idx in idle {
                if let Some(p) = unpark(&mut t, idx) {
                    self.doomed.push(p.conn);
                }
            }
        }
        self.close_doomed();
        // Workers stay until the last connection is gone (a write-completion wake-up still
        // needs one); they show `G` meanwhile.
        for t in 0..self.threads {
            let w = self.ctx.scoreboard.worker(self.ctx.slot, t);
            if w.own_state() == WorkerState::Ready {
                w.set_state(WorkerState::Graceful);
            }
        }
    }

    /// The process counters server-status shows (refreshed every pass).
    fn publish(&self) {
        let rec = self.ctx.scoreboard.process(self.ctx.slot);
        rec.connections.store(
            self.shared.connections.load(Ordering::Relaxed) as u32,
            Ordering::Relaxed,
        );
        let (ka, wc, li) = {
            let t = self.shared.table();
            (
                t.queues.len(Kind::KeepAlive),
                t.queues.len(Kind::WriteCompletion),
                t.queues.len(Kind::Linger),
            )
        };
        rec.keep_alive.store(ka as u32, Ordering::Relaxed);
        rec.write_completion.store(wc as u32, Ordering::Relaxed);
        rec.lingering_close.store(li as u32, Ordering::Relaxed);
    }
}

/// Takes a connection out of the table (its queue entry goes stale). Its socket stays in the
/// epoll set, disarmed, until it is parked again or closed.
fn unpark(t: &mut Table, idx: usize) -> Option<Parked> {
    let p = t.slots.get_mut(idx)?.take()?;
    t.queues.forget(p.kind);
    t.free.push(idx);
    Some(p)
}
