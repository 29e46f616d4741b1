//! mod_headers' `expr=…` conditions and values and the `early` keyword against Debian's
//! apache2: `Header` rules see the response (`%{REQUEST_STATUS}`, `%{CONTENT_TYPE}`,
//! `resp('Name')`), `always` rules run on error pages and `onsuccess` ones do not,
//! `RequestHeader` rules see the request in fixups, `early` rules run before the request is
//! mapped; and the config errors of a bad clause, word for word with `apache2 -t`. Under
//! every MPM.

mod common;
mod modules_oracle;

use std::process::Command;

use modules_oracle::{available, get, Answer, Site, APACHE, BIN, MODULES};

const CONF: &str = r#"
Redirect /r http://x.example/
Header always set Strict-Transport-Security "max-age=63072000" "expr=%{HTTPS} == 'on'"
Header always set X-Plain "1" "expr=%{HTTPS} == 'off'"
Header set X-NotFound "y" "expr=%{REQUEST_STATUS} == 404"
Header always set X-NotFound-Always "y" "expr=%{REQUEST_STATUS} == 404"
Header unset ETag "expr=%{CONTENT_TYPE} =~ m#^text/#"
Header set Cache-Control "no-cache" "expr=resp('Content-Type') =~ /json/"
Header set X-Json "yes" "expr=%{CONTENT_TYPE} =~ /json/"
Header always set X-Loc "y" "expr=-n resp('Location')"
Header set X-Etag-Seen "y" "expr=-n resp('ETag')"
Header always set CustomHeader my-value "expr=%{REQUEST_URI} =~ m#^/special_path\.php$#"
Header always set X-Value "expr=%{md5:foo} %{REQUEST_STATUS} %{REQUEST_METHOD} %{base64:ab} %{sha1:x} %{unbase64:Zm9v}"
Header set X-304 "y" "expr=%{REQUEST_STATUS} == 304"
Header merge X-M "a" "expr=true"
Header merge X-M "a" "expr=true"
Header merge X-M "b" "expr=false"
Header append X-A "b" "expr=%{REQUEST_URI} =~ /a/"
Header add X-Add "c" "expr=!(%{REQUEST_STATUS} -eq 200)"
Header always setifempty X-SE "v" "expr=%{REQUEST_STATUS} -ge 400"
Header echo ^X-Echo- "expr=%{HTTP:X-Echo-On} == '1'"
Header always edit X-Value "^(\w+)" "[$1]" "expr=%{REQUEST_STATUS} -lt 400"
Header always set X-Early "e" early
RequestHeader edit X-Dest ^https: http: early
Header always set X-Dest "expr=%{req:X-Dest}"
RequestHeader set X-In "in" "expr=%{CONTENT_TYPE} == 'text/plain'"
Header always set X-In "expr=%{req:X-In}"
RequestHeader set X-St "expr=%{REQUEST_STATUS}"
Header always set X-St "expr=%{req:X-St}"
RequestHeader unset X-Drop "expr=%{QUERY_STRING} == 'drop'"
Header always set X-Drop "expr=%{req:X-Drop}"
<Location /a.txt>
    Header always set X-Loc-Early "x" early
</Location>
<If "%{HTTP:X-Dest} =~ m#^http://#">
    Header always set X-If-Early "1"
</If>
"#;

/// The headers the rules above may touch, compared by value.
const COMPARED: &[&str] = &[
    "Strict-Transport-Security",
    "X-Plain",
    "X-NotFound",
    "X-NotFound-Always",
    "Cache-Control",
    "X-Json",
    "X-Loc",
    "X-Etag-Seen",
    "CustomHeader",
    "X-Value",
    "X-304",
    "X-M",
    "X-A",
    "X-Add",
    "X-SE",
    "X-Echo-Foo",
    "X-Echo-Bar",
    "X-Early",
    "X-Loc-Early",
    "X-If-Early",
    "X-Dest",
    "X-In",
    "X-St",
    "X-Drop",
];

fn same(what: &str, a: &Answer, m: &Answer) {
    assert_eq!(
        a.status, m.status,
        "{what}: status\napache2 {a:?}\nmpmd {m:?}"
    );
    for h in COMPARED {
        assert_eq!(
            a.header(h),
            m.header(h),
            "{what}: header {h}: apache2 (left) vs mpmd (right)\napache2 {a:?}\nmpmd {m:?}"
        );
    }
    // The ETag's value is the file's; only whether the rule removed it is compared.
    assert_eq!(
        a.header("ETag").is_some(),
        m.header("ETag").is_some(),
        "{what}: ETag\napache2 {a:?}\nmpmd {m:?}"
    );
}

fn expr_conditions(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CONF);
    s.file("htdocs/a.txt", b"a\n");
    s.file("htdocs/a.json", b"{}\n");
    s.file("htdocs/page.html", b"<p>x</p>\n");
    s.file("htdocs/noext", b"x\n");
    let cases: Vec<(&str, String)> = vec![
        ("text file", get("/a.txt", &[])),
        ("json file", get("/a.json", &[])),
        ("html file", get("/page.html", &[])),
        ("not found", get("/nope", &[])),
        ("redirect", get("/r", &[])),
        ("manual example", get("/special_path.php", &[])),
        (
            "request headers",
            get(
                "/a.txt?drop",
                &[
                    "X-Dest: https://h.example/p",
                    "X-Echo-On: 1",
                    "X-Echo-Foo: foo",
                    "X-Echo-Bar: bar",
                    "X-Drop: z",
                    "X-In: client",
                ],
            ),
        ),
        (
            "echo off",
            get(
                "/a.json?keep",
                &["X-Echo-Foo: foo", "X-Drop: z", "X-In: client"],
            ),
        ),
        (
            "not modified",
            get(
                "/noext",
                &["If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT"],
            ),
        ),
        (
            "not modified, typed",
            // A 304 keeps the file's type: the text rule drops its ETag in both servers.
            get("/a.txt", &["If-None-Match: *"]),
        ),
    ];
    let reqs: Vec<String> = cases.iter().map(|(_, r)| r.clone()).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (what, _)) in cases.iter().enumerate() {
        same(what, &a[i], &m[i]);
    }
    // The cases pin what they are about (so that agreeing on nothing cannot pass).
    let (txt, json, nf, redir, special, rh, off, nm) =
        (&m[0], &m[1], &m[3], &m[4], &m[5], &m[6], &m[7], &m[8]);
    assert_eq!(txt.header("ETag"), None, "{txt:?}");
    assert!(json.header("ETag").is_some(), "{json:?}");
    assert_eq!(json.header("X-Json"), Some("yes"));
    assert_eq!(txt.header("X-Plain"), Some("1"));
    assert_eq!(txt.header("Strict-Transport-Security"), None);
    assert_eq!(nf.header("X-NotFound-Always"), Some("y"));
    assert_eq!(nf.header("X-NotFound"), None);
    assert_eq!(redir.header("X-Loc"), Some("y"));
    assert_eq!(special.header("CustomHeader"), Some("my-value"));
    assert_eq!(
        txt.header("X-Value"),
        Some("[acbd18db4cc2f85cedef654fccc4a4d8] 200 GET YWI= 11f6ad8ec52a2984abaafd7c3b516503785c2072 foo")
    );
    assert_eq!(txt.header("X-Early"), Some("e"));
    assert_eq!(txt.header("X-Loc-Early"), None);
    assert_eq!(txt.header("X-In"), Some("in"));
    assert_eq!(txt.header("X-St"), Some("200"));
    assert_eq!(rh.header("X-Dest"), Some("http://h.example/p"));
    // The early edit happened before the sections were merged: <If> saw it.
    assert_eq!(rh.header("X-If-Early"), Some("1"));
    assert_eq!(rh.header("X-Drop"), Some(""));
    assert_eq!(rh.header("X-Echo-Bar"), Some("bar"));
    assert_eq!(off.header("X-Echo-Foo"), None);
    assert_eq!(off.header("X-Drop"), Some("z"));
    assert_eq!(nm.status, 304, "{nm:?}");
    assert_eq!(nm.header("X-304"), Some("y"));
}

/// The reason line of a `-t` run's syntax error (the line after "Syntax error on line").
fn reason(out: &std::process::Output) -> Option<String> {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut lines = err.lines();
    lines.find(|l| l.contains("Syntax error on line"))?;
    lines.next().map(str::to_string)
}

fn check(bin: &str, dir: &std::path::Path, directive: &str) -> std::process::Output {
    let conf = dir.join("t.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "ServerRoot {d}\nLoadModule mpm_event_module {MODULES}/mod_mpm_event.so\n\
             LoadModule headers_module {MODULES}/mod_headers.so\n\
             LoadModule authz_core_module {MODULES}/mod_authz_core.so\n\
             ServerName t\nListen 127.0.0.1:9\nPidFile {d}/p.pid\nErrorLog {d}/error.log\n\
             {directive}\n"
        ),
    )
    .unwrap();
    Command::new(bin)
        .args(["-t", "-f", conf.to_str().unwrap()])
        .output()
        .unwrap()
}

/// A bad clause or value is a syntax error with apache2's reason; good ones pass `-t`.
#[test]
fn config_errors_match_apache() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        r#"Header set X y "expr=%{NOPE} == 1""#,
        r#"Header set X y "expr=%{HTTPS} ==""#,
        r#"Header set X y "expr=""#,
        r#"Header set X y "expr=foo(1)""#,
        r#"Header set X y "expr=%{HTTP_HOST} =~ /(/""#,
        r#"Header set X y "expr=-R 10.0.0.0/8""#,
        r#"Header set X "expr=%{NOPE}""#,
        r#"Header set X y bogus"#,
        r#"Header set X y env="#,
        r#"Header set X y env=!"#,
        r#"Header set X y "expr=true" a b"#,
        r#"Header set X y "expr=true" env=A"#,
        r#"Header set X y "expr=%{HTTPS} == 'on'" early"#,
        r#"Header unset X "expr=true" extra"#,
        r#"Header echo X "expr=true" extra"#,
        r#"RequestHeader echo X"#,
        r#"RequestHeader set X y "expr=%{NOPE} == 1""#,
    ];
    let good = [
        r#"Header always set Strict-Transport-Security "max-age=63072000" "expr=%{HTTPS} == 'on'""#,
        r#"Header set X y "expr=%{REQUEST_STATUS} == 404""#,
        r#"Header unset ETag "expr=%{CONTENT_TYPE} =~ m#^text/#""#,
        r#"Header set Cache-Control "no-cache" "expr=resp('Content-Type') =~ /json/""#,
        r#"Header set foo-checksum "expr=%{md5:foo}""#,
        r#"Header set X y "EXPR=true""#,
        r#"Header set X y early"#,
        r#"RequestHeader edit Destination ^https: http: early"#,
        r#"Header edit X a b "expr=true""#,
        r#"Header echo ^TS "expr=true""#,
        r#"RequestHeader set X y "expr=note('x') == ''""#,
    ];
    let apache = std::path::Path::new(APACHE).exists();
    for d in bad {
        let m = check(BIN, dir.path(), d);
        assert_eq!(m.status.code(), Some(1), "{d}: {m:?}");
        let mr = reason(&m).unwrap_or_else(|| panic!("{d}: no syntax error: {m:?}"));
        if apache {
            let a = check(APACHE, dir.path(), d);
            let ar = reason(&a).unwrap_or_else(|| panic!("{d}: apache2 took it: {a:?}"));
            assert_eq!(ar, mr, "{d}: apache2 (left) vs mpmd (right)");
        }
    }
    for d in good {
        let m = check(BIN, dir.path(), d);
        assert_eq!(m.status.code(), Some(0), "{d}: {m:?}");
        if apache {
            let a = check(APACHE, dir.path(), d);
            assert_eq!(a.status.code(), Some(0), "{d}: apache2 refused it: {a:?}");
        }
    }
}

const CHARSET_CONF: &str = r#"
AddDefaultCharset UTF-8
Header set X-CTe "%{CONTENT_TYPE}e"
Header set X-CT "expr=%{CONTENT_TYPE}"
Header set X-H "expr=%{HANDLER}"
Header always set X-ACT "expr=%{CONTENT_TYPE}"
Header always set X-AH "expr=%{HANDLER}"
Header set X-RCT "expr=%{resp:Content-Type}"
<Location /h>
    SetHandler default-handler
</Location>
"#;

/// What mod_headers sees of the content type and the handler once the handler ran, as
/// apache2: `%{CONTENT_TYPE}` without AddDefaultCharset's charset (httpd adds it when it
/// writes the head; mpmd once showed it), `%{HANDLER}` SetHandler's name or else the
/// content type without parameters (mpmd once gave an empty string) and nothing for a
/// missing file, an error page's own type with its charset.
fn content_type_and_handler_after_the_handler(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], CHARSET_CONF);
    s.file("htdocs/index.html", b"<p>x</p>\n");
    s.file("htdocs/a.txt", b"a\n");
    s.file("htdocs/a.json", b"{}\n");
    s.file("htdocs/h/index.html", b"x\n");
    let paths = [
        "/index.html",
        "/a.txt",
        "/a.json",
        "/nope",
        "/nope.html",
        "/h/index.html",
    ];
    let reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    let names = [
        "Content-Type",
        "X-CTe",
        "X-CT",
        "X-H",
        "X-ACT",
        "X-AH",
        "X-RCT",
    ];
    for ((p, x), y) in paths.iter().zip(&a).zip(&m) {
        modules_oracle::assert_same(p, x, y, &names, false);
    }
    assert_eq!(m[0].header("X-CT"), Some("text/html"), "{:?}", m[0]);
    assert_eq!(m[0].header("X-H"), Some("text/html"), "{:?}", m[0]);
}

mpm_tests!(expr_conditions, content_type_and_handler_after_the_handler);
