//! mod_auth_basic + mod_authn_file + mod_authz_user against Debian's apache2: passwords made
//! by Debian's `htpasswd` (bcrypt, APR MD5, SHA, and crypt(3): DES, SHA-256/512, yescrypt), `Require valid-user` / `Require user`, in
//! `<Directory>` and `.htaccess`, the 401 and its `WWW-Authenticate`, and `%u` in the access
//! log — each answer compared with apache2's, under every MPM.

mod common;
mod modules_oracle;

use std::process::Command;

use modules_oracle::{assert_same, available, get, Site};

const CONF: &str = r#"
<Directory @ROOT@/htdocs/private>
    AuthType Basic
    AuthName "Members Only"
    AuthUserFile @ROOT@/htpasswd
    Require valid-user
</Directory>
<Directory @ROOT@/htdocs/alice>
    AuthType Basic
    AuthName alice
    AuthUserFile @ROOT@/htpasswd
    Require user alice carol
</Directory>
<Directory @ROOT@/htdocs/ht>
    AllowOverride AuthConfig
</Directory>
<Directory @ROOT@/htdocs/any>
    AuthType Basic
    AuthName any
    AuthUserFile @ROOT@/htpasswd
    <RequireAny>
        Require ip 127.0.0.1
        Require valid-user
    </RequireAny>
</Directory>
<Directory @ROOT@/htdocs/all>
    AuthType Basic
    AuthName all
    AuthUserFile @ROOT@/htpasswd
    <RequireAll>
        Require ip 10.9.9.9
        Require valid-user
    </RequireAll>
</Directory>
<Directory @ROOT@/htdocs/nofile>
    AuthType Basic
    AuthName nofile
    AuthUserFile @ROOT@/missing-htpasswd
    Require valid-user
</Directory>
"#;

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn htpasswd(args: &[&str]) {
    let st = Command::new("htpasswd")
        .args(args)
        .status()
        .expect("htpasswd");
    assert!(st.success(), "htpasswd {args:?}");
}

fn basic_auth(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(
        &["authn_core", "auth_basic", "authn_file", "authz_user"],
        CONF,
    );
    for d in ["private", "alice", "ht", "any", "nofile", "all"] {
        s.file(
            &format!("htdocs/{d}/index.html"),
            format!("{d} secret\n").as_bytes(),
        );
    }
    s.file(
        "htdocs/ht/.htaccess",
        b"AuthType Basic\nAuthName \"from htaccess\"\nAuthUserFile @F@\nRequire valid-user\n",
    );
    let pw = s.root().join("htpasswd");
    let ht = std::fs::read_to_string(s.root().join("htdocs/ht/.htaccess"))
        .unwrap()
        .replace("@F@", &pw.display().to_string());
    s.file("htdocs/ht/.htaccess", ht.as_bytes());
    let pws = pw.to_str().unwrap();
    htpasswd(&["-cbB", "-C", "5", pws, "alice", "wonder land"]);
    htpasswd(&["-bm", pws, "bob", "b0b"]);
    htpasswd(&["-bs", pws, "carol", "c:arol"]);
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    let alice = basic("alice", "wonder land");
    let bob = basic("bob", "b0b");
    let carol = basic("carol", "c:arol");
    let wrong = basic("alice", "nope");
    let nobody = basic("nobody", "x");
    let cases: Vec<String> = vec![
        get("/private/", &[]),
        get("/private/", &[&alice]),
        get("/private/", &[&bob]),
        get("/private/", &[&carol]),
        get("/private/", &[&wrong]),
        get("/private/", &[&nobody]),
        get("/private/", &["Authorization: Bearer abc"]),
        get("/private/", &["Authorization: Basic !!!"]),
        get("/alice/", &[&alice]),
        get("/alice/", &[&bob]),
        get("/alice/", &[&carol]),
        get("/ht/", &[]),
        get("/ht/", &[&bob]),
        get("/any/", &[]),
        get("/nofile/", &[&bob]),
        get("/index.html", &[&bob]),
        get("/all/", &[]),
        get("/all/", &[&bob]),
    ];
    s.file("htdocs/index.html", b"public\n");
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        assert_same(line, &a[i], &m[i], &["WWW-Authenticate"], a[i].status < 500);
    }
    assert_eq!(m[0].status, 401);
    assert_eq!(m[1].body_text(), "private secret\n");
    assert_eq!(m[9].status, 401);
    // %u: the access logs agree line for line.
    let strip = |l: String| -> Vec<String> { l.lines().map(|x| x.to_string()).collect() };
    assert_eq!(
        strip(s.log("apache_access_log")),
        strip(s.log("mpmd_access_log")),
        "access logs: apache2 (left) vs mpmd (right)"
    );
    assert!(s.log("mpmd_access_log").contains(" alice \"GET /private/"));
}

/// The crypt(3) formats `htpasswd -d`, `-2` and `-5` write (and yescrypt, the system's
/// default, written by hand), which httpd checks with the system's crypt: mpmd once refused
/// them all with a 401. A `-p` plain-text entry never matches on Unix, in either server.
fn crypt_hashes(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(
        &["authn_core", "auth_basic", "authn_file", "authz_user"],
        CONF,
    );
    s.file("htdocs/private/index.html", b"private secret\n");
    let pw = s.root().join("htpasswd");
    let pws = pw.to_str().unwrap();
    htpasswd(&["-cbd", pws, "dave", "davepass"]);
    htpasswd(&["-b2", pws, "erin", "er in"]);
    htpasswd(&["-b5", "-r", "6000", pws, "frank", "fr:ank"]);
    htpasswd(&["-bp", pws, "pat", "plain"]);
    let mut text = std::fs::read_to_string(&pw).unwrap();
    // crypt("p", "$y$j9T$abcdefghijklmnop$")
    text.push_str("yves:$y$j9T$abcdefghijklmnop$qqkBQnyUUgkz930BN/Rs6u6KLiM0YAYNy9MKqM8DET7\n");
    s.file("htpasswd", text.as_bytes());
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    let cases: Vec<String> = [
        ("dave", "davepass"),
        ("dave", "davepassXYZ"),
        ("dave", "davepas"),
        ("erin", "er in"),
        ("erin", "erin"),
        ("frank", "fr:ank"),
        ("frank", "fr"),
        ("pat", "plain"),
        ("yves", "p"),
        ("yves", "q"),
    ]
    .iter()
    .map(|(u, p)| get("/private/", &[&basic(u, p)]))
    .collect();
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        assert_same(line, &a[i], &m[i], &["WWW-Authenticate"], true);
    }
    let statuses: Vec<u16> = m.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 401, 200, 401, 200, 401, 401, 200, 401],
        "DES compares 8 bytes only: davepassXYZ passes as davepass"
    );
}

mpm_tests!(basic_auth, crypt_hashes);
