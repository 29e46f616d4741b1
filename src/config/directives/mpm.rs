//! The MPM directives (spec/mpm.md §1): each MPM module registers its own table, so a
//! directive the loaded MPM lacks is "Invalid command". Values are stored as written (atoi);
//! `checks::mpm` applies the startup checks once the whole config is read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use super::{atoi, def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};
use crate::config::ListenSpec;

const G: C = C::SERVER;

/// Every MPM registers these (httpd's `LISTEN_COMMANDS` and the common sizing directives).
pub static COMMON: &[DirectiveDef] = &[
    def("StartServers", Take1, G, Implemented, "Number of child processes launched at server startup", start_servers),
    def("MaxRequestWorkers", Take1, G, Implemented, "Maximum number of children alive at the same time", max_request_workers),
    def("MaxClients", Take1, G, Implemented, "Deprecated name of MaxRequestWorkers", max_request_workers),
    def("ServerLimit", Take1, G, Implemented, "Maximum value of MaxRequestWorkers for this run of Apache", server_limit),
    def("GracefulShutdownTimeout", Take1, G, Implemented, "Maximum time in seconds to wait for child processes to complete transactions during shutdown", graceful_shutdown_timeout),
    def("Listen", TakeArgv, G, Implemented, "A port number or a numeric IP address and a port number, and an optional protocol", listen),
    def("ListenBacklog", Take1, G, Implemented, "Maximum length of the queue of pending connections, as used by listen(2)", listen_backlog),
    def("ListenCoresBucketsRatio", Take1, G, Implemented, "Ratio between the number of CPU cores (online) and the number of listeners buckets", listen_cores_buckets_ratio),
    def("SendBufferSize", Take1, G, Implemented, "Send buffer size in bytes", send_buffer_size),
    def("ReceiveBufferSize", Take1, G, Implemented, "Receive buffer size in bytes", receive_buffer_size),
    po("ListenTCPDeferAccept", Take1, G, "Number of seconds to wait for data after the connection is accepted (Linux TCP_DEFER_ACCEPT)"),
];

/// worker and event.
pub static THREADED: &[DirectiveDef] = &[
    def("MinSpareThreads", Take1, G, Implemented, "Minimum number of idle threads, to handle request spikes", min_spare_threads),
    def("MaxSpareThreads", Take1, G, Implemented, "Maximum number of idle threads", max_spare_threads),
    def("ThreadLimit", Take1, G, Implemented, "Maximum number of worker threads per child process for this run of Apache - Upper limit for ThreadsPerChild", thread_limit),
    def("ThreadsPerChild", Take1, G, Implemented, "Number of threads each child creates", threads_per_child),
];

/// prefork only.
pub static PREFORK: &[DirectiveDef] = &[
    def(
        "MinSpareServers",
        Take1,
        G,
        Implemented,
        "Minimum number of idle children, to handle request spikes",
        min_spare_servers,
    ),
    def(
        "MaxSpareServers",
        Take1,
        G,
        Implemented,
        "Maximum number of idle children",
        max_spare_servers,
    ),
];

/// event only.
pub static EVENT: &[DirectiveDef] = &[def(
    "AsyncRequestWorkerFactor",
    Take1,
    G,
    Implemented,
    "How many additional connects will be accepted per idle worker thread",
    async_request_worker_factor,
)];

macro_rules! atoi_setter {
    ($fn:ident, $field:ident) => {
        fn $fn(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
            ctx.global.mpm_directives.$field = Some(atoi(ctx.arg(0)));
            Ok(())
        }
    };
}

atoi_setter!(start_servers, start_servers);
atoi_setter!(max_request_workers, max_request_workers);
atoi_setter!(server_limit, server_limit);
atoi_setter!(graceful_shutdown_timeout, graceful_shutdown_timeout);
atoi_setter!(min_spare_servers, min_spare_servers);
atoi_setter!(max_spare_servers, max_spare_servers);
atoi_setter!(min_spare_threads, min_spare_threads);
atoi_setter!(max_spare_threads, max_spare_threads);
atoi_setter!(thread_limit, thread_limit);
atoi_setter!(threads_per_child, threads_per_child);

fn listen_backlog(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = atoi(ctx.arg(0));
    if v < 1 {
        return Err("ListenBacklog must be > 0".into());
    }
    ctx.global.mpm_directives.listen_backlog = Some(v);
    Ok(())
}

fn listen_cores_buckets_ratio(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = atoi(ctx.arg(0));
    if v < 1 {
        return Err("ListenCoresBucketsRatio must be > 0".into());
    }
    ctx.global.mpm_directives.listen_cores_buckets_ratio = Some(v);
    Ok(())
}

fn buffer_size(ctx: &ApplyCtx<'_>, name: &str) -> Result<i64, String> {
    let v = atoi(ctx.arg(0));
    if v < 512 && v != 0 {
        return Err(format!(
            "{name} must be >= 512 bytes, or 0 for system default."
        ));
    }
    Ok(v)
}

fn send_buffer_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.mpm_directives.send_buffer_size = Some(buffer_size(ctx, "SendBufferSize")?);
    Ok(())
}

fn receive_buffer_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.mpm_directives.receive_buffer_size = Some(buffer_size(ctx, "ReceiveBufferSize")?);
    Ok(())
}

fn async_request_worker_factor(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v: f64 = ctx
        .arg(0)
        .trim_start()
        .parse()
        .map_err(|_| "error parsing value".to_string())?;
    if v.is_nan() || v <= 0.0 {
        return Err("AsyncRequestWorkerFactor argument must be a positive number".into());
    }
    ctx.global.mpm_directives.async_request_worker_factor = Some(v);
    Ok(())
}

/// The wildcard address `Listen 80` and `Listen *:80` bind: like httpd, the IPv6 one when the
/// host has IPv6 (the engine turns IPV6_V6ONLY off, so it takes IPv4 clients too), else IPv4.
fn wildcard() -> IpAddr {
    let has_v6 = std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| !t.trim().is_empty());
    if has_v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// `apr_parse_addr_port` as Listen uses it: `port`, `host:port`, `[v6]:port`.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    const INVALID: &str = "Invalid address or port";
    const NO_PORT: &str = "Port must be specified";
    let port_of = |p: &str| -> Result<u16, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(INVALID.into()),
        }
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let port = port_of(s)?;
        return Ok(SocketAddr::new(wildcard(), port));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(INVALID)?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (host, port_of(p)?)
            }
            None if after.is_empty() => return Err(NO_PORT.into()),
            _ => return Err(INVALID.into()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                if h.contains(':') {
                    // A bare IPv6 address without brackets has no port.
                    return Err(NO_PORT.into());
                }
                (h, port_of(p)?)
            }
            _ => return Err(NO_PORT.into()),
        }
    };
    if host == "*" || host.is_empty() {
        return Ok(SocketAddr::new(wildcard(), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| INVALID.to_string())
}

fn listen(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let args = &ctx.node.args;
    if args.is_empty() || args.len() > 2 {
        return Err("Listen requires 1 or 2 arguments.".into());
    }
    let addr = parse_listen_addr(&args[0])?;
    if ctx.global.listen.iter().any(|l| l.addr == addr) {
        return Err("Cannot define multiple Listeners on the same IP:port".into());
    }
    let protocol = args.get(1).map(|p| p.to_ascii_lowercase());
    ctx.global.listen.push(ListenSpec {
        addr,
        protocol,
        span: ctx.node.span.clone(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let any = parse_listen_addr("80").unwrap();
        assert!(any.ip().is_unspecified() && any.port() == 80);
        assert_eq!(parse_listen_addr("*:81").unwrap().ip(), any.ip());
        assert_eq!(
            parse_listen_addr("127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("[::1]:81").unwrap(),
            "[::1]:81".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("abc").unwrap_err(),
            "Port must be specified"
        );
        assert_eq!(
            parse_listen_addr("0").unwrap_err(),
            "Invalid address or port"
        );
        assert_eq!(
            parse_listen_addr("1.2.3.4:x").unwrap_err(),
            "Port must be specified"
        );
        assert_eq!(
            parse_listen_addr("70000").unwrap_err(),
            "Invalid address or port"
        );
    }

    #[test]
    fn each_mpm_has_its_own_directives() {
        let has = |mpm: &'static str, d: &str| {
            crate::config::registry::find_loaded(d, &["core", mpm]).is_some()
        };
        assert!(has("mpm_prefork", "MaxSpareServers") && has("mpm_prefork", "Listen"));
        assert!(!has("mpm_prefork", "ThreadsPerChild"));
        assert!(has("mpm_worker", "ThreadsPerChild") && has("mpm_worker", "ListenBacklog"));
        assert!(!has("mpm_worker", "AsyncRequestWorkerFactor"));
        assert!(has("mpm_event", "AsyncRequestWorkerFactor"));
        assert!(!has("mpm_event", "MinSpareServers"));
    }
}
