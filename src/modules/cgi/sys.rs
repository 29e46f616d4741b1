//! Starting a CGI script from a worker (which may have threads): std's `Command` does the
//! fork and exec without allocating in between; this adds the child-side setup httpd's APR
//! does (descriptors, signal dispositions and mask), with async-signal-safe calls only.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Signals the server handles or ignores that a script must get with their default action.
const RESET: [libc::c_int; 10] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGCHLD,
    libc::SIGALRM,
    libc::SIGWINCH,
    libc::SIGPIPE,
];

/// A resource limit for the script: (resource, soft, hard).
pub(super) type Limit = (libc::__rlimit_resource_t, u64, u64);

/// Spawns `cmd` with every descriptor above stderr closed at exec (listeners, log files,
/// the scoreboard: what is not close-on-exec already), default signal dispositions, no
/// blocked signals, and `limits` (RLimitCPU/MEM/NPROC) set.
pub(super) fn spawn(cmd: &mut Command, limits: [Option<Limit>; 3]) -> io::Result<Child> {
    // SAFETY: the closure runs in the child between fork and exec. It calls only
    // close_range(2), signal(2), sigprocmask(2) and setrlimit(2), all async-signal-safe, on
    // values copied in before the fork; it takes no lock and allocates nothing, so the state
    // other threads of the parent left behind does not matter.
    unsafe {
        cmd.pre_exec(move || child_setup(&limits));
    }
    cmd.spawn()
}

fn child_setup(limits: &[Option<Limit>; 3]) -> io::Result<()> {
    // SAFETY: a plain system call on descriptor numbers; an old kernel without close_range
    // answers ENOSYS and nothing changes (std's own descriptors are close-on-exec already).
    let _ = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    for sig in RESET {
        // SAFETY: installs the default disposition; no handler code is involved.
        let _ = unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // The worker threads block the server's signals; the script starts with none blocked.
    // SAFETY: sigemptyset fills a local set; sigprocmask only reads it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    for &(resource, soft, hard) in limits.iter().flatten() {
        let l = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: setrlimit reads the local struct; a refused limit (EPERM, EINVAL) leaves
        // the inherited one, as APR does.
        let _ = unsafe { libc::setrlimit(resource, &l) };
    }
    Ok(())
}
