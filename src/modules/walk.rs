//! The per-directory merge (httpd's directory/file/location walks, spec config.md §7):
//! `<Directory>` by path length then file order, `<DirectoryMatch>` in file order, `<Files>`
//! and `<FilesMatch>`, then `<Location>` and `<LocationMatch>`; main-server sections before
//! the vhost's. The merged result depends only on which sections matched, so it is cached per
//! thread by that list: the steady state costs the matching and one hash lookup.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use super::vhost::wildcard_match;
use crate::config::{DirConf, Matcher, Section, SectionKind, ServerConf, ServerConfig};

/// Where a section sits: (0 = main / 1 = vhost, top-level index, nested index + 1 or 0).
type SecId = u32;

fn id(vhost: bool, top: usize, nested: usize) -> SecId {
    ((vhost as u32) << 30) | ((top as u32 & 0x3fff) << 16) | (nested as u32 & 0xffff)
}

fn section_by_id<'c>(
    main: &'c ServerConf,
    server: &'c ServerConf,
    id: SecId,
) -> Option<&'c Section> {
    let s = if id >> 30 == 1 { server } else { main };
    let top = s.sections.get(((id >> 16) & 0x3fff) as usize)?;
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
}

/// Returns the merged per-directory configuration for a request.
pub fn merged(
    config: &ServerConfig,
    server_index: usize,
    server: &ServerConf,
    t: &Target<'_>,
) -> Arc<DirConf> {
    let main = &config.main;
    let servers: &[(bool, &ServerConf)] = if server_index == 0 {
        &[(false, main)]
    } else {
        &[(false, main), (true, server)]
    };
    let mut ids: Vec<SecId> = Vec::with_capacity(16);

    if let Some(dir) = t.dir {
        // 1. <Directory> (non-regex), shortest first, then file order (main before vhost).
        let mut plain: Vec<(usize, SecId)> = Vec::new();
        for &(v, s) in servers {
            for (i, sec) in s.sections.iter().enumerate() {
                if sec.kind == SectionKind::Directory
                    && !is_regex_dir(sec)
                    && dir_matches(&sec.matcher, dir)
                {
                    let p = match &sec.matcher {
                        Matcher::Literal(p) | Matcher::Wildcard(p) => components(p),
                        _ => 0,
                    };
                    plain.push((p, id(v, i, 0)));
                }
            }
        }
        plain.sort_by_key(|&(n, id)| (n, id));
        ids.extend(plain.iter().map(|&(_, id)| id));
        // 2. <DirectoryMatch>, file order.
        for &(v, s) in servers {
            for (i, sec) in s.sections.iter().enumerate() {
                if is_regex_dir(sec) && dir_matches(&sec.matcher, dir) {
                    ids.push(id(v, i, 0));
                }
            }
        }
        // 3. <Files>/<FilesMatch>: top level, then nested in the directories that applied.
        if let Some(file) = t.file {
            let dirs_applied = ids.clone();
            for &(v, s) in servers {
                for (i, sec) in s.sections.iter().enumerate() {
                    if matches!(sec.kind, SectionKind::Files | SectionKind::FilesMatch)
                        && files_matches(&sec.matcher, file)
                    {
                        ids.push(id(v, i, 0));
                    }
                }
            }
            for d in dirs_applied {
                if let Some(sec) = section_by_id(main, server, d) {
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
    for &(v, s) in servers {
        for (i, sec) in s.sections.iter().enumerate() {
            if matches!(sec.kind, SectionKind::Location | SectionKind::LocationMatch)
                && location_matches(&sec.matcher, t.uri)
            {
                ids.push(id(v, i, 0));
            }
        }
    }

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
        let mut conf = if server_index == 0 {
            main.dir.clone()
        } else {
            server.dir.clone()
        };
        for &sid in key.1.iter() {
            if let Some(sec) = section_by_id(main, server, sid) {
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
