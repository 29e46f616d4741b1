//! mod_ssl's variables against Debian's apache2 (same config, same certificate, curl over
//! TLS 1.3 and TLS 1.2 with a fixed cipher, and over HTTP/2): `SSLOptions +StdEnvVars` /
//! `+ExportCertData` and their per-directory merging (`+`/`-`, httpd's "last plain option wins", .htaccess), as
//! mod_headers' `%{VAR}e` and the access log's `%{VAR}e` see the environment; `%{VAR}x` in
//! the log, `%{VAR}s` in mod_headers, `%{SSL:VAR}` in mod_rewrite and `%{SSL_*}` / `SSL:` in
//! an `<If>` expression, which need no SSLOptions. Under every MPM.

mod common;
mod modules_oracle;

use std::process::Command;

use modules_oracle::{available, Site};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

const CONF: &str = r#"
Protocols h2 http/1.1
SSLEngine on
SSLCertificateFile @ROOT@/leaf.crt
SSLCertificateKeyFile @ROOT@/leaf.key
<Location /std>
    SSLOptions +StdEnvVars
</Location>
<Location /std/off>
    SSLOptions -StdEnvVars +ExportCertData
</Location>
<Location /last>
    SSLOptions StdEnvVars ExportCertData
</Location>
<Location /rel>
    SSLOptions +ExportCertData
</Location>
<Directory @ROOT@/htdocs/ht>
    AllowOverride Options
</Directory>
Header set X-Std "%{SSL_PROTOCOL}e|%{SSL_CIPHER}e|%{SSL_CIPHER_USEKEYSIZE}e|%{SSL_CIPHER_ALGKEYSIZE}e|%{SSL_CIPHER_EXPORT}e|%{SSL_COMPRESS_METHOD}e|%{SSL_SECURE_RENEG}e|%{SSL_CLIENT_VERIFY}e|%{SSL_SESSION_RESUMED}e|%{SSL_VERSION_INTERFACE}e|%{SSL_TLS_SNI}e|%{HTTPS}e"
Header set X-Cert "%{SSL_SERVER_S_DN}e|%{SSL_SERVER_I_DN}e|%{SSL_SERVER_S_DN_CN}e|%{SSL_SERVER_S_DN_O}e|%{SSL_SERVER_S_DN_C}e|%{SSL_SERVER_I_DN_CN}e|%{SSL_SERVER_I_DN_O}e|%{SSL_SERVER_M_VERSION}e|%{SSL_SERVER_M_SERIAL}e|%{SSL_SERVER_V_START}e|%{SSL_SERVER_V_END}e|%{SSL_SERVER_A_KEY}e|%{SSL_SERVER_A_SIG}e|%{SSL_SERVER_SAN_DNS_0}e|%{SSL_SERVER_SAN_DNS_1}e"
Header set X-S "%{SSL_PROTOCOL}s|%{SSL_CIPHER}s|%{SSL_SERVER_S_DN_CN}s|%{HTTPS}s|%{SSL_CIPHER_USEKEYSIZE}s"
Header set X-Sid "%{SSL_SESSION_ID}e"
<If "%{SSL_PROTOCOL} == 'TLSv1.3' && %{SSL:SSL_CIPHER_USEKEYSIZE} == '128'">
    Header set X-If tls13-128
</If>
RewriteEngine on
RewriteRule ^ - [E=RW:%{SSL:SSL_PROTOCOL}/%{SSL:SSL_CIPHER}/%{HTTPS}]
Header set X-Rw "%{RW}e"
CustomLog @ROOT@/logs/@TAG@_ssl_log "%U|%{SSL_PROTOCOL}x|%{SSL_CIPHER}x|%{SSL_SERVER_S_DN}x|%{SSL_CLIENT_VERIFY}x|%{HTTPS}x|%{SSL_PROTOCOL}e|%{SSL_SERVER_I_DN_CN}e|%{SSL_SERVER_CERT}e|%{SSL_CLIENT_CERT}e"
"#;

const HEADERS: [&str; 6] = ["X-Std", "X-Cert", "X-S", "X-If", "X-Rw", "X-Sid"];

/// A CA and a leaf for a.test (two SAN names, a DN with a comma to escape), in the site root.
fn certificates(s: &Site) {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::OrganizationName, "CA Org");
    p.distinguished_name
        .push(DnType::CommonName, "mpmd test CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["a.test".into(), "www.a.test".into()]).unwrap();
    p.distinguished_name.push(DnType::CountryName, "DE");
    p.distinguished_name
        .push(DnType::OrganizationName, "Test, Org");
    p.distinguished_name.push(DnType::CommonName, "a.test");
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(s.root().join("leaf.crt"), cert.pem()).unwrap();
    std::fs::write(s.root().join("leaf.key"), key.serialize_pem()).unwrap();
}

/// The named response headers of a curl GET (`None` when absent).
fn fetch(port: u16, tls: &[&str], path: &str) -> Vec<Option<String>> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-k",
            "--max-time",
            "20",
            "-o",
            "/dev/null",
            "-D",
            "-",
        ])
        .args(["--resolve", &format!("a.test:{port}:127.0.0.1")])
        .args(tls)
        .arg(format!("https://a.test:{port}{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let want = if tls.contains(&"--http2") {
        "HTTP/2 200"
    } else {
        "HTTP/1.1 200"
    };
    assert!(
        text.starts_with(want),
        "{path}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    HEADERS
        .iter()
        .map(|h| {
            text.lines()
                .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(h)))
                .map(|(_, v)| v.trim().to_string())
        })
        .collect()
}

/// A request whose header line is too long (400 while the head is read), over TLS 1.3 with
/// openssl s_client; returns when the server has closed.
fn refused(port: u16) {
    use std::io::Write;
    let mut child = Command::new("timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-quiet",
            "-tls1_3",
            "-servername",
            "a.test",
        ])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    let long = "a".repeat(9000);
    let req = format!("GET /x.txt HTTP/1.1\r\nHost: a.test\r\nX-Long: {long}\r\n\r\n");
    let _ = child.stdin.take().unwrap().write_all(req.as_bytes());
    let _ = child.wait();
}

const TLS13: &[&str] = &[
    "--tlsv1.3",
    "--http1.1",
    "--tls13-ciphers",
    "TLS_AES_128_GCM_SHA256",
];
/// TLS 1.3 and HTTP/2 (ALPN h2), default cipher.
const H2: &[&str] = &["--tlsv1.3", "--http2"];
const TLS12: &[&str] = &[
    "--tlsv1.2",
    "--http1.1",
    "--tls-max",
    "1.2",
    "--ciphers",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
];
const PATHS: [&str; 6] = [
    "/x.txt",
    "/std/x.txt",
    "/std/off/x.txt",
    "/last/x.txt",
    "/rel/x.txt",
    "/ht/x.txt",
];

fn ssl_variables_match_apache(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["ssl", "rewrite", "http2"], CONF);
    certificates(&s);
    for p in PATHS {
        s.file(&format!("htdocs{p}"), b"x\n");
    }
    s.file("htdocs/ht/.htaccess", b"SSLOptions +StdEnvVars\n");
    let (a, m) = s.with_both(mpm, |port, tag| {
        let mut all = Vec::new();
        for tls in [TLS13, TLS12, H2] {
            for p in PATHS {
                all.push((tls.join(" "), p, fetch(port, tls, p)));
            }
        }
        refused(port);
        // A line is written after its response went out: wait for the last one before
        // the server is stopped.
        let log = format!("{tag}_ssl_log");
        common::wait_until(std::time::Duration::from_secs(10), || {
            s.log(&log).lines().count() == 3 * PATHS.len() + 1
        });
        all
    });
    for ((tls, path, ah), (_, _, mh)) in a.iter().zip(&m) {
        for (i, h) in HEADERS.iter().enumerate() {
            if *h == "X-Sid" {
                continue;
            }
            assert_eq!(
                ah[i], mh[i],
                "{tls} {path}: {h}: apache2 (left) vs mpmd (right)"
            );
        }
    }
    // The session ID is random: 64 hex digits where StdEnvVars is on under TLS 1.3.
    let sid = &m[1].2[5];
    assert!(
        sid.as_deref()
            .is_some_and(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())),
        "{sid:?}"
    );
    assert_eq!(a[1].2[5].as_deref().map(str::len), Some(64));
    assert_eq!(m[13].2[5].as_deref().map(str::len), Some(64), "h2");
    // The cases above must really carry the variables (not two sides equally empty).
    let std = m[1].2[0].as_deref().unwrap_or("");
    assert!(
        std.starts_with("TLSv1.3|TLS_AES_128_GCM_SHA256|128|128|false|NULL|"),
        "{std}"
    );
    let std12 = m[7].2[0].as_deref().unwrap_or("");
    assert!(
        std12.starts_with("TLSv1.2|ECDHE-ECDSA-AES256-GCM-SHA384|256|"),
        "{std12}"
    );
    let cert = m[1].2[1].as_deref().unwrap_or("");
    // rcgen writes CN first; RFC 2253 order prints it last, the comma escaped.
    assert!(cert.starts_with("O=Test\\, Org,C=DE,CN=a.test|"), "{cert}");
    assert_eq!(m[0].2[3].as_deref(), Some("tls13-128"));
    // Over h2 (streams served apart from the connection) the variables are there too.
    let h2 = m[13].2[0].as_deref().unwrap_or("");
    let ht = m[5].2[0].as_deref().unwrap_or("");
    assert!(ht.starts_with("TLSv1.3|"), ".htaccess: {ht}");
    assert!(h2.starts_with("TLSv1.3|TLS_"), "{h2}");
    // Both servers append to their own ssl_log: the same lines.
    let (al, ml) = (s.log("apache_ssl_log"), s.log("mpmd_ssl_log"));
    assert_eq!(al.lines().count(), 19, "{al}");
    // The request refused while its head was read is logged with the session's variables.
    let last = ml.lines().last().unwrap_or("");
    assert!(
        last.starts_with("/x.txt|TLSv1.3|TLS_"),
        "mpmd: {last}\napache2: {}",
        al.lines().last().unwrap_or("")
    );
    assert_eq!(al, ml, "ssl_log: apache2 (left) vs mpmd (right)");
    assert!(ml.contains("-----BEGIN CERTIFICATE-----\\n"), "{ml}");
}

mpm_tests!(ssl_variables_match_apache);
