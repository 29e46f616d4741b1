//! mod_autoindex: IndexOptions and friends.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
