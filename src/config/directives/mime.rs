//! mod_mime: TypesConfig, AddType, AddCharset, AddEncoding, AddLanguage, AddHandler, the
//! Remove* directives, and the filter/negotiation ones we only parse.

use super::{def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const ALL: C = C::ALL;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "TypesConfig",
        Take1,
        C::SERVER,
        Implemented,
        "the MIME types config file",
        types_config,
    ),
    def(
        "AddType",
        Iterate2,
        ALL,
        Implemented,
        "a mime type followed by one or more file extensions",
        add_type,
    ),
    def(
        "AddCharset",
        Iterate2,
        ALL,
        Implemented,
        "a charset (e.g., iso-2022-jp), followed by one or more file extensions",
        add_charset,
    ),
    def(
        "AddEncoding",
        Iterate2,
        ALL,
        Implemented,
        "an encoding (e.g., gzip), followed by one or more file extensions",
        add_encoding,
    ),
    def(
        "AddLanguage",
        Iterate2,
        ALL,
        Implemented,
        "a language (e.g., fr), followed by one or more file extensions",
        add_language,
    ),
    def(
        "AddHandler",
        Iterate2,
        ALL,
        Implemented,
        "a handler name followed by one or more file extensions",
        add_handler,
    ),
    po(
        "AddInputFilter",
        Iterate2,
        ALL,
        "input filter name (or ; delimited names) followed by one or more file extensions",
    ),
    def(
        "AddOutputFilter",
        Iterate2,
        ALL,
        Implemented,
        "output filter name (or ; delimited names) followed by one or more file extensions",
        super::deflate::add_output_filter,
    ),
    def(
        "RemoveType",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        remove_type,
    ),
    def(
        "RemoveCharset",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        remove_charset,
    ),
    def(
        "RemoveEncoding",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        remove_encoding,
    ),
    def(
        "RemoveLanguage",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        remove_language,
    ),
    def(
        "RemoveHandler",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        remove_handler,
    ),
    po(
        "RemoveInputFilter",
        Iterate,
        ALL,
        "one or more file extensions",
    ),
    po(
        "RemoveOutputFilter",
        Iterate,
        ALL,
        "one or more file extensions",
    ),
    def(
        "DefaultLanguage",
        Take1,
        ALL,
        Implemented,
        "language to use for documents with no other language file extension",
        default_language,
    ),
    def(
        "MultiviewsMatch",
        Iterate,
        ALL,
        Implemented,
        "NegotiatedOnly (default), Handlers and/or Filters, or Any",
        multiviews_match,
    ),
    po(
        "ModMimeUsePathInfo",
        Flag,
        C::DIRECTORY,
        "Set to 'yes' to allow mod_mime to use path info for type checking",
    ),
];

fn types_config(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let p = std::path::Path::new(ctx.arg(0));
    ctx.global.types_config = if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.global.server_root.join(p)
    };
    Ok(())
}

fn ext(e: &str) -> String {
    e.trim_start_matches('.').to_ascii_lowercase()
}

/// `(value, ext, ext, …)` for the Add* directives.
fn add(ctx: &ApplyCtx<'_>, lower_value: bool) -> Vec<(String, Option<String>)> {
    let v = ctx.arg(0);
    let v = if lower_value {
        v.to_ascii_lowercase()
    } else {
        v.to_string()
    };
    ctx.node.args[1..]
        .iter()
        .map(|e| (ext(e), Some(v.clone())))
        .collect()
}

fn remove(ctx: &ApplyCtx<'_>) -> Vec<(String, Option<String>)> {
    ctx.node.args.iter().map(|e| (ext(e), None)).collect()
}

fn add_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = add(ctx, true);
    ctx.dir.add_type.extend(v);
    Ok(())
}
// httpd lower-cases every Add* value (`AddCharset UTF-8 .u8` gives `charset=utf-8`).
fn add_charset(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = add(ctx, true);
    ctx.dir.add_charset.extend(v);
    Ok(())
}
fn add_encoding(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = add(ctx, true);
    ctx.dir.add_encoding.extend(v);
    Ok(())
}
fn add_language(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = add(ctx, true);
    ctx.dir.add_language.extend(v);
    Ok(())
}
fn add_handler(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = add(ctx, true);
    ctx.dir.add_handler.extend(v);
    Ok(())
}
fn remove_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = remove(ctx);
    ctx.dir.add_type.extend(v);
    Ok(())
}
fn remove_charset(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = remove(ctx);
    ctx.dir.add_charset.extend(v);
    Ok(())
}
fn remove_encoding(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = remove(ctx);
    ctx.dir.add_encoding.extend(v);
    Ok(())
}
fn remove_language(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = remove(ctx);
    ctx.dir.add_language.extend(v);
    Ok(())
}
fn remove_handler(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = remove(ctx);
    ctx.dir.add_handler.extend(v);
    Ok(())
}

fn default_language(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.default_language = Some(ctx.arg(0).to_string());
    Ok(())
}

/// httpd's rules: `Any` and `NegotiatedOnly` stand alone, `Filters` and `Handlers` combine.
fn multiviews_match(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    use crate::config::dir::multiviews_match::{ANY, FILTERS, HANDLERS, NEGOTIATED};
    let mut bits = 0u8;
    for w in &ctx.node.args {
        let (bit, clash, msg) = if w.eq_ignore_ascii_case("Any") {
            (
                ANY,
                !ANY,
                "Any is incompatible with NegotiatedOnly, Filters and Handlers",
            )
        } else if w.eq_ignore_ascii_case("NegotiatedOnly") {
            (
                NEGOTIATED,
                !NEGOTIATED,
                "NegotiatedOnly is incompatible with Any, Filters and Handlers",
            )
        } else if w.eq_ignore_ascii_case("Filters") {
            (
                FILTERS,
                ANY | NEGOTIATED,
                "Filters is incompatible with Any and NegotiatedOnly",
            )
        } else if w.eq_ignore_ascii_case("Handlers") {
            (
                HANDLERS,
                ANY | NEGOTIATED,
                "Handlers is incompatible with Any and NegotiatedOnly",
            )
        } else {
            return Err(format!("Unrecognized option '{w}'"));
        };
        if bits & clash != 0 {
            return Err(msg.into());
        }
        bits |= bit;
    }
    ctx.dir.multiviews_match = Some(bits);
    Ok(())
}
