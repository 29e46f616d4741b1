//! The libc calls the access log and server-status need: local time with its zone name and
//! offset, `strftime` for `%{format}t`, and the calling thread's `pthread_t` for `%{tid}P`.

use std::ffi::CString;

/// Local broken-down time of `secs`: what `%t`, `%{…}t` and the status page's times need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 0 = January.
    pub mon: usize,
    pub mday: i32,
    pub hour: i32,
    pub min: i32,
    pub sec: i32,
    /// 0 = Sunday.
    pub wday: usize,
    /// Seconds east of UTC.
    pub gmtoff: i64,
}

fn tm_of(secs: i64) -> Option<libc::tm> {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain data; zero is a valid value for every field (the zone pointer is
    // null until localtime_r fills it).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point at live locals; localtime_r is the thread-safe variant.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    ok.then_some(tm)
}

pub fn local_time(secs: i64) -> LocalTime {
    match tm_of(secs) {
        Some(tm) => LocalTime {
            year: tm.tm_year + 1900,
            mon: tm.tm_mon.clamp(0, 11) as usize,
            mday: tm.tm_mday,
            hour: tm.tm_hour,
            min: tm.tm_min,
            sec: tm.tm_sec,
            wday: tm.tm_wday.clamp(0, 6) as usize,
            gmtoff: tm.tm_gmtoff,
        },
        None => LocalTime {
            year: 1970,
            mday: 1,
            wday: 4,
            ..LocalTime::default()
        },
    }
}

/// `strftime(fmt)` of `secs` in local time (C locale: the process never calls setlocale).
/// An empty result (a format that expands to nothing or is too long) gives "".
pub fn strftime_local(secs: i64, fmt: &str) -> String {
    let Some(tm) = tm_of(secs) else {
        return String::new();
    };
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    let mut buf = vec![0u8; 256 + fmt.len() * 8];
    // SAFETY: `buf` is writable for `buf.len()` bytes, `cfmt` is NUL-terminated, `tm` is a
    // valid broken-down time from localtime_r; strftime writes at most `buf.len()` bytes.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            cfmt.as_ptr(),
            &tm,
        )
    };
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The calling thread's `pthread_t`, which httpd prints for `%{tid}P`.
pub fn thread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as u64 }
}
