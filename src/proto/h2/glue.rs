//! The adapter from an HTTP/2 stream to the request pipeline HTTP/1 uses: the pseudo-headers
//! and fields become an HTTP/1.1 head (parsed by `proto::h1` with the server's limits), run
//! through `modules::process`, and the `Response` comes back as status, fields and a body
//! source. This keeps one pipeline for both protocols; it is the one place where `proto::h2`
//! reaches into `modules` (the pipeline has no protocol-neutral entry yet).

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Instant;

use crate::config::ServerConfig;
use crate::modules::request::HeaderName;
use crate::modules::{self, Body, LogRecord};
use crate::proto::h1::head::{parse_head, Limits, Parsed};
use crate::proto::h1::response::{error_page, http_date, now_secs, ErrorInfo};
use crate::scoreboard::{H2Stream, WorkerSlot};

/// What one HTTP/2 connection shares with its streams.
pub struct Shared {
    pub config: Arc<ServerConfig>,
    pub peer: SocketAddr,
    /// The client the connection's PROXY protocol header named (mod_remoteip).
    pub proxied: Option<SocketAddr>,
    pub local: SocketAddr,
    /// The scoreboard slot of the worker that took the connection over: its streams show
    /// and count there (httpd's main-connection handle), `None` under `-X`.
    pub slot: Option<WorkerSlot<'static>>,
    /// The protocol column: `h2` over TLS, `h2c` in the clear.
    pub protocol: &'static [u8],
    /// The name the client sent with SNI (mod_ssl's `SSL_TLS_SNI`).
    pub sni: Option<Box<str>>,
    /// What mod_ssl's variables say of the connection.
    pub ssl: Option<crate::tls::ConnSsl>,
}

impl Shared {
    /// mod_ssl's view of the connection.
    pub fn ssl_conn(&self) -> Option<crate::modules::SslConn<'_>> {
        self.ssl.as_ref().map(|ssl| crate::modules::SslConn {
            sni: self.sni.as_deref(),
            ssl,
            conn: None,
        })
    }

    /// A stream is being served: the slot reads as `W` while the guard lives.
    pub fn stream_busy(&self) -> Option<H2Stream<'static>> {
        self.slot.map(|s| s.h2_stream())
    }
}

/// An HTTP/2 request without its body.
#[derive(Debug)]
pub struct RequestParts {
    pub method: String,
    /// `:path` (path and query).
    pub path: String,
    /// `:authority`.
    pub authority: Option<String>,
    /// Regular fields, names lowercase.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body_len: u64,
    /// The body itself when it is at most `KEEP_BODY` bytes.
    pub body: Vec<u8>,
}

/// The largest request body kept for a handler that reads it (larger ones get 413 there).
pub const KEEP_BODY: usize = 64 << 20;

/// A response for an HTTP/2 stream.
#[derive(Debug)]
pub struct ResponseParts {
    pub status: u16,
    pub headers: Vec<(HeaderName, String)>,
    pub body: ResponseBody,
}

/// Where the body comes from; `next_chunk` yields it in order.
#[derive(Debug)]
pub enum ResponseBody {
    Bytes(Vec<u8>),
    /// File ranges and literal pieces (a single range is one `File` piece).
    Pieces(std::collections::VecDeque<Piece>),
}

#[derive(Debug)]
pub enum Piece {
    Bytes(Vec<u8>),
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
}

impl ResponseBody {
    pub fn is_empty(&self) -> bool {
        match self {
            ResponseBody::Bytes(b) => b.is_empty(),
            ResponseBody::Pieces(p) => p.iter().all(|p| match p {
                Piece::Bytes(b) => b.is_empty(),
                Piece::File { len, .. } => *len == 0,
            }),
        }
    }

    /// The next part of the body, at most `max` bytes; `None` at the end or on a read error
    /// (the stream then ends short, as a truncated HTTP/1 body would).
    pub fn next_chunk(&mut self, max: usize) -> Option<Vec<u8>> {
        match self {
            ResponseBody::Bytes(b) => {
                if b.is_empty() {
                    None
                } else {
                    Some(std::mem::take(b))
                }
            }
            ResponseBody::Pieces(pieces) => loop {
                match pieces.front_mut()? {
                    Piece::Bytes(b) => {
                        let b = std::mem::take(b);
                        pieces.pop_front();
                        if !b.is_empty() {
                            return Some(b);
                        }
                    }
                    Piece::File { file, offset, len } => {
                        if *len == 0 {
                            pieces.pop_front();
                            continue;
                        }
                        let n = (*len).min(max as u64) as usize;
                        let mut buf = vec![0u8; n];
                        if file.read_exact_at(&mut buf, *offset).is_err() {
                            pieces.clear();
                            return None;
                        }
                        *offset += n as u64;
                        *len -= n as u64;
                        return Some(buf);
                    }
                }
            },
        }
    }
}

/// Runs the pipeline for one stream. With `inline` (the h2 runtime's own thread), a request
/// whose handler does blocking network work (a deferred handler: mod_proxy) is handed back
/// untouched as `Err` so the caller can run it on the blocking pool; the static pipeline
/// (file system lookups, logging) runs in place.
pub fn process(
    shared: &Shared,
    req: RequestParts,
    inline: bool,
) -> Result<ResponseParts, Box<RequestParts>> {
    let config: &ServerConfig = &shared.config;
    let started = Instant::now();
    let time_us = crate::scoreboard::now_micros();
    let time = time_us / 1_000_000;
    let server = modules::vhost::default_for(config, &shared.local);
    // mod_http2's own limits: a field (name, ": ", value) over LimitRequestFieldSize or more
    // regular fields than LimitRequestFields is 431 (the pseudo-headers do not count); it is
    // answered once the head is built, so that its log line has the request.
    let too_large = req
        .headers
        .iter()
        .any(|(n, v)| n.len() + 2 + v.len() > server.limit_request_field_size)
        || (server.limit_request_fields > 0 && req.headers.len() > server.limit_request_fields);
    // The HTTP/1.1 head the pipeline understands. Host comes from :authority (RFC 9113
    // §8.3.1: it takes precedence over a Host field).
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(req.method.as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(req.path.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(a) = &req.authority {
        buf.extend_from_slice(b"Host: ");
        buf.extend_from_slice(a.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (n, v) in &req.headers {
        if n == "host" && req.authority.is_some() {
            continue;
        }
        // HTTP/2 may split Cookie into several fields; HTTP/1 wants one (RFC 9113 §8.2.3).
        if n == "cookie" {
            cookies.push(v);
            continue;
        }
        buf.extend_from_slice(n.as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(v);
        buf.extend_from_slice(b"\r\n");
    }
    if !cookies.is_empty() {
        buf.extend_from_slice(b"cookie: ");
        buf.extend_from_slice(&cookies.join(&b"; "[..]));
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    // The fields were checked above; the h1 parser's own counting (Host included) must not
    // apply again.
    let limits = Limits {
        line: server.limit_request_line,
        field_size: 1 << 20,
        fields: 1 << 16,
        strict: server.http_protocol.strict && config.http_protocol_strict,
    };
    let request_line = format!("{} {} HTTP/2.0", req.method, req.path);
    // A stream refused before any module ran is logged as httpd does, with the request
    // as far as it was understood.
    let tls = shared.protocol == b"h2";
    let refuse = |status: u16, refused: crate::proto::h1::Refused| {
        let out = bare_error(config, server, status, &req.method);
        let body = body_len(&out.body);
        let notes = modules::LogNotes {
            https: tls,
            refused: Some(Box::new(refused)),
            ..Default::default()
        };
        if let Some(r) = notes.refused.as_deref() {
            modules::log_request(&LogRecord {
                request_line: request_line.as_bytes(),
                status,
                bytes_sent: body,
                peer: shared.peer,
                useragent: shared.proxied.unwrap_or(shared.peer),
                local: shared.local,
                server,
                head: Some(&r.head),
                time,
                start_us: time_us,
                response: None,
                sent_headers: None,
                body_bytes: if req.method == "HEAD" { 0 } else { body },
                keep_alive: true,
                requests_on_connection: 1,
                bytes_in: r.head.buf.len() as u64,
                notes: &notes,
                ssl: shared.ssl_conn(),
            });
        }
        out
    };
    let h2_protocol = |mut r: crate::proto::h1::Refused| {
        r.protocol = b"HTTP/2.0".to_vec();
        r
    };
    let mut head = match parse_head(&buf, &limits) {
        Parsed::Complete(head, _) => head,
        Parsed::Error(e) => {
            let r = crate::proto::h1::refused::refused(&buf, &limits, tls);
            return Ok(refuse(e.status, h2_protocol(r)));
        }
        Parsed::Partial | Parsed::Empty(_) => {
            let r = crate::proto::h1::refused::refused(&buf, &limits, tls);
            return Ok(refuse(400, h2_protocol(r)));
        }
    };
    if too_large {
        let r = crate::proto::h1::Refused::from_head(&head, tls);
        return Ok(refuse(431, h2_protocol(r)));
    }
    // The request is HTTP/2's: the variables, SetEnvIf's Request_Protocol and the log's %H
    // say so, as httpd's.
    head.h2 = true;
    head.version = (2, 0);
    let outcome = modules::process_observed(
        config,
        &head,
        (shared.peer, shared.proxied),
        shared.local,
        shared.ssl_conn(),
        time_us,
        &mut |server, ua| {
            if let Some(slot) = &shared.slot {
                crate::conn::request_text(
                    config,
                    server,
                    shared.local.port(),
                    ua,
                    |vhost, client| {
                        slot.h2_request_start(
                            request_line.as_bytes(),
                            vhost,
                            client,
                            shared.protocol,
                        )
                    },
                );
            }
        },
    );
    let mut resp = outcome.response;
    let limit = outcome.limit_request_body;
    // A handler that needs the body (mod_proxy): feed it what the stream carried.
    // A body larger than what the stream kept cannot be handed over: 413.
    let mut body_lost = false;
    if resp.deferred.is_some() && inline && !(limit > 0 && req.body_len > limit) {
        return Err(Box::new(req));
    }
    if let Some(d) = resp.deferred.take() {
        body_lost = req.body.len() as u64 != req.body_len;
        if !body_lost && (limit == 0 || req.body_len <= limit) {
            let mut sink = (d.0)(Some(req.body_len));
            sink.data(&req.body);
            resp = sink.finish(true);
            if let Some(late) = &outcome.late {
                modules::finish_deferred(
                    config,
                    &head,
                    (shared.peer, shared.proxied),
                    shared.local,
                    shared.ssl_conn(),
                    time_us,
                    (outcome.server, outcome.useragent, &outcome.notes, late),
                    &mut resp,
                );
            }
        }
    }
    let mut out = if (limit > 0 && req.body_len > limit) || body_lost {
        bare_error(config, outcome.server, 413, &req.method)
    } else {
        convert(config, resp, time, req.method == "HEAD")
    };
    let sent = body_len(&out.body);
    let body_bytes = if req.method == "HEAD" { 0 } else { sent };
    // httpd's %b over HTTP/2 counts a HEAD response's body as if it were sent.
    let logged_body = sent;
    let duration = started.elapsed();
    modules::log_request(&LogRecord {
        request_line: request_line.as_bytes(),
        status: out.status,
        bytes_sent: sent,
        peer: shared.peer,
        useragent: outcome.useragent,
        local: shared.local,
        server: outcome.server,
        head: Some(&head),
        time,
        start_us: time_us,
        response: None,
        sent_headers: Some(&out.headers),
        body_bytes: logged_body,
        keep_alive: true,
        requests_on_connection: 1,
        bytes_in: head.buf.len() as u64,
        notes: &outcome.notes,
        ssl: shared.ssl_conn(),
    });
    // Counted when logged, as httpd does (the body may still be on its way).
    if let Some(slot) = &shared.slot {
        slot.h2_request_done(duration, body_bytes);
    }
    if req.method == "HEAD" {
        out.body = ResponseBody::Bytes(Vec::new());
    }
    Ok(out)
}

fn body_len(b: &ResponseBody) -> u64 {
    match b {
        ResponseBody::Bytes(b) => b.len() as u64,
        ResponseBody::Pieces(p) => p
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File { len, .. } => *len,
            })
            .sum(),
    }
}

fn common_headers(config: &ServerConfig, time: u64, more: usize) -> Vec<(HeaderName, String)> {
    let mut v = Vec::with_capacity(2 + more);
    v.extend([
        ("date".into(), http_date(time)),
        (
            "server".into(),
            modules::banner(config.server_tokens).to_string(),
        ),
    ]);
    v
}

fn convert(
    config: &ServerConfig,
    mut resp: modules::Response,
    time: u64,
    is_head: bool,
) -> ResponseParts {
    // httpd sends no length where HTTP/1.1 would chunk (handler output such as
    // server-status), nor for the generated page of a HEAD request.
    let send_length = resp.framing != modules::Framing::Chunked
        && resp.status != 416
        && !(is_head && resp.generated);
    // A streamed body (mod_proxy) is collected here: h2 responses carry a known length.
    // TODO(h2 streaming): hand the reader to the h2 send loop instead of buffering it.
    if let Body::Stream(stream, _) = &mut resp.body {
        let mut bytes = Vec::new();
        if std::io::Read::read_to_end(&mut stream.0, &mut bytes).is_err() {
            resp.status = 502;
            bytes.clear();
        }
        resp.body = Body::Bytes(bytes);
    }
    // mod_http2 merges the Vary fields as httpd's HTTP/1 header filter does.
    resp.fixup_vary();
    let mut headers = common_headers(
        config,
        time,
        resp.headers.len() + resp.err_headers.len() + 2,
    );
    headers.append(&mut resp.headers);
    headers.append(&mut resp.err_headers);
    let no_body = resp.status == 304 || resp.status == 204 || (100..200).contains(&resp.status);
    let len = resp.body.len();
    if let Some(ct) = &mut resp.content_type {
        if !no_body {
            headers.push(("content-type".into(), std::mem::take(ct)));
        }
    }
    if !no_body && send_length {
        headers.push(("content-length".into(), len.to_string()));
    }
    let body = if no_body {
        ResponseBody::Bytes(Vec::new())
    } else {
        match resp.body {
            Body::Empty => ResponseBody::Bytes(Vec::new()),
            Body::Bytes(b) => ResponseBody::Bytes(b),
            Body::Shared(b) => ResponseBody::Bytes(b.to_vec()),
            Body::Stream(..) => unreachable!("streamed bodies are collected above"),
            Body::File { file, offset, len } => ResponseBody::Pieces(
                [Piece::File {
                    file: Arc::new(file),
                    offset,
                    len,
                }]
                .into(),
            ),
            Body::Multipart {
                file,
                parts,
                trailer,
            } => {
                let file = Arc::new(file);
                let mut v = std::collections::VecDeque::new();
                for (h, off, l) in parts {
                    v.push_back(Piece::Bytes(h));
                    v.push_back(Piece::File {
                        file: file.clone(),
                        offset: off,
                        len: l,
                    });
                }
                v.push_back(Piece::Bytes(trailer));
                ResponseBody::Pieces(v)
            }
        }
    };
    ResponseParts {
        status: resp.status,
        headers,
        body,
    }
}

/// An error page without a `Request` (a head the h1 parser refused, a body over the limit).
fn bare_error(
    config: &ServerConfig,
    server: &crate::config::ServerConf,
    status: u16,
    method: &str,
) -> ResponseParts {
    let info = ErrorInfo {
        method,
        server_admin: server
            .server_admin
            .as_deref()
            .unwrap_or("[no address given]"),
        ..ErrorInfo::default()
    };
    let body = if status == 431 {
        // The page mod_http2 answers oversized fields with (HTTP/1 never sends 431).
        let reason = "Request Header Fields Too Large";
        format!(
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
             <html><head>\n<title>431 {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n\
             <p>The server refused this request because\nthe request header fields are too large.</p>\n\
             </body></html>\n"
        )
        .into_bytes()
    } else {
        error_page(status, &info).into_bytes()
    };
    let mut headers = common_headers(config, now_secs(), 2);
    headers.push((
        "content-type".into(),
        "text/html; charset=iso-8859-1".into(),
    ));
    headers.push(("content-length".into(), body.len().to_string()));
    ResponseParts {
        status,
        headers,
        body: ResponseBody::Bytes(body),
    }
}
