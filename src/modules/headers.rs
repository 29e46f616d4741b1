//! mod_headers: `Header` (response) and `RequestHeader` rules, with `always`/`onsuccess`,
//! `env=[!]var`, `expr=…` and `early` conditions, httpd's value format tags (`format_value`)
//! and `expr=…` values. `Header` rules run when the response is complete (httpd's output
//! filter), `RequestHeader` rules in fixups, `early` rules as soon as the request is read.

use std::sync::Arc;

use super::request::{HeaderName, Request, Response};
use crate::config::dir::{HeaderAction, HeaderCond, HeaderRule};
use crate::config::expr::{self, Env};

/// A header value with httpd's mod_headers format tags expanded: `%%`, `%t` and `%D` (the
/// request's arrival and the time since, in microseconds), `%l` (load averages), `%i` / `%b`
/// (idle and busy workers on the scoreboard), `%{VAR}e` (environment), `%{VAR}s` (TLS
/// variables). A tag may carry a `{…}` argument; only `e` and `s` use it. The config check
/// (`config::directives::headers::check_format`) refused every other tag.
fn format_value(v: &str, req: &Request<'_>) -> String {
    if !v.contains('%') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 16);
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (arg, tag, after) = match split_tag(rest) {
            Some(t) => t,
            None => {
                // A `%` that ends the value is kept as it is, as httpd does.
                out.push('%');
                break;
            }
        };
        rest = after;
        use std::fmt::Write;
        match tag {
            '%' => out.push('%'),
            't' => {
                let _ = write!(out, "t={}", req.received_us);
            }
            'D' => {
                let d = crate::scoreboard::now_micros().saturating_sub(req.received_us);
                let _ = write!(out, "D={d}");
            }
            'l' => {
                let [a, b, c] = super::status::load_average();
                let _ = write!(out, "l={a:.2}/{b:.2}/{c:.2}");
            }
            'i' | 'b' => {
                let (idle, busy) = workers_idle_busy();
                let _ = write!(out, "{tag}={}", if tag == 'i' { idle } else { busy });
            }
            'e' => out.push_str(req.env_var(arg).unwrap_or("(null)")),
            's' => out.push_str(&ssl_var(req, arg).unwrap_or_else(|| "(null)".into())),
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// Splits `rest` (what follows a `%`) into the tag's `{argument}`, its letter and what
/// follows; `None` when nothing follows the `%`.
pub(crate) fn split_tag(rest: &str) -> Option<(&str, char, &str)> {
    let (arg, r) = match rest.strip_prefix('{') {
        Some(r) => match r.find('}') {
            Some(end) => (&r[..end], &r[end + 1..]),
            None => ("", r),
        },
        None => ("", rest),
    };
    let tag = r.chars().next()?;
    Some((arg, tag, &r[tag.len_utf8()..]))
}

/// Idle and busy workers in percent of both, as httpd's `ap_get_sload` gives them to
/// mod_headers' `%i` and `%b` (its manual: "the current idle/busy percentage"); -1 for both
/// when no worker counts (no scoreboard under `-X`, as httpd before its first child is up).
fn workers_idle_busy() -> (i64, i64) {
    let Some(sb) = super::status::scoreboard() else {
        return (-1, -1);
    };
    let snap = sb.snapshot();
    let s = super::status::Summary::from_snapshot(
        &snap,
        false,
        &super::status::CpuTimes::default(),
        crate::scoreboard::now_micros(),
    );
    let total = i64::from(s.idle) + i64::from(s.busy);
    if total == 0 {
        return (-1, -1);
    }
    (
        i64::from(s.idle) * 100 / total,
        i64::from(s.busy) * 100 / total,
    )
}

/// mod_ssl's variables as mod_headers' `%{VAR}s` sees them (httpd's `ssl_var_lookup`):
/// none without mod_ssl, `HTTPS=off` in the clear with it.
fn ssl_var(req: &Request<'_>, name: &str) -> Option<String> {
    if !req.config.modules.contains(&"ssl") {
        return None;
    }
    super::ssl::var(req.https, req.ssl, name).map(|v| v.into_owned())
}

/// The expression environment of late rules: the request, with the response as it stands
/// when httpd's output filter runs (`Header`: its status, content type and headers), or,
/// without one (`RequestHeader` in fixups), the content type mod_mime gave the file.
struct PhaseEnv<'a, 'r> {
    req: &'a Request<'r>,
    resp: Option<&'a Response>,
}

impl Env for PhaseEnv<'_, '_> {
    fn var(&self, name: &str) -> String {
        match (name, self.resp) {
            ("REQUEST_STATUS", Some(r)) => r.status.to_string(),
            ("CONTENT_TYPE", Some(r)) => {
                let ct = r.content_type.as_deref().unwrap_or_default();
                match ct.rfind(';').filter(|_| r.charset_added) {
                    Some(i) => ct[..i].to_string(),
                    None => ct.to_string(),
                }
            }
            ("CONTENT_TYPE", None) => fixup_content_type(self.req),
            ("HANDLER", Some(_)) => late_handler(self.req),
            _ => Env::var(self.req, name),
        }
    }
    fn header(&self, name: &str) -> Option<String> {
        Env::header(self.req, name)
    }
    fn vary(&self, name: &str) {
        Env::vary(self.req, name)
    }
    fn req_env(&self, name: &str) -> Option<String> {
        Env::req_env(self.req, name)
    }
    fn remote_ip(&self) -> std::net::IpAddr {
        Env::remote_ip(self.req)
    }
    fn resp_header(&self, name: &str) -> Option<String> {
        // Response::header looks in headers_out, then err_headers_out, as httpd's resp().
        self.resp?.header(name).map(str::to_string)
    }
    fn note(&self, name: &str) -> Option<String> {
        Env::note(self.req, name)
    }
    fn ssl_var(&self, name: &str) -> Option<String> {
        Env::ssl_var(self.req, name)
    }
}

/// httpd's r->content_type in fixups: the directory type for a directory, else what
/// mod_mime finds for the file name (whether the file exists or not).
fn fixup_content_type(req: &Request<'_>) -> String {
    if req.finfo.as_ref().is_some_and(|m| m.is_dir()) {
        return "httpd/unix-directory".to_string();
    }
    let Some(name) = req.filename.file_name() else {
        return String::new();
    };
    super::mime::find(&req.config.mime_types, &req.dir, &name.to_string_lossy())
        .content_type
        .unwrap_or_default()
}

/// httpd's r->handler once the handler ran: SetHandler's (or AddHandler's) name, else the
/// content type without its parameters (httpd falls back to it), else empty; empty too for
/// a file that does not exist (refused before a handler was chosen).
fn late_handler(req: &Request<'_>) -> String {
    if let Some(h) = req.dir.handler.as_deref() {
        return h.to_string();
    }
    let Some(meta) = req.finfo.as_ref() else {
        return String::new();
    };
    if meta.is_dir() {
        return "httpd/unix-directory".to_string();
    }
    let Some(name) = req.filename.file_name() else {
        return String::new();
    };
    let info = super::mime::find(&req.config.mime_types, &req.dir, &name.to_string_lossy());
    if let Some(h) = info.handler {
        return h;
    }
    let ct = info.content_type.unwrap_or_default();
    match ct.find(';') {
        Some(i) => ct[..i].trim_end().to_string(),
        None => ct,
    }
}

/// Whether `rule` applies in the late pass (early rules never do).
fn applies(rule: &HeaderRule, req: &Request<'_>, env: &dyn Env) -> bool {
    match &rule.cond {
        HeaderCond::None => true,
        HeaderCond::Early => false,
        HeaderCond::Env(c) => req.env_var(&c.name).is_some() != c.negate,
        HeaderCond::Expr(e) => expr::eval(e, env),
    }
}

/// The rule's value for this request: its expression, or its format string expanded.
fn rule_value(rule: &HeaderRule, req: &Request<'_>, env: &dyn Env) -> String {
    match &rule.value_expr {
        Some(w) => expr::eval_string(w, env),
        None => format_value(&rule.value, req),
    }
}

/// Applies one response rule to `list` (headers_out or err_headers_out); `value` is the
/// rule's value, computed before (it may look at the response).
fn apply(
    list: &mut Vec<(HeaderName, String)>,
    rule: &HeaderRule,
    value: String,
    req: &Request<'_>,
) {
    let same = |n: &HeaderName| n.eq_ignore_ascii_case(&rule.name);
    match rule.action {
        HeaderAction::Set => {
            list.retain(|(n, _)| !same(n));
            list.push((rule.name.clone().into(), value));
        }
        HeaderAction::SetIfEmpty => {
            if !list.iter().any(|(n, v)| same(n) && !v.is_empty()) {
                list.retain(|(n, _)| !same(n));
                list.push((rule.name.clone().into(), value));
            }
        }
        HeaderAction::Add => list.push((rule.name.clone().into(), value)),
        HeaderAction::Append | HeaderAction::Merge => {
            if let Some((_, v)) = list.iter_mut().find(|(n, _)| same(n)) {
                let present = v.split(',').any(|t| t.trim() == value);
                if rule.action == HeaderAction::Append || !present {
                    v.push_str(", ");
                    v.push_str(&value);
                }
            } else {
                list.push((rule.name.clone().into(), value));
            }
        }
        HeaderAction::Unset => list.retain(|(n, _)| !same(n)),
        HeaderAction::Edit | HeaderAction::EditAll => {
            if let Some((re, to)) = &rule.edit {
                for (_, v) in list.iter_mut().filter(|(n, _)| same(n)) {
                    *v = re
                        .edit(v, to, rule.action == HeaderAction::EditAll)
                        .into_owned();
                }
            }
        }
        HeaderAction::Echo => {
            if let Some((re, _)) = &rule.edit {
                for f in &req.head.fields {
                    let (n, v) = (req.head.name(f), req.head.value(f));
                    if let (Ok(n), Ok(v)) = (std::str::from_utf8(n), std::str::from_utf8(v)) {
                        if re.is_match(n) {
                            list.push((n.to_string().into(), v.to_string()));
                        }
                    }
                }
            }
        }
        HeaderAction::Note => {}
    }
}

/// Whether the action uses the rule's value (the others skip computing it).
fn takes_value(a: HeaderAction) -> bool {
    !matches!(
        a,
        HeaderAction::Unset | HeaderAction::Echo | HeaderAction::Edit | HeaderAction::EditAll
    )
}

/// Applies the `Header` rules to a response, as httpd's output filter: the `always` rules
/// (err_headers_out, kept on error pages) first, then the `onsuccess` ones (headers_out,
/// skipped for a generated error page). Conditions and values are evaluated with the
/// response as it stands, each rule seeing what the rules before it did.
pub fn fixup(req: &Request<'_>, resp: &mut Response) {
    if req.dir.headers.is_empty() {
        return;
    }
    for always in [true, false] {
        if !always && resp.generated {
            break;
        }
        for rule in req.dir.headers.iter().filter(|r| r.always == always) {
            let value = {
                let env = PhaseEnv {
                    req,
                    resp: Some(&*resp),
                };
                applies(rule, req, &env).then(|| {
                    if takes_value(rule.action) {
                        rule_value(rule, req, &env)
                    } else {
                        String::new()
                    }
                })
            };
            // ap_expr merges the headers it looked at into headers_out as it evaluates,
            // whether the condition held or not.
            req.flush_vary(resp);
            let Some(value) = value else {
                continue;
            };
            let list = if always {
                &mut resp.err_headers
            } else {
                &mut resp.headers
            };
            apply(list, rule, value, req);
        }
    }
}

/// `early` rules, right after the request is read (httpd's post_read_request), from the
/// server's own configuration (sections are not merged yet): `RequestHeader` rules on the
/// request headers, `Header` rules on the response's headers.
pub fn early(req: &mut Request<'_>, resp: &mut Response) {
    let is_early = |r: &&Arc<HeaderRule>| matches!(r.cond, HeaderCond::Early);
    if req.dir.request_headers.iter().any(|r| is_early(&r)) {
        let rules = req.dir.request_headers.clone();
        for rule in rules.iter().filter(is_early) {
            let v = if takes_value(rule.action) {
                rule_value(rule, req, &*req)
            } else {
                String::new()
            };
            apply_request(req, rule, v);
        }
    }
    for always in [true, false] {
        for rule in req.dir.headers.iter().filter(is_early) {
            if rule.always != always {
                continue;
            }
            let value = if takes_value(rule.action) {
                rule_value(rule, req, &*req)
            } else {
                String::new()
            };
            let list = if always {
                &mut resp.err_headers
            } else {
                &mut resp.headers
            };
            apply(list, rule, value, req);
        }
    }
}

/// Applies `RequestHeader` rules in the fixups phase (before the handler runs).
pub fn request_fixup(req: &mut Request<'_>) {
    if req.dir.request_headers.is_empty() {
        return;
    }
    let rules = req.dir.request_headers.clone();
    for rule in rules.iter() {
        let env = PhaseEnv {
            req: &*req,
            resp: None,
        };
        if !applies(rule, req, &env) {
            continue;
        }
        let v = if takes_value(rule.action) {
            rule_value(rule, req, &env)
        } else {
            String::new()
        };
        apply_request(req, rule, v);
    }
}

/// One `RequestHeader` rule on the request headers (as overrides of the head's).
fn apply_request(req: &mut Request<'_>, rule: &HeaderRule, v: String) {
    match rule.action {
        HeaderAction::Unset => req.headers_in_override.push((rule.name.clone(), None)),
        HeaderAction::Set | HeaderAction::SetIfEmpty => {
            req.headers_in_override.push((rule.name.clone(), Some(v)))
        }
        HeaderAction::Append | HeaderAction::Add | HeaderAction::Merge => {
            let cur = req.header_in(&rule.name).map(str::to_string);
            let nv = match cur {
                Some(c) if !c.is_empty() => format!("{c}, {v}"),
                _ => v,
            };
            req.headers_in_override.push((rule.name.clone(), Some(nv)));
        }
        HeaderAction::Edit | HeaderAction::EditAll => {
            if let (Some((re, to)), Some(cur)) = (&rule.edit, req.header_in(&rule.name)) {
                let all = rule.action == HeaderAction::EditAll;
                let nv = re.edit(cur, to, all).into_owned();
                req.headers_in_override.push((rule.name.clone(), Some(nv)));
            }
        }
        HeaderAction::Echo | HeaderAction::Note => {}
    }
}
