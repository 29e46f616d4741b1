//! mpmctl: envvars, verbs turned into mpmd runs, the config test before a restart, exit codes
//! and "Action … failed." lines, exec for a foreground daemon, and status/fullstatus through
//! the built-in HTTP client. A stand-in `mpmd` script (MPMD_BIN) records how it was called, so
//! these run without a server; the configtest case at the end uses the real mpmd.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MPMCTL: &str = env!("CARGO_BIN_EXE_mpmctl");

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    fake: PathBuf,
}

/// A temp tree with an envvars file and a fake mpmd that appends "ARGS: …" to a log, fails
/// `-t` when the tree has a file named `broken`, and exits with $FAKE_RC otherwise.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_owned();
    let conf = root.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let log = root.join("calls.log");
    let fake = root.join("fake-mpmd");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             echo \"ARGS: $*\" >> {log}\n\
             echo \"FROM_ENVVARS=$FROM_ENVVARS\" >> {log}\n\
             case \" $* \" in\n\
             *' -t '*) if [ -e {conf}/broken ]; then echo 'Syntax error on line 3 of {conf}/mpmd.conf:' >&2; echo \"Invalid command 'Bogus'\" >&2; exit 1; fi; echo 'Syntax OK' >&2; exit 0;;\n\
             *' -DFOREGROUND '*) echo \"PID $$\" >> {log}; exit 0;;\n\
             esac\n\
             exit ${{FAKE_RC:-0}}\n",
            log = log.display(),
            conf = conf.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        conf.join("envvars"),
        format!(
            "export FROM_ENVVARS=yes\nexport MPMD_RUN_DIR={root}/run/mpmd\nexport MPMD_LOCK_DIR={root}/lock/mpmd\nexport MPMD_ULIMIT_MAX_FILES=0\n",
            root = root.display()
        ),
    )
    .unwrap();
    Setup {
        _tmp: tmp,
        root,
        conf,
        log,
        fake,
    }
}

impl Setup {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(MPMCTL);
        c.args(args)
            .env("MPMD_CONFDIR", &self.conf)
            .env("MPMD_BIN", &self.fake)
            .env("MPMD_STARTED_BY_SYSTEMD", "true")
            .env_remove("MPMD_ENVVARS")
            .env_remove("MPMD_ARGUMENTS")
            .env_remove("MPMD_STATUSURL")
            .stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("ARGS: ").map(str::to_owned))
            .collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn verbs_become_mpmd_runs_with_the_tree_and_envvars() {
    let s = setup();
    let d = s.conf.display().to_string();
    for (verb, expect) in [
        ("start", vec![format!("-d {d} -k start")]),
        ("stop", vec![format!("-d {d} -k stop")]),
        ("graceful-stop", vec![format!("-d {d} -k graceful-stop")]),
        ("configtest", vec![format!("-d {d} -t")]),
        (
            "graceful",
            vec![format!("-d {d} -t"), format!("-d {d} -k graceful")],
        ),
        (
            "restart",
            vec![format!("-d {d} -t"), format!("-d {d} -k restart")],
        ),
    ] {
        let _ = std::fs::remove_file(&s.log);
        let o = s.run(&[verb]);
        assert_eq!(o.status.code(), Some(0), "{verb}: {}", text(&o.stderr));
        assert_eq!(s.calls(), expect, "{verb}");
    }
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(
        log.contains("FROM_ENVVARS=yes"),
        "envvars exported to mpmd: {log}"
    );
    assert!(s.root.join("run/mpmd").is_dir(), "MPMD_RUN_DIR created");
    assert!(s.root.join("lock/mpmd").is_dir(), "MPMD_LOCK_DIR created");
}

#[test]
fn other_arguments_pass_through_and_failures_are_reported() {
    let s = setup();
    let d = s.conf.display().to_string();
    let o = s.run(&["-S", "-DX"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(s.calls(), [format!("-d {d} -S -DX")]);
    assert_eq!(text(&o.stdout), "");

    let _ = std::fs::remove_file(&s.log);
    let o = s
        .cmd(&["-k", "graceful"])
        .env("FAKE_RC", "3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        s.calls(),
        [format!("-d {d} -k graceful")],
        "-k is passed as is, no pre-check"
    );
    assert_eq!(
        text(&o.stdout),
        "Action '-k graceful' failed.\nThe mpmd error log may have more information.\n"
    );
    // MPMD_ARGUMENTS from envvars goes before the caller's arguments.
    std::fs::write(
        s.conf.join("envvars"),
        "export MPMD_ARGUMENTS='-f alt.conf'\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(&s.log);
    s.run(&["-M"]);
    assert_eq!(s.calls(), [format!("-d {d} -f alt.conf -M")]);
}

#[test]
fn graceful_and_restart_refuse_a_broken_config() {
    let s = setup();
    std::fs::write(s.conf.join("broken"), "").unwrap();
    let d = s.conf.display().to_string();
    for verb in ["graceful", "restart"] {
        let _ = std::fs::remove_file(&s.log);
        let o = s.run(&[verb]);
        assert_eq!(o.status.code(), Some(1), "{verb}");
        // The quiet test, then the test again to show the error; never the signal.
        assert_eq!(
            s.calls(),
            [format!("-d {d} -t"), format!("-d {d} -t")],
            "{verb}"
        );
        assert_eq!(
            text(&o.stderr),
            format!("Syntax error on line 3 of {d}/mpmd.conf:\nInvalid command 'Bogus'\n")
        );
        assert_eq!(
            text(&o.stdout),
            format!("Action '{verb}' failed.\nThe mpmd error log may have more information.\n")
        );
    }
    // configtest shows the same and fails the same way.
    let o = s.run(&["configtest"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).starts_with("Action 'configtest' failed."));
}

#[test]
fn usage_and_retired_verbs() {
    let s = setup();
    for args in [&[][..], &["help"][..], &["usage"][..], &["--help"][..]] {
        let o = s.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(text(&o.stderr).contains(
            "start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus|help"
        ));
    }
    let o = s.run(&["startssl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).starts_with("The startssl option is no longer supported.\n"));
    assert!(s.calls().is_empty(), "nothing was run");
}

#[test]
fn a_foreground_daemon_replaces_mpmctl() {
    let s = setup();
    let child = s.cmd(&["-DFOREGROUND"]).spawn().unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(
        log.contains(&format!("PID {pid}\n")),
        "mpmd must run as mpmctl's own pid {pid} (exec), got: {log}"
    );
}

/// Serves `body` once for each connection, up to `n` connections, with a deadline; returns the
/// URL and the request lines seen.
fn serve(body: &'static str, n: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/server-status",
        listener.local_addr().unwrap().port()
    );
    listener.set_nonblocking(true).unwrap();
    let h = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while seen.len() < n && Instant::now() < deadline {
            let Ok((mut sock, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            sock.set_nonblocking(false).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut host = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap() == 0 || l == "\r\n" {
                    break;
                }
                if l.to_ascii_lowercase().starts_with("host:") {
                    host = l.trim().to_owned();
                }
            }
            seen.push(format!("{} | {host}", first.trim()));
            // Chunked, in two pieces, and the connection left open: the client must stop on
            // the terminating chunk, not on EOF.
            let (a, b) = body.split_at(body.len() / 2);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            );
            sock.write_all(resp.as_bytes()).unwrap();
            let mut rest = Vec::new();
            let _ = sock.read_to_end(&mut rest);
        }
        seen
    });
    (url, h)
}

const STATUS_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n\
<html><head>\n<title>Apache Status</title>\n</head><body>\n\
<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>\n\n\
<dl><dt>Server Version: mpmd/0.1.0</dt>\n<dt>Server MPM: worker</dt>\n</dl><hr /><dl>\n\
<dt>Total accesses: 7 - Total Traffic: 3 kB</dt>\n\
<dt>1 requests currently being processed, 24 idle workers</dt>\n\
</dl><pre>W________________________\n....</pre>\n\
<p>Scoreboard Key:<br />\n\"<b><code>_</code></b>\" Waiting for Connection, \n\
\"<b><code>W</code></b>\" Sending Reply, \n\
\"<b><code>.</code></b>\" Open slot with no current process<br />\n</p>\n\
<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>M</th></tr>\n\
<tr><td><b>0-0</b></td><td>4242</td><td><b>W</b></td></tr>\n</table>\n\
</body></html>\n";

#[test]
fn status_and_fullstatus_use_the_built_in_client() {
    let s = setup();
    let (url, server) = serve(STATUS_PAGE, 2);
    let o = s
        .cmd(&["status"])
        .env("MPMD_STATUSURL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("Apache Server Status for 127.0.0.1 (via 127.0.0.1)\n"),
        "{out}"
    );
    assert!(out.contains("\nServer MPM: worker\n"));
    assert!(out.contains("\n1 requests currently being processed, 24 idle workers\n"));
    assert!(
        out.contains("\nW________________________\n....\n"),
        "scoreboard kept: {out}"
    );
    assert!(
        out.contains("Open slot with no current") && out.ends_with("process\n"),
        "{out}"
    );
    assert!(!out.contains("4242"), "status stops at the key");

    let o = s
        .cmd(&["fullstatus"])
        .env("MPMD_STATUSURL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.contains("Srv  PID  M\n0-0  4242  W\n"), "{out}");
    let seen = server.join().unwrap();
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    assert_eq!(
        seen,
        vec![format!("GET /server-status HTTP/1.1 | Host: 127.0.0.1:{port}"); 2]
    );
    assert!(s.calls().is_empty(), "status does not run mpmd");
}

#[test]
fn status_fails_cleanly_when_nothing_listens() {
    let s = setup();
    // A port that was just free: connecting is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/server-status");
    let o = s
        .cmd(&["status"])
        .env("MPMD_STATUSURL", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "mpmctl: could not fetch {url}: could not connect to 127.0.0.1:{port}"
        )),
        "{err}"
    );
    let o = s
        .cmd(&["fullstatus"])
        .env("MPMD_STATUSURL", "https://x/")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("unsupported URL https://x/"));
}

/// With the real mpmd, under each MPM: configtest on a good tree says "Syntax OK"; graceful
/// on a broken tree shows httpd's error and neither signals nor starts a server.
#[test]
fn real_mpmd_configtest_and_refused_graceful() {
    for mpm in ["prefork", "worker", "event"] {
        real_mpmd_case(mpm);
    }
}

fn real_mpmd_case(mpm: &str) {
    let mpmd = Path::new(MPMCTL).with_file_name("mpmd");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    std::fs::create_dir_all(root.join("htdocs")).unwrap();
    // -t does not bind, but take a free port anyway.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = format!(
        "ServerRoot \"{r}\"\nListen 127.0.0.1:{port}\nServerName localhost\nLoadModule mpm_{mpm}_module /usr/lib/apache2/modules/mod_mpm_{mpm}.so\nDocumentRoot \"{r}/htdocs\"\nErrorLog \"{r}/logs/error.log\"\nPidFile \"{r}/logs/mpmd.pid\"\n",
        r = root.display()
    );
    std::fs::write(root.join("mpmd.conf"), &good).unwrap();
    let run = |args: &[&str]| {
        Command::new(MPMCTL)
            .args(args)
            .env("MPMD_CONFDIR", root)
            .env("MPMD_BIN", &mpmd)
            .env("MPMD_ARGUMENTS", "-f mpmd.conf")
            .env("MPMD_STARTED_BY_SYSTEMD", "true")
            .env("MPMD_ULIMIT_MAX_FILES", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = run(&["configtest"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{mpm}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("Syntax OK"),
        "{mpm}: {}",
        text(&o.stderr)
    );

    std::fs::write(root.join("mpmd.conf"), format!("{good}BogusDirective on\n")).unwrap();
    let o = run(&["graceful"]);
    assert_eq!(o.status.code(), Some(1), "{mpm}");
    let err = text(&o.stderr);
    assert!(
        err.contains("Invalid command 'BogusDirective'"),
        "{mpm}: {err}"
    );
    assert!(text(&o.stdout).contains("Action 'graceful' failed."));
    assert!(
        !root.join("logs/mpmd.pid").exists(),
        "{mpm}: no server was started"
    );
}
