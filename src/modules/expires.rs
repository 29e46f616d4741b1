//! mod_expires: `Expires` and `Cache-Control: max-age` on successful responses, by content
//! type (`ExpiresByType`, then `type/*`) or `ExpiresDefault`, counted from the request time
//! or the file's modification time.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, UNIX_EPOCH};

use super::request::{Request, Response};
use crate::config::directives::expires::{Base, Code};

pub fn fixup(req: &Request<'_>, resp: &mut Response) {
    let Some(conf) = req.dir.expires.as_deref() else {
        return;
    };
    if conf.active != Some(true) || !matches!(resp.status, 200 | 304) || resp.generated {
        return;
    }
    if resp.header("Expires").is_some() {
        return;
    }
    let ctype = resp.content_type.as_deref().map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let code: Option<Code> = ctype
        .as_deref()
        .and_then(|t| {
            conf.by_type.iter().find(|(x, _)| x == t).or_else(|| {
                let major = t.split('/').next().unwrap_or("");
                conf.by_type
                    .iter()
                    .find(|(x, _)| x.strip_suffix("/*") == Some(major))
            })
        })
        .map(|(_, c)| *c)
        .or(conf.default);
    let Some(code) = code else {
        return;
    };
    let base = match code.base {
        Base::Access => req.time as i64,
        Base::Modification => match &req.finfo {
            Some(m) if m.is_file() => m.mtime(),
            _ => return,
        },
    };
    // An expiry already past is "now" (max-age=0), as httpd does.
    let expires = base.saturating_add(code.seconds).max(req.time as i64);
    let max_age = expires - req.time as i64;
    let when = UNIX_EPOCH + Duration::from_secs(expires.max(0) as u64);
    let cc = format!("max-age={max_age}");
    match resp
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("Cache-Control"))
    {
        Some((_, v)) => {
            v.push_str(", ");
            v.push_str(&cc);
        }
        None => resp.headers.push(("Cache-Control".into(), cc)),
    }
    resp.set("Expires", httpdate::fmt_http_date(when));
}
