//! The per-directory merge (httpd's directory/file/location walks, spec config.md §7):
//! `<Directory>` by path length then file order, `<DirectoryMatch>` in file order, `<Files>`
//! and `<FilesMatch>`, then `<Location>` and `<LocationMatch>`; main-server sections before
//! the vhost's (`build` puts the main server's sections first in each vhost's list). Nested
//! `<Limit>`/`<LimitExcept>` apply after their section when the method matches. Last come the
//! `<If>`/`<ElseIf>`/`<Else>` chains, evaluated for the request: the server's own (main
//! server's, then the vhost's), then those nested in each section that applied, in merge
//! order; an `<If>` that holds merges and then its own nested chains. The merged result
//! depends only on which sections matched, so it is cached per thread by that list: the
//! steady state costs the matching and one hash lookup. The `MATCH_*` variables of named
//! groups depend on the request itself: they are found beside the cache, and only when a
//! section that applied names a group (the names are found when the pattern is compiled).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use super::htaccess::{self, HtFile};
use super::vhost::wildcard_match;
use crate::config::expr::{self, Env};
use crate::config::pcre::{Captures, Regex};
use crate::config::{
    path_components, DirConf, Matcher, Section, SectionKind, ServerConf, ServerConfig,
};

/// Where a section sits in the server's list: the top-level index (bits 32..48) and, in the
/// low 32 bits, the section's number in a pre-order count of what is nested in that top-level
/// section (0 = the top-level section itself), so sections nest to any depth. `.htaccess` keys
/// (at or above [`HT`]) have the file's generation in place of the top-level index (number 0
/// = the file itself, its sections counted from 1).
type SecId = u64;

fn id(top: usize) -> SecId {
    (top as u64 & 0xffff) << 32
}

/// How many sections a pre-order count gives `s` and everything nested in it.
fn subtree_len(s: &Section) -> u64 {
    1 + s.nested.iter().map(subtree_len).sum::<u64>()
}

/// The key of `nested[j]`, where `nested` is what is nested in the section (or `.htaccess`
/// file) `k` names; `None` past the 32-bit count.
fn child(k: u64, nested: &[Section], j: usize) -> Option<u64> {
    let n = (k & 0xffff_ffff) + 1 + nested[..j].iter().map(subtree_len).sum::<u64>();
    (n <= 0xffff_ffff).then_some((k & !0xffff_ffff) | n)
}

fn is_top(k: u64) -> bool {
    k & 0xffff_ffff == 0
}

/// The section numbered `n` (from 1) in a pre-order count of `list` and what nests in it.
fn nth(list: &[Section], mut n: u64) -> Option<&Section> {
    for s in list {
        let len = subtree_len(s);
        if n <= len {
            return if n == 1 {
                Some(s)
            } else {
                nth(&s.nested, n - 1)
            };
        }
        n -= len;
    }
    None
}

fn section_by_id(server: &ServerConf, id: SecId) -> Option<&Section> {
    let top = server.sections.get(((id >> 32) & 0xffff) as usize)?;
    match id & 0xffff_ffff {
        0 => Some(top),
        n => nth(&top.nested, n),
    }
}

/// Merged configurations by the server's index followed by the keys of what applied, in
/// merge order.
type Cache = HashMap<Box<[u64]>, Arc<DirConf>, BuildFx>;
use super::fx::BuildFx;

thread_local! {
    static CACHE: RefCell<(usize, Cache)> =
        RefCell::new((0, HashMap::with_hasher(BuildFx)));
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The walk's working lists, kept by the thread between requests (no allocation per walk).
#[derive(Default)]
struct Scratch {
    ids: Vec<u64>,
    plain: Vec<(usize, SecId)>,
    keys: Vec<u64>,
    aux: Vec<u64>,
}

const CACHE_MAX: usize = 4096;

fn trim_slash(p: &str) -> &str {
    if p.len() > 1 {
        p.trim_end_matches('/')
    } else {
        p
    }
}

/// Does a `<Directory>` literal or wildcard cover `dir` (no trailing slash, or `/`)?
fn dir_matches(m: &Matcher, dir: &str) -> bool {
    match m {
        Matcher::Literal(p) => {
            let p = trim_slash(p);
            p == "/"
                || dir == p
                || (dir.starts_with(p) && dir.as_bytes().get(p.len()) == Some(&b'/'))
        }
        Matcher::Wildcard(p) => {
            let p = trim_slash(p);
            let k = path_components(p);
            // the prefix of `dir` with k components
            let mut seen = 0;
            let mut end = dir.len();
            for (i, b) in dir.bytes().enumerate().skip(1) {
                if b == b'/' {
                    seen += 1;
                    if seen == k {
                        end = i;
                        break;
                    }
                }
            }
            if path_components(dir) < k {
                return false;
            }
            wildcard_match(p.as_bytes(), &dir.as_bytes()[..end])
        }
        Matcher::Regex(r) => r.is_match(dir) || r.is_match(&format!("{dir}/")),
        Matcher::Expr(_) => false,
    }
}

fn files_matches(m: &Matcher, name: &str) -> bool {
    match m {
        Matcher::Literal(p) => p == name,
        Matcher::Wildcard(p) => wildcard_match(p.as_bytes(), name.as_bytes()),
        Matcher::Regex(r) => r.is_match(name),
        Matcher::Expr(_) => false,
    }
}

fn location_matches(m: &Matcher, uri: &str) -> bool {
    match m {
        Matcher::Literal(p) => {
            uri.starts_with(p.as_str())
                && (p.ends_with('/') || matches!(uri.as_bytes().get(p.len()), None | Some(b'/')))
        }
        Matcher::Wildcard(p) => wildcard_match(p.as_bytes(), uri.as_bytes()),
        Matcher::Regex(r) => r.is_match(uri),
        Matcher::Expr(_) => false,
    }
}

/// The `<Location>`/`<LocationMatch>` sections covering `uri` that hold mod_alias rules, in
/// merge order: what httpd has merged when translate runs (its location walk comes first).
pub fn alias_locations<'s>(
    server: &'s ServerConf,
    uri: &'s str,
) -> impl Iterator<Item = &'s Section> + 's {
    server.sections.iter().filter(move |s| {
        matches!(s.kind, SectionKind::Location | SectionKind::LocationMatch)
            && !s.conf.aliases.is_empty()
            && location_matches(&s.matcher, uri)
    })
}

/// httpd's first location walk, before translate: the `MATCH_*` variables of the
/// `<LocationMatch>` sections covering `uri`, for what runs at translate time (the
/// expression forms of `Alias` and `Redirect` in a `<Location>`, mod_rewrite). Nothing to do,
/// at the cost of one flag, when no location section of the server names a group.
pub fn location_vars(server: &ServerConf, uri: &str, vars: &mut Vec<(String, String)>) {
    let named = *server.named_locations.get_or_init(|| {
        server.sections.iter().any(|s| {
            matches!(s.kind, SectionKind::Location | SectionKind::LocationMatch) && has_names(s)
        })
    });
    if !named {
        return;
    }
    for sec in &server.sections {
        if matches!(sec.kind, SectionKind::Location | SectionKind::LocationMatch) {
            if let Matcher::Regex(re) = &sec.matcher {
                if !re.group_names().is_empty() {
                    if let Some(caps) = re.captures(uri) {
                        push_vars(re, &caps, vars);
                    }
                }
            }
        }
    }
}

/// Adds `MATCH_<NAME>` for each named group of `re` that took part in `caps`.
pub fn push_vars(re: &Regex, caps: &Captures<'_>, vars: &mut Vec<(String, String)>) {
    for (i, name) in re.group_names() {
        if let Some(v) = caps.get(*i) {
            let mut n = String::with_capacity(6 + name.len());
            n.push_str("MATCH_");
            n.push_str(&name.to_ascii_uppercase());
            vars.push((n, v.to_string()));
        }
    }
}

fn is_regex_dir(s: &Section) -> bool {
    s.kind == SectionKind::DirectoryMatch
        || (s.kind == SectionKind::Directory && matches!(s.matcher, Matcher::Regex(_)))
}

/// What the merge is computed for.
pub struct Target<'a> {
    /// The directory holding the file (or the directory itself), without trailing slash;
    /// `None` when the request maps to no file (only `<Location>` applies).
    pub dir: Option<&'a str>,
    /// The last path component of the file, for `<Files>`.
    pub file: Option<&'a str>,
    /// The request's file name in full (httpd's `r->filename`: the file, or the directory
    /// as the URL named it, trailing slash included): what `<DirectoryMatch>` and
    /// `<Directory ~>` match, as in httpd 2.4. `None`: the directory (and `dir/`) instead.
    pub path: Option<&'a str>,
    pub uri: &'a str,
    pub method: &'a str,
    /// What `<If>` conditions are evaluated against; `None` applies no `<If>` section.
    pub env: Option<&'a dyn Env>,
}

impl<'a> Target<'a> {
    /// The walk of a request that maps to no file yet: only `<Location>` (and `<If>`)
    /// sections apply.
    pub fn location(req: &'a super::Request<'_>) -> Target<'a> {
        Target {
            dir: None,
            file: None,
            path: None,
            uri: &req.uri,
            method: req.method_str,
            env: Some(req),
        }
    }
}

fn limit_matches(sec: &Section, method: &str) -> bool {
    let listed = match &sec.matcher {
        Matcher::Literal(m) => m.split_whitespace().any(|x| {
            x.eq_ignore_ascii_case(method)
                || (x.eq_ignore_ascii_case("GET") && method.eq_ignore_ascii_case("HEAD"))
        }),
        _ => false,
    };
    match sec.kind {
        SectionKind::Limit => listed,
        SectionKind::LimitExcept => !listed,
        _ => false,
    }
}

/// Key entries at or above this mark name `.htaccess` content rather than a config section.
const HT: u64 = 1 << 62;

/// The key of an `.htaccess` file itself (its sections' come from [`child`]).
fn ht_key(ht: &HtFile) -> u64 {
    HT | ((ht.generation & 0x3fff_ffff) << 32)
}

fn ht_generation(k: u64) -> u64 {
    (k & !HT) >> 32
}

/// The settings an `.htaccess` key names: the file's own or one of its sections'.
fn ht_conf(hts: &[Arc<HtFile>], k: u64) -> Option<&DirConf> {
    let h = hts
        .iter()
        .find(|h| h.generation & 0x3fff_ffff == ht_generation(k))?;
    match k & 0xffff_ffff {
        0 => Some(&h.conf),
        n => nth(&h.sections, n).map(|s| &s.conf),
    }
}

/// The sections nested in what a key names (an `.htaccess` file's are its sections).
fn nested_of<'s>(server: &'s ServerConf, hts: &'s [Arc<HtFile>], k: u64) -> &'s [Section] {
    if k >= HT {
        let Some(h) = hts
            .iter()
            .find(|h| h.generation & 0x3fff_ffff == ht_generation(k))
        else {
            return &[];
        };
        match k & 0xffff_ffff {
            0 => &h.sections,
            n => nth(&h.sections, n).map_or(&[], |s| &s.nested),
        }
    } else {
        section_by_id(server, k).map_or(&[], |s| &s.nested)
    }
}

/// httpd's first `<If>` walk, after the first Location walk and before translate: the
/// conditions of the server's `<If>` sections (and those in a matching `<Location>`) are
/// evaluated once more there, which matters for the order of the headers they add to
/// `Vary` (before mod_rewrite's). Nothing to do without an `<If>` at those places.
pub fn early_if(req: &super::Request<'_>) -> Result<(), u16> {
    let any = *req.server.early_ifs.get_or_init(|| {
        req.server.sections.iter().any(|s| {
            is_if(s)
                || (matches!(s.kind, SectionKind::Location | SectionKind::LocationMatch)
                    && s.nested.iter().any(is_if))
        })
    });
    if !any {
        return Ok(());
    }
    let t = Target::location(req);
    // Evaluated for their Vary names only: MATCH_* were set by the location walk.
    let mut vars = Vec::new();
    merged(req.config, req.server_index, req.server, &t, &mut vars).map(drop)
}

fn is_if(s: &Section) -> bool {
    matches!(
        s.kind,
        SectionKind::If | SectionKind::ElseIf | SectionKind::Else
    )
}

/// Evaluates the `<If>` chains of `list` (keys from `key_of`): the first branch of a chain
/// whose condition holds applies, followed by its own nested chains and `<Limit>`s.
fn if_chains(
    list: &[Section],
    key_of: &dyn Fn(usize) -> Option<u64>,
    t: &Target<'_>,
    env: &dyn Env,
    out: &mut Vec<u64>,
) {
    let mut taken = false;
    for (j, sec) in list.iter().enumerate() {
        let hit = match sec.kind {
            SectionKind::If => {
                taken = cond_holds(sec, env);
                taken
            }
            SectionKind::ElseIf | SectionKind::Else if !taken => {
                taken = cond_holds(sec, env);
                taken
            }
            _ => false,
        };
        if !hit {
            continue;
        }
        let Some(k) = key_of(j) else {
            continue;
        };
        out.push(k);
        for (m, n) in sec.nested.iter().enumerate() {
            if matches!(n.kind, SectionKind::Limit | SectionKind::LimitExcept)
                && limit_matches(n, t.method)
            {
                if let Some(c) = child(k, &sec.nested, m) {
                    out.push(c);
                }
            }
        }
        if sec.nested.iter().any(is_if) {
            if_chains(&sec.nested, &|m| child(k, &sec.nested, m), t, env, out);
        }
    }
}

fn cond_holds(sec: &Section, env: &dyn Env) -> bool {
    match &sec.matcher {
        Matcher::Expr(c) => expr::eval(c, env),
        _ => false,
    }
}

/// The AllowOverride in force after the sections applied so far.
fn allow_override_after(server: &ServerConf, ids: &[u64], hts: &[Arc<HtFile>]) -> u16 {
    let mut ao = server.dir.allow_override;
    for &k in ids {
        let conf = if k >= HT {
            ht_conf(hts, k)
        } else {
            section_by_id(server, k).map(|s| &s.conf)
        };
        if let Some(v) = conf.and_then(|c| c.allow_override) {
            ao = Some(v);
        }
    }
    ao.unwrap_or(0)
}

/// The directory prefixes of `dir`, from `/` down: `/`, `/a`, `/a/b`.
fn levels(dir: &str) -> impl Iterator<Item = &str> {
    // '/' is ASCII: every cut is a char boundary.
    std::iter::once("/").chain(
        memchr::memchr_iter(b'/', dir.as_bytes())
            .filter(|&i| i > 0)
            .map(move |i| &dir[..i])
            .chain(std::iter::once(dir).filter(|d| *d != "/")),
    )
}

/// Is the section a regex one with named groups (whose matches set `MATCH_*`)?
fn has_names(s: &Section) -> bool {
    matches!(&s.matcher, Matcher::Regex(r) if !r.group_names().is_empty())
}

/// The section (of the server's config or of an `.htaccess` file) a key names.
fn section_of<'s>(server: &'s ServerConf, hts: &'s [Arc<HtFile>], k: u64) -> Option<&'s Section> {
    if k < HT {
        return section_by_id(server, k);
    }
    let h = hts
        .iter()
        .find(|h| h.generation & 0x3fff_ffff == ht_generation(k))?;
    match k & 0xffff_ffff {
        0 => None,
        n => nth(&h.sections, n),
    }
}

/// httpd's walks set `MATCH_<NAME>` (the name upper-cased) for each named group of a regex
/// section that applied and took part in the match: the location walk's first, then the
/// directory walk's, then the file walk's; a later one replaces an earlier one. Subjects:
/// the URI for `<LocationMatch>`, the full file name for `<DirectoryMatch>` (the directory
/// when there is none), the last path component for `<FilesMatch>`.
fn match_vars(
    server: &ServerConf,
    hts: &[Arc<HtFile>],
    ids: &[u64],
    t: &Target<'_>,
    vars: &mut Vec<(String, String)>,
) {
    let is_loc = |s: &Section| matches!(s.kind, SectionKind::Location | SectionKind::LocationMatch);
    let locations = ids
        .iter()
        .filter_map(|&k| section_of(server, hts, k))
        .filter(|s| is_loc(s));
    let others = ids
        .iter()
        .filter_map(|&k| section_of(server, hts, k))
        .filter(|s| !is_loc(s));
    for sec in locations.chain(others) {
        let Matcher::Regex(re) = &sec.matcher else {
            continue;
        };
        if re.group_names().is_empty() {
            continue;
        }
        let subject = match sec.kind {
            SectionKind::Location | SectionKind::LocationMatch => Some(t.uri),
            SectionKind::Files | SectionKind::FilesMatch => t.file,
            SectionKind::Directory | SectionKind::DirectoryMatch => t.path.or(t.dir),
            _ => None,
        };
        let Some(caps) = subject.and_then(|s| re.captures(s)) else {
            continue;
        };
        push_vars(re, &caps, vars);
    }
}

/// The request's environment as `<If>` sees it during the walk: the `MATCH_*` variables
/// just found, over the request's own.
struct WithVars<'a> {
    env: &'a dyn Env,
    vars: &'a [(String, String)],
}

impl Env for WithVars<'_> {
    fn var(&self, name: &str) -> String {
        self.env.var(name)
    }
    fn header(&self, name: &str) -> Option<String> {
        self.env.header(name)
    }
    fn req_env(&self, name: &str) -> Option<String> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Some(v.clone()),
            None => self.env.req_env(name),
        }
    }
    fn remote_ip(&self) -> std::net::IpAddr {
        self.env.remote_ip()
    }
    fn resp_header(&self, name: &str) -> Option<String> {
        self.env.resp_header(name)
    }
    fn note(&self, name: &str) -> Option<String> {
        self.env.note(name)
    }
    fn ssl_var(&self, name: &str) -> Option<String> {
        self.env.ssl_var(name)
    }
}

/// Returns the merged per-directory configuration for a request, `.htaccess` files included
/// (right after the `<Directory>` sections of their level). `Err(500)` when an `.htaccess`
/// may not be used.
///
/// `vars` receives the `MATCH_<NAME>` variables of the named groups of the regex sections
/// that applied, in the order httpd sets them (later ones replace earlier ones of the same
/// name): `<LocationMatch>`, then `<DirectoryMatch>`, then `<FilesMatch>`. They depend on
/// the request, not only on which sections applied, so they are computed outside the cache,
/// and only when an applied section names a group.
pub fn merged(
    config: &ServerConfig,
    server_index: usize,
    server: &ServerConf,
    t: &Target<'_>,
    vars: &mut Vec<(String, String)>,
) -> Result<Arc<DirConf>, u16> {
    // Taken, not borrowed: a walk may run inside another (a sub-request).
    let mut sc = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let r = merged_with(config, server_index, server, t, &mut sc, vars);
    SCRATCH.with(|s| *s.borrow_mut() = sc);
    r
}

fn merged_with(
    config: &ServerConfig,
    server_index: usize,
    server: &ServerConf,
    t: &Target<'_>,
    sc: &mut Scratch,
    vars: &mut Vec<(String, String)>,
) -> Result<Arc<DirConf>, u16> {
    let Scratch {
        ids,
        plain,
        keys,
        aux,
    } = sc;
    ids.clear();
    plain.clear();
    keys.clear();
    aux.clear();
    let mut hts: Vec<Arc<HtFile>> = Vec::new();
    let secs = &server.sections;
    // Whether an applied regex section has named groups (then `MATCH_*` are computed).
    let mut named = false;

    if let Some(dir) = t.dir {
        // 1. <Directory> (non-regex) level by level, file order within a level, each level's
        //    .htaccess right after it.
        for (i, sec) in secs.iter().enumerate() {
            if sec.kind == SectionKind::Directory
                && !is_regex_dir(sec)
                && dir_matches(&sec.matcher, dir)
            {
                plain.push((sec.depth, id(i)));
            }
        }
        plain.sort_by_key(|&(n, id)| (n, id));
        let mut next = 0;
        for (depth, level) in levels(dir).enumerate() {
            while next < plain.len() && plain[next].0 <= depth {
                ids.push(plain[next].1);
                next += 1;
            }
            let ao = allow_override_after(server, ids, &hts);
            if ao != 0 {
                if let Some(h) = htaccess::load(level, ao, config, server) {
                    if let Some(e) = &h.error {
                        tracing::error!("AH00529: {e}");
                        return Err(500);
                    }
                    let hk = ht_key(&h);
                    ids.push(hk);
                    for (j, n) in h.sections.iter().enumerate() {
                        if limit_matches(n, t.method) {
                            ids.extend(child(hk, &h.sections, j));
                        }
                    }
                    hts.push(h);
                }
            }
        }
        ids.extend(plain[next..].iter().map(|&(_, id)| id));
        // 2. <DirectoryMatch>, file order, against the full file name (httpd's r->filename).
        for (i, sec) in secs.iter().enumerate() {
            if is_regex_dir(sec) {
                let hit = match (&sec.matcher, t.path) {
                    (Matcher::Regex(r), Some(path)) => r.is_match(path),
                    (m, _) => dir_matches(m, dir),
                };
                if hit {
                    named |= has_names(sec);
                    ids.push(id(i));
                }
            }
        }
        // 3. <Files>/<FilesMatch>: top level, then nested in the directories that applied,
        //    then those of the .htaccess files.
        if let Some(file) = t.file {
            aux.extend(ids.iter().copied().filter(|&k| k < HT));
            for (i, sec) in secs.iter().enumerate() {
                if matches!(sec.kind, SectionKind::Files | SectionKind::FilesMatch)
                    && files_matches(&sec.matcher, file)
                {
                    named |= has_names(sec);
                    ids.push(id(i));
                }
            }
            for &d in aux.iter() {
                if let Some(sec) = section_by_id(server, d) {
                    for (j, n) in sec.nested.iter().enumerate() {
                        if matches!(n.kind, SectionKind::Files | SectionKind::FilesMatch)
                            && files_matches(&n.matcher, file)
                        {
                            named |= has_names(n);
                            ids.extend(child(d, &sec.nested, j));
                        }
                    }
                }
            }
            for h in &hts {
                for (j, n) in h.sections.iter().enumerate() {
                    if matches!(n.kind, SectionKind::Files | SectionKind::FilesMatch)
                        && files_matches(&n.matcher, file)
                    {
                        named |= has_names(n);
                        ids.extend(child(ht_key(h), &h.sections, j));
                    }
                }
            }
        }
    }
    // 4. <Location>/<LocationMatch>, file order.
    for (i, sec) in secs.iter().enumerate() {
        if matches!(sec.kind, SectionKind::Location | SectionKind::LocationMatch)
            && location_matches(&sec.matcher, t.uri)
        {
            named |= has_names(sec);
            ids.push(id(i));
        }
    }
    // <Limit>/<LimitExcept> nested directly in an applied top-level section.
    // The cache key: the server, then what applied.
    keys.push(server_index as u64);
    for &k in ids.iter() {
        keys.push(k);
        if k < HT && is_top(k) {
            if let Some(sec) = section_by_id(server, k) {
                for (j, n) in sec.nested.iter().enumerate() {
                    if limit_matches(n, t.method) {
                        keys.push(child(k, &sec.nested, j).unwrap_or(k));
                    }
                }
            }
        }
    }
    if named {
        match_vars(server, &hts, &ids[..], t, vars);
    }
    // 5. <If> chains: the server's, then those nested in what applied, in merge order; they
    //    see the `MATCH_*` variables too.
    let with_vars;
    let env = match t.env {
        Some(env) if !vars.is_empty() => {
            with_vars = WithVars { env, vars };
            Some(&with_vars as &dyn Env)
        }
        e => e,
    };
    if let Some(env) = env {
        aux.clear();
        aux.extend_from_slice(&keys[1..]);
        if_chains(secs, &|i| Some(id(i)), t, env, keys);
        for &k in aux.iter() {
            let list = nested_of(server, &hts, k);
            if list.iter().any(is_if) {
                if_chains(list, &|j| child(k, list, j), t, env, keys);
            }
        }
    }

    let cfg_key = config as *const ServerConfig as usize;
    Ok(CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != cfg_key || c.1.len() > CACHE_MAX {
            c.0 = cfg_key;
            c.1.clear();
        }
        if let Some(d) = c.1.get(&keys[..]) {
            return d.clone();
        }
        let mut conf = server.dir.clone();
        for &k in keys[1..].iter() {
            if k >= HT {
                if let Some(c) = ht_conf(&hts, k) {
                    conf = conf.merge(c);
                }
            } else if let Some(sec) = section_by_id(server, k) {
                conf = conf.merge(&sec.conf);
            }
        }
        let conf = Arc::new(conf);
        c.1.insert(keys[..].into(), conf.clone());
        conf
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_matching() {
        let l = |p: &str| Matcher::Literal(p.into());
        assert!(dir_matches(&l("/"), "/srv/www"));
        assert!(dir_matches(&l("/srv/www/"), "/srv/www"));
        assert!(dir_matches(&l("/srv/www"), "/srv/www/sub"));
        assert!(!dir_matches(&l("/srv/www"), "/srv/wwwx"));
        let w = Matcher::Wildcard("/home/*/public_html".into());
        assert!(dir_matches(&w, "/home/bob/public_html/x"));
        assert!(!dir_matches(&w, "/home/bob"));
    }

    #[test]
    fn component_counts() {
        for (p, n) in [
            ("/", 0),
            ("", 0),
            ("/a", 1),
            ("/a/", 1),
            ("a/b", 2),
            ("//a//b//", 2),
        ] {
            assert_eq!(path_components(p), n, "{p}");
        }
    }

    #[test]
    fn directory_levels() {
        assert_eq!(
            levels("/srv/www/a").collect::<Vec<_>>(),
            vec!["/", "/srv", "/srv/www", "/srv/www/a"]
        );
        assert_eq!(levels("/").collect::<Vec<_>>(), vec!["/"]);
    }

    /// Every section of a tree nested five deep gets a key of its own that leads back to it.
    #[test]
    fn keys_reach_any_depth() {
        fn sec(name: &str, nested: Vec<Section>) -> Section {
            Section {
                kind: SectionKind::If,
                matcher: Matcher::Literal(name.into()),
                conf: DirConf::default(),
                nested,
                span: crate::conf::Span {
                    file: Arc::new("t.conf".into()),
                    line: 1,
                },
                depth: 0,
            }
        }
        let tree = vec![
            sec(
                "a",
                vec![
                    sec("a1", vec![sec("a1x", vec![sec("a1x0", vec![])])]),
                    sec("a2", vec![]),
                ],
            ),
            sec(
                "b",
                vec![sec(
                    "b1",
                    vec![sec("b1x", vec![sec("b1xy", vec![sec("deepest", vec![])])])],
                )],
            ),
        ];
        fn walk(list: &[Section], k: u64, root: &[Section], seen: &mut Vec<(u64, String)>) {
            for (j, s) in list.iter().enumerate() {
                let c = child(k, list, j).unwrap();
                let found = nth(root, c & 0xffff_ffff).unwrap();
                let Matcher::Literal(name) = &found.matcher else {
                    unreachable!()
                };
                let Matcher::Literal(want) = &s.matcher else {
                    unreachable!()
                };
                assert_eq!(name, want);
                seen.push((c, name.clone()));
                walk(&s.nested, c, root, seen);
            }
        }
        let mut seen = Vec::new();
        walk(&tree, id(3), &tree, &mut seen);
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|(k, _)| k >> 32 == 3));
        assert_eq!(seen.last().unwrap(), &(id(3) | 10, "deepest".to_string()));
    }

    #[test]
    fn location_boundaries() {
        let l = |p: &str| Matcher::Literal(p.into());
        assert!(location_matches(&l("/headers"), "/headers"));
        assert!(location_matches(&l("/headers"), "/headers/x"));
        assert!(!location_matches(&l("/headers"), "/headersx"));
        assert!(location_matches(&l("/"), "/anything"));
    }
}
