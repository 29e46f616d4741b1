//! The few process-level calls of the parent that are `unsafe` in nix: fork and resetting
//! signal dispositions in a fresh child.

use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::ForkResult;

/// fork(2). Sound here because the parent is single-threaded (DESIGN.md contract 4): the
/// child gets a consistent copy of every lock and allocator state.
pub(super) fn fork() -> nix::Result<ForkResult> {
    // SAFETY: the supervisor never starts threads, so no other thread can hold a lock or be
    // half-way through an allocation at the moment of the fork.
    unsafe { nix::unistd::fork() }
}

/// In a fresh child: the parent's signal handlers (signal-hook flags and wake-up pipe) must
/// not run here. TERM/HUP/USR1/WINCH get their default action (the parent stops a child
/// immediately with SIGTERM); SIGINT is ignored, as in httpd children (Ctrl-C in the
/// foreground reaches the whole process group, and the parent decides).
pub(super) fn reset_child_signals() {
    for sig in [
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
    ] {
        // SAFETY: installs the default disposition, no handler code is involved.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    // SAFETY: as above, with SIG_IGN.
    let _ = unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) };
}
