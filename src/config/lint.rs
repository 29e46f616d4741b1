//! The MPM lint: sizing mistakes that load fine but hurt in production (too many workers for
//! the RAM, for the PHP-FPM pool behind them or for the file descriptor limit; settings that
//! undo what the chosen MPM is for). Warnings only, each with a stable `MPMD-Lnnn` id and the
//! file:line of the directive; `-t` still says `Syntax OK`.
//!
//! The host side (meminfo, cgroups, /proc/PID/…, php-fpm pool files) is read here too, from
//! roots that tests and `mpmctl advise --proc-root/--sys-root` can point at small fake trees.

use std::path::{Path, PathBuf};

use crate::conf::{Node, Span};

use super::{MpmKind, ServerConfig};

pub const MIB: u64 = 1024 * 1024;
/// Share of usable memory kept for the kernel, page cache and other services.
pub const OS_RESERVE_PERCENT: u64 = 20;
/// …but never less than this.
pub const OS_RESERVE_MIN: u64 = 512 * MIB;
/// Child sizes used when no running server can be measured. mpmd's own children are a few
/// MiB (docs/sizing.md has the figures); these leave room for buffers under load.
pub const EST_PREFORK_CHILD: u64 = 8 * MIB;
pub const EST_THREADED_CHILD_BASE: u64 = 8 * MIB;
pub const EST_PER_THREAD: u64 = 512 * 1024;
/// Descriptors a child holds besides its connections (listeners, logs, pipes, scoreboard).
pub const FD_OVERHEAD: u64 = 64;
/// Workers per PHP-FPM child beyond which requests only queue in front of the pool.
pub const FPM_FACTOR: u64 = 2;
/// A KeepAliveTimeout above this pins a worker per idle client under worker/prefork.
pub const LONG_KEEPALIVE_SECS: u64 = 5;
/// MaxRequestWorkers values that come from a distribution or the compiled-in defaults.
pub const DISTRO_DEFAULTS: [i64; 3] = [150, 256, 400];

/// Where host figures are read from. `proc_root` stands for `/proc`, `sys_root` for `/sys`.
#[derive(Clone, Debug)]
pub struct HostRoots {
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    /// php-fpm pool files (files, directories or globs) searched before the Debian default
    /// `/etc/php/*/fpm/pool.d/*.conf`.
    pub fpm_conf: Vec<String>,
    /// Replaces the Debian default glob (tests); `None` = the default.
    pub fpm_default_glob: Option<String>,
}

impl Default for HostRoots {
    fn default() -> Self {
        HostRoots {
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
            fpm_conf: Vec::new(),
            fpm_default_glob: None,
        }
    }
}

impl HostRoots {
    /// The roots from `MPMD_PROC_ROOT`, `MPMD_SYS_ROOT`, `MPMD_FPM_CONF` (colon-separated)
    /// and `MPMD_FPM_DEFAULT` (the default glob; empty = none).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> HostRoots {
        let mut r = HostRoots::default();
        if let Some(p) = get("MPMD_PROC_ROOT").filter(|s| !s.is_empty()) {
            r.proc_root = PathBuf::from(p);
        }
        if let Some(p) = get("MPMD_SYS_ROOT").filter(|s| !s.is_empty()) {
            r.sys_root = PathBuf::from(p);
        }
        if let Some(p) = get("MPMD_FPM_CONF") {
            r.fpm_conf = p
                .split(':')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        r.fpm_default_glob = get("MPMD_FPM_DEFAULT");
        r
    }

    pub fn from_env() -> HostRoots {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.proc_root.join(rel)).ok()
    }

    /// `MemTotal` in bytes.
    pub fn mem_total(&self) -> Option<u64> {
        let text = self.read("meminfo")?;
        kib_field(&text, "MemTotal:")
    }

    /// CPUs online: `processor` lines of cpuinfo.
    pub fn cpus(&self) -> Option<u32> {
        let text = self.read("cpuinfo")?;
        let n = text.lines().filter(|l| l.starts_with("processor")).count() as u32;
        (n > 0).then_some(n)
    }

    /// The cgroup limits of `pid` (`self` for this process): v2 `memory.max`/`cpu.max`,
    /// else v1 `memory.limit_in_bytes` / `cpu.cfs_quota_us`.
    pub fn cgroup(&self, pid: &str) -> CgroupLimits {
        let mut out = CgroupLimits::default();
        let Some(text) = self.read(&format!("{pid}/cgroup")) else {
            return out;
        };
        let base = self.sys_root.join("fs/cgroup");
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            if id == "0" && ctrls.is_empty() {
                // v2: the limits of this group and of every parent apply; take the smallest.
                let mut dir = base.join(rel);
                loop {
                    if let Some(m) = read_trim(&dir.join("memory.max")).and_then(|s| s.parse().ok())
                    {
                        out.memory_max = Some(out.memory_max.map_or(m, |o: u64| o.min(m)));
                        out.version = Some(2);
                    }
                    if let Some(c) = read_trim(&dir.join("cpu.max")).and_then(|s| parse_cpu_max(&s))
                    {
                        out.cpu_quota = Some(out.cpu_quota.map_or(c, |o: f64| o.min(c)));
                        out.version = Some(2);
                    }
                    if dir == base || !dir.starts_with(&base) || !dir.pop() {
                        break;
                    }
                }
            } else {
                for ctrl in ctrls.split(',') {
                    let dir = base.join(ctrl).join(rel);
                    match ctrl {
                        "memory" => {
                            // v1 reports "no limit" as a huge page-aligned number.
                            if let Some(m) = read_trim(&dir.join("memory.limit_in_bytes"))
                                .and_then(|s| s.parse::<u64>().ok())
                                .filter(|&m| m < (1 << 60))
                            {
                                out.memory_max = Some(out.memory_max.map_or(m, |o| o.min(m)));
                                out.version.get_or_insert(1);
                            }
                        }
                        "cpu" => {
                            let q = read_trim(&dir.join("cpu.cfs_quota_us"))
                                .and_then(|s| s.parse::<i64>().ok());
                            let p = read_trim(&dir.join("cpu.cfs_period_us"))
                                .and_then(|s| s.parse::<i64>().ok());
                            if let (Some(q), Some(p)) = (q, p) {
                                if q > 0 && p > 0 {
                                    out.cpu_quota = Some(q as f64 / p as f64);
                                    out.version.get_or_insert(1);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// The soft `Max open files` of `pid` (`self` for this process).
    pub fn nofile(&self, pid: &str) -> Option<u64> {
        let text = self.read(&format!("{pid}/limits"))?;
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        let soft = line["Max open files".len()..].split_whitespace().next()?;
        if soft == "unlimited" {
            Some(u64::MAX)
        } else {
            soft.parse().ok()
        }
    }

    /// (Pss, Rss) of `pid` in bytes, from smaps_rollup (or summed from smaps).
    pub fn memory(&self, pid: i32) -> Option<ProcMemory> {
        let text = self
            .read(&format!("{pid}/smaps_rollup"))
            .or_else(|| self.read(&format!("{pid}/smaps")))?;
        let sum = |key: &str| -> Option<u64> {
            let v: Vec<u64> = text.lines().filter_map(|l| kib_field(l, key)).collect();
            (!v.is_empty()).then(|| v.iter().sum())
        };
        Some(ProcMemory {
            pss: sum("Pss:")?,
            rss: sum("Rss:")?,
            threads: self.threads(pid),
        })
    }

    fn threads(&self, pid: i32) -> u32 {
        self.read(&format!("{pid}/status"))
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(1)
    }

    /// The pids whose parent is `ppid` (a scan of `*/stat`).
    pub fn children(&self, ppid: i32) -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir(&self.proc_root) else {
            return Vec::new();
        };
        let mut out: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| self.ppid(*pid) == Some(ppid))
            .collect();
        out.sort_unstable();
        out
    }

    pub fn ppid(&self, pid: i32) -> Option<i32> {
        let stat = self.read(&format!("{pid}/stat"))?;
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let rest = &stat[stat.rfind(')')? + 1..];
        rest.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn comm(&self, pid: i32) -> Option<String> {
        self.read(&format!("{pid}/comm"))
            .map(|s| s.trim().to_owned())
    }

    /// Pids whose `comm` starts with `prefix` (e.g. `php-fpm`).
    pub fn pids_named(&self, prefix: &str) -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir(&self.proc_root) else {
            return Vec::new();
        };
        let mut out: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| self.comm(*pid).is_some_and(|c| c.starts_with(prefix)))
            .collect();
        out.sort_unstable();
        out
    }

    /// The pool files to search: the extra ones first, then the default glob.
    pub fn fpm_pool_files(&self) -> Vec<PathBuf> {
        let mut pats: Vec<String> = Vec::new();
        for p in &self.fpm_conf {
            if Path::new(p).is_dir() {
                pats.push(format!("{}/*.conf", p.trim_end_matches('/')));
            } else {
                pats.push(p.clone());
            }
        }
        match &self.fpm_default_glob {
            Some(g) if g.is_empty() => {}
            Some(g) => pats.push(g.clone()),
            None => pats.push("/etc/php/*/fpm/pool.d/*.conf".to_owned()),
        }
        let mut out = Vec::new();
        for pat in pats {
            if let Ok(paths) = glob::glob(&pat) {
                for p in paths.flatten() {
                    if p.is_file() && !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// The pools of every pool file found.
    pub fn fpm_pools(&self) -> Vec<FpmPool> {
        self.fpm_pool_files()
            .iter()
            .flat_map(|f| match std::fs::read_to_string(f) {
                Ok(text) => parse_fpm_pools(&text, f),
                Err(_) => Vec::new(),
            })
            .collect()
    }
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// `max 100000` → None (no limit); `200000 100000` → 2.0 CPUs.
fn parse_cpu_max(s: &str) -> Option<f64> {
    let mut it = s.split_whitespace();
    let quota = it.next()?;
    let period: f64 = it.next().and_then(|p| p.parse().ok()).unwrap_or(100_000.0);
    let q: f64 = quota.parse().ok()?;
    (period > 0.0).then(|| q / period)
}

/// `Key:   1234 kB` → bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.split_whitespace().next()?;
        v.parse::<u64>().ok().map(|k| k * 1024)
    })
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CgroupLimits {
    pub memory_max: Option<u64>,
    /// CPUs' worth of quota (cpu.max quota / period).
    pub cpu_quota: Option<f64>,
    pub version: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcMemory {
    pub pss: u64,
    pub rss: u64,
    pub threads: u32,
}

/// One php-fpm pool: `[name]` with its `listen` and `pm.max_children`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpmPool {
    pub name: String,
    pub listen: String,
    pub max_children: Option<u64>,
    pub file: PathBuf,
}

/// Reads the pools of one php-fpm ini file (`;` comments, `$pool` in values).
pub fn parse_fpm_pools(text: &str, file: &Path) -> Vec<FpmPool> {
    let mut out: Vec<FpmPool> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(FpmPool {
                name: name.trim().to_owned(),
                listen: String::new(),
                max_children: None,
                file: file.to_owned(),
            });
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let Some(pool) = out.last_mut() else {
            continue;
        };
        let v = v.split(" ;").next().unwrap_or(v).trim().trim_matches('"');
        let v = v.replace("$pool", &pool.name);
        match k.trim() {
            "listen" => pool.listen = v,
            "pm.max_children" => pool.max_children = v.parse().ok(),
            _ => {}
        }
    }
    out.retain(|p| p.name != "global" && !p.listen.is_empty());
    out
}

/// Where the server talks FastCGI: a Unix socket or a TCP address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FcgiTarget {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl FcgiTarget {
    /// Does a pool's `listen = …` value name this target?
    pub fn matches_listen(&self, listen: &str) -> bool {
        match self {
            FcgiTarget::Unix(p) => {
                listen.starts_with('/') && normalize(Path::new(listen)) == normalize(p)
            }
            FcgiTarget::Tcp { host, port } => {
                if listen.starts_with('/') {
                    return false;
                }
                let (lh, lp) = match listen.rsplit_once(':') {
                    Some((h, p)) => (h.trim_matches(['[', ']']), p),
                    None => ("", listen),
                };
                let Ok(lp) = lp.parse::<u16>() else {
                    return false;
                };
                let any = matches!(lh, "" | "0.0.0.0" | "::" | "*");
                let local = |h: &str| matches!(h, "127.0.0.1" | "localhost" | "::1");
                lp == *port && (any || lh == host || (local(lh) && local(host)))
            }
        }
    }
}

impl std::fmt::Display for FcgiTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FcgiTarget::Unix(p) => write!(f, "unix:{}", p.display()),
            FcgiTarget::Tcp { host, port } => write!(f, "fcgi://{host}:{port}"),
        }
    }
}

fn normalize(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

/// A `ProxyPass`/`BalancerMember` backend with its `max=` (connections per child).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyBackend {
    pub url: String,
    pub max: Option<u64>,
    pub span: Span,
}

/// What the lint and the advisor need from the expanded config tree, with locations.
#[derive(Clone, Debug, Default)]
pub struct ConfigFacts {
    /// Last occurrence of each MPM/keep-alive directive: (name as written, value, where).
    pub directives: Vec<(String, String, Span)>,
    /// FastCGI targets (SetHandler proxy:…, ProxyPass …fcgi://) and where they are named.
    pub fcgi: Vec<(FcgiTarget, Span)>,
    pub backends: Vec<ProxyBackend>,
    /// `Protocols` lines that offer h2 or h2c.
    pub h2: Vec<Span>,
    /// The `LoadModule mpm_*` line.
    pub mpm_load: Option<Span>,
}

const TRACKED: [&str; 12] = [
    "MaxRequestWorkers",
    "MaxClients",
    "ServerLimit",
    "ThreadsPerChild",
    "ThreadLimit",
    "AsyncRequestWorkerFactor",
    "KeepAliveTimeout",
    "KeepAlive",
    "StartServers",
    "MinSpareThreads",
    "MaxSpareThreads",
    "MaxConnectionsPerChild",
];

impl ConfigFacts {
    /// Walks every section of the expanded tree (If* sections are already resolved).
    pub fn from_nodes(nodes: &[Node]) -> ConfigFacts {
        let mut f = ConfigFacts::default();
        f.walk(nodes, false);
        f
    }

    fn walk(&mut self, nodes: &[Node], in_vhost: bool) {
        for n in nodes {
            let name = n.name.to_ascii_lowercase();
            if let Some(kids) = &n.block {
                let vhost = in_vhost || name == "virtualhost";
                self.walk(kids, vhost);
                continue;
            }
            match name.as_str() {
                "loadmodule" => {
                    if n.args.first().is_some_and(|m| m.starts_with("mpm_")) {
                        self.mpm_load = Some(n.span.clone());
                    }
                }
                "sethandler" | "addhandler" => {
                    if let Some(t) = n.args.first().and_then(|h| h.strip_prefix("proxy:")) {
                        if let Some(t) = fcgi_target(t) {
                            self.fcgi.push((t, n.span.clone()));
                        }
                    }
                }
                "proxypass" | "proxypassmatch" | "balancermember" => {
                    // ProxyPass [path] url [k=v…]; inside <Location> the path is omitted.
                    let url_at = n
                        .args
                        .iter()
                        .position(|a| a.contains("://") || a.starts_with("unix:"));
                    if let Some(i) = url_at {
                        let url = &n.args[i];
                        if let Some(t) = fcgi_target(url) {
                            self.fcgi.push((t, n.span.clone()));
                        } else {
                            let max = n.args[i + 1..].iter().find_map(|kv| {
                                let (k, v) = kv.split_once('=')?;
                                k.eq_ignore_ascii_case("max").then(|| v.parse().ok())?
                            });
                            self.backends.push(ProxyBackend {
                                url: url.clone(),
                                max,
                                span: n.span.clone(),
                            });
                        }
                    }
                }
                "protocols" => {
                    if n.args
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case("h2") || a.eq_ignore_ascii_case("h2c"))
                    {
                        self.h2.push(n.span.clone());
                    }
                }
                _ => {
                    // Per-vhost KeepAliveTimeout is rare; the server-wide value is the one
                    // that sizes the MPM.
                    if in_vhost {
                        continue;
                    }
                    if let Some(t) = TRACKED.iter().find(|t| t.eq_ignore_ascii_case(&n.name)) {
                        let v = n.args.first().cloned().unwrap_or_default();
                        let key = if *t == "MaxClients" {
                            "MaxRequestWorkers"
                        } else {
                            t
                        };
                        self.directives.retain(|(k, _, _)| k != key);
                        self.directives.push((key.to_owned(), v, n.span.clone()));
                    }
                }
            }
        }
    }

    /// Where `name` was last written, with its value.
    pub fn get(&self, name: &str) -> Option<(&str, &Span)> {
        self.directives
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v, s)| (v.as_str(), s))
    }
}

/// `unix:/run/php/x.sock|fcgi://localhost/…` or `fcgi://127.0.0.1:9000/…` → the target.
pub fn fcgi_target(url: &str) -> Option<FcgiTarget> {
    let url = url.trim_matches('"');
    if let Some(rest) = url.strip_prefix("unix:") {
        let (path, scheme) = rest.split_once('|')?;
        if !scheme.to_ascii_lowercase().starts_with("fcgi://") {
            return None;
        }
        return Some(FcgiTarget::Unix(PathBuf::from(path)));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("fcgi://")?;
    let hostport = rest.split('/').next()?;
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.trim_matches(['[', ']']).to_owned(), p.parse().ok()?),
        None => (hostport.to_owned(), 9000),
    };
    Some(FcgiTarget::Tcp { host, port })
}

/// The FPM pools the config sends FastCGI to: (target, where it is named, pool if found).
pub fn fpm_links(
    facts: &ConfigFacts,
    pools: &[FpmPool],
) -> Vec<(FcgiTarget, Span, Option<FpmPool>)> {
    let mut out: Vec<(FcgiTarget, Span, Option<FpmPool>)> = Vec::new();
    for (t, span) in &facts.fcgi {
        if out.iter().any(|(o, _, _)| o == t) {
            continue;
        }
        let pool = pools.iter().find(|p| t.matches_listen(&p.listen)).cloned();
        out.push((t.clone(), span.clone(), pool));
    }
    out
}

/// Host figures the lint uses; `None` = unknown (the rule is skipped).
#[derive(Clone, Debug, Default)]
pub struct LintHost {
    pub mem_total: Option<u64>,
    pub cgroup_memory: Option<u64>,
    pub cpus: Option<f64>,
    pub nofile: Option<u64>,
    /// Measured Pss of a running server's children (mean) and threads per child.
    pub child_pss: Option<u64>,
    pub parent_pss: Option<u64>,
    pub pools: Vec<FpmPool>,
}

impl LintHost {
    /// Reads the host through `roots`, measuring the running server named by `pid_file` if
    /// there is one. `MPMD_CHILD_SIZE` (bytes) sets the child size outright.
    pub fn probe(roots: &HostRoots, pid_file: Option<&Path>) -> LintHost {
        let cg = roots.cgroup("self");
        let cpus = match (roots.cpus(), cg.cpu_quota) {
            (Some(n), Some(q)) => Some(q.min(n as f64)),
            (Some(n), None) => Some(n as f64),
            (None, q) => q,
        };
        let mut h = LintHost {
            mem_total: roots.mem_total(),
            cgroup_memory: cg.memory_max,
            cpus,
            nofile: roots.nofile("self"),
            pools: roots.fpm_pools(),
            ..Default::default()
        };
        if let Some(pid) = pid_file
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            if roots.comm(pid).is_some_and(|c| c.starts_with("mpmd")) {
                let kids: Vec<u64> = roots
                    .children(pid)
                    .into_iter()
                    .filter_map(|c| roots.memory(c).map(|m| m.pss))
                    .collect();
                if !kids.is_empty() {
                    h.child_pss = Some(kids.iter().sum::<u64>() / kids.len() as u64);
                }
                h.parent_pss = roots.memory(pid).map(|m| m.pss);
            }
        }
        if let Some(size) = std::env::var("MPMD_CHILD_SIZE")
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            h.child_pss = Some(size);
        }
        h
    }

    /// Memory the server may use: the smaller of MemTotal and the cgroup limit, less the OS
    /// reserve.
    pub fn usable_memory(&self) -> Option<u64> {
        let total = match (self.mem_total, self.cgroup_memory) {
            (Some(m), Some(c)) => m.min(c),
            (m, c) => m.or(c)?,
        };
        Some(total.saturating_sub(reserve(total)))
    }
}

/// What the OS and caches keep: 20 %, at least 512 MiB (but never all of it).
pub fn reserve(total: u64) -> u64 {
    (total * OS_RESERVE_PERCENT / 100)
        .max(OS_RESERVE_MIN)
        .min(total / 2)
}

/// Memory one worker (a prefork child, or a thread with its share of its child) costs.
pub fn per_worker_bytes(kind: MpmKind, tpc: u64, child: Option<u64>) -> (u64, bool) {
    match (kind.is_threaded(), child) {
        (false, Some(c)) => (c, true),
        (false, None) => (EST_PREFORK_CHILD, false),
        (true, Some(c)) => (c.div_ceil(tpc.max(1)), true),
        (true, None) => (
            EST_THREADED_CHILD_BASE.div_ceil(tpc.max(1)) + EST_PER_THREAD,
            false,
        ),
    }
}

/// Descriptors one child needs at full load: two per connection it may hold (the client and
/// a file or backend), plus its fixed ones. event holds up to `(1 + factor) × threads`.
pub fn fds_per_child(kind: MpmKind, tpc: u64, factor: f64) -> u64 {
    let conns = match kind {
        MpmKind::Prefork => 1,
        MpmKind::Worker => tpc,
        MpmKind::Event => ((1.0 + factor.max(1.0)) * tpc as f64).ceil() as u64,
    };
    conns * 2 + FD_OVERHEAD
}

pub fn human(bytes: u64) -> String {
    if bytes >= 1024 * MIB {
        format!("{:.1} GiB", bytes as f64 / (1024 * MIB) as f64)
    } else if bytes >= MIB {
        format!("{:.0} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// One lint warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lint {
    pub id: &'static str,
    pub span: Option<Span>,
    pub message: String,
}

impl std::fmt::Display for Lint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.span {
            Some(s) => write!(
                f,
                "{}: WARNING: {}:{}: {}",
                self.id,
                s.file.display(),
                s.line,
                self.message
            ),
            None => write!(f, "{}: WARNING: {}", self.id, self.message),
        }
    }
}

fn int(facts: &ConfigFacts, name: &str) -> Option<(i64, Span)> {
    let (v, s) = facts.get(name)?;
    Some((v.trim().parse().ok()?, s.clone()))
}

/// The lint rules over a built config, its tree facts and the host. Pure: tests feed it
/// fake figures.
pub fn lint(cfg: &ServerConfig, facts: &ConfigFacts, host: &LintHost) -> Vec<Lint> {
    let kind = cfg.mpm;
    let m = &cfg.mpm_config;
    let mrw = u64::from(m.max_request_workers);
    let tpc = u64::from(m.threads_per_child.max(1));
    let mrw_at = facts.get("MaxRequestWorkers").map(|(_, s)| s.clone());
    let mrw_or_mpm = mrw_at.clone().or_else(|| facts.mpm_load.clone());
    let mut out = Vec::new();

    // L001: RAM. Only for a written MaxRequestWorkers: the compiled-in default is not a
    // choice the admin made, and small CI hosts would warn on every config.
    if let (Some(usable), Some(_)) = (host.usable_memory(), &mrw_at) {
        let (per, measured) = per_worker_bytes(kind, tpc, host.child_pss);
        let need = per * mrw;
        if need > usable {
            let fits = usable / per.max(1);
            let what = if kind.is_threaded() {
                format!("{} per thread (child of {tpc} threads)", human(per))
            } else {
                format!("{} per {} child", human(per), kind.name())
            };
            out.push(Lint {
                id: "MPMD-L001",
                span: mrw_or_mpm.clone(),
                message: format!(
                    "MaxRequestWorkers {mrw} at {what}, {how}, needs {} but the server has {} (memory less the reserve for the OS and caches); under full load the OOM killer steps in. About {fits} fit.",
                    human(need),
                    human(usable),
                    how = if measured { "measured" } else { "estimated" },
                ),
            });
        }
    }

    // L002: more workers than twice the PHP-FPM pools behind them.
    let links = fpm_links(facts, &host.pools);
    let pool_total: u64 = links
        .iter()
        .filter_map(|(_, _, p)| p.as_ref()?.max_children)
        .sum();
    if pool_total > 0 && mrw > FPM_FACTOR * pool_total {
        let names: Vec<String> = links
            .iter()
            .filter_map(|(_, _, p)| {
                let p = p.as_ref()?;
                Some(format!(
                    "[{}] pm.max_children {} ({})",
                    p.name,
                    p.max_children?,
                    p.file.display()
                ))
            })
            .collect();
        out.push(Lint {
            id: "MPMD-L002",
            span: mrw_or_mpm.clone(),
            message: format!(
                "MaxRequestWorkers {mrw} is above {FPM_FACTOR}× the PHP-FPM pool it proxies to ({}); the extra workers only queue for a PHP child until FastCGI times out (503). Use about {} or raise pm.max_children.",
                names.join(", "),
                FPM_FACTOR * pool_total
            ),
        });
    }

    // L003: descriptors per child.
    if let Some(nofile) = host.nofile {
        let need = fds_per_child(kind, tpc, m.async_request_worker_factor);
        if need > nofile {
            let span = if kind.is_threaded() {
                facts
                    .get("ThreadsPerChild")
                    .map(|(_, s)| s.clone())
                    .or(mrw_or_mpm.clone())
            } else {
                mrw_or_mpm.clone()
            };
            out.push(Lint {
                id: "MPMD-L003",
                span,
                message: format!(
                    "each {} child may need {need} file descriptors ({} connection(s) × 2 + {FD_OVERHEAD}) but the open-files limit is {nofile}; accept() will fail with EMFILE. Raise LimitNOFILE / ulimit -n or lower ThreadsPerChild.",
                    kind.name(),
                    (need - FD_OVERHEAD) / 2
                ),
            });
        }
    }

    // L004: ServerLimit × ThreadsPerChild below MaxRequestWorkers (as written).
    if let Some((w_mrw, span)) = int(facts, "MaxRequestWorkers") {
        let d = &cfg.mpm_directives;
        let sl = d
            .server_limit
            .unwrap_or(if kind.is_threaded() { 16 } else { 256 });
        let t = if kind.is_threaded() {
            d.threads_per_child.unwrap_or(25).max(1)
        } else {
            1
        };
        if sl.saturating_mul(t) < w_mrw {
            out.push(Lint {
                id: "MPMD-L004",
                span: Some(span),
                message: format!(
                    "ServerLimit {sl} × ThreadsPerChild {t} = {} is below MaxRequestWorkers {w_mrw}; only {} workers can run. Raise ServerLimit to {}.",
                    sl * t,
                    sl * t,
                    (w_mrw + t - 1) / t
                ),
            });
        }
    }

    // L005: AsyncRequestWorkerFactor 1 under event.
    if kind == MpmKind::Event {
        if let Some((v, span)) = facts.get("AsyncRequestWorkerFactor") {
            if v.trim().parse::<f64>().is_ok_and(|f| f <= 1.0) {
                out.push(Lint {
                    id: "MPMD-L005",
                    span: Some(span.clone()),
                    message: format!(
                        "AsyncRequestWorkerFactor {v} lets each event child hold no more connections than it has threads, which turns off what event is for (idle keep-alive connections without a thread). Use 2 (the default) or more."
                    ),
                });
            }
        }
    }

    // L006: long KeepAliveTimeout where an idle keep-alive client pins a worker.
    if kind != MpmKind::Event && cfg.main.keep_alive {
        let ka = cfg.main.keep_alive_timeout.as_secs();
        if ka > LONG_KEEPALIVE_SECS {
            out.push(Lint {
                id: "MPMD-L006",
                span: facts.get("KeepAliveTimeout").map(|(_, s)| s.clone()),
                message: format!(
                    "KeepAliveTimeout {ka} under {}: every idle keep-alive client holds a worker for up to {ka} s. Use {LONG_KEEPALIVE_SECS} or less, or the event MPM.",
                    kind.name()
                ),
            });
        }
    }

    // L007: h2 under prefork.
    if kind == MpmKind::Prefork {
        if let Some(span) = facts.h2.first() {
            out.push(Lint {
                id: "MPMD-L007",
                span: Some(span.clone()),
                message: "h2 is offered under prefork: one child serves one HTTP/2 connection with all its streams at a time, so a few browsers take every child. Use the event MPM for HTTP/2.".to_owned(),
            });
        }
    }

    // L008: a distro default left on a large host.
    let written = int(facts, "MaxRequestWorkers").map(|(v, _)| v);
    let is_default = match written {
        Some(v) => DISTRO_DEFAULTS.contains(&v),
        None => true,
    };
    if is_default {
        if let (Some(usable), Some(cpus)) = (host.usable_memory(), host.cpus) {
            let (per, _) = per_worker_bytes(kind, tpc, host.child_pss);
            let fits = usable / per.max(1);
            let big = cpus >= 8.0 || host.mem_total.unwrap_or(0) >= 32 * 1024 * MIB;
            if big && fits >= 4 * mrw {
                out.push(Lint {
                    id: "MPMD-L008",
                    span: mrw_or_mpm,
                    message: format!(
                        "MaxRequestWorkers {mrw} is a distribution default on a host with {cpus:.0} CPUs and {} usable for the server ({fits} workers fit); under load requests wait in the listen backlog while CPU and RAM idle. Run `mpmctl advise` for a size.",
                        human(usable)
                    ),
                });
            }
        }
    }
    out
}

/// The lint as startup warnings: reads the host from the environment's roots.
pub fn startup_lines(cfg: &ServerConfig, nodes: &[Node]) -> Vec<String> {
    if std::env::var("MPMD_LINT").is_ok_and(|v| v == "off") {
        return Vec::new();
    }
    let facts = ConfigFacts::from_nodes(nodes);
    let host = LintHost::probe(&HostRoots::from_env(), Some(&cfg.pid_file));
    lint(cfg, &facts, &host)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fpm_pool_files_are_read_with_pool_substitution_and_comments() {
        let text = "[global]\npid = /run/x.pid\n[www]\nlisten = /run/php/$pool.sock ; comment\n;pm.max_children = 99\npm.max_children = 12\n[api]\nlisten = 127.0.0.1:9001\npm.max_children = 4\n";
        let pools = parse_fpm_pools(text, Path::new("/x/www.conf"));
        assert_eq!(pools.len(), 2);
        assert_eq!(pools[0].listen, "/run/php/www.sock");
        assert_eq!(pools[0].max_children, Some(12));
        assert_eq!(pools[1].max_children, Some(4));
        assert!(fcgi_target("fcgi://localhost:9001/")
            .unwrap()
            .matches_listen(&pools[1].listen));
        assert!(!fcgi_target("fcgi://localhost:9002/")
            .unwrap()
            .matches_listen(&pools[1].listen));
    }

    #[test]
    fn fcgi_targets_from_handler_strings() {
        assert_eq!(
            fcgi_target("unix:/run/php/php8.2-fpm.sock|fcgi://localhost"),
            Some(FcgiTarget::Unix(PathBuf::from("/run/php/php8.2-fpm.sock")))
        );
        assert_eq!(
            fcgi_target("fcgi://127.0.0.1:9000/var/www/$1"),
            Some(FcgiTarget::Tcp {
                host: "127.0.0.1".into(),
                port: 9000
            })
        );
        assert_eq!(fcgi_target("http://backend:8080/"), None);
        assert_eq!(fcgi_target("unix:/s.sock|http://x/"), None);
    }

    #[test]
    fn cpu_max_and_reserve() {
        assert_eq!(parse_cpu_max("max 100000"), None);
        assert_eq!(parse_cpu_max("150000 100000"), Some(1.5));
        assert_eq!(reserve(16 * 1024 * MIB), 16 * 1024 * MIB / 5);
        assert_eq!(reserve(MIB * 1024), OS_RESERVE_MIN);
        assert_eq!(reserve(MIB * 100), MIB * 50);
    }

    #[test]
    fn fd_need_grows_with_event_factor() {
        assert_eq!(fds_per_child(MpmKind::Prefork, 1, 2.0), 66);
        assert_eq!(fds_per_child(MpmKind::Worker, 25, 2.0), 50 + 64);
        assert_eq!(fds_per_child(MpmKind::Event, 25, 2.0), 150 + 64);
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn cgroup_v2_takes_the_smallest_limit_up_the_tree_and_v1_is_a_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let roots = HostRoots {
            proc_root: d.join("proc"),
            sys_root: d.join("sys"),
            ..Default::default()
        };
        write(d, "proc/10/cgroup", "0::/system.slice/mpmd.service\n");
        write(d, "sys/fs/cgroup/system.slice/memory.max", "1073741824\n");
        write(
            d,
            "sys/fs/cgroup/system.slice/mpmd.service/memory.max",
            "max\n",
        );
        write(
            d,
            "sys/fs/cgroup/system.slice/mpmd.service/cpu.max",
            "50000 100000\n",
        );
        let cg = roots.cgroup("10");
        assert_eq!(cg.memory_max, Some(1 << 30));
        assert_eq!(cg.cpu_quota, Some(0.5));
        assert_eq!(cg.version, Some(2));

        write(
            d,
            "proc/11/cgroup",
            "5:memory:/web\n4:cpu,cpuacct:/web\n0::/\n",
        );
        write(
            d,
            "sys/fs/cgroup/memory/web/memory.limit_in_bytes",
            "2147483648\n",
        );
        write(d, "sys/fs/cgroup/cpu,cpuacct/web/cpu.cfs_quota_us", "-1\n");
        write(d, "sys/fs/cgroup/cpu/web/cpu.cfs_quota_us", "300000\n");
        write(d, "sys/fs/cgroup/cpu/web/cpu.cfs_period_us", "100000\n");
        let cg = roots.cgroup("11");
        assert_eq!(cg.memory_max, Some(2 << 30));
        assert_eq!(cg.cpu_quota, Some(3.0));
        assert_eq!(cg.version, Some(1));
        // v1 "unlimited" is a huge number, not a limit.
        write(
            d,
            "sys/fs/cgroup/memory/web/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(roots.cgroup("11").memory_max, None);
    }

    #[test]
    fn proc_readers_find_children_memory_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let roots = HostRoots {
            proc_root: d.join("proc"),
            ..Default::default()
        };
        write(
            d,
            "proc/meminfo",
            "MemTotal:       16384 kB\nMemFree: 1 kB\n",
        );
        write(d, "proc/20/stat", "20 (mpmd) S 1 20 20\n");
        write(d, "proc/21/stat", "21 (a (b) c) S 20 20 20\n");
        write(d, "proc/22/stat", "22 (x) S 3 1 1\n");
        write(
            d,
            "proc/21/smaps",
            "Rss: 100 kB\nPss: 40 kB\nRss: 50 kB\nPss: 10 kB\n",
        );
        write(d, "proc/21/status", "Name:\tmpmd\nThreads:\t26\n");
        write(
            d,
            "proc/20/limits",
            "Limit Soft Hard Units\nMax open files            1024                 4096                 files\n",
        );
        assert_eq!(roots.mem_total(), Some(16384 * 1024));
        assert_eq!(roots.children(20), vec![21]);
        assert_eq!(
            roots.memory(21),
            Some(ProcMemory {
                pss: 50 * 1024,
                rss: 150 * 1024,
                threads: 26
            })
        );
        assert_eq!(roots.nofile("20"), Some(1024));
        assert_eq!(roots.nofile("21"), None);
    }
}
