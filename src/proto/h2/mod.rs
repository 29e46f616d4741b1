//! HTTP/2 with the h2 crate on tokio, kept inside the children (DESIGN.md contract 6).
//!
//! Where an HTTP/2 connection lives:
//! - **worker and event**: the driver hands the socket (and its TLS session) to the child's h2
//!   runtime — one current-thread tokio runtime on one thread, started in the child on the
//!   first HTTP/2 connection (never in the parent) — and returns `Close` to the engine, which
//!   drops only its duplicate of the descriptor. An idle HTTP/2 connection is then a parked
//!   future on that thread and holds no MPM worker. Each stream's request runs the same
//!   pipeline as HTTP/1 (`modules::process`) on tokio's blocking pool, capped at httpd's
//!   `H2MaxWorkers` default (max(4, 1.5 × ThreadsPerChild)), so a slow stream never stalls
//!   another.
//! - **prefork**: the connection is served in place on a current-thread runtime of the
//!   process, no extra thread: the pipeline runs on the runtime thread itself, so requests are
//!   processed one at a time, while responses already made are still sent interleaved (a
//!   stream stalled by flow control does not hold up the others). AH10034 is logged at
//!   startup.
//!
//! Scoreboard: the streams of a connection report into the slot of the worker that took it
//! over (`glue::Shared::slot`), which reads `W` while any of them is served; see
//! `scoreboard`'s module comment for why that slot can take a second writer.
//!
//! h2c: prior knowledge (the preface on a cleartext connection, `H2Direct`) and
//! `Upgrade: h2c` on an HTTP/1.1 request without a body (`H2Upgrade`, see `upgrade`): 101,
//! then the request is answered on stream 1.

mod batch;
mod glue;
mod server;
mod tls_io;
mod upgrade;

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::config::{MpmKind, ServerConf, ServerConfig};
use crate::conn::{ConnOutcome, Connection, ServeCtx};

pub use glue::{RequestParts, ResponseBody, ResponseParts};

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Does this server take h2c by prior knowledge? (`Protocols … h2c …`, `H2Direct` not off.)
pub fn direct_allowed(config: &ServerConfig, server: &ServerConf) -> bool {
    config.modules.contains(&"http2")
        && server.protocols.iter().any(|p| p == "h2c")
        && server.h2.direct != Some(false)
}

/// What the first bytes of a fresh cleartext connection say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preface {
    /// The HTTP/2 preface (or its first four bytes, `PRI `: no HTTP/1 method is called PRI).
    Http2,
    /// Anything else: HTTP/1 parsing starts from the first byte (nothing was consumed).
    /// The bytes peeked at (up to 24): httpd's mod_logio counts its peek in the first
    /// request's `%I`.
    Other(usize),
    /// A non-blocking socket with nothing to read yet: wait for readability.
    NotYet,
    /// EOF, an error, or nothing within `timeout`.
    Gone,
}

/// Peeks at a fresh cleartext connection without consuming anything. A blocking socket waits
/// up to `timeout` for the first bytes; a non-blocking one answers `NotYet` at once.
pub fn sees_preface(stream: &TcpStream, timeout: Duration) -> Preface {
    use nix::sys::socket::{recv, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 24];
    // The first bytes are usually there already: one non-blocking peek, no timeout to set.
    let mut flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    let start = std::time::Instant::now();
    // Bounded: a client trickling fewer than 4 bytes is given the server Timeout.
    for _ in 0..1000 {
        let peeked = recv(stream.as_raw_fd(), &mut buf, flags).map_err(std::io::Error::from);
        if flags.contains(MsgFlags::MSG_DONTWAIT)
            && matches!(&peeked, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        {
            // From here on as the socket's mode says, within `timeout`.
            flags = MsgFlags::MSG_PEEK;
            let _ = stream.set_read_timeout(Some(timeout));
            continue;
        }
        let n = match peeked {
            Ok(0) => return Preface::Gone,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // SO_RCVTIMEO expiring also reads as WouldBlock on Linux.
                return if start.elapsed() >= timeout {
                    Preface::Gone
                } else {
                    Preface::NotYet
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Preface::Gone,
        };
        if buf[..n] != PREFACE[..n] {
            return Preface::Other(n);
        }
        if n >= 4 {
            return Preface::Http2;
        }
        if start.elapsed() > timeout {
            return Preface::Gone;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Preface::Gone
}

/// Settings of one HTTP/2 connection, from the server its address defaults to.
#[derive(Clone, Debug)]
pub struct Settings {
    pub max_streams: u32,
    pub window_size: u32,
    /// Close an HTTP/2 connection idle this long (httpd uses KeepAliveTimeout).
    pub idle_timeout: Duration,
    /// Handshake and per-read timeout (`Timeout`).
    pub timeout: Duration,
    /// prefork: run the pipeline on the runtime thread, one request at a time.
    pub serial: bool,
}

/// Takes over an HTTP/2 connection (see the module comment for where it then lives).
/// The engine gets `Close`: nothing is left for it to do.
pub fn serve(conn: &mut Connection, ctx: &ServeCtx<'_>) -> ConnOutcome {
    let tls = conn.tls.take().map(|t| {
        let t = *t;
        (t.conn, t.ssl)
    });
    take_over(
        &conn.stream,
        (conn.peer, conn.proxied),
        conn.local,
        tls,
        None,
        ctx,
    )
}

/// The HTTP/1 driver's hook for `Upgrade: h2c`: `None` when this request is not one we
/// upgrade (serve it over HTTP/1.1); otherwise 101 was sent and the connection, with the
/// request as stream 1 and `read_buf`'s bytes (already read past the request), went to
/// HTTP/2 as in `serve`.
pub fn upgrade_h2c(
    stream: &TcpStream,
    peer: (std::net::SocketAddr, Option<std::net::SocketAddr>),
    local: std::net::SocketAddr,
    head: &crate::proto::h1::Head,
    read_buf: &mut Vec<u8>,
    ctx: &ServeCtx<'_>,
) -> Option<ConnOutcome> {
    head.header("HTTP2-Settings")?;
    let config: &ServerConfig = ctx.config;
    let server = crate::modules::vhost::default_for(config, &local);
    if !config.modules.contains(&"http2")
        || !server.protocols.iter().any(|p| p == "h2c")
        || server.h2.upgrade == Some(false)
        || config.tls.port_for(local).is_some()
    {
        return None;
    }
    let up = upgrade::candidate(head)?;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(server.timeout));
    let reply = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    if std::io::Write::write_all(&mut &*stream, reply).is_err() {
        return Some(ConnOutcome::Close);
    }
    let early = std::mem::take(read_buf);
    Some(take_over(stream, peer, local, None, Some((up, early)), ctx))
}

/// `peer` is the connection's peer with the client its PROXY header named, if any.
fn take_over(
    stream: &TcpStream,
    (peer, proxied): (std::net::SocketAddr, Option<std::net::SocketAddr>),
    local: std::net::SocketAddr,
    tls: Option<(rustls::ServerConnection, crate::tls::ConnSsl)>,
    upgraded: Option<(upgrade::Upgraded, Vec<u8>)>,
    ctx: &ServeCtx<'_>,
) -> ConnOutcome {
    let config = ctx.config.clone();
    let server = crate::modules::vhost::default_for(&config, &local);
    let serial = config.mpm == MpmKind::Prefork;
    let settings = Settings {
        max_streams: server.h2.max_session_streams,
        window_size: server.h2.window_size,
        idle_timeout: if server.keep_alive {
            server.keep_alive_timeout
        } else {
            server.timeout
        },
        timeout: server.timeout,
        serial,
    };
    let slot = ctx.observer.slot();
    let protocol: &[u8] = if tls.is_some() { b"h2" } else { b"h2c" };
    if let Some(slot) = &slot {
        slot.h2_connection(protocol);
    }
    let shared = Arc::new(glue::Shared {
        config: config.clone(),
        peer,
        proxied,
        local,
        slot,
        protocol,
        sni: tls
            .as_ref()
            .and_then(|(t, _)| t.server_name())
            .map(Box::from),
        ssl: tls.as_ref().map(|(c, s)| s.clone().with_session_id(c)),
    });
    let tls = tls.map(|(t, _)| t);
    ctx.observer.state(crate::scoreboard::WorkerState::BusyRead);
    let _ = stream.set_read_timeout(None);
    let _ = stream.set_write_timeout(None);
    if serial {
        let Ok(stream) = stream.try_clone() else {
            return ConnOutcome::Close;
        };
        thread_local! {
            static RT: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok();
        }
        RT.with(|rt| {
            if let Some(rt) = rt {
                rt.block_on(server::serve_connection(
                    stream, tls, upgraded, settings, shared,
                ));
            }
        });
        return ConnOutcome::Close;
    }
    // The engine closes its descriptor; the runtime keeps this duplicate.
    let Ok(stream) = stream.try_clone() else {
        return ConnOutcome::Close;
    };
    match runtime(&config) {
        Some(handle) => {
            handle.spawn(server::serve_connection(
                stream, tls, upgraded, settings, shared,
            ));
        }
        None => tracing::error!("AH10020: could not start the HTTP/2 runtime of this child"),
    }
    ConnOutcome::Close
}

/// The child's HTTP/2 runtime: one thread running a current-thread tokio runtime, plus
/// tokio's blocking pool for the request pipeline. Started on first use, in the child.
fn runtime(config: &ServerConfig) -> Option<tokio::runtime::Handle> {
    static RT: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RT.get_or_init(|| {
        let min = config.mpm_config.threads_per_child.max(1) as usize;
        let max_workers = (min * 3 / 2).max(4);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(max_workers)
            .thread_name("mpmd-h2")
            .build()
            .ok()?;
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("mpmd-h2".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .ok()?;
        Some(handle)
    })
    .clone()
}

static DRAIN: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn drain_notify() -> &'static tokio::sync::Notify {
    static N: OnceLock<tokio::sync::Notify> = OnceLock::new();
    N.get_or_init(tokio::sync::Notify::new)
}

fn draining() -> bool {
    DRAIN.load(Ordering::Acquire)
}

/// Resolves once `graceful_shutdown` was called.
async fn drain_signal() {
    loop {
        let n = drain_notify().notified();
        if draining() {
            return;
        }
        n.await;
    }
}

/// Counts the HTTP/2 connections of this process while they live.
struct Live;

impl Live {
    fn enter() -> Live {
        LIVE.fetch_add(1, Ordering::AcqRel);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// For a child that is stopping (graceful stop or restart): every HTTP/2 connection of the
/// process sends GOAWAY, lets its open streams finish and closes. Blocks until none is left
/// or `within` has passed; returns how many were still open. Engines call this before the
/// child exits so that HTTP/2 clients are not cut mid-stream.
pub fn graceful_shutdown(within: Duration) -> usize {
    DRAIN.store(true, Ordering::Release);
    drain_notify().notify_waiters();
    let deadline = Instant::now() + within;
    while LIVE.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    LIVE.load(Ordering::Acquire)
}

/// HTTP/2 connections open in this process (served or handed to the h2 runtime).
pub fn live_connections() -> usize {
    LIVE.load(Ordering::Acquire)
}
