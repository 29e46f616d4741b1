//! One merged `Vary` against Debian's apache2: mod_deflate's `Accept-Encoding`, `Header
//! append/merge/add/set Vary`, `Header always`, mod_rewrite's RewriteCond headers
//! (`%{HTTP:X}`, `%{HTTP_USER_AGENT}`, `[OR]`, `[NV]`, chains, per-directory rules, `Host`
//! skipped, absent headers not noted) and ap_expr's `req()`/`%{HTTP_*}` in `<If>` and `Header
//! … expr=` — the exact `Vary` value (order, spelling) and the number of `Vary` lines, over
//! HTTP/1.1 and HTTP/2, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, curl_h2_head_lines, get, req, Site};

const CONF: &str = r#"
Protocols h2c http/1.1
AddOutputFilterByType DEFLATE text/html
RewriteEngine on
RewriteCond %{HTTP:x-foo} ^yes$
RewriteRule ^/rw1/(.*) /$1
RewriteCond %{HTTP_USER_AGENT} curl
RewriteCond %{HTTP_REFERER} ^$
RewriteRule ^/rw2/(.*) /$1
RewriteCond %{HTTP:X-Foo} ^no$ [OR]
RewriteCond %{HTTP:accept-language} ^de
RewriteRule ^/rw3/(.*) /$1
RewriteCond %{HTTP:X-Foo} ^yes$ [NV]
RewriteRule ^/rw4/(.*) /$1
RewriteCond %{HTTP:Host} .
RewriteCond %{HTTP_HOST} .
RewriteRule ^/rw5/(.*) /$1
RewriteCond %{HTTP:X-Foo} yes
RewriteRule ^/rw6/(.*) /$1 [C]
RewriteCond %{HTTP_USER_AGENT} curl
RewriteRule ^/(.*) /$1
RewriteCond %{HTTP:X-Foo} yes
RewriteRule ^/rw7/(.*) - [F]
RewriteCond %{HTTP:X-Foo} ^yes$
RewriteRule ^/rw8/(.*) /$1
<Location /h1>
Header append Vary User-Agent
</Location>
<Location /h2>
Header append Vary accept-encoding
</Location>
<Location /h3>
Header set Vary "X-A, X-B"
</Location>
<Location /h4>
Header merge Vary X-A
Header merge Vary X-A
</Location>
<Location /h5>
Header add Vary X-A
Header add Vary X-B
</Location>
<Location /h6>
Header always append Vary "X-One, x-one"
Header append Vary X-Two
</Location>
<Location /h7>
Header set X-CE "expr=%{resp:Content-Encoding}"
Header set X-Cond 1 "expr=req('X-Cond') == 'a' || %{HTTP_REFERER} == 'b'"
Header append Vary X-Last
</Location>
<Location /h8>
Header set X-Cond 1 "expr=req_novary('X-Cond') == 'a'"
</Location>
<Location /s>
SetOutputFilter DEFLATE
Header append Vary User-Agent
</Location>
<Location /i>
<If "req('X-Bar') == 'yes'">
Header set X-If 1
</If>
</Location>
<If "%{HTTP:X-Baz} == 'yes'">
Header set X-If0 1
</If>
<Directory @ROOT@/htdocs/d>
RewriteEngine on
RewriteCond %{HTTP:X-Foo} yes
RewriteRule ^(.*)\.x$ $1.html
</Directory>
"#;

const DIRS: &[&str] = &[
    "", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "s", "i", "d",
];

fn site() -> Site {
    let s = Site::new(&["deflate", "filter", "rewrite", "http2"], CONF);
    let big = "hello world, compress me please. ".repeat(80);
    for d in DIRS {
        let p = if d.is_empty() {
            "htdocs/big.html".to_string()
        } else {
            format!("htdocs/{d}/big.html")
        };
        s.file(&p, big.as_bytes());
    }
    s.file("htdocs/s/big.txt", big.as_bytes());
    s
}

fn vary(mpm: &str) {
    if !available() {
        return;
    }
    let s = site();
    let std_h: &[&str] = &[
        "Accept-Encoding: gzip",
        "X-Foo: yes",
        "User-Agent: curl/8",
        "Accept-Language: de",
    ];
    let with = |extra: &'static str| {
        let mut v = std_h.to_vec();
        v.push(extra);
        v
    };
    let mut cases: Vec<String> = vec![
        get("/big.html", std_h),
        get("/big.html", &[]),
        get("/rw1/big.html", std_h),
        get("/rw1/missing", std_h),
        get("/rw2/big.html", std_h),
        get("/rw3/big.html", std_h),
        get("/rw4/big.html", std_h),
        get("/rw5/big.html", std_h),
        get("/rw6/big.html", std_h),
        get("/rw7/big.html", std_h),
        get("/rw8/big.html", &["X-Foo: no"]),
        get("/d/big.x", std_h),
        get("/s/big.txt", std_h),
        get("/i/big.html", &with("X-Bar: yes")),
        get("/big.html", &with("X-Baz: yes")),
        get("/h6/missing", std_h),
        get("/h7/big.html", std_h),
        get("/h8/big.html", std_h),
        req("HEAD", "/h5/big.html", std_h),
    ];
    for d in DIRS.iter().filter(|d| d.starts_with('h')) {
        cases.push(get(&format!("/{d}/big.html"), std_h));
    }
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let what = format!("{:?}", r.lines().next().unwrap_or(""));
        let varies = |x: &modules_oracle::Answer| -> Vec<String> {
            x.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("Vary"))
                .map(|(_, v)| v.clone())
                .collect()
        };
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        assert_eq!(
            varies(&a[i]),
            varies(&m[i]),
            "{what}: Vary lines: apache2 (left) vs mpmd (right)\napache2 {:?}\nmpmd {:?}",
            a[i].headers,
            m[i].headers
        );
        for h in ["X-CE", "X-Cond", "Content-Encoding"] {
            assert_eq!(a[i].header(h), m[i].header(h), "{what}: {h}");
        }
    }
    // The cases pin something: merged fields, rewrite and expression names.
    let v = |i: usize| m[i].header("Vary").unwrap_or("").to_string();
    assert_eq!(v(2), "X-Baz,x-foo,Accept-Encoding");
    assert_eq!(v(16), "X-Baz,Accept-Encoding,X-Cond,Referer,X-Last");

    // HTTP/2 (h2c, prior knowledge): the same single merged field.
    let (ah, mh) = s.with_both(mpm, |port, _| {
        ["/h6/big.html", "/h5/big.html", "/rw1/big.html"]
            .iter()
            .map(|p| curl_h2_vary(port, p))
            .collect::<Vec<_>>()
    });
    if ah.iter().all(|v| v.is_empty()) {
        eprintln!("skipped h2 part: curl without HTTP/2");
        return;
    }
    assert_eq!(ah, mh, "HTTP/2 Vary: apache2 (left) vs mpmd (right)");
}

/// The `vary` lines of an h2c response to `path` (curl, prior knowledge).
fn curl_h2_vary(port: u16, path: &str) -> Vec<String> {
    curl_h2_head_lines(port, path, &["Accept-Encoding: gzip", "X-Foo: yes"])
        .into_iter()
        .filter(|l| l.to_ascii_lowercase().starts_with("vary:"))
        .collect()
}

mpm_tests!(vary);
