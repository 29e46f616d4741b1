//! Read-time expansion: httpd's EXEC_ON_READ pass, run in file order while the files are
//! read. `Include`/`IncludeOptional` splice files in, `Define`/`UnDefine` feed `${}` and
//! `<IfDefine>`, `ServerRoot` moves the base of later relative paths, `LoadModule` turns a
//! built-in module on, and `<IfModule>` `<IfDefine>` `<IfFile>` `<IfDirective>`
//! `<IfSection>` `<IfVersion>` keep or drop their bodies.
//!
//! The result is one tree: If* sections are replaced by their bodies (or dropped), Include by
//! the included nodes; `Define`, `UnDefine`, `ServerRoot`, `LoadModule` and `LoadFile` stay
//! where they were written so the config layer can still check their context.
//!
//! # The read-time directives (as httpd 2.4.71 runs them; names match case-insensitively)
//!
//! * Order: the `-C` directives (pseudo-file `-c/-C directives`), the main file (relative to
//!   ServerRoot as `-C` left it), then the `-c` directives. Everything below affects only the
//!   lines read after it, wherever it is written (a Define inside `<VirtualHost>` is global).
//! * `Include path` / `IncludeOptional path`: relative paths (wildcards too) are taken from
//!   the current ServerRoot; `.` and `..` are folded. A file is read; a directory is read
//!   recursively (hidden files and any extension included, at most 128 levels); wildcards
//!   `* ? [...]` may stand in any component: in the middle they match only real directories
//!   (not symlinks), and never a leading `.`. Matches are read in byte order per level. Only
//!   regular files (and /dev/null) are read. Include fails on a missing file
//!   (`Could not open configuration file …`), a missing directory
//!   (`Include/IncludeOptional: Could not open directory …`) or a wildcard without a match
//!   (`Include/IncludeOptional: No matches for the wildcard '…' in '…', failing`);
//!   IncludeOptional ignores all three. Nesting is limited to 128
//!   (`Exceeded maximum include depth of 128, There appears to be a recursion.`). An error
//!   inside an included file is reported after the chain of Include lines that led to it.
//!   Sections never span files. `-t -D DUMP_INCLUDES` lists the files read
//!   ([`Expanded::dump_includes`]).
//! * `Define NAME [value]` / `UnDefine NAME`: NAME must not contain `:`. Defines (and `-D`)
//!   make `<IfDefine NAME>` true (case-sensitive); a value also serves `${NAME}` (looked up
//!   case-insensitively, before the environment). `Define NAME` without a value keeps an
//!   earlier value; UnDefine removes both.
//! * `ServerRoot dir`: relative to the working directory; must be a directory.
//! * `LoadModule identifier path`: turns on the built-in module the identifier names (the
//!   path is not opened); an identifier mpmd does not have is an error naming it; a static
//!   module is `module X is built-in and can't be loaded`; a second LoadModule of the same
//!   identifier warns `AH01574: module X is already loaded, skipping`. `LoadFile` is accepted
//!   and ignored.
//! * `<IfModule [!]name>` (identifier `ssl_module` or source file `mod_ssl.c`),
//!   `<IfDefine [!]NAME>`, `<IfFile [!]path>` (stat, relative to ServerRoot),
//!   `<IfDirective [!]Name>`, `<IfSection [!]Name>` (registered by a loaded module),
//!   `<IfVersion [[!]op] version>` (compared with 2.4.71; `=`/`==`, `<`, `<=`, `>`, `>=`,
//!   `~ regex` or `/regex/`; missing minor/patch count as 0). Modules count only once
//!   loaded at that point of the read; static modules always. A true body is read in
//!   place (it may even run to the end of its file); a false one is skipped unread (no
//!   `${}`, no checks) except that nested sections must balance.
//! * In `.htaccess` ([`expand_htaccess`]) only the If* sections run; the server-only
//!   read-time directives stay plain nodes for the config layer to refuse.

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
    /// The compiled-in main file (httpd's `SERVER_CONFIG_FILE`, relative to ServerRoot).
    /// When `-C`/`-c` directives are given and the main file is this default and does not
    /// exist, httpd runs on the directives alone; `None` always requires the main file.
    pub default_config_file: Option<PathBuf>,
}

impl ExpandOptions {
    pub fn new(server_root: impl Into<PathBuf>) -> Self {
        ExpandOptions {
            server_root: server_root.into(),
            defines: Vec::new(),
            pre_directives: Vec::new(),
            post_directives: Vec::new(),
            env: None,
            default_config_file: None,
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
            .field("default_config_file", &self.default_config_file)
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
/// after `-C`), then `-c` directives. Warnings end up in [`Expanded::warnings`]; use
/// [`expand_logged`] to see them even when the pass fails, as httpd prints them.
pub fn expand(
    main_file: &Path,
    opts: &ExpandOptions,
    catalog: &dyn ModuleCatalog,
) -> Result<Expanded, ConfError> {
    expand_logged(main_file, opts, catalog, &mut |_| {})
}

/// [`expand`], handing each warning to `on_warning` the moment it arises (httpd writes them
/// to stderr before any error that stops the pass). They are still collected in
/// [`Expanded::warnings`].
pub fn expand_logged(
    main_file: &Path,
    opts: &ExpandOptions,
    catalog: &dyn ModuleCatalog,
    on_warning: &mut dyn FnMut(&str),
) -> Result<Expanded, ConfError> {
    let mut state = State::new(opts, catalog);
    state.sink = Some(on_warning);
    let mut nodes = state.command_line(&opts.pre_directives)?;
    let main = server_root_relative(&state.server_root, main_file);
    let has_directives = !opts.pre_directives.is_empty() || !opts.post_directives.is_empty();
    let is_default = opts
        .default_config_file
        .as_ref()
        .is_some_and(|d| server_root_relative(&state.server_root, d) == main);
    if !(has_directives && is_default && std::fs::symlink_metadata(&main).is_err()) {
        nodes.extend(state.read_file(&main)?);
    }
    nodes.extend(state.command_line(&opts.post_directives)?);
    if let Some(e) = state.missing_gt.take() {
        return Err(e);
    }
    Ok(state.finish(nodes))
}

/// What reading an `.htaccess` file needs from the finished pass; small enough to keep
/// in the server config for request time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadState {
    pub server_root: PathBuf,
    pub loaded_modules: Vec<&'static str>,
    pub defines: Vec<(String, Option<String>)>,
}

impl Expanded {
    /// The state `.htaccess` files are read with.
    pub fn read_state(&self) -> ReadState {
        ReadState {
            server_root: self.server_root.clone(),
            loaded_modules: self.loaded_modules.iter().map(|(m, _)| *m).collect(),
            defines: self.defines.clone(),
        }
    }
}

/// Reads an `.htaccess` file (lines up to [`parse::MAX_HTACCESS_LINE_LEN`]) with the state
/// the server's read pass left behind: `${}` (Defines, then the process environment),
/// `<IfModule>`, `<IfDefine>` and the other If* sections work. Include, Define, LoadModule
/// and the other server-only read-time directives are left as plain nodes: httpd refuses
/// them there (`… not allowed here`), which is the config layer's to report.
pub fn expand_htaccess(
    text: &str,
    file: &Path,
    state: &ReadState,
    catalog: &dyn ModuleCatalog,
) -> Result<(Vec<Node>, Vec<String>), ConfError> {
    let opts = ExpandOptions::new(&state.server_root);
    let mut st = State::new(&opts, catalog);
    st.loaded = state.loaded_modules.iter().map(|m| (*m, None)).collect();
    st.flags = state.defines.iter().map(|(n, _)| n.clone()).collect();
    st.vars = state
        .defines
        .iter()
        .filter_map(|(n, v)| Some((n.clone(), v.clone()?)))
        .collect();
    st.htaccess = true;
    let mut src = Source::new(
        text,
        Arc::new(file.to_path_buf()),
        parse::MAX_HTACCESS_LINE_LEN,
    );
    let nodes = src.build_file(&mut st)?;
    if let Some(e) = st.missing_gt.take() {
        return Err(e);
    }
    Ok((nodes, st.warnings))
}

// ---------------------------------------------------------------------------------------

struct State<'o> {
    opts: &'o ExpandOptions,
    /// The first section opened without its `>`, reported after the whole read.
    missing_gt: Option<ConfError>,
    /// Sees each warning as it arises.
    sink: Option<&'o mut dyn FnMut(&str)>,
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
pub(crate) fn strerror(e: &io::Error) -> String {
    // std renders OS errors with the C library's strerror text plus " (os error N)".
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map(str::to_string)
            .unwrap_or(text),
        None => text,
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
            sink: None,
            missing_gt: None,
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

    fn warning(&mut self, message: String) {
        if let Some(sink) = self.sink.as_mut() {
            sink(&message);
        }
        self.warnings.push(message);
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
        let cannot_open = |e: &io::Error| {
            plain(format!(
                "Could not open configuration file {}: {}",
                path.display(),
                strerror(e)
            ))
        };
        // httpd reads only regular files (and /dev/null); this also keeps a FIFO from
        // blocking the read.
        let meta = std::fs::metadata(path).map_err(|e| cannot_open(&e))?;
        if !meta.is_file() && path != Path::new("/dev/null") {
            self.warning(format!(
                "AH00554: Access to file {} denied by server: not a regular file",
                path.display()
            ));
            return Err(cannot_open(&io::Error::from_raw_os_error(libc::EBADF)));
        }
        let bytes = std::fs::read(path).map_err(|e| cannot_open(&e))?;
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
            self.warning(format!("AH01574: module {id} is already loaded, skipping"));
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
        args_text: &str,
        src: &mut Source<'_>,
    ) -> Result<Vec<Node>, ConfError> {
        let name = section_name(kind);
        let Some(pos) = args_text.rfind('>') else {
            return Err(err_at(
                &node.span,
                format!("<{name}> directive missing closing '>'"),
            ));
        };
        let mut arg = &args_text[..pos];
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
                .directive_modules(&word)
                .into_iter()
                .any(|m| self.is_loaded(m)),
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
        args_text: &str,
        src: &mut Source<'_>,
    ) -> Result<Vec<Node>, ConfError> {
        // mod_version takes the words of the text with its closing '>' still on.
        let mut rest = args_text;
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
    let re = crate::config::pcre::Regex::new(re).map_err(|e| {
        crate::config::pcre::httpd_message(e, "Unable to compile regular expression")
    })?;
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
        self.warning(message);
    }

    fn missing_gt(&mut self, error: ConfError) {
        self.missing_gt.get_or_insert(error);
    }

    fn run(
        &mut self,
        node: &Node,
        args_text: &str,
        src: &mut Source<'_>,
    ) -> Option<Result<Vec<Node>, ConfError>> {
        let kind = read_time_kind(&node.name, node.is_section())?;
        let keep = |r: Result<(), ConfError>| r.map(|()| vec![node.clone()]);
        Some(match kind {
            _ if self.htaccess && !node.is_section() => return None,
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
            ReadTimeKind::IfVersion => self.if_version(node, args_text, src),
            k => self.cond_section(node, k, args_text, src),
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
        // DefaultRuntimeDir must exist for `apache2 -t`; /var/run/apache2 does not on a
        // machine where apache2 never ran, so both sides get a directory that does.
        let run_dir = std::env::temp_dir().to_string_lossy().into_owned();
        let pid_file = format!("{run_dir}/apache2.pid");
        let vars: Vec<(String, String)> = [
            ("APACHE_RUN_USER", "www-data"),
            ("APACHE_RUN_GROUP", "www-data"),
            ("APACHE_PID_FILE", pid_file.as_str()),
            ("APACHE_RUN_DIR", run_dir.as_str()),
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
        assert_eq!(
            dump,
            theirs,
            "apache2 -t exited {:?}; its stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn include_of_missing_file_names_it() {
        let (d, r) = run(&[("main.conf", "\nInclude nope.conf\n")]);
        assert_eq!(
            err_text(&d, r),
            "Syntax error on line 2 of @/main.conf: Could not open configuration file @/nope.conf: No such file or directory"
        );
    }

    /// One malformed config: the files, `-C` directives, the exact error (`@` = the tree's
    /// root), and whether apache2 reports the very same read-phase line (checked when it is
    /// installed).
    struct Bad {
        files: &'static [(&'static str, &'static str)],
        pre: &'static [&'static str],
        want: &'static str,
        oracle: bool,
    }

    const fn bad(files: &'static [(&'static str, &'static str)], want: &'static str) -> Bad {
        Bad {
            files,
            pre: &[],
            want,
            oracle: true,
        }
    }

    const BAD: &[Bad] = &[
        // Sections
        bad(&[("main.conf", "<Directory /x>\nRequire all granted\n\n# x\n")], "Syntax error on line 1 of @/main.conf: @/main.conf:1: <Directory> was not closed."),
        bad(&[("main.conf", "<Directory /x>\n<Files a>\n")], "Syntax error on line 1 of @/main.conf: @/main.conf:2: <Files> was not closed.\\n@/main.conf:1: <Directory> was not closed."),
        bad(&[("main.conf", "\n</Directory>\n")], "Syntax error on line 2 of @/main.conf: </Directory> without matching <Directory> section"),
        bad(&[("main.conf", "<Directory /x>\n</Location>\n")], "Syntax error on line 2 of @/main.conf: Expected </Directory> but saw </Location>"),
        bad(&[("main.conf", "<Directory /x>\n</Directory foo>\n")], "Syntax error on line 2 of @/main.conf: </Directory> directive missing closing '>'"),
        bad(&[("main.conf", "<Directory /x>\n<\n</Directory>\n")], "Syntax error on line 3 of @/main.conf: Expected </> but saw </Directory>"),
        bad(&[("main.conf", "<IfModule log_config_module\nX\n</IfModule>\n")], "Syntax error on line 1 of @/main.conf: <IfModule> directive missing closing '>'"),
        bad(&[("main.conf", "<IfModule>\n</IfModule>\n")], "Syntax error on line 1 of @/main.conf: <IfModule> directive requires additional arguments"),
        bad(&[("main.conf", "<IfDefine !>\n</IfDefine>\n")], "Syntax error on line 1 of @/main.conf: <IfDefine> directive requires additional arguments"),
        bad(&[("main.conf", "X\n<IfModule nope_module>\n<Directory /x>\n</IfModule>\n")], "Syntax error on line 2 of @/main.conf: Expected </Directory> but saw </IfModule>"),
        bad(&[("main.conf", "<IfDefine NOPE>\n<Directory /x>\n")], "Syntax error on line 1 of @/main.conf: Expected </Directory> before end of configuration"),
        bad(&[("main.conf", "<Directory /x>\n<IfModule log_config_module>\n</Directory>\n")], "Syntax error on line 3 of @/main.conf: </Directory> without matching <Directory> section"),
        bad(&[("main.conf", "<IfModule log_config_module >\nA\n</IfModule >\n")], "Syntax error on line 3 of @/main.conf: </IfModule without matching <IfModule section"),
        // Include
        bad(&[("main.conf", "\nInclude nope.conf\n")], "Syntax error on line 2 of @/main.conf: Could not open configuration file @/nope.conf: No such file or directory"),
        bad(&[("main.conf", "Include\n")], "Syntax error on line 1 of @/main.conf: Include takes one argument, Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file"),
        bad(&[("main.conf", "IncludeOptional a b\n")], "Syntax error on line 1 of @/main.conf: IncludeOptional takes one argument, Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files"),
        bad(&[("main.conf", "Include conf.d/*.conf\n"), ("conf.d/x.txt", "")], "Syntax error on line 1 of @/main.conf: Include/IncludeOptional: No matches for the wildcard '*.conf' in '@/conf.d', failing"),
        bad(&[("main.conf", "Include nodir/*.conf\n")], "Syntax error on line 1 of @/main.conf: Include/IncludeOptional: Could not open directory @/nodir: No such file or directory"),
        bad(&[("main.conf", "Include nod*/x.conf\n")], "Syntax error on line 1 of @/main.conf: Include/IncludeOptional: No matches for the wildcard 'nod*' in '@', failing"),
        bad(&[("main.conf", "IncludeOptional main.conf/*.conf\n")], "Syntax error on line 1 of @/main.conf: Include/IncludeOptional: Could not open directory @/main.conf: Not a directory"),
        bad(&[("main.conf", "A\nInclude inc.conf\n"), ("inc.conf", "\n</Directory>\n")], "Syntax error on line 2 of @/main.conf: Syntax error on line 2 of @/inc.conf: </Directory> without matching <Directory> section"),
        bad(&[("main.conf", "<Directory /y>\nInclude inc.conf\n</Directory>\n"), ("inc.conf", "\n<Directory /x>\n")], "Syntax error on line 2 of @/main.conf: Syntax error on line 2 of @/inc.conf: @/inc.conf:2: <Directory> was not closed."),
        bad(&[("main.conf", "Include d\n"), ("d/a.conf", "Include @/d/sub/b.conf\n"), ("d/sub/b.conf", "Define a:b\n")], "Syntax error on line 1 of @/main.conf: Syntax error on line 1 of @/d/a.conf: Syntax error on line 1 of @/d/sub/b.conf: Variable name must not contain ':'"),
        // Define / UnDefine
        bad(&[("main.conf", "Define a:b\n")], "Syntax error on line 1 of @/main.conf: Variable name must not contain ':'"),
        bad(&[("main.conf", "Define\n")], "Syntax error on line 1 of @/main.conf: Define takes 1-2 arguments, Define a variable, optionally to a value.  Same as passing -D to the command line."),
        bad(&[("main.conf", "Define a b c\n")], "Syntax error on line 1 of @/main.conf: Define takes 1-2 arguments, Define a variable, optionally to a value.  Same as passing -D to the command line."),
        bad(&[("main.conf", "UnDefine\n")], "Syntax error on line 1 of @/main.conf: UnDefine takes one argument, Undefine the existence of a variable. Undo a Define."),
        bad(&[("main.conf", "UnDefine x:y\n")], "Syntax error on line 1 of @/main.conf: Variable name must not contain ':'"),
        // LoadModule / LoadFile / ServerRoot
        Bad { files: &[("main.conf", "LoadModule foo_module mods/mod_foo.so\n")], pre: &[], want: "Syntax error on line 1 of @/main.conf: Cannot load @/mods/mod_foo.so into server: mpmd has no built-in module foo_module", oracle: false },
        bad(&[("main.conf", "LoadModule foo_module\n")], "Syntax error on line 1 of @/main.conf: LoadModule takes two arguments, a module name and the name of a shared object file to load it from"),
        bad(&[("main.conf", "LoadModule log_config_module x.so\n")], "Syntax error on line 1 of @/main.conf: module log_config_module is built-in and can't be loaded"),
        bad(&[("main.conf", "LoadFile\n")], "Syntax error on line 1 of @/main.conf: LoadFile requires at least one argument, shared object file or library to load into the server at runtime"),
        bad(&[("main.conf", "ServerRoot @/nope\n")], "Syntax error on line 1 of @/main.conf: ServerRoot must be a valid directory"),
        bad(&[("main.conf", "ServerRoot @/main.conf\n")], "Syntax error on line 1 of @/main.conf: ServerRoot must be a valid directory"),
        bad(&[("main.conf", "ServerRoot\n")], "Syntax error on line 1 of @/main.conf: ServerRoot takes one argument, Common directory of server-related files (logs, confs, etc.)"),
        // IfVersion
        bad(&[("main.conf", "<IfVersion 2.x>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers."),
        bad(&[("main.conf", "<IfVersion>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers."),
        bad(&[("main.conf", "<IfVersion foo 2.4>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: unrecognized operator 'foo'"),
        bad(&[("main.conf", "<IfVersion ~ (>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: Unable to compile regular expression"),
        bad(&[("main.conf", "<IfVersion = /^2>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: Missing delimiting / of regular expression."),
        bad(&[("main.conf", "<IfVersion ! < 3 >\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: <IfVersion takes one, two or three arguments, a comparison operator, a version (and a delimiter)"),
        bad(&[("main.conf", "<IfVersion !/^2\\.5/>\n</IfVersion>\n")], "Syntax error on line 1 of @/main.conf: Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers."),
        // -C
        Bad { files: &[("main.conf", "A\n")], pre: &["ServerName x", "Define a:b"], want: "Syntax error in -C/-c directive: Variable name must not contain ':'", oracle: true },
        Bad { files: &[("main.conf", "A\n")], pre: &["<Directory /x>"], want: "Syntax error in -C/-c directive: -c/-C directives:1: <Directory> was not closed.", oracle: true },
        Bad { files: &[("main.conf", "A\n")], pre: &["Include @/nope"], want: "Syntax error in -C/-c directive: Could not open configuration file @/nope: No such file or directory", oracle: true },
        Bad { files: &[("main.conf", "A\n"), ("inc.conf", "\n<Directory /x>\n")], pre: &["Include @/inc.conf"], want: "Syntax error in -C/-c directive: Syntax error on line 2 of @/inc.conf: @/inc.conf:2: <Directory> was not closed.", oracle: true },
        // The main file
        bad(&[("other.conf", "")], "Could not open configuration file @/main.conf: No such file or directory"),
    ];

    /// Writes a case's files under a fresh root; `@` in texts and `-C` lines is the root.
    fn materialize(case: &Bad) -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_string_lossy().into_owned();
        for (name, text) in case.files {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text.replace('@', &root)).unwrap();
        }
        let pre = case.pre.iter().map(|l| l.replace('@', &root)).collect();
        (dir, pre)
    }

    #[test]
    fn malformed_configs_give_httpds_file_line_and_message() {
        assert!(BAD.len() >= 25);
        for case in BAD {
            let (dir, pre) = materialize(case);
            let mut o = opts(dir.path());
            o.pre_directives = pre;
            let r = expand(Path::new("main.conf"), &o, &TestCatalog);
            assert_eq!(err_text(&dir, r), case.want, "files {:?}", case.files);
        }
    }

    /// The same cases through the real apache2: its read-phase line must be ours.
    #[test]
    fn malformed_configs_match_apache2() {
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; oracle comparison skipped");
            return;
        }
        for case in BAD.iter().filter(|c| c.oracle) {
            let (dir, pre) = materialize(case);
            let root = dir.path().to_string_lossy().into_owned();
            let mut cmd = std::process::Command::new(apache);
            cmd.arg("-d")
                .arg(dir.path())
                .arg("-f")
                .arg(dir.path().join("main.conf"))
                .arg("-t");
            for l in &pre {
                cmd.arg("-C").arg(l);
            }
            let out = cmd.env_clear().output().expect("run apache2");
            let stderr = String::from_utf8_lossy(&out.stderr).replace(&root, "@");
            let line = stderr
                .lines()
                .find_map(|l| l.strip_prefix("apache2: "))
                .unwrap_or_else(|| {
                    panic!(
                        "no read-phase error from apache2 for {:?}: {stderr}",
                        case.files
                    )
                });
            assert_eq!(line, case.want, "files {:?}", case.files);
        }
    }

    fn ok(files: &[(&str, &str)]) -> (tempfile::TempDir, Expanded) {
        let (d, r) = run(files);
        match r {
            Ok(e) => (d, e),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// The dump with the temp root replaced by `@`.
    fn dump(d: &tempfile::TempDir, e: &Expanded) -> String {
        e.dump_includes().replace(&*d.path().to_string_lossy(), "@")
    }

    fn apache2_dump(d: &tempfile::TempDir) -> Option<String> {
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; dump not compared");
            return None;
        }
        let out = std::process::Command::new(apache)
            .arg("-d")
            .arg(d.path())
            .arg("-f")
            .arg(d.path().join("main.conf"))
            .args(["-t", "-D", "DUMP_INCLUDES"])
            .env_clear()
            .output()
            .expect("run apache2");
        Some(String::from_utf8_lossy(&out.stdout).replace(&*d.path().to_string_lossy(), "@"))
    }

    #[test]
    fn directory_include_is_recursive_sorted_and_takes_hidden_files() {
        let (d, e) = ok(&[
            ("main.conf", "A\nInclude incdir\nInclude incdir/*.conf\n"),
            ("incdir/b.conf", "B\n"),
            ("incdir/a.conf", "A1\n"),
            ("incdir/Z.conf", "Z\n"),
            ("incdir/10.conf", "N10\n"),
            ("incdir/9.conf", "N9\n"),
            ("incdir/.hidden.conf", "H\n"),
            ("incdir/c.txt", "T\n"),
            ("incdir/sub/x.conf", "X\n"),
        ]);
        let want = "Included configuration files:\n  (*) @/main.conf\n    (2) @/incdir/.hidden.conf\n    (2) @/incdir/10.conf\n    (2) @/incdir/9.conf\n    (2) @/incdir/Z.conf\n    (2) @/incdir/a.conf\n    (2) @/incdir/b.conf\n    (2) @/incdir/c.txt\n    (2) @/incdir/sub/x.conf\n    (3) @/incdir/10.conf\n    (3) @/incdir/9.conf\n    (3) @/incdir/Z.conf\n    (3) @/incdir/a.conf\n    (3) @/incdir/b.conf\n";
        assert_eq!(dump(&d, &e), want);
        assert_eq!(
            names(&e.nodes),
            ["A", "H", "N10", "N9", "Z", "A1", "B", "T", "X", "N10", "N9", "Z", "A1", "B"]
        );
        if let Some(theirs) = apache2_dump(&d) {
            assert_eq!(theirs, want);
        }
    }

    #[test]
    fn wildcards_in_the_middle_match_directories_only_and_never_a_leading_dot() {
        let (d, e) = ok(&[
            (
                "main.conf",
                "IncludeOptional @/s*/*.conf\nInclude @/w/*/x.conf\n",
            ),
            ("sa/1.conf", "SA\n"),
            ("sb.conf", "NOT_A_DIR\n"),
            ("sc/.h.conf", "HIDDEN\n"),
            ("sc/2.conf", "SC\n"),
            ("w/real/x.conf", "REAL\n"),
            ("w/.dot/x.conf", "DOT\n"),
        ]);
        std::os::unix::fs::symlink(d.path().join("w/real"), d.path().join("w/link")).unwrap();
        // Re-run now that the symlink exists: a symlinked directory in the middle is skipped.
        let e2 = expand(Path::new("main.conf"), &opts(d.path()), &TestCatalog).unwrap();
        assert_eq!(names(&e.nodes), ["SA", "SC", "REAL"]);
        assert_eq!(names(&e2.nodes), ["SA", "SC", "REAL"]);
        if let Some(theirs) = apache2_dump(&d) {
            assert_eq!(theirs, dump(&d, &e2));
        }
    }

    #[test]
    fn bracket_and_question_mark_wildcards() {
        assert!(fnmatch("[a-c]?.conf", "b1.conf"));
        assert!(!fnmatch("[!a-c]?.conf", "b1.conf"));
        assert!(fnmatch("[^a-c]?.conf", "d1.conf"));
        assert!(fnmatch("[]x]", "]"));
        assert!(fnmatch("a\\*", "a*"));
        assert!(!fnmatch("a\\*", "ab"));
        assert!(fnmatch("*", "x"));
        assert!(!fnmatch("*", ".x"));
        assert!(fnmatch(".*", ".x"));
        assert!(fnmatch("*.conf", "a.b.conf"));
        assert!(!fnmatch("*.conf", "a.conf.bak"));
        assert!(fnmatch("[", "["));
        assert!(fnmatch_test("a[b]c") && fnmatch_test("a?") && fnmatch_test("*"));
        assert!(!fnmatch_test("a[b") && !fnmatch_test("a\\*") && !fnmatch_test("plain.conf"));
    }

    #[test]
    fn include_optional_is_silent_about_missing_things() {
        let (_d, e) = ok(&[(
            "main.conf",
            "IncludeOptional nope.conf\nIncludeOptional nodir/*.conf\nIncludeOptional nod*/x.conf\nIncludeOptional *.nomatch\nA\n",
        )]);
        assert_eq!(names(&e.nodes), ["A"]);
        assert_eq!(e.includes.entries.len(), 1);
    }

    #[test]
    fn include_loop_stops_at_depth_128() {
        let (d, r) = run(&[("main.conf", "A\nInclude main.conf\n")]);
        let e = r.unwrap_err();
        assert_eq!(
            e.message,
            "Exceeded maximum include depth of 128, There appears to be a recursion."
        );
        // The main file's Include, 127 nested ones, and the one that fails.
        assert_eq!(e.chain.len(), 129);
        assert!(e
            .chain
            .iter()
            .all(|s| s.line == 2 && *s.file == d.path().join("main.conf")));
    }

    #[test]
    fn included_nodes_are_spliced_in_place_even_inside_sections() {
        let (_d, e) = ok(&[
            (
                "main.conf",
                "<VirtualHost *:80>\nA\nInclude inc.conf\n<IfModule status_module>\nNO\n</IfModule>\n<IfDefine !X>\nC\n</IfDefine>\n</VirtualHost>\n",
            ),
            ("inc.conf", "B1\n<Location /x>\nB2\n</Location>\n"),
        ]);
        assert_eq!(names(&e.nodes), ["VirtualHost"]);
        let v = &e.nodes[0];
        assert_eq!(names(v.children()), ["A", "B1", "Location", "C"]);
        assert_eq!(v.children()[1].span.line, 1);
        assert!(v.children()[1].span.file.ends_with("inc.conf"));
        assert_eq!(v.children()[3].span.line, 8);
    }

    #[test]
    fn read_time_nodes_are_kept_where_written() {
        let (_d, e) = ok(&[(
            "main.conf",
            "Define A\nUnDefine A\nServerRoot @\nLoadModule status_module x.so\nLoadFile /lib/x.so\n<Directory /x>\nDefine B 1\n</Directory>\n",
        )]);
        assert_eq!(
            names(&e.nodes),
            [
                "Define",
                "UnDefine",
                "ServerRoot",
                "LoadModule",
                "LoadFile",
                "Directory"
            ]
        );
        assert_eq!(names(e.nodes[5].children()), ["Define"]);
        // A Define inside a section still applies globally.
        assert_eq!(e.defines, [("B".to_string(), Some("1".to_string()))]);
    }

    #[test]
    fn defines_variables_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("main.conf"),
            "A ${V} ${ENVX} ${CMD}\nDefine V one\nDefine V\nB ${V} ${v}\nDefine ENVX shadow\nC ${ENVX}\nUnDefine V\nD ${V}\n<IfDefine CMD>\nE\n</IfDefine>\n<IfDefine v>\nNO\n</IfDefine>\nDefine EMPTY \"\"\n<IfDefine EMPTY>\nF ${EMPTY}\n</IfDefine>\n",
        )
        .unwrap();
        let mut o = opts(dir.path());
        o.defines = vec![("CMD".into(), None)];
        let e = expand(Path::new("main.conf"), &o, &TestCatalog).unwrap();
        let args: Vec<(String, Vec<String>)> = e
            .nodes
            .iter()
            .filter(|n| n.name.len() == 1)
            .map(|n| (n.name.clone(), n.args.clone()))
            .collect();
        let want: Vec<(String, Vec<String>)> = [
            ("A", vec!["${V}", "from-env", "${CMD}"]),
            ("B", vec!["one", "one"]),
            ("C", vec!["shadow"]),
            ("D", vec!["${V}"]),
            ("E", vec![]),
            ("F", vec!["${EMPTY}"]),
        ]
        .into_iter()
        .map(|(n, a)| (n.to_string(), a.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(args, want);
        assert_eq!(
            e.warnings,
            [
                "AH00111: Config variable ${V} is not defined",
                "AH00111: Config variable ${CMD} is not defined",
                "AH00111: Config variable ${V} is not defined",
                "AH00111: Config variable ${EMPTY} is not defined",
            ]
        );
        assert!(e.is_defined("CMD") && e.is_defined("ENVX") && !e.is_defined("V"));
    }

    #[test]
    fn false_bodies_are_skipped_without_expansion_or_warnings() {
        let (_d, e) = ok(&[(
            "main.conf",
            "<IfDefine NOPE>\nBogus ${UNDEFINED}\n<Directory /x>\nInclude nope.conf\n</Directory>\nDefine SET\n</IfDefine>\n<IfModule !status_module>\nOK\n</IfModule>\n",
        )]);
        assert_eq!(names(&e.nodes), ["OK"]);
        assert!(e.warnings.is_empty());
        assert!(!e.is_defined("SET"));
    }

    #[test]
    fn a_true_body_cut_by_end_of_file_is_kept() {
        let (_d, e) = ok(&[(
            "main.conf",
            "<IfModule log_config_module>\n<Directory /x>\nA\n",
        )]);
        assert_eq!(names(&e.nodes), ["Directory"]);
        assert_eq!(names(e.nodes[0].children()), ["A"]);
    }

    #[test]
    fn ifmodule_sees_modules_loaded_so_far() {
        let (_d, e) = ok(&[(
            "main.conf",
            "<IfModule status_module>\nNO1\n</IfModule>\nLoadModule status_module m.so\n<IfModule status_module>\nYES1\n</IfModule>\n<IfModule mod_status.c>\nYES2\n</IfModule>\n<IfModule mod_status>\nNO2\n</IfModule>\n<IfModule mod_log_config.c>\nYES3\n</IfModule>\n<ifmodule ! mod_ssl.c>\nYES4\n</IFMODULE>\n<IfModule \"!mod_ssl.c\">\nNO3\n</IfModule>\n",
        )]);
        assert_eq!(
            names(&e.nodes),
            ["LoadModule", "YES1", "YES2", "YES3", "YES4"]
        );
    }

    #[test]
    fn iffile_ifdirective_ifsection() {
        let (_d, e) = ok(&[
            (
                "main.conf",
                "<IfFile there.txt>\nF1\n</IfFile>\n<IfFile !nothere.txt>\nF2\n</IfFile>\n<IfFile @/sub>\nF3\n</IfFile>\n<IfDirective ExtendedStatus>\nNO1\n</IfDirective>\n<IfDirective logformat>\nD1\n</IfDirective>\nLoadModule status_module s.so\nLoadModule authz_core_module a.so\n<IfDirective ExtendedStatus>\nD2\n</IfDirective>\n<IfSection RequireAll>\nS1\n</IfSection>\n<IfSection !Proxy>\nS2\n</IfSection>\n",
            ),
            ("there.txt", ""),
            ("sub/x", ""),
        ]);
        assert_eq!(
            names(&e.nodes),
            [
                "F1",
                "F2",
                "F3",
                "D1",
                "LoadModule",
                "LoadModule",
                "D2",
                "S1",
                "S2"
            ]
        );
    }

    /// (condition, expected) for 2.4.71; checked against apache2 when installed.
    const IF_VERSION: &[(&str, bool)] = &[
        ("2.4.71", true),
        ("2.4", false),
        ("= 2.4.71", true),
        ("== 2.4.71", true),
        ("!= 2.4.71", false),
        ("> 2.4.70", true),
        ("> 2.4.71", false),
        (">= 2.4.71", true),
        ("< 2.4.72", true),
        ("< 3", true),
        ("<= 2.4.71", true),
        ("< 2.4.71", false),
        ("!< 3", false),
        ("~ ^2\\.4", true),
        ("!~ ^2\\.4", false),
        ("/^2\\.4\\.7/", true),
        ("= /^2\\.5/", false),
        ("\"2.4.71\" ", true),
        ("< 3 ", true),
        (">= 2.2", true),
        ("> 10", false),
    ];

    #[test]
    fn ifversion_compares_with_2_4_71() {
        for (cond, want) in IF_VERSION {
            let text = format!("<IfVersion {cond}>\nHIT\n</IfVersion>\n");
            let (_d, e) = ok(&[("main.conf", &text)]);
            assert_eq!(!e.nodes.is_empty(), *want, "<IfVersion {cond}>");
        }
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; IfVersion not compared");
            return;
        }
        for (cond, want) in IF_VERSION {
            // A true body reaches the missing Include, a read-phase error.
            let text = format!("<IfVersion {cond}>\nInclude /nonexistent/hit.conf\n</IfVersion>\n");
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("main.conf"), text).unwrap();
            let out = std::process::Command::new(apache)
                .arg("-d")
                .arg(dir.path())
                .arg("-f")
                .arg(dir.path().join("main.conf"))
                .arg("-t")
                .env_clear()
                .output()
                .unwrap();
            let hit = String::from_utf8_lossy(&out.stderr).contains("hit.conf");
            assert_eq!(hit, *want, "apache2 <IfVersion {cond}>");
        }
    }

    #[test]
    fn loadmodule_twice_warns_and_static_modules_come_first() {
        let (_d, e) = ok(&[(
            "main.conf",
            "LoadModule status_module a.so\nLoadModule mpm_event_module b.so\nLoadModule status_module c.so\n",
        )]);
        assert_eq!(
            e.warnings,
            ["AH01574: module status_module is already loaded, skipping"]
        );
        let mods: Vec<&str> = e.loaded_modules.iter().map(|(m, _)| *m).collect();
        assert_eq!(&mods[..STATIC.len()], STATIC);
        assert_eq!(&mods[STATIC.len()..], ["status", "mpm_event"]);
        assert!(e.loaded_modules[..STATIC.len()]
            .iter()
            .all(|(_, s)| s.is_none()));
        assert_eq!(
            e.loaded_modules[STATIC.len() + 1].1.as_ref().unwrap().line,
            2
        );
    }

    #[test]
    fn serverroot_moves_the_base_of_later_relative_includes() {
        let (d, e) = ok(&[
            (
                "main.conf",
                "Include a.conf\nServerRoot @/other\nInclude a.conf\n",
            ),
            ("a.conf", "TOP\n"),
            ("other/a.conf", "OTHER\n"),
        ]);
        assert_eq!(names(&e.nodes), ["TOP", "ServerRoot", "OTHER"]);
        assert_eq!(e.server_root, d.path().join("other"));
    }

    #[test]
    fn command_line_directives_come_before_and_after_the_main_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("alt")).unwrap();
        fs::write(dir.path().join("alt/main.conf"), "MAIN ${PRE}\n").unwrap();
        let mut o = opts(dir.path());
        o.pre_directives = vec![
            format!("ServerRoot {}/alt", dir.path().display()),
            "Define PRE 1".into(),
        ];
        o.post_directives = vec!["POST".into()];
        let e = expand(Path::new("main.conf"), &o, &TestCatalog).unwrap();
        assert_eq!(names(&e.nodes), ["ServerRoot", "Define", "MAIN", "POST"]);
        assert_eq!(e.nodes[2].args, ["1"]);
        let cl = |n: &Node| (n.span.file.to_string_lossy().into_owned(), n.span.line);
        assert_eq!(cl(&e.nodes[1]), (COMMAND_LINE_FILE.to_string(), 2));
        assert_eq!(cl(&e.nodes[3]), (COMMAND_LINE_FILE.to_string(), 1));
    }

    #[test]
    fn dump_repeats_httpds_single_global_include_line() {
        // httpd keeps one "last Include line": after a nested Include, later files of the
        // outer Include show the nested line.
        let (d, e) = ok(&[
            ("main.conf", "\n\nInclude d\n"),
            ("d/a.conf", "Include @/x.conf\n"),
            ("d/b.conf", "B\n"),
            ("x.conf", "X\n"),
        ]);
        let want = "Included configuration files:\n  (*) @/main.conf\n    (3) @/d/a.conf\n      (1) @/x.conf\n    (1) @/d/b.conf\n";
        assert_eq!(dump(&d, &e), want);
        if let Some(theirs) = apache2_dump(&d) {
            assert_eq!(theirs, want);
        }
    }

    #[test]
    fn paths_are_normalised_like_server_root_relative() {
        let root = Path::new("/etc/apache2");
        assert_eq!(
            server_root_relative(root, Path::new("a/./b/../c")),
            Path::new("/etc/apache2/a/c")
        );
        assert_eq!(
            server_root_relative(root, Path::new("/x//y/")),
            Path::new("/x/y")
        );
        assert_eq!(
            server_root_relative(root, Path::new("../../..")),
            Path::new("/")
        );
    }

    #[test]
    fn htaccess_sees_the_state_left_by_the_main_pass() {
        let (d, e) = ok(&[("main.conf", "LoadModule status_module s.so\nDefine V val\n")]);
        let text = "<IfModule status_module>\nA ${V}\n</IfModule>\n<IfDefine !V>\nNO\n</IfDefine>\nInclude x\n";
        let text = format!("{text}Define X\n");
        let (nodes, warnings) = expand_htaccess(
            &text,
            &d.path().join(".htaccess"),
            &e.read_state(),
            &TestCatalog,
        )
        .unwrap();
        assert_eq!(names(&nodes), ["A", "Include", "Define"]);
        assert_eq!(nodes[0].args, ["val"]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn warnings_reach_the_logger_before_the_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("main.conf"),
            "A ${NOPE}\nInclude nope.conf\n",
        )
        .unwrap();
        let mut seen = Vec::new();
        let r = expand_logged(
            Path::new("main.conf"),
            &opts(dir.path()),
            &TestCatalog,
            &mut |w| seen.push(w.to_string()),
        );
        assert!(r.is_err());
        assert_eq!(seen, ["AH00111: Config variable ${NOPE} is not defined"]);
    }

    #[test]
    fn only_regular_files_are_read() {
        let (d, r) = run(&[
            ("main.conf", "Include /dev/null\nInclude d/fifo\n"),
            ("d/x", ""),
        ]);
        nix::unistd::mkfifo(
            &d.path().join("d/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        drop(r);
        let mut seen = Vec::new();
        let r = expand_logged(
            Path::new("main.conf"),
            &opts(d.path()),
            &TestCatalog,
            &mut |w| seen.push(w.replace(&*d.path().to_string_lossy(), "@")),
        );
        assert_eq!(
            err_text(&d, r),
            "Syntax error on line 2 of @/main.conf: Could not open configuration file @/d/fifo: Bad file descriptor"
        );
        assert_eq!(
            seen,
            ["AH00554: Access to file @/d/fifo denied by server: not a regular file"]
        );
        // The main file itself.
        let r = expand(Path::new("d"), &opts(d.path()), &TestCatalog);
        assert_eq!(
            err_text(&d, r),
            "Could not open configuration file @/d: Bad file descriptor"
        );
    }

    /// Lines the differential test draws configs from: every section, read-time directive
    /// and error form, with `${}` and continuations.
    const POOL: &[&str] = &[
        "<Directory /x>",
        "</Directory>",
        "<Files a>",
        "</Files>",
        "</Location>",
        "</directory>",
        "<Directory /y",
        "</Directory x>",
        "<",
        "</>",
        "<IfModule log_config_module>",
        "<IfModule !log_config_module>",
        "<IfModule nope_module>",
        "<IfModule>",
        "</IfModule>",
        "<IfDefine D1>",
        "<IfDefine !D1>",
        "</IfDefine>",
        "<IfVersion >= 2.4>",
        "<IfVersion < 2>",
        "</IfVersion>",
        "Define D1",
        "UnDefine D1",
        "Define V \"a b\"",
        "X ${V} ${W}",
        "ServerAdmin ${V}",
        "Define a:b",
        "Include inc/*.conf",
        "IncludeOptional nope/*.conf",
        "Include sub",
        "Include nope.conf",
        "Timeout \\",
        "# comment",
        "",
        "  \t",
        "<Directory \"/a b\">",
        "<IfModule ${V}>",
        "<IfDefine ${D}>",
        "<IfModule log_config_module >",
        "</IfModule >",
        "Include \"inc/a.conf\"",
        "IncludeOptional sub/*",
        "Define D1 ${V}",
        "<IfVersion = /^2/>",
        "<IfFile main.conf>",
        "</IfFile>",
        "<IfDirective LogFormat>",
        "</IfDirective>",
        "<IfSection !Directory>",
        "</IfSection>",
    ];

    /// A small deterministic generator (no test may depend on chance).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
        fn lines(&mut self, max: usize, includes: bool) -> String {
            let mut out = String::new();
            for _ in 0..self.next(max + 1) {
                let line = POOL[self.next(POOL.len())];
                if !includes && line.contains("Include") {
                    continue;
                }
                out.push_str(line);
                out.push('\n');
            }
            out
        }
    }

    /// Random small configs through both apache2 and us: the read-phase error line (or its
    /// absence) and the AH00111 warnings must be the same.
    #[test]
    fn differential_against_apache2() {
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; differential test skipped");
            return;
        }
        let mut rng = Lcg(0x5eed);
        for case in 0..150 {
            let main = rng.lines(8, true);
            let a = rng.lines(4, false);
            let b = rng.lines(4, false);
            let c = rng.lines(3, false);
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_string_lossy().into_owned();
            for (name, text) in [
                ("main.conf", &main),
                ("inc/a.conf", &a),
                ("inc/b.conf", &b),
                ("sub/c.conf", &c),
            ] {
                let p = dir.path().join(name);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, text).unwrap();
            }
            let mut ours_warn = Vec::new();
            let ours = expand_logged(
                Path::new("main.conf"),
                &opts(dir.path()),
                &TestCatalog,
                &mut |w| ours_warn.push(w.to_string()),
            )
            .map(|_| ())
            .map_err(|e| e.to_string().replace(&root, "@"));
            let out = std::process::Command::new(apache)
                .arg("-d")
                .arg(dir.path())
                .arg("-f")
                .arg(dir.path().join("main.conf"))
                .arg("-t")
                .env_clear()
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).replace(&root, "@");
            let theirs_read = stderr
                .lines()
                .find_map(|l| l.strip_prefix("apache2: "))
                .map(str::to_string);
            let theirs_warn: Vec<String> = stderr
                .lines()
                .filter_map(|l| l.find("AH00111: ").map(|i| l[i..].to_string()))
                .collect();
            let ctx = format!(
                "case {case}\nmain:\n{main}\na:\n{a}\nb:\n{b}\nc:\n{c}\napache2:\n{stderr}"
            );
            match (&ours, &theirs_read) {
                (Ok(()), None) => {}
                (Err(e), Some(t)) => assert_eq!(e, t, "{ctx}"),
                // We report a section's missing '>' while reading; httpd when it runs it.
                // httpd finds a missing '>' only when it runs the section, after the read
                // (and, with no MPM loaded here, not at all).
                (Err(e), None) if e.ends_with("directive missing closing '>'") => {}
                _ => panic!("ours {ours:?} vs theirs {theirs_read:?}\n{ctx}"),
            }
            assert_eq!(ours_warn, theirs_warn, "{ctx}");
        }
    }

    fn apache2_read_error(d: &tempfile::TempDir) -> Option<String> {
        let apache = Path::new("/usr/sbin/apache2");
        if !apache.exists() {
            eprintln!("note: /usr/sbin/apache2 not installed; not compared");
            return None;
        }
        let out = std::process::Command::new(apache)
            .arg("-d")
            .arg(d.path())
            .arg("-f")
            .arg(d.path().join("main.conf"))
            .arg("-t")
            .env_clear()
            .output()
            .unwrap();
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&*d.path().to_string_lossy(), "@");
        stderr
            .lines()
            .find_map(|l| l.strip_prefix("apache2: "))
            .map(str::to_string)
    }

    #[test]
    fn directory_recursion_stops_at_depth_128() {
        // `d` is level 1, so the 128th `x` is the 129th level.
        let deep = format!("d{}", "/x".repeat(128));
        let file = format!("{deep}/x/a.conf");
        let (d, r) = run(&[("main.conf", "\nInclude d\n"), (file.as_str(), "A\n")]);
        let want = format!(
            "Syntax error on line 2 of @/main.conf: Include/IncludeOptional: Directory '@/{deep}' exceeds the maximum include directory nesting level of 128. You have probably a recursion somewhere."
        );
        assert_eq!(err_text(&d, r), want);
        if let Some(theirs) = apache2_read_error(&d) {
            assert_eq!(theirs, want);
        }
    }

    #[test]
    fn a_symlink_loop_in_an_included_directory_fails_like_httpd() {
        let (d, _) = run(&[("main.conf", "\nInclude d\n"), ("d/a.conf", "A\n")]);
        std::os::unix::fs::symlink(d.path().join("d"), d.path().join("d/loop")).unwrap();
        let r = expand(Path::new("main.conf"), &opts(d.path()), &TestCatalog);
        let ours = err_text(&d, r);
        assert!(ours.starts_with("Syntax error on line 2 of @/main.conf: Could not open configuration file @/d/loop/loop/"), "{ours}");
        assert!(
            ours.ends_with("/loop: Too many levels of symbolic links"),
            "{ours}"
        );
        if let Some(theirs) = apache2_read_error(&d) {
            assert_eq!(theirs, ours);
        }
    }

    #[test]
    fn a_missing_default_main_file_is_skipped_with_command_line_directives() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.default_config_file = Some("main.conf".into());
        assert!(expand(Path::new("main.conf"), &o, &TestCatalog).is_err());
        o.pre_directives = vec!["A".into()];
        let e = expand(Path::new("main.conf"), &o, &TestCatalog).unwrap();
        assert_eq!(names(&e.nodes), ["A"]);
        // Not the default: still required.
        assert!(expand(Path::new("other.conf"), &o, &TestCatalog).is_err());
    }
}
