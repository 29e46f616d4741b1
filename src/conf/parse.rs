//! Lines, words and sections of one config file, read the way httpd reads them.
//!
//! # The grammar we support (httpd 2.4 `ap_cfg_getline`, `ap_getword_conf`, `ap_build_config`)
//!
//! * **Physical lines** end at LF. A line whose last character before the LF (or CR LF) is a
//!   backslash continues on the next line: the backslash (and the line end) is dropped and the
//!   next line is appended as is, leading blanks included. A blank after the backslash stops
//!   it being a continuation; so does end of file without a final LF.
//! * **Line numbers** count physical lines; a node carries the number of the **last** physical
//!   line of its (joined) line, as httpd does.
//! * **Trimming**: leading and trailing blanks (C `isspace`: space, TAB, LF, VT, FF, CR) of the
//!   joined line are removed. Empty lines are skipped.
//! * **Comments**: a line is a comment only if its first non-blank character is `#`. A `#`
//!   later in a line is an ordinary word.
//! * **Line length**: at most 16 MiB after joining (8190 bytes for `.htaccess`); longer is
//!   `Error reading <file> at line <n>: Line too long`.
//! * **Variables**: `${NAME}` is replaced on the whole line **before** it is split into words,
//!   by a Define'd value or else the environment. Unknown names stay as written and give the
//!   warning `AH00111: Config variable ${NAME} is not defined` (none if NAME contains `:`). A
//!   `$` not followed by `{…}` is literal. The result is not expanded again.
//! * **Words** (`ap_getword_conf`): separated by blanks. A word that starts with `"` or `'`
//!   runs to the same quote (or to the end of the line if there is none); inside it `\"` (the
//!   same quote) and `\\` are unescaped. A closing quote ends the word even with no blank
//!   after it (`"ab"cd` is two words). Outside quotes only `\\` becomes `\`; quotes in the
//!   middle of a word are literal.
//! * **Directives**: the first word is the name (case kept, a trailing `>` cut off; matched
//!   case-insensitively by the config layer); the other words are `args`; `raw_args` is the
//!   text after the name.
//! * **Sections**: a first word starting with `<` opens a section named without the `<` (and
//!   without a trailing `>`). Its `raw_args` are the text up to the **last** `>` of the line
//!   (text after it is ignored); no `>` at all is `<Name> directive missing closing '>'`
//!   (the section still opens; httpd reports this when the section's handler runs, after
//!   the whole read, so any read error wins over it; we then report it as a read error, with
//!   the name as written). A bare `<Name` or `<Name>` has empty arguments.
//!   Empty arguments are accepted here (`<Else>`, `<RequireAll>`); the directive layer checks
//!   them. A first word starting with `</` closes the innermost open section; it must be
//!   exactly `</Name>` with Name matching case-insensitively, else one of
//!   `</Name> without matching <Name> section`, `</Name> directive missing closing '>'`,
//!   `Expected </Open> but saw </Name>`. A section still open at the end of its file is
//!   `<file>:<line>: <Name> was not closed.` (one such line per open section, innermost
//!   first), reported on the outermost one. Sections never span files.
//! * **Read-time directives** (`Include`, `Define`, `<IfModule>`, …) are not handled here: a
//!   [`ReadTime`] hook runs them as they are read (see `expand`). [`parse`] uses none.

#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use nom::bytes::complete::{take_till, take_till1, take_until, take_while};
use nom::character::complete::char as nchar;
use nom::combinator::opt;
use nom::sequence::{delimited, preceded};
use nom::IResult;

use super::{ConfError, Node, Span};

/// httpd's `VARBUF_MAX_LEN`: the longest joined line of a server config file.
pub const MAX_LINE_LEN: usize = 16 * 1024 * 1024;
/// httpd's `HUGE_STRING_LEN`: the longest line of an `.htaccess` file.
pub const MAX_HTACCESS_LINE_LEN: usize = 8190;

/// C `isspace` in the "C" locale (note: includes VT, unlike `char::is_ascii_whitespace`).
pub fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn blanks(input: &str) -> IResult<&str, &str> {
    take_while(is_c_space)(input)
}

/// Trims C blanks on both ends.
pub fn trim_c(s: &str) -> &str {
    s.trim_matches(is_c_space)
}

// ---------------------------------------------------------------------------------------
// Physical and logical lines
// ---------------------------------------------------------------------------------------

/// One physical line: its text without the LF, and whether an LF ended it.
fn physical_line(input: &str) -> IResult<&str, (&str, bool)> {
    let (rest, text) = take_till(|c| c == '\n')(input)?;
    let (rest, lf) = opt(nchar('\n'))(rest)?;
    Ok((rest, (text, lf.is_some())))
}

/// Reads joined, trimmed logical lines out of a file's text.
pub struct LineReader<'a> {
    rest: &'a str,
    line: u32,
    max_len: usize,
    name: Arc<PathBuf>,
}

/// A logical line and the number of its last physical line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub number: u32,
}

impl<'a> LineReader<'a> {
    pub fn new(text: &'a str, name: Arc<PathBuf>, max_len: usize) -> Self {
        LineReader {
            rest: text,
            line: 0,
            max_len,
            name,
        }
    }

    /// The file the lines come from.
    pub fn name(&self) -> &Arc<PathBuf> {
        &self.name
    }

    /// The number of the last physical line read.
    pub fn line_number(&self) -> u32 {
        self.line
    }

    /// The next logical line (blank and comment lines included, trimmed), `None` at the end,
    /// or the "Line too long" error (which carries no directive, hence no span).
    pub fn next_line(&mut self) -> Option<Result<Line, ConfError>> {
        let mut joined = String::new();
        let mut started = false;
        loop {
            // httpd counts a line before it tries to read it, even at end of file.
            self.line = self.line.saturating_add(1);
            if self.rest.is_empty() {
                if started {
                    break;
                }
                return None;
            }
            started = true;
            let (rest, (text, had_lf)) = match physical_line(self.rest) {
                Ok(v) => v,
                Err(_) => return None,
            };
            self.rest = rest;
            // httpd reads lines as C strings: a NUL ends the line, and what follows it up to
            // the LF is lost (so the line cannot be a continuation either).
            let (text, had_lf) = match text.find('\0') {
                Some(nul) => (&text[..nul], false),
                None => (text, had_lf),
            };
            let body = if had_lf {
                text.strip_suffix('\r').unwrap_or(text)
            } else {
                text
            };
            if had_lf && body.ends_with('\\') {
                joined.push_str(&body[..body.len() - 1]);
                if joined.len() > self.max_len {
                    return Some(Err(self.too_long()));
                }
                continue;
            }
            // Not a continuation: keep the line as read (a CR before the LF is trimmed below).
            joined.push_str(text);
            break;
        }
        if joined.len() > self.max_len {
            return Some(Err(self.too_long()));
        }
        let text = trim_c(&joined).to_string();
        Some(Ok(Line {
            text,
            number: self.line,
        }))
    }

    fn too_long(&mut self) -> ConfError {
        // Give up on the rest of the file: httpd stops reading it too.
        self.rest = "";
        ConfError {
            chain: Vec::new(),
            message: format!(
                "Error reading {} at line {}: Line too long",
                self.name.display(),
                self.line
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// ${VAR}
// ---------------------------------------------------------------------------------------

/// `${name}`: the name is everything up to the first `}`.
fn var_ref(input: &str) -> IResult<&str, &str> {
    delimited(nom::bytes::complete::tag("${"), take_until("}"), nchar('}'))(input)
}

/// Replaces every `${NAME}` of `line` once, in one left-to-right pass (`ap_resolve_env`).
/// `lookup` gives a value or `None`; for an unknown name without `:`, `warn` receives the
/// AH00111 message and the reference stays as written.
pub fn substitute_vars(
    line: &str,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
    warn: &mut dyn FnMut(String),
) -> String {
    if !line.contains('$') {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        match var_ref(rest) {
            Ok((after, name)) => {
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        if !name.contains(':') {
                            warn(format!(
                                "AH00111: Config variable ${{{name}}} is not defined"
                            ));
                        }
                        out.push_str(&rest[..rest.len() - after.len()]);
                    }
                }
                rest = after;
            }
            Err(_) => {
                out.push('$');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------

/// Removes the escapes `ap_getword_conf` honours: `\\` always, `\<quote>` inside quotes.
fn unescape(s: &str, quote: Option<char>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n == '\\' || Some(n) == quote {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// The body of a quoted word, up to (not including) the closing quote or the end.
fn quoted_body(quote: char) -> impl Fn(&str) -> IResult<&str, &str> {
    move |input: &str| {
        let mut iter = input.char_indices();
        while let Some((i, c)) = iter.next() {
            if c == quote {
                return Ok((&input[i..], &input[..i]));
            }
            if c == '\\' {
                let mut ahead = iter.clone();
                if let Some((_, n)) = ahead.next() {
                    if n == quote || n == '\\' {
                        iter = ahead;
                    }
                }
            }
        }
        Ok(("", input))
    }
}

/// One word as `ap_getword_conf` takes it (leading blanks skipped, trailing blanks eaten).
/// Returns `None` when only blanks are left.
fn conf_word(input: &str) -> IResult<&str, Option<String>> {
    let (input, _) = blanks(input)?;
    let Some(first) = input.chars().next() else {
        return Ok((input, None));
    };
    let (rest, word) = if first == '"' || first == '\'' {
        let (rest, body) = preceded(nchar(first), quoted_body(first))(input)?;
        let (rest, _) = opt(nchar(first))(rest)?;
        (rest, unescape(body, Some(first)))
    } else {
        let (rest, body) = take_till1(is_c_space)(input)?;
        (rest, unescape(body, None))
    };
    let (rest, _) = blanks(rest)?;
    Ok((rest, Some(word)))
}

/// Takes the next word off `line` (`ap_getword_conf`); `""` when nothing is left.
pub fn getword_conf(line: &mut &str) -> String {
    match conf_word(line) {
        Ok((rest, word)) => {
            *line = rest;
            word.unwrap_or_default()
        }
        Err(_) => {
            *line = "";
            String::new()
        }
    }
}

/// Splits a whole argument string into words.
pub fn split_words(mut s: &str) -> Vec<String> {
    let mut words = Vec::new();
    loop {
        let trimmed = s.trim_start_matches(is_c_space);
        if trimmed.is_empty() {
            break;
        }
        s = trimmed;
        words.push(getword_conf(&mut s));
    }
    words
}

// ---------------------------------------------------------------------------------------
// Classifying a line
// ---------------------------------------------------------------------------------------

/// A section's argument text up to its last `>` (trimmed), or `None` if there is no `>`.
pub fn section_args(args_text: &str) -> Option<&str> {
    args_text.rfind('>').map(|pos| trim_c(&args_text[..pos]))
}

/// What one (expanded, trimmed, non-comment) line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `Name args…`
    Directive { name: String, raw_args: String },
    /// `<Name args…>`. `args_text` is what httpd hands the section's handler: the text
    /// after the name (with its `>` and anything after it), or `>` when there is none.
    Open { name: String, args_text: String },
    /// `</…`: the first word as written (e.g. `</Directory>`).
    Close { word: String },
}

/// Splits a line into its kind, following `ap_build_config_sub`.
pub fn classify(line: &str) -> Option<LineKind> {
    let mut rest = line;
    let word = getword_conf(&mut rest);
    if word.is_empty() {
        // httpd skips a line whose first word is empty (e.g. `"" x`).
        return None;
    }
    if word.starts_with("</") {
        return Some(LineKind::Close { word });
    }
    if let Some(name) = word.strip_prefix('<') {
        let name = name.strip_suffix('>').unwrap_or(name).to_string();
        // httpd gives a bare `<Name` (no arguments at all) the argument text `>`.
        let args_text = if rest.is_empty() {
            ">".to_string()
        } else {
            rest.to_string()
        };
        return Some(LineKind::Open { name, args_text });
    }
    // httpd cuts a trailing `>` off any first word, so `Include> x` is an Include.
    let name = match word.strip_suffix('>') {
        Some(n) => n.to_string(),
        None => word,
    };
    Some(LineKind::Directive {
        name,
        raw_args: rest.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Building the tree
// ---------------------------------------------------------------------------------------

/// The read-time side of reading: variables, warnings and directives run as they are read.
pub trait ReadTime {
    /// The value of `${name}`, if any.
    fn lookup(&mut self, name: &str) -> Option<String>;
    /// A warning to show (already in httpd's words, with its AH number).
    fn warn(&mut self, message: String);
    /// A section opened without its `>`. httpd finds this only when it runs the section,
    /// after the whole read; so the reader keeps going (the section is opened as usual) and
    /// the hook reports the first such error once everything has been read without another.
    fn missing_gt(&mut self, error: ConfError);
    /// Runs `node` now if it is a read-time directive or section; `None` if it is not one.
    /// `args_text` is the text after the name as httpd's handler sees it (for a section with
    /// its `>`; see [`LineKind::Open`]). A section's body is still unread:
    /// the hook reads it with [`Source::build_body`] or skips it with [`Source::soak`]. The
    /// returned nodes take the place of `node`. Errors are returned as they are: the hook
    /// puts `node.span` in front where httpd would (see `expand`).
    fn run(
        &mut self,
        node: &Node,
        args_text: &str,
        src: &mut Source<'_>,
    ) -> Option<Result<Vec<Node>, ConfError>>;
}

/// A hook that runs nothing: plain parsing.
struct NoReadTime<'f> {
    lookup: &'f mut dyn FnMut(&str) -> Option<String>,
    warnings: Vec<String>,
    missing_gt: Option<ConfError>,
}

impl ReadTime for NoReadTime<'_> {
    fn lookup(&mut self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }
    fn missing_gt(&mut self, error: ConfError) {
        self.missing_gt.get_or_insert(error);
    }
    fn run(
        &mut self,
        _: &Node,
        _: &str,
        _: &mut Source<'_>,
    ) -> Option<Result<Vec<Node>, ConfError>> {
        None
    }
}

/// The lines of one file being read, with its name.
pub struct Source<'a> {
    lines: LineReader<'a>,
}

/// The open sections while building; each holds its node (children in `block`).
struct Stack {
    open: Vec<Node>,
    top: Vec<Node>,
}

impl Stack {
    fn push_nodes(&mut self, nodes: Vec<Node>) {
        match self.open.last_mut() {
            Some(parent) => parent.block.get_or_insert_with(Vec::new).extend(nodes),
            None => self.top.extend(nodes),
        }
    }
    /// Closes every open section as if its end tag had been seen (If* bodies cut by EOF).
    fn fold(mut self) -> Vec<Node> {
        while let Some(node) = self.open.pop() {
            self.push_nodes(vec![node]);
        }
        self.top
    }
}

/// An error of the directive at `span`.
pub fn err_at(span: &Span, message: String) -> ConfError {
    ConfError {
        chain: vec![span.clone()],
        message,
    }
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, file: Arc<PathBuf>, max_len: usize) -> Self {
        Source {
            lines: LineReader::new(text, file, max_len),
        }
    }

    pub fn file(&self) -> &Arc<PathBuf> {
        self.lines.name()
    }

    /// Reads the whole file into a tree (`ap_build_config`).
    pub fn build_file(&mut self, hook: &mut dyn ReadTime) -> Result<Vec<Node>, ConfError> {
        let mut stack = Stack {
            open: Vec::new(),
            top: Vec::new(),
        };
        while let Some(line) = self.lines.next_line() {
            let line = line?;
            self.build_line(hook, &line, &mut stack)?;
        }
        if let Some(outer) = stack.open.first() {
            let message = stack
                .open
                .iter()
                .rev()
                .map(|n| {
                    format!(
                        "{}:{}: <{}> was not closed.",
                        n.span.file.display(),
                        n.span.line,
                        n.name
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(err_at(&outer.span, message));
        }
        Ok(stack.top)
    }

    /// Reads the body of a true read-time section up to its `</name>` line
    /// (`ap_build_cont_config`). The end line is compared before `${}` expansion; end of
    /// file ends the body silently, as in httpd.
    pub fn build_body(
        &mut self,
        hook: &mut dyn ReadTime,
        name: &str,
    ) -> Result<Vec<Node>, ConfError> {
        let mut stack = Stack {
            open: Vec::new(),
            top: Vec::new(),
        };
        let end = format!("</{name}>");
        while let Some(line) = self.lines.next_line() {
            let line = line?;
            if stack.open.is_empty() && line.text.eq_ignore_ascii_case(&end) {
                return Ok(stack.top);
            }
            self.build_line(hook, &line, &mut stack)?;
        }
        Ok(stack.fold())
    }

    /// Skips the body of a false read-time section (`ap_soak_end_container`): nothing is
    /// expanded or checked except that nested sections balance. The error has no span of
    /// its own: httpd blames the section that started the skip.
    pub fn soak(&mut self, name: &str) -> Result<(), ConfError> {
        while let Some(line) = self.lines.next_line() {
            let line = line?;
            let mut rest = line.text.as_str();
            let word = getword_conf(&mut rest);
            if let Some(close) = word.strip_prefix("</") {
                // httpd drops the last character whatever it is.
                let mut seen = close.to_string();
                seen.pop();
                if !seen.eq_ignore_ascii_case(name) {
                    return Err(ConfError {
                        chain: Vec::new(),
                        message: format!("Expected </{name}> but saw </{seen}>"),
                    });
                }
                return Ok(());
            }
            if let Some(open) = word.strip_prefix('<') {
                let nested = match open.strip_suffix('>') {
                    Some(n) if rest.is_empty() => n,
                    _ => open,
                };
                self.soak(nested)?;
            }
        }
        Err(ConfError {
            chain: Vec::new(),
            message: format!("Expected </{name}> before end of configuration"),
        })
    }

    fn build_line(
        &mut self,
        hook: &mut dyn ReadTime,
        line: &Line,
        stack: &mut Stack,
    ) -> Result<(), ConfError> {
        if line.text.is_empty() || line.text.starts_with('#') {
            return Ok(());
        }
        let text = {
            let mut warnings = Vec::new();
            let text = substitute_vars(&line.text, &mut |n| hook.lookup(n), &mut |w| {
                warnings.push(w)
            });
            for w in warnings {
                hook.warn(w);
            }
            text
        };
        let span = Span {
            file: self.file().clone(),
            line: line.number,
        };
        let Some(kind) = classify(&text) else {
            return Ok(());
        };
        match kind {
            LineKind::Directive { name, raw_args } => {
                let node = Node {
                    args: split_words(&raw_args),
                    name,
                    raw_args,
                    span,
                    block: None,
                };
                match hook.run(&node, &node.raw_args, self) {
                    Some(result) => stack.push_nodes(result?),
                    None => stack.push_nodes(vec![node]),
                }
            }
            LineKind::Open { name, args_text } => {
                let closed = section_args(&args_text);
                let raw_args = closed.unwrap_or(&args_text).to_string();
                let node = Node {
                    args: split_words(&raw_args),
                    name,
                    raw_args,
                    span,
                    block: Some(Vec::new()),
                };
                if let Some(result) = hook.run(&node, &args_text, self) {
                    stack.push_nodes(result?);
                    return Ok(());
                }
                if closed.is_none() {
                    hook.missing_gt(err_at(
                        &node.span,
                        format!("<{}> directive missing closing '>'", node.name),
                    ));
                }
                stack.open.push(node);
            }
            LineKind::Close { word } => {
                let Some(open) = stack.open.last() else {
                    return Err(err_at(
                        &span,
                        format!("{word} without matching <{} section", &word[2..]),
                    ));
                };
                let Some(seen) = word.strip_suffix('>') else {
                    return Err(err_at(
                        &span,
                        format!("{word}> directive missing closing '>'"),
                    ));
                };
                if !seen[2..].eq_ignore_ascii_case(&open.name) {
                    return Err(err_at(
                        &span,
                        format!("Expected </{}> but saw {seen}>", open.name),
                    ));
                }
                let done = stack.open.pop().expect("checked above");
                stack.push_nodes(vec![done]);
            }
        }
        Ok(())
    }
}

/// What [`parse`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub nodes: Vec<Node>,
    /// AH00111 warnings, in file order.
    pub warnings: Vec<String>,
}

/// Parses one file's text into a tree, with `${}` taken from `lookup` and no read-time
/// directives run (Include, Define, `<IfModule>` stay plain nodes). `file` names the file in
/// spans and messages.
pub fn parse(
    text: &str,
    file: impl Into<PathBuf>,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<Parsed, ConfError> {
    parse_limited(text, file, lookup, MAX_LINE_LEN)
}

/// [`parse`] with a line-length limit (use [`MAX_HTACCESS_LINE_LEN`] for `.htaccess`).
pub fn parse_limited(
    text: &str,
    file: impl Into<PathBuf>,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
    max_len: usize,
) -> Result<Parsed, ConfError> {
    let mut hook = NoReadTime {
        lookup,
        warnings: Vec::new(),
        missing_gt: None,
    };
    let mut src = Source::new(text, Arc::new(file.into()), max_len);
    let nodes = src.build_file(&mut hook)?;
    if let Some(e) = hook.missing_gt {
        return Err(e);
    }
    Ok(Parsed {
        nodes,
        warnings: hook.warnings,
    })
}

/// Bytes to text for parsing: invalid UTF-8 is replaced (httpd would pass the bytes on).
pub fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_vars(_: &str) -> Option<String> {
        None
    }

    fn parse_ok(text: &str) -> Vec<Node> {
        parse(text, "/t.conf", &mut no_vars).expect("parses").nodes
    }

    fn parse_err(text: &str) -> String {
        parse(text, "/t.conf", &mut no_vars)
            .expect_err("fails")
            .to_string()
    }

    fn lines(text: &str) -> Vec<(String, u32)> {
        let mut r = LineReader::new(text, Arc::new(PathBuf::from("/t")), MAX_LINE_LEN);
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            let l = l.unwrap();
            out.push((l.text, l.number));
        }
        out
    }

    #[test]
    fn continuation_joins_lines_and_keeps_the_next_lines_blanks() {
        assert_eq!(
            lines("a \\\n   b\nc\n"),
            [("a    b".to_string(), 2), ("c".into(), 3)]
        );
    }

    #[test]
    fn continuation_with_crlf_and_blank_after_backslash() {
        assert_eq!(lines("a\\\r\nb\r\n"), [("ab".to_string(), 2)]);
        // A blank after the backslash: no continuation.
        assert_eq!(
            lines("a\\ \nb\n"),
            [("a\\".to_string(), 1), ("b".into(), 2)]
        );
    }

    #[test]
    fn continuation_at_end_of_file_counts_one_more_line() {
        // httpd counts the read attempt that meets end of file.
        assert_eq!(
            lines("x\nBogus \\\n"),
            [("x".to_string(), 1), ("Bogus".into(), 3)]
        );
        // No LF after the backslash: not a continuation.
        assert_eq!(lines("Bogus \\"), [("Bogus \\".to_string(), 1)]);
    }

    #[test]
    fn a_nul_byte_ends_its_line() {
        assert_eq!(
            lines("A x\0junk\\\nB\n"),
            [("A x".to_string(), 1), ("B".into(), 2)]
        );
    }

    #[test]
    fn node_line_is_the_last_physical_line() {
        let nodes = parse_ok("\nServerAdmin \\\n  a@b\nX\n");
        assert_eq!(nodes[0].span.line, 3);
        assert_eq!(nodes[0].args, ["a@b"]);
        assert_eq!(nodes[1].span.line, 4);
    }

    #[test]
    fn trimming_blank_lines_and_comments() {
        let nodes = parse_ok("  \t\n   # comment\n\x0b KeepAlive On # not a comment \r\n#x\n");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "KeepAlive");
        assert_eq!(nodes[0].args, ["On", "#", "not", "a", "comment"]);
        assert_eq!(nodes[0].raw_args, "On # not a comment");
        assert_eq!(nodes[0].span.line, 3);
    }

    #[test]
    fn words_follow_getword_conf() {
        let cases: &[(&str, &[&str])] = &[
            ("a b\tc", &["a", "b", "c"]),
            ("\"a b\" 'c d'", &["a b", "c d"]),
            (r#""a\"b""#, &["a\"b"]),
            (r"'a\'b'", &["a'b"]),
            (r#""a\'b""#, &[r"a\'b"]),
            (r"a\\b", &[r"a\b"]),
            (r#""a\\b""#, &[r"a\b"]),
            (r#"a\"b"#, &[r#"a\"b"#]),
            (r#"a"b"#, &[r#"a"b"#]),
            (r#""ab"cd"#, &["ab", "cd"]),
            ("\"unterminated here", &["unterminated here"]),
            ("\"\" x", &["", "x"]),
            (r"a\nb", &[r"a\nb"]),
            (r"'a\\'", &[r"a\"]),
        ];
        for (input, want) in cases {
            assert_eq!(split_words(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn variables_expand_before_splitting() {
        let mut lookup = |n: &str| match n {
            "X" => Some("Bogus two".to_string()),
            "Q" => Some("\"a b\"".to_string()),
            _ => None,
        };
        let p = parse(
            "${X}\nD ${Q} $ ${ ${NOPE} ${a:b} ${X\n",
            "/t.conf",
            &mut lookup,
        )
        .unwrap();
        assert_eq!(p.nodes[0].name, "Bogus");
        assert_eq!(p.nodes[0].args, ["two"]);
        assert_eq!(
            p.nodes[1].args,
            ["a b", "$", "${", "${NOPE}", "${a:b}", "${X"]
        );
        assert_eq!(
            p.warnings,
            ["AH00111: Config variable ${ ${NOPE} is not defined"]
        );
    }

    #[test]
    fn substitution_is_single_pass() {
        let mut lookup = |n: &str| (n == "A").then(|| "${A}".to_string());
        let mut warn = |w: String| panic!("unexpected warning {w}");
        assert_eq!(substitute_vars("x${A}y", &mut lookup, &mut warn), "x${A}y");
    }

    #[test]
    fn sections_nest_and_close_case_insensitively() {
        let nodes = parse_ok(
            "<Directory \"/a b\">\n  <Files x>\n    Require all denied\n  </files>\n</DIRECTORY>\n",
        );
        assert_eq!(nodes.len(), 1);
        let d = &nodes[0];
        assert_eq!(
            (d.name.as_str(), d.raw_args.as_str()),
            ("Directory", "\"/a b\"")
        );
        assert_eq!(d.args, ["/a b"]);
        assert_eq!(d.children()[0].name, "Files");
        assert_eq!(d.children()[0].children()[0].args, ["all", "denied"]);
    }

    #[test]
    fn section_arguments_end_at_the_last_gt() {
        let nodes = parse_ok("<Directory /x> trailing\n</Directory>\n<Else>\n</Else>\n<RequireAll>\n</RequireAll>\n<If \"%{A} > 1\">\n</If>\n");
        assert_eq!(nodes[0].raw_args, "/x");
        assert_eq!(nodes[1].name, "Else");
        assert!(nodes[1].raw_args.is_empty() && nodes[1].args.is_empty());
        assert_eq!(nodes[2].name, "RequireAll");
        assert_eq!(nodes[3].raw_args, "\"%{A} > 1\"");
        assert_eq!(nodes[3].args, ["%{A} > 1"]);
    }

    #[test]
    fn a_lone_angle_bracket_opens_a_nameless_section() {
        assert_eq!(parse_ok("<\n</>\n")[0].name, "");
        assert_eq!(
            parse_err("<Directory /x>\n<\n</Directory>\n"),
            "Syntax error on line 3 of /t.conf: Expected </> but saw </Directory>"
        );
    }

    #[test]
    fn malformed_sections_give_httpds_messages() {
        let cases: &[(&str, &str)] = &[
            ("X\n<Directory /x>\nRequire all granted\n", "Syntax error on line 2 of /t.conf: /t.conf:2: <Directory> was not closed."),
            (
                "<Directory /x>\n<Files a>\n",
                "Syntax error on line 1 of /t.conf: /t.conf:2: <Files> was not closed.\\n/t.conf:1: <Directory> was not closed.",
            ),
            ("\n</Directory>\n", "Syntax error on line 2 of /t.conf: </Directory> without matching <Directory> section"),
            ("</Directory\n", "Syntax error on line 1 of /t.conf: </Directory without matching <Directory section"),
            ("<Directory /x>\n</Location>\n", "Syntax error on line 2 of /t.conf: Expected </Directory> but saw </Location>"),
            ("<Directory /x>\n<Files a>\n</Directory>\n", "Syntax error on line 3 of /t.conf: Expected </Files> but saw </Directory>"),
            ("<Directory /x>\n</Directory foo>\n", "Syntax error on line 2 of /t.conf: </Directory> directive missing closing '>'"),
            ("<Directory /x>\n</directory\n", "Syntax error on line 2 of /t.conf: </directory> directive missing closing '>'"),
            ("<Directory /x>\n</>\n", "Syntax error on line 2 of /t.conf: Expected </Directory> but saw </>"),
            ("\n<Directory /x\n</Directory>\n", "Syntax error on line 2 of /t.conf: <Directory> directive missing closing '>'"),
            ("<Directory /x>\\\n\n", "Syntax error on line 2 of /t.conf: /t.conf:2: <Directory> was not closed."),
        ];
        for (text, want) in cases {
            assert_eq!(parse_err(text), *want, "config {text:?}");
        }
    }

    #[test]
    fn line_too_long_is_reported_with_its_line() {
        let long = format!("A\nB {}\n", "x".repeat(MAX_HTACCESS_LINE_LEN));
        let e = parse_limited(&long, "/h", &mut no_vars, MAX_HTACCESS_LINE_LEN).unwrap_err();
        assert!(e.chain.is_empty());
        assert_eq!(e.message, "Error reading /h at line 2: Line too long");
        assert!(parse_limited(&long, "/h", &mut no_vars, MAX_LINE_LEN).is_ok());
    }

    #[test]
    fn read_time_directives_stay_plain_nodes_without_a_hook() {
        let nodes = parse_ok("Include x.conf\n<IfModule foo>\nA\n</IfModule>\n");
        assert_eq!(nodes[0].name, "Include");
        assert_eq!(nodes[1].name, "IfModule");
        assert_eq!(nodes[1].children()[0].name, "A");
    }

    #[test]
    fn a_trailing_gt_is_cut_off_any_directive_name() {
        let nodes = parse_ok("ServerAdmin> a@b\n");
        assert_eq!(
            (nodes[0].name.as_str(), nodes[0].raw_args.as_str()),
            ("ServerAdmin", "a@b")
        );
    }

    #[test]
    fn empty_first_word_skips_the_line() {
        assert!(parse_ok("\"\" x\n").is_empty());
    }

    /// Every seed of the fuzz corpus parses without panicking.
    #[test]
    fn fuzz_corpus_never_panics() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/conf_parse");
        let entries = std::fs::read_dir(&dir).expect("fuzz corpus present");
        let mut seen = 0;
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let text = text_of(&bytes);
            let _ = parse(&text, &path, &mut |n| (n == "X").then(|| "y".to_string()));
            let _ = parse_limited(&text, &path, &mut no_vars, MAX_HTACCESS_LINE_LEN);
            seen += 1;
        }
        assert!(seen >= 10, "only {seen} seeds");
    }
}
