//! mod_auth_basic: the `Authorization: Basic` credentials checked against the providers
//! (mod_authn_file), `REMOTE_USER`/`AUTH_TYPE` on success, and the 401 with
//! `WWW-Authenticate` httpd sends when they are missing or wrong.

use base64::Engine;

use super::authn_file::{self, Check};
use super::request::{Request, Response};

/// Adds `WWW-Authenticate: Basic realm="…"` (kept on the error page).
pub fn note_failure(req: &Request<'_>, resp: &mut Response) {
    if let Some(name) = req.dir.auth.as_ref().and_then(|a| a.auth_name.as_deref()) {
        resp.err_headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("WWW-Authenticate"));
        resp.err_headers.push((
            "WWW-Authenticate".into(),
            format!("Basic realm=\"{}\"", name.replace('"', "\\\"")),
        ));
    }
}

/// httpd's check_user_id phase: `Ok` with REMOTE_USER set, or the status to answer with.
pub fn authenticate(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    let Some(auth) = req.dir.auth.clone().filter(|a| a.is_basic()) else {
        crate::ap_log!(
            error,
            "auth_basic",
            "AH00027: No authentication done but request not allowed without authentication for {}. Authentication not configured?",
            req.uri
        );
        return Err(500);
    };
    if auth.auth_name.is_none() {
        crate::ap_log!(error, "auth_basic", "AH01615: need AuthName: {}", req.uri);
        return Err(500);
    }
    let fail = |req: &Request<'_>, resp: &mut Response| {
        note_failure(req, resp);
        Err(401)
    };
    let Some(h) = req.header_in("Authorization") else {
        return fail(req, resp);
    };
    let h = h.trim();
    let Some((scheme, cred)) = h.split_once(' ') else {
        return fail(req, resp);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        crate::ap_log!(
            error,
            "auth_basic",
            "AH01614: client used wrong authentication scheme: {}",
            req.uri
        );
        return fail(req, resp);
    }
    // Like httpd, undecodable credentials give an empty user, and the user is known (and
    // logged as %u) before the password is checked.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(cred.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    req.set_env("REMOTE_USER", user);
    let Some(file) = auth.user_file.as_deref() else {
        crate::ap_log!(
            error,
            "auth_basic",
            "AH01618: AuthUserFile not specified in the configuration"
        );
        return Err(500);
    };
    match authn_file::check(file, user, password) {
        Check::Granted => {
            req.set_env("REMOTE_USER", user);
            req.set_env("AUTH_TYPE", "Basic");
            Ok(())
        }
        Check::UserNotFound => {
            crate::ap_log!(
                error,
                "auth_basic",
                "AH01618: user {user} not found: {}",
                req.uri
            );
            fail(req, resp)
        }
        Check::Mismatch => {
            crate::ap_log!(
                error,
                "auth_basic",
                "AH01617: user {user}: authentication failure for \"{}\": Password Mismatch",
                req.uri
            );
            fail(req, resp)
        }
        Check::Error(e) => {
            crate::ap_log!(error, "authn_file", "AH01620: {e}");
            Err(500)
        }
    }
}
