//! Access control: mod_authz_core (`Require`, `<RequireAll|Any|None>`), mod_authz_host
//! (`ip`, `host`, `local`, `forward-dns`), and mod_access_compat (`Order`, `Allow`, `Deny`,
//! `Satisfy`); `Require user`/`valid-user` (mod_authz_user) ask mod_auth_basic for the user.

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

fn provider(p: &Provider, req: &Request<'_>, any_user: bool) -> R {
    let ip = req.useragent.ip().to_canonical();
    let yes = |b: bool| if b { R::Granted } else { R::Denied };
    match p {
        Provider::All(g) => yes(*g),
        Provider::Ip(nets) => yes(nets.iter().any(|n| n.contains(ip))),
        Provider::Local => yes(ip.is_loopback() || ip == req.local.ip().to_canonical()),
        // No reverse lookups (HostnameLookups Off): a host requirement cannot match.
        Provider::Host(_) | Provider::ForwardDns(_) => R::Denied,
        Provider::Env(vars) => yes(vars.iter().any(|v| req.env_var(v).is_some())),
        Provider::Expr(c) => yes(crate::config::expr::eval(c, req)),
        Provider::Method(ms) => yes(ms.iter().any(|m| m.eq_ignore_ascii_case(req.method_str))),
        Provider::User(_) | Provider::ValidUser if any_user => R::Granted,
        Provider::User(names) => match req.env_var("REMOTE_USER") {
            Some(u) => yes(names.iter().any(|n| n == u)),
            None => R::Denied,
        },
        Provider::ValidUser => yes(req.env_var("REMOTE_USER").is_some()),
        Provider::Unsupported(_) => R::Denied,
    }
}

/// `any_user`: pretend the user requirements are met (would credentials help at all?).
fn eval(a: &Authz, req: &Request<'_>, any_user: bool) -> R {
    match a {
        Authz::Require {
            negate,
            provider: p,
        } => {
            let r = provider(p, req, any_user);
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
                match eval(i, req, any_user) {
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
                match eval(i, req, any_user) {
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
                if eval(i, req, any_user) == R::Granted {
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
    let ip = req.useragent.ip().to_canonical();
    let allowed = a.allow.iter().any(|r| rule_matches(r, ip, req));
    let denied = a.deny.iter().any(|r| rule_matches(r, ip, req));
    match a.order.unwrap_or(Order::DenyAllow) {
        Order::DenyAllow => !denied || allowed,
        Order::AllowDeny => allowed && !denied,
        Order::MutualFailure => allowed && !denied,
    }
}

fn wants_user(a: &Authz) -> bool {
    match a {
        Authz::Require { provider, .. } => {
            matches!(provider, Provider::User(_) | Provider::ValidUser)
        }
        Authz::All(v) | Authz::Any(v) | Authz::None(v) => v.iter().any(wants_user),
    }
}

/// The access, authentication (mod_auth_basic) and authz phases: when the requirements are
/// not met without a user and name one, the client must authenticate (401), then the
/// requirements are checked again with the user (401 again when they still fail).
pub fn check_auth(req: &mut Request<'_>, resp: &mut super::Response) -> Result<(), u16> {
    let first = check(req);
    // Ask for credentials only when a user could change the answer (a failed `Require ip`
    // inside `<RequireAll>` stays a 403, as in httpd).
    let needs_user = req
        .dir
        .authz
        .as_deref()
        .is_some_and(|a| wants_user(a) && eval(a, req, true) == R::Granted)
        && req.env_var("REMOTE_USER").is_none();
    let host_denied = req.dir.satisfy_any != Some(true) && !host_ok(req);
    if first.is_ok() || !needs_user || host_denied {
        return first;
    }
    super::auth_basic::authenticate(req, resp)?;
    if check(req).is_err() {
        let user = req.env_var("REMOTE_USER").unwrap_or("");
        crate::ap_log!(
            error,
            "authz_core",
            "AH01631: user {user}: authorization failure for \"{}\": ",
            req.uri
        );
        super::auth_basic::note_failure(req, resp);
        return Err(401);
    }
    Ok(())
}

fn host_ok(req: &Request<'_>) -> bool {
    req.dir
        .access_compat
        .as_deref()
        .map_or(true, |a| access_compat(a, req))
}

/// The access and authz phases: `Ok` or the status to answer with (403).
pub fn check(req: &Request<'_>) -> Result<(), u16> {
    let host_ok = host_ok(req);
    let authz_ok = match req.dir.authz.as_deref() {
        // No Require anywhere: granted (httpd 2.4 without authz configuration).
        None => true,
        Some(a) => eval(a, req, false) == R::Granted,
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
