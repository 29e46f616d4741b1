//! mod_so: LoadModule and LoadFile. `conf::expand` runs them at read time (they turn built-in
//! modules on); the walk only checks their context.

use super::{def, noop};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "LoadModule",
        Take2,
        C::SERVER,
        Implemented,
        "a module name and the name of a shared object file to load it from",
        noop,
    ),
    def(
        "LoadFile",
        Iterate,
        C::SERVER,
        Implemented,
        "shared object file or library to load into the server at runtime",
        noop,
    ),
];
