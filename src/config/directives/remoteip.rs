//! mod_remoteip: which request header names the client, and which proxies are trusted to
//! present it (`RemoteIPTrustedProxy`, `RemoteIPInternalProxy` and their `…List` files). The
//! per-request walk is `crate::modules::remoteip`. The PROXY protocol is not built.

use std::net::IpAddr;

use super::{def, un, ApplyCtx};
use crate::config::dir::IpNet;
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::Implemented};

const R: C = C::SERVER_VHOST;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("RemoteIPHeader", Take1, R, Implemented, "Specifies a request header to trust as the client IP, e.g. X-Forwarded-For", header),
    def("RemoteIPProxiesHeader", Take1, R, Implemented, "Specifies a request header to record proxy IP's, e.g. X-Forwarded-By; if not given then do not record", proxies_header),
    def("RemoteIPTrustedProxy", Iterate, R, Implemented, "Specifies one or more proxies which are trusted to present IP headers", trusted),
    def("RemoteIPInternalProxy", Iterate, R, Implemented, "Specifies one or more internal (transparent) proxies which are trusted to present IP headers", internal),
    def("RemoteIPTrustedProxyList", Take1, R, Implemented, "The filename to read the list of trusted proxies, see the RemoteIPTrustedProxy directive", trusted_list),
    def("RemoteIPInternalProxyList", Take1, R, Implemented, "The filename to read the list of internal proxies, see the RemoteIPInternalProxy directive", internal_list),
    un("RemoteIPProxyProtocol", Flag, R, "Enable PROXY protocol handling ('on', 'off')"),
    un("RemoteIPProxyProtocolExceptions", TakeArgv, R, "Disable PROXY protocol handling for this list of networks in CIDR format"),
];

/// One trusted proxy address or network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyMatch {
    pub net: IpNet,
    /// `RemoteIPInternalProxy`: may present private addresses too.
    pub internal: bool,
}

/// mod_remoteip's per-server settings. A virtual host inherits each one it does not set; its
/// own proxy list replaces the main server's whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteIpConf {
    /// `RemoteIPHeader`: `None` = the module does nothing for this server.
    pub header: Option<String>,
    /// `RemoteIPProxiesHeader`.
    pub proxies_header: Option<String>,
    /// Every proxy, in configuration order. Empty = any peer may present the header.
    pub proxies: Vec<ProxyMatch>,
}

fn header(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.remoteip.header = Some(ctx.arg(0).to_string());
    Ok(())
}

fn proxies_header(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.remoteip.proxies_header = Some(ctx.arg(0).to_string());
    Ok(())
}

fn trusted(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxies(ctx, false)
}

fn internal(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxies(ctx, true)
}

fn trusted_list(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxy_list(ctx, false)
}

fn internal_list(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxy_list(ctx, true)
}

/// The proxy list this server writes to: a virtual host's first proxy directive drops the list
/// it inherited from the main server (httpd's merge takes one list or the other).
fn own_list<'a>(ctx: &'a mut ApplyCtx<'_>) -> &'a mut Vec<ProxyMatch> {
    if ctx.in_vhost() && !ctx.server.set_here.contains(&"remoteip_proxies") {
        ctx.server.remoteip.proxies.clear();
    }
    ctx.mark("remoteip_proxies");
    &mut ctx.server.remoteip.proxies
}

fn proxies(ctx: &mut ApplyCtx<'_>, internal: bool) -> Result<(), String> {
    let name = ctx.node.name.clone();
    if ctx.node.args.is_empty() {
        let help = if internal {
            "Specifies one or more internal (transparent) proxies which are trusted to present IP headers"
        } else {
            "Specifies one or more proxies which are trusted to present IP headers"
        };
        return Err(format!("{name} requires at least one argument, {help}"));
    }
    let args = ctx.node.args.clone();
    let list = own_list(ctx);
    for a in &args {
        add_proxy(list, a, internal, &name)?;
    }
    Ok(())
}

fn proxy_list(ctx: &mut ApplyCtx<'_>, internal: bool) -> Result<(), String> {
    let name = ctx.node.name.clone();
    let arg = ctx.arg(0);
    let path = if arg.starts_with('/') {
        std::path::PathBuf::from(arg)
    } else {
        ctx.global.server_root.join(arg)
    };
    let text = std::fs::read(&path).map_err(|e| {
        format!(
            "{name}: Could not open file {}: {}",
            path.display(),
            crate::conf::expand::strerror(&e)
        )
    })?;
    let text = String::from_utf8_lossy(&text);
    let list = own_list(ctx);
    for (i, line) in text.lines().enumerate() {
        for word in words(line) {
            if word.starts_with('#') {
                break;
            }
            add_proxy(list, &word, internal, &name)
                .map_err(|e| format!("{e} at line {} of {}", i + 1, path.display()))?;
        }
    }
    Ok(())
}

/// The words of a list-file line as httpd's `ap_getword_conf` splits them: blanks separate,
/// `"…"` or `'…'` quote one word.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (word, after) = match rest.as_bytes()[0] {
            q @ (b'"' | b'\'') => {
                let body = &rest[1..];
                match body.find(q as char) {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                }
            }
            _ => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        out.push(word.to_string());
        rest = after.trim_start();
    }
    out
}

/// An address that is not a host name: it has a `:` (IPv6) or only digits and dots.
fn looks_like_ip(s: &str) -> bool {
    s.contains(':') || s.bytes().all(|b| b == b'.' || b.is_ascii_digit())
}

fn add_proxy(
    list: &mut Vec<ProxyMatch>,
    arg: &str,
    internal: bool,
    name: &str,
) -> Result<(), String> {
    let (ip, mask) = match arg.split_once('/') {
        Some((i, m)) => (i, Some(m)),
        None => (arg, None),
    };
    if looks_like_ip(ip) {
        let net = parse_subnet(ip, mask)
            .map_err(|e| format!("RemoteIP: Error parsing IP {arg} ({e} error) for {name}"))?;
        list.push(ProxyMatch { net, internal });
        return Ok(());
    }
    if let Some(m) = mask {
        return Err(format!(
            "RemoteIP: Error parsing IP {arg} the subnet /{m} is invalid for {name}"
        ));
    }
    // A host name: every address it resolves to, once, at configuration time (as httpd).
    use std::net::ToSocketAddrs;
    let addrs = (ip, 0).to_socket_addrs().map_err(|e| {
        let text = e.to_string();
        let text = text
            .strip_prefix("failed to lookup address information: ")
            .unwrap_or(&text)
            .to_string();
        format!("RemoteIP: Error parsing IP {arg} ({text} error) for {name}")
    })?;
    for a in addrs {
        let addr = a.ip().to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        list.push(ProxyMatch {
            net: IpNet { addr, prefix },
            internal,
        });
    }
    Ok(())
}

/// Why an address or network was refused, in APR's words.
#[derive(Debug, PartialEq, Eq)]
pub enum SubnetError {
    BadIp,
    BadMask,
}

impl std::fmt::Display for SubnetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SubnetError::BadIp => "The specified IP address is invalid.",
            SubnetError::BadMask => "The specified network mask is invalid.",
        })
    }
}

/// An address and optional mask as APR's `apr_ipsubnet_create` reads them: a full address,
/// or without a mask a partial IPv4 network (`10.1` = 10.1.0.0/16); the mask is a bit count
/// (1 up to the address size) or, for IPv4, a dotted netmask.
pub fn parse_subnet(ip: &str, mask: Option<&str>) -> Result<IpNet, SubnetError> {
    let (addr, full) = match ip.parse::<IpAddr>() {
        Ok(a) => (a.to_canonical(), true),
        Err(_) if mask.is_none() => (partial_v4(ip).ok_or(SubnetError::BadIp)?, false),
        Err(_) => return Err(SubnetError::BadIp),
    };
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match mask {
        None if full => max,
        None => {
            let n = ip.trim_end_matches('.').split('.').count();
            (n * 8) as u8
        }
        Some(m) => match m.parse::<u8>() {
            Ok(n) if n > 0 && n <= max && m.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => match (addr, m.parse::<std::net::Ipv4Addr>()) {
                // APR takes any dotted mask; a network here is a prefix, so a mask with
                // holes (never seen in practice) counts its ones, as `Require ip` does.
                (IpAddr::V4(_), Ok(netmask)) => u32::from(netmask).count_ones() as u8,
                _ => return Err(SubnetError::BadMask),
            },
        },
    };
    Ok(IpNet { addr, prefix })
}

/// `10`, `10.1`, `10.1.2` (a trailing dot allowed): the leading octets of an IPv4 network.
fn partial_v4(s: &str) -> Option<IpAddr> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    let mut b = [0u8; 4];
    for (n, part) in s.split('.').enumerate() {
        if n == 4 || part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        b[n] = part.parse().ok()?;
    }
    Some(IpAddr::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Result<IpNet, SubnetError> {
        match s.split_once('/') {
            Some((i, m)) => parse_subnet(i, Some(m)),
            None => parse_subnet(s, None),
        }
    }

    #[test]
    fn subnets_as_apr_reads_them() {
        let n = net("10.1").unwrap();
        assert_eq!((n.addr, n.prefix), ("10.1.0.0".parse().unwrap(), 16));
        assert_eq!(net("10.0.0.1/255.255.0.0").unwrap().prefix, 16);
        assert_eq!(net("2001:db8::/32").unwrap().prefix, 32);
        assert_eq!(net("192.0.2.7").unwrap().prefix, 32);
        assert_eq!(net("10.0.0.0/33"), Err(SubnetError::BadMask));
        assert_eq!(net("10.0.0.0/0"), Err(SubnetError::BadMask));
        assert_eq!(net("10.0.0.0/"), Err(SubnetError::BadMask));
        assert_eq!(net("10.0.0.0/8x"), Err(SubnetError::BadMask));
        assert_eq!(net("10.0.0.0/255.255.240.0").unwrap().prefix, 20);
        assert_eq!(net("::1/129"), Err(SubnetError::BadMask));
        assert_eq!(net("300.1.1.1"), Err(SubnetError::BadIp));
        assert_eq!(net("1.2.3.4.5"), Err(SubnetError::BadIp));
    }

    #[test]
    fn list_file_words() {
        assert_eq!(words("  a 'b c'  \"d\" # e"), ["a", "b c", "d", "#", "e"]);
    }
}
