//! mod_dir's FallbackResource against Debian's apache2: a missing file, a directory without an
//! index, a relative fallback, `disabled`, a fallback inside `<Location>`, the query string
//! kept, POST, and files/indexes that exist left alone — status and body compared with
//! apache2's, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, get, req};

const CONF: &str = r#"
<Directory @ROOT@/htdocs>
    FallbackResource /fb.html
</Directory>
<Directory @ROOT@/htdocs/sub>
    FallbackResource fb.html
</Directory>
<Directory @ROOT@/htdocs/sub/d>
    FallbackResource disabled
    ErrorDocument 404 /other.html
</Directory>
<Location /loc>
    FallbackResource /other.html
</Location>
<Files index.html>
    Header set X-Index-Files yes
</Files>
<Files fb.html>
    Header set X-Fallback-Files yes
</Files>
CustomLog @ROOT@/logs/fb_log "%U|%>U|%f|%q|%{REDIRECT_URL}e|%>s|%r"
"#;

fn fallback(mpm: &str) {
    if !available() {
        return;
    }
    let s = modules_oracle::Site::new(&[], CONF);
    s.file("htdocs/index.html", b"index\n");
    s.file("htdocs/fb.html", b"fallback\n");
    s.file("htdocs/other.html", b"other\n");
    s.file("htdocs/exists.txt", b"exists\n");
    s.file("htdocs/sub/fb.html", b"sub fallback\n");
    s.file("htdocs/sub/d/keep.txt", b"keep\n");
    s.file("htdocs/noindex/x.txt", b"x\n");
    let paths = [
        "/nope",
        "/nope.php?a=1&b=2",
        "/deep/er/path",
        "/exists.txt",
        "/",
        "/noindex/",
        "/sub/nope",
        "/sub/",
        "/sub/d/nope",
        "/sub/d/keep.txt",
        "/loc/x",
    ];
    let mut reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    reqs.push(req("POST", "/posted", &["Content-Length: 0"]));
    let (a, m) = s.both(mpm, &reqs);
    let mut fell_back = 0;
    for (i, r) in reqs.iter().enumerate() {
        let what = r.lines().next().unwrap_or_default();
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        // Fast redirects: the index's or fallback's own sections apply to the response.
        for h in ["X-Index-Files", "X-Fallback-Files"] {
            assert_eq!(a[i].header(h), m[i].header(h), "{what}: {h}");
        }
        if a[i].status == 200 {
            assert_eq!(a[i].body_text(), m[i].body_text(), "{what}: body");
            if a[i].body_text().contains("fallback") {
                fell_back += 1;
            }
        }
    }
    // The cases above must really exercise the fallback (missing, dir, query, relative, POST).
    assert!(fell_back >= 6, "only {fell_back} fallbacks");
    assert_eq!(m[4].header("X-Index-Files"), Some("yes"), "GET /");
    assert_eq!(m[0].header("X-Fallback-Files"), Some("yes"), "GET /nope");
    // What the access log says of a request answered by the fallback: httpd's fast redirect
    // makes %U the fallback's URL and %f its file, %r stays as received (and the index's for
    // a DirectoryIndex; after an ErrorDocument, %U is the original, %>U the document's).
    // Both servers append to fb_log, apache2 first.
    let log = s.log("fb_log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2 * reqs.len(), "{log}");
    let (al, ml) = lines.split_at(reqs.len());
    assert_eq!(al, ml, "fb_log: apache2 (left) vs mpmd (right)");
    let root = s.root().display().to_string();
    assert!(
        ml.contains(
            &format!("/fb.html|/fb.html|{root}/htdocs/fb.html||-|200|GET /nope HTTP/1.1").as_str()
        ),
        "{log}"
    );
}

mpm_tests!(fallback);
