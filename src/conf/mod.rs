//! The httpd.conf LANGUAGE: lines, words, sections (`parse`), then read-time expansion
//! (`expand`: Include, Define, `${VAR}`, `<IfModule>` and friends, LoadModule). It knows
//! nothing of what a directive means; `config` does. Every node carries its file and line.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub mod expand;
pub mod parse;

/// Where a node was written: the file that physically holds the line, and its 1-based number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: u32,
}

/// One directive or one `<Section>` of a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The name as written (case kept); sections without the `<` and `>`.
    pub name: String,
    /// The arguments split into words the way `ap_getword_conf` does (quotes removed).
    pub args: Vec<String>,
    /// The argument text as written (after `${}` expansion, trimmed), for RAW_ARGS directives
    /// and for sections, whose argument is the text between the name and the closing `>`.
    pub raw_args: String,
    pub span: Span,
    /// `Some(children)` for a section, `None` for a plain directive.
    pub block: Option<Vec<Node>>,
}

impl Node {
    pub fn is_section(&self) -> bool {
        self.block.is_some()
    }
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// The file name httpd gives the `-C`/`-c` directives; their spans use it, with the line
/// counting the directives (1-based) of each of the two lists.
pub const COMMAND_LINE_FILE: &str = "-c/-C directives";

/// A read-phase error: httpd prints it on one line, with the chain of Include sites in front:
/// `Syntax error on line 2 of /a.conf: Syntax error on line 5 of /b.conf: <msg>`.
/// A span in [`COMMAND_LINE_FILE`] prints as `Syntax error in -C/-c directive: `.
/// `message` is the raw text (it may hold a newline: several `… was not closed.` lines);
/// `Display` gives the escaped line httpd's error log prints.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfError {
    /// Outermost first: the Include lines that led to the file with the error, then the error's
    /// own line. Empty when the error has no line (e.g. the main file cannot be opened).
    pub chain: Vec<Span>,
    pub message: String,
}

impl fmt::Display for ConfError {
    /// The line as httpd's error log shows it: see [`escape_errorlog`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        for span in &self.chain {
            if span.file.as_os_str() == COMMAND_LINE_FILE {
                line.push_str("Syntax error in -C/-c directive: ");
            } else {
                line.push_str(&format!(
                    "Syntax error on line {} of {}: ",
                    span.line,
                    span.file.display()
                ));
            }
        }
        line.push_str(&self.message);
        f.write_str(&escape_errorlog(&line))
    }
}

/// httpd's `ap_escape_errorlog_item`, which its error log applies to every message: a
/// backslash is doubled; BS, LF, CR, TAB and VT become `\b \n \r \t \v`; other control
/// bytes and all non-ASCII bytes become `\xNN`; quotes stay as they are.
pub fn escape_errorlog(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\x08' => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\x0b' => out.push_str("\\v"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// What `expand` needs to know about the built-in modules (implemented by `config`'s registry).
pub trait ModuleCatalog {
    /// `LoadModule <identifier> …`: the built-in module the identifier (`ssl_module`) names.
    fn module_by_identifier(&self, identifier: &str) -> Option<&'static str>;
    /// `<IfModule name>`: an identifier (`ssl_module`) or a source file name (`mod_ssl.c`).
    fn module_by_any_name(&self, name: &str) -> Option<&'static str>;
    /// The module that registers a directive (case-insensitive), for `<IfDirective>`.
    fn directive_module(&self, directive: &str) -> Option<&'static str>;
    /// Every module that registers a directive: the MPM directives are declared by each MPM,
    /// so `<IfDirective StartServers>` must look at all of them.
    fn directive_modules(&self, directive: &str) -> Vec<&'static str> {
        self.directive_module(directive).into_iter().collect()
    }
    /// The module that registers a section (name without `<`), for `<IfSection>`.
    fn section_module(&self, section: &str) -> Option<&'static str>;
    /// Modules compiled in and always loaded (core, so, log_config, version, unixd, …).
    fn static_modules(&self) -> &[&'static str];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: &str, line: u32) -> Span {
        Span {
            file: Arc::new(PathBuf::from(file)),
            line,
        }
    }

    #[test]
    fn display_chains_the_include_sites() {
        let e = ConfError {
            chain: vec![span("/a.conf", 2), span("/b.conf", 5)],
            message: "Expected </Directory> but saw </Location>".into(),
        };
        assert_eq!(
            e.to_string(),
            "Syntax error on line 2 of /a.conf: Syntax error on line 5 of /b.conf: Expected </Directory> but saw </Location>"
        );
    }

    #[test]
    fn display_names_command_line_directives_like_httpd() {
        let e = ConfError {
            chain: vec![span(COMMAND_LINE_FILE, 1)],
            message: "m".into(),
        };
        assert_eq!(e.to_string(), "Syntax error in -C/-c directive: m");
    }

    /// As apache2 printed `Include "/tmp/cx/a\\b\"q<TAB>t"` and a UTF-8 BOM.
    #[test]
    fn display_escapes_like_the_error_log() {
        let e = ConfError {
            chain: vec![span("/t.conf", 1)],
            message:
                "Could not open configuration file /tmp/cx/a\\b\"q\tt: No such file or directory"
                    .into(),
        };
        assert_eq!(
            e.to_string(),
            r#"Syntax error on line 1 of /t.conf: Could not open configuration file /tmp/cx/a\\b"q\tt: No such file or directory"#
        );
        assert_eq!(
            escape_errorlog("\u{feff}Bogus\n\r\x0b\x08\x01"),
            r"\xef\xbb\xbfBogus\n\r\v\b\x01"
        );
    }
}
