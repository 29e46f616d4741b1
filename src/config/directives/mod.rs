//! The directive tables of the built-in modules, one file per module family, and the context
//! each `apply` function receives.

use super::registry::{Contexts, ModuleDef};

pub mod alias;
pub mod authz;
pub mod autoindex;
pub mod core_dir;
pub mod dir;
pub mod env;
pub mod headers;
pub mod mime;
pub mod setenvif;
use super::{DirConf, ServerConf, ServerConfig};
use crate::conf::Node;

/// What a directive's `apply` sees and may change. While a server's directives are walked,
/// `server` is that server (taken out of `global` for the walk); `dir` is the section being
/// filled, or `server.dir`'s stand-in at server/vhost level.
pub struct ApplyCtx<'a> {
    pub node: &'a Node,
    /// Where the directive is written: exactly one of the `Contexts` bits.
    pub context: Contexts,
    pub global: &'a mut ServerConfig,
    pub server: &'a mut ServerConf,
    pub dir: &'a mut DirConf,
}

pub static MODULES: &[ModuleDef] = &[];
