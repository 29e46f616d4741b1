//! mod_http2: the settings `crate::proto::h2` reads (typed in `H2Conf`); the rest are parsed
//! only. Which protocols a server speaks is core's `Protocols`.

use super::{def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::Implemented};

/// mod_http2's per-server settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Conf {
    /// `H2Direct`: h2 by prior knowledge on cleartext connections. `None` = httpd's default
    /// (on for h2c when `Protocols` lists it).
    pub direct: Option<bool>,
    /// `H2Upgrade`: `Upgrade: h2c` on HTTP/1.1 requests. `None` = on for cleartext.
    pub upgrade: Option<bool>,
    /// `H2MaxSessionStreams`, default 100.
    pub max_session_streams: u32,
    /// `H2WindowSize`: the initial stream window for client DATA, default 65535.
    pub window_size: u32,
    /// `H2Push`: mpmd never pushes; `on` is accepted and has no effect.
    pub push: bool,
}

impl Default for H2Conf {
    fn default() -> Self {
        H2Conf {
            direct: None,
            upgrade: None,
            max_session_streams: 100,
            window_size: 65535,
            push: true,
        }
    }
}

fn on_off(ctx: &ApplyCtx<'_>) -> Result<bool, String> {
    match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("value must be On or Off".into()),
    }
}

fn number(ctx: &ApplyCtx<'_>) -> i64 {
    super::atoi(ctx.arg(0))
}

fn direct(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.h2.direct = Some(on_off(ctx)?);
    Ok(())
}

fn upgrade(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.context != C::SERVER && ctx.context != C::VHOST {
        return Err("H2Upgrade in a per-directory context is not supported by mpmd".into());
    }
    ctx.server.h2.upgrade = Some(on_off(ctx)?);
    Ok(())
}

fn push(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = on_off(ctx)?;
    if ctx.context == C::SERVER || ctx.context == C::VHOST {
        ctx.server.h2.push = on;
    }
    Ok(())
}

fn max_session_streams(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let n = number(ctx);
    if n < 1 {
        return Err("value must be > 0".into());
    }
    ctx.server.h2.max_session_streams = n.min(u32::MAX as i64) as u32;
    Ok(())
}

fn window_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let n = number(ctx);
    if n < 1024 {
        return Err("value must be >= 1024".into());
    }
    // RFC 9113 §6.9.2: the largest window is 2^31-1.
    ctx.server.h2.window_size = n.min((1 << 31) - 1) as u32;
    Ok(())
}

const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "H2Direct",
        Take1,
        R,
        Implemented,
        "on to enable direct HTTP/2 mode",
        direct,
    ),
    def(
        "H2MaxSessionStreams",
        Take1,
        R,
        Implemented,
        "maximum number of open streams per session",
        max_session_streams,
    ),
    def(
        "H2WindowSize",
        Take1,
        R,
        Implemented,
        "window size on client DATA",
        window_size,
    ),
    po(
        "H2MinWorkers",
        Take1,
        C::SERVER,
        "minimum number of worker threads per child",
    ),
    po(
        "H2MaxWorkers",
        Take1,
        C::SERVER,
        "maximum number of worker threads per child",
    ),
    po(
        "H2MaxWorkerIdleSeconds",
        Take1,
        C::SERVER,
        "maximum number of idle seconds before a worker shuts down",
    ),
    po(
        "H2StreamMaxMemSize",
        Take1,
        R,
        "maximum number of bytes buffered in memory for a stream",
    ),
    po(
        "H2SerializeHeaders",
        Flag,
        R,
        "on to enable header serialization for compatibility",
    ),
    po(
        "H2ModernTLSOnly",
        Flag,
        R,
        "off to not impose RFC 7540 restrictions on TLS",
    ),
    def(
        "H2Upgrade",
        Take1,
        D,
        Implemented,
        "on to allow HTTP/1 Upgrades to h2/h2c",
        upgrade,
    ),
    po(
        "H2MaxDataFrameLen",
        Take1,
        R,
        "maximum number of bytes in a single HTTP/2 DATA frame",
    ),
    po(
        "H2SessionExtraFiles",
        Take1,
        R,
        "number of extra file a session might keep open (obsolete)",
    ),
    po(
        "H2TLSWarmUpSize",
        Take1,
        R,
        "number of bytes on TLS connection before doing max writes",
    ),
    po(
        "H2TLSCoolDownSecs",
        Take1,
        R,
        "seconds of idle time on TLS before shrinking writes",
    ),
    def(
        "H2Push",
        Take1,
        D,
        Implemented,
        "off to disable HTTP/2 server push",
        push,
    ),
    po(
        "H2PushPriority",
        Take123,
        R,
        "define priority of PUSHed resources per content type",
    ),
    po("H2PushDiarySize", Take1, R, "size of push diary"),
    po("H2CopyFiles", Flag, D, "on to perform copy of file data"),
    po(
        "H2PushResource",
        Take12,
        D,
        "add a resource to be pushed in this location/on this server.",
    ),
    po(
        "H2EarlyHints",
        Flag,
        R,
        "on to enable interim status 103 responses",
    ),
    po("H2Padding", Take1, R, "set payload padding"),
    po(
        "H2OutputBuffering",
        Flag,
        R,
        "set stream output buffer on/off",
    ),
    po("H2StreamTimeout", Take1, D, "set stream timeout"),
    po(
        "H2MaxHeaderBlockLen",
        Take1,
        R,
        "set maximum len of a header block",
    ),
    po(
        "H2EarlyHint",
        Take2,
        D,
        "add a a 'Link:' header for a 103 Early Hints response.",
    ),
    po(
        "H2ProxyRequests",
        Flag,
        D,
        "Enable forward proxy requests via HTTP/2",
    ),
];
