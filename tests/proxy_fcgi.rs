//! mod_proxy_fcgi against a real Debian php-fpm the test starts (its own pool on a Unix socket
//! in a temp dir, as the current user, stopped by pid): a PHP page, a POST form, a multipart
//! upload, headers/cookies/redirects/status set by PHP, PATH_INFO, DirectoryIndex index.php,
//! streamed output, FPM's stderr in the error log, 503 when the socket is absent, 504 after
//! ProxyTimeout, and `$_SERVER` compared with what apache2 + the same php-fpm give.
//! Skips (with a note) when php-fpm is not installed.

mod common;
mod tlsutil;

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{connect, get, read_response, wait_until, Response, Server};

/// The php-fpm binary (`php-fpm8.2` on bookworm; whatever version is installed).
fn fpm_binary() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/sbin")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("php-fpm"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// The PHP scripts the cases request.
const SCRIPTS: &[(&str, &str)] = &[
    ("hello.php", "<?php echo 'Hello from PHP ', 6 * 7, \"\\n\";"),
    (
        "form.php",
        "<?php header('Content-Type: text/plain'); ksort($_POST); \
         foreach ($_POST as $k => $v) echo \"$k=$v\\n\"; echo $_SERVER['REQUEST_METHOD'], \"\\n\";",
    ),
    (
        "upload.php",
        "<?php $f = $_FILES['file']; header('Content-Type: application/octet-stream'); \
         header('X-Name: ' . $f['name']); header('X-Field: ' . $_POST['note']); \
         readfile($f['tmp_name']);",
    ),
    (
        "redirect.php",
        "<?php setcookie('a', '1'); setcookie('b', '2'); header('Location: /target.html'); echo 'moving';",
    ),
    (
        "status.php",
        "<?php header('Status: 418 I am a teapot'); header('X-App: yes'); \
         error_log('oops from php'); echo 'tea';",
    ),
    (
        "env.php",
        "<?php header('Content-Type: text/plain'); ksort($_SERVER); \
         foreach ($_SERVER as $k => $v) echo $k, \"\\t\", addcslashes((string)$v, \"\\n\\\\\"), \"\\n\";",
    ),
    ("sub/index.php", "<?php echo 'index of ', $_SERVER['SCRIPT_NAME'];"),
    (
        // Sends a first part, then waits (bounded) until the test has seen it.
        "stream.php",
        "<?php while (ob_get_level()) ob_end_flush(); echo \"first\\n\"; flush(); \
         $t = microtime(true); while (!file_exists($_GET['f']) && microtime(true) - $t < 20) usleep(20000); \
         echo file_exists($_GET['f']) ? \"second\\n\" : \"buffered\\n\";",
    ),
    ("slow.php", "<?php sleep(4); echo 'slow';"),
];

/// A php-fpm master with one static pool on `<dir>/fpm.sock`, docroot `<dir>/htdocs`.
struct Fpm {
    dir: tempfile::TempDir,
    child: Child,
    /// A second pool on TCP (`fcgi://127.0.0.1:PORT`).
    tcp_port: u16,
}

impl Fpm {
    fn start() -> Option<Fpm> {
        let Some(bin) = fpm_binary() else {
            eprintln!("note: php-fpm not installed; skipping (scripts/setup.sh installs it)");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // apache2 (the oracle) runs as www-data: it must reach the socket and the docroot.
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for (name, body) in SCRIPTS {
            let p = d.join("htdocs").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
        }
        std::fs::write(d.join("htdocs/target.html"), "target\n").unwrap();
        // The harness polls /index.html for readiness.
        std::fs::write(d.join("htdocs/index.html"), "hello mpmd\n").unwrap();
        let root = nix::unistd::geteuid().is_root();
        let tcp_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let conf = format!(
            "[global]\nerror_log = {r}/fpm.log\ndaemonize = no\npid = {r}/fpm.pid\n\
             [test]\n{user}listen = {r}/fpm.sock\nlisten.mode = 0666\n\
             pm = static\npm.max_children = 4\ncatch_workers_output = yes\n\
             php_admin_value[upload_tmp_dir] = {r}\nphp_admin_value[output_buffering] = 0\n\
             [tcp]\n{user}listen = 127.0.0.1:{tcp_port}\npm = static\npm.max_children = 2\n",
            r = d.display(),
            user = if root {
                "user = root\ngroup = root\n"
            } else {
                ""
            },
        );
        std::fs::write(d.join("fpm.conf"), conf).unwrap();
        let mut cmd = Command::new(bin);
        if root {
            cmd.arg("-R");
        }
        let child = cmd
            .arg("--nodaemonize")
            .arg("-y")
            .arg(d.join("fpm.conf"))
            .arg("-p")
            .arg(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn php-fpm");
        let fpm = Fpm {
            dir,
            child,
            tcp_port,
        };
        let sock = fpm.socket();
        assert!(
            wait_until(Duration::from_secs(20), || {
                std::os::unix::net::UnixStream::connect(&sock).is_ok()
            }),
            "php-fpm did not listen on {}: {}",
            sock.display(),
            std::fs::read_to_string(fpm.path("fpm.log")).unwrap_or_default()
        );
        assert!(
            wait_until(Duration::from_secs(20), || {
                std::net::TcpStream::connect(("127.0.0.1", tcp_port)).is_ok()
            }),
            "php-fpm did not listen on 127.0.0.1:{tcp_port}"
        );
        Some(fpm)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn socket(&self) -> PathBuf {
        self.path("fpm.sock")
    }

    fn docroot(&self) -> PathBuf {
        self.path("htdocs")
    }

    /// The directives both servers share: the docroot, index.php, the handler and a
    /// ProxyPassMatch with `$1`.
    fn config(&self) -> String {
        let root = self.docroot();
        let r = root.display();
        let s = self.socket();
        let s = s.display();
        format!(
            "DocumentRoot {r}\n\
             DirectoryIndex index.html index.php\n\
             SetEnvIfNoCase ^Authorization$ \"(.+)\" HTTP_AUTHORIZATION=$1\n\
             <Directory {r}>\n Require all granted\n</Directory>\n\
             <FilesMatch \\.php$>\n SetHandler \"proxy:unix:{s}|fcgi://localhost\"\n</FilesMatch>\n\
             ProxyPassMatch ^/pm/(.*\\.php(/.*)?)$ unix:{s}|fcgi://localhost{r}/$1\n\
             ProxyPass /tcp/ fcgi://127.0.0.1:{p}{r}/ enablereuse=on\n",
            p = self.tcp_port
        )
    }
}

impl Drop for Fpm {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MODULES: &str = "LoadModule authz_core_module modules/mod_authz_core.so\n\
     LoadModule mime_module modules/mod_mime.so\n\
     LoadModule dir_module modules/mod_dir.so\n\
     LoadModule env_module modules/mod_env.so\n\
     LoadModule setenvif_module modules/mod_setenvif.so\n\
     LoadModule proxy_module modules/mod_proxy.so\n\
     LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so\n\
     TypesConfig /etc/mime.types\n";

fn start(mpm: &str, fpm: &Fpm, extra: &str) -> Server {
    Server::start(mpm, &format!("{MODULES}{}{extra}", fpm.config()))
}

fn request(port: u16, raw: &[u8]) -> Response {
    let mut s = connect(port).unwrap();
    s.write_all(raw).unwrap();
    read_response(&mut BufReader::new(s)).unwrap()
}

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A page, a form, an upload, headers and redirects, PATH_INFO, DirectoryIndex, stderr.
fn php_pages(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    let mut s = start(mpm, &fpm, "");

    let r = get(s.port, "/hello.php").unwrap();
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(body(&r), "Hello from PHP 42\n");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=UTF-8"));

    // HEAD: no body and, as httpd answers it, no framing header either.
    let r = request(
        s.port,
        b"HEAD /hello.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert!(r.body.is_empty());

    // A POST form.
    let form = b"b=two&a=1&c=%C3%A9";
    let mut raw = format!(
        "POST /form.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    )
    .into_bytes();
    raw.extend_from_slice(form);
    let r = request(s.port, &raw);
    assert_eq!(r.status, 200);
    assert_eq!(body(&r), "a=1\nb=two\nc=é\nPOST\n");

    // The same form sent chunked: PHP still gets it (CONTENT_LENGTH from the read body).
    let mut raw = b"POST /form.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(format!("{:x}\r\n", form.len()).as_bytes());
    raw.extend_from_slice(form);
    raw.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = request(s.port, &raw);
    assert_eq!(body(&r), "a=1\nb=two\nc=é\nPOST\n");

    // A multipart upload larger than one FastCGI record, echoed back byte for byte.
    let file: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let bnd = "----mpmdtestboundary";
    let mut mp = format!(
        "--{bnd}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi there\r\n\
         --{bnd}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    mp.extend_from_slice(&file);
    mp.extend_from_slice(format!("\r\n--{bnd}--\r\n").as_bytes());
    let mut raw = format!(
        "POST /upload.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={bnd}\r\nContent-Length: {}\r\n\r\n",
        mp.len()
    )
    .into_bytes();
    raw.extend_from_slice(&mp);
    let r = request(s.port, &raw);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.header("X-Name"), Some("data.bin"));
    assert_eq!(r.header("X-Field"), Some("hi there"));
    assert!(r.body == file, "upload echoed {} bytes", r.body.len());

    // Location → 302 (PHP sets it), both cookies kept.
    let r = get(s.port, "/redirect.php").unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some("/target.html"));
    let cookies: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(body(&r), "moving");

    // Status: from the script, its own header, and its stderr in our error log.
    let r = get(s.port, "/status.php").unwrap();
    assert_eq!(r.status, 418);
    assert_eq!(r.header("X-App"), Some("yes"));
    assert_eq!(body(&r), "tea");
    assert!(
        wait_until(Duration::from_secs(10), || s
            .error_log()
            .contains("[proxy_fcgi:error]")
            && s.error_log()
                .contains("AH01071: Got error 'PHP message: oops from php'")),
        "{}",
        s.error_log()
    );

    // A missing script: FPM's own 404.
    let r = get(s.port, "/missing.php").unwrap();
    assert_eq!(r.status, 404);

    // PATH_INFO after the script; DirectoryIndex index.php through the handler.
    let r = get(s.port, "/env.php/extra/path?x=1").unwrap();
    let env = parse_env(&body(&r));
    assert_eq!(
        env.get("PATH_INFO").map(String::as_str),
        Some("/extra/path")
    );
    assert_eq!(env.get("SCRIPT_NAME").map(String::as_str), Some("/env.php"));
    let r = get(s.port, "/sub/").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(body(&r), "index of /sub/index.php");
    // ProxyPass to the TCP pool, connections kept (enablereuse=on): several requests on one
    // client connection.
    let mut c = common::Client::new(s.port);
    for _ in 0..3 {
        let r = c.get("/tcp/hello.php").unwrap();
        assert_eq!(
            (r.status, body(&r)),
            (200, "Hello from PHP 42\n".to_string())
        );
    }
    let r = c.get("/tcp/env.php/x").unwrap();
    let env = parse_env(&body(&r));
    // PHP splits the path itself (cgi.fix_pathinfo), as behind httpd.
    assert_eq!(
        env.get("SCRIPT_NAME").map(String::as_str),
        Some("/tcp/env.php")
    );
    assert_eq!(env.get("PATH_INFO").map(String::as_str), Some("/x"));
    // Static files next to the scripts stay static.
    let r = get(s.port, "/target.html").unwrap();
    assert_eq!(body(&r), "target\n");
    assert!(s.stop());
}

/// The script's first output reaches the client while the script still runs.
fn output_is_streamed(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    let mut s = start(mpm, &fpm, "");
    let flag = fpm.path("seen-first");
    let mut c = connect(s.port).unwrap();
    write!(
        c,
        "GET /stream.php?f={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        flag.display()
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(15);
    while !String::from_utf8_lossy(&got).contains("first") && Instant::now() < deadline {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        String::from_utf8_lossy(&got).contains("first\n"),
        "no first part before the script ended: {}",
        String::from_utf8_lossy(&got)
    );
    std::fs::write(&flag, "").unwrap();
    let _ = c.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("second\n"), "{text}");
    assert!(s.stop());
}

/// 503 when the socket is absent, 504 when the script outlives ProxyTimeout; the server goes
/// on serving afterwards.
fn backend_failures(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    let gone = fpm.path("nosock");
    let r = fpm.docroot();
    let extra = format!(
        "ProxyTimeout 1\n\
         ProxyPassMatch ^/gone/(.*\\.php)$ unix:{}|fcgi://gone{}/$1\n",
        gone.display(),
        r.display()
    );
    let mut s = start(mpm, &fpm, &extra);
    let resp = get(s.port, "/gone/hello.php").unwrap();
    assert_eq!(resp.status, 503);
    assert!(body(&resp).contains("<title>503 Service Unavailable</title>"));
    let resp = get(s.port, "/slow.php").unwrap();
    assert_eq!(resp.status, 504);
    assert!(body(&resp).contains("<title>504 Gateway Timeout</title>"));
    let log = s.error_log();
    assert!(log.contains("AH01075"), "{log}");
    let resp = get(s.port, "/hello.php").unwrap();
    assert_eq!(body(&resp), "Hello from PHP 42\n");
    assert!(s.stop());
}

/// PHP over HTTP/2 (h2c by prior knowledge, curl): a page and a POST form.
fn over_http2(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    let mut s = start(
        mpm,
        &fpm,
        "LoadModule http2_module modules/mod_http2.so\nProtocols h2c http/1.1\n",
    );
    let curl = |args: &[&str], path: &str| {
        let out = Command::new("curl")
            .args(["-s", "--http2-prior-knowledge", "--max-time", "20"])
            .args(["-w", "\n%{http_version} %{http_code}"])
            .args(args)
            .arg(format!("http://127.0.0.1:{}{path}", s.port))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&[], "/hello.php"), "Hello from PHP 42\n\n2 200");
    assert_eq!(
        curl(&["-d", "b=two&a=1"], "/form.php"),
        "a=1\nb=two\nPOST\n\n2 200"
    );
    assert!(s.stop());
}

fn parse_env(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const APACHE: &str = "/usr/sbin/apache2";
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

/// apache2 with the same directives on a free loopback port; stopped (its process group)
/// on drop.
struct Apache {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Apache {
    fn start(mpm: &str, shared: &str) -> Option<Apache> {
        if !Path::new(APACHE).exists() || !nix::unistd::geteuid().is_root() {
            eprintln!("note: apache2 missing or not root; skipping the comparison");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().display();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let modules = MODULES.replace("modules/", &format!("{APACHE_MODULES}/"));
        let conf = format!(
            "LoadModule mpm_{mpm}_module {APACHE_MODULES}/mod_mpm_{mpm}.so\n{modules}\
             ServerRoot {r}\nDefaultRuntimeDir {r}\nPidFile {r}/pid\nErrorLog {r}/error_log\n\
             User www-data\nGroup www-data\nListen 127.0.0.1:{port}\nServerName localhost\n\
             {shared}"
        );
        std::fs::write(dir.path().join("httpd.conf"), conf).unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(APACHE)
            .arg("-f")
            .arg(dir.path().join("httpd.conf"))
            .arg("-DFOREGROUND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn apache2");
        let a = Apache {
            child,
            port,
            _dir: dir,
        };
        assert!(
            wait_until(Duration::from_secs(20), || {
                // Ours, not another test's server on the same port.
                common::listen::pid_listens_on(a.child.id(), port)
                    && get(port, "/target.html").is_ok()
            }),
            "apache2 did not start"
        );
        Some(a)
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// `$_SERVER` as PHP sees it through mpmd and through apache2, same config and pool.
fn server_vars_match_apache(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    // mod_remoteip: REMOTE_ADDR and the rewritten headers as the application sees them.
    let remoteip = "LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so\n\
                    RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-By\n";
    let shared = format!(
        "{}ServerAdmin admin@example.test\nSetEnv APP_ENV testing\n{remoteip}",
        fpm.config()
    );
    let Some(apache) = Apache::start(mpm, &shared) else {
        return;
    };
    let mut s = start(
        mpm,
        &fpm,
        &format!("ServerAdmin admin@example.test\nSetEnv APP_ENV testing\n{remoteip}"),
    );
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/env.php", None),
        ("GET", "/env.php/extra/path?a=1&b=%20x", None),
        ("POST", "/env.php?q=1", Some("x=1&y=2")),
        ("GET", "/pm/env.php/x?q", None),
        ("HEAD", "/env.php", None),
        ("GET", "/env.php?xff", None),
    ];
    // Differ by nature (ports, time) or are PHP's own per-process values.
    let skip = ["REMOTE_PORT", "REQUEST_TIME", "REQUEST_TIME_FLOAT"];
    for (method, path, form) in cases {
        let fetch = |port: u16| {
            let mut raw = format!(
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: mpmd-test\r\n\
                 X-Custom-Header: one\r\nAccept: */*\r\nConnection: close\r\n\
                 Authorization: Basic dXNlcjpwdw==\r\n"
            );
            if path.ends_with("?xff") {
                raw.push_str("X-Forwarded-For: 10.0.0.1, 203.0.113.5\r\n");
            }
            if let Some(f) = form {
                raw.push_str(&format!(
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}",
                    f.len()
                ));
            } else {
                raw.push_str("\r\n");
            }
            let r = request(port, raw.as_bytes());
            let text = body(&r).replace(&port.to_string(), "PORT");
            (r.status, parse_env(&text))
        };
        let (ms, mine) = fetch(s.port);
        let (as_, theirs) = fetch(apache.port);
        assert_eq!(ms, as_, "{method} {path}: status");
        if *method == "HEAD" {
            continue;
        }
        assert!(
            theirs.contains_key("SCRIPT_FILENAME"),
            "apache2: {theirs:?}"
        );
        if path.ends_with("?xff") {
            assert_eq!(
                mine.get("REMOTE_ADDR").map(String::as_str),
                Some("203.0.113.5")
            );
            assert_eq!(
                mine.get("HTTP_X_FORWARDED_FOR").map(String::as_str),
                Some("10.0.0.1")
            );
            assert_eq!(mine.get("HTTP_X_BY").map(String::as_str), Some("127.0.0.1"));
        }
        let keys: std::collections::BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
        for k in keys {
            if skip.contains(&k.as_str()) {
                continue;
            }
            assert_eq!(
                mine.get(k),
                theirs.get(k),
                "{method} {path}: $_SERVER['{k}'] mpmd (left) vs apache2 (right)"
            );
        }
    }
    assert!(s.stop());
    drop(apache);
}

/// Over TLS, `SSLOptions +StdEnvVars` puts mod_ssl's variables in the FastCGI environment
/// (`$_SERVER`) for the scripts it covers, and only for them; `HTTPS=on` always.
fn ssl_env_reaches_php(mpm: &str) {
    let Some(fpm) = Fpm::start() else { return };
    let certs = tlsutil::Certs::new(&["a.test"]);
    let tls_port = tlsutil::free_port();
    let d = certs.dir.path().display();
    let mut s = start(
        mpm,
        &fpm,
        &format!(
            "LoadModule ssl_module x.so\nListen 127.0.0.1:{tls_port} https\n\
             <VirtualHost *:{tls_port}>\nServerName a.test\nSSLEngine on\n\
             SSLCertificateFile {d}/a.test.crt\nSSLCertificateKeyFile {d}/a.test.key\n\
             <Files env.php>\nSSLOptions +StdEnvVars\n</Files>\n</VirtualHost>\n"
        ),
    );
    let php = |path: &str| {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "--tlsv1.3", "--cacert"])
            .arg(certs.path("ca.pem"))
            .args(["--resolve", &format!("a.test:{tls_port}:127.0.0.1")])
            .arg(format!("https://a.test:{tls_port}{path}"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let env = parse_env(&php("/env.php"));
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("HTTPS"), Some("on"), "{env:?}");
    assert_eq!(get("SSL_PROTOCOL"), Some("TLSv1.3"), "{env:?}");
    assert!(
        get("SSL_CIPHER").is_some_and(|c| c.starts_with("TLS_")),
        "{env:?}"
    );
    assert_eq!(get("SSL_SERVER_S_DN_CN"), Some("a.test"));
    assert_eq!(get("SSL_SERVER_I_DN"), Some("CN=mpmd test CA"));
    assert_eq!(get("SSL_CLIENT_VERIFY"), Some("NONE"));
    assert_eq!(get("SSL_TLS_SNI"), Some("a.test"));
    assert_eq!(get("SSL_SERVER_CERT"), None, "no ExportCertData");
    // Another script: no StdEnvVars there.
    let page = php("/hello.php");
    assert_eq!(page, "Hello from PHP 42\n");
    assert!(s.stop());
}

mpm_tests!(
    ssl_env_reaches_php,
    php_pages,
    over_http2,
    output_is_streamed,
    backend_failures,
    server_vars_match_apache
);
