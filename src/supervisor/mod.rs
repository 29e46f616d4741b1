//! The parent process: opens listeners, logs and the scoreboard before forking; forks, reaps and
//! respawns children; spare-server maintenance; signals and generations; pidfile; daemonizing.

use std::path::PathBuf;

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
