//! mod_cgi and mod_cgid: the script timeout (per directory, as httpd's), cgid's daemon socket
//! (accepted: mpmd runs scripts from the worker itself, so there is no daemon to talk to and
//! Debian's stock `cgid.conf` needs no change) and the script debug log (ScriptLog*, parsed
//! only).

use super::{def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const RSRC: C = C::SERVER_VHOST;

/// The debug-log directives both modules declare.
const LOG_HELP: [&str; 3] = [
    "the name of a log for script debugging info",
    "the maximum length (in bytes) of the script debug log",
    "the maximum size (in bytes) to record of a POST request",
];
const TIMEOUT_HELP: &str =
    "The amount of time to wait between successful reads from the CGI script, in seconds.";

/// mod_cgi.
pub static CGI: &[DirectiveDef] = &[
    po("ScriptLog", Take1, RSRC, LOG_HELP[0]),
    po("ScriptLogLength", Take1, RSRC, LOG_HELP[1]),
    po("ScriptLogBuffer", Take1, RSRC, LOG_HELP[2]),
    def(
        "CGIScriptTimeout",
        Take1,
        C::ALL_BUT_HTACCESS,
        Implemented,
        TIMEOUT_HELP,
        cgi_script_timeout,
    ),
];

/// mod_cgid.
pub static CGID: &[DirectiveDef] = &[
    po("ScriptLog", Take1, RSRC, LOG_HELP[0]),
    po("ScriptLogLength", Take1, RSRC, LOG_HELP[1]),
    po("ScriptLogBuffer", Take1, RSRC, LOG_HELP[2]),
    def(
        "ScriptSock",
        Take1,
        RSRC,
        Implemented,
        "the name of the socket to use for communication with the cgi daemon.",
        script_sock,
    ),
    def(
        "CGIDScriptTimeout",
        Take1,
        C::ALL_BUT_HTACCESS,
        Implemented,
        TIMEOUT_HELP,
        cgid_script_timeout,
    ),
];

fn timeout(ctx: &mut ApplyCtx<'_>, name: &str) -> Result<(), String> {
    let t = super::core::parse_timeout(ctx.arg(0), "s")
        .ok_or_else(|| format!("{name} has wrong format"))?;
    ctx.dir.cgi_timeout = Some(t);
    Ok(())
}

fn cgi_script_timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    timeout(ctx, "CGIScriptTimeout")
}

fn cgid_script_timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    timeout(ctx, "CGIDScriptTimeout")
}

/// There is no cgid daemon: the socket path has nothing to name.
fn script_sock(_ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    Ok(())
}
