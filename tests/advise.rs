//! `mpmctl advise`: the failure scenarios of issue #11 from small fake /proc, cgroup and
//! php-fpm trees (`--window 0`, no server), then real runs: a live mpmd on a Debian-layout tree
//! with an undersized MPM under a load we generate (each MPM), `--write` and a graceful reload,
//! and a real php-fpm pool on a Unix socket whose pm.max_children the advisor reads.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::wait_until;

const MPMCTL: &str = env!("CARGO_BIN_EXE_mpmctl");
const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

/// A fake /proc and /sys with meminfo, cpuinfo, limits and cgroup files.
fn fake_host(dir: &Path, mem: u64, cpus: u32, nofile: u64) {
    let p = dir.join("proc");
    std::fs::create_dir_all(p.join("self")).unwrap();
    std::fs::create_dir_all(dir.join("sys/fs/cgroup")).unwrap();
    std::fs::write(p.join("meminfo"), format!("MemTotal: {} kB\n", mem / 1024)).unwrap();
    let cpuinfo: String = (0..cpus).map(|i| format!("processor\t: {i}\n\n")).collect();
    std::fs::write(p.join("cpuinfo"), cpuinfo).unwrap();
    std::fs::write(p.join("self/limits"), limits(nofile)).unwrap();
    std::fs::write(p.join("self/cgroup"), "0::/\n").unwrap();
}

fn limits(nofile: u64) -> String {
    format!("Limit                     Soft Limit           Hard Limit           Units\nMax open files            {nofile}                 {nofile}                 files\n")
}

/// A fake running mpmd: parent `pid` and `n` children of `pss` bytes, limits `nofile`.
fn fake_server(dir: &Path, pid: i32, n: i32, pss: u64, nofile: u64, threads: u32) {
    for (p, ppid, size) in
        std::iter::once((pid, 1, 20 * MIB)).chain((1..=n).map(|c| (pid + c, pid, pss)))
    {
        let d = dir.join("proc").join(p.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), "mpmd\n").unwrap();
        std::fs::write(d.join("stat"), format!("{p} (mpmd) S {ppid} 1 1 0\n")).unwrap();
        std::fs::write(
            d.join("smaps_rollup"),
            format!("Rss: {} kB\nPss: {} kB\n", size / 1024 + 1024, size / 1024),
        )
        .unwrap();
        let t = if p == pid { 1 } else { threads };
        std::fs::write(d.join("status"), format!("Threads:\t{t}\n")).unwrap();
        std::fs::write(d.join("limits"), limits(nofile)).unwrap();
        std::fs::write(d.join("cgroup"), "0::/srv\n").unwrap();
    }
}

/// A Debian-layout tree: mpmd.conf includes mods-enabled/*.load and *.conf; `mpm` enabled
/// with `block` as its mpm_X.conf; `extra` appended to mpmd.conf.
struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    port: u16,
}

impl Tree {
    fn new(mpm: &str, block: &str, extra: &str) -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        for d in ["logs", "htdocs", "mods-available", "mods-enabled"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("htdocs/index.html"), "hello mpmd\n").unwrap();
        for m in ["prefork", "worker", "event"] {
            std::fs::write(
                root.join(format!("mods-available/mpm_{m}.load")),
                format!("LoadModule mpm_{m}_module x\n"),
            )
            .unwrap();
            std::fs::write(
                root.join(format!("mods-available/mpm_{m}.conf")),
                format!("# the {m} sizing\n<IfModule mpm_{m}_module>\n\tMaxRequestWorkers 150\n</IfModule>\n"),
            )
            .unwrap();
        }
        std::fs::write(root.join(format!("mods-available/mpm_{mpm}.conf")), block).unwrap();
        for ext in ["load", "conf"] {
            symlink(
                format!("../mods-available/mpm_{mpm}.{ext}"),
                root.join(format!("mods-enabled/mpm_{mpm}.{ext}")),
            )
            .unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            root.join("mpmd.conf"),
            format!(
                "ServerRoot \"{r}\"\nIncludeOptional mods-enabled/*.load\nIncludeOptional mods-enabled/*.conf\n\
                 LoadModule status_module x\nLoadModule authz_core_module x\n\
                 Listen 127.0.0.1:{port}\nServerName localhost\nDocumentRoot \"{r}/htdocs\"\n\
                 ErrorLog \"{r}/logs/error.log\"\nPidFile \"{r}/logs/mpmd.pid\"\nScoreBoardFile \"{r}/logs/scoreboard\"\n\
                 <Location /server-status>\nSetHandler server-status\n</Location>\n{extra}",
                r = root.display()
            ),
        )
        .unwrap();
        Tree {
            _tmp: tmp,
            root,
            port,
        }
    }

    /// `mpmctl advise ARGS` on this tree with the environment `env`.
    fn advise(&self, args: &[&str], env: &[(&str, String)]) -> Output {
        let out = Command::new(MPMCTL)
            .arg("advise")
            .args(args)
            .env("MPMD_CONFDIR", &self.root)
            .env("MPMD_BIN", common::BIN)
            .env(
                "MPMD_STATUSURL",
                format!("http://127.0.0.1:{}/server-status", self.port),
            )
            .env("MPMD_FPM_DEFAULT", "")
            .env_remove("MPMD_CHILD_SIZE")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "advise failed: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    fn mpmctl(&self, verb: &str) -> Output {
        Command::new(MPMCTL)
            .arg(verb)
            .env("MPMD_CONFDIR", &self.root)
            .env("MPMD_BIN", common::BIN)
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn roots(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("MPMD_PROC_ROOT", dir.join("proc").display().to_string()),
        ("MPMD_SYS_ROOT", dir.join("sys").display().to_string()),
    ]
}

/// A number field `"key":N` of the JSON output (the first one).
fn num(json: &str, key: &str) -> Option<f64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// A directive's value in the recommendation.
fn directive(json: &str, name: &str) -> Option<u64> {
    let at = json.find(&format!("{{\"name\":\"{name}\",\"value\":\""))?;
    let rest = &json[at + name.len() + 20..];
    rest[..rest.find('"')?].parse().ok()
}

fn block(mpm: &str, body: &str) -> String {
    format!("<IfModule mpm_{mpm}_module>\n{body}</IfModule>\n")
}

// ---- scenarios from fake trees ---------------------------------------------------------

/// prefork bumped to 800 children of 70 MB on a 16 GB host: the lint line is shown, event is
/// recommended, and its workers fit the RAM that is left.
fn oom_prefork_800_children_of_70mb(mpm: &str) {
    let body = match mpm {
        "prefork" => "\tServerLimit 800\n\tMaxRequestWorkers 800\n",
        _ => "\tThreadsPerChild 25\n\tServerLimit 320\n\tMaxRequestWorkers 8000\n",
    };
    let t = Tree::new(mpm, &block(mpm, body), "");
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path(), 16 * GIB, 8, 65536);
    let threads = if mpm == "prefork" { 1 } else { 26 };
    fake_server(host.path(), 5000, 4, 70 * MIB, 65536, threads);
    std::fs::write(t.root.join("logs/mpmd.pid"), "5000\n").unwrap();
    let out = t.advise(&["--window", "0", "--json"], &roots(host.path()));
    let json = text(&out.stdout);
    assert!(json.contains("MPMD-L001"), "{json}");
    assert_eq!(num(&json, "child_pss"), Some((70 * MIB) as f64), "{json}");
    assert_eq!(num(&json, "children"), Some(4.0));
    // worker without a reason to switch stays worker; the RAM cap then does the work.
    let rec = if mpm == "worker" { "worker" } else { "event" };
    assert!(
        json.contains(&format!("\"recommendation\":{{\"mpm\":\"{rec}\"")),
        "{json}"
    );
    let usable = num(&json, "usable_memory").unwrap();
    let mrw = directive(&json, "MaxRequestWorkers").unwrap() as f64;
    let tpc = directive(&json, "ThreadsPerChild").unwrap() as f64;
    // A child of 70 MB shared by its threads must fit, all children together.
    assert!(mrw / tpc * 70.0 * MIB as f64 <= usable, "{json}");
    if mpm == "prefork" {
        assert!(json.contains("mpmd-enmod mpm_event"), "{json}");
    }
}

/// MaxRequestWorkers 4000 in front of an 80-child pool: capped to 2× the pool.
fn fpm_pool_of_80_behind_4000_workers(mpm: &str) {
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path(), 64 * GIB, 16, 65536);
    let sock = host.path().join("php8.2-fpm.sock");
    let pools = host.path().join("pool.d");
    std::fs::create_dir_all(&pools).unwrap();
    std::fs::write(
        pools.join("www.conf"),
        format!(
            "[www]\nlisten = {}\npm = dynamic\npm.max_children = 80\n",
            sock.display()
        ),
    )
    .unwrap();
    let body = match mpm {
        "prefork" => "\tServerLimit 4000\n\tMaxRequestWorkers 4000\n",
        _ => "\tThreadsPerChild 25\n\tServerLimit 160\n\tMaxRequestWorkers 4000\n",
    };
    let t = Tree::new(
        mpm,
        &block(mpm, body),
        &format!("<FilesMatch \"\\.php$\">\nSetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n", sock.display()),
    );
    let pools_arg = pools.display().to_string();
    let out = t.advise(
        &["--window", "0", "--json", "--fpm-conf", &pools_arg],
        &roots(host.path()),
    );
    let json = text(&out.stdout);
    assert_eq!(num(&json, "fpm_max_children"), Some(80.0), "{json}");
    assert!(json.contains("MPMD-L002"), "{json}");
    let mrw = directive(&json, "MaxRequestWorkers").unwrap();
    assert!((125..=160).contains(&mrw), "{json}");
    // The human report names the pool file and the directive's place.
    let out = t.advise(
        &["--window", "0", "--fpm-conf", &pools_arg],
        &roots(host.path()),
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("pool [www]") && report.contains("pm.max_children 80"),
        "{report}"
    );
    assert!(report.contains("2× the PHP-FPM pool"), "{report}");
}

/// The server's RLIMIT_NOFILE (from /proc/PID/limits of the running parent) caps threads.
fn fd_limit_of_the_server_caps_threads(mpm: &str) {
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path(), 64 * GIB, 16, 65536);
    fake_server(host.path(), 7000, 2, 8 * MIB, 100, 26);
    let body = match mpm {
        "prefork" => "\tMaxRequestWorkers 100\n",
        _ => "\tThreadsPerChild 25\n\tMaxRequestWorkers 100\n",
    };
    let t = Tree::new(mpm, &block(mpm, body), "");
    std::fs::write(t.root.join("logs/mpmd.pid"), "7000\n").unwrap();
    let json = text(
        &t.advise(&["--window", "0", "--json"], &roots(host.path()))
            .stdout,
    );
    assert_eq!(num(&json, "nofile"), Some(100.0), "{json}");
    // event (prefork is advised to switch to it): (100 - 64) / (2 × 3) = 6 threads; worker
    // holds one connection per thread: (100 - 64) / 2 = 18.
    let want = if mpm == "worker" { 18 } else { 6 };
    assert_eq!(directive(&json, "ThreadsPerChild"), Some(want), "{json}");
    // The cgroup of the server (0::/srv) is read: its memory.max shows up.
    std::fs::create_dir_all(host.path().join("sys/fs/cgroup/srv")).unwrap();
    std::fs::write(
        host.path().join("sys/fs/cgroup/srv/memory.max"),
        format!("{}\n", 2 * GIB),
    )
    .unwrap();
    std::fs::write(
        host.path().join("sys/fs/cgroup/srv/cpu.max"),
        "150000 100000\n",
    )
    .unwrap();
    let json = text(
        &t.advise(&["--window", "0", "--json"], &roots(host.path()))
            .stdout,
    );
    assert_eq!(
        num(&json, "cgroup_memory"),
        Some((2 * GIB) as f64),
        "{json}"
    );
    assert_eq!(num(&json, "cpus"), Some(1.5), "{json}");
}

/// A `ProxyPass … max=5` backend: a child gets at most 5 backend connections, so threaded
/// children are kept to 10 threads.
fn proxypass_max_caps_threads_per_child(mpm: &str) {
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path(), 64 * GIB, 16, 65536);
    let body = match mpm {
        "prefork" => "\tMaxRequestWorkers 100\n",
        _ => "\tThreadsPerChild 25\n\tMaxRequestWorkers 100\n",
    };
    let t = Tree::new(
        mpm,
        &block(mpm, body),
        "LoadModule proxy_module x\nLoadModule proxy_http_module x\nProxyPass /app http://127.0.0.1:9/ max=5 timeout=3\n",
    );
    let json = text(
        &t.advise(&["--window", "0", "--json"], &roots(host.path()))
            .stdout,
    );
    assert_eq!(num(&json, "backend_max"), Some(5.0), "{json}");
    assert_eq!(directive(&json, "ThreadsPerChild"), Some(10), "{json}");
    assert_eq!(
        directive(&json, "MaxRequestWorkers").unwrap() % 10,
        0,
        "{json}"
    );
}

// ---- live server ------------------------------------------------------------------------

struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = wait_until(Duration::from_secs(10), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(t: &Tree) -> Running {
    let child = Command::new(common::BIN)
        .arg("-d")
        .arg(&t.root)
        .arg("-DFOREGROUND")
        .env("MPMD_LINT", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Running { child };
    assert!(
        wait_until(Duration::from_secs(20), || common::get(
            t.port,
            "/index.html"
        )
        .is_ok_and(|r| r.status == 200)),
        "mpmd did not come up: {}",
        std::fs::read_to_string(t.root.join("logs/error.log")).unwrap_or_default()
    );
    r
}

fn scoreboard_mrw(t: &Tree) -> u32 {
    mpmd::scoreboard::Scoreboard::open(&t.root.join("logs/scoreboard"))
        .map(|s| s.snapshot().global.max_request_workers)
        .unwrap_or(0)
}

/// Undersized (4 workers) under 12 clients: the advisor sees it from the scoreboard (and from
/// server-status with --status), recommends more with BusyWorkers under 60%, `--write` puts the
/// block in the enabled mpm_X.conf with a backup, and a graceful reload serves the same load
/// without a failure.
fn live_undersized_server(mpm: &str) {
    let body = match mpm {
        "prefork" => "\tStartServers 2\n\tMinSpareServers 1\n\tMaxSpareServers 4\n\tServerLimit 16\n\tMaxRequestWorkers 4\n",
        _ => "\tStartServers 1\n\tMinSpareThreads 2\n\tMaxSpareThreads 4\n\tThreadLimit 2\n\tThreadsPerChild 2\n\tServerLimit 32\n\tMaxRequestWorkers 4\n",
    };
    // worker without keep-alive stays worker (no reason to switch); the others are busy with
    // keep-alive clients.
    let keep_alive = mpm != "worker";
    let extra = if keep_alive { "" } else { "KeepAlive Off\n" };
    let t = Tree::new(mpm, &block(mpm, body), extra);
    let _server = start(&t);
    let stop = Arc::new(AtomicBool::new(false));
    let load = common::load(
        t.port,
        12,
        keep_alive,
        stop.clone(),
        Duration::from_secs(30),
    );
    // Sample under load and write the block in one go, as an admin would.
    let out = t.advise(
        &["--window", "3", "--interval", "0.05", "--json", "--write"],
        &[],
    );
    let json = text(&out.stdout);
    let said = text(&out.stderr);
    stop.store(true, Ordering::Relaxed);
    let _ = load.join();
    // server-status ?auto is the fallback; a saturated prefork cannot even answer it, which is
    // why the scoreboard comes first.
    let st = t.advise(
        &["--window", "1", "--interval", "0.1", "--json", "--status"],
        &[],
    );
    assert!(json.contains("\"source\":\"scoreboard "), "{json}");
    assert!(
        text(&st.stdout).contains("\"source\":\"server-status "),
        "{}",
        text(&st.stdout)
    );
    assert!(num(&json, "samples").unwrap() >= 5.0, "{json}");
    assert!(num(&json, "requests").unwrap() > 0.0, "{json}");
    assert!(num(&json, "children").unwrap() >= 1.0, "{json}");
    assert!(num(&json, "child_pss").unwrap() > 0.0, "{json}");
    let peak = num(&json, "peak_busy").unwrap();
    let mrw = directive(&json, "MaxRequestWorkers").unwrap();
    assert!(peak / mrw as f64 <= 0.6, "{json}");
    assert!(mrw > 4, "{json}");
    if mpm == "prefork" {
        // 12 clients on 4 children that keep their connection: all taken.
        assert!(json.contains("\"saturated\":true"), "{json}");
    }
    let rec_mpm = if mpm == "prefork" { "event" } else { mpm };
    assert!(
        json.contains(&format!("\"recommendation\":{{\"mpm\":\"{rec_mpm}\"")),
        "{json}"
    );

    let conf = t.root.join(format!("mods-available/mpm_{rec_mpm}.conf"));
    let written = std::fs::read_to_string(&conf).unwrap();
    assert!(
        written.contains(&format!("<IfModule mpm_{rec_mpm}_module>")),
        "{written}"
    );
    assert_eq!(written.matches("<IfModule").count(), 1, "{written}");
    assert!(
        written.contains(&format!("MaxRequestWorkers        {mrw}\n")),
        "{written}"
    );
    let backups: Vec<_> = std::fs::read_dir(t.root.join("mods-available"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("mpm_{rec_mpm}.conf.bak-"))
        })
        .collect();
    assert_eq!(backups.len(), 1, "{said}");
    if mpm == "prefork" {
        assert!(said.contains("mpmd-enmod mpm_event"), "{said}");
        return;
    }
    assert!(said.contains("mpmctl graceful"), "{said}");
    let g = t.mpmctl("graceful");
    assert!(g.status.success(), "{}", text(&g.stderr));
    assert!(
        wait_until(Duration::from_secs(20), || scoreboard_mrw(&t) == mrw as u32),
        "graceful did not apply MaxRequestWorkers {mrw}: {}",
        scoreboard_mrw(&t)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let load = common::load(
        t.port,
        12,
        keep_alive,
        stop.clone(),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    assert!(ok > 0 && failed.is_empty(), "{ok} ok, failures: {failed:?}");
}

/// A real php-fpm pool on a Unix socket: the advisor finds it through the SetHandler socket
/// and reads its pm.max_children.
fn real_php_fpm_pool(mpm: &str) {
    let Some(fpm) = std::fs::read_dir("/usr/sbin").ok().and_then(|d| {
        d.flatten().map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
        })
    }) else {
        panic!("php-fpm is not installed (scripts/setup.sh installs php-fpm)");
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sock = d.join("php.sock");
    let pools = d.join("pool.d");
    std::fs::create_dir_all(&pools).unwrap();
    std::fs::write(
        d.join("php-fpm.conf"),
        format!(
            "[global]\npid = {d}/fpm.pid\nerror_log = {d}/fpm.log\ndaemonize = no\ninclude = {d}/pool.d/*.conf\n",
            d = d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        pools.join("t.conf"),
        format!(
            "[t]\nlisten = {}\npm = static\npm.max_children = 3\n",
            sock.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(&fpm);
    cmd.arg("--nodaemonize")
        .arg("-y")
        .arg(d.join("php-fpm.conf"))
        .arg("-p")
        .arg(d);
    if nix::unistd::Uid::effective().is_root() {
        cmd.arg("-R");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _fpm = Running { child };
    assert!(
        wait_until(Duration::from_secs(15), || sock.exists()),
        "php-fpm did not make its socket: {}",
        std::fs::read_to_string(d.join("fpm.log")).unwrap_or_default()
    );
    let t = Tree::new(
        mpm,
        &block(mpm, "\tMaxRequestWorkers 150\n"),
        &format!("<FilesMatch \"\\.php$\">\nSetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n", sock.display()),
    );
    let pools_arg = pools.display().to_string();
    let json = text(
        &t.advise(&["--window", "0", "--json", "--fpm-conf", &pools_arg], &[])
            .stdout,
    );
    assert_eq!(num(&json, "fpm_max_children"), Some(3.0), "{json}");
    let mrw = directive(&json, "MaxRequestWorkers").unwrap();
    assert_eq!(mrw, 6, "{json}");
    assert!(json.contains("MPMD-L002"), "{json}");
}

mpm_tests!(
    oom_prefork_800_children_of_70mb,
    fpm_pool_of_80_behind_4000_workers,
    fd_limit_of_the_server_caps_threads,
    proxypass_max_caps_threads_per_child,
    live_undersized_server,
    real_php_fpm_pool,
);
