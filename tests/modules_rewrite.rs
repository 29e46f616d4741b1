//! mod_rewrite against Debian's apache2: server/vhost rules (redirects, internal rewrites,
//! conditions, maps, flags), `.htaccess` front controllers (WordPress, Laravel) and
//! `<Directory>` rules, each answer compared with apache2's, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{assert_same, available, get, Site};

fn site_files(s: &Site) {
    s.file("htdocs/a.html", b"page a\n");
    s.file("htdocs/b.html", b"page b\n");
    s.file("htdocs/items/42.html", b"item 42\n");
    s.file("htdocs/notfound.html", b"map default\n");
    s.file("htdocs/mapped.html", b"mapped by txt\n");
    s.file("htdocs/other/file.txt", b"passed through to alias\n");
    s.file("map.txt", b"# comment\nkey mapped.html\n");
    s.file("rnd.txt", b"k a.html|a.html\n");
}

/// Where each request ended, per the access log: both servers append to one file.
const PATHS_LOG: &str = r#"CustomLog @ROOT@/logs/paths_log "%{local}p|%U|%>U|%f|%>s|%r""#;

/// apache2's paths_log lines (the first half) equal mpmd's (the second), ports aside: the
/// original and final URL and the file (the URL path for [F]/[G], a redirect's URL,
/// `proxy:…`) of every request. For a 404 or 500 the file is left out: httpd cuts it at the
/// first missing path component or where its walk stopped, mpmd keeps the whole path.
fn paths_log_agrees(s: &Site) {
    let log = s.log("paths_log");
    let lines: Vec<String> = log
        .lines()
        .map(|l| {
            let l = match l.split_once('|') {
                Some((port, rest)) => rest.replace(port, "PORT"),
                None => l.to_string(),
            };
            let mut f: Vec<&str> = l.splitn(5, '|').collect();
            if f.len() == 5 && (f[3] == "404" || f[3] == "500") {
                f[2] = "(file)";
            }
            f.join("|")
        })
        .collect();
    assert!(lines.len() % 2 == 0, "{log}");
    let (a, m) = lines.split_at(lines.len() / 2);
    // Sorted: a [P] to the server itself logs the backend's request and the front's in
    // either order.
    let (mut a, mut m) = (a.to_vec(), m.to_vec());
    a.sort();
    m.sort();
    assert_eq!(a, m, "paths_log: apache2 (left) vs mpmd (right)");
}

const SERVER_RULES: &str = r#"
LogLevel warn rewrite:trace3
Alias /aliased @ROOT@/htdocs/other/file.txt
RewriteEngine On
RewriteMap lc int:tolower
RewriteMap m txt:@ROOT@/map.txt
RewriteRule ^/old/(.*)$ /new/$1 [R=301,L]
RewriteRule ^/a-to-b$ /b.html [L]
RewriteRule ^/pt$ /aliased [PT]
RewriteCond %{QUERY_STRING} ^id=(\d+)$
RewriteRule ^/item$ /items/%1.html? [L]
RewriteRule ^/q$ /b.html?x=1 [QSA,R,L]
RewriteRule ^/qsd$ /b.html [QSD,R=303,L]
RewriteRule ^/secret - [F]
RewriteRule ^/gone - [G]
RewriteRule ^/UPPER$ /b.html [NC,L]
RewriteCond %{HTTP_HOST} ^www\.(.+)$ [NC]
RewriteRule ^/(.*)$ http://%1/$1 [R=301,L]
RewriteCond %{HTTPS} off
RewriteCond %{HTTP_HOST} ^secure\.
RewriteRule ^/(.*)$ https://%{HTTP_HOST}/$1 [R=301,L]
RewriteRule ^/lower/(.*)$ /${lc:$1} [R,L]
RewriteRule ^/m/(.*)$ /${m:$1|notfound.html} [L]
RewriteRule ^/chain/(.*)$ /$1 [C]
RewriteRule ^/(b)\.html$ /a.html [L]
RewriteRule ^/skip$ /a.html [S=1]
RewriteRule ^/a\.html$ /b.html [L]
RewriteRule ^/dash/(.*)-(.*)$ /dash/$1$2 [N]
RewriteRule ^/dash/(.*)$ /$1.html [L]
RewriteRule ^/env$ - [E=FOO:bar]
RewriteCond %{ENV:FOO} =bar
RewriteRule ^/env$ /a.html [L]
RewriteCond %{THE_REQUEST} "^GET /the-req"
RewriteRule ^/the-req$ /a.html [L]
RewriteCond %{REQUEST_METHOD} =HEAD [OR]
RewriteCond %{REQUEST_URI} ^/or-test$
RewriteRule ^/or-test$ /b.html [L]
RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-f
RewriteRule ^/nofile/ /b.html [L]
RewriteRule ^/typed$ /b.html [T=text/x-mpmd,L]
RewriteRule ^/cookie$ /b.html [CO=k:v:localhost:0:/,L]
RewriteRule ^/ne$ /b.html?a=%2F [NE,R,L]
RewriteRule ^/esc$ /b.html?a=b\ c [R,L]
RewriteRule ^/to-proxy$ http://elsewhere.example/x [L]
RewriteRule ^/notfound-abs$ /x/y/z.html [L]
RewriteMap uc int:toupper
RewriteMap esc int:escape
RewriteMap unesc int:unescape
RewriteMap pick rnd:@ROOT@/rnd.txt
RewriteRule ^/upper/(.*)$ /${uc:$1} [R,L]
RewriteRule ^/esc2/(.*)$ /b.html?q=${esc:$1} [R,L,NE]
RewriteRule ^/unesc/(.*)$ /b.html?q=${unesc:$1} [R,L,NE]
RewriteRule ^/rnd$ /${pick:k} [L]
RewriteRule ^/bflag/(.*)$ /b.html?q=$1 [B,R,L]
RewriteCond %{HTTP:X-Test} ^yes$
RewriteRule ^/hdr$ /a.html [L]
RewriteCond %{SERVER_PORT} ^[0-9]+$
RewriteCond %{REMOTE_ADDR} =127.0.0.1
RewriteRule ^/addr$ /a.html [L]
RewriteCond %{TIME_YEAR} >2000
RewriteRule ^/time$ /a.html [L]
RewriteCond %{REQUEST_URI} <m
RewriteRule ^/lt$ /a.html [L]
RewriteRule ^/r404$ - [R=404]
RewriteRule ^/r410$ /x [R=410,L]
RewriteCond %{DOCUMENT_ROOT}/a.html -s
RewriteRule ^/sized$ /b.html [L]
RewriteRule ^/dpi/(.*)$ /a.html [DPI,L]
RewriteCond %{HTTP_USER_AGENT} curl [NC]
RewriteRule ^/nc-cond$ /a.html [L]
RewriteRule ^/q3f/(.*)$ /b.html?x=$1 [R,L]
RewriteRule ^/qsa-empty$ /b.html? [R,L]
RewriteRule ^/keepq$ /b.html [R,L]
RewriteRule !^/neg- - [E=NEG:1]
RewriteCond %{ENV:NEG} ^$
RewriteRule ^/neg-x$ /a.html [L]
RewriteRule ^/viaproxy$ http://127.0.0.1:@PORT@/a.html [P]
RewriteCond %{SERVER_PORT} =80
RewriteRule ^/port80$ /a.html [L]
"#;

fn server_rules(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(
        &["rewrite", "proxy", "proxy_http"],
        &format!("{SERVER_RULES}\n{PATHS_LOG}\n"),
    );
    site_files(&s);
    let cases: Vec<(String, &[&str])> = vec![
        (get("/old/x/y?z=1", &[]), &["Location"]),
        (get("/a-to-b", &[]), &["Content-Type", "ETag"]),
        (get("/pt", &[]), &["Content-Type"]),
        (get("/item?id=42", &[]), &[]),
        (get("/item?id=x", &[]), &[]),
        (get("/q?orig=1", &[]), &["Location"]),
        (get("/qsd?orig=1", &[]), &["Location"]),
        (get("/secret/x", &[]), &[]),
        (get("/gone", &[]), &[]),
        (get("/upper", &[]), &[]),
        (get("/path?x=1", &["Host: www.example.com"]), &["Location"]),
        (get("/p", &["Host: secure.example.com"]), &["Location"]),
        (get("/lower/ABC.Html", &[]), &["Location"]),
        (get("/m/key", &[]), &[]),
        (get("/m/nokey", &[]), &[]),
        (get("/chain/b.html", &[]), &[]),
        (get("/chain/a.html", &[]), &[]),
        (get("/skip", &[]), &[]),
        (get("/dash/b--", &[]), &[]),
        (get("/env", &[]), &[]),
        (get("/the-req", &[]), &[]),
        (get("/or-test", &[]), &[]),
        (get("/nofile/x", &[]), &[]),
        (get("/typed", &[]), &["Content-Type"]),
        (get("/cookie", &[]), &["Set-Cookie"]),
        (get("/ne", &[]), &["Location"]),
        (get("/esc", &[]), &["Location"]),
        (get("/to-proxy", &[]), &["Location"]),
        (get("/notfound-abs", &[]), &[]),
        (get("/upper/abc", &[]), &["Location"]),
        (get("/esc2/a%20b&c", &[]), &["Location"]),
        (get("/unesc/a%2541", &[]), &["Location"]),
        (get("/rnd", &[]), &[]),
        (get("/bflag/a%20b&c", &[]), &["Location"]),
        (get("/hdr", &["X-Test: yes"]), &[]),
        (get("/hdr", &["X-Test: no"]), &[]),
        (get("/addr", &[]), &[]),
        (get("/time", &[]), &[]),
        (get("/lt", &[]), &[]),
        (get("/r404", &[]), &[]),
        (get("/r410", &[]), &[]),
        (get("/sized", &[]), &[]),
        (get("/dpi/x", &[]), &[]),
        (get("/nc-cond", &["User-Agent: CURL/8"]), &[]),
        (get("/q3f/a%3Fb", &[]), &["Location"]),
        (get("/qsa-empty?drop=1", &[]), &["Location"]),
        (get("/keepq?keep=1", &[]), &["Location"]),
        (get("/neg-x", &[]), &[]),
        (get("/viaproxy", &[]), &["Content-Type", "ETag"]),
        (get("/port80", &[]), &[]),
    ];
    let reqs: Vec<String> = cases.iter().map(|(r, _)| r.clone()).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (r, hs)) in cases.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        assert_same(line, &a[i], &m[i], hs, true);
    }
    // The oracle itself did rewrite (the comparison alone would pass on two 404s).
    assert_eq!(m[0].status, 301);
    assert_eq!(m[1].body_text(), "page b\n");
    assert_eq!(m[3].body_text(), "item 42\n");
    assert_eq!(m[13].body_text(), "mapped by txt\n");
    paths_log_agrees(&s);
    // rewrite:trace3 logs the engine's steps.
    assert!(
        s.log("mpmd_error_log").contains("applying pattern"),
        "{}",
        s.log("mpmd_error_log")
    );
}

const HTACCESS_WP: &str = "RewriteEngine On
RewriteBase /wp/
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /wp/index.php [L]
RewriteRule ^old\\.html$ new.html [R=301,L]
";

const HTACCESS_LARAVEL: &str = "<IfModule mod_rewrite.c>
    RewriteEngine On
    RewriteCond %{HTTP:Authorization} .
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteCond %{REQUEST_URI} (.+)/$
    RewriteRule ^ %1 [L,R=301]
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteRule ^ index.php [L]
</IfModule>
";

const PERDIR_CONF: &str = r#"
DirectoryIndex index.php index.html
<Directory @ROOT@/htdocs/wp>
    AllowOverride All
</Directory>
<Directory @ROOT@/htdocs/laravel/public>
    AllowOverride All
</Directory>
<Directory @ROOT@/htdocs/sec>
    RewriteEngine On
    RewriteRule ^x$ y.txt [L]
    RewriteRule ^abs$ /a.html [L]
    RewriteRule ^red$ /b.html [R,L]
    RewriteRule ^relred$ y.txt [R=302,L]
</Directory>
<Directory @ROOT@/htdocs/loop>
    RewriteEngine On
    RewriteRule ^(.*)$ loop/$1
</Directory>
<Directory @ROOT@/htdocs/end>
    RewriteEngine On
    RewriteRule ^(.*)$ e/$1 [END]
</Directory>
<Directory @ROOT@/htdocs/nosym>
    Options None
    RewriteEngine On
    RewriteRule ^x$ y.txt [L]
</Directory>
<Directory @ROOT@/htdocs/noover>
    AllowOverride AuthConfig
</Directory>
<Directory @ROOT@/htdocs/qs>
    RewriteEngine On
    RewriteBase /qs/
    RewriteRule ^qsa$ b.html?y=2 [QSA,R,L]
    RewriteRule ^env$ - [E=SEEN:yes]
    RewriteCond %{ENV:SEEN} =yes
    RewriteRule ^env$ target.txt [L]
    RewriteCond %{REQUEST_FILENAME} -l
    RewriteRule ^link$ target.txt [L]
    RewriteRule ^internal-q$ target.txt?z=1 [L]
</Directory>
<Location /loc>
    RewriteEngine On
    RewriteRule ^(.*)$ /b.html [L]
</Location>
<Location /loc2>
    RewriteEngine On
    RewriteRule x$ /a.html [R,L]
</Location>
<Directory @ROOT@/htdocs/guard>
    RewriteEngine On
    RewriteCond %{ENV:REDIRECT_STATUS} ^$
    RewriteRule ^(.*)$ front.txt [L]
</Directory>
<Directory @ROOT@/htdocs/inh>
    RewriteEngine On
    RewriteRule ^parent$ /a.html [L]
    AllowOverride All
</Directory>
"#;

fn perdir_rules(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["rewrite"], &format!("{PERDIR_CONF}\n{PATHS_LOG}\n"));
    site_files(&s);
    s.file("htdocs/wp/.htaccess", HTACCESS_WP.as_bytes());
    s.file("htdocs/wp/index.php", b"wordpress front controller\n");
    s.file("htdocs/wp/real.txt", b"a real file\n");
    s.file("htdocs/wp/sub/index.html", b"sub index\n");
    s.file(
        "htdocs/laravel/public/.htaccess",
        HTACCESS_LARAVEL.as_bytes(),
    );
    s.file(
        "htdocs/laravel/public/index.php",
        b"laravel front controller\n",
    );
    s.file("htdocs/laravel/public/css/app.css", b"body{}\n");
    s.file("htdocs/sec/y.txt", b"y file\n");
    s.file("htdocs/end/e/x", b"ended\n");
    s.file("htdocs/loop/x", b"never\n");
    s.file("htdocs/nosym/y.txt", b"y\n");
    s.file(
        "htdocs/inh/sub/.htaccess",
        b"RewriteEngine On\nRewriteOptions Inherit\nRewriteRule ^child$ /b.html [L]\n",
    );
    s.file("htdocs/noinh/.htaccess", b"RewriteEngine On\n");
    s.file(
        "htdocs/inh/before/.htaccess",
        b"RewriteEngine On\nRewriteOptions InheritBefore\nRewriteRule ^parent$ /b.html [L]\n",
    );
    s.file(
        "htdocs/noover/.htaccess",
        b"RewriteEngine On\nRewriteRule ^x$ /a.html\n",
    );
    s.file("htdocs/noover/x", b"x\n");
    s.file("htdocs/qs/target.txt", b"qs target\n");
    s.file("htdocs/guard/front.txt", b"guarded front\n");
    std::os::unix::fs::symlink(
        s.root().join("htdocs/qs/target.txt"),
        s.root().join("htdocs/qs/link"),
    )
    .unwrap();
    let cases: Vec<(String, &[&str])> = vec![
        (get("/wp/some/pretty/url", &[]), &["Content-Type"]),
        (get("/wp/real.txt", &[]), &["Content-Type"]),
        (get("/wp/", &[]), &[]),
        (get("/wp/sub/", &[]), &[]),
        (get("/wp/sub", &[]), &["Location"]),
        (get("/wp/index.php", &[]), &[]),
        (get("/wp/old.html?k=v", &[]), &["Location"]),
        (get("/laravel/public/users/7", &[]), &[]),
        (get("/laravel/public/css/app.css", &[]), &["Content-Type"]),
        (get("/laravel/public/users/7/", &[]), &["Location"]),
        (get("/sec/x", &[]), &[]),
        (get("/sec/abs", &[]), &[]),
        (get("/sec/red", &[]), &["Location"]),
        (get("/sec/relred", &[]), &["Location"]),
        (get("/loop/x", &[]), &[]),
        (get("/end/x", &[]), &[]),
        (get("/nosym/x", &[]), &[]),
        (get("/inh/parent", &[]), &[]),
        (get("/inh/sub/child", &[]), &[]),
        (get("/inh/sub/parent", &[]), &[]),
        (get("/inh/before/parent", &[]), &[]),
        (get("/noover/x", &[]), &[]),
        (get("/qs/qsa?o=1", &[]), &["Location"]),
        (get("/qs/env", &[]), &[]),
        (get("/qs/link", &[]), &[]),
        (get("/qs/internal-q", &[]), &[]),
        (get("/loc/abc", &[]), &[]),
        (get("/guard/anything", &[]), &[]),
        (get("/loc2/x", &[]), &["Location"]),
    ];
    let reqs: Vec<String> = cases.iter().map(|(r, _)| r.clone()).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (r, hs)) in cases.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        // Error pages (the 500 of the redirect loop) are compared by status only.
        assert_same(line, &a[i], &m[i], hs, a[i].status < 500);
    }
    assert_eq!(m[0].body_text(), "wordpress front controller\n");
    assert_eq!(m[7].body_text(), "laravel front controller\n");
    assert_eq!(m[14].status, 500);
    assert_eq!(m[15].body_text(), "ended\n");
    let guard = cases
        .iter()
        .position(|(r, _)| r.contains("/guard/anything"))
        .unwrap();
    // The REDIRECT_STATUS loop guard works (else the internal redirects would end in a 500).
    assert_eq!(m[guard].body_text(), "guarded front\n");
    paths_log_agrees(&s);
}

const VHOST_CONF: &str = r#"
RewriteEngine On
RewriteRule ^/main-only$ /a.html [L]
<VirtualHost *:*>
    ServerName plain.test
</VirtualHost>
<VirtualHost *:*>
    ServerName own.test
    RewriteEngine On
    RewriteRule ^/own$ /b.html [L]
</VirtualHost>
<VirtualHost *:*>
    ServerName inherit.test
    RewriteEngine On
    RewriteOptions Inherit
    RewriteRule ^/own$ /b.html [L]
</VirtualHost>
"#;

fn vhost_rules(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["rewrite"], VHOST_CONF);
    site_files(&s);
    let mut cases = Vec::new();
    for host in ["plain.test", "own.test", "inherit.test"] {
        for path in ["/main-only", "/own"] {
            cases.push(get(path, &[&format!("Host: {host}")]));
        }
    }
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        assert_same(r, &a[i], &m[i], &[], true);
    }
    // Vhosts do not see the main server's rules unless they inherit them.
    assert_eq!(m[0].status, 404);
    assert_eq!(m[3].body_text(), "page b\n");
    assert_eq!(m[4].body_text(), "page a\n");
}

/// What mpmd refuses, with httpd's wording where httpd has one (`mpmd -t`).
fn config_errors(mpm: &str) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().display();
    let cases = [
        (
            "RewriteMap p prg:/bin/cat",
            "prg: maps are not supported by mpmd",
        ),
        (
            "RewriteRule ^(x /y",
            "RewriteRule: cannot compile regular expression '^(x'",
        ),
        ("RewriteRule ^x /y [L,Q]", "RewriteRule: unknown flag 'q'"),
        ("RewriteRule ^x /y L", "RewriteRule: bad flag delimiters"),
        (
            "RewriteBase /x",
            "RewriteBase: only valid in per-directory config files",
        ),
        (
            "RewriteOptions Bogus",
            "RewriteOptions: unknown option 'Bogus'",
        ),
        (
            "RewriteCond %{HTTP_HOST} expr",
            "expr conditions are not supported by mpmd",
        ),
    ];
    for (line, want) in cases {
        let conf = dir.path().join("t.conf");
        std::fs::write(
            &conf,
            format!(
                "ServerRoot {r}\nLoadModule mpm_{mpm}_module m.so\nLoadModule rewrite_module m.so\n\
                 Listen 127.0.0.1:0\nDocumentRoot {r}\nErrorLog {r}/e\n{line}\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(modules_oracle::BIN)
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{line}: accepted\n{err}");
        assert!(err.contains(want), "{line}: {err}");
    }
}

/// Local time where httpd uses it, with `TZ=Asia/Kolkata` (UTC+05:30, so every hour differs
/// from UTC's) in both servers' environment: mod_rewrite's `%{TIME_*}` (mpmd once gave UTC),
/// `<If>`'s, the access log's `%{…}t`, mod_autoindex's "Last modified" column and the error
/// log's timestamps.
fn time_is_local(mpm: &str) {
    if !available() {
        return;
    }
    let mut s = Site::new(
        &["rewrite", "autoindex"],
        r#"
RewriteEngine On
RewriteRule ^/now$ /a.html [E=TH:%{TIME_HOUR},E=TD:%{TIME_DAY},E=TW:%{TIME_WDAY}]
Header always set X-Rewrite-Time "%{TH}e %{TD}e %{TW}e" env=TH
<If "%{TIME_HOUR} -lt 24">
    Header always set X-If-Seen yes
</If>
CustomLog @ROOT@/logs/tz_log "%{%z}t"
<Directory @ROOT@/htdocs/list>
    Options +Indexes
    IndexOptions FancyIndexing HTMLTable
</Directory>
"#,
    );
    s.env.push(("TZ", "Asia/Kolkata".to_string()));
    site_files(&s);
    s.file("htdocs/list/f.txt", b"f\n");
    let cases = vec![get("/now", &[]), get("/list/", &[])];
    let (a, m) = s.both(mpm, &cases);
    let hour = |x: &modules_oracle::Answer| {
        x.header("X-Rewrite-Time")
            .unwrap_or("")
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(hour(&a[0]), hour(&m[0]), "TIME_HOUR: apache2 vs mpmd");
    assert_eq!(
        a[0].header("X-Rewrite-Time").map(|v| v.len()),
        m[0].header("X-Rewrite-Time").map(|v| v.len())
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        hour(&m[0]),
        format!("{:02}", (now + 19_800) / 3600 % 24),
        "TIME_HOUR is the hour in Kolkata"
    );
    assert_eq!(m[0].header("X-If-Seen"), Some("yes"));
    // f.txt's mtime, 2023-11-14 22:13:20 UTC, in Kolkata.
    for (who, x) in [("apache2", &a[1]), ("mpmd", &m[1])] {
        assert!(
            x.body_text().contains(">2023-11-15 03:43  </td>"),
            "{who}: {}",
            x.body_text()
        );
    }
    assert_eq!(s.log("tz_log"), "+0530\n+0530\n+0530\n+0530\n");
    // The error log's timestamps: `[Thu Dec 03 23:10:00.123456 2026] … resuming normal …`.
    let hour_of = |log: String| {
        log.lines()
            .find(|l| l.contains("resuming normal operations"))
            .and_then(|l| l.get(12..14).map(str::to_string))
    };
    let kolkata = Some(hour(&m[0]));
    assert_eq!(
        hour_of(s.log("apache_error_log")),
        kolkata,
        "apache2 error log"
    );
    assert_eq!(hour_of(s.log("mpmd_error_log")), kolkata, "mpmd error log");
}

mpm_tests!(
    server_rules,
    perdir_rules,
    vhost_rules,
    config_errors,
    time_is_local
);
