//! mod_mime: the content type (and charset, encoding, language) of a file from its
//! extensions. Every extension counts (`config.html.orig` is text/html); the last one that
//! maps wins. `TypesConfig` is read when the configuration is built (`ServerConfig::mime_types`).

use std::collections::HashMap;
use std::path::Path;

use crate::config::DirConf;

/// Extension → type. Its keys come from the TypesConfig file, so the cheap hash is safe.
pub type Types = HashMap<String, String, super::fx::BuildFx>;

/// Parses a mime.types file: `type ext ext …`, `#` comments.
pub fn parse_types(text: &str) -> Types {
    let mut m = Types::default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ty) = words.next() else { continue };
        for ext in words {
            m.insert(ext.to_ascii_lowercase(), ty.to_ascii_lowercase());
        }
    }
    m
}

/// Reads TypesConfig (an unreadable file gives an empty table, as a missing one does in
/// httpd's mod_mime).
pub fn read_types(path: &Path) -> Types {
    std::fs::read_to_string(path)
        .map(|t| parse_types(&t))
        .unwrap_or_default()
}

/// What mod_mime decided for a file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MimeInfo {
    pub content_type: Option<String>,
    pub encoding: Option<String>,
    pub language: Option<String>,
    pub handler: Option<String>,
}

fn lookup<'a>(list: &'a [(String, Option<String>)], ext: &str) -> Option<Option<&'a str>> {
    list.iter()
        .rev()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, v)| v.as_deref())
}

type ExtMap = HashMap<String, Option<String>, super::fx::BuildFx>;

/// A directory's AddType, AddCharset, AddEncoding, AddLanguage and AddHandler lists as hash
/// maps (the last line for an extension wins, as in the list), with the lengths it was built
/// from: a list changed since (it never is once the configuration is built) is scanned.
#[derive(Debug)]
pub struct ExtIndex {
    lens: [usize; 5],
    maps: [ExtMap; 5],
}

/// Below this many entries in all five lists together, a scan is as quick as a hash.
const INDEX_FROM: usize = 16;

fn lists(dir: &DirConf) -> [&[(String, Option<String>)]; 5] {
    [
        &dir.add_type,
        &dir.add_charset,
        &dir.add_encoding,
        &dir.add_language,
        &dir.add_handler,
    ]
}

/// The extension lookups of one `find`: through the directory's index when it has one.
struct Lookups<'a> {
    lists: [&'a [(String, Option<String>)]; 5],
    index: Option<&'a ExtIndex>,
}

impl<'a> Lookups<'a> {
    fn new(dir: &'a DirConf) -> Lookups<'a> {
        let lists = lists(dir);
        let lens = lists.map(<[_]>::len);
        let index = if lens.iter().sum::<usize>() < INDEX_FROM {
            None
        } else {
            dir.mime_index
                .get_or_init(|| {
                    let maps = lists.map(|l| {
                        let mut m = ExtMap::default();
                        for (e, v) in l {
                            m.insert(e.to_ascii_lowercase(), v.clone());
                        }
                        m
                    });
                    Some(std::sync::Arc::new(ExtIndex { lens, maps }))
                })
                .as_deref()
                .filter(|ix| ix.lens == lens)
        };
        Lookups { lists, index }
    }

    /// List `which` (0 type, 1 charset, 2 encoding, 3 language, 4 handler) for a lower-case
    /// extension: `Some(None)` when a Remove* line took it out.
    fn get(&self, which: usize, lower: &str) -> Option<Option<&'a str>> {
        match self.index {
            Some(ix) => ix.maps[which].get(lower).map(|v| v.as_deref()),
            None => lookup(self.lists[which], lower),
        }
    }
}

/// The parts of `name` after each '.', as `name.split('.').skip(1)`, found by bytes ('.' is
/// ASCII, so the cuts are char boundaries).
fn extensions(name: &str) -> impl Iterator<Item = &str> {
    let dots = memchr::memchr_iter(b'.', name.as_bytes());
    dots.clone()
        .zip(dots.skip(1).map(Some).chain(std::iter::once(None)))
        .map(move |(start, end)| &name[start + 1..end.unwrap_or(name.len())])
}

/// Calls `f` with each non-empty extension of `name`, lower-cased (on the stack; one longer
/// than any mime.types has goes to the heap).
fn each_lower_ext(name: &str, mut f: impl FnMut(&str)) {
    let mut stack = [0u8; 32];
    let mut heap = String::new();
    for ext in extensions(name).filter(|e| !e.is_empty()) {
        let lower: &str = if ext.len() <= stack.len() {
            let b = &mut stack[..ext.len()];
            b.copy_from_slice(ext.as_bytes());
            b.make_ascii_lowercase();
            // ASCII lower-casing keeps valid UTF-8 valid.
            std::str::from_utf8(b).unwrap_or_default()
        } else {
            heap.clear();
            heap.push_str(ext);
            heap.make_ascii_lowercase();
            &heap
        };
        f(lower);
    }
}

/// The AddHandler handler of `file_name` alone (what `find(...).handler` gives, without the
/// type, charset, encoding and language lookups).
pub fn handler<'a>(dir: &'a DirConf, file_name: &str) -> Option<&'a str> {
    let lists = Lookups::new(dir);
    let mut found = None;
    each_lower_ext(file_name, |lower| {
        if let Some(Some(h)) = lists.get(4, lower) {
            found = Some(h);
        }
    });
    found
}

/// Finds the type of `file_name` (its last path component).
pub fn find(types: &Types, dir: &DirConf, file_name: &str) -> MimeInfo {
    let mut info = MimeInfo::default();
    let mut charset: Option<&str> = None;
    let lists = Lookups::new(dir);
    each_lower_ext(file_name, |lower| {
        match lists.get(0, lower) {
            Some(Some(t)) => info.content_type = Some(t.to_string()),
            Some(None) | None => {
                if let Some(t) = types.get(lower) {
                    info.content_type = Some(t.clone());
                }
            }
        }
        if let Some(Some(c)) = lists.get(1, lower) {
            charset = Some(c);
        }
        if let Some(Some(e)) = lists.get(2, lower) {
            info.encoding = Some(e.to_string());
        }
        if let Some(Some(l)) = lists.get(3, lower) {
            // Every language counts: `x.en.fr.html` is `en,fr`, as httpd sends it.
            match &mut info.language {
                Some(cur) => {
                    cur.push(',');
                    cur.push_str(l);
                }
                None => info.language = Some(l.to_string()),
            }
        }
        if let Some(Some(h)) = lists.get(4, lower) {
            info.handler = Some(h.to_string());
        }
    });
    if info.language.is_none() {
        info.language.clone_from(&dir.default_language);
    }
    if let Some(f) = &dir.force_type {
        if !f.eq_ignore_ascii_case("none") {
            info.content_type = Some(f.clone());
        }
    }
    if let (Some(ct), Some(cs)) = (&mut info.content_type, charset) {
        if !ct.contains("charset=") {
            ct.push_str("; charset=");
            ct.push_str(cs);
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_as_split_gives_them() {
        for n in [
            "a",
            "a.html",
            "config.html.orig",
            "a..b",
            "a.",
            ".htaccess",
            "x.tar.gz",
            "é.é",
        ] {
            let ours: Vec<&str> = extensions(n).collect();
            let split: Vec<&str> = n.split('.').skip(1).collect();
            assert_eq!(ours, split, "{n}");
        }
    }

    /// Long lists go through the hash index; it answers as the scan does (last line wins, a
    /// Remove* line takes an extension out), and a list changed after the index was built
    /// is scanned again.
    #[test]
    fn indexed_lists_answer_as_the_scan() {
        let mut langs: Vec<(String, Option<String>)> = (0..30)
            .map(|i| (format!("l{i}"), Some(format!("lang{i}"))))
            .collect();
        langs.push(("l3".into(), Some("later".into())));
        langs.push(("l4".into(), None));
        let mut dir = DirConf {
            add_language: langs,
            add_charset: vec![("u8".into(), Some("utf-8".into()))],
            ..DirConf::default()
        };
        let types = parse_types("text/plain txt\n");
        let lang = |d: &DirConf, n: &str| find(&types, d, n).language;
        for d in [&dir, &dir] {
            // Twice: built on the first call, used on the second.
            assert_eq!(lang(d, "a.L1.txt").as_deref(), Some("lang1"));
            assert_eq!(lang(d, "a.l3.txt").as_deref(), Some("later"));
            assert_eq!(lang(d, "a.l4.txt"), None);
            assert_eq!(lang(d, "a.l1.l2.txt").as_deref(), Some("lang1,lang2"));
            assert_eq!(
                find(&types, d, "a.txt.u8").content_type.as_deref(),
                Some("text/plain; charset=utf-8")
            );
        }
        assert!(dir.mime_index.get().is_some_and(|i| i.is_some()));
        dir.add_language.push(("l5".into(), Some("changed".into())));
        assert_eq!(lang(&dir, "a.l5.txt").as_deref(), Some("changed"));
    }

    #[test]
    fn multiple_extensions_and_addtype() {
        let dir = DirConf {
            add_type: vec![("cmp".into(), Some("text/x-compat".into()))],
            add_charset: vec![("utf8".into(), Some("utf-8".into()))],
            ..DirConf::default()
        };
        let p = Path::new("/etc/mime.types");
        if !p.exists() {
            eprintln!("skipped: /etc/mime.types missing");
            return;
        }
        let t = read_types(p);
        let p = &t;
        assert_eq!(
            find(p, &dir, "config.html.orig").content_type.as_deref(),
            Some("text/html")
        );
        assert_eq!(
            find(p, &dir, "bundle.tar.gz").content_type.as_deref(),
            Some("application/gzip")
        );
        assert_eq!(
            find(p, &dir, "x.cmp").content_type.as_deref(),
            Some("text/x-compat")
        );
        assert_eq!(find(p, &dir, "README").content_type, None);
        assert_eq!(
            find(p, &dir, "a.txt.utf8").content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
    }

    #[test]
    fn parses_types_file() {
        let t = parse_types("# c\ntext/html html htm\nimage/png png # x\n");
        assert_eq!(t.get("htm").map(String::as_str), Some("text/html"));
        assert_eq!(t.get("png").map(String::as_str), Some("image/png"));
    }
}
