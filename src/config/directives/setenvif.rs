//! mod_setenvif: SetEnvIf, SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase, SetEnvIfExpr
//! (an ap_expr condition of the subset `<If>` takes).

use std::sync::Arc;

use super::{def, ApplyCtx};
use crate::config::dir::{SetEnvIfRule, SetEnvIfTest};
use crate::config::pcre::{httpd_message, Regex};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "SetEnvIf",
        RawArgs,
        C::ALL,
        Implemented,
        "A header-name, regex and a list of variables.",
        set_env_if,
    ),
    def(
        "SetEnvIfNoCase",
        RawArgs,
        C::ALL,
        Implemented,
        "a header-name, regex and a list of variables.",
        set_env_if_nocase,
    ),
    def(
        "BrowserMatch",
        RawArgs,
        C::ALL,
        Implemented,
        "A browser regex and a list of variables.",
        browser_match,
    ),
    def(
        "BrowserMatchNoCase",
        RawArgs,
        C::ALL,
        Implemented,
        "A browser regex and a list of variables.",
        browser_match_nocase,
    ),
    def(
        "SetEnvIfExpr",
        RawArgs,
        C::ALL,
        Implemented,
        "an expression and a list of variables.",
        set_env_if_expr,
    ),
];

fn rule(
    ctx: &mut ApplyCtx<'_>,
    attribute: String,
    words: &[String],
    nocase: bool,
) -> Result<(), String> {
    let name = ctx.node.name.clone();
    let Some((re, vars)) = words.split_first() else {
        return Err(format!("Missing regular expression for {name}"));
    };
    if vars.is_empty() {
        return Err(format!("Missing envariable expression for {name}"));
    }
    let regex = Regex::with_nocase(re, nocase)
        .map_err(|e| httpd_message(e, &format!("{name} regex could not be compiled.")))?;
    // An attribute that is not a plain name is a regex over header names.
    let plain = attribute
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let attribute_regex = if plain {
        None
    } else {
        Some(
            Regex::with_nocase(&attribute, true)
                .map_err(|e| httpd_message(e, &format!("{name} regex could not be compiled.")))?,
        )
    };
    ctx.dir.setenvif.push(Arc::new(SetEnvIfRule {
        test: SetEnvIfTest::Attribute {
            attribute,
            attribute_regex,
            regex,
        },
        vars: var_list(vars),
    }));
    Ok(())
}

/// `name`, `name=value` or `!name`.
fn var_list(vars: &[String]) -> Vec<(String, Option<String>)> {
    vars.iter()
        .map(|v| match v.strip_prefix('!') {
            Some(n) => (n.to_string(), None),
            None => match v.split_once('=') {
                Some((n, val)) => (n.to_string(), Some(val.to_string())),
                None => (v.clone(), Some("1".to_string())),
            },
        })
        .collect()
}

/// `SetEnvIfExpr expr var…`: httpd's messages for a missing or unparsable expression.
fn set_env_if_expr(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.node.args.clone();
    let Some((text, vars)) = a.split_first() else {
        return Err("Missing expression for SetEnvIfExpr".into());
    };
    if vars.is_empty() {
        return Err("Missing envariable expression for SetEnvIfExpr".into());
    }
    let cond = crate::config::expr::parse(text)
        .map_err(|e| format!("Could not parse expression \"{text}\": {e}"))?;
    ctx.dir.setenvif.push(Arc::new(SetEnvIfRule {
        test: SetEnvIfTest::Expr(cond),
        vars: var_list(vars),
    }));
    Ok(())
}

fn set_env_if(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.node.args.clone();
    let Some((attr, rest)) = a.split_first() else {
        return Err("Missing header-field name".into());
    };
    rule(ctx, attr.clone(), rest, false)
}

fn set_env_if_nocase(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.node.args.clone();
    let Some((attr, rest)) = a.split_first() else {
        return Err("Missing header-field name".into());
    };
    rule(ctx, attr.clone(), rest, true)
}

fn browser_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.node.args.clone();
    rule(ctx, "User-Agent".into(), &a, false)
}

fn browser_match_nocase(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.node.args.clone();
    rule(ctx, "User-Agent".into(), &a, true)
}
