//! `-k start|stop|restart|graceful|graceful-stop` (httpd's ap_signal_server, spec/signals.md
//! §5): read the PidFile, check the pid is alive, send the signal, print httpd's words.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::pidfile::{self, PidFile};
use crate::config::ServerConfig;

/// Returned by `signal_server` when the caller must go on and start the server
/// (`start`, or `restart`/`graceful` with no server running).
pub const START: i32 = -1;

/// Acts on `verb`; returns the process exit status, or `START`.
pub fn signal_server(config: &ServerConfig, verb: &str) -> i32 {
    let path = pidfile::path(config);
    let file = pidfile::read(&path);
    let pid = match file {
        PidFile::Corrupt => {
            eprintln!("AH00058: Error retrieving pid file {}", path.display());
            eprintln!("AH00059: Remove it before continuing if it is corrupted.");
            return 1;
        }
        PidFile::Missing => None,
        PidFile::Pid(p) => Some(p),
    };
    let running = pid.filter(|&p| pidfile::is_alive(p));
    let not_running = || match pid {
        None => "httpd (no pid file) not running".to_string(),
        Some(p) => format!("httpd (pid {p}?) not running"),
    };
    let send = |sig: Signal| -> i32 {
        match running {
            Some(p) if kill(Pid::from_raw(p), sig).is_ok() => 0,
            _ => 1,
        }
    };
    match verb {
        "start" => match running {
            Some(p) => {
                println!("httpd (pid {p}) already running");
                0
            }
            None => START,
        },
        "stop" => match running {
            Some(_) => send(Signal::SIGTERM),
            None => {
                println!("{}", not_running());
                0
            }
        },
        "graceful-stop" => match running {
            Some(_) => send(Signal::SIGWINCH),
            None => {
                println!("{}", not_running());
                0
            }
        },
        "restart" | "graceful" => match running {
            Some(_) => send(if verb == "restart" {
                Signal::SIGHUP
            } else {
                Signal::SIGUSR1
            }),
            None => {
                println!("httpd not running, trying to start");
                START
            }
        },
        _ => {
            eprintln!("mpmd: illegal option -- k");
            1
        }
    }
}
