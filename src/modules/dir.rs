//! mod_dir: a directory URL without its trailing slash gets a 301 (DirectorySlash), and one
//! with it is answered by the first DirectoryIndex file that exists, else by mod_autoindex.
//! Each part only when its module is loaded, as in httpd: without mod_dir a directory goes
//! straight to mod_autoindex (slash or not), and without mod_autoindex the default handler
//! refuses to serve a directory (404, AH00129).

use super::request::{Request, Response};
use crate::config::dir::opt;

const DEFAULT_INDEX: &[&str] = &["index.html"];

/// The DirectoryIndex names in order (`index.html` when none is set).
pub(crate) fn index_names(dir: &crate::config::DirConf) -> Vec<&str> {
    match &dir.directory_index {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => DEFAULT_INDEX.to_vec(),
    }
}

pub fn handle(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    // A directory request only (never on the path of a file), so the lookups are cheap.
    if !req.config.modules.contains(&"dir") {
        return autoindex(req, resp);
    }
    if !req.uri.ends_with('/') {
        // `slash_redirect` (run before any handler) declined: DirectorySlash Off, or
        // redirect-carefully.
        if !req.dir.directory_slash.unwrap_or(true) {
            return Err(403);
        }
        // Left alone by `redirect-carefully`: the default handler's answer for a directory.
        if req.method == super::Method::Post {
            return Err(404);
        }
        resp.set(
            "Allow",
            super::core::allow_header(req.dir.trace_enable.unwrap_or(req.config.trace_enable))
                .to_string(),
        );
        return Err(405);
    }
    let names = index_names(&req.dir);
    let single = names.len() == 1;
    // A sub-request's error other than 404 (a 406 from MultiViews) answers instead of
    // autoindex when no index is found, as httpd's.
    let mut error = None;
    let multi =
        || req.dir.options_bits() & opt::MULTI != 0 && req.config.modules.contains(&"negotiation");
    for name in names {
        if name.eq_ignore_ascii_case("disabled") {
            break;
        }
        let candidate = req.filename.join(name);
        let meta = std::fs::metadata(&candidate).ok();
        if meta.is_some() || multi() {
            if meta.as_ref().is_some_and(|m| !m.is_file()) {
                continue;
            }
            // An internal sub-request for the index: re-run the walk for the file.
            let mut sub = req.sub_request(
                format!("{}{}", req.uri, name),
                candidate,
                meta,
                req.dir.clone(),
            );
            let full = req.filename.to_string_lossy();
            let dir_s = if full.len() > 1 {
                full.trim_end_matches('/')
            } else {
                &full
            };
            // httpd looks the index up as a directory entry: only its file walk is new, the
            // directory sections are the directory's (a `<DirectoryMatch>` sees the
            // directory's name, not the index's).
            let target = super::walk::Target {
                dir: Some(dir_s),
                file: Some(name),
                path: Some(&full),
                uri: &sub.uri,
                method: req.method_str,
                env: Some(&sub),
            };
            let mut vars = Vec::new();
            let walked =
                super::walk::merged(req.config, req.server_index, req.server, &target, &mut vars);
            sub.dir = walked?;
            for (n, v) in vars {
                sub.set_env_owned(n, v);
            }
            super::authz::check(&sub)?;
            if sub.finfo.is_none() {
                // MultiViews: `index` answered by `index.html.en`.
                let kept = resp.err_headers.len();
                // mod_dir's sub-request is a GET, whatever the request's method.
                let method = (sub.method, sub.method_str);
                (sub.method, sub.method_str) = (super::Method::Get, "GET");
                let negotiated = super::negotiation::multiviews(&mut sub, resp);
                (sub.method, sub.method_str) = method;
                match negotiated {
                    super::negotiation::Multi::Chosen => {
                        // httpd's fast redirect keeps the headers but not the validator.
                        resp.vlist_validator = None;
                    }
                    super::negotiation::Multi::Declined => {
                        resp.vlist_validator = None;
                        continue;
                    }
                    super::negotiation::Multi::Status(s) => {
                        req.notes
                            .extend(sub.notes.into_iter().filter(|(n, _)| *n == "variant-list"));
                        if single && (s == 406 || s == 401 || (300..400).contains(&s)) {
                            return Err(s);
                        }
                        resp.err_headers.truncate(kept);
                        if s != 404 {
                            error = Some(s);
                        }
                        continue;
                    }
                }
            }
            // The index may have a handler of its own (`SetHandler proxy:…` for index.php).
            let answered = super::run_handler(&mut sub, resp);
            // httpd's fast redirect: the request becomes the index's, for the fixups that
            // follow (`<Files index.html>` headers, expiry) and for the log.
            req.uri = sub.uri;
            req.filename = sub.filename;
            req.finfo = sub.finfo;
            req.dir = sub.dir;
            req.env = sub.env;
            // The index's handler may have redirected internally (a type map): the log's
            // `%U` is the index's URL, and its notes (a 406's variant list) are the request's.
            if req.original_uri.is_none() {
                req.original_uri = sub.original_uri;
            }
            req.notes.extend(sub.notes);
            // httpd's fast redirect overlays the sub-request's headers_out (its Vary too).
            let sub_vary = sub.vary.into_inner();
            if !sub_vary.is_empty() {
                req.add_vary(&sub_vary);
            }
            return answered;
        }
    }
    if let Some(s) = error {
        return Err(s);
    }
    autoindex(req, resp)
}

/// mod_dir's fixup for a directory URL without its trailing slash: a 301 to the URL with it
/// (the query kept), whatever the method, unless `DirectorySlash Off`, or the
/// `redirect-carefully` variable is set and the method is not GET (or HEAD): clients that
/// mishandle a redirect of other methods (WebDAV folders) are answered without it.
/// `Some(301)` with Location set; `None` when the request goes on.
pub fn slash_redirect(req: &Request<'_>, resp: &mut Response) -> Option<u16> {
    if !req.finfo.as_ref().is_some_and(|m| m.is_dir())
        || req.uri.ends_with('/')
        || !req.config.modules.contains(&"dir")
        || !req.dir.directory_slash.unwrap_or(true)
        || (!req.method.is_get_like() && req.env_var("redirect-carefully").is_some())
    {
        return None;
    }
    let mut loc = super::self_url(req);
    loc.push_str(&super::uri::escape_path(&req.uri));
    loc.push('/');
    if let Some(q) = &req.query {
        loc.push('?');
        loc.push_str(q);
    }
    resp.headers.push(("Location".into(), loc));
    Some(301)
}

/// The Content-Type httpd gives an OPTIONS answer for a directory: that of the index file
/// mod_dir would serve (its fixup redirects to it before the OPTIONS answer), else
/// `httpd/unix-directory`.
pub fn options_type(req: &Request<'_>) -> String {
    if req.config.modules.contains(&"dir") && req.uri.ends_with('/') {
        let names = index_names(&req.dir);
        for name in names {
            if name.eq_ignore_ascii_case("disabled") {
                break;
            }
            if std::fs::metadata(req.filename.join(name)).is_ok_and(|m| m.is_file()) {
                if let Some(t) =
                    super::mime::find(&req.config.mime_types, &req.dir, name).content_type
                {
                    return t;
                }
            }
        }
    }
    "httpd/unix-directory".into()
}

/// What is left of a directory request once mod_dir found no index (or is not loaded):
/// mod_autoindex's listing or its 403 (`Options -Indexes`), or, without mod_autoindex, the
/// default handler's 404.
fn autoindex(req: &Request<'_>, resp: &mut Response) -> Result<(), u16> {
    if !req.config.modules.contains(&"autoindex") {
        crate::ap_log!(
            info,
            "core",
            "AH00129: Attempt to serve directory: {}",
            req.filename.display()
        );
        return Err(404);
    }
    if req.dir.options_bits() & opt::INDEXES != 0 {
        if !req.method.is_get_like() && req.method != super::Method::Post {
            resp.set("Allow", "GET,POST,OPTIONS,HEAD".into());
            return Err(405);
        }
        let sig = super::signature(req);
        return super::autoindex::listing(req, &sig, resp);
    }
    Err(403)
}

/// mod_dir's fallback (`FallbackResource`): for a request that found nothing on disk and has
/// no handler, the URL (with the request's query string) to redirect to internally; `None`
/// when there is no fallback or it is `disabled`. A relative URL is taken from the request's
/// directory, as a sub-request lookup does.
pub fn fallback(req: &Request<'_>) -> Option<(String, Option<String>)> {
    let f = req.dir.fallback_resource.as_deref()?;
    if f.eq_ignore_ascii_case("disabled") || req.dir.handler.is_some() {
        return None;
    }
    match &req.finfo {
        None => {}
        // A directory URL (with its slash) whose DirectoryIndex finds nothing falls back too,
        // before autoindex would list it.
        Some(m) if m.is_dir() && req.uri.ends_with('/') => {
            let names = index_names(&req.dir);
            let multi = req.dir.options_bits() & opt::MULTI != 0
                && req.config.modules.contains(&"negotiation");
            let found = names
                .iter()
                .take_while(|n| !n.eq_ignore_ascii_case("disabled"))
                .any(|n| {
                    std::fs::metadata(req.filename.join(n)).is_ok_and(|m| m.is_file())
                        || (multi && super::negotiation::has_candidates(&req.filename, n))
                });
            if found {
                return None;
            }
        }
        Some(_) => return None,
    }
    let uri = if f.starts_with('/') {
        f.to_string()
    } else {
        let base = &req.uri[..req.uri.rfind('/').map_or(0, |i| i + 1)];
        format!("{base}{f}")
    };
    Some((uri, req.query.clone()))
}
