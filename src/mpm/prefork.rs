//! prefork: one thread per child, one connection at a time, keep-alive waits included.
//! accept → serve the whole connection → accept, until the pipe of death, a new generation,
//! or MaxConnectionsPerChild says stop. Scoreboard: one slot per child (`_ R W K L C G`).

use std::cell::Cell;
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use super::{
    accept_error_is_transient, listener_gone, new_connection, pod_says_stop, serve_blocking, tid,
    ChildCtx, PodWatch, EXIT_CHILDSICK, EXIT_OK,
};
use crate::ap_log;
use crate::scoreboard::WorkerState;

const POD: u64 = u64::MAX;

pub fn child_main(mut ctx: ChildCtx) -> i32 {
    let sb = ctx.scoreboard;
    let slot = sb.slot(ctx.slot, 0);
    slot.start(std::process::id() as i32, tid(), ctx.generation);

    // Each child has its own epoll set; EPOLLEXCLUSIVE makes the kernel wake one waiting
    // child per new connection instead of all of them (see listen.rs).
    let epoll = match Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) {
        Ok(e) => e,
        Err(e) => {
            ap_log!(
                emerg,
                "mpm_prefork",
                "AH00159: could not create an epoll set: {e}"
            );
            return EXIT_CHILDSICK;
        }
    };
    for (i, l) in ctx.listeners.iter().enumerate() {
        let added = l.set_nonblocking(true).is_ok()
            && epoll
                .add(
                    l,
                    EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, i as u64),
                )
                .is_ok();
        if !added {
            ap_log!(emerg, "mpm_prefork", "could not poll listening socket {i}");
            return EXIT_CHILDSICK;
        }
    }
    if epoll
        .add(&ctx.pod, EpollEvent::new(EpollFlags::EPOLLIN, POD))
        .is_err()
    {
        return EXIT_CHILDSICK;
    }

    let local = super::known_local(&ctx.listeners);
    let die = Cell::new(false);
    // The pipe of death is read when epoll reports it and during keep-alive waits, not
    // before every request (a syscall per request saved).
    let stopping = || die.get() || ctx.parent_says_stop();
    let mark_die = || die.set(true);
    let max = ctx.max_connections();
    let mut served: u64 = 0;
    let mut events = [EpollEvent::empty(); 8];
    'outer: loop {
        if die.get() || ctx.parent_says_stop() || max.is_some_and(|m| served >= m) {
            break;
        }
        slot.set_state(WorkerState::Ready);
        let n = match epoll.wait(&mut events, EpollTimeout::from(1000u16)) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                ap_log!(error, "mpm_prefork", "AH00158: epoll_wait failed: {e}");
                return EXIT_CHILDSICK;
            }
        };
        for ev in &events[..n] {
            if ev.data() == POD {
                if pod_says_stop(&ctx.pod) {
                    die.set(true);
                    break 'outer;
                }
                continue;
            }
            let i = ev.data() as usize;
            let Some(listener) = ctx.listeners.get(i) else {
                continue;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    served += 1;
                    if let Some(conn) = new_connection(stream, peer, local[i]) {
                        serve_blocking(
                            conn,
                            &ctx.config,
                            &slot,
                            &stopping,
                            Some(PodWatch {
                                fd: &ctx.pod,
                                on_token: &mark_die,
                            }),
                        );
                    }
                }
                Err(e) if accept_error_is_transient(&e) => {}
                Err(e) if listener_gone(&e) => break 'outer,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: back off instead of spinning.
                    ap_log!(error, "mpm_prefork", "AH00147: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            continue 'outer; // one connection per wake-up, then re-check the stop reasons
        }
    }
    // Graceful end: stop listening at once, then leave (the current connection is done).
    slot.set_state(WorkerState::Graceful);
    ctx.listeners.clear();
    EXIT_OK
}
