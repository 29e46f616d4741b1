//! The oracle harness of the modules_* tests: the same config and docroot served by Debian's
//! apache2 and by mpmd (under the MPM of the case), the same raw requests sent to both, and
//! the answers compared. Skips (with a note) when apache2 is missing or when not run as root
//! (apache2 switches to www-data).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// Also loaded by the other harness a test binary may include.
#[allow(clippy::duplicate_mod)]
#[path = "../support/listen.rs"]
mod listen;

pub const BIN: &str = env!("CARGO_BIN_EXE_mpmd");
pub const APACHE: &str = "/usr/sbin/apache2";
pub const MODULES: &str = "/usr/lib/apache2/modules";

/// True when the oracle can run; prints why not otherwise.
pub fn available() -> bool {
    if !Path::new(APACHE).exists() || !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root and {APACHE}");
        return false;
    }
    true
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A server process we started, stopped by its pid (its process group) on drop.
pub struct Proc(Child);

impl Proc {
    /// The server's pid, which is also its process group's id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A temp ServerRoot with `htdocs/` and a config body shared by both servers.
pub struct Site {
    pub dir: tempfile::TempDir,
    /// Directives after the common head; `@ROOT@` is replaced by the ServerRoot, `@PORT@`
    /// by the server's port and `@TAG@` by `apache` or `mpmd` (to keep their files apart).
    pub body: String,
    /// Extra modules to load (Debian names: `rewrite`, `auth_basic` …).
    pub modules: Vec<&'static str>,
    /// Extra environment for both servers (`TZ` ...).
    pub env: Vec<(&'static str, String)>,
    /// Modules of the common head not to load (`dir` …), for tests of a server without them.
    pub without: Vec<&'static str>,
}

impl Site {
    pub fn new(modules: &[&'static str], body: &str) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        Site {
            dir,
            body: body.to_string(),
            modules: modules.to_vec(),
            env: Vec::new(),
            without: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `htdocs/<rel>` (directories made as needed), world-readable.
    pub fn file(&self, rel: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Old mtimes: the ETag is strong on both servers.
        let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let _ = std::fs::File::options()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(t));
        p
    }

    fn conf(&self, port: u16, mpm: &str, tag: &str) -> PathBuf {
        let r = self.dir.path().display();
        let mut c = format!("LoadModule mpm_{mpm}_module {MODULES}/mod_mpm_{mpm}.so\n");
        for m in [
            "authz_core",
            "authz_host",
            "mime",
            "dir",
            "alias",
            "env",
            "headers",
            "setenvif",
            "log_config",
        ] {
            if m == "log_config" || self.without.contains(&m) {
                continue; // log_config: built in on both sides
            }
            c.push_str(&format!("LoadModule {m}_module {MODULES}/mod_{m}.so\n"));
        }
        for m in &self.modules {
            c.push_str(&format!("LoadModule {m}_module {MODULES}/mod_{m}.so\n"));
        }
        c.push_str(&format!(
            "ServerRoot {r}\nDefaultRuntimeDir {r}/logs\nPidFile {r}/logs/{tag}.pid\n\
             ErrorLog {r}/logs/{tag}_error_log\nUser www-data\nGroup www-data\n\
             Listen 127.0.0.1:{port}\nServerName localhost\nServerTokens Prod\n\
             TypesConfig /etc/mime.types\nDocumentRoot {r}/htdocs\n\
             LogFormat \"%h %u \\\"%r\\\" %>s\" mini\nCustomLog {r}/logs/{tag}_access_log mini\n\
             <Directory />\n Require all denied\n AllowOverride None\n</Directory>\n\
             <Directory {r}/htdocs>\n Require all granted\n</Directory>\n"
        ));
        c.push_str(
            &self
                .body
                .replace("@ROOT@", &r.to_string())
                .replace("@PORT@", &port.to_string())
                .replace("@TAG@", tag),
        );
        c.push('\n');
        let p = self.dir.path().join(format!("{tag}.conf"));
        std::fs::write(&p, c).unwrap();
        p
    }

    fn start(&self, bin: &str, mpm: &str, tag: &str) -> (Proc, u16) {
        for _ in 0..5 {
            let port = free_port();
            let conf = self.conf(port, mpm, tag);
            let child = Command::new(bin)
                .arg("-f")
                .arg(&conf)
                .arg("-DFOREGROUND")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .process_group(0)
                .spawn()
                .expect("spawn server");
            let mut p = Proc(child);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = p.0.try_wait() {
                    break;
                }
                // Ours, not another test's server on the same port.
                if listen::pid_listens_on(p.0.id(), port)
                    && TcpStream::connect(("127.0.0.1", port)).is_ok()
                {
                    return (p, port);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut err = String::new();
            if let Some(mut e) = p.0.stderr.take() {
                if let Ok(Some(_)) = p.0.try_wait() {
                    let _ = e.read_to_string(&mut err);
                }
            }
            if err.contains("AH00072") || err.contains("Address already in use") {
                continue;
            }
            panic!(
                "{bin} did not start on {port}: {err}\n{}",
                std::fs::read_to_string(self.dir.path().join(format!("logs/{tag}_error_log")))
                    .unwrap_or_default()
            );
        }
        panic!("no free port for {bin}");
    }

    /// Starts `bin` (apache2 or mpmd) on this site under `mpm`: the process (stopped on drop)
    /// and its port, for tests that drive both servers with their own clients.
    pub fn serve(&self, bin: &str, mpm: &str, tag: &str) -> (Proc, u16) {
        self.start(bin, mpm, tag)
    }

    /// Runs `requests` against apache2 (event MPM) and against mpmd under `mpm`, returning
    /// both answer lists (apache2's first).
    pub fn both(&self, mpm: &str, requests: &[String]) -> (Vec<Answer>, Vec<Answer>) {
        let a = {
            let (_p, port) = self.start(APACHE, "event", "apache");
            requests.iter().map(|r| send(port, r)).collect()
        };
        let m = {
            let (_p, port) = self.start(BIN, mpm, "mpmd");
            requests.iter().map(|r| send(port, r)).collect()
        };
        (a, m)
    }

    /// Runs `f` against apache2 (event MPM), then against mpmd under `mpm`, each started on
    /// this site in turn, with the server's port and tag (`apache`, `mpmd`); apache2's
    /// result first.
    pub fn with_both<T>(&self, mpm: &str, mut f: impl FnMut(u16, &str) -> T) -> (T, T) {
        let a = {
            let (_p, port) = self.start(APACHE, "event", "apache");
            f(port, "apache")
        };
        let m = {
            let (_p, port) = self.start(BIN, mpm, "mpmd");
            f(port, "mpmd")
        };
        (a, m)
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("logs").join(name)).unwrap_or_default()
    }
}

/// A parsed answer, the server's port replaced by `PORT`.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    /// The first line as sent (`HTTP/1.1 404 Not Found`).
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` with extra header lines, `Connection: close`.
pub fn get(path: &str, headers: &[&str]) -> String {
    req("GET", path, headers)
}

pub fn req(method: &str, path: &str, headers: &[&str]) -> String {
    let mut s = format!("{method} {path} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        s.push_str("Host: localhost\r\n");
    }
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("Connection: close\r\n\r\n");
    s
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(i) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < i + 2 + size {
            return out;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 4 + size).min(b.len())..];
    }
}

/// Sends one raw request and reads the answer until the server closes.
pub fn send(port: u16, request: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..end]).replace(&port.to_string(), "PORT");
    let mut lines = head.split("\r\n");
    let first = lines.next();
    let status_line = first.unwrap_or("").to_string();
    let status = first
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let raw = buf.get(end + 4..).unwrap_or(&[]).to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(&raw) } else { raw };
    let body = String::from_utf8(body.clone())
        .map(|t| t.replace(&port.to_string(), "PORT").into_bytes())
        .unwrap_or(body);
    Answer {
        status,
        status_line,
        headers,
        body,
    }
}

/// Asserts status, the named headers and (when `body`) the bodies agree.
pub fn assert_same(what: &str, apache: &Answer, mpmd: &Answer, headers: &[&str], body: bool) {
    assert_eq!(
        apache.status, mpmd.status,
        "{what}: status: apache2 {apache:?}\nmpmd {mpmd:?}"
    );
    for h in headers {
        assert_eq!(
            apache.header(h),
            mpmd.header(h),
            "{what}: header {h}: apache2 (left) vs mpmd (right)\napache2 {apache:?}\nmpmd {mpmd:?}"
        );
    }
    if body {
        assert_eq!(
            apache.body_text(),
            mpmd.body_text(),
            "{what}: body: apache2 (left) vs mpmd (right)"
        );
    }
}

/// The body of `a`, gunzipped when it came with `Content-Encoding: gzip`.
pub fn gunzip(a: &Answer) -> Vec<u8> {
    if a.header("Content-Encoding") != Some("gzip") || a.body.is_empty() {
        return a.body.clone();
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&a.body[..]), &mut out)
        .expect("valid gzip");
    out
}

/// The head lines (CR trimmed) of an h2c answer to `path` with `headers` sent (curl, prior
/// knowledge); none when curl cannot run.
pub fn curl_h2_head_lines(port: u16, path: &str, headers: &[&str]) -> Vec<String> {
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-s",
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-D",
        "-",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let Ok(out) = cmd.arg(format!("http://127.0.0.1:{port}{path}")).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect()
}
