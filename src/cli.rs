//! Command line: httpd's single-dash flags (spec/signals.md §6), parsed with clap. Errors and
//! `-h` print httpd's usage text and exit 1, as httpd does.

use std::path::PathBuf;

use clap::{error::ContextKind, Arg, ArgAction, Command};

/// The `-k` verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Start,
    Stop,
    Restart,
    Graceful,
    GracefulStop,
}

impl Signal {
    pub fn parse(s: &str) -> Option<Signal> {
        Some(match s {
            "start" => Signal::Start,
            "stop" => Signal::Stop,
            "restart" => Signal::Restart,
            "graceful" => Signal::Graceful,
            "graceful-stop" => Signal::GracefulStop,
            _ => return None,
        })
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cli {
    pub server_root: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    pub pre_directives: Vec<String>,
    pub post_directives: Vec<String>,
    /// `-D` names in order, plus those the flags imply (`-S`, `-M`, `-X`).
    pub defines: Vec<String>,
    pub error_level: Option<String>,
    pub error_file: Option<PathBuf>,
    /// `-t`, `-S`, `-M`: test (or dump) the configuration and exit.
    pub test: bool,
    pub skip_docroot_check: bool,
    pub version: bool,
    pub build_settings: bool,
    pub list_modules: bool,
    pub list_directives: bool,
    /// Hidden `--directives-markdown`: print docs/configuration.md.
    pub directives_markdown: bool,
    pub signal: Option<Signal>,
}

/// A command line httpd would refuse: print `usage` (and the message) and exit 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// `illegal option -- Z`, or empty for `-h`.
    pub message: String,
}

/// httpd's usage text for `argv0`.
pub fn usage(argv0: &str) -> String {
    let pad = " ".repeat(argv0.len());
    format!(
        "Usage: {argv0} [-D name] [-d directory] [-f file]
       {pad} [-C \"directive\"] [-c \"directive\"]
       {pad} [-k start|restart|graceful|graceful-stop|stop]
       {pad} [-v] [-V] [-h] [-l] [-L] [-t] [-T] [-S] [-X]
Options:
  -D name            : define a name for use in <IfDefine name> directives
  -d directory       : specify an alternate initial ServerRoot
  -f file            : specify an alternate ServerConfigFile
  -C \"directive\"     : process directive before reading config files
  -c \"directive\"     : process directive after reading config files
  -e level           : show startup errors of level (see LogLevel)
  -E file            : log startup errors to file
  -v                 : show version number
  -V                 : show compile settings
  -h                 : list available command line options (this page)
  -l                 : list compiled in modules
  -L                 : list available configuration directives
  -t -D DUMP_VHOSTS  : show parsed vhost settings
  -t -D DUMP_RUN_CFG : show parsed run settings
  -S                 : a synonym for -t -D DUMP_VHOSTS -D DUMP_RUN_CFG
  -t -D DUMP_MODULES : show all loaded modules 
  -M                 : a synonym for -t -D DUMP_MODULES
  -t -D DUMP_INCLUDES: show all included configuration files
  -t                 : run syntax check for config files
  -T                 : start without DocumentRoot(s) check
  -X                 : debug mode (only one worker, do not detach)
"
    )
}

fn command() -> Command {
    let flag = |c: char| Arg::new(c.to_string()).short(c).action(ArgAction::SetTrue);
    let value = |c: char| {
        Arg::new(c.to_string())
            .short(c)
            .action(ArgAction::Append)
            .num_args(1)
            .allow_hyphen_values(false)
    };
    Command::new("mpmd")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .no_binary_name(true)
        .arg(value('D'))
        .arg(value('d'))
        .arg(value('f'))
        .arg(value('C'))
        .arg(value('c'))
        .arg(value('e'))
        .arg(value('E'))
        .arg(value('k'))
        .arg(flag('t'))
        .arg(flag('T'))
        .arg(flag('S'))
        .arg(flag('M'))
        .arg(flag('v'))
        .arg(flag('V'))
        .arg(flag('h'))
        .arg(flag('l'))
        .arg(flag('L'))
        .arg(flag('X'))
        .arg(
            Arg::new("directives-markdown")
                .long("directives-markdown")
                .hide(true)
                .action(ArgAction::SetTrue),
        )
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Cli, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let m = command().try_get_matches_from(args).map_err(|e| {
        let bad = e
            .get(ContextKind::InvalidArg)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let opt = bad
            .trim_start_matches('-')
            .chars()
            .next()
            .map(String::from)
            .unwrap_or(bad);
        UsageError {
            message: if opt.is_empty() {
                String::new()
            } else {
                format!("illegal option -- {opt}")
            },
        }
    })?;
    let all = |k: &str| -> Vec<String> {
        m.get_many::<String>(k)
            .map(|v| v.cloned().collect())
            .unwrap_or_default()
    };
    let last = |k: &str| all(k).pop();
    if m.get_flag("h") {
        return Err(UsageError {
            message: String::new(),
        });
    }
    let mut cli = Cli {
        server_root: last("d").map(PathBuf::from),
        config_file: last("f").map(PathBuf::from),
        pre_directives: all("C"),
        post_directives: all("c"),
        defines: all("D"),
        error_level: last("e"),
        error_file: last("E").map(PathBuf::from),
        test: m.get_flag("t"),
        skip_docroot_check: m.get_flag("T"),
        version: m.get_flag("v"),
        build_settings: m.get_flag("V"),
        list_modules: m.get_flag("l"),
        list_directives: m.get_flag("L"),
        directives_markdown: m.get_flag("directives-markdown"),
        signal: None,
    };
    if let Some(level) = &cli.error_level {
        if crate::config::directives::core::parse_level(level).is_none() {
            return Err(UsageError {
                message: String::new(),
            });
        }
    }
    if let Some(k) = last("k") {
        cli.signal = Some(Signal::parse(&k).ok_or(UsageError {
            message: "illegal option -- k".into(),
        })?);
    }
    if m.get_flag("S") {
        cli.test = true;
        cli.defines.push("DUMP_VHOSTS".into());
        cli.defines.push("DUMP_RUN_CFG".into());
    }
    if m.get_flag("M") {
        cli.test = true;
        cli.defines.push("DUMP_MODULES".into());
    }
    if m.get_flag("X") {
        cli.defines.push("DEBUG".into());
    }
    Ok(cli)
}

impl Cli {
    pub fn defined(&self, name: &str) -> bool {
        self.defines.iter().any(|d| d == name)
    }

    /// Dump mode (`-S`, `-M`, `-t -D DUMP_*`): the dumps replace "Syntax OK".
    pub fn dumps(&self) -> bool {
        [
            "DUMP_VHOSTS",
            "DUMP_RUN_CFG",
            "DUMP_MODULES",
            "DUMP_INCLUDES",
        ]
        .iter()
        .any(|d| self.defined(d))
    }

    /// The supervisor's view of the command line.
    pub fn run_options(&self) -> crate::supervisor::RunOptions {
        crate::supervisor::RunOptions {
            foreground: self.defined("FOREGROUND") || self.defined("DEBUG"),
            no_detach: self.defined("NO_DETACH"),
            one_process: self.defined("ONE_PROCESS") || self.defined("DEBUG"),
            config_file: self.config_file.clone().unwrap_or_default(),
            server_root: self.server_root.clone(),
            pre_directives: self.pre_directives.clone(),
            post_directives: self.post_directives.clone(),
            defines: self.defines.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn httpd_style_flags() {
        let c = parse(["-d", "/x", "-f", "a.conf", "-DFOREGROUND", "-D", "B", "-t"]).unwrap();
        assert_eq!(c.server_root, Some(PathBuf::from("/x")));
        assert_eq!(c.config_file, Some(PathBuf::from("a.conf")));
        assert_eq!(c.defines, vec!["FOREGROUND", "B"]);
        assert!(c.test);
        let s = parse(["-S"]).unwrap();
        assert!(s.test && s.defined("DUMP_VHOSTS") && s.defined("DUMP_RUN_CFG"));
        assert_eq!(
            parse(["-k", "graceful-stop"]).unwrap().signal,
            Some(Signal::GracefulStop)
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse(["-k", "bogus"]).unwrap_err().message,
            "illegal option -- k"
        );
        assert_eq!(parse(["-Z"]).unwrap_err().message, "illegal option -- Z");
        assert!(parse(["-h"]).is_err());
        assert!(parse(["-e", "loud"]).is_err());
    }
}
