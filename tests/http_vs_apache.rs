//! A scripted curl + ab session run against mpmd and against Debian's apache2 with the same
//! httpd.conf: status lines and the headers clients rely on must match, and ab must see no
//! failed or non-2xx requests on either. Skips (with a note) when apache2, curl or ab is
//! missing or when not run as root (apache2 must switch to www-data).

#[path = "support/listen.rs"]
mod listen;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mpmd");
const APACHE: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null"))
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_conf(root: &Path, port: u16, mpm: &str) -> std::path::PathBuf {
    let r = root.display();
    let conf = format!(
        "LoadModule mpm_{mpm}_module {MODULES}/mod_mpm_{mpm}.so\n\
         LoadModule authz_core_module {MODULES}/mod_authz_core.so\n\
         LoadModule authz_host_module {MODULES}/mod_authz_host.so\n\
         LoadModule mime_module {MODULES}/mod_mime.so\n\
         LoadModule dir_module {MODULES}/mod_dir.so\n\
         LoadModule alias_module {MODULES}/mod_alias.so\n\
         ServerRoot {r}\nDefaultRuntimeDir {r}\nPidFile {r}/pid\nErrorLog {r}/error_log\n\
         User www-data\nGroup www-data\n\
         Listen 127.0.0.1:{port}\nServerName localhost\nServerTokens Prod\n\
         TypesConfig /etc/mime.types\nDocumentRoot {r}/htdocs\n\
         KeepAlive On\nMaxKeepAliveRequests 100\nKeepAliveTimeout 5\n\
         <Directory />\n Require all denied\n</Directory>\n\
         <Directory {r}/htdocs>\n Require all granted\n</Directory>\n\
         <Directory {r}/htdocs/closed>\n Require all denied\n</Directory>\n\
         Redirect permanent /moved /index.html\n"
    );
    let p = root.join("httpd.conf");
    std::fs::write(&p, conf).unwrap();
    p
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // Stop the whole process group we started (the server and its children), by pid.
        let pid = self.0.id() as i32;
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

/// Starts `bin` on `port`; None when it exits first (the port was taken meanwhile).
fn start(bin: &str, conf: &Path, port: u16) -> Option<Proc> {
    use std::os::unix::process::CommandExt;
    let child = Command::new(bin)
        .arg("-f")
        .arg(conf)
        .arg("-DFOREGROUND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn server");
    let mut p = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = p.0.try_wait() {
            return None;
        }
        // Ours, not another test's server on the same port.
        if listen::pid_listens_on(p.0.id(), port)
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{bin} did not listen on {port} within 15 s");
}

/// Starts `bin` on a free port of its own: the process and the port.
fn start_free(bin: &str, root: &Path) -> (Proc, u16) {
    for _ in 0..5 {
        let port = free_port();
        let conf = write_conf(root, port, "event");
        if let Some(p) = start(bin, &conf, port) {
            return (p, port);
        }
    }
    panic!("{bin} did not start on any of 5 free ports");
}

/// `curl -sI`-style probe: status line and the headers we compare, normalised.
fn probe(port: u16, args: &[&str], path: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-D", "-", "--max-time", "5"])
        .args(args)
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).replace(&port.to_string(), "PORT");
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        let lower = l.to_ascii_lowercase();
        if l.starts_with("HTTP/")
            || [
                "content-type:",
                "content-length:",
                "location:",
                "allow:",
                "accept-ranges:",
                "content-range:",
                "etag:",
                "last-modified:",
                "server:",
            ]
            .iter()
            .any(|h| lower.starts_with(h))
        {
            let mut line = lower.trim().to_string();
            // httpd builds Allow from a hash table: its order varies between processes.
            if let Some(v) = line.strip_prefix("allow:") {
                let mut m: Vec<&str> = v.split(',').map(str::trim).collect();
                m.sort_unstable();
                line = format!("allow: {}", m.join(","));
            }
            lines.push(line);
        }
    }
    lines.sort();
    lines.join("\n")
}

fn ab(port: u16, path: &str) -> String {
    let out = Command::new("ab")
        .args(["-q", "-k", "-n", "300", "-c", "4", "-s", "10"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("ab");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn field<'a>(ab_out: &'a str, name: &str) -> Option<&'a str> {
    ab_out
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
}

#[test]
fn curl_and_ab_agree_with_apache2() {
    if !Path::new(APACHE).exists()
        || !have("curl")
        || !have("ab")
        || !nix::unistd::geteuid().is_root()
    {
        eprintln!("skipped: needs root, {APACHE}, curl and ab");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let docs = root.path().join("htdocs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::create_dir_all(docs.join("closed")).unwrap();
    std::fs::write(docs.join("index.html"), b"<h1>index</h1>\n").unwrap();
    std::fs::write(docs.join("sub/data.json"), b"{\"a\":1}\n").unwrap();
    std::fs::write(docs.join("closed/x.txt"), b"x\n").unwrap();
    std::fs::write(docs.join("big.bin"), vec![7u8; 300_000]).unwrap();
    // Old mtimes: the ETag is strong on both servers.
    for f in ["index.html", "sub/data.json", "closed/x.txt", "big.bin"] {
        let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(docs.join(f))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    let script: &[(&[&str], &str)] = &[
        (&[], "/"),
        (&[], "/index.html"),
        (&["-I"], "/big.bin"),
        (&[], "/sub"),
        (&[], "/sub/data.json"),
        (&[], "/missing"),
        (&[], "/closed/x.txt"),
        (&[], "/moved"),
        (&["-H", "Range: bytes=10-19"], "/big.bin"),
        (&["-H", "Range: bytes=999999-"], "/big.bin"),
        (
            &["-H", "If-Modified-Since: Wed, 15 Nov 2023 10:00:00 GMT"],
            "/index.html",
        ),
        (&["-X", "OPTIONS"], "/index.html"),
        (&["-X", "DELETE"], "/index.html"),
        (&["--http1.0"], "/index.html"),
    ];

    let mut results: Vec<Vec<String>> = Vec::new();
    let mut abs = Vec::new();
    for bin in [BIN, APACHE] {
        let (_server, port) = start_free(bin, root.path());
        results.push(
            script
                .iter()
                .map(|(args, path)| probe(port, args, path))
                .collect(),
        );
        abs.push((ab(port, "/index.html"), ab(port, "/big.bin")));
    }
    for (i, (args, path)) in script.iter().enumerate() {
        assert_eq!(
            results[0][i], results[1][i],
            "curl {args:?} {path}: mpmd (left) vs apache2 (right)"
        );
    }
    for (who, (small, big)) in ["mpmd", "apache2"].iter().zip(&abs) {
        for out in [small, big] {
            assert_eq!(field(out, "Complete requests"), Some("300"), "{who}: {out}");
            assert_eq!(field(out, "Failed requests"), Some("0"), "{who}: {out}");
            assert!(!out.contains("Non-2xx responses"), "{who}: {out}");
        }
    }
    assert_eq!(
        field(&abs[0].0, "Document Length"),
        field(&abs[1].0, "Document Length")
    );
    assert_eq!(
        field(&abs[0].1, "Document Length"),
        field(&abs[1].1, "Document Length")
    );
}
