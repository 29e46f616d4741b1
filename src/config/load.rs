//! `load`: command-line options → read and expand the files (`conf`) → build and check the
//! `ServerConfig`. The supervisor calls it at start and again on every restart.

use std::path::{Path, PathBuf};

use super::build::{self, BuildError, BuildInput};
use super::registry::Catalog;
use super::ServerConfig;
use crate::conf::expand::{expand_logged, ExpandOptions};
use crate::conf::ConfError;
use crate::supervisor::RunOptions;

/// mpmd's compiled-in ServerRoot (httpd's `HTTPD_ROOT`).
pub const DEFAULT_SERVER_ROOT: &str = "/etc/mpmd";
/// mpmd's compiled-in main config file, relative to ServerRoot (`SERVER_CONFIG_FILE`).
pub const DEFAULT_CONFIG_FILE: &str = "mpmd.conf";

/// What `load` needs from the command line.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-d`; `None` = `/etc/mpmd`.
    pub server_root: Option<PathBuf>,
    /// `-f`; relative to ServerRoot; empty = `mpmd.conf`.
    pub config_file: PathBuf,
    /// `-C` directives, processed before the main file.
    pub pre_directives: Vec<String>,
    /// `-c` directives, processed after it.
    pub post_directives: Vec<String>,
    /// `-D` names.
    pub defines: Vec<String>,
    /// `-T`: skip the DocumentRoot check.
    pub skip_docroot_check: bool,
}

impl From<&RunOptions> for LoadOptions {
    fn from(o: &RunOptions) -> Self {
        LoadOptions {
            server_root: o.server_root.clone(),
            config_file: o.config_file.clone(),
            pre_directives: o.pre_directives.clone(),
            post_directives: o.post_directives.clone(),
            defines: o.defines.clone(),
            skip_docroot_check: false,
        }
    }
}

impl LoadOptions {
    pub fn server_root(&self) -> PathBuf {
        self.server_root
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SERVER_ROOT))
    }

    /// The main file: `-f` relative to ServerRoot, as httpd does.
    pub fn main_file(&self) -> PathBuf {
        let f = if self.config_file.as_os_str().is_empty() {
            Path::new(DEFAULT_CONFIG_FILE)
        } else {
            self.config_file.as_path()
        };
        if f.is_absolute() {
            f.to_path_buf()
        } else {
            self.server_root().join(f)
        }
    }
}

/// Why the configuration could not be loaded. `report` gives httpd's stderr text.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Read phase: one line, `Syntax error on line N of FILE: …` chained over Includes;
    /// `warnings` are those the read pass gave before it stopped (AH00111 …).
    #[error("{error}")]
    Read {
        error: ConfError,
        warnings: Vec<String>,
    },
    /// Walk phase or MPM count; `warnings` are what the read pass said before (AH00111 …),
    /// which httpd has printed by then.
    #[error("{error}")]
    Build {
        error: BuildError,
        warnings: Vec<String>,
    },
    /// Certificates, keys or the rustls setup of a TLS address (httpd's mod_ssl init).
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
}

impl LoadError {
    /// The text httpd prints on stderr for this error, `argv0` being the program name.
    pub fn report(&self, argv0: &str) -> String {
        match self {
            LoadError::Read { error, warnings } => {
                let mut out: String = warnings.iter().map(|w| format!("{w}\n")).collect();
                out.push_str(&format!("{argv0}: {error}"));
                out
            }
            LoadError::Build { error, warnings } => {
                let mut out: String = warnings.iter().map(|w| format!("{w}\n")).collect();
                out.push_str(&match error {
                    BuildError::ReadTime(e) => format!("{argv0}: {e}"),
                    BuildError::Mpm(m) => format!("AH00534: {argv0}: Configuration error: {m}"),
                    e @ BuildError::Walk(_) => e.to_string(),
                });
                out
            }
            LoadError::Tls(e) => format!("{e}\nAH00016: Configuration Failed"),
        }
    }
}

/// httpd's wording for an I/O error reason (`No such file or directory`).
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Reads, expands and builds the configuration. The `Vec<String>` is the startup warnings
/// (AH00111 undefined variables, the MPM adjustments …) in the order httpd prints them.
pub fn load(opts: &RunOptions) -> Result<(ServerConfig, Vec<String>), LoadError> {
    let cfg = load_with(&LoadOptions::from(opts))?;
    let mut warnings = cfg.notices.clone();
    warnings.extend(cfg.warnings.iter().cloned());
    Ok((cfg, warnings))
}

/// `load` with every command-line knob (`-T` included).
pub fn load_with(opts: &LoadOptions) -> Result<ServerConfig, LoadError> {
    let server_root = opts.server_root();
    let main = opts.main_file();
    let mut xo = ExpandOptions::new(&server_root);
    xo.defines = opts.defines.iter().map(|d| (d.clone(), None)).collect();
    xo.pre_directives = opts.pre_directives.clone();
    xo.post_directives = opts.post_directives.clone();
    let mut read_warnings = Vec::new();
    let tree = expand_logged(&main, &xo, &Catalog, &mut |w: &str| {
        read_warnings.push(w.to_string())
    })
    .map_err(|error| LoadError::Read {
        error,
        warnings: read_warnings.clone(),
    })?;
    let built = build::build(BuildInput {
        nodes: &tree.nodes,
        modules: tree.loaded_modules.iter().map(|(m, _)| *m).collect(),
        server_root: tree.server_root.clone(),
        config_file: main,
        defines: tree.defines.clone(),
        skip_docroot_check: opts.skip_docroot_check,
    });
    let mut cfg = built.map_err(|error| LoadError::Build {
        error,
        warnings: tree.warnings.clone(),
    })?;
    cfg.include_dump = tree.dump_includes();
    let lints = super::lint::startup_lines(&cfg, &tree.nodes);
    cfg.warnings.extend(lints);
    let mut notices = tree.warnings;
    notices.append(&mut cfg.notices);
    cfg.notices = notices;
    crate::tls::prepare(&mut cfg)?;
    Ok(cfg)
}
