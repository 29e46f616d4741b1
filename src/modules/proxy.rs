//! mod_proxy's request side: the ProxyPass translate hook, `<Proxy>` sections, and the
//! deferred handler that runs once the driver has the request body. The backend protocol lives
//! in `proxy_http` (HTTP/1.1 with a per-thread keep-alive pool).

pub mod http;

use std::sync::Arc;

use super::{signature, walk, Deferred, Request, Response};
use crate::config::directives::proxy::{ProxyPassRule, ProxyPath};
use crate::config::{Matcher, SectionKind, ServerConfig};
use crate::proto::h1::response::{error_page, ErrorInfo};

/// httpd's proxy_trans: the backend URL for `req.uri` by the server's ProxyPass rules (file
/// order, first match; `!` excludes), with the query string appended.
pub fn translate(req: &Request<'_>) -> Option<String> {
    if req.prev_status.is_some() {
        return None;
    }
    let mut url = None;
    for r in &req.server.dir.proxy_pass {
        if !rule_matches(r, &req.uri) {
            continue;
        }
        // `!` stops the search: the URL is served locally.
        url = Some(map_rule(r, &req.uri)?.1);
        break;
    }
    let mut url = url?;
    if let Some(q) = &req.query {
        url.push('?');
        url.push_str(q);
    }
    Some(url)
}

/// Is `uri` under the ProxyPass prefix `path` (httpd's alias_match: a prefix ending without
/// `/` must be followed by `/` or the end)?
fn prefix_len(path: &str, uri: &str) -> Option<usize> {
    if !uri.starts_with(path) {
        return None;
    }
    let rest = &uri[path.len()..];
    if path.ends_with('/') || rest.is_empty() || rest.starts_with('/') {
        Some(path.len())
    } else {
        None
    }
}

fn rule_matches(rule: &ProxyPassRule, uri: &str) -> bool {
    match &rule.path {
        ProxyPath::Prefix(p) => prefix_len(p, uri).is_some(),
        ProxyPath::Regex(re) => re.is_match(uri),
    }
}

/// The URL a rule maps `uri` to; `None` when it does not match or is an exclusion.
fn map_rule<'r>(rule: &'r Arc<ProxyPassRule>, uri: &str) -> Option<(&'r ProxyPassRule, String)> {
    match &rule.path {
        ProxyPath::Prefix(p) => {
            let n = prefix_len(p, uri)?;
            let base = rule.url.as_deref()?;
            Some((rule, format!("{base}{}", encode_path(&uri[n..]))))
        }
        ProxyPath::Regex(re) => {
            let caps = re.captures(uri)?;
            let base = rule.url.as_deref()?;
            let mut out = String::new();
            // httpd's `$N` is one digit: `$1x` is group 1 then `x`.
            let mut tmpl = String::with_capacity(base.len() + 8);
            let mut it = base.chars().peekable();
            while let Some(c) = it.next() {
                match (c, it.peek()) {
                    ('$', Some(d)) if d.is_ascii_digit() => {
                        tmpl.push_str("${");
                        tmpl.push(*d);
                        tmpl.push('}');
                        it.next();
                    }
                    ('$', _) => tmpl.push_str("$$"),
                    _ => tmpl.push(c),
                }
            }
            caps.expand(&tmpl, &mut out);
            Some((rule, out))
        }
    }
}

/// Re-encodes a decoded URL path for the backend (httpd's ap_proxy_canonenc, simplified).
pub fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"/:@!$&'()*+,;=-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Does a `<Proxy>`/`<ProxyMatch>` section cover the backend URL?
fn proxy_section_matches(m: &Matcher, url: &str) -> bool {
    match m {
        Matcher::Literal(p) => url.starts_with(p.as_str()),
        Matcher::Wildcard(p) => {
            super::vhost::wildcard_match(p.as_bytes(), url.as_bytes())
                || (p.ends_with('*')
                    && super::vhost::wildcard_match(p.as_bytes(), format!("{url}/").as_bytes()))
        }
        Matcher::Regex(r) => r.is_match(url),
        Matcher::Expr(_) => false,
    }
}

/// What the deferred handler needs to render httpd's error pages without the `Request`.
#[derive(Clone)]
pub struct ErrCtx {
    pub method: String,
    pub server_admin: String,
    pub signature: String,
}

impl ErrCtx {
    fn new(req: &Request<'_>) -> Self {
        ErrCtx {
            method: req.method_str.to_string(),
            server_admin: req
                .server
                .server_admin
                .clone()
                .unwrap_or_else(|| "[no address given]".into()),
            signature: signature(req),
        }
    }

    /// mod_proxy's own 502 page ("Proxy Error", with the reason), as httpd 2.4.71 sends it.
    pub fn proxy_error(&self, reason: &str) -> Response {
        let mut r = Response::new(502);
        let body = format!(
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
             <html><head>\n<title>502 Proxy Error</title>\n</head><body>\n<h1>Proxy Error</h1>\n\
             <p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n\
             The proxy server could not handle the request<p>Reason: <strong>{reason}</strong></p></p>\n\
             {}</body></html>\n",
            self.signature
        );
        r.body = super::Body::Bytes(body.into_bytes());
        r.content_type = Some("text/html; charset=iso-8859-1".into());
        r.generated = true;
        r
    }

    /// httpd's page for a proxy failure (502/503/504) with an optional error note.
    pub fn page(&self, status: u16, note: Option<&str>) -> Response {
        let info = ErrorInfo {
            method: &self.method,
            note,
            server_admin: &self.server_admin,
            signature: &self.signature,
            ..ErrorInfo::default()
        };
        let mut r = Response::new(status);
        r.body = super::Body::Bytes(error_page(status, &info).into_bytes());
        r.content_type = Some("text/html; charset=iso-8859-1".into());
        r.generated = true;
        r
    }
}

/// The proxy handler for a translated request: the location walk plus `<Proxy>` sections,
/// access control, then the backend exchange, deferred until the request body is read.
pub fn run(
    config: &ServerConfig,
    req: &mut Request<'_>,
    target: String,
    resp: &mut Response,
) -> Result<(), u16> {
    req.filename = std::path::PathBuf::from(format!("proxy:{target}"));
    let t = walk::Target {
        dir: None,
        file: None,
        uri: &req.uri,
        method: req.method_str,
    };
    let mut dir = walk::merged(config, req.server_index, req.server, &t)?;
    for sec in &req.server.sections {
        if matches!(sec.kind, SectionKind::Proxy | SectionKind::ProxyMatch)
            && proxy_section_matches(&sec.matcher, &target)
        {
            dir = Arc::new(dir.merge(&sec.conf));
        }
    }
    req.dir = dir;
    super::setenvif::run(req);
    super::authz::check_auth(req, resp)?;
    super::headers::request_fixup(req);
    super::env::fixup(req);
    req.proxy_target = Some(target.clone());

    let timeout = req
        .server
        .dir
        .proxy_pass
        .iter()
        .find(|r| rule_matches(r, &req.uri))
        .and_then(|r| r.timeout)
        .or(req.dir.proxy_timeout)
        .unwrap_or(req.server.timeout);
    let backend = http::BackendRequest::build(req, &target, timeout)?;
    let errs = ErrCtx::new(req);
    let reverse = reverse_rules(req);
    resp.deferred = Some(Deferred(Box::new(move |body: Vec<u8>| {
        backend.exchange(body, &errs, &reverse)
    })));
    Ok(())
}

/// ProxyPassReverse: (backend URL prefix, replacement with the client-facing URL).
fn reverse_rules(req: &Request<'_>) -> Vec<(String, String)> {
    let base = super::self_url(req);
    req.dir
        .proxy_reverse
        .iter()
        .map(|p| (p.1.clone(), format!("{base}{}", p.0)))
        .collect()
}

/// Applies ProxyPassReverse to a Location/Content-Location/URI value.
pub fn reverse_map(value: &str, rules: &[(String, String)]) -> String {
    for (backend, front) in rules {
        if let Some(rest) = value.strip_prefix(backend.as_str()) {
            let mut out = front.clone();
            if out.ends_with('/') && rest.starts_with('/') {
                out.pop();
            }
            out.push_str(rest);
            return out;
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching_follows_alias_rules() {
        assert_eq!(prefix_len("/app", "/app"), Some(4));
        assert_eq!(prefix_len("/app", "/app/x"), Some(4));
        assert_eq!(prefix_len("/app", "/appx"), None);
        assert_eq!(prefix_len("/app/", "/app/x"), Some(5));
        assert_eq!(prefix_len("/", "/anything"), Some(1));
    }

    #[test]
    fn regex_rule_expands_groups() {
        let rule = Arc::new(ProxyPassRule {
            path: ProxyPath::Regex(regex::Regex::new(r"^/(.*\.php)$").unwrap()),
            url: Some("fcgi://127.0.0.1:9000/var/www/$1".into()),
            timeout: None,
            retry: None,
        });
        let (_, u) = map_rule(&rule, "/a/b.php").unwrap();
        assert_eq!(u, "fcgi://127.0.0.1:9000/var/www/a/b.php");
        assert!(map_rule(&rule, "/a/b.html").is_none());
    }

    #[test]
    fn reverse_mapping_rewrites_prefix_only() {
        let rules = vec![(
            "http://127.0.0.1:8080/".to_string(),
            "http://front/app/".to_string(),
        )];
        assert_eq!(
            reverse_map("http://127.0.0.1:8080/login?x=1", &rules),
            "http://front/app/login?x=1"
        );
        assert_eq!(reverse_map("http://other/x", &rules), "http://other/x");
    }

    #[test]
    fn path_encoding() {
        assert_eq!(encode_path("/a b/%/é"), "/a%20b/%25/%C3%A9");
    }
}
