//! mod_authz_core (`Require`, `<RequireAll|Any|None>`, AuthMerging), mod_authz_host's
//! providers (`ip`, `host`, `local`, `forward-dns`), mod_access_compat (`Order`, `Allow`,
//! `Deny`, `Satisfy`) and mod_authn_core's AuthType/AuthName. Access control is never
//! parsed-only: every directive here acts, or the config is refused.

use std::net::IpAddr;
use std::sync::Arc;

use super::{def, po, ApplyCtx};
use crate::conf::Node;
use crate::config::dir::{AccessCompat, AccessRule, Authz, IpNet, Order, Provider};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

/// Directory and .htaccess (httpd's OR_AUTHCFG / OR_LIMIT).
const AUTH: C = C(4 | 8);

const fn sec(name: &'static str, help: &'static str) -> DirectiveDef {
    DirectiveDef {
        name,
        args: RawArgs,
        contexts: AUTH,
        support: Implemented,
        help,
        apply: require_section,
        section: true,
    }
}

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("Require", RawArgs, AUTH, Implemented, "specifies authorization directives which one must pass (or not) for a request to suceeed", require),
    sec("RequireAll", "Container for authorization directives grouped under an authz provider"),
    sec("RequireAny", "Container for authorization directives grouped under an authz provider"),
    sec("RequireNone", "Container for authorization directives grouped under an authz provider"),
    def("AuthMerging", Take1, AUTH, Implemented, "Controls how a <Directory>, <Location>, or similar directive's authorization directives are combined with those of its predecessor", auth_merging),
    po("AuthzSendForbiddenOnFailure", Flag, AUTH, "Controls if an authorization failure should result in a '403 FORBIDDEN' response instead of the HTTP-conforming '401 UNAUTHORIZED'"),
    def("Order", Take1, AUTH, Implemented, "'allow,deny', 'deny,allow', or 'mutual-failure'", order),
    def("Allow", RawArgs, AUTH, Implemented, "'from' followed by hostnames or IP-address wildcards", allow),
    def("Deny", RawArgs, AUTH, Implemented, "'from' followed by hostnames or IP-address wildcards", deny),
    def("Satisfy", Take1, AUTH, Implemented, "access policy if both allow and require used ('all' or 'any')", satisfy),
    def("AuthType", Take1, AUTH, Implemented, "an HTTP authorization type (e.g., \"Basic\")", super::auth::auth_type),
    def("AuthName", Take1, AUTH, Implemented, "the authentication realm (e.g. \"Members Only\")", super::auth::auth_name),
];

/// `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, an address, or a partial IPv4 address (`10.1`).
pub(crate) fn parse_ipnet(s: &str) -> Option<IpNet> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    if let Ok(ip) = addr.parse::<IpAddr>() {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => {
                    // A netmask: 255.255.255.0
                    let m: IpAddr = p.parse().ok()?;
                    match m {
                        IpAddr::V4(v4) => u32::from(v4).count_ones() as u8,
                        IpAddr::V6(v6) => u128::from(v6).count_ones() as u8,
                    }
                }
            },
        };
        return Some(IpNet { addr: ip, prefix });
    }
    // Partial IPv4 like `10.1` (httpd accepts it): the given octets.
    if prefix.is_none() && !addr.is_empty() && addr.split('.').count() < 4 {
        let octs: Vec<u8> = addr
            .trim_end_matches('.')
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        let mut b = [0u8; 4];
        b[..octs.len()].copy_from_slice(&octs);
        return Some(IpNet {
            addr: IpAddr::from(b),
            prefix: (octs.len() * 8) as u8,
        });
    }
    None
}

fn provider(words: &[String]) -> Result<(bool, Provider), String> {
    let (negate, words) = match words.first() {
        Some(w) if w.eq_ignore_ascii_case("not") => (true, &words[1..]),
        _ => (false, words),
    };
    let Some((name, args)) = words.split_first() else {
        return Err("Require requires at least one argument".into());
    };
    let args: Vec<String> = args.to_vec();
    let p = match name.to_ascii_lowercase().as_str() {
        "all" => match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
            Some("granted") => Provider::All(true),
            Some("denied") => Provider::All(false),
            _ => return Err("Require all must be followed by 'granted' or 'denied'".into()),
        },
        "ip" => {
            if args.is_empty() {
                return Err(
                    "Require ip must be followed by at least one IP address or network".into(),
                );
            }
            let mut nets = Vec::new();
            for a in &args {
                nets.push(
                    parse_ipnet(a)
                        .ok_or_else(|| format!("ip address '{a}' appears to be invalid"))?,
                );
            }
            Provider::Ip(nets)
        }
        "local" => Provider::Local,
        "host" => Provider::Host(args),
        "forward-dns" => Provider::ForwardDns(args),
        "env" => Provider::Env(args),
        "method" => Provider::Method(args),
        "user" => Provider::User(args),
        "valid-user" => Provider::ValidUser,
        "expr" => {
            let text = args.join(" ");
            let c = crate::config::expr::parse(&text)
                .map_err(|e| format!("Cannot parse expression in require line: {e}"))?;
            Provider::Expr(Arc::new(c))
        }
        "group" | "file-owner" | "file-group" => {
            Provider::Unsupported(format!("{name} {}", args.join(" ")))
        }
        _ => return Err(format!("Unknown Authz provider: {name}")),
    };
    Ok((negate, p))
}

/// Adds an item to the section's implicit `<RequireAny>`.
fn push(ctx: &mut ApplyCtx<'_>, item: Authz) {
    match ctx.dir.authz.as_mut() {
        Some(a) => {
            if let Authz::Any(list) = Arc::make_mut(a) {
                list.push(item);
            } else {
                let old = (**a).clone();
                *a = Arc::new(Authz::Any(vec![old, item]));
            }
        }
        None => ctx.dir.authz = Some(Arc::new(Authz::Any(vec![item]))),
    }
}

fn require(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let (negate, provider) = provider(&ctx.node.args)?;
    if negate {
        return Err("negative Require directive has no effect in <RequireAny> directive".into());
    }
    push(ctx, Authz::Require { negate, provider });
    Ok(())
}

fn container(node: &Node) -> Result<Authz, String> {
    let mut items = Vec::new();
    let kind = node.name.to_ascii_lowercase();
    for child in node.children() {
        let name = child.name.to_ascii_lowercase();
        if name == "require" {
            let (negate, provider) = provider(&child.args)?;
            items.push(Authz::Require { negate, provider });
        } else if matches!(name.as_str(), "requireall" | "requireany" | "requirenone") {
            items.push(container(child)?);
        } else {
            return Err(format!(
                "{} not allowed in <{}> block",
                child.name, node.name
            ));
        }
    }
    if items.is_empty() {
        return Err(format!(
            "<{}> directive contains no authorization directives",
            node.name
        ));
    }
    Ok(match kind.as_str() {
        "requireall" => Authz::All(items),
        "requirenone" => Authz::None(items),
        _ => Authz::Any(items),
    })
}

fn require_section(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let c = container(ctx.node)?;
    push(ctx, c);
    Ok(())
}

fn auth_merging(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.auth_merging = Some(match ctx.arg(0).to_ascii_lowercase().as_str() {
        "off" => 0,
        "and" => 1,
        "or" => 2,
        _ => return Err("AuthMerging must be one of: off | and | or".into()),
    });
    Ok(())
}

fn compat<'c>(ctx: &'c mut ApplyCtx<'_>) -> &'c mut AccessCompat {
    Arc::make_mut(
        ctx.dir
            .access_compat
            .get_or_insert_with(|| Arc::new(AccessCompat::default())),
    )
}

fn order(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let o = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "allow,deny" => Order::AllowDeny,
        "deny,allow" => Order::DenyAllow,
        "mutual-failure" => Order::MutualFailure,
        _ => return Err("unknown order".into()),
    };
    compat(ctx).order = Some(o);
    Ok(())
}

fn rules(ctx: &ApplyCtx<'_>) -> Result<Vec<AccessRule>, String> {
    let a = &ctx.node.args;
    if a.first().map_or(true, |f| !f.eq_ignore_ascii_case("from")) {
        return Err("allow and deny must be followed by 'from'".into());
    }
    let mut out = Vec::new();
    for w in &a[1..] {
        out.push(if w.eq_ignore_ascii_case("all") {
            AccessRule::All
        } else if let Some(v) = w.strip_prefix("env=") {
            match v.strip_prefix('!') {
                Some(n) => AccessRule::Env {
                    name: n.into(),
                    negate: true,
                },
                None => AccessRule::Env {
                    name: v.into(),
                    negate: false,
                },
            }
        } else if let Some(n) = parse_ipnet(w) {
            AccessRule::Ip(n)
        } else {
            AccessRule::Host(w.to_ascii_lowercase())
        });
    }
    Ok(out)
}

fn allow(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let r = rules(ctx)?;
    compat(ctx).allow.extend(r);
    Ok(())
}

fn deny(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let r = rules(ctx)?;
    compat(ctx).deny.extend(r);
    Ok(())
}

fn satisfy(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.satisfy_any = Some(match ctx.arg(0).to_ascii_lowercase().as_str() {
        "all" => false,
        "any" => true,
        _ => return Err("Satisfy either 'any' or 'all'.".into()),
    });
    Ok(())
}
