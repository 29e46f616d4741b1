//! The one shared mapping behind the scoreboard, and the typed views into it. All `unsafe` of
//! the scoreboard lives here.

use std::fs::OpenOptions;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::path::Path;
use std::ptr::NonNull;

use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};

/// Records that may live in the mapping: `#[repr(C)]`, made only of atomics (valid when all
/// bytes are zero, safe to share between processes), no pointers, no `Drop`.
///
/// # Safety
/// Implement only for such types.
pub(super) unsafe trait Record: Sized {}

/// A `MAP_SHARED` mapping, anonymous or backed by a file. Unmapped on drop.
pub(super) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping holds only atomics (see `Record`); sharing references to them between
// threads is what atomics are for.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Anonymous shared memory: inherited by every child forked after this call.
    pub(super) fn anonymous(len: usize) -> std::io::Result<Mapping> {
        let size = NonZeroUsize::new(len).ok_or(std::io::ErrorKind::InvalidInput)?;
        // SAFETY: a fresh mapping at an address of the kernel's choice; it aliases nothing.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }?;
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// A file-backed mapping (`ScoreBoardFile`). With `create`, any old file is removed first
    /// and the new one is sized to `len` (zero-filled); otherwise the file's own size is used.
    pub(super) fn file(path: &Path, len: Option<usize>) -> std::io::Result<Mapping> {
        let file = if let Some(len) = len {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?;
            f.set_len(len as u64)?;
            f
        } else {
            OpenOptions::new().read(true).write(true).open(path)?
        };
        let len = match len {
            Some(l) => l,
            None => file.metadata()?.len() as usize,
        };
        let size = NonZeroUsize::new(len).ok_or(std::io::ErrorKind::InvalidData)?;
        // SAFETY: a fresh shared mapping of a regular file we just opened; other mappers only
        // touch it through atomics.
        let ptr = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                file.as_fd(),
                0,
            )
        }?;
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The record of type `T` at `offset`; `None` when out of bounds or misaligned.
    pub(super) fn record<T: Record>(&self, offset: usize) -> Option<&T> {
        let end = offset.checked_add(std::mem::size_of::<T>())?;
        if end > self.len || offset % std::mem::align_of::<T>() != 0 {
            return None;
        }
        // SAFETY: in bounds and aligned (checked above; the mapping is page-aligned); `T` is a
        // `Record`, valid for any bytes the mapping can hold (zero or written through atomics),
        // and the reference cannot outlive `self`, which keeps the mapping alive.
        Some(unsafe { &*self.ptr.as_ptr().add(offset).cast::<T>() })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping we made; every reference into it borrows
        // `self`, so none is alive any more.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}
