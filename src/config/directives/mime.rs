//! mod_mime: AddType, TypesConfig, AddCharset, AddEncoding, ….

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
