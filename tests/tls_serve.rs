//! TLS under each MPM: SNI picks the vhost certificate, HTTP/1.1 and HTTP/2 over TLS with
//! curl, plain HTTP on a TLS port gets httpd's 400, and configuration errors stop the start.

mod common;
mod tlsutil;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;

fn sni_picks_the_vhost_certificate(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    let ca = s.certs.path("ca.pem");
    assert!(tlsutil::subject_for(s.tls_port, Some("a.test"), &ca).contains("CN = a.test"));
    assert!(tlsutil::subject_for(s.tls_port, Some("b.test"), &ca).contains("CN = b.test"));
    // No SNI, or a name no vhost has: the first vhost of the address (httpd's default).
    assert!(tlsutil::subject_for(s.tls_port, None, &ca).contains("CN = a.test"));
    assert!(tlsutil::subject_for(s.tls_port, Some("c.test"), &ca).contains("CN = a.test"));
}

fn curl_http11_and_h2_over_tls(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    for host in ["a.test", "b.test"] {
        let (rc, body, info) = s.curl(&["--http1.1"], &s.https(host, "/index.html"));
        assert_eq!(rc, 0, "{info}");
        assert_eq!(info, "1.1 200");
        assert_eq!(body, b"hello mpmd\n");
        let (rc, body, info) = s.curl(&["--http2"], &s.https(host, "/index.html"));
        assert_eq!(rc, 0, "{info}");
        assert_eq!(info, "2 200");
        assert_eq!(body, b"hello mpmd\n");
    }
    // A missing file goes through the same pipeline: 404 over h2 too.
    let (_, _, info) = s.curl(&["--http2"], &s.https("a.test", "/nope.html"));
    assert_eq!(info, "2 404");
    // A body larger than one TLS record and one HTTP/2 window, both protocols.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(s.srv.path("htdocs/big.bin"), &big).unwrap();
    for proto in ["--http1.1", "--http2"] {
        let (rc, body, info) = s.curl(&[proto], &s.https("a.test", "/big.bin"));
        assert_eq!(rc, 0, "{info}");
        assert!(info.ends_with(" 200"), "{info}");
        assert!(body == big, "{proto}: body differs ({} bytes)", body.len());
    }
    // Keep-alive over TLS: the second request reuses the connection (under event it was
    // parked in the poller in between).
    let url = s.https("a.test", "/index.html");
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "--http1.1", "--cacert"])
        .arg(s.certs.path("ca.pem"))
        .args(["--resolve", &s.resolve()[0]])
        .args(["-o", "/dev/null", "-o", "/dev/null"])
        .args(["-w", "%{http_code}/%{num_connects} "])
        .args([&url, &url]);
    let out = tlsutil::run(&mut cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200/1 200/0 ");
}

fn plain_http_on_the_tls_port_gets_400(mpm: &str) {
    let s = tlsutil::start(mpm, "");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", s.tls_port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert!(out.contains("speaking plain HTTP to an SSL-enabled server port"));
}

fn ssl_config_errors_stop_the_start(mpm: &str) {
    let certs = tlsutil::Certs::new(&["a.test", "b.test"]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("t.conf");
    let d = certs.dir.path().display();
    let base = format!(
        "ServerRoot {root}\nServerName localhost\nLoadModule mpm_{mpm}_module x.so\n\
         LoadModule ssl_module x.so\nListen 127.0.0.1:{port} https\nDocumentRoot {root}\n\
         ErrorLog {root}/error_log\nPidFile {root}/pid\n",
        root = dir.path().display(),
        port = tlsutil::free_port()
    );
    let check = |extra: &str, want: &str| {
        std::fs::write(&conf, format!("{base}{extra}")).unwrap();
        let out = std::process::Command::new(BIN)
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra}: {err}");
        assert!(err.contains(want), "{extra}: {err}");
    };
    check(
        &format!("SSLCertificateFile {d}/none.crt\n"),
        &format!("SSLCertificateFile: file '{d}/none.crt' does not exist or is empty"),
    );
    check(
        "",
        "AH02572: Failed to configure at least one certificate and key for localhost:",
    );
    check(
        &format!("SSLCertificateFile {d}/a.test.crt\nSSLCertificateKeyFile {d}/b.test.key\n"),
        "do not match",
    );
    check("SSLProtocol +TLSv1.1\n", "TLSv1.1 is not supported");
    check(
        "SSLCipherSuite HIGH:BOGUS\n",
        "unknown cipher or alias 'BOGUS'",
    );
}

/// Redirects the server builds itself carry https and the TLS port (mod_dir's trailing slash).
fn redirects_over_tls_stay_on_https(mpm: &str) {
    let s = tlsutil::start(mpm, "LoadModule dir_module x.so");
    std::fs::create_dir_all(s.srv.path("htdocs/sub")).unwrap();
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "--cacert"])
        .arg(s.certs.path("ca.pem"))
        .args(["--resolve", &s.resolve()[0]])
        .args(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"])
        .arg(s.https("a.test", "/sub"));
    let out = tlsutil::run(&mut cmd);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("301 https://a.test:{}/sub/", s.tls_port)
    );
}

/// mod_ssl's fixup puts `HTTPS=on` in the environment of every request over TLS that reaches
/// it, and `SSL_TLS_SNI` when the client sent SNI, without `SSLOptions +StdEnvVars` (apache2
/// 2.4.71 does, HTTP/1.1 and h2 alike): the log's `%{…}e` and mod_headers' `%{…}e` see them.
/// SetEnvIf runs earlier and does not; a request refused by access control (403) never gets
/// there, nor one refused while its head was read (h2's 431, logged as apache2 logs it).
fn https_and_sni_in_the_request_environment(mpm: &str) {
    let s = tlsutil::start(
        mpm,
        "LoadModule setenvif_module x.so\nLoadModule headers_module x.so\n\
         LogFormat \"%r|%>s|%{HTTPS}e|%{SSL_TLS_SNI}e|%{early}e|%U|%V\" tlsenv\n\
         CustomLog logs/tlsenv_log tlsenv\n\
         SetEnvIf HTTPS on early=seen\n\
         <Location /index.html>\nHeader set X-Https \"%{HTTPS}e %{SSL_TLS_SNI}e\"\n</Location>\n\
         <Location /deny>\nRequire all denied\n</Location>\n",
    );
    // mod_headers' %{…}e sees them (in the response header `X-Https`).
    let heads = s.srv.path("heads.txt");
    let x_https = |args: &[&str], url: &str| -> (String, String) {
        let mut a = vec!["-D", heads.to_str().unwrap()];
        a.extend_from_slice(args);
        let (_, _, info) = s.curl(&a, url);
        let h = std::fs::read_to_string(&heads).unwrap_or_default();
        let v = h
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("x-https: ")
                    .map(str::to_string)
            })
            .unwrap_or_default();
        (info, v)
    };
    let r = x_https(&["--http1.1"], &s.https("a.test", "/index.html?h1"));
    assert_eq!(r, ("1.1 200".into(), "on a.test".into()));
    let r = x_https(&["--http2"], &s.https("b.test", "/index.html?h2"));
    assert_eq!(r, ("2 200".into(), "on b.test".into()));
    // An IP address in the URL: curl sends no SNI.
    let url = format!("https://127.0.0.1:{}/index.html?nosni", s.tls_port);
    let r = x_https(&["--http1.1", "-k"], &url);
    assert_eq!(r, ("1.1 200".into(), "on (null)".into()));
    let (_, _, info) = s.curl(&["--http1.1"], &s.https("a.test", "/deny"));
    assert_eq!(info, "1.1 403");
    let (_, _, info) = s.curl(&["--http2"], &s.https("a.test", "/nothere"));
    assert_eq!(info, "2 404");
    let big = format!("X-Big: {}", "b".repeat(9000));
    let (_, _, info) = s.curl(
        &["--http2", "-H", &big],
        &s.https("a.test", "/index.html?big"),
    );
    assert_eq!(info, "2 431");
    let r = x_https(&[], &s.http("/index.html?clear"));
    assert_eq!(r, ("1.1 200".into(), "(null) (null)".into()));
    let want = [
        "GET /index.html?h1 HTTP/1.1|200|on|a.test|-|/index.html|a.test",
        "GET /index.html?h2 HTTP/2.0|200|on|b.test|-|/index.html|b.test",
        "GET /index.html?nosni HTTP/1.1|200|on|-|-|/index.html|127.0.0.1",
        "GET /deny HTTP/1.1|403|-|-|-|/deny|a.test",
        "GET /nothere HTTP/2.0|404|on|a.test|-|/nothere|a.test",
        "GET /index.html?big HTTP/2.0|431|-|-|-|/index.html|a.test",
        "GET /index.html?clear HTTP/1.1|200|-|-|-|/index.html|127.0.0.1",
    ];
    let mut lines = Vec::new();
    wait_until(Duration::from_secs(5), || {
        let log = std::fs::read_to_string(s.srv.path("logs/tlsenv_log")).unwrap_or_default();
        lines = log
            .lines()
            .filter(|l| l.contains("?") || l.contains("/deny") || l.contains("/nothere"))
            .map(str::to_string)
            .collect();
        lines.len() >= want.len()
    });
    assert_eq!(lines, want);
}

mpm_tests!(
    https_and_sni_in_the_request_environment,
    redirects_over_tls_stay_on_https,
    sni_picks_the_vhost_certificate,
    curl_http11_and_h2_over_tls,
    plain_http_on_the_tls_port_gets_400,
    ssl_config_errors_stop_the_start,
);
