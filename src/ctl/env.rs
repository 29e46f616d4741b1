//! The environment the control tools work in: the process environment overlaid with the
//! variables that `envvars` exports, read the way apache2ctl and a2enmod read theirs (the file
//! is sourced by /bin/sh, since it is a shell script, and the exported variables are imported).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EnvError {
    #[error("could not run /bin/sh to read {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("could not read {path}: {detail}")]
    Source { path: String, detail: String },
}

/// A snapshot of environment variables that the tools look things up in and hand to the
/// programs they run. Lookups treat an empty value as unset, as the shell scripts do with
/// `${VAR:-default}`.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process environment (non-UTF-8 variables are skipped).
    pub fn from_process() -> Env {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env { vars }
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, or None when it is unset or empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sources `path` with /bin/sh in this environment and takes over every variable the
    /// script leaves exported. A missing or unreadable file is not an error (apache2ctl and
    /// a2enmod skip it too); a file the shell fails on is.
    pub fn source_envvars(&mut self, path: &Path) -> Result<bool, EnvError> {
        if std::fs::File::open(path).is_err() {
            return Ok(false);
        }
        let shown = path.display().to_string();
        // `env -0` keeps values with newlines intact; `.` needs a path with a slash.
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(". \"$1\" && exec env -0")
            .arg("sh")
            .arg(absolute(path))
            .env_clear()
            .envs(self.vars())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| EnvError::Spawn {
                path: shown.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(EnvError::Source {
                path: shown,
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        for entry in output.stdout.split(|&b| b == 0) {
            let Ok(entry) = std::str::from_utf8(entry) else {
                continue;
            };
            if let Some((k, v)) = entry.split_once('=') {
                // `PWD`, `SHLVL` and `_` describe the helper shell, not the file.
                if !k.is_empty() && !matches!(k, "PWD" | "SHLVL" | "_" | "OLDPWD") {
                    self.vars.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        Ok(true)
    }
}

fn absolute(path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| Path::new(".").join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envvars_exports_are_imported_and_can_use_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("envvars");
        std::fs::write(
            &file,
            "SUFFIX=-x\nexport MPMD_RUN_DIR=/run/mpmd$SUFFIX\nexport MPMD_LOG=\"$MPMD_CONFDIR/logs\"\nNOT_EXPORTED=1\n",
        )
        .unwrap();
        let mut env = Env::from_pairs([("MPMD_CONFDIR", "/etc/mpmd-x")]);
        assert!(env.source_envvars(&file).unwrap());
        assert_eq!(env.var("MPMD_RUN_DIR"), Some("/run/mpmd-x"));
        assert_eq!(env.var("MPMD_LOG"), Some("/etc/mpmd-x/logs"));
        assert_eq!(env.var("NOT_EXPORTED"), None);
        assert_eq!(env.var("MPMD_CONFDIR"), Some("/etc/mpmd-x"));
    }

    #[test]
    fn missing_file_is_skipped_and_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env::default();
        assert!(!env.source_envvars(&dir.path().join("none")).unwrap());
        let file = dir.path().join("envvars");
        std::fs::write(&file, "export A=1\nfalse\n").unwrap();
        // `. file && env`: the file's last status decides, as with a2enmod's reader.
        assert!(matches!(
            env.source_envvars(&file),
            Err(EnvError::Source { .. })
        ));
    }
}
