//! mod_alias: Alias, AliasMatch, Redirect*, ScriptAlias.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
