//! Shared by the TLS and HTTP/2 integration tests: certificates generated at test time (a CA
//! and one ECDSA leaf per name, never committed), a server with a cleartext port (the
//! harness' readiness port) plus a TLS port with two SNI vhosts, and runners for the curl,
//! openssl, nghttp and h2load command-line clients.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use crate::common::Server;

pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    /// A CA (`ca.pem`) and `NAME.crt`/`NAME.key` for each name.
    pub fn new(names: &[&str]) -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "mpmd test CA");
        let ca = p.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        for name in names {
            let key = KeyPair::generate().unwrap();
            let mut p =
                CertificateParams::new(vec![name.to_string(), "localhost".to_string()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, *name);
            let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
            std::fs::write(dir.path().join(format!("{name}.crt")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Certs { dir }
    }
    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server with `Protocols h2 h2c http/1.1`, the cleartext port `srv.port` and a TLS
/// port with vhosts a.test (default) and b.test.
pub struct TlsServer {
    pub srv: Server,
    pub tls_port: u16,
    pub certs: Certs,
}

pub fn start(mpm: &str, extra: &str) -> TlsServer {
    let certs = Certs::new(&["a.test", "b.test"]);
    let tls_port = free_port();
    let d = certs.dir.path().display();
    let conf = format!(
        "LoadModule ssl_module x.so\nLoadModule http2_module x.so\n\
         LoadModule mime_module x.so\nLoadModule authz_core_module x.so\n\
         Protocols h2 h2c http/1.1\n\
         Listen 127.0.0.1:{tls_port} https\n\
         <VirtualHost *:{tls_port}>\nServerName a.test\nSSLEngine on\n\
         SSLCertificateFile {d}/a.test.crt\nSSLCertificateKeyFile {d}/a.test.key\n</VirtualHost>\n\
         <VirtualHost *:{tls_port}>\nServerName b.test\nSSLEngine on\n\
         SSLCertificateFile {d}/b.test.crt\nSSLCertificateKeyFile {d}/b.test.key\n</VirtualHost>\n\
         {extra}\n"
    );
    let srv = Server::start(mpm, &conf);
    TlsServer {
        srv,
        tls_port,
        certs,
    }
}

impl TlsServer {
    pub fn https(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.tls_port)
    }
    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.srv.port)
    }
    /// `--resolve` arguments so a.test/b.test reach 127.0.0.1.
    pub fn resolve(&self) -> Vec<String> {
        ["a.test", "b.test"]
            .iter()
            .map(|h| format!("{h}:{}:127.0.0.1", self.tls_port))
            .collect()
    }
    /// curl with the test CA: (exit code, body, `http_version status`).
    pub fn curl(&self, args: &[&str], url: &str) -> (i32, Vec<u8>, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "--cacert"])
            .arg(self.certs.path("ca.pem"));
        for r in self.resolve() {
            cmd.arg("--resolve").arg(r);
        }
        let body = self.srv.path("curl.out");
        cmd.args(args)
            .arg("-o")
            .arg(&body)
            .args(["-w", "%{http_version} %{http_code}"])
            .arg(url);
        let out = run(&mut cmd);
        (
            out.status.code().unwrap_or(-1),
            std::fs::read(&body).unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// Runs a client tool; a missing tool fails the test with a hint (scripts/setup.sh installs
/// curl, openssl and nghttp2-client).
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "could not run {:?}: {e} (install curl, openssl, nghttp2-client)",
            cmd.get_program()
        ),
    }
}

/// The subject line `openssl s_client` prints for the certificate the server sent.
pub fn subject_for(port: u16, sni: Option<&str>, ca: &Path) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(ca);
    match sni {
        Some(n) => cmd.args(["-servername", n]),
        None => cmd.arg("-noservername"),
    };
    let out = run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or("")
        .to_string()
}
