//! mod_status: ExtendedStatus and SeeRequestTail (the handler is `server-status`).

use super::{def, flag, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("ExtendedStatus", Flag, C::SERVER, Implemented, "\"On\" to track extended status information, \"Off\" to disable", extended_status),
    def("SeeRequestTail", Flag, C::SERVER, Implemented, "For verbose requests, \"On\" to see the last 63 chars of the request, \"Off\" (default) to see the first 63 in extended status display", see_request_tail),
];

fn extended_status(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.extended_status = flag(ctx);
    Ok(())
}

fn see_request_tail(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.global.see_request_tail = flag(ctx);
    Ok(())
}
