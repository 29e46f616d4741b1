//! The raw `epoll_ctl(2)` calls the event engine needs beyond mio: one-shot registrations.
//! A parked connection stays registered in the listener's epoll set for its whole life and is
//! re-armed (`EPOLL_CTL_MOD` with `EPOLLONESHOT`) each time it is parked, instead of an
//! ADD when parked and a DEL when woken. mio has no one-shot interest; its `Poll` still reads
//! these events, since an event's token is the registration's data word either way.

use std::io;
use std::os::fd::RawFd;

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
    token: usize,
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

fn ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: usize) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events,
        u64: token as u64,
    };
    // SAFETY: `ev` is a valid epoll_event that lives across the call; epoll_ctl only reads it
    // and does not keep the pointer. Bad descriptors are reported as errors, not UB.
    let r = unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
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
