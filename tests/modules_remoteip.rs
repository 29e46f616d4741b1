//! mod_remoteip against Debian's apache2, under every MPM: requests from 127.0.0.1 carrying
//! X-Forwarded-For (or a custom header) through virtual hosts with no proxy list, trusted
//! proxies, internal proxies (CIDR, netmask, IPv6), proxy list files and an untrusted peer.
//! Compared: the access log (`%a`, `%{c}a`, `%h`, `%{remote}p`, the rewritten header, the
//! proxies header, the `remoteip-proxy-ip-list` note), `Require ip` / `Require local` decisions, `SetEnvIf Remote_Addr`,
//! `-R` / `%{REMOTE_ADDR}` / `%{CONN_REMOTE_ADDR}` in `<If>`, and the server-status client
//! column. Then `-t` errors against `apache2 -t`.

mod common;
mod modules_oracle;

use std::process::Command;

use modules_oracle::{available, get, Site, APACHE, BIN};

const CONF: &str = r#"
RemoteIPHeader X-Forwarded-For
RemoteIPProxiesHeader X-By
LogFormat "%v|%a|%{c}a|%h|%{remote}p|%{X-Forwarded-For}i|%{X-By}i|%{X-Client-IP}i|%{X-Via}i|%U|%>s|%{remoteip-proxy-ip-list}n" ip
CustomLog @ROOT@/logs/@TAG@_ip.log ip
SetEnvIf Remote_Addr "^203\.0\.113\." ua_doc
Header set X-SetEnvIf yes env=ua_doc
<If "-R '203.0.113.0/24'">
    Header set X-Expr-R yes
</If>
<If "%{REMOTE_ADDR} == '2001:db8::7'">
    Header set X-Expr-V6 yes
</If>
<If "%{CONN_REMOTE_ADDR} == '127.0.0.1'">
    Header set X-Conn yes
</If>
<Location /doc>
    Require ip 203.0.113.0/24 2001:db8::/32
</Location>
<Location /peer>
    Require ip 127.0.0.1
</Location>
<Location /local>
    Require local
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
<VirtualHost *:@PORT@>
    ServerName any.test
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName trusted.test
    RemoteIPTrustedProxy 127.0.0.1 8.8.8.0/24
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName internal.test
    RemoteIPInternalProxy 127.0.0.0/8 10.0.0.0/255.0.0.0
    RemoteIPTrustedProxy 2001:db8::/32
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName lists.test
    RemoteIPInternalProxyList @ROOT@/internal.txt
    RemoteIPTrustedProxyList trusted.txt
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName untrusted.test
    RemoteIPTrustedProxy 10.0.0.0/8
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName custom.test
    RemoteIPHeader X-Client-IP
    RemoteIPProxiesHeader X-Via
</VirtualHost>
"#;

/// (Host, path, extra header lines).
const CASES: &[(&str, &str, &[&str])] = &[
    ("any.test", "/i.html", &[]),
    ("any.test", "/i.html", &["X-Forwarded-For: 203.0.113.5"]),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 8.8.8.8, 203.0.113.5"],
    ),
    ("any.test", "/i.html", &["X-Forwarded-For: 10.0.0.1"]),
    ("any.test", "/i.html", &["X-Forwarded-For: garbage"]),
    ("any.test", "/i.html", &["X-Forwarded-For: 2001:db8::7"]),
    ("any.test", "/i.html", &["X-Forwarded-For: fe80::1"]),
    ("any.test", "/i.html", &["X-Forwarded-For: 1.2.3"]),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: ::ffff:203.0.113.6"],
    ),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5:8080"],
    ),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 203.0.113.5"],
    ),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 8.8.8.8,  , 203.0.113.5"],
    ),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 8.8.8.8 ,10.0.0.1 , 203.0.113.5"],
    ),
    (
        "any.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5", "X-By: forged"],
    ),
    ("any.test", "/doc/i.html", &["X-Forwarded-For: 203.0.113.5"]),
    ("any.test", "/doc/i.html", &["X-Forwarded-For: 2001:db8::7"]),
    ("any.test", "/doc/i.html", &[]),
    ("any.test", "/doc/i.html", &["X-Forwarded-For: 10.0.0.1"]),
    ("any.test", "/peer/i.html", &[]),
    (
        "any.test",
        "/peer/i.html",
        &["X-Forwarded-For: 203.0.113.5"],
    ),
    ("any.test", "/local/i.html", &[]),
    (
        "any.test",
        "/local/i.html",
        &["X-Forwarded-For: 203.0.113.5"],
    ),
    ("trusted.test", "/i.html", &["X-Forwarded-For: 10.0.0.5"]),
    (
        "trusted.test",
        "/i.html",
        &["X-Forwarded-For: 8.8.8.1, 203.0.113.5"],
    ),
    (
        "trusted.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5, 8.8.8.1"],
    ),
    (
        "trusted.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5, 8.8.8.1, 10.0.0.2"],
    ),
    ("internal.test", "/i.html", &["X-Forwarded-For: 10.0.0.5"]),
    (
        "internal.test",
        "/i.html",
        &["X-Forwarded-For: 192.168.0.9, 10.0.0.5"],
    ),
    (
        "internal.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5, 2001:db8::1, 10.0.0.5"],
    ),
    (
        "internal.test",
        "/i.html",
        &["X-Forwarded-For: 10.1.1.1, 2001:db8::1"],
    ),
    (
        "internal.test",
        "/doc/i.html",
        &["X-Forwarded-For: 10.0.0.5"],
    ),
    (
        "lists.test",
        "/i.html",
        &["X-Forwarded-For: 10.9.1.1, 8.8.4.4"],
    ),
    (
        "lists.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5, 198.51.100.2"],
    ),
    (
        "lists.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5, 10.9.7.7, 192.0.2.1"],
    ),
    (
        "untrusted.test",
        "/i.html",
        &["X-Forwarded-For: 203.0.113.5"],
    ),
    (
        "untrusted.test",
        "/doc/i.html",
        &["X-Forwarded-For: 203.0.113.5"],
    ),
    (
        "custom.test",
        "/i.html",
        &["X-Client-IP: 203.0.113.9", "X-Forwarded-For: 8.8.8.8"],
    ),
    ("custom.test", "/doc/i.html", &["X-Client-IP: 203.0.113.9"]),
];

/// The log line with the client's ephemeral port (`%{remote}p`, 0 once rewritten) masked.
fn normalize(line: &str) -> String {
    line.split('|')
        .enumerate()
        .map(|(i, f)| if i == 4 && f != "0" { "PORT" } else { f })
        .collect::<Vec<_>>()
        .join("|")
}

fn remoteip_vs_apache(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["remoteip", "status"], CONF);
    s.file("htdocs/i.html", b"index\n");
    for d in ["doc", "peer", "local"] {
        s.file(&format!("htdocs/{d}/i.html"), b"in\n");
    }
    s.file(
        "internal.txt",
        b"127.0.0.1  # the local proxy\n\n10.9.0.0/16\n",
    );
    s.file(
        "trusted.txt",
        b"# trusted proxies\n198.51.100.0/24 '8.8.4.4'\n",
    );
    let mut reqs: Vec<String> = CASES
        .iter()
        .map(|(host, path, hs)| {
            let mut h = vec![format!("Host: {host}")];
            h.extend(hs.iter().map(|x| x.to_string()));
            let h: Vec<&str> = h.iter().map(String::as_str).collect();
            get(path, &h)
        })
        .collect();
    reqs.push(get(
        "/server-status",
        &["Host: any.test", "X-Forwarded-For: 203.0.113.77"],
    ));
    let (a, m) = s.both(mpm, &reqs);
    let names = ["x-setenvif", "x-expr-r", "x-expr-v6", "x-conn"];
    for (i, r) in reqs.iter().enumerate().take(CASES.len()) {
        let what = r.replace("\r\n", " | ");
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        for n in names {
            assert_eq!(a[i].header(n), m[i].header(n), "{what}: {n}");
        }
    }
    // The server-status page lists its own request with the client mod_remoteip chose.
    let st = reqs.len() - 1;
    assert!(a[st].body_text().contains("203.0.113.77"), "apache2 status");
    assert!(
        m[st].body_text().contains("203.0.113.77"),
        "mpmd status: {}",
        m[st].body_text()
    );
    let (al, ml) = (s.log("apache_ip.log"), s.log("mpmd_ip.log"));
    let al: Vec<String> = al.lines().map(normalize).collect();
    let ml: Vec<String> = ml.lines().map(normalize).collect();
    assert_eq!(al.len(), reqs.len(), "apache2 log:\n{}", al.join("\n"));
    for (i, (x, y)) in al.iter().zip(&ml).enumerate() {
        assert_eq!(x, y, "log line {} (apache2 left, mpmd right)", i + 1);
    }
    assert_eq!(al.len(), ml.len());
    // Pinned answers (apache2's), so a change on both sides is noticed too.
    for want in [
        "any.test|203.0.113.5|127.0.0.1|203.0.113.5|0|-|127.0.0.1|-|-|/i.html|200",
        "any.test|8.8.8.8|127.0.0.1|8.8.8.8|0|-|127.0.0.1, 203.0.113.5|-|-|/i.html|200",
        "any.test|127.0.0.1|127.0.0.1|127.0.0.1|PORT|10.0.0.1|-|-|-|/i.html|200",
        "any.test|203.0.113.5|127.0.0.1|203.0.113.5|0|8.8.8.8 ,10.0.0.1|127.0.0.1|-|-|/i.html|200",
        "any.test|203.0.113.5|127.0.0.1|203.0.113.5|0|-|127.0.0.1|-|-|/doc/i.html|200",
        "any.test|127.0.0.1|127.0.0.1|127.0.0.1|PORT|-|-|-|-|/doc/i.html|403",
        "any.test|203.0.113.5|127.0.0.1|203.0.113.5|0|-|127.0.0.1|-|-|/peer/i.html|403",
        "trusted.test|203.0.113.5|127.0.0.1|203.0.113.5|0|-|127.0.0.1, 8.8.8.1|-|-|/i.html|200|127.0.0.1, 8.8.8.1",
        "internal.test|10.0.0.5|127.0.0.1|10.0.0.5|0|-|-|-|-|/i.html|200|-",
        "internal.test|203.0.113.5|127.0.0.1|203.0.113.5|0|-|2001:db8::1|-|-|/i.html|200",
        "internal.test|2001:db8::1|127.0.0.1|2001:db8::1|0|10.1.1.1|-|-|-|/i.html|200",
        "lists.test|8.8.4.4|127.0.0.1|8.8.4.4|0|10.9.1.1|-|-|-|/i.html|200",
        "untrusted.test|127.0.0.1|127.0.0.1|127.0.0.1|PORT|203.0.113.5|-|-|-|/i.html|200",
        "custom.test|203.0.113.9|127.0.0.1|203.0.113.9|0|8.8.8.8|-|-|127.0.0.1|/i.html|200",
    ] {
        let prefix = format!("{want}|");
        assert!(
            ml.iter().any(|l| l == want || l.starts_with(&prefix)),
            "no log line {want}:\n{}",
            ml.join("\n")
        );
    }
}

mpm_tests!(remoteip_vs_apache);

/// `-t` on a config with one bad mod_remoteip directive: mpmd's message is apache2's.
#[test]
fn directive_errors_match_apache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("ok.txt"), "127.0.0.1\n").unwrap();
    std::fs::write(
        root.join("bad.txt"),
        "10.0.0.1\n# comment\n 10.0.0.0/40 x\n",
    )
    .unwrap();
    let cases = [
        "RemoteIPTrustedProxy 10.0.0.0/33",
        "RemoteIPTrustedProxy 10.0.0.0/abc",
        "RemoteIPTrustedProxy 10.0.0.0/0",
        "RemoteIPTrustedProxy 10.0.0.0/255.0.0.0.0",
        "RemoteIPInternalProxy 300.1.1.1",
        "RemoteIPInternalProxy 1.2.3.4.5",
        "RemoteIPTrustedProxy ::1/129",
        "RemoteIPTrustedProxy foo/24",
        "RemoteIPTrustedProxy 1.2.3.0/24 10.1 bad.invalid",
        "RemoteIPTrustedProxy",
        "RemoteIPInternalProxy",
        "RemoteIPHeader",
        "RemoteIPHeader a b",
        "RemoteIPProxiesHeader",
        "RemoteIPTrustedProxyList missing.txt",
        "RemoteIPInternalProxyList bad.txt",
        "RemoteIPInternalProxyList ok.txt",
        "RemoteIPTrustedProxy 10.0.0.1/255.255.0.0 10.1 ::1 2001:db8::/32",
    ];
    let oracle = std::path::Path::new(APACHE).exists();
    for (i, d) in cases.iter().enumerate() {
        let conf = root.join(format!("c{i}.conf"));
        let text = format!(
            "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
             LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so\n\
             ServerRoot {r}\nServerName localhost\nListen 127.0.0.1:19581\n\
             PidFile {r}/pid\nErrorLog {r}/error.log\nDefaultRuntimeDir {r}\n\
             DocumentRoot {r}\n{d}\n",
            r = root.display()
        );
        std::fs::write(&conf, text).unwrap();
        let run = |bin: &str| {
            let out = Command::new(bin)
                .arg("-d")
                .arg(&root)
                .arg("-f")
                .arg(&conf)
                .arg("-t")
                .env("MPMD_LINT", "off")
                .output()
                .expect("run -t");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (mc, mt) = run(BIN);
        if d.contains("ok.txt") || d.contains("2001:db8::/32") {
            assert_eq!((mc, mt.as_str()), (Some(0), "Syntax OK\n"), "{d}");
        } else {
            assert_eq!(mc, Some(1), "{d}: {mt}");
            assert!(
                mt.starts_with("AH00526: Syntax error on line 10 of "),
                "{d}: {mt}"
            );
        }
        if oracle {
            let (ac, at) = run(APACHE);
            assert_eq!(ac, mc, "{d}: exit code; apache2 said {at}");
            assert_eq!(at, mt, "{d}: apache2 (left) vs mpmd (right)");
        }
    }
}
