//! mod_authz_core, mod_authz_host, mod_access_compat, mod_authn_core: Require and the <Require*> sections, Order/Allow/Deny/Satisfy.

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
