//! mod_setenvif: SetEnvIf, BrowserMatch, ….

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
