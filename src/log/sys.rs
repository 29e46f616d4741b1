//! Local time for error-log timestamps (the one libc call the log needs).

/// (weekday 0=Sun, month 0=Jan, day, hour, min, sec, year) of `secs` in local time.
pub(super) fn local_time(secs: i64) -> (usize, usize, i32, i32, i32, i32, i32) {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain data; zero is a valid value for every field.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point at live locals; localtime_r is the thread-safe variant.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return (4, 0, 1, 0, 0, 0, 1970);
    }
    (
        tm.tm_wday.clamp(0, 6) as usize,
        tm.tm_mon.clamp(0, 11) as usize,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year + 1900,
    )
}
