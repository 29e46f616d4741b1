//! mod_dir: DirectoryIndex, DirectorySlash, FallbackResource.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
