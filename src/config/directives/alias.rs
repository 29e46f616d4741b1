//! mod_alias: Alias, AliasMatch, ScriptAlias, ScriptAliasMatch, Redirect, RedirectMatch,
//! RedirectPermanent, RedirectTemp. The ScriptAlias forms map like Alias and make the
//! request's handler `cgi-script` (mod_cgi/mod_cgid run it).

use std::sync::Arc;

use super::{def, po, ApplyCtx};
use crate::config::dir::AliasRule;
use crate::config::pcre::{httpd_message, Regex};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const RSRC: C = C::SERVER_VHOST;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "Alias",
        Take12,
        C::ALL_BUT_HTACCESS,
        Implemented,
        "a fakename and a realname, or a realname in a Location",
        alias,
    ),
    def(
        "AliasMatch",
        Take2,
        RSRC,
        Implemented,
        "a regular expression and a filename",
        alias_match,
    ),
    def(
        "ScriptAlias",
        Take12,
        C::ALL_BUT_HTACCESS,
        Implemented,
        "a fakename and a realname, or a realname in a Location",
        script_alias,
    ),
    def(
        "ScriptAliasMatch",
        Take2,
        RSRC,
        Implemented,
        "a regular expression and a filename",
        script_alias_match,
    ),
    def(
        "Redirect",
        Take123,
        C::ALL,
        Implemented,
        "an optional status, then document to be redirected and destination URL",
        redirect,
    ),
    def(
        "RedirectMatch",
        Take23,
        C::ALL,
        Implemented,
        "an optional status, then a regular expression and destination URL",
        redirect_match,
    ),
    def(
        "RedirectTemp",
        Take2,
        C::ALL,
        Implemented,
        "a document to be redirected, then the destination URL",
        redirect_temp,
    ),
    def(
        "RedirectPermanent",
        Take2,
        C::ALL,
        Implemented,
        "a document to be redirected, then the destination URL",
        redirect_permanent,
    ),
    po(
        "RedirectRelative",
        Flag,
        C::ALL,
        "Set to ON to allow relative redirect targets to be issued as-is",
    ),
];

fn alias(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    alias_as(ctx, "Alias")
}

/// `ScriptAlias`: `Alias` whose target is run as a CGI script, the one-argument form in a
/// `<Location>` included.
fn script_alias(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if !ctx.sections.is_empty() {
        alias_as(ctx, "ScriptAlias")?;
        // The section's expression names a script: the handler is forced, as httpd's.
        if let Some(last) = ctx.dir.aliases.pop() {
            if let AliasRule::AliasExpr(w) = &*last {
                ctx.dir
                    .aliases
                    .push(Arc::new(AliasRule::ScriptAliasExpr(w.clone())));
            }
        }
        return Ok(());
    }
    if ctx.node.args.len() != 2 {
        // httpd names Alias here.
        return Err("Alias must have two arguments when used globally".into());
    }
    let (from, to) = (ctx.arg(0).to_string(), ctx.arg(1).to_string());
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::ScriptAlias { from, to }));
    Ok(())
}

fn script_alias_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let from = Regex::new(ctx.arg(0))
        .map_err(|e| httpd_message(e, "Regular expression could not be compiled."))?;
    let to = ctx.arg(1).to_string();
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::ScriptAliasMatch { from, to }));
    Ok(())
}

/// `Alias` (and the section form of `ScriptAlias`), with httpd's messages naming `cmd`.
fn alias_as(ctx: &mut ApplyCtx<'_>, cmd: &str) -> Result<(), String> {
    let two = ctx.node.args.len() == 2;
    if !ctx.sections.is_empty() {
        // httpd's checks, in its order: any <Limit> around, then the two-argument form
        // anywhere per-directory, then the sections the one-argument form may not be in.
        let within = |names: &[&str]| {
            names.iter().find_map(|n| {
                ctx.sections
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(n))
                    .map(|s| s.name.clone())
            })
        };
        if within(&["Limit", "LimitExcept"]).is_some() {
            return Err(format!(
                "{cmd} cannot occur within <Limit> or <LimitExcept> section"
            ));
        }
        if two {
            return Err(format!("{cmd} cannot occur within directory context"));
        }
        let outer = ["Directory", "DirectoryMatch", "Files", "FilesMatch"];
        if let Some(s) = within(&outer).or_else(|| within(&["If", "ElseIf", "Else"])) {
            return Err(format!("{cmd} cannot occur within <{s}> section"));
        }
        // In a <Location>: the file for every URL the section covers, an ap_expr string.
        let expr = crate::config::expr::parse_string(ctx.arg(0))
            .map_err(|e| format!("Cannot parse alias expression '{}': {e}", ctx.arg(0)))?;
        ctx.dir.aliases.push(Arc::new(AliasRule::AliasExpr(expr)));
        return Ok(());
    }
    if !two {
        return Err("Alias must have two arguments when used globally".into());
    }
    let (from, to) = (ctx.arg(0).to_string(), ctx.arg(1).to_string());
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::Alias { from, to }));
    Ok(())
}

fn alias_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let from = Regex::new(ctx.arg(0))
        .map_err(|e| httpd_message(e, "Regular expression could not be compiled."))?;
    let to = ctx.arg(1).to_string();
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::AliasMatch { from, to }));
    Ok(())
}

fn is_url(s: &str) -> bool {
    s.split_once("://")
        .is_some_and(|(sch, _)| !sch.is_empty() && sch.bytes().all(|b| b.is_ascii_alphanumeric()))
        || s.starts_with('/')
}

/// httpd's expression form: a lone target (`[status] target` in a section) is an ap_expr
/// string evaluated per request, and `gone` alone answers 410 for everything the section (or
/// server) covers. `None` for the usual `[status] path [url]` forms.
fn expression_form(ctx: &ApplyCtx<'_>) -> Result<Option<AliasRule>, String> {
    let a = &ctx.node.args;
    let first = a[0].to_ascii_lowercase();
    let status = match first.as_str() {
        "permanent" => Some(301),
        "temp" => Some(302),
        "seeother" => Some(303),
        "gone" => Some(410),
        s if s.starts_with(|c: char| c.is_ascii_digit()) => {
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            Some(s[..n].parse().unwrap_or(0))
        }
        _ => None,
    };
    let in_section = !ctx.sections.is_empty();
    let target = match (a.len(), status) {
        (1, Some(410)) => {
            return Ok(Some(AliasRule::RedirectExpr {
                status: 410,
                to: None,
            }))
        }
        (1, None) if in_section => (302, &a[0]),
        (2, Some(s)) if s != 410 && in_section => (s, &a[1]),
        _ => return Ok(None),
    };
    let to = crate::config::expr::parse_string(target.1)
        .map_err(|e| format!("Cannot parse redirect expression '{}': {e}", target.1))?;
    Ok(Some(AliasRule::RedirectExpr {
        status: target.0,
        to: Some(to),
    }))
}

/// `[status] path [url]` → (status, path, url).
fn redirect_args(
    ctx: &ApplyCtx<'_>,
    fixed: Option<u16>,
) -> Result<(u16, String, Option<String>), String> {
    let a = &ctx.node.args;
    let (status, rest): (u16, &[String]) = match fixed {
        Some(s) => (s, &a[..]),
        None => match a[0].to_ascii_lowercase().as_str() {
            "permanent" => (301, &a[1..]),
            "temp" => (302, &a[1..]),
            "seeother" => (303, &a[1..]),
            "gone" => (410, &a[1..]),
            s if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) => {
                (s.parse().unwrap_or(302), &a[1..])
            }
            _ => (302, &a[..]),
        },
    };
    let redirect_like = (300..400).contains(&status);
    match rest {
        [path, url] if redirect_like => {
            if !is_url(url) {
                return Err("Redirect to non-URL".into());
            }
            Ok((status, path.clone(), Some(url.clone())))
        }
        [path] if !redirect_like => Ok((status, path.clone(), None)),
        [_, _] => Err("Redirect URL not valid for this status".into()),
        [_] | [] if redirect_like => Err("URL to redirect to is missing".into()),
        _ => Err("Redirect takes one, two or three arguments, an optional status, then document to be redirected and destination URL".into()),
    }
}

fn redirect(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if let Some(rule) = expression_form(ctx)? {
        ctx.dir.aliases.push(Arc::new(rule));
        return Ok(());
    }
    let (status, from, to) = redirect_args(ctx, None)?;
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::Redirect { status, from, to }));
    Ok(())
}

fn redirect_temp(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let (status, from, to) = redirect_args(ctx, Some(302))?;
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::Redirect { status, from, to }));
    Ok(())
}

fn redirect_permanent(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let (status, from, to) = redirect_args(ctx, Some(301))?;
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::Redirect { status, from, to }));
    Ok(())
}

fn redirect_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if let Some(rule) = expression_form(ctx)? {
        ctx.dir.aliases.push(Arc::new(rule));
        return Ok(());
    }
    let (status, from, to) = redirect_args(ctx, None)?;
    let from = Regex::new(&from)
        .map_err(|e| httpd_message(e, "Regular expression could not be compiled."))?;
    ctx.dir
        .aliases
        .push(Arc::new(AliasRule::RedirectMatch { status, from, to }));
    Ok(())
}
