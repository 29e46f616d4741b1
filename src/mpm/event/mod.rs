//! event: like worker, but the listener thread (the child's main thread) runs a mio poller
//! that also holds every connection waiting for something — idle keep-alive, write
//! completion, lingering close — in FIFO timeout queues (one per timeout value), and hands a
//! connection to a worker only when it is ready. A parked connection keeps no read buffer and
//! no thread. AsyncRequestWorkerFactor caps the connections a process takes on; over the cap
//! it stops accepting and says so in its scoreboard slot (`not_accepting`), so the parent
//! counts it out and other children take the load.

use std::collections::VecDeque;
use std::io::Read;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::{
    accept_error_is_transient, drive, listener_gone, new_connection, pod_says_stop, tid, ChildCtx,
    EXIT_CHILDSICK, EXIT_OK,
};
use crate::ap_log;
use crate::config::ServerConfig;
use crate::conn::{ConnOutcome, Connection, ServeCtx};
use crate::scoreboard::{Scoreboard, WorkerState};

mod queues;

use queues::{Kind, TimeoutQueues};

const POD: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const CONN_BASE: usize = 1 << 20;

/// httpd's linger limits: 30 s normally, 2 s when short (stopping, or after a timeout).
const LINGER_NORMAL: Duration = Duration::from_secs(30);
const LINGER_SHORT: Duration = Duration::from_secs(2);

/// A connection a worker hands back to the listener, and what it waits for.
struct Returned {
    conn: Connection,
    kind: Kind,
}

struct WorkQueue {
    jobs: VecDeque<Connection>,
    idle: usize,
    closed: bool,
}

struct Shared {
    q: Mutex<WorkQueue>,
    work: Condvar,
    returns: Mutex<Vec<Returned>>,
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

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
            || super::generation_stopping(self.sb, self.generation)
    }

    fn hand_back(&self, conn: Connection, kind: Kind) {
        self.returns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Returned { conn, kind });
        let _ = self.waker.wake();
    }

    fn closed_one(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
        if self.not_accepting.load(Ordering::Relaxed) || self.stopping.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
    }
}

fn worker_thread(shared: &Shared, config: &Arc<ServerConfig>, slot: usize, t: usize) {
    let ws = shared.sb.slot(slot, t);
    ws.start(std::process::id() as i32, tid(), shared.generation);
    loop {
        let job = {
            let mut q = shared.lock();
            q.idle += 1;
            while q.jobs.is_empty() && !q.closed {
                q = shared.work.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            q.idle -= 1;
            q.jobs.pop_front()
        };
        let Some(mut conn) = job else { break };
        if conn.requests_served == 0 {
            ws.connection(&conn.peer);
        }
        // Sockets arrive blocking (new_connection) and stay so while parked (mio does not
        // change the mode); the driver copes with a non-blocking one anyway. No fcntl here.
        loop {
            let ctx = ServeCtx {
                config,
                observer: &ws,
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
                        conn.read_buf = Vec::new();
                        shared.hand_back(conn, Kind::KeepAlive);
                    }
                }
                ConnOutcome::WriteCompletion => {
                    ws.set_state(WorkerState::BusyWrite);
                    shared.hand_back(conn, Kind::WriteCompletion);
                }
                ConnOutcome::Linger => {
                    ws.set_state(WorkerState::Closing);
                    start_linger(shared, conn);
                }
                ConnOutcome::Close => {
                    drop(conn);
                    shared.closed_one();
                }
            }
            break;
        }
        ws.set_state(if shared.stopping.load(Ordering::Relaxed) {
            WorkerState::Graceful
        } else {
            WorkerState::Ready
        });
    }
    ws.stop();
}

/// Lingering close without blocking a worker: stop sending, drain what is there, and park the
/// rest of the wait with the listener.
fn start_linger(shared: &Shared, mut conn: Connection) {
    if conn.stream.shutdown(Shutdown::Write).is_err() || !drain(&mut conn) {
        drop(conn);
        shared.closed_one();
        return;
    }
    conn.read_buf = Vec::new();
    shared.hand_back(conn, Kind::Linger);
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

/// One parked connection.
struct Parked {
    conn: Connection,
    kind: Kind,
    serial: u64,
    /// When lingering began (the 30 s limit covers the whole linger).
    since: Instant,
}

struct Listener {
    ctx: ChildCtx,
    shared: Arc<Shared>,
    poll: Poll,
    parked: Vec<Option<Parked>>,
    free: Vec<usize>,
    queues: TimeoutQueues,
    serial: u64,
    accept_pending: Vec<bool>,
    listening: bool,
    threads: usize,
    factor: usize,
    accepted: u64,
    dying: bool,
    /// After a resource error from accept (EMFILE, ENFILE, ENOBUFS …): no accept before this
    /// instant, then retry even without a new edge on the listener (the queued connections
    /// are still there; an edge-triggered listener would not wake us for them).
    accept_backoff: Option<Instant>,
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
            idle: 0,
            closed: false,
        }),
        work: Condvar::new(),
        returns: Mutex::new(Vec::new()),
        waker,
        connections: AtomicUsize::new(0),
        not_accepting: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        sb,
        generation: ctx.generation,
    });
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let shared2 = shared.clone();
        let config = ctx.config.clone();
        let slot = ctx.slot;
        let mut b = std::thread::Builder::new().name(format!("worker-{t}"));
        if ctx.config.mpm_config.thread_stack_size > 0 {
            b = b.stack_size(ctx.config.mpm_config.thread_stack_size);
        }
        match b.spawn(move || worker_thread(&shared2, &config, slot, t)) {
            Ok(h) => handles.push(h),
            Err(e) => {
                ap_log!(
                    alert,
                    "mpm_event",
                    "AH00480: unable to create worker thread: {e}"
                );
                close_queue(&shared);
                for h in handles {
                    let _ = h.join();
                }
                return EXIT_CHILDSICK;
            }
        }
    }
    let factor = (ctx.config.mpm_config.async_request_worker_factor.floor() as usize).max(1);
    let n = ctx.listeners.len();
    let mut l = Listener {
        ctx,
        shared: shared.clone(),
        poll,
        parked: Vec::new(),
        free: Vec::new(),
        queues: TimeoutQueues::default(),
        serial: 0,
        accept_pending: vec![true; n],
        listening: false,
        threads,
        factor,
        accepted: 0,
        dying: false,
        accept_backoff: None,
    };
    let code = l.run();
    close_queue(&shared);
    for h in handles {
        let _ = h.join();
    }
    crate::conn::drain_http2(l.ctx.config.main.timeout.min(Duration::from_secs(30)));
    code
}

fn close_queue(shared: &Shared) {
    shared.stopping.store(true, Ordering::Relaxed);
    shared.lock().closed = true;
    shared.work.notify_all();
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
            let timeout = self
                .queues
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1))
                .min(
                    self.accept_backoff
                        .map(|t| t.saturating_duration_since(Instant::now()))
                        .unwrap_or(Duration::MAX),
                );
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
                    Token(t) if t >= CONN_BASE => self.ready(t - CONN_BASE),
                    Token(i) => {
                        if let Some(p) = self.accept_pending.get_mut(i) {
                            *p = true;
                        }
                    }
                }
            }
            self.take_returns();
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
    fn over_limit(&self) -> bool {
        let idle = {
            let q = self.shared.lock();
            q.idle.saturating_sub(q.jobs.len())
        };
        if idle == 0 {
            return true;
        }
        let lingering = self.queues.len(Kind::Linger);
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
                Ok((stream, _)) => {
                    self.accepted += 1;
                    if let Some(conn) = new_connection(stream) {
                        self.shared.connections.fetch_add(1, Ordering::AcqRel);
                        self.dispatch(conn);
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

    fn dispatch(&self, conn: Connection) {
        self.shared.lock().jobs.push_back(conn);
        self.shared.work.notify_one();
    }

    fn close(&self, conn: Connection) {
        drop(conn);
        self.shared.closed_one();
    }

    fn take_returns(&mut self) {
        let returned = std::mem::take(
            &mut *self
                .shared
                .returns
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for Returned { conn, kind } in returned {
            if self.dying && kind == Kind::KeepAlive {
                self.close(conn);
                continue;
            }
            self.park(conn, kind);
        }
    }

    fn timeout_of(&self, kind: Kind) -> Duration {
        match kind {
            Kind::KeepAlive => self.ctx.config.main.keep_alive_timeout,
            Kind::WriteCompletion => self.ctx.config.main.timeout,
            Kind::Linger if self.dying => LINGER_SHORT,
            Kind::Linger => LINGER_NORMAL,
        }
    }

    fn park(&mut self, conn: Connection, kind: Kind) {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.parked.push(None);
                self.parked.len() - 1
            }
        };
        let interest = match kind {
            Kind::WriteCompletion => Interest::WRITABLE,
            _ => Interest::READABLE,
        };
        if self
            .poll
            .registry()
            .register(
                &mut SourceFd(&conn.stream.as_raw_fd()),
                Token(CONN_BASE + idx),
                interest,
            )
            .is_err()
        {
            self.free.push(idx);
            self.close(conn);
            return;
        }
        self.serial += 1;
        let now = Instant::now();
        self.queues
            .push(kind, self.timeout_of(kind), now, idx, self.serial);
        self.parked[idx] = Some(Parked {
            conn,
            kind,
            serial: self.serial,
            since: now,
        });
    }

    fn unpark(&mut self, idx: usize) -> Option<Parked> {
        let p = self.parked.get_mut(idx)?.take()?;
        let _ = self
            .poll
            .registry()
            .deregister(&mut SourceFd(&p.conn.stream.as_raw_fd()));
        self.queues.forget(p.kind);
        self.free.push(idx);
        Some(p)
    }

    /// A parked connection is ready.
    fn ready(&mut self, idx: usize) {
        let Some(p) = self.parked.get_mut(idx).and_then(|p| p.as_mut()) else {
            return;
        };
        if p.kind == Kind::Linger {
            // Throw the input away; the connection stays parked until EOF or its time is up.
            if drain(&mut p.conn) && p.since.elapsed() < LINGER_NORMAL {
                return;
            }
            if let Some(p) = self.unpark(idx) {
                self.close(p.conn);
            }
            return;
        }
        if let Some(p) = self.unpark(idx) {
            // Never close an idle keep-alive early because the workers are busy: it waits in
            // the queue for the next free worker (httpd would close it here).
            self.dispatch(p.conn);
        }
    }

    /// Closes what has waited too long, oldest first per queue.
    fn expire(&mut self) {
        let now = Instant::now();
        while let Some((idx, serial)) = self.queues.pop_expired(now) {
            let current = self
                .parked
                .get(idx)
                .and_then(|p| p.as_ref())
                .is_some_and(|p| p.serial == serial);
            if current {
                if let Some(p) = self.unpark(idx) {
                    self.close(p.conn);
                }
            }
        }
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
        let idle: Vec<usize> = self
            .parked
            .iter()
            .enumerate()
            .filter(|(_, p)| p.as_ref().is_some_and(|p| p.kind == Kind::KeepAlive))
            .map(|(i, _)| i)
            .collect();
        for idx in idle {
            if let Some(p) = self.unpark(idx) {
                self.close(p.conn);
            }
        }
        // Workers stay until the last connection is gone (a write-completion wake-up still
        // needs one); they show `G` meanwhile.
        for t in 0..self.threads {
            let w = self.ctx.scoreboard.worker(self.ctx.slot, t);
            if w.state() == WorkerState::Ready {
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
        rec.keep_alive
            .store(self.queues.len(Kind::KeepAlive) as u32, Ordering::Relaxed);
        rec.write_completion.store(
            self.queues.len(Kind::WriteCompletion) as u32,
            Ordering::Relaxed,
        );
        rec.lingering_close
            .store(self.queues.len(Kind::Linger) as u32, Ordering::Relaxed);
    }
}
