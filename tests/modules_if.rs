//! `<If>`/`<ElseIf>`/`<Else>` against Debian's apache2: the canonical-host redirect, a header
//! set by a regex on the URI, `<Else>` chains, `-R` / `Require` inside `<If>` nested in
//! `<Directory>`, `<If>` nested in `<Location>` and in another `<If>`, request headers through
//! `req()` / `%{HTTP:…}`, `-strmatch`, `-ipmatch`, `-f`, `in {…}`, and the merge order (an
//! `<If>` merges after `<Location>`), `<If>` chains nested four deep (with a `<Limit>` in the
//! innermost). Status, Location and the X- headers compared with apache2's, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, get, req};

const CONF: &str = r#"
<If "%{HTTP_HOST} != 'www.example.com'">
    Redirect permanent / http://www.example.com/
</If>
<If "%{REQUEST_URI} =~ /\.txt$/">
    Header set X-T yes
</If>
<ElseIf "%{QUERY_STRING} =~ /^v=(\d+)$/ && '$1' -eq 7">
    Header set X-V seven
</ElseIf>
<Else>
    Header set X-Else yes
</Else>
<Directory @ROOT@/htdocs/private>
    <If "-R '10.0.0.0/8'">
        Require all granted
    </If>
    <Else>
        Require all denied
    </Else>
</Directory>
<Directory @ROOT@/htdocs/local>
    <If "-R '127.0.0.0/8' && %{REQUEST_METHOD} in { 'GET', 'HEAD' }">
        Require all granted
    </If>
    <Else>
        Require all denied
    </Else>
</Directory>
<Location /hdr>
    <If "req('X-Key') -strmatch 'ab*' || %{HTTP:X-Other} == 'yes'">
        Header set X-Key-Match on
        <If "%{HTTP_USER_AGENT} =~ /curl/i">
            Header set X-Nested on
        </If>
    </If>
</Location>
<Location /order>
    Header set X-Order location
</Location>
<If "%{REQUEST_URI} =~ m#^/order/# && !(%{HTTPS} == 'on')">
    Header set X-Order if
</If>
<If "-f %{REQUEST_FILENAME} && %{REMOTE_ADDR} -ipmatch '127.0.0.0/8'">
    Header set X-File exists
</If>
<Location /deep>
    <If "%{QUERY_STRING} =~ /a/">
        Header set X-D1 a
        <If "%{QUERY_STRING} =~ /b/">
            Header set X-D2 b
            <If "%{QUERY_STRING} =~ /c/">
                Header set X-D3 c
                <If "%{QUERY_STRING} =~ /d/">
                    Header set X-D4 d
                </If>
                <ElseIf "%{QUERY_STRING} =~ /e/">
                    Header set X-D4 e
                    <Limit GET>
                        Require all denied
                    </Limit>
                </ElseIf>
                <Else>
                    Header set X-D4 else
                </Else>
            </If>
        </If>
        <Else>
            Header set X-D2 else
        </Else>
    </If>
</Location>
<Directory @ROOT@/htdocs/ht>
    AllowOverride All
</Directory>
<If "%{QUERY_STRING} =~ /top/">
    <If "%{QUERY_STRING} =~ /1/">
        <If "%{QUERY_STRING} =~ /2/">
            Header set X-Top three
        </If>
    </If>
</If>
"#;

fn if_sections(mpm: &str) {
    if !available() {
        return;
    }
    let s = modules_oracle::Site::new(&[], CONF);
    s.file("htdocs/index.html", b"index\n");
    s.file("htdocs/a.txt", b"a\n");
    s.file("htdocs/b.html", b"b\n");
    s.file("htdocs/private/p.html", b"private\n");
    s.file("htdocs/local/l.html", b"local\n");
    s.file("htdocs/hdr/h.html", b"h\n");
    s.file("htdocs/order/o.html", b"o\n");
    s.file("htdocs/deep/x.html", b"x\n");
    s.file("htdocs/ht/x.html", b"ht\n");
    s.file(
        "htdocs/ht/.htaccess",
        b"<If \"%{QUERY_STRING} =~ /1/\">\n Header set X-Ht one\n           <If \"%{QUERY_STRING} =~ /2/\">\n  Header set X-Ht two\n            <If \"%{QUERY_STRING} =~ /3/\">\n   Header set X-Ht three\n  </If>\n           </If>\n</If>\n<Else>\n Header set X-Ht else\n</Else>\n",
    );
    let www = "Host: www.example.com";
    let reqs = vec![
        get("/a.txt", &[]),
        get("/a.txt", &["Host: example.com"]),
        get("/a.txt", &[www]),
        get("/b.html", &[www]),
        get("/b.html?v=7", &[www]),
        get("/b.html?v=8", &[www]),
        get("/missing.txt", &[www]),
        get("/private/p.html", &[www]),
        get("/local/l.html", &[www]),
        req("POST", "/local/l.html", &[www, "Content-Length: 0"]),
        get("/hdr/h.html", &[www]),
        get("/hdr/h.html", &[www, "X-Key: abc"]),
        get(
            "/hdr/h.html",
            &[www, "X-Key: xabc", "X-Other: yes", "User-Agent: Curl/8"],
        ),
        get("/hdr/h.html", &[www, "X-Key: ab", "User-Agent: wget"]),
        get("/order/o.html", &[www]),
        get("/deep/x.html?a", &[www]),
        get("/deep/x.html?ab", &[www]),
        get("/deep/x.html?abc", &[www]),
        get("/deep/x.html?abcd", &[www]),
        get("/deep/x.html?abce", &[www]),
        req("POST", "/deep/x.html?abce", &[www, "Content-Length: 0"]),
        get("/b.html?top12", &[www]),
        get("/b.html?top1", &[www]),
        get("/ht/x.html", &[www]),
        get("/ht/x.html?12", &[www]),
        get("/ht/x.html?123", &[www]),
    ];
    let (a, m) = s.both(mpm, &reqs);
    let names = [
        "location",
        "x-t",
        "x-v",
        "x-else",
        "x-key-match",
        "x-nested",
        "x-order",
        "x-file",
        "x-d1",
        "x-d2",
        "x-d3",
        "x-d4",
        "x-top",
        "x-ht",
    ];
    let mut seen = std::collections::HashSet::new();
    for (i, r) in reqs.iter().enumerate() {
        let what = r.replace("\r\n", " | ");
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        for n in names {
            assert_eq!(a[i].header(n), m[i].header(n), "{what}: {n}");
            if let Some(v) = a[i].header(n) {
                seen.insert(format!("{n}={v}"));
            }
        }
        seen.insert(format!("status={}", a[i].status));
    }
    // The requests really take every branch (apache2's answers; mpmd's equal them).
    for want in [
        "location=http://www.example.com/a.txt",
        "x-t=yes",
        "x-v=seven",
        "x-else=yes",
        "x-key-match=on",
        "x-nested=on",
        "x-order=if",
        "x-file=exists",
        "x-d2=else",
        "x-d4=d",
        "x-d4=else",
        "x-top=three",
        "x-ht=else",
        "x-ht=two",
        "x-ht=three",
        "status=403",
        "status=301",
    ] {
        assert!(seen.contains(want), "no answer with {want}: {seen:?}");
    }
}

mpm_tests!(if_sections);
