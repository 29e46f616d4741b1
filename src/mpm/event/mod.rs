//! event: like worker, but the listener thread (the child's main thread) runs a mio poller
//! that also holds every connection waiting for something — a new connection's first bytes,
//! idle keep-alive, write completion, lingering close — in FIFO timeout queues (one per
//! timeout value), and hands a connection to a worker only when it is ready. A parked
//! connection keeps no read buffer and no thread. AsyncRequestWorkerFactor caps the
//! connections a process takes on; over the cap it stops accepting and says so in its
//! scoreboard slot (`not_accepting`), so the parent counts it out and other children take
//! the load.
//!
//! The hand-off costs little per request: a worker parks the connection it has answered
//! itself (shared table, socket re-armed one-shot in the listener's epoll set, listener not
//! woken); ready connections go to the workers in batches, waking one worker only when none
//! is on its way; threads start on demand and run SCHED_BATCH. See docs/performance.md
//! ("Event hand-off").

use std::collections::VecDeque;
use std::io::Read;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
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
const CONN_BASE: usize = 1 << 20;

/// httpd's linger limits: 30 s normally, 2 s when short (stopping, or after a timeout).
const LINGER_NORMAL: Duration = Duration::from_secs(30);
const LINGER_SHORT: Duration = Duration::from_secs(2);

/// A connection on its way to a worker.
struct Job {
    conn: Connection,
    /// Its socket is in the listener's epoll set already (disarmed): park it with a MOD.
    registered: bool,
    /// A new connection that sent nothing in time: the worker only logs it (httpd's 408
    /// line) and closes it, which the listener should not do itself (a log write may block).
    silent: bool,
}

/// The jobs and the idle workers. Idle workers sleep on their own park token and are woken
/// newest first (LIFO: a hot stack and cache), and only as many as needed: while a woken
/// worker has not yet taken a job (`woken > 0`) nobody else is woken for the next one; a
/// worker that takes a job and sees more queued wakes the next sleeper itself. So a batch of
/// ready connections on one core runs in one worker without a context switch per request,
/// and on more cores the workers fan out one after the other. Whenever jobs are queued and
/// a worker sleeps, at least one worker is woken, so a job never waits behind a busy one.
///
/// Threads start on demand: a child begins with one worker, and a job that finds no worker
/// asleep or on its way starts the next one (up to ThreadsPerChild), so a child that only
/// holds idle connections has few threads (each costs ~40 KiB of resident stack). The
/// threads not started yet are spare capacity like idle ones: they count as idle for
/// AsyncRequestWorkerFactor, and their scoreboard slots show `_` (Ready, no thread id), so
/// the parent's spare-thread count and server-status see the child's full capacity.
struct WorkQueue {
    jobs: VecDeque<Job>,
    /// Sleeping workers (indices into `Shared::workers`), most recent last.
    sleepers: Vec<usize>,
    /// Workers woken (or being started) that have not yet looked at the queue.
    woken: usize,
    /// Worker indices whose thread has not been started, next to start last.
    unstarted: Vec<usize>,
    closed: bool,
}

/// Which worker to get going for a queued job.
enum Pick {
    Wake(usize),
    Start(usize),
}

/// A worker's park token.
struct Sleeper {
    thread: OnceLock<Thread>,
    wake: AtomicBool,
}

/// Every parked connection, and their timeout queues. Workers park connections here
/// themselves (and arm their socket in the listener's epoll set); the listener takes them
/// out when they are ready or expire.
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
    q: Mutex<WorkQueue>,
    workers: Vec<Sleeper>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
    config: Arc<ServerConfig>,
    slot: usize,
    table: Mutex<Table>,
    /// The listener's epoll set (the mio `Poll`'s descriptor).
    epfd: RawFd,
    waker: Waker,
    /// Connections this process owns (in workers or parked), lingering ones included.
    connections: AtomicUsize,
    /// Set by the listener when it stopped accepting: workers wake it when they free up.
    not_accepting: AtomicBool,
    stopping: AtomicBool,
    sb: &'static Scoreboard,
    generation: u32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WorkQueue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
            || super::generation_stopping(self.sb, self.generation)
    }

    /// Takes the next sleeper off the stack, or else a thread to start (the caller acts on
    /// it once the lock is dropped).
    fn pick(q: &mut WorkQueue) -> Option<Pick> {
        if q.closed {
            return None;
        }
        let p = match q.sleepers.pop() {
            Some(w) => Pick::Wake(w),
            None => Pick::Start(q.unstarted.pop()?),
        };
        q.woken += 1;
        Some(p)
    }

    fn wake(self: &Arc<Self>, p: Option<Pick>) {
        match p {
            Some(Pick::Wake(w)) => {
                if let Some(s) = self.workers.get(w) {
                    s.wake.store(true, Ordering::Release);
                    if let Some(t) = s.thread.get() {
                        t.unpark();
                    }
                }
            }
            Some(Pick::Start(t)) => {
                if let Err(e) = self.start_worker(t) {
                    ap_log!(
                        alert,
                        "mpm_event",
                        "AH00480: unable to create worker thread: {e}"
                    );
                    let mut q = self.lock();
                    q.woken = q.woken.saturating_sub(1);
                    q.unstarted.push(t);
                }
            }
            None => {}
        }
    }

    fn start_worker(self: &Arc<Self>, t: usize) -> std::io::Result<()> {
        let shared = self.clone();
        let mut b = std::thread::Builder::new().name(format!("worker-{t}"));
        if self.config.mpm_config.thread_stack_size > 0 {
            b = b.stack_size(self.config.mpm_config.thread_stack_size);
        }
        let h = b.spawn(move || worker_thread(&shared, t))?;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
        Ok(())
    }

    /// Queues jobs for the workers, waking one when none is on its way.
    fn dispatch(self: &Arc<Self>, jobs: impl IntoIterator<Item = Job>) {
        let w = {
            let mut q = self.lock();
            q.jobs.extend(jobs);
            if q.woken == 0 && !q.jobs.is_empty() {
                Self::pick(&mut q)
            } else {
                None
            }
        };
        self.wake(w);
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
            Kind::WriteCompletion => Arm::Writable,
            _ => Arm::Readable,
        };
        // Armed under the lock: the listener cannot expire (close) it before it is armed,
        // and an event for it cannot be seen before it is in the table.
        if arm_oneshot(self.epfd, fd, CONN_BASE + idx, what, registered).is_err() {
            t.free.push(idx);
            drop(t);
            drop(conn);
            self.closed_one();
            return;
        }
        t.serial += 1;
        let serial = t.serial;
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

    fn closed_one(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
        if self.not_accepting.load(Ordering::Relaxed) || self.stopping.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
    }
}

fn worker_thread(shared: &Arc<Shared>, t: usize) {
    let config = &shared.config;
    let ws = shared.sb.slot(shared.slot, t);
    ws.start(std::process::id() as i32, tid(), shared.generation);
    let me = &shared.workers[t];
    let _ = me.thread.set(std::thread::current());
    // No wake-up preemption between the child's threads (see `child_main`).
    let _ = super::sys::sched_batch_this_thread();
    let mut q = shared.lock();
    // Started for a job like a woken sleeper.
    q.woken = q.woken.saturating_sub(1);
    loop {
        let Some(job) = q.jobs.pop_front() else {
            if q.closed {
                break;
            }
            q.sleepers.push(t);
            drop(q);
            while !me.wake.swap(false, Ordering::Acquire) {
                std::thread::park();
            }
            q = shared.lock();
            q.woken = q.woken.saturating_sub(1);
            continue;
        };
        // More work queued and nobody on the way for it: wake the next sleeper.
        let w = if q.woken == 0 && !q.jobs.is_empty() {
            Shared::pick(&mut q)
        } else {
            None
        };
        drop(q);
        shared.wake(w);
        serve(shared, config, &ws, job);
        ws.set_state(if shared.stopping.load(Ordering::Relaxed) {
            WorkerState::Graceful
        } else {
            WorkerState::Ready
        });
        if shared.not_accepting.load(Ordering::Relaxed) {
            // The listener re-counts idle workers to accept again.
            let _ = shared.waker.wake();
        }
        q = shared.lock();
    }
    drop(q);
    ws.stop();
}

fn serve(shared: &Shared, config: &Arc<ServerConfig>, ws: &WorkerSlot<'static>, job: Job) {
    let Job {
        mut conn,
        registered,
        silent,
    } = job;
    if conn.requests_served == 0 {
        ws.connection(&conn.peer);
    }
    if silent {
        ws.set_state(WorkerState::BusyLog);
        crate::conn::log_silent_timeout(&conn, config);
        drop(conn);
        shared.closed_one();
        return;
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
                    start_linger(shared, conn, registered);
                } else {
                    // Park it without its buffer: an idle connection costs no memory
                    // beyond its socket.
                    conn.read_buf = Vec::new();
                    // The KeepAliveTimeout of the virtual host that answered last.
                    let timeout = conn
                        .keep_alive_timeout
                        .unwrap_or(config.main.keep_alive_timeout);
                    shared.park(conn, Kind::KeepAlive, registered, timeout);
                }
            }
            ConnOutcome::WriteCompletion => {
                ws.set_state(WorkerState::BusyWrite);
                shared.park(conn, Kind::WriteCompletion, registered, config.main.timeout);
            }
            ConnOutcome::Linger => {
                ws.set_state(WorkerState::Closing);
                start_linger(shared, conn, registered);
            }
            ConnOutcome::Close => {
                drop(conn);
                shared.closed_one();
            }
        }
        break;
    }
}

/// Lingering close without blocking a worker: stop sending, drain what is there, and park the
/// rest of the wait with the listener.
fn start_linger(shared: &Shared, mut conn: Connection, registered: bool) {
    if conn.stream.shutdown(Shutdown::Write).is_err() || !drain(&mut conn) {
        drop(conn);
        shared.closed_one();
        return;
    }
    conn.read_buf = Vec::new();
    shared.park(conn, Kind::Linger, registered, LINGER_NORMAL);
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
    /// Connections found ready in this pass, handed to the workers in one go.
    ready: Vec<Job>,
    /// Connections to close (expired, or idle when stopping), closed outside the lock.
    doomed: Vec<Connection>,
}

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
    let shared = Arc::new(Shared {
        q: Mutex::new(WorkQueue {
            jobs: VecDeque::new(),
            sleepers: Vec::with_capacity(threads),
            woken: 0,
            unstarted: (0..threads).rev().collect(),
            closed: false,
        }),
        workers: (0..threads)
            .map(|_| Sleeper {
                thread: OnceLock::new(),
                wake: AtomicBool::new(false),
            })
            .collect(),
        handles: Mutex::new(Vec::with_capacity(threads)),
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
        epfd: poll.as_raw_fd(),
        waker,
        connections: AtomicUsize::new(0),
        not_accepting: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        sb,
        generation: ctx.generation,
    });
    // Threads not started yet show as idle capacity (see `WorkQueue`).
    let pid = std::process::id() as i32;
    for t in 0..threads {
        sb.slot(ctx.slot, t).start(pid, 0, ctx.generation);
    }
    // The first worker now; the others when jobs find no idle one.
    let first = {
        let mut q = shared.lock();
        Shared::pick(&mut q)
    };
    if let Some(Pick::Start(t)) = first {
        if let Err(e) = shared.start_worker(t) {
            ap_log!(
                alert,
                "mpm_event",
                "AH00480: unable to create worker thread: {e}"
            );
            return EXIT_CHILDSICK;
        }
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
        ready: Vec::new(),
        doomed: Vec::new(),
    };
    // The listener and the workers run SCHED_BATCH: the same CPU share as SCHED_OTHER, but
    // a thread that wakes up (the listener on readiness, a worker handed a job) does not
    // preempt the one running. On a busy core the running worker finishes its request and
    // takes the next queued one instead of being switched out at every wake-up: context
    // switches per keep-alive request went from ~0.55 to ~0.1 on one core. On an idle core
    // the woken thread runs at once, as before.
    let _ = super::sys::sched_batch_this_thread();
    let code = l.run();
    close_queue(&shared);
    loop {
        let hs = std::mem::take(&mut *shared.handles.lock().unwrap_or_else(|e| e.into_inner()));
        if hs.is_empty() {
            break;
        }
        for h in hs {
            let _ = h.join();
        }
    }
    for t in std::mem::take(&mut shared.lock().unstarted) {
        sb.slot(l.ctx.slot, t).stop();
    }
    // Whatever is still parked (lingering connections at exit) closes with the table.
    crate::conn::drain_http2(l.ctx.config.main.timeout.min(Duration::from_secs(30)));
    code
}

fn close_queue(shared: &Arc<Shared>) {
    shared.stopping.store(true, Ordering::Relaxed);
    let all: Vec<usize> = {
        let mut q = shared.lock();
        q.closed = true;
        let all: Vec<usize> = q.sleepers.drain(..).collect();
        q.woken += all.len();
        all
    };
    for w in all {
        shared.wake(Some(Pick::Wake(w)));
    }
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
            let mut conns = events
                .iter()
                .filter(|e| e.token().0 >= CONN_BASE && e.token() != POD && e.token() != WAKER)
                .peekable();
            if conns.peek().is_some() {
                let mut t = self.shared.table();
                for ev in conns {
                    on_ready(
                        &self.shared,
                        &mut t,
                        ev.token().0 - CONN_BASE,
                        &mut self.ready,
                        &mut self.doomed,
                    );
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
                    Token(t) if t >= CONN_BASE => {}
                    Token(i) => {
                        if let Some(p) = self.accept_pending.get_mut(i) {
                            *p = true;
                        }
                    }
                }
            }
            if !self.ready.is_empty() {
                self.shared.dispatch(self.ready.drain(..));
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

    /// AsyncRequestWorkerFactor: over the limit when no worker is idle, or when the
    /// connections not lingering reach `ThreadsPerChild + idle × factor`.
    /// A new connection waiting for its first bytes has a worker reserved: it is not
    /// counted idle (as in httpd, where it would already sit in one).
    fn over_limit(&self) -> bool {
        let (lingering, fresh) = {
            let t = self.shared.table();
            (t.queues.len(Kind::Linger), t.queues.len(Kind::Accepted))
        };
        let idle = {
            let q = self.shared.lock();
            (q.sleepers.len() + q.woken + q.unstarted.len()).saturating_sub(q.jobs.len() + fresh)
        };
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
                    if let Some(p) = unpark(&mut t, idx) {
                        if p.kind == Kind::Accepted {
                            self.ready.push(Job {
                                conn: p.conn,
                                registered: true,
                                silent: true,
                            });
                        } else {
                            self.doomed.push(p.conn);
                        }
                    }
                }
            }
        }
        if !self.ready.is_empty() {
            self.shared.dispatch(self.ready.drain(..));
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

/// A parked connection is ready (its one-shot registration fired, so it is disarmed).
fn on_ready(
    shared: &Shared,
    t: &mut Table,
    idx: usize,
    ready: &mut Vec<Job>,
    doomed: &mut Vec<Connection>,
) {
    let Some(p) = t.slots.get_mut(idx).and_then(|p| p.as_mut()) else {
        return;
    };
    if p.kind == Kind::Linger {
        // Throw the input away; the connection stays parked until EOF or its time is up.
        if drain(&mut p.conn)
            && p.since.elapsed() < LINGER_NORMAL
            && arm_oneshot(
                shared.epfd,
                p.conn.stream.as_raw_fd(),
                CONN_BASE + idx,
                Arm::Readable,
                true,
            )
            .is_ok()
        {
            return;
        }
        if let Some(p) = unpark(t, idx) {
            doomed.push(p.conn);
        }
        return;
    }
    if let Some(p) = unpark(t, idx) {
        // Never close an idle keep-alive early because the workers are busy: it waits in
        // the queue for the next free worker (httpd would close it here).
        ready.push(Job {
            conn: p.conn,
            registered: true,
            silent: false,
        });
    }
}
