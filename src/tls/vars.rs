//! mod_ssl's variables (`SSL_PROTOCOL`, `SSL_CIPHER`, `SSL_SERVER_S_DN` …): what a TLS
//! connection knows of itself (`ConnSsl`, taken once after the handshake, no allocation) and
//! what the server certificate says (`CertVars`, computed once per vhost at config load).
//! `lookup` answers one name, as httpd's `ssl_var_lookup`; nothing is computed per request
//! unless a request asks (`SSLOptions +StdEnvVars`, `%{…}x`, `%{…}s`, `%{SSL:…}`).

use std::sync::Arc;

use rustls::{HandshakeKind, ProtocolVersion, ServerConnection, SupportedCipherSuite};

/// What httpd reports as its mod_ssl (`SSL_VERSION_INTERFACE`): the Apache version mpmd
/// announces in `Server:`.
pub const VERSION_INTERFACE: &str = "mod_ssl/2.4.71";
/// `SSL_VERSION_LIBRARY`: the TLS library, rustls here (OpenSSL/3.x under httpd).
pub const VERSION_LIBRARY: &str = "rustls/0.23";

/// The TLS facts of one connection, as mod_ssl's variables need them.
#[derive(Clone, Debug)]
pub struct ConnSsl {
    pub version: Option<ProtocolVersion>,
    pub suite: Option<SupportedCipherSuite>,
    pub resumed: bool,
    /// rustls does not expose the session ID: a value exported from the session's keys
    /// (RFC 5705) stands in for it, unique per session and stable within a connection.
    /// Exported when asked (`SslConn::conn`), or here for a connection handed to HTTP/2.
    pub session_id: Option<[u8; 32]>,
    /// The server certificate's variables (the vhost's first certificate).
    pub cert: Arc<CertVars>,
}

impl ConnSsl {
    /// The facts of a finished handshake; nothing is computed that a request may not ask.
    pub fn of(conn: &ServerConnection, cert: Arc<CertVars>) -> ConnSsl {
        ConnSsl {
            version: conn.protocol_version(),
            suite: conn.negotiated_cipher_suite(),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            session_id: None,
            cert,
        }
    }

    /// With the session ID taken now: for HTTP/2, whose streams are served without the
    /// rustls connection at hand.
    pub fn with_session_id(mut self, conn: &ServerConnection) -> ConnSsl {
        self.session_id = Some(session_id(conn));
        self
    }

    fn protocol(&self) -> &'static str {
        match self.version {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "",
        }
    }

    fn cipher(&self) -> &'static str {
        self.suite.map(super::ciphers::openssl_name).unwrap_or("")
    }

    /// The symmetric key size in bits (AES-128: 128; AES-256 and ChaCha20: 256).
    fn key_bits(&self) -> &'static str {
        let name = self.cipher();
        if name.contains("AES128") || name.contains("AES_128") {
            "128"
        } else {
            "256"
        }
    }
}

fn session_id(conn: &ServerConnection) -> [u8; 32] {
    conn.export_keying_material([0u8; 32], b"EXPERIMENTAL mpmd session id", None)
        .unwrap_or([0u8; 32])
}

/// The TLS connection a request came on, as mod_ssl's lookups need it.
#[derive(Clone, Copy, Debug)]
pub struct SslConn<'a> {
    /// The name the client sent with SNI.
    pub sni: Option<&'a str>,
    pub ssl: &'a ConnSsl,
    /// The rustls connection, when at hand (HTTP/1.x), for what is computed on demand.
    pub conn: Option<&'a ServerConnection>,
}

/// The `SSL_SERVER_*` variables of one certificate, in the order httpd's fixup sets them.
#[derive(Debug, Default)]
pub struct CertVars {
    pub vars: Vec<(String, String)>,
    /// `SSL_SERVER_CERT` (`+ExportCertData`): the certificate in PEM.
    pub pem: String,
}

/// The names `SSLOptions +StdEnvVars` puts in the environment, in httpd's order; the
/// `SSL_SERVER_*` certificate variables follow them.
pub const STD_ENV_VARS: &[&str] = &[
    "SSL_VERSION_INTERFACE",
    "SSL_VERSION_LIBRARY",
    "SSL_PROTOCOL",
    "SSL_SECURE_RENEG",
    "SSL_COMPRESS_METHOD",
    "SSL_CIPHER",
    "SSL_CIPHER_EXPORT",
    "SSL_CIPHER_USEKEYSIZE",
    "SSL_CIPHER_ALGKEYSIZE",
    "SSL_CLIENT_VERIFY",
    "SSL_SESSION_ID",
    "SSL_SESSION_RESUMED",
];

/// httpd's `ssl_var_lookup` for the names mpmd knows: `None` for an unknown name or one with
/// no value (client-certificate variables: mpmd asks for no client certificate).
pub fn lookup<'a>(t: SslConn<'a>, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow::{Borrowed, Owned};
    let ssl = t.ssl;
    let v = match name {
        "SSL_TLS_SNI" => Borrowed(t.sni.unwrap_or("")),
        "SSL_VERSION_INTERFACE" => Borrowed(VERSION_INTERFACE),
        "SSL_VERSION_LIBRARY" => Borrowed(VERSION_LIBRARY),
        "SSL_PROTOCOL" => Borrowed(ssl.protocol()),
        // rustls signals RFC 5746 support and never renegotiates.
        "SSL_SECURE_RENEG" => Borrowed("true"),
        "SSL_COMPRESS_METHOD" => Borrowed("NULL"),
        "SSL_CIPHER" => Borrowed(ssl.cipher()),
        "SSL_CIPHER_EXPORT" => Borrowed("false"),
        "SSL_CIPHER_USEKEYSIZE" | "SSL_CIPHER_ALGKEYSIZE" => Borrowed(ssl.key_bits()),
        "SSL_CLIENT_VERIFY" => Borrowed("NONE"),
        "SSL_SESSION_ID" => match (ssl.session_id, t.conn) {
            (Some(id), _) => Owned(hex(&id, false)),
            (None, Some(conn)) => Owned(hex(&session_id(conn), false)),
            (None, None) => return None,
        },
        "SSL_SESSION_RESUMED" => Borrowed(if ssl.resumed { "Resumed" } else { "Initial" }),
        "SSL_SERVER_CERT" => Borrowed(ssl.cert.pem.as_str()),
        _ => {
            return ssl
                .cert
                .vars
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| Borrowed(v.as_str()))
        }
    };
    (!v.is_empty()).then_some(v)
}

fn hex(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digits[(b >> 4) as usize] as char);
        s.push(digits[(b & 15) as usize] as char);
    }
    s
}

/// The DN attributes mod_ssl exports one by one (`SSL_SERVER_S_DN_CN` …): its name for
/// them, the OID, and OpenSSL's short name used in the whole-DN string.
const DN_ATTRS: &[(&str, &str, &str)] = &[
    ("C", "2.5.4.6", "C"),
    ("ST", "2.5.4.8", "ST"),
    ("L", "2.5.4.7", "L"),
    ("O", "2.5.4.10", "O"),
    ("OU", "2.5.4.11", "OU"),
    ("CN", "2.5.4.3", "CN"),
    ("T", "2.5.4.12", "title"),
    ("I", "2.5.4.43", "initials"),
    ("G", "2.5.4.42", "GN"),
    ("S", "2.5.4.4", "SN"),
    ("D", "2.5.4.13", "description"),
    ("UID", "2.5.4.45", "x500UniqueIdentifier"),
    ("Email", "1.2.840.113549.1.9.1", "emailAddress"),
];

/// OpenSSL's names for the key and signature algorithms (`SSL_SERVER_A_KEY`, `_A_SIG`).
const ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.1", "rsaEncryption"),
    ("1.2.840.10045.2.1", "id-ecPublicKey"),
    ("1.3.101.112", "ED25519"),
    ("1.3.101.113", "ED448"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
];

fn algorithm(oid: String) -> String {
    ALGORITHMS
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or(oid, |(_, n)| n.to_string())
}

/// The variables of a DER certificate (`SSL_SERVER_*`); empty when it does not parse.
pub fn cert_vars(der: &[u8]) -> CertVars {
    use base64::Engine;
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or(""));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return CertVars {
            vars: Vec::new(),
            pem,
        };
    };
    let mut vars = Vec::new();
    let mut set = |n: &str, v: String| vars.push((format!("SSL_SERVER_{n}"), v));
    set("M_VERSION", (cert.version().0 + 1).to_string());
    let serial = cert.raw_serial();
    let first = serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial.len().saturating_sub(1));
    set("M_SERIAL", hex(&serial[first..], true));
    set("V_START", asn1_time(cert.validity().not_before.timestamp()));
    set("V_END", asn1_time(cert.validity().not_after.timestamp()));
    set("S_DN", dn_string(cert.subject()));
    set("I_DN", dn_string(cert.issuer()));
    set(
        "A_KEY",
        algorithm(cert.public_key().algorithm.algorithm.to_id_string()),
    );
    set(
        "A_SIG",
        algorithm(cert.signature_algorithm.algorithm.to_id_string()),
    );
    for (which, name) in [("S_DN", cert.subject()), ("I_DN", cert.issuer())] {
        let mut seen: Vec<&str> = Vec::new();
        for atv in name.iter_attributes() {
            let oid = atv.attr_type().to_id_string();
            let Some((short, _, _)) = DN_ATTRS.iter().find(|(_, o, _)| *o == oid) else {
                continue;
            };
            let n = seen.iter().filter(|s| *s == short).count();
            seen.push(short);
            let key = match n {
                0 => format!("{which}_{short}"),
                n => format!("{which}_{short}_{n}"),
            };
            set(&key, attr_text(atv));
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let (mut dns, mut email) = (0, 0);
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(d) => {
                    set(&format!("SAN_DNS_{dns}"), d.to_string());
                    dns += 1;
                }
                GeneralName::RFC822Name(e) => {
                    set(&format!("SAN_Email_{email}"), e.to_string());
                    email += 1;
                }
                _ => {}
            }
        }
    }
    CertVars { vars, pem }
}

fn attr_text(atv: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    match atv.as_str() {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(atv.as_slice()).into_owned(),
    }
}

/// A DN as mod_ssl prints it (RFC 2253: last RDN first, `,` between RDNs, `+` within one,
/// special characters escaped with `\`).
fn dn_string(name: &x509_parser::x509::X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut s = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                s.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            match DN_ATTRS.iter().find(|(_, o, _)| *o == oid) {
                Some((_, _, sn)) => s.push_str(sn),
                None => s.push_str(&oid),
            }
            s.push('=');
            let v = attr_text(atv);
            let last = v.chars().count().saturating_sub(1);
            for (k, c) in v.chars().enumerate() {
                let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
                    || (k == 0 && (c == '#' || c == ' '))
                    || (k == last && c == ' ');
                if special {
                    s.push('\\');
                }
                s.push(c);
            }
        }
    }
    s
}

/// OpenSSL's `ASN1_TIME_print`: `Dec  3 20:20:05 2026 GMT`.
fn asn1_time(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {:2} {:02}:{:02}:{:02} {} GMT",
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn1_time_like_openssl() {
        assert_eq!(asn1_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(asn1_time(1_796_328_005), "Dec  3 20:00:05 2026 GMT");
        assert_eq!(asn1_time(951_782_400), "Feb 29 00:00:00 2000 GMT");
    }

    #[test]
    fn certificate_variables() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.test".into(), "www.a.test".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "DE");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Test, Org");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a.test");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let v = cert_vars(cert.der());
        let get = |n: &str| v.vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("SSL_SERVER_S_DN"), Some("CN=a.test,O=Test\\, Org,C=DE"));
        assert_eq!(get("SSL_SERVER_S_DN_O"), Some("Test, Org"));
        assert_eq!(get("SSL_SERVER_I_DN_CN"), Some("a.test"));
        assert_eq!(get("SSL_SERVER_M_VERSION"), Some("3"));
        assert_eq!(get("SSL_SERVER_SAN_DNS_1"), Some("www.a.test"));
        assert_eq!(get("SSL_SERVER_A_KEY"), Some("id-ecPublicKey"));
        assert_eq!(get("SSL_SERVER_A_SIG"), Some("ecdsa-with-SHA256"));
        assert!(v.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    }
}
