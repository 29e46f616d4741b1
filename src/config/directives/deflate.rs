//! mod_deflate's directives, and the filter-setting directives of other modules as far as
//! they name the DEFLATE filter: `AddOutputFilterByType` (mod_filter), `SetOutputFilter`
//! (core) and `AddOutputFilter` (mod_mime). Other filter names stay parsed-only.

use std::sync::Arc;

use super::{def, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    po("DeflateFilterNote", Take12, R, "Set a note to report on compression ratio"),
    def("DeflateWindowSize", Take1, R, Implemented, "Set the Deflate window size (1-15)", window_size),
    def("DeflateBufferSize", Take1, R, Implemented, "Set the Deflate Buffer Size", buffer_size),
    def("DeflateMemLevel", Take1, R, Implemented, "Set the Deflate Memory Level (1-9)", mem_level),
    def("DeflateCompressionLevel", Take1, R, Implemented, "Set the Deflate Compression Level (1-9)", level),
    def("DeflateAlterETag", Take1, R, Implemented, "Set how mod_deflate should modify ETAG response headers: 'AddSuffix' (default), 'NoChange' (2.2.x behavior), 'Remove'", alter_etag),
    po("DeflateInflateLimitRequestBody", Take1, D, "Set a limit on size of inflated input"),
    po("DeflateInflateRatioLimit", Take1, D, "Set the inflation ratio limit above which inflation is aborted (default: 200)"),
    po("DeflateInflateRatioBurst", Take1, D, "Set the maximum number of following inflation ratios above limit (default: 3)"),
];

/// `DeflateAlterETag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterETag {
    AddSuffix,
    NoChange,
    Remove,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeflateConf {
    /// Content types from `AddOutputFilterByType DEFLATE …` (lowercase).
    pub by_type: Vec<String>,
    /// `SetOutputFilter` names DEFLATE (Some(false): set to something else).
    pub set_filter: Option<bool>,
    /// Extensions from `AddOutputFilter DEFLATE …` (lowercase, no dot).
    pub by_ext: Vec<String>,
    pub level: Option<u32>,
    pub alter_etag: Option<AlterETag>,
    /// `DeflateWindowSize` (zlib's window bits, 1-15; httpd's default 15).
    pub window_size: Option<u8>,
    /// `DeflateMemLevel` (1-9; httpd's default 9, not zlib's 8).
    pub mem_level: Option<u8>,
    /// `DeflateBufferSize`: the output buffer; a response whose compressed bytes fill it
    /// before the body ends goes out without a Content-Length (httpd's default 8096).
    pub buffer_size: Option<u32>,
}

impl DeflateConf {
    pub fn merge(&self, over: &DeflateConf) -> DeflateConf {
        DeflateConf {
            by_type: [self.by_type.clone(), over.by_type.clone()].concat(),
            set_filter: over.set_filter.or(self.set_filter),
            by_ext: [self.by_ext.clone(), over.by_ext.clone()].concat(),
            level: over.level.or(self.level),
            alter_etag: over.alter_etag.or(self.alter_etag),
            window_size: over.window_size.or(self.window_size),
            mem_level: over.mem_level.or(self.mem_level),
            buffer_size: over.buffer_size.or(self.buffer_size),
        }
    }
}

fn conf<'a>(ctx: &'a mut ApplyCtx<'_>) -> &'a mut DeflateConf {
    Arc::make_mut(ctx.dir.deflate.get_or_insert_with(Default::default))
}

fn names_deflate(list: &str) -> bool {
    list.split(';')
        .any(|f| f.trim().eq_ignore_ascii_case("DEFLATE"))
}

fn level(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    match ctx.arg(0).parse::<u32>() {
        Ok(n @ 1..=9) => {
            conf(ctx).level = Some(n);
            Ok(())
        }
        _ => Err("DeflateCompressionLevel must be between 1 and 9".into()),
    }
}

fn window_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    match super::atoi(ctx.arg(0)) {
        n @ 1..=15 => {
            conf(ctx).window_size = Some(n as u8);
            Ok(())
        }
        _ => Err("DeflateWindowSize must be between 1 and 15".into()),
    }
}

fn mem_level(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    match super::atoi(ctx.arg(0)) {
        n @ 1..=9 => {
            conf(ctx).mem_level = Some(n as u8);
            Ok(())
        }
        _ => Err("DeflateMemLevel must be between 1 and 9".into()),
    }
}

fn buffer_size(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    match super::atoi(ctx.arg(0)) {
        n if n > 0 => {
            conf(ctx).buffer_size = Some(n.min(i64::from(u32::MAX)) as u32);
            Ok(())
        }
        _ => Err("DeflateBufferSize should be positive".into()),
    }
}

fn alter_etag(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let v = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "addsuffix" => AlterETag::AddSuffix,
        "nochange" => AlterETag::NoChange,
        "remove" => AlterETag::Remove,
        _ => {
            return Err(
                "DeflateAlterETag accepts only 'NoChange', 'AddSuffix', and 'Remove'".into(),
            )
        }
    };
    conf(ctx).alter_etag = Some(v);
    Ok(())
}

/// `AddOutputFilterByType filter[;filter] type …` (mod_filter).
pub fn add_output_filter_by_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if !names_deflate(ctx.arg(0)) {
        return super::parsed_only(ctx);
    }
    let types: Vec<String> = ctx.node.args[1..]
        .iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    conf(ctx).by_type.extend(types);
    Ok(())
}

/// `SetOutputFilter filter[;filter]` (core).
pub fn set_output_filter(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = names_deflate(ctx.arg(0));
    if !on && !ctx.arg(0).eq_ignore_ascii_case("none") {
        super::parsed_only(ctx)?;
    }
    conf(ctx).set_filter = Some(on);
    Ok(())
}

/// `AddOutputFilter filter[;filter] ext …` (mod_mime).
pub fn add_output_filter(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if !names_deflate(ctx.arg(0)) {
        return super::parsed_only(ctx);
    }
    let exts: Vec<String> = ctx.node.args[1..]
        .iter()
        .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
        .collect();
    conf(ctx).by_ext.extend(exts);
    Ok(())
}
