//! mod_headers: Header and RequestHeader.

use std::sync::Arc;

use super::{def, ApplyCtx};
use crate::config::dir::{EnvCond, HeaderAction, HeaderCond, HeaderRule};
use crate::config::expr;
use crate::config::pcre::{httpd_message, Regex};
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

/// httpd's `header_cmd` / `header_inout_cmd`: the words, their roles by action, then the
/// condition clause (`env=`, `expr=`, `early`), with httpd's messages.
fn parse(ctx: &ApplyCtx<'_>, response: bool) -> Result<HeaderRule, String> {
    const BAD_ACTION: &str = "first argument must be 'add', 'set', 'append', 'merge', 'unset', \
                              'echo', 'note', 'edit', or 'edit*'.";
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
        return Err(BAD_ACTION.into());
    };
    if rest.len() > 4 {
        let d = if response { "Header" } else { "RequestHeader" };
        return Err(format!("{d} has too many arguments"));
    }
    let word = |i: usize| rest.get(i).map(String::as_str);
    let (name, mut value, subs, mut clause) = (word(0).unwrap_or(""), word(1), word(2), word(3));
    let action = match action.to_ascii_lowercase().as_str() {
        "set" => HeaderAction::Set,
        "setifempty" => HeaderAction::SetIfEmpty,
        "add" => HeaderAction::Add,
        "append" => HeaderAction::Append,
        "merge" => HeaderAction::Merge,
        "unset" => HeaderAction::Unset,
        "echo" => HeaderAction::Echo,
        "edit" => HeaderAction::Edit,
        "edit*" => HeaderAction::EditAll,
        "note" => HeaderAction::Note,
        _ => return Err(BAD_ACTION.into()),
    };
    let mut edit = None;
    if matches!(action, HeaderAction::Edit | HeaderAction::EditAll) {
        let Some(to) = subs else {
            return Err("Header edit requires a match and a substitution".into());
        };
        let re = Regex::new(value.unwrap_or(""))
            .map_err(|e| httpd_message(e, "Header edit regex could not be compiled"))?;
        edit = Some((re, to.to_string()));
    } else {
        // Without a substitution the third word is the condition clause.
        if clause.is_some() {
            return Err("Too many arguments to directive".into());
        }
        clause = subs;
    }
    match action {
        HeaderAction::Unset | HeaderAction::Echo => {
            if let Some(v) = value.take() {
                if clause.is_some() {
                    return Err(if action == HeaderAction::Unset {
                        "header unset takes two arguments".into()
                    } else {
                        "Header echo takes two arguments".into()
                    });
                }
                clause = Some(v);
            }
            if action == HeaderAction::Echo && !response {
                return Err("Header echo only valid on Header directives".into());
            }
            if action == HeaderAction::Echo {
                let re = Regex::new(name)
                    .map_err(|e| httpd_message(e, "Header echo regex could not be compiled"))?;
                edit = Some((re, String::new()));
            }
        }
        _ if value.is_none() => return Err("Header requires three arguments".into()),
        _ => {}
    }
    let cond = match clause {
        None => HeaderCond::None,
        Some(c) if c.eq_ignore_ascii_case("early") => HeaderCond::Early,
        Some(c) if c.len() >= 4 && c[..4].eq_ignore_ascii_case("env=") => {
            let v = &c[4..];
            let (negate, var) = match v.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, v),
            };
            if var.is_empty() {
                return Err(
                    "error: missing environment variable name. envclause should be \
                            in the form env=envar "
                        .into(),
                );
            }
            HeaderCond::Env(EnvCond {
                name: var.to_string(),
                negate,
            })
        }
        Some(c) if c.len() >= 5 && c[..5].eq_ignore_ascii_case("expr=") => HeaderCond::Expr(
            expr::parse(&c[5..]).map_err(|e| format!("Can't parse envclause/expression: {e}"))?,
        ),
        Some(c) => return Err(format!("Unknown parameter: {c}")),
    };
    // `Header set X-Name: v` names `X-Name`.
    let name = name.split(':').next().unwrap_or("");
    let mut value_expr = None;
    let value = value.unwrap_or("");
    if matches!(action, HeaderAction::Edit | HeaderAction::EditAll) {
        // The value is the edit's regex.
    } else if let Some(e) = value.strip_prefix("expr=") {
        // Case-sensitive, as in httpd: `EXPR=` is a format string.
        value_expr =
            Some(expr::parse_string(e).map_err(|e| format!("Can't parse value expression : {e}"))?);
    } else {
        check_format(value)?;
    }
    Ok(HeaderRule {
        action,
        always,
        name: name.to_string(),
        value: value.to_string(),
        value_expr,
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
