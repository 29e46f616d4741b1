//! mod_ssl: the server certificate, key and chain, protocol versions, cipher suites, session
//! tickets (typed in `SslConf`, turned into rustls configurations by `crate::tls`). Settings
//! for client certificates and OCSP stapling are parsed only; client-certificate access
//! control is refused rather than ignored.

use std::path::{Path, PathBuf};

use super::{def, flag, po, un, ApplyCtx};
use crate::conf::Span;
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::Implemented};
use crate::tls::ciphers::{self, Versions};

/// The mod_ssl settings of one server. A vhost starts from the main server's (httpd merges
/// unset vhost fields from the main server the same way).
#[derive(Clone, Debug)]
pub struct SslConf {
    /// `SSLEngine on|off`; `None` = not written (a `Listen … https` address turns it on).
    pub engine: Option<bool>,
    /// Where `SSLEngine` was written, for errors about this server.
    pub engine_span: Option<Span>,
    /// `SSLCertificateFile` (several: e.g. one RSA and one ECDSA certificate).
    pub certificate_files: Vec<PathBuf>,
    /// `SSLCertificateKeyFile`, paired in order with `certificate_files`; a certificate
    /// without its own key file holds its key in the same file.
    pub key_files: Vec<PathBuf>,
    /// `SSLCertificateChainFile`: intermediates appended to every certificate.
    pub chain_file: Option<PathBuf>,
    /// `SSLProtocol`.
    pub versions: Versions,
    /// `SSLCipherSuite [SSL] spec`: the TLS 1.2 suites in order; `None` = rustls' default.
    pub tls12_suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// `SSLCipherSuite TLSv1.3 spec`.
    pub tls13_suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// `SSLHonorCipherOrder`, default off.
    pub honor_cipher_order: bool,
    /// `SSLSessionTickets`, default on.
    pub session_tickets: bool,
    /// `SSLSessionCache none` turns the per-child stateful session cache off.
    pub session_cache: bool,
    /// `SSLStrictSNIVHostCheck`: refuse clients that send no SNI.
    pub strict_sni: bool,
}

impl Default for SslConf {
    fn default() -> Self {
        SslConf {
            engine: None,
            engine_span: None,
            certificate_files: Vec::new(),
            key_files: Vec::new(),
            chain_file: None,
            versions: Versions::default(),
            tls12_suites: None,
            tls13_suites: None,
            honor_cipher_order: false,
            session_tickets: true,
            session_cache: true,
            strict_sni: false,
        }
    }
}

const S: C = C::SERVER;
const R: C = C::SERVER_VHOST;
const A: C = C::ALL;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def("SSLEngine", Take1, R, Implemented, "SSL switch for the protocol engine ('on', 'off')", engine),
    def("SSLCertificateFile", Take1, R, Implemented, "SSL Server Certificate file ('/path/to/file' - PEM or DER encoded)", certificate_file),
    def("SSLCertificateKeyFile", Take1, R, Implemented, "SSL Server Private Key file ('/path/to/file' - PEM or DER encoded)", key_file),
    def("SSLCertificateChainFile", Take1, R, Implemented, "SSL Server CA Certificate Chain file ('/path/to/file' - PEM encoded)", chain_file),
    po("SSLCACertificatePath", Take1, R, "SSL CA Certificate path ('/path/to/dir' - contains PEM encoded files)"),
    po("SSLCACertificateFile", Take1, R, "SSL CA Certificate file ('/path/to/file' - PEM encoded)"),
    po("SSLCARevocationPath", Take1, R, "SSL CA Certificate Revocation List (CRL) path ('/path/to/dir' - contains PEM encoded files)"),
    po("SSLCARevocationFile", Take1, R, "SSL CA Certificate Revocation List (CRL) file ('/path/to/file' - PEM encoded)"),
    po("SSLCARevocationCheck", RawArgs, R, "SSL CA Certificate Revocation List (CRL) checking mode"),
    def("SSLProtocol", RawArgs, R, Implemented, "Enable or disable various SSL protocols ('[+-][TLSv1|TLSv1.1|TLSv1.2|TLSv1.3] ...' - see manual)", protocol),
    def("SSLCipherSuite", Take12, A, Implemented, "Colon-delimited list of permitted SSL Ciphers ('XXX:...:XXX' - see manual)", cipher_suite),
    def("SSLHonorCipherOrder", Flag, R, Implemented, "Use the server's cipher ordering preference", honor_cipher_order),
    po("SSLCompression", Flag, R, "Enable SSL level compression (`on', `off')"),
    def("SSLSessionTickets", Flag, R, Implemented, "Enable or disable TLS session tickets (`on', `off')", session_tickets),
    def("SSLSessionCache", Take1, S, Implemented, "SSL Session Cache storage ('none', 'nonenotnull', 'dbm:/path/to/file')", session_cache),
    po("SSLSessionCacheTimeout", Take1, R, "SSL Session Cache object lifetime ('N' - number of seconds)"),
    po("SSLRandomSeed", Take23, S, "SSL Pseudo Random Number Generator (PRNG) seeding source ('startup|connect builtin|file:/path|exec:/path [bytes]')"),
    po("SSLPassPhraseDialog", Take1, S, "SSL dialog mechanism for the pass phrase query ('builtin', '|/path/to/pipe_program', or 'exec:/path/to/cgi_program')"),
    po("SSLStaplingCache", Take1, S, "SSL Stapling Response Cache storage ('dbm:/path/to/file')"),
    po("SSLUseStapling", Flag, R, "SSL switch for the OCSP Stapling protocol ('on', 'off')"),
    def("SSLStrictSNIVHostCheck", Flag, R, Implemented, "Strict SNI virtual host checking", strict_sni),
    po("SSLInsecureRenegotiation", Flag, R, "Enable support for insecure renegotiation"),
    po("SSLOpenSSLConfCmd", Take2, R, "OpenSSL configuration command"),
    def("SSLOptions", RawArgs, A, Implemented, "Set one or more options to configure the SSL engine('[+-]option[=value] ...' - see manual)", options),
    po("SSLProxyEngine", Flag, R, "SSL switch for the proxy protocol engine ('on', 'off')"),
    po("SSLProxyProtocol", RawArgs, R, "SSL Proxy: enable or disable SSL protocol flavors ('[+-][TLSv1|TLSv1.1|TLSv1.2|TLSv1.3] ...' - see manual)"),
    po("SSLProxyCipherSuite", Take12, D, "SSL Proxy: colon-delimited list of permitted SSL ciphers ('XXX:...:XXX' - see manual)"),
    po("SSLProxyVerify", Take1, D, "SSL Proxy: whether to verify the remote certificate ('on' or 'off')"),
    po("SSLProxyCheckPeerName", Flag, D, "SSL Proxy: check the peer certificate's name (must be present in subjectAltName extension or CN"),
    po("SSLProxyCheckPeerCN", Flag, D, "SSL Proxy: check the peer certificate's CN"),
    po("SSLProxyCheckPeerExpire", Flag, D, "SSL Proxy: check the peer certificate's expiration date"),
    po("SSLProxyCACertificateFile", Take1, D, "SSL Proxy: file containing server certificates ('/path/to/file' - PEM encoded certificates)"),
    po("SSLProxyMachineCertificateFile", Take1, S, "SSL Proxy: file containing client certificates ('/path/to/file' - PEM encoded certificates)"),
    un("SSLVerifyClient", Take1, D, "SSL Client verify type ('none', 'optional', 'require', 'optional_no_ca')"),
    un("SSLVerifyDepth", Take1, D, "SSL Client verify depth ('N' - number of intermediate certificates)"),
    un("SSLRequireSSL", NoArgs, A, "Require the SSL protocol for the per-directory context (no arguments)"),
    un("SSLRequire", RawArgs, A, "Require a boolean expression to evaluate to true for granting access(arbitrary complex boolean expression - see manual)"),
    un("SSLUserName", Take1, D, "Set user name to SSL variable value"),
    po("SSLRenegBufferSize", Take1, A, "Configure the amount of memory that will be used for buffering the request body if a per-location SSL renegotiation is required due to changed access control requirements"),
];

/// httpd's `ssl_cmd_check_file`: the file must exist, be a regular file and not be empty.
fn existing_file(ctx: &ApplyCtx<'_>) -> Result<PathBuf, String> {
    let arg = ctx.arg(0);
    let path = Path::new(arg);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        ctx.global.server_root.join(path)
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(path),
        _ => Err(format!(
            "{}: file '{}' does not exist or is empty",
            ctx.node.name,
            path.display()
        )),
    }
}

fn engine(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = match ctx.arg(0).to_ascii_lowercase().as_str() {
        "on" => true,
        "off" => false,
        "optional" => {
            return Err(
                "SSLEngine optional (RFC 2817 upgrade to TLS) is not supported by mpmd".into(),
            )
        }
        _ => return Err("Argument must be On or Off".into()),
    };
    ctx.server.ssl.engine = Some(on);
    ctx.server.ssl.engine_span = Some(ctx.node.span.clone());
    Ok(())
}

fn certificate_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let path = existing_file(ctx)?;
    if !ctx.server.set_here.contains(&"SSLCertificateFile") {
        ctx.server.ssl.certificate_files.clear();
        ctx.server.ssl.key_files.clear();
        ctx.mark("SSLCertificateFile");
    }
    ctx.server.ssl.certificate_files.push(path);
    Ok(())
}

fn key_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let path = existing_file(ctx)?;
    if !ctx.server.set_here.contains(&"SSLCertificateKeyFile") {
        ctx.server.ssl.key_files.clear();
        ctx.mark("SSLCertificateKeyFile");
    }
    ctx.server.ssl.key_files.push(path);
    Ok(())
}

fn chain_file(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.ssl.chain_file = Some(existing_file(ctx)?);
    Ok(())
}

fn protocol(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.ssl.versions = ciphers::protocols(&ctx.node.args)?;
    Ok(())
}

fn cipher_suite(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if ctx.context != C::SERVER && ctx.context != C::VHOST {
        // Per-directory cipher suites need renegotiation, which rustls refuses.
        return Err(
            "SSLCipherSuite in a per-directory context (renegotiation) is not supported by mpmd"
                .into(),
        );
    }
    let (proto, spec) = match ctx.node.args.len() {
        2 => (ctx.arg(0).to_string(), ctx.arg(1).to_string()),
        _ => ("SSL".to_string(), ctx.arg(0).to_string()),
    };
    match proto.as_str() {
        "SSL" | "TLSv1.2" => ctx.server.ssl.tls12_suites = Some(ciphers::tls12_suites(&spec)?),
        "TLSv1.3" => ctx.server.ssl.tls13_suites = Some(ciphers::tls13_suites(&spec)?),
        other => return Err(format!("protocol '{other}' not supported")),
    }
    Ok(())
}

fn honor_cipher_order(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.ssl.honor_cipher_order = flag(ctx);
    Ok(())
}

fn session_tickets(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.ssl.session_tickets = flag(ctx);
    Ok(())
}

fn session_cache(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    // Every other kind (shmcb, dbm …) becomes rustls' in-memory cache of each child: stateful
    // resumption then works within a child, tickets (shared key) across children.
    ctx.server.ssl.session_cache = !ctx.arg(0).eq_ignore_ascii_case("none");
    Ok(())
}

fn strict_sni(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    ctx.server.ssl.strict_sni = flag(ctx);
    Ok(())
}

/// `SSLOptions [+-]Option …` as httpd's `ssl_cmd_SSLOptions` reads it: names are
/// case-sensitive; a word without `+`/`-` makes the setting absolute and, as in httpd, the
/// last such word is the whole value (`SSLOptions StdEnvVars ExportCertData` keeps only
/// ExportCertData).
fn options(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    use crate::config::dir::{ssl_opt, Options};
    let mut o = Options::default();
    for w in &ctx.node.args {
        let (sign, name) = match w.as_bytes().first() {
            Some(b'+') => (1, &w[1..]),
            Some(b'-') => (-1, &w[1..]),
            _ => (0, w.as_str()),
        };
        let bit = match name {
            "StdEnvVars" => ssl_opt::STD_ENV_VARS,
            "ExportCertData" => ssl_opt::EXPORT_CERT_DATA,
            "FakeBasicAuth" => ssl_opt::FAKE_BASIC_AUTH,
            "StrictRequire" => ssl_opt::STRICT_REQUIRE,
            "OptRenegotiate" => ssl_opt::OPT_RENEGOTIATE,
            "LegacyDNStringFormat" => ssl_opt::LEGACY_DN_FORMAT,
            _ => return Err(format!("SSLOptions: Illegal option '{name}'")),
        };
        match sign {
            1 => {
                o.add |= bit;
                o.remove &= !bit;
                o.set = o.set.map(|s| s | bit);
            }
            -1 => {
                o.remove |= bit;
                o.add &= !bit;
                o.set = o.set.map(|s| s & !bit);
            }
            _ => {
                o.set = Some(bit);
                o.add = 0;
                o.remove = 0;
            }
        }
    }
    ctx.dir.ssl_options = Some(ctx.dir.ssl_options.map_or(o, |prev| prev.merge(&o)));
    Ok(())
}
