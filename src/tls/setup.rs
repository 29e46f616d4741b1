//! `prepare`: from the typed mod_ssl settings to one rustls `ServerConfig` per SSL vhost and
//! address. Runs in the parent at every config load (start, restart, `-t`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ListenSpec, MpmKind, ServerConf, ServerConfig};

/// Why the TLS setup of an address failed. Messages follow mod_ssl's (AH numbers included).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("AH02572: Failed to configure at least one certificate and key for {server}")]
    NoCertificate { server: String },
    #[error(
        "AH02577: Init: SSLCertificateKeyFile missing for {server}: {cert} holds no private key"
    )]
    NoKey { server: String, cert: PathBuf },
    #[error("could not read certificate file {path}: {reason}")]
    ReadCertificate { path: PathBuf, reason: String },
    #[error(
        "AH02564: Failed to configure encrypted (?) private key {server}:0, check {path}: {reason}"
    )]
    ReadKey {
        server: String,
        path: PathBuf,
        reason: String,
    },
    #[error("AH02565: Certificate and private key {server}:0 from {cert} and {key} do not match")]
    KeyMismatch {
        server: String,
        cert: PathBuf,
        key: PathBuf,
    },
    #[error("could not set up TLS for {server}: {reason}")]
    Rustls { server: String, reason: String },
}

/// Every TLS address of a generation.
#[derive(Clone, Debug, Default)]
pub struct TlsSetup {
    pub ports: Vec<TlsPort>,
}

/// One `Listen` address whose base server has SSL on: its SSL vhosts in config order.
#[derive(Clone, Debug)]
pub struct TlsPort {
    pub listen: SocketAddr,
    pub sites: Vec<Site>,
    /// `SSLStrictSNIVHostCheck` of the base server: clients without SNI are refused.
    pub strict_sni: bool,
}

/// One SSL vhost as seen from an address.
#[derive(Clone, Debug)]
pub struct Site {
    /// The vhost's IP (`None` for `*`/`_default_`), to prefer IP-based vhosts like httpd.
    pub ip: Option<IpAddr>,
    /// ServerName and ServerAlias (wildcards kept), lowercase.
    pub names: Vec<String>,
    /// Index in `ServerConfig::vhosts`; `None` = the main server.
    pub vhost: Option<usize>,
    pub config: Arc<rustls::ServerConfig>,
    /// mod_ssl's `SSL_SERVER_*` variables of the vhost's first certificate.
    pub cert: Arc<super::vars::CertVars>,
}

impl TlsSetup {
    /// The TLS address a connection accepted on `local` belongs to, if any.
    pub fn port_for(&self, local: SocketAddr) -> Option<&TlsPort> {
        self.ports.iter().find(|p| {
            p.listen.port() == local.port()
                && (p.listen.ip().is_unspecified() || same_ip(p.listen.ip(), local.ip()))
        })
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    canon(a) == canon(b)
}

impl TlsPort {
    /// The vhost for a ClientHello that arrived on `local`: IP-based vhosts of that IP first,
    /// then the wildcard ones; among them the first whose name matches the SNI, else the first.
    pub fn select(&self, local: IpAddr, sni: Option<&str>) -> Option<&Site> {
        let exact: Vec<&Site> = self
            .sites
            .iter()
            .filter(|s| s.ip.is_some_and(|ip| same_ip(ip, local)))
            .collect();
        let candidates = if exact.is_empty() {
            self.sites.iter().filter(|s| s.ip.is_none()).collect()
        } else {
            exact
        };
        let candidates = if candidates.is_empty() {
            self.sites.iter().collect()
        } else {
            candidates
        };
        if let Some(sni) = sni {
            let sni = sni.to_ascii_lowercase();
            if let Some(s) = candidates
                .iter()
                .find(|s| s.names.iter().any(|n| name_matches(n, &sni)))
            {
                return Some(s);
            }
        }
        candidates.first().copied()
    }
}

/// `ServerName`/`ServerAlias` matching: exact, or shell wildcards `*` and `?`.
fn name_matches(pattern: &str, host: &str) -> bool {
    fn rec(p: &[u8], h: &[u8]) -> bool {
        match (p.first(), h.first()) {
            (None, None) => true,
            (Some(b'*'), _) => rec(&p[1..], h) || (!h.is_empty() && rec(p, &h[1..])),
            (Some(b'?'), Some(_)) => rec(&p[1..], &h[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &h[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), host.as_bytes())
}

/// Does a vhost listen on this address (`<VirtualHost>` address vs `Listen`)?
fn vhost_on(v: &ServerConf, listen: &ListenSpec) -> Option<Option<IpAddr>> {
    v.addrs.iter().find_map(|a| {
        let port_ok = a.port.map_or(true, |p| p == listen.addr.port());
        let ip_ok = match a.ip {
            None => true,
            Some(ip) => listen.addr.ip().is_unspecified() || same_ip(ip, listen.addr.ip()),
        };
        (port_ok && ip_ok).then_some(a.ip)
    })
}

/// httpd's default protocol of a `Listen`: the protocol argument, else `https` on port 443.
pub fn listen_is_https(l: &ListenSpec) -> bool {
    match &l.protocol {
        Some(p) => p.eq_ignore_ascii_case("https"),
        None => l.addr.port() == 443,
    }
}

fn ssl_on(s: &ServerConf, https: bool) -> bool {
    s.ssl.engine.unwrap_or(https)
}

/// Builds `cfg.tls` from the mod_ssl settings; with mod_ssl not loaded nothing is TLS.
pub fn prepare(cfg: &mut ServerConfig) -> Result<(), TlsError> {
    cfg.tls = TlsSetup::default();
    if !cfg.modules.contains(&"ssl") {
        return Ok(());
    }
    // One ticket key for the whole generation: children share it, so a ticket issued by one
    // child resumes in another.
    let ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Rustls {
        server: "ticketer".into(),
        reason: e.to_string(),
    })?;
    type Built = (Arc<rustls::ServerConfig>, Arc<super::vars::CertVars>);
    let mut built: Vec<(Option<usize>, Built)> = Vec::new();
    let mut ports = Vec::new();
    for listen in &cfg.listen {
        let https = listen_is_https(listen);
        let on: Vec<(Option<usize>, Option<IpAddr>)> = cfg
            .vhosts
            .iter()
            .enumerate()
            .filter_map(|(i, v)| vhost_on(v, listen).map(|ip| (Some(i), ip)))
            .collect();
        let servers = if on.is_empty() {
            vec![(None, None)]
        } else {
            on
        };
        let server = |i: Option<usize>| i.map_or(&cfg.main, |i| &cfg.vhosts[i]);
        let base = server(servers[0].0);
        if !ssl_on(base, https) {
            continue;
        }
        let mut sites = Vec::new();
        for &(i, ip) in &servers {
            let s = server(i);
            if !ssl_on(s, https) {
                cfg.warnings.push(format!(
                    "AH02241: vhost {} on the TLS address {} has SSLEngine off: it is reached \
                     over TLS with the certificate of the address' default vhost",
                    display_name(s, listen.addr),
                    listen.addr
                ));
                continue;
            }
            let (config, cert) = match built.iter().find(|(b, _)| *b == i) {
                Some((_, c)) => c.clone(),
                None => {
                    let (c, cert) = site_config(cfg, s, listen.addr, &ticketer)?;
                    let c = (Arc::new(c), Arc::new(cert));
                    built.push((i, c.clone()));
                    c
                }
            };
            let mut names: Vec<String> = s.server_name.iter().cloned().collect();
            names.extend(s.server_aliases.iter().cloned());
            let names = names
                .into_iter()
                .map(|n| {
                    let n = n.to_ascii_lowercase();
                    // ServerName may carry a scheme and a port.
                    let n = n.split("://").last().unwrap_or(&n).to_string();
                    match n.rsplit_once(':') {
                        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
                        _ => n,
                    }
                })
                .collect();
            sites.push(Site {
                ip,
                names,
                vhost: i,
                config,
                cert,
            });
        }
        ports.push(TlsPort {
            listen: listen.addr,
            sites,
            strict_sni: base.ssl.strict_sni,
        });
    }
    if cfg.mpm == MpmKind::Prefork
        && cfg.modules.contains(&"http2")
        && (cfg.main.protocols.iter().any(|p| p.starts_with("h2"))
            || cfg
                .vhosts
                .iter()
                .any(|v| v.protocols.iter().any(|p| p.starts_with("h2"))))
    {
        cfg.warnings.push(
            "AH10034: The mpm module (prefork.c) is not supported by mod_http2. mpmd serves \
             HTTP/2 under prefork one stream at a time per connection and ignores \
             'Upgrade: h2c'; use mpm_event for HTTP/2."
                .into(),
        );
    }
    cfg.tls = TlsSetup { ports };
    Ok(())
}

fn display_name(s: &ServerConf, addr: SocketAddr) -> String {
    let name = s
        .server_name
        .clone()
        .unwrap_or_else(|| addr.ip().to_string());
    format!("{name}:{}", addr.port())
}

/// The ALPN protocols a server offers over TLS, in `Protocols` order (the server's order wins,
/// as with `ProtocolsHonorOrder on`). `h2` needs mod_http2.
pub fn alpn_for(cfg: &ServerConfig, s: &ServerConf) -> Vec<Vec<u8>> {
    let h2 = cfg.modules.contains(&"http2");
    s.protocols
        .iter()
        .filter(|p| p.as_str() == "http/1.1" || (h2 && p.as_str() == "h2"))
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

fn site_config(
    cfg: &ServerConfig,
    s: &ServerConf,
    addr: SocketAddr,
    ticketer: &Arc<dyn rustls::server::ProducesTickets>,
) -> Result<(rustls::ServerConfig, super::vars::CertVars), TlsError> {
    let server = display_name(s, addr);
    let keys = load_keys(s, &server)?;
    let cert = keys
        .first()
        .and_then(|k| k.cert.first())
        .map(|c| super::vars::cert_vars(c))
        .unwrap_or_default();
    let ssl = &s.ssl;
    let base = rustls::crypto::ring::default_provider();
    let mut suites = Vec::new();
    if ssl.versions.tls13 {
        match &ssl.tls13_suites {
            Some(list) => suites.extend(list.iter().copied()),
            None => suites.extend(
                base.cipher_suites
                    .iter()
                    .filter(|c| c.version() == &rustls::version::TLS13),
            ),
        }
    }
    if ssl.versions.tls12 {
        match &ssl.tls12_suites {
            Some(list) => suites.extend(list.iter().copied()),
            None => suites.extend(
                base.cipher_suites
                    .iter()
                    .filter(|c| c.version() == &rustls::version::TLS12),
            ),
        }
    }
    let provider = CryptoProvider {
        cipher_suites: suites,
        ..base
    };
    let mut versions = Vec::new();
    if ssl.versions.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if ssl.versions.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let rustls_err = |e: rustls::Error| TlsError::Rustls {
        server: server.clone(),
        reason: e.to_string(),
    };
    let mut sc = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)
        .map_err(rustls_err)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Certificates { keys }));
    sc.alpn_protocols = alpn_for(cfg, s);
    sc.ignore_client_order = ssl.honor_cipher_order;
    if ssl.session_tickets {
        sc.ticketer = ticketer.clone();
    }
    if !ssl.session_cache {
        sc.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    }
    if !ssl.session_tickets && !ssl.session_cache {
        sc.send_tls13_tickets = 0;
    }
    Ok((sc, cert))
}

/// Reads every `SSLCertificateFile` with its key (the paired `SSLCertificateKeyFile`, else
/// the same file) and `SSLCertificateChainFile`, and checks each key matches its certificate.
fn load_keys(s: &ServerConf, server: &str) -> Result<Vec<Arc<CertifiedKey>>, TlsError> {
    let ssl = &s.ssl;
    if ssl.certificate_files.is_empty() {
        return Err(TlsError::NoCertificate {
            server: server.to_string(),
        });
    }
    let chain = match &ssl.chain_file {
        Some(p) => read_certs(p)?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for (i, cert_path) in ssl.certificate_files.iter().enumerate() {
        let mut certs = read_certs(cert_path)?;
        certs.extend(chain.iter().cloned());
        let key_path = ssl.key_files.get(i).unwrap_or(cert_path);
        let key = read_key(key_path).map_err(|reason| {
            if key_path == cert_path && ssl.key_files.get(i).is_none() {
                TlsError::NoKey {
                    server: server.to_string(),
                    cert: cert_path.clone(),
                }
            } else {
                TlsError::ReadKey {
                    server: server.to_string(),
                    path: key_path.clone(),
                    reason,
                }
            }
        })?;
        let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| {
            TlsError::ReadKey {
                server: server.to_string(),
                path: key_path.clone(),
                reason: e.to_string(),
            }
        })?;
        let ck = CertifiedKey::new(certs, signer);
        if ck.keys_match().is_err() {
            return Err(TlsError::KeyMismatch {
                server: server.to_string(),
                cert: cert_path.clone(),
                key: key_path.clone(),
            });
        }
        out.push(Arc::new(ck));
    }
    Ok(out)
}

/// PEM (one or more CERTIFICATE blocks: the certificate, then its chain) or a DER file.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::ReadCertificate {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| err(crate::config::load::io_reason(&e)))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("{e:?}")))?;
    if !certs.is_empty() {
        return Ok(certs);
    }
    // DER: an X.509 certificate is an ASN.1 SEQUENCE.
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    Err(err("no certificate found (PEM or DER expected)".into()))
}

/// PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key, PEM or DER.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = std::fs::read(path).map_err(|e| crate::config::load::io_reason(&e))?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => Ok(k),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            if bytes.windows(10).any(|w| w == b"-----BEGIN") {
                return Err(
                    "no private key found (encrypted keys are not supported by mpmd)".into(),
                );
            }
            PrivateKeyDer::try_from(bytes).map_err(|e| format!("no private key found: {e}"))
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The certificates of one vhost (several: e.g. RSA and ECDSA); the first one whose key can
/// sign with a scheme the client offers is used.
#[derive(Debug)]
struct Certificates {
    keys: Vec<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        self.keys
            .iter()
            .find(|k| k.key.choose_scheme(offered).is_some())
            .or(self.keys.first())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_with, LoadOptions};
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use std::io::{Read, Write};
    use std::time::Duration;

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn ca() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "mpmd test CA");
        Ca {
            cert: p.self_signed(&key).unwrap(),
            key,
        }
    }

    /// Writes `NAME.crt` and `NAME.key` (ECDSA P-256) signed by the CA into `dir`.
    fn leaf(ca: &Ca, dir: &Path, name: &str) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec![name.to_string(), format!("*.{name}")]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        cert.der().to_vec()
    }

    fn load(dir: &Path, body: &str) -> Result<ServerConfig, crate::config::LoadError> {
        let text = format!(
            "ServerRoot {root}\nLoadModule mpm_event_module x.so\nLoadModule ssl_module x.so\n\
             LoadModule http2_module x.so\nLoadModule authz_core_module x.so\n\
             ServerName main.test\nDocumentRoot {root}\nErrorLog {root}/err\nPidFile {root}/pid\n{body}",
            root = dir.display()
        );
        std::fs::write(dir.join("t.conf"), text).unwrap();
        load_with(&LoadOptions {
            server_root: Some(dir.to_path_buf()),
            config_file: dir.join("t.conf"),
            ..Default::default()
        })
    }

    fn two_vhosts(dir: &Path) -> String {
        format!(
            "Listen 127.0.0.1:8443 https\n\
             <VirtualHost *:8443>\nServerName a.test\nSSLEngine on\n\
             SSLCertificateFile {d}/a.test.crt\nSSLCertificateKeyFile {d}/a.test.key\n\
             Protocols h2 http/1.1\n</VirtualHost>\n\
             <VirtualHost *:8443>\nServerName b.test\nServerAlias *.b.test\nSSLEngine on\n\
             SSLCertificateFile {d}/b.test.crt\nSSLCertificateKeyFile {d}/b.test.key\n\
             SSLProtocol -all +TLSv1.2\n</VirtualHost>\n",
            d = dir.display()
        )
    }

    /// Runs our server handshake against a rustls client on loopback; returns the end-entity
    /// certificate the client saw, the ALPN and the TLS version agreed, and the vhost index.
    fn connect(
        port: &TlsPort,
        ca: &Ca,
        sni: &str,
        alpn: &[&[u8]],
    ) -> (
        Vec<u8>,
        Option<Vec<u8>>,
        rustls::ProtocolVersion,
        Option<usize>,
    ) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let port = port.clone();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut tls = super::super::handshake(&tcp, &port, Duration::from_secs(10)).unwrap();
            let mut buf = [0u8; 5];
            let mut got = 0;
            while got < 5 {
                got += tls.read(&tcp, &mut buf[got..]).unwrap();
            }
            assert_eq!(&buf, b"hello");
            assert_eq!(tls.write(&tcp, b"world").unwrap(), 5);
            tls.flush(&tcp).unwrap();
            tls.vhost
        });
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert.der().clone()).unwrap();
        let mut cc = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        cc.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
        let name = rustls_pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(cc), name).unwrap();
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"world");
        let vhost = server.join().unwrap();
        let cert = s.conn.peer_certificates().unwrap()[0].to_vec();
        (
            cert,
            s.conn.alpn_protocol().map(|a| a.to_vec()),
            s.conn.protocol_version().unwrap(),
            vhost,
        )
    }

    #[test]
    fn sni_picks_the_vhost_certificate_alpn_and_protocols() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca();
        let a = leaf(&ca, dir.path(), "a.test");
        let b = leaf(&ca, dir.path(), "b.test");
        let cfg = load(dir.path(), &two_vhosts(dir.path())).unwrap();
        assert_eq!(cfg.tls.ports.len(), 1);
        let port = &cfg.tls.ports[0];
        assert_eq!(port.sites.len(), 2);

        let (cert, alpn, ver, vh) = connect(port, &ca, "a.test", &[b"h2", b"http/1.1"]);
        assert_eq!(cert, a);
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(ver, rustls::ProtocolVersion::TLSv1_3);
        assert_eq!(vh, Some(0));

        // b.test: ServerAlias wildcard, TLS 1.2 only, Protocols inherited (http/1.1 only).
        let (cert, alpn, ver, vh) = connect(port, &ca, "x.b.test", &[b"h2", b"http/1.1"]);
        assert_eq!(cert, b);
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(ver, rustls::ProtocolVersion::TLSv1_2);
        assert_eq!(vh, Some(1));
    }

    #[test]
    fn unknown_sni_gets_the_first_vhost() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca();
        let a = leaf(&ca, dir.path(), "a.test");
        leaf(&ca, dir.path(), "b.test");
        // The client checks the name, so give a.test's certificate a second name.
        let cfg = load(dir.path(), &two_vhosts(dir.path())).unwrap();
        let site = cfg.tls.ports[0]
            .select("127.0.0.1".parse().unwrap(), Some("other.test"))
            .unwrap();
        assert_eq!(site.vhost, Some(0));
        let (cert, ..) = connect(&cfg.tls.ports[0], &ca, "a.test", &[]);
        assert_eq!(cert, a);
    }

    #[test]
    fn no_ssl_module_or_engine_means_no_tls() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load(dir.path(), "Listen 127.0.0.1:8443\n").unwrap();
        assert!(cfg.tls.ports.is_empty());
    }

    #[test]
    fn certificate_errors_use_mod_ssl_wording() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let e = load(
            dir.path(),
            &format!("Listen 127.0.0.1:8443 https\nSSLCertificateFile {d}/missing.pem\n"),
        )
        .unwrap_err()
        .report("mpmd");
        assert!(
            e.contains(&format!(
                "SSLCertificateFile: file '{d}/missing.pem' does not exist or is empty"
            )),
            "{e}"
        );
        assert!(e.contains("line 11"), "{e}");

        let e = load(dir.path(), "Listen 127.0.0.1:8443 https\n")
            .unwrap_err()
            .report("mpmd");
        assert!(
            e.contains(
                "AH02572: Failed to configure at least one certificate and key for main.test:8443"
            ),
            "{e}"
        );

        let ca = ca();
        leaf(&ca, dir.path(), "a.test");
        leaf(&ca, dir.path(), "b.test");
        let e = load(
            dir.path(),
            &format!(
                "Listen 127.0.0.1:8443 https\nSSLCertificateFile {d}/a.test.crt\n\
                 SSLCertificateKeyFile {d}/b.test.key\n"
            ),
        )
        .unwrap_err()
        .report("mpmd");
        assert!(e.contains("AH02565: Certificate and private key"), "{e}");
        assert!(e.contains("do not match"), "{e}");

        std::fs::write(dir.path().join("junk.key"), "junk\n").unwrap();
        let e = load(
            dir.path(),
            &format!(
                "Listen 127.0.0.1:8443 https\nSSLCertificateFile {d}/a.test.crt\n\
                 SSLCertificateKeyFile {d}/junk.key\n"
            ),
        )
        .unwrap_err()
        .report("mpmd");
        assert!(e.contains("AH02564"), "{e}");

        let e = load(dir.path(), "SSLCipherSuite HIGH:NOPE\n")
            .unwrap_err()
            .report("mpmd");
        assert!(e.contains("unknown cipher or alias 'NOPE'"), "{e}");
    }

    #[test]
    fn key_in_the_certificate_file_and_chain_file() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca();
        let a = leaf(&ca, dir.path(), "a.test");
        let both = std::fs::read_to_string(dir.path().join("a.test.crt")).unwrap()
            + &std::fs::read_to_string(dir.path().join("a.test.key")).unwrap();
        std::fs::write(dir.path().join("both.pem"), both).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
        let d = dir.path().display();
        let cfg = load(
            dir.path(),
            &format!(
                "Listen 127.0.0.1:8443 https\nSSLCertificateFile {d}/both.pem\n\
                 SSLCertificateChainFile {d}/ca.pem\n"
            ),
        )
        .unwrap();
        let (cert, ..) = connect(&cfg.tls.ports[0], &ca, "a.test", &[]);
        assert_eq!(cert, a);
    }

    #[test]
    fn wildcard_names() {
        assert!(name_matches("*.example.org", "a.example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(name_matches("a?.test", "ab.test"));
        assert!(name_matches("a.test", "a.test"));
        assert!(!name_matches("a.test", "b.test"));
    }

    #[test]
    fn https_by_protocol_or_port_443() {
        let l = |addr: &str, p: Option<&str>| ListenSpec {
            addr: addr.parse().unwrap(),
            protocol: p.map(String::from),
            span: crate::config::build::synthetic_span("t", 1),
        };
        assert!(listen_is_https(&l("0.0.0.0:443", None)));
        assert!(!listen_is_https(&l("0.0.0.0:443", Some("http"))));
        assert!(listen_is_https(&l("0.0.0.0:8443", Some("https"))));
        assert!(!listen_is_https(&l("0.0.0.0:8443", None)));
    }
}
