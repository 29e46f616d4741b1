//! mod_remoteip's PROXY protocol at the start of a connection: the header is taken off the
//! socket before anything else reads it (the TLS handshake, the h2 preface check, the HTTP/1
//! parser), without reading one byte past it, so what follows is still in the socket for them.
//! Bytes are peeked, `proto::proxy::parse` decides, and only header bytes are consumed.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use crate::proto::proxy::{self, Client, Parse, ProxyError, MAX_LOOK};

/// Why no client address came out of the header; the connection is then closed (httpd
/// aborts it: no response, no access log line).
enum Failure {
    Refused(ProxyError),
    Eof,
    TimedOut,
    Io(io::Error),
}

/// Reads the PROXY header of a new connection from `peer`, waiting at most `timeout` for
/// it. Returns the client it names (`peer` itself for LOCAL and UNKNOWN), or `None` after
/// logging as httpd does: the caller closes the connection.
pub fn read_header(
    stream: &TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    timeout: Duration,
) -> Option<SocketAddr> {
    crate::ap_log!(
        debug,
        "remoteip",
        "[client {peer}] AH03503: RemoteIPProxyProtocol: enabled on connection to {}:{}",
        local.ip(),
        local.port()
    );
    match take_header(stream, timeout) {
        Ok(Client::Addr(a)) => {
            crate::ap_log!(
                debug,
                "remoteip",
                "[client {peer}] AH03511: RemoteIPProxyProtocol: received valid PROXY header: {}:{}",
                a.ip(),
                a.port()
            );
            Some(a)
        }
        Ok(Client::Peer) => Some(peer),
        Err(Failure::Refused(e)) if !e.logged() => {
            tracing::debug!("{peer}: no PROXY header");
            None
        }
        Err(Failure::Refused(e)) => {
            match e.os_error() {
                Some(os) => crate::ap_log!(error, "remoteip", "{os}: [client {peer}] {e}"),
                None => crate::ap_log!(error, "remoteip", "[client {peer}] {e}"),
            }
            None
        }
        Err(Failure::Eof) => {
            crate::ap_log!(
                info,
                "remoteip",
                "[client {peer}] AH10634: RemoteIPProxyProtocol: connection closed before a complete header was received"
            );
            None
        }
        Err(Failure::TimedOut) => {
            crate::ap_log!(
                error,
                "remoteip",
                "(70007)The timeout specified has expired: [client {peer}] AH10184: failed reading input"
            );
            None
        }
        Err(Failure::Io(e)) => {
            tracing::debug!("{peer}: reading the PROXY header: {e}");
            None
        }
    }
}

/// Peeks what has arrived, consumes it when it is all header (so a wait for more does not
/// wake at once), and consumes exactly the header once it is whole. Every call is
/// non-blocking (the socket may be in either mode); waits are poll(2) with the deadline.
fn take_header(stream: &TcpStream, timeout: Duration) -> Result<Client, Failure> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; MAX_LOOK];
    let mut have = 0;
    loop {
        let n = match recv(stream, &mut buf[have..], libc::MSG_PEEK) {
            Ok(0) => return Err(Failure::Eof),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(Failure::Io(e)),
        };
        match proxy::parse(&buf[..have + n]) {
            Parse::Done { len, client } => {
                consume(stream, &mut buf[have..len])?;
                return Ok(client);
            }
            Parse::Error(e) => return Err(Failure::Refused(e)),
            Parse::NeedMore => {
                if n > 0 {
                    consume(stream, &mut buf[have..have + n])?;
                    have += n;
                }
            }
        }
        wait_readable(stream, deadline)?;
    }
}

/// Takes `buf.len()` bytes that a peek has already seen (they are queued: one recv does).
fn consume(stream: &TcpStream, buf: &mut [u8]) -> Result<(), Failure> {
    let mut done = 0;
    while done < buf.len() {
        match recv(stream, &mut buf[done..], 0) {
            Ok(0) => return Err(Failure::Eof),
            Ok(n) => done += n,
            Err(e) => return Err(Failure::Io(e)),
        }
    }
    Ok(())
}

fn recv(stream: &TcpStream, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    let flags = nix::sys::socket::MsgFlags::from_bits_truncate(flags | libc::MSG_DONTWAIT);
    loop {
        match nix::sys::socket::recv(stream.as_raw_fd(), buf, flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return r.map_err(io::Error::from),
        }
    }
}

fn wait_readable(stream: &TcpStream, deadline: Instant) -> Result<(), Failure> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::TimedOut);
        }
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(0) => return Err(Failure::TimedOut),
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Failure::Io(e.into())),
        }
    }
}
