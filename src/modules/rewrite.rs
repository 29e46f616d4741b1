//! mod_rewrite's engine: the server/vhost rules in the URL-to-filename phase (`translate`)
//! and the `<Directory>`/`.htaccess` rules in the fixups phase (`fixup`, which ends in an
//! internal redirect), with conditions, back-references, server variables and maps. Patterns
//! use the `regex` crate (no look-around or back-references inside a pattern, unlike PCRE).

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::request::{Request, Response};
use crate::config::dir::opt;
use crate::config::directives::rewrite::{
    merge_server, Cond, CondTest, Map, RewriteConf, Rule, StrOp,
};
use crate::config::pcre::Regex;
use crate::config::SectionKind;

/// What the request does after a rewrite phase.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed (or `PT`: `req.uri` changed): the next module maps the URL.
    Continue,
    /// `req.filename` is set: alias and DocumentRoot are skipped.
    Mapped,
    /// Answer with this status (a redirect's Location is already in the response).
    Status(u16),
    /// `[P]`: hand to mod_proxy with this backend URL.
    Proxy(String),
    /// Per-dir rewrite to a new URL and query: redo the request with them (`req.filename`
    /// reads `redirect:URL` meanwhile, as httpd's r->filename, if the redirect is refused).
    Internal(String, Option<String>),
}

/// Per-request state that crosses phases (httpd keeps it in request notes).
#[derive(Clone, Debug, Default)]
pub struct Notes {
    /// `[END]` was hit: no more rewriting for this request, internal redirects included.
    pub end: bool,
    /// Internal redirects so far (LimitInternalRecursion: 10).
    pub redirects: u8,
    /// `[T=]` and `[H=]` from the server-level rules, applied once the sections are merged.
    pub ctype: Option<String>,
    pub handler: Option<String>,
}

/// The result of one pass over a rule list.
#[derive(Debug, Default)]
struct Outcome {
    changed: bool,
    noescape: bool,
    /// The new URL/filename and query (`None` = unchanged query).
    uri: String,
    query: Option<Option<String>>,
    redirect: Option<u16>,
    status: Option<u16>,
    proxy: bool,
    passthrough: bool,
}

struct Ctx<'r, 'a> {
    req: &'r Request<'a>,
    /// The directory prefix of per-dir rules (with trailing slash); `None` at server level.
    perdir: Option<String>,
    maps: &'r [(String, Arc<Map>)],
    filename: String,
    fx: Effects,
    /// The request headers the condition being evaluated looked at and found (httpd's
    /// `vary_this`).
    vary_this: RefCell<String>,
}

/// Environment changes, cookies, T and H made by the rules.
#[derive(Default)]
struct Effects {
    env: Vec<(String, Option<String>)>,
    cookies: Vec<String>,
    ctype: Option<String>,
    handler: Option<String>,
}

fn trace(level: u8, msg: &str) {
    match level {
        1 => crate::ap_log!(trace1, "rewrite", "{msg}"),
        2 => crate::ap_log!(trace2, "rewrite", "{msg}"),
        3 => crate::ap_log!(trace3, "rewrite", "{msg}"),
        _ => crate::ap_log!(trace4, "rewrite", "{msg}"),
    }
}

fn is_absolute_uri(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+')
        }
        None => {
            let l = s.to_ascii_lowercase();
            l.starts_with("mailto:") || l.starts_with("news:")
        }
    }
}

/// `%`-escapes what is not allowed unescaped in a URL path or query (httpd's ap_escape_uri).
fn escape_uri(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:@&=/~;".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02x}"));
        }
    }
    o
}

/// `B` flag / `int:escape`: escape everything but alphanumerics.
fn escape_backref(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            o.push(b as char);
        } else if b == b' ' {
            o.push('+');
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A request header for `%{HTTP:Name}` and `%{HTTP_*}`; one the request has (but `Host`)
/// is noted for `Vary`, under the name the config spelt.
fn header(c: &Ctx<'_, '_>, name: &str) -> String {
    match c.req.header_in(name) {
        Some(v) => {
            if !name.eq_ignore_ascii_case("Host") {
                let mut vt = c.vary_this.borrow_mut();
                if !vt.is_empty() {
                    vt.push_str(", ");
                }
                vt.push_str(name);
            }
            v.to_string()
        }
        None => String::new(),
    }
}

/// A server variable `%{NAME}` as mod_rewrite sees it.
fn variable(c: &Ctx<'_, '_>, name: &str) -> String {
    let req = c.req;
    if let Some(v) = name.strip_prefix("ENV:") {
        if let Some((_, v)) = c.fx.env.iter().rev().find(|(n, _)| n == v) {
            return v.clone().unwrap_or_default();
        }
        return req
            .env_var(v)
            .map(str::to_string)
            .or_else(|| std::env::var(v).ok())
            .unwrap_or_default();
    }
    if let Some(h) = name.strip_prefix("HTTP:") {
        return header(c, h);
    }
    if let Some(v) = name.strip_prefix("SSL:") {
        return super::ssl::var(req.https, req.ssl, v)
            .map(|v| v.into_owned())
            .unwrap_or_default();
    }
    let name = name
        .strip_prefix("LA-U:")
        .or_else(|| name.strip_prefix("LA-F:"))
        .unwrap_or(name);
    let https = req.config.tls.port_for(req.local).is_some();
    match name {
        "HTTP_USER_AGENT" => header(c, "User-Agent"),
        "HTTP_REFERER" => header(c, "Referer"),
        "HTTP_COOKIE" => header(c, "Cookie"),
        "HTTP_FORWARDED" => header(c, "Forwarded"),
        "HTTP_HOST" => header(c, "Host"),
        "HTTP_PROXY_CONNECTION" => header(c, "Proxy-Connection"),
        "HTTP_ACCEPT" => header(c, "Accept"),
        "REMOTE_ADDR" | "REMOTE_HOST" => req.useragent.ip().to_canonical().to_string(),
        "REMOTE_PORT" => req.useragent.port().to_string(),
        "CONN_REMOTE_ADDR" => req.peer.ip().to_canonical().to_string(),
        "REMOTE_USER" => req.env_var("REMOTE_USER").unwrap_or("").into(),
        "REMOTE_IDENT" => String::new(),
        "REQUEST_METHOD" => req.method_str.into(),
        "SCRIPT_FILENAME" | "REQUEST_FILENAME" => c.filename.clone(),
        "PATH_INFO" => String::new(),
        "QUERY_STRING" => req.query.clone().unwrap_or_default(),
        "AUTH_TYPE" => req
            .env_var("AUTH_TYPE")
            .map(str::to_string)
            .unwrap_or_default(),
        "DOCUMENT_ROOT" | "CONTEXT_DOCUMENT_ROOT" => {
            req.server.document_root.to_string_lossy().into_owned()
        }
        "CONTEXT_PREFIX" => String::new(),
        "SERVER_ADMIN" => req.server.server_admin.clone().unwrap_or_default(),
        "SERVER_NAME" => match &req.hostname {
            Some(h) if !h.is_empty() => h.clone(),
            _ => req.server.server_name.clone().unwrap_or_default(),
        },
        "SERVER_ADDR" => req.local.ip().to_canonical().to_string(),
        // UseCanonicalName Off: the port the client named (its scheme's default without one).
        "SERVER_PORT" => match &req.hostname {
            Some(h) if !h.is_empty() => req
                .host_port
                .unwrap_or(if https { 443 } else { 80 })
                .to_string(),
            _ => req.local.port().to_string(),
        },
        "SERVER_PROTOCOL" => req.head.protocol().into(),
        "SERVER_SOFTWARE" => super::banner(req.config.server_tokens).into(),
        "TIME" | "TIME_YEAR" | "TIME_MON" | "TIME_DAY" | "TIME_HOUR" | "TIME_MIN" | "TIME_SEC"
        | "TIME_WDAY" => super::expr::time_var(name, req.time as i64),
        "API_VERSION" => "20120211:141".into(),
        "IS_SUBREQ" => "false".into(),
        "THE_REQUEST" => String::from_utf8_lossy(req.head.request_line()).into_owned(),
        "REQUEST_URI" => req.uri.clone(),
        "REQUEST_SCHEME" => if https { "https" } else { "http" }.into(),
        "HTTPS" => if https { "on" } else { "off" }.into(),
        _ => String::new(),
    }
}

type MapCache = HashMap<PathBuf, (i64, u64, Arc<HashMap<String, String>>)>;

thread_local! {
    static MAPS: RefCell<MapCache> = RefCell::new(HashMap::new());
    static RND: std::cell::Cell<u64> = const { std::cell::Cell::new(0x9e37_79b9_7f4a_7c15) };
}

/// A `txt:`/`rnd:` map file (`key value` lines, `#` comments), cached per thread by mtime.
fn map_file(p: &Path) -> Option<Arc<HashMap<String, String>>> {
    let meta = std::fs::metadata(p).ok()?;
    let key = (meta.mtime(), meta.size());
    if let Some(m) = MAPS.with(|c| {
        c.borrow()
            .get(p)
            .filter(|e| (e.0, e.1) == key)
            .map(|e| e.2.clone())
    }) {
        return Some(m);
    }
    let text = std::fs::read_to_string(p).ok()?;
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut w = line.split_whitespace();
        if let (Some(k), Some(v)) = (w.next(), w.next()) {
            m.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    let m = Arc::new(m);
    MAPS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 64 {
            c.clear();
        }
        c.insert(p.to_path_buf(), (key.0, key.1, m.clone()));
    });
    Some(m)
}

fn lookup_map(c: &Ctx<'_, '_>, name: &str, key: &str) -> Option<String> {
    let (_, m) = c.maps.iter().find(|(n, _)| n == name)?;
    match &**m {
        Map::ToLower => Some(key.to_lowercase()),
        Map::ToUpper => Some(key.to_uppercase()),
        Map::Escape => Some(escape_uri(key)),
        Map::Unescape => Some(unescape(key)),
        Map::Txt(p) => map_file(p)?.get(key).cloned(),
        Map::Rnd(p) => {
            let v = map_file(p)?.get(key).cloned()?;
            let choices: Vec<&str> = v.split('|').collect();
            let n = RND.with(|r| {
                // xorshift: a different pick per lookup, no crate needed.
                let mut x = r.get() ^ c.req.time;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                r.set(x);
                x
            });
            Some(choices[(n % choices.len() as u64) as usize].to_string())
        }
    }
}

/// The end of a `{…}` group starting after `open`, with nesting.
fn close_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 1;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Expands `$N`, `%N`, `%{VAR}`, `${map:key|default}` and `\x` in `s`.
fn expand(
    c: &Ctx<'_, '_>,
    s: &str,
    rule: &[Option<String>],
    cond: &[Option<String>],
    b_flag: bool,
) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    let mut lit = i;
    let flush = |out: &mut String, from: usize, to: usize| out.push_str(&s[from..to]);
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                flush(&mut out, lit, i);
                let ch = s[i + 1..].chars().next().unwrap_or('\\');
                out.push(ch);
                i += 1 + ch.len_utf8();
                lit = i;
            }
            b'$' | b'%' if i + 1 < b.len() && b[i + 1].is_ascii_digit() => {
                flush(&mut out, lit, i);
                let n = (b[i + 1] - b'0') as usize;
                let caps = if b[i] == b'$' { rule } else { cond };
                if let Some(Some(v)) = caps.get(n) {
                    if b_flag && b[i] == b'$' {
                        out.push_str(&escape_backref(v));
                    } else {
                        out.push_str(v);
                    }
                }
                i += 2;
                lit = i;
            }
            b'%' if b.get(i + 1) == Some(&b'{') => {
                let Some(end) = close_brace(b, i + 2) else {
                    i += 1;
                    continue;
                };
                flush(&mut out, lit, i);
                let name = &s[i + 2..end];
                out.push_str(&variable(c, name));
                i = end + 1;
                lit = i;
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let Some(end) = close_brace(b, i + 2) else {
                    i += 1;
                    continue;
                };
                flush(&mut out, lit, i);
                let inner = &s[i + 2..end];
                if let Some((name, rest)) = inner.split_once(':') {
                    let (key, default) = match rest.split_once('|') {
                        Some((k, d)) => (k, Some(d)),
                        None => (rest, None),
                    };
                    let key = expand(c, key, rule, cond, false);
                    match lookup_map(c, name, &key) {
                        Some(v) if !v.is_empty() => out.push_str(&v),
                        _ => {
                            if let Some(d) = default {
                                out.push_str(&expand(c, d, rule, cond, false));
                            }
                        }
                    }
                } else {
                    out.push_str(&s[i..=end]);
                }
                i = end + 1;
                lit = i;
            }
            _ => i += 1,
        }
    }
    flush(&mut out, lit, b.len());
    out
}

fn captures(re: &Regex, s: &str) -> Option<Vec<Option<String>>> {
    let caps = re.captures(s)?;
    Some(
        (0..caps.len().min(10))
            .map(|i| caps.get(i).map(str::to_string))
            .collect(),
    )
}

fn int_cmp(op: StrOp, a: &str, b: &str) -> bool {
    let a: i64 = crate::config::directives::atoi(a);
    let b: i64 = crate::config::directives::atoi(b);
    match op {
        StrOp::Eq => a == b,
        StrOp::Ne => a != b,
        StrOp::Lt => a < b,
        StrOp::Le => a <= b,
        StrOp::Gt => a > b,
        StrOp::Ge => a >= b,
    }
}

/// One RewriteCond; on a regex match its groups become the `%N` of what follows.
fn cond_matches(
    c: &Ctx<'_, '_>,
    cond: &Cond,
    rule: &[Option<String>],
    last: &mut Vec<Option<String>>,
) -> bool {
    let input = expand(c, &cond.input, rule, last, false);
    let ok = match &cond.test {
        CondTest::Regex(re) => match captures(re, &input) {
            Some(caps) => {
                if !cond.negate {
                    *last = caps;
                }
                true
            }
            None => false,
        },
        CondTest::File(t) => {
            let p = Path::new(&input);
            match t {
                'd' => p.is_dir(),
                'f' | 'F' => p.is_file(),
                's' => std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0),
                'l' | 'L' | 'h' => {
                    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                }
                'x' => std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o111 != 0),
                'e' => p.exists(),
                // -U: the URL maps to something that exists under DocumentRoot.
                'U' => {
                    let mut f = c.req.server.document_root.clone().into_os_string();
                    f.push(&input);
                    Path::new(&f).exists()
                }
                _ => false,
            }
        }
        CondTest::Str(op, rhs) => {
            let rhs = expand(c, rhs, rule, last, false);
            let (a, b) = if cond.nocase {
                (input.to_lowercase(), rhs.to_lowercase())
            } else {
                (input.clone(), rhs)
            };
            // httpd orders by length first, then bytes.
            let ord = a.len().cmp(&b.len()).then_with(|| a.cmp(&b));
            match op {
                StrOp::Eq => a == b,
                StrOp::Ne => a != b,
                StrOp::Lt => ord.is_lt(),
                StrOp::Le => ord.is_le(),
                StrOp::Gt => ord.is_gt(),
                StrOp::Ge => ord.is_ge(),
            }
        }
        CondTest::Int(op, rhs) => {
            let rhs = expand(c, rhs, rule, last, false);
            int_cmp(*op, &input, &rhs)
        }
    };
    let r = ok != cond.negate;
    trace(
        4,
        &format!(
            "RewriteCond: input='{input}' pattern='{}' => {}",
            cond.text,
            if r { "matched" } else { "not-matched" }
        ),
    );
    r
}

/// Splits `uri?query` and applies QSA/QSD/QSL.
fn split_query(uri: &str, rule: &Rule, old: Option<&str>) -> (String, Option<Option<String>>) {
    let f = &rule.flags;
    let at = if f.qsl { uri.rfind('?') } else { uri.find('?') };
    match at {
        Some(i) => {
            let (path, q) = (&uri[..i], &uri[i + 1..]);
            let q = if f.qsa {
                match old.filter(|o| !o.is_empty()) {
                    Some(o) if !q.is_empty() => Some(format!("{q}&{o}")),
                    Some(o) => Some(o.to_string()),
                    None => (!q.is_empty()).then(|| q.to_string()),
                }
            } else {
                (!q.is_empty()).then(|| q.to_string())
            };
            (path.to_string(), Some(q))
        }
        None if f.qsd => (uri.to_string(), Some(None)),
        None => (uri.to_string(), None),
    }
}

/// Runs a rule list over `c.filename` (the URL at server level, the file path per-dir).
fn apply_list(c: &mut Ctx<'_, '_>, conf: &RewriteConf, notes: &mut Notes) -> Result<Outcome, u16> {
    let mut out = Outcome::default();
    let rules = &conf.rules;
    let mut rounds: u32 = 0;
    let mut i = 0;
    let mut query: Option<Option<String>> = None;
    while i < rules.len() {
        let rule = &rules[i];
        let cur_query = match &query {
            Some(q) => q.clone(),
            None => c.req.query.clone(),
        };
        let subject = match &c.perdir {
            Some(d) => c.filename.strip_prefix(d.as_str()).unwrap_or(&c.filename),
            None => c.filename.as_str(),
        }
        .to_string();
        let caps = if rule.negate {
            (!rule.pattern.is_match(&subject)).then(Vec::new)
        } else {
            captures(&rule.pattern, &subject)
        };
        trace(
            3,
            &format!(
                "{}applying pattern '{}' to uri '{subject}'",
                c.perdir
                    .as_deref()
                    .map(|d| format!("[perdir {d}] "))
                    .unwrap_or_default(),
                rule.pattern.as_str()
            ),
        );
        let matched = match caps {
            None => None,
            Some(rcaps) => {
                // Conditions, with [OR] chains. The headers of the conditions that decided
                // go to Vary once the rule matched (a false one in an OR chain does not
                // count, nor does an NV one).
                let mut last: Vec<Option<String>> = Vec::new();
                let mut ok = true;
                let mut vary = String::new();
                c.vary_this.borrow_mut().clear();
                let mut j = 0;
                while j < rule.conds.len() {
                    let cd = &rule.conds[j];
                    let r = cond_matches(c, cd, &rcaps, &mut last);
                    if cd.novary {
                        c.vary_this.borrow_mut().clear();
                    }
                    if cd.or {
                        if !r {
                            c.vary_this.borrow_mut().clear();
                            j += 1;
                            continue;
                        }
                        while j < rule.conds.len() && rule.conds[j].or {
                            j += 1;
                        }
                    } else if !r {
                        ok = false;
                        break;
                    }
                    let vt = std::mem::take(&mut *c.vary_this.borrow_mut());
                    if !vt.is_empty() {
                        if !vary.is_empty() {
                            vary.push_str(", ");
                        }
                        vary.push_str(&vt);
                    }
                    j += 1;
                }
                if ok && !vary.is_empty() {
                    c.req.add_vary(&vary);
                }
                ok.then_some((rcaps, last))
            }
        };
        let Some((rcaps, ccaps)) = matched else {
            if rule.flags.chain {
                while i < rules.len() && rules[i].flags.chain {
                    i += 1;
                }
            }
            i += 1;
            continue;
        };
        let f = &rule.flags;
        for (name, val) in &f.env {
            let val = val.as_ref().map(|v| expand(c, v, &rcaps, &ccaps, false));
            let name = expand(c, name, &rcaps, &ccaps, false);
            c.fx.env.push((name, val));
        }
        for co in &f.cookies {
            let v = expand(c, co, &rcaps, &ccaps, false);
            c.fx.cookies.push(v);
        }
        if let Some(t) = &f.ctype {
            c.fx.ctype = Some(expand(c, t, &rcaps, &ccaps, false));
        }
        if let Some(h) = &f.handler {
            c.fx.handler = Some(expand(c, h, &rcaps, &ccaps, false));
        }
        if f.forbidden {
            out.status = Some(403);
            out.changed = true;
            return Ok(out);
        }
        if f.gone {
            out.status = Some(410);
            out.changed = true;
            return Ok(out);
        }
        if let Some(code) = f.redirect.filter(|c| !(300..400).contains(c)) {
            // R with a non-redirect status: the substitution is dropped, as with [L].
            out.status = Some(code);
            out.changed = true;
            return Ok(out);
        }
        if rule.subst != "-" {
            let new = expand(c, &rule.subst, &rcaps, &ccaps, f.escape_backrefs);
            let (mut path, q) = split_query(&new, rule, cur_query.as_deref());
            if let Some(q) = q {
                query = Some(q);
            }
            if let Some(d) = &c.perdir {
                if !path.starts_with('/') && !is_absolute_uri(&path) {
                    path = format!("{d}{path}");
                }
            }
            trace(2, &format!("rewrite '{subject}' -> '{path}'"));
            c.filename = path;
            out.changed = true;
        } else if f.qsd {
            query = Some(None);
            out.changed = true;
        }
        out.noescape |= f.noescape;
        if f.redirect.is_some() {
            out.redirect = f.redirect;
            out.changed = true;
            break;
        }
        if f.proxy {
            out.proxy = true;
            out.changed = true;
            break;
        }
        if f.passthrough {
            out.passthrough = true;
            out.changed = true;
            break;
        }
        if f.end {
            notes.end = true;
            break;
        }
        if f.last {
            break;
        }
        if let Some(max) = f.next {
            rounds += 1;
            if rounds > max {
                crate::ap_log!(
                    error,
                    "rewrite",
                    "AH02607: RewriteRule '{}' and URI '{}' exceeded maximum number of rounds ({max}) via the [N] flag",
                    rule.pattern.as_str(),
                    c.filename
                );
                return Err(500);
            }
            i = 0;
            continue;
        }
        i += 1 + f.skip as usize;
    }
    out.uri = c.filename.clone();
    out.query = query;
    Ok(out)
}

/// The server-level config in force: a vhost that wrote no rewrite directive inherits only
/// the main server's engine state and options (rules only with `Inherit`).
fn server_conf(req: &Request<'_>) -> Option<Arc<RewriteConf>> {
    let own = req.server.dir.rewrite_server.clone();
    if req.server.span.is_some() && !req.server.set_here.contains(&"rewrite") {
        let main = req.config.main.dir.rewrite_server.as_ref()?;
        return Some(Arc::new(merge_server(main, &RewriteConf::default())));
    }
    own
}

/// `Set-Cookie` for a `CO=name:value:domain[:lifetime[:path[:secure[:httponly[:samesite]]]]]`.
fn cookie(spec: &str, now: u64) -> Option<String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() < 3 {
        return None;
    }
    let mut s = format!("{}={}; path=", parts[0], parts[1]);
    s.push_str(
        parts
            .get(4)
            .copied()
            .filter(|p| !p.is_empty())
            .unwrap_or("/"),
    );
    if let Some(l) = parts.get(3).and_then(|l| l.parse::<u64>().ok()) {
        if l > 0 {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now + l * 60);
            s.push_str("; expires=");
            s.push_str(&httpdate::fmt_http_date(t));
        }
    }
    if parts[2] != "0" {
        s.push_str("; domain=");
        s.push_str(parts[2]);
    }
    let on = |i: usize| {
        parts.get(i).is_some_and(|v| {
            v.eq_ignore_ascii_case("secure")
                || v.eq_ignore_ascii_case("true")
                || *v == "1"
                || v.eq_ignore_ascii_case("httponly")
        })
    };
    if on(5) {
        s.push_str("; secure");
    }
    if on(6) {
        s.push_str("; HttpOnly");
    }
    Some(s)
}

/// Applies what the rules set besides the URL: environment, cookies, T and H.
fn side_effects(
    req: &mut Request<'_>,
    resp: &mut Response,
    fx: Effects,
) -> (Option<String>, Option<String>) {
    let Effects {
        env,
        cookies,
        ctype,
        handler,
    } = fx;
    for (n, v) in env {
        match v {
            Some(v) => req.set_env(&n, &v),
            None => req.unset_env(&n),
        }
    }
    for co in cookies {
        if let Some(h) = cookie(&co, req.time) {
            resp.err_headers.push(("Set-Cookie".into(), h));
        }
    }
    (ctype, handler)
}

/// Answers with a redirect to `loc`; httpd leaves the URL in r->filename too, which is what
/// the access log's `%f` shows for it.
fn set_location(req: &mut Request<'_>, resp: &mut Response, loc: String) {
    req.filename = PathBuf::from(&loc);
    resp.set("Location", loc);
}

/// The Location of a redirect: the URL qualified with this server, the query escaped unless
/// `NE` (or unchanged).
fn location(req: &Request<'_>, uri: &str, query: Option<&str>, noescape: bool) -> String {
    let mut l = if is_absolute_uri(uri) {
        uri.to_string()
    } else if uri.starts_with('/') {
        format!("{}{uri}", super::self_url(req))
    } else {
        format!("{}/{uri}", super::self_url(req))
    };
    if let Some(q) = query {
        l.push('?');
        if noescape || req.query.as_deref() == Some(q) {
            l.push_str(q);
        } else {
            l.push_str(&escape_uri(q));
        }
    }
    l
}

/// Strips `http://this-server[:port]` from an absolute URL that points back at us.
fn reduce_uri(req: &Request<'_>, uri: &str) -> Option<String> {
    let https = req.config.tls.port_for(req.local).is_some();
    let rest = if https {
        uri.strip_prefix("https://")
    } else {
        uri.strip_prefix("http://")
    }?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (h, p.parse::<u16>().ok()?),
        _ => (hostport, if https { 443 } else { 80 }),
    };
    let ours = req
        .hostname
        .as_deref()
        .or(req.server.server_name.as_deref())
        .unwrap_or("");
    let our_port = req.host_port.unwrap_or(if https { 443 } else { 80 });
    (host.eq_ignore_ascii_case(ours) && port == our_port).then(|| path.to_string())
}

fn query_of(req: &Request<'_>, out: &Outcome) -> Option<String> {
    match &out.query {
        Some(q) => q.clone(),
        None => req.query.clone(),
    }
}

/// The URL-to-filename phase: the server/vhost rules.
pub fn translate(req: &mut Request<'_>, resp: &mut Response) -> Action {
    let Some(conf) = server_conf(req) else {
        return Action::Continue;
    };
    if !conf.engine_on() || conf.rules.is_empty() || req.rewrite.end {
        return Action::Continue;
    }
    let mut notes = std::mem::take(&mut req.rewrite);
    let mut c = Ctx {
        req,
        perdir: None,
        maps: &conf.maps,
        filename: req.uri.clone(),
        fx: Effects::default(),
        vary_this: RefCell::default(),
    };
    trace(
        2,
        &format!("init rewrite engine with requested uri {}", req.uri),
    );
    let out = apply_list(&mut c, &conf, &mut notes);
    let fx = c.fx;
    let (ctype, handler) = side_effects(req, resp, fx);
    notes.ctype = ctype.or(notes.ctype);
    notes.handler = handler.or(notes.handler);
    req.rewrite = notes;
    let out = match out {
        Ok(o) => o,
        Err(s) => return Action::Status(s),
    };
    if let Some(s) = out.status {
        // httpd's engine starts from r->filename = the URL path; [F], [G] and [R=4xx]
        // answer with it left so, which the log's %f shows.
        req.filename = PathBuf::from(&req.uri);
        return Action::Status(s);
    }
    if !out.changed {
        return Action::Continue;
    }
    let query = query_of(req, &out);
    if out.proxy {
        let mut url = if is_absolute_uri(&out.uri) {
            out.uri.clone()
        } else {
            format!("{}{}", super::self_url(req), out.uri)
        };
        if let Some(q) = &query {
            url.push('?');
            url.push_str(q);
        }
        return Action::Proxy(url);
    }
    let mut uri = out.uri.clone();
    if out.redirect.is_none() && is_absolute_uri(&uri) {
        match reduce_uri(req, &uri) {
            Some(p) => uri = p,
            None => {
                // An absolute URL to elsewhere is an implicit redirect.
                let loc = location(req, &uri, query.as_deref(), out.noescape);
                set_location(req, resp, loc);
                return Action::Status(302);
            }
        }
    }
    if let Some(code) = out.redirect {
        trace(1, &format!("redirect to {uri} [REDIRECT/{code}]"));
        let loc = location(req, &uri, query.as_deref(), out.noescape);
        set_location(req, resp, loc);
        return Action::Status(code);
    }
    req.query = query;
    if out.passthrough {
        trace(
            2,
            &format!("forcing '{uri}' to get passed through to next API URI-to-filename handler"),
        );
        req.uri = uri;
        return Action::Continue;
    }
    if !uri.starts_with('/') {
        return Action::Status(400);
    }
    // A path whose first segment does not exist is a URL under DocumentRoot.
    let first = uri[1..].split('/').next().unwrap_or("");
    let filename = if !first.is_empty() && Path::new(&format!("/{first}")).exists() {
        PathBuf::from(&uri)
    } else {
        let mut f = req.server.document_root.clone().into_os_string();
        f.push(&uri);
        PathBuf::from(f)
    };
    trace(1, &format!("go-ahead with {}", filename.display()));
    req.filename = filename;
    Action::Mapped
}

/// The environment of an internal redirect, as httpd builds it: every variable renamed
/// `REDIRECT_<name>`, plus `REDIRECT_STATUS` (what `RewriteCond %{ENV:REDIRECT_STATUS} ^$`
/// loop guards test). The authenticated user stays (httpd copies `r->user`).
pub fn redirect_env(req: &mut Request<'_>) {
    let old = std::mem::take(&mut req.env);
    for (k, v) in old {
        if k == "REMOTE_USER" || k == "AUTH_TYPE" {
            req.env.push((k.clone(), v.clone()));
        }
        req.env.push((format!("REDIRECT_{k}"), v));
    }
    req.set_env("REDIRECT_STATUS", "200");
}

/// The directory of the per-dir rules in force, with a trailing slash.
fn perdir_of(req: &Request<'_>, conf: &RewriteConf) -> Option<String> {
    let origin = conf.origin.as_ref()?;
    let dir = if conf.htaccess {
        origin.file.parent()?.to_string_lossy().into_owned()
    } else {
        let mut found = None;
        for s in &req.server.sections {
            for sec in std::iter::once(s).chain(s.nested.iter()) {
                let same = sec
                    .conf
                    .rewrite
                    .as_ref()
                    .and_then(|r| r.origin.as_ref())
                    .is_some_and(|o| o == origin);
                if same {
                    found = Some(sec);
                }
            }
        }
        let sec = found?;
        // httpd uses the section's path as written; in a <Location> it rarely prefixes the
        // file name, so the rules then see the whole path.
        match (&sec.kind, &sec.matcher) {
            (
                SectionKind::Directory | SectionKind::Location,
                crate::config::Matcher::Literal(p) | crate::config::Matcher::Wildcard(p),
            ) => p.clone(),
            _ => return None,
        }
    };
    let mut d = dir.trim_end_matches('/').to_string();
    d.push('/');
    Some(d)
}

/// The fixups phase: the `<Directory>`/`.htaccess` rules, then `T=`/`H=` of either level.
pub fn fixup(req: &mut Request<'_>, resp: &mut Response) -> Action {
    let action = perdir(req, resp);
    let (ctype, handler) = (req.rewrite.ctype.take(), req.rewrite.handler.take());
    if ctype.is_some() || handler.is_some() {
        let d = Arc::make_mut(&mut req.dir);
        if let Some(t) = ctype {
            d.force_type = Some(t);
        }
        if let Some(h) = handler {
            d.handler = Some(h);
        }
    }
    action
}

fn perdir(req: &mut Request<'_>, resp: &mut Response) -> Action {
    let Some(conf) = req.dir.rewrite.clone() else {
        return Action::Continue;
    };
    if !conf.engine_on() || conf.rules.is_empty() || req.rewrite.end {
        return Action::Continue;
    }
    let opts = req.dir.options_bits();
    if opts & (opt::SYM_LINKS | opt::SYM_OWNER) == 0 {
        crate::ap_log!(
            error,
            "rewrite",
            "AH00670: Options FollowSymLinks and SymLinksIfOwnerMatch are both off, so the RewriteRule directive is also forbidden due to its similar ability to circumvent directory restrictions : {}",
            req.filename.display()
        );
        return Action::Status(403);
    }
    let Some(dir) = perdir_of(req, &conf) else {
        return Action::Continue;
    };
    let ofilename = req.filename.to_string_lossy().into_owned();
    let server_maps = server_conf(req);
    let maps: &[(String, Arc<Map>)] = server_maps.as_ref().map_or(&[], |s| &s.maps);
    let mut notes = std::mem::take(&mut req.rewrite);
    let mut c = Ctx {
        req,
        perdir: Some(dir.clone()),
        maps,
        filename: ofilename.clone(),
        fx: Effects::default(),
        vary_this: RefCell::default(),
    };
    let out = apply_list(&mut c, &conf, &mut notes);
    let fx = c.fx;
    let (ctype, handler) = side_effects(req, resp, fx);
    notes.ctype = ctype.or(notes.ctype);
    notes.handler = handler.or(notes.handler);
    req.rewrite = notes;
    let out = match out {
        Ok(o) => o,
        Err(s) => return Action::Status(s),
    };
    if let Some(s) = out.status {
        return Action::Status(s);
    }
    if !out.changed {
        return Action::Continue;
    }
    let query = query_of(req, &out);
    // The per-dir prefix becomes RewriteBase, or the path below DocumentRoot.
    let docroot = req.server.document_root.to_string_lossy();
    let docroot = docroot.trim_end_matches('/');
    // Without RewriteBase a redirect keeps the file path (as httpd does); an internal
    // redirect strips DocumentRoot.
    let to_url = |p: &str, redirect: bool| -> String {
        if is_absolute_uri(p) {
            return p.to_string();
        }
        if let Some(base) = &conf.base {
            if let Some(rest) = p.strip_prefix(dir.as_str()) {
                let base = base.trim_end_matches('/');
                return format!("{base}/{rest}");
            }
        } else if redirect {
            return p.to_string();
        } else if let Some(rest) = p.strip_prefix(docroot) {
            if rest.starts_with('/') {
                return rest.to_string();
            }
        }
        p.to_string()
    };
    if out.proxy {
        let mut url = to_url(&out.uri, false);
        if !is_absolute_uri(&url) {
            url = format!("{}{url}", super::self_url(req));
        }
        if let Some(q) = &query {
            url.push('?');
            url.push_str(q);
        }
        return Action::Proxy(url);
    }
    if let Some(code) = out.redirect {
        let url = to_url(&out.uri, true);
        trace(
            1,
            &format!("[perdir {dir}] redirect to {url} [REDIRECT/{code}]"),
        );
        let loc = location(req, &url, query.as_deref(), out.noescape);
        set_location(req, resp, loc);
        return Action::Status(code);
    }
    if is_absolute_uri(&out.uri) {
        match reduce_uri(req, &out.uri) {
            Some(_) => {}
            None => {
                let loc = location(req, &out.uri, query.as_deref(), out.noescape);
                set_location(req, resp, loc);
                return Action::Status(302);
            }
        }
    }
    if out.uri == ofilename && out.query.is_none() {
        trace(
            1,
            &format!(
                "[perdir {dir}] initial URL equal rewritten URL: {ofilename} [IGNORING REWRITE]"
            ),
        );
        return Action::Continue;
    }
    let url = match reduce_uri(req, &out.uri) {
        Some(p) => p,
        None => to_url(&out.uri, false),
    };
    trace(
        1,
        &format!("[perdir {dir}] internal redirect with {url} [INTERNAL REDIRECT]"),
    );
    req.filename = PathBuf::from(format!("redirect:{url}"));
    Action::Internal(url, query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::directives::rewrite::{split_args, Flags};
    use crate::modules::Body;

    fn rule(pat: &str, subst: &str, flags: Flags) -> Rule {
        Rule {
            pattern: Regex::new(pat).unwrap(),
            negate: false,
            subst: subst.into(),
            flags,
            conds: Vec::new(),
            text: String::new(),
        }
    }

    /// Runs one request through the whole pipeline with `rules` in the server config.
    fn run(rules: &str, target: &str) -> (u16, Option<String>, Vec<u8>) {
        use crate::proto::h1::head::{parse_head, Limits, Parsed};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.html"), b"page b").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let body = format!(
            "LoadModule rewrite_module m.so\nLoadModule authz_core_module m.so\n<Directory {}>\nRequire all granted\n</Directory>\n{rules}",
            dir.path().display()
        );
        let cfg = crate::modules::log_config::config_from(dir.path(), &body);
        let raw = format!("GET {target} HTTP/1.1\r\nHost: example.test\r\n\r\n");
        let Parsed::Complete(head, _) = parse_head(raw.as_bytes(), &Limits::default()) else {
            panic!("bad head");
        };
        let peer = "127.0.0.1:5000".parse().unwrap();
        let local = "127.0.0.1:8080".parse().unwrap();
        let out = super::super::process(&cfg, &head, peer, local, 1_700_000_000);
        let loc = out.response.header("Location").map(str::to_string);
        let body = match out.response.body {
            Body::Bytes(b) => b,
            Body::Shared(b) => b.to_vec(),
            Body::File { mut file, .. } => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut v).unwrap();
                v
            }
            _ => Vec::new(),
        };
        (out.response.status, loc, body)
    }

    #[test]
    fn engine_end_to_end() {
        let rules = "RewriteEngine On\n\
                     RewriteRule ^/r/(.*)$ /x/$1 [R=301,L]\n\
                     RewriteCond %{QUERY_STRING} (^|&)id=([0-9]+)\n\
                     RewriteRule ^/item$ /b.html?n=%2 [R,L]\n\
                     RewriteRule ^/in$ /b.html [L]\n\
                     RewriteRule ^/c1$ /nope [C]\n\
                     RewriteRule ^/zzz$ /b.html [L]\n\
                     RewriteRule ^/f - [F]\n\
                     RewriteRule ^/s$ /nope [S=1]\n\
                     RewriteRule ^/nope$ /zzz [L]\n\
                     RewriteRule ^/nope$ /b.html [L]\n";
        let (st, loc, _) = run(rules, "/r/a/b?q=1");
        assert_eq!(
            (st, loc.as_deref()),
            (301, Some("http://example.test/x/a/b?q=1"))
        );
        let (st, loc, _) = run(rules, "/item?x=1&id=42");
        assert_eq!(
            (st, loc.as_deref()),
            (302, Some("http://example.test/b.html?n=42"))
        );
        let (st, _, body) = run(rules, "/in");
        assert_eq!((st, body.as_slice()), (200, &b"page b"[..]));
        // A chain whose first rule fails skips the rest of the chain.
        assert_eq!(run(rules, "/c1").0, 404);
        assert_eq!(run(rules, "/f/x").0, 403);
        // S=1 skips the next rule: /s -> /nope -> (skip /zzz) -> /b.html
        assert_eq!(run(rules, "/s").2, b"page b");
        // Engine off: nothing applies.
        assert_eq!(
            run("RewriteEngine Off\nRewriteRule ^/in$ /b.html\n", "/in").0,
            404
        );
    }

    #[test]
    fn query_handling() {
        let r = rule("x", "", Flags::default());
        assert_eq!(
            split_query("/a?b=1", &r, Some("c=2")),
            ("/a".into(), Some(Some("b=1".into())))
        );
        assert_eq!(
            split_query("/a?", &r, Some("c=2")),
            ("/a".into(), Some(None))
        );
        assert_eq!(split_query("/a", &r, Some("c=2")), ("/a".into(), None));
        let qsa = rule(
            "x",
            "",
            Flags {
                qsa: true,
                ..Flags::default()
            },
        );
        assert_eq!(
            split_query("/a?b=1", &qsa, Some("c=2")),
            ("/a".into(), Some(Some("b=1&c=2".into())))
        );
        let qsd = rule(
            "x",
            "",
            Flags {
                qsd: true,
                ..Flags::default()
            },
        );
        assert_eq!(
            split_query("/a", &qsd, Some("c=2")),
            ("/a".into(), Some(None))
        );
    }

    #[test]
    fn uri_kinds_and_escapes() {
        assert!(is_absolute_uri("https://example.com/x"));
        assert!(!is_absolute_uri("/x://y"));
        assert_eq!(escape_uri("a b&c=%"), "a%20b&c=%25");
        assert_eq!(escape_backref("a b/c"), "a+b%2Fc");
        assert_eq!(unescape("a%20b"), "a b");
    }

    #[test]
    fn braces_nest() {
        let s = b"${m:%{HTTP_HOST}|x}";
        assert_eq!(close_brace(s, 2), Some(s.len() - 1));
        assert_eq!(split_args("a b"), vec!["a", "b"]);
    }

    #[test]
    fn cookies() {
        assert_eq!(cookie("a:b:0", 0).unwrap(), "a=b; path=/");
        assert_eq!(
            cookie("a:b:.example.com:0:/x:secure:httponly", 0).unwrap(),
            "a=b; path=/x; domain=.example.com; secure; HttpOnly"
        );
        assert!(cookie("a:b", 0).is_none());
    }
}
