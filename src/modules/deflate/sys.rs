//! The system's zlib (the library httpd's mod_deflate uses, so the compressed bytes are
//! the same): a raw deflate stream with every deflateInit2 setting httpd passes.

use std::os::raw::{c_int, c_uint, c_void};

use libz_sys as z;

/// zlib's allocator hooks, on the C heap (zlib wants zeroed memory only for its window
/// under some builds; calloc is what zlib's own default does too).
extern "C" fn zalloc(_opaque: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    // SAFETY: calloc takes any counts and returns null or a fresh allocation.
    unsafe { libc::calloc(items as usize, size as usize) }
}

extern "C" fn zfree(_opaque: *mut c_void, ptr: *mut c_void) {
    // SAFETY: `ptr` came from `zalloc` (calloc) or is null; zlib frees each block once.
    unsafe { libc::free(ptr) }
}

/// The zlib flush modes the filter uses (httpd's mod_deflate also syncs on a FLUSH bucket;
/// mpmd's bodies carry none).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// `Z_NO_FLUSH`: data.
    None,
    /// `Z_FINISH`: the end of the response.
    Finish,
}

/// One raw deflate stream. Boxed: zlib's state points back at the `z_stream`.
pub struct RawDeflate {
    strm: Box<z::z_stream>,
}

impl RawDeflate {
    /// `deflateInit2(level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY)`, or
    /// zlib's return code when it refuses the settings.
    pub fn new(level: i32, window_bits: u8, mem_level: u8) -> Result<RawDeflate, i32> {
        let mut strm = Box::new(z::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc,
            zfree,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        // SAFETY: `strm` is a fully initialised z_stream that stays at this heap address
        // for the stream's life; the version and size are those of the headers we built
        // against, as the deflateInit2 macro passes them.
        let rc = unsafe {
            z::deflateInit2_(
                &mut *strm,
                level as c_int,
                z::Z_DEFLATED,
                -c_int::from(window_bits),
                c_int::from(mem_level),
                z::Z_DEFAULT_STRATEGY,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if rc != z::Z_OK {
            return Err(rc);
        }
        Ok(RawDeflate { strm })
    }

    /// One `deflate()` call over `input` into `output` with `flush`: (bytes read, bytes
    /// written, stream ended), or zlib's error code.
    pub fn run(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        flush: Flush,
    ) -> Result<(usize, usize, bool), i32> {
        let in_len = input.len().min(c_uint::MAX as usize) as c_uint;
        let out_len = output.len().min(c_uint::MAX as usize) as c_uint;
        // zlib never writes through next_in; the cast only satisfies its C signature.
        self.strm.next_in = input.as_ptr().cast_mut();
        self.strm.avail_in = in_len;
        self.strm.next_out = output.as_mut_ptr();
        self.strm.avail_out = out_len;
        let flush = match flush {
            Flush::None => z::Z_NO_FLUSH,
            Flush::Finish => z::Z_FINISH,
        };
        // SAFETY: the stream was initialised by deflateInit2; next_in/next_out point at
        // `in_len`/`out_len` valid bytes of the borrowed slices, which outlive the call.
        let rc = unsafe { z::deflate(&mut *self.strm, flush) };
        let read = (in_len - self.strm.avail_in) as usize;
        let wrote = (out_len - self.strm.avail_out) as usize;
        self.strm.next_in = std::ptr::null_mut();
        self.strm.next_out = std::ptr::null_mut();
        self.strm.avail_in = 0;
        self.strm.avail_out = 0;
        match rc {
            z::Z_OK | z::Z_BUF_ERROR => Ok((read, wrote, false)),
            z::Z_STREAM_END => Ok((read, wrote, true)),
            e => Err(e),
        }
    }
}

impl Drop for RawDeflate {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2 and is ended once, here.
        unsafe {
            z::deflateEnd(&mut *self.strm);
        }
    }
}

/// zlib's CRC-32 of `data`, continuing from `crc`.
pub fn crc32(mut crc: u32, data: &[u8]) -> u32 {
    for chunk in data.chunks(c_uint::MAX as usize) {
        // SAFETY: the pointer and length describe the live borrowed chunk.
        crc = unsafe { z::crc32(crc.into(), chunk.as_ptr(), chunk.len() as c_uint) } as u32;
    }
    crc
}
