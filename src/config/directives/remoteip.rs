//! mod_remoteip: which request header names the client, and which proxies are trusted to
//! present it (`RemoteIPTrustedProxy`, `RemoteIPInternalProxy` and their `…List` files). The
//! per-request walk is `crate::modules::remoteip`. `RemoteIPProxyProtocol` and its exceptions
//! say which connections start with a PROXY protocol header (read by `crate::conn`).

use std::net::{IpAddr, SocketAddr};

use super::{def, ApplyCtx};
use crate::conf::Node;
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
    def("RemoteIPProxyProtocol", Flag, R, Implemented, "Enable PROXY protocol handling ('on', 'off')", proxy_protocol),
    def("RemoteIPProxyProtocolExceptions", TakeArgv, R, Implemented, "Disable PROXY protocol handling for this list of networks in CIDR format", proxy_exceptions),
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

/// mod_remoteip's PROXY protocol settings. httpd keeps them on the main server whatever section
/// the directives are in: `RemoteIPProxyProtocol` turns the protocol on or off for the
/// addresses of the server it is written in (the main server's address matches every local
/// address), the last word for an address wins, and the exceptions are one list for all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyProtocolConf {
    pub enabled: Vec<LocalMatch>,
    pub disabled: Vec<LocalMatch>,
    /// `RemoteIPProxyProtocolExceptions`: peers that never send the header.
    pub exceptions: Vec<IpNet>,
    /// Each `RemoteIPProxyProtocol` as the walk met it (the main server's before the vhosts'),
    /// keyed by its node; `resolve` replays them in file order, as httpd applies them.
    pub pending: Vec<(usize, Vec<LocalMatch>, bool)>,
}

/// A server address as mod_remoteip compares it with a connection's local address: `ip` `None`
/// is the wildcard (`*`, `_default_`, the main server), `port` 0 any port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalMatch {
    pub ip: Option<IpAddr>,
    pub port: u16,
}

impl LocalMatch {
    /// httpd's `remoteip_sockaddr_compat`: equal addresses with equal or unset ports, or a
    /// wildcard on either side with an unset or equal port.
    fn compat(&self, other: &LocalMatch) -> bool {
        let ports = |a: u16, b: u16| a == b || a == 0 || b == 0;
        (self.ip == other.ip && ports(self.port, other.port))
            || (self.ip.is_none() && (self.port == 0 || self.port == other.port))
            || (other.ip.is_none() && (other.port == 0 || other.port == self.port))
    }

    fn matches(&self, local: SocketAddr) -> bool {
        self.compat(&LocalMatch {
            ip: Some(local.ip().to_canonical()),
            port: local.port(),
        })
    }
}

impl std::fmt::Display for LocalMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "{ip}:{}", self.port),
            None => write!(f, "0.0.0.0:{}", self.port),
        }
    }
}

impl ProxyProtocolConf {
    /// True when a connection from `peer` to `local` must start with a PROXY header.
    pub fn applies(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        self.enabled.iter().any(|m| m.matches(local))
            && !self.disabled.iter().any(|m| m.matches(local))
            && !self
                .exceptions
                .iter()
                .any(|n| n.contains(peer.ip().to_canonical()))
    }

    /// Replays the settings in file order (`position` of a node key): an address moves from
    /// the other list to this one (the first entry equal to it), unless this list already has
    /// one that matches it.
    pub fn resolve(&mut self, position: impl Fn(usize) -> usize) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|(k, _, _)| position(*k));
        for (_, addrs, on) in pending {
            let (add, rem) = if on {
                (&mut self.enabled, &mut self.disabled)
            } else {
                (&mut self.disabled, &mut self.enabled)
            };
            for a in addrs {
                if let Some(i) = rem.iter().position(|r| *r == a) {
                    rem.remove(i);
                }
                if !add.iter().any(|x| x.compat(&a)) {
                    add.insert(0, a);
                }
            }
        }
    }

    /// httpd's startup notices (AH03492, AH03494).
    pub fn notices(&self) -> Vec<String> {
        let on = self
            .enabled
            .iter()
            .map(|m| format!("AH03492: RemoteIPProxyProtocol: enabled on {m}"));
        let off = self
            .disabled
            .iter()
            .map(|m| format!("AH03494: RemoteIPProxyProtocol: disabled on {m}"));
        on.chain(off).collect()
    }
}

fn proxy_protocol(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = super::flag(ctx);
    let addrs = if ctx.in_vhost() {
        ctx.server
            .addrs
            .iter()
            .map(|a| LocalMatch {
                ip: a.ip.map(|ip| ip.to_canonical()),
                port: a.port.unwrap_or(0),
            })
            .collect()
    } else {
        vec![LocalMatch { ip: None, port: 0 }]
    };
    let key = ctx.node as *const Node as usize;
    ctx.global.proxy_protocol.pending.push((key, addrs, on));
    Ok(())
}

fn proxy_exceptions(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.node.args.is_empty() {
        return Err(format!("{} requires an argument", ctx.node.name));
    }
    let args = ctx.node.args.clone();
    for a in &args {
        let (ip, mask) = match a.split_once('/') {
            Some((i, m)) => (i, Some(m)),
            None => (a.as_str(), None),
        };
        if !looks_like_ip(ip) {
            return Err(format!("ip address '{ip}' appears to be invalid"));
        }
        let net = parse_subnet(ip, mask)
            .map_err(|e| format!("ip address '{ip}' appears to be invalid: {e}"))?;
        ctx.global.proxy_protocol.exceptions.push(net);
    }
    Ok(())
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
