//! The regular expressions of the configuration. httpd compiles every pattern (RewriteRule,
//! `<LocationMatch>`, AliasMatch, SetEnvIf, Header edit, `<If> =~` …) with PCRE, so a pattern
//! here means what it means to PCRE: backreferences, lookaround, atomic groups, possessive
//! quantifiers, conditionals, recursion, `\Q…\E`. Every directive goes through [`Regex`].
//!
//! The engine is `fancy-regex`. It hands a pattern without backtracking features whole to
//! `regex-automata`'s meta engine (the `regex` crate's, linear time), so the common pattern
//! costs what it did before; only a pattern using a PCRE-only feature runs on its
//! backtracking VM, under a step limit. A `regex`-crate-first path would not be cheaper and
//! would read `a++` or `a{2}+` as nested repetitions instead of PCRE's possessive ones.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// httpd 2.4's default compile options (`RegexDefaultOptions DOTALL DOLLAR_ENDONLY`): `.`
/// matches a newline, `$` only the very end (the latter is already this engine's `$`).
const DOT_ALL: bool = true;

/// Backtracking steps one match may take before it is abandoned as no match (PCRE's
/// `match_limit`, whose failure httpd's callers also treat as no match).
const BACKTRACK_LIMIT: usize = 1_000_000;

/// A compiled PCRE-compatible pattern; cloning it shares the compiled program.
#[derive(Clone)]
pub struct Regex(Arc<Compiled>);

struct Compiled {
    re: fancy_regex::Regex,
    /// The pattern as written (the engine holds the translated one).
    pattern: String,
    /// The named groups: number and name, in group order (found once, at compile time).
    names: Box<[(usize, Box<str>)]>,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// Not a valid pattern (the engine's reason).
    #[error("invalid regular expression '{pattern}': {reason}")]
    Invalid { pattern: String, reason: String },
    /// Valid PCRE that mpmd's engine does not implement.
    #[error("regular expression '{pattern}' uses {feature}, a PCRE feature mpmd does not support")]
    Unsupported {
        pattern: String,
        feature: &'static str,
    },
}

impl Regex {
    /// Compiles `pattern` as httpd does by default.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        Regex::with_nocase(pattern, false)
    }

    /// Compiles `pattern`, case-insensitively when `nocase` (`[NC]`, `SetEnvIfNoCase`,
    /// `=~ /…/i`); `(?i)` inside the pattern works either way.
    pub fn with_nocase(pattern: &str, nocase: bool) -> Result<Regex, RegexError> {
        let translated = translate(pattern).map_err(|feature| RegexError::Unsupported {
            pattern: pattern.to_string(),
            feature,
        })?;
        let re = fancy_regex::RegexBuilder::new(&translated)
            .case_insensitive(nocase)
            .dot_matches_new_line(DOT_ALL)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| match unsupported(pattern) {
                Some(feature) => RegexError::Unsupported {
                    pattern: pattern.to_string(),
                    feature,
                },
                None => RegexError::Invalid {
                    pattern: pattern.to_string(),
                    reason: e.to_string(),
                },
            })?;
        let names = re
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, Box::from(n))))
            .collect();
        Ok(Regex(Arc::new(Compiled {
            re,
            pattern: pattern.to_string(),
            names,
        })))
    }

    /// The pattern as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.0.pattern
    }

    /// The named groups (`(?<name>…)`): each group's number (for [`Captures::get`]) and
    /// name, in group order; empty when the pattern names none.
    pub fn group_names(&self) -> &[(usize, Box<str>)] {
        &self.0.names
    }

    /// Does the pattern match anywhere in `text`? A match that runs out of backtracking
    /// steps counts as none, as in httpd.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.re.is_match(text).unwrap_or(false)
    }

    /// The groups of the first match in `text`.
    pub fn captures<'t>(&self, text: &'t str) -> Option<Captures<'t>> {
        self.0.re.captures(text).ok().flatten().map(Captures)
    }

    /// mod_headers' `edit` (first match) and `edit*` (every match): each match is replaced by
    /// `template` with `$0`…`$9` filled in. As in httpd, `edit*` matches again on the text
    /// after each match as a new subject (so `^` anchors there too), and stops after an
    /// empty match.
    pub fn edit<'t>(&self, text: &'t str, template: &str, all: bool) -> Cow<'t, str> {
        let Some(first) = self.captures(text) else {
            return Cow::Borrowed(text);
        };
        let mut out = String::with_capacity(text.len() + template.len());
        let mut caps = first;
        let mut rest = text;
        loop {
            let (start, end) = caps.span();
            out.push_str(&rest[..start]);
            caps.substitute_into(template, &mut out);
            rest = &rest[end..];
            if !all || start == end {
                break;
            }
            match self.captures(rest) {
                Some(c) => caps = c,
                None => break,
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

/// The configuration error for a pattern that did not compile: httpd's own words for an invalid
/// pattern (the line admins and scripts know, compared with apache2 in the tests), followed by
/// what mpmd lacks when the pattern is valid PCRE that apache2 would have taken.
pub fn httpd_message(e: RegexError, httpd: &str) -> String {
    match e {
        RegexError::Invalid { .. } => httpd.to_string(),
        RegexError::Unsupported { .. } => format!("{httpd} ({e})"),
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.0.pattern).finish()
    }
}

/// The groups of one match: `$0` is the whole match.
pub struct Captures<'t>(fancy_regex::Captures<'t, str>);

impl<'t> Captures<'t> {
    /// Group `i` (0 = the whole match), `None` when the group did not take part.
    pub fn get(&self, i: usize) -> Option<&'t str> {
        self.0.get(i).map(|m| m.as_str())
    }

    /// A named group (`(?<name>…)`, `(?P<name>…)`, `(?'name'…)`).
    pub fn name(&self, name: &str) -> Option<&'t str> {
        self.0.name(name).map(|m| m.as_str())
    }

    /// The number of groups, `$0` included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a match has at least `$0`.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    fn span(&self) -> (usize, usize) {
        self.0.get(0).map_or((0, 0), |m| (m.start(), m.end()))
    }

    /// httpd's ap_pregsub: `$0`…`$9` (one digit: `$10` is `$1` then `0`) become the groups (a
    /// group that did not take part becomes nothing), and a backslash makes the next
    /// character literal (`\$1` is `$1`).
    pub fn substitute(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        self.substitute_into(template, &mut out);
        out
    }

    fn substitute_into(&self, template: &str, out: &mut String) {
        pregsub_into(template, |i| self.get(i), out);
    }
}

/// httpd's ap_pregsub over any list of groups (`group(i)`: `$i`, `None` when it did not take
/// part): `$0`…`$9` become the groups, a backslash makes the next character literal.
pub fn pregsub_into<'a>(
    template: &str,
    group: impl Fn(usize) -> Option<&'a str>,
    out: &mut String,
) {
    let mut it = template.chars().peekable();
    while let Some(c) = it.next() {
        match (c, it.peek().copied()) {
            ('$', Some(d)) if d.is_ascii_digit() => {
                it.next();
                out.push_str(group(usize::from(d as u8 - b'0')).unwrap_or(""));
            }
            ('\\', Some(n)) => {
                it.next();
                out.push(n);
            }
            _ => out.push(c),
        }
    }
}

/// Rewrites the PCRE syntax that fancy-regex reads differently (or not at all) into its own:
/// `\Q…\E` quoting, `\h`/`\v` (PCRE's horizontal/vertical white space, fancy-regex's hex
/// digit/vertical tab), a `[` or `&&`/`~~` inside a class (literal in PCRE), `{,n}` (literal in
/// PCRE2 10.42), and recursion `(?R)`, `(?N)`, `(?&name)`, `(?P>name)` (subroutine calls
/// `\g<…>`). `Err` names a PCRE feature that has no counterpart.
fn translate(p: &str) -> Result<Cow<'_, str>, &'static str> {
    if !p.contains(['\\', '[', '(', '{']) {
        return Ok(Cow::Borrowed(p));
    }
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 8);
    // Inside a class: where its members start (a `]` there is literal).
    let mut class: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            let Some(&n) = b.get(i + 1) else {
                out.push('\\');
                break;
            };
            i += 2;
            match n {
                b'Q' => {
                    let end = p[i..].find("\\E").map_or(b.len(), |e| i + e);
                    for ch in p[i..end].chars() {
                        if ch.is_ascii_punctuation() && ch != '<' && ch != '>' {
                            out.push('\\');
                        }
                        out.push(ch);
                    }
                    i = (end + 2).min(b.len());
                }
                b'E' => {} // a `\E` with no `\Q` is ignored
                b'h' | b'H' | b'v' | b'V' => {
                    let set = if n.eq_ignore_ascii_case(&b'h') {
                        r"\t\x20\xA0"
                    } else {
                        r"\n\x0B\x0C\r\x85"
                    };
                    let neg = if n.is_ascii_uppercase() { "^" } else { "" };
                    out.push_str(&format!("[{neg}{set}]"));
                }
                b'C' => return Err(r"\C (one code unit)"),
                b'X' => return Err(r"\X (extended grapheme clusters)"),
                // Literal in PCRE; word boundaries to the engine.
                b'<' | b'>' => out.push(n as char),
                b'c' => {
                    // `\cX`: the control character of X.
                    let Some(&x) = b.get(i).filter(|x| x.is_ascii() && **x >= b' ') else {
                        return Err(r"\c at the end of the pattern");
                    };
                    out.push_str(&format!(r"\x{{{:02X}}}", x.to_ascii_uppercase() ^ 0x40));
                    i += 1;
                }
                b'0' => {
                    // `\0` and up to two more octal digits: a character, not a backreference.
                    let digits = b[i..]
                        .iter()
                        .take(2)
                        .take_while(|d| (b'0'..=b'7').contains(d))
                        .count();
                    let v = u32::from_str_radix(&p[i - 1..i + digits], 8).unwrap_or(0);
                    out.push_str(&format!(r"\x{{{v:02X}}}"));
                    i += digits;
                }
                b'o' if b.get(i) == Some(&b'{') => {
                    let end = p[i..].find('}').map(|e| i + e);
                    let v = end.and_then(|e| u32::from_str_radix(&p[i + 1..e], 8).ok());
                    let (Some(end), Some(v)) = (end, v) else {
                        return Err(r"a malformed \o{…} escape");
                    };
                    out.push_str(&format!(r"\x{{{v:X}}}"));
                    i = end + 1;
                }
                b'g' if b.get(i) != Some(&b'<') && b.get(i) != Some(&b'\'') => {
                    // PCRE's `\gN`, `\g{N}`, `\g{name}`: backreferences (fancy-regex reads
                    // `\gN` as a subroutine call). In a group so a digit after it stays literal.
                    let (name, next) = if b.get(i) == Some(&b'{') {
                        match p[i..].find('}') {
                            Some(e) => (&p[i + 1..i + e], i + e + 1),
                            None => return Err(r"a malformed \g{…} backreference"),
                        }
                    } else {
                        let n = b[i..].iter().take_while(|d| d.is_ascii_digit()).count();
                        let n = n + usize::from(n == 0 && matches!(b.get(i), Some(b'-' | b'+')));
                        (&p[i..i + n], i + n)
                    };
                    if name.starts_with(['-', '+']) {
                        return Err(r"relative backreferences \g{-N}");
                    }
                    if name.is_empty() {
                        return Err(r"a malformed \g backreference");
                    }
                    if name.bytes().all(|d| d.is_ascii_digit()) {
                        out.push_str(&format!(r"(?:\{name})"));
                    } else {
                        out.push_str(&format!(r"\k<{name}>"));
                    }
                    i = next;
                }
                _ => {
                    out.push('\\');
                    // A multi-byte character after the backslash stays whole.
                    let ch = p[i - 1..].chars().next().unwrap_or('\\');
                    out.push(ch);
                    i += ch.len_utf8() - 1;
                }
            }
            continue;
        }
        if let Some(start) = class {
            match c {
                b']' if i > start => class = None,
                b']' => {
                    out.push_str(r"\]");
                    i += 1;
                    continue;
                }
                b'[' if b.get(i + 1) == Some(&b':') => {
                    // A POSIX class `[:alpha:]` stays as it is.
                    let end = p[i..].find(":]").map_or(b.len(), |e| i + e + 2);
                    out.push_str(&p[i..end]);
                    i = end;
                    continue;
                }
                b'[' | b'&' | b'~' => {
                    out.push('\\');
                    out.push(c as char);
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else if c == b'[' {
            let mut start = i + 1;
            if b.get(start) == Some(&b'^') {
                start += 1;
            }
            out.push_str(&p[i..start]);
            class = Some(start);
            i = start;
            continue;
        } else if c == b'{' && b.get(i + 1) == Some(&b',') {
            out.push_str(r"\{");
            i += 1;
            continue;
        } else if c == b'(' && b.get(i + 1) == Some(&b'?') {
            let rest = &p[i + 2..];
            let close = rest.find(')');
            let call = |name: &str| {
                let valid = !name.is_empty()
                    && name.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'_');
                valid.then(|| format!(r"\g<{name}>"))
            };
            let target = close.and_then(|e| {
                let inner = &rest[..e];
                if inner == "R" {
                    Some(r"\g<0>".to_string())
                } else if inner.bytes().all(|x| x.is_ascii_digit()) {
                    call(inner)
                } else if let Some(n) = inner.strip_prefix('&').or_else(|| inner.strip_prefix("P>"))
                {
                    call(n)
                } else {
                    None
                }
            });
            if let (Some(t), Some(e)) = (target, close) {
                out.push_str(&t);
                i += 2 + e + 1;
                continue;
            }
            if let Some(f) = unsupported_group(rest) {
                return Err(f);
            }
        }
        // Copy one character (whole, if multi-byte).
        let ch = p[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(Cow::Owned(out))
}

/// The PCRE group syntax with no fancy-regex counterpart, by what follows `(?`.
fn unsupported_group(rest: &str) -> Option<&'static str> {
    let b = rest.as_bytes();
    match b.first()? {
        b'C' => Some("callouts (?C…)"),
        b'|' => Some("branch reset groups (?|…)"),
        b'+' | b'-' if b.get(1).is_some_and(u8::is_ascii_digit) => {
            Some("relative subroutine calls (?+N)/(?-N)")
        }
        _ => None,
    }
}

/// When the engine refuses a pattern: a PCRE feature it lacks, named for the error message.
fn unsupported(p: &str) -> Option<&'static str> {
    if p.contains("(*") && !p.contains(r"\(*") {
        return Some("backtracking control verbs or start-of-pattern options (*…)");
    }
    if p.contains("(?J") {
        return Some("duplicate group names (?J)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(re: &str, text: &str) -> Option<Vec<Option<String>>> {
        let re = Regex::new(re).unwrap();
        re.captures(text)
            .map(|c| (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect())
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn plain_patterns_match_as_before() {
        let re = Regex::new(r"^/old/(.*)\.html$").unwrap();
        assert!(re.is_match("/old/a/b.html"));
        assert!(!re.is_match("/new/a.html"));
        assert_eq!(re.captures("/old/x.html").unwrap().get(1), Some("x"));
        assert_eq!(re.as_str(), r"^/old/(.*)\.html$");
    }

    #[test]
    fn group_names_in_group_order() {
        let re = Regex::new(r"^/(?<site>[a-z]+)/(\d+)/(?'Kind'x|y)(?P<rest>.*)").unwrap();
        let names: Vec<(usize, &str)> = re.group_names().iter().map(|(i, n)| (*i, &**n)).collect();
        assert_eq!(names, [(1, "site"), (3, "Kind"), (4, "rest")]);
        let c = re.captures("/ab/7/y-z").unwrap();
        assert_eq!(c.get(3), Some("y"));
        assert!(Regex::new(r"^/(a)(b)").unwrap().group_names().is_empty());
    }

    #[test]
    fn lookaround() {
        let re = Regex::new(r"^/(?!admin/)(.*)$").unwrap();
        assert!(re.is_match("/public/x"));
        assert!(!re.is_match("/admin/x"));
        assert!(re.is_match("/administrator"));
        let re = Regex::new(r"^/api/(?=v\d/)(.*)").unwrap();
        assert_eq!(
            re.captures("/api/v2/users").unwrap().get(1),
            Some("v2/users")
        );
        assert!(!re.is_match("/api/users"));
        let re = Regex::new(r"(?<=/img/)\w+(?<!thumb)\.png$").unwrap();
        assert!(re.is_match("/img/logo.png"));
        assert!(!re.is_match("/img/logothumb.png"));
        assert!(!re.is_match("/css/logo.png"));
    }

    #[test]
    fn backreferences() {
        assert_eq!(
            groups(r"^(\w+)=\1$", "ab=ab"),
            Some(vec![s("ab=ab"), s("ab")])
        );
        assert_eq!(groups(r"^(\w+)=\1$", "ab=ac"), None);
        assert!(Regex::new(r"(?<w>x+)-\k<w>").unwrap().is_match("xx-xx"));
        assert!(Regex::new(r"(?P<w>x+)-(?P=w)").unwrap().is_match("x-x"));
        // RewriteCond's "%{A}#%{B}" idiom: the same host on both sides.
        let re = Regex::new(r"^([^#]+)#\1$").unwrap();
        assert!(re.is_match("example.com#example.com"));
        assert!(!re.is_match("example.com#evil.com"));
    }

    #[test]
    fn atomic_possessive_and_conditionals() {
        // Possessive: `a++` gives nothing back, so a following `a` never matches.
        assert!(!Regex::new("^a++a").unwrap().is_match("aaa"));
        assert_eq!(groups("a{2}+", "aaaa"), Some(vec![s("aa")]));
        assert!(!Regex::new("^(?>a|ab)c$").unwrap().is_match("abc"));
        let re = Regex::new(r"^(<)?\w+(?(1)>)$").unwrap();
        assert!(re.is_match("<a>") && re.is_match("a") && !re.is_match("<a"));
    }

    #[test]
    fn recursion() {
        let re = Regex::new(r"^(\((?:[^()]|(?1))*\))$").unwrap();
        assert!(re.is_match("(a(b)c)"));
        assert!(!re.is_match("(a(b c)"));
        let re = Regex::new(r"^(?<p>\[(?:[^\[\]]|(?&p))*\])$").unwrap();
        assert!(re.is_match("[[x][y]]"));
        assert!(!re.is_match("[[x]"));
    }

    #[test]
    fn case_insensitive() {
        assert!(Regex::with_nocase("^/upper$", true)
            .unwrap()
            .is_match("/UPPER"));
        assert!(!Regex::with_nocase("^/upper$", false)
            .unwrap()
            .is_match("/UPPER"));
        assert!(Regex::new("(?i)^/upper$").unwrap().is_match("/Upper"));
        assert!(Regex::with_nocase(r"^(a)\1$", true).unwrap().is_match("aA"));
    }

    #[test]
    fn named_groups() {
        let re = Regex::new(r"^/u/(?<user>[^/]+)/(?'id'\d+)$").unwrap();
        let c = re.captures("/u/ann/42").unwrap();
        assert_eq!(c.name("user"), Some("ann"));
        assert_eq!(c.name("id"), Some("42"));
        // Named groups are numbered too, as in PCRE.
        assert_eq!(c.get(2), Some("42"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn httpd_defaults_dotall_and_dollar_endonly() {
        assert!(Regex::new("^/a.b$").unwrap().is_match("/a\nb"));
        assert!(!Regex::new("a$").unwrap().is_match("a\n"));
    }

    #[test]
    fn pcre_syntax_translated() {
        assert!(Regex::new(r"^\Q/a.b?\E$").unwrap().is_match("/a.b?"));
        assert!(!Regex::new(r"^\Q/a.b\E$").unwrap().is_match("/axb"));
        assert!(Regex::new(r"^\Q[x]").unwrap().is_match("[x]"));
        assert!(Regex::new(r"a\h+b").unwrap().is_match("a \tb"));
        assert!(!Regex::new(r"a\h+b").unwrap().is_match("a1b"));
        assert!(Regex::new(r"^\H+$").unwrap().is_match("ab"));
        assert!(Regex::new(r"a\vb").unwrap().is_match("a\nb"));
        assert!(Regex::new(r"[[]").unwrap().is_match("["));
        assert!(Regex::new(r"^[]a]+$").unwrap().is_match("]a"));
        assert!(Regex::new(r"^[^]a]+$").unwrap().is_match("bc"));
        assert!(Regex::new(r"^[a&&b]+$").unwrap().is_match("a&b"));
        assert!(Regex::new(r"^[[:alpha:]]+$").unwrap().is_match("abc"));
        assert!(Regex::new(r"^x{,2}$").unwrap().is_match("x{,2}"));
        assert!(Regex::new(r"^/{id}$").unwrap().is_match("/{id}"));
        assert!(Regex::new(r"^a\\Qb$").unwrap().is_match(r"a\Qb"));
        assert!(Regex::new("^é+$").unwrap().is_match("éé"));
        assert!(Regex::new(r"^\é$").unwrap().is_match("é"));
        // The classic query-string filter: `\<` and `\>` are PCRE's literal angle brackets.
        let xss = Regex::with_nocase(r"(\<|%3C).*script.*(\>|%3E)", true).unwrap();
        assert!(xss.is_match("q=<SCRIPT>x") && xss.is_match("q=%3cscript%3e"));
        assert!(!xss.is_match("q=script"));
        assert!(Regex::new(r"^\Q<a>\E$").unwrap().is_match("<a>"));
        assert!(Regex::new(r"^a\cAb$").unwrap().is_match("a\x01b"));
        assert!(Regex::new(r"^a\012b\0$").unwrap().is_match("a\nb\0"));
        assert!(Regex::new(r"^\o{101}$").unwrap().is_match("A"));
    }

    /// What docs/configuration.md says works (its "Regular expressions" section).
    #[test]
    fn documented_features() {
        for (re, yes, no) in [
            (r"^/a/\K\w+", "/a/b", "/b/b"),
            (r"\Aab\z", "ab", "ab\n"),
            (r"ab\Z", "ab\n", "abc"),
            (r"^a\Rb$", "a\r\nb", "ab"),
            (r"^\e$", "\x1b", "e"),
            (r"^(?<q>')?x(?(<q>)')$", "'x'", "'x"),
            (r"^a(*FAIL)|b$", "b", "a"),
            (r"^a(?#note)b$", "ab", "a(?#note)b"),
            (r"^a?+a$", "aa", "a"),
            (r"^a{2,}+$", "aaa", "a"),
            (r"^a{2,}+a|^b", "b", "aaaa"),
            (r"^\x{41}\x42$", "AB", "ab"),
            (r"^(?x) a \  b # comment", "a b", "ab"),
            (r"(?m)^b$", "a\nb", "ab"),
        ] {
            let r = Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}"));
            assert!(r.is_match(yes) && !r.is_match(no), "{re}");
        }
        let first = |re: &str, text: &str| {
            let r = Regex::new(re).unwrap();
            r.captures(text).and_then(|c| c.get(0).map(str::to_string))
        };
        assert_eq!(first(r"^/a/\K\w+", "/a/b").as_deref(), Some("b"));
        assert_eq!(first(r"(?U)a+", "aaa").as_deref(), Some("a"));
    }

    #[test]
    fn pcre_backreference_forms() {
        for re in [r"^(a)\g1$", r"^(a)\g{1}$", r"^(?<x>a)\g{x}$"] {
            let re = Regex::new(re).unwrap();
            assert!(re.is_match("aa") && !re.is_match("ab"), "{re:?}");
        }
        // `\g1` then a literal `0`, not group 10.
        assert!(Regex::new(r"^(a)\g{1}0$").unwrap().is_match("aa0"));
        assert!(Regex::new(r"^(a)\g10$")
            .unwrap_err()
            .to_string()
            .contains("invalid"));
    }

    #[test]
    fn errors() {
        for bad in ["^(x", "a)", "[a", "x**", r"\", "(?<=a+b)(?<n>"] {
            let e = Regex::new(bad).unwrap_err();
            assert!(matches!(e, RegexError::Invalid { .. }), "{bad}: {e}");
        }
        for (pcre, what) in [
            ("(?C1)a", "callouts"),
            (r"a\Cb", r"\C"),
            ("(?|(a)|(b))", "branch reset"),
            ("(*SKIP)a", "(*"),
            ("(*UTF)a", "(*"),
            ("(a)(?-1)", "relative"),
            (r"(a)\g{-1}", "relative"),
            (r"a\Xb", "grapheme"),
            ("(?J)(?<n>a)|(?<n>b)", "duplicate"),
        ] {
            let e = Regex::new(pcre).unwrap_err();
            assert!(
                matches!(e, RegexError::Unsupported { .. }) && e.to_string().contains(what),
                "{pcre}: {e}"
            );
        }
    }

    #[test]
    fn runaway_backtracking_is_no_match() {
        let re = Regex::new(r"^(a+)+\1b$").unwrap();
        assert!(!re.is_match(&"a".repeat(40)));
    }

    #[test]
    fn substitute_is_ap_pregsub() {
        let re = Regex::new(r"^/(\w+)/(\d+)(x)?").unwrap();
        let c = re.captures("/user/42").unwrap();
        assert_eq!(c.substitute("/u?name=$1&id=$2"), "/u?name=user&id=42");
        assert_eq!(c.substitute("$0|$3|$9"), "/user/42||");
        assert_eq!(c.substitute(r"\$1 costs \\$2$"), r"$1 costs \42$");
        assert_eq!(c.substitute("$10"), "user0");
    }

    #[test]
    fn edit_and_edit_all() {
        let re = Regex::new("^a").unwrap();
        assert_eq!(re.edit("aaa", "b", false), "baa");
        // edit*: each rest is a new subject, so `^` matches again (as in httpd).
        assert_eq!(re.edit("aaa", "b", true), "bbb");
        let re = Regex::new(r"(\d+)").unwrap();
        assert_eq!(re.edit("a1b22c", "<$1>", true), "a<1>b<22>c");
        assert_eq!(re.edit("abc", "<$1>", true), "abc");
        let re = Regex::new("x*").unwrap();
        assert_eq!(re.edit("abc", "-", true), "-abc");
        let re = Regex::new(r"(?<=,)\s*").unwrap();
        assert_eq!(re.edit("a, b", "", false), "a,b");
    }
}
