//! The request pipeline and the modules that answer requests, in httpd's phase order:
//! vhost selection → URI normalisation → translate (mod_alias, then DocumentRoot) → the
//! section merge (`walk`) → setenvif/env → access (authz) → handler (registered handlers,
//! mod_dir, autoindex, the default handler) → fixups (mod_headers) → ErrorDocument.
//! The connection driver (`crate::conn`) owns the wire; this module only builds responses.

pub mod alias;
pub mod auth_basic;
pub mod authn_file;
pub mod authz;
pub mod autoindex;
pub mod cgi;
pub mod core;
pub mod deflate;
pub mod dir;
pub mod env;
pub mod expires;
pub mod expr;
pub mod filecache;
pub mod fx;
pub mod headers;
pub mod htaccess;
pub mod log_config;
pub mod metrics;
pub mod mime;
pub mod negotiation;
pub mod proxy;
pub mod remoteip;
pub mod request;
pub mod rewrite;
pub mod setenvif;
pub mod ssl;
pub mod status;
pub mod uri;
pub mod vhost;
pub mod walk;

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::dir::AliasRule;
use crate::config::dir::{opt, ErrorDoc};
use crate::config::{AllowEncodedSlashes, ServerConf, ServerConfig, ServerSignature, ServerTokens};
use crate::proto::h1::response::{error_page, ErrorInfo};
use crate::proto::h1::Head;
pub use request::{
    Body, BodySink, ClientIo, Deferred, Framing, Method, Request, Response, StreamBody, Upgrade,
};

/// A content handler named by `SetHandler`/`AddHandler`: fills the response or returns the
/// status of the error to send.
pub type HandlerFn = fn(&mut Request<'_>, &mut Response) -> Result<(), u16>;

/// The handlers other modules register (e.g. `server-status`), by name. A handler that is not
/// listed falls back to the default handler, as httpd does.
pub static HANDLERS: &[(&str, HandlerFn)] = &[
    ("default-handler", default_handler),
    ("server-status", status::handler),
    ("metrics", metrics::handler),
    ("type-map", negotiation::type_map_handler),
    ("cgi-script", cgi::handler),
];

fn default_handler(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    static_content(req, resp)
}

/// What the access-log hook sees once a response is written.
pub struct LogRecord<'a> {
    pub request_line: &'a [u8],
    pub status: u16,
    pub bytes_sent: u64,
    /// The connection's peer.
    pub peer: SocketAddr,
    /// The request's user agent (differs from `peer` behind mod_remoteip).
    pub useragent: SocketAddr,
    pub local: SocketAddr,
    pub server: &'a ServerConf,
    pub head: Option<&'a Head>,
    pub time: u64,
    /// When the request began (its head was read), µs since the epoch, as httpd's
    /// `request_time`; 0: now (a request refused before it began).
    pub start_us: u64,
    /// The response as sent (headers, content type; its body is gone).
    pub response: Option<&'a Response>,
    /// The fields of an HTTP/2 response as its stream sent them (`response` is `None`
    /// then): `%{…}o` sees them, as httpd's mod_http2 leaves them in `headers_out`.
    pub sent_headers: Option<&'a [(request::HeaderName, String)]>,
    /// Body bytes sent (0 for HEAD and bodiless statuses): `%b`.
    pub body_bytes: u64,
    /// The connection stays open after this response: `%X`.
    pub keep_alive: bool,
    /// Requests on this connection, this one included: `%k`.
    pub requests_on_connection: u32,
    /// `%I`: the bytes the request used, as mod_logio counts them (see the driver).
    pub bytes_in: u64,
    /// The request's environment and where it ended up: `%{VAR}e`, `%U`, `%f`.
    pub notes: &'a LogNotes,
    /// The TLS connection: mod_ssl's `%{VAR}x`.
    pub ssl: Option<SslConn<'a>>,
}

/// What a request leaves for the access log when it ends (moved out of it, not copied).
#[derive(Debug, Default)]
pub struct LogNotes {
    /// The environment: `%{VAR}e`, `CustomLog … env=VAR`.
    pub env: Vec<(String, String)>,
    /// The URL path the request ended with (`%>U`); after a fast redirect (DirectoryIndex,
    /// FallbackResource) that is the redirect's, as httpd's. Empty: the head's path.
    pub uri: String,
    /// The path before the first full internal redirect (ErrorDocument, per-directory
    /// mod_rewrite): what `%U` and `%<U` show then.
    pub original_uri: Option<String>,
    /// `%f`: the file the request mapped to; empty when it mapped to none.
    pub filename: PathBuf,
    /// The request came over TLS: `%p`'s default port is 443.
    pub https: bool,
    /// Request headers as the modules left them (mod_remoteip, `RequestHeader`): `%{…}i`.
    pub headers_in_override: Vec<(String, Option<String>)>,
    /// httpd's `r->notes` left for the log: `%{name}n`.
    pub request_notes: Vec<(&'static str, String)>,
    /// Set for a request refused before any module ran (while its head was read, or for its
    /// framing or Host): the log shows what httpd knew of it then, not what the head gives.
    pub refused: Option<Box<crate::proto::h1::Refused>>,
}

/// The logging phase: mod_log_config registers here (once per process).
pub type LogHook = fn(&LogRecord<'_>);
static LOG_HOOK: OnceLock<LogHook> = OnceLock::new();

pub fn set_log_hook(f: LogHook) {
    let _ = LOG_HOOK.set(f);
}

pub fn log_request(rec: &LogRecord<'_>) {
    if let Some(f) = LOG_HOOK.get() {
        f(rec);
    }
}

/// The `Server:` banner for ServerTokens.
pub fn banner(t: ServerTokens) -> &'static str {
    match t {
        ServerTokens::Prod => "Apache",
        ServerTokens::Major => "Apache/2",
        ServerTokens::Minor => "Apache/2.4",
        ServerTokens::Min => "Apache/2.4.71",
        ServerTokens::Os | ServerTokens::Full => "Apache/2.4.71 (Debian)",
    }
}

/// The result of running the pipeline for one request head.
pub struct Outcome<'c> {
    pub response: Response,
    pub server: &'c ServerConf,
    /// LimitRequestBody of the merged configuration (0 = unlimited).
    pub limit_request_body: u64,
    /// The request carried `Expect: 100-continue` (1.1 only).
    pub expect_continue: bool,
    /// The request's environment and final URL and file, for the access log.
    pub notes: LogNotes,
    /// The `nokeepalive` variable is set (and no Via header): close after the response.
    pub nokeepalive: bool,
    /// httpd's special-purpose variables for broken clients, as its header filter reads
    /// them when the response goes out (see `Compat1_0`).
    pub compat: Compat1_0,
    /// The request's user agent address (mod_remoteip), for the access log.
    pub useragent: SocketAddr,
    /// For a response left to a deferred handler (mod_proxy): what its output fixups need
    /// once it is there (`finish_deferred`).
    pub late: Option<Box<LateFixups>>,
}

/// `downgrade-1.0`, `force-response-1.0` and `force-no-vary`, read from the request's
/// environment once the handler and the fixups have run (httpd's header filter reads them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compat1_0 {
    /// Serve the request as HTTP/1.0 (no chunking, keep-alive only on request).
    pub downgrade: bool,
    /// Answer an HTTP/1.0 request (after `downgrade`) with an `HTTP/1.0` status line, and close.
    pub force_response: bool,
    /// Drop every `Vary` field; implies both of the above.
    pub no_vary: bool,
}

impl Compat1_0 {
    fn from_env(req: &Request<'_>) -> Compat1_0 {
        if req.env.is_empty() {
            return Compat1_0::default();
        }
        let no_vary = req.env_var("force-no-vary").is_some();
        Compat1_0 {
            downgrade: no_vary || req.env_var("downgrade-1.0").is_some(),
            force_response: no_vary || req.env_var("force-response-1.0").is_some(),
            no_vary,
        }
    }

    /// The request is served as HTTP/1.1 (`head_is_11`: what it said).
    pub fn is_http11(&self, head_is_11: bool) -> bool {
        head_is_11 && !self.downgrade
    }

    /// The status line says `HTTP/1.0` (and the connection closes).
    pub fn http10_line(&self, head_is_11: bool) -> bool {
        self.force_response && !self.is_http11(head_is_11)
    }
}

/// The request as the output fixups (mod_expires, mod_deflate, mod_headers) see it, kept
/// for a deferred handler's response: httpd's filters run on the proxied response too.
pub struct LateFixups {
    method: Method,
    server_index: usize,
    hostname: Option<String>,
    host_port: Option<u16>,
    query: Option<String>,
    path_info: String,
    dir: std::sync::Arc<crate::config::DirConf>,
    /// Vary names noted before the handler ran (`<If>`, RewriteCond).
    vary: String,
}

/// Runs the output fixups on the response a deferred handler returned, with the request
/// rebuilt from the head, the outcome and what `late` kept.
#[allow(clippy::too_many_arguments)]
pub fn finish_deferred(
    config: &ServerConfig,
    head: &Head,
    (peer, proxied): (SocketAddr, Option<SocketAddr>),
    local: SocketAddr,
    tls: Option<SslConn<'_>>,
    time_us: u64,
    (server, useragent, notes, late): (&ServerConf, SocketAddr, &LogNotes, &LateFixups),
    resp: &mut Response,
) {
    let https = notes.https;
    let mut req = Request {
        head,
        method: late.method,
        method_str: std::str::from_utf8(head.method()).unwrap_or(""),
        config,
        server,
        server_index: late.server_index,
        peer,
        useragent,
        proxied,
        local,
        hostname: late.hostname.clone(),
        host_port: late.host_port,
        uri: notes.uri.clone(),
        query: late.query.clone(),
        filename: notes.filename.clone(),
        path_info: late.path_info.clone(),
        finfo: None,
        dir: late.dir.clone(),
        env: notes.env.clone(),
        time: time_us / 1_000_000,
        received_us: time_us,
        prev_status: None,
        headers_in_override: notes.headers_in_override.clone(),
        proxy_target: None,
        rewrite: Default::default(),
        notes: notes.request_notes.clone(),
        original_uri: notes.original_uri.clone(),
        https,
        sni: tls.as_ref().and_then(|t| t.sni).filter(|_| https),
        ssl: tls.filter(|_| https),
        vary: Default::default(),
    };
    let mut vary = late.vary.clone();
    if resp.local_redirect.is_some() {
        local_redirect(config, &mut req, resp);
        vary = req.vary.take();
    }
    // An error the deferred handler answered with (a CGI script without a head, a backend
    // that failed) gets the ErrorDocument for its status, as httpd's ap_die gives it.
    if resp.generated
        && resp.status >= 400
        && req
            .dir
            .error_documents
            .iter()
            .any(|(c, _)| *c == resp.status)
    {
        let status = resp.status;
        let mut page = Response::new(200);
        send_error(&Ctx { config }, &mut req, &mut page, status);
        if let Some(d) = page.deferred.take() {
            // The document is itself deferred (a script): it answers with the error's
            // status unless it named another.
            let status = page.status;
            page = (d.0)(Some(0)).finish(true);
            if page.status == 200 {
                page.status = status;
            }
        }
        page.close |= resp.close;
        *resp = page;
        vary = String::new();
    }
    output_fixups(&mut req, resp, vary);
}

/// A deferred handler answered with a local redirect (a CGI script's `Location: /path`
/// without a status): as httpd's mod_cgi, its output is dropped and the request is served
/// again for that URL as a GET (the request body was read already), at most 10 deep.
fn local_redirect(config: &ServerConfig, req: &mut Request<'_>, resp: &mut Response) {
    let ctx = Ctx { config };
    while let Some(loc) = resp.local_redirect.take() {
        req.rewrite.redirects += 1;
        let mut next = Response::new(200);
        if req.rewrite.redirects > 10 {
            crate::ap_log!(error, "core", "AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. Use 'LogLevel debug' to get a backtrace.");
            error_response(req, 500, None, &mut next);
            *resp = next;
            return;
        }
        let (path, query) = match loc.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (loc.as_str(), None),
        };
        let slashes = match req.server.allow_encoded_slashes {
            AllowEncodedSlashes::Off => uri::EncodedSlashes::Off,
            AllowEncodedSlashes::On => uri::EncodedSlashes::On,
            AllowEncodedSlashes::NoDecode => uri::EncodedSlashes::NoDecode,
        };
        cgi::note_redirect(req);
        req.begin_internal_redirect();
        rewrite::redirect_env(req);
        cgi::forget(req);
        req.method = Method::Get;
        req.method_str = "GET";
        req.query = query;
        req.filename = PathBuf::new();
        req.finfo = None;
        req.path_info = String::new();
        req.dir = req.server.shared_dir();
        // httpd drops the body's length from the redirected request's headers.
        req.headers_in_override
            .push(("Content-Length".into(), None));
        match uri::normalize(path.as_bytes(), req.server.merge_slashes, slashes) {
            Ok(u) => {
                req.uri = u;
                run_request(&ctx, req, &mut next);
            }
            Err(st) => {
                req.uri = path.to_string();
                send_error(&ctx, req, &mut next, st);
            }
        }
        // The redirect's handler may itself need the (empty) request body.
        if let Some(d) = next.deferred.take() {
            next = (d.0)(Some(0)).finish(true);
        }
        *resp = next;
    }
}

/// The output side of a request, in httpd's order: the Vary names noted while it was
/// mapped (an error page has none), mod_expires, mod_deflate, mod_headers.
fn output_fixups(req: &mut Request<'_>, resp: &mut Response, vary: String) {
    if !vary.is_empty() && !resp.generated {
        resp.headers.insert(0, ("Vary".into(), vary));
    }
    expires::fixup(req, resp);
    // httpd's DEFLATE filter runs before mod_headers' (its Vary comes first, `Header`
    // sees its Content-Encoding and ETag).
    deflate::fixup(req, resp);
    headers::fixup(req, resp);
}

/// Where a URL maps: the server, the per-request data and the pieces the walk needs.
struct Ctx<'c> {
    config: &'c ServerConfig,
}

fn is_http_url(s: &str) -> bool {
    let l = s.as_bytes();
    l.len() > 3
        && s.split_once("://")
            .is_some_and(|(scheme, _)| scheme.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `http[s]://host[:port]` for redirects built from the request (UseCanonicalName Off).
/// A request that arrived on a TLS address gets `https` and default port 443.
pub fn self_url(req: &Request<'_>) -> String {
    let https = req.config.tls.port_for(req.local).is_some();
    let (scheme, default_port) = if https { ("https", 443) } else { ("http", 80) };
    let (name, port) = match &req.hostname {
        Some(h) if !h.is_empty() => (h.clone(), req.host_port.unwrap_or(default_port)),
        _ => {
            // No Host: ServerName, with its port if it has one (httpd's default port else).
            let sn = req
                .server
                .server_name
                .clone()
                .unwrap_or_else(|| req.local.ip().to_string());
            match sn.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => {
                    (h.to_string(), p.parse().unwrap_or(default_port))
                }
                _ => (sn, default_port),
            }
        }
    };
    if port == default_port {
        format!("{scheme}://{name}")
    } else {
        format!("{scheme}://{name}:{port}")
    }
}

/// The ServerSignature footer.
pub fn signature(req: &Request<'_>) -> String {
    match req.server.server_signature {
        ServerSignature::Off => String::new(),
        sig => {
            let name = match &req.hostname {
                Some(h) if !h.is_empty() => h.clone(),
                _ => req.server.server_name.clone().unwrap_or_default(),
            };
            let port = match (&req.hostname, req.host_port) {
                (Some(_), Some(p)) => p,
                _ if req.config.tls.port_for(req.local).is_some() => 443,
                _ => 80,
            };
            let name = if sig == ServerSignature::Email {
                format!(
                    "<a href=\"mailto:{}\">{name}</a>",
                    req.server.server_admin.as_deref().unwrap_or("")
                )
            } else {
                name
            };
            format!(
                "<hr>\n<address>{} Server at {name} Port {port}</address>\n",
                banner(req.config.server_tokens)
            )
        }
    }
}

/// Fills `resp` with httpd's generated page for `status`.
pub fn error_response(req: &Request<'_>, status: u16, note: Option<&str>, resp: &mut Response) {
    let keep_location = resp.header("Location").map(str::to_string);
    let allow = resp.header("Allow").map(str::to_string);
    resp.status = status;
    resp.headers.clear();
    if let Some(a) = allow {
        if matches!(status, 405 | 501) {
            resp.headers.push(("Allow".into(), a));
        }
    }
    if let Some(l) = &keep_location {
        if (300..400).contains(&status) || status == 201 {
            resp.headers.push(("Location".into(), l.clone()));
        }
    }
    resp.generated = true;
    let sig = signature(req);
    // mod_negotiation's list of variants (300, 406), as httpd's "variant-list" note.
    let note = note.or_else(|| {
        matches!(status, 300 | 406)
            .then(|| req.notes.iter().rev().find(|(n, _)| *n == "variant-list"))
            .flatten()
            .map(|(_, v)| v.as_str())
    });
    let info = ErrorInfo {
        method: req.method_str,
        location: keep_location.as_deref(),
        note,
        server_admin: req
            .server
            .server_admin
            .as_deref()
            .unwrap_or("[no address given]"),
        expect: req.header_in("Expect"),
        signature: &sig,
    };
    resp.body = Body::Bytes(error_page(status, &info).into_bytes());
    resp.content_type = Some("text/html; charset=iso-8859-1".into());
    if req.env_var("suppress-error-charset").is_some() {
        resp.content_type = Some("text/html".into());
    }
}

pub use crate::tls::vars::SslConn;

/// Runs the pipeline for a parsed head. `time` is when the request arrived.
pub fn process<'c>(
    config: &'c ServerConfig,
    head: &Head,
    peer: SocketAddr,
    local: SocketAddr,
    time: u64,
) -> Outcome<'c> {
    process_observed(
        config,
        head,
        (peer, None),
        local,
        None,
        time * 1_000_000,
        &mut |_, _| {},
    )
}

/// [`process`] for a connection from `peer` whose PROXY protocol header (mod_remoteip) may have
/// named another client, telling `on_server` which server answers (and the user agent's address) as
/// soon as the Host header has chosen it, before any handler runs: the scoreboard shows the request line and virtual host of a
/// request in progress (server-status lists its own request, as httpd's does).
pub fn process_observed<'c>(
    config: &'c ServerConfig,
    head: &Head,
    (peer, proxied): (SocketAddr, Option<SocketAddr>),
    local: SocketAddr,
    tls: Option<SslConn<'_>>,
    time_us: u64,
    on_server: &mut dyn FnMut(&ServerConf, SocketAddr),
) -> Outcome<'c> {
    let https = config.tls.port_for(local).is_some();
    let ctx = Ctx { config };
    let method_str = std::str::from_utf8(head.method()).unwrap_or("");
    let method = Method::parse(head.method());
    let (abs_host, path_query) = crate::proto::h1::head::split_absolute(head.target());
    // httpd takes the host of an absolute-form target only when its scheme is the
    // connection's own (`http` in the clear, `https` over TLS); otherwise Host decides.
    // A scheme other than http(s) is a bad request (no forward proxy here).
    let mut foreign_scheme = false;
    let abs_host = abs_host.filter(|_| {
        let t = head.target();
        let scheme = &t[..memchr::memmem::find(t, b"://").unwrap_or(0)];
        let (ours, other): (&[u8], &[u8]) = if https {
            (b"https", b"http")
        } else {
            (b"http", b"https")
        };
        foreign_scheme = !scheme.eq_ignore_ascii_case(ours) && !scheme.eq_ignore_ascii_case(other);
        scheme.eq_ignore_ascii_case(ours)
    });

    // Host: exactly one; required for HTTP/1.1; the absolute-form host wins.
    let host_count = head.count("Host");
    let mut bad = foreign_scheme || host_count > 1 || (host_count == 0 && head.is_http11());
    let mut hostname = None;
    let mut host_port = None;
    if let Some(h) = abs_host.or_else(|| head.header("Host")) {
        match vhost::parse_host(h) {
            Ok((n, p)) => {
                hostname = Some(n);
                host_port = p;
            }
            Err(vhost::BadHost) => bad = true,
        }
    }
    let (server_index, server) = vhost::select(
        config,
        &local,
        hostname.as_deref().filter(|h| !h.is_empty()),
    );
    let mut req = Request {
        head,
        method,
        method_str,
        config,
        server,
        server_index,
        peer,
        useragent: peer,
        proxied,
        local,
        hostname,
        host_port,
        uri: String::new(),
        query: None,
        filename: PathBuf::new(),
        path_info: String::new(),
        finfo: None,
        dir: server.shared_dir(),
        env: Vec::new(),
        time: time_us / 1_000_000,
        received_us: time_us,
        prev_status: None,
        headers_in_override: Vec::new(),
        proxy_target: None,
        rewrite: Default::default(),
        notes: Vec::new(),
        original_uri: None,
        https,
        sni: tls.as_ref().and_then(|t| t.sni).filter(|_| https),
        ssl: tls.filter(|_| https),
        vary: Default::default(),
    };
    let expect = head.header("Expect");
    let expect_continue =
        head.is_http11() && expect.is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"));
    let mut resp = Response::new(200);
    let out = |req: &mut Request<'_>, mut resp: Response| -> Outcome<'c> {
        // What `<If>`, RewriteCond and RequestHeader conditions looked at went into
        // headers_out as they ran, before the handler's fields; an error page has none.
        let vary = req.vary.take();
        // A deferred handler's response comes later: its fixups run then.
        let late = if resp.deferred.is_some() {
            Some(Box::new(LateFixups {
                method: req.method,
                server_index: req.server_index,
                hostname: req.hostname.clone(),
                host_port: req.host_port,
                query: req.query.clone(),
                path_info: req.path_info.clone(),
                dir: req.dir.clone(),
                vary,
            }))
        } else {
            output_fixups(req, &mut resp, vary);
            None
        };
        Outcome {
            late,
            response: resp,
            server,
            limit_request_body: req.dir.limit_request_body.unwrap_or(1 << 30),
            expect_continue,
            nokeepalive: req.env_var("nokeepalive").is_some() && head.header("Via").is_none(),
            compat: Compat1_0::from_env(req),
            // The request ends here: what the log needs moves to it, no copy.
            notes: LogNotes {
                env: std::mem::take(&mut req.env),
                uri: std::mem::take(&mut req.uri),
                original_uri: req.original_uri.take(),
                filename: std::mem::take(&mut req.filename),
                https: req.https,
                headers_in_override: std::mem::take(&mut req.headers_in_override),
                request_notes: std::mem::take(&mut req.notes),
                refused: None,
            },
            useragent: req.useragent,
        }
    };
    // post_read_request: a request httpd refuses while reading it never gets there.
    let refused_expect =
        head.is_http11() && expect.is_some_and(|e| !e.eq_ignore_ascii_case(b"100-continue"));
    if !bad && !refused_expect {
        remoteip::post_read_request(&mut req);
        headers::early(&mut req, &mut resp);
    }
    on_server(server, req.useragent);
    if bad {
        error_response(&req, 400, None, &mut resp);
        // httpd refuses it before choosing the virtual host or mapping the URL.
        let mut o = out(&mut req, resp);
        o.notes.refused = Some(Box::new(crate::proto::h1::Refused::from_head(head, https)));
        return o;
    }
    if refused_expect {
        error_response(&req, 417, None, &mut resp);
        resp.close_silently = true;
        return out(&mut req, resp);
    }
    if method == Method::Trace {
        let trace = req.dir.trace_enable.unwrap_or(config.trace_enable);
        if !trace {
            resp.headers.push(("Allow".into(), String::new()));
            error_response(&req, 405, None, &mut resp);
            return out(&mut req, resp);
        }
        let mut b = head.request_line().to_vec();
        b.extend_from_slice(b"\r\n");
        for f in &head.fields {
            b.extend_from_slice(head.name(f));
            b.extend_from_slice(b": ");
            b.extend_from_slice(head.value(f));
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"\r\n");
        resp.content_type = Some("message/http".into());
        resp.body = Body::Bytes(b);
        resp.framing = Framing::Chunked;
        return out(&mut req, resp);
    }
    if method == Method::Connect {
        resp.headers.push((
            "Allow".into(),
            core::allow_header(req.dir.trace_enable.unwrap_or(req.config.trace_enable)).into(),
        ));
        error_response(&req, 405, None, &mut resp);
        return out(&mut req, resp);
    }
    if path_query == b"*" {
        if method == Method::Options {
            return out(&mut req, resp);
        }
        error_response(&req, 400, None, &mut resp);
        return out(&mut req, resp);
    }
    let (raw_path, query) = match memchr::memchr(b'?', path_query) {
        Some(i) => (&path_query[..i], Some(&path_query[i + 1..])),
        None => (path_query, None),
    };
    req.query = query.map(|q| String::from_utf8_lossy(q).into_owned());
    let slashes = match server.allow_encoded_slashes {
        AllowEncodedSlashes::Off => uri::EncodedSlashes::Off,
        AllowEncodedSlashes::On => uri::EncodedSlashes::On,
        AllowEncodedSlashes::NoDecode => uri::EncodedSlashes::NoDecode,
    };
    match uri::normalize(raw_path, server.merge_slashes, slashes) {
        Ok(u) => req.uri = u,
        Err(s) => {
            req.uri = String::from_utf8_lossy(raw_path).into_owned();
            send_error(&ctx, &mut req, &mut resp, s);
            return out(&mut req, resp);
        }
    }
    run_request(&ctx, &mut req, &mut resp);
    out(&mut req, resp)
}

/// Translate, walk, access, handler; then ErrorDocument. `req.uri` is set.
fn run_request(ctx: &Ctx<'_>, req: &mut Request<'_>, resp: &mut Response) {
    let status = match map_and_handle(ctx, req, resp) {
        Ok(()) => return,
        Err(s) => s,
    };
    send_error(ctx, req, resp, status);
}

/// The error response for `status`: the ErrorDocument if one is configured, else httpd's
/// generated page.
fn send_error(ctx: &Ctx<'_>, req: &mut Request<'_>, resp: &mut Response, status: u16) {
    if status == 501 && resp.header("Allow").is_none() {
        resp.headers.push((
            "Allow".into(),
            core::allow_header(req.dir.trace_enable.unwrap_or(req.config.trace_enable)).into(),
        ));
    }
    // ErrorDocument, then the generated page.
    let doc = req
        .dir
        .error_documents
        .iter()
        .rev()
        .find(|(c, _)| *c == status)
        .map(|(_, d)| d.clone());
    match doc {
        Some(ErrorDoc::Local(path)) if req.prev_status.is_none() => {
            let orig_method = req.method;
            let orig_method_str = req.method_str;
            req.prev_status = Some(status);
            let (p, q) = match path.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (path.clone(), None),
            };
            // httpd's custom response: the old environment as REDIRECT_*, with the method
            // and the status; REDIRECT_URL/REDIRECT_QUERY_STRING for scripts.
            cgi::note_redirect(req);
            req.begin_internal_redirect();
            cgi::forget(req);
            req.set_env("REQUEST_METHOD", orig_method_str);
            rewrite::redirect_env(req);
            req.set_env("REDIRECT_STATUS", &status.to_string());
            req.uri = p;
            req.query = q;
            req.method = if orig_method == Method::Head {
                Method::Head
            } else {
                req.method_str = "GET";
                Method::Get
            };
            let mut r2 = Response::new(200);
            r2.err_headers = std::mem::take(&mut resp.err_headers);
            // httpd's internal redirect keeps the variant-list validator.
            r2.vlist_validator = resp.vlist_validator.take();
            match map_and_handle(ctx, req, &mut r2) {
                Ok(()) if r2.status == 200 => {
                    r2.status = status;
                    *resp = r2;
                }
                Ok(()) | Err(_) => {
                    let s2 = if r2.status != 200 { r2.status } else { 500 };
                    let _ = s2;
                    error_response(req, status, None, resp);
                }
            }
        }
        Some(ErrorDoc::Url(url)) => {
            resp.headers.clear();
            resp.headers.push(("Location".into(), url));
            error_response(req, 302, None, resp);
        }
        Some(ErrorDoc::Text(t)) => {
            error_response(req, status, None, resp);
            resp.body = Body::Bytes(t.into_bytes());
        }
        _ => error_response(req, status, None, resp),
    }
}

/// The longest existing prefix of `path`: (metadata of the whole path if it exists, the
/// directory to walk, the file name for `<Files>`). A regular file followed by more path
/// (`/x.php/more`) is found too; `path_info` gets the rest.
/// `OsStr::to_string_lossy` with the usual case first: a valid UTF-8 name is checked by the
/// word-at-a-time validator and borrowed (the lossy scan costs several times more).
pub(crate) fn os_lossy(s: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    match s.to_str() {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => s.to_string_lossy(),
    }
}

/// Where `locate` found the directory and the file name of the walk.
enum Located {
    /// In the path itself, split at its last `/` (`split_plain`): the directory is
    /// `path[..dir_end]`, the name `path[name_start..]`. The usual case, with no copy.
    Plain { dir_end: usize, name_start: usize },
    /// Elsewhere (a directory, path info, a path `Path` must parse).
    Owned(PathBuf, Option<String>),
}

impl Located {
    /// The directory and the file name, `filename` being the request's file name `locate`
    /// was given.
    fn parts<'p>(&'p self, filename: &'p Path) -> (&'p std::ffi::OsStr, Option<&'p str>) {
        use std::os::unix::ffi::OsStrExt;
        match self {
            Located::Plain {
                dir_end,
                name_start,
            } => {
                let b = filename.as_os_str().as_bytes();
                (
                    std::ffi::OsStr::from_bytes(&b[..*dir_end]),
                    std::str::from_utf8(&b[*name_start..]).ok(),
                )
            }
            Located::Owned(d, n) => (d.as_os_str(), n.as_deref()),
        }
    }
}

fn locate(path: &Path, path_info: &mut String) -> (Option<std::fs::Metadata>, Located, bool) {
    use std::os::unix::ffi::OsStrExt;
    let owned = |m, d, n| (m, Located::Owned(d, n), false);
    match std::fs::metadata(path) {
        Ok(m) => {
            if m.is_dir() {
                owned(Some(m), path.to_path_buf(), None)
            } else if let Some((dir, name)) = split_plain(path) {
                let plain = Located::Plain {
                    dir_end: dir.as_bytes().len(),
                    name_start: path.as_os_str().as_bytes().len() - name.len(),
                };
                (Some(m), plain, false)
            } else {
                let dir = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("/"));
                let name = path.file_name().map(|n| os_lossy(n).into_owned());
                owned(Some(m), dir, name)
            }
        }
        Err(e) => {
            let dangling =
                e.kind() == std::io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_ok();
            let too_long = e.raw_os_error() == Some(libc::ENAMETOOLONG)
                || e.kind() == std::io::ErrorKind::PermissionDenied;
            // Walk up to the first existing directory (or a file: then the rest is path info).
            let mut dir = path.parent();
            while let Some(d) = dir {
                match std::fs::metadata(d) {
                    Ok(m) if m.is_dir() => break,
                    Ok(m) if m.is_file() && e.raw_os_error() == Some(libc::ENOTDIR) => {
                        if let Ok(rest) = path.strip_prefix(d) {
                            *path_info = format!("/{}", rest.to_string_lossy());
                            let parent = d
                                .parent()
                                .map(Path::to_path_buf)
                                .unwrap_or_else(|| PathBuf::from("/"));
                            let name = d.file_name().map(|n| os_lossy(n).into_owned());
                            return owned(Some(m), parent, name);
                        }
                    }
                    _ => {}
                }
                dir = d.parent();
            }
            let dir = dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"));
            let name = path.file_name().map(|n| os_lossy(n).into_owned());
            (None, Located::Owned(dir, name), dangling || too_long)
        }
    }
}

/// `path`'s parent and file name as `Path::parent` and `Path::file_name` give them, found
/// with one scan for the last `/`, when the path is plain: absolute, valid UTF-8 in its last
/// component, and with no empty component nor one that starts with a dot (what a mapped URL
/// usually is).
/// `None`: let `Path` parse it.
fn split_plain(path: &Path) -> Option<(&std::ffi::OsStr, &str)> {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    if b.first() != Some(&b'/') || b.last() == Some(&b'/') || uri::has_dot_or_empty_segment(b) {
        return None;
    }
    let i = memchr::memrchr(b'/', b)?;
    let name = std::str::from_utf8(&b[i + 1..]).ok()?;
    let dir = if i == 0 { &b[..1] } else { &b[..i] };
    Some((std::ffi::OsStr::from_bytes(dir), name))
}

fn map_and_handle(ctx: &Ctx<'_>, req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    // httpd's location walk before translate: MATCH_* of the <LocationMatch> sections.
    let mut vars = Vec::new();
    walk::location_vars(req.server, &req.uri, &mut vars);
    for (name, value) in vars {
        req.set_env_owned(name, value);
    }
    // Then the first <If> walk (httpd: location walk, if walk, translate).
    walk::early_if(req)?;
    // Translate: mod_rewrite, mod_proxy's ProxyPass (as httpd's proxy_trans), then mod_alias,
    // then DocumentRoot.
    let rewritten = match rewrite::translate(req, resp) {
        rewrite::Action::Mapped => true,
        rewrite::Action::Status(s) => return Err(s),
        rewrite::Action::Proxy(t) => {
            return proxy::run(ctx.config, req, proxy::Target::rewritten(t), resp)
        }
        rewrite::Action::Continue | rewrite::Action::Internal(..) => false,
    };
    if let Some(target) = proxy::translate(req).filter(|_| !rewritten) {
        return proxy::run(ctx.config, req, target, resp);
    }
    let mapped = if rewritten {
        Some(alias::Mapped::File(std::mem::take(&mut req.filename)))
    } else {
        alias::translate_request(req)
    };
    match mapped {
        Some(alias::Mapped::Redirect(status, target)) => {
            // httpd answers with what its first location walk merged: the headers (and
            // error documents) of the <Location> sections apply to the redirect (their
            // MATCH_* are set already).
            let t = walk::Target::location(req);
            let mut vars = Vec::new();
            if let Ok(d) = walk::merged(ctx.config, req.server_index, req.server, &t, &mut vars) {
                req.dir = d;
            }
            if let Some(t) = target {
                let t = if is_http_url(&t) {
                    t
                } else {
                    format!("{}{}", self_url(req), t)
                };
                resp.headers.push(("Location".into(), t));
            }
            return Err(status);
        }
        Some(alias::Mapped::File(p)) => req.filename = p,
        Some(alias::Mapped::Script { file, context }) => {
            // httpd's ScriptAlias: the handler is forced (and ExecCGI not needed), the
            // context is the alias's.
            req.filename = file;
            req.notes.push((cgi::FORCED_TYPE, "cgi-script".into()));
            if let Some((prefix, root)) = context {
                req.notes.push((cgi::CONTEXT_PREFIX, prefix));
                req.notes.push((cgi::CONTEXT_ROOT, root));
            }
        }
        None => {
            let root = req.server.document_root.as_os_str();
            let mut f = std::ffi::OsString::with_capacity(root.len() + req.uri.len());
            f.push(root);
            f.push(&req.uri);
            req.filename = PathBuf::from(f);
        }
    }
    let (finfo, located, refused) = locate(&req.filename, &mut req.path_info);
    if !req.path_info.is_empty() {
        // `/x.php/extra`: the file is `x.php`, `/extra` is PATH_INFO.
        let f = os_lossy(req.filename.as_os_str());
        let f = f[..f.len() - req.path_info.len()].to_string();
        req.filename = PathBuf::from(f);
    }
    req.finfo = finfo;
    let (dir_path, file_name) = located.parts(&req.filename);
    let dir_str = os_lossy(dir_path);
    let dir_str = if dir_str.len() > 1 {
        dir_str.trim_end_matches('/')
    } else {
        &dir_str
    };
    let path = os_lossy(req.filename.as_os_str());
    // httpd's file walk tests the last component of the file name, a directory's too (empty
    // when the URL ends in a slash).
    let file = match (&file_name, &req.finfo) {
        (None, Some(m)) if m.is_dir() => path.rsplit('/').next(),
        _ => file_name,
    };
    let target = walk::Target {
        dir: Some(dir_str),
        file,
        path: Some(&path),
        uri: &req.uri,
        method: req.method_str,
        env: Some(&*req),
    };
    let mut vars = Vec::new();
    let dir = walk::merged(ctx.config, req.server_index, req.server, &target, &mut vars);
    drop(path);
    req.dir = dir?;
    // MATCH_* from the named groups of the regex sections, before every later phase.
    for (name, value) in vars {
        req.set_env_owned(name, value);
    }

    // Redirect written inside <Location>/<Directory> (fixup_redir): the server-level ones
    // were tried at translate time. The expression form first, as httpd's.
    if let Some(alias::Mapped::Redirect(status, target)) = alias::fixup_expr(req) {
        if let Some(t) = target {
            let t = if is_http_url(&t) {
                t
            } else {
                format!("{}{}", self_url(req), t)
            };
            resp.headers.push(("Location".into(), t));
        }
        return Err(status);
    }
    if req.dir.aliases.len() > req.server.dir.aliases.len() {
        let extra: Vec<_> = req.dir.aliases[req.server.dir.aliases.len()..]
            .iter()
            .filter(|r| {
                matches!(
                    ***r,
                    AliasRule::Redirect { .. } | AliasRule::RedirectMatch { .. }
                )
            })
            .cloned()
            .collect();
        let tmp = crate::config::DirConf {
            aliases: extra,
            ..Default::default()
        };
        if let Some(alias::Mapped::Redirect(status, target)) =
            alias::translate(&tmp, &req.uri, req.query.as_deref())
        {
            if let Some(t) = target {
                let t = if is_http_url(&t) {
                    t
                } else {
                    format!("{}{}", self_url(req), t)
                };
                resp.headers.push(("Location".into(), t));
            }
            return Err(status);
        }
    }
    setenvif::run(req);
    authz::check_auth(req, resp)?;
    // The type checker: mod_negotiation's MultiViews for a file that does not exist.
    let mut located = located;
    if req.finfo.is_none()
        && !refused
        && req.dir.options_bits() & opt::MULTI != 0
        && ctx.config.modules.contains(&"negotiation")
    {
        match negotiation::multiviews(req, resp) {
            negotiation::Multi::Declined => {}
            negotiation::Multi::Status(s) => return Err(s),
            negotiation::Multi::Chosen => {
                // The request is the variant's now (its file name for OPTIONS' type).
                let name = req.filename.file_name().map(|n| os_lossy(n).into_owned());
                located = Located::Owned(PathBuf::new(), name);
            }
        }
    }
    ssl::fixup(req);
    headers::request_fixup(req);
    env::fixup(req);
    match rewrite::fixup(req, resp) {
        rewrite::Action::Status(s) => return Err(s),
        rewrite::Action::Proxy(t) => {
            return proxy::run(ctx.config, req, proxy::Target::rewritten(t), resp)
        }
        rewrite::Action::Internal(uri, query) => {
            return internal_redirect(ctx, req, uri, query, resp)
        }
        rewrite::Action::Continue | rewrite::Action::Mapped => {}
    }

    if refused {
        return Err(403);
    }
    // Symlinks: without FollowSymLinks a symlink is refused (SymLinksIfOwnerMatch: same owner).
    let opts = req.dir.options_bits();
    if opts & opt::SYM_LINKS == 0 {
        if let Ok(l) = std::fs::symlink_metadata(req.filename.as_path()) {
            if l.file_type().is_symlink() {
                let owner_ok = opts & opt::SYM_OWNER != 0
                    && req.finfo.as_ref().is_some_and(|m| m.uid() == l.uid());
                if !owner_ok {
                    return Err(403);
                }
            }
        }
    }

    // mod_dir's fixup, before any handler (OPTIONS included).
    if let Some(status) = dir::slash_redirect(req, resp) {
        return Err(status);
    }
    if req.method == Method::Options {
        resp.status = 200;
        resp.headers.push((
            "Allow".into(),
            if req.dir.trace_enable.unwrap_or(ctx.config.trace_enable) {
                "OPTIONS,HEAD,GET,POST,TRACE"
            } else {
                "OPTIONS,HEAD,GET,POST"
            }
            .into(),
        ));
        if let (_, Some(name)) = located.parts(&req.filename) {
            if req.finfo.as_ref().is_some_and(|m| m.is_file()) {
                // mod_mime's findings go out with the answer, as httpd's.
                let info = mime::find(&ctx.config.mime_types, &req.dir, name);
                resp.content_type = info.content_type;
                if let Some(l) = info.language {
                    resp.headers.push(("Content-Language".into(), l));
                }
                if let Some(e) = info.encoding {
                    resp.headers.push(("Content-Encoding".into(), e));
                }
            }
        }
        if req.finfo.as_ref().is_some_and(|m| m.is_dir()) {
            resp.content_type = Some(dir::options_type(req));
            // An index MultiViews finds (`index` → `index.html.en`) answers for it.
            if resp.content_type.as_deref() == Some("httpd/unix-directory") {
                if let Some(variant) = negotiation::options_index(req, resp)? {
                    let info = mime::find(&ctx.config.mime_types, &req.dir, &variant);
                    resp.content_type = info.content_type;
                    if let Some(l) = info.language {
                        resp.headers.push(("Content-Language".into(), l));
                    }
                }
            }
        }
        return Ok(());
    }
    if let Some((uri, query)) = dir::fallback(req) {
        req.uri = uri;
        req.query = query;
        // A fast redirect: the environment stays as it is (no REDIRECT_ variables).
        req.rewrite.redirects += 1;
        if req.rewrite.redirects > 10 {
            return Err(500);
        }
        req.filename = PathBuf::new();
        req.finfo = None;
        req.path_info = String::new();
        req.dir = req.server.shared_dir();
        return map_and_handle(ctx, req, resp);
    }

    run_handler(req, resp)
}

/// The handler phase: the handler named by SetHandler (`proxy:…` is mod_proxy's handler
/// form), else the one ScriptAlias forced, else AddHandler's for the file's extensions, else
/// mod_dir/autoindex/the default handler.
pub(crate) fn run_handler(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    if let Some(h) = req.dir.handler.as_deref() {
        if h.len() > 6 && h[..6].eq_ignore_ascii_case("proxy:") {
            let h = h[6..].to_string();
            return proxy::handler(req, h, resp);
        }
        if !h.eq_ignore_ascii_case("none") {
            if let Some((_, f)) = HANDLERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(h)) {
                return f(req, resp);
            }
        }
    } else if cgi::is_script_aliased(req) {
        return cgi::handler(req, resp);
    } else if !req.finfo.as_ref().is_some_and(|m| m.is_dir())
        && req.dir.add_handler.iter().any(|(_, h)| {
            // Only AddHandler lines naming a handler we have are worth the lookup (Debian's
            // `AddHandler type-map var` is not).
            h.as_deref()
                .is_some_and(|h| HANDLERS.iter().any(|(n, _)| n.eq_ignore_ascii_case(h)))
        })
    {
        let name = req.filename.file_name().map(os_lossy).unwrap_or_default();
        let f = mime::handler(&req.dir, &name).and_then(|h| {
            HANDLERS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(h))
                .map(|(_, f)| *f)
        });
        if let Some(f) = f {
            return f(req, resp);
        }
    }
    static_content(req, resp)
}

/// [`internal_redirect`] for a handler (mod_negotiation's type map).
pub(crate) fn redirect_internally(
    req: &mut Request<'_>,
    uri: String,
    query: Option<String>,
    resp: &mut Response,
) -> Result<(), u16> {
    let ctx = Ctx { config: req.config };
    internal_redirect(&ctx, req, uri, query, resp)
}

/// An internal redirect to `uri` (mod_rewrite per-dir): the whole request again, at most 10
/// deep (httpd's LimitInternalRecursion default). A refused one leaves the request as it was
/// (the 500 and the log's %>U are the last request's, as httpd's).
fn internal_redirect(
    ctx: &Ctx<'_>,
    req: &mut Request<'_>,
    uri: String,
    query: Option<String>,
    resp: &mut Response,
) -> Result<(), u16> {
    req.rewrite.redirects += 1;
    if req.rewrite.redirects > 10 {
        crate::ap_log!(error, "core", "AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. Use 'LogLevel debug' to get a backtrace.");
        return Err(500);
    }
    cgi::note_redirect(req);
    req.begin_internal_redirect();
    req.uri = uri;
    req.query = query;
    rewrite::redirect_env(req);
    cgi::forget(req);
    req.filename = PathBuf::new();
    req.finfo = None;
    req.path_info = String::new();
    req.dir = req.server.shared_dir();
    map_and_handle(ctx, req, resp)
}

/// mod_dir + autoindex + the default handler for what translate found.
pub(crate) fn static_content(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    let Some(meta) = req.finfo.as_ref() else {
        return Err(404);
    };
    // The default handler takes no path info (AcceptPathInfo Default); a type map's
    // handler does (`/map.var/extra`).
    if !req.path_info.is_empty() {
        if meta.is_file() && req.config.modules.contains(&"negotiation") {
            let name = req
                .filename
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let info = mime::find(&req.config.mime_types, &req.dir, &name);
            if negotiation::names_type_map(info.handler.as_deref(), info.content_type.as_deref()) {
                drop(name);
                return negotiation::type_map_handler(req, resp);
            }
        }
        return Err(404);
    }
    if meta.is_dir() {
        return dir::handle(req, resp);
    }
    if !meta.is_file() {
        return Err(403);
    }
    let name = req.filename.file_name().map(os_lossy).unwrap_or_default();
    let info = mime::find(&req.config.mime_types, &req.dir, &name);
    // `AddHandler type-map .var` (or the type-map media type): mod_negotiation's handler.
    if negotiation::names_type_map(info.handler.as_deref(), info.content_type.as_deref())
        && req.config.modules.contains(&"negotiation")
    {
        drop(name);
        return negotiation::type_map_handler(req, resp);
    }
    if let Some(e) = &info.encoding {
        // mod_negotiation's fixup: the client's spelling of the coding (gzip / x-gzip).
        let e = if req.config.modules.contains(&"negotiation") {
            negotiation::fix_encoding(req, e).unwrap_or_else(|| e.clone())
        } else {
            e.clone()
        };
        resp.headers.push(("Content-Encoding".into(), e));
    }
    if let Some(l) = &info.language {
        resp.headers.push(("Content-Language".into(), l.clone()));
    }
    let mut ct = info.content_type;
    if let (Some(Some(cs)), Some(t)) = (&req.dir.add_default_charset, &mut ct) {
        if (t == "text/plain" || t == "text/html") && !t.contains("charset") {
            t.push_str("; charset=");
            t.push_str(cs);
            resp.charset_added = true;
        }
    }
    core::serve_file(req, ct, resp)
}

#[cfg(test)]
mod tests {
    use super::split_plain;

    #[test]
    fn plain_paths_split_as_path_does() {
        use std::path::Path;
        for p in [
            "/srv/www/index.html",
            "/x",
            "/a/b/c.tar.gz",
            "/a//b/c",
            "/a/./b",
            "/a/b/.",
            "/a/b/..",
            "/a/b/",
            "relative/x",
            "/a/../b",
            "/a/.hidden",
            "/a/b../c",
        ] {
            let path = Path::new(p);
            if let Some((dir, name)) = split_plain(path) {
                assert_eq!(Some(Path::new(dir)), path.parent(), "{p}");
                assert_eq!(Some(std::ffi::OsStr::new(name)), path.file_name(), "{p}");
            } else {
                assert!(
                    p.contains("//") || p.contains("/.") || p.ends_with('/') || !p.starts_with('/'),
                    "{p} should be plain"
                );
            }
        }
        assert!(split_plain(Path::new("/srv/www/index.html")).is_some());
    }

    use super::*;

    #[test]
    fn banners() {
        assert_eq!(banner(ServerTokens::Prod), "Apache");
        assert_eq!(banner(ServerTokens::Os), "Apache/2.4.71 (Debian)");
    }
}
