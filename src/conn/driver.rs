//! The HTTP/1.x connection driver: read a head (sans-IO parser in `proto::h1`), run the
//! pipeline (`modules::process`), consume the request body, write the response, decide
//! keep-alive (`ap_set_keepalive` rules), repeat while pipelined bytes remain, then hand the
//! connection back. Blocking I/O bounded by the server's `Timeout`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd};

use nix::sys::socket::MsgFlags;
use std::time::{Duration, Instant};

use super::{ConnOutcome, Connection, ServeCtx};
use crate::config::{ServerConf, ServerConfig};
use crate::modules::{self, Body, Framing, LogRecord, Response};
use crate::proto::h1::body::{framing, BodyFraming, ChunkedDecoder};
use crate::proto::h1::head::{parse_head, Limits, Parsed};
use crate::proto::h1::response::{
    drops_connection, error_page, now_secs, push_http_date, reason, ErrorInfo,
};
use crate::proto::h1::Head;
use crate::scoreboard::WorkerState;

/// Bodies up to this size are read into the response buffer and sent with the head in one
/// write; larger ones go out with sendfile.
const INLINE_BODY: u64 = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;
/// How much a plain-socket read asks for (httpd reads in 8 KiB buckets).
const PLAIN_READ: usize = 8 * 1024;

/// Socket I/O with the engine's socket in either mode: a non-blocking socket is switched to
/// blocking on its first `WouldBlock` (SO_RCVTIMEO/SO_SNDTIMEO then bound each wait).
struct Io<'a> {
    stream: &'a TcpStream,
    blocking: bool,
    /// Set on a TLS connection: every read and write goes through it.
    tls: Option<&'a mut crate::tls::TlsSession>,
    /// The server's `Timeout`: the bound of every blocking read or write.
    timeout: Duration,
    /// The mod_reqtimeout stage running, if any.
    stage: Option<ReadStage>,
    /// What SO_RCVTIMEO/SO_SNDTIMEO hold on this socket (kept in the `Connection`).
    sock: &'a mut super::SockTimeouts,
    /// Bytes read on the connection so far (mod_logio's `%I` counts what a request used).
    received: u64,
}

/// One mod_reqtimeout stage (header or body): a timeout from its start, extended by one
/// second per `MinRate` bytes received, never beyond the maximum.
#[derive(Clone, Copy)]
struct ReadStage {
    /// `None` until the first read that may block: a stage whose bytes are already there
    /// when it begins never reads the clock.
    start: Option<Instant>,
    base: Duration,
    max: Option<Duration>,
    rate: Option<u32>,
    bytes: u64,
}

impl ReadStage {
    fn new(
        cfg: Option<crate::config::ReadTimeoutStage>,
        start: Option<Instant>,
    ) -> Option<ReadStage> {
        let c = cfg?;
        if c.timeout == 0 {
            return None;
        }
        Some(ReadStage {
            start,
            base: Duration::from_secs(u64::from(c.timeout)),
            max: c.max_timeout.map(|m| Duration::from_secs(u64::from(m))),
            rate: c.min_rate,
            bytes: 0,
        })
    }
    /// The deadline; a stage not started yet starts at `now`.
    fn deadline(&mut self, now: Instant) -> Instant {
        let start = *self.start.get_or_insert(now);
        let mut d = self.base;
        if let Some(r) = self.rate.filter(|r| *r > 0) {
            d += Duration::from_secs(self.bytes / u64::from(r));
        }
        if let Some(m) = self.max {
            d = d.min(m);
        }
        start + d
    }
}

enum ReadResult {
    Data,
    Eof,
    /// Nothing to read on a non-blocking socket (only before any byte of a request).
    WouldBlock,
    TimedOut,
    Error,
}

impl Io<'_> {
    fn ensure_blocking(&mut self) -> bool {
        if self.blocking {
            return false;
        }
        self.blocking = true;
        let _ = self.stream.set_nonblocking(false);
        true
    }

    /// Starts (or ends, with `None`) a mod_reqtimeout stage.
    fn set_stage(&mut self, stage: Option<ReadStage>) {
        self.stage = stage;
    }

    /// Bounds the next blocking read by the stage deadline, else by `Timeout`: the wait
    /// armed, `None` when the stage deadline has passed. SO_RCVTIMEO is set only when it
    /// differs from what the socket holds, and only before a read that may block: a read
    /// the engine woke us for finds its bytes there (see `read_into`) and sets nothing.
    fn arm(&mut self) -> Option<Duration> {
        let want = match self.stage.as_mut() {
            None => self.timeout,
            Some(st) => {
                let now = Instant::now();
                let deadline = st.deadline(now);
                if deadline <= now {
                    return None;
                }
                (deadline - now)
                    .min(self.timeout)
                    .max(Duration::from_millis(1))
            }
        };
        if self.sock.rcv != Some(want) {
            self.sock.rcv = Some(want);
            let _ = self.stream.set_read_timeout(Some(want));
        }
        Some(want)
    }

    /// A request's `%I`: `plain`, the bytes it used, on a plain connection; over TLS what
    /// was read from the socket since the last request was logged (httpd's mod_logio counts
    /// below mod_ssl: records and the handshake).
    fn logio_in(&mut self, plain: u64) -> u64 {
        match self.tls.as_deref_mut() {
            Some(t) => t.take_received(),
            None => plain,
        }
    }

    /// Puts `Timeout` in SO_SNDTIMEO before a write that may block (once per connection).
    fn arm_write(&mut self) {
        if self.sock.snd != Some(self.timeout) {
            self.sock.snd = Some(self.timeout);
            let _ = self.stream.set_write_timeout(Some(self.timeout));
        }
    }

    fn read_into(&mut self, buf: &mut Vec<u8>, may_park: bool) -> ReadResult {
        // A plain socket is read first without blocking, whatever its mode: the engine
        // usually hands over a readable connection, and then no timeout needs arming.
        let mut first_try = self.tls.is_none();
        // The wait armed for a read that may block, and when it began.
        let mut waited = None;
        loop {
            if !first_try {
                match self.arm() {
                    Some(wait) => waited = Some((wait, Instant::now())),
                    None => return ReadResult::TimedOut,
                }
            }
            let r = match self.tls.as_deref_mut() {
                Some(t) => tls_read_append(t, self.stream, buf),
                // Plain: straight into the buffer's spare room, nothing zeroed first.
                None => {
                    let flags = if first_try { libc::MSG_DONTWAIT } else { 0 };
                    super::sys::recv_append(self.stream, buf, PLAIN_READ, flags)
                }
            };
            match r {
                Ok(0) => return ReadResult::Eof,
                Ok(n) => {
                    if let Some(st) = &mut self.stage {
                        st.bytes += n as u64;
                    }
                    self.received += n as u64;
                    return ReadResult::Data;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if first_try && e.kind() == io::ErrorKind::WouldBlock => {
                    first_try = false;
                }
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    // SO_RCVTIMEO expiring on a blocking socket reads as WouldBlock too: a
                    // wait that lasted its whole bound is a timeout, whatever `may_park`.
                    let expired = waited.is_some_and(|(wait, from)| {
                        from.elapsed() + Duration::from_millis(5) >= wait
                    });
                    if !self.blocking && may_park && !expired {
                        return ReadResult::WouldBlock;
                    }
                    if expired {
                        self.blocking = true;
                        return ReadResult::TimedOut;
                    }
                    if self.ensure_blocking() {
                        continue;
                    }
                    return ReadResult::TimedOut;
                }
                Err(_) => return ReadResult::Error,
            }
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        // A plain socket gets a first non-blocking send: most responses fit the socket
        // buffer, and then no timeout needs arming.
        let mut first_try = self.tls.is_none();
        while !data.is_empty() {
            if !first_try {
                self.arm_write();
            }
            let r = match self.tls.as_deref_mut() {
                Some(t) => t.write(self.stream, data),
                None if first_try => nix::sys::socket::send(
                    self.stream.as_raw_fd(),
                    data,
                    MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
                )
                .map_err(io::Error::from),
                None => (&*self.stream).write(data),
            };
            match r {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    data = &data[n..];
                    first_try = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if first_try && e.kind() == io::ErrorKind::WouldBlock => {
                    first_try = false;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.ensure_blocking() {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if self.tls.is_some() {
            self.arm_write();
        }
        // TLS: the records of the last write may still be queued.
        while let Some(t) = self.tls.as_deref_mut() {
            match t.flush(self.stream) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.ensure_blocking() {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn send_file(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
        self.arm_write();
        if self.tls.is_some() {
            // No sendfile through TLS: read and encrypt in chunks.
            let mut buf = vec![0u8; INLINE_BODY as usize];
            let mut done = 0u64;
            while done < len {
                let n = ((len - done) as usize).min(buf.len());
                read_exact_at(file, &mut buf[..n], offset + done)?;
                self.write_all(&buf[..n])?;
                done += n as u64;
            }
            return Ok(());
        }
        let mut off = offset as i64;
        let end = offset + len;
        while (off as u64) < end {
            let want = ((end - off as u64) as usize).min(1 << 30);
            match nix::sys::sendfile::sendfile(
                self.stream.as_fd(),
                file.as_fd(),
                Some(&mut off),
                want,
            ) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => {
                    if !self.ensure_blocking() {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) => return Err(io::Error::from(e)),
            }
        }
        Ok(())
    }
}

/// A TLS read appended to `buf`. The room is made in `buf` (on the heap), not in a stack
/// array: a 16 KiB array makes the compiler probe (touch) 16 KiB of every worker thread's
/// stack on each call, which stays resident — 64 threads × the driver's arrays was most of an
/// event child's memory.
fn tls_read_append(
    t: &mut crate::tls::TlsSession,
    stream: &TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(start + READ_CHUNK, 0);
    let r = t.read(stream, &mut buf[start..]);
    buf.truncate(start + *r.as_ref().unwrap_or(&0));
    r
}

fn limits_for(config: &ServerConfig, s: &ServerConf) -> Limits {
    Limits {
        line: s.limit_request_line,
        field_size: s.limit_request_field_size,
        fields: s.limit_request_fields,
        strict: s.http_protocol.strict && config.http_protocol_strict,
    }
}

/// Serves requests on `conn` until it must wait or close. See `ConnOutcome`.
/// A connection on a TLS address is handshaken first; one that negotiates `h2` (ALPN) or
/// opens with the HTTP/2 preface on cleartext (h2c, `H2Direct`) goes to `proto::h2`.
pub fn drive(conn: &mut Connection, ctx: &ServeCtx<'_>) -> ConnOutcome {
    let config: &ServerConfig = ctx.config;
    let default_server = modules::vhost::default_for(config, &conn.local);
    let timeout = default_server.timeout.max(Duration::from_millis(1));
    let mut peeked = 0;
    if conn.requests_served == 0 && conn.tls.is_none() && conn.read_buf.is_empty() {
        // mod_remoteip's PROXY protocol header comes first, before TLS and HTTP; one check
        // of an empty list on servers without it.
        if conn.proxied.is_none()
            && !config.proxy_protocol.enabled.is_empty()
            && config.proxy_protocol.applies(conn.local, conn.peer)
        {
            ctx.observer.state(WorkerState::BusyRead);
            // Read under mod_reqtimeout's header stage when it runs, else `Timeout`.
            let wait = default_server
                .request_read_timeout
                .with_defaults()
                .header
                .filter(|s| s.timeout > 0 && config.modules.contains(&"reqtimeout"))
                .map_or(timeout, |s| Duration::from_secs(s.timeout.into()));
            match super::proxy::read_header(&conn.stream, conn.peer, conn.local, wait) {
                Some(client) => conn.proxied = Some(client),
                // httpd aborts the connection having read what was there: the client sees
                // an orderly close, not a reset for bytes left unread.
                None => return ConnOutcome::Linger,
            }
        }
        if let Some(port) = config.tls.port_for(conn.local) {
            let _ = conn.stream.set_nonblocking(false);
            let hs = default_server
                .request_read_timeout
                .handshake
                .filter(|s| s.timeout > 0)
                .map_or(timeout, |s| Duration::from_secs(s.timeout.into()));
            ctx.observer.state(WorkerState::BusyRead);
            match crate::tls::handshake(&conn.stream, port, hs) {
                Ok(s) => {
                    conn.tls = Some(Box::new(s));
                    // The handshake left its own socket timeouts behind.
                    conn.sock_timeouts = Default::default();
                }
                Err(e) => {
                    tracing::debug!("{}: {e}", conn.peer);
                    return ConnOutcome::Close;
                }
            }
            if conn.tls.as_ref().and_then(|t| t.alpn()) == Some(b"h2") {
                return crate::proto::h2::serve(conn, ctx);
            }
        } else if crate::proto::h2::direct_allowed(config, default_server) {
            use crate::proto::h2::Preface;
            let preface = crate::proto::h2::sees_preface(&conn.stream, timeout);
            conn.sock_timeouts = Default::default(); // it may have set SO_RCVTIMEO
            match preface {
                Preface::Http2 => return crate::proto::h2::serve(conn, ctx),
                Preface::Other(n) => peeked = n as u64,
                Preface::NotYet => return ConnOutcome::KeepAlive,
                Preface::Gone => return ConnOutcome::Close,
            }
        }
    }
    let outcome = drive_h1(conn, ctx, peeked);
    let Connection { stream, tls, .. } = conn;
    if let Some(t) = tls.as_deref_mut() {
        match outcome {
            // Plaintext rustls already decrypted would never wake the poller: hand it over
            // in read_buf, which the engines check before parking.
            ConnOutcome::KeepAlive if conn.read_buf.is_empty() && t.has_buffered_plaintext() => {
                let _ = tls_read_append(t, stream, &mut conn.read_buf);
            }
            ConnOutcome::Linger | ConnOutcome::Close => t.close_notify(stream),
            _ => {}
        }
    }
    outcome
}

/// How long a new connection may wait for its first bytes: mod_reqtimeout's header stage
/// when it runs, else `Timeout` (of the address's default server).
pub fn first_read_wait(config: &ServerConfig, local: &std::net::SocketAddr) -> Duration {
    let s = modules::vhost::default_for(config, local);
    let timeout = s.timeout.max(Duration::from_millis(1));
    s.request_read_timeout
        .with_defaults()
        .header
        .filter(|h| h.timeout > 0 && config.modules.contains(&"reqtimeout"))
        .map_or(timeout, |h| {
            Duration::from_secs(h.timeout.into()).min(timeout)
        })
}

/// A new connection that sent nothing before `first_read_wait` ran out (the event MPM
/// times these out while parked): httpd logs it as a 408 with no request line, as
/// `drive_h1` does when the blocking engines wait for it. Not on the addresses where
/// something else reads first (TLS, a PROXY protocol header, HTTP/2 direct), which
/// close such a connection without a log line.
pub fn log_silent_timeout(conn: &Connection, config: &ServerConfig) {
    let server = modules::vhost::default_for(config, &conn.local);
    if conn.requests_served > 0
        || config.tls.port_for(conn.local).is_some()
        || (!config.proxy_protocol.enabled.is_empty()
            && config.proxy_protocol.applies(conn.local, conn.peer))
        || crate::proto::h2::direct_allowed(config, server)
    {
        return;
    }
    let at = RefusedAt {
        peer: conn.peer,
        proxied: conn.proxied,
        local: conn.local,
        server,
        https: false,
        ssl: None,
        requests: 1,
    };
    let limits = limits_for(config, server);
    let refused = crate::proto::h1::refused::refused(&[], &limits, false);
    log_refused(&at, 408, (0, 0), 0, refused);
}

/// The response buffer a thread keeps between requests (see `drive_h1`).
const OUT_INITIAL: usize = 4 * 1024;
const OUT_KEEP: usize = 64 * 1024;

thread_local! {
    static OUT_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Serves HTTP/1.x on `conn` with the thread's response buffer: a request (under event, a
/// `drive` call) allocates none, and a head and a small body fit without growing it.
/// `peeked`: the bytes the HTTP/2 preface check looked at, which count in the first
/// request's `%I` as httpd's peek does.
fn drive_h1(conn: &mut Connection, ctx: &ServeCtx<'_>, peeked: u64) -> ConnOutcome {
    // Taken, not borrowed: an HTTP/2 upgrade may serve other connections' requests inside.
    let mut out = OUT_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
    out.clear();
    if out.capacity() < OUT_INITIAL {
        out.reserve(OUT_INITIAL);
    }
    let r = drive_h1_with(conn, ctx, peeked, &mut out);
    if out.capacity() <= OUT_KEEP {
        out.clear();
        OUT_BUF.with(|b| *b.borrow_mut() = out);
    }
    r
}

fn drive_h1_with(
    conn: &mut Connection,
    ctx: &ServeCtx<'_>,
    peeked: u64,
    out: &mut Vec<u8>,
) -> ConnOutcome {
    let config: &ServerConfig = ctx.config;
    let Connection {
        stream,
        peer,
        local,
        read_buf,
        requests_served,
        tls,
        keep_alive_timeout,
        sock_timeouts,
        proxied,
    } = conn;
    let (peer, local, proxied) = (*peer, *local, *proxied);
    let default_server = modules::vhost::default_for(config, &local);
    let limits = limits_for(config, default_server);
    let timeout = default_server.timeout.max(Duration::from_millis(1));
    // mod_reqtimeout: the header stage runs from now (the connection start, or the first
    // byte of a keep-alive request, which is what woke the engine).
    let reqtimeout = config.modules.contains(&"reqtimeout");
    // The socket's mode is unknown (event hands over non-blocking ones): assume
    // non-blocking until a WouldBlock says so, which costs nothing on blocking sockets.
    let mut io = Io {
        stream: &*stream,
        blocking: false,
        tls: tls.as_deref_mut(),
        timeout,
        stage: None,
        sock: sock_timeouts,
        received: 0,
    };
    let rrt = default_server.request_read_timeout.with_defaults();
    // The stage starts at its first read that may block (see `ReadStage::start`): for a
    // request whose bytes are there, the same instant within microseconds.
    let header_stage = || {
        if reqtimeout {
            ReadStage::new(rrt.header, None)
        } else {
            None
        }
    };
    io.set_stage(header_stage());
    let mut served_here = false;
    // Bytes mod_logio counts for the next request before its head: empty lines skipped,
    // and httpd's look-ahead for a pipelined request (see `pipeline_peeks`).
    let mut pending_in: u64 = peeked;

    loop {
        // A head, or more bytes.
        let parsed = if read_buf.is_empty() {
            Parsed::Partial
        } else {
            parse_head(read_buf, &limits)
        };
        match parsed {
            Parsed::Partial | Parsed::Empty(_) => {
                if let Parsed::Empty(n) = parsed {
                    read_buf.drain(..n);
                    pending_in += n as u64;
                }
                if read_buf.is_empty() && served_here {
                    // The buffer is kept for the next request; engines that park the
                    // connection (event) release it there.
                    return ConnOutcome::KeepAlive;
                }
                ctx.observer.state(WorkerState::BusyRead);
                let fresh = read_buf.is_empty();
                let end = match io.read_into(read_buf, fresh) {
                    ReadResult::Data => continue,
                    // Woken without data (or between requests): wait for readability again.
                    ReadResult::WouldBlock => return ConnOutcome::KeepAlive,
                    ReadResult::Error => return ConnOutcome::Close,
                    ReadResult::Eof if read_buf.is_empty() => return ConnOutcome::Close,
                    // An idle keep-alive connection that times out is not logged.
                    ReadResult::TimedOut if read_buf.is_empty() && *requests_served > 0 => {
                        return ConnOutcome::Close
                    }
                    r => r,
                };
                // Part of a request (or nothing) arrived, then the client stopped (httpd's
                // order): a request line that never ended gets no answer, and its timeout is
                // logged (as `-`) on the connection's first request only, even when not a
                // byte came; a head cut off after its request line gets 408 on timeout, 400
                // on EOF, and is logged.
                let refused =
                    crate::proto::h1::refused::refused(read_buf, &limits, io.tls.is_some());
                let status = if matches!(end, ReadResult::TimedOut) {
                    408
                } else {
                    400
                };
                let mut sent = (0, 0);
                if let Some(m) = refused.method.as_deref() {
                    ctx.observer.state(WorkerState::BusyWrite);
                    sent = send_bare_error(
                        &mut io,
                        out,
                        config,
                        default_server,
                        status,
                        None,
                        std::str::from_utf8(m).unwrap_or("GET"),
                    );
                    ctx.observer.request_done(sent.0);
                }
                if refused.method.is_some() || (status == 408 && *requests_served == 0) {
                    let https = io.tls.is_some();
                    let bytes_in = io.logio_in(pending_in + refused.read as u64);
                    let at = RefusedAt {
                        peer,
                        proxied,
                        local,
                        server: default_server,
                        https,
                        ssl: ssl_conn(&io.tls),
                        requests: *requests_served + 1,
                    };
                    log_refused(&at, status, sent, bytes_in, refused);
                }
                return ConnOutcome::Close;
            }
            Parsed::Error(e) => {
                ctx.observer.state(WorkerState::BusyWrite);
                let refused =
                    crate::proto::h1::refused::refused(read_buf, &limits, io.tls.is_some());
                let method = refused
                    .method
                    .as_deref()
                    .and_then(|m| std::str::from_utf8(m).ok())
                    .unwrap_or("GET");
                let sent = send_bare_error(
                    &mut io,
                    out,
                    config,
                    default_server,
                    e.status,
                    e.note,
                    method,
                );
                ctx.observer.request_done(sent.0);
                let bytes_in = io.logio_in(pending_in + refused.read as u64);
                let at = RefusedAt {
                    peer,
                    proxied,
                    local,
                    server: default_server,
                    https: io.tls.is_some(),
                    ssl: ssl_conn(&io.tls),
                    requests: *requests_served + 1,
                };
                log_refused(&at, e.status, sent, bytes_in, refused);
                *requests_served += 1;
                return ConnOutcome::Linger;
            }
            Parsed::Complete(head, used) => {
                read_buf.drain(..used);
                let head_in = std::mem::take(&mut pending_in) + used as u64;
                io.set_stage(None);
                // HttpProtocolOptions Require1.0 / RegisteredMethods (default server's).
                let opts = default_server.http_protocol;
                let refuse = if opts.require_1_0 && head.is_http09() {
                    Some(400)
                } else if opts.registered_methods
                    && modules::Method::parse(head.method()) == modules::Method::Other
                {
                    Some(501)
                } else {
                    None
                };
                // Then the body framing (Content-Length, Transfer-Encoding), which httpd checks
                // before it looks at Host or runs any module.
                let framed = match refuse {
                    Some(status) => Err(status),
                    None => framing(&head),
                };
                if let Err(status) = framed {
                    ctx.observer.state(WorkerState::BusyWrite);
                    let method = std::str::from_utf8(head.method()).unwrap_or("");
                    let sent =
                        send_bare_error(&mut io, out, config, default_server, status, None, method);
                    ctx.observer.request_done(sent.0);
                    // Refused on its request line (HTTP/0.9, an unregistered method): httpd
                    // had read no header field yet.
                    let refused = if refuse.is_some() {
                        crate::proto::h1::Refused::from_line(head.request_line(), io.tls.is_some())
                    } else {
                        crate::proto::h1::Refused::from_head(&head, io.tls.is_some())
                    };
                    let bytes_in = io.logio_in(head_in);
                    let at = RefusedAt {
                        peer,
                        proxied,
                        local,
                        server: default_server,
                        https: io.tls.is_some(),
                        ssl: ssl_conn(&io.tls),
                        requests: *requests_served + 1,
                    };
                    log_refused(&at, status, sent, bytes_in, refused);
                    *requests_served += 1;
                    return ConnOutcome::Linger;
                }
                let framed = framed.unwrap_or((BodyFraming::None, false));
                if io.tls.is_none() {
                    if let Some(o) = crate::proto::h2::upgrade_h2c(
                        stream,
                        (peer, proxied),
                        local,
                        &head,
                        read_buf,
                        ctx,
                    ) {
                        return o;
                    }
                }
                let time_us = crate::scoreboard::now_micros();
                let started = time_us;
                let (outcome, keep_for) = serve_one(
                    read_buf,
                    *requests_served,
                    (peer, proxied),
                    local,
                    ctx,
                    &mut io,
                    out,
                    &head,
                    (framed, head_in),
                    time_us,
                    started,
                );
                served_here = true;
                *requests_served += 1;
                if keep_for.is_some() {
                    *keep_alive_timeout = keep_for;
                }
                match outcome {
                    Some(o) => return o,
                    None if keep_for.is_some() => {
                        io.set_stage(header_stage());
                        pending_in = pipeline_peeks(read_buf);
                        continue;
                    }
                    None => return ConnOutcome::Linger,
                }
            }
        }
    }
}

/// The bytes httpd's look-ahead for a pipelined request adds to the next request's `%I`
/// beyond what that request uses: after a response that keeps the connection, httpd peeks
/// (without consuming) at one byte, two after a CR, eats each empty line it finds that way
/// and stops at the first other byte, and mod_logio counts every peek. `buf`: what is
/// buffered after the response (empty: httpd's peek finds nothing either).
fn pipeline_peeks(buf: &[u8]) -> u64 {
    let (mut pos, mut cr, mut counted) = (0, 0, 0u64);
    loop {
        let got = (buf.len() - pos).min(cr + 1);
        counted += got as u64;
        if got <= cr {
            return counted;
        }
        match buf[pos + cr] {
            // An empty line: consumed (its bytes count once more, as part of the request
            // that follows, like every skipped empty line).
            b'\n' => {
                pos += cr + 1;
                cr = 0;
            }
            b'\r' if cr == 0 => cr = 1,
            _ => return counted,
        }
    }
}

/// Where a request refused before any module ran was refused: its log line's context.
struct RefusedAt<'a> {
    peer: std::net::SocketAddr,
    proxied: Option<std::net::SocketAddr>,
    local: std::net::SocketAddr,
    /// The default server of the address (no virtual host was chosen).
    server: &'a ServerConf,
    https: bool,
    /// Requests on this connection, this one included.
    requests: u32,
    /// The TLS connection: `%{VAR}x`.
    ssl: Option<modules::SslConn<'a>>,
}

/// Logs a request refused while its head was read (or for its framing) as httpd does:
/// `(sent, body)` are the bytes of the answer, `(0, 0)` when none was sent.
fn log_refused(
    at: &RefusedAt<'_>,
    status: u16,
    (sent, body): (u64, u64),
    bytes_in: u64,
    r: crate::proto::h1::Refused,
) {
    let notes = modules::LogNotes {
        https: at.https,
        refused: Some(Box::new(r)),
        ..Default::default()
    };
    let Some(r) = notes.refused.as_deref() else {
        return;
    };
    modules::log_request(&LogRecord {
        request_line: r.line.as_deref().unwrap_or(b"-"),
        status,
        bytes_sent: sent,
        response: None,
        sent_headers: None,
        body_bytes: body,
        keep_alive: false,
        requests_on_connection: at.requests,
        bytes_in,
        peer: at.peer,
        useragent: at.proxied.unwrap_or(at.peer),
        notes: &notes,
        ssl: at.ssl,
        local: at.local,
        server: at.server,
        head: Some(&r.head),
        time: now_secs(),
        start_us: 0,
    });
}

/// An error answer before any module ran (400/408/414/501): the bytes sent and the page's.
fn send_bare_error(
    io: &mut Io<'_>,
    out: &mut Vec<u8>,
    config: &ServerConfig,
    server: &ServerConf,
    status: u16,
    note: Option<&str>,
    method: &str,
) -> (u64, u64) {
    let info = ErrorInfo {
        method,
        note,
        server_admin: server
            .server_admin
            .as_deref()
            .unwrap_or("[no address given]"),
        ..ErrorInfo::default()
    };
    let body = error_page(status, &info);
    out.clear();
    write_status_line(out, false, status, now_secs(), config);
    // A HEAD request gets the head alone, without Content-Length (httpd's header_only).
    let head_only = method == "HEAD";
    if !head_only {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        b"Connection: close\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n",
    );
    let body_len = if head_only { 0 } else { body.len() as u64 };
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    let _ = io.write_all(out);
    (out.len() as u64, body_len)
}

/// The status line (`HTTP/1.0` when `http10`: force-response-1.0), Date and Server.
fn write_status_line(
    out: &mut Vec<u8>,
    http10: bool,
    status: u16,
    time: u64,
    config: &ServerConfig,
) {
    out.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    push_http_date(out, time);
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(modules::banner(config.server_tokens).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What reading the request body ended with.
enum BodyEnd {
    Ok,
    /// Refuse with this status (400, 413) and close.
    Refuse(u16),
    /// The client went away or timed out.
    Gone,
}

/// Where a deferred handler's body bytes go while they are read.
type BodyFeed<'a> = &'a mut dyn FnMut(&[u8]);

/// Reads and discards the request body (static handlers do not use it), enforcing
/// LimitRequestBody; sends `100 Continue` first when the client waits for it.
fn discard_body(
    read_buf: &mut Vec<u8>,
    io: &mut Io<'_>,
    framing_kind: BodyFraming,
    limit: u64,
    expect_continue: bool,
    mut keep: Option<BodyFeed<'_>>,
) -> BodyEnd {
    let mut sent_continue = false;
    let mut send_continue = |io: &mut Io<'_>, buf_empty: bool| -> bool {
        if expect_continue && !sent_continue && buf_empty {
            sent_continue = true;
            return io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_ok();
        }
        true
    };
    match framing_kind {
        BodyFraming::None => BodyEnd::Ok,
        BodyFraming::Length(n) => {
            if limit > 0 && n > limit {
                return BodyEnd::Refuse(413);
            }
            let mut left = n;
            loop {
                let take = (read_buf.len() as u64).min(left) as usize;
                if let Some(k) = keep.as_deref_mut() {
                    k(&read_buf[..take]);
                }
                read_buf.drain(..take);
                left -= take as u64;
                if left == 0 {
                    return BodyEnd::Ok;
                }
                if !send_continue(io, read_buf.is_empty()) {
                    return BodyEnd::Gone;
                }
                match io.read_into(read_buf, false) {
                    ReadResult::Data => {}
                    ReadResult::TimedOut => return BodyEnd::Refuse(408),
                    _ => return BodyEnd::Gone,
                }
            }
        }
        BodyFraming::Chunked => {
            let mut dec = ChunkedDecoder::new();
            loop {
                while !read_buf.is_empty() && !dec.is_done() {
                    match dec.feed(read_buf) {
                        Ok(step) => {
                            if let Some(k) = keep.as_deref_mut() {
                                k(&read_buf[step.data.clone()]);
                            }
                            read_buf.drain(..step.used);
                            if limit > 0 && dec.total > limit {
                                return BodyEnd::Refuse(413);
                            }
                            if step.used == 0 {
                                break;
                            }
                        }
                        Err(e) => return BodyEnd::Refuse(e.status()),
                    }
                }
                if dec.is_done() {
                    return BodyEnd::Ok;
                }
                if !send_continue(io, read_buf.is_empty()) {
                    return BodyEnd::Gone;
                }
                match io.read_into(read_buf, false) {
                    ReadResult::Data => {}
                    ReadResult::TimedOut => return BodyEnd::Refuse(408),
                    _ => return BodyEnd::Gone,
                }
            }
        }
    }
}

/// Serves one parsed request. Returns `(Some(outcome), _)` to return at once, or
/// `(None, keep_alive)`.
#[allow(clippy::too_many_arguments)]
fn serve_one(
    read_buf: &mut Vec<u8>,
    requests_served: u32,
    (peer, proxied): (std::net::SocketAddr, Option<std::net::SocketAddr>),
    local: std::net::SocketAddr,
    ctx: &ServeCtx<'_>,
    io: &mut Io<'_>,
    out: &mut Vec<u8>,
    head: &Head,
    ((kind, cl_and_te), head_in): ((BodyFraming, bool), u64),
    time_us: u64,
    started: u64,
) -> (Option<ConnOutcome>, Option<Duration>) {
    let config: &ServerConfig = ctx.config;
    // %I: the head, and the body as it came (chunk framing included), from what the
    // buffer held, what was read since and what is left.
    let (buffered, received) = (read_buf.len() as u64, io.received);
    let time = time_us / 1_000_000;
    // httpd marks the worker W once the request head is read: the handler (server-status
    // included) and the request body run in W
    ctx.observer.state(WorkerState::BusyWrite);
    if !super::may_answer() {
        return (Some(ConnOutcome::Close), None);
    }
    let result = modules::process_observed(
        config,
        head,
        (peer, proxied),
        local,
        ssl_conn(&io.tls),
        time_us,
        &mut |server, ua| {
            super::request_text(config, server, local.port(), ua, |vhost, client| {
                ctx.observer
                    .request_start(head.request_line(), vhost, Some(client))
            });
        },
    );
    let server = result.server;
    let mut resp = result.response;
    let notes = result.notes;
    let req_log = ReqLog {
        useragent: result.useragent,
        notes: &notes,
    };
    // A handler that needs the request body (mod_proxy) runs once it is read.
    let deferred = resp.deferred.take();

    if head.is_http09() {
        ctx.observer.state(WorkerState::BusyWrite);
        let body_len = resp.body.len();
        let sent = write_body_only(io, out, &mut resp);
        ctx.observer.request_done(sent);
        let counts = (sent, body_len, false, requests_served + 1, head_in);
        log(
            peer,
            local,
            head,
            server,
            &resp,
            counts,
            (&req_log, ssl_conn(&io.tls)),
            time,
            started,
        );
        return (Some(ConnOutcome::Close), None);
    }

    // Consume the body (its framing was checked before the pipeline ran).
    let mut must_close = cl_and_te;
    let expect = result.expect_continue && !resp.close_silently;
    if kind != BodyFraming::None && config.modules.contains(&"reqtimeout") {
        let rrt = server.request_read_timeout.with_defaults();
        io.set_stage(ReadStage::new(rrt.body, Some(Instant::now())));
    }
    // A deferred handler (mod_proxy) gets the body as it is read, unless it is
    // refused for its declared length first.
    let limit = result.limit_request_body;
    let mut sink = match (deferred, kind) {
        (Some(_), BodyFraming::Length(n)) if limit > 0 && n > limit => None,
        (Some(d), BodyFraming::Length(n)) => Some((d.0)(Some(n))),
        (Some(d), BodyFraming::None) => Some((d.0)(Some(0))),
        (Some(d), BodyFraming::Chunked) => Some((d.0)(None)),
        (None, _) => None,
    };
    let end = match sink.as_mut() {
        Some(s) => {
            let mut feed = |c: &[u8]| s.data(c);
            discard_body(read_buf, io, kind, limit, expect, Some(&mut feed))
        }
        None => discard_body(read_buf, io, kind, limit, expect, None),
    };
    io.set_stage(None);
    let bytes_in =
        io.logio_in(head_in + buffered + (io.received - received) - read_buf.len() as u64);
    if !matches!(end, BodyEnd::Ok) {
        if let Some(s) = sink.take() {
            drop(s.finish(false));
        }
    }
    match end {
        BodyEnd::Ok => {
            if let Some(s) = sink {
                ctx.observer.state(WorkerState::BusyWrite);
                resp = s.finish(true);
                if let Some(late) = &result.late {
                    modules::finish_deferred(
                        config,
                        head,
                        (peer, proxied),
                        local,
                        ssl_conn(&io.tls),
                        time_us,
                        (server, result.useragent, &notes, late),
                        &mut resp,
                    );
                }
            }
        }
        BodyEnd::Gone => return (Some(ConnOutcome::Close), None),
        BodyEnd::Refuse(status) => {
            resp = Response::new(status);
            render_plain_error(&mut resp, config, server, head, None);
            if status == 413 {
                resp.framing = Framing::Chunked;
            }
            must_close = true;
        }
    }
    if resp.status == 416 {
        resp.framing = Framing::Chunked;
    }
    if let Some(raw) = resp.nph_head.take() {
        // A CGI nph- script wrote the whole response, head included: sent as it comes, then
        // the connection closes (httpd's mod_cgi passes it through the same way).
        let sent = match io.write_all(&raw) {
            Ok(()) => raw.len() as u64 + write_body_only(io, out, &mut resp),
            Err(_) => 0,
        };
        ctx.observer.request_done(sent);
        let counts = (sent, sent, false, requests_served + 1, bytes_in);
        log(
            peer,
            local,
            head,
            server,
            &resp,
            counts,
            (&req_log, ssl_conn(&io.tls)),
            time,
            started,
        );
        return (Some(ConnOutcome::Close), None);
    }

    // ap_set_keepalive.
    let client_ka = head.has_token("Connection", "keep-alive");
    let left = if server.max_keep_alive_requests == 0 {
        u32::MAX
    } else {
        server
            .max_keep_alive_requests
            .saturating_sub(requests_served)
    };
    // downgrade-1.0 / force-response-1.0 / force-no-vary (httpd's basic_http_header_check).
    let compat = result.compat;
    let is11 = compat.is_http11(head.is_http11());
    let http10_line = compat.http10_line(head.is_http11());
    if compat.no_vary {
        resp.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("Vary"));
        resp.err_headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("Vary"));
    }
    let chunk_ok = resp.framing != Framing::Chunked || is11;
    let keep = !must_close
        && !result.nokeepalive
        && !resp.close
        && !resp.close_silently
        && server.keep_alive
        && !server.keep_alive_timeout.is_zero()
        && left > 0
        && !drops_connection(resp.status)
        && !head.has_token("Connection", "close")
        && (is11 || client_ka)
        && chunk_ok
        && !http10_line
        && !ctx.stopping;

    ctx.observer.state(WorkerState::BusyWrite);
    let is_head = head.method() == b"HEAD";
    // httpd's ap_set_keepalive chooses chunking for an HTTP/1.1 body of unknown length
    // before it looks at keep-alive: a closing connection is chunked too. Not for HEAD (no
    // body), nor once the connection is marked for closing by an error.
    let can_chunk = is11 && !is_head && !must_close;
    let body_len = if is_head { 0 } else { resp.body.len() };
    // httpd announces the protocols it could upgrade to (core's upgrade handler, first
    // request of a connection) in the handler's headers: `h2c` on cleartext, `h2` over TLS,
    // unless H2Upgrade is off. A generated error page drops them (403, 404 without an
    // ErrorDocument, 405, 416 …); 2xx, 304, 412 and ErrorDocument pages keep them.
    let announce = if requests_served == 0 && resp.status != 101 && !resp.generated {
        announced_upgrade(config, server, io.tls.is_some())
    } else {
        None
    };
    let sent = match write_response(
        io,
        out,
        config,
        &mut resp,
        time,
        (keep, client_ka, left, can_chunk, http10_line),
        server,
        is_head,
        announce,
    ) {
        Ok(n) => n,
        Err(_) => {
            ctx.observer.request_done(0);
            return (Some(ConnOutcome::Close), None);
        }
    };
    if let Some(up) = resp.upgrade.take() {
        // mod_proxy_wstunnel: after the 101 the connection belongs to the tunnel.
        let mut client = TunnelClient {
            stream: io.stream,
            tls: io.tls.as_deref_mut(),
        };
        (up.0)(&mut client, std::mem::take(read_buf));
        ctx.observer.request_done(sent);
        log(
            peer,
            local,
            head,
            server,
            &resp,
            (sent, 0, false, requests_served + 1, bytes_in),
            (&req_log, ssl_conn(&io.tls)),
            time,
            started,
        );
        return (Some(ConnOutcome::Close), None);
    }
    ctx.observer.request_done(sent);
    let counts = (sent, body_len, keep, requests_served + 1, bytes_in);
    log(
        peer,
        local,
        head,
        server,
        &resp,
        counts,
        (&req_log, ssl_conn(&io.tls)),
        time,
        started,
    );
    (None, keep.then_some(server.keep_alive_timeout))
}

/// The client connection as a tunnel end (see `modules::Upgrade`).
struct TunnelClient<'a> {
    stream: &'a TcpStream,
    tls: Option<&'a mut crate::tls::TlsSession>,
}

impl modules::ClientIo for TunnelClient<'_> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.as_fd()
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.stream.set_nonblocking(on)
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.tls.as_deref_mut() {
            Some(t) => t.read(self.stream, buf),
            None => (&*self.stream).read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.tls.as_deref_mut() {
            Some(t) => t.write(self.stream, buf),
            None => (&*self.stream).write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.tls.as_deref_mut() {
            Some(t) => t.flush(self.stream),
            None => Ok(()),
        }
    }
}

/// mod_ssl's view of the connection, for the request and its log line.
fn ssl_conn<'t>(tls: &'t Option<&mut crate::tls::TlsSession>) -> Option<modules::SslConn<'t>> {
    tls.as_deref().map(|t| modules::SslConn {
        sni: t.sni(),
        ssl: &t.ssl,
        conn: Some(&t.conn),
    })
}

/// What the pipeline left of a request for its log line.
struct ReqLog<'a> {
    useragent: std::net::SocketAddr,
    notes: &'a modules::LogNotes,
}

#[allow(clippy::too_many_arguments)]
fn log(
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
    head: &Head,
    server: &ServerConf,
    resp: &Response,
    (sent, body_bytes, keep_alive, requests_on_connection, bytes_in): (u64, u64, bool, u32, u64),
    (req, ssl): (&ReqLog<'_>, Option<modules::SslConn<'_>>),
    time: u64,
    started: u64,
) {
    modules::log_request(&LogRecord {
        request_line: head.request_line(),
        status: resp.status,
        bytes_sent: sent,
        response: Some(resp),
        sent_headers: None,
        body_bytes,
        keep_alive,
        requests_on_connection,
        bytes_in,
        peer,
        useragent: req.useragent,
        notes: req.notes,
        ssl,
        local,
        server,
        head: Some(head),
        time,
        start_us: started,
    });
}

/// An error page when no `Request` exists any more (framing errors, 413 while reading).
fn render_plain_error(
    resp: &mut Response,
    config: &ServerConfig,
    server: &ServerConf,
    head: &Head,
    note: Option<&str>,
) {
    let _ = config;
    let info = ErrorInfo {
        method: std::str::from_utf8(head.method()).unwrap_or(""),
        note,
        server_admin: server
            .server_admin
            .as_deref()
            .unwrap_or("[no address given]"),
        ..ErrorInfo::default()
    };
    resp.body = Body::Bytes(error_page(resp.status, &info).into_bytes());
    resp.content_type = Some("text/html; charset=iso-8859-1".into());
    resp.generated = true;
}

fn write_body_only(io: &mut Io<'_>, out: &mut Vec<u8>, resp: &mut Response) -> u64 {
    out.clear();
    match std::mem::take(&mut resp.body) {
        Body::Bytes(b) => {
            let _ = io.write_all(&b);
            b.len() as u64
        }
        Body::Shared(b) => {
            let _ = io.write_all(&b);
            b.len() as u64
        }
        Body::File { file, offset, len } => {
            let _ = io.send_file(&file, offset, len);
            len
        }
        Body::Stream(mut src, _) => {
            let mut buf = vec![0u8; READ_CHUNK];
            let mut sent = 0;
            loop {
                match src.0.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if io.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            sent
        }
        _ => 0,
    }
}

/// Appends `n` in decimal without going through `fmt` (no allocation).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The protocol the first HTTP/1.1 response of a connection announces in `Upgrade` (httpd's
/// protocol proposals):
/// `h2c` on a cleartext connection when `Protocols` lists it, `h2` over TLS likewise; none
/// when `H2Upgrade off`.
fn announced_upgrade(
    config: &ServerConfig,
    server: &ServerConf,
    tls: bool,
) -> Option<&'static str> {
    if server.h2.upgrade == Some(false) || !config.modules.contains(&"http2") {
        return None;
    }
    let proto = if tls { "h2" } else { "h2c" };
    server.protocols.iter().any(|p| p == proto).then_some(proto)
}

#[allow(clippy::too_many_arguments)]
fn write_response(
    io: &mut Io<'_>,
    out: &mut Vec<u8>,
    config: &ServerConfig,
    resp: &mut Response,
    time: u64,
    (keep, client_ka, left, can_chunk, http10): (bool, bool, u32, bool, bool),
    server: &ServerConf,
    is_head: bool,
    announce: Option<&str>,
) -> io::Result<u64> {
    out.clear();
    resp.fixup_vary();
    write_status_line(out, http10, resp.status, time, config);
    if let Some(r) = resp.reason.as_deref() {
        // A CGI/FastCGI script's own reason phrase (httpd's r->status_line); `HTTP/1.x 000 `
        // is as long for either version.
        let at = b"HTTP/1.1 000 ".len();
        let end = at + reason(resp.status).len();
        out.splice(at..end, r.bytes());
    }
    // httpd puts the announcement right after Server, with the connection's own token
    // merged into the same Connection header.
    if let Some(proto) = announce {
        out.extend_from_slice(b"Upgrade: ");
        out.extend_from_slice(proto.as_bytes());
        out.extend_from_slice(b"\r\nConnection: Upgrade");
        if keep {
            if client_ka {
                out.extend_from_slice(b", Keep-Alive");
            }
        } else if !resp.close_silently {
            out.extend_from_slice(b", close");
        }
        out.extend_from_slice(b"\r\n");
    }
    let no_body = resp.status == 304 || resp.status == 204 || (100..200).contains(&resp.status);
    let body_len = resp.body.len();
    let mut chunked = false;
    let mut length = None;
    if !no_body {
        match resp.framing {
            // httpd sends no length for the generated page of a HEAD request.
            Framing::Length if is_head && resp.generated => {}
            Framing::Length => {
                length = Some(body_len);
                resp.sent_length = length;
            }
            // Written after the connection fields, where httpd puts it.
            Framing::Chunked if can_chunk => chunked = true,
            Framing::Chunked | Framing::Close => {}
        }
    }
    let push_length = |out: &mut Vec<u8>, len: u64| {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, len);
        out.extend_from_slice(b"\r\n");
    };
    // httpd overlays headers_out on err_headers_out: the `always` fields come first; the
    // length where the handler set it.
    for (n, v) in &resp.err_headers {
        push_header(out, n, v);
    }
    let length_at = resp.length_at.unwrap_or(usize::MAX);
    for (i, (n, v)) in resp.headers.iter().enumerate() {
        if i == length_at {
            if let Some(len) = length.take() {
                push_length(out, len);
            }
        }
        push_header(out, n, v);
    }
    if let Some(len) = length {
        push_length(out, len);
    }
    if keep {
        if client_ka {
            out.extend_from_slice(b"Keep-Alive: timeout=");
            push_decimal(out, server.keep_alive_timeout.as_secs());
            if server.max_keep_alive_requests != 0 {
                out.extend_from_slice(b", max=");
                push_decimal(out, u64::from(left));
            }
            out.extend_from_slice(b"\r\n");
            if announce.is_none() {
                out.extend_from_slice(b"Connection: Keep-Alive\r\n");
            }
        }
    } else if !resp.close_silently && announce.is_none() {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if let Some(ct) = &resp.content_type {
        if !no_body {
            push_header(out, "Content-Type", ct);
        }
    }
    out.extend_from_slice(b"\r\n");
    let head_len = out.len() as u64;
    if no_body || is_head {
        io.write_all(out)?;
        return Ok(head_len);
    }
    if chunked && body_len > 0 {
        out.extend_from_slice(format!("{body_len:x}\r\n").as_bytes());
    }
    let trailer: &[u8] = if chunked {
        if body_len > 0 {
            b"\r\n0\r\n\r\n"
        } else {
            b"0\r\n\r\n"
        }
    } else {
        b""
    };
    match std::mem::take(&mut resp.body) {
        Body::Stream(mut src, len) => {
            // The head was written with the framing `resp.framing` chose; copy as it comes.
            let mut pending = std::mem::take(out);
            let mut buf = vec![0u8; READ_CHUNK];
            let mut copied: u64 = 0;
            loop {
                let n = match src.0.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        io.write_all(&pending)?;
                        return Err(e);
                    }
                };
                if n == 0 {
                    break;
                }
                copied += n as u64;
                if chunked {
                    pending.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                    pending.extend_from_slice(&buf[..n]);
                    pending.extend_from_slice(b"\r\n");
                } else {
                    pending.extend_from_slice(&buf[..n]);
                }
                io.write_all(&pending)?;
                pending.clear();
            }
            if chunked {
                pending.extend_from_slice(b"0\r\n\r\n");
            }
            io.write_all(&pending)?;
            *out = pending;
            if len.is_some_and(|l| l != copied) {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            return Ok(head_len + copied);
        }
        Body::Empty => {
            out.extend_from_slice(trailer);
            io.write_all(out)?;
        }
        Body::Bytes(b) => {
            out.extend_from_slice(&b);
            out.extend_from_slice(trailer);
            io.write_all(out)?;
        }
        Body::Shared(b) => {
            out.extend_from_slice(&b);
            out.extend_from_slice(trailer);
            io.write_all(out)?;
        }
        Body::File { file, offset, len } => {
            if len <= INLINE_BODY {
                let start = out.len();
                out.resize(start + len as usize, 0);
                read_exact_at(&file, &mut out[start..], offset)?;
                out.extend_from_slice(trailer);
                io.write_all(out)?;
            } else {
                io.write_all(out)?;
                io.send_file(&file, offset, len)?;
                io.write_all(trailer)?;
            }
        }
        Body::Multipart {
            file,
            parts,
            trailer: mp_trailer,
        } => {
            for (h, off, len) in parts {
                out.extend_from_slice(&h);
                if len <= INLINE_BODY {
                    let start = out.len();
                    out.resize(start + len as usize, 0);
                    read_exact_at(&file, &mut out[start..], off)?;
                } else {
                    io.write_all(out)?;
                    out.clear();
                    io.send_file(&file, off, len)?;
                }
            }
            out.extend_from_slice(&mp_trailer);
            out.extend_from_slice(trailer);
            io.write_all(out)?;
        }
    }
    Ok(head_len + body_len)
}

fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// Lingering close (httpd's `ap_lingering_close`): shut down the write side, then read and
/// drop input until EOF, an error, 2 s without data, or 30 s in total (2 s when `short`).
/// Works on a blocking or non-blocking socket alike: each read is a non-blocking recv and the
/// waits are poll(2), so no socket mode or SO_RCVTIMEO is set. When the client has already
/// closed (common after `Connection: close`), this costs shutdown and one recv.
pub fn lingering_close(stream: &TcpStream, short: bool) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::socket::{recv, MsgFlags};
    use std::os::fd::AsRawFd;

    const PER_READ: Duration = Duration::from_secs(2);
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let total = if short {
        PER_READ
    } else {
        Duration::from_secs(30)
    };
    let deadline = Instant::now() + total;
    let mut buf = [0u8; 512];
    loop {
        match recv(stream.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => {}
            Err(_) => return,
        }
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(PER_READ);
        if left.is_zero() {
            return;
        }
        let ms = PollTimeout::try_from(left.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(0) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pipeline_peeks, push_decimal};

    #[test]
    fn pipelining_look_ahead_counts_as_httpd() {
        // Figures apache2's %I showed, less the bytes the next request uses itself.
        assert_eq!(pipeline_peeks(b""), 0);
        assert_eq!(pipeline_peeks(b"GET / HTTP/1.1\r\n"), 1);
        assert_eq!(pipeline_peeks(b"\r\nGET /"), 4);
        assert_eq!(pipeline_peeks(b"\r\n\r\nGET /"), 7);
        assert_eq!(pipeline_peeks(b"\nG"), 2);
        assert_eq!(pipeline_peeks(b"\r"), 2);
    }

    #[test]
    fn decimals_match_display() {
        for n in [0u64, 7, 10, 200, 1024, 65535, 1 << 40, u64::MAX] {
            let mut v = b"x".to_vec();
            push_decimal(&mut v, n);
            assert_eq!(v, format!("x{n}").into_bytes());
        }
    }
}
