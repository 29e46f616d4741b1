//! The `-S`, `-M` and `-t -D DUMP_*` outputs, in httpd's formats (spec/signals.md §6).

use std::fmt::Write as _;

use super::registry;
use super::{ServerConf, ServerConfig, VhostAddr};

/// The name a server answers to: its ServerName, else the main server's, else the fallback
/// httpd computes from the host name (see `fallback_server_name`).
pub fn server_name(cfg: &ServerConfig, s: &ServerConf) -> String {
    s.server_name
        .clone()
        .or_else(|| cfg.main.server_name.clone())
        .map(|n| host_of_server_name(&n).to_string())
        .unwrap_or_else(|| fallback_server_name().0)
}

/// The host part of a ServerName (`https://www.example.com:8443` → `www.example.com`).
pub fn host_of_server_name(name: &str) -> &str {
    let rest = name.split_once("://").map(|(_, r)| r).unwrap_or(name);
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    rest.split(':').next().unwrap_or(rest)
}

/// The port a ServerName names (`www.example.com:8080` → 8080), and whether its scheme is
/// `https`: httpd's canonical port is that port, else the scheme's default.
pub fn port_of_server_name(name: &str) -> (Option<u16>, bool) {
    let (https, rest) = match name.split_once("://") {
        Some((scheme, r)) => (scheme.eq_ignore_ascii_case("https"), r),
        None => (false, name),
    };
    let after_host = match rest.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, r)| r),
        None => rest.find(':').map_or("", |i| &rest[i..]),
    };
    let port = after_host.strip_prefix(':').and_then(|p| p.parse().ok());
    (port, https)
}

/// httpd's `ap_get_local_host`: the host name if it resolves to a fully qualified name, else
/// the address it resolves to (`127.0.0.1`). The bool says whether httpd would warn (AH00558).
pub fn fallback_server_name() -> (String, bool) {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    if host.contains('.') {
        return (host, false);
    }
    use std::net::ToSocketAddrs;
    let ip = (host.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string());
    (ip, true)
}

/// AH00558, when the main server has no ServerName and the host name is not qualified.
pub fn server_name_warning(cfg: &ServerConfig, argv0: &str) -> Option<String> {
    if cfg.main.server_name.is_some() {
        return None;
    }
    let (name, warn) = fallback_server_name();
    warn.then(|| format!("AH00558: {argv0}: Could not reliably determine the server's fully qualified domain name, using {name}. Set the 'ServerName' directive globally to suppress this message"))
}

fn addr_key(a: &VhostAddr) -> String {
    let host = match a.ip {
        None => "*".to_string(),
        Some(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
        Some(ip) => ip.to_string(),
    };
    let port = a.port.map(|p| p.to_string()).unwrap_or_else(|| "*".into());
    format!("{host}:{port}")
}

fn origin(s: &ServerConf) -> String {
    match &s.span {
        Some(sp) => format!("({}:{})", sp.file.display(), sp.line),
        None => "(main)".into(),
    }
}

/// The vhosts sharing one address: (address text, has a specific IP, members with port).
type AddrGroup<'a> = (String, bool, Vec<(&'a ServerConf, String)>);

/// `-t -D DUMP_VHOSTS`.
pub fn vhosts(cfg: &ServerConfig) -> String {
    let mut out = String::from("VirtualHost configuration:\n");
    // Group by address, specific IPs first, then wildcards (httpd's two tables), each in
    // order of first appearance.
    let mut groups: Vec<AddrGroup<'_>> = Vec::new();
    for v in &cfg.vhosts {
        for a in &v.addrs {
            let key = addr_key(a);
            let port = a.port.map(|p| p.to_string()).unwrap_or_else(|| "*".into());
            match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some(g) => g.2.push((v, port)),
                None => groups.push((key, a.ip.is_some(), vec![(v, port)])),
            }
        }
    }
    let ordered = groups
        .iter()
        .filter(|g| g.1)
        .chain(groups.iter().filter(|g| !g.1));
    for (key, _, members) in ordered {
        if members.len() == 1 {
            let (v, _) = members[0];
            let _ = writeln!(out, "{key:<22} {} {}", server_name(cfg, v), origin(v));
            continue;
        }
        let _ = writeln!(out, "{key:<22} is a NameVirtualHost");
        let (first, _) = members[0];
        let _ = writeln!(
            out,
            "         default server {} {}",
            server_name(cfg, first),
            origin(first)
        );
        for (v, port) in members {
            let _ = writeln!(
                out,
                "         port {port} namevhost {} {}",
                server_name(cfg, v),
                origin(v)
            );
            for alias in &v.server_aliases {
                let wild = if alias.contains(['*', '?']) {
                    "wild "
                } else {
                    ""
                };
                let _ = writeln!(out, "                 {wild}alias {alias}");
            }
        }
    }
    out
}

fn user_line(label: &str, name: Option<&str>, group: bool) -> String {
    let Some(name) = name else {
        return format!("{label}: name=\"#-1\" id=4294967295\n");
    };
    let id = if let Some(n) = name.strip_prefix('#') {
        n.parse::<u32>().ok()
    } else if group {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    } else {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    };
    match id {
        Some(id) => format!("{label}: name=\"{name}\" id={id}\n"),
        None => format!("{label}: name=\"{name}\"\n"),
    }
}

/// `-t -D DUMP_RUN_CFG`.
pub fn run_cfg(cfg: &ServerConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ServerRoot: \"{}\"", cfg.server_root.display());
    let _ = writeln!(
        out,
        "Main DocumentRoot: \"{}\"",
        cfg.main.document_root.display()
    );
    let _ = writeln!(out, "Main ErrorLog: \"{}\"", cfg.main.error_log);
    let mut dir = cfg.default_runtime_dir.to_string_lossy().into_owned();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    let default_mech = cfg
        .mutexes
        .iter()
        .rev()
        .find(|(n, _)| n == "default")
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| "default".into());
    let mut names = vec!["watchdog-callback"];
    if !cfg.mpm.is_threaded() || cfg.mpm == super::MpmKind::Worker {
        names.push("mpm-accept");
    }
    for n in names {
        match cfg.mutexes.iter().rev().find(|(m, _)| m == n) {
            Some((_, mech)) => {
                let _ = writeln!(out, "Mutex {n}: dir=\"{dir}\" mechanism={mech} ");
            }
            None => {
                let _ = writeln!(out, "Mutex {n}: using_defaults");
            }
        }
    }
    // Debian's stock tree prints the default mutex after the named ones.
    let _ = writeln!(
        out,
        "Mutex default: dir=\"{dir}\" mechanism={default_mech} "
    );
    let _ = writeln!(out, "PidFile: \"{}\"", cfg.pid_file.display());
    // Only value-less names (-D, `Define NAME`); `Define NAME value` is a variable.
    for (name, _) in cfg.defines.iter().filter(|(_, v)| v.is_none()) {
        let _ = writeln!(out, "Define: {name}");
    }
    out.push_str(&user_line("User", cfg.user.as_deref(), false));
    out.push_str(&user_line("Group", cfg.group.as_deref(), true));
    out
}

/// `-M` / `-t -D DUMP_MODULES`.
pub fn modules(cfg: &ServerConfig) -> String {
    let mut out = String::from("Loaded Modules:\n");
    for name in &cfg.modules {
        let kind = match registry::module(name) {
            Some(m) if m.is_static => "static",
            _ => "shared",
        };
        let _ = writeln!(out, " {name}_module ({kind})");
    }
    out
}

/// `-t -D DUMP_INCLUDES`.
pub fn includes(cfg: &ServerConfig) -> String {
    cfg.include_dump.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_ports() {
        assert_eq!(port_of_server_name("www.example.com"), (None, false));
        assert_eq!(
            port_of_server_name("www.example.com:8080"),
            (Some(8080), false)
        );
        assert_eq!(port_of_server_name("https://www.example.com"), (None, true));
        assert_eq!(port_of_server_name("https://h:8443"), (Some(8443), true));
        assert_eq!(port_of_server_name("[::1]:81"), (Some(81), false));
        assert_eq!(port_of_server_name("[::1]"), (None, false));
    }

    #[test]
    fn server_name_hosts() {
        assert_eq!(host_of_server_name("www.example.com"), "www.example.com");
        assert_eq!(
            host_of_server_name("www.example.com:8080"),
            "www.example.com"
        );
        assert_eq!(host_of_server_name("https://x.example:8443"), "x.example");
        assert_eq!(host_of_server_name("[::1]:80"), "::1");
    }
}
