//! The parent process: opens listeners, logs and the scoreboard before forking; forks, reaps and
//! respawns children; spare-server maintenance; signals and generations; pidfile; daemonizing.
//! Single-threaded by design (DESIGN.md contract 4): one poll loop waits on the signal
//! wake-up pipe with a 1-second maintenance tick. docs/lifecycle.md walks the states.
//!
//! Parent → child stop channel: a "pipe of death" per generation. Children poll its read
//! end; one byte `!` stops one child gracefully (MaxSpare*), closing the write end (EOF) stops
//! every child of that generation gracefully (graceful restart, graceful-stop). Immediate
//! stop is SIGTERM, which kills the child once its answered requests are logged and its
//! BufferedLogs flushed (`mpm::run_child`).

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::ap_log;
use crate::config::{MpmKind, ServerConfig};
use crate::mpm::listen::{self, ListenError, Listener};
use crate::mpm::{self, ChildCtx};
use crate::scoreboard::{Scoreboard, ScoreboardError, WorkerState};

mod control;
pub mod maintenance;
pub mod notify;
pub mod pidfile;
mod privs;
mod sys;

pub use control::{signal_server, START};

/// Our server description, in the place of httpd's `Apache/2.4.71 (Debian)`.
pub fn server_description() -> String {
    format!("mpmd/{} (Unix)", env!("CARGO_PKG_VERSION"))
}

/// How the daemon was asked to run (from the command line).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `-DFOREGROUND`: do not detach.
    pub foreground: bool,
    /// `-DNO_DETACH`: do not fork, but setsid and drop the terminal.
    pub no_detach: bool,
    /// `-X` / `-DONE_PROCESS` / `-DDEBUG`: serve from the parent, no children.
    pub one_process: bool,
    /// The command line, to re-read the config on restart: `-f`, `-d`, `-C`, `-c`, `-D`.
    pub config_file: PathBuf,
    pub server_root: Option<PathBuf>,
    pub pre_directives: Vec<String>,
    pub post_directives: Vec<String>,
    pub defines: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("{0}")]
    Listen(#[from] ListenError),
    #[error("AH00015: Unable to open logs: {0}")]
    Log(#[from] crate::log::LogError),
    #[error("{0}")]
    Scoreboard(#[from] ScoreboardError),
    #[error("AH00100: could not log pid to file {path}: {source}")]
    PidFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    User(String),
    #[error("could not {what}: {source}")]
    Sys {
        what: &'static str,
        source: nix::Error,
    },
}

fn sys_err(what: &'static str) -> impl FnOnce(nix::Error) -> SupervisorError {
    move |source| SupervisorError::Sys { what, source }
}

/// The AH numbers and module name of the messages each MPM logs (spec/signals.md §1).
struct Tags {
    configured: &'static str,
    sigterm: &'static str,
    sighup: &'static str,
    graceful: &'static str,
    sigwinch: &'static str,
}

fn tags(mpm: MpmKind) -> Tags {
    match mpm {
        MpmKind::Prefork => Tags {
            configured: "AH00163",
            sigterm: "AH00169",
            sighup: "AH00173",
            graceful: "AH00171: Graceful restart requested, doing restart",
            sigwinch: "AH00170",
        },
        MpmKind::Worker => Tags {
            configured: "AH00292",
            sigterm: "AH00295",
            sighup: "AH00298",
            graceful: "AH00297: SIGUSR1 received.  Doing graceful restart",
            sigwinch: "AH00296",
        },
        MpmKind::Event => Tags {
            configured: "AH00489",
            sigterm: "AH00491",
            sighup: "AH00494",
            graceful: "AH00493: SIGUSR1 received.  Doing graceful restart",
            sigwinch: "AH00492",
        },
    }
}

/// tracing targets must be constants: one arm per MPM module name.
macro_rules! mpm_log {
    ($lvl:ident, $mpm:expr, $($a:tt)+) => {
        match $mpm {
            MpmKind::Prefork => ap_log!($lvl, "mpm_prefork", $($a)+),
            MpmKind::Worker => ap_log!($lvl, "mpm_worker", $($a)+),
            MpmKind::Event => ap_log!($lvl, "mpm_event", $($a)+),
        }
    };
}

/// Which signal the parent saw (set by signal-hook handlers, read by the loop).
#[derive(Default)]
struct Flags {
    term: Arc<AtomicBool>,
    int: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
    winch: Arc<AtomicBool>,
}

/// One generation's pipe of death.
struct Pod {
    read: OwnedFd,
    write: OwnedFd,
}

fn new_pod() -> Result<Pod, SupervisorError> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(sys_err("create the pipe of death"))?;
    Ok(Pod { read, write })
}

#[derive(Clone, Copy, Debug)]
struct ChildInfo {
    slot: usize,
    generation: u32,
}

struct Supervisor {
    opts: RunOptions,
    config: Arc<ServerConfig>,
    listeners: Vec<Listener>,
    sb: &'static Scoreboard,
    /// ParentServerMPMGeneration.
    generation: u32,
    pod: Option<Pod>,
    children: HashMap<i32, ChildInfo>,
    creds: Option<privs::Credentials>,
    flags: Flags,
    wake: Option<UnixStream>,
    spawn_rate: u32,
    /// Maintenance passes left before the spawn rate may double again (after a restart).
    hold_off: u32,
    reported_max: bool,
    ready_sent: bool,
    pid_path: PathBuf,
    /// worker/event: slots of current-generation children killed by a signal, refilled at
    /// once (httpd does so up to 3 in a row, then waits for the next maintenance pass).
    respawn: Vec<usize>,
    respawned_in_a_row: u32,
}

/// Starts the server: binds, opens logs, detaches (unless told not to), writes the PidFile,
/// makes the scoreboard and runs the parent loop until stop. Returns the exit status.
pub fn run(config: ServerConfig, opts: RunOptions) -> Result<i32, SupervisorError> {
    crate::log::init();
    // Like httpd, a plain start (no `-k`) does not look at an existing PidFile: `-k start`
    // already refused a live server in `control`, and a stale file (its pid maybe reused by
    // an unrelated process) must not stop a start; AH00098 is logged when it is overwritten.
    let pid_path = pidfile::path(&config);
    raise_fd_limit();
    let backlog = config.mpm_config.listen_backlog;
    let listeners = match listen::reconcile(Vec::new(), &config.listen, backlog) {
        Ok((l, _)) => l,
        Err((_, e)) => {
            eprintln!("{e}");
            if !matches!(e, ListenError::NoListeners) {
                eprintln!("{}", ListenError::NoListeners);
            }
            eprintln!("AH00015: Unable to open logs");
            return Ok(1);
        }
    };
    crate::log::open(&config)?;
    if let Err(e) = crate::modules::log_config::install(&config) {
        eprintln!("AH00649: {e}");
        eprintln!("AH00015: Unable to open logs");
        return Ok(1);
    }
    let creds = privs::resolve(config.user.as_deref(), config.group.as_deref())?;

    if !opts.foreground && !opts.one_process {
        detach(opts.no_detach)?;
    }
    crate::log::redirect_stderr()?;

    let (server_limit, thread_limit) = limits(&config);
    let sb: &'static Scoreboard = Box::leak(Box::new(Scoreboard::create(
        server_limit,
        thread_limit,
        config
            .scoreboard_file
            .as_deref()
            .map(|p| resolve(&config, p))
            .as_deref(),
    )?));
    crate::modules::status::set_scoreboard(sb);
    pidfile::write(&pid_path, std::process::id(), true).map_err(|source| {
        SupervisorError::PidFile {
            path: pid_path.clone(),
            source,
        }
    })?;

    let mut sup = Supervisor {
        opts,
        config: Arc::new(config),
        listeners,
        sb,
        generation: 0,
        pod: Some(new_pod()?),
        children: HashMap::new(),
        creds,
        flags: Flags::default(),
        wake: None,
        spawn_rate: 1,
        hold_off: 0,
        reported_max: false,
        ready_sent: false,
        pid_path,
        respawn: Vec::new(),
        respawned_in_a_row: 0,
    };
    sup.publish_global();
    if sup.opts.one_process {
        return Ok(sup.one_process());
    }
    sup.install_signals()?;
    sup.announce();
    sup.start_children(sup.config.mpm_config.start_servers as usize);
    sup.main_loop()
}

/// Every idle keep-alive connection of event costs a descriptor: lift the soft limit to the
/// hard one (what apache2ctl's `ulimit -n` does for httpd).
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn resolve(config: &ServerConfig, p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.server_root.join(p)
    }
}

/// ThreadLimit's default under worker and event.
const DEFAULT_THREAD_LIMIT: u32 = 64;

/// Scoreboard size. Prefork uses one worker slot per process, but a graceful restart may
/// switch to a threaded MPM, so the worker dimension is sized for the default ThreadLimit
/// even then: it only costs shared memory.
fn limits(config: &ServerConfig) -> (u32, u32) {
    let m = &config.mpm_config;
    match config.mpm {
        MpmKind::Prefork => (m.server_limit.max(1), DEFAULT_THREAD_LIMIT),
        _ => (m.server_limit.max(1), m.thread_limit.max(1)),
    }
}

/// Detach from the terminal like httpd: fork (the foreground process exits 0), setsid,
/// chdir `/`, stdin/stdout to /dev/null (stderr follows the error log).
fn detach(no_detach: bool) -> Result<(), SupervisorError> {
    if !no_detach {
        match sys::fork().map_err(sys_err("fork to detach"))? {
            ForkResult::Parent { .. } => std::process::exit(0),
            ForkResult::Child => {}
        }
    }
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
        let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
    }
    Ok(())
}

impl Supervisor {
    fn tags(&self) -> Tags {
        tags(self.config.mpm)
    }

    fn threads_per_child(&self) -> usize {
        match self.config.mpm {
            MpmKind::Prefork => 1,
            _ => {
                (self.config.mpm_config.threads_per_child as usize).clamp(1, self.sb.thread_limit())
            }
        }
    }

    /// MaxRequestWorkers in processes: the most children of one generation.
    fn process_limit(&self) -> usize {
        let m = &self.config.mpm_config;
        let limit = match self.config.mpm {
            MpmKind::Prefork => m.max_request_workers as usize,
            _ => m.max_request_workers as usize / self.threads_per_child(),
        };
        limit.clamp(1, self.sb.server_limit())
    }

    fn publish_global(&self) {
        let g = self.sb.global();
        g.running_generation
            .store(self.generation, Ordering::Release);
        g.mpm.store(
            match self.config.mpm {
                MpmKind::Prefork => crate::scoreboard::MPM_PREFORK,
                MpmKind::Worker => crate::scoreboard::MPM_WORKER,
                MpmKind::Event => crate::scoreboard::MPM_EVENT,
            },
            Ordering::Relaxed,
        );
        g.max_request_workers.store(
            self.config.mpm_config.max_request_workers,
            Ordering::Relaxed,
        );
        g.threads_per_child
            .store(self.threads_per_child() as u32, Ordering::Relaxed);
        g.parent_pid
            .store(std::process::id() as i32, Ordering::Relaxed);
    }

    fn announce(&self) {
        let t = self.tags();
        // mod_remoteip's post_config, which runs before the MPM announces itself.
        for n in self.config.proxy_protocol.notices() {
            ap_log!(notice, "remoteip", "{n}");
        }
        mpm_log!(
            notice,
            self.config.mpm,
            "{}: {} configured -- resuming normal operations",
            t.configured,
            server_description()
        );
        let args: Vec<String> = std::env::args().collect();
        ap_log!(info, "core", "AH00094: Command line: '{}'", args.join(" "));
        for w in &self.config.warnings {
            ap_log!(warn, "core", "{w}");
        }
    }

    fn install_signals(&mut self) -> Result<(), SupervisorError> {
        use signal_hook::consts::*;
        let (rx, tx) = UnixStream::pair().map_err(|e| SupervisorError::Sys {
            what: "create the signal pipe",
            source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)),
        })?;
        let _ = rx.set_nonblocking(true);
        let _ = tx.set_nonblocking(true);
        let reg = |sig: i32, flag: Option<&Arc<AtomicBool>>| -> std::io::Result<()> {
            if let Some(f) = flag {
                signal_hook::flag::register(sig, f.clone())?;
            }
            signal_hook::low_level::pipe::register(sig, tx.try_clone()?)?;
            Ok(())
        };
        let res = reg(SIGTERM, Some(&self.flags.term))
            .and(reg(SIGINT, Some(&self.flags.int)))
            .and(reg(SIGHUP, Some(&self.flags.hup)))
            .and(reg(SIGUSR1, Some(&self.flags.usr1)))
            .and(reg(SIGWINCH, Some(&self.flags.winch)))
            .and(reg(SIGCHLD, None));
        res.map_err(|e| SupervisorError::Sys {
            what: "install signal handlers",
            source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)),
        })?;
        self.wake = Some(rx);
        Ok(())
    }

    /// Waits for a signal or `timeout`, then empties the wake-up pipe.
    fn wait(&self, timeout: Duration) {
        let Some(wake) = &self.wake else {
            std::thread::sleep(timeout);
            return;
        };
        let ms = PollTimeout::try_from(timeout.as_millis().min(60_000) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, ms);
        let mut buf = [0u8; 64];
        while let Ok(n) = std::io::Read::read(&mut &*wake, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    fn main_loop(&mut self) -> Result<i32, SupervisorError> {
        let mut next_tick = Instant::now() + Duration::from_secs(1);
        loop {
            let timeout = if self.ready_sent {
                next_tick.saturating_duration_since(Instant::now())
            } else {
                Duration::from_millis(20)
            };
            self.wait(timeout);
            if self.flags.term.swap(false, Ordering::Relaxed)
                || self.flags.int.swap(false, Ordering::Relaxed)
            {
                return Ok(self.stop());
            }
            if self.flags.winch.swap(false, Ordering::Relaxed) {
                return Ok(self.graceful_stop());
            }
            if self.flags.hup.swap(false, Ordering::Relaxed) {
                self.flags.usr1.store(false, Ordering::Relaxed);
                self.restart(false)?;
                next_tick = Instant::now() + Duration::from_secs(1);
            } else if self.flags.usr1.swap(false, Ordering::Relaxed) {
                self.restart(true)?;
                next_tick = Instant::now() + Duration::from_secs(1);
            }
            if let Some(code) = self.reap_all(false) {
                return Ok(code);
            }
            self.respawn_killed();
            if !self.ready_sent && self.some_child_ready() {
                self.ready_sent = true;
                notify::notify(&format!("READY=1\nMAINPID={}", std::process::id()));
            }
            if Instant::now() >= next_tick {
                self.maintenance();
                next_tick = Instant::now() + Duration::from_secs(1);
            }
        }
    }

    fn some_child_ready(&self) -> bool {
        self.children.values().any(|c| {
            c.generation == self.generation
                && (0..self.threads_per_child())
                    .any(|t| self.sb.worker(c.slot, t).state() == WorkerState::Ready)
        })
    }

    /// Forks one child into `slot`.
    fn make_child(&mut self, slot: usize) -> bool {
        self.sb
            .prepare(slot, self.generation, self.threads_per_child());
        match sys::fork() {
            Ok(ForkResult::Parent { child }) => {
                // Only the pid: the child may already be writing its own slot.
                self.sb
                    .process(slot)
                    .pid
                    .store(child.as_raw(), Ordering::Release);
                self.children.insert(
                    child.as_raw(),
                    ChildInfo {
                        slot,
                        generation: self.generation,
                    },
                );
                true
            }
            Ok(ForkResult::Child) => self.child_entry(slot),
            Err(e) => {
                mpm_log!(
                    error,
                    self.config.mpm,
                    "AH00159: fork: Unable to fork new process: {e}"
                );
                self.sb.mark_dead(slot, 0);
                false
            }
        }
    }

    /// In the new child: drop what belongs to the parent, become User/Group, run the engine.
    fn child_entry(&mut self, slot: usize) -> ! {
        sys::reset_child_signals();
        self.wake = None;
        let pod = self.pod.take().map(|p| p.read);
        let listeners: Vec<_> = std::mem::take(&mut self.listeners)
            .into_iter()
            .map(|l| l.socket)
            .collect();
        if let Some(c) = &self.creds {
            if let Err(e) = privs::drop_to(c) {
                ap_log!(
                    alert,
                    "unixd",
                    "AH02155: setuid/setgid to {:?} failed: {e}",
                    c.name
                );
                std::process::exit(mpm::EXIT_CHILDFATAL);
            }
        }
        let Some(pod) = pod else {
            std::process::exit(mpm::EXIT_CHILDSICK)
        };
        let sb = self.sb;
        sb.process(slot)
            .pid
            .store(std::process::id() as i32, Ordering::Release);
        let code = mpm::run_child(ChildCtx {
            config: self.config.clone(),
            listeners,
            pod,
            scoreboard: sb,
            slot,
            generation: self.generation,
        });
        std::process::exit(code)
    }

    /// Free process slots, lowest first, up to `upto`.
    fn free_slots(&self, upto: usize) -> Vec<usize> {
        (0..upto.min(self.sb.server_limit()))
            .filter(|&s| self.sb.process(s).pid.load(Ordering::Acquire) == 0)
            .collect()
    }

    fn start_children(&mut self, n: usize) {
        let active = self.active_children();
        let n = n.min(self.process_limit().saturating_sub(active));
        let upto = match self.config.mpm {
            MpmKind::Prefork => self.process_limit(),
            _ => self.sb.server_limit(),
        };
        for slot in self.free_slots(upto).into_iter().take(n) {
            self.make_child(slot);
        }
    }

    fn active_children(&self) -> usize {
        self.children
            .values()
            .filter(|c| {
                c.generation == self.generation
                    && self.sb.process(c.slot).quiescing.load(Ordering::Relaxed) == 0
            })
            .count()
    }

    /// Reaps every exited child without blocking. `quiet`: we are terminating them, do not
    /// report signals. Returns an exit status when the server must go down.
    fn reap_all(&mut self, quiet: bool) -> Option<i32> {
        loop {
            let status = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return None,
                Ok(s) => s,
            };
            let Some(pid) = status.pid() else { continue };
            let Some(info) = self.children.remove(&pid.as_raw()) else {
                continue; // a piped logger or a child we already forgot
            };
            self.sb.mark_dead(info.slot, pid.as_raw());
            match status {
                WaitStatus::Exited(_, code) if code == mpm::EXIT_CHILDFATAL => {
                    if info.generation == self.generation {
                        mpm_log!(
                            alert,
                            self.config.mpm,
                            "AH00050: Child {} returned a Fatal error... Apache is exiting!",
                            pid
                        );
                        self.kill_all(Signal::SIGTERM);
                        self.reclaim();
                        return Some(1);
                    }
                    mpm_log!(
                        warn,
                        self.config.mpm,
                        "Ignoring fatal error in child of previous generation (pid {pid})."
                    );
                }
                WaitStatus::Exited(_, code) if code == mpm::EXIT_CHILDSICK => {
                    self.spawn_rate = 1;
                }
                WaitStatus::Signaled(_, sig, core)
                    if !quiet
                        && !matches!(
                            sig,
                            Signal::SIGTERM | Signal::SIGHUP | Signal::SIGUSR1 | Signal::SIGINT
                        ) =>
                {
                    let desc = signal_description(sig);
                    if core {
                        let dir = std::env::current_dir().unwrap_or_default();
                        mpm_log!(
                            notice,
                            self.config.mpm,
                            "AH00051: child pid {} exit signal {} ({}), possible coredump in {}",
                            pid,
                            desc,
                            sig as i32,
                            dir.display()
                        );
                    } else {
                        mpm_log!(
                            notice,
                            self.config.mpm,
                            "AH00052: child pid {} exit signal {} ({})",
                            pid,
                            desc,
                            sig as i32
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn kill_all(&self, sig: Signal) {
        for pid in self.children.keys() {
            let _ = kill(Pid::from_raw(*pid), sig);
        }
    }

    /// httpd's reclaim escalation: poll the children; SIGTERM again at 3, 5 and 7 s, SIGKILL
    /// at 9 s, give up at 10 s. The first SIGTERM is the caller's.
    fn reclaim(&mut self) {
        let start = Instant::now();
        let mut step = Duration::from_millis(16);
        let actions = [3u64, 5, 7, 9, 10];
        let mut next = 0;
        while !self.children.is_empty() {
            self.reap_all(true);
            if self.children.is_empty() {
                break;
            }
            std::thread::sleep(step);
            step = (step * 4).min(Duration::from_millis(250));
            let elapsed = start.elapsed().as_secs();
            while next < actions.len() && elapsed >= actions[next] {
                let pids: Vec<i32> = self.children.keys().copied().collect();
                for pid in pids {
                    let p = Pid::from_raw(pid);
                    match actions[next] {
                        10 => {
                            ap_log!(error, "mpm_unix", "AH00047: could not make child process {pid} exit, attempting to continue anyway");
                        }
                        9 => {
                            ap_log!(error, "mpm_unix", "AH00046: child process {pid} still did not exit, sending a SIGKILL");
                            let _ = kill(p, Signal::SIGKILL);
                        }
                        _ => {
                            ap_log!(warn, "mpm_unix", "AH00045: child process {pid} still did not exit, sending a SIGTERM");
                            let _ = kill(p, Signal::SIGTERM);
                        }
                    }
                }
                if actions[next] == 10 {
                    self.children.clear();
                }
                next += 1;
            }
        }
    }

    fn stop(&mut self) -> i32 {
        mpm_log!(
            notice,
            self.config.mpm,
            "{}: caught SIGTERM, shutting down",
            self.tags().sigterm
        );
        notify::notify("STOPPING=1");
        self.pod = None;
        self.kill_all(Signal::SIGTERM);
        self.reclaim();
        pidfile::remove(&self.pid_path, std::process::id());
        0
    }

    fn graceful_stop(&mut self) -> i32 {
        mpm_log!(
            notice,
            self.config.mpm,
            "{}: caught SIGWINCH, shutting down gracefully",
            self.tags().sigwinch
        );
        notify::notify("STOPPING=1");
        pidfile::remove(&self.pid_path, std::process::id());
        self.sb
            .global()
            .shutdown_pending
            .store(1, Ordering::Release);
        // New connections are refused at once: shutting a listening socket down stops it for
        // every process that shares it, even a busy prefork child that will only look at the
        // pipe of death after its current connection.
        for l in &self.listeners {
            use std::os::fd::AsRawFd;
            let _ =
                nix::sys::socket::shutdown(l.socket.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
        self.listeners.clear();
        self.pod = None;
        let timeout = self.config.mpm_config.graceful_shutdown_timeout;
        let start = Instant::now();
        while !self.children.is_empty() {
            self.wait(Duration::from_millis(200));
            self.reap_all(false);
            if self.flags.term.swap(false, Ordering::Relaxed)
                || self.flags.int.swap(false, Ordering::Relaxed)
                || self.flags.winch.swap(false, Ordering::Relaxed)
                || (timeout > 0 && start.elapsed() >= Duration::from_secs(timeout))
            {
                break;
            }
        }
        self.kill_all(Signal::SIGTERM);
        self.reclaim();
        0
    }

    /// Re-reads the configuration with the same command line; the error carries httpd's
    /// wording with file and line.
    fn load_config(&self) -> Result<ServerConfig, String> {
        crate::config::load(&self.opts)
            .map(|(c, _warnings)| c)
            .map_err(|e| e.report("mpmd"))
    }

    /// SIGUSR1 (graceful) or SIGHUP (not graceful). The new configuration is read first; if
    /// it fails the running generation keeps serving (httpd would exit here).
    fn restart(&mut self, graceful: bool) -> Result<(), SupervisorError> {
        let t = self.tags();
        if graceful {
            mpm_log!(notice, self.config.mpm, "{}", t.graceful);
        } else {
            mpm_log!(
                notice,
                self.config.mpm,
                "{}: SIGHUP received.  Attempting to restart",
                t.sighup
            );
        }
        notify::notify("RELOADING=1");
        let new = match self.load_config() {
            Ok(c) => self.check_new_config(c),
            Err(e) => Err(e),
        };
        let new = match new {
            Ok(c) => c,
            Err(e) => {
                self.restart_failed(&e);
                return Ok(());
            }
        };
        let old = std::mem::take(&mut self.listeners);
        match listen::reconcile(old, &new.listen, new.mpm_config.listen_backlog) {
            Ok((next, removed)) => {
                self.listeners = next;
                drop(removed);
            }
            Err((old, e)) => {
                self.listeners = old;
                self.restart_failed(&e.to_string());
                return Ok(());
            }
        }
        if let Err(e) = crate::log::open(&new) {
            ap_log!(error, "core", "{e}");
        }
        if let Err(e) = crate::modules::log_config::install(&new) {
            ap_log!(error, "log_config", "AH00649: {e}");
        }
        if new.mpm != self.config.mpm {
            ap_log!(
                notice,
                "core",
                "MPMD0001: MPM changed from {} to {}: the new generation starts with the new engine",
                self.config.mpm.name(),
                new.mpm.name()
            );
        }
        self.config = Arc::new(new);
        let _ = crate::log::redirect_stderr();
        if !graceful {
            self.kill_all(Signal::SIGTERM);
            self.reclaim();
        }
        // The new generation. Old children see the pipe close and the generation change.
        self.generation += 1;
        let config_generation = self.generation + 1;
        if !graceful {
            self.sb.reset();
        }
        self.sb
            .global()
            .config_generation
            .store(config_generation, Ordering::Relaxed);
        self.pod = Some(new_pod()?);
        self.publish_global();
        if let Err(e) = pidfile::write(&self.pid_path, std::process::id(), false) {
            ap_log!(
                error,
                "core",
                "AH00100: could not log pid to file {}: {e}",
                self.pid_path.display()
            );
        }
        self.announce();
        self.spawn_rate = 1;
        self.hold_off = 10;
        self.start_children(self.config.mpm_config.start_servers as usize);
        notify::notify("READY=1");
        Ok(())
    }

    /// The new configuration is unusable: log why and keep the running generation (httpd
    /// would exit here and leave the server down).
    fn restart_failed(&self, why: &str) {
        ap_log!(error, "core", "{why}");
        ap_log!(
            error,
            "core",
            "AH00016: Configuration Failed, keeping generation {} running with the previous configuration",
            self.generation
        );
        notify::notify("READY=1");
    }

    /// What may not change across a restart (spec/mpm.md §2): the scoreboard's
    /// ServerLimit/ThreadLimit (kept, with httpd's messages). Unlike httpd, the MPM may
    /// change: the next generation runs the new engine (docs/lifecycle.md).
    fn check_new_config(&self, mut c: ServerConfig) -> Result<ServerConfig, String> {
        // The scoreboard holds the first values (prefork's worker dimension is the default
        // ThreadLimit, see `limits`).
        let (sl, tl) = (self.sb.server_limit() as u32, self.sb.thread_limit() as u32);
        if c.mpm_config.server_limit != sl {
            ap_log!(
                warn,
                "core",
                "AH00179: changing ServerLimit to {} from original value of {} not allowed during restart",
                c.mpm_config.server_limit,
                sl
            );
            c.mpm_config.server_limit = sl;
        }
        if c.mpm != MpmKind::Prefork && c.mpm_config.thread_limit != tl {
            ap_log!(
                warn,
                "core",
                "AH00502: changing ThreadLimit to {} from original value of {} not allowed during restart",
                c.mpm_config.thread_limit,
                tl
            );
            c.mpm_config.thread_limit = tl;
        }
        let m = &mut c.mpm_config;
        m.max_request_workers = m.max_request_workers.min(sl * tl.max(1));
        if c.mpm != MpmKind::Prefork {
            m.threads_per_child = m.threads_per_child.min(tl);
        }
        for w in &c.warnings {
            ap_log!(warn, "core", "{w}");
        }
        c.warnings.clear();
        Ok(c)
    }

    /// worker/event: replace children killed by a signal at once, three in a row at most
    /// (then "children are killed successively!" and the next maintenance pass decides).
    fn respawn_killed(&mut self) {
        for slot in std::mem::take(&mut self.respawn) {
            if self.respawned_in_a_row >= 3 {
                mpm_log!(
                    error,
                    self.config.mpm,
                    "AH10392: children are killed successively!"
                );
                return;
            }
            if self.sb.process(slot).pid.load(Ordering::Acquire) == 0
                && self.active_children() < self.process_limit()
            {
                self.respawned_in_a_row += 1;
                self.make_child(slot);
            }
        }
    }

    /// One maintenance pass (spec/mpm.md §3).
    fn maintenance(&mut self) {
        self.respawned_in_a_row = 0;
        let census = maintenance::census(
            self.sb,
            self.generation,
            self.config.mpm,
            self.threads_per_child(),
        );
        let m = &self.config.mpm_config;
        let policy = maintenance::Policy::from_config(
            self.config.mpm,
            m,
            self.threads_per_child(),
            self.process_limit(),
            self.sb.server_limit(),
        );
        match maintenance::decide(&policy, &census, self.spawn_rate) {
            maintenance::Action::KillOne => {
                if let Some(pod) = &self.pod {
                    let _ = nix::unistd::write(&pod.write, b"!");
                }
                self.spawn_rate = 1;
            }
            maintenance::Action::Spawn(n) => {
                let upto = match self.config.mpm {
                    MpmKind::Prefork => self.process_limit(),
                    _ => self.sb.server_limit(),
                };
                let free = self.free_slots(upto);
                if free.is_empty() {
                    self.report_max();
                    self.spawn_rate = 1;
                    return;
                }
                if self.spawn_rate >= 8 {
                    mpm_log!(
                        info,
                        self.config.mpm,
                        "AH00162: server seems busy, (you may need to increase StartServers, or Min/MaxSpareServers), spawning {} children, there are {} idle, and {} total children",
                        n,
                        census.idle,
                        census.total
                    );
                }
                for slot in free.into_iter().take(n) {
                    self.make_child(slot);
                }
                if self.hold_off > 0 {
                    self.hold_off -= 1;
                } else {
                    self.spawn_rate = (self.spawn_rate * 2).min(32);
                }
            }
            maintenance::Action::AtLimit => {
                self.report_max();
                self.spawn_rate = 1;
            }
            maintenance::Action::Nothing => self.spawn_rate = 1,
        }
    }

    fn report_max(&mut self) {
        if self.reported_max {
            return;
        }
        self.reported_max = true;
        let code = match self.config.mpm {
            MpmKind::Prefork => "AH00161",
            MpmKind::Worker => "AH00286",
            MpmKind::Event => "AH00484",
        };
        mpm_log!(
            error,
            self.config.mpm,
            "{code}: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
        );
    }

    /// `-X`: serve from this process, no children, no restarts.
    fn one_process(&mut self) -> i32 {
        self.announce();
        let pod = match self.pod.take() {
            Some(p) => p,
            None => return 1,
        };
        // Keep the write end open for our lifetime so the pipe never reads EOF.
        let Pod { read, write } = pod;
        let listeners = std::mem::take(&mut self.listeners)
            .into_iter()
            .map(|l| l.socket)
            .collect();
        self.sb
            .claim(0, std::process::id() as i32, 0, self.threads_per_child());
        let code = mpm::run_child(ChildCtx {
            config: self.config.clone(),
            listeners,
            pod: read,
            scoreboard: self.sb,
            slot: 0,
            generation: 0,
        });
        drop(write);
        pidfile::remove(&self.pid_path, std::process::id());
        code
    }
}

/// strsignal(3)'s text for the signals a child may die of.
fn signal_description(sig: Signal) -> &'static str {
    match sig {
        Signal::SIGHUP => "Hangup",
        Signal::SIGINT => "Interrupt",
        Signal::SIGQUIT => "Quit",
        Signal::SIGILL => "Illegal instruction",
        Signal::SIGTRAP => "Trace/breakpoint trap",
        Signal::SIGABRT => "Aborted",
        Signal::SIGBUS => "Bus error",
        Signal::SIGFPE => "Floating point exception",
        Signal::SIGKILL => "Killed",
        Signal::SIGUSR1 => "User defined signal 1",
        Signal::SIGSEGV => "Segmentation fault",
        Signal::SIGUSR2 => "User defined signal 2",
        Signal::SIGPIPE => "Broken pipe",
        Signal::SIGALRM => "Alarm clock",
        Signal::SIGTERM => "Terminated",
        Signal::SIGXCPU => "CPU time limit exceeded",
        Signal::SIGXFSZ => "File size limit exceeded",
        Signal::SIGSYS => "Bad system call",
        _ => "Unknown signal",
    }
}
