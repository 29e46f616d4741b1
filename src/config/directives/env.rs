//! mod_env: SetEnv, UnsetEnv, PassEnv.

use super::{def, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "SetEnv",
        Take12,
        C::ALL,
        Implemented,
        "an environment variable name and optional value to pass to CGI.",
        set_env,
    ),
    def(
        "UnsetEnv",
        Iterate,
        C::ALL,
        Implemented,
        "a list of variables to remove from the CGI environment.",
        unset_env,
    ),
    def(
        "PassEnv",
        Iterate,
        C::ALL,
        Implemented,
        "a list of environment variables to pass to CGI.",
        pass_env,
    ),
];

fn set_env(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let name = ctx.arg(0).to_string();
    let value = ctx.node.args.get(1).cloned().unwrap_or_default();
    ctx.dir.set_env.push((name, Some(value)));
    Ok(())
}

fn unset_env(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    for a in ctx.node.args.clone() {
        ctx.dir.set_env.push((a, None));
    }
    Ok(())
}

fn pass_env(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    for a in ctx.node.args.clone() {
        ctx.dir.pass_env.push(a);
    }
    Ok(())
}
