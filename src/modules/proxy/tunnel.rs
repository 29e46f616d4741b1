//! mod_proxy_wstunnel's byte pump: after a `101 Switching Protocols` from the backend, copy
//! bytes both ways until either side closes or nothing moves for the idle timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::modules::ClientIo;

const BUF: usize = 16 * 1024;

fn timeout_of(d: Duration) -> PollTimeout {
    PollTimeout::try_from(d.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
}

/// Waits until `fd` is ready for `flags`; false on timeout or error.
fn wait(fd: BorrowedFd<'_>, flags: PollFlags, idle: Duration) -> bool {
    let mut fds = [PollFd::new(fd, flags)];
    matches!(poll(&mut fds, timeout_of(idle)), Ok(n) if n > 0)
}

fn write_backend(s: &TcpStream, mut data: &[u8], idle: Duration) -> io::Result<()> {
    while !data.is_empty() {
        match (&*s).write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait(s.as_fd(), PollFlags::POLLOUT, idle) {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_client(c: &mut dyn ClientIo, mut data: &[u8], idle: Duration) -> io::Result<()> {
    loop {
        if data.is_empty() {
            match c.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        } else {
            match c.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    data = &data[n..];
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if !wait(c.as_fd(), PollFlags::POLLOUT, idle) {
            return Err(io::ErrorKind::TimedOut.into());
        }
    }
}

/// What one drain of a readable side found.
enum Drained {
    /// Read everything available (maybe nothing).
    Open,
    /// The side closed (EOF or error).
    Closed,
}

/// Copies `client` ⇄ `backend` until a side closes or `idle` passes without traffic.
/// `to_backend`/`to_client` are bytes already read past the handshake on either side.
pub fn pump(
    client: &mut dyn ClientIo,
    to_backend: Vec<u8>,
    backend: TcpStream,
    to_client: Vec<u8>,
    idle: Duration,
) {
    if client.set_nonblocking(true).is_err() || backend.set_nonblocking(true).is_err() {
        return;
    }
    if write_backend(&backend, &to_backend, idle).is_err()
        || write_client(client, &to_client, idle).is_err()
    {
        return;
    }
    let mut buf = vec![0u8; BUF];
    loop {
        let (c_ready, b_ready) = {
            let mut fds = [
                PollFd::new(client.as_fd(), PollFlags::POLLIN),
                PollFd::new(backend.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, timeout_of(idle)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), ready(&fds[1]))
        };
        if c_ready {
            // Read until the socket (and a TLS session's plaintext) is empty.
            let end = loop {
                match client.read(&mut buf) {
                    Ok(0) => break Drained::Closed,
                    Ok(n) => {
                        if write_backend(&backend, &buf[..n], idle).is_err() {
                            break Drained::Closed;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Drained::Open,
                    Err(_) => break Drained::Closed,
                }
            };
            if let Drained::Closed = end {
                let _ = backend.shutdown(Shutdown::Write);
                break;
            }
        }
        if b_ready {
            let end = loop {
                match (&backend).read(&mut buf) {
                    Ok(0) => break Drained::Closed,
                    Ok(n) => {
                        if write_client(client, &buf[..n], idle).is_err() {
                            break Drained::Closed;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Drained::Open,
                    Err(_) => break Drained::Closed,
                }
            };
            if let Drained::Closed = end {
                break;
            }
        }
    }
    let _ = client.set_nonblocking(false);
}
