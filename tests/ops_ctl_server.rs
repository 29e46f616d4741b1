//! mpmctl driving a real mpmd, under each MPM, on a Debian-layout temp tree whose MPM is
//! chosen with mpmd-enmod: start, graceful (same parent, new generation, still serving), a
//! broken configuration refused while the server keeps serving, graceful-stop.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MPMCTL: &str = env!("CARGO_BIN_EXE_mpmctl");
const ENMOD: &str = env!("CARGO_BIN_EXE_mpmd-enmod");
const MPMS: [&str; 3] = ["prefork", "worker", "event"];

struct Server {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    port: u16,
}

impl Drop for Server {
    /// If a test failed half-way, stop the server it started (the pid from its own pid file).
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

impl Server {
    fn new(mpm: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        for d in ["logs", "htdocs", "mods-available", "mods-enabled"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("htdocs/index.html"), "hello from mpmd\n").unwrap();
        for m in MPMS {
            let others: Vec<String> = MPMS
                .iter()
                .filter(|o| **o != m)
                .map(|o| format!("mpm_{o}"))
                .collect();
            fs::write(
                root.join(format!("mods-available/mpm_{m}.load")),
                format!(
                    "# Conflicts: {}\nLoadModule mpm_{m}_module /usr/lib/apache2/modules/mod_mpm_{m}.so\n",
                    others.join(" ")
                ),
            )
            .unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        fs::write(
            root.join("mpmd.conf"),
            format!(
                "ServerRoot \"{r}\"\n\
                 IncludeOptional mods-enabled/*.load\n\
                 Listen 127.0.0.1:{port}\n\
                 ServerName localhost\n\
                 DocumentRoot \"{r}/htdocs\"\n\
                 ErrorLog \"{r}/logs/error.log\"\n\
                 PidFile \"{r}/logs/mpmd.pid\"\n\
                 LogLevel notice\n",
                r = root.display()
            ),
        )
        .unwrap();
        // envvars as the package has it: mpmctl sources it and makes the run dir.
        fs::write(
            root.join("envvars"),
            format!(
                "export MPMD_RUN_DIR={r}/run\nexport MPMD_ARGUMENTS='-f mpmd.conf'\nexport MPMD_ULIMIT_MAX_FILES=0\n",
                r = root.display()
            ),
        )
        .unwrap();
        let s = Server {
            _tmp: tmp,
            root,
            port,
        };
        let o = s.enmod(&[&format!("mpm_{mpm}")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        s
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(MPMCTL)
            .args(args)
            .env("MPMD_CONFDIR", &self.root)
            .env("MPMD_STARTED_BY_SYSTEMD", "true")
            .env_remove("MPMD_ENVVARS")
            .env_remove("MPMD_ARGUMENTS")
            .env_remove("MPMD_BIN")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn enmod(&self, args: &[&str]) -> Output {
        Command::new(ENMOD)
            .args(args)
            .env("MPMD_CONFDIR", &self.root)
            .env_remove("MPMD_STATE_DIRECTORY")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn pid(&self) -> Option<i32> {
        fs::read_to_string(self.root.join("logs/mpmd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.root.join("logs/error.log")).unwrap_or_default()
    }

    /// Status code of GET /index.html (None if the connection fails). Not `/`: no mod_dir.
    fn get(&self) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let head = String::from_utf8_lossy(&buf);
        head.split_whitespace().nth(1)?.parse().ok()
    }

    fn wait_until(&self, what: &str, mut ok: impl FnMut(&Server) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; error log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn lifecycle(mpm: &str) {
    let s = Server::new(mpm);
    let o = s.ctl(&["start"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{mpm} start: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    s.wait_until("the server to answer", |s| s.get() == Some(200));
    assert!(
        s.root.join("run").is_dir(),
        "MPMD_RUN_DIR from envvars was created"
    );
    let pid = s.pid().expect("pid file");
    let resumed = "configured -- resuming normal operations";
    assert!(
        s.log().contains(&format!("[mpm_{mpm}:notice]")),
        "{}",
        s.log()
    );
    assert_eq!(count(&s.log(), resumed), 1);
    let o = s.ctl(&["start"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("httpd (pid {pid}) already running\n")
    );

    // graceful: the same parent re-reads the configuration and keeps serving.
    let o = s.ctl(&["graceful"]);
    assert_eq!(o.status.code(), Some(0), "{mpm} graceful");
    s.wait_until("the graceful restart", |s| count(&s.log(), resumed) == 2);
    assert_eq!(s.pid(), Some(pid));
    s.wait_until("the new generation to answer", |s| s.get() == Some(200));

    // restart (SIGHUP): also the same parent.
    let o = s.ctl(&["restart"]);
    assert_eq!(o.status.code(), Some(0), "{mpm} restart");
    s.wait_until("the restart", |s| count(&s.log(), resumed) == 3);
    assert_eq!(s.pid(), Some(pid));
    s.wait_until("the restarted server to answer", |s| s.get() == Some(200));

    // A broken configuration: refused before any signal; the server keeps serving.
    let conf = s.root.join("mpmd.conf");
    let good = fs::read_to_string(&conf).unwrap();
    fs::write(&conf, format!("{good}NoSuchDirective on\n")).unwrap();
    let o = s.ctl(&["graceful"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{mpm}: broken config must be refused"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid command 'NoSuchDirective'"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Action 'graceful' failed."));
    assert_eq!(count(&s.log(), resumed), 3, "no restart happened");
    assert_eq!(s.get(), Some(200), "still serving");
    fs::write(&conf, good).unwrap();

    // graceful-stop: the parent exits and removes its pid file.
    let o = s.ctl(&["graceful-stop"]);
    assert_eq!(o.status.code(), Some(0));
    s.wait_until("the server to exit", |_| !alive(pid));
    assert_eq!(s.pid(), None, "pid file removed");
    // And a second stop finds nothing to stop, which is not an error.
    let o = s.ctl(&["stop"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not running"));
}

#[test]
fn start_graceful_refused_graceful_and_graceful_stop_prefork() {
    lifecycle("prefork");
}

#[test]
fn start_graceful_refused_graceful_and_graceful_stop_worker() {
    lifecycle("worker");
}

#[test]
fn start_graceful_refused_graceful_and_graceful_stop_event() {
    lifecycle("event");
}

/// The documented way to change engines: mpmd-enmod, then mpmctl graceful.
#[test]
fn mpmd_enmod_then_graceful_switches_mpm() {
    let s = Server::new("event");
    assert_eq!(s.ctl(&["start"]).status.code(), Some(0));
    s.wait_until("the server to answer", |s| s.get() == Some(200));
    let pid = s.pid().unwrap();
    for next in ["worker", "prefork", "event"] {
        let o = s.enmod(&[&format!("mpm_{next}")]);
        assert!(o.status.success());
        let before = count(&s.log(), "resuming normal operations");
        assert_eq!(s.ctl(&["graceful"]).status.code(), Some(0));
        s.wait_until(&format!("the switch to {next}"), |s| {
            count(&s.log(), "resuming normal operations") > before
        });
        let last = s
            .log()
            .lines()
            .rev()
            .find(|l| l.contains("resuming normal operations"))
            .unwrap()
            .to_owned();
        assert!(last.contains(&format!("[mpm_{next}:notice]")), "{last}");
        assert_eq!(s.pid(), Some(pid), "same parent");
        s.wait_until("the new engine to answer", |s| s.get() == Some(200));
    }
    assert_eq!(s.ctl(&["stop"]).status.code(), Some(0));
    s.wait_until("the server to exit", |_| !alive(pid));
}

/// What the systemd unit does: `mpmctl -DFOREGROUND` with $NOTIFY_SOCKET. mpmctl must become
/// mpmd (exec), so READY=1 carries the pid systemd started (NotifyAccess=main), and the
/// unit's signals (SIGUSR1 from ExecReload, SIGWINCH as KillSignal) reach the parent.
fn foreground_under_notify(mpm: &str) {
    use std::os::unix::net::UnixDatagram;
    let s = Server::new(mpm);
    let sock_path = s.root.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(MPMCTL)
        .arg("-DFOREGROUND")
        .env("MPMD_CONFDIR", &s.root)
        .env("MPMD_STARTED_BY_SYSTEMD", "true")
        .env("NOTIFY_SOCKET", &sock_path)
        .env_remove("MPMD_ENVVARS")
        .env_remove("MPMD_ARGUMENTS")
        .env_remove("MPMD_BIN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let recv = |want: &str| {
        let mut buf = [0u8; 512];
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "{mpm}: no {want}");
            let n = sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("{mpm}: waiting for {want}: {e}; log:\n{}", s.log()));
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.lines().any(|l| l == want) {
                return msg;
            }
        }
    };
    let ready = recv("READY=1");
    assert!(
        ready.lines().any(|l| l == format!("MAINPID={pid}")),
        "{mpm}: READY=1 must name the pid systemd started ({pid}): {ready:?}"
    );
    assert_eq!(s.pid(), Some(pid), "the pid file names the same process");
    s.wait_until("the server to answer", |s| s.get() == Some(200));

    let signal = |sig| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
    signal(nix::sys::signal::Signal::SIGUSR1);
    recv("RELOADING=1");
    recv("READY=1");
    s.wait_until("the reloaded server to answer", |s| s.get() == Some(200));

    signal(nix::sys::signal::Signal::SIGWINCH);
    recv("STOPPING=1");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "{mpm}: did not exit after SIGWINCH"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{mpm}: graceful stop exits 0, got {status:?}"
    );
}

#[test]
fn foreground_under_a_notify_socket_prefork() {
    foreground_under_notify("prefork");
}

#[test]
fn foreground_under_a_notify_socket_worker() {
    foreground_under_notify("worker");
}

#[test]
fn foreground_under_a_notify_socket_event() {
    foreground_under_notify("event");
}

/// `mpmctl status` / `fullstatus` on the real server-status page, under each MPM.
#[test]
fn status_reads_the_real_server_status_page() {
    for mpm in MPMS {
        let s = Server::new(mpm);
        let conf = s.root.join("mpmd.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str(
            "LoadModule status_module x.so\nLoadModule authz_core_module x.so\n\
             LoadModule authz_host_module x.so\nExtendedStatus On\n\
             <Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n",
        );
        fs::write(&conf, text).unwrap();
        assert_eq!(s.ctl(&["start"]).status.code(), Some(0), "{mpm}");
        s.wait_until("the server to answer", |s| s.get() == Some(200));
        let pid = s.pid().unwrap();
        let url = format!("http://127.0.0.1:{}/server-status", s.port);
        let status = Command::new(MPMCTL)
            .arg("status")
            .env("MPMD_CONFDIR", &s.root)
            .env("MPMD_STATUSURL", &url)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&status.stdout).into_owned();
        assert_eq!(status.status.code(), Some(0), "{mpm}: {out}");
        assert!(
            out.contains(&format!("Server MPM: {mpm}\n")),
            "{mpm}: {out}"
        );
        assert!(out.trim_end().ends_with("process"), "{mpm}: {out}");
        let full = Command::new(MPMCTL)
            .arg("fullstatus")
            .env("MPMD_CONFDIR", &s.root)
            .env("MPMD_STATUSURL", &url)
            .output()
            .unwrap();
        let full = String::from_utf8_lossy(&full.stdout).into_owned();
        assert!(
            full.len() > out.len(),
            "{mpm}: fullstatus adds the worker table"
        );
        assert!(full.contains("GET /server-status"), "{mpm}: {full}");
        assert_eq!(s.ctl(&["stop"]).status.code(), Some(0));
        s.wait_until("the server to exit", |_| !alive(pid));
    }
}
