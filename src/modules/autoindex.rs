//! mod_autoindex: the directory listing for `Options Indexes` (the plain `<ul>` form httpd
//! gives without FancyIndexing, and a simple table with `IndexOptions FancyIndexing`).

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;

use super::request::{Body, Request, Response};
use super::vhost::wildcard_match;
use crate::proto::h1::response::escape_html;

fn ignored(name: &str, patterns: &[String]) -> bool {
    name.starts_with('.') && patterns.is_empty() && name == "."
        || patterns
            .iter()
            .any(|p| wildcard_match(p.as_bytes(), name.as_bytes()))
}

/// Lists `req.filename` (a directory); `uri` ends in `/`.
pub fn listing(req: &Request<'_>, signature: &str, resp: &mut Response) -> Result<(), u16> {
    let rd = std::fs::read_dir(&req.filename).map_err(|_| 403u16)?;
    let opts = req.dir.index_options.clone().unwrap_or_default();
    let fancy = opts.fancy.unwrap_or(false);
    let mut entries: Vec<(String, bool, u64, i64)> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".." {
            // httpd lists dotfiles unless IndexIgnore says otherwise; hide .ht* like Debian's.
            if name.starts_with(".ht") {
                continue;
            }
        }
        if ignored(&name, &req.dir.index_ignore) {
            continue;
        }
        let Ok(m) = e.metadata() else { continue };
        entries.push((name, m.is_dir(), m.len(), m.mtime()));
    }
    if opts.folders_first == Some(true) {
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    } else if opts.ignore_case == Some(true) {
        entries.sort_by_key(|a| a.0.to_lowercase());
    } else {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut uri_html = String::new();
    escape_html(&req.uri, &mut uri_html);
    let title = uri_html.trim_end_matches('/').to_string();
    let title = if title.is_empty() {
        "/".to_string()
    } else {
        title
    };
    let mut s = String::with_capacity(1024);
    let _ = write!(
        s,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of {title}</title>\n </head>\n <body>\n<h1>Index of {title}</h1>\n"
    );
    let parent = {
        let t = req.uri.trim_end_matches('/');
        match t.rfind('/') {
            Some(i) => super::uri::escape_path(&t[..=i]),
            None => "/".to_string(),
        }
    };
    if fancy {
        s.push_str("  <table>\n   <tr><th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th><th><a href=\"?C=S;O=A\">Size</a></th></tr>\n   <tr><th colspan=\"3\"><hr></th></tr>\n");
        if req.uri != "/" {
            let _ = writeln!(s, "<tr><td><a href=\"{parent}\">Parent Directory</a></td><td>&nbsp;</td><td align=\"right\">  - </td></tr>");
        }
        for (name, is_dir, size, mtime) in &entries {
            let mut n = String::new();
            escape_html(name, &mut n);
            let href = super::uri::escape_path(name);
            let slash = if *is_dir { "/" } else { "" };
            let size = if *is_dir {
                "  - ".to_string()
            } else {
                format!("{size}")
            };
            let _ = writeln!(
                s,
                "<tr><td><a href=\"{href}{slash}\">{n}{slash}</a></td><td align=\"right\">{}</td><td align=\"right\">{size}</td></tr>",
                // httpd's column: local time (TZ applies), minutes, two trailing blanks.
                super::log_config::strftime_local(*mtime, "%Y-%m-%d %H:%M  ")
            );
        }
        s.push_str("   <tr><th colspan=\"3\"><hr></th></tr>\n</table>\n");
    } else {
        s.push_str("<ul>");
        if req.uri != "/" {
            let _ = writeln!(s, "<li><a href=\"{parent}\"> Parent Directory</a></li>");
        }
        for (name, is_dir, _, _) in &entries {
            let mut n = String::new();
            escape_html(name, &mut n);
            let href = super::uri::escape_path(name);
            let slash = if *is_dir { "/" } else { "" };
            let _ = writeln!(s, "<li><a href=\"{href}{slash}\"> {n}{slash}</a></li>");
        }
        s.push_str("</ul>\n");
    }
    s.push_str(signature);
    s.push_str("</body></html>\n");
    resp.status = 200;
    let cs = opts.charset.as_deref().unwrap_or("ISO-8859-1");
    resp.content_type = Some(format!("text/html;charset={cs}"));
    resp.body = Body::Bytes(s.into_bytes());
    Ok(())
}
