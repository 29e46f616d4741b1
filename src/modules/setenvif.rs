//! mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch` rules set request variables
//! from request attributes (a header, or Remote_Addr, Request_URI, Request_Method, …).

use super::request::Request;
use crate::config::pcre::Regex;

fn attribute<'r>(req: &'r Request<'_>, name: &str) -> Option<std::borrow::Cow<'r, str>> {
    use std::borrow::Cow;
    Some(match name.to_ascii_lowercase().as_str() {
        "remote_addr" => Cow::Owned(req.useragent.ip().to_canonical().to_string()),
        "server_addr" => Cow::Owned(req.local.ip().to_canonical().to_string()),
        "request_method" => Cow::Borrowed(req.method_str),
        "request_protocol" => Cow::Owned(format!(
            "HTTP/{}.{}",
            req.head.version.0, req.head.version.1
        )),
        "request_uri" => Cow::Borrowed(req.uri.as_str()),
        "remote_host" => Cow::Owned(req.useragent.ip().to_canonical().to_string()),
        _ => {
            if let Some(v) = req.header_in(name) {
                Cow::Borrowed(v)
            } else {
                return req.env_var(name).map(|v| Cow::Owned(v.to_string()));
            }
        }
    })
}

/// Runs the rules of the merged configuration, in order.
pub fn run(req: &mut Request<'_>) {
    if req.dir.setenvif.is_empty() {
        return;
    }
    let rules = req.dir.setenvif.clone();
    for rule in rules.iter() {
        if let Some(cond) = &rule.expr {
            // SetEnvIfExpr: `$N` in a value names the groups of the expression's last regex.
            if let Some(caps) = crate::config::expr::eval_captures(cond, &*req) {
                for (name, value) in &rule.vars {
                    match value {
                        Some(v) if v.contains('$') || v.contains('\\') => {
                            let v = crate::config::expr::substitute(v, &caps);
                            req.set_env(name, &v)
                        }
                        Some(v) => req.set_env(name, v),
                        None => req.unset_env(name),
                    }
                }
            }
            continue;
        }
        // The attribute value that matched (for `$1` … in the variable values).
        let matched: Option<String> = if let Some(re) = &rule.attribute_regex {
            req.head.fields.iter().find_map(|f| {
                let n = String::from_utf8_lossy(req.head.name(f));
                let v = String::from_utf8_lossy(req.head.value(f));
                (re.is_match(&n) && rule.regex.is_match(&v)).then(|| v.into_owned())
            })
        } else {
            let v = attribute(req, &rule.attribute).map(|v| v.into_owned());
            let v = v.unwrap_or_default();
            rule.regex.is_match(&v).then_some(v)
        };
        if let Some(subject) = matched {
            for (name, value) in &rule.vars {
                match value {
                    Some(v) if v.contains('$') => {
                        let v = substitute(&rule.regex, &subject, v);
                        req.set_env(name, &v)
                    }
                    Some(v) => req.set_env(name, v),
                    None => req.unset_env(name),
                }
            }
        }
    }
}

/// `$0`…`$9` in `template` become the groups of `re` matched on `subject` (httpd's
/// ap_pregsub).
fn substitute(re: &Regex, subject: &str, template: &str) -> String {
    match re.captures(subject) {
        Some(caps) => caps.substitute(template),
        None => template.to_string(),
    }
}
