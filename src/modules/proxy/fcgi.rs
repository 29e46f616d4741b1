//! mod_proxy_fcgi: a request to a FastCGI responder (PHP-FPM) over a Unix socket or TCP.
//! The FastCGI record protocol (BEGIN_REQUEST, PARAMS, STDIN → STDOUT, STDERR, END_REQUEST),
//! the CGI environment httpd builds (ap_add_common_vars + ap_add_cgi_vars), and the script's
//! CGI response head (`Status:`, `Location:`) turned into the HTTP response. The body is
//! streamed to the client record by record; STDERR lines go to the error log.
//! Connections are reused (FCGI_KEEP_CONN, a per-process pool) only with `enablereuse=on`,
//! as in httpd: an idle kept connection holds an FPM child, so size `pm.max_children` for it.

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ErrCtx;
use crate::modules::{Body, BodySink, Framing, Request, Response, StreamBody};

const VERSION: u8 = 1;
const BEGIN_REQUEST: u8 = 1;
const END_REQUEST: u8 = 3;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;
const STDERR: u8 = 7;
const RESPONDER: u16 = 1;
const KEEP_CONN: u8 = 1;
const REQUEST_ID: u16 = 1;
/// The most content one record carries.
const MAX_RECORD: usize = 65535;
/// A script's response head larger than this is refused (502).
const MAX_HEAD: usize = 64 * 1024;
const POOL_MAX: usize = 8;
const POOL_IDLE: Duration = Duration::from_secs(5);

/// Where the FastCGI server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    Unix(PathBuf),
    Tcp(String, u16),
}

impl Addr {
    fn key(&self) -> String {
        match self {
            Addr::Unix(p) => format!("unix:{}", p.display()),
            Addr::Tcp(h, p) => format!("{h}:{p}"),
        }
    }
}

/// Splits a backend URL: `fcgi://host[:port]/path` or `unix:/sock|fcgi://host/path`.
/// Returns the address, the `fcgi://host:port` part (as httpd canonicalises it) and the path.
pub fn parse_target(url: &str) -> Option<(Addr, String, String)> {
    let (sock, rest) = match url.strip_prefix("unix:") {
        Some(r) => {
            let (s, u) = r.split_once('|')?;
            (Some(PathBuf::from(s)), u)
        }
        None => (None, url),
    };
    let u = super::http::parse_url(rest)?;
    if !u.scheme.eq_ignore_ascii_case("fcgi") {
        return None;
    }
    let path = u.path.split('?').next().unwrap_or("").to_string();
    let host = if u.host.contains(':') {
        format!("[{}]", u.host)
    } else {
        u.host.to_string()
    };
    let canon = format!("fcgi://{host}:{}", u.port);
    let addr = match sock {
        Some(s) => Addr::Unix(s),
        None => Addr::Tcp(u.host.to_string(), u.port),
    };
    Some((addr, canon, path))
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn set_timeouts(&self, t: Duration) {
        let t = Some(t.max(Duration::from_millis(1)));
        match self {
            Conn::Unix(s) => {
                let _ = s.set_read_timeout(t);
                let _ = s.set_write_timeout(t);
            }
            Conn::Tcp(s) => {
                let _ = s.set_read_timeout(t);
                let _ = s.set_write_timeout(t);
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(b),
            Conn::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(b),
            Conn::Tcp(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Idle kept connections of this process, shared by its threads: a kept connection holds an
/// FPM child, so any thread should use it rather than open another. Pruned after `POOL_IDLE`.
static POOL: Mutex<Vec<(String, Conn, Instant)>> = Mutex::new(Vec::new());

fn pool_lock() -> std::sync::MutexGuard<'static, Vec<(String, Conn, Instant)>> {
    let mut p = POOL.lock().unwrap_or_else(|e| e.into_inner());
    p.retain(|(_, _, at)| at.elapsed() < POOL_IDLE);
    p
}

fn pool_take(key: &str) -> Option<Conn> {
    let mut p = pool_lock();
    let i = p.iter().rposition(|(k, _, _)| k == key)?;
    Some(p.swap_remove(i).1)
}

fn pool_put(key: &str, c: Conn) {
    let mut p = pool_lock();
    if p.iter().filter(|(k, _, _)| k == key).count() < POOL_MAX {
        p.push((key.to_string(), c, Instant::now()));
    }
}

/// Appends one FastCGI record (content ≤ 65535 bytes, padded to 8).
fn record(out: &mut Vec<u8>, kind: u8, content: &[u8]) {
    let pad = (8 - content.len() % 8) % 8;
    out.extend_from_slice(&[
        VERSION,
        kind,
        (REQUEST_ID >> 8) as u8,
        REQUEST_ID as u8,
        (content.len() >> 8) as u8,
        content.len() as u8,
        pad as u8,
        0,
    ]);
    out.extend_from_slice(content);
    out.extend_from_slice(&[0u8; 8][..pad]);
}

/// A stream of `kind` records carrying `data`, ended by an empty record.
fn records(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
    for c in data.chunks(MAX_RECORD) {
        record(out, kind, c);
    }
    record(out, kind, &[]);
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    if n < 128 {
        out.push(n as u8);
    } else {
        out.extend_from_slice(&((n as u32) | 0x8000_0000).to_be_bytes());
    }
}

/// FastCGI name-value pairs.
pub fn encode_params(params: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in params {
        push_len(&mut out, k.len());
        push_len(&mut out, v.len());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// How the script is named to the FastCGI server.
pub struct Script {
    /// SCRIPT_FILENAME.
    pub filename: String,
    /// SCRIPT_NAME.
    pub name: String,
    /// PATH_INFO (and PATH_TRANSLATED) when not empty.
    pub path_info: String,
}

impl Script {
    /// The script a handler runs for `req` (its file `filename`): SCRIPT_NAME is the URL
    /// without the path info, as httpd's `ap_add_cgi_vars` takes it.
    pub fn for_request(req: &Request<'_>, filename: String) -> Script {
        Script {
            filename,
            name: req
                .uri
                .strip_suffix(req.path_info.as_str())
                .unwrap_or(&req.uri)
                .to_string(),
            path_info: req.path_info.clone(),
        }
    }
}

/// `Header-Name` → `HTTP_HEADER_NAME`; `None` for names httpd does not pass (characters
/// other than alphanumerics and `-`).
fn http2env(name: &str) -> Option<String> {
    let mut s = String::with_capacity(name.len() + 5);
    s.push_str("HTTP_");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase());
        } else if c == '-' {
            s.push('_');
        } else {
            return None;
        }
    }
    Some(s)
}

/// The CGI environment httpd's mod_proxy_fcgi sends: the request's environment (SetEnv …),
/// then ap_add_common_vars, then ap_add_cgi_vars, in httpd's order.
pub fn environment(req: &Request<'_>, script: &Script) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(48);
    let set = |env: &mut Vec<(String, String)>, k: &str, v: String| {
        if let Some(e) = env.iter_mut().find(|(n, _)| n == k) {
            e.1 = v;
        } else {
            env.push((k.to_string(), v));
        }
    };
    let https = req.config.tls.port_for(req.local).is_some();
    for (k, v) in &req.env {
        set(&mut env, k, v.clone());
    }
    if https {
        set(&mut env, "HTTPS", "on".into());
    }
    // Request headers (RequestHeader edits applied); repeated ones joined with ", ".
    let head = req.head;
    let mut names: Vec<String> = Vec::new();
    for f in &head.fields {
        if let Ok(n) = std::str::from_utf8(head.name(f)) {
            if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
                names.push(n.to_string());
            }
        }
    }
    for (n, v) in &req.headers_in_override {
        if v.is_some() && !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    for n in &names {
        let value = if req
            .headers_in_override
            .iter()
            .any(|(o, _)| o.eq_ignore_ascii_case(n))
        {
            match req.header_in(n) {
                Some(v) => v.to_string(),
                None => continue,
            }
        } else {
            let vals: Vec<String> = head
                .fields
                .iter()
                .filter(|f| head.name(f).eq_ignore_ascii_case(n.as_bytes()))
                .map(|f| String::from_utf8_lossy(head.value(f)).into_owned())
                .collect();
            vals.join(", ")
        };
        let l = n.to_ascii_lowercase();
        match l.as_str() {
            "content-type" => set(&mut env, "CONTENT_TYPE", value),
            "content-length" => set(&mut env, "CONTENT_LENGTH", value),
            // Credentials only with `CGIPassAuth On`; `Proxy:` never (httpoxy).
            "authorization" | "proxy-authorization" if req.dir.cgi_pass_auth == Some(true) => {
                if let Some(k) = http2env(n) {
                    set(&mut env, &k, value);
                }
            }
            "authorization" | "proxy-authorization" | "proxy" => {}
            _ => {
                if let Some(k) = http2env(n) {
                    set(&mut env, &k, value);
                }
            }
        }
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    set(&mut env, "PATH", path);
    // httpd passes the library path along (for CGI programs linked against it).
    if let Ok(lp) = std::env::var("LD_LIBRARY_PATH") {
        set(&mut env, "LD_LIBRARY_PATH", lp);
    }
    let sig = super::super::signature(req);
    let sig = sig.strip_prefix("<hr>\n").unwrap_or(&sig).to_string();
    set(&mut env, "SERVER_SIGNATURE", sig);
    set(
        &mut env,
        "SERVER_SOFTWARE",
        super::super::banner(req.config.server_tokens).to_string(),
    );
    let (server_name, server_port) = server_name_port(req, https);
    set(&mut env, "SERVER_NAME", server_name);
    set(&mut env, "SERVER_ADDR", ip_string(req.local));
    set(&mut env, "SERVER_PORT", server_port.to_string());
    set(&mut env, "REMOTE_ADDR", ip_string(req.useragent));
    let docroot = req
        .server
        .document_root
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string();
    let docroot = if docroot.is_empty() {
        "/".to_string()
    } else {
        docroot
    };
    set(&mut env, "DOCUMENT_ROOT", docroot.clone());
    set(
        &mut env,
        "REQUEST_SCHEME",
        if https { "https" } else { "http" }.into(),
    );
    // httpd's context: a ScriptAlias names its own (URL prefix, directory).
    let note = |k: &str| {
        req.notes
            .iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
    };
    let prefix = note(crate::modules::cgi::CONTEXT_PREFIX);
    let context_root = note(crate::modules::cgi::CONTEXT_ROOT);
    set(&mut env, "CONTEXT_PREFIX", prefix.unwrap_or_default());
    set(
        &mut env,
        "CONTEXT_DOCUMENT_ROOT",
        context_root.unwrap_or_else(|| docroot.clone()),
    );
    // ap_add_common_vars after an internal redirect (ErrorDocument, a script's Location).
    if let Some(q) = note(crate::modules::cgi::PREV_QUERY) {
        set(&mut env, "REDIRECT_QUERY_STRING", q);
    }
    if let Some(u) = note(crate::modules::cgi::PREV_URL) {
        set(&mut env, "REDIRECT_URL", u);
    }
    set(
        &mut env,
        "SERVER_ADMIN",
        req.server
            .server_admin
            .clone()
            .unwrap_or_else(|| "[no address given]".into()),
    );
    set(&mut env, "SCRIPT_FILENAME", script.filename.clone());
    set(&mut env, "REMOTE_PORT", req.useragent.port().to_string());
    set(&mut env, "GATEWAY_INTERFACE", "CGI/1.1".into());
    let proto = if head.is_http11() {
        "HTTP/1.1"
    } else {
        "HTTP/1.0"
    };
    set(&mut env, "SERVER_PROTOCOL", proto.into());
    set(&mut env, "REQUEST_METHOD", req.method_str.to_string());
    set(
        &mut env,
        "QUERY_STRING",
        req.query.clone().unwrap_or_default(),
    );
    let (_, target) = crate::proto::h1::head::split_absolute(head.target());
    set(
        &mut env,
        "REQUEST_URI",
        String::from_utf8_lossy(target).into_owned(),
    );
    set(&mut env, "SCRIPT_NAME", script.name.clone());
    if !script.path_info.is_empty() {
        set(&mut env, "PATH_INFO", script.path_info.clone());
        set(
            &mut env,
            "PATH_TRANSLATED",
            format!("{docroot}{}", script.path_info),
        );
    }
    env
}

fn ip_string(a: SocketAddr) -> String {
    match a.ip() {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        ip => ip.to_string(),
    }
}

/// ap_get_server_name_for_url / ap_get_server_port with UseCanonicalName Off: the client's
/// Host, else ServerName; the port the client named, else ServerName's, else the default.
fn server_name_port(req: &Request<'_>, https: bool) -> (String, u16) {
    let name = match &req.hostname {
        Some(h) if !h.is_empty() => h.clone(),
        _ => {
            let sn = req
                .server
                .server_name
                .clone()
                .unwrap_or_else(|| ip_string(req.local));
            match sn.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => {
                    h.to_string()
                }
                _ => sn,
            }
        }
    };
    let name = if name.contains(':') && !name.starts_with('[') {
        format!("[{name}]")
    } else {
        name
    };
    // The port the client named, else ServerName's, else the scheme's (r->server->port is
    // 0 without one in ServerName).
    let server_port = req
        .server
        .server_name
        .as_deref()
        .and_then(|sn| sn.rsplit_once(':'))
        .filter(|(h, _)| !h.is_empty() && (!h.contains(':') || h.ends_with(']')))
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let port = match (&req.hostname, req.host_port) {
        (Some(_), Some(p)) => p,
        _ => server_port.unwrap_or(if https { 443 } else { 80 }),
    };
    (name, port)
}

/// A prepared FastCGI request: everything but the body.
pub struct FcgiRequest {
    addr: Addr,
    params: Vec<(String, String)>,
    timeout: Duration,
    reuse: bool,
    is_head: bool,
    /// The client's `ip:port`, for error-log lines.
    client: String,
}

/// Why the exchange failed before the response head.
enum Fail {
    /// Could not connect (503).
    Connect(io::Error),
    /// A pooled connection was closed by the server before answering: retry on a new one.
    Stale,
    /// No answer within the timeout (504).
    Timeout,
    /// Broken protocol or closed mid-way (502/503).
    Broken(&'static str),
}

impl FcgiRequest {
    pub fn new(
        req: &Request<'_>,
        addr: Addr,
        script: &Script,
        timeout: Duration,
        reuse: bool,
    ) -> Self {
        FcgiRequest {
            addr,
            params: environment(req, script),
            timeout,
            reuse,
            is_head: req.method_str == "HEAD",
            client: req.useragent.to_string(),
        }
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.addr {
            Addr::Unix(p) => UnixStream::connect(p).map(Conn::Unix),
            Addr::Tcp(h, port) => {
                let mut last = io::Error::from(io::ErrorKind::NotFound);
                for a in (h.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&a, self.timeout) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            return Ok(Conn::Tcp(s));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    /// The body sink for a request whose body is `declared` bytes long (`None`: chunked).
    /// A body of known length streams to the FastCGI server as STDIN records while it
    /// arrives; a chunked one is read whole first (PHP needs CONTENT_LENGTH).
    pub fn start(mut self, declared: Option<u64>, errs: ErrCtx) -> Box<dyn BodySink> {
        match declared {
            Some(n) if n > 0 => {
                // HTTP/2 requests may come without a Content-Length field.
                match self.params.iter_mut().find(|(k, _)| k == "CONTENT_LENGTH") {
                    Some(e) => e.1 = n.to_string(),
                    None => self.params.push(("CONTENT_LENGTH".into(), n.to_string())),
                }
                let mut msg = self.preamble();
                let conn = match self.connect() {
                    Err(e) => Err(Box::new(self.fail(Fail::Connect(e), &errs))),
                    Ok(c) => {
                        c.set_timeouts(self.timeout);
                        let mut c = c;
                        match c.write_all(&msg) {
                            Ok(()) => Ok(c),
                            Err(e) if is_timeout(&e) => {
                                Err(Box::new(self.fail(Fail::Timeout, &errs)))
                            }
                            Err(_) => Err(Box::new(
                                self.fail(Fail::Broken("error writing the request"), &errs),
                            )),
                        }
                    }
                };
                msg.clear();
                Box::new(StdinStream {
                    req: self,
                    errs,
                    conn,
                    failed: None,
                    buf: msg,
                })
            }
            _ => super::Buffered::boxed(move |body| self.exchange(body, &errs)),
        }
    }

    /// BEGIN_REQUEST and the PARAMS stream.
    fn preamble(&self) -> Vec<u8> {
        let mut msg = Vec::with_capacity(2048);
        let flags = if self.reuse { KEEP_CONN } else { 0 };
        let mut begin = RESPONDER.to_be_bytes().to_vec();
        begin.extend_from_slice(&[flags, 0, 0, 0, 0, 0]);
        record(&mut msg, BEGIN_REQUEST, &begin);
        records(&mut msg, PARAMS, &encode_params(&self.params));
        msg
    }

    /// Sends the request with `body` and returns the client response: the script's head with
    /// its output streamed, or httpd's 503/504/502 page.
    pub fn exchange(mut self, body: Vec<u8>, errs: &ErrCtx) -> Response {
        if !body.is_empty() || self.params.iter().any(|(k, _)| k == "CONTENT_LENGTH") {
            // A chunked request body was read whole: PHP needs its length.
            let len = body.len().to_string();
            match self.params.iter_mut().find(|(k, _)| k == "CONTENT_LENGTH") {
                Some(e) => e.1 = len,
                None => self.params.push(("CONTENT_LENGTH".into(), len)),
            }
        }
        let mut msg = self.preamble();
        records(&mut msg, STDIN, &body);
        let key = self.addr.key();
        for attempt in 0..2 {
            let pooled = if self.reuse && attempt == 0 {
                pool_take(&key)
            } else {
                None
            };
            let reused = pooled.is_some();
            let conn = match pooled {
                Some(c) => c,
                None => match self.connect() {
                    Ok(c) => c,
                    Err(e) => return self.fail(Fail::Connect(e), errs),
                },
            };
            match self.send(conn, &msg, reused) {
                Ok(resp) => return resp,
                Err(Fail::Stale) => continue,
                Err(f) => return self.fail(f, errs),
            }
        }
        self.fail(Fail::Broken("the server closed the connection"), errs)
    }

    fn fail(&self, f: Fail, errs: &ErrCtx) -> Response {
        let target = self.addr.key();
        match f {
            Fail::Connect(e) => {
                let n = e.raw_os_error().unwrap_or(0);
                crate::ap_log!(
                    error,
                    "proxy",
                    "({n}){}: [client {}] AH00957: FCGI: attempt to connect to {} failed",
                    nix::errno::Errno::from_raw(n).desc(),
                    self.client,
                    target
                );
                errs.page(503, None)
            }
            Fail::Timeout => {
                crate::ap_log!(
                    error,
                    "proxy_fcgi",
                    "(70007)The timeout specified has expired: [client {}] AH01075: Error dispatching request to {}: (polling)",
                    self.client,
                    target
                );
                errs.page(504, None)
            }
            Fail::Stale | Fail::Broken(_) => {
                let why = match f {
                    Fail::Broken(w) => w,
                    _ => "the server closed the connection",
                };
                crate::ap_log!(
                    error,
                    "proxy_fcgi",
                    "[client {}] AH01075: Error dispatching request to {}: {}",
                    self.client,
                    target,
                    why
                );
                errs.page(503, None)
            }
        }
    }

    /// Writes the request, reads records up to the end of the script's response head.
    fn send(&self, mut conn: Conn, msg: &[u8], reused: bool) -> Result<Response, Fail> {
        conn.set_timeouts(self.timeout);
        if let Err(e) = conn.write_all(msg) {
            return Err(if reused {
                Fail::Stale
            } else if is_timeout(&e) {
                Fail::Timeout
            } else {
                Fail::Broken("error writing the request")
            });
        }
        self.receive(conn, reused)
    }

    /// Reads records up to the end of the script's response head; the rest streams.
    fn receive(&self, conn: Conn, reused: bool) -> Result<Response, Fail> {
        let mut r = RecordReader {
            inner: BufReader::with_capacity(32 * 1024, conn),
            client: self.client.clone(),
        };
        let mut head: Vec<u8> = Vec::new();
        let mut got_any = false;
        let end = loop {
            match r.next() {
                Ok(Rec::Stdout(d)) => {
                    got_any = true;
                    head.extend_from_slice(&d);
                    if let Some(end) = head_end(&head) {
                        break Some(end);
                    }
                    if head.len() > MAX_HEAD {
                        return Err(Fail::Broken("script response head too large"));
                    }
                }
                Ok(Rec::End) => break None,
                Ok(Rec::Other) => got_any = true,
                Err(e) if is_timeout(&e) => return Err(Fail::Timeout),
                Err(_) if reused && !got_any => return Err(Fail::Stale),
                Err(_) => return Err(Fail::Broken("the server closed the connection")),
            }
        };
        let Some((head_len, body_start)) = end else {
            // END_REQUEST without a complete head: httpd answers 503 when nothing came.
            return Err(Fail::Broken("premature end of script headers"));
        };
        let rest = head[body_start..].to_vec();
        head.truncate(head_len);
        let (mut resp, length) = parse_head(&head);
        if resp.status == 200 && resp.header("Location").is_some() {
            resp.status = 302;
            resp.reason = None;
        }
        let no_body = self.is_head || matches!(resp.status, 204 | 304) || resp.status < 200;
        let mut body = FcgiBody {
            reader: Some(r),
            pending: rest,
            pos: 0,
            done: false,
            key: self.addr.key(),
            reuse: self.reuse,
        };
        if no_body {
            // The script's output is not sent; read to END_REQUEST so the connection is clean.
            let mut sink = [0u8; 8192];
            let mut n = 0;
            while n < 1 << 20 {
                match body.read(&mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => n += k,
                }
            }
            if self.is_head {
                // The script's Content-Length if it sent one; else no framing header at all,
                // as httpd answers HEAD.
                resp.head_only_body(length, Framing::Close);
            }
            return Ok(resp);
        }
        match length {
            Some(l) => {
                resp.body = Body::Stream(StreamBody(Box::new(body)), Some(l));
                resp.framing = Framing::Length;
            }
            None => {
                resp.body = Body::Stream(StreamBody(Box::new(body)), None);
                resp.framing = Framing::Chunked;
            }
        }
        Ok(resp)
    }
}

/// A request body streamed as STDIN records while the client sends it.
struct StdinStream {
    req: FcgiRequest,
    errs: ErrCtx,
    /// The connection with BEGIN_REQUEST and PARAMS sent, or the error page to answer with.
    conn: Result<Conn, Box<Response>>,
    failed: Option<Fail>,
    buf: Vec<u8>,
}

impl BodySink for StdinStream {
    fn data(&mut self, chunk: &[u8]) {
        let Ok(c) = &mut self.conn else { return };
        if self.failed.is_some() {
            return;
        }
        self.buf.clear();
        for part in chunk.chunks(MAX_RECORD) {
            record(&mut self.buf, STDIN, part);
        }
        if let Err(e) = c.write_all(&self.buf) {
            self.failed = Some(if is_timeout(&e) {
                Fail::Timeout
            } else {
                Fail::Broken("error writing the request body")
            });
        }
    }

    fn finish(self: Box<Self>, complete: bool) -> Response {
        let this = *self;
        let mut c = match this.conn {
            Err(page) => return *page,
            Ok(c) => c,
        };
        if !complete {
            return Response::new(400);
        }
        if let Some(f) = this.failed {
            return this.req.fail(f, &this.errs);
        }
        let mut end = Vec::with_capacity(8);
        record(&mut end, STDIN, &[]);
        if let Err(e) = c.write_all(&end) {
            let f = if is_timeout(&e) {
                Fail::Timeout
            } else {
                Fail::Broken("error writing the request body")
            };
            return this.req.fail(f, &this.errs);
        }
        match this.req.receive(c, false) {
            Ok(r) => r,
            Err(f) => this.req.fail(f, &this.errs),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A script's CGI response head (the lines before the blank one) as httpd's
/// ap_scan_script_header_err reads it, shared by mod_proxy_fcgi and mod_cgi: `Status:` sets
/// the status (200 without it), `Content-Type` the type, the framing and connection fields
/// are dropped (the driver writes its own); returns the script's Content-Length too.
pub(crate) fn parse_head(head: &[u8]) -> (Response, Option<u64>) {
    let mut resp = Response::new(200);
    let mut length = None;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(i) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..i]).trim().to_string();
        let value = String::from_utf8_lossy(&line[i + 1..]).trim().to_string();
        match name.to_ascii_lowercase().as_str() {
            "status" => {
                if let Some(code) = value
                    .split_whitespace()
                    .next()
                    .and_then(|c| c.parse::<u16>().ok())
                    .filter(|c| (100..1000).contains(c))
                {
                    resp.status = code;
                    // `404 Gone Fishing`: httpd sends the script's phrase.
                    resp.reason = value
                        .get(3..)
                        .filter(|rest| rest.starts_with(' '))
                        .map(str::trim)
                        .filter(|p| !p.is_empty() && !p.contains(['\r', '\n']))
                        .map(str::to_string);
                }
            }
            "content-type" => resp.content_type = Some(value),
            "content-length" => length = value.parse::<u64>().ok(),
            // The driver frames the body and writes its own Date/Server/Connection.
            "transfer-encoding" | "connection" | "keep-alive" | "date" | "server" => {}
            _ => resp.headers.push((name.into(), value)),
        }
    }
    (resp, length)
}

/// The end of a CGI head: (length of the header lines, where the body starts). Accepts
/// `\r\n\r\n` and bare `\n\n`.
pub(crate) fn head_end(b: &[u8]) -> Option<(usize, usize)> {
    // No fields at all: the output starts with the blank line.
    if b.starts_with(b"\n") {
        return Some((0, 1));
    }
    if b.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            if b.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

enum Rec {
    Stdout(Vec<u8>),
    End,
    Other,
}

struct RecordReader {
    inner: BufReader<Conn>,
    client: String,
}

impl RecordReader {
    /// The next record that matters: STDOUT data, END_REQUEST; STDERR goes to the error log.
    fn next(&mut self) -> io::Result<Rec> {
        let mut h = [0u8; 8];
        self.inner.read_exact(&mut h)?;
        let kind = h[1];
        let len = u16::from_be_bytes([h[4], h[5]]) as usize;
        let pad = h[6] as usize;
        let mut content = vec![0u8; len + pad];
        self.inner.read_exact(&mut content)?;
        content.truncate(len);
        Ok(match kind {
            STDOUT => Rec::Stdout(content),
            STDERR => {
                let text = String::from_utf8_lossy(&content);
                let text = text.trim_end_matches(['\n', '\r', '\0']);
                if !text.is_empty() {
                    crate::ap_log!(
                        error,
                        "proxy_fcgi",
                        "[client {}] AH01071: Got error '{}'",
                        self.client,
                        text
                    );
                }
                Rec::Other
            }
            END_REQUEST => Rec::End,
            _ => Rec::Other,
        })
    }
}

/// The script's output after its head, read record by record while the driver writes it.
struct FcgiBody {
    reader: Option<RecordReader>,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
    key: String,
    reuse: bool,
}

impl Read for FcgiBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = (self.pending.len() - self.pos).min(out.len());
                out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            let Some(r) = self.reader.as_mut() else {
                return Ok(0);
            };
            match r.next()? {
                Rec::Stdout(d) => {
                    self.pending = d;
                    self.pos = 0;
                }
                Rec::End => {
                    self.done = true;
                    if let Some(r) = self.reader.take() {
                        if self.reuse && r.inner.buffer().is_empty() {
                            pool_put(&self.key, r.inner.into_inner());
                        }
                    }
                }
                Rec::Other => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_padded_and_ended() {
        let mut out = Vec::new();
        records(&mut out, STDIN, b"hello");
        // header + 5 bytes + 3 padding, then an empty record.
        assert_eq!(out.len(), 8 + 8 + 8);
        assert_eq!(&out[..8], &[1, STDIN, 0, 1, 0, 5, 3, 0]);
        assert_eq!(&out[8..13], b"hello");
        assert_eq!(&out[16..], &[1, STDIN, 0, 1, 0, 0, 0, 0]);
        let mut big = Vec::new();
        records(&mut big, STDIN, &vec![7u8; 70000]);
        assert_eq!(&big[..8], &[1, STDIN, 0, 1, 0xff, 0xff, 1, 0]);
    }

    #[test]
    fn name_value_lengths() {
        let long = "v".repeat(200);
        let p = encode_params(&[("A".into(), "b".into()), ("K".into(), long.clone())]);
        assert_eq!(&p[..4], &[1, 1, b'A', b'b']);
        assert_eq!(&p[4..9], &[1, 0x80, 0, 0, 200]);
        assert_eq!(p.len(), 4 + 5 + 1 + 200);
    }

    #[test]
    fn targets() {
        let (a, canon, path) = parse_target("unix:/run/php/fpm.sock|fcgi://localhost").unwrap();
        assert_eq!(a, Addr::Unix("/run/php/fpm.sock".into()));
        assert_eq!(
            (canon.as_str(), path.as_str()),
            ("fcgi://localhost:8000", "")
        );
        let (a, canon, path) = parse_target("fcgi://127.0.0.1:9000/var/www/a.php?x=1").unwrap();
        assert_eq!(a, Addr::Tcp("127.0.0.1".into(), 9000));
        assert_eq!(canon, "fcgi://127.0.0.1:9000");
        assert_eq!(path, "/var/www/a.php");
        assert!(parse_target("http://x/").is_none());
    }

    #[test]
    fn cgi_head_end() {
        assert_eq!(head_end(b"Status: 200\r\n\r\nbody"), Some((12, 15)));
        assert_eq!(head_end(b"A: b\n\nx"), Some((4, 6)));
        assert_eq!(head_end(b"A: b\r\n"), None);
        assert_eq!(head_end(b"\nbody"), Some((0, 1)));
        assert_eq!(head_end(b"\r\nbody"), Some((0, 2)));
    }

    #[test]
    fn script_heads() {
        let (r, len) = parse_head(
            b"Status: 404 Gone Fishing\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nX-A: b",
        );
        assert_eq!((r.status, r.reason.as_deref()), (404, Some("Gone Fishing")));
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
        assert_eq!((len, r.header("X-A")), (Some(3), Some("b")));
        let (r, _) = parse_head(b"Status: 301");
        assert_eq!((r.status, r.reason), (301, None));
        let (r, _) = parse_head(b"Status: 4040 x\nConnection: close");
        assert_eq!((r.status, r.reason, r.headers.len()), (200, None, 0));
    }

    #[test]
    fn header_names_to_env() {
        assert_eq!(http2env("X-Foo-1").as_deref(), Some("HTTP_X_FOO_1"));
        assert_eq!(http2env("X_Foo"), None);
    }
}
