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
    po(
        "CacheNegotiatedDocs",
        Flag,
        R,
        "Either 'on' or 'off' (default)",
    ),
    po(
        "LanguagePriority",
        Iterate,
        A,
        "space-delimited list of MIME language abbreviations",
    ),
    po(
        "ForceLanguagePriority",
        Iterate,
        A,
        "Force LanguagePriority elections, either None, or Fallback and/or Prefer",
    ),
];

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
