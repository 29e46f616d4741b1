//! mod_expires against Debian's apache2: ExpiresActive, ExpiresByType (exact and `type/*`),
//! ExpiresDefault in both syntaxes, access and modification bases, `.htaccess` — the
//! `Cache-Control` and the distance between `Expires` and `Date` compared with apache2's,
//! under every MPM.

mod common;
mod modules_oracle;

use std::time::SystemTime;

use modules_oracle::{available, get, Answer, Site};

const CONF: &str = r#"
ExpiresActive On
ExpiresDefault "access plus 1 month"
ExpiresByType text/css A3600
ExpiresByType image/* "access plus 2 days 3 hours"
ExpiresByType application/json "modification plus 10 years"
<Directory @ROOT@/htdocs/off>
    ExpiresActive Off
</Directory>
<Directory @ROOT@/htdocs/ht>
    AllowOverride Indexes
</Directory>
<Directory @ROOT@/htdocs/cc>
    Header set Cache-Control public
</Directory>
"#;

fn when(a: &Answer, h: &str) -> Option<SystemTime> {
    a.header(h).and_then(|v| httpdate::parse_http_date(v).ok())
}

/// `Expires` − `Date` in seconds (access base), or `Expires` itself (modification base).
fn expiry(a: &Answer, modification: bool) -> Option<i64> {
    let e = when(a, "Expires")?;
    let base = if modification {
        SystemTime::UNIX_EPOCH
    } else {
        when(a, "Date")?
    };
    Some(match e.duration_since(base) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

fn expires(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["expires", "headers"], CONF);
    s.file("htdocs/page.html", b"<p>page</p>\n");
    s.file("htdocs/style.css", b"body{}\n");
    s.file("htdocs/pic.png", b"\x89PNG\r\n");
    s.file("htdocs/data.json", b"{}\n");
    s.file("htdocs/off/page.html", b"off\n");
    s.file("htdocs/ht/page.html", b"ht\n");
    s.file("htdocs/ht/.htaccess", b"ExpiresDefault M315360000\n");
    s.file("htdocs/cc/page.html", b"cc\n");
    // (path, modification base)
    let cases: &[(&str, bool)] = &[
        ("/page.html", false),
        ("/style.css", false),
        ("/pic.png", false),
        ("/data.json", true),
        ("/off/page.html", false),
        ("/ht/page.html", true),
        ("/cc/page.html", false),
        ("/missing.html", false),
    ];
    let reqs: Vec<String> = cases.iter().map(|(p, _)| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (path, modification)) in cases.iter().enumerate() {
        assert_eq!(a[i].status, m[i].status, "{path}: status");
        assert_eq!(
            expiry(&a[i], *modification),
            expiry(&m[i], *modification),
            "{path}: Expires: apache2 {:?}\nmpmd {:?}",
            a[i].headers,
            m[i].headers
        );
        if !*modification {
            assert_eq!(
                a[i].header("Cache-Control"),
                m[i].header("Cache-Control"),
                "{path}: Cache-Control"
            );
        } else {
            // max-age counts from "now": equal within the second the two requests apart.
            let age = |x: &Answer| -> Option<i64> {
                x.header("Cache-Control")?
                    .split("max-age=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            };
            let (x, y) = (age(&a[i]), age(&m[i]));
            assert_eq!(x.is_some(), y.is_some(), "{path}: Cache-Control");
            if let (Some(x), Some(y)) = (x, y) {
                assert!((x - y).abs() <= 5, "{path}: max-age {x} vs {y}");
            }
        }
    }
    assert_eq!(m[0].header("Cache-Control"), Some("max-age=2592000"));
    assert_eq!(m[1].header("Cache-Control"), Some("max-age=3600"));
    assert_eq!(m[4].header("Expires"), None);

    // A 304 keeps the expiry of the file's type (httpd's mod_expires runs on it too).
    let reqs = vec![
        get("/style.css", &["If-None-Match: *"]),
        get("/pic.png", &["If-None-Match: *"]),
    ];
    let (a, m) = s.both(mpm, &reqs);
    for i in 0..reqs.len() {
        assert_eq!((a[i].status, m[i].status), (304, 304), "{:?}", m[i]);
        assert_eq!(
            a[i].header("Cache-Control"),
            m[i].header("Cache-Control"),
            "304: apache2 {:?}\nmpmd {:?}",
            a[i].headers,
            m[i].headers
        );
        assert_eq!(expiry(&a[i], false), expiry(&m[i], false), "304 Expires");
        assert_eq!(
            m[i].header("Content-Type"),
            None,
            "no Content-Type on a 304"
        );
    }
    assert_eq!(m[0].header("Cache-Control"), Some("max-age=3600"));
}

mpm_tests!(expires);
