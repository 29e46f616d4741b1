//! mod_ssl's part of a request over TLS: its fixup puts `HTTPS=on` in the environment of every
//! request that gets that far (a request refused earlier, by access control or while its
//! head was read, has none), and `SSL_TLS_SNI` when the client sent SNI, whatever
//! `SSLOptions` say; with `SSLOptions +StdEnvVars` the `SSL_*` variables of the session and
//! the server certificate, with `+ExportCertData` the certificates in PEM. `var` answers one
//! name for the log (`%{…}x`), mod_headers (`%{…}s`), mod_rewrite (`%{SSL:…}`) and
//! expressions (`%{SSL_…}`), computed only when asked, as httpd's `ssl_var_lookup`.

use std::borrow::Cow;

use super::request::Request;
use crate::config::dir::ssl_opt;
use crate::tls::vars;

/// httpd's `ssl_hook_Fixup`.
pub fn fixup(req: &mut Request<'_>) {
    if !req.https {
        return;
    }
    req.set_env("HTTPS", "on");
    if let Some(name) = req.sni {
        req.set_env("SSL_TLS_SNI", name);
    }
    let opts = req.dir.ssl_options_bits();
    if opts & (ssl_opt::STD_ENV_VARS | ssl_opt::EXPORT_CERT_DATA) == 0 {
        return;
    }
    let Some(ssl) = req.ssl else { return };
    if opts & ssl_opt::STD_ENV_VARS != 0 {
        for name in vars::STD_ENV_VARS {
            if let Some(v) = vars::lookup(ssl, name) {
                req.set_env(name, &v);
            }
        }
        for (name, v) in &ssl.ssl.cert.vars {
            req.set_env(name, v);
        }
    }
    if opts & ssl_opt::EXPORT_CERT_DATA != 0 {
        req.set_env("SSL_SERVER_CERT", &ssl.ssl.cert.pem);
        // httpd sets it even without a client certificate (none is asked for here).
        req.set_env("SSL_CLIENT_CERT", "");
    }
}

/// httpd's `ssl_var_lookup` for a request: `HTTPS`, `SSL_TLS_SNI` and the `SSL_*` variables;
/// `None` in the clear (but `HTTPS`), and for names without a value.
pub fn var<'r>(https: bool, ssl: Option<super::SslConn<'r>>, name: &str) -> Option<Cow<'r, str>> {
    if name.eq_ignore_ascii_case("HTTPS") {
        return Some(Cow::Borrowed(if https { "on" } else { "off" }));
    }
    vars::lookup(ssl.filter(|_| https)?, name)
}
