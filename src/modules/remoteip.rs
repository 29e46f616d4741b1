//! mod_remoteip's post-read-request hook: the client address named by `RemoteIPHeader`
//! replaces the connection's as the request's user agent address (httpd's `r->useragent_ip`;
//! the connection keeps its own, `c->client_ip`), the header keeps what was not trusted, and
//! `RemoteIPProxiesHeader` lists the trusted proxies the request came through.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::request::Request;
use crate::config::directives::remoteip::RemoteIpConf;

/// What the walk decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub struct Walk<'v> {
    /// The client address (port 0: the proxies do not tell it).
    pub useragent: SocketAddr,
    /// What stays in the header: the untrusted part, or `None` to remove it.
    pub remaining: Option<&'v str>,
    /// The trusted (not internal) proxies passed, nearest first: `RemoteIPProxiesHeader`.
    pub proxy_ips: String,
}

/// Runs before the URL is mapped: sets `req.useragent` and rewrites the headers.
pub fn post_read_request(req: &mut Request<'_>) {
    // The PROXY protocol's client takes precedence: the header is not looked at.
    if let Some(client) = req.proxied {
        tracing::trace!(
            "[client {client}] Using {} as client's IP from PROXY protocol",
            client.ip()
        );
        req.useragent = client;
        return;
    }
    let conf = &req.server.remoteip;
    let Some(name) = conf.header.as_deref() else {
        return;
    };
    // httpd merges repeated fields with ", " before modules see them.
    let value: Cow<'_, str> = {
        let mut vals = req.head.headers(name).map(|v| String::from_utf8_lossy(v));
        let Some(first) = vals.next() else {
            return;
        };
        match vals.next() {
            None => first,
            Some(second) => {
                let mut all = first.into_owned();
                for v in std::iter::once(second).chain(vals) {
                    all.push_str(", ");
                    all.push_str(&v);
                }
                Cow::Owned(all)
            }
        }
    };
    let Some(w) = walk(conf, &value, req.useragent) else {
        tracing::debug!(
            "{}: RemoteIP: header {name} gave no client address",
            req.peer
        );
        return;
    };
    tracing::trace!(
        "{}: RemoteIP: using {} as client's IP by proxies {}",
        req.peer,
        w.useragent.ip(),
        w.proxy_ips
    );
    req.useragent = w.useragent;
    let header = name.to_string();
    let proxies_header = conf.proxies_header.clone();
    req.headers_in_override
        .push((header, w.remaining.map(str::to_string)));
    if !w.proxy_ips.is_empty() {
        if let Some(h) = proxies_header {
            req.headers_in_override.push((h, Some(w.proxy_ips.clone())));
        }
        req.notes.push(("remoteip-proxy-ip-list", w.proxy_ips));
    }
}

/// httpd's walk, right to left through `value`, from the connection's address `peer`: each
/// hop whose sender is a trusted proxy (any sender when no proxy is listed) names the next
/// sender. It stops at an untrusted sender, an empty or unparsable element, or, unless every
/// sender so far was an internal proxy, a private address. `None` when nothing was taken.
pub fn walk<'v>(conf: &RemoteIpConf, value: &'v str, peer: SocketAddr) -> Option<Walk<'v>> {
    // With a proxy list, senders count as internal until a trusted-only one is passed (an
    // internal proxy may present an external one, not the other way round).
    let mut internal = !conf.proxies.is_empty();
    let mut ua = peer;
    let mut taken = false;
    let mut proxy_ips = String::new();
    let mut remote = Some(value);
    let mut remaining = None;
    while let Some(rem) = remote {
        if !conf.proxies.is_empty() {
            let ip = ua.ip().to_canonical();
            match conf.proxies.iter().find(|m| m.net.contains(ip)) {
                Some(m) => internal = internal && m.internal,
                None => {
                    remaining = Some(rem);
                    break;
                }
            }
        }
        let (prefix, raw_start) = match rem.rfind(',') {
            Some(i) => (Some(&rem[..i]), i + 1),
            None => (None, 0),
        };
        let raw = &rem[raw_start..];
        let elem = raw.trim_start_matches(' ');
        let trimmed = elem.trim_end_matches(' ');
        if trimmed.is_empty() {
            remaining = Some(if prefix.is_some() { rem } else { elem });
            break;
        }
        let kept = || {
            if prefix.is_some() {
                &rem[..raw_start + (raw.len() - elem.len()) + trimmed.len()]
            } else {
                trimmed
            }
        };
        let Some(ip) = parse_addr(trimmed) else {
            tracing::debug!("RemoteIP: header value of {trimmed} cannot be parsed as a client IP");
            remaining = Some(kept());
            break;
        };
        if !internal && is_private(ip) {
            tracing::debug!(
                "RemoteIP: header value of {trimmed} appears to be a private IP or nonsensical.  Ignored"
            );
            remaining = Some(kept());
            break;
        }
        if !internal {
            if !proxy_ips.is_empty() {
                proxy_ips.push_str(", ");
            }
            let _ = write!(proxy_ips, "{}", ua.ip().to_canonical());
        }
        ua = SocketAddr::new(ip, ua.port());
        taken = true;
        remote = prefix;
    }
    taken.then(|| Walk {
        useragent: SocketAddr::new(ua.ip(), 0),
        remaining,
        proxy_ips,
    })
}

/// RFC 3330's local and private IPv4 ranges, and for IPv6 anything but global unicast
/// (2000::/3): what a trusted, not internal, proxy may not present.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            a == 10
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && b & 0xf0 == 16)
                || (a == 192 && b == 168)
        }
        IpAddr::V6(v6) => v6.octets()[0] & 0xe0 != 0x20,
    }
}

/// A numeric address as the resolver reads one: IPv6 (an IPv4-mapped one becomes IPv4) or
/// IPv4 in any `inet_aton` form (`1.2.3` = 1.2.0.3, octal `010`, hex `0x7f`, one 32-bit
/// number). Host names are not looked up.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        let v6: Ipv6Addr = s.parse().ok()?;
        return Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        });
    }
    let mut parts = [0u32; 4];
    let mut n = 0;
    for p in s.split('.') {
        if n == 4 {
            return None;
        }
        parts[n] = inet_number(p)?;
        n += 1;
    }
    let v = match n {
        1 => parts[0],
        2 if parts[0] <= 0xff && parts[1] <= 0xff_ffff => parts[0] << 24 | parts[1],
        3 if parts[0] <= 0xff && parts[1] <= 0xff && parts[2] <= 0xffff => {
            parts[0] << 24 | parts[1] << 16 | parts[2]
        }
        4 if parts.iter().all(|&p| p <= 0xff) => {
            parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
        }
        _ => return None,
    };
    Some(IpAddr::V4(Ipv4Addr::from(v)))
}

/// One `inet_aton` part: decimal, `0`-prefixed octal or `0x` hex.
fn inet_number(p: &str) -> Option<u32> {
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if p.is_empty() || (radix != 16 && digits.is_empty()) {
        return None;
    }
    if digits.is_empty() {
        return Some(0); // "0x" alone is 0, as inet_aton has it
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::directives::remoteip::{parse_subnet, ProxyMatch};

    fn conf(list: &[(&str, bool)]) -> RemoteIpConf {
        RemoteIpConf {
            header: Some("X-Forwarded-For".into()),
            proxies_header: None,
            proxies: list
                .iter()
                .map(|(n, internal)| {
                    let (ip, mask) = match n.split_once('/') {
                        Some((i, m)) => (i, Some(m)),
                        None => (*n, None),
                    };
                    ProxyMatch {
                        net: parse_subnet(ip, mask).unwrap(),
                        internal: *internal,
                    }
                })
                .collect(),
        }
    }

    const PEER: &str = "127.0.0.1:40000";

    fn run<'v>(c: &RemoteIpConf, v: &'v str) -> Option<(String, Option<&'v str>, String)> {
        walk(c, v, PEER.parse().unwrap()).map(|w| {
            assert_eq!(w.useragent.port(), 0);
            (w.useragent.ip().to_string(), w.remaining, w.proxy_ips)
        })
    }

    fn t(
        ua: &str,
        rem: Option<&'static str>,
        proxies: &str,
    ) -> Option<(String, Option<&'static str>, String)> {
        Some((ua.to_string(), rem, proxies.to_string()))
    }

    // Each expectation is what apache2 2.4.71 logs for the same header (%a, %{X-Forwarded-For}i,
    // the proxies header) from 127.0.0.1.
    #[test]
    fn no_proxy_list_trusts_any_sender_but_not_private_addresses() {
        let c = conf(&[]);
        assert_eq!(run(&c, "203.0.113.5"), t("203.0.113.5", None, "127.0.0.1"));
        assert_eq!(run(&c, "1.2.3"), t("1.2.0.3", None, "127.0.0.1"));
        assert_eq!(run(&c, "0x01020304"), t("1.2.3.4", None, "127.0.0.1"));
        assert_eq!(run(&c, "010.1.1.1"), t("8.1.1.1", None, "127.0.0.1"));
        assert_eq!(run(&c, "16909060"), t("1.2.3.4", None, "127.0.0.1"));
        assert_eq!(run(&c, "::ffff:8.8.8.8"), t("8.8.8.8", None, "127.0.0.1"));
        assert_eq!(run(&c, "2001:db8::1"), t("2001:db8::1", None, "127.0.0.1"));
        assert_eq!(run(&c, "fe80::1"), None);
        assert_eq!(run(&c, "1.2.3.4:80"), None);
        assert_eq!(run(&c, "[2001:db8::1]"), None);
        assert_eq!(run(&c, "1.2.3.4 x"), None);
        assert_eq!(run(&c, "1.2.3.4.5"), None);
        assert_eq!(run(&c, "10.0.0.1"), None);
        assert_eq!(
            run(&c, "8.8.8.8, 9.9.9.9"),
            t("8.8.8.8", None, "127.0.0.1, 9.9.9.9")
        );
        assert_eq!(
            run(&c, "8.8.8.8,  , 9.9.9.9"),
            t("9.9.9.9", Some("8.8.8.8,  "), "127.0.0.1")
        );
        assert_eq!(run(&c, "  ,9.9.9.9"), t("9.9.9.9", Some(""), "127.0.0.1"));
        assert_eq!(
            run(&c, "8.8.8.8 ,10.0.0.1 , 9.9.9.9  "),
            t("9.9.9.9", Some("8.8.8.8 ,10.0.0.1"), "127.0.0.1")
        );
        assert_eq!(
            run(&c, "abc, 9.9.9.9"),
            t("9.9.9.9", Some("abc"), "127.0.0.1")
        );
        for v in ["0.0.0.0", "255.255.255.255", "224.0.0.1"] {
            assert_eq!(run(&c, v), t(v, None, "127.0.0.1"));
        }
    }

    #[test]
    fn trusted_and_internal_proxies() {
        // The peer is not listed: nothing happens.
        assert_eq!(run(&conf(&[("10.0.0.0/8", false)]), "8.8.8.8"), None);
        // Trusted: a private address stops the walk.
        let c = conf(&[("127.0.0.1", false)]);
        assert_eq!(run(&c, "10.0.0.5"), None);
        assert_eq!(
            run(&c, "8.8.4.4, 9.9.9.9"),
            t("9.9.9.9", Some("8.8.4.4"), "127.0.0.1")
        );
        // Internal: private addresses pass, and no proxy is recorded.
        let c = conf(&[("127.0.0.0/8", true), ("10.0.0.0/8", true)]);
        assert_eq!(run(&c, "10.0.0.5"), t("10.0.0.5", None, ""));
        assert_eq!(run(&c, "192.168.1.1, 10.0.0.5"), t("192.168.1.1", None, ""));
        // An internal proxy presents a trusted one, which may not present a private address.
        let c = conf(&[("127.0.0.1", true), ("8.8.8.8", false)]);
        assert_eq!(
            run(&c, "10.1.1.1, 10.2.2.2, 8.8.8.8"),
            t("8.8.8.8", Some("10.1.1.1, 10.2.2.2"), "")
        );
        assert_eq!(
            run(&c, "203.0.113.9, 8.8.8.8"),
            t("203.0.113.9", None, "8.8.8.8")
        );
    }
}
