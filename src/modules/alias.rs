//! mod_alias: `Redirect*` (tried first) and `Alias*` at translate time.

use std::path::PathBuf;

use crate::config::dir::AliasRule;
use crate::config::DirConf;

/// What translate decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Mapped {
    /// A file path (Alias).
    File(PathBuf),
    /// A redirect: status and target (None for 410 Gone etc.).
    Redirect(u16, Option<String>),
}

/// httpd's `alias_matches`: the alias matches `uri` segment-wise, runs of slashes in either
/// count as one; returns the length of `uri` matched, or 0.
pub fn alias_matches(uri: &str, alias: &str) -> usize {
    let (u, a) = (uri.as_bytes(), alias.as_bytes());
    let (mut i, mut j) = (0, 0);
    while j < a.len() {
        if a[j] == b'/' {
            if i >= u.len() || u[i] != b'/' {
                return 0;
            }
            while j < a.len() && a[j] == b'/' {
                j += 1;
            }
            while i < u.len() && u[i] == b'/' {
                i += 1;
            }
        } else {
            if i >= u.len() || u[i] != a[j] {
                return 0;
            }
            i += 1;
            j += 1;
        }
    }
    // The alias must end at a segment boundary of the uri (or itself end in '/').
    if a.last() != Some(&b'/') && i < u.len() && u[i] != b'/' {
        return 0;
    }
    i
}

/// Expands `$1`…`$9` and `$0` in a regex substitution.
fn substitute(to: &str, caps: &regex::Captures<'_>) -> String {
    let mut out = String::with_capacity(to.len() + 16);
    let b = to.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            if let Some(m) = caps.get(usize::from(b[i + 1] - b'0')) {
                out.push_str(m.as_str());
            }
            i += 2;
        } else if b[i] == b'\\' && i + 1 < b.len() {
            out.push(b[i + 1] as char);
            i += 2;
        } else {
            let ch = to[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Tries the server's Redirect and Alias rules on `uri`.
pub fn translate(dir: &DirConf, uri: &str, query: Option<&str>) -> Option<Mapped> {
    for rule in &dir.aliases {
        match &**rule {
            AliasRule::Redirect { status, from, to } => {
                let n = alias_matches(uri, from);
                if n > 0 {
                    let target = to.as_ref().map(|t| {
                        let mut s = format!("{t}{}", super::uri::escape_path(&uri[n..]));
                        if let Some(q) = query {
                            s.push('?');
                            s.push_str(q);
                        }
                        s
                    });
                    return Some(Mapped::Redirect(*status, target));
                }
            }
            AliasRule::RedirectMatch { status, from, to } => {
                if let Some(c) = from.captures(uri) {
                    return Some(Mapped::Redirect(
                        *status,
                        to.as_ref().map(|t| substitute(t, &c)),
                    ));
                }
            }
            _ => {}
        }
    }
    for rule in &dir.aliases {
        match &**rule {
            AliasRule::Alias { from, to } => {
                let n = alias_matches(uri, from);
                if n > 0 {
                    return Some(Mapped::File(PathBuf::from(format!("{to}{}", &uri[n..]))));
                }
            }
            AliasRule::AliasMatch { from, to } => {
                if let Some(c) = from.captures(uri) {
                    return Some(Mapped::File(PathBuf::from(substitute(to, &c))));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_matching() {
        assert_eq!(alias_matches("/static/x", "/static/"), 8);
        assert_eq!(alias_matches("/static", "/static/"), 0);
        assert_eq!(alias_matches("/moved/x/y", "/moved"), 6);
        assert_eq!(alias_matches("/movedx", "/moved"), 0);
        assert_eq!(alias_matches("//static//x", "/static/"), 10);
    }

    #[test]
    fn redirect_keeps_double_slash_quirk() {
        let dir = DirConf {
            aliases: vec![std::sync::Arc::new(AliasRule::Redirect {
                status: 302,
                from: "/moved".into(),
                to: Some("http://other.example.test/".into()),
            })],
            ..DirConf::default()
        };
        assert_eq!(
            translate(&dir, "/moved/x/y", None),
            Some(Mapped::Redirect(
                302,
                Some("http://other.example.test//x/y".into())
            ))
        );
    }
}
