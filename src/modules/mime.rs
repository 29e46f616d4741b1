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

/// The parts of `name` after each '.', as `name.split('.').skip(1)`, found by bytes ('.' is
/// ASCII, so the cuts are char boundaries).
fn extensions(name: &str) -> impl Iterator<Item = &str> {
    let dots = memchr::memchr_iter(b'.', name.as_bytes());
    dots.clone()
        .zip(dots.skip(1).map(Some).chain(std::iter::once(None)))
        .map(move |(start, end)| &name[start + 1..end.unwrap_or(name.len())])
}

/// Finds the type of `file_name` (its last path component).
pub fn find(types: &Types, dir: &DirConf, file_name: &str) -> MimeInfo {
    let mut info = MimeInfo::default();
    let mut charset: Option<&str> = None;
    let exts = extensions(file_name);
    // The lower-cased extension, on the stack (an extension longer than this, which no
    // mime.types has, goes to the heap).
    let mut stack = [0u8; 32];
    let mut heap = String::new();
    for ext in exts {
        if ext.is_empty() {
            continue;
        }
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
        match lookup(&dir.add_type, lower) {
            Some(Some(t)) => info.content_type = Some(t.to_string()),
            Some(None) | None => {
                if let Some(t) = types.get(lower) {
                    info.content_type = Some(t.clone());
                }
            }
        }
        if let Some(Some(c)) = lookup(&dir.add_charset, lower) {
            charset = Some(c);
        }
        if let Some(Some(e)) = lookup(&dir.add_encoding, lower) {
            info.encoding = Some(e.to_string());
        }
        if let Some(Some(l)) = lookup(&dir.add_language, lower) {
            // Every language counts: `x.en.fr.html` is `en,fr`, as httpd sends it.
            match &mut info.language {
                Some(cur) => {
                    cur.push(',');
                    cur.push_str(l);
                }
                None => info.language = Some(l.to_string()),
            }
        }
        if let Some(Some(h)) = lookup(&dir.add_handler, lower) {
            info.handler = Some(h.to_string());
        }
    }
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
