//! Read-time expansion: httpd's EXEC_ON_READ pass, run in file order while the files are
//! read. `Include`/`IncludeOptional` splice files in, `Define`/`UnDefine` feed `${}` and
//! `<IfDefine>`, `ServerRoot` moves the base of later relative paths, `LoadModule` turns a
//! built-in module on, and `<IfModule>` `<IfDefine>` `<IfFile>` `<IfDirective>`
//! `<IfSection>` `<IfVersion>` keep or drop their bodies.
//!
//! The result is one tree: If* sections are replaced by their bodies (or dropped), Include by
//! the included nodes; `Define`, `UnDefine`, `ServerRoot`, `LoadModule` and `LoadFile` stay
//! where they were written so the config layer can still check their context.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parse::{self, err_at, getword_conf, Source, MAX_LINE_LEN};
use super::{ConfError, ModuleCatalog, Node, Span, COMMAND_LINE_FILE};

/// httpd's `AP_MAX_INCLUDE_DEPTH`.
pub const MAX_INCLUDE_DEPTH: u32 = 128;
/// httpd's `AP_MAX_FNMATCH_DIR_DEPTH`: directory recursion of one Include.
pub const MAX_DIR_DEPTH: u32 = 128;
/// The Apache version `<IfVersion>` compares against.
pub const COMPAT_VERSION: (u32, u32, u32) = (2, 4, 71);

/// A lookup of environment variables for `${}`.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the command line gives the read pass.
#[derive(Clone)]
pub struct ExpandOptions {
    /// `-d`, or the compiled-in default; `ServerRoot` lines change it as they are read.
    pub server_root: PathBuf,
    /// `-D NAME` (a value is allowed for callers that have one).
    pub defines: Vec<(String, Option<String>)>,
    /// `-C` directives, read before the main file.
    pub pre_directives: Vec<String>,
    /// `-c` directives, read after the main file.
    pub post_directives: Vec<String>,
    /// Where `${NAME}` looks after the Defines; `None` means the process environment.
    pub env: Option<EnvLookup>,
}

impl ExpandOptions {
    pub fn new(server_root: impl Into<PathBuf>) -> Self {
        ExpandOptions {
            server_root: server_root.into(),
            defines: Vec::new(),
            pre_directives: Vec::new(),
            post_directives: Vec::new(),
            env: None,
        }
    }

    /// Uses `vars` instead of the process environment (e.g. Debian's envvars).
    pub fn with_env_vars(mut self, vars: Vec<(String, String)>) -> Self {
        self.env = Some(Arc::new(move |name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }));
        self
    }

    fn env_lookup(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(f) => f(name),
            None => std::env::var(name).ok(),
        }
    }
}

impl fmt::Debug for ExpandOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpandOptions")
            .field("server_root", &self.server_root)
            .field("defines", &self.defines)
            .field("pre_directives", &self.pre_directives)
            .field("post_directives", &self.post_directives)
            .field("env", &self.env.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// One file opened by the read pass, as `-t -D DUMP_INCLUDES` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeEntry {
    /// 0 for the main file, +1 per Include level.
    pub depth: u32,
    /// The line httpd prints in brackets: the line of the most recent Include executed
    /// anywhere (httpd keeps one global), `None` before any (printed `(*)`).
    pub line: Option<u32>,
    pub path: PathBuf,
}

/// The files read, in the order they were opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncludeTree {
    pub entries: Vec<IncludeEntry>,
}

/// The tree after the read pass, with the state it left behind.
#[derive(Clone, Debug)]
pub struct Expanded {
    pub nodes: Vec<Node>,
    /// Static modules first (no span), then `LoadModule` order.
    pub loaded_modules: Vec<(&'static str, Option<Span>)>,
    /// The defines at the end of the pass (`-D` and `Define`), with values where given.
    pub defines: Vec<(String, Option<String>)>,
    /// ServerRoot at the end of the pass.
    pub server_root: PathBuf,
    pub includes: IncludeTree,
    /// Warnings in httpd's words (`AH00111: …`, `AH01574: …`), in the order they arose.
    pub warnings: Vec<String>,
}

impl Expanded {
    /// `-t -D DUMP_INCLUDES` output, exactly as httpd prints it.
    pub fn dump_includes(&self) -> String {
        let mut out = String::from("Included configuration files:\n");
        for e in &self.includes.entries {
            for _ in 0..=e.depth {
                out.push_str("  ");
            }
            match e.line {
                Some(n) => out.push_str(&format!("({n})")),
                None => out.push_str("(*)"),
            }
            out.push(' ');
            out.push_str(&e.path.display().to_string());
            out.push('\n');
        }
        out
    }

    /// True if the module (by mpmd name, e.g. `mpm_event`) is loaded.
    pub fn is_loaded(&self, module: &str) -> bool {
        self.loaded_modules.iter().any(|(m, _)| *m == module)
    }

    /// True if `-D`/`Define` set `name` (case-sensitive, like httpd).
    pub fn is_defined(&self, name: &str) -> bool {
        self.defines.iter().any(|(n, _)| n == name)
    }
}

/// Runs the read pass: `-C` directives, the main file (relative to ServerRoot as it stands
/// after `-C`), then `-c` directives.
pub fn expand(
    main_file: &Path,
    opts: &ExpandOptions,
    catalog: &dyn ModuleCatalog,
) -> Result<Expanded, ConfError> {
    let mut state = State::new(opts, catalog);
    let mut nodes = state.command_line(&opts.pre_directives)?;
    let main = server_root_relative(&state.server_root, main_file);
    nodes.extend(state.read_file(&main)?);
    nodes.extend(state.command_line(&opts.post_directives)?);
    Ok(state.finish(nodes))
}

/// Reads one more file (e.g. an `.htaccess`) with the state a finished pass left behind:
/// `${}`, `<IfModule>`, `<IfDefine>` and the others work; Include is not allowed there by
/// httpd and is left to the config layer. Lines are limited to [`parse::MAX_HTACCESS_LINE_LEN`].
pub fn expand_htaccess(
    text: &str,
    file: &Path,
    done: &Expanded,
    opts: &ExpandOptions,
    catalog: &dyn ModuleCatalog,
) -> Result<(Vec<Node>, Vec<String>), ConfError> {
    let mut state = State::new(opts, catalog);
    state.server_root = done.server_root.clone();
    state.loaded = done.loaded_modules.clone();
    state.flags = done.defines.iter().map(|(n, _)| n.clone()).collect();
    state.vars = done
        .defines
        .iter()
        .filter_map(|(n, v)| Some((n.clone(), v.clone()?)))
        .collect();
    state.htaccess = true;
    let mut src = Source::new(
        text,
        Arc::new(file.to_path_buf()),
        parse::MAX_HTACCESS_LINE_LEN,
    );
    let nodes = src.build_file(&mut state)?;
    Ok((nodes, state.warnings))
}

// ---------------------------------------------------------------------------------------

struct State<'o> {
    opts: &'o ExpandOptions,
    catalog: &'o dyn ModuleCatalog,
    server_root: PathBuf,
    /// Names set by -D/Define (case-sensitive), in order.
    flags: Vec<String>,
    /// Values set by `Define NAME value` (names compared case-insensitively, like APR tables).
    vars: Vec<(String, String)>,
    loaded: Vec<(&'static str, Option<Span>)>,
    /// Identifiers loaded by LoadModule, for AH01574.
    loaded_ids: Vec<String>,
    warnings: Vec<String>,
    include_depth: u32,
    last_include_line: Option<u32>,
    includes: IncludeTree,
    htaccess: bool,
}

/// What a read-time directive is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadTimeKind {
    Include { optional: bool },
    Define,
    UnDefine,
    ServerRoot,
    LoadModule,
    LoadFile,
    IfModule,
    IfDefine,
    IfFile,
    IfDirective,
    IfSection,
    IfVersion,
}

fn read_time_kind(name: &str, section: bool) -> Option<ReadTimeKind> {
    use ReadTimeKind::*;
    let lower = name.to_ascii_lowercase();
    if section {
        return Some(match lower.as_str() {
            "ifmodule" => IfModule,
            "ifdefine" => IfDefine,
            "iffile" => IfFile,
            "ifdirective" => IfDirective,
            "ifsection" => IfSection,
            "ifversion" => IfVersion,
            _ => return None,
        });
    }
    Some(match lower.as_str() {
        "include" => Include { optional: false },
        "includeoptional" => Include { optional: true },
        "define" => Define,
        "undefine" => UnDefine,
        "serverroot" => ServerRoot,
        "loadmodule" => LoadModule,
        "loadfile" => LoadFile,
        _ => return None,
    })
}

/// The canonical name httpd uses in messages about the section.
fn section_name(kind: ReadTimeKind) -> &'static str {
    match kind {
        ReadTimeKind::IfModule => "IfModule",
        ReadTimeKind::IfDefine => "IfDefine",
        ReadTimeKind::IfFile => "IfFile",
        ReadTimeKind::IfDirective => "IfDirective",
        ReadTimeKind::IfSection => "IfSection",
        ReadTimeKind::IfVersion => "IfVersion",
        _ => "",
    }
}

const INCLUDE_HELP: &str = "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file";
const INCLUDE_OPTIONAL_HELP: &str = "Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files";
const DEFINE_HELP: &str =
    "Define a variable, optionally to a value.  Same as passing -D to the command line.";
const UNDEFINE_HELP: &str = "Undefine the existence of a variable. Undo a Define.";
const SERVER_ROOT_HELP: &str = "Common directory of server-related files (logs, confs, etc.)";
const LOAD_MODULE_HELP: &str = "a module name and the name of a shared object file to load it from";
const LOAD_FILE_HELP: &str = "shared object file or library to load into the server at runtime";
const IF_VERSION_HELP: &str = "a comparison operator, a version (and a delimiter)";

/// `TAKE1`: exactly one non-empty word.
fn take1(node: &Node, help: &str) -> Result<String, ConfError> {
    let mut rest = node.raw_args.as_str();
    let w = getword_conf(&mut rest);
    if w.is_empty() || !rest.is_empty() {
        return Err(err_at(
            &node.span,
            format!("{} takes one argument, {help}", node.name),
        ));
    }
    Ok(w)
}

/// `TAKE12`: one word and an optional second (an empty second counts as none).
fn take12(node: &Node, help: &str) -> Result<(String, Option<String>), ConfError> {
    let mut rest = node.raw_args.as_str();
    let w = getword_conf(&mut rest);
    let w2 = getword_conf(&mut rest);
    if w.is_empty() || !rest.is_empty() {
        return Err(err_at(
            &node.span,
            format!("{} takes 1-2 arguments, {help}", node.name),
        ));
    }
    Ok((w, (!w2.is_empty()).then_some(w2)))
}

/// `TAKE2`: exactly two non-empty words.
fn take2(node: &Node, help: &str) -> Result<(String, String), ConfError> {
    let mut rest = node.raw_args.as_str();
    let w = getword_conf(&mut rest);
    let w2 = getword_conf(&mut rest);
    if w.is_empty() || w2.is_empty() || !rest.is_empty() {
        return Err(err_at(
            &node.span,
            format!("{} takes two arguments, {help}", node.name),
        ));
    }
    Ok((w, w2))
}

/// The `strerror` text of an I/O error, as httpd's `%pm` prints it.
fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

impl<'o> State<'o> {
    fn new(opts: &'o ExpandOptions, catalog: &'o dyn ModuleCatalog) -> Self {
        let mut flags = Vec::new();
        let mut vars = Vec::new();
        for (name, value) in &opts.defines {
            if !flags.contains(name) {
                flags.push(name.clone());
            }
            if let Some(v) = value {
                vars.push((name.clone(), v.clone()));
            }
        }
        State {
            opts,
            catalog,
            server_root: opts.server_root.clone(),
            flags,
            vars,
            loaded: catalog
                .static_modules()
                .iter()
                .map(|m| (*m, None))
                .collect(),
            loaded_ids: Vec::new(),
            warnings: Vec::new(),
            include_depth: 0,
            last_include_line: None,
            includes: IncludeTree::default(),
            htaccess: false,
        }
    }

    fn finish(self, nodes: Vec<Node>) -> Expanded {
        let defines = self
            .flags
            .iter()
            .map(|n| (n.clone(), self.var(n)))
            .collect();
        Expanded {
            nodes,
            loaded_modules: self.loaded,
            defines,
            server_root: self.server_root,
            includes: self.includes,
            warnings: self.warnings,
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn is_loaded(&self, module: &str) -> bool {
        self.loaded.iter().any(|(m, _)| *m == module)
    }

    /// `-C`/`-c`: each string is one line of the pseudo-file `-c/-C directives`.
    fn command_line(&mut self, lines: &[String]) -> Result<Vec<Node>, ConfError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        let mut src = Source::new(
            &text,
            Arc::new(PathBuf::from(COMMAND_LINE_FILE)),
            MAX_LINE_LEN,
        );
        src.build_file(self).map_err(|mut e| {
            // httpd prefixes "Syntax error in -C/-c directive: " whatever the error.
            if e.chain
                .first()
                .map(|s| s.file.as_os_str() != COMMAND_LINE_FILE)
                .unwrap_or(true)
            {
                e.chain.insert(
                    0,
                    Span {
                        file: Arc::new(PathBuf::from(COMMAND_LINE_FILE)),
                        line: 0,
                    },
                );
            }
            e
        })
    }

    /// Opens and reads one file (`ap_process_resource_config`).
    fn read_file(&mut self, path: &Path) -> Result<Vec<Node>, ConfError> {
        let bytes = std::fs::read(path).map_err(|e| ConfError {
            chain: Vec::new(),
            message: format!(
                "Could not open configuration file {}: {}",
                path.display(),
                strerror(&e)
            ),
        })?;
        self.includes.entries.push(IncludeEntry {
            depth: self.include_depth,
            line: self.last_include_line,
            path: path.to_path_buf(),
        });
        let text = parse::text_of(&bytes);
        let mut src = Source::new(&text, Arc::new(path.to_path_buf()), MAX_LINE_LEN);
        src.build_file(self)
    }

    fn include(&mut self, node: &Node, optional: bool) -> Result<Vec<Node>, ConfError> {
        let help = if optional {
            INCLUDE_OPTIONAL_HELP
        } else {
            INCLUDE_HELP
        };
        let name = take1(node, help)?;
        self.include_depth += 1;
        if self.include_depth > MAX_INCLUDE_DEPTH {
            return Err(err_at(
                &node.span,
                format!(
                    "Exceeded maximum include depth of {MAX_INCLUDE_DEPTH}, There appears to be a recursion."
                ),
            ));
        }
        self.last_include_line = Some(node.span.line);
        let path = server_root_relative(&self.server_root, Path::new(&name));
        let mut out = Vec::new();
        let result = self.fnmatch_configs(&path, optional, &mut out);
        self.include_depth -= 1;
        match result {
            Ok(()) => Ok(out),
            Err(mut e) => {
                e.chain.insert(0, node.span.clone());
                Err(e)
            }
        }
    }

    /// `ap_process_fnmatch_configs`.
    fn fnmatch_configs(
        &mut self,
        path: &Path,
        optional: bool,
        out: &mut Vec<Node>,
    ) -> Result<(), ConfError> {
        let text = path.to_string_lossy().into_owned();
        if !fnmatch_test(&text) {
            return self.dir_nofnmatch(&text, optional, 0, out);
        }
        let Some(rel) = text.strip_prefix('/') else {
            return Err(plain(format!("Include must have an absolute path, {text}")));
        };
        self.dir_fnmatch("/", rel, optional, out)
    }

    /// A path without wildcards: a file, or a directory read recursively.
    fn dir_nofnmatch(
        &mut self,
        path: &str,
        optional: bool,
        depth: u32,
        out: &mut Vec<Node>,
    ) -> Result<(), ConfError> {
        if Path::new(path).is_dir() {
            let depth = depth + 1;
            if depth > MAX_DIR_DEPTH {
                return Err(plain(format!(
                    "Include/IncludeOptional: Directory '{path}' exceeds the maximum include directory nesting level of {MAX_DIR_DEPTH}. You have probably a recursion somewhere."
                )));
            }
            let mut names = list_dir(path)
                .map_err(|e| {
                    plain(format!(
                        "Include/IncludeOptional: Could not open directory {path}: {}",
                        strerror(&e)
                    ))
                })?
                .into_iter()
                .map(|(name, _)| full_path(path, &name))
                .collect::<Vec<_>>();
            names.sort();
            for name in names {
                self.dir_nofnmatch(&name, optional, depth, out)?;
            }
            return Ok(());
        }
        if optional && std::fs::metadata(path).is_err() {
            return Ok(());
        }
        out.extend(self.read_file(Path::new(path))?);
        Ok(())
    }

    /// A path with wildcards: `base` is matched so far, `pattern` is what is left.
    fn dir_fnmatch(
        &mut self,
        base: &str,
        pattern: &str,
        optional: bool,
        out: &mut Vec<Node>,
    ) -> Result<(), ConfError> {
        let (first, rest) = match pattern.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (pattern, None),
        };
        if !fnmatch_test(first) {
            let path = full_path(base, first);
            return match rest {
                None => self.dir_nofnmatch(&path, optional, 0, out),
                Some(rest) => self.dir_fnmatch(&path, rest, optional, out),
            };
        }
        let entries = match list_dir(base) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound && optional => return Ok(()),
            Err(e) => {
                return Err(plain(format!(
                    "Include/IncludeOptional: Could not open directory {base}: {}",
                    strerror(&e)
                )))
            }
        };
        let mut matches: Vec<String> = entries
            .into_iter()
            .filter(|(name, is_dir)| fnmatch(first, name) && (rest.is_none() || *is_dir))
            .map(|(name, _)| full_path(base, &name))
            .collect();
        if matches.is_empty() {
            if optional {
                return Ok(());
            }
            return Err(plain(format!(
                "Include/IncludeOptional: No matches for the wildcard '{first}' in '{base}', failing"
            )));
        }
        matches.sort();
        for m in matches {
            match rest {
                None => self.dir_nofnmatch(&m, optional, 0, out)?,
                Some(rest) => self.dir_fnmatch(&m, rest, optional, out)?,
            }
        }
        Ok(())
    }

    fn define(&mut self, node: &Node) -> Result<(), ConfError> {
        let (name, value) = take12(node, DEFINE_HELP)?;
        if name.contains(':') {
            return Err(err_at(
                &node.span,
                "Variable name must not contain ':'".into(),
            ));
        }
        if !self.flags.contains(&name) {
            self.flags.push(name.clone());
        }
        if let Some(v) = value {
            match self
                .vars
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(&name))
            {
                Some(slot) => slot.1 = v,
                None => self.vars.push((name, v)),
            }
        }
        Ok(())
    }

    fn undefine(&mut self, node: &Node) -> Result<(), ConfError> {
        let name = take1(node, UNDEFINE_HELP)?;
        if name.contains(':') {
            return Err(err_at(
                &node.span,
                "Variable name must not contain ':'".into(),
            ));
        }
        if let Some(i) = self.flags.iter().position(|f| *f == name) {
            self.flags.swap_remove(i);
        }
        self.vars.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
        Ok(())
    }

    fn server_root(&mut self, node: &Node) -> Result<(), ConfError> {
        let arg = take1(node, SERVER_ROOT_HELP)?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let root = server_root_relative(&cwd, Path::new(&arg));
        if !root.is_dir() {
            return Err(err_at(
                &node.span,
                "ServerRoot must be a valid directory".into(),
            ));
        }
        self.server_root = root;
        Ok(())
    }

    fn load_module(&mut self, node: &Node) -> Result<(), ConfError> {
        let (id, file) = take2(node, LOAD_MODULE_HELP)?;
        if self.loaded_ids.contains(&id) {
            self.warnings
                .push(format!("AH01574: module {id} is already loaded, skipping"));
            return Ok(());
        }
        let path = server_root_relative(&self.server_root, Path::new(&file));
        let Some(module) = self.catalog.module_by_identifier(&id) else {
            return Err(err_at(
                &node.span,
                format!(
                    "Cannot load {} into server: mpmd has no built-in module {id}",
                    path.display()
                ),
            ));
        };
        if self.catalog.static_modules().contains(&module) {
            return Err(err_at(
                &node.span,
                format!("module {id} is built-in and can't be loaded"),
            ));
        }
        self.loaded_ids.push(id);
        if !self.is_loaded(module) {
            self.loaded.push((module, Some(node.span.clone())));
        }
        Ok(())
    }

    /// `<IfModule>` and the other tests of core's `start_cond_section`.
    fn cond_section(
        &mut self,
        node: &Node,
        kind: ReadTimeKind,
        closed: bool,
        src: &mut Source<'_>,
    ) -> Result<Vec<Node>, ConfError> {
        let name = section_name(kind);
        if !closed {
            return Err(err_at(
                &node.span,
                format!("<{name}> directive missing closing '>'"),
            ));
        }
        let mut arg = node.raw_args.as_str();
        let not = arg.starts_with('!');
        if not {
            arg = &arg[1..];
        }
        let word = getword_conf(&mut arg);
        if word.is_empty() {
            return Err(err_at(
                &node.span,
                format!("<{name}> directive requires additional arguments"),
            ));
        }
        let result = match kind {
            ReadTimeKind::IfModule => self
                .catalog
                .module_by_any_name(&word)
                .is_some_and(|m| self.is_loaded(m)),
            ReadTimeKind::IfDefine => self.flags.contains(&word),
            ReadTimeKind::IfFile => {
                std::fs::metadata(server_root_relative(&self.server_root, Path::new(&word))).is_ok()
            }
            ReadTimeKind::IfDirective => self
                .catalog
                .directive_module(&word)
                .is_some_and(|m| self.is_loaded(m)),
            ReadTimeKind::IfSection => self
                .catalog
                .section_module(&word)
                .is_some_and(|m| self.is_loaded(m)),
            _ => false,
        };
        self.section_body(node, name, result != not, src)
    }

    /// Reads a true body, or skips a false one; errors in a skipped body are the section's.
    fn section_body(
        &mut self,
        node: &Node,
        name: &str,
        keep: bool,
        src: &mut Source<'_>,
    ) -> Result<Vec<Node>, ConfError> {
        if keep {
            src.build_body(self, name).map_err(|mut e| {
                if e.chain.is_empty() {
                    e.chain.push(node.span.clone());
                }
                e
            })
        } else {
            src.soak(name).map_err(|e| err_at(&node.span, e.message))?;
            Ok(Vec::new())
        }
    }

    /// `<IfVersion [[!]op] version>` (mod_version).
    fn if_version(
        &mut self,
        node: &Node,
        closed: bool,
        src: &mut Source<'_>,
    ) -> Result<Vec<Node>, ConfError> {
        // httpd hands the handler the argument text with its closing '>' still on.
        let args = if closed {
            format!("{}>", node.raw_args)
        } else {
            node.raw_args.clone()
        };
        let mut rest = args.as_str();
        let w1 = getword_conf(&mut rest);
        let w2 = getword_conf(&mut rest);
        let w3 = getword_conf(&mut rest);
        if w1.is_empty() || !rest.is_empty() {
            return Err(err_at(
                &node.span,
                format!("<IfVersion takes one, two or three arguments, {IF_VERSION_HELP}"),
            ));
        }
        let keep = if_version_test(&w1, &w2, &w3).map_err(|m| err_at(&node.span, m))?;
        self.section_body(node, "IfVersion", keep, src)
    }
}

/// mod_version's decision; `Err` carries httpd's message.
fn if_version_test(w1: &str, w2: &str, w3: &str) -> Result<bool, String> {
    let (mut op, mut ver, mut delim) = (w1.to_string(), w2.to_string(), w3.to_string());
    if ver.is_empty() {
        ver = op;
        op = "=".into();
    }
    if delim.is_empty() && ver == ">" {
        delim = ">".into();
        ver = op;
        op = "=".into();
    }
    let delim_given = delim == ">";
    if ver.is_empty() || (!delim_given && !ver.ends_with('>')) {
        return Err("<IfVersion> directive missing closing '>'".into());
    }
    if !delim_given {
        ver.pop();
    }
    let mut p = op.as_str();
    let mut reverse = false;
    if p.starts_with('!') {
        reverse = true;
        if p.len() > 1 {
            p = &p[1..];
        }
    }
    let mut chars = p.chars();
    let c = chars.next().unwrap_or('\0');
    let tail = chars.as_str();
    let simple = tail.is_empty() || (tail == "=" && c != '~');
    let matched = match (simple, c) {
        (true, '=') if !ver.starts_with('/') => compare_version(&ver)? == std::cmp::Ordering::Equal,
        (true, '=') => {
            let inner = &ver[1..];
            let Some(re) = inner.strip_suffix('/') else {
                return Err("Missing delimiting / of regular expression.".into());
            };
            match_version(re)?
        }
        (true, '~') => match_version(&ver)?,
        (true, '<') => {
            let o = compare_version(&ver)?;
            o == std::cmp::Ordering::Less || (!tail.is_empty() && o == std::cmp::Ordering::Equal)
        }
        (true, '>') => {
            let o = compare_version(&ver)?;
            o == std::cmp::Ordering::Greater || (!tail.is_empty() && o == std::cmp::Ordering::Equal)
        }
        _ => return Err(format!("unrecognized operator '{op}'")),
    };
    Ok(matched != reverse)
}

/// How the running version compares with `v` (`major[.minor[.patch]]`, missing parts 0).
fn compare_version(v: &str) -> Result<std::cmp::Ordering, String> {
    const BAD: &str = "Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers.";
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(BAD.into());
    }
    let mut parts = [0u32; 3];
    let pieces: Vec<&str> = v.splitn(3, '.').collect();
    for (i, piece) in pieces.iter().enumerate() {
        // httpd reads at most three numbers; anything left over is a syntax error.
        if !piece.chars().all(|c| c.is_ascii_digit()) {
            return Err(BAD.into());
        }
        parts[i] = piece
            .parse()
            .unwrap_or(if piece.is_empty() { 0 } else { u32::MAX });
    }
    let (a, b, c) = COMPAT_VERSION;
    Ok((a, b, c).cmp(&(parts[0], parts[1], parts[2])))
}

fn match_version(re: &str) -> Result<bool, String> {
    let re =
        regex::Regex::new(re).map_err(|_| "Unable to compile regular expression".to_string())?;
    let (a, b, c) = COMPAT_VERSION;
    Ok(re.is_match(&format!("{a}.{b}.{c}")))
}

fn plain(message: String) -> ConfError {
    ConfError {
        chain: Vec::new(),
        message,
    }
}

impl parse::ReadTime for State<'_> {
    fn lookup(&mut self, name: &str) -> Option<String> {
        self.var(name).or_else(|| self.opts.env_lookup(name))
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn run(
        &mut self,
        node: &Node,
        closed: bool,
        src: &mut Source<'_>,
    ) -> Option<Result<Vec<Node>, ConfError>> {
        let kind = read_time_kind(&node.name, node.is_section())?;
        let keep = |r: Result<(), ConfError>| r.map(|()| vec![node.clone()]);
        Some(match kind {
            ReadTimeKind::Include { .. } if self.htaccess => return None,
            ReadTimeKind::Include { optional } => self.include(node, optional),
            ReadTimeKind::Define => keep(self.define(node)),
            ReadTimeKind::UnDefine => keep(self.undefine(node)),
            ReadTimeKind::ServerRoot => keep(self.server_root(node)),
            ReadTimeKind::LoadModule => keep(self.load_module(node)),
            ReadTimeKind::LoadFile => {
                if node.args.is_empty() {
                    Err(err_at(
                        &node.span,
                        format!(
                            "{} requires at least one argument, {LOAD_FILE_HELP}",
                            node.name
                        ),
                    ))
                } else {
                    Ok(vec![node.clone()])
                }
            }
            ReadTimeKind::IfVersion => self.if_version(node, closed, src),
            k => self.cond_section(node, k, closed, src),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Paths and wildcards
// ---------------------------------------------------------------------------------------

/// `ap_server_root_relative`: `name` against `root` unless absolute, with `.`, `..` and
/// repeated slashes folded away.
pub fn server_root_relative(root: &Path, name: &Path) -> PathBuf {
    let joined = if name.is_absolute() {
        name.to_path_buf()
    } else {
        root.join(name)
    };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in joined.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut out = PathBuf::from("/");
    for p in parts {
        out.push(p);
    }
    out
}

/// `ap_make_full_path`.
fn full_path(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// Directory entries except `.` and `..`, with "is a directory" taken without following
/// symlinks (APR's readdir type), as the wildcard walk needs it.
fn list_dir(path: &str) -> io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push((name, is_dir));
    }
    Ok(out)
}

/// `apr_fnmatch_test`: does the text hold a wildcard?
pub fn fnmatch_test(s: &str) -> bool {
    let b = s.as_bytes();
    let mut nesting = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'?' | b'*' => return true,
            b'\\' => {
                i += 1;
                if i >= b.len() {
                    return false;
                }
            }
            b'[' => nesting += 1,
            b']' if nesting > 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `apr_fnmatch(pattern, name, APR_FNM_PERIOD)` for one path component: `*`, `?`,
/// `[...]` (`!`/`^` negate, ranges), `\` escapes; a leading `.` only matches a literal `.`.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let s = name.as_bytes();
    if s.first() == Some(&b'.') && !(p.first() == Some(&b'.') || p.starts_with(b"\\.")) {
        return false;
    }
    match_bytes(p, s)
}

fn match_bytes(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // Backtracking point for the last '*': (pattern index after it, string index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    while pi < p.len() && p[pi] == b'*' {
                        pi += 1;
                    }
                    star = Some((pi, si));
                    continue;
                }
                b'?' if si < s.len() => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' if si < s.len() => {
                    if let Some((ok, next)) = match_class(p, pi, s[si]) {
                        if ok {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        // No closing ']': a literal '['.
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() && si < s.len() && p[pi + 1] == s[si] => {
                    pi += 2;
                    si += 1;
                    continue;
                }
                c if c != b'?' && c != b'[' && c != b'\\' && si < s.len() && c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'\\' if pi + 1 == p.len() && si < s.len() && s[si] == b'\\' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last '*' swallow one more byte.
        match star {
            Some((sp, ss)) if ss < s.len() => {
                star = Some((sp, ss + 1));
                pi = sp;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

/// A bracket expression at `p[start] == '['`: whether `c` matches and where it ends;
/// `None` if there is no closing `]`.
fn match_class(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&b| b != b']') {
            i += 1;
            hi = p[i];
            if hi == b'\\' {
                i += 1;
                hi = *p.get(i)?;
            }
            i += 1;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    /// (name, identifier, source file, static, directives, sections)
    type ModRow = (
        &'static str,
        &'static str,
        &'static str,
        bool,
        &'static [&'static str],
        &'static [&'static str],
    );

    const MODULES: &[ModRow] = &[
        (
            "core",
            "core_module",
            "core.c",
            true,
            &["ServerName", "DocumentRoot", "Timeout"],
            &["Directory", "VirtualHost"],
        ),
        ("so", "so_module", "mod_so.c", true, &["LoadModule"], &[]),
        ("http", "http_module", "http_core.c", true, &[], &[]),
        (
            "log_config",
            "log_config_module",
            "mod_log_config.c",
            true,
            &["LogFormat", "CustomLog"],
            &[],
        ),
        ("logio", "logio_module", "mod_logio.c", true, &[], &[]),
        (
            "version",
            "version_module",
            "mod_version.c",
            true,
            &[],
            &["IfVersion"],
        ),
        (
            "unixd",
            "unixd_module",
            "mod_unixd.c",
            true,
            &["User", "Group"],
            &[],
        ),
        (
            "watchdog",
            "watchdog_module",
            "mod_watchdog.c",
            true,
            &[],
            &[],
        ),
        (
            "mpm_event",
            "mpm_event_module",
            "event.c",
            false,
            &["AsyncRequestWorkerFactor"],
            &[],
        ),
        (
            "mpm_worker",
            "mpm_worker_module",
            "worker.c",
            false,
            &[],
            &[],
        ),
        (
            "mpm_prefork",
            "mpm_prefork_module",
            "prefork.c",
            false,
            &[],
            &[],
        ),
        (
            "status",
            "status_module",
            "mod_status.c",
            false,
            &["ExtendedStatus"],
            &[],
        ),
        ("ssl", "ssl_module", "mod_ssl.c", false, &["SSLEngine"], &[]),
        (
            "alias",
            "alias_module",
            "mod_alias.c",
            false,
            &["Alias", "Redirect"],
            &[],
        ),
        (
            "access_compat",
            "access_compat_module",
            "mod_access_compat.c",
            false,
            &["Order"],
            &[],
        ),
        (
            "auth_basic",
            "auth_basic_module",
            "mod_auth_basic.c",
            false,
            &[],
            &[],
        ),
        (
            "authn_core",
            "authn_core_module",
            "mod_authn_core.c",
            false,
            &[],
            &["AuthnProviderAlias"],
        ),
        (
            "authn_file",
            "authn_file_module",
            "mod_authn_file.c",
            false,
            &[],
            &[],
        ),
        (
            "authz_core",
            "authz_core_module",
            "mod_authz_core.c",
            false,
            &["Require"],
            &["RequireAll", "RequireAny"],
        ),
        (
            "authz_host",
            "authz_host_module",
            "mod_authz_host.c",
            false,
            &[],
            &[],
        ),
        (
            "authz_user",
            "authz_user_module",
            "mod_authz_user.c",
            false,
            &[],
            &[],
        ),
        (
            "autoindex",
            "autoindex_module",
            "mod_autoindex.c",
            false,
            &["IndexOptions"],
            &[],
        ),
        (
            "deflate",
            "deflate_module",
            "mod_deflate.c",
            false,
            &[],
            &[],
        ),
        (
            "dir",
            "dir_module",
            "mod_dir.c",
            false,
            &["DirectoryIndex"],
            &[],
        ),
        ("env", "env_module", "mod_env.c", false, &["SetEnv"], &[]),
        ("filter", "filter_module", "mod_filter.c", false, &[], &[]),
        (
            "mime",
            "mime_module",
            "mod_mime.c",
            false,
            &["AddType"],
            &[],
        ),
        (
            "negotiation",
            "negotiation_module",
            "mod_negotiation.c",
            false,
            &[],
            &[],
        ),
        (
            "reqtimeout",
            "reqtimeout_module",
            "mod_reqtimeout.c",
            false,
            &["RequestReadTimeout"],
            &[],
        ),
        (
            "setenvif",
            "setenvif_module",
            "mod_setenvif.c",
            false,
            &["SetEnvIf", "BrowserMatch"],
            &[],
        ),
        (
            "proxy",
            "proxy_module",
            "mod_proxy.c",
            false,
            &["ProxyPass"],
            &["Proxy"],
        ),
        ("cgid", "cgid_module", "mod_cgid.c", false, &[], &[]),
        (
            "include",
            "include_module",
            "mod_include.c",
            false,
            &[],
            &[],
        ),
    ];

    /// A small catalog standing in for the config registry.
    pub(crate) struct TestCatalog;

    pub(crate) static STATIC: &[&str] = &[
        "core",
        "so",
        "http",
        "log_config",
        "logio",
        "version",
        "unixd",
        "watchdog",
    ];

    impl ModuleCatalog for TestCatalog {
        fn module_by_identifier(&self, identifier: &str) -> Option<&'static str> {
            MODULES.iter().find(|m| m.1 == identifier).map(|m| m.0)
        }
        fn module_by_any_name(&self, name: &str) -> Option<&'static str> {
            MODULES
                .iter()
                .find(|m| m.1 == name || m.2 == name)
                .map(|m| m.0)
        }
        fn directive_module(&self, directive: &str) -> Option<&'static str> {
            MODULES
                .iter()
                .find(|m| m.4.iter().any(|d| d.eq_ignore_ascii_case(directive)))
                .map(|m| m.0)
        }
        fn section_module(&self, section: &str) -> Option<&'static str> {
            MODULES
                .iter()
                .find(|m| m.5.iter().any(|d| d.eq_ignore_ascii_case(section)))
                .map(|m| m.0)
        }
        fn static_modules(&self) -> &[&'static str] {
            STATIC
        }
    }

    pub(crate) fn opts(root: &Path) -> ExpandOptions {
        ExpandOptions::new(root).with_env_vars(vec![("ENVX".into(), "from-env".into())])
    }

    /// Expands `main.conf` of a tree made of `files`; placeholders `@` in texts stand for
    /// the tree's root path.
    pub(crate) fn run(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Expanded, ConfError>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_string_lossy().into_owned();
        for (name, text) in files {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text.replace('@', &root)).unwrap();
        }
        let r = expand(Path::new("main.conf"), &opts(dir.path()), &TestCatalog);
        (dir, r)
    }

    /// The error text with the temp root replaced by `@`.
    pub(crate) fn err_text(dir: &tempfile::TempDir, r: Result<Expanded, ConfError>) -> String {
        let root = dir.path().to_string_lossy().into_owned();
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string().replace(&root, "@"),
        }
    }

    pub(crate) fn names(nodes: &[Node]) -> Vec<String> {
        nodes.iter().map(|n| n.name.clone()).collect()
    }

    #[test]
    fn include_define_ifmodule_loadmodule_work_together() {
        let (_d, r) = run(&[
            (
                "main.conf",
                "LoadModule status_module mods/mod_status.so\nDefine NAME value\nInclude conf.d/*.conf\n<IfModule status_module>\nA ${NAME}\n</IfModule>\n<IfModule !mod_status.c>\nB\n</IfModule>\n",
            ),
            ("conf.d/b.conf", "InB\n"),
            ("conf.d/a.conf", "InA\n"),
        ]);
        let e = r.unwrap();
        assert_eq!(names(&e.nodes), ["LoadModule", "Define", "InA", "InB", "A"]);
        assert_eq!(e.nodes[4].args, ["value"]);
        assert!(e.is_loaded("status"));
        assert_eq!(e.loaded_modules.len(), STATIC.len() + 1);
        assert_eq!(e.loaded_modules.last().unwrap().1.as_ref().unwrap().line, 1);
        assert!(e.is_defined("NAME"));
    }

    /// The stock Debian tree reads, and the include order is the one apache2 prints.
    #[test]
    fn debian_apache2_conf_include_order_matches_apache2() {
        let main = Path::new("/etc/apache2/apache2.conf");
        if !main.exists() {
            eprintln!("note: /etc/apache2/apache2.conf not present; skipping");
            return;
        }
        let vars: Vec<(String, String)> = [
            ("APACHE_RUN_USER", "www-data"),
            ("APACHE_RUN_GROUP", "www-data"),
            ("APACHE_PID_FILE", "/var/run/apache2/apache2.pid"),
            ("APACHE_RUN_DIR", "/var/run/apache2"),
            ("APACHE_LOCK_DIR", "/var/lock/apache2"),
            ("APACHE_LOG_DIR", "/var/log/apache2"),
            ("LANG", "C"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = ExpandOptions::new("/etc/apache2").with_env_vars(vars.clone());
        let e = expand(main, &o, &TestCatalog).expect("debian tree expands");
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        assert!(e.is_loaded("mpm_event"));
        let dump = e.dump_includes();
        assert!(
            dump.starts_with("Included configuration files:\n  (*) /etc/apache2/apache2.conf\n")
        );
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; include order not compared");
            return;
        }
        let out = std::process::Command::new(apache)
            .args([
                "-d",
                "/etc/apache2",
                "-f",
                "/etc/apache2/apache2.conf",
                "-t",
                "-D",
                "DUMP_INCLUDES",
            ])
            .env_clear()
            .envs(vars)
            .output()
            .expect("run apache2");
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(dump, theirs);
    }

    #[test]
    fn include_of_missing_file_names_it() {
        let (d, r) = run(&[("main.conf", "\nInclude nope.conf\n")]);
        assert_eq!(
            err_text(&d, r),
            "Syntax error on line 2 of @/main.conf: Could not open configuration file @/nope.conf: No such file or directory"
        );
    }
}
