//! The contents of small static files, kept per process so that a hit costs no `open`,
//! `pread` and `close` (the walk's `stat` is still made for every request, as httpd makes it).
//!
//! An entry is used only while the file's identity and times are those it was read with:
//! device, inode, size, and the nanosecond mtime and ctime. Any write, truncate, rename over,
//! chmod, chown or ACL change moves the ctime, so a stale entry is never served. Linux takes
//! file times from a clock that advances in ticks, so two writes within one tick can leave
//! the same times; a file changed within the last `SETTLE` seconds is therefore served but
//! not kept (git's "racy timestamp" rule). Only whole-file bodies come from here; ranges,
//! large files and everything else open the file as before.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Largest file kept (larger ones go out with sendfile or a read per request).
pub const MAX_FILE: u64 = 16 * 1024;
/// Bytes kept per process; when a new file would go past it, the cache starts over.
const CAPACITY: usize = 1024 * 1024;
/// Files changed more recently than this many seconds are not kept.
const SETTLE: i64 = 2;

#[derive(PartialEq, Eq, Clone, Copy)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

struct Entry {
    stamp: Stamp,
    data: Arc<[u8]>,
}

#[derive(Default)]
struct Cache {
    /// By the path's bytes (a lookup hashes them once, not component by component).
    entries: HashMap<Box<[u8]>, Entry, super::fx::BuildFx>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: std::sync::OnceLock<Mutex<Cache>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The kept contents of `path` when they are still those of the file `meta` describes.
pub fn get(path: &Path, meta: &Metadata) -> Option<Arc<[u8]>> {
    if meta.size() > MAX_FILE {
        return None;
    }
    let c = cache().lock().unwrap_or_else(|e| e.into_inner());
    let e = c.entries.get(path.as_os_str().as_bytes())?;
    (e.stamp == Stamp::of(meta)).then(|| e.data.clone())
}

/// Keeps `data`, read from `path` whose metadata (taken before the read) is `meta`, unless the
/// file is too large or changed too recently (`now`: seconds since the epoch).
pub fn put(path: &Path, meta: &Metadata, data: &[u8], now: i64) {
    if meta.size() > MAX_FILE || data.len() as u64 != meta.size() {
        return;
    }
    if meta.ctime() > now - SETTLE || meta.mtime() > now - SETTLE {
        return;
    }
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if c.bytes + data.len() > CAPACITY {
        c.entries.clear();
        c.bytes = 0;
    }
    let entry = Entry {
        stamp: Stamp::of(meta),
        data: Arc::from(data),
    };
    if let Some(old) = c.entries.insert(path.as_os_str().as_bytes().into(), entry) {
        c.bytes -= old.data.len();
    }
    c.bytes += data.len();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn a_kept_file_is_served_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "one").unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        // Just written: not kept yet.
        put(&p, &meta, b"one", now());
        assert!(get(&p, &meta).is_none());
        // Settled (as seen from a clock SETTLE seconds later): kept.
        put(&p, &meta, b"one", now() + SETTLE + 1);
        assert_eq!(get(&p, &meta).as_deref(), Some(&b"one"[..]));
        // Rewritten with the same size: the times (or at least the ctime) differ.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "two").unwrap();
        let meta2 = std::fs::metadata(&p).unwrap();
        assert!(get(&p, &meta2).is_none());
        // chmod alone moves the ctime.
        put(&p, &meta2, b"two", now() + SETTLE + 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut perm = meta2.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
        std::fs::set_permissions(&p, perm).unwrap();
        assert!(get(&p, &std::fs::metadata(&p).unwrap()).is_none());
    }

    #[test]
    fn large_or_short_reads_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        std::fs::write(&p, vec![b'x'; MAX_FILE as usize + 1]).unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        put(&p, &meta, &vec![b'x'; MAX_FILE as usize + 1], now() + 10);
        assert!(get(&p, &meta).is_none());
        let q = dir.path().join("short.txt");
        std::fs::write(&q, "abcdef").unwrap();
        let meta = std::fs::metadata(&q).unwrap();
        put(&q, &meta, b"abc", now() + 10);
        assert!(get(&q, &meta).is_none());
    }
}
