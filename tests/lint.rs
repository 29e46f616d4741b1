//! The MPM lint of `mpmd -t`: each sizing mistake of issue #11 built with a small fake /proc,
//! cgroup and php-fpm tree (MPMD_PROC_ROOT, MPMD_SYS_ROOT, MPMD_FPM_CONF), asserting the
//! warning id and the file:line it points at, that the fixed config has no such warning, and
//! that `-t` still ends with `Syntax OK` and exit 0. Every case runs under all three MPMs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

/// A fake host: /proc (meminfo, cpuinfo, self/limits, self/cgroup, optional running server)
/// and /sys/fs/cgroup.
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    fn new(mem: u64, cpus: u32, nofile: u64) -> FakeHost {
        let h = FakeHost {
            dir: tempfile::tempdir().unwrap(),
        };
        let p = h.proc_root();
        std::fs::create_dir_all(p.join("self")).unwrap();
        std::fs::create_dir_all(h.sys_root().join("fs/cgroup")).unwrap();
        std::fs::create_dir_all(h.dir.path().join("fpm")).unwrap();
        std::fs::write(
            p.join("meminfo"),
            format!("MemTotal:       {} kB\nMemFree: 1 kB\n", mem / 1024),
        )
        .unwrap();
        let cpuinfo: String = (0..cpus)
            .map(|i| format!("processor\t: {i}\nmodel name\t: fake\n\n"))
            .collect();
        std::fs::write(p.join("cpuinfo"), cpuinfo).unwrap();
        std::fs::write(p.join("self/limits"), limits(nofile)).unwrap();
        std::fs::write(p.join("self/cgroup"), "0::/\n").unwrap();
        h
    }
    fn proc_root(&self) -> PathBuf {
        self.dir.path().join("proc")
    }
    fn sys_root(&self) -> PathBuf {
        self.dir.path().join("sys")
    }
    fn fpm_dir(&self) -> PathBuf {
        self.dir.path().join("fpm")
    }
    fn cgroup_memory(&self, bytes: u64) {
        std::fs::write(
            self.sys_root().join("fs/cgroup/memory.max"),
            format!("{bytes}\n"),
        )
        .unwrap();
    }
    /// A "running" mpmd parent `pid` with `n` children of `pss` bytes each.
    fn server(&self, pid: i32, n: i32, pss: u64) {
        proc_entry(&self.proc_root(), pid, 1, 20 * MIB, 1);
        for c in 1..=n {
            proc_entry(&self.proc_root(), pid + c, pid, pss, 1);
        }
    }
    fn pool(&self, file: &str, name: &str, listen: &str, max_children: u32) {
        std::fs::write(
            self.fpm_dir().join(file),
            format!("; fake pool\n[{name}]\nuser = www-data\nlisten = {listen}\npm = static\npm.max_children = {max_children}\n"),
        )
        .unwrap();
    }
    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "MPMD_PROC_ROOT".into(),
                self.proc_root().display().to_string(),
            ),
            (
                "MPMD_SYS_ROOT".into(),
                self.sys_root().display().to_string(),
            ),
            ("MPMD_FPM_CONF".into(), self.fpm_dir().display().to_string()),
            ("MPMD_FPM_DEFAULT".into(), String::new()),
        ]
    }
}

fn limits(nofile: u64) -> String {
    format!(
        "Limit                     Soft Limit           Hard Limit           Units     \n\
         Max processes             63704                63704                processes \n\
         Max open files            {nofile}                 {nofile}                 files     \n"
    )
}

fn proc_entry(root: &Path, pid: i32, ppid: i32, pss: u64, threads: u32) {
    let d = root.join(pid.to_string());
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("comm"), "mpmd\n").unwrap();
    std::fs::write(
        d.join("stat"),
        format!("{pid} (mpmd) S {ppid} {pid} {pid} 0 -1 0\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("smaps_rollup"),
        format!(
            "00400000-7fff [rollup]\nRss:            {} kB\nPss:            {} kB\n",
            pss / 1024 + 2048,
            pss / 1024
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("status"),
        format!("Name:\tmpmd\nThreads:\t{threads}\n"),
    )
    .unwrap();
    std::fs::write(d.join("limits"), limits(1024)).unwrap();
    std::fs::write(d.join("cgroup"), "0::/\n").unwrap();
}

/// A config tree for `mpm` with `body` appended; returns (dir, conf path).
fn tree(mpm: &str, body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    std::fs::create_dir_all(root.join("htdocs")).unwrap();
    let conf = root.join("mpmd.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot {r}\nServerName localhost\nLoadModule mpm_{mpm}_module x\nListen 127.0.0.1:1\nDocumentRoot {r}/htdocs\nErrorLog logs/error_log\nPidFile logs/mpmd.pid\n{body}",
            r = root.display()
        ),
    )
    .unwrap();
    (dir, conf)
}

/// `mpmd -t`: (exit code, stderr). Asserts that `-t` still succeeds.
fn configtest(conf: &Path, host: &FakeHost) -> String {
    let out = Command::new(common::BIN)
        .arg("-t")
        .arg("-f")
        .arg(conf)
        .env_remove("MPMD_LINT")
        .env_remove("MPMD_CHILD_SIZE")
        .envs(host.env())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.ends_with("Syntax OK\n"), "{err}");
    err
}

/// The MPMD-L lines of a -t run.
fn lints(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("MPMD-L")).collect()
}

/// The line of `conf` that holds `needle` (1-based), for the file:line assertions.
fn line_of(conf: &Path, needle: &str) -> usize {
    std::fs::read_to_string(conf)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

fn sizing(mpm: &str, workers: u32) -> String {
    if mpm == "prefork" {
        format!("ServerLimit {workers}\nMaxRequestWorkers {workers}\n")
    } else {
        format!(
            "ThreadsPerChild 25\nServerLimit {}\nMaxRequestWorkers {workers}\n",
            workers.div_ceil(25)
        )
    }
}

/// 800 workers of measured 70 MB children on a 16 GB host: the OOM scenario. Measured through
/// a running server's pid file; for threaded MPMs the child is shared by its 25 threads, so the
/// threaded case needs more workers to overrun the same RAM.
fn ram_above_what_the_host_allows(mpm: &str) {
    let host = FakeHost::new(16 * GIB, 4, 65536);
    let workers = if mpm == "prefork" { 800 } else { 8000 };
    let (dir, conf) = tree(mpm, &sizing(mpm, workers));
    std::fs::write(dir.path().join("logs/mpmd.pid"), "4242\n").unwrap();
    host.server(4242, 3, 70 * MIB);
    let err = configtest(&conf, &host);
    let want = format!(
        "MPMD-L001: WARNING: {}:{}: MaxRequestWorkers {workers}",
        conf.display(),
        line_of(&conf, "MaxRequestWorkers")
    );
    assert!(
        lints(&err)
            .iter()
            .any(|l| l.starts_with(&want) && l.contains("measured")),
        "{err}"
    );
    // A cgroup limit below MemTotal counts too: 150 workers fit 16 GB but not 4 GB.
    let workers = if mpm == "prefork" { 150 } else { 2000 };
    let (dir, conf) = tree(mpm, &sizing(mpm, workers));
    std::fs::write(dir.path().join("logs/mpmd.pid"), "4242\n").unwrap();
    let err = configtest(&conf, &host);
    assert!(!err.contains("MPMD-L001"), "{err}");
    host.cgroup_memory(4 * GIB);
    let err = configtest(&conf, &host);
    assert!(err.contains("MPMD-L001"), "{err}");
}

/// MaxRequestWorkers 4000 in front of an 80-child pool, found through the SetHandler socket.
fn above_twice_the_fpm_pool(mpm: &str) {
    let host = FakeHost::new(64 * GIB, 16, 65536);
    let sock = host.dir.path().join("php-fpm.sock");
    host.pool("www.conf", "www", &sock.display().to_string(), 80);
    host.pool("other.conf", "other", "/run/php/other.sock", 1000);
    let workers = if mpm == "prefork" { 400 } else { 4000 };
    let handler = format!("<FilesMatch \"\\.php$\">\n    SetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n", sock.display());
    let (_d, conf) = tree(mpm, &format!("{}{handler}", sizing(mpm, workers)));
    let err = configtest(&conf, &host);
    let l: Vec<&str> = lints(&err)
        .into_iter()
        .filter(|l| l.starts_with("MPMD-L002"))
        .collect();
    assert_eq!(l.len(), 1, "{err}");
    assert!(
        l[0].contains(&format!(
            "{}:{}:",
            conf.display(),
            line_of(&conf, "MaxRequestWorkers")
        )),
        "{err}"
    );
    assert!(
        l[0].contains("[www] pm.max_children 80") && l[0].contains("Use about 160"),
        "{err}"
    );
    // 150 workers are within 2× 80.
    let (_d, conf) = tree(mpm, &format!("{}{handler}", sizing(mpm, 150)));
    assert!(!configtest(&conf, &host).contains("MPMD-L002"));
}

/// A child that needs more descriptors than RLIMIT_NOFILE.
fn above_the_fd_limit(mpm: &str) {
    let host = FakeHost::new(64 * GIB, 4, 256);
    let body = if mpm == "prefork" {
        "MaxRequestWorkers 50\n".to_string()
    } else {
        "ThreadLimit 200\nThreadsPerChild 200\nServerLimit 2\nMaxRequestWorkers 400\n".to_string()
    };
    let (_d, conf) = tree(mpm, &body);
    let err = configtest(&conf, &host);
    if mpm == "prefork" {
        // One connection per child: prefork cannot run out of descriptors this way.
        assert!(!err.contains("MPMD-L003"), "{err}");
    } else {
        let want = format!(
            "MPMD-L003: WARNING: {}:{}:",
            conf.display(),
            line_of(&conf, "ThreadsPerChild")
        );
        assert!(
            lints(&err)
                .iter()
                .any(|l| l.starts_with(&want) && l.contains("limit is 256")),
            "{err}"
        );
        let roomy = FakeHost::new(64 * GIB, 4, 8192);
        assert!(!configtest(&conf, &roomy).contains("MPMD-L003"));
    }
}

fn server_limit_times_threads_below_workers(mpm: &str) {
    let host = FakeHost::new(8 * GIB, 4, 65536);
    let (_d, conf) = tree(mpm, "ServerLimit 2\nMaxRequestWorkers 100\n");
    let err = configtest(&conf, &host);
    let want = format!(
        "MPMD-L004: WARNING: {}:{}: ServerLimit 2 × ThreadsPerChild",
        conf.display(),
        line_of(&conf, "MaxRequestWorkers")
    );
    assert!(lints(&err).iter().any(|l| l.starts_with(&want)), "{err}");
    let (_d, conf) = tree(mpm, &sizing(mpm, 100));
    assert!(!configtest(&conf, &host).contains("MPMD-L004"));
}

fn async_factor_one(mpm: &str) {
    let host = FakeHost::new(8 * GIB, 4, 65536);
    let (_d, conf) = tree(
        mpm,
        "<IfModule mpm_event_module>\n  AsyncRequestWorkerFactor 1\n</IfModule>\n",
    );
    let err = configtest(&conf, &host);
    let hit = lints(&err).iter().any(|l| {
        l.starts_with(&format!(
            "MPMD-L005: WARNING: {}:{}:",
            conf.display(),
            line_of(&conf, "AsyncRequestWorkerFactor")
        ))
    });
    // Only event has the factor (the others do not read the section).
    assert_eq!(hit, mpm == "event", "{err}");
}

fn long_keepalive_timeout(mpm: &str) {
    let host = FakeHost::new(8 * GIB, 4, 65536);
    let (_d, conf) = tree(mpm, "KeepAlive On\nKeepAliveTimeout 15\n");
    let err = configtest(&conf, &host);
    let hit = lints(&err).iter().any(|l| {
        l.starts_with(&format!(
            "MPMD-L006: WARNING: {}:{}: KeepAliveTimeout 15",
            conf.display(),
            line_of(&conf, "KeepAliveTimeout")
        ))
    });
    assert_eq!(hit, mpm != "event", "{err}");
    let (_d, conf) = tree(mpm, "KeepAliveTimeout 5\n");
    assert!(!configtest(&conf, &host).contains("MPMD-L006"));
}

fn h2_under_prefork(mpm: &str) {
    let host = FakeHost::new(8 * GIB, 4, 65536);
    let (_d, conf) = tree(
        mpm,
        "<VirtualHost *:1>\n  Protocols h2 http/1.1\n</VirtualHost>\n",
    );
    let err = configtest(&conf, &host);
    let hit = lints(&err).iter().any(|l| {
        l.starts_with(&format!(
            "MPMD-L007: WARNING: {}:{}:",
            conf.display(),
            line_of(&conf, "Protocols")
        ))
    });
    assert_eq!(hit, mpm == "prefork", "{err}");
}

/// Debian's MaxRequestWorkers 150 on a 64-CPU, 256 GB host; not on a small one.
fn distro_default_on_a_large_host(mpm: &str) {
    let (_d, conf) = tree(mpm, &sizing(mpm, 150));
    let big = FakeHost::new(256 * GIB, 64, 65536);
    let err = configtest(&conf, &big);
    let want = format!(
        "MPMD-L008: WARNING: {}:{}: MaxRequestWorkers 150 is a distribution default",
        conf.display(),
        line_of(&conf, "MaxRequestWorkers")
    );
    assert!(lints(&err).iter().any(|l| l.starts_with(&want)), "{err}");
    let small = FakeHost::new(4 * GIB, 2, 65536);
    assert!(!configtest(&conf, &small).contains("MPMD-L008"));
    // A chosen number is not a default.
    let (_d, conf) = tree(mpm, &sizing(mpm, 1000));
    assert!(!configtest(&conf, &big).contains("MPMD-L008"));
}

/// A sensible config says nothing, and MPMD_LINT=off silences the lint.
fn clean_config_has_no_lint(mpm: &str) {
    let host = FakeHost::new(256 * GIB, 64, 256);
    let (_d, conf) = tree(mpm, &format!("{}KeepAliveTimeout 15\n", sizing(mpm, 150)));
    let err = configtest(&conf, &host);
    assert!(!lints(&err).is_empty(), "{err}");
    let out = Command::new(common::BIN)
        .args(["-t", "-f"])
        .arg(&conf)
        .env("MPMD_LINT", "off")
        .envs(host.env())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("MPMD-L"));
    let fine = FakeHost::new(8 * GIB, 4, 65536);
    let (_d, conf) = tree(mpm, &sizing(mpm, 200));
    let err = configtest(&conf, &fine);
    assert!(lints(&err).is_empty(), "{err}");
}

mpm_tests!(
    ram_above_what_the_host_allows,
    above_twice_the_fpm_pool,
    above_the_fd_limit,
    server_limit_times_threads_below_workers,
    async_factor_one,
    long_keepalive_timeout,
    h2_under_prefork,
    distro_default_on_a_large_host,
    clean_config_has_no_lint,
);
