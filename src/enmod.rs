//! mpmd-enmod and friends: Debian's a2enmod / a2dismod / a2ensite / a2dissite / a2enconf /
//! a2disconf and a2query for an mpmd tree. They manage the relative symlinks in the
//! `*-enabled` folders, follow `# Depends:` / `# Conflicts:` headers, and print the same
//! messages with the same exit codes (0 ok, 1 an object failed, 2 bad options). One deliberate
//! difference: enabling an MPM disables the other MPMs first, since mpmd switches engines on a
//! graceful reload.

mod query;

use std::io::{BufRead, Write};
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

use crate::ctl::env::{Env, EnvError};

/// What stops a tool before it looks at any object.
#[derive(Debug, Error)]
pub enum EnmodError {
    #[error("Could not read {path}: {source}")]
    Envvars { path: PathBuf, source: EnvError },
}

pub use query::query_main;

/// The system tree, and the one `mpmd-enmod-NAME` instances derive theirs from.
pub const DEFAULT_CONFDIR: &str = "/etc/mpmd";
/// Where the enabled/disabled-by markers live for the system tree (a2query reads them).
pub const DEFAULT_STATEDIR: &str = "/var/lib/mpmd";
/// The MPMs mpmd has; enabling one disables the others.
pub const MPMS: [&str; 3] = ["mpm_event", "mpm_prefork", "mpm_worker"];
/// Modules whose removal asks for confirmation (Debian's list).
const ESSENTIAL: [&str; 17] = [
    "alias",
    "auth_basic",
    "authn_file",
    "authz_host",
    "authz_user",
    "autoindex",
    "deflate",
    "dir",
    "env",
    "filter",
    "logio",
    "mime",
    "negotiation",
    "setenvif",
    "unixd",
    "version",
    "watchdog",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Enable,
    Disable,
}

impl Act {
    fn word(self) -> &'static str {
        match self {
            Act::Enable => "enable",
            Act::Disable => "disable",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Module,
    Site,
    Conf,
}

impl Kind {
    /// The word in messages and in the state directory.
    fn obj(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Site => "site",
            Kind::Conf => "conf",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Kind::Module => "Module",
            Kind::Site => "Site",
            Kind::Conf => "Conf",
        }
    }
    /// The folder prefix: `mods-available`, `sites-enabled`, ...
    fn dir(self) -> &'static str {
        match self {
            Kind::Module => "mods",
            Kind::Site => "sites",
            Kind::Conf => "conf",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Kind::Module => ".load",
            _ => ".conf",
        }
    }
}

/// Which tool a call is, from the program name or the first argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tool {
    Switch(Act, Kind),
    Query,
}

/// Maps `mpmd-enmod`, `dismod`, `mpmd-query-NAME`, ... to a tool and the instance suffix
/// (`-NAME`, selecting `/etc/mpmd-NAME` like `a2enmod-NAME` selects `/etc/apache2-NAME`).
pub fn tool_for_name(name: &str) -> Option<(Tool, String)> {
    let name = name.strip_prefix("mpmd-").unwrap_or(name);
    let tools = [
        ("enmod", Tool::Switch(Act::Enable, Kind::Module)),
        ("dismod", Tool::Switch(Act::Disable, Kind::Module)),
        ("ensite", Tool::Switch(Act::Enable, Kind::Site)),
        ("dissite", Tool::Switch(Act::Disable, Kind::Site)),
        ("enconf", Tool::Switch(Act::Enable, Kind::Conf)),
        ("disconf", Tool::Switch(Act::Disable, Kind::Conf)),
        ("query", Tool::Query),
    ];
    for (word, tool) in tools {
        if let Some(rest) = name.strip_prefix(word) {
            if rest.is_empty() || (rest.starts_with('-') && rest.len() > 1) {
                return Some((tool, rest.to_owned()));
            }
        }
    }
    None
}

/// Entry point of the `mpmd-enmod` binary: picks the tool by program name, or by the first
/// argument when that is a tool name (`mpmd-enmod dismod status`). Returns the exit code.
pub fn main_with(argv0: &str, mut args: Vec<String>, env: Env) -> i32 {
    let base = Path::new(argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut chosen = tool_for_name(&base);
    if let Some(first) = args.first() {
        let is_tool_word = first.starts_with("mpmd-")
            || matches!(
                first.as_str(),
                "enmod" | "dismod" | "ensite" | "dissite" | "enconf" | "disconf" | "query"
            );
        if is_tool_word {
            if let Some(t) = tool_for_name(first) {
                chosen = Some(t);
                args.remove(0);
            }
        }
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let stdin = std::io::stdin();
    match chosen {
        Some((Tool::Query, suffix)) => query_main(
            &base,
            &args,
            &env,
            &suffix,
            &mut stdout.lock(),
            &mut stderr.lock(),
        ),
        Some((Tool::Switch(act, kind), suffix)) => {
            let mut io = Io {
                out: &mut stdout.lock(),
                err: &mut stderr.lock(),
                input: &mut stdin.lock(),
            };
            switch_main(act, kind, &suffix, &args, env, &mut io)
        }
        None => {
            eprintln!("{base} call name unknown");
            eprintln!(
                "usage: mpmd-enmod [enmod|dismod|ensite|dissite|enconf|disconf|query] [ARGS]"
            );
            2
        }
    }
}

/// Where the tools print and read (stdin answers the prompts).
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub input: &'a mut dyn BufRead,
}

#[derive(Clone, Debug, Default)]
struct Flags {
    quiet: bool,
    force: bool,
    maintmode: bool,
    purge: bool,
    confdir: Option<String>,
    help: bool,
    version: bool,
}

/// Parses options the way a2enmod's Getopt::Long does (bundling, options anywhere, `--` ends
/// them), plus our `-d DIR` / `--confdir DIR`. Err carries the option to name in
/// `Unknown option: X`.
fn parse_flags(args: &[String]) -> Result<(Flags, Vec<String>), String> {
    let mut flags = Flags::default();
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            names.extend(it.by_ref().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (key, value) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_owned())),
                None => (long, None),
            };
            match key {
                "quiet" => flags.quiet = true,
                "force" => flags.force = true,
                "maintmode" => flags.maintmode = true,
                "purge" => flags.purge = true,
                "help" => flags.help = true,
                "version" => flags.version = true,
                "confdir" => {
                    let v = match value {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| "confdir (needs a directory)".to_owned())?,
                    };
                    flags.confdir = Some(v);
                }
                _ => return Err(key.to_owned()),
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg[1..].chars().collect();
            let mut i = 0;
            while i < chars.len() {
                match chars[i] {
                    'q' => flags.quiet = true,
                    'f' => flags.force = true,
                    'm' => flags.maintmode = true,
                    'p' => flags.purge = true,
                    'h' => flags.help = true,
                    'd' => {
                        let rest: String = chars[i + 1..].iter().collect();
                        let v = if rest.is_empty() {
                            it.next()
                                .cloned()
                                .ok_or_else(|| "d (needs a directory)".to_owned())?
                        } else {
                            rest
                        };
                        flags.confdir = Some(v);
                        break;
                    }
                    c => return Err(c.to_string()),
                }
                i += 1;
            }
        } else {
            names.push(arg.clone());
        }
    }
    Ok((flags, names))
}

/// The folders one call works on.
#[derive(Clone, Debug)]
pub struct Dirs {
    pub confdir: PathBuf,
    pub available: PathBuf,
    pub enabled: PathBuf,
    pub mods_enabled: PathBuf,
    /// `<state>/<obj>`; None when markers are not kept (a private tree without
    /// MPMD_STATE_DIRECTORY).
    pub state: Option<PathBuf>,
    /// True for the system tree (`/etc/mpmd[-NAME]`), to word the reload hint.
    pub default_tree: bool,
}

/// The conf dir before envvars is read: `-d`, then MPMD_CONFDIR, then `/etc/mpmd[-NAME]`.
pub fn confdir_for(explicit: Option<&str>, env: &Env, suffix: &str) -> (PathBuf, bool) {
    let default = format!("{DEFAULT_CONFDIR}{suffix}");
    let dir = explicit
        .map(str::to_owned)
        .or_else(|| env.var("MPMD_CONFDIR").map(str::to_owned))
        .unwrap_or_else(|| default.clone());
    let is_default = Path::new(&dir) == Path::new(&default);
    (PathBuf::from(dir), is_default)
}

/// Resolves the folders like a2enmod: conf dir, envvars (which may move things), then the
/// per-type overrides MPMD_MODS_AVAILABLE, MPMD_SITES_ENABLED, ... and MPMD_STATE_DIRECTORY.
pub fn resolve_dirs(
    kind: Kind,
    explicit: Option<&str>,
    env: &mut Env,
    suffix: &str,
) -> Result<Dirs, EnmodError> {
    let (confdir, _) = confdir_for(explicit, env, suffix);
    env.set("MPMD_CONFDIR", &confdir.to_string_lossy());
    let envfile = env
        .var("MPMD_ENVVARS")
        .map(PathBuf::from)
        .unwrap_or_else(|| confdir.join("envvars"));
    if let Err(source) = env.source_envvars(&envfile) {
        return Err(EnmodError::Envvars {
            path: envfile,
            source,
        });
    }
    let (confdir, default_tree) = confdir_for(explicit, env, suffix);
    let up = kind.dir().to_uppercase();
    let available = env
        .var(&format!("MPMD_{up}_AVAILABLE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| confdir.join(format!("{}-available", kind.dir())));
    let enabled = env
        .var(&format!("MPMD_{up}_ENABLED"))
        .map(PathBuf::from)
        .unwrap_or_else(|| confdir.join(format!("{}-enabled", kind.dir())));
    let mods_enabled = env
        .var("MPMD_MODS_ENABLED")
        .map(PathBuf::from)
        .unwrap_or_else(|| confdir.join("mods-enabled"));
    let state = env
        .var("MPMD_STATE_DIRECTORY")
        .map(PathBuf::from)
        .or_else(|| default_tree.then(|| PathBuf::from(format!("{DEFAULT_STATEDIR}{suffix}"))))
        .map(|s| s.join(kind.obj()));
    Ok(Dirs {
        confdir,
        available,
        enabled,
        mods_enabled,
        state,
        default_tree,
    })
}

/// One run of an enable/disable tool: `args` are everything after the program name.
pub fn switch_main(
    act: Act,
    kind: Kind,
    suffix: &str,
    args: &[String],
    mut env: Env,
    io: &mut Io<'_>,
) -> i32 {
    let (flags, mut names) = match parse_flags(args) {
        Ok(v) => v,
        Err(opt) => {
            let _ = writeln!(io.err, "Unknown option: {opt}");
            return 2;
        }
    };
    let tool = format!(
        "mpmd-{}{}",
        &act.word()[..act.word().len() - 4],
        kind_word(kind)
    );
    if flags.help {
        let _ = write!(io.out, "{}", switch_usage(&tool, act, kind));
        return 0;
    }
    if flags.version {
        let _ = writeln!(io.out, "{tool} (mpmd) {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let dirs = match resolve_dirs(kind, flags.confdir.as_deref(), &mut env, suffix) {
        Ok(d) => d,
        Err(msg) => {
            let _ = writeln!(io.err, "{msg}");
            return 1;
        }
    };
    let mut run = Run {
        act,
        kind,
        flags,
        dirs,
        io,
        request_reload: false,
        aborted: false,
    };
    if names.is_empty() {
        let choices = run.myglob("*");
        run.out(&format!("Your choices are: {}\n", choices.join(" ")));
        run.out(&format!(
            "Which {}(s) do you want to {} (wildcards ok)?\n",
            kind.obj(),
            act.word()
        ));
        let mut line = String::new();
        let _ = run.io.input.read_line(&mut line);
        names = line.split_whitespace().map(str::to_owned).collect();
    }
    let mut rc = 0;
    let mut objs = Vec::new();
    for arg in &names {
        let arg = arg.strip_suffix(kind.suffix()).unwrap_or(arg);
        let found = run.myglob(arg);
        if found.is_empty() {
            run.error(&format!("No {} found matching {arg}!\n", kind.obj()));
            rc = 1;
        } else {
            objs.extend(found);
        }
    }
    for obj in &objs {
        if !run.doit(obj, act) {
            rc = 1;
        }
        if run.aborted {
            return 1;
        }
    }
    if run.request_reload {
        let cmd = if run.dirs.default_tree && suffix.is_empty() {
            "mpmctl graceful".to_owned()
        } else {
            format!(
                "MPMD_CONFDIR={} mpmctl graceful",
                shell_word(&run.dirs.confdir.to_string_lossy())
            )
        };
        run.info(&format!(
            "To activate the new configuration, you need to run:\n  {cmd}\n"
        ));
    }
    let _ = run.io.out.flush();
    rc
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Module => "mod",
        Kind::Site => "site",
        Kind::Conf => "conf",
    }
}

fn switch_usage(tool: &str, act: Act, kind: Kind) -> String {
    format!(
        "Usage: {tool} [-q] [-f] [-m] [-p] [-d DIR] [{obj}[{sfx}] ...]\n\
         {Act}s mpmd {obj}s (wildcards ok) by managing the symlinks in {dir}-enabled/,\n\
         following the '# Depends:' and '# Conflicts:' headers like Debian's a2{short}.\n\
         \n\
         \x20 -q, --quiet        only print errors and the essential lines\n\
         \x20 -f, --force        {force}\n\
         \x20 -m, --maintmode    record the change as made by a maintainer script\n\
         \x20 -p, --purge        forget the enabled/disabled record too\n\
         \x20 -d, --confdir DIR  the config tree (default $MPMD_CONFDIR, else /etc/mpmd)\n\
         \n\
         The same binary answers to mpmd-enmod, mpmd-dismod, mpmd-ensite, mpmd-dissite,\n\
         mpmd-enconf, mpmd-disconf and mpmd-query (by name, or as the first argument).\n\
         Exit status: 0 success, 1 an object failed, 2 bad options.\n",
        obj = kind.obj(),
        sfx = kind.suffix(),
        Act = if act == Act::Enable {
            "Enable"
        } else {
            "Disable"
        },
        dir = kind.dir(),
        short = tool.trim_start_matches("mpmd-"),
        force = if act == Act::Disable {
            "also disable modules that depend on it; no prompt for essential modules"
        } else {
            "accepted for compatibility"
        },
    )
}

/// Quotes a path for the hint line when it needs quoting.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The state of one call (a2enmod keeps these as globals).
struct Run<'a, 'b> {
    act: Act,
    kind: Kind,
    flags: Flags,
    dirs: Dirs,
    io: &'a mut Io<'b>,
    request_reload: bool,
    /// The user declined the essential-module prompt: stop at once with exit 1.
    aborted: bool,
}

enum LinkCheck {
    Ok,
    Missing,
    Bad(String),
}

impl Run<'_, '_> {
    fn out(&mut self, s: &str) {
        let _ = self.io.out.write_all(s.as_bytes());
    }
    fn info(&mut self, s: &str) {
        if !self.flags.quiet {
            self.out(s);
        }
    }
    fn error(&mut self, s: &str) {
        let _ = self.io.out.flush();
        let _ = write!(self.io.err, "ERROR: {s}");
    }
    fn warning(&mut self, s: &str) {
        let _ = self.io.out.flush();
        let _ = write!(self.io.err, "WARNING: {s}");
    }

    /// The objects matching `arg` in the available folder (enable) or the enabled one
    /// (disable). Like Perl's glob, a name without wildcards comes back as is, existing or
    /// not, so that the caller reports "does not exist".
    fn myglob(&self, arg: &str) -> Vec<String> {
        let sfx = self.kind.suffix();
        if !arg.contains(['*', '?', '[']) {
            return vec![arg.to_owned()];
        }
        let dir = match self.act {
            Act::Enable => &self.dirs.available,
            Act::Disable => &self.dirs.enabled,
        };
        let pattern = format!(
            "{}/{arg}{sfx}",
            glob::Pattern::escape(&dir.to_string_lossy())
        );
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let Ok(paths) = glob::glob_with(&pattern, opts) else {
            return Vec::new();
        };
        let mut found: Vec<String> = paths
            .filter_map(Result::ok)
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some(name.strip_suffix(sfx).unwrap_or(&name).to_owned())
            })
            .collect();
        found.sort();
        found
    }

    fn title(&self) -> &'static str {
        self.kind.title()
    }

    /// Enables or disables one object; false when it failed.
    fn doit(&mut self, name: &str, act: Act) -> bool {
        let mut acton = name.to_owned();
        let mut conf_pair: Option<(PathBuf, PathBuf)> = None;
        if self.kind == Kind::Module {
            if act == Act::Enable && acton == "cgi" && self.threaded() {
                self.out("Your MPM seems to be threaded. Selecting cgid instead of cgi.\n");
                acton = "cgid".to_owned();
            }
            let conftgt = self.dirs.available.join(format!("{acton}.conf"));
            if conftgt.exists() {
                conf_pair = Some((conftgt, self.dirs.enabled.join(format!("{acton}.conf"))));
            }
        }
        let sfx = self.kind.suffix();
        let tgt = self.dirs.available.join(format!("{acton}{sfx}"));
        let link = self.dirs.enabled.join(format!("{acton}{sfx}"));

        if !tgt.exists() {
            if is_symlink(&link) && !link.exists() {
                if act == Act::Disable {
                    self.info(&format!("removing dangling symlink {}\n", link.display()));
                    let _ = std::fs::remove_file(&link);
                    // The .conf may be left dangling too.
                    let conflink = self.dirs.enabled.join(format!("{acton}.conf"));
                    if is_symlink(&conflink) && !conflink.exists() {
                        self.info(&format!(
                            "removing dangling symlink {}\n",
                            conflink.display()
                        ));
                        let _ = std::fs::remove_file(&conflink);
                    }
                    return true;
                }
                self.error(&format!("{} is a dangling symlink!\n", link.display()));
            }
            if self.flags.purge {
                self.switch_marker(act, &acton);
                return true;
            }
            self.error(&format!("{} {acton} does not exist!\n", self.title()));
            return false;
        }

        if self.kind == Kind::Module {
            if act == Act::Enable {
                let depends = self.get_deps(&tgt, "Depends");
                if !self.do_deps(&acton, &depends, Act::Enable) {
                    return false;
                }
                if !self.switch_mpm(&acton) {
                    return false;
                }
                let conflicts = self.get_deps(&tgt, "Conflicts");
                if !self.check_conflicts(&acton, &conflicts) {
                    return false;
                }
            } else {
                let depending = self.dependents(&acton);
                if !depending.is_empty() {
                    if self.flags.force {
                        if !self.do_deps(&acton, &depending, Act::Disable) {
                            return false;
                        }
                    } else {
                        self.error(&format!(
                            "The following modules depend on {acton} and need to be disabled first: {}\n",
                            depending.join(" ")
                        ));
                        return false;
                    }
                }
            }
        } else if act == Act::Enable {
            let depends = self.get_deps(&tgt, "Depends");
            if !self.warn_deps(&acton, &depends) {
                return false;
            }
        }

        let title = self.title();
        if act == Act::Enable {
            match self.check_link(&tgt, &link) {
                LinkCheck::Ok => {
                    if let Some((conftgt, conflink)) = &conf_pair {
                        match self.check_link(conftgt, conflink) {
                            LinkCheck::Ok => {
                                self.info(&format!("{title} {acton} already enabled\n"));
                                true
                            }
                            LinkCheck::Missing => {
                                self.out(&format!("Enabling config file {acton}.conf.\n"));
                                self.add_link(conftgt, conflink)
                            }
                            LinkCheck::Bad(why) => {
                                self.error(&format!(
                                    "Config file {acton}.conf not properly enabled: {why}\n"
                                ));
                                false
                            }
                        }
                    } else {
                        self.info(&format!("{title} {acton} already enabled\n"));
                        true
                    }
                }
                LinkCheck::Missing => {
                    if let Some((conftgt, conflink)) = &conf_pair {
                        match self.check_link(conftgt, conflink) {
                            LinkCheck::Missing => {
                                if !self.add_link(conftgt, conflink) {
                                    return false;
                                }
                            }
                            LinkCheck::Ok => {}
                            LinkCheck::Bad(why) => {
                                self.error(&format!(
                                    "Config file {acton}.conf not properly enabled: {why}\n"
                                ));
                                return false;
                            }
                        }
                    }
                    self.out(&format!("Enabling {} {acton}.\n", self.kind.obj()));
                    self.special_module_handling(&acton, act);
                    self.add_link(&tgt, &link) && self.switch_marker(act, &acton)
                }
                LinkCheck::Bad(why) => {
                    self.error(&format!("{title} {acton} not properly enabled: {why}\n"));
                    false
                }
            }
        } else if link.exists() || is_symlink(&link) {
            self.special_module_handling(&acton, act);
            if self.kind == Kind::Module && ESSENTIAL.contains(&acton.as_str()) && !self.flags.force
            {
                self.essential_module_handling(&acton);
                if self.aborted {
                    return false;
                }
            }
            if !self.remove_link(&link) {
                return false;
            }
            if let Some((_, conflink)) = &conf_pair {
                if conflink.exists() {
                    self.remove_link(conflink);
                }
            }
            self.switch_marker(act, &acton);
            self.out(&format!("{title} {acton} disabled.\n"));
            true
        } else if conf_pair.as_ref().is_some_and(|(_, l)| l.exists()) {
            self.out(&format!("Disabling stale config file {acton}.conf.\n"));
            let conflink = conf_pair.map(|(_, l)| l).unwrap_or_default();
            self.remove_link(&conflink);
            true
        } else {
            self.info(&format!("{title} {acton} already disabled\n"));
            if self.flags.purge {
                self.switch_marker(act, &acton);
            }
            true
        }
    }

    /// mpmd's addition: before enabling one MPM, disable the others that are enabled, since
    /// exactly one may be loaded and mpmd can change engines on a graceful reload.
    fn switch_mpm(&mut self, acton: &str) -> bool {
        if !MPMS.contains(&acton) {
            return true;
        }
        for other in MPMS {
            if other == acton {
                continue;
            }
            let link = self.dirs.enabled.join(format!("{other}.load"));
            if !link.exists() && !is_symlink(&link) {
                continue;
            }
            self.out(&format!(
                "Switching MPM: disabling {other} to enable {acton}.\n"
            ));
            if !self.doit(other, Act::Disable) {
                self.error(&format!(
                    "Could not disable {other} to switch to {acton}, aborting\n"
                ));
                return false;
            }
        }
        true
    }

    /// The enabled modules whose `.load` lists `acton` in `# Depends:`.
    fn dependents(&mut self, acton: &str) -> Vec<String> {
        let mut loads: Vec<PathBuf> = std::fs::read_dir(&self.dirs.enabled)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.ends_with(".load") && !n.starts_with('.'))
                    })
                    .collect()
            })
            .unwrap_or_default();
        loads.sort();
        let mut out = Vec::new();
        for load in loads {
            if self.get_deps(&load, "Depends").iter().any(|d| d == acton) {
                let name = load.file_name().unwrap_or_default().to_string_lossy();
                out.push(name.trim_end_matches(".load").to_owned());
            }
        }
        out
    }

    /// The names in the `# Depends:` or `# Conflicts:` header line of `file`. Only the leading
    /// block of comments and blank lines is searched, as in a2enmod.
    fn get_deps(&mut self, file: &Path, what: &str) -> Vec<String> {
        let text = match std::fs::read(file) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(e) => {
                self.error(&format!(
                    "Can't open {}: {}\n",
                    file.display(),
                    io_reason(&e)
                ));
                return Vec::new();
            }
        };
        parse_header(&text, what)
    }

    fn do_deps(&mut self, acton: &str, deps: &[String], act: Act) -> bool {
        for d in deps {
            self.info(&format!("Considering dependency {d} for {acton}:\n"));
            if !self.doit(d, act) {
                if !self.aborted {
                    self.error(&format!(
                        "Could not {} dependency {d} for {acton}, aborting\n",
                        act.word()
                    ));
                }
                return false;
            }
        }
        true
    }

    fn warn_deps(&mut self, acton: &str, deps: &[String]) -> bool {
        for d in deps {
            self.info(&format!("Checking dependency {d} for {acton}:\n"));
            if !self.dirs.mods_enabled.join(format!("{d}.load")).exists() {
                self.warning(&format!(
                    "Module {d} is not enabled, but {acton} depends on it, aborting\n"
                ));
                return false;
            }
        }
        true
    }

    fn check_conflicts(&mut self, acton: &str, conflicts: &[String]) -> bool {
        let mut bad = 0;
        for d in conflicts {
            self.info(&format!("Considering conflict {d} for {acton}:\n"));
            let sfx = self.kind.suffix();
            let tgt = self.dirs.available.join(format!("{d}{sfx}"));
            let link = self.dirs.enabled.join(format!("{d}{sfx}"));
            if let LinkCheck::Ok = self.check_link(&tgt, &link) {
                self.error(&format!(
                    "Module {d} is enabled - cannot proceed due to conflicts. It needs to be disabled first!\n"
                ));
                // Keep going: report every conflict.
                bad += 1;
            }
        }
        bad == 0
    }

    fn check_link(&mut self, tgt: &Path, link: &Path) -> LinkCheck {
        if !link.exists() {
            if is_symlink(link) {
                // a2enmod omits the newline here; we do not.
                self.info(&format!("Removing dangling link {}\n", link.display()));
                if std::fs::remove_file(link).is_err() {
                    return LinkCheck::Bad(format!("Could not remove {}", link.display()));
                }
            }
            return LinkCheck::Missing;
        }
        if !is_symlink(link) {
            return LinkCheck::Bad(format!(
                "{} is a real file, not touching it",
                link.display()
            ));
        }
        let same = match (std::fs::canonicalize(link), std::fs::canonicalize(tgt)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            return LinkCheck::Bad(format!(
                "{} exists but does not point to {}, not touching it",
                link.display(),
                tgt.display()
            ));
        }
        LinkCheck::Ok
    }

    fn add_link(&mut self, tgt: &Path, link: &Path) -> bool {
        let parent = link.parent().unwrap_or(Path::new("."));
        let rel = relative_path(tgt, parent);
        if let Err(e) = std::os::unix::fs::symlink(&rel, link) {
            self.error(&format!(
                "Could not create {}: {}\n",
                link.display(),
                io_reason(&e)
            ));
            return false;
        }
        self.request_reload = true;
        true
    }

    fn remove_link(&mut self, link: &Path) -> bool {
        if is_symlink(link) {
            if let Err(e) = std::fs::remove_file(link) {
                self.error(&format!(
                    "Could not remove {}: {}\n",
                    link.display(),
                    io_reason(&e)
                ));
                return false;
            }
        } else if link.exists() {
            self.error(&format!(
                "{} is not a symbolic link, not deleting\n",
                link.display()
            ));
            return false;
        }
        self.request_reload = true;
        true
    }

    /// Is the enabled MPM threaded? Decided from the enabled links (a2enmod asks
    /// `apache2ctl -V` first and falls back to the same test).
    fn threaded(&mut self) -> bool {
        let en = &self.dirs.enabled;
        if en.join("mpm_prefork.load").exists() {
            false
        } else if en.join("mpm_worker.load").exists() || en.join("mpm_event.load").exists() {
            true
        } else {
            self.error("Can't determine enabled MPM\n");
            false
        }
    }

    fn special_module_handling(&mut self, acton: &str, act: Act) {
        if self.kind == Kind::Module && acton == "ssl" && act == Act::Enable {
            self.info(
                "See /usr/share/doc/mpmd/operations.md on how to configure SSL and create \
                 self-signed certificates.\n",
            );
        }
    }

    fn essential_module_handling(&mut self, module: &str) {
        self.out("WARNING: The following essential module will be disabled.\n");
        self.out("This might result in unexpected behavior and should NOT be done\n");
        self.out(&format!(
            "unless you know exactly what you are doing!\n {module}\n\n"
        ));
        self.out("To continue type in the phrase 'Yes, do as I say!' or retry by passing '-f': ");
        let _ = self.io.out.flush();
        let mut line = String::new();
        let _ = self.io.input.read_line(&mut line);
        if line.trim_end_matches(['\n', '\r']) != "Yes, do as I say!" {
            self.out("Aborting\n");
            self.aborted = true;
        }
    }

    /// Records who enabled or disabled `name` (`<state>/<obj>/{enabled,disabled}_by_{admin,
    /// maint}/<name>`), replacing any earlier record; `-p` only removes records.
    fn switch_marker(&mut self, act: Act, name: &str) -> bool {
        let Some(state) = self.dirs.state.clone() else {
            return true;
        };
        let mode = if self.flags.maintmode {
            "maint"
        } else {
            "admin"
        };
        let marker_dir = state.join(format!("{}d_by_{mode}", act.word()));
        if let Err(e) = std::fs::create_dir_all(&marker_dir) {
            self.error(&format!(
                "Failed to create marker directory: '{}': {}\n",
                marker_dir.display(),
                io_reason(&e)
            ));
            return false;
        }
        if let Ok(rd) = std::fs::read_dir(&state) {
            for sub in rd.filter_map(Result::ok) {
                let old = sub.path().join(name);
                if old.is_file() && std::fs::remove_file(&old).is_err() {
                    self.error(&format!(
                        "Failed to remove old marker '{}'!\n",
                        old.display()
                    ));
                    return false;
                }
            }
        }
        if !self.flags.purge {
            let marker = marker_dir.join(name);
            if std::fs::write(&marker, b"").is_err() {
                self.error(&format!(
                    "Failed to create marker '{}'!\n",
                    marker.display()
                ));
                return false;
            }
        }
        true
    }
}

/// The names on the `# <what>:` header line, if it comes before the first line that is
/// neither blank nor a comment.
pub fn parse_header(text: &str, what: &str) -> Vec<String> {
    let key = format!("# {what}:");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&key) {
            if rest.starts_with(char::is_whitespace) {
                return rest.split_whitespace().map(str::to_owned).collect();
            }
        }
        let t = line.trim_start();
        if !(t.is_empty() || t.starts_with('#')) {
            break;
        }
    }
    Vec::new()
}

/// The relative path from directory `base` to `target`, worked out on the names alone like
/// Perl's File::Spec->abs2rel (no symlinks resolved), so links stay `../mods-available/x.load`.
pub fn relative_path(target: &Path, base: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let t = normalize(&cwd.join(target));
    let b = normalize(&cwd.join(base));
    let tc: Vec<Component> = t.components().collect();
    let bc: Vec<Component> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &tc[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// The OS reason without Rust's " (os error N)" tail, as Perl's `$!` prints it.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_read_only_before_the_first_directive() {
        let text = "# Depends: proxy  alias\n# Conflicts: a b\nLoadModule x y\n";
        assert_eq!(parse_header(text, "Depends"), ["proxy", "alias"]);
        assert_eq!(parse_header(text, "Conflicts"), ["a", "b"]);
        let late = "LoadModule x y\n# Depends: proxy\n";
        assert!(parse_header(late, "Depends").is_empty());
        let blank_first = "\n   \n# hello\n# Depends:\tfoo\n";
        assert_eq!(parse_header(blank_first, "Depends"), ["foo"]);
        assert!(parse_header("#Depends: foo\n", "Depends").is_empty());
    }

    #[test]
    fn relative_links_are_lexical() {
        assert_eq!(
            relative_path(
                Path::new("/e/m/mods-available/a.load"),
                Path::new("/e/m/mods-enabled")
            ),
            PathBuf::from("../mods-available/a.load")
        );
        assert_eq!(
            relative_path(Path::new("/x/y/a"), Path::new("/x/y/./z/../")),
            PathBuf::from("a")
        );
        assert_eq!(
            relative_path(Path::new("/srv/a/b"), Path::new("/etc/x")),
            PathBuf::from("../../srv/a/b")
        );
    }

    #[test]
    fn tool_names_and_instances() {
        assert_eq!(
            tool_for_name("mpmd-enmod"),
            Some((Tool::Switch(Act::Enable, Kind::Module), String::new()))
        );
        assert_eq!(
            tool_for_name("mpmd-dissite-web2"),
            Some((Tool::Switch(Act::Disable, Kind::Site), "-web2".to_owned()))
        );
        assert_eq!(tool_for_name("query"), Some((Tool::Query, String::new())));
        assert_eq!(tool_for_name("mpmd-enmodx"), None);
        assert_eq!(tool_for_name("mpmd-enmod-"), None);
        assert_eq!(tool_for_name("mpmctl"), None);
    }

    #[test]
    fn flags_bundle_and_stop_at_double_dash() {
        let args: Vec<String> = ["-qf", "a", "-d", "/t", "--", "-b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (f, names) = parse_flags(&args).unwrap();
        assert!(f.quiet && f.force && !f.purge);
        assert_eq!(f.confdir.as_deref(), Some("/t"));
        assert_eq!(names, ["a", "-b"]);
        assert_eq!(parse_flags(&["-qx".to_string()]).unwrap_err(), "x");
        assert_eq!(parse_flags(&["--bogus".to_string()]).unwrap_err(), "bogus");
        let (f, _) = parse_flags(&["-d/x".to_string()]).unwrap();
        assert_eq!(f.confdir.as_deref(), Some("/x"));
    }
}
