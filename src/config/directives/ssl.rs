//! mod_ssl: parsed only for now (TLS is not wired yet); `-t` accepts Debian's default-ssl.conf.
//! Client-certificate access control is refused rather than ignored.

use super::{po, un};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef};

const S: C = C::SERVER;
const R: C = C::SERVER_VHOST;
const A: C = C::ALL;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    po("SSLEngine", Take1, R, "SSL switch for the protocol engine ('on', 'off')"),
    po("SSLCertificateFile", Take1, R, "SSL Server Certificate file ('/path/to/file' - PEM or DER encoded)"),
    po("SSLCertificateKeyFile", Take1, R, "SSL Server Private Key file ('/path/to/file' - PEM or DER encoded)"),
    po("SSLCertificateChainFile", Take1, R, "SSL Server CA Certificate Chain file ('/path/to/file' - PEM encoded)"),
    po("SSLCACertificatePath", Take1, R, "SSL CA Certificate path ('/path/to/dir' - contains PEM encoded files)"),
    po("SSLCACertificateFile", Take1, R, "SSL CA Certificate file ('/path/to/file' - PEM encoded)"),
    po("SSLCARevocationPath", Take1, R, "SSL CA Certificate Revocation List (CRL) path ('/path/to/dir' - contains PEM encoded files)"),
    po("SSLCARevocationFile", Take1, R, "SSL CA Certificate Revocation List (CRL) file ('/path/to/file' - PEM encoded)"),
    po("SSLCARevocationCheck", RawArgs, R, "SSL CA Certificate Revocation List (CRL) checking mode"),
    po("SSLProtocol", RawArgs, R, "Enable or disable various SSL protocols ('[+-][TLSv1|TLSv1.1|TLSv1.2|TLSv1.3] ...' - see manual)"),
    po("SSLCipherSuite", Take12, A, "Colon-delimited list of permitted SSL Ciphers ('XXX:...:XXX' - see manual)"),
    po("SSLHonorCipherOrder", Flag, R, "Use the server's cipher ordering preference"),
    po("SSLCompression", Flag, R, "Enable SSL level compression (`on', `off')"),
    po("SSLSessionTickets", Flag, R, "Enable or disable TLS session tickets (`on', `off')"),
    po("SSLSessionCache", Take1, S, "SSL Session Cache storage ('none', 'nonenotnull', 'dbm:/path/to/file')"),
    po("SSLSessionCacheTimeout", Take1, R, "SSL Session Cache object lifetime ('N' - number of seconds)"),
    po("SSLRandomSeed", Take23, S, "SSL Pseudo Random Number Generator (PRNG) seeding source ('startup|connect builtin|file:/path|exec:/path [bytes]')"),
    po("SSLPassPhraseDialog", Take1, S, "SSL dialog mechanism for the pass phrase query ('builtin', '|/path/to/pipe_program', or 'exec:/path/to/cgi_program')"),
    po("SSLStaplingCache", Take1, S, "SSL Stapling Response Cache storage ('dbm:/path/to/file')"),
    po("SSLUseStapling", Flag, R, "SSL switch for the OCSP Stapling protocol ('on', 'off')"),
    po("SSLStrictSNIVHostCheck", Flag, R, "Strict SNI virtual host checking"),
    po("SSLInsecureRenegotiation", Flag, R, "Enable support for insecure renegotiation"),
    po("SSLOpenSSLConfCmd", Take2, R, "OpenSSL configuration command"),
    po("SSLOptions", RawArgs, D, "Set one or more options to configure the SSL engine('[+-]option[=value] ...' - see manual)"),
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
