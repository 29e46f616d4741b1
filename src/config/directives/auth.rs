//! mod_auth_basic, mod_authn_file and mod_authn_core's AuthType/AuthName: who the client is.
//! `Require user`/`valid-user` (mod_authz_user) are parsed with the other Require providers in
//! `authz.rs`; the checks run in `modules::auth_basic`.

use std::path::PathBuf;
use std::sync::Arc;

use super::{def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

/// Directory and .htaccess (httpd's OR_AUTHCFG).
const AUTH: C = C(4 | 8);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthConf {
    /// `AuthType` (`Basic`, `None` …) as written.
    pub auth_type: Option<String>,
    pub auth_name: Option<String>,
    pub user_file: Option<PathBuf>,
    /// `AuthBasicProvider` (only `file` is built).
    pub providers: Option<Vec<String>>,
    pub authoritative: Option<bool>,
}

impl AuthConf {
    pub fn merge(&self, over: &AuthConf) -> AuthConf {
        AuthConf {
            auth_type: over.auth_type.clone().or_else(|| self.auth_type.clone()),
            auth_name: over.auth_name.clone().or_else(|| self.auth_name.clone()),
            user_file: over.user_file.clone().or_else(|| self.user_file.clone()),
            providers: over.providers.clone().or_else(|| self.providers.clone()),
            authoritative: over.authoritative.or(self.authoritative),
        }
    }
    /// `AuthType Basic` is in force.
    pub fn is_basic(&self) -> bool {
        self.auth_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("basic"))
    }
}

pub static AUTH_BASIC: &[DirectiveDef] = &[
    def("AuthBasicProvider", Iterate, AUTH, Implemented, "specify the auth providers for a directory or location", provider),
    def("AuthBasicAuthoritative", Flag, AUTH, Implemented, "Set to 'Off' to allow access control to be passed along to lower modules if the UserID is not known to this module", authoritative),
    po("AuthBasicFake", Take12, AUTH, "Fake basic authentication using the given expressions for username and password, 'off' to disable."),
    po("AuthBasicUseDigestAlgorithm", Take1, AUTH, "Set to 'MD5' to use the auth provider's authentication check for digest auth"),
];

pub static AUTHN_FILE: &[DirectiveDef] = &[def(
    "AuthUserFile",
    Take12,
    AUTH,
    Implemented,
    "text file containing user IDs and passwords",
    user_file,
)];

fn conf<'a>(ctx: &'a mut ApplyCtx<'_>) -> &'a mut AuthConf {
    Arc::make_mut(ctx.dir.auth.get_or_insert_with(Default::default))
}

/// `AuthType` (mod_authn_core).
pub fn auth_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let t = ctx.arg(0).to_string();
    if !["basic", "none", "digest", "form"].contains(&t.to_ascii_lowercase().as_str()) {
        return Err(format!("AuthType: unknown authentication type '{t}'"));
    }
    if t.eq_ignore_ascii_case("digest") || t.eq_ignore_ascii_case("form") {
        return Err(format!(
            "AuthType {t} is not supported by mpmd (only Basic)"
        ));
    }
    conf(ctx).auth_type = Some(t);
    Ok(())
}

/// `AuthName` (mod_authn_core).
pub fn auth_name(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let n = ctx.arg(0).to_string();
    conf(ctx).auth_name = Some(n);
    Ok(())
}

fn provider(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let ps: Vec<String> = ctx
        .node
        .args
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    if let Some(p) = ps.iter().find(|p| p.as_str() != "file") {
        return Err(format!(
            "Unknown Authn provider: {p} (mpmd has the 'file' provider only)"
        ));
    }
    conf(ctx).providers = Some(ps);
    Ok(())
}

fn authoritative(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = super::flag(ctx);
    conf(ctx).authoritative = Some(on);
    Ok(())
}

fn user_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.node.args.len() == 2 {
        return Err("AuthUserFile: only plain file names are supported by mpmd".into());
    }
    let p = PathBuf::from(ctx.arg(0));
    let p = if p.is_absolute() {
        p
    } else {
        ctx.global.server_root.join(p)
    };
    conf(ctx).user_file = Some(p);
    Ok(())
}
