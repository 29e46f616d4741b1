//! mod_alias: `Redirect*` (tried first) and `Alias*` at translate time, including httpd's
//! expression forms written in a `<Location>` (`Alias /path`, `Redirect /target`), and the
//! per-directory redirects at fixup time.

use std::path::PathBuf;

use super::request::Request;
use crate::config::dir::AliasRule;
use crate::config::expr::{self, Word};
use crate::config::DirConf;

/// What translate decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Mapped {
    /// A file path (Alias).
    File(PathBuf),
    /// A redirect: status and target (None for 410 Gone etc.).
    Redirect(u16, Option<String>),
    /// A CGI script (ScriptAlias): the file, and httpd's context for it (the URL prefix
    /// the rule matched, the directory it maps to: CONTEXT_PREFIX, CONTEXT_DOCUMENT_ROOT).
    Script {
        file: PathBuf,
        context: Option<(String, String)>,
    },
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

/// The expression forms in force for a request at translate time: the last `Redirect` and the
/// last `Alias` of that form among the server's rules and the matching `<Location>`s' (a later
/// section overrides, as httpd's merge does).
fn location_exprs<'a>(req: &'a Request<'_>) -> (Option<&'a AliasRule>, Option<&'a AliasRule>) {
    let server = req.server;
    let (mut redirect, mut alias) = (None, None);
    let sections = super::walk::alias_locations(server, &req.uri).map(|s| &s.conf.aliases);
    for rules in std::iter::once(&server.dir.aliases).chain(sections) {
        for rule in rules {
            match &**rule {
                AliasRule::RedirectExpr { .. } => redirect = Some(&**rule),
                AliasRule::AliasExpr(_) | AliasRule::ScriptAliasExpr(_) => alias = Some(&**rule),
                _ => {}
            }
        }
    }
    (redirect, alias)
}

/// Translate: httpd's order, an expression `Redirect` from the `<Location>`s, the server's
/// redirects, an expression `Alias`, the server's aliases.
pub fn translate_request(req: &Request<'_>) -> Option<Mapped> {
    let (redirect, alias) = location_exprs(req);
    if let Some(AliasRule::RedirectExpr { status, to }) = redirect {
        return Some(redirect_expr(req, *status, to.as_ref()));
    }
    let dir = &req.server.dir;
    let query = req.query.as_deref();
    if let Some(m) = redirects(dir, &req.uri, query) {
        return Some(m);
    }
    match alias {
        Some(AliasRule::AliasExpr(w)) => {
            let p = PathBuf::from(expr::eval_string(w, req));
            // A relative result is taken from the ServerRoot, as httpd's.
            return Some(Mapped::File(req.config.server_root.join(p)));
        }
        Some(AliasRule::ScriptAliasExpr(w)) => {
            let p = PathBuf::from(expr::eval_string(w, req));
            return Some(Mapped::Script {
                file: req.config.server_root.join(p),
                context: None,
            });
        }
        _ => {}
    }
    aliases(dir, &req.uri)
}

/// An expression `Redirect` written for a directory, tried at fixup time: the last one in
/// the merged configuration.
pub fn fixup_expr(req: &Request<'_>) -> Option<Mapped> {
    req.dir.aliases.iter().rev().find_map(|r| match &**r {
        AliasRule::RedirectExpr { status, to } => Some(redirect_expr(req, *status, to.as_ref())),
        _ => None,
    })
}

/// httpd's try_redirect: the expression's URL with its path escaped (query and fragment as
/// written) and the request's query added when it has none; a status that is not a redirect
/// answers without a Location, a target that is neither a URL nor a path is a 500.
fn redirect_expr(req: &Request<'_>, status: u16, to: Option<&Word>) -> Mapped {
    let Some(w) = to else {
        return Mapped::Redirect(status, None);
    };
    if !(300..400).contains(&status) {
        return Mapped::Redirect(status, None);
    }
    let v = expr::eval_string(w, req);
    let (before_frag, frag) = match v.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (v.as_str(), None),
    };
    let (path, q) = match before_frag.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_frag, None),
    };
    let is_url = path.starts_with('/')
        || path
            .split_once("://")
            .is_some_and(|(s, _)| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !is_url {
        crate::ap_log!(
            error,
            "alias",
            "AH00676: cannot redirect '{}' to '{v}'; target is not a valid absoluteURI or abs_path",
            req.uri
        );
        return Mapped::Redirect(500, None);
    }
    let mut target = super::uri::escape_path(path);
    match (q, req.query.as_deref()) {
        (Some(q), _) => {
            target.push('?');
            target.push_str(q);
        }
        (None, Some(rq)) => {
            target.push('?');
            target.push_str(rq);
        }
        (None, None) => {}
    }
    if let Some(f) = frag {
        target.push('#');
        target.push_str(f);
    }
    Mapped::Redirect(status, Some(target))
}

/// Tries the server's Redirect and Alias rules on `uri`.
pub fn translate(dir: &DirConf, uri: &str, query: Option<&str>) -> Option<Mapped> {
    redirects(dir, uri, query).or_else(|| aliases(dir, uri))
}

fn redirects(dir: &DirConf, uri: &str, query: Option<&str>) -> Option<Mapped> {
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
                        to.as_ref().map(|t| c.substitute(t)),
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

fn aliases(dir: &DirConf, uri: &str) -> Option<Mapped> {
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
                    return Some(Mapped::File(PathBuf::from(c.substitute(to))));
                }
            }
            AliasRule::ScriptAlias { from, to } => {
                let n = alias_matches(uri, from);
                if n > 0 {
                    return Some(Mapped::Script {
                        file: PathBuf::from(format!("{to}{}", &uri[n..])),
                        context: Some((uri[..n].to_string(), to.clone())),
                    });
                }
            }
            AliasRule::ScriptAliasMatch { from, to } => {
                if let Some(c) = from.captures(uri) {
                    // httpd sets no context for a regex alias.
                    return Some(Mapped::Script {
                        file: PathBuf::from(c.substitute(to)),
                        context: None,
                    });
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
