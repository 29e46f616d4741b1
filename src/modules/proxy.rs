//! mod_proxy's request side: the ProxyPass translate hook (server rules and the one-argument
//! form inside `<Location>`), the `SetHandler "proxy:…"` handler form, `<Proxy>` sections, and
//! the deferred handler that runs once the driver has the request body. The backend protocols
//! live in `http` (HTTP/1.1 with a per-thread keep-alive pool, WebSocket upgrades tunnelled by
//! `tunnel`) and `fcgi` (FastCGI, PHP-FPM).

pub mod fcgi;
pub mod http;
pub mod tunnel;

use std::sync::Arc;

use super::{signature, walk, BodySink, Deferred, Request, Response};
use crate::config::directives::proxy::{ProxyPassRule, ProxyPath};
use crate::config::{Matcher, SectionKind, ServerConfig};
use crate::proto::h1::response::{error_page, ErrorInfo};

/// A translated request: the backend URL and the rule that mapped it.
pub struct Target {
    pub url: String,
    pub rule: Arc<ProxyPassRule>,
}

impl Target {
    /// A backend URL that mod_rewrite's `[P]` flag produced: no ProxyPass line stands behind
    /// it, so the worker parameters are httpd's defaults (as its default proxy worker).
    pub fn rewritten(url: String) -> Target {
        let rule = ProxyPassRule {
            path: ProxyPath::InLocation,
            url: Some(url.clone()),
            timeout: None,
            retry: None,
            reuse: None,
            upgrade: None,
        };
        Target {
            url,
            rule: Arc::new(rule),
        }
    }
}

/// httpd's proxy_trans: the backend URL for `req.uri` by the ProxyPass rules written inside
/// `<Location>` (the last matching section wins, as the location merge does), then the
/// server's (file order, first match; `!` excludes), with the query string appended.
pub fn translate(req: &Request<'_>) -> Option<Target> {
    if req.prev_status.is_some() {
        return None;
    }
    let mut found: Option<(Arc<ProxyPassRule>, String)> = None;
    let mut excluded = false;
    for sec in &req.server.sections {
        if !matches!(sec.kind, SectionKind::Location | SectionKind::LocationMatch) {
            continue;
        }
        let Some(rule) = sec
            .conf
            .proxy_pass
            .iter()
            .rev()
            .find(|r| matches!(r.path, ProxyPath::InLocation))
        else {
            continue;
        };
        if let Some(url) = map_location(&sec.matcher, rule, &req.uri) {
            excluded = rule.url.is_none();
            found = Some((rule.clone(), url));
        }
    }
    if excluded {
        return None;
    }
    if found.is_none() {
        for r in &req.server.dir.proxy_pass {
            if !rule_matches(r, &req.uri) {
                continue;
            }
            // `!` stops the search: the URL is served locally.
            let (_, url) = map_rule(r, &req.uri)?;
            found = Some((r.clone(), url));
            break;
        }
    }
    let (rule, mut url) = found?;
    if let Some(q) = &req.query {
        url.push('?');
        url.push_str(q);
    }
    Some(Target { url, rule })
}

/// The URL a one-argument ProxyPass inside a `<Location>`/`<LocationMatch>` maps `uri` to
/// (an empty string for the `!` exclusion).
fn map_location(m: &Matcher, rule: &ProxyPassRule, uri: &str) -> Option<String> {
    let base = rule.url.as_deref();
    match m {
        Matcher::Literal(p) => {
            let n = prefix_len(p, uri)?;
            Some(base.map_or(String::new(), |b| format!("{b}{}", encode_path(&uri[n..]))))
        }
        Matcher::Regex(re) => {
            let caps = re.captures(uri)?;
            let Some(b) = base else {
                return Some(String::new());
            };
            Some(caps.substitute(b))
        }
        Matcher::Wildcard(p) => super::vhost::wildcard_match(p.as_bytes(), uri.as_bytes())
            .then(|| base.unwrap_or("").to_string()),
        Matcher::Expr(_) => None,
    }
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
        ProxyPath::InLocation => false,
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
            Some((rule, caps.substitute(base)))
        }
        ProxyPath::InLocation => None,
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
    pub(crate) fn new(req: &Request<'_>) -> Self {
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
    target: Target,
    resp: &mut Response,
) -> Result<(), u16> {
    let Target { url: target, rule } = target;
    req.filename = std::path::PathBuf::from(format!("proxy:{target}"));
    let t = walk::Target::location(req);
    let mut vars = Vec::new();
    let mut dir = walk::merged(config, req.server_index, req.server, &t, &mut vars)?;
    for sec in &req.server.sections {
        if matches!(sec.kind, SectionKind::Proxy | SectionKind::ProxyMatch)
            && proxy_section_matches(&sec.matcher, &target)
        {
            dir = Arc::new(dir.merge(&sec.conf));
            // httpd's proxy walk: MATCH_* from the named groups, matched against the URL.
            if let Matcher::Regex(re) = &sec.matcher {
                if !re.group_names().is_empty() {
                    if let Some(caps) = re.captures(&target) {
                        walk::push_vars(re, &caps, &mut vars);
                    }
                }
            }
        }
    }
    req.dir = dir;
    for (n, v) in vars {
        req.set_env_owned(n, v);
    }
    super::setenvif::run(req);
    super::authz::check_auth(req, resp)?;
    super::ssl::fixup(req);
    super::headers::request_fixup(req);
    super::env::fixup(req);
    req.proxy_target = Some(target.clone());

    let timeout = rule
        .timeout
        .or(req.dir.proxy_timeout)
        .unwrap_or(req.server.timeout);
    let errs = ErrCtx::new(req);
    if let Some((addr, canon, path)) = fcgi::parse_target(&target) {
        if !req.config.modules.contains(&"proxy_fcgi") {
            // httpd: no protocol handler was valid for the URL.
            return Err(500);
        }
        // httpd's r->filename for a proxied FastCGI request; PHP-FPM strips the
        // `proxy:fcgi://host:port` part and splits PATH_INFO itself.
        let script = fcgi::Script {
            filename: format!("proxy:{canon}{path}"),
            name: req.uri.clone(),
            path_info: String::new(),
        };
        let reuse = rule.reuse.unwrap_or(false);
        let backend = fcgi::FcgiRequest::new(req, addr, &script, timeout, reuse);
        resp.deferred = Some(Deferred(Box::new(move |declared| {
            backend.start(declared, errs)
        })));
        return Ok(());
    }
    // ws:// is HTTP/1.1 with an Upgrade allowed (mod_proxy_wstunnel); http:// upgrades only
    // with `upgrade=` (httpd 2.4.47+).
    let scheme = target.split("://").next().unwrap_or("");
    let upgrade = if scheme.eq_ignore_ascii_case("ws") {
        Some(rule.upgrade.clone().unwrap_or_else(|| "websocket".into()))
    } else {
        rule.upgrade.clone()
    };
    let backend = http::BackendRequest::build(req, &target, timeout, upgrade.as_deref())?;
    let reverse = reverse_rules(req);
    resp.deferred = Some(Deferred(Box::new(move |declared| {
        backend.start(declared, errs, reverse)
    })));
    Ok(())
}

/// `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"` (or `proxy:fcgi://…`):
/// the file the request mapped to is run by the FastCGI server.
pub fn handler(req: &mut Request<'_>, spec: String, resp: &mut Response) -> Result<(), u16> {
    let Some((addr, _, _)) = fcgi::parse_target(&spec) else {
        // Only FastCGI has a meaning for a handler-form backend here.
        return Err(500);
    };
    if !req.config.modules.contains(&"proxy_fcgi") {
        return Err(500);
    }
    let script = fcgi::Script::for_request(req, req.filename.to_string_lossy().into_owned());
    req.proxy_target = Some(spec.clone());
    let timeout = req.dir.proxy_timeout.unwrap_or(req.server.timeout);
    let errs = ErrCtx::new(req);
    let backend = fcgi::FcgiRequest::new(req, addr, &script, timeout, false);
    resp.deferred = Some(Deferred(Box::new(move |declared| {
        backend.start(declared, errs)
    })));
    Ok(())
}

/// A body sink that keeps the whole body and answers from it at the end (bodiless requests,
/// which may be retried on a new backend connection; chunked bodies FastCGI needs a length for).
pub struct Buffered<F: FnOnce(Vec<u8>) -> Response + Send> {
    body: Vec<u8>,
    answer: F,
}

impl<F: FnOnce(Vec<u8>) -> Response + Send> Buffered<F> {
    pub fn boxed(answer: F) -> Box<dyn BodySink>
    where
        F: 'static,
    {
        Box::new(Buffered {
            body: Vec::new(),
            answer,
        })
    }
}

impl<F: FnOnce(Vec<u8>) -> Response + Send> BodySink for Buffered<F> {
    fn data(&mut self, chunk: &[u8]) {
        self.body.extend_from_slice(chunk);
    }
    fn finish(self: Box<Self>, complete: bool) -> Response {
        if !complete {
            // The client's body was cut short: nothing goes to the backend.
            return Response::new(400);
        }
        (self.answer)(self.body)
    }
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
            path: ProxyPath::Regex(crate::config::pcre::Regex::new(r"^/(.*\.php)$").unwrap()),
            url: Some("fcgi://127.0.0.1:9000/var/www/$1".into()),
            timeout: None,
            retry: None,
            reuse: None,
            upgrade: None,
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
