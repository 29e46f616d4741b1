//! The three engines that run in a child process (prefork, worker, event) over the listeners
//! the parent opened, and what they share: the child's context, the pipe of death, waiting on
//! a keep-alive connection, lingering close. Every engine calls the same connection driver and
//! acts on the `ConnOutcome` it returns; none knows HTTP.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::config::{MpmKind, ServerConfig};
use crate::conn::{ConnOutcome, Connection, ServeCtx};
use crate::scoreboard::{Scoreboard, WorkerSlot, WorkerState};

pub mod event;
pub mod listen;
pub mod prefork;
mod sys;
pub mod worker;

// The connection driver every engine calls.
pub(crate) use crate::conn::drive;

/// Child exit status: normal.
pub const EXIT_OK: i32 = 0;
/// Child exit status for a resource shortage (httpd's APEXIT_CHILDSICK).
pub const EXIT_CHILDSICK: i32 = 7;
/// Child exit status for an error that must bring the server down (APEXIT_CHILDFATAL).
pub const EXIT_CHILDFATAL: i32 = 15;

/// Everything a child needs, handed over by the supervisor right after fork.
pub struct ChildCtx {
    pub config: Arc<ServerConfig>,
    /// The child's own copies of the listening sockets (blocking mode as opened).
    pub listeners: Vec<TcpListener>,
    /// Read end of this generation's pipe of death (non-blocking): a byte `!` = one child
    /// stops gracefully, EOF = every child of the generation stops gracefully.
    pub pod: OwnedFd,
    pub scoreboard: &'static Scoreboard,
    pub slot: usize,
    pub generation: u32,
}

/// True once the parent wants `generation` gone (graceful restart) or the server is stopping
/// gracefully; every engine asks this through the scoreboard's global record.
pub(crate) fn generation_stopping(sb: &Scoreboard, generation: u32) -> bool {
    let g = sb.global();
    g.running_generation.load(Ordering::Acquire) != generation
        || g.shutdown_pending.load(Ordering::Relaxed) != 0
}

impl ChildCtx {
    /// True once the parent wants this child's generation gone (graceful restart) or the
    /// server is stopping gracefully: keep-alive is refused from then on.
    pub fn parent_says_stop(&self) -> bool {
        generation_stopping(self.scoreboard, self.generation)
    }

    pub fn max_connections(&self) -> Option<u64> {
        match self.config.mpm_config.max_connections_per_child {
            n if n > 0 => Some(n as u64),
            _ => None,
        }
    }
}

/// How long a child told to stop at once (SIGTERM) lets the requests it is answering or
/// logging finish before it flushes its logs and goes; httpd's parent sends the next
/// SIGTERM at 3 s.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// Immediate stop (SIGTERM) in a child, as httpd's: the requests it answered still get
/// their access-log lines and what BufferedLogs kept is written (mod_log_config flushes at
/// child exit), then the child dies of the signal as before. Requests read after the signal
/// are dropped unanswered (`conn::terminate`), so a busy child does not wait out the grace.
/// SIGTERM is blocked here, before any other thread exists, so every thread inherits the
/// mask; one small thread waits for it. The engines are not involved: the thread watches
/// this child's scoreboard slots.
fn watch_sigterm(sb: &'static Scoreboard, slot: usize) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("sigterm".into())
        .stack_size(64 << 10)
        .spawn(move || {
            while set.wait().is_err() {}
            // No request is taken on from here; those being answered (`W`, `L`, or an h2
            // stream in progress) finish and log.
            crate::conn::terminate();
            let busy = |t: usize| {
                matches!(
                    sb.worker(slot, t).state(),
                    WorkerState::BusyWrite | WorkerState::BusyLog
                )
            };
            let deadline = Instant::now() + TERM_GRACE;
            while Instant::now() < deadline && (0..sb.thread_limit()).any(busy) {
                std::thread::sleep(Duration::from_millis(2));
            }
            crate::modules::log_config::flush();
            // SIGTERM's action is still the default (reset after fork): unblocked in this
            // thread and raised here, it ends the process.
            let _ = set.thread_unblock();
            let _ = nix::sys::signal::raise(Signal::SIGTERM);
        });
    if spawned.is_err() {
        let _ = set.thread_unblock();
    }
}

/// Runs the configured engine in this child; returns the exit status.
pub fn run_child(ctx: ChildCtx) -> i32 {
    // Per-thread malloc arenas were most of a child's private heap growth (issue #4):
    // two are enough for a few dozen threads that mostly wait on sockets.
    sys::limit_malloc_arenas(2);
    watch_sigterm(ctx.scoreboard, ctx.slot);
    let code = match ctx.config.mpm {
        MpmKind::Prefork => prefork::child_main(ctx),
        MpmKind::Worker => worker::child_main(ctx),
        MpmKind::Event => event::child_main(ctx),
    };
    // BufferedLogs: what this child kept goes out before it exits.
    crate::modules::log_config::flush();
    code
}

/// Reads the pipe of death without blocking: true when this child must stop gracefully
/// (it took a `!`, or the parent closed the pipe).
pub fn pod_says_stop(pod: &OwnedFd) -> bool {
    let mut b = [0u8; 1];
    match nix::unistd::read(pod.as_raw_fd(), &mut b) {
        Ok(0) => true,
        Ok(_) => true,
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => false,
        Err(_) => true,
    }
}

/// Waits until `fd` is ready for `flags` or `timeout` passes; true when ready (or in error,
/// which the next read or write will report).
pub fn wait_ready(fd: &impl AsFd, flags: PollFlags, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), flags)];
        match poll(&mut fds, ms) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(nix::errno::Errno::EINTR) if !left.is_zero() => continue,
            Err(_) => return false,
        }
    }
}

/// The pipe of death as a prefork child watches it while a connection waits.
pub struct PodWatch<'a> {
    pub fd: &'a OwnedFd,
    /// Called once a token was read: the child is to stop after this connection.
    pub on_token: &'a dyn Fn(),
}

/// Waits for the next request on `stream` up to `timeout`, watching the pipe of death too:
/// a token read there is reported (the request that follows is answered with
/// `Connection: close`) and the wait goes on for the connection alone.
fn wait_request(stream: &TcpStream, pod: &PodWatch<'_>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [
            PollFd::new(stream.as_fd(), PollFlags::POLLIN),
            PollFd::new(pod.fd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, ms) {
            Ok(0) => return false,
            Ok(_) => {
                let conn_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
                let pod_ready = fds[1].revents().is_some_and(|r| !r.is_empty());
                if pod_ready && pod_says_stop(pod.fd) {
                    (pod.on_token)();
                    return conn_ready
                        || wait_ready(
                            stream,
                            PollFlags::POLLIN,
                            deadline.saturating_duration_since(Instant::now()),
                        );
                }
                if conn_ready {
                    return true;
                }
                // Another child took the token: keep waiting.
            }
            Err(nix::errno::Errno::EINTR) if !left.is_zero() => continue,
            Err(_) => return false,
        }
    }
}

/// Serves one connection to the end in the calling thread (prefork and worker): drive, wait
/// in place on keep-alive (`K`) up to the KeepAliveTimeout of the virtual host that answered
/// last, lingering close (`C`).
/// `stopping` is asked before each drive: true answers with `Connection: close`.
/// `pod` (prefork): the pipe of death is watched during keep-alive waits only, so a child does
/// not read it before every request; a token found there is handed to its callback.
pub fn serve_blocking(
    mut conn: Connection,
    config: &Arc<ServerConfig>,
    slot: &WorkerSlot<'static>,
    stopping: &dyn Fn() -> bool,
    pod: Option<PodWatch<'_>>,
) {
    slot.connection(&conn.peer);
    loop {
        let ctx = ServeCtx {
            config,
            observer: slot,
            stopping: stopping(),
        };
        match drive(&mut conn, &ctx) {
            ConnOutcome::KeepAlive => {
                if !conn.read_buf.is_empty() {
                    continue; // a pipelined request is already here
                }
                slot.set_state(WorkerState::BusyKeepalive);
                let keep_alive_timeout = conn
                    .keep_alive_timeout
                    .unwrap_or(config.main.keep_alive_timeout);
                let ready = match &pod {
                    Some(w) if !stopping() => wait_request(&conn.stream, w, keep_alive_timeout),
                    _ => wait_ready(&conn.stream, PollFlags::POLLIN, keep_alive_timeout),
                };
                if !ready {
                    break;
                }
            }
            ConnOutcome::WriteCompletion => {
                if !wait_ready(&conn.stream, PollFlags::POLLOUT, config.main.timeout) {
                    break;
                }
            }
            ConnOutcome::Linger => {
                slot.set_state(WorkerState::Closing);
                crate::conn::lingering_close(&conn.stream, false);
                break;
            }
            ConnOutcome::Close => break,
        }
    }
}

/// A new `Connection` for a socket `accept` returned with the client's address `peer`.
/// `local` is the listener's own address when it is bound to one IP (see `known_local`):
/// then no getsockname is needed. Nothing else is set per connection: on Linux accept4(2)
/// returns a blocking socket whatever the listener's mode, and TCP_NODELAY is inherited from
/// the listener, which `listen::Listener::open` sets (httpd counts on the same inheritance).
pub fn new_connection(
    stream: TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> Option<Connection> {
    let local = match local {
        Some(l) => l,
        None => stream.local_addr().ok()?,
    };
    Some(Connection {
        stream,
        peer,
        local,
        read_buf: Vec::new(),
        requests_served: 0,
        tls: None,
        keep_alive_timeout: None,
        sock_timeouts: Default::default(),
        proxied: None,
    })
}

/// Per listener, its address when bound to a single IP (every connection it accepts has that
/// local address), `None` for a wildcard (`Listen 80`), where getsockname tells.
pub fn known_local(listeners: &[TcpListener]) -> Vec<Option<SocketAddr>> {
    listeners
        .iter()
        .map(|l| l.local_addr().ok().filter(|a| !a.ip().is_unspecified()))
        .collect()
}

/// True for accept errors that mean "try again", not "this child is broken".
pub fn accept_error_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        WouldBlock | Interrupted | ConnectionAborted | ConnectionReset
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EPROTO) | Some(libc::ENETDOWN) | Some(libc::EHOSTUNREACH)
    )
}

/// accept(2) on a listening socket that was shut down (graceful-stop): the child must stop.
pub fn listener_gone(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// The calling thread's kernel thread id (what the scoreboard and the log show).
pub fn tid() -> i32 {
    nix::unistd::gettid().as_raw()
}
