//! Access-log fields that name the server, compared line for line with Debian's apache2
//! under every MPM: `%v` is the ServerName's host (mpmd once logged `b.test:8080`) and `%p`
//! the canonical port, the ServerName's or the scheme's default (mpmd once logged the port
//! the connection came to, which is `%{local}p`), as Debian's `vhost_combined` (`%v:%p`)
//! shows them.

mod common;
mod modules_oracle;

use modules_oracle::{available, get, Site};

const CONF: &str = r#"
LogFormat "%v:%p|%{canonical}p|%{local}p|%V|%U|%>s" fields
CustomLog @ROOT@/logs/fields_log fields
<VirtualHost *:@PORT@>
    ServerName a.test
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName b.test:8080
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName https://c.test
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName http://d.test:81
</VirtualHost>
"#;

fn server_name_and_port(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/index.html", b"index\n");
    let reqs: Vec<String> = [
        "a.test",
        "a.test:9999",
        "b.test",
        "c.test",
        "d.test:81",
        "unknown",
    ]
    .iter()
    .map(|h| get("/index.html", &[&format!("Host: {h}")]))
    .collect();
    let (a, m) = s.both(mpm, &reqs);
    for (x, y) in a.iter().zip(&m) {
        assert_eq!(x.status, y.status);
    }
    // Both servers append to fields_log, apache2 first; their ports differ, so %{local}p is
    // compared as "the connection's port" only.
    let log = s.log("fields_log");
    let lines: Vec<String> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            assert_eq!(f.len(), 6, "{l}");
            let local = f[2];
            assert!(local.parse::<u16>().is_ok_and(|p| p > 1024), "{l}");
            l.replace(&format!("|{local}|"), "|LOCAL|")
        })
        .collect();
    assert_eq!(lines.len(), 2 * reqs.len(), "{log}");
    let (al, ml) = lines.split_at(reqs.len());
    assert_eq!(al, ml, "fields_log: apache2 (left) vs mpmd (right)");
    assert_eq!(
        ml[2], "b.test:8080|8080|LOCAL|b.test|/index.html|200",
        "{log}"
    );
    assert_eq!(
        ml[3], "c.test:443|443|LOCAL|c.test|/index.html|200",
        "{log}"
    );
}

const REPEATED: &str = r#"
LogFormat "%{X-Rep}i|%{x-one}i|%{X-None}i|%>s" rep
CustomLog @ROOT@/logs/rep_log rep
"#;

/// A request header sent twice is logged merged, `a, b`, as httpd merges it.
fn repeated_request_headers(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], REPEATED);
    s.file("htdocs/index.html", b"index\n");
    let reqs = vec![
        get(
            "/index.html",
            &["X-Rep: a", "X-One: 1", "X-Rep: b", "x-rep: c"],
        ),
        get("/index.html", &["X-Rep: only"]),
    ];
    let (a, m) = s.both(mpm, &reqs);
    assert_eq!(a[0].status, m[0].status);
    let log = s.log("rep_log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert_eq!(lines[0..2], lines[2..4], "apache2 first, then mpmd:\n{log}");
    assert_eq!(lines[2], "a, b, c|1|-|200");
}

mpm_tests!(server_name_and_port, repeated_request_headers);
