//! mod_headers: Header and RequestHeader.

use std::sync::Arc;

use super::{def, ApplyCtx};
use crate::config::dir::{EnvCond, HeaderAction, HeaderRule};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "Header",
        RawArgs,
        C::ALL,
        Implemented,
        "an optional condition, an action, header and value followed by optional env clause",
        header,
    ),
    def(
        "RequestHeader",
        RawArgs,
        C::ALL,
        Implemented,
        "an action, header and value followed by optional env clause",
        request_header,
    ),
];

fn parse(ctx: &ApplyCtx<'_>, response: bool) -> Result<HeaderRule, String> {
    let mut a: &[String] = &ctx.node.args;
    let mut always = false;
    if response {
        if let Some(first) = a.first() {
            if first.eq_ignore_ascii_case("always") {
                always = true;
                a = &a[1..];
            } else if first.eq_ignore_ascii_case("onsuccess") {
                a = &a[1..];
            }
        }
    }
    let Some((action, rest)) = a.split_first() else {
        return Err("first argument must be 'add', 'set', 'append', 'merge', 'unset', 'echo', 'note', 'edit', or 'edit*'.".into());
    };
    let action = match action.to_ascii_lowercase().as_str() {
        "set" => HeaderAction::Set,
        "setifempty" => HeaderAction::SetIfEmpty,
        "add" => HeaderAction::Add,
        "append" => HeaderAction::Append,
        "merge" => HeaderAction::Merge,
        "unset" => HeaderAction::Unset,
        "echo" if response => HeaderAction::Echo,
        "edit" => HeaderAction::Edit,
        "edit*" => HeaderAction::EditAll,
        "note" => HeaderAction::Note,
        _ => {
            return Err("first argument must be 'add', 'set', 'append', 'merge', 'unset', 'echo', 'note', 'edit', or 'edit*'.".into())
        }
    };
    let Some((name, rest)) = rest.split_first() else {
        return Err("header name is missing".into());
    };
    let (value, rest): (String, &[String]) = match action {
        HeaderAction::Unset | HeaderAction::Echo => (String::new(), rest),
        _ => match rest.split_first() {
            Some((v, r)) => (v.clone(), r),
            None => return Err("Header requires three arguments".into()),
        },
    };
    if !matches!(action, HeaderAction::Edit | HeaderAction::EditAll) {
        check_format(&value)?;
    }
    let mut edit = None;
    let mut rest = rest;
    if matches!(action, HeaderAction::Edit | HeaderAction::EditAll) {
        let Some((to, r)) = rest.split_first() else {
            return Err("Header edit requires a match and a substitution".into());
        };
        let re = regex::Regex::new(&value)
            .map_err(|_| "Header edit regex could not be compiled".to_string())?;
        edit = Some((re, to.clone()));
        rest = r;
    }
    let mut cond = None;
    for w in rest {
        if let Some(v) = w.strip_prefix("env=") {
            let (negate, name) = match v.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, v),
            };
            cond = Some(EnvCond {
                name: name.to_string(),
                negate,
            });
        } else if w.eq_ignore_ascii_case("early") || w.starts_with("expr=") {
            // `early` and expr= conditions need features we do not have: refuse rather than
            // silently apply the header unconditionally.
            return Err(format!("Header: '{w}' is not supported by mpmd"));
        } else {
            return Err("Too many arguments to directive".into());
        }
    }
    Ok(HeaderRule {
        action,
        always,
        name: name.clone(),
        value,
        edit,
        cond,
    })
}

fn header(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let r = parse(ctx, true)?;
    ctx.dir.headers.push(Arc::new(r));
    Ok(())
}

fn request_header(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let r = parse(ctx, false)?;
    ctx.dir.request_headers.push(Arc::new(r));
    Ok(())
}

/// Refuses a value with a format tag httpd's mod_headers does not know, with its wording.
pub fn check_format(value: &str) -> Result<(), String> {
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        rest = &rest[i + 1..];
        let Some((_, tag, after)) = crate::modules::headers::split_tag(rest) else {
            return Ok(()); // a `%` at the end stays literal
        };
        if rest.starts_with('{') && !rest.contains('}') {
            return Err("Unrecognized header format %".into());
        }
        if !matches!(tag, '%' | 't' | 'D' | 'l' | 'i' | 'b' | 'e' | 's') {
            return Err(format!("Unrecognized header format %{tag}"));
        }
        rest = after;
    }
    Ok(())
}
