//! worker: a listener thread (the child's main thread) accepts only while some worker is idle
//! and queues the connection; `ThreadsPerChild` worker threads each own a connection for its
//! whole life, keep-alive waits included. Graceful: the listener closes its sockets, marks the
//! process quiescing and closes the queue; idle workers leave at once, busy ones after their
//! connection.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use super::{
    accept_error_is_transient, listener_gone, new_connection, pod_says_stop, serve_blocking, tid,
    ChildCtx, EXIT_CHILDSICK, EXIT_OK,
};
use crate::ap_log;
use crate::config::ServerConfig;
use crate::conn::Connection;
use crate::scoreboard::{Scoreboard, WorkerState};

const POD: u64 = u64::MAX;

struct Queue {
    items: VecDeque<Connection>,
    /// Workers waiting for a connection.
    idle: usize,
    closed: bool,
}

struct Shared {
    q: Mutex<Queue>,
    /// Signalled when a connection is queued or the queue closes.
    work: Condvar,
    /// Signalled when a worker becomes idle.
    idle_cv: Condvar,
    stopping: AtomicBool,
    sb: &'static Scoreboard,
    generation: u32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
            || super::generation_stopping(self.sb, self.generation)
    }
}

/// Spawns `threads` worker threads over `shared`'s queue; returns their handles.
fn spawn_workers(
    shared: &Arc<Shared>,
    config: &Arc<ServerConfig>,
    slot: usize,
    threads: usize,
) -> Result<Vec<std::thread::JoinHandle<()>>, std::io::Error> {
    let stack = config.mpm_config.thread_stack_size;
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let shared = shared.clone();
        let config = config.clone();
        let mut b = std::thread::Builder::new().name(format!("worker-{t}"));
        if stack > 0 {
            b = b.stack_size(stack);
        }
        handles.push(b.spawn(move || worker_thread(&shared, &config, slot, t))?);
    }
    Ok(handles)
}

fn worker_thread(shared: &Shared, config: &Arc<ServerConfig>, slot: usize, t: usize) {
    let ws = shared.sb.slot(slot, t);
    ws.start(std::process::id() as i32, tid(), shared.generation);
    let stopping = || shared.stopping();
    loop {
        let conn = {
            let mut q = shared.lock();
            q.idle += 1;
            shared.idle_cv.notify_one();
            while q.items.is_empty() && !q.closed {
                q = shared.work.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            q.idle -= 1;
            q.items.pop_front()
        };
        match conn {
            Some(conn) => {
                serve_blocking(conn, config, &ws, &stopping, None);
                ws.set_state(if shared.stopping.load(Ordering::Relaxed) {
                    WorkerState::Graceful
                } else {
                    WorkerState::Ready
                });
            }
            None => break,
        }
    }
    ws.stop();
}

pub fn child_main(mut ctx: ChildCtx) -> i32 {
    let sb = ctx.scoreboard;
    let threads = (ctx.config.mpm_config.threads_per_child as usize).clamp(1, sb.thread_limit());
    let shared = Arc::new(Shared {
        q: Mutex::new(Queue {
            items: VecDeque::with_capacity(threads),
            idle: 0,
            closed: false,
        }),
        work: Condvar::new(),
        idle_cv: Condvar::new(),
        stopping: AtomicBool::new(false),
        sb,
        generation: ctx.generation,
    });
    let handles = match spawn_workers(&shared, &ctx.config, ctx.slot, threads) {
        Ok(h) => h,
        Err(e) => {
            ap_log!(
                alert,
                "mpm_worker",
                "AH00282: unable to create worker thread: {e}"
            );
            shutdown(&shared, Vec::new());
            return EXIT_CHILDSICK;
        }
    };
    let code = listener_loop(&mut ctx, &shared, threads);
    // Graceful: no more accepting, then let every connection finish.
    sb.process(ctx.slot).quiescing.store(1, Ordering::Relaxed);
    ctx.listeners.clear();
    shutdown(&shared, handles);
    crate::conn::drain_http2(ctx.config.main.timeout.min(Duration::from_secs(30)));
    code
}

fn shutdown(shared: &Shared, handles: Vec<std::thread::JoinHandle<()>>) {
    shared.stopping.store(true, Ordering::Relaxed);
    {
        let mut q = shared.lock();
        q.closed = true;
    }
    shared.work.notify_all();
    for h in handles {
        let _ = h.join();
    }
}

/// Accepts while a worker is idle and queues the connection; returns when the child must
/// stop (pipe of death, new generation, MaxConnectionsPerChild).
fn listener_loop(ctx: &mut ChildCtx, shared: &Shared, threads: usize) -> i32 {
    let epoll = match Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) {
        Ok(e) => e,
        Err(_) => return EXIT_CHILDSICK,
    };
    for (i, l) in ctx.listeners.iter().enumerate() {
        let ok = l.set_nonblocking(true).is_ok()
            && epoll
                .add(
                    l,
                    EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, i as u64),
                )
                .is_ok();
        if !ok {
            return EXIT_CHILDSICK;
        }
    }
    if epoll
        .add(&ctx.pod, EpollEvent::new(EpollFlags::EPOLLIN, POD))
        .is_err()
    {
        return EXIT_CHILDSICK;
    }
    let local = super::known_local(&ctx.listeners);
    let max = ctx.max_connections();
    let mut accepted: u64 = 0;
    let mut events = [EpollEvent::empty(); 8];
    let pod: &OwnedFd = &ctx.pod;
    loop {
        if shared.stopping() || max.is_some_and(|m| accepted >= m) {
            return EXIT_OK;
        }
        // Accept only with a worker free to take the connection.
        {
            let mut q = shared.lock();
            while q.idle <= q.items.len() {
                let (g, _) = shared
                    .idle_cv
                    .wait_timeout(q, Duration::from_millis(250))
                    .unwrap_or_else(|e| e.into_inner());
                q = g;
                if q.idle <= q.items.len() {
                    drop(q);
                    if pod_says_stop(pod) || shared.stopping() {
                        return EXIT_OK;
                    }
                    q = shared.lock();
                }
            }
        }
        let n = match epoll.wait(&mut events, EpollTimeout::from(1000u16)) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return EXIT_CHILDSICK,
        };
        for ev in &events[..n] {
            if ev.data() == POD {
                if pod_says_stop(pod) {
                    return EXIT_OK;
                }
                continue;
            }
            let i = ev.data() as usize;
            let Some(l) = ctx.listeners.get(i) else {
                continue;
            };
            match l.accept() {
                Ok((stream, peer)) => {
                    accepted += 1;
                    if let Some(conn) = new_connection(stream, peer, local[i]) {
                        let mut q = shared.lock();
                        if q.items.len() < threads {
                            q.items.push_back(conn);
                            shared.work.notify_one();
                        }
                    }
                    break; // re-check for an idle worker before the next accept
                }
                Err(e) if accept_error_is_transient(&e) => {}
                Err(e) if listener_gone(&e) => return EXIT_OK,
                Err(e) => {
                    ap_log!(error, "mpm_worker", "AH00268: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}
