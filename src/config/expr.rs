//! A subset of httpd's expression language (ap_expr) for `<If>`/`<ElseIf>`: parsed when the
//! config is read (a bad expression is a syntax error, with httpd's "Cannot parse condition
//! clause: …" wording), evaluated per request against an [`Env`] the request side provides.
//!
//! Supported: `true`, `false`, `!`, `&&`, `||`, parentheses; string comparisons `==`, `!=`,
//! `<`, `<=`, `>`, `>=`; integer comparisons `-eq -ne -lt -le -gt -ge`; `=~`/`!~` with
//! `/regex/` or `m#regex#` (flag `i`; `$0`…`$9` refer to the last match); `-strmatch`,
//! `-strcmatch`, `-fnmatch` (wildcards); `-ipmatch` and `-R` (client address in a subnet);
//! `in {…}`; unary `-n -z -T -f -d -e -s -L -h -x`; words: `'…'`/`"…"` strings with `%{…}`
//! and `$N` inside, digits, `%{VAR}`, `%{func:arg}`, `func('arg')`, and `.` to concatenate.
//! Functions: `req`, `http`, `req_novary`, `reqenv`, `v`, `osenv`, `env`, `resp`, `note`,
//! `tolower`, `toupper`, `escape`, `unescape`, `base64`, `unbase64`, `md5`, `sha1`.

use std::net::IpAddr;

use crate::config::pcre::{httpd_message, Regex};

use crate::config::dir::IpNet;

/// What an expression can ask of the request it is evaluated for.
pub trait Env {
    /// A variable from [`VARIABLES`] (`%{REQUEST_URI}`); empty when unset.
    fn var(&self, name: &str) -> String;
    /// A request header (the request's own, after `RequestHeader`).
    fn header(&self, name: &str) -> Option<String>;
    /// A request environment variable (SetEnv, SetEnvIf …).
    fn req_env(&self, name: &str) -> Option<String>;
    /// The client address (`-R`).
    fn remote_ip(&self) -> IpAddr;
    /// A response header (`resp('Name')`): headers_out, then err_headers_out. Before a
    /// response exists (`<If>`, `RequestHeader`) there is none, as in httpd.
    fn resp_header(&self, _name: &str) -> Option<String> {
        None
    }
    /// A request note (`note('Name')`, httpd's `r->notes`).
    fn note(&self, _name: &str) -> Option<String> {
        None
    }
    /// mod_ssl's variables (`%{SSL_PROTOCOL}`, `SSL('SSL_CIPHER')`); unset in the clear.
    fn ssl_var(&self, _name: &str) -> Option<String> {
        None
    }
    /// The expression looked at request header `name` (`req()`, `http()`, `%{HTTP:…}`):
    /// httpd adds it to the response's `Vary`. `%{HTTP_*}` variables note theirs in
    /// [`Env::var`].
    fn vary(&self, _name: &str) {}
}

/// The variables `%{NAME}` may name (httpd's request, connection and time variables that
/// mpmd knows); any other name is a config error, as in httpd.
pub const VARIABLES: &[&str] = &[
    "HTTP_ACCEPT",
    "HTTP_COOKIE",
    "HTTP_FORWARDED",
    "HTTP_HOST",
    "HTTP_PROXY_CONNECTION",
    "HTTP_REFERER",
    "HTTP_USER_AGENT",
    "REQUEST_METHOD",
    "SCRIPT_FILENAME",
    "REQUEST_FILENAME",
    "REMOTE_HOST",
    "REMOTE_USER",
    "REMOTE_ADDR",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_ADMIN",
    "SERVER_PROTOCOL",
    "DOCUMENT_ROOT",
    "AUTH_TYPE",
    "CONTENT_TYPE",
    "HANDLER",
    "HTTP2",
    "HTTPS",
    "IPV6",
    "REQUEST_SCHEME",
    "REQUEST_URI",
    "QUERY_STRING",
    "THE_REQUEST",
    "PATH_INFO",
    "CONTEXT_PREFIX",
    "CONTEXT_DOCUMENT_ROOT",
    "CONN_REMOTE_ADDR",
    "SERVER_SOFTWARE",
    "API_VERSION",
    "TIME_YEAR",
    "TIME_MON",
    "TIME_DAY",
    "TIME_HOUR",
    "TIME_MIN",
    "TIME_SEC",
    "TIME_WDAY",
    "TIME",
    "REQUEST_STATUS",
    "IS_SUBREQ",
    "DOCUMENT_URI",
    "REMOTE_PORT",
];

/// A parsed condition.
#[derive(Clone, Debug)]
pub enum Cond {
    Const(bool),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Str(Word, StrOp, Word),
    Int(Word, IntOp, Word),
    Regex(Word, Regex, bool),
    Wild(Word, WildOp, Word),
    IpMatch(Word, IpNetArg),
    Remote(IpNet),
    In(Word, Vec<Word>),
    Unary(UnaryOp, Word),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildOp {
    /// `-strmatch`: case-sensitive.
    Str,
    /// `-strcmatch`: case-insensitive.
    StrC,
    /// `-fnmatch`: `*` and `?` do not match `/`.
    Fn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    NonEmpty,
    Empty,
    True,
    File,
    Dir,
    Exists,
    NonZero,
    Symlink,
    Exec,
}

/// The right side of `-ipmatch`: parsed when constant, else per request.
#[derive(Clone, Debug)]
pub enum IpNetArg {
    Const(IpNet),
    Word(Word),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Req,
    ReqNovary,
    ReqEnv,
    OsEnv,
    Env,
    ToLower,
    ToUpper,
    Escape,
    Unescape,
    Resp,
    Note,
    Base64,
    Unbase64,
    Md5,
    Sha1,
    /// mod_ssl's `SSL()` (and `%{SSL_…}`, which it answers for every `SSL_` name).
    Ssl,
}

/// A string-valued word.
#[derive(Clone, Debug)]
pub enum Word {
    Lit(String),
    Var(&'static str),
    Backref(u8),
    Func(Func, Box<Word>),
    Concat(Vec<Word>),
}

/// Parses an ap_expr *string* (the one-argument `Alias` and `Redirect` in a section): text
/// with `%{VAR}`, `%{func:arg}` and `$N` inside.
pub fn parse_string(text: &str) -> Result<Word, String> {
    let (parts, _) = lex_parts(text, None)?;
    let mut words = parts
        .into_iter()
        .map(part_word)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if words.len() == 1 {
        words.remove(0)
    } else {
        Word::Concat(words)
    })
}

/// The value of a string expression for a request.
pub fn eval_string(w: &Word, env: &dyn Env) -> String {
    value(w, env, &[])
}

/// Parses an `<If>` expression; the error is what follows "Cannot parse condition clause: ".
pub fn parse(text: &str) -> Result<Cond, String> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        unknown: None,
    };
    let parsed = p.or().and_then(|c| {
        if p.pos < p.toks.len() {
            return Err(format!(
                "syntax error, unexpected {}, expecting $end",
                p.toks[p.pos].class()
            ));
        }
        Ok(c)
    });
    // httpd's parser notes an unknown variable or function and reads on: a syntax error
    // later reads "syntax error, …: Variable 'X' does not exist", else the name alone.
    match (parsed, p.unknown) {
        (Err(e), Some(u)) if e.starts_with("syntax error") => Err(format!("{e}: {u}")),
        (Err(e), _) => Err(e),
        (Ok(_), Some(u)) => Err(u),
        (Ok(c), None) => Ok(c),
    }
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
    Func(String, String),
    Backref(u8),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    True,
    False,
    Not,
    And,
    Or,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Cmp(&'static str),
    Match(bool),
    Unary(String),
    Binary(String),
    In,
    Str(Vec<Part>),
    Digits(String),
    Ident(String),
    Regex(String, bool),
    /// A character the language has no use for (bison's `$undefined`).
    Junk,
}

impl Tok {
    /// httpd's bison token names, for error messages.
    fn class(&self) -> &'static str {
        match self {
            Tok::True => "T_TRUE",
            Tok::False => "T_FALSE",
            Tok::Not => "T_OP_NOT",
            Tok::And => "T_OP_AND",
            Tok::Or => "T_OP_OR",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Comma => "','",
            Tok::Dot => "T_OP_CONCAT",
            Tok::Cmp(_) => "T_OP_STR_EQ",
            Tok::Match(_) => "T_OP_REG",
            Tok::Unary(_) => "T_OP_UNARY",
            Tok::Binary(_) => "T_OP_BINARY",
            Tok::In => "T_OP_IN",
            Tok::Str(p) if p.iter().all(|x| matches!(x, Part::Lit(_))) => "T_STRING",
            Tok::Str(_) => "T_VAR_BEGIN",
            Tok::Digits(_) => "T_DIGIT",
            Tok::Ident(_) => "T_ID",
            Tok::Regex(..) => "T_REGEX",
            Tok::Junk => "$undefined",
        }
    }
}

/// `%{NAME}` or `%{func:arg}` starting after `%{`; returns the part and the bytes used.
fn lex_var(s: &str) -> Result<(Part, usize), String> {
    let end = s
        .find('}')
        .ok_or_else(|| "syntax error, unexpected $end".to_string())?;
    let inner = &s[..end];
    let part = match inner.split_once(':') {
        Some((f, a)) => Part::Func(f.to_string(), a.to_string()),
        None => Part::Var(inner.to_string()),
    };
    Ok((part, end + 1))
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out: Vec<Tok> = Vec::new();
    while i < b.len() {
        let c = b[i];
        let rest = &text[i..];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = rest.get(..2).unwrap_or("");
        let tok = match two {
            "&&" => Some((Tok::And, 2)),
            "||" => Some((Tok::Or, 2)),
            "==" => Some((Tok::Cmp("=="), 2)),
            "!=" => Some((Tok::Cmp("!="), 2)),
            "<=" => Some((Tok::Cmp("<="), 2)),
            ">=" => Some((Tok::Cmp(">="), 2)),
            "=~" => Some((Tok::Match(false), 2)),
            "!~" => Some((Tok::Match(true), 2)),
            "%{" => {
                let (p, n) = lex_var(&rest[2..])?;
                Some((Tok::Str(vec![p]), n + 2))
            }
            _ => None,
        };
        if let Some((t, n)) = tok {
            let after_match = matches!(t, Tok::Match(_));
            out.push(t);
            i += n;
            if after_match {
                // The regex follows: /…/ or m#…#, flags after it.
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let (delim, start) = match b.get(i) {
                    Some(b'/') => (b'/', i + 1),
                    Some(b'm') if b.get(i + 1).is_some_and(|d| d.is_ascii_punctuation()) => {
                        (b[i + 1], i + 2)
                    }
                    _ => continue,
                };
                let mut j = start;
                let mut re = String::new();
                loop {
                    match b.get(j) {
                        None => return Err("syntax error, unexpected $end".into()),
                        Some(&d) if d == delim => break,
                        Some(b'\\') if b.get(j + 1) == Some(&delim) => {
                            re.push(delim as char);
                            j += 2;
                        }
                        Some(_) => {
                            let ch = text[j..].chars().next().unwrap_or(' ');
                            re.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                j += 1;
                let mut icase = false;
                while let Some(&f) = b.get(j) {
                    match f {
                        b'i' => icase = true,
                        f if f.is_ascii_alphabetic() => {
                            return Err("syntax error, unexpected T_ID".into())
                        }
                        _ => break,
                    }
                    j += 1;
                }
                out.push(Tok::Regex(re, icase));
                i = j;
            }
            continue;
        }
        let single = match c {
            b'!' => Some(Tok::Not),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b',' => Some(Tok::Comma),
            b'.' => Some(Tok::Dot),
            b'<' => Some(Tok::Cmp("<")),
            b'>' => Some(Tok::Cmp(">")),
            _ => None,
        };
        if let Some(t) = single {
            out.push(t);
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                let (parts, n) = lex_string(&text[i + 1..], c)?;
                out.push(Tok::Str(parts));
                i += n + 1;
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push(Tok::Str(vec![Part::Backref(b[i + 1] - b'0')]));
                i += 2;
            }
            b'-' if b
                .get(i + 1)
                .is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_') =>
            {
                let n = rest[1..]
                    .bytes()
                    .take_while(|x| x.is_ascii_alphanumeric() || *x == b'_')
                    .count();
                let name = rest[1..1 + n].to_string();
                out.push(if n == 1 {
                    Tok::Unary(name)
                } else {
                    Tok::Binary(name)
                });
                i += 1 + n;
            }
            b'0'..=b'9' => {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                out.push(Tok::Digits(rest[..n].to_string()));
                i += n;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let n = rest
                    .bytes()
                    .take_while(|x| x.is_ascii_alphanumeric() || *x == b'_')
                    .count();
                let id = &rest[..n];
                out.push(match id {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "in" => Tok::In,
                    _ => Tok::Ident(id.to_string()),
                });
                i += n;
            }
            _ => {
                out.push(Tok::Junk);
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    Ok(out)
}

/// A quoted string after its opening quote: its parts and the bytes used (closing quote
/// included).
fn lex_string(s: &str, quote: u8) -> Result<(Vec<Part>, usize), String> {
    lex_parts(s, Some(quote))
}

/// The parts of a string up to `quote` (consumed), or to the end of `s` when `None`.
fn lex_parts(s: &str, quote: Option<u8>) -> Result<(Vec<Part>, usize), String> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    loop {
        match b.get(i) {
            None if quote.is_none() => break,
            None => return Err("Unterminated string".into()),
            Some(&q) if Some(q) == quote => {
                i += 1;
                break;
            }
            Some(b'\\') if i + 1 < b.len() => {
                let ch = s[i + 1..].chars().next().unwrap_or(' ');
                lit.push(match ch {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    c => c,
                });
                i += 1 + ch.len_utf8();
            }
            Some(b'%') if b.get(i + 1) == Some(&b'{') => {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                let (p, n) = lex_var(&s[i + 2..])?;
                parts.push(p);
                i += 2 + n;
            }
            Some(b'$') if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Backref(b[i + 1] - b'0'));
                i += 2;
            }
            Some(_) => {
                let ch = s[i..].chars().next().unwrap_or(' ');
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok((parts, i))
}

// ---------------------------------------------------------------------------------------
// Parser

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// The first unknown variable or function met (see [`parse`]).
    unknown: Option<String>,
}

fn func_of(name: &str) -> Result<Func, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "req" | "http" => Func::Req,
        "req_novary" => Func::ReqNovary,
        "reqenv" | "v" => Func::ReqEnv,
        "osenv" => Func::OsEnv,
        "env" => Func::Env,
        "tolower" => Func::ToLower,
        "toupper" => Func::ToUpper,
        "escape" => Func::Escape,
        "unescape" => Func::Unescape,
        "resp" => Func::Resp,
        "note" => Func::Note,
        "base64" => Func::Base64,
        "unbase64" => Func::Unbase64,
        "md5" => Func::Md5,
        "sha1" => Func::Sha1,
        "ssl" => Func::Ssl,
        "file" | "filemod" | "filesize" | "ldap" => {
            return Err(format!("Function '{name}' is not supported by mpmd"))
        }
        _ => return Err(format!("Function '{name}' does not exist")),
    })
}

fn part_word(p: Part) -> Result<Word, String> {
    Ok(match p {
        Part::Lit(s) => Word::Lit(s),
        Part::Backref(n) => Word::Backref(n),
        Part::Var(v) => match VARIABLES.iter().find(|k| k.eq_ignore_ascii_case(&v)) {
            Some(k) => Word::Var(k),
            // mod_ssl claims every variable named SSL_* (case-sensitive, as its lookup).
            None if v.starts_with("SSL_") => Word::Func(Func::Ssl, Box::new(Word::Lit(v))),
            None => return Err(format!("Variable '{v}' does not exist")),
        },
        Part::Func(f, a) => Word::Func(func_of(&f)?, Box::new(Word::Lit(a))),
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// A word part, an unknown name noted (see [`parse`]) and read as an empty string.
    fn part(&mut self, p: Part) -> Word {
        part_word(p).unwrap_or_else(|e| {
            self.unknown.get_or_insert(e);
            Word::Lit(String::new())
        })
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            None => "syntax error, unexpected $end".into(),
            Some(t) => format!("syntax error, unexpected {}", t.class()),
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let r = self.and()?;
            l = Cond::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut l = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let r = self.unary()?;
            l = Cond::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Cond, String> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Cond::Not(Box::new(self.unary()?)))
            }
            Some(Tok::True) => {
                self.pos += 1;
                Ok(Cond::Const(true))
            }
            Some(Tok::False) => {
                self.pos += 1;
                Ok(Cond::Const(false))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let c = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                Ok(c)
            }
            Some(Tok::Unary(op)) => {
                let op = op.clone();
                self.pos += 1;
                self.unary_op(&op)
            }
            None | Some(Tok::Binary(_)) => Err(self.unexpected()),
            Some(_) => self.comparison(),
        }
    }

    fn unary_op(&mut self, op: &str) -> Result<Cond, String> {
        if op == "R" {
            return match self.peek() {
                Some(Tok::Str(parts)) if parts.len() == 1 => {
                    let Part::Lit(s) = &parts[0] else {
                        return Err("-R requires subnet/netmask as constant argument".into());
                    };
                    let net = super::directives::authz::parse_ipnet(s)
                        .ok_or_else(|| "parsing of subnet/netmask failed".to_string())?;
                    self.pos += 1;
                    Ok(Cond::Remote(net))
                }
                _ => Err("-R requires subnet/netmask as constant argument".into()),
            };
        }
        let u = match op {
            "n" => UnaryOp::NonEmpty,
            "z" => UnaryOp::Empty,
            "T" => UnaryOp::True,
            "f" => UnaryOp::File,
            "d" => UnaryOp::Dir,
            "e" => UnaryOp::Exists,
            "s" => UnaryOp::NonZero,
            "L" | "h" => UnaryOp::Symlink,
            "x" => UnaryOp::Exec,
            "F" | "U" | "A" => {
                return Err(format!(
                    "-{op} (a subrequest) is not supported by mpmd in <If>"
                ))
            }
            _ => return Err(format!("Unknown unary operator '-{op}'")),
        };
        let w = self.word()?;
        Ok(Cond::Unary(u, w))
    }

    fn comparison(&mut self) -> Result<Cond, String> {
        let l = self.word()?;
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.pos += 1;
        match t {
            Tok::Cmp(op) => {
                let r = self.word()?;
                let op = match op {
                    "==" => StrOp::Eq,
                    "!=" => StrOp::Ne,
                    "<" => StrOp::Lt,
                    "<=" => StrOp::Le,
                    ">" => StrOp::Gt,
                    _ => StrOp::Ge,
                };
                Ok(Cond::Str(l, op, r))
            }
            Tok::Match(neg) => match self.peek().cloned() {
                Some(Tok::Regex(re, icase)) => {
                    self.pos += 1;
                    let re = Regex::with_nocase(&re, icase)
                        .map_err(|e| httpd_message(e, "Failed to compile regular expression"))?;
                    Ok(Cond::Regex(l, re, neg))
                }
                _ => Err(self.unexpected()),
            },
            Tok::In => self.list(l),
            Tok::Binary(op) if op == "in" => self.list(l),
            Tok::Binary(op) => {
                let iop = match op.as_str() {
                    "eq" => Some(IntOp::Eq),
                    "ne" => Some(IntOp::Ne),
                    "lt" => Some(IntOp::Lt),
                    "le" => Some(IntOp::Le),
                    "gt" => Some(IntOp::Gt),
                    "ge" => Some(IntOp::Ge),
                    _ => None,
                };
                if let Some(o) = iop {
                    let r = self.word()?;
                    return Ok(Cond::Int(l, o, r));
                }
                let wop = match op.as_str() {
                    "strmatch" => WildOp::Str,
                    "strcmatch" => WildOp::StrC,
                    "fnmatch" => WildOp::Fn,
                    "ipmatch" => {
                        let r = self.word()?;
                        let arg = match &r {
                            Word::Lit(s) => IpNetArg::Const(
                                super::directives::authz::parse_ipnet(s).ok_or_else(|| {
                                    "parsing of subnet/netmask failed".to_string()
                                })?,
                            ),
                            _ => IpNetArg::Word(r),
                        };
                        return Ok(Cond::IpMatch(l, arg));
                    }
                    _ => return Err(format!("Unknown binary operator '-{op}'")),
                };
                let r = self.word()?;
                Ok(Cond::Wild(l, wop, r))
            }
            _ => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }

    /// `{ word, word … }` after `in` / `-in`.
    fn list(&mut self, l: Word) -> Result<Cond, String> {
        if self.peek() != Some(&Tok::LBrace) {
            return Err(self.unexpected());
        }
        self.pos += 1;
        let mut list = vec![self.word()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    list.push(self.word()?);
                }
                Some(Tok::RBrace) => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected()),
            }
        }
        Ok(Cond::In(l, list))
    }

    fn word(&mut self) -> Result<Word, String> {
        let mut parts = vec![self.primary()?];
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Word::Concat(parts)
        })
    }

    fn primary(&mut self) -> Result<Word, String> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        match t {
            Tok::Digits(d) => {
                self.pos += 1;
                Ok(Word::Lit(d))
            }
            Tok::Str(parts) => {
                self.pos += 1;
                let mut ws: Vec<Word> = parts.into_iter().map(|p| self.part(p)).collect();
                Ok(if ws.len() == 1 {
                    ws.remove(0)
                } else {
                    Word::Concat(ws)
                })
            }
            Tok::Ident(name) => {
                self.pos += 1;
                if self.peek() != Some(&Tok::LParen) {
                    return Err(format!("{}, expecting '('", self.unexpected()));
                }
                let f = func_of(&name);
                self.pos += 1;
                let arg = self.word()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                Ok(match f {
                    Ok(f) => Word::Func(f, Box::new(arg)),
                    Err(e) => {
                        self.unknown.get_or_insert(e);
                        Word::Lit(String::new())
                    }
                })
            }
            _ => Err(self.unexpected()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// Evaluates `c` for one request. Backreferences (`$1`) name the groups of the last regex
/// that matched.
pub fn eval(c: &Cond, env: &dyn Env) -> bool {
    let mut caps = Vec::new();
    eval_cond(c, env, &mut caps)
}

/// As `eval`, and when true the groups of the last regex that matched (`$0` the whole
/// match; empty when none did), for values that substitute `$N` (SetEnvIfExpr).
pub fn eval_captures(c: &Cond, env: &dyn Env) -> Option<Vec<String>> {
    let mut caps = Vec::new();
    eval_cond(c, env, &mut caps).then_some(caps)
}

/// httpd's ap_pregsub over the groups `eval_captures` returned.
pub fn substitute(template: &str, caps: &[String]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    super::pcre::pregsub_into(template, |i| caps.get(i).map(String::as_str), &mut out);
    out
}

fn eval_cond(c: &Cond, env: &dyn Env, caps: &mut Vec<String>) -> bool {
    match c {
        Cond::Const(b) => *b,
        Cond::Not(c) => !eval_cond(c, env, caps),
        Cond::And(a, b) => eval_cond(a, env, caps) && eval_cond(b, env, caps),
        Cond::Or(a, b) => eval_cond(a, env, caps) || eval_cond(b, env, caps),
        Cond::Str(l, op, r) => {
            let (l, r) = (value(l, env, caps), value(r, env, caps));
            match op {
                StrOp::Eq => l == r,
                StrOp::Ne => l != r,
                StrOp::Lt => l < r,
                StrOp::Le => l <= r,
                StrOp::Gt => l > r,
                StrOp::Ge => l >= r,
            }
        }
        Cond::Int(l, op, r) => {
            let (Ok(l), Ok(r)) = (
                value(l, env, caps).trim().parse::<i64>(),
                value(r, env, caps).trim().parse::<i64>(),
            ) else {
                return false;
            };
            match op {
                IntOp::Eq => l == r,
                IntOp::Ne => l != r,
                IntOp::Lt => l < r,
                IntOp::Le => l <= r,
                IntOp::Gt => l > r,
                IntOp::Ge => l >= r,
            }
        }
        Cond::Regex(l, re, neg) => {
            let s = value(l, env, caps);
            match re.captures(&s) {
                Some(m) => {
                    if !neg {
                        *caps = (0..m.len())
                            .map(|i| m.get(i).unwrap_or("").to_string())
                            .collect();
                    }
                    !neg
                }
                None => *neg,
            }
        }
        Cond::Wild(l, op, r) => {
            let (s, p) = (value(l, env, caps), value(r, env, caps));
            match op {
                WildOp::Str => wild(p.as_bytes(), s.as_bytes(), false, false),
                WildOp::StrC => wild(p.as_bytes(), s.as_bytes(), true, false),
                WildOp::Fn => wild(p.as_bytes(), s.as_bytes(), false, true),
            }
        }
        Cond::IpMatch(l, net) => {
            let Ok(ip) = value(l, env, caps).parse::<IpAddr>() else {
                return false;
            };
            match net {
                IpNetArg::Const(n) => n.contains(ip),
                IpNetArg::Word(w) => super::directives::authz::parse_ipnet(&value(w, env, caps))
                    .is_some_and(|n| n.contains(ip)),
            }
        }
        Cond::Remote(n) => n.contains(env.remote_ip()),
        Cond::In(l, list) => {
            let s = value(l, env, caps);
            list.iter().any(|w| value(w, env, caps) == s)
        }
        Cond::Unary(op, w) => {
            let s = value(w, env, caps);
            let meta = || std::fs::metadata(&s);
            match op {
                UnaryOp::NonEmpty => !s.is_empty(),
                UnaryOp::Empty => s.is_empty(),
                UnaryOp::True => {
                    !(s.is_empty()
                        || s == "0"
                        || ["off", "false", "no"]
                            .iter()
                            .any(|f| s.eq_ignore_ascii_case(f)))
                }
                UnaryOp::File => meta().is_ok_and(|m| m.is_file()),
                UnaryOp::Dir => meta().is_ok_and(|m| m.is_dir()),
                UnaryOp::Exists => meta().is_ok(),
                UnaryOp::NonZero => meta().is_ok_and(|m| m.len() > 0),
                UnaryOp::Symlink => {
                    std::fs::symlink_metadata(&s).is_ok_and(|m| m.file_type().is_symlink())
                }
                UnaryOp::Exec => {
                    use std::os::unix::fs::PermissionsExt;
                    meta().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                }
            }
        }
    }
}

fn value(w: &Word, env: &dyn Env, caps: &[String]) -> String {
    match w {
        Word::Lit(s) => s.clone(),
        Word::Var(v) => env.var(v),
        Word::Backref(n) => caps.get(usize::from(*n)).cloned().unwrap_or_default(),
        Word::Concat(ws) => ws.iter().map(|w| value(w, env, caps)).collect(),
        Word::Func(f, arg) => {
            let a = value(arg, env, caps);
            match f {
                Func::Req => {
                    env.vary(&a);
                    env.header(&a).unwrap_or_default()
                }
                Func::ReqNovary => env.header(&a).unwrap_or_default(),
                Func::ReqEnv => env.req_env(&a).unwrap_or_default(),
                Func::OsEnv => std::env::var(&a).unwrap_or_default(),
                Func::Env => env
                    .req_env(&a)
                    .or_else(|| std::env::var(&a).ok())
                    .unwrap_or_default(),
                Func::ToLower => a.to_lowercase(),
                Func::ToUpper => a.to_uppercase(),
                Func::Escape => escape(&a),
                Func::Unescape => unescape(&a),
                Func::Resp => env.resp_header(&a).unwrap_or_default(),
                Func::Note => env.note(&a).unwrap_or_default(),
                Func::Base64 => {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.encode(a.as_bytes())
                }
                Func::Unbase64 => unbase64(&a),
                Func::Md5 => {
                    use md5::Digest as _;
                    hex(&md5::Md5::digest(a.as_bytes()))
                }
                Func::Sha1 => {
                    use sha1::Digest as _;
                    hex(&sha1::Sha1::digest(a.as_bytes()))
                }
                Func::Ssl => env.ssl_var(&a).unwrap_or_default(),
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
    out
}

/// APR's base64 decoding: it stops at the first byte outside the alphabet (padding
/// included) and keeps what it decoded up to there.
fn unbase64(s: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let Some(v) = ALPHA.iter().position(|&c| c == b) else {
            break;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// httpd's `ap_escape_uri`: bytes outside the path-safe set as `%XX`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:@&=/~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Shell wildcard match (`*`, `?`, `[…]`); `path`: wildcards do not cross `/`.
fn wild(p: &[u8], s: &[u8], icase: bool, path: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if icase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => {
            let rest = &p[1..];
            for k in 0..=s.len() {
                if wild(rest, &s[k..], icase, path) {
                    return true;
                }
                if path && s.get(k) == Some(&b'/') {
                    return false;
                }
            }
            false
        }
        Some(b'?') => match s.first() {
            Some(&c) if !(path && c == b'/') => wild(&p[1..], &s[1..], icase, path),
            _ => false,
        },
        Some(b'[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == b']').map(|x| x + 2) else {
                return s.first().is_some_and(|&c| eq(c, b'['))
                    && wild(&p[1..], &s[1..], icase, path);
            };
            let Some(&c) = s.first() else {
                return false;
            };
            let set = &p[1..close];
            let (neg, set) = match set.first() {
                Some(b'!') | Some(b'^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut k = 0;
            while k < set.len() {
                if k + 2 < set.len() && set[k + 1] == b'-' {
                    let (lo, hi) = (set[k], set[k + 2]);
                    let cc = if icase { c.to_ascii_lowercase() } else { c };
                    if (lo..=hi).contains(&c) || (icase && (lo..=hi).contains(&cc)) {
                        hit = true;
                    }
                    k += 3;
                } else {
                    if eq(set[k], c) {
                        hit = true;
                    }
                    k += 1;
                }
            }
            hit != neg && wild(&p[close + 1..], &s[1..], icase, path)
        }
        Some(b'\\') if p.len() > 1 => {
            s.first().is_some_and(|&c| eq(c, p[1])) && wild(&p[2..], &s[1..], icase, path)
        }
        Some(&c) => s.first().is_some_and(|&x| eq(x, c)) && wild(&p[1..], &s[1..], icase, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct T {
        vars: HashMap<&'static str, &'static str>,
        headers: HashMap<&'static str, &'static str>,
        ip: IpAddr,
    }

    impl Env for T {
        fn var(&self, name: &str) -> String {
            self.vars
                .get(name)
                .map(|s| s.to_string())
                .unwrap_or_default()
        }
        fn header(&self, name: &str) -> Option<String> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_string())
        }
        fn req_env(&self, name: &str) -> Option<String> {
            (name == "FOO").then(|| "bar".to_string())
        }
        fn remote_ip(&self) -> IpAddr {
            self.ip
        }
    }

    fn env() -> T {
        T {
            vars: HashMap::from([
                ("HTTP_HOST", "example.com"),
                ("REQUEST_URI", "/docs/a.TXT"),
                ("HTTPS", "off"),
                ("REMOTE_ADDR", "10.1.2.3"),
                ("QUERY_STRING", "x=1"),
                ("REQUEST_METHOD", "GET"),
                ("TIME_HOUR", "13"),
            ]),
            headers: HashMap::from([("X-Test", "abc"), ("User-Agent", "curl/8")]),
            ip: "10.1.2.3".parse().unwrap(),
        }
    }

    fn t(e: &str) -> bool {
        eval(&parse(e).unwrap_or_else(|m| panic!("{e}: {m}")), &env())
    }

    /// String expressions (`Alias /path` and `Redirect /target` in a section).
    #[test]
    fn strings() {
        let s = |e: &str| eval_string(&parse_string(e).unwrap(), &env());
        assert_eq!(s("/plain/path"), "/plain/path");
        assert_eq!(
            s("http://%{HTTP_HOST}%{REQUEST_URI}"),
            "http://example.com/docs/a.TXT"
        );
        assert_eq!(s("/x/%{toupper:ab}"), "/x/AB");
        assert_eq!(s("/e/%{env:FOO}?q=%{QUERY_STRING}"), "/e/bar?q=x=1");
        assert_eq!(s(""), "");
        assert_eq!(
            s("%{md5:foo} %{base64:ab} %{unbase64:Zm9vYg==} %{sha1:x}"),
            "acbd18db4cc2f85cedef654fccc4a4d8 YWI= foob 11f6ad8ec52a2984abaafd7c3b516503785c2072"
        );
        // No response before the handler: resp() is empty, as in httpd's <If>.
        assert_eq!(s("[%{resp:Content-Type}]"), "[]");
        assert_eq!(
            parse_string("/%{NOPE}").unwrap_err(),
            "Variable 'NOPE' does not exist"
        );
        assert_eq!(
            parse_string("/%{bogus:x}").unwrap_err(),
            "Function 'bogus' does not exist"
        );
    }

    #[test]
    fn evaluates_common_conditions() {
        assert!(t("%{HTTP_HOST} != 'www.example.com'"));
        assert!(!t("%{HTTP_HOST} == 'www.example.com'"));
        assert!(t(r"%{REQUEST_URI} =~ /\.txt$/i"));
        assert!(!t(r"%{REQUEST_URI} =~ /\.txt$/"));
        assert!(t(r"%{REQUEST_URI} !~ m#^/private#"));
        assert!(t("-R '10.0.0.0/8'"));
        assert!(!t("-R '192.168.0.0/16'"));
        assert!(t("%{REMOTE_ADDR} -ipmatch '10.1.0.0/255.255.0.0'"));
        assert!(t(
            "%{HTTP:X-Test} == 'abc' && req('user-agent') -strmatch 'curl/*'"
        ));
        assert!(!t("req('user-agent') -strmatch 'CURL/*'"));
        assert!(t("req('user-agent') -strcmatch 'CURL/*'"));
        assert!(!t("%{REQUEST_URI} -fnmatch '/*.TXT'"));
        assert!(t("%{REQUEST_URI} -fnmatch '/*/*.TXT'"));
        assert!(t("!(%{HTTPS} == 'on') || false"));
        assert!(!t("true && (false || !true)"));
        assert!(t("%{REQUEST_METHOD} in { 'POST', 'GET' }"));
        assert!(!t("%{REQUEST_METHOD} -in { 'POST' }"));
        assert!(t("%{TIME_HOUR} -ge 12 && %{TIME_HOUR} -lt 14"));
        assert!(t("-n %{QUERY_STRING} && -z %{HTTP:Missing}"));
        assert!(t("v('FOO') == 'bar' && tolower('AbC') == 'abc'"));
        assert!(t("%{HTTP_HOST} . '/x' == 'example.com/x'"));
        assert!(t(r"%{REQUEST_URI} =~ m#^/(\w+)/# && '$1' == 'docs'"));
        assert!(t("'%{REQUEST_METHOD}-x' == \"GET-x\""));
        assert!(t("-d '/' && !-f '/' && -e '/'"));
        assert!(t("-T 'yes' && !-T 'Off'"));
    }

    #[test]
    fn errors_have_httpd_wording() {
        let e = |x: &str| parse(x).unwrap_err();
        assert_eq!(e("%{HTTP_HOST} =="), "syntax error, unexpected $end");
        assert_eq!(e("%{FOO} == 1"), "Variable 'FOO' does not exist");
        assert_eq!(e("foo"), "syntax error, unexpected $end, expecting '('");
        assert_eq!(e("%{HTTP_HOST}"), "syntax error, unexpected $end");
        assert_eq!(
            e("%{HTTP_HOST} =~ /(/"),
            "Failed to compile regular expression"
        );
        assert_eq!(
            e("-R 10.0.0.0/8"),
            "-R requires subnet/netmask as constant argument"
        );
        assert_eq!(e("-R 'bogus'"), "parsing of subnet/netmask failed");
        assert_eq!(e("-ipmatch 'x'"), "syntax error, unexpected T_OP_BINARY");
        assert_eq!(e("foo('x') == ''"), "Function 'foo' does not exist");
        // An unknown name, then a syntax error: httpd reports both.
        assert_eq!(
            e("%{NOPE}"),
            "syntax error, unexpected $end: Variable 'NOPE' does not exist"
        );
        assert_eq!(
            e("foo(1)"),
            "syntax error, unexpected $end: Function 'foo' does not exist"
        );
        assert_eq!(e("1"), "syntax error, unexpected $end");
        assert_eq!(
            e("'a' == 'a' extra"),
            "syntax error, unexpected T_ID, expecting $end"
        );
    }
}
