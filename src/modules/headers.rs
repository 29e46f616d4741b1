//! mod_headers: `Header` (response) and `RequestHeader` rules, with `always`/`onsuccess`,
//! `env=[!]var` conditions and the `%{VAR}e` / `%{Name}i` / `%t` / `%D` value formats.

use super::request::{HeaderName, Request, Response};
use crate::config::dir::{HeaderAction, HeaderRule};

fn format_value(v: &str, req: &Request<'_>) -> String {
    if !v.contains('%') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 16);
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            let Some(end) = r.find('}') else { break };
            let name = &r[..end];
            let kind = r[end + 1..].chars().next().unwrap_or(' ');
            match kind {
                'e' => out.push_str(req.env_var(name).unwrap_or("(null)")),
                'i' => out.push_str(req.header_in(name).unwrap_or("(null)")),
                _ => {}
            }
            rest = &r[end + 1 + kind.len_utf8().min(r.len() - end - 1)..];
        } else if let Some(r) = rest.strip_prefix('t') {
            out.push_str(&format!("t={}000000", req.time));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('D') {
            out.push_str("D=0");
            rest = r;
        } else {
            out.push('%');
        }
    }
    out.push_str(rest);
    out
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
