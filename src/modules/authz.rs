//! Access control: mod_authz_core (`Require`, `<RequireAll|Any|None>`), mod_authz_host
//! (`ip`, `host`, `local`, `forward-dns`), and mod_access_compat (`Order`, `Allow`, `Deny`,
//! `Satisfy`). Without a client identity (no auth modules) user/group requirements never grant.

use std::net::IpAddr;

use super::request::Request;
use crate::config::dir::{AccessCompat, AccessRule, Authz, Order, Provider};

/// Tri-state result of an authz provider (httpd's granted / denied / neutral).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum R {
    Granted,
    Denied,
    Neutral,
}

fn provider(p: &Provider, req: &Request<'_>) -> R {
    let ip = req.peer.ip().to_canonical();
    let yes = |b: bool| if b { R::Granted } else { R::Denied };
    match p {
        Provider::All(g) => yes(*g),
        Provider::Ip(nets) => yes(nets.iter().any(|n| n.contains(ip))),
        Provider::Local => yes(ip.is_loopback() || ip == req.local.ip().to_canonical()),
        // No reverse lookups (HostnameLookups Off): a host requirement cannot match.
        Provider::Host(_) | Provider::ForwardDns(_) => R::Denied,
        Provider::Env(vars) => yes(vars.iter().any(|v| req.env_var(v).is_some())),
        Provider::Method(ms) => yes(ms.iter().any(|m| m.eq_ignore_ascii_case(req.method_str))),
        Provider::User(names) => match req.env_var("REMOTE_USER") {
            Some(u) => yes(names.iter().any(|n| n == u)),
            None => R::Denied,
        },
        Provider::ValidUser => yes(req.env_var("REMOTE_USER").is_some()),
        Provider::Unsupported(_) => R::Denied,
    }
}

fn eval(a: &Authz, req: &Request<'_>) -> R {
    match a {
        Authz::Require {
            negate,
            provider: p,
        } => {
            let r = provider(p, req);
            if *negate {
                match r {
                    R::Granted => R::Denied,
                    R::Denied => R::Neutral,
                    R::Neutral => R::Neutral,
                }
            } else {
                r
            }
        }
        Authz::All(items) => {
            let mut any_granted = false;
            for i in items {
                match eval(i, req) {
                    R::Denied => return R::Denied,
                    R::Granted => any_granted = true,
                    R::Neutral => {}
                }
            }
            if any_granted {
                R::Granted
            } else {
                R::Neutral
            }
        }
        Authz::Any(items) => {
            let mut denied = false;
            for i in items {
                match eval(i, req) {
                    R::Granted => return R::Granted,
                    R::Denied => denied = true,
                    R::Neutral => {}
                }
            }
            if denied {
                R::Denied
            } else {
                R::Neutral
            }
        }
        Authz::None(items) => {
            for i in items {
                if eval(i, req) == R::Granted {
                    return R::Denied;
                }
            }
            R::Neutral
        }
    }
}

fn rule_matches(r: &AccessRule, ip: IpAddr, req: &Request<'_>) -> bool {
    match r {
        AccessRule::All => true,
        AccessRule::Ip(n) => n.contains(ip),
        AccessRule::Host(_) => false,
        AccessRule::Env { name, negate } => req.env_var(name).is_some() != *negate,
    }
}

fn access_compat(a: &AccessCompat, req: &Request<'_>) -> bool {
    let ip = req.peer.ip().to_canonical();
    let allowed = a.allow.iter().any(|r| rule_matches(r, ip, req));
    let denied = a.deny.iter().any(|r| rule_matches(r, ip, req));
    match a.order.unwrap_or(Order::DenyAllow) {
        Order::DenyAllow => !denied || allowed,
        Order::AllowDeny => allowed && !denied,
        Order::MutualFailure => allowed && !denied,
    }
}

/// The access and authz phases: `Ok` or the status to answer with (403).
pub fn check(req: &Request<'_>) -> Result<(), u16> {
    let host_ok = req
        .dir
        .access_compat
        .as_deref()
        .map_or(true, |a| access_compat(a, req));
    let authz_ok = match req.dir.authz.as_deref() {
        // No Require anywhere: granted (httpd 2.4 without authz configuration).
        None => true,
        Some(a) => eval(a, req) == R::Granted,
    };
    let ok = if req.dir.satisfy_any == Some(true) {
        host_ok || authz_ok
    } else {
        host_ok && authz_ok
    };
    if ok {
        Ok(())
    } else {
        Err(403)
    }
}
