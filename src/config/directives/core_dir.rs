//! core directives of directory context: Options, AllowOverride, SetHandler, ForceType,
//! ErrorDocument, FileETag, LimitRequestBody, MaxRanges, DefaultType, AddDefaultCharset, ….

use super::{def, po, ApplyCtx};
use crate::config::dir::{opt, ErrorDoc, Options};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const ALL: C = C::ALL;
const DIR: C = C::DIRECTORY;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("Options", RawArgs, ALL, Implemented, "Set a number of attributes for a given directory", options),
    def("AllowOverride", RawArgs, DIR, Implemented, "Controls what groups of directives can be configured by per-directory config files", allow_override),
    po("AllowOverrideList", Iterate, DIR, "Controls what individual directives can be configured by per-directory config files"),
    def("SetHandler", Take1, ALL, Implemented, "a handler name that overrides any other configured handler", set_handler),
    def("ForceType", Take1, ALL, Implemented, "a mime type that overrides other configured type", force_type),
    def("ErrorDocument", Take2, ALL, Implemented, "Change responses for HTTP errors", error_document),
    def("FileETag", RawArgs, ALL, Implemented, "One or more of 'INode', 'MTime', 'Size', 'Digest', or 'All' (or 'None')", file_etag),
    def("LimitRequestBody", Take1, ALL, Implemented, "Limit (in bytes) on maximum size of request message body", limit_request_body),
    po("LimitXMLRequestBody", Take1, ALL, "Limit (in bytes) on maximum size of an XML-based request body"),
    def("DefaultType", Take1, ALL, Implemented, "the default media type for otherwise untyped files (DEPRECATED)", default_type),
    def("AddDefaultCharset", Take1, ALL, Implemented, "The name of the default charset to add to any Content-Type without one or 'Off' to disable", add_default_charset),
    po("AcceptPathInfo", Take1, ALL, "Set to on or off for PATH_INFO to be accepted by handlers, or default for the per-handler preference"),
    po("ContentDigest", Flag, ALL, "whether or not to send a Content-MD5 header with each request"),
    def("MaxRanges", Take1, ALL, Implemented, "Maximum number of Ranges in a request before returning the entire resource, or 0 for unlimited", max_ranges),
    def("MaxRangeOverlaps", Take1, ALL, Implemented, "Maximum number of overlaps in Ranges in a request before returning the entire resource, or 0 for unlimited", max_range_overlaps),
    def("MaxRangeReversals", Take1, ALL, Implemented, "Maximum number of reversals in Ranges in a request before returning the entire resource, or 0 for unlimited", max_range_reversals),
    def("SetOutputFilter", Take1, ALL, Implemented, "filter (or ; delimited list of filters) to be run on the request content", super::deflate::set_output_filter),
    po("SetInputFilter", Take1, ALL, "filter (or ; delimited list of filters) to be run on the request body"),
    def("CGIPassAuth", Flag, ALL, Implemented, "Controls whether HTTP authorization headers, normally hidden, will be passed to scripts", cgi_pass_auth),
    po("CGIVar", Take2, ALL, "Controls how some CGI variables are set"),
    po("QualifyRedirectURL", Flag, ALL, "Controls whether the REDIRECT_URL environment variable is fully qualified"),
    def("RLimitCPU", Take12, ALL, Implemented, "Soft/hard limits for max CPU usage in seconds", rlimit_cpu),
    def("RLimitMEM", Take12, ALL, Implemented, "Soft/hard limits for max memory usage per process", rlimit_mem),
    def("RLimitNPROC", Take12, ALL, Implemented, "soft/hard limits for max number of processes per uid", rlimit_nproc),
    po("MergeTrailers", Flag, C::SERVER_VHOST, "merge request trailers into request headers or not"),
    po("ServerScriptInterpreterSource", Take1, ALL, "Where to find interpreter to run scripts"),
];

fn options(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut o = Options::default();
    let (mut relative, mut absolute) = (false, false);
    let mut set = 0u16;
    for w in &ctx.node.args {
        let (sign, name) = match w.as_bytes().first() {
            Some(b'+') => (1, &w[1..]),
            Some(b'-') => (-1, &w[1..]),
            _ => (0, w.as_str()),
        };
        if sign == 0 {
            absolute = true;
        } else {
            relative = true;
        }
        if relative && absolute {
            return Err("Either all Options must start with + or -, or no Option may.".into());
        }
        let bit = match name.to_ascii_lowercase().as_str() {
            "indexes" => opt::INDEXES,
            "includes" => opt::INCLUDES,
            "includesnoexec" => opt::INCLUDES | opt::INCNOEXEC,
            "followsymlinks" => opt::SYM_LINKS,
            "symlinksifownermatch" => opt::SYM_OWNER,
            "execcgi" => opt::EXECCGI,
            "multiviews" => opt::MULTI,
            "runscripts" => opt::EXECCGI,
            "all" => opt::ALL,
            "none" if sign == 0 => 0,
            _ => return Err(format!("Illegal option {name}")),
        };
        match sign {
            1 => {
                o.add |= bit;
                o.remove &= !bit;
            }
            -1 => {
                o.remove |= bit;
                o.add &= !bit;
            }
            _ => set |= bit,
        }
    }
    if absolute || ctx.node.args.is_empty() {
        o.set = Some(set);
    }
    ctx.dir.options = Some(ctx.dir.options.map_or(o, |prev| prev.merge(&o)));
    Ok(())
}

/// AllowOverride bits (httpd's OR_*).
pub mod over {
    pub const LIMIT: u16 = 1;
    pub const OPTIONS: u16 = 2;
    pub const FILEINFO: u16 = 4;
    pub const AUTHCFG: u16 = 8;
    pub const INDEXES: u16 = 16;
    pub const ALL: u16 = 31;
}

fn allow_override(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut bits = 0;
    for w in &ctx.node.args {
        let lower = w.to_ascii_lowercase();
        let name = lower.split('=').next().unwrap_or("");
        bits |= match name {
            "none" => 0,
            "all" => over::ALL,
            "limit" => over::LIMIT,
            "options" => over::OPTIONS,
            "fileinfo" => over::FILEINFO,
            "authconfig" => over::AUTHCFG,
            "indexes" => over::INDEXES,
            "nonfatal" => 0,
            _ => return Err(format!("Illegal override option {w}")),
        };
    }
    ctx.dir.allow_override = Some(bits);
    Ok(())
}

fn set_handler(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let h = ctx.arg(0).to_string();
    ctx.dir.handler = Some(if h.eq_ignore_ascii_case("none") {
        "none".into()
    } else {
        h
    });
    Ok(())
}

fn force_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.force_type = Some(ctx.arg(0).to_ascii_lowercase());
    Ok(())
}

fn error_document(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let code: u16 = ctx
        .arg(0)
        .parse()
        .map_err(|_| format!("Unsupported HTTP response code {}", ctx.arg(0)))?;
    if !(300..600).contains(&code) || crate::proto::h1::response::reason(code).is_empty() {
        return Err(format!("Unsupported HTTP response code {code}"));
    }
    let v = ctx.arg(1);
    let doc = if v.eq_ignore_ascii_case("default") {
        ErrorDoc::Default
    } else if v.starts_with('/') {
        ErrorDoc::Local(v.to_string())
    } else if v
        .split_once("://")
        .is_some_and(|(s, _)| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        ErrorDoc::Url(v.to_string())
    } else {
        ErrorDoc::Text(v.to_string())
    };
    ctx.dir.error_documents.retain(|(c, _)| *c != code);
    ctx.dir.error_documents.push((code, doc));
    Ok(())
}

fn file_etag(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    use crate::config::dir::etag;
    let (mut set, mut add, mut rem) = (None::<u8>, 0u8, 0u8);
    let (mut relative, mut absolute) = (false, false);
    for w in &ctx.node.args {
        let (sign, name) = match w.as_bytes().first() {
            Some(b'+') => (1, &w[1..]),
            Some(b'-') => (-1, &w[1..]),
            _ => (0, w.as_str()),
        };
        let bit = match name.to_ascii_lowercase().as_str() {
            "inode" => etag::INODE,
            "mtime" => etag::MTIME,
            "size" => etag::SIZE,
            "digest" => etag::DIGEST,
            "all" if sign == 0 => etag::INODE | etag::MTIME | etag::SIZE,
            "none" if sign == 0 => etag::NONE,
            _ => return Err(format!("Unknown keyword '{name}' for FileETag")),
        };
        match sign {
            1 => {
                relative = true;
                add |= bit;
            }
            -1 => {
                relative = true;
                rem |= bit;
            }
            _ => {
                absolute = true;
                set = Some(set.unwrap_or(0) | bit);
            }
        }
    }
    if relative && absolute {
        return Err("FileETag: cannot mix absolute and relative keywords".into());
    }
    ctx.dir.file_etag = Some((set, add, rem));
    Ok(())
}

fn limit_request_body(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = ctx.arg(0);
    let n: u64 = v
        .parse()
        .ok()
        .filter(|n| *n <= i64::MAX as u64)
        .ok_or_else(|| "LimitRequestBody argument is not parsable.".to_string())?;
    ctx.dir.limit_request_body = Some(n);
    Ok(())
}

fn range_limit(name: &str, v: &str) -> Result<i64, String> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Ok(0),
        "default" => Ok(if name == "MaxRanges" { 200 } else { 20 }),
        "unlimited" => Ok(-1),
        _ => match v.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "{name} requires 'none', 'default', 'unlimited' or a positive integer"
            )),
        },
    }
}

fn max_ranges(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.max_ranges = Some(range_limit("MaxRanges", ctx.arg(0))?);
    Ok(())
}

fn max_range_overlaps(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.max_range_overlaps = Some(range_limit("MaxRangeOverlaps", ctx.arg(0))?);
    Ok(())
}

fn max_range_reversals(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.max_range_reversals = Some(range_limit("MaxRangeReversals", ctx.arg(0))?);
    Ok(())
}

fn default_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    // httpd 2.4 accepts only `none`; anything else is ignored with a warning (AH00558-like).
    let v = ctx.arg(0).to_string();
    if !v.eq_ignore_ascii_case("none") {
        ctx.global.warnings.push(format!(
            "AH00117: Ignoring deprecated use of DefaultType in line {} of {}.",
            ctx.node.span.line,
            ctx.node.span.file.display()
        ));
    }
    ctx.dir.default_type = Some(v);
    Ok(())
}

fn add_default_charset(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = ctx.arg(0);
    ctx.dir.add_default_charset = Some(if v.eq_ignore_ascii_case("off") {
        None
    } else if v.eq_ignore_ascii_case("on") {
        Some("iso-8859-1".into())
    } else {
        Some(v.to_string())
    });
    Ok(())
}

fn cgi_pass_auth(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.cgi_pass_auth = Some(super::flag(ctx));
    Ok(())
}

/// httpd's ap_unixd_set_rlimit: the soft limit (`max`: the current hard one), then an
/// optional hard one, starting from the limits this process has; only root raises a hard
/// limit (others get httpd's error-log line and keep it).
fn rlimit(ctx: &ApplyCtx<'_>, resource: nix::sys::resource::Resource) -> Option<(u64, u64)> {
    let (cur0, max0) = match nix::sys::resource::getrlimit(resource) {
        Ok(l) => l,
        Err(_) => {
            crate::ap_log!(error, "core", "{}: getrlimit failed", ctx.node.name);
            return None;
        }
    };
    let word = |s: &str| -> u64 {
        if s.eq_ignore_ascii_case("max") {
            max0
        } else {
            u64::try_from(super::atoi(s)).unwrap_or(0)
        }
    };
    let cur = word(ctx.arg(0));
    let max = ctx.node.args.get(1).map_or(0, |a| word(a));
    let (mut soft, mut hard) = (cur0, max0);
    if nix::unistd::geteuid().is_root() {
        if cur != 0 {
            soft = cur;
        }
        if max != 0 {
            hard = max;
        }
    } else {
        soft = cur;
        if max > max0 {
            crate::ap_log!(
                error,
                "core",
                "AH02174: Must be uid 0 to raise maximum {}",
                ctx.node.name
            );
        } else if max != 0 {
            hard = max;
        }
    }
    Some((soft, hard))
}

fn rlimit_cpu(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.rlimit_cpu = rlimit(ctx, nix::sys::resource::Resource::RLIMIT_CPU);
    Ok(())
}

fn rlimit_mem(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    // httpd limits the address space where the system has RLIMIT_AS (Linux does).
    ctx.dir.rlimit_mem = rlimit(ctx, nix::sys::resource::Resource::RLIMIT_AS);
    Ok(())
}

fn rlimit_nproc(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.rlimit_nproc = rlimit(ctx, nix::sys::resource::Resource::RLIMIT_NPROC);
    Ok(())
}
