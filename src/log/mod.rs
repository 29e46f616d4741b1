//! The error log in Apache's line format, behind `tracing`:
//! `[Sun Nov 22 05:07:32.123456 2026] [mpm_prefork:notice] [pid N:tid N] AH00163: …`.
//! Modules log with `ap_log!(notice, "mpm_prefork", "AH00163: …")` (or plain `tracing`
//! macros; the target then names the module). The parent opens the ErrorLog before forking;
//! children inherit it, and stderr is dup'd onto it like httpd does.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Once, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::config::{LogLevel, ServerConfig};

mod sys;

/// Errors of opening the error log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("could not open error log file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start piped log program '{cmd}': {source}")]
    Pipe { cmd: String, source: std::io::Error },
    #[error("could not redirect stderr to the error log: {0}")]
    Redirect(nix::Error),
}

/// Logs one line at an Apache level to the error log:
/// `ap_log!(notice, "mpm_prefork", "AH00163: {} configured -- resuming normal operations", v)`.
/// Levels: emerg alert crit error warn notice info debug trace1..trace8.
#[macro_export]
macro_rules! ap_log {
    (emerg, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::ERROR, aplevel = 0u8, $($a)+) };
    (alert, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::ERROR, aplevel = 1u8, $($a)+) };
    (crit, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::ERROR, aplevel = 2u8, $($a)+) };
    (error, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::ERROR, aplevel = 3u8, $($a)+) };
    (warn, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::WARN, aplevel = 4u8, $($a)+) };
    (notice, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::INFO, aplevel = 5u8, $($a)+) };
    (info, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::INFO, aplevel = 6u8, $($a)+) };
    (debug, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::DEBUG, aplevel = 7u8, $($a)+) };
    (trace1, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 8u8, $($a)+) };
    (trace2, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 9u8, $($a)+) };
    (trace3, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 10u8, $($a)+) };
    (trace4, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 11u8, $($a)+) };
    (trace5, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 12u8, $($a)+) };
    (trace6, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 13u8, $($a)+) };
    (trace7, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 14u8, $($a)+) };
    (trace8, $m:expr, $($a:tt)+) => { ::tracing::event!(target: $m, ::tracing::Level::TRACE, aplevel = 15u8, $($a)+) };
}

const LEVEL_NAMES: [&str; 16] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2",
    "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
];
const NOTICE: u8 = 5;

/// The configured LogLevel (index into `LEVEL_NAMES`); `warn` until a config says otherwise.
static LEVEL: AtomicU8 = AtomicU8::new(4);
/// The most verbose of LEVEL and every per-module level: what `enabled` lets through.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(4);
/// `LogLevel mod:level` overrides.
static MODULE_LEVELS: RwLock<Vec<(String, u8)>> = RwLock::new(Vec::new());

enum Sink {
    Stderr,
    File(File),
    Pipe(File, Child),
}

static SINK: RwLock<Sink> = RwLock::new(Sink::Stderr);
static INIT: Once = Once::new();

/// Installs the error-log subscriber (idempotent). Lines go to stderr until `open`.
pub fn init() {
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(ErrorLogLayer);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Sets the LogLevel (`LogLevel` directive). Notices are written whatever the level, as httpd
/// does.
pub fn set_level(level: LogLevel) {
    set_levels(level, &[]);
}

/// The LogLevel plus its per-module overrides (`LogLevel info ssl:warn core:debug`).
pub fn set_levels(level: LogLevel, per_module: &[(String, LogLevel)]) {
    let mut m = MODULE_LEVELS.write().unwrap_or_else(|e| e.into_inner());
    *m = per_module
        .iter()
        .map(|(name, l)| (module_key(name).to_string(), *l as u8))
        .collect();
    let max = m.iter().map(|(_, l)| *l).fold(level as u8, u8::max);
    LEVEL.store(level as u8, Ordering::Relaxed);
    MAX_LEVEL.store(max, Ordering::Relaxed);
}

/// `mod_ssl.c`, `ssl_module` and `ssl` all name the module `ssl`.
fn module_key(name: &str) -> &str {
    let n = name.strip_suffix(".c").unwrap_or(name);
    let n = n.strip_prefix("mod_").unwrap_or(n);
    n.strip_suffix("_module").unwrap_or(n)
}

fn level_for(module: &str) -> u8 {
    let m = MODULE_LEVELS.read().unwrap_or_else(|e| e.into_inner());
    m.iter()
        .find(|(name, _)| name == module)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| LEVEL.load(Ordering::Relaxed))
}

/// The ErrorLog path of a config: `|cmd` for a piped log, else a file relative to ServerRoot.
pub fn error_log_target(config: &ServerConfig) -> String {
    let target = config.main.error_log.trim();
    if target.is_empty() {
        return config
            .server_root
            .join("logs/error_log")
            .display()
            .to_string();
    }
    if target.starts_with('|') {
        return target.to_string();
    }
    let p = Path::new(target);
    if p.is_absolute() {
        target.to_string()
    } else {
        config.server_root.join(p).display().to_string()
    }
}

/// Opens (or reopens, on restart and graceful) the main ErrorLog of `config` and makes it the
/// destination of every log line; sets the LogLevel. The old file or pipe is closed.
pub fn open(config: &ServerConfig) -> Result<(), LogError> {
    init();
    set_levels(config.log_level, &config.module_log_levels);
    let target = error_log_target(config);
    let sink = if let Some(cmd) = target.strip_prefix('|') {
        let cmd = cmd.trim_start_matches('$').trim().to_string();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|source| LogError::Pipe {
                cmd: cmd.clone(),
                source,
            })?;
        let stdin = child.stdin.take().ok_or_else(|| LogError::Pipe {
            cmd: cmd.clone(),
            source: std::io::ErrorKind::BrokenPipe.into(),
        })?;
        Sink::Pipe(File::from(std::os::fd::OwnedFd::from(stdin)), child)
    } else if target == "/dev/stderr" {
        Sink::Stderr
    } else {
        let path = PathBuf::from(&target);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| LogError::Open { path, source })?;
        Sink::File(f)
    };
    let old = std::mem::replace(&mut *SINK.write().unwrap_or_else(|e| e.into_inner()), sink);
    if let Sink::Pipe(f, mut child) = old {
        drop(f);
        // The logger sees EOF and exits; reap it without blocking the parent for long.
        let _ = child.try_wait();
    }
    Ok(())
}

/// Points stderr (fd 2) at the error log, as httpd does after open_logs: whatever a library
/// prints lands in the log.
pub fn redirect_stderr() -> Result<(), LogError> {
    let guard = SINK.read().unwrap_or_else(|e| e.into_inner());
    let fd = match &*guard {
        Sink::Stderr => return Ok(()),
        Sink::File(f) | Sink::Pipe(f, _) => f.as_raw_fd(),
    };
    nix::unistd::dup2(fd, 2).map_err(LogError::Redirect)?;
    Ok(())
}

fn write_line(line: &str) {
    let guard = SINK.read().unwrap_or_else(|e| e.into_inner());
    // One write per line: O_APPEND keeps lines of several processes whole.
    let _ = match &*guard {
        Sink::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
        Sink::File(f) | Sink::Pipe(f, _) => (&*f).write_all(line.as_bytes()),
    };
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Sun Nov 22 05:07:32.123456 2026` in local time (httpd's `%{u}t`).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (wday, mon, mday, h, m, s, y) = sys::local_time(d.as_secs() as i64);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:06} {}",
        DAYS[wday],
        MONTHS[mon],
        mday,
        h,
        m,
        s,
        d.subsec_micros(),
        y
    )
}

/// One formatted error-log line (with the trailing newline).
pub fn format_line(module: &str, level: u8, pid: i32, tid: i32, message: &str) -> String {
    let mut line = String::with_capacity(96 + message.len());
    let _ = write!(
        line,
        "[{}] [{}:{}] [pid {}:tid {}] {}",
        timestamp(SystemTime::now()),
        module,
        LEVEL_NAMES[usize::from(level.min(15))],
        pid,
        tid,
        message
    );
    line.push('\n');
    line
}

fn level_of(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG => 7,
        Level::TRACE => 8,
    }
}

/// The most verbose tracing level the configured LogLevel lets through (notices are INFO).
fn max_tracing_level() -> Level {
    match MAX_LEVEL.load(Ordering::Relaxed) {
        0..=5 => Level::INFO,
        6 => Level::INFO,
        7 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

struct ErrorLogLayer;

#[derive(Default)]
struct Fields {
    message: String,
    aplevel: Option<u8>,
    extra: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "aplevel" {
            self.aplevel = Some(value.min(15) as u8);
        } else {
            let _ = write!(self.extra, " {}={}", field.name(), value);
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.extra, " {}={}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.extra, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for ErrorLogLayer {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // The level can change at restart: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.is_event() && *metadata.level() <= max_tracing_level()
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let level = f
            .aplevel
            .unwrap_or_else(|| level_of(event.metadata().level()));
        let target = event.metadata().target();
        let module = target.rsplit("::").next().unwrap_or(target);
        if level != NOTICE && level > level_for(module) {
            return;
        }
        f.message.push_str(&f.extra);
        let line = format_line(
            module,
            level,
            std::process::id() as i32,
            nix::unistd::gettid().as_raw(),
            &f.message,
        );
        write_line(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_apache_shape() {
        let l = format_line("mpm_prefork", 5, 12, 13, "AH00163: x configured");
        // [Www Mmm dd hh:mm:ss.uuuuuu yyyy] [mpm_prefork:notice] [pid 12:tid 13] AH00163: …
        let re = regex::Regex::new(
            r"^\[(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[mpm_prefork:notice\] \[pid 12:tid 13\] AH00163: x configured\n$",
        )
        .unwrap();
        assert!(re.is_match(&l), "{l}");
    }

    #[test]
    fn level_names_follow_loglevel_order() {
        assert_eq!(LEVEL_NAMES[LogLevel::Notice as usize], "notice");
        assert_eq!(LEVEL_NAMES[LogLevel::Trace8 as usize], "trace8");
        assert_eq!(LEVEL_NAMES[LogLevel::Emerg as usize], "emerg");
    }

    #[test]
    fn per_module_levels() {
        set_levels(
            LogLevel::Warn,
            &[
                ("mod_ssl.c".into(), LogLevel::Debug),
                ("core".into(), LogLevel::Error),
            ],
        );
        assert_eq!(level_for("ssl"), LogLevel::Debug as u8);
        assert_eq!(level_for("core"), LogLevel::Error as u8);
        assert_eq!(level_for("mpm_event"), LogLevel::Warn as u8);
        assert_eq!(MAX_LEVEL.load(Ordering::Relaxed), LogLevel::Debug as u8);
        set_level(LogLevel::Warn);
        assert_eq!(level_for("ssl"), LogLevel::Warn as u8);
    }

    #[test]
    fn epoch_timestamp_in_utc_zone() {
        // Only meaningful where the zone is UTC (CI); otherwise check the shape only.
        let t = timestamp(UNIX_EPOCH);
        assert!(t.ends_with(" 1970") || t.ends_with(" 1969"), "{t}");
        assert_eq!(t.split(' ').count(), 5, "{t}");
    }
}
