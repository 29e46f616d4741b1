//! Small modules Debian's tree loads or that admins commonly use: watchdog, logio, unixd
//! (User/Group), negotiation, filter (remoteip, rewrite, auth_basic, authn_file, expires and
//! deflate have their own files). What would change access control or request routing without being built is
//! `Unsupported` (a config error); the rest is parsed only.

use super::{def, po, un, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const S: C = C::SERVER;
const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;
const A: C = C::ALL;

pub static WATCHDOG: &[DirectiveDef] = &[po(
    "WatchdogInterval",
    Take1,
    S,
    "Watchdog interval in seconds",
)];

pub static LOGIO: &[DirectiveDef] = &[po(
    "LogIOTrackTTFB",
    Flag,
    A,
    "Set to 'ON' to enable tracking time to first byte",
)];

pub static UNIXD: &[DirectiveDef] = &[
    def(
        "User",
        Take1,
        S,
        Implemented,
        "Effective user id for this server",
        user,
    ),
    def(
        "Group",
        Take1,
        S,
        Implemented,
        "Effective group id for this server",
        group,
    ),
    un("ChrootDir", Take1, S, "The directory to chroot(2) into"),
    po("Suexec", Flag, S, "Enable or disable suEXEC support"),
];

fn user(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.user = Some(ctx.arg(0).to_string());
    Ok(())
}

fn group(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.group = Some(ctx.arg(0).to_string());
    Ok(())
}

pub static NEGOTIATION: &[DirectiveDef] = &[
    def(
        "CacheNegotiatedDocs",
        Flag,
        R,
        Implemented,
        "Either 'on' or 'off' (default)",
        cache_negotiated_docs,
    ),
    def(
        "LanguagePriority",
        Iterate,
        A,
        Implemented,
        "space-delimited list of MIME language abbreviations",
        language_priority,
    ),
    def(
        "ForceLanguagePriority",
        Iterate,
        A,
        Implemented,
        "Force LanguagePriority elections, either None, or Fallback and/or Prefer",
        force_language_priority,
    ),
];

fn cache_negotiated_docs(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.cache_negotiated_docs = Some(ctx.arg(0).eq_ignore_ascii_case("on"));
    Ok(())
}

/// A second `LanguagePriority` in the same section adds to the first, as httpd's.
fn language_priority(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut list = ctx
        .dir
        .language_priority
        .as_deref()
        .cloned()
        .unwrap_or_default();
    list.extend(ctx.node.args.iter().cloned());
    ctx.dir.language_priority = Some(std::sync::Arc::new(list));
    Ok(())
}

fn force_language_priority(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    use crate::config::dir::force_language::{FALLBACK, NONE, PREFER};
    let mut bits = ctx.dir.force_language_priority.unwrap_or(0);
    for w in &ctx.node.args {
        if w.eq_ignore_ascii_case("None") {
            if bits & !NONE != 0 {
                return Err("Cannot combine ForceLanguagePriority options with None".into());
            }
            bits = NONE;
        } else if w.eq_ignore_ascii_case("Prefer") {
            if bits & NONE != 0 {
                return Err("Cannot combine ForceLanguagePriority options None and Prefer".into());
            }
            bits |= PREFER;
        } else if w.eq_ignore_ascii_case("Fallback") {
            if bits & NONE != 0 {
                return Err(
                    "Cannot combine ForceLanguagePriority options None and Fallback".into(),
                );
            }
            bits |= FALLBACK;
        } else {
            return Err(format!("Invalid ForceLanguagePriority option {w}"));
        }
    }
    ctx.dir.force_language_priority = Some(bits);
    Ok(())
}

pub static FILTER: &[DirectiveDef] = &[
    po("FilterDeclare", Take12, A, "filter-name [filter-type]"),
    po(
        "FilterProvider",
        Take3,
        A,
        "filter-name provider-name match-expression",
    ),
    po(
        "FilterChain",
        RawArgs,
        A,
        "list of filter names with optional [+-=!@]",
    ),
    po("FilterTrace", Take2, D, "filter-name debug-level"),
    def(
        "AddOutputFilterByType",
        Iterate2,
        A,
        Implemented,
        "output filter name followed by one or more content-types",
        super::deflate::add_output_filter_by_type,
    ),
    po(
        "FilterProtocol",
        Take23,
        A,
        "filter-name [provider-name] protocol-args",
    ),
];
