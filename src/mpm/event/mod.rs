//! event (in progress).
use super::ChildCtx;

pub fn child_main(ctx: ChildCtx) -> i32 {
    super::worker::child_main(ctx)
}
