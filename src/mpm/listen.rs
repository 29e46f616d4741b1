//! Listening sockets (httpd's listen.c): opened by the parent before the first fork, kept
//! across restarts when the configured address is unchanged, inherited by every child.
//!
//! Accept serialisation: none, and no SO_REUSEPORT. Every child shares the same sockets. A
//! prefork child waits in its own epoll set with EPOLLEXCLUSIVE, so the kernel wakes one
//! waiter per connection (no thundering herd, which is what httpd's accept mutex is for), and
//! accepts non-blocking; EAGAIN from a lost race is ignored. SO_REUSEPORT was rejected: with a
//! socket per child, connections queued on a child that exits (graceful restart, recycling,
//! MaxSpareServers) are reset, which breaks "zero failed requests across graceful"
//! (docs/lifecycle.md §3 has the measurement: EPOLLEXCLUSIVE vs plain epoll within noise).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

use crate::config::ListenSpec;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("({errno}){desc}: AH00072: make_sock: could not bind to address {addr}", errno = *.source as i32, desc = .source.desc())]
    Bind {
        addr: SocketAddr,
        source: nix::Error,
    },
    #[error("could not create a socket for {addr}: {source}")]
    Socket {
        addr: SocketAddr,
        source: nix::Error,
    },
    #[error("could not listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: nix::Error,
    },
    #[error("no listening sockets available, shutting down")]
    NoListeners,
}

/// One open `Listen` socket.
#[derive(Debug)]
pub struct Listener {
    /// As configured (port 0 stays 0: that is what a restart matches on).
    pub spec: ListenSpec,
    /// What the kernel bound (the real port when the config said 0).
    pub local: SocketAddr,
    pub socket: TcpListener,
}

impl Listener {
    /// Creates, binds and listens: SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY, IPv4-mapped
    /// addresses allowed on IPv6 sockets (IPV6_V6ONLY off), close-on-exec.
    pub fn open(spec: &ListenSpec, backlog: i32) -> Result<Listener, ListenError> {
        let addr = spec.addr;
        let family = if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let fd: OwnedFd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
            .map_err(|source| ListenError::Socket { addr, source })?;
        let sock_err = |source| ListenError::Socket { addr, source };
        setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(sock_err)?;
        setsockopt(&fd, sockopt::KeepAlive, &true).map_err(sock_err)?;
        setsockopt(&fd, sockopt::TcpNoDelay, &true).map_err(sock_err)?;
        if addr.is_ipv6() {
            setsockopt(&fd, sockopt::Ipv6V6Only, &false).map_err(sock_err)?;
        }
        bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))
            .map_err(|source| ListenError::Bind { addr, source })?;
        let backlog = Backlog::new(backlog.max(1)).unwrap_or(Backlog::MAXCONN);
        listen(&fd.as_fd(), backlog).map_err(|source| ListenError::Listen { addr, source })?;
        let socket = TcpListener::from(fd);
        let local = socket.local_addr().map_err(|e| ListenError::Listen {
            addr,
            source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)),
        })?;
        Ok(Listener {
            spec: spec.clone(),
            local,
            socket,
        })
    }
}

/// (the new generation's listeners, the ones no longer configured).
pub type Reconciled = (Vec<Listener>, Vec<Listener>);

/// The listeners of a new generation: sockets whose configured address is unchanged are
/// reused as they are (never closed, so no connection is refused across a restart), new
/// addresses are bound, and the ones no longer configured are returned in `.1` for the caller
/// to close once the new generation is committed. On error the old set is returned untouched.
pub fn reconcile(
    old: Vec<Listener>,
    specs: &[ListenSpec],
    backlog: i32,
) -> Result<Reconciled, (Vec<Listener>, ListenError)> {
    if specs.is_empty() {
        return Err((old, ListenError::NoListeners));
    }
    let mut pool: Vec<Option<Listener>> = old.into_iter().map(Some).collect();
    let mut next = Vec::with_capacity(specs.len());
    for spec in specs {
        let found = pool
            .iter_mut()
            .find(|l| l.as_ref().is_some_and(|l| l.spec.addr == spec.addr))
            .and_then(Option::take);
        match found {
            Some(mut l) => {
                l.spec = spec.clone();
                next.push((l, true));
            }
            None => match Listener::open(spec, backlog) {
                Ok(l) => next.push((l, false)),
                Err(e) => {
                    // Roll back: put reused sockets back, close the freshly bound ones.
                    let mut back: Vec<Listener> = pool.into_iter().flatten().collect();
                    back.extend(next.into_iter().filter(|(_, r)| *r).map(|(l, _)| l));
                    return Err((back, e));
                }
            },
        }
    }
    let removed = pool.into_iter().flatten().collect();
    Ok((next.into_iter().map(|(l, _)| l).collect(), removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::Span;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn spec(addr: &str) -> ListenSpec {
        ListenSpec {
            addr: addr.parse().unwrap(),
            protocol: None,
            span: Span {
                file: Arc::new(PathBuf::from("t.conf")),
                line: 1,
            },
        }
    }

    #[test]
    fn binds_port_zero_and_reports_real_port() {
        let l = Listener::open(&spec("127.0.0.1:0"), 16).unwrap();
        assert_ne!(l.local.port(), 0);
        std::net::TcpStream::connect(l.local).unwrap();
    }

    #[test]
    fn reconcile_keeps_unchanged_sockets_open() {
        let a = Listener::open(&spec("127.0.0.1:0"), 16).unwrap();
        let port = a.local.port();
        let fd = a.socket.as_raw_fd();
        let (next, removed) = reconcile(vec![a], &[spec("127.0.0.1:0")], 16).unwrap();
        assert!(removed.is_empty());
        assert_eq!(next[0].socket.as_raw_fd(), fd);
        assert_eq!(next[0].local.port(), port);
    }

    #[test]
    fn reconcile_failure_keeps_old_set() {
        let a = Listener::open(&spec("127.0.0.1:0"), 16).unwrap();
        let busy = a.local;
        let b = Listener::open(&spec("127.0.0.1:0"), 16).unwrap();
        // Asking for `a`'s port again from scratch (different spec) must fail to bind and
        // leave `b` in place.
        let err = reconcile(vec![b], &[spec(&busy.to_string())], 16).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.1.to_string().contains("AH00072"), "{}", err.1);
        drop(a);
    }
}
