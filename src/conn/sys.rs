//! The one raw syscall the driver needs: `recv(2)` straight into a Vec's spare capacity, so a
//! read does not first zero a buffer it is about to overwrite (that zeroing was a third of
//! the instructions of a small keep-alive request).

use std::io;
use std::os::fd::AsRawFd;

/// Receives at most `want` bytes from socket `fd` with recv(2) `flags` (e.g. MSG_DONTWAIT)
/// and appends them to `buf`. Returns the count (0 = end of file).
pub fn recv_append(
    fd: &impl AsRawFd,
    buf: &mut Vec<u8>,
    want: usize,
    flags: libc::c_int,
) -> io::Result<usize> {
    // Grow only when little room is left, so a buffer that holds a few leftover bytes is
    // not reallocated on every read.
    if buf.capacity() - buf.len() < want / 4 {
        buf.reserve(want);
    }
    let spare = buf.spare_capacity_mut();
    let n = spare.len().min(want);
    // SAFETY: `spare` is writable memory owned by `buf` of at least `n` bytes; recv(2) writes
    // at most `n` bytes into it and does not keep the pointer.
    let r = unsafe { libc::recv(fd.as_raw_fd(), spare.as_mut_ptr().cast(), n, flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let r = r as usize;
    let len = buf.len();
    // SAFETY: recv(2) initialised the `r <= n` bytes that follow the old length.
    unsafe { buf.set_len(len + r) };
    Ok(r)
}
