//! The built-in modules and their directives (Apache's module and command tables).

use super::directives;
use crate::conf::Span;

/// How many words a directive takes (Apache's `cmd_how`), for arity checks and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    NoArgs,
    Take1,
    Take2,
    Take12,
    Take3,
    Take23,
    Take123,
    Take13,
    Iterate,
    Iterate2,
    Flag,
    RawArgs,
    TakeArgv,
}

/// Where a directive may be written (Apache's `req_override` bits, simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contexts(pub u8);

impl Contexts {
    /// Main server config, outside any section.
    pub const SERVER: Contexts = Contexts(1);
    /// Inside `<VirtualHost>`.
    pub const VHOST: Contexts = Contexts(2);
    /// Inside `<Directory>`, `<Location>`, `<Files>`, `<If>` and friends.
    pub const DIRECTORY: Contexts = Contexts(4);
    /// In `.htaccess` (subject to AllowOverride).
    pub const HTACCESS: Contexts = Contexts(8);
    /// `RSRC_CONF`.
    pub const SERVER_VHOST: Contexts = Contexts(1 | 2);
    /// `RSRC_CONF | ACCESS_CONF`.
    pub const ALL_BUT_HTACCESS: Contexts = Contexts(1 | 2 | 4);
    pub const ALL: Contexts = Contexts(1 | 2 | 4 | 8);

    pub fn allows(self, other: Contexts) -> bool {
        self.0 & other.0 != 0
    }
}

/// How far a directive's behaviour is built: `-t` and the startup notice say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Implemented,
    /// Parsed and arity-checked; the server logs one notice listing such directives.
    ParsedOnly,
    /// Known to Apache but not to mpmd, and not safe to ignore (access control, request
    /// rewriting): using it is a config error that says so.
    Unsupported,
}

/// One directive a module declares.
#[derive(Clone, Copy)]
pub struct DirectiveDef {
    /// As in Apache's manual, e.g. `KeepAliveTimeout`; sections without `<`.
    pub name: &'static str,
    pub args: Args,
    pub contexts: Contexts,
    pub support: Support,
    /// Apache's help text, shown in arity errors ("Timeout takes one argument, <help>").
    pub help: &'static str,
    /// Applies the directive to the config being built; the `String` error is httpd's message.
    pub apply: fn(&mut super::directives::ApplyCtx<'_>) -> Result<(), String>,
    /// True for sections (`<Directory>`): the name is written `<Name …>`.
    pub section: bool,
}

/// One built-in module.
pub struct ModuleDef {
    /// Debian's name, as in `mods-available/<name>.load`: `mpm_event`, `status`, `core`.
    pub name: &'static str,
    /// The `LoadModule` identifier: `mpm_event_module`.
    pub identifier: &'static str,
    /// The source file name `<IfModule>` also accepts: `event.c`, `mod_status.c`.
    pub source: &'static str,
    /// Compiled in and always loaded (Debian: core so watchdog http_core log_config logio
    /// version unixd).
    pub is_static: bool,
    /// The module's directive tables (a module may split its table over several files).
    pub directives: &'static [&'static [DirectiveDef]],
}

/// Every module mpmd has. A `LoadModule` of anything else is a config error naming it.
pub fn modules() -> &'static [ModuleDef] {
    directives::MODULES
}

/// A module loaded by `LoadModule`, with where.
#[derive(Clone, Debug)]
pub struct LoadedModule {
    pub name: &'static str,
    pub span: Option<Span>,
}

/// The module with this Debian name (`mpm_event`, `status`).
pub fn module(name: &str) -> Option<&'static ModuleDef> {
    modules().iter().find(|m| m.name == name)
}

/// The module a directive belongs to. A few tables are shared by several Apache modules
/// (authz.rs holds authz_core, access_compat and authn_core); `directives::owner_override`
/// says which of them registers such a directive in Apache.
fn owner_of(table_owner: &'static ModuleDef, def: &DirectiveDef) -> &'static ModuleDef {
    match directives::owner_override(def.name) {
        Some(name) => module(name).unwrap_or(table_owner),
        None => table_owner,
    }
}

/// Every (module, directive) pair, in registry order.
pub fn all_directives() -> impl Iterator<Item = (&'static ModuleDef, &'static DirectiveDef)> {
    modules().iter().flat_map(|m| {
        m.directives
            .iter()
            .flat_map(|t| t.iter())
            .map(move |d| (owner_of(m, d), d))
    })
}

/// Finds a directive (or section, name without `<`) case-insensitively among all modules,
/// loaded or not.
pub fn find_any(name: &str) -> Option<(&'static ModuleDef, &'static DirectiveDef)> {
    all_directives().find(|(_, d)| d.name.eq_ignore_ascii_case(name))
}

/// Finds a directive among the loaded modules only. A name several modules declare (the MPM
/// directives) resolves to the loaded one.
pub fn find_loaded(
    name: &str,
    loaded: &[&'static str],
) -> Option<(&'static ModuleDef, &'static DirectiveDef)> {
    all_directives().find(|(m, d)| d.name.eq_ignore_ascii_case(name) && loaded.contains(&m.name))
}

/// The registry seen by `conf::expand` (LoadModule, `<IfModule>`, `<IfDirective>` …).
pub struct Catalog;

impl crate::conf::ModuleCatalog for Catalog {
    fn module_by_identifier(&self, identifier: &str) -> Option<&'static str> {
        modules()
            .iter()
            .find(|m| m.identifier == identifier)
            .map(|m| m.name)
    }
    fn module_by_any_name(&self, name: &str) -> Option<&'static str> {
        modules()
            .iter()
            .find(|m| m.identifier == name || m.source == name)
            .map(|m| m.name)
    }
    fn directive_module(&self, directive: &str) -> Option<&'static str> {
        all_directives()
            .find(|(_, d)| !d.section && d.name.eq_ignore_ascii_case(directive))
            .map(|(m, _)| m.name)
    }
    fn directive_modules(&self, directive: &str) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = all_directives()
            .filter(|(_, d)| !d.section && d.name.eq_ignore_ascii_case(directive))
            .map(|(m, _)| m.name)
            .collect();
        v.dedup();
        v
    }
    fn section_module(&self, section: &str) -> Option<&'static str> {
        let section = section.trim_start_matches('<');
        all_directives()
            .find(|(_, d)| d.section && d.name.eq_ignore_ascii_case(section))
            .map(|(m, _)| m.name)
    }
    fn static_modules(&self) -> &[&'static str] {
        directives::STATIC_MODULES
    }
}
