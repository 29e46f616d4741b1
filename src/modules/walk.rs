//! The per-directory merge (httpd's directory/file/location walks, spec config.md §7):
//! `<Directory>` by path length then file order, `<DirectoryMatch>` in file order, `<Files>`
//! and `<FilesMatch>`, then `<Location>` and `<LocationMatch>`; main-server sections before
//! the vhost's (`build` puts the main server's sections first in each vhost's list). Nested
//! `<Limit>`/`<LimitExcept>` apply after their section when the method matches. The merged result depends only on which sections matched, so it is cached per
//! thread by that list: the steady state costs the matching and one hash lookup.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use super::vhost::wildcard_match;
use crate::config::{DirConf, Matcher, Section, SectionKind, ServerConf, ServerConfig};

/// Where a section sits in the server's list: top-level index and nested index + 1 (or 0).
type SecId = u32;

fn id(top: usize, nested: usize) -> SecId {
    ((top as u32 & 0xffff) << 16) | (nested as u32 & 0xffff)
}

fn section_by_id(server: &ServerConf, id: SecId) -> Option<&Section> {
    let top = server.sections.get((id >> 16) as usize)?;
    match id & 0xffff {
        0 => Some(top),
        n => top.nested.get(n as usize - 1),
    }
}

type Cache = HashMap<(usize, Box<[SecId]>), Arc<DirConf>>;

thread_local! {
    static CACHE: RefCell<(usize, Cache)> =
        RefCell::new((0, HashMap::new()));
}

const CACHE_MAX: usize = 4096;

fn trim_slash(p: &str) -> &str {
    if p.len() > 1 {
        p.trim_end_matches('/')
    } else {
        p
    }
}

fn components(p: &str) -> usize {
    trim_slash(p).split('/').filter(|s| !s.is_empty()).count()
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
            let k = components(p);
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
            if components(dir) < k {
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
    pub uri: &'a str,
    pub method: &'a str,
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

/// Returns the merged per-directory configuration for a request.
pub fn merged(
    config: &ServerConfig,
    server_index: usize,
    server: &ServerConf,
    t: &Target<'_>,
) -> Arc<DirConf> {
    let mut ids: Vec<SecId> = Vec::with_capacity(16);
    let secs = &server.sections;

    if let Some(dir) = t.dir {
        // 1. <Directory> (non-regex), shortest first, then file order.
        let mut plain: Vec<(usize, SecId)> = Vec::new();
        for (i, sec) in secs.iter().enumerate() {
            if sec.kind == SectionKind::Directory
                && !is_regex_dir(sec)
                && dir_matches(&sec.matcher, dir)
            {
                let p = match &sec.matcher {
                    Matcher::Literal(p) | Matcher::Wildcard(p) => components(p),
                    _ => 0,
                };
                plain.push((p, id(i, 0)));
            }
        }
        plain.sort_by_key(|&(n, id)| (n, id));
        ids.extend(plain.iter().map(|&(_, id)| id));
        // 2. <DirectoryMatch>, file order.
        for (i, sec) in secs.iter().enumerate() {
            if is_regex_dir(sec) && dir_matches(&sec.matcher, dir) {
                ids.push(id(i, 0));
            }
        }
        // 3. <Files>/<FilesMatch>: top level, then nested in the directories that applied.
        if let Some(file) = t.file {
            let dirs_applied = ids.clone();
            for (i, sec) in secs.iter().enumerate() {
                if matches!(sec.kind, SectionKind::Files | SectionKind::FilesMatch)
                    && files_matches(&sec.matcher, file)
                {
                    ids.push(id(i, 0));
                }
            }
            for d in dirs_applied {
                if let Some(sec) = section_by_id(server, d) {
                    for (j, n) in sec.nested.iter().enumerate() {
                        if matches!(n.kind, SectionKind::Files | SectionKind::FilesMatch)
                            && files_matches(&n.matcher, file)
                        {
                            ids.push(d | (j as u32 + 1));
                        }
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
            ids.push(id(i, 0));
        }
    }
    // <Limit>/<LimitExcept> nested directly in an applied top-level section.
    let mut with_limits: Vec<SecId> = Vec::with_capacity(ids.len());
    for &sid in &ids {
        with_limits.push(sid);
        if sid & 0xffff == 0 {
            if let Some(sec) = section_by_id(server, sid) {
                for (j, n) in sec.nested.iter().enumerate() {
                    if limit_matches(n, t.method) {
                        with_limits.push(sid | (j as u32 + 1));
                    }
                }
            }
        }
    }
    let ids = with_limits;

    let cfg_key = config as *const ServerConfig as usize;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != cfg_key || c.1.len() > CACHE_MAX {
            c.0 = cfg_key;
            c.1.clear();
        }
        let key = (server_index, ids.into_boxed_slice());
        if let Some(d) = c.1.get(&key) {
            return d.clone();
        }
        let mut conf = server.dir.clone();
        for &sid in key.1.iter() {
            if let Some(sec) = section_by_id(server, sid) {
                conf = conf.merge(&sec.conf);
            }
        }
        let conf = Arc::new(conf);
        c.1.insert(key, conf.clone());
        conf
    })
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
    fn location_boundaries() {
        let l = |p: &str| Matcher::Literal(p.into());
        assert!(location_matches(&l("/headers"), "/headers"));
        assert!(location_matches(&l("/headers"), "/headers/x"));
        assert!(!location_matches(&l("/headers"), "/headersx"));
        assert!(location_matches(&l("/"), "/anything"));
    }
}
