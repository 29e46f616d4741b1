//! The raw epoll calls the event engine makes itself: its connection set, one-shot
//! registrations and single-event waits. A parked connection stays registered in the set for
//! its whole life and is re-armed (`EPOLL_CTL_MOD` with `EPOLLONESHOT`) each time it is
//! parked, instead of an ADD when parked and a DEL when woken. The workers wait in the set
//! themselves, one event each (see `event`).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What a one-shot registration waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    Readable,
    Writable,
}

/// Arms `fd` in the epoll set `epfd` for one event of `what`, reported with `token`.
/// `registered` says whether `fd` is (believed to be) in the set already: MOD then, ADD
/// otherwise; either falls back to the other when the kernel disagrees (ENOENT / EEXIST).
pub fn arm_oneshot(
    epfd: RawFd,
    fd: RawFd,
    token: u64,
    what: Arm,
    registered: bool,
) -> io::Result<()> {
    let events = match what {
        Arm::Readable => libc::EPOLLIN | libc::EPOLLRDHUP,
        Arm::Writable => libc::EPOLLOUT,
    } | libc::EPOLLONESHOT;
    let (first, second) = if registered {
        (libc::EPOLL_CTL_MOD, libc::EPOLL_CTL_ADD)
    } else {
        (libc::EPOLL_CTL_ADD, libc::EPOLL_CTL_MOD)
    };
    match ctl(epfd, first, fd, events as u32, token) {
        Err(e)
            if e.raw_os_error() == Some(libc::ENOENT) || e.raw_os_error() == Some(libc::EEXIST) =>
        {
            ctl(epfd, second, fd, events as u32, token)
        }
        r => r,
    }
}

fn ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` is a valid epoll_event that lives across the call; epoll_ctl only reads it
    // and does not keep the pointer. Bad descriptors are reported as errors, not UB.
    let r = unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A new epoll set (close-on-exec).
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 takes a flag word and returns a new descriptor or -1.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new eventfd (close-on-exec, non-blocking) and, registered level-triggered in `epfd`
/// with `token`, a way to make every waiter of the set see `token` once it is signalled.
pub fn stop_signal(epfd: RawFd, token: u64) -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes an initial count and flags and returns a descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above, a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    ctl(
        epfd,
        libc::EPOLL_CTL_ADD,
        fd.as_raw_fd(),
        libc::EPOLLIN as u32,
        token,
    )?;
    Ok(fd)
}

/// Signals an eventfd made by `stop_signal`: it stays readable (level-triggered) for good.
pub fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd; errors (a full counter) are moot.
    let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Whether `fd` is readable right now (for an epoll set: some event is ready in it; none is
/// taken).
pub fn readable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd for the duration of the call; timeout 0 never blocks.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r == 1 && p.revents & libc::POLLIN != 0
}

/// One event of the epoll set `epfd` if one is ready now, without waiting.
pub fn poll_one(epfd: RawFd) -> Option<u64> {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: `ev` is a valid buffer for one event; timeout 0 never blocks.
    let r = unsafe { libc::epoll_wait(epfd, &mut ev, 1, 0) };
    (r == 1).then_some(ev.u64)
}

/// Lets the other runnable threads on this CPU run first (sched_yield).
pub fn yield_cpu() {
    // SAFETY: sched_yield takes no arguments and cannot fail on Linux.
    unsafe {
        libc::sched_yield();
    }
}

/// Waits for one event of the epoll set `epfd` and returns its data word; EINTR is retried.
pub fn wait_one(epfd: RawFd) -> io::Result<u64> {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    loop {
        // SAFETY: `ev` is a valid buffer for one event; the kernel writes at most one.
        let r = unsafe { libc::epoll_wait(epfd, &mut ev, 1, -1) };
        if r == 1 {
            return Ok(ev.u64);
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Puts the calling thread in the SCHED_BATCH policy (same nice level and CPU share as
/// SCHED_OTHER, but its wake-ups do not preempt the thread running on the CPU).
pub fn sched_batch_this_thread() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for the duration of the call; pid 0 is the
    // calling thread; the kernel only reads the struct.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Caps glibc's malloc at `arenas` arenas for this process (threads share them instead of
/// each growing its own 64 MiB-reserved arena, whose touched pages stay resident) and hands
/// the heap's free top back to the kernel. Called once in each child before its threads start.
/// Not glibc: nothing to do.
pub fn limit_malloc_arenas(arenas: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt and malloc_trim take plain integers and only adjust the allocator's
        // own state; they are called before this child starts any thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::malloc_trim(0);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = arenas;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn one_shot_fires_once_until_rearmed() {
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(8);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let (epfd, fd) = (poll.as_raw_fd(), s.as_raw_fd());
        // "registered" but not: falls back to ADD
        arm_oneshot(epfd, fd, 7, Arm::Readable, true).unwrap();
        c.write_all(b"x").unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let toks: Vec<_> = events.iter().map(|e| e.token().0).collect();
        assert_eq!(toks, vec![7]);
        // unread data, but disarmed: no second event
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        assert!(events.is_empty());
        // re-armed with another token ("not registered": ADD falls back to MOD)
        arm_oneshot(epfd, fd, 9, Arm::Readable, false).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let toks: Vec<_> = events.iter().map(|e| e.token().0).collect();
        assert_eq!(toks, vec![9]);
        arm_oneshot(epfd, fd, 11, Arm::Writable, true).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(events.iter().any(|e| e.token().0 == 11 && e.is_writable()));
    }

    #[test]
    fn stop_signal_reaches_every_waiter() {
        let ep = epoll_create().unwrap();
        let stop = stop_signal(ep.as_raw_fd(), u64::MAX).unwrap();
        let epfd = ep.as_raw_fd();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || tx.send(wait_one(epfd).unwrap()).unwrap())
            })
            .collect();
        // none leaves before the signal
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        assert!(!readable_now(epfd));
        assert_eq!(poll_one(epfd), None);
        signal(stop.as_raw_fd());
        for _ in 0..4 {
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), u64::MAX);
        }
        for w in waiters {
            w.join().unwrap();
        }
        // and it stays signalled for anyone coming later
        assert!(readable_now(epfd));
        assert_eq!(poll_one(epfd), Some(u64::MAX));
        assert_eq!(wait_one(epfd).unwrap(), u64::MAX);
    }

    #[test]
    fn batch_policy_applies_to_the_calling_thread_only() {
        let policy = || {
            // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
            unsafe { libc::sched_getscheduler(0) }
        };
        let before = policy();
        let inner = std::thread::spawn(move || {
            sched_batch_this_thread().unwrap();
            policy()
        })
        .join()
        .unwrap();
        assert_eq!(inner, libc::SCHED_BATCH);
        assert_eq!(policy(), before);
    }
}
