//! mpmd-query: Debian's a2query for an mpmd tree (which modules, sites, confs and MPM are
//! enabled, and who enabled or disabled them). Unlike a2query it honours MPMD_CONFDIR
//! (and `--confdir DIR`), since `-d` already means "module directory" here.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{confdir_for, DEFAULT_STATEDIR};
use crate::ctl::env::Env;

/// a2query's exit codes.
const E_NOTFOUND: i32 = 1;
const E_OFFBYADMIN: i32 = 32;
const E_OFFBYMAINT: i32 = 33;

/// The Module Magic Number a2query -a prints; mpmd has no binary module API, but scripts
/// that compare it expect Apache 2.4's.
const MMN: &str = "20120211";

struct Query<'a> {
    quiet: bool,
    state: Option<PathBuf>,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

/// Why a query stopped early: the exit code (the message is already printed).
struct Exit(i32);

impl Query<'_> {
    fn output(&mut self, s: &str) {
        if !self.quiet {
            let _ = self.out.write_all(s.as_bytes());
        }
    }
    fn fail(&mut self, reason: &str, code: i32) -> Exit {
        if !self.quiet {
            let _ = self.out.flush();
            let _ = writeln!(self.err, "{reason}");
        }
        Exit(code)
    }

    /// `maint` or `admin` if a marker records that `name` was `what` (enabled/disabled).
    fn history(&self, which: &str, what: &str, name: &str) -> Option<&'static str> {
        let state = self.state.as_ref()?;
        let name = name.strip_suffix(".conf").unwrap_or(name);
        ["maint", "admin"].into_iter().find(|mode| {
            state
                .join(which)
                .join(format!("{what}_by_{mode}"))
                .join(name)
                .exists()
        })
    }

    fn query_state(
        &mut self,
        which: &str,
        pattern: Option<&str>,
        list: &[String],
    ) -> Result<(), Exit> {
        // a2query strips a leading "mod" (not "mod_") and the first .conf/.load.
        let mut pattern = pattern.unwrap_or("").to_owned();
        if let Some(p) = pattern.strip_prefix("mod") {
            pattern = p.to_owned();
        }
        for sfx in [".conf", ".load"] {
            if let Some(i) = pattern.find(sfx) {
                pattern.replace_range(i..i + sfx.len(), "");
                break;
            }
        }
        let candidates: Vec<&String> = if pattern.is_empty() {
            list.iter().collect()
        } else {
            list.iter().filter(|n| **n == pattern).collect()
        };
        for name in &candidates {
            let by = match self.history(which, "enabled", name) {
                Some("admin") => "site administrator",
                Some(_) => "maintainer script",
                None => "unknown",
            };
            self.output(&format!("{name} (enabled by {by})\n"));
        }
        if candidates.is_empty() {
            let mut reason = format!("No {which} matches {pattern}");
            let mut code = E_NOTFOUND;
            match self.history(which, "disabled", &pattern) {
                Some("admin") => {
                    reason.push_str(" (disabled by site administrator)");
                    code = E_OFFBYADMIN;
                }
                Some(_) => {
                    reason.push_str(" (disabled by maintainer script)");
                    code = E_OFFBYMAINT;
                }
                None => {}
            }
            return Err(self.fail(&reason, code));
        }
        Ok(())
    }
}

/// The names in `dir` ending in `sfx`, without it, sorted.
fn enabled_names(dir: &Path, sfx: &str) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(sfx).map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

#[derive(Default)]
struct Opts {
    q: bool,
    m: Option<Option<String>>,
    s: Option<Option<String>>,
    c: Option<Option<String>>,
    a: bool,
    v: bool,
    big_m: bool,
    d: bool,
    h: bool,
}

/// Getopt::Std-style parsing of `m:s:c:havMdq`: clusters, a value either attached or the next
/// argument, parsing stops at the first non-option. Unknown letters are reported and skipped.
fn parse(args: &[String], err: &mut dyn Write) -> (Opts, Option<String>) {
    let mut o = Opts::default();
    let mut confdir = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--confdir") {
            if let Some(v) = v.strip_prefix('=') {
                confdir = Some(v.to_owned());
            } else if v.is_empty() && i < args.len() {
                confdir = Some(args[i].clone());
                i += 1;
            }
            continue;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let chars: Vec<char> = arg[1..].chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            match c {
                'm' | 's' | 'c' => {
                    let rest: String = chars[j..].iter().collect();
                    let value = if !rest.is_empty() {
                        Some(rest)
                    } else if i < args.len() {
                        i += 1;
                        Some(args[i - 1].clone())
                    } else {
                        None
                    };
                    match c {
                        'm' => o.m = Some(value),
                        's' => o.s = Some(value),
                        _ => o.c = Some(value),
                    }
                    j = chars.len();
                }
                'h' => o.h = true,
                'a' => o.a = true,
                'v' => o.v = true,
                'M' => o.big_m = true,
                'd' => o.d = true,
                'q' => o.q = true,
                other => {
                    let _ = writeln!(err, "Unknown option: {other}");
                }
            }
        }
    }
    (o, confdir)
}

const HELP: [(&str, &str); 9] = [
    ("q", "suppress any output. Useful for invocation from scripts"),
    ("m [MODULE]", "checks whether the module MODULE is enabled, lists all enabled modules if no argument was given"),
    ("s [SITE]", "checks whether the site SITE is enabled, lists all sites if no argument was given"),
    ("c [CONF]", "checks whether the configuration CONF is enabled, lists all configurations if no argument was given"),
    ("a", "returns the current Apache 2 module magic version"),
    ("v", "returns the current mpmd version"),
    ("M", "returns the enabled MPM"),
    ("d", "returns the module directory (mods-available; mpmd's modules are built in)"),
    ("h", "display this help"),
];

fn usage(prog: &str) -> String {
    let mut s = format!("Usage: {prog} ");
    for (sw, _) in HELP {
        s.push_str(&format!("-{sw} "));
    }
    s.push('\n');
    for (sw, desc) in HELP {
        let mut first = true;
        let mut line = String::new();
        for word in desc.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > 65 {
                let lead = if first {
                    format!("-{sw}")
                } else {
                    String::new()
                };
                s.push_str(&format!("{lead:<13}\t{line}\n"));
                first = false;
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        let lead = if first {
            format!("-{sw}")
        } else {
            String::new()
        };
        s.push_str(&format!("{lead:<13}\t{line}\n"));
    }
    s
}

/// One run of mpmd-query; returns the exit code.
pub fn query_main(
    prog: &str,
    args: &[String],
    env: &Env,
    suffix: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let (opts, confdir) = parse(args, err);
    let (confdir, default_tree) = confdir_for(confdir.as_deref(), env, suffix);
    let state = env
        .var("MPMD_STATE_DIRECTORY")
        .map(PathBuf::from)
        .or_else(|| default_tree.then(|| PathBuf::from(format!("{DEFAULT_STATEDIR}{suffix}"))));
    let mut q = Query {
        quiet: opts.q,
        state,
        out,
        err,
    };
    match run(&mut q, &opts, &confdir, prog) {
        Ok(()) => 0,
        Err(Exit(code)) => code,
    }
}

fn run(q: &mut Query<'_>, o: &Opts, confdir: &Path, prog: &str) -> Result<(), Exit> {
    // Like a2query, the module list (and the one-MPM check) comes first, whatever was asked.
    let mods_dir = confdir.join("mods-enabled");
    let modules = match enabled_names(&mods_dir, ".load") {
        Ok(m) => m,
        Err(e) => {
            return Err(q.fail(
                &format!("{}: {}", mods_dir.display(), super::io_reason(&e)),
                1,
            ))
        }
    };
    let mpms: Vec<&String> = modules
        .iter()
        .filter(|m| super::MPMS.contains(&m.as_str()))
        .collect();
    if mpms.len() > 1 {
        return Err(q.fail(
            "There is more than one MPM loaded. Do not proceed due to undefined results",
            1,
        ));
    }
    let mpm = mpms
        .first()
        .map(|m| m.trim_start_matches("mpm_").to_owned())
        .unwrap_or_else(|| "invalid".to_owned());

    let mut asked = false;
    if let Some(p) = &o.m {
        asked = true;
        q.query_state("module", p.as_deref(), &modules)?;
    }
    for (opt, which, dir) in [
        (&o.s, "site", "sites-enabled"),
        (&o.c, "conf", "conf-enabled"),
    ] {
        if let Some(p) = opt {
            asked = true;
            let d = confdir.join(dir);
            let list = match enabled_names(&d, ".conf") {
                Ok(l) => l,
                Err(e) => {
                    return Err(q.fail(&format!("{}: {}", d.display(), super::io_reason(&e)), 1))
                }
            };
            q.query_state(which, p.as_deref(), &list)?;
        }
    }
    if o.a {
        asked = true;
        q.output(&format!("{MMN}\n"));
    }
    if o.v {
        asked = true;
        q.output(&format!("{}\n", env!("CARGO_PKG_VERSION")));
    }
    if o.big_m {
        asked = true;
        q.output(&format!("{mpm}\n"));
    }
    if o.d {
        asked = true;
        q.output(&format!("{}/\n", confdir.join("mods-available").display()));
    }
    // `-q` alone counts as a request, as in a2query.
    if o.h || !(asked || o.q) {
        let _ = q.out.write_all(usage(prog).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn getopts_takes_the_next_word_as_the_value() {
        let mut sink = Vec::new();
        let (o, _) = parse(&strings(&["-m", "-q"]), &mut sink);
        assert_eq!(o.m, Some(Some("-q".to_owned())));
        assert!(!o.q);
        let (o, _) = parse(&strings(&["-qmstatus"]), &mut sink);
        assert!(o.q);
        assert_eq!(o.m, Some(Some("status".to_owned())));
        let (o, _) = parse(&strings(&["-M", "-m"]), &mut sink);
        assert!(o.big_m);
        assert_eq!(o.m, Some(None));
        let (_, c) = parse(&strings(&["--confdir=/x", "-M"]), &mut sink);
        assert_eq!(c.as_deref(), Some("/x"));
        assert!(sink.is_empty());
        parse(&strings(&["-z"]), &mut sink);
        assert_eq!(String::from_utf8(sink).unwrap(), "Unknown option: z\n");
    }

    #[test]
    fn usage_lists_every_switch() {
        let u = usage("mpmd-query");
        assert!(u.starts_with("Usage: mpmd-query -q -m [MODULE] -s [SITE]"));
        for (sw, _) in HELP {
            assert!(u.contains(&format!("\n-{sw}")), "{sw} missing in {u}");
        }
    }
}
