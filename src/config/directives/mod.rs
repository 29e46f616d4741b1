//! The directive tables of the built-in modules, one file per module family, and the context
//! each `apply` function receives. `MODULES` is the registry: every module mpmd has, with
//! Debian's name, its `LoadModule` identifier and the source file name `<IfModule>` accepts.

use super::registry::{Contexts, DirectiveDef, ModuleDef};

pub mod alias;
pub mod auth;
pub mod authz;
pub mod autoindex;
pub mod cgi;
pub mod core;
pub mod core_dir;
pub mod deflate;
pub mod dir;
pub mod env;
pub mod expires;
pub mod headers;
pub mod http2;
pub mod log_config;
pub mod mime;
pub mod misc;
pub mod mpm;
pub mod proxy;
pub mod remoteip;
pub mod reqtimeout;
pub mod rewrite;
pub mod setenvif;
pub mod so;
pub mod ssl;
pub mod status;
use super::{DirConf, ServerConf, ServerConfig};
use crate::conf::Node;

/// What a directive's `apply` sees and may change. While a server's directives are walked,
/// `server` is that server (taken out of `global` for the walk); `dir` is the section being
/// filled, or `server.dir`'s stand-in at server/vhost level.
pub struct ApplyCtx<'a> {
    pub node: &'a Node,
    /// Where the directive is written: exactly one of the `Contexts` bits.
    pub context: Contexts,
    /// The per-directory sections around it, outermost first (empty at server level).
    pub sections: &'a [&'a Node],
    pub global: &'a mut ServerConfig,
    pub server: &'a mut ServerConf,
    pub dir: &'a mut DirConf,
}

impl ApplyCtx<'_> {
    /// The first argument (arity is checked before `apply` runs, so it exists for TAKE1 …).
    pub fn arg(&self, i: usize) -> &str {
        self.node.args.get(i).map(String::as_str).unwrap_or("")
    }
    /// True inside `<VirtualHost>` (directly, or in a section within it).
    pub fn in_vhost(&self) -> bool {
        self.server.span.is_some()
    }
    /// Records that this server wrote a setting (vhost inheritance).
    pub fn mark(&mut self, key: &'static str) {
        if !self.server.set_here.contains(&key) {
            self.server.set_here.push(key);
        }
    }
}

/// Modules compiled into Debian's apache2 binary, always loaded (`apache2 -l`).
pub static STATIC_MODULES: &[&str] = &[
    "core",
    "so",
    "watchdog",
    "http",
    "log_config",
    "logio",
    "version",
    "unixd",
];

/// Directives of a shared table that Apache registers in another module than the table's.
pub fn owner_override(directive: &str) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("Order", "access_compat"),
        ("Allow", "access_compat"),
        ("Deny", "access_compat"),
        ("Satisfy", "access_compat"),
        ("AuthType", "authn_core"),
        ("AuthName", "authn_core"),
        ("AuthnProviderAlias", "authn_core"),
    ];
    MAP.iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(directive))
        .map(|(_, m)| *m)
}

macro_rules! module {
    ($name:literal, $id:literal, $src:literal, $static:literal, [$($t:expr),* $(,)?]) => {
        ModuleDef {
            name: $name,
            identifier: $id,
            source: $src,
            is_static: $static,
            directives: &[$($t),*],
        }
    };
}

const NONE: &[DirectiveDef] = &[];

/// Every built-in module, in the order `-M` lists the static ones (Debian's `apache2 -l`).
/// Modules we will never build (php, perl …) are absent on purpose: `LoadModule` of them
/// is a clear error.
pub static MODULES: &[ModuleDef] = &[
    module!(
        "core",
        "core_module",
        "core.c",
        true,
        [core::DIRECTIVES, core_dir::DIRECTIVES]
    ),
    module!("so", "so_module", "mod_so.c", true, [so::DIRECTIVES]),
    module!(
        "watchdog",
        "watchdog_module",
        "mod_watchdog.c",
        true,
        [misc::WATCHDOG]
    ),
    module!(
        "http",
        "http_module",
        "http_core.c",
        true,
        [core::HTTP_CORE]
    ),
    module!(
        "log_config",
        "log_config_module",
        "mod_log_config.c",
        true,
        [log_config::DIRECTIVES]
    ),
    module!("logio", "logio_module", "mod_logio.c", true, [misc::LOGIO]),
    module!("version", "version_module", "mod_version.c", true, [NONE]),
    module!("unixd", "unixd_module", "mod_unixd.c", true, [misc::UNIXD]),
    module!(
        "mpm_prefork",
        "mpm_prefork_module",
        "prefork.c",
        false,
        [mpm::COMMON, mpm::PREFORK]
    ),
    module!(
        "mpm_worker",
        "mpm_worker_module",
        "worker.c",
        false,
        [mpm::COMMON, mpm::THREADED]
    ),
    module!(
        "mpm_event",
        "mpm_event_module",
        "event.c",
        false,
        [mpm::COMMON, mpm::THREADED, mpm::EVENT]
    ),
    module!(
        "access_compat",
        "access_compat_module",
        "mod_access_compat.c",
        false,
        [NONE]
    ),
    module!(
        "alias",
        "alias_module",
        "mod_alias.c",
        false,
        [alias::DIRECTIVES]
    ),
    module!(
        "auth_basic",
        "auth_basic_module",
        "mod_auth_basic.c",
        false,
        [auth::AUTH_BASIC]
    ),
    module!(
        "authn_core",
        "authn_core_module",
        "mod_authn_core.c",
        false,
        [NONE]
    ),
    module!(
        "authn_file",
        "authn_file_module",
        "mod_authn_file.c",
        false,
        [auth::AUTHN_FILE]
    ),
    module!(
        "authz_core",
        "authz_core_module",
        "mod_authz_core.c",
        false,
        [authz::DIRECTIVES]
    ),
    module!(
        "authz_host",
        "authz_host_module",
        "mod_authz_host.c",
        false,
        [NONE]
    ),
    module!(
        "authz_user",
        "authz_user_module",
        "mod_authz_user.c",
        false,
        [NONE]
    ),
    module!(
        "autoindex",
        "autoindex_module",
        "mod_autoindex.c",
        false,
        [autoindex::DIRECTIVES]
    ),
    module!("cgi", "cgi_module", "mod_cgi.c", false, [cgi::CGI]),
    module!("cgid", "cgid_module", "mod_cgid.c", false, [cgi::CGID]),
    module!(
        "deflate",
        "deflate_module",
        "mod_deflate.c",
        false,
        [deflate::DIRECTIVES]
    ),
    module!("dir", "dir_module", "mod_dir.c", false, [dir::DIRECTIVES]),
    module!("env", "env_module", "mod_env.c", false, [env::DIRECTIVES]),
    module!(
        "expires",
        "expires_module",
        "mod_expires.c",
        false,
        [expires::DIRECTIVES]
    ),
    module!(
        "filter",
        "filter_module",
        "mod_filter.c",
        false,
        [misc::FILTER]
    ),
    module!(
        "headers",
        "headers_module",
        "mod_headers.c",
        false,
        [headers::DIRECTIVES]
    ),
    module!(
        "http2",
        "http2_module",
        "mod_http2.c",
        false,
        [http2::DIRECTIVES]
    ),
    module!(
        "mime",
        "mime_module",
        "mod_mime.c",
        false,
        [mime::DIRECTIVES]
    ),
    module!(
        "negotiation",
        "negotiation_module",
        "mod_negotiation.c",
        false,
        [misc::NEGOTIATION]
    ),
    module!(
        "proxy",
        "proxy_module",
        "mod_proxy.c",
        false,
        [proxy::DIRECTIVES]
    ),
    module!(
        "proxy_fcgi",
        "proxy_fcgi_module",
        "mod_proxy_fcgi.c",
        false,
        [proxy::FCGI]
    ),
    module!(
        "proxy_http",
        "proxy_http_module",
        "mod_proxy_http.c",
        false,
        [NONE]
    ),
    module!(
        "proxy_wstunnel",
        "proxy_wstunnel_module",
        "mod_proxy_wstunnel.c",
        false,
        [NONE]
    ),
    module!(
        "remoteip",
        "remoteip_module",
        "mod_remoteip.c",
        false,
        [remoteip::DIRECTIVES]
    ),
    module!(
        "reqtimeout",
        "reqtimeout_module",
        "mod_reqtimeout.c",
        false,
        [reqtimeout::DIRECTIVES]
    ),
    module!(
        "rewrite",
        "rewrite_module",
        "mod_rewrite.c",
        false,
        [rewrite::DIRECTIVES]
    ),
    module!(
        "setenvif",
        "setenvif_module",
        "mod_setenvif.c",
        false,
        [setenvif::DIRECTIVES]
    ),
    module!(
        "socache_shmcb",
        "socache_shmcb_module",
        "mod_socache_shmcb.c",
        false,
        [NONE]
    ),
    module!("ssl", "ssl_module", "mod_ssl.c", false, [ssl::DIRECTIVES]),
    module!(
        "status",
        "status_module",
        "mod_status.c",
        false,
        [status::DIRECTIVES]
    ),
];

/// C's `atoi`: leading blanks, an optional sign, digits; anything else ends the number and
/// garbage gives 0 (httpd reads most numbers this way, spec/mpm.md §1).
pub fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// The value of a FLAG directive (the walk already checked it is `on` or `off`).
pub fn flag(ctx: &ApplyCtx<'_>) -> bool {
    ctx.arg(0).eq_ignore_ascii_case("on")
}

/// For directives whose work happens elsewhere (read-time directives `conf::expand` already
/// ran, sections the walk handles itself).
pub fn noop(_: &mut ApplyCtx<'_>) -> Result<(), String> {
    Ok(())
}

/// For `Support::ParsedOnly` directives: remembered with their span so the server can say
/// once at startup that they have no effect yet.
pub fn parsed_only(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let name = ctx.node.name.clone();
    ctx.global.parsed_only.push((name, ctx.node.span.clone()));
    ctx.server.extra.push(ctx.node.clone());
    Ok(())
}

/// For `Support::Unsupported` directives: a clear error instead of a silent skip.
pub fn unsupported(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    Err(format!(
        "{} is not supported by mpmd (it would change access control or request handling)",
        ctx.node.name
    ))
}

/// An unsupported directive.
pub(crate) const fn un(
    name: &'static str,
    args: super::registry::Args,
    contexts: Contexts,
    help: &'static str,
) -> DirectiveDef {
    def(
        name,
        args,
        contexts,
        super::registry::Support::Unsupported,
        help,
        unsupported,
    )
}

/// Shorthand for table entries.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn def(
    name: &'static str,
    args: super::registry::Args,
    contexts: Contexts,
    support: super::registry::Support,
    help: &'static str,
    apply: fn(&mut ApplyCtx<'_>) -> Result<(), String>,
) -> DirectiveDef {
    DirectiveDef {
        name,
        args,
        contexts,
        support,
        help,
        apply,
        section: false,
    }
}

/// A parsed-only directive.
pub(crate) const fn po(
    name: &'static str,
    args: super::registry::Args,
    contexts: Contexts,
    help: &'static str,
) -> DirectiveDef {
    def(
        name,
        args,
        contexts,
        super::registry::Support::ParsedOnly,
        help,
        parsed_only,
    )
}

/// A section the walk builds itself.
pub(crate) const fn section(
    name: &'static str,
    contexts: Contexts,
    support: super::registry::Support,
    help: &'static str,
) -> DirectiveDef {
    DirectiveDef {
        name,
        args: super::registry::Args::RawArgs,
        contexts,
        support,
        help,
        apply: noop,
        section: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_is_c_like() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("  -7x"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("+3"), 3);
        assert_eq!(atoi(""), 0);
    }

    #[test]
    fn module_names_are_unique() {
        for (i, m) in MODULES.iter().enumerate() {
            assert!(
                MODULES[i + 1..].iter().all(|o| o.name != m.name),
                "{}",
                m.name
            );
            assert_eq!(m.identifier, format!("{}_module", m.name));
        }
    }
}
