//! Walks the expanded tree (`conf::expand`) into a `ServerConfig`: finds each directive among
//! the LOADED modules, checks its context and arity with httpd's messages, and runs its
//! `apply`. Sections (`<VirtualHost>`, `<Directory>` …) are built here. Every walk error is
//! collected (`-t` reports them all), in file order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::directives::{log_config, ApplyCtx};
use super::overrides::{override_class, Override};
use super::registry::{self, Args, Contexts, DirectiveDef, ModuleDef};
use super::{
    checks, AllowEncodedSlashes, DirConf, HostnameLookups, HttpProtocolOptions, LogLevel, Matcher,
    MpmDirectives, MpmKind, RequestReadTimeout, Section, SectionKind, ServerConf, ServerConfig,
    ServerSignature, ServerTokens, UseCanonicalName, VhostAddr,
};
use crate::conf::{Node, Span};

/// One walk-phase error: printed as `AH00526: Syntax error on line N of FILE:` + message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkError {
    pub span: Span,
    pub message: String,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AH00526: Syntax error on line {} of {}:\n{}",
            self.span.line,
            self.span.file.display(),
            self.message
        )
    }
}

/// Why a tree did not become a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// `Configuration error: No MPM loaded.` / `More than one MPM loaded.` (AH00534).
    #[error("Configuration error: {0}")]
    Mpm(String),
    /// Every walk error, in file order.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Walk(Vec<WalkError>),
    /// A directive httpd runs while reading (`DefaultRuntimeDir`) failed: reported in the
    /// read phase's one-line form.
    #[error("{0}")]
    ReadTime(crate::conf::ConfError),
}

/// What `build` needs besides the tree.
#[derive(Clone, Debug)]
pub struct BuildInput<'a> {
    pub nodes: &'a [Node],
    /// Loaded modules in load order, static ones first.
    pub modules: Vec<&'static str>,
    pub server_root: PathBuf,
    pub config_file: PathBuf,
    pub defines: Vec<(String, Option<String>)>,
    pub skip_docroot_check: bool,
}

impl ServerConf {
    /// `dir` behind an `Arc`, made once: what every request of this server starts from.
    pub fn shared_dir(&self) -> std::sync::Arc<DirConf> {
        self.dir_shared
            .get_or_init(|| std::sync::Arc::new(self.dir.clone()))
            .clone()
    }

    /// The main server with httpd's defaults.
    pub fn main_defaults() -> ServerConf {
        ServerConf {
            span: None,
            addrs: Vec::new(),
            server_name: None,
            server_aliases: Vec::new(),
            server_admin: None,
            document_root: PathBuf::from("/var/www/html"),
            error_log: String::new(),
            custom_logs: Vec::new(),
            timeout: Duration::from_secs(60),
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            max_keep_alive_requests: 100,
            limit_request_line: 8190,
            limit_request_field_size: 8190,
            limit_request_fields: 100,
            server_signature: ServerSignature::Off,
            protocols: vec!["http/1.1".to_string()],
            dir: DirConf::default(),
            dir_shared: Default::default(),
            sections: Vec::new(),
            named_locations: Default::default(),
            early_ifs: Default::default(),
            extra: Vec::new(),
            hostname_lookups: HostnameLookups::Off,
            use_canonical_name: UseCanonicalName::Off,
            allow_encoded_slashes: AllowEncodedSlashes::Off,
            merge_slashes: true,
            access_file_names: vec![".htaccess".to_string()],
            request_read_timeout: RequestReadTimeout::default(),
            limit_internal_recursion: (10, 10),
            http_protocol: HttpProtocolOptions::default(),
            ssl: Default::default(),
            h2: Default::default(),
            remoteip: Default::default(),
            set_here: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// A configuration with httpd's defaults, before any directive.
    pub fn with_defaults(server_root: PathBuf, config_file: PathBuf) -> ServerConfig {
        let error_log = server_root
            .join("logs/error_log")
            .to_string_lossy()
            .into_owned();
        let mut main = ServerConf::main_defaults();
        main.error_log = error_log;
        ServerConfig {
            default_runtime_dir: server_root.join("logs"),
            server_root,
            config_file,
            defines: Vec::new(),
            modules: Vec::new(),
            mpm: MpmKind::Event,
            mpm_config: checks::mpm(MpmKind::Event, &MpmDirectives::default()).0,
            listen: Vec::new(),
            pid_file: PathBuf::from("/run/mpmd.pid"),
            scoreboard_file: None,
            user: None,
            group: None,
            log_level: LogLevel::Warn,
            server_tokens: ServerTokens::Full,
            trace_enable: true,
            extended_status: false,
            enable_sendfile: false,
            http_protocol_strict: true,
            types_config: PathBuf::from(DEFAULT_TYPES_CONFIG),
            // The default TypesConfig, read once here; `build` rereads when TypesConfig names
            // another file.
            mime_types: std::sync::Arc::new(crate::modules::mime::read_types(
                std::path::Path::new(DEFAULT_TYPES_CONFIG),
            )),
            log_formats: HashMap::new(),
            main,
            vhosts: Vec::new(),
            parsed_only: Vec::new(),
            warnings: Vec::new(),
            mpm_directives: MpmDirectives::default(),
            module_log_levels: Vec::new(),
            mutexes: Vec::new(),
            enable_mmap: true,
            buffered_logs: false,
            global_logs: Vec::new(),
            see_request_tail: false,
            include_dump: String::new(),
            notices: Vec::new(),
            skip_docroot_check: false,
            tls: Default::default(),
            proxy_protocol: Default::default(),
        }
    }
}

/// Which MPM the loaded modules pick; httpd's AH00534 wording when not exactly one.
pub fn mpm_of(modules: &[&'static str]) -> Result<MpmKind, BuildError> {
    let mpms: Vec<MpmKind> = modules
        .iter()
        .filter_map(|m| match *m {
            "mpm_prefork" => Some(MpmKind::Prefork),
            "mpm_worker" => Some(MpmKind::Worker),
            "mpm_event" => Some(MpmKind::Event),
            _ => None,
        })
        .collect();
    match mpms.as_slice() {
        [] => Err(BuildError::Mpm("No MPM loaded.".into())),
        [one] => Ok(*one),
        _ => Err(BuildError::Mpm("More than one MPM loaded.".into())),
    }
}

/// Builds the configuration. Walk errors come back all together, in file order.
/// httpd's TypesConfig default on Debian.
const DEFAULT_TYPES_CONFIG: &str = "/etc/mime.types";

pub fn build(input: BuildInput<'_>) -> Result<ServerConfig, BuildError> {
    let mpm = mpm_of(&input.modules)?;
    let mut global = ServerConfig::with_defaults(input.server_root, input.config_file);
    global.modules = input.modules;
    global.defines = input.defines;
    global.mpm = mpm;
    global.skip_docroot_check = input.skip_docroot_check;
    // mod_status turns ExtendedStatus on in its pre_config; a later `ExtendedStatus Off` wins.
    global.extended_status = global.modules.contains(&"status");

    check_read_time(input.nodes, &global.server_root)?;
    let mut order = HashMap::new();
    number_nodes(input.nodes, &mut order);
    let mut w = Walker {
        global,
        errors: Vec::new(),
        htaccess: false,
        allowed: Override::ANY,
    };

    // The main server first, with every top-level directive wherever it is written (httpd
    // merges vhosts with the main server only after the whole file is read).
    let mut main = std::mem::replace(&mut w.global.main, ServerConf::main_defaults());
    let mut vhost_nodes = Vec::new();
    {
        let mut dir = std::mem::take(&mut main.dir);
        let mut sections = std::mem::take(&mut main.sections);
        let mut prev_if = false;
        for node in input.nodes {
            if node.is_section() && node.name.eq_ignore_ascii_case("VirtualHost") {
                if w.lookup(node).is_some() {
                    vhost_nodes.push(node);
                }
                prev_if = false;
                continue;
            }
            w.node(node, &[], &mut main, &mut dir, &mut sections, &mut prev_if);
        }
        main.dir = dir;
        main.dir_shared = Default::default();
        main.sections = sections;
        main.named_locations = Default::default();
        main.early_ifs = Default::default();
    }

    let mut vhosts = Vec::new();
    for node in vhost_nodes {
        if let Some(v) = w.vhost(node, &main) {
            vhosts.push(v);
        }
    }

    let mut g = w.global;
    g.proxy_protocol.resolve(|key| {
        order
            .get(&(key as *const Node))
            .copied()
            .unwrap_or(usize::MAX)
    });
    let mut errors = w.errors;
    if !errors.is_empty() {
        errors.sort_by_key(|(n, _)| order.get(n).copied().unwrap_or(usize::MAX));
        return Err(BuildError::Walk(
            errors.into_iter().map(|(_, e)| e).collect(),
        ));
    }
    resolve_logs(&g.log_formats, &mut main);
    for v in &mut vhosts {
        resolve_logs(&g.log_formats, v);
    }
    let formats = g.log_formats.clone();
    for l in &mut g.global_logs {
        l.format = log_config::resolve(&formats, &l.format);
    }
    g.main = main;
    g.vhosts = vhosts;
    let (mpm_config, warnings) = checks::mpm(g.mpm, &g.mpm_directives);
    g.mpm_config = mpm_config;
    g.warnings = warnings;
    if g.types_config.as_os_str() != DEFAULT_TYPES_CONFIG {
        g.mime_types = std::sync::Arc::new(crate::modules::mime::read_types(&g.types_config));
    }
    Ok(g)
}

/// Walks the directives of one `.htaccess` file (already expanded with
/// `conf::expand::expand_htaccess`) for the request's server: returns the settings written at
/// its top level, its sections (`<Files>`, `<If>`, `<Limit>` …) and every error, in httpd's
/// words. A directive must be allowed in .htaccess at all and its class granted by
/// `allowed` (the directory's `AllowOverride`), else `X not allowed here`.
pub fn walk_htaccess(
    nodes: &[Node],
    global: &ServerConfig,
    server: &ServerConf,
    allowed: Override,
) -> (DirConf, Vec<Section>, Vec<WalkError>) {
    let mut order = HashMap::new();
    number_nodes(nodes, &mut order);
    let mut w = Walker {
        global: global.clone(),
        errors: Vec::new(),
        htaccess: true,
        allowed,
    };
    let mut server = server.clone();
    let mut dir = DirConf::default();
    let mut sections = Vec::new();
    let mut prev_if = false;
    for node in nodes {
        w.node(
            node,
            &[],
            &mut server,
            &mut dir,
            &mut sections,
            &mut prev_if,
        );
    }
    let mut errors = w.errors;
    errors.sort_by_key(|(n, _)| order.get(n).copied().unwrap_or(usize::MAX));
    (dir, sections, errors.into_iter().map(|(_, e)| e).collect())
}

/// `DefaultRuntimeDir` runs at read time in httpd, so its failure is a read-phase error.
fn check_read_time(nodes: &[Node], server_root: &Path) -> Result<(), BuildError> {
    for n in nodes.iter().filter(|n| !n.is_section()) {
        if n.name.eq_ignore_ascii_case("DefaultRuntimeDir") && n.args.len() == 1 {
            let p = Path::new(&n.args[0]);
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                server_root.join(p)
            };
            if !p.is_dir() {
                return Err(BuildError::ReadTime(crate::conf::ConfError {
                    chain: vec![n.span.clone()],
                    message: "DefaultRuntimeDir must be a valid directory, absolute or relative to ServerRoot".into(),
                }));
            }
        }
    }
    Ok(())
}

/// Reads and walks one `.htaccess` file for a request: `${}` and the If* sections as the
/// server's read pass left them, then the directives. The error is what httpd logs (at
/// ALERT, answering 500): `<file>: <message>`, for the first problem only.
pub fn read_htaccess(
    text: &str,
    file: &Path,
    cfg: &ServerConfig,
    server: &ServerConf,
    allowed: Override,
) -> Result<(DirConf, Vec<Section>), String> {
    let state = cfg.read_state();
    let (nodes, _warnings) =
        crate::conf::expand::expand_htaccess(text, file, &state, &registry::Catalog)
            .map_err(|e| format!("{}: {}", file.display(), e.message))?;
    let (dir, sections, errors) = walk_htaccess(&nodes, cfg, server, allowed);
    match errors.into_iter().next() {
        Some(e) => Err(format!("{}: {}", file.display(), e.message)),
        None => Ok((dir, sections)),
    }
}

fn resolve_logs(formats: &HashMap<String, String>, s: &mut ServerConf) {
    for l in &mut s.custom_logs {
        l.format = log_config::resolve(formats, &l.format);
    }
}

fn number_nodes(nodes: &[Node], order: &mut HashMap<*const Node, usize>) {
    for n in nodes {
        let i = order.len();
        order.insert(n as *const Node, i);
        number_nodes(n.children(), order);
    }
}

struct Walker {
    global: ServerConfig,
    errors: Vec<(*const Node, WalkError)>,
    /// Walking an `.htaccess` file: only directives allowed there.
    htaccess: bool,
    /// What `AllowOverride` grants the `.htaccess` being walked.
    allowed: Override,
}

/// The name httpd prints for a directive in messages: sections keep their `<`.
fn display_name(def: &DirectiveDef) -> String {
    if def.section {
        format!("<{}", def.name)
    } else {
        def.name.to_string()
    }
}

/// httpd's arity check (`invoke_cmd`); `None` when the count fits.
pub fn arity_error(def: &DirectiveDef, args: &[String]) -> Option<String> {
    let n = args.len();
    let name = def.name;
    let help = if def.help.is_empty() {
        String::new()
    } else {
        format!(", {}", def.help)
    };
    let bad = |what: &str| Some(format!("{name} {what}{help}"));
    match def.args {
        Args::NoArgs if n != 0 => Some(format!("{name} takes no arguments")),
        Args::Take1 if n != 1 => bad("takes one argument"),
        Args::Take2 if n != 2 => bad("takes two arguments"),
        Args::Take12 if !(1..=2).contains(&n) => bad("takes 1-2 arguments"),
        Args::Take3 if n != 3 => bad("takes three arguments"),
        Args::Take23 if !(2..=3).contains(&n) => bad("takes two or three arguments"),
        Args::Take123 if !(1..=3).contains(&n) => bad("takes one, two or three arguments"),
        Args::Take13 if !(n == 1 || n == 3) => bad("takes one or three arguments"),
        Args::Iterate2 if n < 2 => bad("requires at least two arguments"),
        Args::Flag => {
            let ok = args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case("on") || a.eq_ignore_ascii_case("off"));
            if ok {
                None
            } else {
                Some(format!("{name} must be On or Off"))
            }
        }
        _ => None,
    }
}

/// The words of a section's argument (`<Directory "/a b">` → `/a b`).
fn section_args(node: &Node) -> Vec<String> {
    if !node.args.is_empty() {
        return node.args.clone();
    }
    node.raw_args
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_string())
        .collect()
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Walker {
    fn error(&mut self, node: &Node, message: String) {
        self.errors.push((
            node as *const Node,
            WalkError {
                span: node.span.clone(),
                message,
            },
        ));
    }

    /// Finds the directive among the loaded modules, or records httpd's "Invalid command".
    fn lookup(&mut self, node: &Node) -> Option<(&'static ModuleDef, &'static DirectiveDef)> {
        let name = node.name.trim_start_matches('<');
        match registry::find_loaded(name, &self.global.modules) {
            Some(found) => Some(found),
            None => {
                let shown = if node.is_section() {
                    format!("<{name}")
                } else {
                    name.to_string()
                };
                self.error(node, format!("Invalid command '{shown}', perhaps misspelled or defined by a module not included in the server configuration"));
                None
            }
        }
    }

    /// httpd's context checks; `stack` holds the enclosing per-directory sections.
    fn context_error(&self, def: &DirectiveDef, stack: &[&Node], in_vhost: bool) -> Option<String> {
        let name = display_name(def);
        if self.htaccess {
            let class = override_class(def.name);
            let permitted = class.is_some_and(|c| c.permitted_by(self.allowed));
            if !def.contexts.allows(Contexts::HTACCESS) || !permitted {
                return Some(format!("{name} not allowed here"));
            }
        }
        // The top level of an .htaccess file is the directory's own context.
        if self.htaccess && stack.is_empty() {
            return None;
        }
        if let Some(inner) = stack.last() {
            if !def.contexts.allows(Contexts::DIRECTORY) {
                let inner = match registry::find_any(&inner.name) {
                    Some((_, d)) => d.name.to_string(),
                    None => inner.name.clone(),
                };
                return Some(format!("{name} not allowed in <{inner}> context"));
            }
            return None;
        }
        if in_vhost {
            if def.contexts.allows(Contexts::VHOST) {
                return None;
            }
            if def.contexts.allows(Contexts::SERVER) {
                // httpd closes a section's name here: `<VirtualHost> cannot occur within …`.
                let gt = if def.section { ">" } else { "" };
                return Some(format!(
                    "{name}{gt} cannot occur within <VirtualHost> section"
                ));
            }
            return Some(format!("{name} not allowed here"));
        }
        if def.contexts.allows(Contexts::SERVER) {
            return None;
        }
        Some(format!("{name} not allowed here"))
    }

    /// Walks one node at server/vhost level (`stack` empty) or inside sections.
    fn node(
        &mut self,
        node: &Node,
        stack: &[&Node],
        server: &mut ServerConf,
        dir: &mut DirConf,
        sections: &mut Vec<Section>,
        prev_if: &mut bool,
    ) {
        let was_if = std::mem::replace(prev_if, false);
        let Some((_, def)) = self.lookup(node) else {
            return;
        };
        let in_vhost = server.span.is_some();
        if let Some(msg) = self.context_error(def, stack, in_vhost) {
            self.error(node, msg);
            return;
        }
        if def.section {
            self.section(node, def, stack, server, dir, sections, was_if, prev_if);
            return;
        }
        if let Some(msg) = arity_error(def, &node.args) {
            self.error(node, msg);
            return;
        }
        let context = if self.htaccess && stack.is_empty() {
            Contexts::HTACCESS
        } else if !stack.is_empty() {
            Contexts::DIRECTORY
        } else if in_vhost {
            Contexts::VHOST
        } else {
            Contexts::SERVER
        };
        let mut ctx = ApplyCtx {
            node,
            context,
            sections: stack,
            global: &mut self.global,
            server,
            dir,
        };
        if let Err(msg) = (def.apply)(&mut ctx) {
            self.error(node, msg);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn section(
        &mut self,
        node: &Node,
        def: &'static DirectiveDef,
        stack: &[&Node],
        server: &mut ServerConf,
        dir: &mut DirConf,
        sections: &mut Vec<Section>,
        was_if: bool,
        prev_if: &mut bool,
    ) {
        let args = section_args(node);
        let kind = match def.name {
            "Directory" => SectionKind::Directory,
            "DirectoryMatch" => SectionKind::DirectoryMatch,
            "Files" => SectionKind::Files,
            "FilesMatch" => SectionKind::FilesMatch,
            "Location" => SectionKind::Location,
            "LocationMatch" => SectionKind::LocationMatch,
            "Proxy" => SectionKind::Proxy,
            "ProxyMatch" => SectionKind::ProxyMatch,
            "If" => SectionKind::If,
            "ElseIf" => SectionKind::ElseIf,
            "Else" => SectionKind::Else,
            "Limit" => SectionKind::Limit,
            "LimitExcept" => SectionKind::LimitExcept,
            "VirtualHost" => {
                // Only reachable nested (top-level ones are taken aside); the context check
                // has already refused it.
                return;
            }
            _ => {
                // A section another module builds itself (`<RequireAll>` …).
                let context = if stack.is_empty() {
                    if server.span.is_some() {
                        Contexts::VHOST
                    } else {
                        Contexts::SERVER
                    }
                } else {
                    Contexts::DIRECTORY
                };
                let mut ctx = ApplyCtx {
                    node,
                    context,
                    sections: stack,
                    global: &mut self.global,
                    server,
                    dir,
                };
                if let Err(msg) = (def.apply)(&mut ctx) {
                    self.error(node, msg);
                }
                return;
            }
        };
        if matches!(kind, SectionKind::Else | SectionKind::ElseIf) && !was_if {
            self.error(node, "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope".into());
            return;
        }
        let needs_arg = kind != SectionKind::Else;
        if needs_arg && args.is_empty() {
            self.error(
                node,
                format!("<{}> directive requires additional arguments", def.name),
            );
            return;
        }
        let matcher = match self.matcher(kind, &args, node) {
            Ok(m) => m,
            Err(msg) => {
                self.error(node, msg);
                return;
            }
        };
        let depth = match &matcher {
            Matcher::Literal(p) | Matcher::Wildcard(p) => super::path_components(p),
            _ => 0,
        };
        let mut sec = Section {
            kind,
            matcher,
            conf: DirConf::default(),
            nested: Vec::new(),
            span: node.span.clone(),
            depth,
        };
        let mut inner: Vec<&Node> = stack.to_vec();
        inner.push(node);
        let mut child_if = false;
        for child in node.children() {
            self.node(
                child,
                &inner,
                server,
                &mut sec.conf,
                &mut sec.nested,
                &mut child_if,
            );
        }
        *prev_if = matches!(kind, SectionKind::If | SectionKind::ElseIf);
        sections.push(sec);
    }

    fn matcher(&self, kind: SectionKind, args: &[String], node: &Node) -> Result<Matcher, String> {
        let regex = |re: &str| {
            crate::config::pcre::Regex::new(re)
                .map(Matcher::Regex)
                .map_err(|e| crate::config::pcre::httpd_message(e, "Regex could not be compiled"))
        };
        let is_if = matches!(
            kind,
            SectionKind::If | SectionKind::ElseIf | SectionKind::Else
        );
        let tilde = !is_if && args.first().is_some_and(|a| a == "~");
        if tilde {
            let Some(re) = args.get(1) else {
                return Err(format!(
                    "<{}> directive requires additional arguments",
                    node.name
                ));
            };
            return regex(re);
        }
        if kind == SectionKind::Else && !node.raw_args.trim().is_empty() {
            return Err("<Else> does not take an argument".into());
        }
        if matches!(kind, SectionKind::If | SectionKind::ElseIf) {
            // httpd parses the first word, then refuses any other.
            let cond = super::expr::parse(args.first().map_or("", String::as_str))
                .map_err(|e| format!("Cannot parse condition clause: {e}"))?;
            if args.len() > 1 {
                let name = if kind == SectionKind::If {
                    "If"
                } else {
                    "ElseIf"
                };
                return Err(format!("Multiple <{name}> arguments not supported."));
            }
            return Ok(Matcher::Expr(std::sync::Arc::new(cond)));
        }
        if args.len() > 1 && !matches!(kind, SectionKind::Limit | SectionKind::LimitExcept) {
            let name = registry::find_any(&node.name)
                .map(|(_, d)| d.name)
                .unwrap_or("");
            return Err(format!("Multiple <{name}> arguments not (yet) supported."));
        }
        let arg = args.first().cloned().unwrap_or_default();
        Ok(match kind {
            SectionKind::DirectoryMatch
            | SectionKind::FilesMatch
            | SectionKind::LocationMatch
            | SectionKind::ProxyMatch => regex(&arg)?,
            SectionKind::Directory => {
                let mut p = if Path::new(&arg).is_absolute() || arg.starts_with('/') {
                    arg.clone()
                } else {
                    self.global
                        .server_root
                        .join(&arg)
                        .to_string_lossy()
                        .into_owned()
                };
                while p.contains("//") {
                    p = p.replace("//", "/");
                }
                if !p.ends_with('/') {
                    p.push('/');
                }
                if has_wildcard(&p) {
                    Matcher::Wildcard(p)
                } else {
                    Matcher::Literal(p)
                }
            }
            SectionKind::Files | SectionKind::Location | SectionKind::Proxy => {
                if has_wildcard(&arg) {
                    Matcher::Wildcard(arg)
                } else {
                    Matcher::Literal(arg)
                }
            }
            SectionKind::If | SectionKind::ElseIf | SectionKind::Else => {
                Matcher::Expr(std::sync::Arc::new(super::expr::Cond::Const(true)))
            }
            SectionKind::Limit | SectionKind::LimitExcept => Matcher::Literal(
                args.iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        })
    }

    /// Builds one `<VirtualHost>`: starts from the main server's settings (what the vhost does
    /// not set is inherited), then walks the vhost's own directives.
    fn vhost(&mut self, node: &Node, main: &ServerConf) -> Option<ServerConf> {
        let args = section_args(node);
        if args.is_empty() {
            self.error(
                node,
                "<VirtualHost> directive requires additional arguments".into(),
            );
            return None;
        }
        let mut addrs = Vec::new();
        for a in &args {
            match parse_vhost_addr(a) {
                Ok(v) => addrs.push(v),
                Err(msg) => {
                    self.error(node, msg);
                    return None;
                }
            }
        }
        let mut v = main.clone();
        v.span = Some(node.span.clone());
        v.addrs = addrs;
        v.server_aliases = Vec::new();
        v.custom_logs = Vec::new();
        v.set_here = Vec::new();
        v.dir = DirConf::default();
        v.dir_shared = Default::default();
        let inherited_sections = std::mem::take(&mut v.sections);
        let mut dir = DirConf::default();
        let mut sections = Vec::new();
        let mut prev_if = false;
        for child in node.children() {
            self.node(child, &[], &mut v, &mut dir, &mut sections, &mut prev_if);
        }
        v.dir = main.dir.merge(&dir);
        v.dir_shared = Default::default();
        let mut all = inherited_sections;
        all.extend(sections);
        v.sections = all;
        v.named_locations = Default::default();
        v.early_ifs = Default::default();
        if v.custom_logs.is_empty() {
            v.custom_logs = main.custom_logs.clone();
        }
        Some(v)
    }
}

/// `<VirtualHost>` address: `*`, `_default_`, an IP, `[v6]` or a host name, with `:port`/`:*`.
pub fn parse_vhost_addr(text: &str) -> Result<VhostAddr, String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("Could not resolve host name {text} -- ignoring!"))?;
        let after = &rest[end + 1..];
        (&rest[..end], after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (text, None),
        }
    };
    let port = match port {
        None | Some("*") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) => Some(n),
            Err(_) => return Err(format!("The address or port is invalid: {text}")),
        },
    };
    let is_default = host.eq_ignore_ascii_case("_default_");
    let ip = if host == "*" || is_default {
        None
    } else if let Ok(ip) = host.parse() {
        Some(ip)
    } else {
        use std::net::ToSocketAddrs;
        match (host, 0).to_socket_addrs().ok().and_then(|mut i| i.next()) {
            Some(sa) => Some(sa.ip()),
            None => return Err(format!("Could not resolve host name {host} -- ignoring!")),
        }
    };
    Ok(VhostAddr {
        ip,
        port,
        is_default,
        text: text.to_string(),
    })
}

/// A span for errors without a line (tests, `-C` directives).
pub fn synthetic_span(file: &str, line: u32) -> Span {
    Span {
        file: Arc::new(PathBuf::from(file)),
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_with, LoadOptions};

    fn load(body: &str) -> (tempfile::TempDir, ServerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("htdocs")).unwrap();
        let text = format!("LoadModule mpm_event_module x.so\nListen 127.0.0.1:19597\nServerName main.example\n{body}");
        std::fs::write(root.join("t.conf"), text).unwrap();
        let opts = LoadOptions {
            server_root: Some(root),
            config_file: "t.conf".into(),
            ..Default::default()
        };
        let cfg = load_with(&opts).unwrap_or_else(|e| panic!("{}", e.report("mpmd")));
        (dir, cfg)
    }

    #[test]
    fn vhost_inherits_main_settings_written_after_it() {
        let (_d, cfg) = load(
            "<VirtualHost *:80>\nServerName v.example\nKeepAliveTimeout 7\n</VirtualHost>\nTimeout 42\nKeepAliveTimeout 3\n",
        );
        let v = &cfg.vhosts[0];
        assert_eq!(v.timeout, Duration::from_secs(42));
        assert_eq!(v.keep_alive_timeout, Duration::from_secs(7));
        assert!(v.set_here.contains(&"keep_alive_timeout"));
        assert!(!v.set_here.contains(&"timeout"));
        assert_eq!(cfg.main.keep_alive_timeout, Duration::from_secs(3));
        assert_eq!(v.server_name.as_deref(), Some("v.example"));
    }

    #[test]
    fn remoteip_vhost_takes_each_setting_or_the_main_one_and_a_whole_proxy_list() {
        let (_d, cfg) = load(
            "LoadModule remoteip_module x.so\n\
             <VirtualHost *:80>\nRemoteIPInternalProxy 10.0.0.0/8\nRemoteIPTrustedProxy 192.0.2.1\n</VirtualHost>\n\
             <VirtualHost *:81>\nRemoteIPHeader X-Real-IP\n</VirtualHost>\n\
             RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-By\n\
             RemoteIPTrustedProxy 127.0.0.1 ::1\n",
        );
        let ips = |c: &crate::config::directives::remoteip::RemoteIpConf| {
            c.proxies
                .iter()
                .map(|m| format!("{}/{}:{}", m.net.addr, m.net.prefix, m.internal))
                .collect::<Vec<_>>()
        };
        let main = &cfg.main.remoteip;
        assert_eq!(main.header.as_deref(), Some("X-Forwarded-For"));
        assert_eq!(ips(main), ["127.0.0.1/32:false", "::1/128:false"]);
        let v1 = &cfg.vhosts[0].remoteip;
        assert_eq!(v1.header.as_deref(), Some("X-Forwarded-For"));
        assert_eq!(v1.proxies_header.as_deref(), Some("X-By"));
        assert_eq!(ips(v1), ["10.0.0.0/8:true", "192.0.2.1/32:false"]);
        let v2 = &cfg.vhosts[1].remoteip;
        assert_eq!(v2.header.as_deref(), Some("X-Real-IP"));
        assert_eq!(ips(v2), ips(main));
    }

    #[test]
    fn proxy_protocol_settings_apply_in_file_order_per_address() {
        // What apache2 logs for this file (AH03492/AH03494): the main server's On, written
        // after the `*` vhost's Off, wins; the later On for 127.0.0.1:18473 takes it off the
        // disabled list and is covered by the wildcard; [::1]:80 likewise.
        let (_d, cfg) = load(
            "LoadModule remoteip_module x.so\n\
             <VirtualHost *>\nRemoteIPProxyProtocol Off\n</VirtualHost>\n\
             RemoteIPProxyProtocol On\n\
             <VirtualHost 127.0.0.1:18473 127.0.0.3>\nRemoteIPProxyProtocol Off\n</VirtualHost>\n\
             <VirtualHost 127.0.0.1:18473>\nRemoteIPProxyProtocol On\n</VirtualHost>\n\
             <VirtualHost [::1]:80>\nRemoteIPProxyProtocol On\n</VirtualHost>\n\
             RemoteIPProxyProtocolExceptions 10.0.0.0/8 192.0.2.7\n",
        );
        let pp = &cfg.proxy_protocol;
        assert_eq!(
            pp.notices(),
            [
                "AH03492: RemoteIPProxyProtocol: enabled on 0.0.0.0:0",
                "AH03494: RemoteIPProxyProtocol: disabled on 127.0.0.3:0"
            ]
        );
        let at = |l: &str, p: &str| pp.applies(l.parse().unwrap(), p.parse().unwrap());
        assert!(at("127.0.0.1:18473", "127.0.0.1:5000"));
        assert!(at("127.0.0.5:80", "127.0.0.1:5000"));
        assert!(!at("127.0.0.3:80", "127.0.0.1:5000"));
        assert!(!at("127.0.0.1:18473", "10.1.2.3:5000"));
        assert!(!at("127.0.0.1:18473", "192.0.2.7:5000"));
        assert!(at("127.0.0.1:18473", "192.0.2.8:5000"));
        assert!(pp.pending.is_empty());

        // Off for one address of a server that is otherwise on; nothing without the directive.
        let (_d, cfg) = load(
            "LoadModule remoteip_module x.so\nRemoteIPProxyProtocol On\n\
             <VirtualHost 127.0.0.2:*>\nRemoteIPProxyProtocol Off\n</VirtualHost>\n",
        );
        let pp = &cfg.proxy_protocol;
        assert!(pp.applies(
            "127.0.0.1:80".parse().unwrap(),
            "127.0.0.1:1".parse().unwrap()
        ));
        assert!(!pp.applies(
            "127.0.0.2:80".parse().unwrap(),
            "127.0.0.1:1".parse().unwrap()
        ));
        let (_d, cfg) = load("LoadModule remoteip_module x.so\n");
        assert!(cfg.proxy_protocol.enabled.is_empty());
    }

    #[test]
    fn custom_logs_are_replaced_not_merged_and_nicknames_resolve_late() {
        let (_d, cfg) = load(
            "CustomLog logs/main.log common\n<VirtualHost *:80>\nCustomLog logs/v.log combined\n</VirtualHost>\n<VirtualHost *:81>\n</VirtualHost>\nLogFormat \"%h %>s\" common\nLogFormat \"%h %U\" combined\n",
        );
        assert_eq!(cfg.main.custom_logs.len(), 1);
        assert_eq!(cfg.main.custom_logs[0].format, "%h %>s");
        assert!(cfg.main.custom_logs[0].target.ends_with("/logs/main.log"));
        let v0 = &cfg.vhosts[0].custom_logs;
        assert_eq!(v0.len(), 1);
        assert_eq!(v0[0].format, "%h %U");
        assert_eq!(cfg.vhosts[1].custom_logs[0].format, "%h %>s");
    }

    #[test]
    fn sections_are_canonical_and_nested() {
        let (d, cfg) = load(
            "<Directory htdocs>\n<Files \"*.txt\">\n</Files>\n<Limit GET post>\n</Limit>\n</Directory>\n<Directory ~ \"^/srv/.*\">\n</Directory>\n<Location /status>\n</Location>\n<If \"%{HTTPS} == 'on'\">\n</If>\n<Else>\n</Else>\n",
        );
        let root = d.path().canonicalize().unwrap();
        let s = &cfg.main.sections;
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].kind, SectionKind::Directory);
        match &s[0].matcher {
            Matcher::Literal(p) => assert_eq!(p, &format!("{}/htdocs/", root.display())),
            m => panic!("{m:?}"),
        }
        assert_eq!(s[0].nested.len(), 2);
        assert_eq!(s[0].nested[0].kind, SectionKind::Files);
        assert!(matches!(&s[0].nested[0].matcher, Matcher::Wildcard(w) if w == "*.txt"));
        assert_eq!(s[0].nested[1].kind, SectionKind::Limit);
        assert!(matches!(&s[0].nested[1].matcher, Matcher::Literal(m) if m == "GET POST"));
        assert!(matches!(&s[1].matcher, Matcher::Regex(r) if r.is_match("/srv/x")));
        assert!(matches!(&s[2].matcher, Matcher::Literal(l) if l == "/status"));
        assert!(matches!(&s[3].matcher, Matcher::Expr(e) if matches!(**e,
            crate::config::expr::Cond::Str(crate::config::expr::Word::Var("HTTPS"), _, _))));
        assert_eq!(s[4].kind, SectionKind::Else);
    }

    #[test]
    fn vhost_sections_follow_the_main_servers() {
        let (_d, cfg) = load("<Location /a>\n</Location>\n<VirtualHost *:80>\n<Location /b>\n</Location>\n</VirtualHost>\n");
        let names: Vec<String> = cfg.vhosts[0]
            .sections
            .iter()
            .map(|s| match &s.matcher {
                Matcher::Literal(l) => l.clone(),
                m => format!("{m:?}"),
            })
            .collect();
        assert_eq!(names, vec!["/a", "/b"]);
        assert_eq!(cfg.main.sections.len(), 1);
    }

    #[test]
    fn htaccess_refuses_server_directives_and_sections() {
        let (_d, cfg) = load("");
        let span = synthetic_span("/x/.htaccess", 1);
        let node = |name: &str, args: &[&str], block: Option<Vec<Node>>| Node {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            raw_args: args.join(" "),
            span: span.clone(),
            block,
        };
        let nodes = vec![
            node("Timeout", &["5"], None),
            node("Directory", &["/"], Some(vec![])),
            node("Files", &["a"], Some(vec![])),
        ];
        let (_, sections, errors) = walk_htaccess(&nodes, &cfg, &cfg.main, Override::ANY);
        let msgs: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec!["Timeout not allowed here", "<Directory not allowed here"]
        );
        assert_eq!(sections.len(), 1);
    }

    #[test]
    fn no_directive_panics_on_odd_arguments() {
        let (_d, base) = load("");
        let span = synthetic_span("/x.conf", 1);
        let odd: &[&[&str]] = &[
            &[],
            &[""],
            &["x"],
            &["-1"],
            &["999999999999999999999999"],
            &["on", "off", "x"],
            &["[", "]", "~"],
            &["é:ü", "\u{0}"],
            &["header=", "body=-"],
            &["~", "("],
        ];
        for (m, d) in registry::all_directives() {
            for args in odd {
                let node = Node {
                    name: d.name.to_string(),
                    args: args.iter().map(|a| a.to_string()).collect(),
                    raw_args: args.join(" "),
                    span: span.clone(),
                    block: d.section.then(Vec::new),
                };
                let mut modules: Vec<&'static str> = base
                    .modules
                    .iter()
                    .copied()
                    .filter(|n| !n.starts_with("mpm_"))
                    .collect();
                modules.push(if m.name.starts_with("mpm_") {
                    m.name
                } else {
                    "mpm_event"
                });
                if !modules.contains(&m.name) {
                    modules.push(m.name);
                }
                let input = BuildInput {
                    nodes: std::slice::from_ref(&node),
                    modules,
                    server_root: base.server_root.clone(),
                    config_file: base.config_file.clone(),
                    defines: Vec::new(),
                    skip_docroot_check: false,
                };
                // Errors are fine (and expected); a panic is not.
                let _ = build(input);
            }
        }
    }

    #[test]
    fn htaccess_text_is_read_with_the_servers_modules() {
        let (d, cfg) = load("");
        let file = d.path().join(".htaccess");
        let ok = "<IfModule mpm_event_module>\n<Files x>\n</Files>\n</IfModule>\n";
        let (_, sections) = read_htaccess(ok, &file, &cfg, &cfg.main, Override::ANY).unwrap();
        assert_eq!(sections.len(), 1);
        // <Files> is OR_ALL: any AllowOverride but None lets it through.
        let err = read_htaccess(ok, &file, &cfg, &cfg.main, Override(0)).unwrap_err();
        assert_eq!(err, format!("{}: <Files not allowed here", file.display()));
        assert!(read_htaccess(ok, &file, &cfg, &cfg.main, Override::INDEXES).is_ok());
        let err = read_htaccess("Bogus\n", &file, &cfg, &cfg.main, Override::ANY).unwrap_err();
        assert_eq!(
            err,
            format!("{}: Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the server configuration", file.display())
        );
        let err = read_htaccess("Listen 80\n", &file, &cfg, &cfg.main, Override::ANY).unwrap_err();
        assert_eq!(err, format!("{}: Listen not allowed here", file.display()));
    }

    #[test]
    fn vhost_addresses() {
        let a = parse_vhost_addr("[::1]:8080").unwrap();
        assert_eq!((a.ip, a.port), (Some("::1".parse().unwrap()), Some(8080)));
        let b = parse_vhost_addr("*:*").unwrap();
        assert_eq!((b.ip, b.port), (None, None));
        let c = parse_vhost_addr("_default_:443").unwrap();
        assert!(c.is_default && c.ip.is_none() && c.port == Some(443));
        assert_eq!(parse_vhost_addr("10.0.0.1").unwrap().port, None);
    }
}
