//! The request and response a module sees while the pipeline runs.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DirConf, ServerConf, ServerConfig};
use crate::proto::h1::Head;

/// The methods httpd knows by number; anything else is `Other` (a 501 for static files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    /// WebDAV and other methods httpd registers (405 from the default handler).
    Known,
    Other,
}

impl Method {
    pub fn parse(m: &[u8]) -> Method {
        match m {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            b"PROPFIND" | b"PROPPATCH" | b"MKCOL" | b"COPY" | b"MOVE" | b"LOCK" | b"UNLOCK"
            | b"VERSION-CONTROL" | b"CHECKOUT" | b"UNCHECKOUT" | b"CHECKIN" | b"UPDATE"
            | b"LABEL" | b"REPORT" | b"MKWORKSPACE" | b"MKACTIVITY" | b"BASELINE-CONTROL"
            | b"MERGE" => Method::Known,
            _ => Method::Other,
        }
    }
    pub fn is_get_like(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

pub type HeaderName = Cow<'static, str>;

/// What a response carries after its head.
#[derive(Debug, Default)]
pub enum Body {
    #[default]
    Empty,
    Bytes(Vec<u8>),
    /// Bytes shared with a cache (a small file's contents from `filecache`): sent without
    /// a copy of their own.
    Shared(std::sync::Arc<[u8]>),
    /// A byte range of a file (sent with sendfile).
    File {
        file: File,
        offset: u64,
        len: u64,
    },
    /// `multipart/byteranges`: the parts of a file, each with its part header.
    Multipart {
        file: File,
        parts: Vec<(Vec<u8>, u64, u64)>,
        trailer: Vec<u8>,
    },
    /// Bytes produced while the response is written (a proxied backend's body), with the
    /// length when it is known. Sent chunked (or close-delimited) without a length.
    Stream(StreamBody, Option<u64>),
}

/// A streamed response body.
pub struct StreamBody(pub Box<dyn std::io::Read + Send>);

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamBody")
    }
}

/// A handler that needs the request body (mod_proxy): the pipeline leaves it in the response;
/// the driver starts it with the body's declared length (`Some(0)` without a body, `None` when
/// chunked), feeds it the body as it is read (LimitRequestBody applies) and takes the real
/// response from `finish`.
pub struct Deferred(pub Box<dyn FnOnce(Option<u64>) -> Box<dyn BodySink> + Send>);

/// Where a deferred handler's request body goes while the driver reads it.
pub trait BodySink: Send {
    /// The next piece of the (de-chunked) body.
    fn data(&mut self, chunk: &[u8]);
    /// The body ended: complete (`true`) or cut short (client gone, refused); the response.
    fn finish(self: Box<Self>, complete: bool) -> Response;
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred")
    }
}

/// The client side of a tunnel (mod_proxy_wstunnel): the connection's socket, through TLS
/// when the connection has it. Non-blocking; `WouldBlock` means wait for the descriptor.
pub trait ClientIo {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_>;
    fn set_nonblocking(&self, on: bool) -> std::io::Result<()>;
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize>;
    fn flush(&mut self) -> std::io::Result<()>;
}

/// Set with a `101 Switching Protocols` response: after the head is written, the driver hands
/// the client connection (and any bytes it read past the request) to this, then closes it.
pub struct Upgrade(pub Box<UpgradeFn>);

/// What an `Upgrade` runs: the client end and the bytes the driver read past the request.
pub type UpgradeFn = dyn FnOnce(&mut dyn ClientIo, Vec<u8>) + Send;

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upgrade")
    }
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Shared(b) => b.len() as u64,
            Body::File { len, .. } => *len,
            Body::Stream(_, len) => len.unwrap_or(0),
            Body::Multipart { parts, trailer, .. } => {
                parts
                    .iter()
                    .map(|(h, _, l)| h.len() as u64 + l)
                    .sum::<u64>()
                    + trailer.len() as u64
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Framing {
    /// `Content-Length` of the body.
    #[default]
    Length,
    /// `Transfer-Encoding: chunked` on 1.1, close-delimited on 1.0.
    Chunked,
    /// No length: the connection closes after the body.
    Close,
}

#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    /// headers_out, in the order modules added them.
    pub headers: Vec<(HeaderName, String)>,
    /// err_headers_out (`Header always`): kept on error pages too.
    pub err_headers: Vec<(HeaderName, String)>,
    pub content_type: Option<String>,
    /// AddDefaultCharset's charset was appended to `content_type`: httpd appends it only
    /// when it writes the head, so mod_headers' `%{CONTENT_TYPE}` does not show it.
    pub charset_added: bool,
    /// The Content-Length the head carried (set by the HTTP/1 writer): what httpd's
    /// `%{Content-Length}o` shows, as its content-length filter puts it in headers_out.
    pub sent_length: Option<u64>,
    pub body: Body,
    pub framing: Framing,
    /// Generated by httpd (error page or redirect) rather than a resource.
    pub generated: bool,
    /// Forces `Connection: close`.
    pub close: bool,
    /// Close without sending `Connection: close` (httpd does this after a 417).
    pub close_silently: bool,
    /// Where the handler put its Content-Length among `headers` (httpd's default handler
    /// sets it after Accept-Ranges, so fields later modules add follow it); `None`: after
    /// every field, where httpd's content-length filter puts it for other handlers.
    pub length_at: Option<usize>,
    /// Skip the body for HEAD (set by the writer).
    pub head_only: bool,
    /// Set by handlers that need the request body first (see `Deferred`).
    pub deferred: Option<Deferred>,
    /// A protocol switch to run once the head is written (see `Upgrade`).
    pub upgrade: Option<Upgrade>,
    /// mod_negotiation's variant-list validator: the default handler appends it to the
    /// chosen file's ETag (httpd's `r->vlist_validator`).
    pub vlist_validator: Option<String>,
    /// A deferred handler's answer is an internal redirect to this local URL (a CGI
    /// script's `Location: /path`): `finish_deferred` serves it as a GET instead.
    pub local_redirect: Option<String>,
    /// The reason phrase a script gave with its `Status:` (httpd's r->status_line), sent
    /// instead of the standard one over HTTP/1.
    pub reason: Option<String>,
    /// A CGI `nph-` script's head as it wrote it: HTTP/1 sends these bytes instead of a head
    /// of its own, then the body, and closes; `status` and `headers` are parsed from them
    /// (for the log, and for HTTP/2, which sends a head of its own).
    pub nph_head: Option<Vec<u8>>,
}

impl Response {
    /// The answer to a HEAD request of a backend or script: no body, the length it declared
    /// (then a Content-Length), else `unknown` framing (no length field).
    pub fn head_only_body(&mut self, length: Option<u64>, unknown: Framing) {
        self.body = Body::Stream(StreamBody(Box::new(std::io::empty())), length);
        self.framing = if length.is_some() {
            Framing::Length
        } else {
            unknown
        };
    }

    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Response::default()
        }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .chain(self.err_headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn set(&mut self, name: impl Into<HeaderName>, value: String) {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value));
    }

    /// httpd's `fixup_vary` as the head is written: every `Vary` field (err_headers_out's
    /// first, as httpd overlays them on headers_out) split at commas and blanks, each name
    /// kept once (the first spelling wins, compared without case), joined by `,` into the
    /// first `Vary` field; the others go. Allocates only when there is a `Vary`.
    pub fn fixup_vary(&mut self) {
        let is_vary = |n: &HeaderName| n.eq_ignore_ascii_case("Vary");
        let count = self.err_headers.iter().filter(|(n, _)| is_vary(n)).count()
            + self.headers.iter().filter(|(n, _)| is_vary(n)).count();
        if count == 0 {
            return;
        }
        let mut merged = String::new();
        for (_, v) in self
            .err_headers
            .iter()
            .chain(self.headers.iter())
            .filter(|(n, _)| is_vary(n))
        {
            for name in v
                .split(|c: char| c == ',' || c.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
            {
                if !merged.split(',').any(|m| m.eq_ignore_ascii_case(name)) {
                    if !merged.is_empty() {
                        merged.push(',');
                    }
                    merged.push_str(name);
                }
            }
        }
        if merged.is_empty() {
            return; // no names at all: httpd leaves the fields as they are
        }
        // The merged value replaces the first field: httpd's table keeps its place.
        let mut first = true;
        let mut keep = |n: &HeaderName, v: &mut String| {
            if !is_vary(n) {
                return true;
            }
            if first {
                first = false;
                *v = std::mem::take(&mut merged);
                return true;
            }
            false
        };
        self.err_headers.retain_mut(|(n, v)| keep(n, v));
        self.headers.retain_mut(|(n, v)| keep(n, v));
    }
}

/// One request while it goes through the phases.
pub struct Request<'a> {
    pub head: &'a Head,
    pub method: Method,
    pub method_str: &'a str,
    pub config: &'a ServerConfig,
    pub server: &'a ServerConf,
    /// Index of `server` (0 = main, i+1 = vhost i): the key of the merge cache.
    pub server_index: usize,
    /// The connection's peer (httpd's `c->client_addr`): `CONN_REMOTE_ADDR`, `%{c}a`.
    pub peer: SocketAddr,
    /// The user agent (`r->useragent_addr`): the peer, unless mod_remoteip took the address
    /// from a header (port 0 then). `Require ip`, `%a`, `REMOTE_ADDR` see this one.
    pub useragent: SocketAddr,
    /// The client the connection's PROXY protocol header named (mod_remoteip): it becomes
    /// the user agent of every request, before any `RemoteIPHeader`, which is then ignored.
    pub proxied: Option<SocketAddr>,
    pub local: SocketAddr,
    /// Host from the absolute-form target or the Host header, lowercased, without port.
    pub hostname: Option<String>,
    /// The port the client named in Host, if any.
    pub host_port: Option<u16>,
    /// The decoded, normalised URL path.
    pub uri: String,
    pub query: Option<String>,
    pub filename: PathBuf,
    /// What follows an existing file in the URL (`/index.php/extra` → `/extra`).
    pub path_info: String,
    pub finfo: Option<Metadata>,
    pub dir: Arc<DirConf>,
    /// Request environment (SetEnv, SetEnvIf, …).
    pub env: Vec<(String, String)>,
    /// When the request arrived (seconds since the epoch).
    pub time: u64,
    /// When the request arrived, in microseconds since the epoch (mod_headers' `%t`, `%D`).
    pub received_us: u64,
    /// Set on the internal redirect to an ErrorDocument: the original status.
    pub prev_status: Option<u16>,
    /// Extra request headers added by `RequestHeader` (set/append/unset are applied here).
    pub headers_in_override: Vec<(String, Option<String>)>,
    /// mod_proxy's translate hook: the backend URL this request goes to.
    pub proxy_target: Option<String>,
    /// mod_rewrite's per-request state (END, internal redirects, T=/H=).
    pub rewrite: super::rewrite::Notes,
    /// httpd's `r->notes` that modules leave for the log (`%{name}n`), e.g. mod_remoteip's
    /// `remoteip-proxy-ip-list`.
    pub notes: Vec<(&'static str, String)>,
    /// The URL path before the first full internal redirect, for the access log's `%U`.
    pub original_uri: Option<String>,
    /// The request came over TLS (mod_ssl's `HTTPS`).
    pub https: bool,
    /// The name the client sent with SNI (mod_ssl's `SSL_TLS_SNI`).
    pub sni: Option<&'a str>,
    /// The TLS session's facts (mod_ssl's variables); `None` in the clear.
    pub ssl: Option<super::SslConn<'a>>,
    /// Request header names expressions (`<If>`, `Header … expr=`) and RewriteConds looked
    /// at, not yet merged into the response's `Vary` (httpd merges them into headers_out
    /// as it evaluates; here the response does not exist yet when `<If>` is walked).
    pub vary: std::cell::RefCell<String>,
}

impl<'a> Request<'a> {
    /// An internal sub-request of this one (httpd's `ap_sub_req_lookup_*`): the same client,
    /// server, method, headers, query and environment, for `uri` and `filename` with the
    /// configuration `dir`; no path info, notes or rewrite state of its own.
    pub(crate) fn sub_request(
        &self,
        uri: String,
        filename: PathBuf,
        finfo: Option<Metadata>,
        dir: Arc<DirConf>,
    ) -> Request<'a> {
        Request {
            head: self.head,
            method: self.method,
            method_str: self.method_str,
            config: self.config,
            server: self.server,
            server_index: self.server_index,
            peer: self.peer,
            useragent: self.useragent,
            proxied: self.proxied,
            local: self.local,
            hostname: self.hostname.clone(),
            host_port: self.host_port,
            uri,
            query: self.query.clone(),
            filename,
            path_info: String::new(),
            finfo,
            dir,
            env: self.env.clone(),
            time: self.time,
            received_us: self.received_us,
            prev_status: self.prev_status,
            headers_in_override: self.headers_in_override.clone(),
            proxy_target: None,
            rewrite: Default::default(),
            notes: Vec::new(),
            original_uri: None,
            https: self.https,
            sni: self.sni,
            ssl: self.ssl,
            vary: Default::default(),
        }
    }
}

impl Request<'_> {
    /// Keeps the URL path of the original request before a full internal redirect replaces
    /// `uri` (httpd logs `%U` from the original request, `%>U` from the final one); the
    /// caller sets the new `uri` next.
    pub fn begin_internal_redirect(&mut self) {
        if self.original_uri.is_none() {
            self.original_uri = Some(std::mem::take(&mut self.uri));
        }
    }
    pub fn header_in(&self, name: &str) -> Option<&str> {
        for (n, v) in self.headers_in_override.iter().rev() {
            if n.eq_ignore_ascii_case(name) {
                return v.as_deref();
            }
        }
        self.head
            .header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), value.to_string()));
    }
    /// [`set_env`](Self::set_env) for a name and value the caller already owns.
    pub fn set_env_owned(&mut self, name: String, value: String) {
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value));
    }
    pub fn unset_env(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
    }
    /// Notes that the response varies with request header `name` (not `Host`, as httpd
    /// skips it per RFC 7231 7.1.4).
    pub fn add_vary(&self, name: &str) {
        if name.eq_ignore_ascii_case("Host") {
            return;
        }
        let mut v = self.vary.borrow_mut();
        if !v.is_empty() {
            v.push_str(", ");
        }
        v.push_str(name);
    }
    /// Moves the names noted so far into `resp`'s headers_out as httpd's
    /// `apr_table_merge(headers_out, "Vary", …)` does: appended to the first `Vary` field,
    /// or as a new one.
    pub fn flush_vary(&self, resp: &mut Response) {
        let mut v = self.vary.borrow_mut();
        if v.is_empty() {
            return;
        }
        match resp
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("Vary"))
        {
            Some((_, cur)) => {
                cur.push_str(", ");
                cur.push_str(&v);
                v.clear();
            }
            None => resp.headers.push(("Vary".into(), std::mem::take(&mut *v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varies(r: &Response) -> Vec<&str> {
        r.headers
            .iter()
            .chain(r.err_headers.iter())
            .filter(|(n, _)| n.eq_ignore_ascii_case("Vary"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn vary_fields_merge_into_one() {
        let mut r = Response::new(200);
        r.headers.push(("ETag".into(), "\"x\"".into()));
        r.headers
            .push(("Vary".into(), "Accept-Encoding, User-Agent".into()));
        r.headers
            .push(("vary".into(), " accept-encoding,,X-A\tX-B ".into()));
        r.err_headers.push(("Vary".into(), "X-One, x-one".into()));
        r.fixup_vary();
        assert_eq!(varies(&r), ["X-One,Accept-Encoding,User-Agent,X-A,X-B"]);
        // The merged value took the first field's place (in err_headers_out).
        assert_eq!(r.headers.len(), 1);

        let mut r = Response::new(200);
        r.headers.push(("Vary".into(), "X-A, X-B".into()));
        r.fixup_vary();
        assert_eq!(varies(&r), ["X-A,X-B"]);

        let mut r = Response::new(200);
        r.headers.push(("Vary".into(), " , ".into()));
        r.fixup_vary();
        assert_eq!(
            varies(&r),
            [" , "],
            "httpd leaves a field with no names as it is"
        );
    }
}
