//! Virtual host selection (httpd's `vhost.c`): first by the address the connection came in on
//! (an exact IP beats `*`, `_default_` catches the rest), then by name among the vhosts of
//! that address (ServerName, then ServerAlias with wildcards); the first vhost of the
//! address is the default. Without a matching address the main server answers.

use std::net::SocketAddr;

use crate::config::{ServerConf, ServerConfig, VhostAddr};

fn addr_matches(a: &VhostAddr, local: &SocketAddr, exact_ip: bool) -> bool {
    let port_ok = a.port.map_or(true, |p| p == local.port());
    if !port_ok {
        return false;
    }
    match a.ip {
        Some(ip) => {
            exact_ip && (ip == local.ip() || ip.to_canonical() == local.ip().to_canonical())
        }
        None => !exact_ip && !a.is_default,
    }
}

/// The vhosts (indices into `config.vhosts`) bound to the connection's address.
fn candidates<'c>(
    config: &'c ServerConfig,
    local: &SocketAddr,
) -> impl Iterator<Item = usize> + 'c {
    let local = *local;
    // httpd's order: the vhosts on the exact address, else those on `*` (or `_default_`
    // matching the port), else `_default_` ones; no list is built (this runs per request).
    let tier_of = move |i: usize| -> u8 {
        let addrs = &config.vhosts[i].addrs;
        if addrs.iter().any(|a| addr_matches(a, &local, true)) {
            0
        } else if addrs.iter().any(|a| addr_matches(a, &local, false)) {
            1
        } else if addrs
            .iter()
            .any(|a| a.is_default && a.port.map_or(true, |p| p == local.port()))
        {
            2
        } else {
            3
        }
    };
    let best = (0..config.vhosts.len()).map(tier_of).min().unwrap_or(3);
    (0..config.vhosts.len()).filter(move |&i| best < 3 && tier_of(i) == best)
}

/// Shell-style wildcard match (`*` and `?`), case-insensitive.
pub fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (usize::MAX, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p].eq_ignore_ascii_case(&text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = p;
            mark = t;
            p += 1;
        } else if star != usize::MAX {
            p = star + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// The host a ServerName or ServerAlias names: without `scheme://`, `:port` and a trailing
/// dot (`https://www.example.com:8443` → `www.example.com`; `[::1]:80` → `[::1]`).
fn name_host(n: &str) -> &str {
    let n = n.split_once("://").map_or(n, |(_, rest)| rest);
    let n = n
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(n, |(h, _)| h);
    n.trim_end_matches('.')
}

/// `host` is lowercase; the names are compared without allocating (a ServerAlias pattern
/// with capitals, rare, is lowercased first).
fn name_matches(s: &ServerConf, host: &str) -> bool {
    if let Some(name) = &s.server_name {
        if name_host(name).eq_ignore_ascii_case(host) {
            return true;
        }
    }
    s.server_aliases.iter().any(|a| {
        let a = name_host(a);
        if a.bytes().any(|b| b.is_ascii_uppercase()) {
            wildcard_match(a.to_ascii_lowercase().as_bytes(), host.as_bytes())
        } else {
            wildcard_match(a.as_bytes(), host.as_bytes())
        }
    })
}

/// Picks the server for a request: `(index, conf)` where index 0 is the main server and
/// `i + 1` is `config.vhosts[i]`.
pub fn select<'c>(
    config: &'c ServerConfig,
    local: &SocketAddr,
    host: Option<&str>,
) -> (usize, &'c ServerConf) {
    let mut first = None;
    for i in candidates(config, local) {
        if first.is_none() {
            first = Some(i);
            if host.is_none() {
                break;
            }
        }
        if let Some(h) = host {
            if name_matches(&config.vhosts[i], h) {
                return (i + 1, &config.vhosts[i]);
            }
        }
    }
    match first {
        Some(i) => (i + 1, &config.vhosts[i]),
        None => (0, &config.main),
    }
}

/// The server whose limits apply before the Host header is known: the default for the address.
pub fn default_for<'c>(config: &'c ServerConfig, local: &SocketAddr) -> &'c ServerConf {
    select(config, local, None).1
}

/// Splits and validates a Host value: lowercase name without a trailing dot, and the port.
/// `Err` for what httpd answers with 400.
#[derive(Debug, PartialEq, Eq)]
pub struct BadHost;

pub fn parse_host(v: &[u8]) -> Result<(String, Option<u16>), BadHost> {
    let s = std::str::from_utf8(v).map_err(|_| BadHost)?;
    if s.is_empty() {
        return Ok((String::new(), None));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(BadHost)?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(BadHost),
        };
        (&s[..end + 2], port)
    } else {
        // Byte searches: ':' and '.' are ASCII, so the splits stay on char boundaries.
        match memchr::memrchr(b':', s.as_bytes()) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let port = match port {
        Some("") => None,
        Some(p) => {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BadHost);
            }
            Some(p.parse::<u16>().map_err(|_| BadHost)?)
        }
        None => None,
    };
    if host.starts_with('[') {
        return Ok((host.to_ascii_lowercase(), port));
    }
    // httpd's fix_hostname: letters, digits, '-', '.', '_'; no ".." and not only dots.
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(BadHost);
    }
    // A pair scan: memmem would build a searcher for every request.
    if host.as_bytes().windows(2).any(|w| w == b"..") {
        return Err(BadHost);
    }
    let host = host.trim_end_matches('.');
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_hosts() {
        assert_eq!(name_host("www.example.com"), "www.example.com");
        assert_eq!(name_host("www.example.com.:8080"), "www.example.com");
        assert_eq!(name_host("https://c.test"), "c.test");
        assert_eq!(name_host("http://d.test:81"), "d.test");
        assert_eq!(name_host("[::1]:80"), "[::1]");
        assert_eq!(name_host("[::1]"), "[::1]");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.other.test", b"a.other.test"));
        assert!(!wildcard_match(b"*.other.test", b"other.test"));
        assert!(wildcard_match(b"ex?mple", b"EXAMPLE"));
    }

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host(b"WWW.Example.test."),
            Ok(("www.example.test".into(), None))
        );
        assert_eq!(parse_host(b"h:8080"), Ok(("h".into(), Some(8080))));
        assert_eq!(parse_host(b"h:abc"), Err(BadHost));
        assert_eq!(parse_host(b"[::1]:80"), Ok(("[::1]".into(), Some(80))));
        assert_eq!(parse_host(b"a b"), Err(BadHost));
    }
}
