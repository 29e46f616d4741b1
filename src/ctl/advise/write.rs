//! `advise --write`: puts the recommended block into the enabled `mods-enabled/mpm_X.conf`
//! (through its symlink, to the file in mods-available), keeping a `.bak-TIMESTAMP` copy.
//! Without a Debian tree, the file that holds the current MaxRequestWorkers is used.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::lint::ConfigFacts;
use crate::config::{MpmKind, ServerConfig};

use super::decide::{ifmodule_name, render_block, Recommendation};

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("no mpm_{mpm}.conf in {dir}/mods-enabled or mods-available, and no MPM directive in the config to find its file")]
    NoFile { mpm: &'static str, dir: String },
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("could not write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    pub file: PathBuf,
    pub backup: Option<PathBuf>,
    pub switching: Option<(MpmKind, MpmKind)>,
}

impl Written {
    /// What to tell the admin.
    pub fn message(&self, r: &Recommendation) -> String {
        let mut s = format!(
            "Wrote the {} block to {}",
            r.mpm.name(),
            self.file.display()
        );
        match &self.backup {
            Some(b) => s.push_str(&format!(" (backup: {}).\n", b.display())),
            None => s.push_str(" (new file).\n"),
        }
        if let Some((from, to)) = self.switching {
            s.push_str(&format!(
                "Switch from {}: mpmd-enmod mpm_{} && mpmctl {}\n",
                from.name(),
                to.name(),
                if r.needs_restart {
                    "restart"
                } else {
                    "graceful"
                }
            ));
        } else if r.needs_restart {
            s.push_str("Run `mpmctl restart`: ServerLimit/ThreadLimit changed, which a graceful reload keeps.\n");
        } else {
            s.push_str("Run `mpmctl graceful` to apply it without dropping connections.\n");
        }
        s
    }
}

/// The file to write for `mpm`: mods-enabled/mpm_X.conf (resolved), else mods-available/,
/// else the file of the current MPM directives (an `<IfModule>` for another MPM is inert there
/// until the switch).
pub fn target_file(
    confdir: &Path,
    mpm: MpmKind,
    cfg: &ServerConfig,
    facts: &ConfigFacts,
) -> Option<PathBuf> {
    let name = format!("mpm_{}.conf", mpm.name());
    for root in [confdir, cfg.server_root.as_path()] {
        let enabled = root.join("mods-enabled").join(&name);
        if enabled.exists() {
            return Some(std::fs::canonicalize(&enabled).unwrap_or(enabled));
        }
        let available = root.join("mods-available").join(&name);
        if available.exists() {
            return Some(available);
        }
    }
    [
        "MaxRequestWorkers",
        "ThreadsPerChild",
        "ServerLimit",
        "StartServers",
    ]
    .iter()
    .find_map(|d| facts.get(d))
    .map(|(_, span)| span.file.as_ref().clone())
    .filter(|p| p.is_file())
}

/// Replaces the `<IfModule mpm_X_module>` (or `mod_mpm_X.c`) block of `text` with `block`,
/// or appends `block` when there is none.
pub fn replace_block(text: &str, mpm: MpmKind, block: &str) -> String {
    let ident = ifmodule_name(mpm);
    let source = format!("mod_mpm_{}.c", mpm.name());
    let lines: Vec<&str> = text.lines().collect();
    let opens = |l: &str| {
        let t = l.trim().to_ascii_lowercase();
        t.starts_with("<ifmodule") && (t.contains(ident) || t.contains(&source)) && !t.contains('!')
    };
    if let Some(start) = lines.iter().position(|l| opens(l)) {
        let mut depth = 0;
        for (j, l) in lines.iter().enumerate().skip(start) {
            let t = l.trim().to_ascii_lowercase();
            if t.starts_with("<ifmodule") {
                depth += 1;
            } else if t.starts_with("</ifmodule") {
                depth -= 1;
                if depth == 0 {
                    // Drop our own header comment of an earlier run, if it is just above.
                    let mut from = start;
                    if from > 0 && lines[from - 1].starts_with("# mpmctl advise:") {
                        from -= 1;
                    }
                    let mut out: String = lines[..from].iter().map(|l| format!("{l}\n")).collect();
                    out.push_str(block);
                    for l in &lines[j + 1..] {
                        out.push_str(l);
                        out.push('\n');
                    }
                    return out;
                }
            }
        }
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(block);
    out
}

/// `YYYYmmddHHMMSS` in UTC.
pub fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn apply(
    confdir: &Path,
    cfg: &ServerConfig,
    facts: &ConfigFacts,
    r: &Recommendation,
) -> Result<Written, WriteError> {
    let file = target_file(confdir, r.mpm, cfg, facts).ok_or_else(|| WriteError::NoFile {
        mpm: r.mpm.name(),
        dir: confdir.display().to_string(),
    })?;
    let old = match std::fs::read_to_string(&file) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(WriteError::Read {
                path: file.display().to_string(),
                source,
            })
        }
    };
    let werr = |p: &Path| {
        let path = p.display().to_string();
        move |source| WriteError::Write { path, source }
    };
    let mut backup = None;
    if let Some(old) = &old {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".bak-{}", timestamp(now)));
        let b = PathBuf::from(name);
        std::fs::write(&b, old).map_err(werr(&b))?;
        backup = Some(b);
    }
    let new = replace_block(old.as_deref().unwrap_or(""), r.mpm, &render_block(r));
    // Write beside and rename, so a reload never reads half a file.
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".advise-tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, new).map_err(werr(&tmp))?;
    std::fs::rename(&tmp, &file).map_err(werr(&file))?;
    Ok(Written {
        file,
        backup,
        switching: (r.mpm != cfg.mpm).then_some((cfg.mpm, r.mpm)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_replaced_in_place_or_appended() {
        let text = "# head\n<IfModule mpm_event_module>\n\tMaxRequestWorkers 150\n\t<IfModule x>\n\t</IfModule>\n</IfModule>\n# tail\n";
        let out = replace_block(
            text,
            MpmKind::Event,
            "<IfModule mpm_event_module>\nNEW\n</IfModule>\n",
        );
        assert_eq!(
            out,
            "# head\n<IfModule mpm_event_module>\nNEW\n</IfModule>\n# tail\n"
        );
        let out = replace_block("A 1", MpmKind::Prefork, "B\n");
        assert_eq!(out, "A 1\nB\n");
        let prior =
            "# mpmctl advise: event MPM — x\n<IfModule mpm_event_module>\nOLD\n</IfModule>\n";
        assert_eq!(replace_block(prior, MpmKind::Event, "N\n"), "N\n");
    }

    #[test]
    fn timestamps_are_utc_calendar_time() {
        assert_eq!(timestamp(0), "19700101000000");
        assert_eq!(timestamp(1_795_000_000), "20261118110640");
        assert_eq!(timestamp(951_782_400), "20000229000000");
    }
}
