//! PCRE patterns in the configuration, against Debian's apache2 under every MPM: lookahead in
//! a RewriteRule, a backreference inside a RewriteCond pattern, a negative lookahead in
//! `<LocationMatch>`, and the same features in AliasMatch, RedirectMatch, SetEnvIf,
//! `Header edit`/`edit*` and `<If> =~`; plus `-t` on a bad pattern and on valid PCRE that
//! mpmd cannot run. Each of these patterns was refused by the `regex` crate mpmd used before.

mod common;
mod modules_oracle;

use modules_oracle::{assert_same, available, get, Site};

const BODY: &str = r#"
RewriteEngine On
# Lookahead: only a versioned API path is redirected, the version kept in $1.
RewriteRule "^/api/(?=v\d+/)(.*)$" "/b.html?to=$1" [R=302,L]
# A backreference inside the condition's pattern: both query values equal.
RewriteCond "%{QUERY_STRING}" "^a=([^&]+)&b=\1$"
RewriteRule "^/twin$" "/a.html?same=%1" [R=302,L]
# Possessive quantifier and negative lookbehind.
RewriteRule "^/img/\w++(?<!thumb)\.png$" "/a.html" [L]
# httpd compiles with DOTALL: `.` takes a newline (%0A) too.
RewriteRule "^/nl.x$" "/b.html" [L]
# `\<` and `\>` are literal angle brackets in PCRE (word boundaries to the regex crate).
RewriteRule "^/lt\<gt\>$" "/a.html" [L]
# [NC] with a backreference.
RewriteRule "^/(ab)\1$" "/a.html" [NC,L]

<LocationMatch "^/zone/(?!public/)">
    Require all denied
</LocationMatch>

AliasMatch "^/files/(?!secret)(\w+)\.txt$" "@ROOT@/htdocs/zone/public/$1.txt"
RedirectMatch 301 "^/atom/(?>a|ab)c$" "/b.html"

SetEnvIf Request_URI "^/(\w+)/\1$" DOUBLE=$1
Header always set X-Double "%{DOUBLE}e" env=DOUBLE
Header always set X-Edit "aaa 7-7 8-9"
Header always edit* X-Edit "^a" "b"
Header always set X-Pair "7-7 8-9"
Header always edit X-Pair "(\d)-\1" "[$1]"
RequestHeader edit X-In "^a" "b"
RequestHeader edit* X-In2 "^a" "b"
Header always set X-Seen "expr=%{req:X-In}|%{req:X-In2}"
Header echo "^X-Echo-(?!No)"
<If "%{REQUEST_URI} =~ m#^/iff/(?!no)#">
    Header always set X-If "yes"
</If>
"#;

fn pcre_patterns(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["rewrite"], BODY);
    s.file("htdocs/a.html", b"page a\n");
    s.file("htdocs/b.html", b"page b\n");
    s.file("htdocs/zone/public/x.txt", b"public x\n");
    s.file("htdocs/zone/private/x.txt", b"private x\n");
    s.file("htdocs/zone/public/secret.txt", b"secret\n");
    s.file("htdocs/img/logo.png", b"png\n");
    let cases: Vec<(String, &[&str])> = vec![
        // RewriteRule with a lookahead.
        (get("/api/v2/users", &[]), &["Location"]),
        (get("/api/users", &[]), &["Location"]),
        // RewriteCond with a backreference inside the pattern.
        (get("/twin?a=x1&b=x1", &[]), &["Location"]),
        (get("/twin?a=x1&b=x2", &[]), &["Location"]),
        (get("/img/logo.png", &[]), &["Content-Type"]),
        (get("/img/logothumb.png", &[]), &[]),
        (get("/nl%0Ax", &[]), &["Content-Type"]),
        (get("/lt%3Cgt%3E", &[]), &["Content-Type"]),
        (get("/ABab", &[]), &["Content-Type"]),
        (get("/abac", &[]), &[]),
        // <LocationMatch> with a negative lookahead.
        (get("/zone/public/x.txt", &[]), &["Content-Type"]),
        (get("/zone/private/x.txt", &[]), &[]),
        (get("/files/x.txt", &[]), &["Content-Type"]),
        (get("/files/secret.txt", &[]), &[]),
        (get("/atom/ac", &[]), &["Location"]),
        (get("/atom/abc", &[]), &["Location"]),
        (get("/twice/twice", &[]), &["X-Double"]),
        (get("/twice/once", &[]), &["X-Double"]),
        (get("/iff/yes", &[]), &["X-If", "X-Edit", "X-Pair"]),
        (get("/iff/no", &[]), &["X-If"]),
        (
            get(
                "/a.html",
                &["X-In: aaa", "X-In2: aaa", "X-Echo-Yes: 1", "X-Echo-No: 2"],
            ),
            &["X-Seen", "X-Echo-Yes", "X-Echo-No"],
        ),
    ];
    let reqs: Vec<String> = cases.iter().map(|(r, _)| r.clone()).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (req, headers)) in cases.iter().enumerate() {
        let what = req.lines().next().unwrap_or("");
        assert_same(what, &a[i], &m[i], headers, a[i].status == 200);
    }
    // The answers themselves (apache2's, as the comparison above shows), so that a change
    // that made both servers agree on a wrong answer, or a skipped oracle, still fails.
    let status: Vec<u16> = m.iter().map(|x| x.status).collect();
    assert_eq!(
        status,
        [
            302, 404, 302, 404, 200, 404, 200, 200, 200, 404, 200, 403, 200, 404, 301, 404, 404,
            404, 404, 404, 200
        ],
        "statuses, in the order of the cases"
    );
    let at = |path: &str| {
        let i = cases
            .iter()
            .position(|(r, _)| r.starts_with(&format!("GET {path} ")))
            .unwrap();
        &m[i]
    };
    assert_eq!(
        at("/api/v2/users").header("Location"),
        Some("http://localhost/b.html?to=v2/users")
    );
    assert_eq!(
        at("/twin?a=x1&b=x1").header("Location"),
        Some("http://localhost/a.html?same=x1")
    );
    assert_eq!(at("/twice/twice").header("X-Double"), Some("twice"));
    assert_eq!(at("/twice/once").header("X-Double"), None);
    assert_eq!(at("/iff/yes").header("X-Edit"), Some("bbb 7-7 8-9"));
    assert_eq!(at("/iff/yes").header("X-Pair"), Some("[7] 8-9"));
    assert_eq!(at("/iff/yes").header("X-If"), Some("yes"));
    assert_eq!(at("/iff/no").header("X-If"), None);
    let last = m.last().unwrap();
    assert_eq!(last.header("X-Seen"), Some("baa|bbb"));
    assert_eq!(last.header("X-Echo-Yes"), Some("1"));
    assert_eq!(last.header("X-Echo-No"), None);
}

/// `-t` on a pattern that is not valid, and on valid PCRE that mpmd's engine lacks: httpd's
/// `Syntax error on line N of FILE:` and exit 1. For the invalid ones apache2 -t, given the
/// same file, says the same.
fn config_check(mpm: &str) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().display();
    let m = modules_oracle::MODULES;
    // (directive, error line, apache2 refuses it too)
    let cases = [
        (
            "RewriteRule ^(?<=a+)(x /y",
            "RewriteRule: cannot compile regular expression '^(?<=a+)(x'",
            true,
        ),
        (
            "<LocationMatch ^/(?!x>\n</LocationMatch>",
            "Regex could not be compiled",
            true,
        ),
        (
            "RewriteCond %{HTTP_HOST} (?C1)x\nRewriteRule ^ - [F]",
            "RewriteCond: regular expression '(?C1)x' uses callouts (?C…), a PCRE feature mpmd does not support",
            false,
        ),
        (
            "AliasMatch ^/(?|(a)|(b)) /tmp/$1",
            "Regular expression could not be compiled. (regular expression '^/(?|(a)|(b))' uses branch reset groups (?|…), a PCRE feature mpmd does not support)",
            false,
        ),
    ];
    for (line, want, oracle) in cases {
        let conf = dir.path().join("t.conf");
        std::fs::write(
            &conf,
            format!(
                "ServerRoot {r}\nLoadModule mpm_{mpm}_module {m}/mod_mpm_{mpm}.so\n\
                 LoadModule rewrite_module {m}/mod_rewrite.so\n\
                 LoadModule alias_module {m}/mod_alias.so\nListen 127.0.0.1:65000\n\
                 DefaultRuntimeDir {r}\nDocumentRoot {r}\nErrorLog {r}/e\n{line}\n"
            ),
        )
        .unwrap();
        let check = |bin: &str| {
            let out = std::process::Command::new(bin)
                .arg("-t")
                .arg("-f")
                .arg(&conf)
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, err) = check(modules_oracle::BIN);
        assert_eq!(code, Some(1), "{line}: {err}");
        let want = format!(
            "AH00526: Syntax error on line 9 of {}:\n{want}\n",
            conf.display()
        );
        assert_eq!(err, want, "{line}");
        if oracle && std::path::Path::new(modules_oracle::APACHE).exists() {
            assert_eq!(
                check(modules_oracle::APACHE),
                (code, err),
                "{line}: apache2 -t"
            );
        }
    }
}

mpm_tests!(pcre_patterns, config_check);
