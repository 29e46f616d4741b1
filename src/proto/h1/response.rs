//! The response side: reason phrases, the `Date` header cache, and httpd's generated error
//! pages (`ap_send_error_response` layout; the wording is what clients and tests observe).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// The reason phrase httpd sends for a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// Statuses after which httpd never keeps the connection (`ap_status_drops_connection`).
pub fn drops_connection(status: u16) -> bool {
    matches!(status, 400 | 408 | 411 | 413 | 414 | 500 | 503 | 501)
}

thread_local! {
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Appends the RFC 1123 date for `secs`, formatted once per second per thread.
pub fn push_http_date(out: &mut Vec<u8>, secs: u64) {
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            let t = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let s = httpdate::fmt_http_date(t);
            if s.len() == 29 {
                d.1.copy_from_slice(s.as_bytes());
                d.0 = secs;
            } else {
                out.extend_from_slice(s.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&d.1);
    });
}

/// The RFC 1123 date for `secs` (Last-Modified): the last one formatted is kept per thread,
/// as the files of a site mostly repeat their modification times.
pub fn http_date(secs: u64) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 != secs {
            l.1 = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
            l.0 = secs;
        }
        l.1.clone()
    })
}

/// Escapes text for HTML (`ap_escape_html`).
pub fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// What the error page needs to know about the request.
#[derive(Default)]
pub struct ErrorInfo<'a> {
    pub method: &'a str,
    pub location: Option<&'a str>,
    /// httpd's "error-notes" (for 400/414…).
    pub note: Option<&'a str>,
    pub server_admin: &'a str,
    pub expect: Option<&'a str>,
    /// `<hr>\n<address>…</address>\n` or empty.
    pub signature: &'a str,
}

/// The body of httpd's generated page for `status`.
pub fn error_page(status: u16, info: &ErrorInfo<'_>) -> String {
    let mut s = String::with_capacity(400);
    let reason = reason(status);
    let _ = write!(
        s,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
         <html><head>\n<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n"
    );
    let with_note = |s: &mut String, prefix: &str, suffix: &str| {
        s.push_str(prefix);
        if let Some(n) = info.note {
            s.push_str(n);
        }
        s.push_str(suffix);
    };
    match status {
        301 | 302 | 307 | 308 => {
            s.push_str("<p>The document has moved <a href=\"");
            escape_html(info.location.unwrap_or(""), &mut s);
            s.push_str("\">here</a>.</p>\n");
        }
        303 => {
            s.push_str("<p>The answer to your request is located <a href=\"");
            escape_html(info.location.unwrap_or(""), &mut s);
            s.push_str("\">here</a>.</p>\n");
        }
        305 => {
            s.push_str("<p>This resource is only accessible through the proxy\n");
            escape_html(info.location.unwrap_or(""), &mut s);
            s.push_str("<br />\nYou will need to configure your client to use that proxy.</p>\n");
        }
        400 => with_note(
            &mut s,
            "<p>Your browser sent a request that this server could not understand.<br />\n",
            "</p>\n",
        ),
        401 => s.push_str(
            "<p>This server could not verify that you\nare authorized to access the document\n\
             requested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\n\
             browser doesn't understand how to supply\nthe credentials required.</p>\n",
        ),
        403 => with_note(&mut s, "<p>You don't have permission to access this resource.", "</p>\n"),
        404 => s.push_str("<p>The requested URL was not found on this server.</p>\n"),
        405 => {
            s.push_str("<p>The requested method ");
            escape_html(info.method, &mut s);
            s.push_str(" is not allowed for this URL.</p>\n");
        }
        300 => with_note(&mut s, "", ""),
        406 => with_note(
            &mut s,
            "<p>An appropriate representation of the requested resource could not be found on this server.</p>\n",
            "",
        ),
        408 => s.push_str("<p>Server timeout waiting for the HTTP request from the client.</p>\n"),
        410 => s.push_str(
            "<p>The requested resource is no longer available on this server and there is no forwarding address.\n\
             Please remove all references to this resource.</p>\n",
        ),
        411 => {
            s.push_str("<p>A request of the requested method ");
            escape_html(info.method, &mut s);
            s.push_str(" requires a valid Content-length.<br />\n");
            if let Some(n) = info.note {
                s.push_str(n);
            }
            s.push_str("</p>\n");
        }
        412 => s.push_str("<p>The precondition on the request for this URL evaluated to false.</p>\n"),
        413 => {
            s.push_str("The requested resource does not allow request data with ");
            escape_html(info.method, &mut s);
            s.push_str(" requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n");
        }
        414 => with_note(
            &mut s,
            "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n",
            "</p>\n",
        ),
        415 => s.push_str("<p>The supplied request data is not in a format\nacceptable for processing by this resource.</p>\n"),
        416 => s.push_str(
            "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\n\
             of the selected resource.</p>\n",
        ),
        417 => {
            s.push_str("<p>The expectation given in the Expect request-header\nfield could not be met by this server.\n\
                        The client sent<pre>\n    Expect: ");
            escape_html(info.expect.unwrap_or(""), &mut s);
            s.push_str("\n</pre>\n</p>\n");
        }
        // httpd prints the request's URI here, which is empty by the time the page is made.
        506 => s.push_str(
            "<p>A variant for the requested resource\n<pre>\n\n</pre>\n\
             is itself a negotiable resource. This indicates a configuration error.</p>\n",
        ),
        500 => {
            s.push_str(
                "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\n\
                 your request.</p>\n<p>Please contact the server administrator at \n ",
            );
            escape_html(info.server_admin, &mut s);
            s.push_str(
                " to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n\
                 <p>More information about this error may be available\nin the server error log.</p>\n",
            );
        }
        501 => {
            s.push_str("<p>");
            escape_html(info.method, &mut s);
            s.push_str(" not supported for current URL.<br />\n</p>\n");
        }
        502 => s.push_str(
            "<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n</p>\n",
        ),
        504 => s.push_str(
            "<p>The gateway did not receive a timely response\nfrom the upstream server or application.</p>\n",
        ),
        503 => s.push_str(
            "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\n\
             problems. Please try again later.</p>\n",
        ),
        _ => s.push_str(
            "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n",
        ),
    }
    s.push_str(info.signature);
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_have_httpds_lengths() {
        let i = ErrorInfo {
            method: "GET",
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(404, &i).len(), 236);
        assert_eq!(error_page(403, &i).len(), 239);
        assert_eq!(error_page(400, &i).len(), 266);
        let n = ErrorInfo {
            note: Some(super::super::head::NOTE_FIELD_SIZE),
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(400, &n).len(), 318);
        let d = ErrorInfo {
            method: "DELETE",
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(405, &d).len(), 263);
        let f = ErrorInfo {
            method: "FOO",
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(501, &f).len(), 242);
        let r = ErrorInfo {
            location: Some("http://other.example.test/"),
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(302, &r).len(), 250);
        let p = ErrorInfo {
            method: "POST",
            ..ErrorInfo::default()
        };
        assert_eq!(error_page(413, &p).len(), 356);
        assert_eq!(error_page(416, &i).len(), 354);
    }

    #[test]
    fn date_is_rfc1123_and_cached() {
        let mut v = Vec::new();
        push_http_date(&mut v, 1_700_000_000);
        assert_eq!(v, b"Tue, 14 Nov 2023 22:13:20 GMT");
        push_http_date(&mut v, 1_700_000_000);
        assert_eq!(v.len(), 58);
    }
}
