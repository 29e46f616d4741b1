//! Write batching under the h2 codec.
//!
//! The h2 crate keeps a DATA payload of 256 bytes or more out of its own buffer and flushes
//! the transport before it encodes the next frame, so every response of a small file costs
//! one `writev`. `Batch` takes those writes into one buffer and its `poll_flush` only writes
//! when the buffer is large; the connection loop calls `Flusher::poll_flush_now` once the
//! h2 connection has nothing more to do (its poll returned `Pending`), so all the frames of
//! one round (the responses to every request that arrived together) leave in one write.
//! `poll_shutdown` always writes everything first.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Past this many pending bytes a write or flush goes to the transport at once.
const HIGH_WATER: usize = 64 * 1024;

struct Out<T> {
    io: T,
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    pos: usize,
}

impl<T: AsyncWrite + Unpin> Out<T> {
    fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Writes everything pending, then flushes the transport.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pos < self.buf.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf[self.pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pos += n;
        }
        self.buf.clear();
        self.pos = 0;
        Pin::new(&mut self.io).poll_flush(cx)
    }
}

/// The transport as the h2 codec sees it.
pub struct Batch<T> {
    out: Arc<Mutex<Out<T>>>,
}

/// The connection loop's handle on the same buffer.
pub struct Flusher<T> {
    out: Arc<Mutex<Out<T>>>,
}

/// Wraps `io`; the `Flusher` writes out what the codec left in the buffer.
pub fn batch<T>(io: T) -> (Batch<T>, Flusher<T>) {
    let out = Arc::new(Mutex::new(Out {
        io,
        buf: Vec::new(),
        pos: 0,
    }));
    (Batch { out: out.clone() }, Flusher { out })
}

fn lock<T>(m: &Mutex<Out<T>>) -> MutexGuard<'_, Out<T>> {
    // A panic while the buffer was held leaves bytes, not broken invariants.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: AsyncWrite + Unpin> Flusher<T> {
    /// Writes every pending byte (`Pending` when the socket is full: the task is woken when
    /// it drains).
    pub fn poll_flush_now(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = lock(&self.out);
        if out.pending() == 0 {
            return Poll::Ready(Ok(()));
        }
        out.poll_write_out(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Batch<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut out = lock(&self.out);
        Pin::new(&mut out.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Batch<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut out = lock(&self.out);
        if out.pending() >= HIGH_WATER {
            ready!(out.poll_write_out(cx))?;
        }
        out.buf.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut out = lock(&self.out);
        if out.pending() >= HIGH_WATER {
            ready!(out.poll_write_out(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            out.buf.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Deferred to the connection loop's `poll_flush_now` unless a lot is pending.
        let mut out = lock(&self.out);
        if out.pending() >= HIGH_WATER {
            return out.poll_write_out(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = lock(&self.out);
        ready!(out.poll_write_out(cx))?;
        Pin::new(&mut out.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn small_flushes_wait_for_the_flusher() {
        rt().block_on(async {
            let (a, mut b) = tokio::io::duplex(1 << 20);
            let (mut w, f) = batch(a);
            w.write_all(b"one").await.unwrap();
            w.flush().await.unwrap();
            w.write_all(b"two").await.unwrap();
            w.flush().await.unwrap();
            let mut buf = [0u8; 16];
            // Nothing reached the peer yet.
            let early =
                tokio::time::timeout(std::time::Duration::from_millis(50), b.read(&mut buf)).await;
            assert!(early.is_err(), "data left before the loop flushed");
            std::future::poll_fn(|cx| f.poll_flush_now(cx))
                .await
                .unwrap();
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"onetwo");
        });
    }

    #[test]
    fn a_large_backlog_and_shutdown_write_through() {
        rt().block_on(async {
            let (a, mut b) = tokio::io::duplex(1 << 20);
            let (mut w, _f) = batch(a);
            let big = vec![7u8; HIGH_WATER + 10];
            w.write_all(&big).await.unwrap();
            w.flush().await.unwrap();
            let mut got = vec![0u8; big.len()];
            b.read_exact(&mut got).await.unwrap();
            assert_eq!(got, big);
            w.write_all(b"end").await.unwrap();
            w.shutdown().await.unwrap();
            let mut rest = Vec::new();
            b.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"end");
        });
    }
}
