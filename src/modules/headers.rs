//! mod_headers: `Header` (response) and `RequestHeader` rules, with `always`/`onsuccess`,
//! `env=[!]var` conditions and httpd's value format tags (`format_value`).

use super::request::{HeaderName, Request, Response};
use crate::config::dir::{HeaderAction, HeaderRule};

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

/// Idle and busy workers as mod_status counts them (httpd's `ap_get_sload`); zeros without
/// a scoreboard (`-X`).
fn workers_idle_busy() -> (u32, u32) {
    let Some(sb) = super::status::scoreboard() else {
        return (0, 0);
    };
    let snap = sb.snapshot();
    let s = super::status::Summary::from_snapshot(
        &snap,
        false,
        &super::status::CpuTimes::default(),
        crate::scoreboard::now_micros(),
    );
    (s.idle, s.busy)
}

/// mod_ssl's variables as mod_headers' `%{VAR}s` sees them: `HTTPS` is `on` over TLS;
/// anything else, or any variable without TLS, is unset.
fn ssl_var(req: &Request<'_>, name: &str) -> Option<String> {
    let tls = req.config.tls.port_for(req.local).is_some();
    (tls && name.eq_ignore_ascii_case("HTTPS")).then(|| "on".to_string())
}

fn applies(rule: &HeaderRule, req: &Request<'_>) -> bool {
    match &rule.cond {
        None => true,
        Some(c) => req.env_var(&c.name).is_some() != c.negate,
    }
}

fn apply(list: &mut Vec<(HeaderName, String)>, rule: &HeaderRule, req: &Request<'_>) {
    let same = |n: &HeaderName| n.eq_ignore_ascii_case(&rule.name);
    match rule.action {
        HeaderAction::Set => {
            list.retain(|(n, _)| !same(n));
            list.push((rule.name.clone().into(), format_value(&rule.value, req)));
        }
        HeaderAction::SetIfEmpty => {
            if !list.iter().any(|(n, v)| same(n) && !v.is_empty()) {
                list.retain(|(n, _)| !same(n));
                list.push((rule.name.clone().into(), format_value(&rule.value, req)));
            }
        }
        HeaderAction::Add => list.push((rule.name.clone().into(), format_value(&rule.value, req))),
        HeaderAction::Append | HeaderAction::Merge => {
            let val = format_value(&rule.value, req);
            if let Some((_, v)) = list.iter_mut().find(|(n, _)| same(n)) {
                let present = v.split(',').any(|t| t.trim() == val);
                if rule.action == HeaderAction::Append || !present {
                    v.push_str(", ");
                    v.push_str(&val);
                }
            } else {
                list.push((rule.name.clone().into(), val));
            }
        }
        HeaderAction::Unset => list.retain(|(n, _)| !same(n)),
        HeaderAction::Edit | HeaderAction::EditAll => {
            if let Some((re, to)) = &rule.edit {
                for (_, v) in list.iter_mut().filter(|(n, _)| same(n)) {
                    *v = if rule.action == HeaderAction::EditAll {
                        re.replace_all(v, to.as_str()).into_owned()
                    } else {
                        re.replace(v, to.as_str()).into_owned()
                    };
                }
            }
        }
        HeaderAction::Echo => {
            if let Ok(re) = regex::Regex::new(&rule.name) {
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

/// Applies the `Header` rules to a response. `onsuccess` rules act on headers_out (dropped
/// on error pages); `always` rules on err_headers_out.
pub fn fixup(req: &Request<'_>, resp: &mut Response) {
    for rule in &req.dir.headers {
        if !applies(rule, req) {
            continue;
        }
        if rule.always {
            apply(&mut resp.err_headers, rule, req);
        } else if !resp.generated {
            apply(&mut resp.headers, rule, req);
        }
    }
}

/// Applies `RequestHeader` rules (before the handler runs).
pub fn request_fixup(req: &mut Request<'_>) {
    if req.dir.request_headers.is_empty() {
        return;
    }
    let rules = req.dir.request_headers.clone();
    for rule in rules.iter() {
        if !applies(rule, req) {
            continue;
        }
        let v = format_value(&rule.value, req);
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
                    let nv = re.replace_all(cur, to.as_str()).into_owned();
                    req.headers_in_override.push((rule.name.clone(), Some(nv)));
                }
            }
            HeaderAction::Echo | HeaderAction::Note => {}
        }
    }
}
