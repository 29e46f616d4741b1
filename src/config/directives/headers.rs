//! mod_headers: Header, RequestHeader.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
