//! mod_dir: DirectoryIndex, DirectorySlash, and the ones we only parse.

use super::{def, flag, po, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};
use std::sync::Arc;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "DirectoryIndex",
        RawArgs,
        C::ALL,
        Implemented,
        "a list of file names",
        directory_index,
    ),
    def(
        "DirectorySlash",
        Flag,
        C::ALL,
        Implemented,
        "On or Off",
        directory_slash,
    ),
    po("DirectoryCheckHandler", Flag, C::ALL, "On or Off"),
    def(
        "FallbackResource",
        Take1,
        C::ALL,
        Implemented,
        "Set a default handler",
        fallback_resource,
    ),
    po(
        "DirectoryIndexRedirect",
        Take1,
        C::ALL,
        "On, Off, or a 3xx status code.",
    ),
];

fn directory_index(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.node.args.is_empty() {
        return Err("DirectoryIndex requires at least one argument".into());
    }
    // Each DirectoryIndex line in one section adds to the list; `disabled` clears it.
    let mut list: Vec<String> = ctx
        .dir
        .directory_index
        .as_deref()
        .cloned()
        .unwrap_or_default();
    for a in &ctx.node.args {
        if a.eq_ignore_ascii_case("disabled") {
            if ctx.node.args.len() > 1 {
                return Err(
                    "'DirectoryIndex Disabled' may not be combined with other filenames".into(),
                );
            }
            list.clear();
        }
        list.push(a.clone());
    }
    ctx.dir.directory_index = Some(Arc::new(list));
    Ok(())
}

fn directory_slash(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.directory_slash = Some(flag(ctx));
    Ok(())
}

fn fallback_resource(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.dir.fallback_resource = Some(Arc::from(ctx.arg(0)));
    Ok(())
}
