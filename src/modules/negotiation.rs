//! mod_negotiation: `Options MultiViews` (a missing file answered by the best of its
//! `name.*` siblings) and the `type-map` handler (`.var` files), with httpd's server-driven
//! algorithm (and RVSA/1.0 for a client that asks for it with `Negotiate`), its response
//! headers (`Content-Location`, `Vary`, `TCN`, `Alternates`), 300/406 variant lists and the
//! variant-list validator httpd appends to the chosen file's ETag.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::request::{Method, Request, Response};
use crate::config::dir::{force_language, multiviews_match, DirConf};

const CGI_MAGIC_TYPE: &str = "application/x-httpd-cgi";
const MAP_FILE_MAGIC_TYPE: &str = "application/x-type-map";
const INCLUDES_MAGIC_TYPE: &str = "text/x-server-parsed-html";
const INCLUDES_MAGIC_TYPE3: &str = "text/x-server-parsed-html3";
/// httpd reads type map lines (and an embedded body) in buffers of this size.
const MAX_STRING_LEN: usize = 8192;

/// One item of an `Accept*` header (or a type map's `Content-Type`).
#[derive(Debug, Clone, PartialEq)]
struct AcceptRec {
    name: String,
    quality: f32,
    level: f32,
    charset: String,
}

/// httpd's `ap_get_token`: the text up to white space (unless `accept_white`), `;` or `,`,
/// quoted strings kept whole; the rest starts at the next non-blank byte.
fn get_token(s: &str, accept_white: bool) -> (&str, &str) {
    let s = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len()
        && (accept_white || !b[i].is_ascii_whitespace())
        && b[i] != b';'
        && b[i] != b','
    {
        let quote = b[i] == b'"';
        i += 1;
        if quote {
            while i < b.len() {
                i += 1;
                if b[i - 1] == b'"' {
                    break;
                }
            }
        }
    }
    let rest = s[i..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    (&s[..i], rest)
}

/// httpd's `atoq`: at most three decimals, anything not starting with 0 or `.` is 1.
fn atoq(s: &str) -> f32 {
    let b = s
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .as_bytes();
    if b.is_empty() {
        return 1.0;
    }
    let mut i = 0;
    if b[0] != b'.' {
        if b[0] != b'0' {
            return 1.0;
        }
        i = 1;
    }
    if b.get(i) != Some(&b'.') {
        return 0.0;
    }
    let digit = |j: usize| {
        b.get(j)
            .filter(|c| c.is_ascii_digit())
            .map(|c| (c - b'0') as i32)
    };
    let mut q = 0;
    if let Some(d) = digit(i + 1) {
        q += d * 100;
        if let Some(d) = digit(i + 2) {
            q += d * 10;
            if let Some(d) = digit(i + 3).filter(|d| *d > 0) {
                q += d;
            }
        }
    }
    q as f32 / 1000.0
}

/// httpd's `get_entry`: one media range (or language, charset, coding) with its `q`/`qs`,
/// `level` and `charset` parameters; the rest of the line after it.
fn get_entry(line: &str) -> (AcceptRec, &str) {
    let (name, mut rest) = get_token(line, false);
    let name = name.to_ascii_lowercase();
    let mut r = AcceptRec {
        level: if name == "text/html" || name == INCLUDES_MAGIC_TYPE {
            2.0
        } else if name == INCLUDES_MAGIC_TYPE3 {
            3.0
        } else {
            0.0
        },
        name,
        quality: 1.0,
        charset: String::new(),
    };
    while let Some(after) = rest.strip_prefix(';') {
        let (parm, r2) = get_token(after, true);
        rest = r2;
        let Some(eq) = parm.find(|c: char| c.is_ascii_whitespace() || c == '=') else {
            continue;
        };
        let pname = parm[..eq].to_ascii_lowercase();
        let v = parm[eq..].trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '=');
        let v = match v.strip_prefix('"') {
            Some(q) => &q[..q.find(['"', '\n', '\r']).unwrap_or(q.len())],
            None => &v[..v.find(|c: char| c.is_ascii_whitespace()).unwrap_or(v.len())],
        };
        let v = v.to_ascii_lowercase();
        if pname == "q" || pname == "qs" {
            r.quality = atoq(&v);
        } else if pname == "level" {
            r.level = leading_int(&v) as f32;
        } else if pname == "charset" {
            r.charset = v;
        }
    }
    if let Some(r2) = rest.strip_prefix(',') {
        rest = r2;
    }
    (r, rest)
}

/// C's `atoi`.
fn leading_int(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, d) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = d.bytes().take_while(u8::is_ascii_digit).fold(0i64, |n, c| {
        n.saturating_mul(10).saturating_add((c - b'0') as i64)
    });
    if neg {
        -n
    } else {
        n
    }
}

fn header_line(v: Option<&str>) -> Option<Vec<AcceptRec>> {
    let mut line = v?;
    let mut out = Vec::new();
    while !line.is_empty() {
        let (r, rest) = get_entry(line);
        out.push(r);
        line = rest;
    }
    Some(out)
}

/// A type map's `Content-Language` list, lower-cased.
fn languages_line(mut line: &str) -> Vec<String> {
    let mut out = Vec::new();
    while !line.is_empty() {
        let (t, rest) = get_token(line, false);
        out.push(t.to_ascii_lowercase());
        line = rest.strip_prefix([',', ';']).unwrap_or(rest);
    }
    out
}

/// What mod_mime makes of a file name, with what negotiation needs: every language, the
/// extensions nobody claimed (httpd's `ap-mime-exceptions-list`, the base name first).
#[derive(Debug, Default)]
pub(crate) struct MimeClass {
    pub content_type: Option<String>,
    pub languages: Vec<String>,
    pub encoding: Option<String>,
    pub handler: Option<String>,
    exceptions: Vec<String>,
    found_metadata: bool,
}

fn lookup<'a>(list: &'a [(String, Option<String>)], ext: &str) -> Option<&'a str> {
    list.iter()
        .rev()
        .find(|(e, _)| e == ext)
        .and_then(|(_, v)| v.as_deref())
}

pub(crate) fn classify(types: &super::mime::Types, dir: &DirConf, name: &str) -> MimeClass {
    let mut c = MimeClass::default();
    let multimatch = dir.multiviews_match.unwrap_or(0);
    let mut charset = None;
    // The base name: leading dots are part of it.
    let start = name.len() - name.trim_start_matches('.').len();
    let (base, mut rest) = match name[start..].find('.') {
        Some(i) => (&name[..start + i], &name[start + i + 1..]),
        None => (name, ""),
    };
    c.exceptions.push(base.to_string());
    while !rest.is_empty() {
        let (ext, r) = rest.split_once('.').unwrap_or((rest, ""));
        rest = r;
        if ext.is_empty() {
            continue;
        }
        let lower = ext.to_ascii_lowercase();
        let mut found = false;
        let forced = lookup(&dir.add_type, &lower);
        if forced.is_none() {
            if let Some(t) = types.get(&lower) {
                c.content_type = Some(t.clone());
                found = true;
            }
        }
        if let Some(t) = forced {
            c.content_type = Some(t.to_string());
            found = true;
        }
        if let Some(cs) = lookup(&dir.add_charset, &lower) {
            charset = Some(cs);
            found = true;
        }
        if let Some(l) = lookup(&dir.add_language, &lower) {
            c.languages.push(l.to_string());
            found = true;
        }
        if let Some(e) = lookup(&dir.add_encoding, &lower) {
            c.encoding = Some(match c.encoding.take() {
                Some(prev) => format!("{prev}, {e}"),
                None => e.to_string(),
            });
            found = true;
        }
        if let Some(h) = lookup(&dir.add_handler, &lower) {
            c.handler = Some(h.to_string());
            if multimatch & multiviews_match::HANDLERS != 0 {
                found = true;
            }
        }
        if found || multimatch & multiviews_match::ANY != 0 {
            c.found_metadata = true;
        } else {
            c.exceptions.push(ext.to_string());
        }
    }
    if let Some(f) = &dir.force_type {
        if !f.eq_ignore_ascii_case("none") {
            c.content_type = Some(f.clone());
        }
    }
    if let (Some(ct), Some(cs)) = (&mut c.content_type, charset) {
        if !ct.contains("charset=") {
            ct.push_str("; charset=");
            ct.push_str(cs);
        }
    }
    if c.languages.is_empty() {
        if let Some(l) = &dir.default_language {
            c.languages.push(l.clone());
        }
    }
    c
}

/// A file the request may be answered with.
#[derive(Debug, Clone)]
struct Variant {
    /// As the type map's `URI:` wrote it, or the directory entry's name.
    file_name: String,
    mime_type: String,
    encoding: Option<String>,
    languages: Vec<String>,
    charset: String,
    description: String,
    /// A type map's embedded body: (offset in the map, length).
    body: Option<(u64, u64)>,
    bytes: Option<u64>,
    level: f32,
    source_quality: f32,
    is_pseudo_html: bool,
    has_handler: bool,
    lang_quality: f32,
    encoding_quality: f32,
    charset_quality: f32,
    mime_type_quality: f32,
    level_matched: f32,
    mime_stars: u8,
    lang_index: i32,
    definite: bool,
    /// The sub-request of a MultiViews variant: its walked configuration and file.
    sub: Option<Sub>,
}

#[derive(Debug, Clone)]
struct Sub {
    dir: Arc<DirConf>,
    finfo: Metadata,
    vars: Vec<(String, String)>,
}

impl Variant {
    fn new() -> Variant {
        Variant {
            file_name: String::new(),
            mime_type: String::new(),
            encoding: None,
            languages: Vec::new(),
            charset: String::new(),
            description: String::new(),
            body: None,
            bytes: None,
            level: 0.0,
            source_quality: 0.0,
            is_pseudo_html: false,
            has_handler: false,
            lang_quality: 1.0,
            encoding_quality: 1.0,
            charset_quality: 1.0,
            mime_type_quality: 1.0,
            level_matched: 0.0,
            mime_stars: 0,
            lang_index: -1,
            definite: true,
            sub: None,
        }
    }

    fn set_mime_fields(&mut self, a: AcceptRec) {
        self.is_pseudo_html = a.name == "text/html"
            || a.name == INCLUDES_MAGIC_TYPE
            || a.name == INCLUDES_MAGIC_TYPE3;
        self.mime_type = a.name;
        self.source_quality = a.quality;
        self.level = a.level;
        self.charset = a.charset;
    }

    fn lang(&self) -> Option<String> {
        (!self.languages.is_empty()).then(|| self.languages.join(","))
    }
}

/// What a negotiation found out about the request and its variants.
struct Neg {
    dir_name: PathBuf,
    accepts: Option<Vec<AcceptRec>>,
    accept_q: bool,
    accept_encodings: Option<Vec<AcceptRec>>,
    accept_langs: Option<Vec<AcceptRec>>,
    accept_charsets: Option<Vec<AcceptRec>>,
    vars: Vec<Variant>,
    count_multiviews_variants: usize,
    is_transparent: bool,
    dont_fiddle_headers: bool,
    ua_supports_trans: bool,
    send_alternates: bool,
    may_choose: bool,
    use_rvsa: bool,
    default_lang_quality: f32,
    force: u8,
    priority: Option<Arc<Vec<String>>>,
    /// The variant-list validator (an ETag of what listed the variants).
    vlv: Option<String>,
}

impl Neg {
    fn new(req: &Request<'_>, dir_name: PathBuf) -> Neg {
        let accepts = header_line(req.header_in("Accept"));
        let accept_q = accepts
            .as_ref()
            .is_some_and(|a| a.iter().any(|r| r.quality < 1.0));
        Neg {
            dir_name,
            accepts,
            accept_q,
            accept_encodings: header_line(req.header_in("Accept-Encoding")),
            accept_langs: header_line(req.header_in("Accept-Language")),
            accept_charsets: header_line(req.header_in("Accept-Charset")),
            vars: Vec::new(),
            count_multiviews_variants: 0,
            is_transparent: false,
            dont_fiddle_headers: false,
            ua_supports_trans: false,
            send_alternates: false,
            may_choose: false,
            use_rvsa: false,
            default_lang_quality: 1.0,
            force: req
                .dir
                .force_language_priority
                .filter(|f| *f != 0)
                .unwrap_or(force_language::PREFER),
            priority: req.dir.language_priority.clone(),
            vlv: None,
        }
    }

    fn parse_negotiate_header(&mut self, req: &Request<'_>) {
        self.ua_supports_trans = false;
        self.send_alternates = false;
        self.may_choose = true;
        self.use_rvsa = false;
        self.dont_fiddle_headers = false;
        let Some(negotiate) = req.header_in("Negotiate") else {
            return;
        };
        if negotiate == "trans"
            && req
                .header_in("User-Agent")
                .is_some_and(|u| u.starts_with("Lynx"))
        {
            return;
        }
        self.may_choose = false;
        for tok in negotiate
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
        {
            if tok == "trans"
                || tok == "vlist"
                || tok == "guess-small"
                || tok.as_bytes()[0].is_ascii_digit()
                || tok == "*"
            {
                self.ua_supports_trans = true;
                self.send_alternates = true;
                if tok == "1.0" {
                    self.may_choose = true;
                    self.use_rvsa = true;
                    self.dont_fiddle_headers = true;
                } else if tok.starts_with('*') {
                    self.may_choose = true;
                    self.dont_fiddle_headers = true;
                }
            }
        }
    }

    fn maybe_add_default_accepts(&mut self, prefer_scripts: bool) {
        let use_rvsa = self.use_rvsa;
        let accepts = self.accepts.get_or_insert_with(|| {
            vec![AcceptRec {
                name: "*/*".into(),
                quality: 1.0,
                level: 0.0,
                charset: String::new(),
            }]
        });
        accepts.push(AcceptRec {
            name: CGI_MAGIC_TYPE.into(),
            quality: if use_rvsa {
                0.0
            } else if prefer_scripts {
                2.0
            } else {
                0.001
            },
            level: 0.0,
            charset: String::new(),
        });
    }

    fn content_length(&self, v: &Variant) -> Option<u64> {
        v.bytes.or_else(|| {
            v.sub.as_ref().map(|s| s.finfo.size()).or_else(|| {
                std::fs::metadata(self.dir_name.join(&v.file_name))
                    .ok()
                    .map(|m| m.size())
            })
        })
    }
}

fn mime_match(a: &AcceptRec, v: &mut Variant) -> bool {
    let at = a.name.as_str();
    let vt = v.mime_type.as_str();
    if at == "*" || at == "*/*" {
        v.mime_stars = v.mime_stars.max(1);
        return true;
    }
    if at.len() > 2
        && at.ends_with("/*")
        && vt.len() > at.len() - 2
        && vt.as_bytes()[..at.len() - 2] == at.as_bytes()[..at.len() - 2]
        && vt.as_bytes()[at.len() - 2] == b'/'
    {
        v.mime_stars = v.mime_stars.max(2);
        return true;
    }
    if (at == vt
        || (at == "text/html" && (vt == INCLUDES_MAGIC_TYPE || vt == INCLUDES_MAGIC_TYPE3)))
        && a.level >= v.level
    {
        v.level_matched = v.level;
        v.mime_stars = 3;
        return true;
    }
    false
}

fn level_cmp(v1: &Variant, v2: &Variant) -> i32 {
    if v1.is_pseudo_html && !v2.is_pseudo_html {
        return 0;
    }
    if !v1.is_pseudo_html && v1.mime_type != v2.mime_type {
        return 0;
    }
    if v1.level_matched > v2.level_matched {
        return 1;
    }
    if v1.level_matched < v2.level_matched {
        return -1;
    }
    if v1.level < v2.level {
        return 1;
    }
    if v1.level > v2.level {
        return -1;
    }
    0
}

fn find_lang_index(list: Option<&[String]>, lang: &str) -> i32 {
    let Some(list) = list else { return -1 };
    for (i, l) in list.iter().enumerate() {
        if lang.len() >= l.len() && lang.as_bytes()[..l.len()].eq_ignore_ascii_case(l.as_bytes()) {
            return i as i32;
        }
    }
    -1
}

fn set_language_quality(neg: &Neg, v: &mut Variant) {
    if v.languages.is_empty() {
        if !neg.dont_fiddle_headers {
            v.lang_quality = neg.default_lang_quality;
        }
        return;
    }
    match &neg.accept_langs {
        None => v.definite = false,
        Some(accs) => {
            let mut best: Option<&AcceptRec> = None;
            let mut star: Option<&AcceptRec> = None;
            let mut fiddle_q = 0.0f32;
            let mut any_match_on_star = false;
            for lang in &v.languages {
                let mut bestthistag: Option<&AcceptRec> = None;
                let mut longest = 0usize;
                for a in accs {
                    if a.name == "*" {
                        if star.is_none() {
                            star = Some(a);
                        }
                        continue;
                    }
                    let alen = a.name.len();
                    if lang.len() >= alen
                        && lang.as_bytes()[..alen] == *a.name.as_bytes()
                        && (lang.len() == alen || lang.as_bytes()[alen] == b'-')
                        && alen > longest
                    {
                        longest = alen;
                        bestthistag = Some(a);
                    }
                    if bestthistag.is_none() && !neg.dont_fiddle_headers {
                        if let Some(p) = a.name.find('-') {
                            if lang.len() >= p && lang.as_bytes()[..p] == a.name.as_bytes()[..p] {
                                fiddle_q = 0.001;
                            }
                        }
                    }
                }
                if best.is_none()
                    || bestthistag.is_some_and(|b| best.is_some_and(|bb| b.quality > bb.quality))
                {
                    best = bestthistag;
                }
                if bestthistag.is_none() && star.is_some() {
                    any_match_on_star = true;
                }
            }
            if any_match_on_star {
                if let Some(s) = star {
                    if best.map_or(true, |b| s.quality > b.quality) {
                        best = Some(s);
                        v.definite = false;
                    }
                }
            }
            v.lang_quality = best.map_or(fiddle_q, |b| b.quality);
        }
    }
    let force = neg.force;
    if (force & force_language::PREFER != 0 && v.lang_index < 0)
        || (force & force_language::FALLBACK != 0 && v.lang_quality == 0.0)
    {
        let mut bestidx = -1;
        for lang in &v.languages {
            let idx = find_lang_index(neg.priority.as_deref().map(Vec::as_slice), lang);
            if idx >= 0 && (bestidx == -1 || idx < bestidx) {
                bestidx = idx;
            }
        }
        if bestidx >= 0 {
            if v.lang_quality != 0.0 {
                if force & force_language::PREFER != 0 {
                    v.lang_index = bestidx;
                }
            } else if force & force_language::FALLBACK != 0 {
                v.lang_index = bestidx;
                v.lang_quality = 0.0001;
                v.definite = false;
            }
        }
    }
}

fn set_accept_quality(neg: &Neg, v: &mut Variant) {
    let Some(accepts) = &neg.accepts else {
        if !v.mime_type.is_empty() {
            v.definite = false;
        }
        return;
    };
    let mut q = 0.0f32;
    let mut q_definite = true;
    for a in accepts {
        let prev = v.mime_stars;
        if !mime_match(a, v) || prev == v.mime_stars {
            continue;
        }
        q = if !neg.dont_fiddle_headers && !neg.accept_q && v.mime_stars == 1 {
            0.01
        } else if !neg.dont_fiddle_headers && !neg.accept_q && v.mime_stars == 2 {
            0.02
        } else {
            a.quality
        };
        q_definite = v.mime_stars == 3;
    }
    v.mime_type_quality = q;
    v.definite = v.definite && q_definite;
}

fn set_charset_quality(neg: &Neg, v: &mut Variant) {
    let Some(accs) = &neg.accept_charsets else {
        if !v.charset.is_empty() {
            v.definite = false;
        }
        return;
    };
    let charset = if v.charset.is_empty() {
        if !(v.mime_type.starts_with("text/")
            || v.mime_type == INCLUDES_MAGIC_TYPE
            || v.mime_type == INCLUDES_MAGIC_TYPE3)
            || neg.dont_fiddle_headers
        {
            return;
        }
        "iso-8859-1"
    } else {
        v.charset.as_str()
    };
    let mut star = None;
    for a in accs {
        if a.name == charset {
            v.charset_quality = a.quality;
            return;
        } else if a.name == "*" {
            star = Some(a);
        }
    }
    if let Some(s) = star {
        v.charset_quality = s.quality;
        v.definite = false;
        return;
    }
    v.charset_quality = if charset == "iso-8859-1" { 1.0 } else { 0.0 };
}

fn is_identity_encoding(e: Option<&str>) -> bool {
    matches!(e, None | Some("" | "7bit" | "8bit" | "binary"))
}

fn set_encoding_quality(neg: &Neg, v: &mut Variant) {
    let enc = v.encoding.as_deref();
    let Some(accs) = &neg.accept_encodings else {
        v.encoding_quality = if is_identity_encoding(enc) { 1.0 } else { 0.5 };
        return;
    };
    let (enc, if_not_found) = if is_identity_encoding(enc) {
        ("identity", 0.0001)
    } else {
        (enc.unwrap_or(""), 0.0)
    };
    let enc = enc.strip_prefix("x-").unwrap_or(enc);
    let mut star = None;
    for a in accs {
        let name = a.name.strip_prefix("x-").unwrap_or(&a.name);
        if name == enc {
            v.encoding_quality = a.quality;
            return;
        }
        if name == "*" {
            star = Some(a);
        }
    }
    v.encoding_quality = star.map_or(if_not_found, |s| s.quality);
}

fn is_variant_better_rvsa(v: &Variant, best: Option<&Variant>, bestq: &mut f32) -> bool {
    if v.encoding_quality == 0.0 {
        return false;
    }
    let q = v.mime_type_quality * v.source_quality * v.charset_quality * v.lang_quality;
    if q <= 0.0 {
        return false;
    }
    if q > *bestq {
        *bestq = q;
        return true;
    }
    if q == *bestq && best.is_some_and(|b| v.encoding_quality > b.encoding_quality) {
        *bestq = q;
        return true;
    }
    false
}

fn is_variant_better(neg: &Neg, v: &Variant, best: Option<&Variant>, bestq: &mut f32) -> bool {
    if v.encoding_quality == 0.0
        || v.lang_quality == 0.0
        || v.source_quality == 0.0
        || v.charset_quality == 0.0
        || v.mime_type_quality == 0.0
    {
        return false;
    }
    let q = v.mime_type_quality * v.source_quality;
    if q == 0.0 || q < *bestq {
        return false;
    }
    let Some(best) = best.filter(|_| q <= *bestq) else {
        *bestq = q;
        return true;
    };
    if v.lang_quality < best.lang_quality {
        return false;
    }
    if v.lang_quality > best.lang_quality {
        *bestq = q;
        return true;
    }
    if best.lang_index != -1 && (v.lang_index == -1 || v.lang_index > best.lang_index) {
        return false;
    }
    if v.lang_index != -1 && (best.lang_index == -1 || v.lang_index < best.lang_index) {
        *bestq = q;
        return true;
    }
    match level_cmp(v, best) {
        -1 => return false,
        1 => {
            *bestq = q;
            return true;
        }
        _ => {}
    }
    if v.charset_quality < best.charset_quality {
        return false;
    }
    if v.charset_quality > best.charset_quality
        || (!v.charset.is_empty()
            && v.charset != "iso-8859-1"
            && (best.charset.is_empty() || best.charset == "iso-8859-1"))
    {
        *bestq = q;
        return true;
    }
    if v.encoding_quality < best.encoding_quality {
        return false;
    }
    if v.encoding_quality > best.encoding_quality {
        *bestq = q;
        return true;
    }
    // C compares a missing length as -1.
    let len = |x: &Variant| neg.content_length(x).map_or(-1, |l| l as i64);
    if len(v) >= len(best) {
        return false;
    }
    *bestq = q;
    true
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alg {
    Choice,
    List,
}

fn best_match(neg: &mut Neg, req: &Request<'_>) -> (Alg, Option<usize>) {
    let mut preferred = req.env_var("prefer-language").map(str::to_string);
    let discard = if req.env_var("no-gzip").is_some() {
        1
    } else if req.env_var("gzip-only-text/html") == Some("1") {
        2
    } else {
        0
    };
    neg.default_lang_quality =
        if !neg.dont_fiddle_headers && neg.vars.iter().any(|v| !v.languages.is_empty()) {
            0.0001
        } else {
            1.0
        };
    loop {
        let mut best: Option<usize> = None;
        let mut bestq = 0.0f32;
        for j in 0..neg.vars.len() {
            let mut v = neg.vars[j].clone();
            if discard != 0 {
                let e = v.encoding.as_deref();
                let encoded = !is_identity_encoding(e) && e != Some("identity");
                if encoded && (discard == 1 || !v.mime_type.starts_with("text/html")) {
                    continue;
                }
            }
            if let Some(p) = &preferred {
                if !v.languages.iter().any(|l| l == p) {
                    continue;
                }
            }
            set_accept_quality(neg, &mut v);
            if preferred.is_some() {
                v.lang_quality = 1.0;
                v.definite = true;
            } else {
                set_language_quality(neg, &mut v);
            }
            set_encoding_quality(neg, &mut v);
            set_charset_quality(neg, &mut v);
            if neg.may_choose {
                let b = best.map(|i| &neg.vars[i]);
                let better = if neg.use_rvsa {
                    is_variant_better_rvsa(&v, b, &mut bestq)
                } else {
                    is_variant_better(neg, &v, b, &mut bestq)
                };
                if better {
                    best = Some(j);
                }
            }
            neg.vars[j] = v;
        }
        let alg = if neg.use_rvsa {
            if best.is_some_and(|b| neg.vars[b].definite) && bestq > 0.0 {
                Alg::Choice
            } else {
                Alg::List
            }
        } else if bestq > 0.0 {
            Alg::Choice
        } else {
            Alg::List
        };
        if preferred.is_some() && (best.is_none() || alg != Alg::Choice) {
            preferred = None;
            continue;
        }
        return (alg, best);
    }
}

/// `ap_escape_path_segment`: a URL path segment, `/` escaped too.
fn escape_segment(s: &str) -> String {
    super::uri::escape_path(s).replace('/', "%2f")
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    crate::proto::h1::response::escape_html(s, &mut out);
    out
}

/// httpd's `%1.3f` with the trailing zeros cut.
fn qstr(q: f32) -> String {
    let s = format!("{q:1.3}");
    let t = s.trim_end_matches('0');
    if t.ends_with('.') {
        t.trim_end_matches('.').to_string()
    } else {
        t.to_string()
    }
}

fn merge_err_header(resp: &mut Response, name: &str, value: String) {
    match resp
        .err_headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, cur)) => {
            cur.push_str(", ");
            cur.push_str(&value);
        }
        None => resp.err_headers.push((name.to_string().into(), value)),
    }
}

fn set_err_header(resp: &mut Response, name: &str, value: String) {
    resp.err_headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    resp.err_headers.push((name.to_string().into(), value));
}

fn set_neg_headers(neg: &Neg, resp: &mut Response, alg: Alg) {
    let (mut by_type, mut by_lang, mut by_charset, mut by_enc) = (false, false, false, false);
    let mut alternates = String::new();
    let first = neg.vars.first();
    let sample_lang = first.and_then(Variant::lang);
    for v in &neg.vars {
        let lang = v.lang();
        if let Some(f) = first {
            by_type |= f.mime_type != v.mime_type;
            by_charset |= f.charset != v.charset;
            by_lang |= sample_lang != lang;
            by_enc |= f.encoding.as_deref().unwrap_or("") != v.encoding.as_deref().unwrap_or("");
        }
        if !neg.send_alternates {
            continue;
        }
        if !alternates.is_empty() {
            alternates.push_str(", ");
        }
        alternates.push_str("{\"");
        alternates.push_str(&escape_segment(&v.file_name));
        alternates.push_str("\" ");
        alternates.push_str(&qstr(v.source_quality));
        if !v.mime_type.is_empty() {
            alternates.push_str(&format!(" {{type {}}}", v.mime_type));
        }
        if !v.charset.is_empty() {
            alternates.push_str(&format!(" {{charset {}}}", v.charset));
        }
        if let Some(l) = &lang {
            alternates.push_str(&format!(" {{language {l}}}"));
        }
        if let Some(e) = v.encoding.as_deref().filter(|e| !e.is_empty()) {
            alternates.push_str(&format!(" {{encoding {e}}}"));
        }
        if !v.has_handler {
            if let Some(len) = neg.content_length(v) {
                alternates.push_str(&format!(" {{length {len}}}"));
            }
        }
        alternates.push('}');
    }
    if neg.send_alternates && !neg.vars.is_empty() {
        merge_err_header(resp, "Alternates", alternates);
    }
    if neg.is_transparent || by_type || by_lang || by_charset || by_enc {
        let mut vary = String::new();
        for (on, name) in [
            (neg.is_transparent, "negotiate"),
            (by_type, "accept"),
            (by_lang, "accept-language"),
            (by_charset, "accept-charset"),
            (by_enc, "accept-encoding"),
        ] {
            if on {
                if !vary.is_empty() {
                    vary.push_str(", ");
                }
                vary.push_str(name);
            }
        }
        merge_err_header(resp, "Vary", vary);
    }
    if neg.is_transparent {
        set_err_header(
            resp,
            "TCN",
            if alg == Alg::List { "list" } else { "choice" }.into(),
        );
    }
}

fn variant_list(neg: &Neg) -> String {
    let mut s = String::from("Available variants:\n<ul>\n");
    for v in &neg.vars {
        s.push_str("<li><a href=\"");
        s.push_str(&escape_segment(&v.file_name));
        s.push_str("\">");
        s.push_str(&escape_html(&v.file_name));
        s.push_str("</a> ");
        s.push_str(&v.description);
        if !v.mime_type.is_empty() {
            s.push_str(", type ");
            s.push_str(&v.mime_type);
        }
        if let Some(l) = v.lang() {
            s.push_str(", language ");
            s.push_str(&l);
        }
        if !v.charset.is_empty() {
            s.push_str(", charset ");
            s.push_str(&v.charset);
        }
        if let Some(e) = &v.encoding {
            s.push_str(", encoding ");
            s.push_str(e);
        }
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n");
    s
}

/// httpd's `do_negotiation`: the index of the chosen variant, or the status to answer with
/// (300, 406, 506…), the negotiation headers set in `resp` either way.
fn do_negotiation(
    req: &mut Request<'_>,
    neg: &mut Neg,
    prefer_scripts: bool,
    resp: &mut Response,
) -> Result<usize, u16> {
    if matches!(req.method, Method::Get | Method::Head) {
        neg.is_transparent = req.path_info.is_empty()
            && !neg
                .vars
                .iter()
                .any(|v| v.file_name.contains('/') || v.body.is_some());
    }
    if neg.is_transparent {
        neg.parse_negotiate_header(req);
    } else {
        neg.may_choose = true;
    }
    neg.maybe_add_default_accepts(prefer_scripts);
    let (alg, best) = best_match(neg, req);
    if alg == Alg::List {
        neg.send_alternates = true;
        set_neg_headers(neg, resp, alg);
        let list = variant_list(neg);
        req.notes.retain(|(n, _)| *n != "variant-list");
        req.notes.push(("variant-list", list));
        if neg.is_transparent && neg.ua_supports_trans {
            return Err(300);
        }
        if best.is_none() {
            crate::ap_log!(
                error,
                "negotiation",
                "AH00690: no acceptable variant: {}",
                req.filename.display()
            );
            return Err(406);
        }
    }
    let Some(best) = best else {
        return Err(406);
    };
    if neg.is_transparent {
        // A type map's choice is looked up now: its refusal answers (before any negotiation
        // header is set), and a map that chose another map recurses, which httpd refuses.
        if neg.vars[best].sub.is_none() {
            let name = neg.vars[best].file_name.clone();
            let sub = lookup_sub(req, &neg.dir_name, &name)?;
            if sub.is_none() && !name.contains('/') {
                // A missing file the lookup negotiates (MultiViews) is a variant that varies.
                let mut p = probe(req, req.dir.clone());
                p.uri = format!("{}{}", base_uri_dir(req), name);
                p.filename = neg.dir_name.join(&name);
                let mut scratch = Response::new(200);
                let r = if p.dir.options_bits() & crate::config::dir::opt::MULTI != 0 {
                    multiviews(&mut p, &mut scratch)
                } else {
                    Multi::Declined
                };
                let tcn = scratch
                    .err_headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("TCN"));
                match r {
                    _ if tcn => return Err(506),
                    Multi::Status(s) => return Err(s),
                    Multi::Declined | Multi::Chosen => {}
                }
            }
            let dir = sub.as_ref().map_or(&req.dir, |s| &s.dir);
            let class = classify(&req.config.mime_types, dir, &name);
            let handler = dir.handler.as_deref().or(class.handler.as_deref());
            if names_type_map(handler, class.content_type.as_deref()) {
                return Err(506);
            }
            neg.vars[best].sub = sub;
        }
        let v = &neg.vars[best];
        set_err_header(resp, "Content-Location", escape_segment(&v.file_name));
        set_neg_headers(neg, resp, Alg::Choice);
    } else {
        set_neg_headers(neg, resp, alg);
    }
    Ok(best)
}

/// What MultiViews did for a request whose file does not exist.
pub enum Multi {
    /// No variant: the request goes on as it was (to its 404).
    Declined,
    /// The request is now the chosen variant's (httpd's fast redirect).
    Chosen,
    /// Answer with this status (406, 300, 403, 404…); the headers are in `resp`.
    Status(u16),
}

/// The parent of a URL path, with its slash.
fn uri_dir(uri: &str) -> &str {
    &uri[..uri.rfind('/').map_or(0, |i| i + 1)]
}

/// `req` looked up as a sub-request for `name` in the request's directory: the walk and
/// access check of that file. `Ok(None)`: not a regular file; `Err`: the sub-request's
/// status (403 when its sections refuse it).
fn lookup_sub(req: &Request<'_>, dir_name: &Path, name: &str) -> Result<Option<Sub>, u16> {
    let path = dir_name.join(name);
    let Some(finfo) = std::fs::metadata(&path).ok().filter(Metadata::is_file) else {
        return Ok(None);
    };
    let dir_s = dir_name.to_string_lossy();
    let path_s = path.to_string_lossy();
    let uri = format!("{}{}", base_uri_dir(req), name);
    let target = super::walk::Target {
        dir: Some(&dir_s),
        file: Some(name),
        path: Some(&path_s),
        uri: &uri,
        method: req.method_str,
        env: Some(req),
    };
    let mut vars = Vec::new();
    let dir = super::walk::merged(req.config, req.server_index, req.server, &target, &mut vars)?;
    let sub = Sub { dir, finfo, vars };
    if !sub_allowed(req, &sub) {
        return Err(403);
    }
    Ok(Some(sub))
}

/// The access check of a sub-request: the request with the sub-request's configuration.
fn sub_allowed(req: &Request<'_>, sub: &Sub) -> bool {
    if sub.dir.authz.as_ptr_eq(&req.dir.authz)
        && sub.dir.access_compat.as_ptr_eq(&req.dir.access_compat)
    {
        return true;
    }
    super::authz::check(&probe(req, sub.dir.clone())).is_ok()
}

/// A sub-request of `req` with the configuration `dir` (its URL and file set by the caller).
fn probe<'a>(req: &Request<'a>, dir: Arc<DirConf>) -> Request<'a> {
    req.sub_request(req.uri.clone(), req.filename.clone(), None, dir)
}

trait PtrEq {
    fn as_ptr_eq(&self, other: &Self) -> bool;
}

impl<T> PtrEq for Option<Arc<T>> {
    fn as_ptr_eq(&self, other: &Self) -> bool {
        match (self, other) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The variant-list validator of a MultiViews resource: httpd's ETag of a request for a
/// missing file, the directory's modification time.
fn dir_validator(req: &Request<'_>, dir: &Metadata) -> Option<String> {
    if req.dir.etag_bits() & crate::config::dir::etag::NONE != 0 {
        return None;
    }
    let weak = if dir.mtime() >= req.time as i64 {
        "W/"
    } else {
        ""
    };
    let micros = dir.mtime() * 1_000_000 + dir.mtime_nsec() / 1000;
    Some(format!("{weak}\"{:x}\"", micros as u64))
}

/// A validator made while an earlier one is in force (a type map's choice negotiated again
/// by MultiViews after the redirect): httpd's ETag function folds the earlier one in.
fn chain_vlv(own: Option<String>, resp: &Response) -> Option<String> {
    match (own, &resp.vlist_validator) {
        (Some(o), Some(prev)) => Some(structured_etag(&o, prev)),
        (o, _) => o,
    }
}

/// httpd's structured ETag of a negotiated response: the file's tag and the variant-list
/// validator joined by `;`, weak when either is. httpd 2.4 drops the closing quote (its
/// copy is one byte short); so do we, as clients compare what they were sent.
pub fn structured_etag(file: &str, vlv: &str) -> String {
    let (fweak, f) = match file.strip_prefix("W/") {
        Some(f) => (true, f),
        None => (false, file),
    };
    let f = f.trim_start_matches('"').trim_end_matches('"');
    let (vweak, v) = match vlv.strip_prefix("W/") {
        Some(v) => (true, v),
        None => (false, vlv),
    };
    let v = v.strip_prefix('"').unwrap_or(v);
    let v = &v[..v.len().saturating_sub(1)];
    format!("{}\"{f};{v}", if fweak || vweak { "W/" } else { "" })
}

/// Options MultiViews for a request whose file does not exist (httpd's type checker
/// `handle_multi`): reads the directory, negotiates, and on success turns the request into
/// the chosen variant's. Only called when the file is missing and MultiViews is on.
pub fn multiviews(req: &mut Request<'_>, resp: &mut Response) -> Multi {
    // httpd's walk stops at the first missing component: the rest is path info.
    let full = req.filename.to_string_lossy().into_owned();
    let Some((dir_name, name, rest)) = split_missing(&full) else {
        return Multi::Declined;
    };
    if name.is_empty() {
        return Multi::Declined;
    }
    let saved = std::mem::replace(&mut req.filename, dir_name.join(name));
    req.path_info = rest.to_string();
    let r = multiviews_in(req, resp, dir_name, name.to_string());
    if matches!(r, Multi::Declined) {
        req.filename = saved;
        req.path_info.clear();
    }
    r
}

/// The deepest existing directory of `full`, the component after it and the rest.
fn split_missing(full: &str) -> Option<(PathBuf, &str, &str)> {
    let mut i = full.rfind('/')?;
    loop {
        let dir = if i == 0 { "/" } else { &full[..i] };
        if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
            let tail = &full[i + 1..];
            let end = tail.find('/').unwrap_or(tail.len());
            return Some((PathBuf::from(dir), &tail[..end], &tail[end..]));
        }
        i = full[..i].rfind('/')?;
    }
}

/// Would MultiViews look at anything for `name` in `dir` (a file `name.…`)? For mod_dir's
/// FallbackResource, which must not answer a directory whose index MultiViews finds.
pub fn has_candidates(dir: &Path, name: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        e.file_name().to_str().is_some_and(|n| {
            n.len() > name.len() && n.starts_with(name) && n.as_bytes()[name.len()] == b'.'
        })
    })
}

/// For OPTIONS on a directory URL: the file name of the index MultiViews chooses (its
/// negotiation headers set in `resp`), as mod_dir's GET sub-request finds it; `Ok(None)`
/// when MultiViews is off or finds none; `Err` for the only index name's 406 (or 300).
pub fn options_index(req: &mut Request<'_>, resp: &mut Response) -> Result<Option<String>, u16> {
    if req.dir.options_bits() & crate::config::dir::opt::MULTI == 0
        || !req.config.modules.contains(&"negotiation")
        || !req.config.modules.contains(&"dir")
        || !req.uri.ends_with('/')
    {
        return Ok(None);
    }
    let names = super::dir::index_names(&req.dir);
    let single = names.len() == 1;
    for name in names {
        if name.eq_ignore_ascii_case("disabled") {
            break;
        }
        let mut p = probe(req, req.dir.clone());
        p.method = Method::Get;
        p.method_str = "GET";
        p.uri = format!("{}{}", req.uri, name);
        p.filename = req.filename.join(name);
        let kept = resp.err_headers.len();
        let r = multiviews(&mut p, resp);
        resp.vlist_validator = None;
        match r {
            Multi::Chosen => {
                // mod_dir's fast redirect: the log shows the variant's URL and file.
                let name = p
                    .filename
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                req.uri = p.uri;
                req.filename = p.filename;
                req.finfo = p.finfo;
                req.dir = p.dir;
                return Ok(name);
            }
            Multi::Status(s) if single && (s == 406 || s == 401 || (300..400).contains(&s)) => {
                req.notes.extend(p.notes);
                return Err(s);
            }
            Multi::Declined | Multi::Status(_) => resp.err_headers.truncate(kept),
        }
    }
    Ok(None)
}

/// The URL of the request's directory (its path info left out), with its slash.
fn base_uri_dir<'r>(req: &'r Request<'_>) -> &'r str {
    let uri = req
        .uri
        .strip_suffix(req.path_info.as_str())
        .unwrap_or(&req.uri);
    uri_dir(uri)
}

fn multiviews_in(
    req: &mut Request<'_>,
    resp: &mut Response,
    dir_name: PathBuf,
    prefix: String,
) -> Multi {
    let rd = match std::fs::read_dir(&dir_name) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Multi::Declined,
        Err(e) => {
            crate::ap_log!(
                error,
                "negotiation",
                "({}){e}: AH00686: cannot read directory for multi: {}/",
                e.raw_os_error().unwrap_or(0),
                dir_name.display()
            );
            return Multi::Status(403);
        }
    };
    let mut neg = Neg::new(req, dir_name.clone());
    let mut anymatch = false;
    let mut map: Option<(String, Sub)> = None;
    for ent in rd.flatten() {
        let fname = ent.file_name();
        let Some(ename) = fname.to_str() else {
            continue;
        };
        if !ename.starts_with(&prefix) || ename.as_bytes().get(prefix.len()) != Some(&b'.') {
            continue;
        }
        if ent.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        anymatch = true;
        // A refused or failed sub-request is no variant, as httpd's.
        let Ok(Some(sub)) = lookup_sub(req, &dir_name, ename) else {
            continue;
        };
        let mut class = classify(&req.config.mime_types, &sub.dir, ename);
        // The sub-request's handler: SetHandler, else mod_mime's.
        if let Some(h) = &sub.dir.handler {
            class.handler = Some(h.clone());
        }
        if class.handler.is_some() && class.content_type.is_none() {
            class.content_type = Some(CGI_MAGIC_TYPE.into());
        }
        if !class.found_metadata {
            continue;
        }
        // Each unclaimed extension must be the next part of the requested name.
        let mut exc = class.exceptions.iter().peekable();
        for seg in prefix.split('.') {
            if exc.peek().is_some_and(|e| *e == seg) {
                exc.next();
            }
        }
        if exc.peek().is_some() {
            continue;
        }
        let Some(ct) = class.content_type.as_deref() else {
            continue;
        };
        if ct.eq_ignore_ascii_case(MAP_FILE_MAGIC_TYPE)
            || class
                .handler
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case("type-map"))
        {
            map = Some((ename.to_string(), sub));
            break;
        }
        let mut v = Variant::new();
        v.file_name = ename.to_string();
        v.encoding = class.encoding.take();
        v.languages = std::mem::take(&mut class.languages);
        v.has_handler = class.handler.is_some();
        v.set_mime_fields(get_entry(ct).0);
        v.sub = Some(sub);
        neg.vars.push(v);
        neg.count_multiviews_variants += 1;
    }
    if let Some((mapname, sub)) = map {
        neg.vars.clear();
        neg.count_multiviews_variants = 0;
        let path = dir_name.join(&mapname);
        match read_type_map(&path, &mut neg) {
            Ok(_) => {}
            Err(s) => return Multi::Status(s),
        }
        neg.vlv = chain_vlv(
            super::core::make_etag(&sub.finfo, sub.dir.etag_bits(), req.time),
            resp,
        );
    } else {
        if anymatch && neg.vars.is_empty() {
            crate::ap_log!(
                error,
                "negotiation",
                "AH00687: Negotiation: discovered file(s) matching request: {} (None could be negotiated).",
                req.filename.display()
            );
            return Multi::Status(404);
        }
        if let Ok(m) = std::fs::metadata(&dir_name) {
            neg.vlv = chain_vlv(dir_validator(req, &m), resp);
        }
        neg.vars.sort_by(|a, b| {
            b.source_quality
                .partial_cmp(&a.source_quality)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.file_name.cmp(&b.file_name))
        });
    }
    if neg.vars.is_empty() {
        // httpd has set the validator already and leaves it: a FallbackResource or
        // ErrorDocument answering next carries it in its ETag.
        resp.vlist_validator = neg.vlv;
        return Multi::Declined;
    }
    let prefer_scripts = !matches!(req.method, Method::Get | Method::Head)
        || req.query.is_some()
        || !req.path_info.is_empty();
    let best = match do_negotiation(req, &mut neg, prefer_scripts, resp) {
        Ok(b) => b,
        Err(s) => return Multi::Status(s),
    };
    let v = neg.vars.swap_remove(best);
    let sub = match v.sub {
        Some(s) => Some(s),
        // A type map's choice naming another directory: httpd's file-relative sub-request
        // has no usable URL and is refused (never a file outside the directory's sections).
        None if v.file_name.contains('/') => return Multi::Status(400),
        // A type map's choice: looked up now.
        None => match lookup_sub(req, &dir_name, &v.file_name) {
            Ok(sub) => sub,
            Err(s) => return Multi::Status(s),
        },
    };
    // httpd's fast redirect: the request becomes the variant's.
    // The sub-request's URL keeps the path info, as httpd's (the log's `%U`).
    req.uri = format!("{}{}{}", base_uri_dir(req), v.file_name, req.path_info);
    req.filename = dir_name.join(&v.file_name);
    match sub {
        Some(sub) => {
            req.finfo = Some(sub.finfo);
            req.dir = sub.dir;
            for (n, val) in sub.vars {
                req.set_env_owned(n, val);
            }
        }
        None => req.finfo = std::fs::metadata(&req.filename).ok(),
    }
    resp.vlist_validator = neg.vlv;
    Multi::Chosen
}

/// One line of a type map as httpd's `get_header_line` reads it: `#` lines skipped,
/// continuation lines joined (after a `\n`), a blank line separates variants.
enum MapLine {
    Eof,
    Sep,
    Header(String),
}

struct MapReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl MapReader<'_> {
    fn gets(&mut self) -> Option<&[u8]> {
        if self.pos >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.pos..];
        let n = memchr::memchr(b'\n', rest)
            .map_or(rest.len(), |i| i + 1)
            .min(MAX_STRING_LEN - 1);
        self.pos += n;
        Some(&rest[..n])
    }

    fn next_line(&mut self) -> MapLine {
        let line = loop {
            match self.gets() {
                None => return MapLine::Eof,
                Some(l) if l.first() == Some(&b'#') => continue,
                Some(l) => break l.to_vec(),
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return MapLine::Sep;
        }
        let mut buf = line;
        if buf.len() >= 5 && buf[..5].eq_ignore_ascii_case(b"Body:") {
            return MapLine::Header(String::from_utf8_lossy(&buf).into_owned());
        }
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            self.pos += 1;
            if c == b'#' {
                while self.pos < self.data.len() {
                    self.pos += 1;
                    if self.data[self.pos - 1] == b'\n' {
                        break;
                    }
                }
            } else if c.is_ascii_whitespace() {
                let mut c = c;
                while c != b'\n' && c.is_ascii_whitespace() && self.pos < self.data.len() {
                    c = self.data[self.pos];
                    self.pos += 1;
                }
                // Put the last byte back: a blank line is read next time round.
                self.pos -= 1;
                if c == b'\n' {
                    break;
                }
                while self.pos < self.data.len() && buf.len() < MAX_STRING_LEN - 2 {
                    let c = self.data[self.pos];
                    self.pos += 1;
                    if c == b'\n' {
                        break;
                    }
                    buf.push(c);
                }
                buf.push(b'\n');
            } else {
                self.pos -= 1;
                break;
            }
        }
        MapLine::Header(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// httpd's `strip_paren_comments`.
fn strip_paren_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push(c);
            for d in chars.by_ref() {
                out.push(d);
                if d == '"' {
                    break;
                }
            }
        } else if c == '(' {
            out.push(' ');
            for d in chars.by_ref() {
                out.push(' ');
                if d == ')' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a type map into `neg.vars` (httpd's `read_type_map`).
fn read_type_map(path: &Path, neg: &mut Neg) -> Result<(), u16> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            crate::ap_log!(
                error,
                "negotiation",
                "({}){e}: AH00683: cannot access type map file: {}",
                e.raw_os_error().unwrap_or(0),
                path.display()
            );
            return Err(
                if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) {
                    404
                } else {
                    403
                },
            );
        }
    };
    let map_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rd = MapReader {
        data: &data,
        pos: 0,
    };
    let mut v = Variant::new();
    let mut has_content = false;
    loop {
        let line = rd.next_line();
        let header = match line {
            MapLine::Header(h) => h,
            MapLine::Sep | MapLine::Eof => {
                if !v.file_name.is_empty() && has_content {
                    neg.vars.push(std::mem::replace(&mut v, Variant::new()));
                } else {
                    v = Variant::new();
                }
                has_content = false;
                if matches!(line, MapLine::Eof) {
                    break;
                }
                continue;
            }
        };
        let Some(colon) = header.find(':') else {
            crate::ap_log!(
                error,
                "negotiation",
                "AH00681: Syntax error in type map, no ':' in {} for header {}",
                path.display(),
                header
            );
            return Err(500);
        };
        let name = header[..colon].to_ascii_lowercase();
        let body = header[colon + 1..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        if body.is_empty() {
            crate::ap_log!(
                error,
                "negotiation",
                "AH00682: Syntax error in type map --- no header body: {} for {}",
                path.display(),
                header
            );
            return Err(500);
        }
        let body = strip_paren_comments(body);
        match name.as_str() {
            "uri" => v.file_name = get_token(&body, false).0.to_string(),
            "content-type" => {
                v.set_mime_fields(get_entry(&body).0);
                has_content = true;
            }
            "content-length" => {
                let t = get_token(&body, false).0;
                match t
                    .parse::<u64>()
                    .ok()
                    .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                {
                    Some(n) => v.bytes = Some(n),
                    None => {
                        crate::ap_log!(
                            error,
                            "negotiation",
                            "AH00684: Parse error in type map, Content-Length: '{t}' in {} is invalid.",
                            path.display()
                        );
                        break;
                    }
                }
                has_content = true;
            }
            "content-language" => {
                v.languages = languages_line(&body);
                has_content = true;
            }
            "content-encoding" => {
                v.encoding = Some(get_token(&body, false).0.to_string());
                has_content = true;
            }
            "description" => {
                let mut d = body.replace('\n', " ");
                d.pop();
                v.description = d;
            }
            "body" => {
                let tag = body.trim_end();
                let start = rd.pos;
                let window = &data[start..data.len().min(start + MAX_STRING_LEN - 1)];
                let Some(end) =
                    memchr::memmem::find(window, tag.as_bytes()).filter(|_| !tag.is_empty())
                else {
                    crate::ap_log!(
                        error,
                        "negotiation",
                        "AH00685: Syntax error in type map, no end tag '{tag}' found in {} for Body: content.",
                        path.display()
                    );
                    break;
                };
                let mut after = end + tag.len();
                while after < window.len() {
                    after += 1;
                    if window[after - 1] == b'\n' {
                        break;
                    }
                }
                rd.pos = start + after;
                v.body = Some((start as u64, end as u64));
                v.bytes = Some(end as u64);
                v.file_name = map_name.clone();
            }
            _ => {}
        }
    }
    Ok(())
}

/// Does mod_mime's handler (or, without one, its type) name a type map?
pub fn names_type_map(handler: Option<&str>, content_type: Option<&str>) -> bool {
    match handler {
        Some(h) => h.eq_ignore_ascii_case("type-map"),
        None => content_type.is_some_and(|t| t.eq_ignore_ascii_case(MAP_FILE_MAGIC_TYPE)),
    }
}

/// The `type-map` handler (httpd's `handle_map_file`): negotiates over the map's variants,
/// then serves an embedded body or redirects internally to the chosen file.
pub fn type_map_handler(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    // Without mod_negotiation, `SetHandler type-map` is a handler nobody has.
    if !req.config.modules.contains(&"negotiation") {
        return super::static_content(req, resp);
    }
    let Some(meta) = req.finfo.clone().filter(Metadata::is_file) else {
        return Err(404);
    };
    let dir_name = req
        .filename
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut neg = Neg::new(req, dir_name);
    let path = req.filename.clone();
    read_type_map(&path, &mut neg)?;
    neg.vlv = chain_vlv(
        super::core::make_etag(&meta, req.dir.etag_bits(), req.time),
        resp,
    );
    let best = do_negotiation(req, &mut neg, false, resp)?;
    if !req.head.is_http11() && !req.dir.cache_negotiated_docs.unwrap_or(false) {
        // httpd's r->no_cache: the response expires at once for HTTP/1.0 caches.
        let date = crate::proto::h1::response::http_date(req.time);
        set_err_header(resp, "Expires", date);
    }
    let v = neg.vars.swap_remove(best);
    if let Some((off, len)) = v.body {
        if !matches!(req.method, Method::Get | Method::Head | Method::Post) {
            let trace = req.dir.trace_enable.unwrap_or(req.config.trace_enable);
            resp.set("Allow", super::core::allow_header(trace).into());
            return Err(405);
        }
        let mtime = (meta.mtime().max(0) as u64).min(req.time);
        if let Some(s) = super::core::meets_conditions(req, None, mtime) {
            return Err(s);
        }
        let file = std::fs::File::open(&req.filename).map_err(|_| 403u16)?;
        resp.status = 200;
        resp.headers.push(("Accept-Ranges".into(), "bytes".into()));
        if !v.mime_type.is_empty() {
            resp.content_type = Some(if v.charset.is_empty() {
                v.mime_type.clone()
            } else {
                format!("{}; charset={}", v.mime_type, v.charset)
            });
        }
        if let Some(l) = v.lang() {
            resp.headers.push(("Content-Language".into(), l));
        }
        if let Some(e) = v.encoding.as_deref().filter(|e| !e.is_empty()) {
            resp.headers
                .push(("Content-Encoding".into(), e.to_string()));
        }
        return body_variant(req, resp, file, off, len);
    }
    let mut uri = super::uri::escape_path(base_uri_dir(req));
    uri.push_str(&v.file_name);
    let pi = std::mem::take(&mut req.path_info);
    // httpd cuts the path info off the request's own URL first (the log's `%U` shows it so).
    if let Some(keep) = req.uri.len().checked_sub(pi.len()) {
        if req.uri.is_char_boundary(keep) && req.uri[keep..] == pi {
            req.uri.truncate(keep);
        }
    }
    uri.push_str(&pi);
    // The new URL is parsed as a request's is: `%XX` decoded, `..` resolved (never above
    // the root: 400).
    let slashes = match req.server.allow_encoded_slashes {
        crate::config::AllowEncodedSlashes::Off => super::uri::EncodedSlashes::Off,
        crate::config::AllowEncodedSlashes::On => super::uri::EncodedSlashes::On,
        crate::config::AllowEncodedSlashes::NoDecode => super::uri::EncodedSlashes::NoDecode,
    };
    let uri = match super::uri::normalize(uri.as_bytes(), req.server.merge_slashes, slashes) {
        Ok(u) => u,
        Err(s) => {
            // The redirect's request is the one refused: httpd logs its URL with the dot
            // segments dropped, and no file.
            req.begin_internal_redirect();
            req.uri = collapse_dots(&uri);
            req.filename = PathBuf::new();
            return Err(s);
        }
    };
    resp.vlist_validator = neg.vlv;
    let query = req.query.clone();
    super::redirect_internally(req, uri, query, resp)
}

/// `path` with its `.` and `..` segments resolved, a `..` above the root dropped.
fn collapse_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    for seg in out {
        s.push('/');
        s.push_str(seg);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// httpd's 416 (its byterange filter's error, after the handler) goes out without the
/// negotiation's fields.
pub fn forget_headers(resp: &mut Response) {
    if resp.err_headers.is_empty() {
        return;
    }
    resp.err_headers.retain(|(n, _)| {
        !["Content-Location", "Vary", "TCN", "Alternates"]
            .iter()
            .any(|h| n.eq_ignore_ascii_case(h))
    });
}

/// A type map's embedded body (`len` bytes at `off` in the map), byte ranges included: httpd
/// passes it through its byterange filter like a file.
fn body_variant(
    req: &Request<'_>,
    resp: &mut Response,
    file: std::fs::File,
    off: u64,
    len: u64,
) -> Result<(), u16> {
    use super::core::{parse_ranges, Ranges};
    use super::request::Body;
    // There is no validator for If-Range to match: a conditional range gets the whole body.
    let ranges = match req.header_in("Range") {
        Some(r) if req.method.is_get_like() && req.header_in("If-Range").is_none() => {
            let limits = (
                req.dir.max_ranges.unwrap_or(200),
                req.dir.max_range_overlaps.unwrap_or(20),
                req.dir.max_range_reversals.unwrap_or(20),
            );
            parse_ranges(r, len, limits)
        }
        _ => Ranges::Ignore,
    };
    resp.body = match ranges {
        Ranges::Ignore => Body::File {
            file,
            offset: off,
            len,
        },
        Ranges::Unsatisfiable => {
            forget_headers(resp);
            return Err(416);
        }
        Ranges::Some(r) if r.len() == 1 => {
            let (s, e) = r[0];
            resp.status = 206;
            resp.headers
                .push(("Content-Range".into(), format!("bytes {s}-{e}/{len}")));
            Body::File {
                file,
                offset: off + s,
                len: e - s + 1,
            }
        }
        Ranges::Some(r) => {
            resp.status = 206;
            let b = super::core::boundary();
            let ct = resp.content_type.take();
            let parts = r
                .iter()
                .map(|&(s, e)| {
                    let mut h = format!("\r\n--{b}\r\n");
                    if let Some(ct) = &ct {
                        h.push_str(&format!("Content-type: {ct}\r\n"));
                    }
                    h.push_str(&format!("Content-range: bytes {s}-{e}/{len}\r\n\r\n"));
                    (h.into_bytes(), off + s, e - s + 1)
                })
                .collect();
            resp.content_type = Some(format!("multipart/byteranges; boundary={b}"));
            Body::Multipart {
                file,
                parts,
                trailer: format!("\r\n--{b}--\r\n").into_bytes(),
            }
        }
    };
    Ok(())
}

/// httpd's `fix_encoding`: a `Content-Encoding` is sent with the spelling the client used
/// in `Accept-Encoding` (`gzip` for `x-gzip` and the other way round).
pub fn fix_encoding(req: &Request<'_>, enc: &str) -> Option<String> {
    let enc = enc.strip_prefix("x-").unwrap_or(enc);
    let accs = header_line(req.header_in("Accept-Encoding"))?;
    let mut x_enc = None;
    for a in accs {
        if a.name == enc {
            return Some(a.name);
        }
        if a.name.strip_prefix("x-") == Some(enc) {
            x_enc = Some(a.name);
        }
    }
    x_enc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoq_as_httpd() {
        assert_eq!(atoq("0.5"), 0.5);
        assert_eq!(atoq("1"), 1.0);
        assert_eq!(atoq("0"), 0.0);
        assert_eq!(atoq(".25"), 0.25);
        assert_eq!(atoq("0.001"), 0.001);
        assert_eq!(atoq("0.1000"), 0.1);
        assert_eq!(atoq("2"), 1.0);
        assert_eq!(atoq(""), 1.0);
    }

    #[test]
    fn accept_entries() {
        let l = header_line(Some("text/html;level=1;q=0.7, text/*; q=0.3 ,*/*")).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].name, "text/html");
        assert_eq!(l[0].level, 1.0);
        assert_eq!(l[0].quality, 0.7);
        assert_eq!(l[1].name, "text/*");
        assert_eq!(l[1].quality, 0.3);
        assert_eq!(l[2].name, "*/*");
        let (e, _) = get_entry("text/html; qs=0.5; charset=\"UTF-8\"");
        assert_eq!(
            (e.quality, e.level, e.charset.as_str()),
            (0.5, 2.0, "utf-8")
        );
    }

    #[test]
    fn alternates_quality_text() {
        assert_eq!(qstr(1.0), "1");
        assert_eq!(qstr(0.5), "0.5");
        assert_eq!(qstr(0.8), "0.8");
        assert_eq!(qstr(0.125), "0.125");
        assert_eq!(qstr(0.0), "0");
    }

    #[test]
    fn structured_etag_is_httpds() {
        assert_eq!(
            structured_etag("\"8-6620c85f19c53\"", "\"6620c85f1a30d\""),
            "\"8-6620c85f19c53;6620c85f1a30d"
        );
        assert_eq!(structured_etag("\"8-1\"", "W/\"2\""), "W/\"8-1;2");
    }

    #[test]
    fn type_map_lines() {
        let map = b"# c\nURI: a.html\nContent-Type: text/html;\n  qs=0.5\nDescription: two\n words\n\nURI: b\n";
        let mut r = MapReader { data: map, pos: 0 };
        let mut got = Vec::new();
        loop {
            match r.next_line() {
                MapLine::Eof => break,
                MapLine::Sep => got.push("|".to_string()),
                MapLine::Header(h) => got.push(h),
            }
        }
        assert_eq!(
            got,
            [
                "URI: a.html\n",
                "Content-Type: text/html;\nqs=0.5\n",
                "Description: two\nwords\n",
                "|",
                "URI: b\n"
            ]
        );
    }

    #[test]
    fn classify_keeps_unclaimed_extensions() {
        let mut types = super::super::mime::Types::default();
        types.insert("html".into(), "text/html".into());
        let dir = DirConf {
            add_language: vec![
                ("en".into(), Some("en".into())),
                ("fr".into(), Some("fr".into())),
            ],
            ..DirConf::default()
        };
        let c = classify(&types, &dir, "foo.bak.html.en");
        assert_eq!(c.exceptions, ["foo", "bak"]);
        assert_eq!(c.languages, ["en"]);
        assert!(c.found_metadata);
        let c = classify(&types, &dir, "foo.xyz");
        assert!(!c.found_metadata);
    }
}
