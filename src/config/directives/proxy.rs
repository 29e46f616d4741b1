//! mod_proxy and its scheme modules. ProxyPass, ProxyPassMatch, ProxyPassReverse,
//! ProxyPreserveHost, ProxyTimeout and ProxyAddHeaders are typed (`DirConf::proxy_*`); the
//! rest is parsed only. `ProxyRequests On` (a forward proxy) is refused, not ignored.

use std::sync::Arc;
use std::time::Duration;

use super::{def, flag, po, section, un, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support};

/// What a ProxyPass rule matches.
#[derive(Clone, Debug)]
pub enum ProxyPath {
    /// ProxyPass: a URL-path prefix.
    Prefix(String),
    /// ProxyPassMatch: a regex; `$1`… are expanded in the URL.
    Regex(crate::config::pcre::Regex),
    /// The one-argument form inside `<Location>`/`<LocationMatch>`: the section's path.
    InLocation,
}

/// One `ProxyPass`/`ProxyPassMatch` line.
#[derive(Clone, Debug)]
pub struct ProxyPassRule {
    pub path: ProxyPath,
    /// The backend URL; `None` for the `!` exclusion.
    pub url: Option<String>,
    /// `timeout=` (seconds).
    pub timeout: Option<Duration>,
    /// `retry=` (seconds; accepted, the pool does not put workers in error state).
    pub retry: Option<u32>,
    /// `enablereuse=`/`disablereuse=`: keep backend connections (FastCGI defaults to off).
    pub reuse: Option<bool>,
    /// `upgrade=websocket` (or `*`): a client's `Upgrade:` of that protocol is tunnelled.
    pub upgrade: Option<String>,
}

fn proxy_pass_common(ctx: &mut ApplyCtx<'_>, is_match: bool) -> Result<(), String> {
    let args = &ctx.node.args;
    let name = if is_match {
        "ProxyPassMatch"
    } else {
        "ProxyPass"
    };
    let in_location = ctx.context == C::DIRECTORY;
    let (path, url, params) = match args.as_slice() {
        // The URL-first form inside <Location>: the section's path is the path.
        [u, rest @ ..]
            if in_location && (u.contains("://") || u == "!" || u.starts_with("unix:")) =>
        {
            (String::new(), u.clone(), rest)
        }
        [p, u, rest @ ..] => (p.clone(), u.clone(), rest),
        _ => {
            return Err(format!(
                "{name} needs a path when not defined in a location"
            ))
        }
    };
    let mut timeout = None;
    let mut retry = None;
    let mut reuse = None;
    let mut upgrade = None;
    for a in params {
        let Some((k, v)) = a.split_once('=') else {
            return Err(
                "Invalid ProxyPass parameter. Parameter must be in the form 'key=value'."
                    .to_string(),
            );
        };
        match k.to_ascii_lowercase().as_str() {
            "timeout" => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("{name}: invalid timeout value {v}"))?;
                timeout = Some(Duration::from_secs(n));
            }
            "retry" => {
                retry = Some(
                    v.parse()
                        .map_err(|_| format!("{name}: invalid retry value {v}"))?,
                );
            }
            "enablereuse" | "disablereuse" => {
                let on = match v.to_ascii_lowercase().as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("{name}: {k} must be On|Off")),
                };
                reuse = Some(if k.eq_ignore_ascii_case("enablereuse") {
                    on
                } else {
                    !on
                });
            }
            "upgrade" => upgrade = Some(v.to_string()),
            _ => {}
        }
    }
    let url = if url == "!" {
        None
    } else {
        if !url.contains("://") && !url.starts_with("unix:") {
            return Err(format!("{name} Unable to parse URL: {url}"));
        }
        Some(url)
    };
    let path = if path.is_empty() {
        ProxyPath::InLocation
    } else if is_match {
        ProxyPath::Regex(crate::config::pcre::Regex::new(&path).map_err(|e| {
            crate::config::pcre::httpd_message(e, "Regular expression could not be compiled.")
        })?)
    } else {
        ProxyPath::Prefix(path)
    };
    ctx.dir.proxy_pass.push(Arc::new(ProxyPassRule {
        path,
        url,
        timeout,
        retry,
        reuse,
        upgrade,
    }));
    Ok(())
}

fn proxy_pass(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxy_pass_common(ctx, false)
}

fn proxy_pass_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    proxy_pass_common(ctx, true)
}

fn proxy_pass_reverse(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = &ctx.node.args;
    if a.len() < 2 {
        // The one-argument form inside <Location>: not supported yet.
        return Ok(());
    }
    let pair = (a[0].clone(), a[1].clone());
    ctx.dir.proxy_reverse.push(Arc::new(pair));
    Ok(())
}

fn proxy_preserve_host(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.proxy_preserve_host = Some(flag(ctx));
    Ok(())
}

fn proxy_add_headers(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.proxy_add_headers = Some(flag(ctx));
    Ok(())
}

fn proxy_timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let n: u64 = ctx
        .arg(0)
        .parse()
        .map_err(|_| "Proxy Timeout must be at least 1 second.".to_string())?;
    if n < 1 {
        return Err("Proxy Timeout must be at least 1 second.".into());
    }
    ctx.dir.proxy_timeout = Some(Duration::from_secs(n));
    Ok(())
}

fn proxy_requests(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if flag(ctx) {
        return Err("ProxyRequests On (a forward proxy) is not supported by mpmd".into());
    }
    Ok(())
}

const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    section("Proxy", R, Support::Implemented, "Container for directives affecting resources located in the proxied location"),
    section("ProxyMatch", R, Support::Implemented, "Container for directives affecting resources located in the proxied location, in regular expression syntax"),
    def("ProxyPass", RawArgs, D, Support::Implemented, "a virtual path and a URL", proxy_pass),
    def("ProxyPassMatch", RawArgs, D, Support::Implemented, "a virtual path and a URL", proxy_pass_match),
    def("ProxyPassReverse", Take123, D, Support::Implemented, "a virtual path and a URL for reverse proxy behaviour", proxy_pass_reverse),
    po("ProxyPassReverseCookieDomain", Take23, D, "Path rewrite rule for proxying cookies"),
    po("ProxyPassReverseCookiePath", Take23, D, "Path rewrite rule for proxying cookies"),
    def("ProxyPreserveHost", Flag, D, Support::Implemented, "on if we should preserve host header while proxying", proxy_preserve_host),
    def("ProxyTimeout", Take1, R, Support::Implemented, "Set the timeout (in seconds) for a proxied connection. This overrides the server timeout", proxy_timeout),
    def("ProxyRequests", Flag, R, Support::Implemented, "on if the true proxy requests should be accepted", proxy_requests),
    po("ProxySet", RawArgs, D, "A balancer or worker name with list of params"),
    po("ProxyStatus", Take1, R, "Configure Status: proxy status to one of: on | off | full"),
    po("ProxyVia", Take1, R, "Configure Via: proxy header header to one of: on | off | block | full"),
    po("ProxyErrorOverride", Take12, D, "use our error handling pages instead of the servers' we are proxying"),
    def("ProxyAddHeaders", Flag, D, Support::Implemented, "on if X-Forwarded-* headers should be added or completed", proxy_add_headers),
    po("ProxyIOBufferSize", Take1, R, "IO buffer size for outgoing HTTP and FTP connections in bytes"),
    po("ProxyReceiveBufferSize", Take1, R, "Receive buffer size for outgoing HTTP and FTP connections in bytes"),
    po("ProxyMaxForwards", Take1, R, "Number of hops a request can make through the proxy"),
    po("ProxyBadHeader", Take1, R, "How to handle bad header line in response: IsError | Ignore | StartBody"),
    po("ProxyRemote", Take2, R, "a scheme, partial URL or '*' and a proxy server"),
    po("ProxyRemoteMatch", Take2, R, "a regex pattern and a proxy server"),
    un("ProxyBlock", RawArgs, R, "A list of names, hosts or domains to which the proxy will not connect"),
    po("ProxySourceAddress", Take1, R, "Configure local source IP used for request forward"),
    po("ProxyHCExpr", Take2, R, "Define a health check condition ruleset expression"),
    po("BalancerMember", RawArgs, D, "A balancer name and scheme with list of params"),
    po("BalancerGrowth", Take1, R, "Number of additional Balancers that can be added post-config"),
    po("BalancerPersist", Flag, R, "on if the balancer should persist changes on reboot/restart made via the Balancer Manager"),
    po("BalancerInherit", Flag, R, "on if this server should inherit Balancers and Workers defined in the main server"),
    po("ProxyPassInherit", Flag, R, "on if this server should inherit all ProxyPass directives defined in the main server"),
    po("ProxyPassInterpolateEnv", Flag, D, "Interpolate Env Vars in reverse Proxy"),
];

/// mod_proxy_fcgi.
pub static FCGI: &[DirectiveDef] = &[
    po(
        "ProxyFCGIBackendType",
        Take1,
        D,
        "Specify the type of FastCGI server: 'Generic', 'FPM'",
    ),
    po(
        "ProxyFCGISetEnvIf",
        Take23,
        D,
        "expr-condition env-name expr-value",
    ),
];
