//! The connection driver: serves the requests of one connection until it must wait, then hands
//! the connection back with what it waits for (`ConnOutcome`). No engine knows HTTP; no
//! protocol code knows which engine runs it (DESIGN.md contract 1).

mod driver;
mod proxy;
mod sys;

/// For a stopping child: GOAWAY to its HTTP/2 connections, wait for their streams (bounded).
pub use crate::proto::h2::graceful_shutdown as drain_http2;
pub use driver::{drive, first_read_wait, lingering_close, log_silent_timeout};

use std::net::SocketAddr;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::ServerConfig;
use crate::scoreboard::WorkerState;

/// Set once this child was told to stop at once (SIGTERM): no request is taken on after it.
static TERMINATING: AtomicBool = AtomicBool::new(false);

/// The child is dying (SIGTERM): requests read from now on are not answered. After this,
/// every request being answered shows `W` (or `L`) in its slot: the caller waits for those
/// to be logged. The fences pair with `may_answer`'s (store, fence, load on both sides:
/// one of the two sees the other).
pub fn terminate() {
    TERMINATING.store(true, Ordering::Relaxed);
    fence(Ordering::SeqCst);
}

/// Called with the slot already at `W` for a request: false when the child is dying and
/// the request must be dropped unanswered (the connection closed), as httpd's ungraceful
/// stop closes its workers' connections.
fn may_answer() -> bool {
    fence(Ordering::SeqCst);
    !TERMINATING.load(Ordering::Relaxed)
}

/// What a connection waits for when the driver returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnOutcome {
    /// Idle between requests; wake it when readable, close after KeepAliveTimeout.
    KeepAlive,
    /// A response is not fully written; wake it when writable (event parks it).
    WriteCompletion,
    /// Done: shut down the write side and drain input before closing (lingering close).
    Linger,
    /// Done: close now.
    Close,
}

/// What the driver reports to whoever watches the worker (the scoreboard slot).
pub trait ConnObserver {
    fn state(&self, state: WorkerState);
    /// A request line was read (for the scoreboard's request/vhost/client fields); `client`
    /// is the request's user agent address when known (mod_remoteip may have changed it).
    fn request_start(&self, request_line: &[u8], vhost: &str, client: Option<&[u8]>);
    /// A response was finished: bytes sent for it.
    fn request_done(&self, bytes_sent: u64);
    /// The scoreboard slot behind this observer, for an HTTP/2 connection that goes on
    /// reporting its streams after the engine got it back (`None`: nothing to report to).
    fn slot(&self) -> Option<crate::scoreboard::WorkerSlot<'static>> {
        None
    }
}

/// What the scoreboard shows of a request once its server is chosen, formatted on the stack
/// for `f(vhost, client)`: httpd's vhost column (the answering server's name and the local
/// port) and its client column (the request's user agent, as mod_remoteip left it).
pub(crate) fn request_text(
    config: &ServerConfig,
    server: &crate::config::ServerConf,
    local_port: u16,
    useragent: SocketAddr,
    f: impl FnOnce(&str, &[u8]),
) {
    let name = server
        .server_name
        .as_deref()
        .or(config.main.server_name.as_deref())
        .unwrap_or("");
    SCORE_TEXT.with(|c| {
        let mut c = c.borrow_mut();
        c.update(name, local_port, useragent.ip().to_canonical());
        f(c.vhost(), c.client())
    });
}

/// The scoreboard texts of this thread's last request: a thread usually serves the same
/// virtual host and client address over and over, so they are formatted once, not per
/// request. Keyed by content (the name's bytes, the port, the address), never by pointer,
/// so a reload cannot leave a stale text behind.
struct ScoreText {
    port: u16,
    name_len: usize,
    vhost: [u8; 128],
    vhost_len: usize,
    ip: Option<std::net::IpAddr>,
    client: [u8; 64],
    client_len: usize,
}

impl ScoreText {
    const fn new() -> ScoreText {
        ScoreText {
            port: 0,
            name_len: 0,
            vhost: [0; 128],
            vhost_len: 0,
            ip: None,
            client: [0; 64],
            client_len: 0,
        }
    }

    fn update(&mut self, name: &str, port: u16, ip: std::net::IpAddr) {
        use std::io::Write;
        let same_vhost = self.port == port
            && self.vhost_len > self.name_len
            && self.vhost.get(..self.name_len) == Some(name.as_bytes());
        if !same_vhost {
            let mut w = &mut self.vhost[..];
            self.vhost_len = match write!(w, "{name}:{port}") {
                Ok(()) => 128 - w.len(),
                Err(_) => 0,
            };
            self.name_len = if self.vhost_len > 0 { name.len() } else { 0 };
            self.port = port;
        }
        if self.ip != Some(ip) {
            let mut w = &mut self.client[..];
            self.client_len = match write!(w, "{ip}") {
                Ok(()) => 64 - w.len(),
                Err(_) => 0,
            };
            self.ip = Some(ip);
        }
    }

    fn vhost(&self) -> &str {
        std::str::from_utf8(&self.vhost[..self.vhost_len]).unwrap_or("")
    }

    fn client(&self) -> &[u8] {
        &self.client[..self.client_len]
    }
}

thread_local! {
    static SCORE_TEXT: std::cell::RefCell<ScoreText> = const {
        std::cell::RefCell::new(ScoreText::new())
    };
}

/// A no-op observer, for `-X` single-process debugging and unit tests.
pub struct NoObserver;

impl ConnObserver for NoObserver {
    fn state(&self, _: WorkerState) {}
    fn request_start(&self, _: &[u8], _: &str, _: Option<&[u8]>) {}
    fn request_done(&self, _: u64) {}
}

/// What the driver needs from the engine for one connection.
pub struct ServeCtx<'a> {
    pub config: &'a Arc<ServerConfig>,
    pub observer: &'a dyn ConnObserver,
    /// True once the child is stopping (graceful): answer with `Connection: close`.
    pub stopping: bool,
}

/// One accepted connection with the state that must survive between requests.
pub struct Connection {
    pub stream: std::net::TcpStream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// Bytes read but not yet consumed (pipelined requests). Released while parked.
    pub read_buf: Vec<u8>,
    pub requests_served: u32,
    /// The TLS session when the connection arrived on a TLS address (set by the driver's
    /// handshake); reads and writes then go through it. The driver leaves no plaintext
    /// buffered in it when it returns `KeepAlive` (it moves it to `read_buf`).
    pub tls: Option<Box<crate::tls::TlsSession>>,
    /// The KeepAliveTimeout of the virtual host that answered the last request (set by the
    /// driver with each response that keeps the connection open); `None` before any.
    pub keep_alive_timeout: Option<std::time::Duration>,
    /// What the driver last put in SO_RCVTIMEO/SO_SNDTIMEO, so that it sets them only when
    /// a read or write may block and the value differs (`None`: unknown, set before use).
    pub sock_timeouts: SockTimeouts,
    /// The client the connection's PROXY protocol header named (mod_remoteip's
    /// `RemoteIPProxyProtocol`), once it was read: every request's user agent address.
    /// `None` on connections without the header.
    pub proxied: Option<SocketAddr>,
}

/// The socket timeouts as the driver last set them (see `Connection::sock_timeouts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockTimeouts {
    pub rcv: Option<std::time::Duration>,
    pub snd: Option<std::time::Duration>,
}

impl Connection {
    pub fn new(stream: std::net::TcpStream, peer: SocketAddr, local: SocketAddr) -> Self {
        Connection {
            stream,
            peer,
            local,
            read_buf: Vec::new(),
            requests_served: 0,
            tls: None,
            keep_alive_timeout: None,
            sock_timeouts: SockTimeouts::default(),
            proxied: None,
        }
    }

    /// The lingering close for `ConnOutcome::Linger` (blocking engines call this; event may
    /// do the same asynchronously).
    pub fn linger(self) {
        lingering_close(&self.stream, false);
    }
}

#[cfg(test)]
mod tests {
    use super::ScoreText;

    #[test]
    fn score_text_follows_name_port_and_address() {
        let mut t = ScoreText::new();
        let v4 = "127.0.0.1".parse().unwrap();
        let v6 = "::1".parse().unwrap();
        t.update("a.example", 80, v4);
        assert_eq!((t.vhost(), t.client()), ("a.example:80", &b"127.0.0.1"[..]));
        t.update("a.example", 8080, v4);
        assert_eq!(t.vhost(), "a.example:8080");
        // A name that is a prefix of the last one, or the last one a prefix of it.
        t.update("a.exampl", 8080, v6);
        assert_eq!((t.vhost(), t.client()), ("a.exampl:8080", &b"::1"[..]));
        t.update("a.exampl:8080x", 8080, v6);
        assert_eq!(t.vhost(), "a.exampl:8080x:8080");
        t.update("", 443, v4);
        assert_eq!((t.vhost(), t.client()), (":443", &b"127.0.0.1"[..]));
        // Too long for the field: empty, as the stack buffer gave before.
        let long = "x".repeat(200);
        t.update(&long, 80, v4);
        assert_eq!(t.vhost(), "");
        t.update("b", 80, v4);
        assert_eq!(t.vhost(), "b:80");
    }
}
