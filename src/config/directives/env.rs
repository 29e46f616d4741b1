//! mod_env: SetEnv, UnsetEnv, PassEnv.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
