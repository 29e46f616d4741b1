//! mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch` rules set request variables
//! from request attributes (a header, or Remote_Addr, Request_URI, Request_Method, …).

use super::request::Request;
use crate::config::dir::SetEnvIfTest;
use crate::config::pcre::Regex;

fn attribute_value<'r>(req: &'r Request<'_>, name: &str) -> Option<std::borrow::Cow<'r, str>> {
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
        let Some(hit) = test(req, &rule.test) else {
            continue;
        };
        for (name, value) in &rule.vars {
            match value {
                Some(v) => {
                    let v = match &hit {
                        Hit::Attribute(re, subject) if v.contains('$') => {
                            std::borrow::Cow::Owned(substitute(re, subject, v))
                        }
                        Hit::Expr(caps) if v.contains('$') || v.contains('\\') => {
                            std::borrow::Cow::Owned(crate::config::expr::substitute(v, caps))
                        }
                        _ => std::borrow::Cow::Borrowed(v.as_str()),
                    };
                    req.set_env(name, &v)
                }
                None => req.unset_env(name),
            }
        }
    }
}

/// A rule that applies, with what `$N` in its values refers to.
enum Hit<'r> {
    /// The rule's regex and the attribute value it matched.
    Attribute(&'r Regex, String),
    /// The groups of the expression's last regex match.
    Expr(Vec<String>),
}

fn test<'r>(req: &Request<'_>, t: &'r SetEnvIfTest) -> Option<Hit<'r>> {
    match t {
        SetEnvIfTest::Expr(cond) => crate::config::expr::eval_captures(cond, req).map(Hit::Expr),
        SetEnvIfTest::Attribute {
            attribute_regex: Some(names),
            regex,
            ..
        } => req.head.fields.iter().find_map(|f| {
            let n = String::from_utf8_lossy(req.head.name(f));
            let v = String::from_utf8_lossy(req.head.value(f));
            (names.is_match(&n) && regex.is_match(&v))
                .then(|| Hit::Attribute(regex, v.into_owned()))
        }),
        SetEnvIfTest::Attribute {
            attribute, regex, ..
        } => {
            let v = attribute_value(req, attribute)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            regex.is_match(&v).then_some(Hit::Attribute(regex, v))
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
