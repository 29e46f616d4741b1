//! mod_proxy_http: the backend side of a proxied request over HTTP/1.1 with blocking sockets.
//! Connections are kept per thread (engines process a request on one thread) and reused when
//! the backend's response was read to its end and it did not ask to close.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::ErrCtx;
use crate::modules::{Body, BodySink, Framing, Request, Response, StreamBody, Upgrade};
use crate::proto::h1::body::ChunkedDecoder;

/// Idle backend connections per thread, by `host:port`.
const POOL_MAX: usize = 8;
/// An idle connection older than this is not reused (backends close idle ones).
const POOL_IDLE: Duration = Duration::from_secs(5);
const MAX_HEAD: usize = 64 * 1024;

thread_local! {
    static POOL: RefCell<HashMap<String, Vec<(TcpStream, Instant)>>> =
        RefCell::new(HashMap::new());
}

fn pool_take(key: &str) -> Option<TcpStream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let v = p.get_mut(key)?;
        while let Some((s, at)) = v.pop() {
            if at.elapsed() < POOL_IDLE {
                return Some(s);
            }
        }
        None
    })
}

fn pool_put(key: &str, s: TcpStream) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let v = p.entry(key.to_string()).or_default();
        if v.len() < POOL_MAX {
            v.push((s, Instant::now()));
        }
    });
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and those mod_proxy sets itself.
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// `scheme://host[:port]/path` split up.
#[derive(Debug, PartialEq, Eq)]
pub struct Url<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub path: &'a str,
}

pub fn parse_url(url: &str) -> Option<Url<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => 443,
        "fcgi" => 8000,
        _ => 80,
    };
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, after) = h.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(Url {
        scheme,
        host,
        port,
        path,
    })
}

/// A prepared backend request: everything but the body and its length.
pub struct BackendRequest {
    key: String,
    host: String,
    port: u16,
    head: Vec<u8>,
    is_head: bool,
    timeout: Duration,
    /// The client sent a body (or the method usually has one): send Content-Length.
    has_body: bool,
    /// The client asked to upgrade to a protocol the rule allows: forward the Upgrade and
    /// tunnel after a 101.
    upgrade: Option<String>,
}

impl BackendRequest {
    pub fn build(
        req: &Request<'_>,
        target: &str,
        timeout: Duration,
        allow_upgrade: Option<&str>,
    ) -> Result<Self, u16> {
        let u = parse_url(target).ok_or(500u16)?;
        if !u.scheme.eq_ignore_ascii_case("http") && !u.scheme.eq_ignore_ascii_case("ws") {
            return Err(500);
        }
        // mod_proxy_wstunnel: `Connection: Upgrade` + `Upgrade: <proto>` the rule allows.
        let upgrade = match (allow_upgrade, req.header_in("Upgrade")) {
            (Some(allow), Some(want))
                if req.header_in("Connection").is_some_and(|c| {
                    c.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                }) && (allow == "*"
                    || allow
                        .split(',')
                        .any(|a| a.trim().eq_ignore_ascii_case(want.trim()))) =>
            {
                Some(want.trim().to_string())
            }
            _ => None,
        };
        let path = if u.path.is_empty() || u.path.starts_with('?') {
            format!("/{}", u.path)
        } else {
            u.path.to_string()
        };
        let mut h = Vec::with_capacity(512);
        h.extend_from_slice(req.method_str.as_bytes());
        h.push(b' ');
        h.extend_from_slice(path.as_bytes());
        h.extend_from_slice(b" HTTP/1.1\r\n");
        let preserve = req.dir.proxy_preserve_host.unwrap_or(false);
        let client_host = req.header_in("Host").map(str::to_string);
        let host_value = match (&client_host, preserve) {
            (Some(h), true) => h.clone(),
            _ if u.port == 80 => u.host.to_string(),
            _ => format!("{}:{}", u.host, u.port),
        };
        push(&mut h, "Host", &host_value);
        // Headers named in Connection are hop-by-hop too.
        let conn_tokens: Vec<String> = req
            .header_in("Connection")
            .map(|c| {
                c.split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let mut xff = None;
        let mut emit = |h: &mut Vec<u8>, name: &str, value: &str| {
            let lname = name.to_ascii_lowercase();
            if hop_by_hop(name)
                || lname == "host"
                || lname == "content-length"
                || lname == "expect"
                || conn_tokens.contains(&lname)
            {
                return;
            }
            if lname == "x-forwarded-for" {
                xff = Some(value.to_string());
                return;
            }
            push(h, name, value);
        };
        // The request headers as the modules left them (mod_remoteip, RequestHeader): a
        // rewritten field is sent once, with its new value.
        let overridden = |n: &str| {
            req.headers_in_override
                .iter()
                .any(|(o, _)| o.eq_ignore_ascii_case(n))
        };
        let head = req.head;
        for f in &head.fields {
            let Ok(name) = std::str::from_utf8(head.name(f)) else {
                continue;
            };
            if overridden(name) {
                continue;
            }
            emit(&mut h, name, &String::from_utf8_lossy(head.value(f)));
        }
        for (i, (name, _)) in req.headers_in_override.iter().enumerate() {
            let first = !req.headers_in_override[..i]
                .iter()
                .any(|(o, _)| o.eq_ignore_ascii_case(name));
            if let (true, Some(v)) = (first, req.header_in(name)) {
                emit(&mut h, name, v);
            }
        }
        if req.dir.proxy_add_headers.unwrap_or(true) {
            let ip = req.useragent.ip().to_canonical().to_string();
            let v = match xff {
                Some(prev) => format!("{prev}, {ip}"),
                None => ip,
            };
            push(&mut h, "X-Forwarded-For", &v);
            if let Some(ch) = &client_host {
                push(&mut h, "X-Forwarded-Host", ch);
            }
            let sn = req
                .server
                .server_name
                .clone()
                .unwrap_or_else(|| req.local.ip().to_string());
            let sn = match sn.rsplit_once(':') {
                Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) => n.to_string(),
                _ => sn,
            };
            push(&mut h, "X-Forwarded-Server", &sn);
        } else if let Some(prev) = xff {
            push(&mut h, "X-Forwarded-For", &prev);
        }
        let has_body =
            head.header("Content-Length").is_some() || head.header("Transfer-Encoding").is_some();
        Ok(BackendRequest {
            key: format!("{}:{}", u.host, u.port),
            host: u.host.to_string(),
            port: u.port,
            head: h,
            is_head: req.method_str == "HEAD",
            timeout,
            has_body,
            upgrade,
        })
    }

    fn connect(&self) -> Result<TcpStream, u16> {
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|_| 503u16)?;
        let mut last = 503;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(_) => last = 503,
            }
        }
        Err(last)
    }

    /// The body sink for a request whose body is `declared` bytes long (`None`: chunked).
    /// A body of known length streams to a new backend connection as it arrives; a bodiless
    /// request may use (and retry) a pooled one; a chunked body is read whole first and sent
    /// with its length, as backends expect.
    pub fn start(
        self,
        declared: Option<u64>,
        errs: ErrCtx,
        reverse: Vec<(String, String)>,
    ) -> Box<dyn BodySink> {
        match declared {
            Some(n) if n > 0 && self.upgrade.is_none() => {
                let conn = self.connect().map_err(|st| Box::new(errs.page(st, None)));
                let conn = conn.and_then(|mut s| {
                    let _ = s.set_read_timeout(Some(self.timeout));
                    let _ = s.set_write_timeout(Some(self.timeout));
                    let head = self.head_with(Some(n));
                    match s.write_all(&head) {
                        Ok(()) => Ok(s),
                        Err(_) => Err(Box::new(
                            errs.proxy_error("Error reading from remote server"),
                        )),
                    }
                });
                Box::new(Streaming {
                    req: self,
                    errs,
                    reverse,
                    conn,
                    failed: false,
                })
            }
            _ => super::Buffered::boxed(move |body| self.exchange(body, &errs, &reverse)),
        }
    }

    /// The request head with the body length and the connection headers.
    fn head_with(&self, len: Option<u64>) -> Vec<u8> {
        let mut head = self.head.clone();
        if let Some(n) = len {
            push(&mut head, "Content-Length", &n.to_string());
        }
        match &self.upgrade {
            Some(proto) => {
                push(&mut head, "Upgrade", proto);
                head.extend_from_slice(b"Connection: Upgrade\r\n\r\n");
            }
            None => head.extend_from_slice(b"Connection: Keep-Alive\r\n\r\n"),
        }
        head
    }

    /// Sends the request with `body` and returns the client response: the backend's head
    /// with its body streamed, or httpd's 502/503/504 page.
    pub fn exchange(&self, body: Vec<u8>, errs: &ErrCtx, reverse: &[(String, String)]) -> Response {
        let len = (self.has_body || !body.is_empty()).then_some(body.len() as u64);
        let head = self.head_with(len);
        for attempt in 0..2 {
            let pooled = if self.upgrade.is_none() && attempt == 0 {
                pool_take(&self.key)
            } else {
                None
            };
            let (mut s, reused) = match pooled {
                Some(s) => (s, true),
                _ => match self.connect() {
                    Ok(s) => (s, false),
                    Err(st) => return errs.page(st, None),
                },
            };
            let _ = s.set_read_timeout(Some(self.timeout));
            let _ = s.set_write_timeout(Some(self.timeout));
            if s.write_all(&head).and_then(|_| s.write_all(&body)).is_err() {
                if reused {
                    continue;
                }
                return errs.proxy_error("Error reading from remote server");
            }
            match read_head(&mut s) {
                Ok((101, headers, rest)) if self.upgrade.is_some() => {
                    return self.switch(s, headers, rest);
                }
                Ok((status, headers, rest)) => {
                    return self.respond(s, status, headers, rest, reverse, errs);
                }
                Err(HeadError::Closed) if reused => continue,
                // httpd answers a backend that times out or sends no valid head the same
                // way: 502 "Error reading from remote server".
                Err(_) => return errs.proxy_error("Error reading from remote server"),
            }
        }
        errs.proxy_error("Error reading from remote server")
    }

    /// The backend switched protocols: send its 101 and tunnel both ways (the idle timeout is
    /// the proxy timeout).
    fn switch(&self, s: TcpStream, headers: Vec<(String, String)>, rest: Vec<u8>) -> Response {
        let mut resp = Response::new(101);
        for (n, v) in headers {
            let ln = n.to_ascii_lowercase();
            match ln.as_str() {
                "date" | "server" | "content-length" | "transfer-encoding" | "keep-alive" => {}
                _ => resp.headers.push((n.into(), v)),
            }
        }
        // The head carries the backend's Connection/Upgrade; the driver adds none.
        resp.close_silently = true;
        let idle = self.timeout;
        resp.upgrade = Some(Upgrade(Box::new(move |client, pending| {
            super::tunnel::pump(client, pending, s, rest, idle);
        })));
        resp
    }

    fn respond(
        &self,
        s: TcpStream,
        status: u16,
        headers: Vec<(String, String)>,
        rest: Vec<u8>,
        reverse: &[(String, String)],
        errs: &ErrCtx,
    ) -> Response {
        let mut resp = Response::new(status);
        let mut length = None;
        let mut chunked = false;
        let mut close = self.upgrade.is_some();
        let conn_tokens: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
            .collect();
        close |= conn_tokens.iter().any(|t| t == "close");
        for (n, v) in headers {
            let ln = n.to_ascii_lowercase();
            match ln.as_str() {
                "content-length" => match v.trim().parse::<u64>() {
                    Ok(n) if length.map_or(true, |l| l == n) => length = Some(n),
                    _ => return errs.proxy_error("Error reading from remote server"),
                },
                "transfer-encoding" => {
                    if v.to_ascii_lowercase().contains("chunked") {
                        chunked = true;
                    }
                }
                "content-type" => resp.content_type = Some(v),
                // The driver writes its own Date and Server.
                "date" | "server" => {}
                "location" | "content-location" | "uri" => {
                    resp.headers
                        .push((n.into(), super::reverse_map(&v, reverse)));
                }
                _ if hop_by_hop(&n) || conn_tokens.contains(&ln) => {}
                _ => resp.headers.push((n.into(), v)),
            }
        }
        let no_body = self.is_head || status == 204 || status == 304 || status < 200;
        let kind = if no_body {
            Kind::Length(0)
        } else if chunked {
            Kind::Chunked(ChunkedDecoder::new())
        } else if let Some(l) = length {
            Kind::Length(l)
        } else {
            close = true;
            Kind::Eof
        };
        let reader = ProxyBody {
            stream: Some(s),
            buf: rest,
            pos: 0,
            kind,
            keep: !close,
            key: self.key.clone(),
            done: false,
            pending: Vec::new(),
            ppos: 0,
        };
        if self.is_head {
            // The driver sends no body for HEAD; keep the backend's length.
            let mut r = reader;
            r.finish_if_done();
            resp.head_only_body(length, Framing::Chunked);
            return resp;
        }
        let mut reader = reader;
        reader.finish_if_done();
        if no_body {
            resp.body = Body::Empty;
            return resp;
        }
        match (chunked, length) {
            (false, Some(l)) => {
                resp.body = Body::Stream(StreamBody(Box::new(reader)), Some(l));
                resp.framing = Framing::Length;
            }
            _ => {
                resp.body = Body::Stream(StreamBody(Box::new(reader)), None);
                resp.framing = Framing::Chunked;
            }
        }
        resp
    }
}

/// A request body streamed to the backend as the client sends it.
struct Streaming {
    req: BackendRequest,
    errs: ErrCtx,
    reverse: Vec<(String, String)>,
    /// The backend connection with the head sent, or the error page to answer with.
    conn: Result<TcpStream, Box<Response>>,
    failed: bool,
}

impl BodySink for Streaming {
    fn data(&mut self, chunk: &[u8]) {
        if let Ok(s) = &mut self.conn {
            if !self.failed && s.write_all(chunk).is_err() {
                self.failed = true;
            }
        }
    }

    fn finish(self: Box<Self>, complete: bool) -> Response {
        let this = *self;
        let mut s = match this.conn {
            Err(page) => return *page,
            Ok(s) => s,
        };
        if !complete || this.failed {
            return this.errs.proxy_error("Error reading from remote server");
        }
        match read_head(&mut s) {
            Ok((status, headers, rest)) => {
                this.req
                    .respond(s, status, headers, rest, &this.reverse, &this.errs)
            }
            Err(_) => this.errs.proxy_error("Error reading from remote server"),
        }
    }
}

fn push(h: &mut Vec<u8>, name: &str, value: &str) {
    h.extend_from_slice(name.as_bytes());
    h.extend_from_slice(b": ");
    h.extend_from_slice(value.as_bytes());
    h.extend_from_slice(b"\r\n");
}

#[derive(Debug)]
enum HeadError {
    /// EOF before any byte (a stale pooled connection).
    Closed,
    Timeout,
    Garbage,
}

type Head = (u16, Vec<(String, String)>, Vec<u8>);

/// Reads a response head, skipping 1xx interim responses. Returns the bytes after it.
fn read_head(s: &mut TcpStream) -> Result<Head, HeadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut got_any = false;
    loop {
        let mut hs = [httparse::EMPTY_HEADER; 100];
        let mut r = httparse::Response::new(&mut hs);
        match r.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = r.code.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    buf.drain(..n);
                    continue;
                }
                let headers = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                return Ok((status, headers, buf[n..].to_vec()));
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(HeadError::Garbage);
                }
            }
            Err(_) => return Err(HeadError::Garbage),
        }
        match s.read(&mut chunk) {
            Ok(0) if !got_any => return Err(HeadError::Closed),
            Ok(0) => return Err(HeadError::Garbage),
            Ok(n) => {
                got_any = true;
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                return Err(HeadError::Timeout)
            }
            Err(_) if !got_any => return Err(HeadError::Closed),
            Err(_) => return Err(HeadError::Garbage),
        }
    }
}

enum Kind {
    Length(u64),
    Chunked(ChunkedDecoder),
    Eof,
}

/// The backend's response body, decoded, read while the driver writes it to the client. At
/// its end the connection goes back to the pool when the backend allows it.
struct ProxyBody {
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    pos: usize,
    kind: Kind,
    keep: bool,
    key: String,
    done: bool,
    /// Decoded chunk data that did not fit the caller's buffer.
    pending: Vec<u8>,
    ppos: usize,
}

impl ProxyBody {
    fn finish_if_done(&mut self) {
        let done = match &self.kind {
            Kind::Length(0) => true,
            Kind::Chunked(d) => d.is_done(),
            _ => false,
        };
        if done && !self.done {
            self.done = true;
            if let Some(s) = self.stream.take() {
                if self.keep && self.pos >= self.buf.len() {
                    pool_put(&self.key, s);
                }
            }
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let Some(s) = self.stream.as_mut() else {
            return Ok(0);
        };
        let mut chunk = [0u8; 16 * 1024];
        let n = s.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

impl Read for ProxyBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.ppos < self.pending.len() {
            let n = (self.pending.len() - self.ppos).min(out.len());
            out[..n].copy_from_slice(&self.pending[self.ppos..self.ppos + n]);
            self.ppos += n;
            if self.ppos == self.pending.len() {
                self.pending.clear();
                self.ppos = 0;
            }
            return Ok(n);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if self.pos >= self.buf.len() && self.fill()? == 0 {
                return match self.kind {
                    Kind::Eof => {
                        self.done = true;
                        self.stream = None;
                        Ok(0)
                    }
                    _ => Err(io::ErrorKind::UnexpectedEof.into()),
                };
            }
            let avail = &self.buf[self.pos..];
            match &mut self.kind {
                Kind::Length(left) => {
                    let n = avail.len().min(out.len()).min(*left as usize);
                    out[..n].copy_from_slice(&avail[..n]);
                    self.pos += n;
                    *left -= n as u64;
                    self.finish_if_done();
                    return Ok(n);
                }
                Kind::Eof => {
                    let n = avail.len().min(out.len());
                    out[..n].copy_from_slice(&avail[..n]);
                    self.pos += n;
                    return Ok(n);
                }
                Kind::Chunked(dec) => {
                    let step = dec
                        .feed(avail)
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
                    let data = &avail[step.data.clone()];
                    let n = data.len().min(out.len());
                    out[..n].copy_from_slice(&data[..n]);
                    self.pending.extend_from_slice(&data[n..]);
                    self.pos += step.used;
                    self.finish_if_done();
                    if n > 0 {
                        return Ok(n);
                    }
                    if step.used == 0 && self.fill()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8080/a/b?x").unwrap();
        assert_eq!((u.host, u.port, u.path), ("127.0.0.1", 8080, "/a/b?x"));
        let u = parse_url("http://backend").unwrap();
        assert_eq!((u.host, u.port, u.path), ("backend", 80, ""));
        let u = parse_url("http://[::1]:81/").unwrap();
        assert_eq!((u.host, u.port), ("::1", 81));
        assert!(parse_url("http://:80/").is_none());
        assert!(parse_url("nourl").is_none());
    }

    #[test]
    fn hop_by_hop_names() {
        assert!(hop_by_hop("Connection"));
        assert!(hop_by_hop("transfer-encoding"));
        assert!(!hop_by_hop("Content-Type"));
    }
}
