//! mod_ssl's part of a request over TLS: its fixup puts `HTTPS=on` in the environment of every
//! request that gets that far (a request refused earlier, by access control or while its
//! head was read, has none), and `SSL_TLS_SNI` when the client sent SNI, whatever
//! `SSLOptions` say. The `+StdEnvVars` variables (`SSL_PROTOCOL`, `SSL_CIPHER` …) are not set.

use super::request::Request;

/// httpd's `ssl_hook_Fixup`, for the variables it sets unconditionally.
pub fn fixup(req: &mut Request<'_>) {
    if !req.https {
        return;
    }
    req.set_env("HTTPS", "on");
    if let Some(name) = req.sni {
        req.set_env("SSL_TLS_SNI", name);
    }
}
