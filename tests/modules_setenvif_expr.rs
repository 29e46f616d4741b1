//! `SetEnvIfExpr` against Debian's apache2 under every MPM: a condition on a request header
//! (with `tolower`), `$N` from the expression's regex in a value, `!var` unsetting what an
//! earlier rule set, rules applied in order with SetEnvIf's, and inside a `<Directory>`.

mod common;
mod modules_oracle;

use modules_oracle::{assert_same, available, get, Site};

const BODY: &str = r#"
SetEnvIfExpr "tolower(req('X-Mode')) == 'fast'" MODE_FAST MODE_VAL=yes
SetEnvIfExpr "%{REQUEST_URI} =~ m#^/(\w+)\.(txt|html)#" URIMATCH=got-$1-$2 LITERAL=\$1
SetEnvIf X-Early "on" EARLY=1
SetEnvIfExpr "-n req('X-Gone') || reqenv('EARLY') == '1'" !MODE_FAST
<Directory "@ROOT@/htdocs/sub">
    SetEnvIfExpr "%{REQUEST_METHOD} == 'GET'" IN_SUB=get
</Directory>
Header always set X-Env "fast=%{MODE_FAST}e val=%{MODE_VAL}e uri=%{URIMATCH}e lit=%{LITERAL}e sub=%{IN_SUB}e"
"#;

fn set_env_if_expr(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&[], BODY);
    s.file("htdocs/a.txt", b"a\n");
    s.file("htdocs/sub/b.html", b"b\n");
    let cases: [(&str, &[&str]); 5] = [
        ("/a.txt", &["X-Mode: FAST"]),
        ("/a.txt", &["X-Mode: FAST", "X-Gone: 1"]),
        ("/a.txt", &["X-Mode: fast", "X-Early: on"]),
        ("/a.txt", &[]),
        ("/sub/b.html", &["X-Mode: Fast"]),
    ];
    let reqs: Vec<String> = cases.iter().map(|(p, h)| get(p, h)).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (p, _)) in cases.iter().enumerate() {
        assert_same(p, &a[i], &m[i], &["X-Env"], true);
    }
    // What both answered, spelled out (so a shared mistake fails too).
    assert_eq!(
        m[0].header("X-Env"),
        Some("fast=1 val=yes uri=got-a-txt lit=$1 sub=(null)")
    );
    assert_eq!(
        m[1].header("X-Env"),
        Some("fast=(null) val=yes uri=got-a-txt lit=$1 sub=(null)")
    );
    assert_eq!(
        m[2].header("X-Env"),
        Some("fast=(null) val=yes uri=got-a-txt lit=$1 sub=(null)")
    );
    assert_eq!(
        m[3].header("X-Env"),
        Some("fast=(null) val=(null) uri=got-a-txt lit=$1 sub=(null)")
    );
    assert_eq!(
        m[4].header("X-Env"),
        // `^/(\w+)\.` does not match `/sub/b.html`: that rule sets nothing.
        Some("fast=1 val=yes uri=(null) lit=(null) sub=get")
    );
}

mpm_tests!(set_env_if_expr);
