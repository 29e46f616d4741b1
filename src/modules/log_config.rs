//! mod_log_config: access logs. A `LogFormat` string is compiled once into tokens
//! (`Format`), rendered per request from a `LogRecord` the request pipeline fills, and written
//! to files opened by the parent before fork (O_APPEND, one write per line) or to piped
//! loggers (`|cmd` through `/bin/sh -c`, `||cmd` without a shell) started once by the parent.
//! `BufferedLogs On` keeps a per-child buffer flushed when full and at child exit.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::config::ServerConfig;

pub(crate) mod sys;

pub use sys::{local_time, strftime_local, LocalTime};

/// httpd's buffer for `BufferedLogs` (PIPE_BUF): lines up to it are written whole.
pub const LOG_BUFSIZE: usize = 4096;

/// Standard formats used when a `CustomLog` names one of these nicknames and no `LogFormat`
/// defines it (Debian's apache2.conf defines them all; httpd itself would log the word).
pub const NICKNAMES: &[(&str, &str)] = &[
    ("common", "%h %l %u %t \"%r\" %>s %O"),
    (
        "combined",
        "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"",
    ),
    (
        "vhost_combined",
        "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"",
    ),
    ("referer", "%{Referer}i -> %U"),
    ("agent", "%{User-agent}i"),
];

#[derive(Debug, thiserror::Error)]
pub enum LogConfigError {
    /// httpd's wording for a bad format.
    #[error("{0}")]
    Format(String),
    #[error("could not open transfer log file {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("could not start piped log program '{cmd}': {source}")]
    Pipe { cmd: String, source: std::io::Error },
}

/// One request as the access log sees it. The pipeline fills it after the response; every
/// field borrows from the request, nothing is copied. `Default` = nothing known ("-").
#[derive(Clone, Copy, Debug, Default)]
pub struct LogRecord<'a> {
    /// `%a`: the client (user agent) IP.
    pub client_ip: &'a str,
    /// `%{c}a`: the connection's peer IP (differs only behind mod_remoteip).
    pub peer_ip: &'a str,
    /// `%h`: resolved client host name (HostnameLookups), else the IP is used.
    pub remote_host: Option<&'a str>,
    /// `%{remote}p`.
    pub remote_port: u16,
    /// `%A`.
    pub local_ip: &'a str,
    /// `%{local}p`.
    pub local_port: u16,
    /// `%p` / `%{canonical}p`: the server's port.
    pub server_port: u16,
    /// `%v`: the serving vhost's ServerName.
    pub server_hostname: &'a str,
    /// `%V`: the request's server name per UseCanonicalName.
    pub server_name: &'a str,
    /// `%u`: authenticated user.
    pub user: Option<&'a str>,
    /// `%r`: the request line as received (password already removed).
    pub request_line: &'a [u8],
    pub method: &'a [u8],
    /// `%H`: e.g. `HTTP/1.1`.
    pub protocol: &'a [u8],
    /// `%U`: the URL path (final request).
    pub uri: &'a [u8],
    /// `%<U`: the URL path the client asked for, if an internal redirect changed it.
    pub original_uri: Option<&'a [u8]>,
    /// `%q`: the query string without `?`.
    pub query: Option<&'a [u8]>,
    /// `%f`.
    pub filename: Option<&'a str>,
    /// `%R`.
    pub handler: Option<&'a str>,
    /// `%>s`: the final status.
    pub status: u16,
    /// `%s` / `%<s`: the status of the original request (0 = same as `status`).
    pub original_status: u16,
    /// `%b` / `%B`: response body bytes.
    pub body_bytes: u64,
    /// `%I` / `%O`: bytes received / sent, headers included (mod_logio).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// `%^FB`: µs from the request start to the first byte of the response.
    pub first_byte_us: Option<u64>,
    /// µs since the epoch: when the request line arrived (`%t`) and when it finished.
    pub request_time: u64,
    /// 0 = now, at logging time.
    pub end_time: u64,
    pub headers_in: &'a [(&'a [u8], &'a [u8])],
    pub headers_out: &'a [(&'a [u8], &'a [u8])],
    /// The response content type (`%{Content-Type}o` shows it without parameters).
    pub content_type: Option<&'a [u8]>,
    /// The Content-Length an HTTP/1 head carried, not among `headers_out`.
    pub content_length: Option<u64>,
    pub env: &'a [(&'a str, &'a str)],
    pub notes: &'a [(&'a str, &'a str)],
    /// Requests served on this connection so far, this one included.
    pub keepalives: u32,
    /// `%X`: the connection was aborted before the response completed.
    pub aborted: bool,
    /// `%X`: the connection will be kept alive after this response.
    pub keep_alive: bool,
    /// `%L` / `%{c}L`.
    pub log_id: Option<&'a str>,
    pub conn_log_id: Option<&'a str>,
    /// mod_ssl's `%{VAR}x`.
    pub ssl: Option<super::SslConn<'a>>,
}

impl LogRecord<'_> {
    fn env(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    RemoteHost,
    RemoteAddr,
    LocalAddr,
    Logname,
    User,
    Time,
    Filename,
    BodyClf,
    Body,
    HeaderIn,
    HeaderOut,
    Note,
    LogId,
    Env,
    ServerName,
    VirtualHost,
    Port,
    PidTid,
    Protocol,
    Method,
    Query,
    ConnStatus,
    Cookie,
    KeepAlives,
    RequestLine,
    DurationUs,
    DurationScaled,
    Uri,
    Status,
    Handler,
    TrailerIn,
    TrailerOut,
    BytesIn,
    BytesOut,
    BytesBoth,
    FirstByte,
    /// mod_ssl's `%{VAR}x`.
    Ssl,
}

/// The directive letters (and `^xx` names) httpd registers, with the default for `<`/`>`.
const HANDLERS: &[(&str, Kind, bool)] = &[
    ("h", Kind::RemoteHost, false),
    ("a", Kind::RemoteAddr, false),
    ("A", Kind::LocalAddr, false),
    ("l", Kind::Logname, false),
    ("u", Kind::User, false),
    ("t", Kind::Time, false),
    ("f", Kind::Filename, false),
    ("b", Kind::BodyClf, false),
    ("B", Kind::Body, false),
    ("i", Kind::HeaderIn, false),
    ("o", Kind::HeaderOut, false),
    ("n", Kind::Note, false),
    ("L", Kind::LogId, true),
    ("e", Kind::Env, false),
    ("x", Kind::Ssl, false),
    ("V", Kind::ServerName, false),
    ("v", Kind::VirtualHost, false),
    ("p", Kind::Port, false),
    ("P", Kind::PidTid, false),
    ("H", Kind::Protocol, false),
    ("m", Kind::Method, false),
    ("q", Kind::Query, false),
    ("X", Kind::ConnStatus, false),
    ("C", Kind::Cookie, false),
    ("k", Kind::KeepAlives, false),
    ("r", Kind::RequestLine, true),
    ("D", Kind::DurationUs, true),
    ("T", Kind::DurationScaled, true),
    ("U", Kind::Uri, true),
    ("s", Kind::Status, true),
    ("R", Kind::Handler, true),
    ("^ti", Kind::TrailerIn, false),
    ("^to", Kind::TrailerOut, false),
    ("I", Kind::BytesIn, false),
    ("O", Kind::BytesOut, false),
    ("S", Kind::BytesBoth, false),
    ("^FB", Kind::FirstByte, false),
];

/// How `%{…}t` prints, decided once at compile time.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TimeFmt {
    Clf,
    Sec,
    Msec,
    Usec,
    MsecFrac,
    UsecFrac,
    Custom(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Directive {
    kind: Kind,
    arg: Box<str>,
    /// `%400,501{…}i`: print only for these statuses (or all but, with `!`).
    conditions: Vec<u16>,
    negate: bool,
    want_orig: bool,
    /// `%{end:…}t` / `%{end}t`.
    time_end: bool,
    time: Option<TimeFmt>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Literal(Box<[u8]>),
    Directive(Directive),
}

/// A compiled LogFormat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    items: Vec<Item>,
}

fn parse_time_arg(arg: &str) -> (bool, TimeFmt) {
    let mut end = false;
    let mut fmt = arg;
    let mut custom = arg;
    if let Some(rest) = fmt.strip_prefix("begin") {
        if rest.is_empty() {
            return (false, TimeFmt::Clf);
        }
        if let Some(r) = rest.strip_prefix(':') {
            fmt = r;
            custom = r;
        }
    } else if let Some(rest) = fmt.strip_prefix("end") {
        if rest.is_empty() {
            return (true, TimeFmt::Clf);
        }
        if let Some(r) = rest.strip_prefix(':') {
            fmt = r;
            custom = r;
            end = true;
        }
    }
    let t = match fmt {
        "" => TimeFmt::Clf,
        "sec" => TimeFmt::Sec,
        "msec" => TimeFmt::Msec,
        "usec" => TimeFmt::Usec,
        "msec_frac" => TimeFmt::MsecFrac,
        "usec_frac" => TimeFmt::UsecFrac,
        _ => TimeFmt::Custom(custom.to_string()),
    };
    (end, t)
}

impl Format {
    /// Compiles a LogFormat string (with httpd's backslash escapes `\n \r \t \\` in the
    /// literal parts); the error text is httpd's.
    pub fn compile(s: &str) -> Result<Format, LogConfigError> {
        let b = s.as_bytes();
        let mut items = Vec::new();
        let mut i = 0;
        let mut lit: Vec<u8> = Vec::new();
        while i < b.len() {
            if b[i] != b'%' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    let esc = match b[i + 1] {
                        b'\\' => Some(b'\\'),
                        b'r' => Some(b'\r'),
                        b'n' => Some(b'\n'),
                        b't' => Some(b'\t'),
                        _ => None,
                    };
                    if let Some(c) = esc {
                        lit.push(c);
                        i += 2;
                        continue;
                    }
                }
                lit.push(b[i]);
                i += 1;
                continue;
            }
            i += 1;
            if b.get(i) == Some(&b'%') {
                lit.push(b'%');
                i += 1;
                continue;
            }
            if !lit.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut lit).into_boxed_slice()));
            }
            let mut d = Directive {
                kind: Kind::Status,
                arg: "".into(),
                conditions: Vec::new(),
                negate: false,
                want_orig: false,
                time_end: false,
                time: None,
            };
            let mut orig: Option<bool> = None;
            loop {
                let Some(&c) = b.get(i) else {
                    return Err(LogConfigError::Format(
                        "Ran off end of LogFormat parsing args to some directive".into(),
                    ));
                };
                match c {
                    b'!' => {
                        d.negate = !d.negate;
                        i += 1;
                    }
                    b'<' => {
                        orig = Some(true);
                        i += 1;
                    }
                    b'>' => {
                        orig = Some(false);
                        i += 1;
                    }
                    b',' => i += 1,
                    b'{' => {
                        let end = b[i + 1..].iter().position(|&c| c == b'}');
                        let (arg, next) = match end {
                            Some(e) => (&s[i + 1..i + 1 + e], i + 2 + e),
                            None => (&s[i + 1..], b.len()),
                        };
                        d.arg = arg.into();
                        i = next;
                    }
                    b'0'..=b'9' => {
                        let mut n: u32 = 0;
                        while let Some(&c @ b'0'..=b'9') = b.get(i) {
                            n = n.saturating_mul(10).saturating_add((c - b'0') as u32);
                            i += 1;
                        }
                        d.conditions.push(n.min(u16::MAX as u32) as u16);
                    }
                    _ => {
                        let three = s.get(i..i + 3);
                        let h = three
                            .filter(|t| t.starts_with('^'))
                            .and_then(|t| HANDLERS.iter().find(|(n, _, _)| *n == t))
                            .map(|h| (h, 3))
                            .or_else(|| {
                                let one = s.get(i..i + 1)?;
                                HANDLERS.iter().find(|(n, _, _)| *n == one).map(|h| (h, 1))
                            });
                        let Some(((_, kind, orig_default), len)) = h else {
                            let ch = s[i..].chars().next().unwrap_or('?');
                            return Err(LogConfigError::Format(format!(
                                "Unrecognized LogFormat directive %{ch}"
                            )));
                        };
                        i += len;
                        d.kind = *kind;
                        d.want_orig = orig.unwrap_or(*orig_default);
                        if d.kind == Kind::Time {
                            let (end, t) = parse_time_arg(&d.arg);
                            d.time_end = end;
                            d.time = Some(t);
                        }
                        items.push(Item::Directive(d));
                        break;
                    }
                }
            }
        }
        lit.push(b'\n');
        items.push(Item::Literal(lit.into_boxed_slice()));
        Ok(Format { items })
    }

    /// Appends the log line (with its newline) for `r` to `out`.
    pub fn render(&self, r: &LogRecord<'_>, out: &mut Vec<u8>) {
        let now = crate::scoreboard::now_micros();
        for item in &self.items {
            match item {
                Item::Literal(l) => out.extend_from_slice(l),
                Item::Directive(d) => {
                    if !d.conditions.is_empty() {
                        let in_list = d.conditions.contains(&r.status);
                        if in_list == d.negate {
                            out.push(b'-');
                            continue;
                        }
                    }
                    render_directive(d, r, now, out);
                }
            }
        }
    }
}

/// httpd's `ap_escape_logitem`: `"` and `\` backslash-escaped, `\b \n \r \t \v` by name,
/// every other control or non-ASCII byte as `\xhh`.
pub fn escape_logitem(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in s {
        match c {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]),
        }
    }
}

fn esc_or_dash(v: Option<&[u8]>, out: &mut Vec<u8>) {
    match v {
        Some(v) => escape_logitem(v, out),
        None => out.push(b'-'),
    }
}

fn push_num(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

/// `%{name}i`: a request header repeated in the request is logged as httpd merges it
/// (`x, y`); the usual single one is escaped straight from the head.
fn header_in(h: &[(&[u8], &[u8])], name: &str, out: &mut Vec<u8>) {
    let mut found = h
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()));
    let Some((_, first)) = found.next() else {
        out.push(b'-');
        return;
    };
    let Some((_, second)) = found.next() else {
        escape_logitem(first, out);
        return;
    };
    let mut merged = [*first, *second].join(&b", "[..]);
    for (_, v) in found {
        merged.extend_from_slice(b", ");
        merged.extend_from_slice(v);
    }
    escape_logitem(&merged, out);
}

fn header<'a>(h: &'a [(&'a [u8], &'a [u8])], name: &str) -> Option<&'a [u8]> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| *v)
}

/// `%{name}C`: the value of cookie `name` in the Cookie request header(s).
fn cookie<'a>(r: &LogRecord<'a>, name: &str) -> Option<&'a [u8]> {
    for (k, v) in r.headers_in {
        if !k.eq_ignore_ascii_case(b"cookie") {
            continue;
        }
        for pair in v.split(|&c| c == b';') {
            let pair = trim(pair);
            let Some(eq) = pair.iter().position(|&c| c == b'=') else {
                continue;
            };
            if trim(&pair[..eq]) == name.as_bytes() {
                return Some(trim(&pair[eq + 1..]));
            }
        }
    }
    None
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

thread_local! {
    /// The last `[dd/Mon/yyyy:hh:mm:ss +zzzz]` made on this thread, by second.
    static CLF_CACHE: RefCell<(i64, [u8; 28])> = const { RefCell::new((i64::MIN, [0; 28])) };
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `[22/Nov/2026:05:39:34 +0000]` for `secs` in local time.
pub fn clf_time(secs: i64, out: &mut Vec<u8>) {
    CLF_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let t = local_time(secs);
            let (sign, off) = if t.gmtoff < 0 {
                ('-', -t.gmtoff)
            } else {
                ('+', t.gmtoff)
            };
            let s = format!(
                "[{:02}/{}/{}:{:02}:{:02}:{:02} {}{:02}{:02}]",
                t.mday,
                MONTHS[t.mon],
                t.year,
                t.hour,
                t.min,
                t.sec,
                sign,
                off / 3600,
                (off % 3600) / 60
            );
            let mut buf = [0u8; 28];
            let n = s.len().min(28);
            buf[..n].copy_from_slice(&s.as_bytes()[..n]);
            *c = (secs, buf);
        }
        out.extend_from_slice(&c.1);
    });
}

fn render_directive(d: &Directive, r: &LogRecord<'_>, now: u64, out: &mut Vec<u8>) {
    let arg: &str = &d.arg;
    let end_time = if r.end_time != 0 { r.end_time } else { now };
    match d.kind {
        Kind::RemoteHost => {
            let h = if arg == "c" {
                r.peer_ip
            } else {
                r.remote_host.unwrap_or(r.client_ip)
            };
            esc_or_dash((!h.is_empty()).then_some(h.as_bytes()), out);
        }
        Kind::RemoteAddr => {
            let a = if arg == "c" { r.peer_ip } else { r.client_ip };
            out.extend_from_slice(if a.is_empty() { b"-" } else { a.as_bytes() });
        }
        Kind::LocalAddr => out.extend_from_slice(if r.local_ip.is_empty() {
            b"-"
        } else {
            r.local_ip.as_bytes()
        }),
        Kind::Logname => out.push(b'-'),
        Kind::User => match r.user {
            None => out.push(b'-'),
            Some("") => out.extend_from_slice(b"\"\""),
            Some(u) => escape_logitem(u.as_bytes(), out),
        },
        Kind::Time => {
            let t = if d.time_end { end_time } else { r.request_time };
            match d.time.as_ref().unwrap_or(&TimeFmt::Clf) {
                TimeFmt::Clf => clf_time((t / 1_000_000) as i64, out),
                TimeFmt::Sec => push_num(out, t / 1_000_000),
                TimeFmt::Msec => push_num(out, t / 1000),
                TimeFmt::Usec => push_num(out, t),
                TimeFmt::MsecFrac => {
                    let _ = write!(out, "{:03}", (t % 1_000_000) / 1000);
                }
                TimeFmt::UsecFrac => {
                    let _ = write!(out, "{:06}", t % 1_000_000);
                }
                TimeFmt::Custom(f) => {
                    out.extend_from_slice(strftime_local((t / 1_000_000) as i64, f).as_bytes())
                }
            }
        }
        Kind::Filename => esc_or_dash(r.filename.map(str::as_bytes), out),
        Kind::BodyClf => {
            if r.body_bytes == 0 {
                out.push(b'-')
            } else {
                push_num(out, r.body_bytes)
            }
        }
        Kind::Body => push_num(out, r.body_bytes),
        Kind::HeaderIn => header_in(r.headers_in, arg, out),
        Kind::HeaderOut => {
            if arg.eq_ignore_ascii_case("content-type") && r.content_type.is_some() {
                let ct = r.content_type.unwrap_or_default();
                let bare = ct.split(|&c| c == b';').next().unwrap_or_default();
                escape_logitem(trim(bare), out);
            } else if arg.eq_ignore_ascii_case("set-cookie") {
                let mut first = true;
                for (k, v) in r.headers_out {
                    if k.eq_ignore_ascii_case(b"set-cookie") {
                        if !first {
                            out.extend_from_slice(b", ");
                        }
                        first = false;
                        escape_logitem(v, out);
                    }
                }
                if first {
                    out.push(b'-');
                }
            } else if let (None, Some(n), true) = (
                header(r.headers_out, arg),
                r.content_length,
                arg.eq_ignore_ascii_case("content-length"),
            ) {
                push_num(out, n);
            } else {
                esc_or_dash(header(r.headers_out, arg), out);
            }
        }
        Kind::Note => esc_or_dash(
            r.notes
                .iter()
                .find(|(k, _)| *k == arg)
                .map(|(_, v)| v.as_bytes()),
            out,
        ),
        Kind::Env => esc_or_dash(r.env(arg).map(str::as_bytes), out),
        Kind::Ssl => {
            let v = r
                .ssl
                .and_then(|t| super::ssl::var(true, Some(t), arg))
                .or_else(|| arg.eq_ignore_ascii_case("HTTPS").then_some("off".into()));
            esc_or_dash(v.as_deref().map(str::as_bytes), out)
        }
        Kind::LogId => {
            let id = if arg == "c" { r.conn_log_id } else { r.log_id };
            out.extend_from_slice(id.unwrap_or("-").as_bytes());
        }
        Kind::ServerName => esc_or_dash(Some(r.server_name.as_bytes()), out),
        Kind::VirtualHost => esc_or_dash(Some(r.server_hostname.as_bytes()), out),
        Kind::Port => {
            if arg.is_empty() || arg.eq_ignore_ascii_case("canonical") {
                push_num(out, r.server_port)
            } else if arg.eq_ignore_ascii_case("remote") {
                push_num(out, r.remote_port)
            } else if arg.eq_ignore_ascii_case("local") {
                push_num(out, r.local_port)
            } else {
                out.extend_from_slice(arg.as_bytes())
            }
        }
        Kind::PidTid => {
            if arg.is_empty() || arg.eq_ignore_ascii_case("pid") {
                push_num(out, std::process::id())
            } else if arg.eq_ignore_ascii_case("tid") {
                push_num(out, sys::thread_id())
            } else if arg.eq_ignore_ascii_case("hextid") {
                let _ = write!(out, "{:x}", sys::thread_id());
            } else {
                out.extend_from_slice(arg.as_bytes())
            }
        }
        Kind::Protocol => escape_logitem(r.protocol, out),
        Kind::Method => escape_logitem(r.method, out),
        Kind::Query => {
            if let Some(q) = r.query {
                out.push(b'?');
                escape_logitem(q, out);
            }
        }
        Kind::ConnStatus => out.push(if r.aborted {
            b'X'
        } else if r.keep_alive {
            b'+'
        } else {
            b'-'
        }),
        Kind::Cookie => esc_or_dash(cookie(r, arg), out),
        // httpd counts the responses that kept the connection (c->keepalives) and logs
        // one less: a last request that closes it shows its predecessor's figure.
        Kind::KeepAlives => {
            let closing = u32::from(!r.keep_alive);
            push_num(out, r.keepalives.saturating_sub(1 + closing))
        }
        Kind::RequestLine => escape_logitem(r.request_line, out),
        Kind::DurationUs => push_num(out, end_time.saturating_sub(r.request_time)),
        Kind::DurationScaled => {
            let us = end_time.saturating_sub(r.request_time);
            if arg.is_empty() || arg.eq_ignore_ascii_case("s") {
                push_num(out, us / 1_000_000)
            } else if arg.eq_ignore_ascii_case("ms") {
                push_num(out, us / 1000)
            } else if arg.eq_ignore_ascii_case("us") {
                push_num(out, us)
            } else {
                out.extend_from_slice(arg.as_bytes())
            }
        }
        Kind::Uri => {
            let u = if d.want_orig {
                r.original_uri.unwrap_or(r.uri)
            } else {
                r.uri
            };
            escape_logitem(u, out)
        }
        Kind::Status => {
            let s = if d.want_orig && r.original_status != 0 {
                r.original_status
            } else {
                r.status
            };
            if s == 0 {
                out.push(b'-')
            } else {
                push_num(out, s)
            }
        }
        Kind::Handler => esc_or_dash(r.handler.map(str::as_bytes), out),
        Kind::TrailerIn | Kind::TrailerOut => out.push(b'-'),
        Kind::BytesIn => push_num(out, r.bytes_in),
        Kind::BytesOut => push_num(out, r.bytes_out),
        Kind::BytesBoth => push_num(out, r.bytes_in + r.bytes_out),
        Kind::FirstByte => match r.first_byte_us {
            Some(us) => push_num(out, us),
            None => out.push(b'-'),
        },
    }
}

/// `env=NAME` / `env=!NAME` on a CustomLog.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Condition {
    Always,
    EnvSet(String),
    EnvUnset(String),
}

impl Condition {
    fn parse(c: Option<&str>) -> Condition {
        match c {
            Some(c) => match c.strip_prefix("env=") {
                Some(n) => match n.strip_prefix('!') {
                    Some(n) => Condition::EnvUnset(n.to_string()),
                    None => Condition::EnvSet(n.to_string()),
                },
                // `expr=` needs ap_expr, which mpmd does not evaluate: log every request
                // (said once at startup) rather than silently drop lines.
                None => Condition::Always,
            },
            None => Condition::Always,
        }
    }

    fn wants(&self, r: &LogRecord<'_>) -> bool {
        match self {
            Condition::Always => true,
            Condition::EnvSet(n) => r.env(n).is_some(),
            Condition::EnvUnset(n) => r.env(n).is_none(),
        }
    }
}

enum Sink {
    File(File),
    Pipe { stdin: File, child: Mutex<Child> },
}

impl Sink {
    fn file(&self) -> &File {
        match self {
            Sink::File(f) => f,
            Sink::Pipe { stdin, .. } => stdin,
        }
    }
}

/// One opened log target, shared by every CustomLog line naming it.
struct Writer {
    target: String,
    sink: Sink,
    /// `BufferedLogs On`: lines kept here until LOG_BUFSIZE or child exit.
    buffer: Option<Mutex<Vec<u8>>>,
    /// The last write failed: the error was logged once (AH00646) and is not repeated for
    /// every request until a write succeeds again (a full disk must not flood the error log).
    failing: AtomicBool,
}

impl Writer {
    /// One write; a failure (ENOSPC, EPIPE …) loses the line, is logged and serving goes on.
    fn put(&self, bytes: &[u8]) {
        match self.sink.file().write_all(bytes) {
            Ok(()) => self.failing.store(false, Ordering::Relaxed),
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    crate::ap_log!(
                        error,
                        "log_config",
                        "AH00646: Error writing to {}: {e}",
                        self.target
                    );
                }
            }
        }
    }

    fn write_line(&self, line: &[u8]) {
        let Some(buf) = &self.buffer else {
            // one write per line: O_APPEND files and pipes keep lines whole across children
            self.put(line);
            return;
        };
        let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() + line.len() > LOG_BUFSIZE {
            self.put(&b);
            b.clear();
        }
        if line.len() >= LOG_BUFSIZE {
            self.put(line);
        } else {
            b.extend_from_slice(line);
        }
    }

    fn flush(&self) {
        if let Some(buf) = &self.buffer {
            let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
            if !b.is_empty() {
                self.put(&b);
                b.clear();
            }
        }
    }
}

struct Entry {
    format: Arc<Format>,
    writer: usize,
    condition: Condition,
}

/// Every access log of a configuration: opened by the parent before fork, inherited by the
/// children. `log(server, record)` writes one request to the logs of its server.
pub struct Logs {
    writers: Vec<Writer>,
    /// Index 0 = the main server, `i + 1` = `config.vhosts[i]`.
    servers: Vec<Vec<Entry>>,
    /// Which server each index is: its `<VirtualHost>` span (`None` = main).
    keys: Vec<Option<crate::conf::Span>>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs")
            .field(
                "targets",
                &self.writers.iter().map(|w| &w.target).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The format text of a CustomLog: a nickname no LogFormat defined falls back to the
/// standard definition.
fn format_text(f: &str) -> &str {
    if !f.contains('%') {
        if let Some((_, std)) = NICKNAMES.iter().find(|(n, _)| *n == f) {
            return std;
        }
    }
    f
}

fn open_target(target: &str, buffered: bool) -> Result<Writer, LogConfigError> {
    let sink = if let Some(cmd) = target.strip_prefix('|') {
        let mut c = if let Some(prog) = cmd.strip_prefix('|') {
            // `||prog args`: run without a shell
            let mut words = prog.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(""));
            c.args(words);
            c
        } else {
            let cmd = cmd.strip_prefix('$').unwrap_or(cmd);
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(cmd);
            c
        };
        c.stdin(Stdio::piped());
        let mut child = c.spawn().map_err(|source| LogConfigError::Pipe {
            cmd: cmd.to_string(),
            source,
        })?;
        let stdin = child.stdin.take().ok_or_else(|| LogConfigError::Pipe {
            cmd: cmd.to_string(),
            source: std::io::Error::other("no stdin"),
        })?;
        Sink::Pipe {
            stdin: File::from(std::os::fd::OwnedFd::from(stdin)),
            child: Mutex::new(child),
        }
    } else {
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(target)
            .map_err(|source| LogConfigError::Open {
                path: target.to_string(),
                source,
            })?;
        Sink::File(f)
    };
    Ok(Writer {
        target: target.to_string(),
        sink,
        buffer: buffered.then(|| Mutex::new(Vec::with_capacity(LOG_BUFSIZE))),
        failing: AtomicBool::new(false),
    })
}

/// Opens every CustomLog/TransferLog/GlobalLog target of `config` (the parent, before fork).
pub fn open_logs(config: &ServerConfig) -> Result<Logs, LogConfigError> {
    open_with(config, Vec::new())
}

fn open_with(config: &ServerConfig, mut reuse: Vec<Writer>) -> Result<Logs, LogConfigError> {
    let mut logs = Logs {
        writers: Vec::new(),
        servers: Vec::new(),
        keys: Vec::new(),
    };
    let mut formats: Vec<(String, Arc<Format>)> = Vec::new();
    let servers = std::iter::once(&config.main).chain(config.vhosts.iter());
    for s in servers {
        let mut entries = Vec::new();
        for l in s.custom_logs.iter().chain(config.global_logs.iter()) {
            let text = format_text(&l.format);
            let format = match formats.iter().find(|(t, _)| t == text) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = Arc::new(Format::compile(text)?);
                    formats.push((text.to_string(), f.clone()));
                    f
                }
            };
            let writer = match logs.writers.iter().position(|w| w.target == l.target) {
                Some(i) => i,
                None => {
                    let w = match reuse
                        .iter()
                        .position(|w| w.target == l.target && l.target.starts_with('|'))
                    {
                        Some(i) => {
                            let mut w = reuse.swap_remove(i);
                            w.buffer = config
                                .buffered_logs
                                .then(|| Mutex::new(Vec::with_capacity(LOG_BUFSIZE)));
                            w
                        }
                        None => open_target(&l.target, config.buffered_logs)?,
                    };
                    logs.writers.push(w);
                    logs.writers.len() - 1
                }
            };
            if let Some(c) = &l.condition {
                if c.starts_with("expr=") {
                    crate::ap_log!(
                        warn,
                        "log_config",
                        "CustomLog {}: expr= conditions are not evaluated by mpmd; logging every request",
                        l.target
                    );
                }
            }
            entries.push(Entry {
                format,
                writer,
                condition: Condition::parse(l.condition.as_deref()),
            });
        }
        logs.servers.push(entries);
        logs.keys.push(s.span.clone());
    }
    for w in reuse {
        w.close();
    }
    Ok(logs)
}

impl Writer {
    /// Flushes, closes our end; a piped logger sees EOF and is reaped.
    fn close(self) {
        self.flush();
        if let Sink::Pipe { stdin, child } = self.sink {
            drop(stdin);
            let mut c = child.into_inner().unwrap_or_else(|e| e.into_inner());
            let _ = c.wait();
        }
    }
}

impl Logs {
    /// No logs at all (tests, `-X` without CustomLog).
    pub fn empty() -> Logs {
        Logs {
            writers: Vec::new(),
            servers: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Writes `r` to every log of server `server` (0 = main, `i + 1` = vhost `i`) whose
    /// condition holds.
    /// True when `server` (as `log` resolves it) has at least one access log.
    pub fn logs_anything(&self, server: usize) -> bool {
        self.servers
            .get(server)
            .or_else(|| self.servers.first())
            .is_some_and(|e| !e.is_empty())
    }

    pub fn log(&self, server: usize, r: &LogRecord<'_>) {
        let Some(entries) = self.servers.get(server).or_else(|| self.servers.first()) else {
            return;
        };
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            for e in entries {
                if !e.condition.wants(r) {
                    continue;
                }
                line.clear();
                e.format.render(r, &mut line);
                self.writers[e.writer].write_line(&line);
            }
        });
    }

    /// Writes out what BufferedLogs kept (call at child exit).
    pub fn flush(&self) {
        for w in &self.writers {
            w.flush();
        }
    }

    /// Graceful/full restart in the parent: files are opened again (after rotation they are
    /// new files), piped loggers with the same command keep running, the others get EOF.
    pub fn reopen(&mut self, config: &ServerConfig) -> Result<(), LogConfigError> {
        self.flush();
        let old = std::mem::take(&mut self.writers);
        *self = open_with(config, old)?;
        Ok(())
    }

    /// The pids of the piped loggers (the supervisor must not take them for children).
    pub fn piped_pids(&self) -> Vec<u32> {
        self.writers
            .iter()
            .filter_map(|w| match &w.sink {
                Sink::Pipe { child, .. } => Some(child.lock().map(|c| c.id()).unwrap_or(0)),
                Sink::File(_) => None,
            })
            .collect()
    }
}

/// The logs of this process: opened by the parent (`install`), inherited by the children.
static LOGS: RwLock<Option<Arc<Logs>>> = RwLock::new(None);

/// Opens (first call) or reopens (restart) the access logs of `config` and registers the
/// logging hook of the request pipeline. Called by the parent before forking.
pub fn install(config: &ServerConfig) -> Result<(), LogConfigError> {
    let mut g = LOGS.write().unwrap_or_else(|e| e.into_inner());
    let next = match g.take().map(Arc::try_unwrap) {
        Some(Ok(mut logs)) => match logs.reopen(config) {
            Ok(()) => logs,
            Err(e) => {
                *g = Some(Arc::new(logs));
                return Err(e);
            }
        },
        Some(Err(shared)) => {
            // someone still holds the old set (cannot happen in the single-threaded parent)
            *g = Some(shared);
            return Ok(());
        }
        None => open_logs(config)?,
    };
    *g = Some(Arc::new(next));
    super::set_log_hook(hook);
    Ok(())
}

/// Writes out buffered lines (BufferedLogs); children call it before they exit.
pub fn flush() {
    if let Some(l) = LOGS.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        l.flush();
    }
}

/// `%U`: the path of the request target, %-decoded.
fn decoded_path(target: &[u8]) -> Vec<u8> {
    let (_, pq) = crate::proto::h1::head::split_absolute(target);
    let path = match memchr::memchr(b'?', pq) {
        Some(i) => &pq[..i],
        None => pq,
    };
    percent_encoding::percent_decode(path).collect()
}

/// The pipeline's logging hook: the driver's record → ours → every log of the server.
fn hook(rec: &super::LogRecord<'_>) {
    let logs = match LOGS.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(l) => l.clone(),
        None => return,
    };
    let server = logs
        .keys
        .iter()
        .position(|k| *k == rec.server.span)
        .unwrap_or(0);
    // No CustomLog for this server: build nothing (the record below costs allocations).
    if !logs.logs_anything(server) {
        return;
    }
    let empty = crate::proto::h1::Head::default();
    // A request refused while its head was read: what httpd had split of it, and only the
    // fields it had stored (merged).
    let refused = rec.notes.refused.as_deref();
    let head = match refused {
        Some(r) => &r.head,
        None => rec.head.unwrap_or(&empty),
    };
    let mut headers_in: Vec<(&[u8], &[u8])> = head
        .fields
        .iter()
        .map(|f| (head.name(f), head.value(f)))
        .collect();
    // The headers as the modules left them (mod_remoteip, RequestHeader), as httpd logs them.
    for (name, value) in &rec.notes.headers_in_override {
        headers_in.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
        if let Some(v) = value {
            headers_in.push((name.as_bytes(), v.as_bytes()));
        }
    }
    let headers_out: Vec<(&[u8], &[u8])> = match (rec.response, rec.sent_headers) {
        (Some(r), _) => r
            .headers
            .iter()
            .chain(r.err_headers.iter())
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect(),
        (None, Some(h)) => h
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect(),
        (None, None) => Vec::new(),
    };
    let target = head.target();
    // The request's own path once it has one (after fast redirects, as httpd's r->uri);
    // the head's for requests refused before it was mapped.
    let notes = rec.notes;
    let uri: std::borrow::Cow<'_, [u8]> = match refused {
        Some(r) => r.path.as_deref().unwrap_or(b"-").into(),
        None if notes.uri.is_empty() => decoded_path(target).into(),
        None => notes.uri.as_bytes().into(),
    };
    let filename = notes.filename.to_str().filter(|f| !f.is_empty());
    let query = match refused {
        Some(r) => r.query.as_deref(),
        None => memchr::memchr(b'?', target).map(|i| &target[i + 1..]),
    };
    let protocol: std::borrow::Cow<'_, [u8]> = match (refused, head.version) {
        (Some(r), _) => r.protocol.as_slice().into(),
        (None, (a, b)) => format!("HTTP/{a}.{b}").into_bytes().into(),
    };
    let method = match refused {
        Some(r) => r.method.as_deref().unwrap_or(b"-"),
        None => head.method(),
    };
    let client = rec.useragent.ip().to_canonical().to_string();
    let peer = if rec.useragent == rec.peer {
        None
    } else {
        Some(rec.peer.ip().to_canonical().to_string())
    };
    let local = rec.local.ip().to_string();
    // %V (ap_get_server_name): the request's host unless UseCanonicalName On, taken from
    // an absolute-form target of the connection's own scheme before Host, as httpd does.
    let host = match refused {
        Some(r) => r.hostname.clone(),
        None => {
            let (absolute, _) = crate::proto::h1::head::split_absolute(target);
            let ours: &[u8] = if notes.https { b"https://" } else { b"http://" };
            absolute
                .filter(|_| {
                    target.len() > ours.len() && target[..ours.len()].eq_ignore_ascii_case(ours)
                })
                .or_else(|| head.header("Host"))
                .and_then(|h| super::vhost::parse_host(h).ok())
                .map(|(n, _)| n)
        }
    }
    .filter(|n| {
        !n.is_empty() && rec.server.use_canonical_name != crate::config::UseCanonicalName::On
    });
    // %v and %p: the ServerName's host, and its port or the scheme's default (httpd's
    // canonical port, whatever port the connection came to; %{local}p has that).
    let server_name = rec.server.server_name.as_deref().unwrap_or("");
    let server_hostname = crate::config::dump::host_of_server_name(server_name);
    let server_port = match crate::config::dump::port_of_server_name(server_name) {
        (Some(p), _) => p,
        (None, https) if https || notes.https => 443,
        (None, _) => 80,
    };
    let env: Vec<(&str, &str)> = notes
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request_notes: Vec<(&str, &str)> = notes
        .request_notes
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let now = crate::scoreboard::now_micros();
    let r = LogRecord {
        client_ip: &client,
        peer_ip: peer.as_deref().unwrap_or(&client),
        remote_port: rec.useragent.port(),
        local_ip: &local,
        local_port: rec.local.port(),
        server_port,
        server_hostname,
        server_name: host.as_deref().unwrap_or(server_hostname),
        request_line: rec.request_line,
        method,
        protocol: &protocol,
        uri: &uri,
        original_uri: notes.original_uri.as_deref().map(str::as_bytes),
        filename,
        query,
        status: rec.status,
        body_bytes: rec.body_bytes,
        bytes_in: rec.bytes_in,
        bytes_out: rec.bytes_sent,
        request_time: if rec.start_us == 0 {
            now
        } else {
            rec.start_us.min(now)
        },
        end_time: now,
        headers_in: &headers_in,
        headers_out: &headers_out,
        content_length: rec.response.and_then(|r| r.sent_length),
        content_type: match rec.response {
            Some(r) => r.content_type.as_deref().map(str::as_bytes),
            None => header(&headers_out, "content-type"),
        },
        keepalives: rec.requests_on_connection,
        keep_alive: rec.keep_alive,
        env: &env,
        notes: &request_notes,
        user: notes
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "REMOTE_USER")
            .map(|(_, v)| v.as_str()),
        ssl: rec.ssl,
        ..LogRecord::default()
    };
    logs.log(server, &r);
}

/// A config from text, for tests: written to a temp dir and loaded like `-f`.
#[cfg(test)]
pub(crate) fn config_from(dir: &std::path::Path, body: &str) -> ServerConfig {
    let file = dir.join("test.conf");
    let text = format!(
        "ServerRoot {root}\nLoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n\
         Listen 127.0.0.1:8080\nDocumentRoot {root}\nPidFile {root}/pid\nErrorLog {root}/error.log\n{body}\n",
        root = dir.display()
    );
    std::fs::write(&file, text).unwrap();
    crate::config::load_with(&crate::config::LoadOptions {
        server_root: Some(dir.to_path_buf()),
        config_file: file,
        pre_directives: Vec::new(),
        post_directives: Vec::new(),
        defines: Vec::new(),
        skip_docroot_check: true,
    })
    .unwrap_or_else(|e| panic!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-22 05:39:34 UTC, plus 250 ms
    const T0: u64 = 1_795_325_974_250_000;

    fn rec<'a>() -> LogRecord<'a> {
        LogRecord {
            client_ip: "192.0.2.7",
            peer_ip: "10.0.0.1",
            remote_port: 51234,
            local_ip: "127.0.0.1",
            local_port: 8080,
            server_port: 80,
            server_hostname: "www.example.org",
            server_name: "example.org",
            request_line: b"GET /a%20b?x=1 HTTP/1.1",
            method: b"GET",
            protocol: b"HTTP/1.1",
            uri: b"/a b",
            query: Some(b"x=1"),
            status: 404,
            original_status: 200,
            body_bytes: 1234,
            bytes_in: 80,
            bytes_out: 1400,
            request_time: T0,
            end_time: T0 + 1_500_000,
            headers_in: &[
                (b"Host", b"example.org"),
                (b"User-Agent", b"curl/8.0 \"quoted\"\x01"),
                (b"Cookie", b"a=1; sess = xyz ; c=3"),
            ],
            headers_out: &[
                (b"Content-Length", b"1234"),
                (b"Set-Cookie", b"k=v"),
                (b"Set-Cookie", b"m=n"),
            ],
            content_type: Some(b"text/html; charset=utf-8"),
            env: &[("HTTPS", "on"), ("dontlog", "1")],
            notes: &[("note1", "v\n1")],
            keepalives: 3,
            keep_alive: true,
            ..LogRecord::default()
        }
    }

    fn render(fmt: &str, r: &LogRecord<'_>) -> String {
        let f = Format::compile(fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
        let mut out = Vec::new();
        f.render(r, &mut out);
        assert_eq!(out.pop(), Some(b'\n'));
        String::from_utf8(out).unwrap()
    }

    fn utc() {
        // the tests format local time; pin it
        std::env::set_var("TZ", "UTC");
    }

    #[test]
    fn each_directive_with_fixed_input() {
        utc();
        let r = rec();
        let cases: &[(&str, &str)] = &[
            ("%h", "192.0.2.7"),
            ("%{c}h", "10.0.0.1"),
            ("%a", "192.0.2.7"),
            ("%{c}a", "10.0.0.1"),
            ("%A", "127.0.0.1"),
            ("%l", "-"),
            ("%u", "-"),
            ("%t", "[22/Nov/2026:05:39:34 +0000]"),
            ("%{end}t", "[22/Nov/2026:05:39:35 +0000]"),
            ("%{%Y-%m-%d %H:%M:%S}t", "2026-11-22 05:39:34"),
            ("%{end:%H:%M:%S}t", "05:39:35"),
            ("%{begin:%H}t", "05"),
            ("%{sec}t", "1795325974"),
            ("%{msec}t", "1795325974250"),
            ("%{usec}t", "1795325974250000"),
            ("%{msec_frac}t", "250"),
            ("%{usec_frac}t", "250000"),
            ("%r", "GET /a%20b?x=1 HTTP/1.1"),
            ("%>s", "404"),
            ("%s", "200"),
            ("%<s", "200"),
            ("%b", "1234"),
            ("%B", "1234"),
            ("%D", "1500000"),
            ("%T", "1"),
            ("%{ms}T", "1500"),
            ("%{us}T", "1500000"),
            ("%{s}T", "1"),
            ("%{xx}T", "xx"),
            ("%{Host}i", "example.org"),
            ("%{user-agent}i", "curl/8.0 \\\"quoted\\\"\\x01"),
            ("%{X-None}i", "-"),
            ("%{Content-Length}o", "1234"),
            ("%{Content-Type}o", "text/html"),
            ("%{Set-Cookie}o", "k=v, m=n"),
            ("%{HTTPS}e", "on"),
            ("%{NOPE}e", "-"),
            ("%{note1}n", "v\\n1"),
            ("%v", "www.example.org"),
            ("%V", "example.org"),
            ("%p", "80"),
            ("%{canonical}p", "80"),
            ("%{local}p", "8080"),
            ("%{remote}p", "51234"),
            ("%{bogus}p", "bogus"),
            ("%H", "HTTP/1.1"),
            ("%m", "GET"),
            ("%U", "/a b"),
            ("%q", "?x=1"),
            ("%I", "80"),
            ("%O", "1400"),
            ("%S", "1480"),
            ("%k", "2"),
            ("%L", "-"),
            ("%f", "-"),
            ("%R", "-"),
            ("%X", "+"),
            ("%%", "%"),
            ("%{sess}C", "xyz"),
            ("%{none}C", "-"),
            ("%^FB", "-"),
            ("%{X}^ti", "-"),
        ];
        for (fmt, want) in cases {
            assert_eq!(render(fmt, &r), *want, "format {fmt}");
        }
        assert_eq!(render("%P", &r), std::process::id().to_string());
        assert_eq!(render("%{pid}P", &r), std::process::id().to_string());
        assert_eq!(render("%{tid}P", &r), sys::thread_id().to_string());
        assert_eq!(render("%{hextid}P", &r), format!("{:x}", sys::thread_id()));
    }

    #[test]
    fn empty_and_unset_values() {
        let r = LogRecord {
            user: Some(""),
            status: 304,
            body_bytes: 0,
            query: None,
            aborted: true,
            ..LogRecord::default()
        };
        assert_eq!(render("%u|%b|%B|%q|%X|%k|%s", &r), "\"\"|-|0||X|0|304");
        let r = LogRecord {
            user: Some("bob \"x\""),
            ..r
        };
        assert_eq!(render("%u", &r), "bob \\\"x\\\"");
        let r = LogRecord {
            aborted: false,
            keep_alive: false,
            ..r
        };
        assert_eq!(render("%X", &r), "-");
    }

    #[test]
    fn status_conditions() {
        let r = rec(); // status 404
        assert_eq!(render("%404{Host}i", &r), "example.org");
        assert_eq!(render("%400,501{Host}i", &r), "-");
        assert_eq!(render("%!200,304,302{Host}i", &r), "example.org");
        assert_eq!(render("%!404{Host}i", &r), "-");
        assert_eq!(render("%>404,500s", &r), "404");
    }

    #[test]
    fn literals_and_escapes() {
        let r = rec();
        assert_eq!(render("a\\tb\\\\c\\qd\\n%m", &r), "a\tb\\c\\qd\nGET");
        assert_eq!(render("100%% %m", &r), "100% GET");
    }

    #[test]
    fn escape_logitem_like_httpd() {
        let mut out = Vec::new();
        escape_logitem(b"a\"b\\c\x08\n\r\t\x0b\x1b\x7f\xe9 z", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\c\\b\\n\\r\\t\\v\\x1b\\x7f\\xe9 z"
        );
    }

    #[test]
    fn bad_formats_use_httpds_words() {
        let e = Format::compile("%h %Z").unwrap_err().to_string();
        assert_eq!(e, "Unrecognized LogFormat directive %Z");
        let e = Format::compile("%{Host").unwrap_err().to_string();
        assert_eq!(e, "Ran off end of LogFormat parsing args to some directive");
        assert!(Format::compile("%4").is_err());
    }

    #[test]
    fn standard_formats() {
        utc();
        let r = rec();
        let combined = format_text("combined");
        assert_eq!(
            render(combined, &r),
            "192.0.2.7 - - [22/Nov/2026:05:39:34 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 404 1400 \"-\" \"curl/8.0 \\\"quoted\\\"\\x01\""
        );
        assert_eq!(
            render(format_text("common"), &r),
            "192.0.2.7 - - [22/Nov/2026:05:39:34 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 404 1400"
        );
        assert!(render(format_text("vhost_combined"), &r)
            .starts_with("www.example.org:80 192.0.2.7 - - ["));
        assert_eq!(render(format_text("referer"), &r), "- -> /a b");
        assert_eq!(
            render(format_text("agent"), &r),
            "curl/8.0 \\\"quoted\\\"\\x01"
        );
        assert_eq!(format_text("%h"), "%h");
        assert_eq!(format_text("unknown"), "unknown");
    }

    #[test]
    fn conditions_on_env() {
        let r = rec();
        assert!(Condition::parse(Some("env=HTTPS")).wants(&r));
        assert!(!Condition::parse(Some("env=!dontlog")).wants(&r));
        assert!(Condition::parse(Some("env=!other")).wants(&r));
        assert!(!Condition::parse(Some("env=other")).wants(&r));
        assert!(Condition::parse(None).wants(&r));
    }

    #[test]
    fn files_per_vhost_with_conditions() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cfg = config_from(
            dir.path(),
            &format!(
                "LogFormat \"%m %U\" short\n\
                 CustomLog {d}/main.log short\n\
                 CustomLog {d}/quiet.log \"%U\" env=!dontlog\n\
                 <VirtualHost 127.0.0.1:80>\nServerName v1\nCustomLog {d}/v1.log \"%v %U\"\n</VirtualHost>\n\
                 <VirtualHost 127.0.0.1:80>\nServerName v2\n</VirtualHost>\n"
            ),
        );
        let logs = open_logs(&cfg).unwrap();
        let r = LogRecord {
            method: b"GET",
            uri: b"/x",
            server_hostname: "v1",
            ..LogRecord::default()
        };
        logs.log(0, &r);
        logs.log(1, &r);
        logs.log(2, &LogRecord { uri: b"/y", ..r });
        let quiet = LogRecord {
            env: &[("dontlog", "1")],
            uri: b"/z",
            ..r
        };
        logs.log(0, &quiet);
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        // vhost v2 inherits the main server's logs
        assert_eq!(read("main.log"), "GET /x\nGET /y\nGET /z\n");
        assert_eq!(read("quiet.log"), "/x\n/y\n");
        assert_eq!(read("v1.log"), "v1 /x\n");
    }

    #[test]
    fn buffered_logs_hold_lines_until_flush_or_full() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cfg = config_from(
            dir.path(),
            &format!("BufferedLogs On\nCustomLog {d}/b.log \"%U\"\n"),
        );
        let logs = open_logs(&cfg).unwrap();
        let r = LogRecord {
            uri: b"/0123456789",
            ..LogRecord::default()
        };
        logs.log(0, &r);
        let path = dir.path().join("b.log");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        // 12 bytes a line: the 342nd line no longer fits in 4096 → the first 341 are written
        for _ in 0..341 {
            logs.log(0, &r);
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 341 * 12);
        logs.flush();
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 342 * 12);
    }

    #[test]
    fn piped_logs_with_and_without_shell_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cfg = config_from(
            dir.path(),
            &format!("CustomLog \"|cat >> {d}/p.log\" \"%U\"\nCustomLog \"||/usr/bin/tee -a {d}/q.log\" \"%m\"\n"),
        );
        let mut logs = open_logs(&cfg).unwrap();
        let pids = logs.piped_pids();
        assert_eq!(pids.len(), 2);
        let r = LogRecord {
            uri: b"/p",
            method: b"HEAD",
            ..LogRecord::default()
        };
        logs.log(0, &r);
        // a restart with the same commands keeps the loggers
        logs.reopen(&cfg).unwrap();
        assert_eq!(logs.piped_pids(), pids);
        logs.log(0, &r);
        // a restart without them closes their pipes: they see EOF, flush and exit (reaped)
        let plain = config_from(dir.path(), &format!("CustomLog {d}/plain.log \"%U\"\n"));
        logs.reopen(&plain).unwrap();
        assert!(logs.piped_pids().is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("p.log")).unwrap(),
            "/p\n/p\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("q.log")).unwrap(),
            "HEAD\nHEAD\n"
        );
    }

    #[test]
    fn reopen_follows_a_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cfg = config_from(dir.path(), &format!("TransferLog {d}/t.log\n"));
        let mut logs = open_logs(&cfg).unwrap();
        let r = LogRecord {
            client_ip: "127.0.0.1",
            request_line: b"GET / HTTP/1.0",
            status: 200,
            request_time: T0,
            ..LogRecord::default()
        };
        logs.log(0, &r);
        std::fs::rename(dir.path().join("t.log"), dir.path().join("t.log.1")).unwrap();
        logs.reopen(&cfg).unwrap();
        logs.log(0, &r);
        let one = std::fs::read_to_string(dir.path().join("t.log.1")).unwrap();
        let two = std::fs::read_to_string(dir.path().join("t.log")).unwrap();
        assert_eq!(one.lines().count(), 1);
        assert_eq!(two.lines().count(), 1);
        // TransferLog uses httpd's default format
        assert!(two.starts_with("127.0.0.1 - - ["), "{two}");
        assert!(two.ends_with("] \"GET / HTTP/1.0\" 200 -\n"), "{two}");
    }
}
