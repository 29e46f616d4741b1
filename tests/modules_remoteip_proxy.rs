//! mod_remoteip's PROXY protocol (`RemoteIPProxyProtocol`, `RemoteIPProxyProtocolExceptions`)
//! under every MPM. Against Debian's apache2: v1 and v2 headers (TCP4, TCP6, LOCAL, TLVs) in
//! one write or split across many, keep-alive behind one header, `Require ip`, the ignored
//! `RemoteIPHeader`, malformed headers and connections without one (closed, nothing sent, the
//! same error log tags), an excepted peer, an address where a virtual host turns it off, curl's
//! `--haproxy-protocol`; the access logs (`%a %{c}a %h %{remote}p`) must match line for line.
//! Then mpmd alone: a header trickled byte by byte (event parks the connection in between),
//! pipelined requests in the header's segment, the header timeout, and TLS (HTTP/1.1 and h2)
//! and h2c behind the header.

mod common;
mod modules_oracle;
mod tlsutil;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use modules_oracle::{available, Site};

/// A PROXY v2 header: `cmd` 1 (PROXY) over TCP from `src`, or 0 (LOCAL); `tlv` follows the
/// addresses.
fn v2(cmd: u8, src: SocketAddr, tlv: &[u8]) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x20 | cmd);
    let mut addrs = Vec::new();
    match src.ip() {
        IpAddr::V4(a) => {
            h.push(0x11);
            addrs.extend_from_slice(&a.octets());
            addrs.extend_from_slice(&[127, 0, 0, 1]);
        }
        IpAddr::V6(a) => {
            h.push(0x21);
            addrs.extend_from_slice(&a.octets());
            addrs.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        }
    }
    addrs.extend_from_slice(&src.port().to_be_bytes());
    addrs.extend_from_slice(&80u16.to_be_bytes());
    addrs.extend_from_slice(tlv);
    h.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    h.extend_from_slice(&addrs);
    h
}

fn v1(src: &str, port: u16) -> Vec<u8> {
    let fam = if src.contains(':') { "TCP6" } else { "TCP4" };
    let dst = if src.contains(':') {
        "::1"
    } else {
        "127.0.0.1"
    };
    format!("PROXY {fam} {src} {dst} {port} 80\r\n").into_bytes()
}

fn get(path: &str, close: bool, extra: &str) -> Vec<u8> {
    let c = if close { "Connection: close\r\n" } else { "" };
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}{c}\r\n").into_bytes()
}

/// A TCP connection from `from` (another loopback address: 127.0.0.2 …) to `to`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .expect("socket");
    let src: std::net::SocketAddrV4 = format!("{from}:0").parse().unwrap();
    bind(fd.as_raw_fd(), &SockaddrIn::from(src)).expect("bind the source address");
    let SocketAddr::V4(dst) = to else {
        panic!("IPv4 only")
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst)).expect("connect");
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Writes `parts` with a pause after each (so they arrive as separate segments, and under
/// event each one wakes the engine), then reads until the server closes (a reset too).
fn exchange(from: &str, to: SocketAddr, parts: &[&[u8]]) -> Vec<u8> {
    let mut s = connect_from(from, to);
    for p in parts {
        if s.write_all(p).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// The status codes of the responses in `raw`, in order.
fn statuses(raw: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(raw);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

const ORACLE_CONF: &str = r#"
RemoteIPProxyProtocol On
RemoteIPProxyProtocolExceptions 127.0.0.2
RemoteIPHeader X-Forwarded-For
LogFormat "%a|%{c}a|%h|%{remote}p|%U|%>s|%{X-Forwarded-For}i" pp
CustomLog @ROOT@/logs/@TAG@_pp.log pp
<Location /doc>
    Require ip 203.0.113.0/24 2001:db8::/32
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
Listen 127.0.0.3:@PORT@
<VirtualHost 127.0.0.3:@PORT@>
    ServerName off.test
    RemoteIPProxyProtocol Off
</VirtualHost>
"#;

/// A log line with an ephemeral port (a connection without a header) masked.
fn normalize(line: &str) -> String {
    line.split('|')
        .enumerate()
        .map(|(i, f)| match f.parse::<u32>() {
            Ok(p) if i == 3 && p >= 10_000 => "PORT",
            _ => f,
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn proxy_protocol_vs_apache(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["remoteip", "status"], ORACLE_CONF);
    s.file("htdocs/i.html", b"index\n");
    s.file("htdocs/doc/i.html", b"doc\n");
    let a4 = |ip: &str, port: u16| SocketAddr::new(ip.parse().unwrap(), port);
    let v1a = v1("203.0.113.10", 4445);
    let v2a = v2(
        1,
        a4("203.0.113.12", 4447),
        b"\x04\x00\x05hello\x01\x00\x02h2",
    );
    let req = get("/i.html", true, "");
    let ka = [
        v1("203.0.113.11", 4446),
        get("/i.html", false, ""),
        get("/doc/i.html", true, ""),
    ];
    // (what, source address, local address, writes)
    let cases: Vec<(&str, &str, &str, Vec<Vec<u8>>)> = vec![
        (
            "v1",
            "127.0.0.1",
            "127.0.0.1",
            vec![[v1("203.0.113.9", 4444), req.clone()].concat()],
        ),
        (
            "v1 split",
            "127.0.0.1",
            "127.0.0.1",
            vec![
                v1a[..4].to_vec(),
                v1a[4..20].to_vec(),
                v1a[20..v1a.len() - 1].to_vec(),
                [&v1a[v1a.len() - 1..], &req[..10]].concat(),
                req[10..].to_vec(),
            ],
        ),
        (
            "v2 split with TLVs",
            "127.0.0.1",
            "127.0.0.1",
            vec![
                v2a[..7].to_vec(),
                v2a[7..15].to_vec(),
                v2a[15..22].to_vec(),
                [&v2a[22..], &req[..]].concat(),
            ],
        ),
        (
            "v2 tcp6",
            "127.0.0.1",
            "127.0.0.1",
            vec![[
                v2(1, "[2001:db8::7]:4448".parse().unwrap(), b""),
                get("/doc/i.html", true, ""),
            ]
            .concat()],
        ),
        (
            "v2 local",
            "127.0.0.1",
            "127.0.0.1",
            vec![[
                v2(0, a4("203.0.113.13", 4449), b""),
                get("/doc/i.html", true, ""),
            ]
            .concat()],
        ),
        (
            "v1 denied",
            "127.0.0.1",
            "127.0.0.1",
            vec![[v1("198.51.100.1", 4450), get("/doc/i.html", true, "")].concat()],
        ),
        (
            "RemoteIPHeader ignored",
            "127.0.0.1",
            "127.0.0.1",
            vec![[
                v1("203.0.113.14", 4451),
                get("/i.html", true, "X-Forwarded-For: 198.51.100.9\r\n"),
            ]
            .concat()],
        ),
        (
            "keep-alive",
            "127.0.0.1",
            "127.0.0.1",
            vec![[ka[0].clone(), ka[1].clone()].concat(), ka[2].clone()],
        ),
        (
            "v1 bad family",
            "127.0.0.1",
            "127.0.0.1",
            vec![[
                b"PROXY TCP5 203.0.113.9 127.0.0.1 4444 80\r\n".to_vec(),
                req.clone(),
            ]
            .concat()],
        ),
        (
            "v2 udp",
            "127.0.0.1",
            "127.0.0.1",
            vec![{
                let mut h = v2(1, a4("203.0.113.9", 4444), b"");
                h[13] = 0x12;
                [h, req.clone()].concat()
            }],
        ),
        (
            "PROXY UNKNOWN, exactly 15 bytes",
            "127.0.0.1",
            "127.0.0.1",
            vec![[b"PROXY UNKNOWN\r\n".to_vec(), req.clone()].concat()],
        ),
        ("no header", "127.0.0.1", "127.0.0.1", vec![req.clone()]),
        ("excepted peer", "127.0.0.2", "127.0.0.1", vec![req.clone()]),
        (
            "excepted peer with a header",
            "127.0.0.2",
            "127.0.0.1",
            vec![[v1("203.0.113.9", 4444), req.clone()].concat()],
        ),
        ("off here", "127.0.0.1", "127.0.0.3", vec![req.clone()]),
    ];
    let (a, m) = s.with_both(mpm, |port, tag| {
        let mut out: Vec<Vec<u8>> = cases
            .iter()
            .map(|(_, from, to, parts)| {
                let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                exchange(from, a4(to, port), &parts)
            })
            .collect();
        // server-status lists its own request with the header's client.
        out.push(exchange(
            "127.0.0.1",
            a4("127.0.0.1", port),
            &[&[v1("203.0.113.77", 4452), get("/server-status", true, "")].concat()],
        ));
        // curl's own header (its source address, here 127.0.0.4).
        let curl = Command::new("curl")
            .args(["-sS", "--max-time", "10", "--haproxy-protocol"])
            .args(["--interface", "127.0.0.4"])
            .arg(format!("http://127.0.0.1:{port}/i.html"))
            .output()
            .expect("curl");
        out.push(curl.stdout);
        // The last line is written after the response: wait for it before the server stops.
        let log = format!("{tag}_pp.log");
        wait_until(Duration::from_secs(5), || {
            s.log(&log).contains("127.0.0.4|")
        });
        out
    });
    for (i, (what, ..)) in cases.iter().enumerate() {
        assert_eq!(
            statuses(&a[i]),
            statuses(&m[i]),
            "{what}: apache2 (left) vs mpmd (right): {:?}",
            String::from_utf8_lossy(&m[i])
        );
    }
    // Pinned (apache2's answers), so that a change on both sides is noticed too.
    let pinned: Vec<Vec<u16>> = m.iter().take(cases.len()).map(|r| statuses(r)).collect();
    assert_eq!(
        pinned,
        [
            vec![200],
            vec![200],
            vec![200],
            vec![200],
            vec![403],
            vec![403],
            vec![200],
            vec![200, 200],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![200],
            vec![400],
            vec![200],
        ]
    );
    let st = cases.len();
    for (who, r) in [("apache2", &a[st]), ("mpmd", &m[st])] {
        let text = String::from_utf8_lossy(r);
        assert!(text.contains("203.0.113.77"), "{who} server-status: {text}");
    }
    assert_eq!(a[st + 1], b"index\n", "apache2 with curl");
    assert_eq!(m[st + 1], b"index\n", "mpmd with curl");

    let (al, ml) = (s.log("apache_pp.log"), s.log("mpmd_pp.log"));
    // mpmd does not log a request refused while its head is read (the excepted peer's
    // header read as a request line: 400); apache2 does. Not this module's business.
    let keep = |l: &&str| !l.contains("|400|");
    let al: Vec<String> = al.lines().filter(keep).map(normalize).collect();
    let ml: Vec<String> = ml.lines().filter(keep).map(normalize).collect();
    assert_eq!(al, ml, "access logs: apache2 (left) vs mpmd (right)");
    for want in [
        "203.0.113.9|127.0.0.1|203.0.113.9|4444|/i.html|200|-",
        "203.0.113.10|127.0.0.1|203.0.113.10|4445|/i.html|200|-",
        "203.0.113.12|127.0.0.1|203.0.113.12|4447|/i.html|200|-",
        "2001:db8::7|127.0.0.1|2001:db8::7|4448|/doc/i.html|200|-",
        "127.0.0.1|127.0.0.1|127.0.0.1|PORT|/doc/i.html|403|-",
        "203.0.113.14|127.0.0.1|203.0.113.14|4451|/i.html|200|198.51.100.9",
        "203.0.113.11|127.0.0.1|203.0.113.11|4446|/doc/i.html|200|-",
        "127.0.0.2|127.0.0.2|127.0.0.2|PORT|/i.html|200|-",
        "127.0.0.4|127.0.0.4|127.0.0.4|PORT|/i.html|200|-",
    ] {
        assert!(
            ml.iter().any(|l| l == want),
            "no line {want}:\n{}",
            ml.join("\n")
        );
    }
    // The refusals are logged with httpd's tags; a connection without a header is not.
    for (who, log) in [
        ("apache2", s.log("apache_error_log")),
        ("mpmd", s.log("mpmd_error_log")),
    ] {
        for tag in ["AH03499", "AH10183", "AH03513"] {
            assert!(log.contains(tag), "{who}: no {tag} in\n{log}");
        }
    }
}

/// mpmd alone, on its harness port: the harness' own requests come from 127.0.0.1, excepted;
/// the proxied ones from 127.0.0.2.
const CONF: &str = "LoadModule remoteip_module x.so\n\
     LoadModule authz_core_module x.so\nLoadModule authz_host_module x.so\n\
     RemoteIPProxyProtocol On\nRemoteIPProxyProtocolExceptions 127.0.0.1\n\
     Timeout 2\n\
     LogFormat \"%a|%{c}a|%{remote}p|%U|%>s\" pp\nCustomLog logs/pp.log pp\n\
     <Location /doc>\nRequire ip 203.0.113.0/24\n</Location>\n";

fn log_lines(s: &Server) -> Vec<String> {
    std::fs::read_to_string(s.path("logs/pp.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn header_in_pieces_keep_alive_and_pipelining(mpm: &str) {
    let s = Server::start(mpm, CONF);
    std::fs::create_dir_all(s.path("htdocs/doc")).unwrap();
    std::fs::write(s.path("htdocs/doc/i.html"), b"doc\n").unwrap();
    let to: SocketAddr = format!("127.0.0.1:{}", s.port).parse().unwrap();

    // Byte by byte: every byte is a wake-up of the engine with an incomplete header.
    let h = v2(1, "203.0.113.5:4001".parse().unwrap(), b"\x05\x00\x02ab");
    let req = get("/doc/i.html", true, "");
    let mut parts: Vec<&[u8]> = h.chunks(1).collect();
    parts.push(&req);
    let r = exchange("127.0.0.2", to, &parts);
    assert_eq!(statuses(&r), [200], "{}", String::from_utf8_lossy(&r));

    // The header alone, a pause, then the request: the connection waits (event parks it)
    // with the header already taken.
    let h = v1("203.0.113.6", 4002);
    let r = exchange("127.0.0.2", to, &[&h, &req]);
    assert_eq!(statuses(&r), [200]);

    // Header and two pipelined requests in one segment: nothing past the header is lost.
    let all = [
        v1("203.0.113.7", 4003),
        get("/doc/i.html", false, ""),
        get("/index.html", true, ""),
    ]
    .concat();
    let r = exchange("127.0.0.2", to, &[&all]);
    assert_eq!(statuses(&r), [200, 200]);

    // Not in the exceptions and no header: closed, nothing sent.
    let r = exchange("127.0.0.2", to, &[&get("/index.html", true, "")]);
    assert_eq!(r, b"");
    // A header refused: closed, logged as httpd does.
    let r = exchange(
        "127.0.0.2",
        to,
        &[b"PROXY TCP4 203.0.113.x 127.0.0.1 1 80\r\n"],
    );
    assert_eq!(r, b"");
    // A header that never ends: closed after Timeout.
    let started = std::time::Instant::now();
    let r = exchange("127.0.0.2", to, &[b"PROXY TCP4 203.0.1"]);
    assert_eq!(r, b"");
    assert!(started.elapsed() >= Duration::from_millis(1500));

    assert!(wait_until(Duration::from_secs(5), || log_lines(&s).len() >= 5));
    let lines = log_lines(&s);
    for want in [
        "203.0.113.5|127.0.0.2|4001|/doc/i.html|200",
        "203.0.113.6|127.0.0.2|4002|/doc/i.html|200",
        "203.0.113.7|127.0.0.2|4003|/doc/i.html|200",
        "203.0.113.7|127.0.0.2|4003|/index.html|200",
    ] {
        assert!(lines.iter().any(|l| l == want), "no {want} in {lines:?}");
    }
    let err = s.error_log();
    assert!(
        err.contains("] AH03500: RemoteIPProxyProtocol: invalid client-address '203.0.113.x'"),
        "{err}"
    );
    assert!(err.contains("AH10184: failed reading input"), "{err}");
    assert!(
        err.contains("AH03492: RemoteIPProxyProtocol: enabled on 0.0.0.0:0"),
        "{err}"
    );
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls_client(ca: &std::path::Path, alpn: &[u8]) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(cfg)
}

fn tls_and_h2_behind_the_header(mpm: &str) {
    let s = tlsutil::start(
        mpm,
        "LoadModule remoteip_module x.so\nRemoteIPProxyProtocol On\n\
         RemoteIPProxyProtocolExceptions 127.0.0.1\n\
         LogFormat \"%a|%{c}a|%{remote}p|%H|%>s\" pp\nCustomLog logs/pp.log pp\n",
    );
    // A v2 header, then the TLS handshake and a request: the ClientHello follows the header
    // in the same stream and must reach rustls whole.
    let cfg = tls_client(&s.certs.path("ca.pem"), b"http/1.1");
    let mut sock = connect_from(
        "127.0.0.2",
        format!("127.0.0.1:{}", s.tls_port).parse().unwrap(),
    );
    sock.write_all(&v2(1, "203.0.113.20:5001".parse().unwrap(), b""))
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("a.test").unwrap();
    let conn = rustls::ClientConnection::new(cfg, name).unwrap();
    let mut tls: Tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"GET /index.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    assert_eq!(statuses(&out), [200], "{}", String::from_utf8_lossy(&out));

    // curl's header over TLS, HTTP/1.1 and h2 (ALPN), and h2c with prior knowledge.
    for (proto, url, want) in [
        ("--http1.1", s.https("a.test", "/index.html"), "1.1 200"),
        ("--http2", s.https("a.test", "/index.html"), "2 200"),
        ("--http2-prior-knowledge", s.http("/index.html"), "2 200"),
    ] {
        let (rc, body, info) = s.curl(
            &[proto, "--haproxy-protocol", "--interface", "127.0.0.2"],
            &url,
        );
        assert_eq!((rc, info.as_str()), (0, want), "{proto}");
        assert_eq!(body, b"hello mpmd\n", "{proto}");
    }
    // The harness' port is excepted for 127.0.0.1 only: curl from 127.0.0.2 without the
    // header is refused there.
    let (rc, _, _) = s.curl(&["--interface", "127.0.0.2"], &s.http("/index.html"));
    assert_ne!(rc, 0);

    assert!(wait_until(Duration::from_secs(5), || {
        log_lines(&s.srv).len() >= 4
    }));
    let lines = log_lines(&s.srv);
    for want in [
        "203.0.113.20|127.0.0.2|5001|HTTP/1.1|200",
        "127.0.0.2|127.0.0.2|",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "no {want} in {lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("|HTTP/2.0|200")),
        "{lines:?}"
    );
}

/// A TLS virtual host on 127.0.0.3 behind the PROXY protocol, on both servers: a v2 header,
/// then the handshake and two requests on the connection (HTTP/1.1, ALPN `http/1.1`).
fn proxy_protocol_over_tls_vs_apache(mpm: &str) {
    if !available() {
        return;
    }
    let certs = tlsutil::Certs::new(&["a.test"]);
    let d = certs.dir.path().display();
    let conf = format!(
        "RemoteIPProxyProtocol On\n\
         LogFormat \"%a|%{{c}}a|%{{remote}}p|%U|%>s|%H\" pp\n\
         CustomLog @ROOT@/logs/@TAG@_pp.log pp\n\
         Listen 127.0.0.3:@PORT@ https\n\
         <VirtualHost 127.0.0.3:@PORT@>\nServerName a.test\nSSLEngine on\n\
         SSLCertificateFile {d}/a.test.crt\nSSLCertificateKeyFile {d}/a.test.key\n\
         </VirtualHost>\n"
    );
    let s = Site::new(&["remoteip", "ssl"], &conf);
    s.file("htdocs/i.html", b"index\n");
    let cfg = tls_client(&certs.path("ca.pem"), b"http/1.1");
    let (a, m) = s.with_both(mpm, |port, tag| {
        let to: SocketAddr = format!("127.0.0.3:{port}").parse().unwrap();
        let mut sock = connect_from("127.0.0.1", to);
        let h = v2(1, "203.0.113.30:5002".parse().unwrap(), b"\x20\x00\x01\x01");
        // The header in two pieces, the ClientHello right behind the second.
        sock.write_all(&h[..9]).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        sock.write_all(&h[9..]).unwrap();
        let name = rustls::pki_types::ServerName::try_from("a.test").unwrap();
        let conn = rustls::ClientConnection::new(cfg.clone(), name).unwrap();
        let mut tls: Tls = rustls::StreamOwned::new(conn, sock);
        let mut reqs = get("/i.html", false, "Host: a.test\r\n");
        reqs.extend_from_slice(&get("/i.html", true, "Host: a.test\r\n"));
        let reqs = String::from_utf8(reqs)
            .unwrap()
            .replace("Host: localhost\r\n", "");
        tls.write_all(reqs.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out);
        let log = format!("{tag}_pp.log");
        wait_until(Duration::from_secs(5), || s.log(&log).lines().count() >= 2);
        statuses(&out)
    });
    assert_eq!(a, [200, 200], "apache2");
    assert_eq!(m, a, "mpmd");
    let (al, ml) = (s.log("apache_pp.log"), s.log("mpmd_pp.log"));
    assert_eq!(al, ml, "access logs: apache2 (left) vs mpmd (right)");
    assert_eq!(
        ml.lines().next(),
        Some("203.0.113.30|127.0.0.1|5002|/i.html|200|HTTP/1.1")
    );
}

mpm_tests!(
    proxy_protocol_vs_apache,
    proxy_protocol_over_tls_vs_apache,
    header_in_pieces_keep_alive_and_pipelining,
    tls_and_h2_behind_the_header
);

/// `-t` on a bad `RemoteIPProxyProtocol…` line: mpmd's message is apache2's.
#[test]
fn directive_errors_match_apache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let cases = [
        "RemoteIPProxyProtocol maybe",
        "RemoteIPProxyProtocol",
        "RemoteIPProxyProtocolExceptions",
        "RemoteIPProxyProtocolExceptions 10.0.0.0/8 foo",
        "RemoteIPProxyProtocolExceptions 300.1.1.1",
        "RemoteIPProxyProtocolExceptions 10.0.0.0/40",
        "RemoteIPProxyProtocolExceptions 10.1 ::1/64 192.0.2.0/255.255.255.0",
        "<Directory />\nRemoteIPProxyProtocol On\n</Directory>",
    ];
    let oracle = std::path::Path::new(modules_oracle::APACHE).exists();
    for (i, d) in cases.iter().enumerate() {
        let conf = root.join(format!("c{i}.conf"));
        let text = format!(
            "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
             LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so\n\
             ServerRoot {r}\nServerName localhost\nListen 127.0.0.1:19583\n\
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
        let (mc, mt) = run(modules_oracle::BIN);
        if d.contains("10.1 ::1/64") {
            assert_eq!((mc, mt.as_str()), (Some(0), "Syntax OK\n"), "{d}");
        } else {
            assert_eq!(mc, Some(1), "{d}: {mt}");
        }
        if oracle {
            let (ac, at) = run(modules_oracle::APACHE);
            assert_eq!(ac, mc, "{d}: exit code; apache2 said {at}");
            assert_eq!(at, mt, "{d}: apache2 (left) vs mpmd (right)");
        }
    }
}
