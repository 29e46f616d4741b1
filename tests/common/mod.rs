//! The shared integration-test harness: start the real `mpmd` with a temp ServerRoot and
//! config, wait for readiness with a deadline, talk HTTP/1.1 over plain std sockets, read the
//! scoreboard through `ScoreBoardFile`, stop only the processes we started, by pid.
//! `mpm_tests!` instantiates each case once per MPM (prefork, worker, event).
#![allow(dead_code)]

// Also loaded by the other harness a test binary may include.
#[allow(clippy::duplicate_mod)]
#[path = "../support/listen.rs"]
pub mod listen;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mpmd::scoreboard::{Scoreboard, Snapshot};

/// Instantiates each named case `fn name(mpm: &str)` once per MPM:
/// `mpm_tests!(case_a, case_b);` gives `prefork::case_a`, `worker::case_a`, `event::case_a` …
#[macro_export]
macro_rules! mpm_tests {
    ($($name:ident),* $(,)?) => {
        mod prefork { $( #[test] fn $name() { super::$name("prefork") } )* }
        mod worker { $( #[test] fn $name() { super::$name("worker") } )* }
        mod event { $( #[test] fn $name() { super::$name("event") } )* }
    };
}

pub const BIN: &str = env!("CARGO_BIN_EXE_mpmd");

/// Polls `cond` every 20 ms until it holds or `within` passes.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One server under test.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub mpm: String,
    pub port: u16,
    pub conf: PathBuf,
    /// Directives appended to the base config.
    pub extra: String,
    proc: Option<Child>,
    /// Every child pid we have seen, to clean up after a failed test.
    seen_children: std::cell::RefCell<Vec<i32>>,
}

impl Server {
    /// The base config: one loopback Listen, the MPM, logs and scoreboard under ServerRoot.
    pub fn config_text(&self) -> String {
        let root = self.dir.path().display();
        format!(
            "ServerRoot {root}\n\
             ServerName localhost\n\
             LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n\
             Listen 127.0.0.1:{port}\n\
             DocumentRoot {root}/htdocs\n\
             ErrorLog logs/error_log\n\
             PidFile logs/mpmd.pid\n\
             ScoreBoardFile logs/scoreboard\n\
             LogLevel info\n\
             {extra}\n",
            mpm = self.mpm,
            port = self.port,
            extra = self.extra
        )
    }

    /// Writes the config and starts `mpmd -DFOREGROUND`; waits until a request succeeds.
    pub fn start(mpm: &str, extra: &str) -> Server {
        Self::start_with(mpm, extra, &[])
    }

    /// Writes ServerRoot and the config on a free port without starting anything (tests that
    /// start the server themselves, e.g. daemonized with `-k start`).
    pub fn prepare(mpm: &str, extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        std::fs::write(dir.path().join("htdocs/index.html"), b"hello mpmd\n").unwrap();
        let conf = dir.path().join("test.conf");
        let s = Server {
            dir,
            mpm: mpm.to_string(),
            port: free_port(),
            conf,
            extra: extra.to_string(),
            proc: None,
            seen_children: Default::default(),
        };
        s.write_config();
        s
    }

    /// The pid in the PidFile, if any.
    pub fn pidfile_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("logs/mpmd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn start_with(mpm: &str, extra: &str, args: &[&str]) -> Server {
        Self::start_env(mpm, extra, args, &[])
    }

    /// `start_with` plus environment variables for the server (e.g. NOTIFY_SOCKET).
    pub fn start_env(mpm: &str, extra: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        std::fs::write(dir.path().join("htdocs/index.html"), b"hello mpmd\n").unwrap();
        let conf = dir.path().join("test.conf");
        let mut s = Server {
            dir,
            mpm: mpm.to_string(),
            port: 0,
            conf,
            extra: extra.to_string(),
            proc: None,
            seen_children: Default::default(),
        };
        // The port is found by binding :0 and letting go; another process may take it in
        // between, so try a few.
        for _ in 0..5 {
            s.port = free_port();
            s.write_config();
            let mut cmd = Command::new(BIN);
            cmd.arg("-f").arg(&s.conf).arg("-DFOREGROUND").args(args);
            cmd.envs(env.iter().copied());
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("spawn mpmd");
            let up = wait_until(Duration::from_secs(15), || {
                if let Ok(Some(_)) = child.try_wait() {
                    return true;
                }
                // Ours, not another test's server on the same port.
                listen::pid_listens_on(child.id(), s.port)
                    && get(s.port, "/index.html").is_ok_and(|r| r.status == 200)
            });
            if let Ok(Some(st)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                // The port was taken, or is one the extra config already listens on (a
                // second free port can be the first one again): try another.
                if err.contains("AH00072") || err.contains("multiple Listeners on the same") {
                    continue;
                }
                panic!("mpmd exited at start ({st}): {err}\n{}", s.error_log());
            }
            assert!(up, "mpmd did not answer within 15 s\n{}", s.error_log());
            s.proc = Some(child);
            s.remember_children();
            return s;
        }
        panic!("could not find a free port");
    }

    pub fn write_config(&self) {
        std::fs::write(&self.conf, self.config_text()).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The parent's pid.
    pub fn pid(&self) -> i32 {
        self.proc.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.path("logs/error_log")).unwrap_or_default()
    }

    pub fn scoreboard(&self) -> Snapshot {
        let sb = Scoreboard::open(&self.path("logs/scoreboard")).expect("scoreboard file");
        let snap = sb.snapshot();
        let mut seen = self.seen_children.borrow_mut();
        for (_, p) in snap.live() {
            if !seen.contains(&p.pid) {
                seen.push(p.pid);
            }
        }
        snap
    }

    fn remember_children(&self) {
        let _ = self.scoreboard();
    }

    /// Live child pids (any generation).
    pub fn children(&self) -> Vec<i32> {
        self.scoreboard().live().map(|(_, p)| p.pid).collect()
    }

    pub fn generation(&self) -> u32 {
        self.scoreboard().global.running_generation
    }

    /// `mpmd -f conf -k verb`: (exit code, stdout, stderr).
    pub fn ctl(&self, verb: &str) -> (i32, String, String) {
        let out = Command::new(BIN)
            .arg("-f")
            .arg(&self.conf)
            .arg("-k")
            .arg(verb)
            .output()
            .expect("run mpmd -k");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY-free: std has no kill; use the CLI.
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// Waits for the parent to exit (it was told to stop); its status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let child = self.proc.as_mut()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.proc = None;
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM and wait; true when the parent exited 0 in time.
    pub fn stop(&mut self) -> bool {
        self.signal(15);
        self.wait_exit(Duration::from_secs(15))
            .is_some_and(|s| s.success())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.proc.take() {
            let _ = Command::new("kill")
                .arg("-15")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(12);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // A daemonized server (`-k start`) is found through its PidFile.
        if let Some(pid) = self.pidfile_pid() {
            if pid_alive(pid) && is_mpmd(pid) {
                let _ = Command::new("kill")
                    .arg("-15")
                    .arg(pid.to_string())
                    .status();
                wait_until(Duration::from_secs(12), || !pid_alive(pid));
            }
        }
        // Children we saw that are somehow still ours: only if their parent was our server.
        for pid in self.seen_children.borrow().iter() {
            if pid_alive(*pid) && is_mpmd(*pid) {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        }
    }
}

pub fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn is_mpmd(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .contains("mpmd")
}

/// (ppid, session id) of a process, from /proc/PID/stat.
pub fn ppid_sid(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(1)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

/// `Uid:` real uid of a process.
pub fn uid_of(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads one response (Content-Length or chunked or until close).
pub fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(len) = resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        resp.body.resize(len, 0);
        r.read_exact(&mut resp.body)?;
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut sz = String::new();
            r.read_line(&mut sz)?;
            let n = usize::from_str_radix(sz.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            resp.body.extend_from_slice(&chunk[..n]);
        }
    } else if status != 204 && status != 304 {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

pub fn connect(port: u16) -> std::io::Result<TcpStream> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// One request on a fresh connection, `Connection: close`.
pub fn get(port: u16, path: &str) -> std::io::Result<Response> {
    let mut s = connect(port)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    read_response(&mut BufReader::new(s))
}

/// A keep-alive client that reconnects when the server closed the connection, and retries a
/// request once when a *reused* connection fails before any response byte (what browsers and
/// curl do: the server may close an idle keep-alive connection at any moment).
pub struct Client {
    port: u16,
    conn: Option<BufReader<TcpStream>>,
    pub connections: u32,
}

impl Client {
    pub fn new(port: u16) -> Client {
        Client {
            port,
            conn: None,
            connections: 0,
        }
    }

    fn try_once(&mut self, path: &str) -> std::io::Result<Response> {
        if self.conn.is_none() {
            self.conn = Some(BufReader::new(connect(self.port)?));
            self.connections += 1;
        }
        let r = self.conn.as_mut().expect("connected");
        write!(
            r.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )?;
        let resp = read_response(r)?;
        if resp.closes() {
            self.conn = None;
        }
        Ok(resp)
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<Response> {
        let reused = self.conn.is_some();
        match self.try_once(path) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.conn = None;
                if reused {
                    self.try_once(path)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Opens the connection and makes one request, keeping the connection open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }
}

/// Runs `threads` client loops hammering `path` until `stop` is set; returns
/// (successes, failures with their errors).
pub fn load(
    port: u16,
    threads: usize,
    keep_alive: bool,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    max_time: Duration,
) -> std::thread::JoinHandle<(u64, Vec<String>)> {
    std::thread::spawn(move || {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let mut ok = 0u64;
                    let mut failed = Vec::new();
                    let mut client = Client::new(port);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed)
                        && start.elapsed() < max_time
                    {
                        let r = if keep_alive {
                            client.get("/index.html")
                        } else {
                            get(port, "/index.html")
                        };
                        match r {
                            Ok(r) if r.status == 200 && r.body == b"hello mpmd\n" => ok += 1,
                            Ok(r) => failed.push(format!("status {}", r.status)),
                            Err(e) => failed.push(e.to_string()),
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        let mut ok = 0;
        let mut failed = Vec::new();
        for h in handles {
            let (o, f) = h.join().expect("client thread");
            ok += o;
            failed.extend(f);
        }
        (ok, failed)
    })
}

/// Sends a request head without its final CRLF, so a worker sits in `R` holding it.
pub fn partial_request(port: u16) -> std::io::Result<TcpStream> {
    let mut s = connect(port)?;
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n")?;
    Ok(s)
}

/// Finishes a `partial_request` and reads its response.
pub fn finish_request(mut s: TcpStream) -> std::io::Result<Response> {
    s.write_all(b"Connection: close\r\n\r\n")?;
    read_response(&mut BufReader::new(s))
}

/// MPM-specific sizing for tests that need a given number of workers.
pub fn sizing(mpm: &str, workers: u32) -> String {
    match mpm {
        "prefork" => format!(
            "StartServers {w}\nMinSpareServers {w}\nMaxSpareServers {}\nMaxRequestWorkers {}\nServerLimit {}\n",
            workers * 2,
            workers * 4,
            workers * 4,
            w = workers
        ),
        _ => {
            let tpc = 10;
            let procs = workers.div_ceil(tpc).max(1);
            format!(
                "StartServers {procs}\nThreadsPerChild {tpc}\nThreadLimit {tpc}\nMinSpareThreads {min}\nMaxSpareThreads {max}\nMaxRequestWorkers {mrw}\nServerLimit {sl}\n",
                min = procs * tpc,
                max = procs * tpc * 3,
                mrw = procs * tpc * 4,
                sl = procs * 4 + 4
            )
        }
    }
}
