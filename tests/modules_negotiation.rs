//! mod_negotiation against Debian's apache2, under every MPM: `Options MultiViews` (types,
//! languages, charsets, encodings, LanguagePriority and ForceLanguagePriority, the
//! `prefer-language` and `no-gzip` variables, DirectoryIndex through MultiViews, path info,
//! refused and unreadable variants), type maps (`qs`, `Description`, embedded bodies, a map
//! that chooses a map), the 300/406 variant lists and the structured ETag. Each answer's
//! status, negotiation headers and body are compared.

mod common;
mod modules_oracle;

use std::time::Duration;

use modules_oracle::{assert_same, available, curl_h2_head_lines, get, req, Answer, Site};

const CONF: &str = r#"
CustomLog @ROOT@/logs/@TAG@_neg_log "%U|%>U|%f|%>s"
<Directory @ROOT@/htdocs>
 Options +MultiViews
</Directory>
AddLanguage en .en
AddLanguage fr .fr
AddLanguage de .de
AddLanguage en-gb .uk
AddCharset UTF-8 .utf8
AddEncoding x-gzip .gz
AddHandler type-map .var
LanguagePriority en fr
ForceLanguagePriority Prefer Fallback
SetEnvIf X-Pref (.+) prefer-language=$1
SetEnvIf X-NoGzip . no-gzip
SetEnvIf X-HtmlOnly . gzip-only-text/html=1
<Files "secret.*">
 Require all denied
</Files>
<Directory @ROOT@/htdocs/none>
 ForceLanguagePriority None
 LanguagePriority fr en
</Directory>
<Directory @ROOT@/htdocs/any>
 MultiviewsMatch Any
 DefaultLanguage de
</Directory>
<Directory @ROOT@/htdocs/handlers>
 MultiviewsMatch Handlers
</Directory>
<Directory @ROOT@/htdocs/idx2>
 DirectoryIndex index.html index.htm
</Directory>
<Directory @ROOT@/htdocs/fb>
 FallbackResource /bar.txt
</Directory>
<Directory @ROOT@/htdocs/ed>
 ErrorDocument 404 /bar.txt
</Directory>
<Directory @ROOT@/htdocs/man>
 Options -MultiViews
 <Files *.html>
  SetHandler type-map
 </Files>
</Directory>
SetEnvIf Request_URI ^/man/(de|fr)/ prefer-language=$1
<Directory @ROOT@/htdocs/plain>
 Options -MultiViews
</Directory>
"#;

/// The negotiation headers compared on every answer (not `Allow`: httpd 2.4 lists the
/// methods in its hash order, which changes from process to process).
const HEADERS: &[&str] = &[
    "Content-Type",
    "Content-Language",
    "Content-Encoding",
    "Content-Location",
    "Vary",
    "TCN",
    "Alternates",
    "ETag",
    "Content-Range",
];

fn site() -> Site {
    let s = Site::new(&["negotiation"], CONF);
    let files: &[(&str, &str)] = &[
        ("foo.html.en", "english\n"),
        ("foo.fr.html", "french\n"),
        ("foo.html.uk", "british english\n"),
        ("bar.txt", "plain\n"),
        ("bar.html", "bhtml\n"),
        ("z.txt", "z\n"),
        ("z.txt.gz", "gz\n"),
        ("index.html.en", "idx\n"),
        ("index.html.fr", "idxfr\n"),
        ("q.xyz", "x\n"),
        ("cs.html.utf8", "<p>utf</p>\n"),
        ("cs.html", "<p>latin</p>\n"),
        ("ff.en.fr.html", "two\n"),
        ("real", "i am real\n"),
        ("real.html", "not me\n"),
        ("odd.bak", "unknown extension\n"),
        ("secret.html", "s1\n"),
        ("secret.txt", "s2\n"),
        ("mixed.html", "public\n"),
        ("mixed.txt.en", "public too\n"),
        ("m.en.html", "men\n"),
        ("m.fr.html", "mfr\n"),
        ("m.txt", "mtxt\n"),
        ("m.var", M_VAR),
        ("body.var", BODY_VAR),
        ("bad.var", "URI a\n"),
        ("none/p.html.en", "en\n"),
        ("none/p.html.fr", "fr\n"),
        ("none/p.de.html", "de\n"),
        ("any/p.html.en", "en\n"),
        ("any/p.foo", "foo\n"),
        ("any/n.txt", "no language\n"),
        ("handlers/t.var", T_VAR),
        ("handlers/t.html.en", "ten\n"),
        ("handlers/t2.var", "URI: x\nContent-Type: text/plain\n"),
        ("handlers/h.var", H_VAR),
        ("handlers/h.html.fr", "hfr\n"),
        (
            "handlers/d.var",
            "URI: secret.html\nContent-Type: text/html\n",
        ),
        ("handlers/secret.html", "refused\n"),
        ("enc.var", ENC_VAR),
        ("man/index.html", MAN_MAP),
        ("man/index.html.en", "manual\n"),
        ("man/index.html.fr", "manuel\n"),
        ("man/index.html.de", "Handbuch\n"),
        ("man/fr/index.html", "URI: ../index.html.fr\nContent-Type: text/html\nContent-Language: fr\n\nURI: ../index.html.en\nContent-Type: text/html\nContent-Language: en\n"),
        (
            "rec.var",
            "URI: foo\nContent-Type: text/html\n\nURI: bar.txt\nContent-Type: text/plain; qs=0.1\n",
        ),
        (
            "handlers/up.var",
            "URI: ../bar.html\nContent-Type: text/html\n",
        ),
        (
            "out.var",
            "URI: ../../../../../../../../../etc/passwd\nContent-Type: text/plain\n",
        ),
        ("zh.html", "zh\n"),
        ("zh.html.gz", "zh gzip\n"),
        ("deny.var", "URI: secret.html\nContent-Type: text/html\n"),
        ("plain/foo.html", "no multiviews\n"),
        ("idx2/index.html.en", "idx2 en\n"),
        ("fb/index.html.en", "fb en\n"),
        ("ed/other.html", "other\n"),
        ("idx2/index.html.fr", "idx2 fr\n"),
        (
            "sub/index.var",
            "URI: index.html.de\nContent-Type: text/html\nContent-Language: de\n",
        ),
        ("sub/index.html.de", "deutsch\n"),
    ];
    for (p, c) in files {
        s.file(&format!("htdocs/{p}"), c.as_bytes());
    }
    // Unreadable by both servers' children (www-data).
    let p = s.file("htdocs/unread.html", b"hidden\n");
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    // Old directory times: the variant-list validator (a MultiViews directory's mtime) is
    // strong on both servers, whenever each is asked.
    let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for d in [
        "", "none", "any", "handlers", "plain", "sub", "idx2", "fb", "ed", "man", "man/fr",
    ] {
        let dir = s.root().join("htdocs").join(d);
        std::fs::File::open(&dir)
            .and_then(|f| f.set_modified(t))
            .expect("set a directory's mtime");
    }
    s
}

const M_VAR: &str = "URI: m.en.html\nContent-Type: text/html; qs=0.5\nContent-Language: en\n\
Description: \"english one\"\n\nURI: m.fr.html\nContent-Type: text/html\nContent-Language: fr\n\n\
# a comment\nURI: m.txt\nContent-Type: text/plain;\n  qs=0.8\n";

const BODY_VAR: &str = "Content-Type: text/html; qs=0.9\nContent-Language: en\n\
Body:----xyz----\n<p>English body</p>\n----xyz----\n\n\
Content-Type: text/plain\nContent-Language: fr\nBody:--fr--\nBonjour\n--fr--\n";

const T_VAR: &str = "URI: t.html.en\nContent-Type: text/html\nContent-Language: en\n\n\
URI: t2.var\nContent-Type: text/plain\n";

const ENC_VAR: &str = "URI: z.txt.gz\nContent-Type: text/plain\nContent-Encoding: x-gzip\n\
Content-Length: 3\n\nURI: z.txt\nContent-Type: text/plain\nContent-Length: 2\n\n\
URI: nowhere.txt\nContent-Type: text/plain\nContent-Length: nine\n";

const MAN_MAP: &str = "URI: index.html.en\nContent-Language: en\nContent-Type: text/html\n\n\
URI: index.html.fr\nContent-Language: fr\nContent-Type: text/html; charset=ISO-8859-1\n\n\
URI: index.html.de\nContent-Language: de\nContent-Type: text/html\n";

const H_VAR: &str = "URI: h.html.fr\nContent-Type: text/html\nContent-Language: fr\n";

/// `a` with its multipart boundary (each server picks its own) replaced by `BOUNDARY`.
fn unbound(a: &Answer) -> Answer {
    let mut a = a.clone();
    let b = a
        .header("Content-Type")
        .and_then(|t| t.split_once("boundary="))
        .map(|(_, b)| b.to_string());
    if let Some(b) = b {
        for (_, v) in a.headers.iter_mut() {
            *v = v.replace(&b, "BOUNDARY");
        }
        a.body = a.body_text().replace(&b, "BOUNDARY").into_bytes();
    }
    a
}

/// Sends every case to both servers and compares the answers, then the access logs' `%U`
/// (the URL before the type map's internal redirect), `%>U` (the variant's), `%f`, `%>s`.
fn compare(mpm: &str, cases: &[String]) -> (Vec<Answer>, Vec<Answer>) {
    let s = site();
    let (a, m) = s.both(mpm, cases);
    for (i, r) in cases.iter().enumerate() {
        let what = r.replace("\r\n", " | ");
        assert_same(&what, &unbound(&a[i]), &unbound(&m[i]), HEADERS, true);
    }
    let (la, lm) = (s.log("apache_neg_log"), s.log("mpmd_neg_log"));
    assert_eq!(la.lines().count(), cases.len(), "{la}");
    for (i, (x, y)) in la.lines().zip(lm.lines()).enumerate() {
        assert_eq!(x, y, "access log line {i}: apache2 (left) vs mpmd (right)");
    }
    assert_eq!(la.lines().count(), lm.lines().count(), "access log lines");
    (a, m)
}

fn multiviews(mpm: &str) {
    if !available() {
        return;
    }
    let etag_mtime = format!("{:x}", 1_700_000_000u64 * 1_000_000);
    let inm = format!("If-None-Match: \"8-{etag_mtime};{etag_mtime}");
    let cases = vec![
        get("/foo", &[]),
        get("/foo", &["Accept-Language: fr"]),
        get("/foo", &["Accept-Language: de"]),
        get("/foo", &["Accept-Language: de, fr;q=0.5"]),
        get("/foo", &["Accept-Language: en-gb, en;q=0.8"]),
        get("/foo", &["Accept-Language: en-US"]),
        get("/foo", &["Accept-Language: *;q=0.1, fr;q=0.05"]),
        get("/foo", &["Accept: image/png"]),
        get("/foo", &["X-Pref: fr"]),
        get("/foo", &["X-Pref: it"]),
        get("/foo?a=b", &[]),
        get("/foo", &["Negotiate: trans"]),
        get("/foo", &["Negotiate: 1.0", "Accept-Language: fr"]),
        get("/foo", &["Range: bytes=1-3"]),
        get("/foo", &["Range: bytes=100-"]),
        get("/foo", &[&inm]),
        req("HEAD", "/foo", &[]),
        req("POST", "/foo", &["Content-Length: 0"]),
        get("/foo/", &[]),
        get("/foo/extra", &[]),
        get("/foo.html", &[]),
        get("/bar", &[]),
        get("/bar", &["Accept: text/plain"]),
        get("/bar", &["Accept: text/*;q=0.5, text/plain;q=0.4"]),
        get("/bar", &["Accept: text/html;level=3, text/plain"]),
        get("/bar", &["Accept: image/png"]),
        get("/z", &[]),
        get("/z", &["Accept-Encoding: gzip"]),
        get("/z", &["Accept-Encoding: gzip", "X-NoGzip: 1"]),
        get("/z.txt.gz", &["Accept-Encoding: gzip"]),
        get("/z", &["Accept-Encoding: gzip", "X-HtmlOnly: 1"]),
        get("/zh", &["Accept-Encoding: gzip", "X-HtmlOnly: 1"]),
        get("/zh", &["Accept-Encoding: gzip"]),
        get("/cs", &[]),
        get("/cs", &["Accept-Charset: utf-8"]),
        get("/cs", &["Accept-Charset: iso-8859-1;q=0.5, utf-8;q=0.1"]),
        get("/ff", &["Accept-Language: fr"]),
        get("/q", &[]),
        get("/", &[]),
        get("/", &["Accept-Language: fr"]),
        get("/", &["Accept: text/plain"]),
        get("/idx2/", &["Accept-Language: fr"]),
        get("/idx2/", &["Accept: text/plain"]),
        get("/fb/", &[]),
        get("/fb/missing", &[]),
        get("/ed/missing", &[]),
        get("/real", &[]),
        get("/odd", &[]),
        get("/nothing", &[]),
        get("/secret", &[]),
        get("/mixed", &[]),
        get("/unread", &[]),
        get("/plain/foo", &[]),
        get("/none/p", &["Accept-Language: it"]),
        get("/none/p", &[]),
        get("/any/p", &[]),
        get("/any/n", &["Accept-Language: de"]),
        get("/handlers/h", &[]),
        req("OPTIONS", "/foo", &[]),
        req("OPTIONS", "/", &[]),
        req("OPTIONS", "/", &["Accept: image/png"]),
        req("OPTIONS", "/fb/", &[]),
        req("POST", "/", &["Content-Length: 0"]),
        req("POST", "/", &["Content-Length: 0", "Accept: image/png"]),
    ];
    compare(mpm, &cases);
}

fn type_maps(mpm: &str) {
    if !available() {
        return;
    }
    let cases = vec![
        get("/m.var", &[]),
        get("/m.var", &["Accept-Language: fr"]),
        get("/m.var", &["Accept: text/plain"]),
        get("/m.var", &["Accept: text/html;q=0.3, text/plain;q=0.9"]),
        get("/m.var", &["Accept-Language: fr;q=0, en"]),
        get("/m.var", &["Accept: image/png"]),
        get("/m.var", &["Negotiate: vlist"]),
        get("/m.var/extra", &[]),
        get("/m", &[]),
        get("/body.var", &[]),
        get("/body.var", &["Accept-Language: fr"]),
        req("HEAD", "/body.var", &["Accept: text/plain"]),
        req("DELETE", "/body.var", &[]),
        get("/bad.var", &[]),
        get("/handlers/t.var", &[]),
        get("/handlers/t.var", &["Accept: text/plain"]),
        get("/sub/", &[]),
        get("/body.var", &["Accept: text/html"]),
        get("/body.var", &["Range: bytes=0-3"]),
        get("/body.var", &["Range: bytes=0-1,4-5"]),
        get("/body.var", &["Range: bytes=100-"]),
        get("/m.var", &["Range: bytes=100-"]),
        get("/enc.var", &[]),
        get("/enc.var", &["Accept-Encoding: gzip"]),
        get("/enc.var", &["Accept-Encoding: gzip", "Negotiate: vlist"]),
        get("/enc.var", &["Accept-Encoding: identity;q=0, gzip;q=0.5"]),
        get("/man/", &[]),
        get("/man/", &["Accept-Language: de"]),
        get("/man/index.html", &["Accept-Language: fr, de;q=0.5"]),
        get("/man/fr/", &[]),
        get("/man/", &["Accept: image/png"]),
        get("/man/fr/index.html", &["Accept-Language: de"]),
        get("/rec.var", &[]),
        req("POST", "/rec.var", &["Content-Length: 0"]),
        get("/rec.var", &["Accept: text/plain"]),
        get("/handlers/up.var", &[]),
        get("/handlers/up", &[]),
        get("/out.var", &[]),
        get("/deny.var", &[]),
        req("POST", "/deny.var", &["Content-Length: 0"]),
        get("/handlers/d", &[]),
    ];
    let (a, m) = compare(mpm, &cases);
    // The chosen file is served by the default handler: its body, not the map's.
    assert_eq!(a[0].body_text(), "mfr\n");
    assert_eq!(m[9].body_text(), "Bonjour\n");
    assert_eq!(m[17].body_text(), "<p>English body</p>\n");
    // A variant its sections refuse is refused, however it was chosen.
    assert_eq!([m[38].status, m[39].status, m[40].status], [403; 3]);
    // A map's URI outside the directory: resolved as a URL, never above the root.
    assert_eq!([m[35].status, m[36].status, m[37].status], [200, 400, 400]);
    // A map choosing a resource MultiViews negotiates: 506 (transparent), else served.
    assert_eq!([m[32].status, m[33].status, m[34].status], [506, 200, 200]);
}

/// An HTTP/1.0 answer from a type map expires at once (CacheNegotiatedDocs Off); MultiViews
/// answers do not.
fn http10_expires(mpm: &str) {
    if !available() {
        return;
    }
    let raw = |p: &str| format!("GET {p} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let cases = vec![raw("/m.var"), raw("/foo"), get("/m.var", &[])];
    let (a, m) = compare(mpm, &cases);
    for (x, who) in [(&a, "apache2"), (&m, "mpmd")] {
        assert!(x[0].header("Expires").is_some(), "{who}: {:?}", x[0]);
        assert!(x[1].header("Expires").is_none(), "{who}: {:?}", x[1]);
        assert!(x[2].header("Expires").is_none(), "{who}: {:?}", x[2]);
    }
    // CacheNegotiatedDocs On: no Expires.
    let mut s = site();
    s.body.push_str("CacheNegotiatedDocs On\n");
    let (a, m) = s.both(mpm, &cases[..1]);
    for (x, who) in [(&a, "apache2"), (&m, "mpmd")] {
        assert_eq!(x[0].status, 200, "{who}");
        assert!(x[0].header("Expires").is_none(), "{who}: {:?}", x[0]);
    }
}

/// Over HTTP/2 (h2c, curl) the negotiation headers are the same as apache2's mod_http2
/// sends.
fn over_h2(mpm: &str) {
    if !available() {
        return;
    }
    let mut s = site();
    s.modules.push("http2");
    s.body.push_str("Protocols h2c http/1.1\n");
    let wanted = [
        "content-location:",
        "vary:",
        "tcn:",
        "content-language:",
        "content-type:",
        "alternates:",
        "etag:",
    ];
    let (a, m) = s.with_both(mpm, |port, _| {
        let mut out = Vec::new();
        for (path, h) in [
            ("/foo", "Accept-Language: fr"),
            ("/m.var", "Accept: text/plain"),
            ("/bar", "Accept: image/png"),
            ("/", "Accept-Language: fr"),
        ] {
            let mut lines: Vec<String> = curl_h2_head_lines(port, path, &[h])
                .into_iter()
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    l.starts_with("http/") || wanted.iter().any(|w| l.starts_with(w))
                })
                .collect();
            lines.sort();
            out.push(lines);
        }
        out
    });
    assert!(a.iter().all(|l| !l.is_empty()), "curl gave nothing: {a:?}");
    assert_eq!(a, m, "apache2 (left) vs mpmd (right)");
}

mpm_tests!(multiviews, type_maps, http10_expires, over_h2);

/// `-t` refuses what httpd refuses, with its words (not per MPM: no server runs).
#[test]
fn config_errors_as_httpd() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let m = modules_oracle::MODULES;
    for (i, line) in [
        "ForceLanguagePriority None Prefer",
        "ForceLanguagePriority Fallback None",
        "ForceLanguagePriority Bogus",
        "MultiviewsMatch Any Handlers",
        "MultiviewsMatch NegotiatedOnly Filters",
        "MultiviewsMatch Nothing",
        "LanguagePriority en fr\nForceLanguagePriority Prefer Fallback\nMultiviewsMatch Handlers Filters\nDefaultLanguage de\nCacheNegotiatedDocs On",
    ]
    .iter()
    .enumerate()
    {
        let conf = dir.path().join(format!("t{i}.conf"));
        std::fs::write(
            &conf,
            format!(
                "LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
                 LoadModule mime_module {m}/mod_mime.so\n\
                 LoadModule negotiation_module {m}/mod_negotiation.so\n\
                 ServerRoot {}\nListen 127.0.0.1:0\n{line}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let run = |bin: &str| {
            let out = std::process::Command::new(bin)
                .arg("-t")
                .arg("-f")
                .arg(&conf)
                .output()
                .expect("run -t");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            // The first two lines: where, and what.
            let head: Vec<&str> = err.lines().take(2).collect();
            (out.status.success(), head.join("\n"))
        };
        assert_eq!(run(modules_oracle::APACHE), run(modules_oracle::BIN), "{line}");
    }
}
