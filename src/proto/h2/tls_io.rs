//! An already-handshaken rustls session over a tokio socket, as `AsyncRead + AsyncWrite` for
//! the h2 crate. The handshake ran on the blocking socket in the connection driver (ALPN
//! decides h2 only then), so tokio-rustls' acceptor cannot be used; this adapter drives the
//! same rustls calls (`read_tls`/`process_new_packets`/`write_tls`) from tokio readiness.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustls::ServerConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct TlsIo {
    pub conn: ServerConnection,
    pub tcp: TcpStream,
    eof: bool,
}

impl TlsIo {
    pub fn new(conn: ServerConnection, tcp: TcpStream) -> Self {
        TlsIo {
            conn,
            tcp,
            eof: false,
        }
    }

    /// Sends every queued TLS record.
    fn poll_flush_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self.conn.write_tls(&mut SyncIo(&self.tcp)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads TLS records from the socket and decrypts them; `Ok(0)` at EOF.
    fn poll_read_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.conn.read_tls(&mut SyncIo(&self.tcp)) {
                Ok(n) => {
                    if n > 0 {
                        if let Err(e) = self.conn.process_new_packets() {
                            // Send the alert rustls queued, then fail.
                            let _ = self.conn.write_tls(&mut SyncIo(&self.tcp));
                            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                        }
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// `Read`/`Write` on a tokio socket that never waits (`WouldBlock` clears tokio's readiness).
struct SyncIo<'a>(&'a TcpStream);

impl Read for SyncIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for SyncIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for TlsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.conn.reader().read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify: an EOF for HTTP/2 (it has its own framing).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            // Handshake leftovers (TLS 1.3 tickets) or alerts go out before we wait.
            if this.conn.wants_write() {
                ready!(this.poll_flush_tls(cx))?;
            }
            if ready!(this.poll_read_tls(cx))? == 0 {
                this.eof = true;
            }
        }
    }
}

impl AsyncWrite for TlsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            let n = this.conn.writer().write(buf)?;
            if n > 0 || buf.is_empty() {
                // Push what we can now; the rest goes with the next write or flush.
                if let Poll::Ready(Err(e)) = this.poll_flush_tls(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(n));
            }
            // rustls' send buffer is full: wait until the socket takes some.
            ready!(this.poll_flush_tls(cx))?;
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.writer().flush()?;
        this.poll_flush_tls(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.send_close_notify();
        ready!(this.poll_flush_tls(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}
