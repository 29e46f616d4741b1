//! core directives of server/vhost level (ServerName, DocumentRoot, Timeout, KeepAlive, LogLevel,
//! the limits, Mutex …), core's read-time leftovers (Include, Define) and the sections the walk
//! builds (`<VirtualHost>`, `<Directory>` …). Messages are httpd's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{atoi, def, flag, noop, po, section, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};
use crate::config::{
    AllowEncodedSlashes, HostnameLookups, LogLevel, ServerSignature, ServerTokens, UseCanonicalName,
};

const RSRC: C = C::SERVER_VHOST;
const GLOBAL: C = C::SERVER;
const ALL: C = C::ALL;
const ACCESS: C = C::ALL_BUT_HTACCESS;
/// Sections allowed in directory context (`<Limit>`): never at server level.
const DIR_ONLY: C = C(4 | 8);

/// http_core's table (Debian's static `http` module): the keep-alive settings.
pub static HTTP_CORE: &[DirectiveDef] = &[
    def(
        "KeepAlive",
        Flag,
        RSRC,
        Implemented,
        "Whether persistent connections should be On or Off",
        keep_alive,
    ),
    def(
        "KeepAliveTimeout",
        Take1,
        RSRC,
        Implemented,
        "Keep-Alive timeout duration (sec)",
        keep_alive_timeout,
    ),
    def(
        "MaxKeepAliveRequests",
        Take1,
        RSRC,
        Implemented,
        "Maximum number of Keep-Alive requests per connection, or 0 for infinite",
        max_keep_alive_requests,
    ),
];

pub static DIRECTIVES: &[DirectiveDef] = &[
    // Read-time directives `conf::expand` has already run; kept for context checks, `-L`
    // and `<IfDirective>`.
    def("ServerRoot", Take1, GLOBAL, Implemented, "Common directory of server-related files (logs, confs, etc.)", server_root),
    def("DefaultRuntimeDir", Take1, GLOBAL, Implemented, "Common directory for run-time files (shared memory, locks, etc.)", default_runtime_dir),
    def("Define", Take12, ACCESS, Implemented, "Define a variable, optionally to a value.  Same as passing -D to the command line.", noop),
    def("UnDefine", Take1, ACCESS, Implemented, "Undefine the existence of a variable. Undo a Define.", noop),
    def("Include", Take1, ALL, Implemented, "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file", noop),
    def("IncludeOptional", Take1, ALL, Implemented, "Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files", noop),
    def("Error", RawArgs, ALL, Implemented, "Generate error message from within configuration", error),
    // Server identity and files.
    def("ServerName", Take1, RSRC, Implemented, "The hostname and port of the server", server_name),
    def("ServerAlias", RawArgs, RSRC, Implemented, "A name or names alternately used to access the server", server_alias),
    def("ServerAdmin", Take1, RSRC, Implemented, "The email address of the server administrator", server_admin),
    po("ServerPath", Take1, RSRC, "The pathname the server can be reached at"),
    def("DocumentRoot", Take1, RSRC, Implemented, "Root directory of the document tree", document_root),
    def("ErrorLog", Take1, RSRC, Implemented, "The filename of the error log", error_log),
    po("ErrorLogFormat", RawArgs, RSRC, "Format string for the ErrorLog"),
    def("LogLevel", TakeArgv, ACCESS, Implemented, "Level of verbosity in error logging", log_level),
    def("PidFile", Take1, GLOBAL, Implemented, "A file for logging the server process ID", pid_file),
    def("ScoreBoardFile", Take1, GLOBAL, Implemented, "A file for Apache to maintain runtime process management information", scoreboard_file),
    def("Mutex", RawArgs, GLOBAL, Implemented, "mutex (or \"default\") and mechanism", mutex),
    po("CoreDumpDirectory", Take1, GLOBAL, "The location of the directory Apache changes to before dumping core"),
    po("EnableExceptionHook", Flag, GLOBAL, "Enable the fatal exception hook"),
    // Connection and request limits.
    def("Timeout", Take1, RSRC, Implemented, "Timeout duration (sec)", timeout),
    def("LimitRequestLine", Take1, RSRC, Implemented, "Limit on maximum size of an HTTP request line", limit_request_line),
    def("LimitRequestFieldSize", Take1, RSRC, Implemented, "Limit on maximum size of an HTTP request header field", limit_request_field_size),
    def("LimitRequestFields", Take1, RSRC, Implemented, "Limit (0 = unlimited) on max number of header fields in a request message", limit_request_fields),
    def("LimitInternalRecursion", Take12, RSRC, Implemented, "maximum recursion depth of internal redirects and subrequests", limit_internal_recursion),
    def("MaxConnectionsPerChild", Take1, GLOBAL, Implemented, "Maximum number of connections a particular child serves before dying.", max_connections_per_child),
    def("MaxRequestsPerChild", Take1, GLOBAL, Implemented, "Maximum number of connections a particular child serves before dying. (Deprecated, use MaxConnectionsPerChild)", max_connections_per_child),
    def("ThreadStackSize", Take1, GLOBAL, Implemented, "Size in bytes of stack used by threads handling client connections", thread_stack_size),
    def("MaxMemFree", Take1, GLOBAL, Implemented, "Maximum number of 1k blocks a particular child's allocator may hold.", max_mem_free),
    // Response identity and protocol behaviour.
    def("ServerTokens", Take1, GLOBAL, Implemented, "Tokens displayed in the server: header - Min[imal], Major, Minor, Prod[uctOnly], OS, Full", server_tokens),
    def("ServerSignature", Take1, ALL, Implemented, "En-/disable server signature (on|off|email)", server_signature),
    def("TraceEnable", Take1, RSRC, Implemented, "'on' (default), 'off' or 'extended' to trace request body content", trace_enable),
    def("HostnameLookups", Take1, ACCESS, Implemented, "\"on\" to enable, \"off\" to disable reverse DNS lookups, or \"double\" to force a double reverse lookup", hostname_lookups),
    def("UseCanonicalName", Take1, ACCESS, Implemented, "How to work out the ServerName : Port when constructing URLs", use_canonical_name),
    po("UseCanonicalPhysicalPort", Flag, ACCESS, "Whether to use the physical Port when constructing URLs"),
    def("AccessFileName", RawArgs, RSRC, Implemented, "Name(s) of per-directory config files (default: .htaccess)", access_file_name),
    def("EnableSendfile", Take1, ACCESS, Implemented, "Controls whether sendfile may be used to transmit files", enable_sendfile),
    def("EnableMMAP", Take1, ACCESS, Implemented, "Controls whether memory-mapping may be used to read files", enable_mmap),
    def("HttpProtocolOptions", Iterate, RSRC, Implemented, "'Allow0.9' or 'Require1.0' (default); 'RegisteredMethods' or 'LenientMethods' (default); 'Unsafe' or 'Strict' (default). Sets HTTP acceptance rules", http_protocol_options),
    def("AllowEncodedSlashes", Take12, RSRC, Implemented, "Allow URLs containing '/' encoded as '%2F'", allow_encoded_slashes),
    def("MergeSlashes", Flag, RSRC, Implemented, "Controls whether consecutive slashes in the URI path are merged", merge_slashes),
    def("Protocols", Iterate, RSRC, Implemented, "Controls which protocols are allowed", protocols),
    po("ProtocolsHonorOrder", Flag, RSRC, "'off' (default) or 'on' to respect given order of protocols, by default the client specified order determines selection"),
    po("AcceptFilter", Take2, GLOBAL, "Set the Accept Filter to use for a protocol"),
    po("RegisterHttpMethod", Iterate, GLOBAL, "Registers non-standard HTTP methods"),
    po("StrictHostCheck", Flag, RSRC, "Controls whether a hostname match is required"),
    po("ReadBufferSize", Take1, ACCESS, "Size (in bytes) of the memory buffers used to read data"),
    po("FlushMaxThreshold", Take1, ACCESS, "Maximum threshold above which pending data are flushed to the network"),
    po("FlushMaxPipelined", Take1, ACCESS, "Maximum number of pipelined responses (pending) above which they are flushed to the network"),
    def("NameVirtualHost", Take1, GLOBAL, Implemented, "A numeric IP address:port, or the name of a host", name_virtual_host),
    // Sections (the walk builds them).
    section("VirtualHost", GLOBAL, Implemented, "Container for directives affecting resources located in the specified virtual hosts"),
    section("Directory", RSRC, Implemented, "Container for directives affecting resources located in the specified directories"),
    section("DirectoryMatch", RSRC, Implemented, "Container for directives affecting resources located in the specified directories"),
    section("Location", RSRC, Implemented, "Container for directives affecting resources accessed through the specified URL paths"),
    section("LocationMatch", RSRC, Implemented, "Container for directives affecting resources accessed through the specified URL paths"),
    section("Files", ALL, Implemented, "Container for directives affecting files matching specified patterns"),
    section("FilesMatch", ALL, Implemented, "Container for directives affecting files matching specified patterns"),
    section("If", ALL, Implemented, "Container for directives to be conditionally applied"),
    section("ElseIf", ALL, Implemented, "Container for directives to be conditionally applied"),
    section("Else", ALL, Implemented, "Container for directives to be conditionally applied"),
    section("Limit", DIR_ONLY, Implemented, "Container for authentication directives when accessed using specified HTTP methods"),
    section("LimitExcept", DIR_ONLY, Implemented, "Container for authentication directives to be enforced when any but the specified HTTP methods are used"),
];

/// A path as httpd resolves it: absolute as is, else under ServerRoot.
pub fn server_path(ctx: &ApplyCtx<'_>, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        ctx.global.server_root.join(path)
    }
}

/// A log target: `|pipe`, `syslog[:facility]` kept as written, files under ServerRoot.
fn log_target(ctx: &ApplyCtx<'_>, p: &str) -> String {
    if p.starts_with('|') || p.starts_with("syslog") {
        p.to_string()
    } else {
        server_path(ctx, p).to_string_lossy().into_owned()
    }
}

/// `conf::expand` has already applied ServerRoot while reading (relative to the working
/// directory, as httpd does); the final value is `global.server_root`.
fn server_root(_: &mut ApplyCtx<'_>) -> Result<(), String> {
    Ok(())
}

fn default_runtime_dir(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let p = server_path(ctx, ctx.arg(0));
    if !p.is_dir() {
        return Err(
            "DefaultRuntimeDir must be a valid directory, absolute or relative to ServerRoot"
                .into(),
        );
    }
    ctx.global.default_runtime_dir = p;
    Ok(())
}

fn error(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let raw = ctx.node.raw_args.trim();
    let msg = if raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')))
    {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    Err(msg.to_string())
}

fn server_name(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let name = ctx.arg(0);
    if name.contains('*') || name.contains('?') {
        return Err(format!(
            "Invalid ServerName \"{name}\" use ServerAlias to set multiple server names."
        ));
    }
    ctx.server.server_name = Some(name.to_string());
    ctx.mark("server_name");
    Ok(())
}

fn server_alias(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if !ctx.in_vhost() {
        return Err("ServerAlias only used in <VirtualHost>".into());
    }
    let words = ctx.node.args.clone();
    ctx.server.server_aliases.extend(words);
    Ok(())
}

fn server_admin(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.server_admin = Some(ctx.arg(0).to_string());
    ctx.mark("server_admin");
    Ok(())
}

fn document_root(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let p = server_path(ctx, ctx.arg(0));
    if !ctx.global.skip_docroot_check && !p.is_dir() {
        if ctx.in_vhost() {
            let w = format!(
                "AH00112: Warning: DocumentRoot [{}] does not exist",
                p.display()
            );
            ctx.global.notices.push(w);
        } else {
            return Err(format!(
                "DocumentRoot '{}' is not a directory, or is not readable",
                p.display()
            ));
        }
    }
    ctx.server.document_root = p;
    ctx.mark("document_root");
    Ok(())
}

fn error_log(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.error_log = log_target(ctx, ctx.arg(0));
    ctx.mark("error_log");
    Ok(())
}

const LEVEL_ERR: &str =
    "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8";

/// Parses `warn`, `trace3` … (case-insensitive).
pub fn parse_level(s: &str) -> Option<LogLevel> {
    use LogLevel::*;
    Some(match s.to_ascii_lowercase().as_str() {
        "emerg" => Emerg,
        "alert" => Alert,
        "crit" => Crit,
        "error" => Error,
        "warn" => Warn,
        "notice" => Notice,
        "info" => Info,
        "debug" => Debug,
        "trace1" => Trace1,
        "trace2" => Trace2,
        "trace3" => Trace3,
        "trace4" => Trace4,
        "trace5" => Trace5,
        "trace6" => Trace6,
        "trace7" => Trace7,
        "trace8" => Trace8,
        _ => return None,
    })
}

fn log_level(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.node.args.is_empty() {
        return Err(
            "LogLevel requires at least one argument, Level of verbosity in error logging".into(),
        );
    }
    let mut main = None;
    let mut per_module = Vec::new();
    for word in &ctx.node.args {
        match word.split_once(':') {
            None => main = Some(parse_level(word).ok_or(LEVEL_ERR)?),
            Some((module, level)) => {
                let short = module
                    .trim_end_matches("_module")
                    .trim_start_matches("mod_");
                if !ctx.global.modules.contains(&short) {
                    return Err(format!("Cannot find module {module}"));
                }
                let lvl = parse_level(level).ok_or_else(|| format!("{word}: {LEVEL_ERR}"))?;
                per_module.push((short.to_string(), lvl));
            }
        }
    }
    // Per-directory LogLevel only changes logging for requests there; it is server-wide here.
    if ctx.context == C::DIRECTORY {
        return Ok(());
    }
    if let Some(l) = main {
        ctx.global.log_level = l;
    }
    ctx.global.module_log_levels.extend(per_module);
    Ok(())
}

fn pid_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.pid_file = server_path(ctx, ctx.arg(0));
    Ok(())
}

fn scoreboard_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.scoreboard_file = Some(server_path(ctx, ctx.arg(0)));
    Ok(())
}

const MUTEX_MECHS: &str = "(Mutex mechanisms are: 'none', 'default', 'flock:/path/to/file', 'fcntl:/path/to/file', 'file:/path/to/file', 'pthread', 'sysvsem', 'posixsem', 'sem')";

/// Mutex names the modules we have register (Apache's `ap_mutex_register`).
const MUTEX_TYPES: &[&str] = &[
    "mpm-accept",
    "watchdog-callback",
    "ssl-cache",
    "ssl-stapling",
    "ssl-stapling-refresh",
    "rewrite-map",
    "proxy-balancer-shm",
    "proxy-hcheck",
    "authdigest-client",
    "authdigest-opaque",
    "socache-shmcb",
    "h2-mplx",
];

fn mutex(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let Some(mech) = ctx.node.args.first().cloned() else {
        return Err(format!(
            "Mutex requires at least a mechanism argument {MUTEX_MECHS}"
        ));
    };
    let kind = mech.split(':').next().unwrap_or("").to_ascii_lowercase();
    let valid = [
        "none", "default", "flock", "fcntl", "file", "pthread", "sysvsem", "posixsem", "sem",
    ];
    if !valid.contains(&kind.as_str()) {
        return Err(format!("Invalid Mutex argument {mech} {MUTEX_MECHS}"));
    }
    let names: Vec<String> = ctx.node.args[1..].to_vec();
    if names.is_empty() {
        ctx.global.mutexes.push(("default".into(), mech));
        return Ok(());
    }
    for name in names {
        let lower = name.to_ascii_lowercase();
        if lower != "default" && lower != "*" && !MUTEX_TYPES.contains(&lower.as_str()) {
            return Err(format!("Mutex type {name} is not valid"));
        }
        ctx.global.mutexes.push((lower, mech.clone()));
    }
    Ok(())
}

fn timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.timeout = Duration::from_secs(atoi(ctx.arg(0)).max(0) as u64);
    ctx.mark("timeout");
    Ok(())
}

fn keep_alive(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.keep_alive = flag(ctx);
    ctx.mark("keep_alive");
    Ok(())
}

/// httpd's `ap_timeout_parameter_parse`: a non-negative integer with an optional unit
/// (`ms`, `s`, `mi`/`min`, `h`), `default_unit` when none is given.
pub fn parse_timeout(s: &str, default_unit: &str) -> Option<Duration> {
    let digits_end = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let n: i64 = s[..digits_end].parse().ok()?;
    if n < 0 {
        return None;
    }
    let n = n as u64;
    let unit = if digits_end == s.len() {
        default_unit
    } else {
        &s[digits_end..]
    };
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "mi" | "min" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

fn keep_alive_timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.keep_alive_timeout =
        parse_timeout(ctx.arg(0), "s").ok_or("KeepAliveTimeout has wrong format")?;
    ctx.mark("keep_alive_timeout");
    Ok(())
}

fn max_keep_alive_requests(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.max_keep_alive_requests = atoi(ctx.arg(0)).clamp(0, u32::MAX as i64) as u32;
    ctx.mark("max_keep_alive_requests");
    Ok(())
}

/// httpd reads the limits with `apr_strtoi64`: digits only, non-negative.
fn non_negative(s: &str) -> Option<usize> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn limit_request_line(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = non_negative(ctx.arg(0)).ok_or_else(|| {
        format!(
            "LimitRequestLine \"{}\" must be a non-negative integer",
            ctx.arg(0)
        )
    })?;
    ctx.server.limit_request_line = v;
    ctx.mark("limit_request_line");
    Ok(())
}

fn limit_request_field_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = non_negative(ctx.arg(0)).ok_or_else(|| {
        format!(
            "LimitRequestFieldSize \"{}\" must be a non-negative integer",
            ctx.arg(0)
        )
    })?;
    ctx.server.limit_request_field_size = v;
    ctx.mark("limit_request_field_size");
    Ok(())
}

fn limit_request_fields(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = non_negative(ctx.arg(0)).ok_or_else(|| {
        format!(
            "LimitRequestFields \"{}\" must be a non-negative integer (0 = no limit)",
            ctx.arg(0)
        )
    })?;
    ctx.server.limit_request_fields = v;
    ctx.mark("limit_request_fields");
    Ok(())
}

fn limit_internal_recursion(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = atoi(ctx.arg(0));
    if a <= 0 {
        return Err("The recursion limit must be greater than zero.".into());
    }
    let b = if ctx.node.args.len() > 1 {
        let b = atoi(ctx.arg(1));
        if b <= 0 {
            return Err("The recursion limit must be greater than zero.".into());
        }
        b
    } else {
        a
    };
    ctx.server.limit_internal_recursion =
        (a.min(u32::MAX as i64) as u32, b.min(u32::MAX as i64) as u32);
    ctx.mark("limit_internal_recursion");
    Ok(())
}

fn max_connections_per_child(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    // MaxRequestsPerChild: httpd notes the deprecation at INFO level only (AH00545).
    ctx.global.mpm_directives.max_connections_per_child = Some(atoi(ctx.arg(0)));
    Ok(())
}

fn thread_stack_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v: i64 = ctx
        .arg(0)
        .trim()
        .parse()
        .unwrap_or_else(|_| atoi(ctx.arg(0)));
    if v < 0 {
        return Err(format!("Invalid ThreadStackSize value: {}", ctx.arg(0)));
    }
    ctx.global.mpm_directives.thread_stack_size = Some(v);
    Ok(())
}

fn max_mem_free(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = atoi(ctx.arg(0));
    if v < 0 {
        return Err(format!("Invalid MaxMemFree value: {}", ctx.arg(0)));
    }
    ctx.global.mpm_directives.max_mem_free = Some(v);
    Ok(())
}

fn server_tokens(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let a = ctx.arg(0).to_ascii_lowercase();
    ctx.global.server_tokens = match a.as_str() {
        "os" => ServerTokens::Os,
        "min" | "minimal" => ServerTokens::Min,
        "major" => ServerTokens::Major,
        "minor" => ServerTokens::Minor,
        "prod" | "productonly" => ServerTokens::Prod,
        "full" => ServerTokens::Full,
        _ => {
            return Err("ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'".into())
        }
    };
    Ok(())
}

fn server_signature(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let sig = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => ServerSignature::On,
        "off" => ServerSignature::Off,
        "email" => ServerSignature::Email,
        _ => return Err("ServerSignature: use one of: off | on | email".into()),
    };
    // Per-directory ServerSignature is kept server-wide (DirConf has no field for it yet).
    ctx.server.server_signature = sig;
    ctx.mark("server_signature");
    Ok(())
}

fn trace_enable(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" | "extended" => true,
        "off" => false,
        _ => return Err("TraceEnable must be one of 'on', 'off', or 'extended'".into()),
    };
    if !ctx.in_vhost() {
        ctx.global.trace_enable = on;
    }
    Ok(())
}

fn hostname_lookups(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.hostname_lookups = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => HostnameLookups::On,
        "off" => HostnameLookups::Off,
        "double" => HostnameLookups::Double,
        _ => return Err("parameter must be 'on', 'off', or 'double'".into()),
    };
    ctx.mark("hostname_lookups");
    Ok(())
}

fn use_canonical_name(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.use_canonical_name = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => UseCanonicalName::On,
        "off" => UseCanonicalName::Off,
        "dns" => UseCanonicalName::Dns,
        _ => return Err("parameter must be 'on', 'off', or 'dns'".into()),
    };
    ctx.mark("use_canonical_name");
    Ok(())
}

fn access_file_name(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.node.args.is_empty() {
        return Err("AccessFileName requires at least one argument".into());
    }
    ctx.server.access_file_names = ctx.node.args.clone();
    ctx.mark("access_file_names");
    Ok(())
}

fn on_off(ctx: &ApplyCtx<'_>) -> Result<bool, String> {
    match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("parameter must be 'on' or 'off'".into()),
    }
}

fn enable_sendfile(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = on_off(ctx)?;
    if ctx.context != C::DIRECTORY && !ctx.in_vhost() {
        ctx.global.enable_sendfile = v;
    }
    Ok(())
}

fn enable_mmap(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = on_off(ctx)?;
    if ctx.context != C::DIRECTORY && !ctx.in_vhost() {
        ctx.global.enable_mmap = v;
    }
    Ok(())
}

fn http_protocol_options(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut o = ctx.server.http_protocol;
    for w in &ctx.node.args {
        match w.to_ascii_lowercase().as_str() {
            "strict" => o.strict = true,
            "unsafe" => o.strict = false,
            "registeredmethods" => o.registered_methods = true,
            "lenientmethods" => o.registered_methods = false,
            "require1.0" => o.require_1_0 = true,
            "allow0.9" => o.require_1_0 = false,
            _ => return Err("HttpProtocolOptions accepts 'Unsafe' or 'Strict' (default), 'RegisteredMethods' or 'LenientMethods' (default), and 'Require1.0' or 'Allow0.9' (default)".into()),
        }
    }
    ctx.server.http_protocol = o;
    if !ctx.in_vhost() {
        ctx.global.http_protocol_strict = o.strict;
    }
    ctx.mark("http_protocol");
    Ok(())
}

fn allow_encoded_slashes(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.allow_encoded_slashes = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => AllowEncodedSlashes::On,
        "off" => AllowEncodedSlashes::Off,
        "nodecode" => AllowEncodedSlashes::NoDecode,
        _ => return Err("AllowEncodedSlashes must be On, Off, or NoDecode".into()),
    };
    ctx.mark("allow_encoded_slashes");
    Ok(())
}

fn merge_slashes(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.merge_slashes = flag(ctx);
    ctx.mark("merge_slashes");
    Ok(())
}

fn protocols(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.protocols = ctx
        .node
        .args
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    ctx.mark("protocols");
    Ok(())
}

fn name_virtual_host(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let span = &ctx.node.span;
    let msg = format!(
        "AH00548: NameVirtualHost has no effect and will be removed in the next release {}:{}",
        span.file.display(),
        span.line
    );
    ctx.global.notices.push(msg);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_httpd() {
        assert_eq!(parse_timeout("5", "s"), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_timeout("100ms", "s"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_timeout("2min", "s"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("-1", "s"), None);
        assert_eq!(parse_timeout("abc", "s"), None);
        assert_eq!(parse_timeout("1x", "s"), None);
    }

    #[test]
    fn levels() {
        assert_eq!(parse_level("WARN"), Some(LogLevel::Warn));
        assert_eq!(parse_level("trace8"), Some(LogLevel::Trace8));
        assert_eq!(parse_level("trace9"), None);
    }
}
