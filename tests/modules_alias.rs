//! mod_alias's expression forms against Debian's apache2: the one-argument `Alias` in a
//! `<Location>` and `Redirect` with a lone target (or `gone`) in a section or a vhost, which
//! mpmd once refused. Status, Location and body compared with apache2's, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{assert_same, available, get, Site};

const CONF: &str = r#"
<Location /ali>
    Alias @ROOT@/htdocs/target.txt
</Location>
<LocationMatch ^/dyn/>
    Alias "@ROOT@/htdocs/%{QUERY_STRING}.txt"
</LocationMatch>
<Location /rel>
    Alias htdocs/target.txt
</Location>
<Location /old>
    Redirect /b.txt
</Location>
<Location /perm>
    Redirect permanent "http://example.com%{REQUEST_URI}"
</Location>
<Location /withq>
    Redirect seeother "/b.txt?fixed=1#top"
</Location>
<Location /gone>
    Redirect gone
</Location>
<Location /bad>
    Redirect 301 relative
</Location>
<Location /later>
    Redirect /first.txt
</Location>
<Location /later/sub>
    Redirect /second.txt
</Location>
<Directory @ROOT@/htdocs/dirred>
    Redirect 303 "/b.txt?from=%{REQUEST_URI}"
</Directory>
<LocationMatch ^/rm>
    RedirectMatch 301 "/b.txt"
</LocationMatch>
<VirtualHost *:@PORT@>
    ServerName localhost
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName gone.test
    Redirect gone
</VirtualHost>
"#;

fn expression_forms(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/target.txt", b"target\n");
    s.file("htdocs/b.txt", b"b\n");
    s.file("htdocs/two.txt", b"two\n");
    s.file("htdocs/dirred/f.txt", b"f\n");
    let paths = [
        "/ali",
        "/ali/anything/else",
        "/dyn/x?two",
        "/dyn/x?missing",
        "/rel",
        "/old",
        "/old/x?q=1",
        "/perm/a%20b?x=y",
        "/withq?orig=1",
        "/gone/x",
        "/bad",
        "/later/sub/x",
        "/later/x",
        "/dirred/f.txt?k=v",
        "/rm",
    ];
    let reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, r) in reqs.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        assert_same(line, &a[i], &m[i], &["Location"], a[i].status < 500);
    }
    // The oracle really took these paths (the comparison alone would pass on two 404s).
    assert_eq!(m[0].body_text(), "target\n");
    assert_eq!(m[1].body_text(), "target\n");
    assert_eq!(m[2].body_text(), "two\n");
    assert_eq!(m[4].body_text(), "target\n");
    assert_eq!(m[5].status, 302);
    assert_eq!(m[9].status, 410);
    assert_eq!(m[10].status, 500);
}

/// `Redirect gone` for a whole vhost: apache2 2.4.71's child crashes on it (SIGSEGV, no
/// answer); mpmd answers 410 for everything the vhost serves, as the manual describes.
fn gone_vhost(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/b.txt", b"b\n");
    let reqs = vec![
        get("/b.txt", &["Host: gone.test"]),
        get("/b.txt", &["Host: localhost"]),
    ];
    let (_, m) = s.both(mpm, &reqs);
    assert_eq!(m[0].status, 410);
    assert_eq!(m[1].status, 200);
}

mpm_tests!(expression_forms, gone_vhost);
