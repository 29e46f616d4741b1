//! mpmctl: the apache2ctl of mpmd. It reads `$MPMD_CONFDIR/envvars`, turns the apachectl verbs
//! into `mpmd -k …` / `mpmd -t` runs (checking the config before a restart), fetches
//! server-status for `status`/`fullstatus`, and passes everything else to `mpmd` unchanged.
//!
//! `status` fetches the HTML page (not `?auto`) with a built-in HTTP/1.1 client and renders
//! it as text, cut after the scoreboard key, so its output reads like apache2ctl's
//! `www-browser -dump` without needing a browser; `?auto` stays for monitoring tools.

pub mod advise;
pub mod env;
pub mod http;
pub mod text;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use thiserror::Error;

use self::env::{Env, EnvError};

/// What stops mpmctl before it runs mpmd. The messages of the directory errors are
/// apache2ctl's, printed as they are.
#[derive(Debug, Error)]
pub enum CtlError {
    #[error(transparent)]
    Envvars(#[from] EnvError),
    #[error("Cannot create {dir}.\nPlease fix manually. Aborting.")]
    CreateDir { dir: PathBuf },
    #[error("Cannot create {dir} with owner {user}.\nPlease fix manually. Aborting.")]
    CreateOwnedDir { dir: PathBuf, user: String },
    #[error("{dir} already exists but is not a directory owned by {user}.\nPlease fix manually. Aborting.")]
    NotOwnedDir { dir: PathBuf, user: String },
}

/// The system tree; `mpmctl-NAME` uses `/etc/mpmd-NAME`.
pub const DEFAULT_CONFDIR: &str = "/etc/mpmd";
pub const DEFAULT_BIN: &str = "/usr/sbin/mpmd";
pub const DEFAULT_STATUSURL: &str = "http://localhost:80/server-status";
/// apache2ctl's `ulimit -n 8192`, applied when run as root.
pub const DEFAULT_MAX_FILES: u64 = 8192;
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything one run needs, worked out from the program name and the environment.
#[derive(Debug)]
pub struct Ctl {
    pub env: Env,
    pub confdir: PathBuf,
    /// `mpmd` followed by MPMD_ARGUMENTS (and `-d DIR` for a non-default tree).
    pub bin: PathBuf,
    pub base_args: Vec<String>,
    /// `mpmd` or `mpmd@NAME`.
    pub service: String,
    pub status_url: String,
}

impl Ctl {
    /// Resolves the tree, reads its envvars and finds the daemon binary.
    pub fn new(argv0: &str, mut env: Env) -> Result<Ctl, CtlError> {
        let base = Path::new(argv0)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let instance = base
            .strip_prefix("mpmctl-")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let confdir =
            env.var("MPMD_CONFDIR")
                .map(str::to_owned)
                .unwrap_or_else(|| match &instance {
                    Some(i) => format!("{DEFAULT_CONFDIR}-{i}"),
                    None => DEFAULT_CONFDIR.to_owned(),
                });
        env.set("MPMD_CONFDIR", &confdir);
        let service = match confdir.strip_prefix(&format!("{DEFAULT_CONFDIR}-")) {
            Some(i) if !i.is_empty() => format!("mpmd@{i}"),
            _ => "mpmd".to_owned(),
        };
        let envvars = env
            .var("MPMD_ENVVARS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(&confdir).join("envvars"));
        env.source_envvars(&envvars)?;
        let mut base_args = Vec::new();
        if Path::new(&confdir) != Path::new(DEFAULT_CONFDIR) {
            base_args.push("-d".to_owned());
            base_args.push(confdir.clone());
        }
        if let Some(extra) = env.var("MPMD_ARGUMENTS") {
            base_args.extend(extra.split_whitespace().map(str::to_owned));
        }
        let bin = find_daemon(&env);
        let status_url = env
            .var("MPMD_STATUSURL")
            .unwrap_or(DEFAULT_STATUSURL)
            .to_owned();
        Ok(Ctl {
            env,
            confdir: PathBuf::from(confdir),
            bin,
            base_args,
            service,
            status_url,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(&self.base_args).args(args);
        c.env_clear().envs(self.env.vars());
        c
    }

    /// Runs `mpmd <args>` with the terminal's stdio; returns its exit code.
    fn run(&self, args: &[&str]) -> i32 {
        match self.command(args).status() {
            Ok(st) => exit_code(st),
            Err(e) => {
                eprintln!("mpmctl: could not run {}: {e}", self.bin.display());
                // The shell's "command not found" / "not executable".
                if e.kind() == std::io::ErrorKind::NotFound {
                    127
                } else {
                    126
                }
            }
        }
    }

    /// `mpmd -t` with its output thrown away: does the configuration load?
    fn config_ok(&self) -> bool {
        self.command(&["-t"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Replaces this process with `mpmd <args>`, so that a foreground daemon keeps our pid
    /// (systemd's main pid for Type=notify, and the target of the terminal's signals).
    fn exec(&self, args: &[&str]) -> i32 {
        let e = self.command(args).exec();
        eprintln!("mpmctl: could not run {}: {e}", self.bin.display());
        if e.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        }
    }
}

/// `$MPMD_BIN`, else `mpmd` beside this program, else /usr/sbin/mpmd.
fn find_daemon(env: &Env) -> PathBuf {
    if let Some(b) = env.var("MPMD_BIN") {
        return PathBuf::from(b);
    }
    if let Ok(me) = std::env::current_exe() {
        if let Some(dir) = me.parent() {
            let sibling = dir.join("mpmd");
            if sibling.is_file() {
                return sibling;
            }
        }
    }
    PathBuf::from(DEFAULT_BIN)
}

fn exit_code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code()
        .or_else(|| st.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Does this command line run the daemon in the foreground (so we should exec it)?
fn runs_in_foreground(args: &[String]) -> bool {
    const NAMES: [&str; 4] = ["FOREGROUND", "NO_DETACH", "ONE_PROCESS", "DEBUG"];
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a == "-X" {
            return true;
        }
        if a == "-k" {
            // `-k stop -DFOREGROUND` is a control command, not a daemon.
            return false;
        }
        let name = if a == "-D" {
            it.peek().map(|s| s.as_str())
        } else {
            a.strip_prefix("-D")
        };
        if name.is_some_and(|n| NAMES.contains(&n)) {
            return true;
        }
    }
    false
}

fn usage(prog: &str) -> String {
    format!(
        "Usage: {prog} start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus|help\n\
         \x20      {prog} advise [--window SECS] [--interval SECS] [--json] [--write] …\n\
         \x20                    (size the MPM from the running server; {prog} advise -h)\n\
         \x20      {prog} <mpmd args>\n\
         \x20      {prog} -h            (for help on <mpmd args>)\n"
    )
}

/// Entry point of the `mpmctl` binary; returns the exit code.
pub fn main_with(argv0: &str, args: Vec<String>, env: Env) -> i32 {
    let prog = argv0.to_owned();
    let ctl = match Ctl::new(argv0, env) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("mpmctl: {msg}");
            return 1;
        }
    };
    raise_nofile_limit(&ctl.env);
    let joined = args.join(" ");
    if args.is_empty() || matches!(joined.as_str(), "usage" | "help" | "--help") {
        eprint!("{}", usage(&prog));
        return 1;
    }
    if let Err(msg) = make_run_dirs(&ctl.env) {
        println!("{msg}");
        return 1;
    }
    if args[0] == "advise" {
        return advise::main(&ctl, &args[1..]);
    }
    let code = match joined.as_str() {
        "start" => {
            let by_systemd = ctl.env.var("MPMD_STARTED_BY_SYSTEMD").is_some();
            if !by_systemd && pid1_is_systemd() {
                println!("Invoking 'systemctl start {}'.", ctl.service);
                println!("Use 'systemctl status {}' for more info.", ctl.service);
                let _ = std::io::stdout().flush();
                match Command::new("systemctl")
                    .args(["start", &ctl.service])
                    .status()
                {
                    Ok(st) => exit_code(st),
                    Err(e) => {
                        eprintln!("mpmctl: could not run systemctl: {e}");
                        1
                    }
                }
            } else {
                ctl.run(&["-k", "start"])
            }
        }
        "stop" | "graceful-stop" => ctl.run(&["-k", &joined]),
        "restart" | "graceful" => {
            // A restart with a broken config would leave the server down (the new
            // generation fails to load), so check first and show the error instead.
            if ctl.config_ok() {
                ctl.run(&["-k", &joined])
            } else {
                ctl.run(&["-t"])
            }
        }
        "startssl" | "sslstart" | "start-SSL" => {
            println!("The startssl option is no longer supported.");
            println!("Please edit mpmd.conf to include the SSL configuration settings");
            println!("and then use \"mpmctl start\".");
            2
        }
        "configtest" => ctl.run(&["-t"]),
        "-h" => {
            // mpmd's flags, as apache2ctl passes -h through, then mpmctl's own verbs.
            let code = ctl.run(&["-h"]);
            eprint!("\n{}", usage(&prog));
            eprint!("{}", advise::USAGE);
            return code;
        }
        "status" | "fullstatus" => return status(&ctl, joined == "status"),
        _ => {
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            if runs_in_foreground(&args) {
                return ctl.exec(&argv);
            }
            ctl.run(&argv)
        }
    };
    if code != 0 {
        println!("Action '{joined}' failed.");
        println!("The mpmd error log may have more information.");
    }
    code
}

/// `status` / `fullstatus`: fetch the server-status page and print it as text.
fn status(ctl: &Ctl, short: bool) -> i32 {
    match http::get(&ctl.status_url, STATUS_TIMEOUT) {
        Ok(body) => {
            let text = text::html_to_text(&String::from_utf8_lossy(&body));
            let shown = if short {
                text::status_head(&text)
            } else {
                text
            };
            print!("{shown}");
            0
        }
        Err(e) => {
            eprintln!("mpmctl: could not fetch {}: {e}", ctl.status_url);
            eprintln!("Is mpmd running with mod_status enabled (mpmd-enmod status) and the page");
            eprintln!("allowed from here? The URL comes from MPMD_STATUSURL in envvars.");
            1
        }
    }
}

fn pid1_is_systemd() -> bool {
    std::fs::canonicalize("/proc/1/exe")
        .or_else(|_| std::fs::read_link("/proc/1/exe"))
        .is_ok_and(|p| p.to_string_lossy().contains("systemd"))
}

/// apache2ctl's `ulimit -n 8192` as root: raise the open-files limit for the daemon we start.
/// MPMD_ULIMIT_MAX_FILES=0 turns it off.
fn raise_nofile_limit(env: &Env) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if !nix::unistd::Uid::effective().is_root() {
        return;
    }
    let want = match env.var("MPMD_ULIMIT_MAX_FILES") {
        None => DEFAULT_MAX_FILES,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("Setting ulimit failed: MPMD_ULIMIT_MAX_FILES={v} is not a number.");
                return;
            }
        },
    };
    if want == 0 {
        return;
    }
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= want {
        return;
    }
    if setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want)).is_err() {
        eprintln!(
            "Setting ulimit failed. See /usr/share/doc/mpmd/operations.md for more information."
        );
    }
}

/// apache2ctl creates the run and lock directories before anything else (they live on a
/// tmpfs). We do the same for MPMD_RUN_DIR / MPMD_LOCK_DIR (or the APACHE_ names, for an
/// Apache tree) when envvars sets them; the lock dir belongs to the run user.
fn make_run_dirs(env: &Env) -> Result<(), CtlError> {
    let pick = |a: &str, b: &str| env.var(a).or_else(|| env.var(b)).map(PathBuf::from);
    let user = env
        .var("MPMD_RUN_USER")
        .or_else(|| env.var("APACHE_RUN_USER"))
        .unwrap_or("www-data")
        .to_owned();
    if let Some(run) = pick("MPMD_RUN_DIR", "APACHE_RUN_DIR") {
        if !run.is_dir() && std::fs::create_dir_all(&run).is_err() {
            return Err(CtlError::CreateDir { dir: run });
        }
    }
    if let Some(lock) = pick("MPMD_LOCK_DIR", "APACHE_LOCK_DIR") {
        mkdir_owned(&lock, &user)?;
    }
    Ok(())
}

fn mkdir_owned(dir: &Path, user: &str) -> Result<(), CtlError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let owner = nix::unistd::User::from_name(user).ok().flatten();
    let root = nix::unistd::Uid::effective().is_root();
    let not_owned = || CtlError::NotOwnedDir {
        dir: dir.to_owned(),
        user: user.to_owned(),
    };
    match std::fs::metadata(dir) {
        Ok(m) => {
            if !m.is_dir() {
                return Err(not_owned());
            }
            // systemd's RuntimeDirectory= makes it root-owned; hand it over rather than
            // refuse to start (apache2ctl aborts here).
            if let (true, Some(u)) = (root, owner) {
                if u.uid.as_raw() != m.uid() {
                    nix::unistd::chown(dir, Some(u.uid), Some(u.gid)).map_err(|_| not_owned())?;
                }
            }
            Ok(())
        }
        Err(_) => {
            let fail = || CtlError::CreateOwnedDir {
                dir: dir.to_owned(),
                user: user.to_owned(),
            };
            std::fs::create_dir_all(dir).map_err(|_| fail())?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            if root {
                if let Some(u) = owner {
                    nix::unistd::chown(dir, Some(u.uid), Some(u.gid)).map_err(|_| fail())?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn foreground_detection() {
        assert!(runs_in_foreground(&s(&["-DFOREGROUND"])));
        assert!(runs_in_foreground(&s(&["-f", "x.conf", "-D", "NO_DETACH"])));
        assert!(runs_in_foreground(&s(&["-X"])));
        assert!(!runs_in_foreground(&s(&["-DSSL"])));
        assert!(!runs_in_foreground(&s(&["-k", "stop", "-DFOREGROUND"])));
        assert!(!runs_in_foreground(&s(&["-t"])));
    }

    #[test]
    fn tree_arguments_and_service_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        std::fs::write(
            dir.path().join("envvars"),
            "export MPMD_ARGUMENTS='-f mpmd.conf -DX'\nexport MPMD_STATUSURL=http://127.0.0.1:1/s\n",
        )
        .unwrap();
        let ctl = Ctl::new(
            "/usr/sbin/mpmctl",
            Env::from_pairs([("MPMD_CONFDIR", d.as_str()), ("MPMD_BIN", "/x/mpmd")]),
        )
        .unwrap();
        assert_eq!(ctl.base_args, s(&["-d", &d, "-f", "mpmd.conf", "-DX"]));
        assert_eq!(ctl.bin, PathBuf::from("/x/mpmd"));
        assert_eq!(ctl.status_url, "http://127.0.0.1:1/s");
        assert_eq!(ctl.service, "mpmd");

        let ctl = Ctl::new("mpmctl-web2", Env::from_pairs([("MPMD_BIN", "/x/mpmd")])).unwrap();
        assert_eq!(ctl.confdir, PathBuf::from("/etc/mpmd-web2"));
        assert_eq!(ctl.service, "mpmd@web2");
        assert_eq!(ctl.base_args, s(&["-d", "/etc/mpmd-web2"]));
        assert_eq!(ctl.status_url, DEFAULT_STATUSURL);
    }
}
