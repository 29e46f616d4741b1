//! `MATCH_*` variables from the named groups of regex sections, against Debian's apache2
//! under every MPM: `<LocationMatch>`, `<Location ~>`, `<DirectoryMatch>` (matched, as in
//! httpd 2.4, against the full file name), `<Directory ~>`, `<FilesMatch>` (top level and
//! nested in a `<DirectoryMatch>`) and `<Files ~>`; seen by `Header … %{NAME}e`,
//! `Require expr`, `<If>`, mod_rewrite, `Header … expr=`, the expression form of `Redirect`
//! inside a section and the access log's `%{NAME}e`. A later walk's value replaces an
//! earlier one's (location, then directory, then file), the last group that took part among
//! several of one name; unnamed groups set nothing.

mod common;
mod modules_oracle;

use modules_oracle::{assert_same, available, get, Site};

const BODY: &str = r#"
LogFormat "%U site=%{MATCH_SITE}e top=%{MATCH_TOP}e base=%{MATCH_BASE}e same=%{MATCH_SAME}e one=%{MATCH_1}e" matchlog
CustomLog @ROOT@/logs/@TAG@_match_log matchlog

<LocationMatch "^/(?<site>[a-z]+)(?<same>/)?(\w)?">
    Header always set X-Site "%{MATCH_SITE}e"
    Require expr "%{env:MATCH_SITE} != 'blocked'"
</LocationMatch>
<LocationMatch "^/(?<dup>[a-z]+)/(?<dup>sub)?">
    Header always set X-Dup "[%{MATCH_DUP}e]"
</LocationMatch>
RewriteEngine On
RewriteCond "%{ENV:MATCH_SITE}" "=rw"
RewriteRule "^/rw$" "/top.html" [L]
<Location ~ "^/(?<lt>be)">
    Header always set X-Lt "[%{MATCH_LT}e]"
</Location>
<LocationMatch "^/go/(?<dest>[a-z]+)$">
    Redirect 302 "/%{env:MATCH_DEST}.html"
</LocationMatch>
<DirectoryMatch "^@ROOT@/htdocs/(?<top>[^/]+)/(?<rest>.*)$">
    Header always set X-Top "[%{MATCH_TOP}e][%{MATCH_REST}e]"
    <FilesMatch "^(?<base>[a-z]+)\.(?<ext>html|txt)$">
        Header always set X-Nested "[%{MATCH_BASE}e][%{MATCH_EXT}e][%{MATCH_TOP}e]"
    </FilesMatch>
</DirectoryMatch>
<DirectoryMatch "/(?<same>[^/]*)$">
</DirectoryMatch>
<DirectoryMatch "\.html$">
    Header always set X-DirHtml "yes"
</DirectoryMatch>
<DirectoryMatch "^@ROOT@/htdocs/alpha/?$">
    Header always set X-Exact "yes"
</DirectoryMatch>
<Directory ~ "/(?<tilde>[a-z]+)\.d">
    Header always set X-Tilde "[%{MATCH_TILDE}e]"
</Directory>
<Files ~ "^(?<ft>b)">
    Header always set X-Ft "[%{MATCH_FT}e]"
</Files>
<FilesMatch "^(?<fname>[a-z.]*)$">
    Header always set X-Fname "[%{MATCH_FNAME}e]"
</FilesMatch>
<FilesMatch "^(?<Mixed_Case>p)">
    Header always set X-Mixed "[%{MATCH_MIXED_CASE}e]"
</FilesMatch>
<Directory "@ROOT@/htdocs/ht">
    AllowOverride All
</Directory>
<If "%{env:MATCH_TOP} == 'alpha' && %{env:MATCH_SITE} == 'alpha'">
    Header always set X-If "yes"
</If>
Header always set X-Same "[%{MATCH_SAME}e]"
Header always set X-One "[%{MATCH_1}e]"
Header always set X-Expr "expr=%{env:MATCH_SITE}-%{env:MATCH_BASE}"
"#;

const HEADERS: &[&str] = &[
    "X-Site",
    "X-Lt",
    "X-Top",
    "X-Nested",
    "X-DirHtml",
    "X-Exact",
    "X-Tilde",
    "X-Ft",
    "X-Mixed",
    "X-If",
    "X-Same",
    "X-One",
    "X-Expr",
    "Location",
];

const PATHS: &[&str] = &[
    "/alpha/page.html",
    "/alpha/sub/c.html",
    "/alpha/sub/x.txt",
    "/alpha/",
    "/alpha/nothere",
    "/alpha/page.html/extra",
    "/beta.d/b.html",
    "/blocked/a.html",
    "/go/page",
    "/top.html",
    "/rw",
    "/beta.d/",
    "/alpha",
    "/ht/q.txt",
];

fn match_vars(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["rewrite"], BODY);
    s.file("htdocs/alpha/page.html", b"page\n");
    s.file("htdocs/alpha/sub/c.html", b"c\n");
    s.file("htdocs/alpha/sub/x.txt", b"x\n");
    s.file("htdocs/beta.d/b.html", b"b\n");
    s.file("htdocs/beta.d/index.html", b"index\n");
    s.file("htdocs/blocked/a.html", b"blocked\n");
    s.file("htdocs/page.html", b"top page\n");
    s.file("htdocs/top.html", b"top\n");
    s.file("htdocs/ht/q.txt", b"q\n");
    s.file(
        "htdocs/ht/.htaccess",
        b"<FilesMatch \"^(?<htf>[a-z]+)\\.txt$\">\nHeader always set X-Ht \"[%{MATCH_HTF}e]\"\n</FilesMatch>\n",
    );
    let reqs: Vec<String> = PATHS.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in PATHS.iter().enumerate() {
        assert_same(p, &a[i], &m[i], HEADERS, a[i].status == 200);
    }
    // The answers themselves (apache2's, as the comparison shows).
    let at = |p: &str| &m[PATHS.iter().position(|x| *x == p).unwrap()];
    let page = at("/alpha/page.html");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("X-Site"), Some("alpha"));
    assert_eq!(page.header("X-Top"), Some("[alpha][page.html]"));
    assert_eq!(page.header("X-Nested"), Some("[page][html][alpha]"));
    // The directory walk's MATCH_SAME replaces the location walk's.
    assert_eq!(page.header("X-Same"), Some("[page.html]"));
    assert_eq!(page.header("X-One"), Some("[(null)]"));
    assert_eq!(page.header("X-Mixed"), Some("[p]"));
    assert_eq!(page.header("X-If"), Some("yes"));
    assert_eq!(page.header("X-Expr"), Some("alpha-page"));
    // DirectoryMatch sees the file name: `\.html$` applies, `alpha/?$` does not.
    assert_eq!(page.header("X-DirHtml"), Some("yes"));
    assert_eq!(page.header("X-Exact"), None);
    assert_eq!(at("/alpha/").header("X-Exact"), Some("yes"));
    // <FilesMatch> sees a directory's last component too: empty after a slash.
    assert_eq!(at("/alpha").header("X-Fname"), Some("[alpha]"));
    assert_eq!(at("/alpha/").header("X-Fname"), Some("[]"));
    // A <FilesMatch> of an .htaccess file.
    assert_eq!(at("/ht/q.txt").header("X-Ht"), Some("[q]"));
    // Two groups of one name: the last that took part.
    assert_eq!(page.header("X-Dup"), Some("[alpha]"));
    assert_eq!(at("/alpha/sub/x.txt").header("X-Dup"), Some("[sub]"));
    // mod_rewrite at translate time sees the location walk's.
    assert_eq!(at("/rw").status, 200);
    assert_eq!(at("/rw").body_text(), "top\n");
    assert_eq!(at("/alpha/").header("X-Top"), Some("[alpha][]"));
    assert_eq!(at("/beta.d/b.html").status, 200);
    assert_eq!(at("/beta.d/b.html").header("X-Lt"), Some("[be]"));
    assert_eq!(at("/beta.d/b.html").header("X-Tilde"), Some("[beta]"));
    assert_eq!(at("/beta.d/b.html").header("X-Ft"), Some("[b]"));
    // mod_dir's index: the sub-request's walk, kept by the fast redirect.
    // Its directory sections are the directory's: `\.html$` does not apply to the index.
    assert_eq!(
        at("/beta.d/").header("X-Nested"),
        Some("[index][html][beta.d]")
    );
    assert_eq!(at("/beta.d/").header("X-Top"), Some("[beta.d][]"));
    assert_eq!(at("/beta.d/").header("X-DirHtml"), None);
    assert_eq!(at("/blocked/a.html").status, 403);
    assert_eq!(
        at("/go/page").header("Location"),
        Some("http://localhost/page.html")
    );
    // The access log's %{MATCH_…}e, line for line the same.
    let log = |tag: &str| s.log(&format!("{tag}_match_log"));
    assert_eq!(log("apache"), log("mpmd"));
    assert!(
        log("mpmd").contains("/alpha/sub/x.txt site=alpha top=alpha base=x same=x.txt one=-"),
        "{}",
        log("mpmd")
    );
}

/// A backend answering every request with the value of its `X-Match` header.
fn backend() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let seen = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("x-match")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{seen}",
                        seen.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

/// `<ProxyMatch>` named groups (httpd's proxy walk, matched against the backend URL) set
/// `MATCH_*` after the location sections' ones; the backend sees them in a `RequestHeader`.
fn proxy_match_vars(mpm: &str) {
    if !available() {
        return;
    }
    let b = backend();
    let body = format!(
        r#"
ProxyPass "/px/" "http://127.0.0.1:{b}/back/"
RequestHeader set X-Match "[%{{MATCH_WHERE}}e][%{{MATCH_PAGE}}e][%{{MATCH_1}}e]"
<LocationMatch "^/(?<where>px)/(?<page>[a-z]+)">
</LocationMatch>
<ProxyMatch "^http://127\.0\.0\.1:\d+/(?<where>[a-z]+)/(\w+)">
</ProxyMatch>
"#
    );
    let s = Site::new(&["proxy", "proxy_http"], &body);
    let paths = ["/px/page", "/px/"];
    let reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in paths.iter().enumerate() {
        assert_same(p, &a[i], &m[i], &[], true);
    }
    assert_eq!(m[0].status, 200);
    assert_eq!(m[0].body_text(), "[back][page][(null)]");
    assert_eq!(m[1].body_text(), "[(null)][(null)][(null)]");
}

mpm_tests!(match_vars, proxy_match_vars);
