//! mod_log_config: LogFormat, CustomLog, TransferLog, BufferedLogs, GlobalLog. Format
//! nicknames are resolved once the whole configuration is read (a LogFormat may follow the
//! CustomLog that uses it).

use super::{def, flag, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};
use crate::config::CustomLog;

/// httpd's default format when none is given (`TransferLog`, one-argument `LogFormat`).
pub const DEFAULT_FORMAT: &str = "%h %l %u %t \"%r\" %>s %b";
/// The key under which a one-argument `LogFormat` stores the default format.
pub const DEFAULT_KEY: &str = "";

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("LogFormat", Take12, C::SERVER_VHOST, Implemented, "a log format string (see docs) and an optional format name", log_format),
    def("CustomLog", Take23, C::SERVER_VHOST, Implemented, "a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)", custom_log),
    def("GlobalLog", Take23, C::SERVER, Implemented, "Same as CustomLog, but forces virtualhosts to inherit the log", global_log),
    def("TransferLog", Take1, C::SERVER_VHOST, Implemented, "the filename of the access log", transfer_log),
    def("BufferedLogs", Flag, C::SERVER, Implemented, "Enable Buffered Logging (experimental)", buffered_logs),
];

fn log_format(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let key = ctx.node.args.get(1).cloned().unwrap_or_default();
    let fmt = ctx.arg(0).to_string();
    ctx.global.log_formats.insert(key, fmt);
    Ok(())
}

fn target(ctx: &ApplyCtx<'_>, t: &str) -> String {
    if t.starts_with('|') || t.starts_with("syslog") {
        t.to_string()
    } else {
        super::core::server_path(ctx, t)
            .to_string_lossy()
            .into_owned()
    }
}

fn make(ctx: &ApplyCtx<'_>) -> Result<CustomLog, String> {
    let condition = match ctx.node.args.get(2) {
        None => None,
        Some(c) if c.starts_with("env=") || c.starts_with("expr=") => Some(c.clone()),
        Some(_) => return Err("error in condition clause".into()),
    };
    Ok(CustomLog {
        target: target(ctx, ctx.arg(0)),
        // Kept as written (nickname or format); `build` resolves nicknames at the end.
        format: ctx.arg(1).to_string(),
        condition,
        span: ctx.node.span.clone(),
    })
}

fn custom_log(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let log = make(ctx)?;
    ctx.server.custom_logs.push(log);
    ctx.mark("custom_logs");
    Ok(())
}

fn global_log(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let log = make(ctx)?;
    ctx.global.global_logs.push(log);
    Ok(())
}

fn transfer_log(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let log = CustomLog {
        target: target(ctx, ctx.arg(0)),
        format: DEFAULT_KEY.to_string(),
        condition: None,
        span: ctx.node.span.clone(),
    };
    ctx.server.custom_logs.push(log);
    ctx.mark("custom_logs");
    Ok(())
}

fn buffered_logs(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.buffered_logs = flag(ctx);
    Ok(())
}

/// The format a `CustomLog` names: a nickname defined by `LogFormat`, else the text itself
/// (httpd uses an unknown nickname as a literal format). `""` = the default format.
pub fn resolve(formats: &std::collections::HashMap<String, String>, f: &str) -> String {
    if f.is_empty() {
        return formats
            .get(DEFAULT_KEY)
            .cloned()
            .unwrap_or_else(|| DEFAULT_FORMAT.to_string());
    }
    if f.contains('%') {
        return f.to_string();
    }
    formats.get(f).cloned().unwrap_or_else(|| f.to_string())
}
