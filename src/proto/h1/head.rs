//! The request head: request line and header fields, read line by line the way httpd's
//! `read_request_line`/`ap_get_mime_headers_core` do, with `HttpProtocolOptions Strict` rules.
//!
//! httparse is not used here: it accepts bare-LF line ends and rejects obs-fold in requests
//! (Apache does the opposite under Strict), and it cannot report Apache's per-line limits
//! (LimitRequestLine → 414, LimitRequestFieldSize → 400, both accepting limit+1 bytes).
//! The parser is re-run from the start of the buffer when more bytes arrive; heads are small
//! and this keeps it free of state.

use memchr::memchr;

/// Limits and mode, from the default server of the address (they apply before Host is known).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub line: usize,
    pub field_size: usize,
    /// 0 = unlimited.
    pub fields: usize,
    /// `HttpProtocolOptions Strict` (default) vs `Unsafe`.
    pub strict: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            line: 8190,
            field_size: 8190,
            fields: 100,
            strict: true,
        }
    }
}

/// A byte range inside `Head::buf`.
pub type Span = (u32, u32);

/// One header field: name and value (OWS trimmed, obs-fold joined with one SP).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: Span,
    pub value: Span,
}

/// Field names a request's head indexes (`Head::present`): those the server looks up.
const KNOWN: [&str; 48] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "expect",
    "upgrade",
    "http2-settings",
    "te",
    "trailer",
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "accept-encoding",
    "accept",
    "accept-language",
    "accept-charset",
    "content-type",
    "authorization",
    "proxy-authorization",
    "cookie",
    "user-agent",
    "referer",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-server",
    "forwarded",
    "via",
    "origin",
    "cache-control",
    "pragma",
    "keep-alive",
    "proxy-connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "x-real-ip",
    "content-encoding",
    "content-language",
    "dnt",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-dest",
    "sec-fetch-user",
    "upgrade-insecure-requests",
    "priority",
];

/// A field name's slot in `SLOTS`: its length and three of its letters, case folded. The
/// constants make the names of `KNOWN` land in distinct slots (checked when compiling).
const fn slot(n: &[u8]) -> usize {
    let l = n.len();
    let h = l * 41
        + (n[0] | 0x20) as usize * 7
        + (n[l - 1] | 0x20) as usize * 6
        + (n[l - 2] | 0x20) as usize;
    h & 127
}

/// Slot → index in `KNOWN` (0xff: none).
const SLOTS: [u8; 128] = {
    let mut t = [0xffu8; 128];
    let mut i = 0;
    while i < KNOWN.len() {
        let s = slot(KNOWN[i].as_bytes());
        assert!(t[s] == 0xff, "two KNOWN names share a slot");
        t[s] = i as u8;
        i += 1;
    }
    t
};

/// The index in `KNOWN` of the slot a name falls in, if any: the name may be another one.
fn known_slot(name: &[u8]) -> Option<usize> {
    if name.len() < 2 {
        return None;
    }
    let i = SLOTS[slot(name)] as usize;
    (i < KNOWN.len()).then_some(i)
}

/// The index of a field name in `KNOWN` (case-insensitive): one slot, one comparison.
fn known_index(name: &[u8]) -> Option<usize> {
    let i = known_slot(name)?;
    folded_eq(name, KNOWN[i].as_bytes()).then_some(i)
}

/// `name` equals `known` (lower case, letters, digits and `-`) but for the case of its
/// letters, compared eight bytes at a time by setting bit 0x20 of each. Exact for names
/// made of tchars (every field name the parser accepts, every name the server asks for):
/// among them only the upper-case letters fold onto another byte.
fn folded_eq(name: &[u8], known: &[u8]) -> bool {
    if name.len() != known.len() {
        return false;
    }
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let (a, b) = (name.chunks_exact(8), known.chunks_exact(8));
    let tails = a.remainder().iter().zip(b.remainder());
    a.zip(b).all(|(x, y)| {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        x | FOLD == y
    }) && tails.into_iter().all(|(&x, &y)| x | 0x20 == y)
}

/// A parsed request head. All text lives in `buf`; the rest are spans into it.
#[derive(Clone, Debug, Default)]
pub struct Head {
    pub buf: Vec<u8>,
    /// The request line as received (for logs, the scoreboard and TRACE).
    pub line: Span,
    pub method: Span,
    pub target: Span,
    /// (major, minor); (0, 9) for a request line without a protocol.
    pub version: (u8, u8),
    /// Add fields with `push_field` (or call `reindex` after pushing here): `present` must
    /// stay true to them.
    pub fields: Vec<Field>,
    /// Bit i: a field named `KNOWN[i]` is in `fields`. A lookup of a known name the request
    /// lacks (`Range`, `If-None-Match` … on most requests) costs no scan of the fields.
    pub(crate) present: u64,
    /// The request came on an HTTP/2 stream (the head is its HTTP/1.1 rendering, with
    /// version 2.0): `%{HTTP2}` is `on`.
    pub h2: bool,
}

impl Head {
    /// Appends a field (name and value already checked) to the head's buffer and list.
    pub(crate) fn push_field(&mut self, name: &[u8], value: &[u8]) {
        let ns = self.buf.len() as u32;
        self.buf.extend_from_slice(name);
        let vs = self.buf.len() as u32;
        self.buf.extend_from_slice(value);
        self.fields.push(Field {
            name: (ns, vs),
            value: (vs, self.buf.len() as u32),
        });
        self.mark(name);
    }

    /// Sets the bit of the name's slot: a name that only shares the slot sets it too, which
    /// costs a scan, never a wrong answer.
    fn mark(&mut self, name: &[u8]) {
        if let Some(i) = known_slot(name) {
            self.present |= 1 << i;
        }
    }

    /// Recomputes which known fields are present, after `fields` was filled directly.
    pub(crate) fn reindex(&mut self) {
        self.present = 0;
        for i in 0..self.fields.len() {
            let n = self.fields[i].name;
            if let Some(k) = known_slot(&self.buf[n.0 as usize..n.1 as usize]) {
                self.present |= 1 << k;
            }
        }
    }

    /// False when no field can have this name (a known name the request lacks).
    fn may_have(&self, name: &str) -> bool {
        let absent = known_index(name.as_bytes()).is_some_and(|i| self.present & (1 << i) == 0);
        debug_assert!(
            !absent
                || !self
                    .fields
                    .iter()
                    .any(|f| self.name(f).eq_ignore_ascii_case(name.as_bytes())),
            "Head::present is stale for {name}"
        );
        !absent
    }

    fn text(&self, s: Span) -> &[u8] {
        &self.buf[s.0 as usize..s.1 as usize]
    }
    pub fn request_line(&self) -> &[u8] {
        self.text(self.line)
    }
    pub fn method(&self) -> &[u8] {
        self.text(self.method)
    }
    pub fn target(&self) -> &[u8] {
        self.text(self.target)
    }
    pub fn name(&self, f: &Field) -> &[u8] {
        self.text(f.name)
    }
    pub fn value(&self, f: &Field) -> &[u8] {
        self.text(f.value)
    }
    pub fn is_http09(&self) -> bool {
        self.version == (0, 9)
    }
    /// At least HTTP/1.1 (2.0, 3.0, 1.2 are served as 1.1).
    pub fn is_http11(&self) -> bool {
        self.version >= (1, 1)
    }
    /// The protocol the variables name (`SERVER_PROTOCOL`), as httpd's `r->protocol`:
    /// `HTTP/2.0` over HTTP/2, else the 1.x the request is served as.
    pub fn protocol(&self) -> &'static str {
        if self.h2 {
            "HTTP/2.0"
        } else if self.is_http11() {
            "HTTP/1.1"
        } else {
            "HTTP/1.0"
        }
    }
    /// The first field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        if !self.may_have(name) {
            return None;
        }
        self.fields
            .iter()
            .find(|f| self.name(f).eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| self.value(f))
    }
    /// Every value of a field, in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let fields = if self.may_have(name) {
            &self.fields[..]
        } else {
            &[]
        };
        fields
            .iter()
            .filter(move |f| self.name(f).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |f| self.value(f))
    }
    pub fn count(&self, name: &str) -> usize {
        self.headers(name).count()
    }
    /// True when a comma-separated field (Connection) holds this token.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

/// Why a head was refused: the status to answer with and Apache's error-note, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadError {
    pub status: u16,
    pub note: Option<&'static str>,
    /// True when at least the request line was read (for logging the line).
    pub line_read: bool,
}

impl HeadError {
    fn bad(line_read: bool) -> Self {
        HeadError {
            status: 400,
            note: None,
            line_read,
        }
    }
}

pub const NOTE_FIELD_SIZE: &str = "Size of a request header field exceeds server limit.";
pub const NOTE_FIELDS: &str = "The number of request header fields exceeds this server's limit.";

#[derive(Debug)]
pub enum Parsed {
    /// Need more bytes.
    Partial,
    /// Only empty lines so far (they were skipped); `usize` bytes may be dropped.
    Empty(usize),
    /// A head and the bytes it used.
    Complete(Head, usize),
    Error(HeadError),
}

/// Up to this many empty lines before the request line are skipped (httpd: 10).
pub(super) const MAX_BLANK_LINES: usize = 10;

pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// One line: content (without the line end), and the offset after the line end.
pub(super) enum Line<'a> {
    Partial(usize),
    Done(&'a [u8], usize, bool),
}

/// Finds the next line starting at `pos`; `bare_lf` is true when it ended in LF alone.
pub(super) fn next_line(buf: &[u8], pos: usize) -> Line<'_> {
    let rest = &buf[pos..];
    match memchr(b'\n', rest) {
        None => Line::Partial(rest.len()),
        Some(i) => {
            if i > 0 && rest[i - 1] == b'\r' {
                Line::Done(&rest[..i - 1], pos + i + 1, false)
            } else {
                Line::Done(&rest[..i], pos + i + 1, true)
            }
        }
    }
}

/// Parses the request head at the start of `buf`.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Parsed {
    let mut pos = 0;
    // Blank lines before the request line.
    let mut blanks = 0;
    let (line, after) = loop {
        match next_line(buf, pos) {
            Line::Partial(n) => {
                if n > limits.line + 1 {
                    return Parsed::Error(HeadError {
                        status: 414,
                        note: None,
                        line_read: false,
                    });
                }
                return if pos > 0 {
                    Parsed::Empty(pos)
                } else {
                    Parsed::Partial
                };
            }
            Line::Done(l, next, bare) => {
                if l.is_empty() && blanks < MAX_BLANK_LINES {
                    if bare && limits.strict {
                        return Parsed::Error(HeadError::bad(false));
                    }
                    blanks += 1;
                    pos = next;
                    continue;
                }
                if l.len() > limits.line + 1 {
                    return Parsed::Error(HeadError {
                        status: 414,
                        note: None,
                        line_read: false,
                    });
                }
                if bare && limits.strict {
                    return Parsed::Error(HeadError::bad(false));
                }
                break (l, next);
            }
        }
    };
    let line_start = pos;
    let mut head = Head {
        buf: Vec::with_capacity(after.saturating_sub(pos) + 64),
        ..Head::default()
    };
    head.buf.extend_from_slice(line);
    head.line = (0, line.len() as u32);
    if let Err(e) = parse_request_line(&mut head, limits) {
        return Parsed::Error(e);
    }
    if head.is_http09() {
        return Parsed::Complete(head, after);
    }
    let _ = line_start;

    // Header fields.
    pos = after;
    loop {
        match next_line(buf, pos) {
            Line::Partial(n) => {
                if n > limits.field_size + 1 {
                    return Parsed::Error(HeadError {
                        status: 400,
                        note: Some(NOTE_FIELD_SIZE),
                        line_read: true,
                    });
                }
                return Parsed::Partial;
            }
            Line::Done(l, next, bare) => {
                if bare && limits.strict {
                    return Parsed::Error(HeadError::bad(true));
                }
                if l.len() > limits.field_size + 1 {
                    return Parsed::Error(HeadError {
                        status: 400,
                        note: Some(NOTE_FIELD_SIZE),
                        line_read: true,
                    });
                }
                pos = next;
                if l.is_empty() {
                    return Parsed::Complete(head, pos);
                }
                if let Err(e) = add_field(&mut head, l, limits) {
                    return Parsed::Error(e);
                }
            }
        }
    }
}

fn add_field(head: &mut Head, l: &[u8], limits: &Limits) -> Result<(), HeadError> {
    if l[0] == b' ' || l[0] == b'\t' {
        // obs-fold: continues the previous field, joined with one SP.
        let Some(last) = head.fields.last_mut() else {
            return Err(HeadError::bad(true));
        };
        let cont = trim(l);
        // httpd refuses a folded line with nothing on it.
        if cont.is_empty() {
            return Err(HeadError::bad(true));
        }
        check_value(cont, limits)?;
        let start = last.value.0 as usize;
        let mut new_len = head.buf.len() - start + cont.len();
        if last.value.1 > last.value.0 {
            new_len += 1;
        }
        if new_len + (last.name.1 - last.name.0) as usize + 2 > limits.field_size + 1 {
            return Err(HeadError {
                status: 400,
                note: Some(NOTE_FIELD_SIZE),
                line_read: true,
            });
        }
        if !cont.is_empty() {
            if last.value.1 > last.value.0 {
                head.buf.push(b' ');
            }
            head.buf.extend_from_slice(cont);
        }
        last.value.1 = head.buf.len() as u32;
        return Ok(());
    }
    let colon = memchr(b':', l).ok_or(HeadError::bad(true))?;
    let name = &l[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::bad(true));
    }
    let value = trim(&l[colon + 1..]);
    check_value(value, limits)?;
    if limits.fields > 0 && head.fields.len() >= limits.fields {
        return Err(HeadError {
            status: 400,
            note: Some(NOTE_FIELDS),
            line_read: true,
        });
    }
    head.push_field(name, value);
    Ok(())
}

fn check_value(v: &[u8], limits: &Limits) -> Result<(), HeadError> {
    let bad = if limits.strict {
        v.iter().any(|&b| is_ctl(b) && b != b'\t')
    } else {
        v.iter()
            .any(|&b| matches!(b, b'\r' | b'\n' | 0x0b | 0x0c | 0))
    };
    if bad {
        Err(HeadError::bad(true))
    } else {
        Ok(())
    }
}

pub(super) fn parse_request_line(head: &mut Head, limits: &Limits) -> Result<(), HeadError> {
    let bad = HeadError::bad(true);
    let line = &head.buf[..];
    let n = line.len();
    // Split into method, target, protocol.
    let (m_end, t_start, t_end, p_start) = if limits.strict {
        if line.iter().any(|&b| is_ctl(b)) {
            return Err(bad);
        }
        let m_end = memchr(b' ', line).unwrap_or(n);
        if m_end == n {
            return Err(bad); // method only
        }
        let t_start = m_end + 1;
        match memchr(b' ', &line[t_start..]) {
            None => (m_end, t_start, n, n),
            Some(i) => (m_end, t_start, t_start + i, t_start + i + 1),
        }
    } else {
        let ws = |b: &u8| *b == b' ' || *b == b'\t';
        let m_end = line.iter().position(ws).unwrap_or(n);
        if m_end == n {
            return Err(bad);
        }
        let t_start = m_end
            + line[m_end..]
                .iter()
                .position(|b| !ws(b))
                .unwrap_or(n - m_end);
        let t_end = t_start + line[t_start..].iter().position(ws).unwrap_or(n - t_start);
        let p_start = t_end
            + line[t_end..]
                .iter()
                .position(|b| !ws(b))
                .unwrap_or(n - t_end);
        let mut p_end = n;
        while p_end > p_start && ws(&line[p_end - 1]) {
            p_end -= 1;
        }
        if p_end != n {
            head.buf.truncate(p_end);
        }
        (m_end, t_start, t_end, p_start)
    };
    let line = &head.buf[..];
    let n = line.len();
    let method = &line[..m_end];
    let target = &line[t_start..t_end];
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(bad);
    }
    if target.is_empty() {
        return Err(bad);
    }
    head.method = (0, m_end as u32);
    head.target = (t_start as u32, t_end as u32);
    if p_start >= n && t_end == n {
        // HTTP/0.9: only GET.
        if method != b"GET" {
            return Err(bad);
        }
        head.version = (0, 9);
        check_target(target, limits)?;
        return Ok(());
    }
    let proto = &line[p_start..n];
    let connect = method == b"CONNECT";
    head.version = parse_version(proto, limits.strict).ok_or(bad)?;
    if head.version < (1, 0) {
        return Err(bad);
    }
    if limits.strict && proto.starts_with(b"http/") {
        return Err(bad);
    }
    if connect && target.first() != Some(&b'/') {
        return check_authority(target);
    }
    check_target(target, limits)
}

/// CONNECT's authority-form: `host:port`.
fn check_authority(t: &[u8]) -> Result<(), HeadError> {
    let ok = !t.is_empty()
        && t.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
        && memchr(b':', t).is_some();
    if ok {
        Ok(())
    } else {
        Err(HeadError::bad(true))
    }
}

fn parse_version(p: &[u8], strict: bool) -> Option<(u8, u8)> {
    if p.len() != 8 {
        return None;
    }
    let prefix_ok = if strict {
        &p[..5] == b"HTTP/"
    } else {
        p[..5].eq_ignore_ascii_case(b"HTTP/")
    };
    if !prefix_ok || !p[5].is_ascii_digit() || p[6] != b'.' || !p[7].is_ascii_digit() {
        return None;
    }
    Some((p[5] - b'0', p[7] - b'0'))
}

/// The request-target: origin-form, `*`, or absolute-form; no fragment, no userinfo.
fn check_target(t: &[u8], limits: &Limits) -> Result<(), HeadError> {
    let bad = Err(HeadError::bad(true));
    if t.iter().any(|&b| is_ctl(b) || b == b' ') {
        return bad;
    }
    if limits.strict && memchr(b'#', t).is_some() {
        return bad;
    }
    if t[0] == b'/' || t == b"*" {
        return Ok(());
    }
    // absolute-form: scheme "://" authority [path]
    let Some(colon) = memchr(b':', t) else {
        return bad;
    };
    let scheme = &t[..colon];
    if scheme.is_empty()
        || !scheme[0].is_ascii_alphabetic()
        || !scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        || !t[colon..].starts_with(b"://")
    {
        return bad;
    }
    let rest = &t[colon + 3..];
    let auth_end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    if limits.strict && memchr(b'@', &rest[..auth_end]).is_some() {
        return bad;
    }
    Ok(())
}

/// Splits an absolute-form target into (host[:port], path-and-query); origin-form keeps
/// the whole target as the path.
pub fn split_absolute(t: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if t.first() == Some(&b'/') || t == b"*" {
        return (None, t);
    }
    match memchr::memmem::find(t, b"://") {
        Some(i) => {
            let rest = &t[i + 3..];
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            let path = &rest[end..];
            (
                Some(&rest[..end]),
                if path.is_empty() { b"/" } else { path },
            )
        }
        None => (None, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            line: 1024,
            field_size: 1024,
            fields: 40,
            strict: true,
        }
    }

    #[test]
    fn known_names_index() {
        assert!(KNOWN.len() <= 64);
        for (i, n) in KNOWN.iter().enumerate() {
            assert_eq!(known_index(n.as_bytes()), Some(i), "{n}");
            assert_eq!(
                known_index(n.to_ascii_uppercase().as_bytes()),
                Some(i),
                "{n}"
            );
        }
        for n in [
            "",
            "x",
            "hosts",
            "hast",
            "if-rangE-",
            "sec-fetch-mxde",
            "X-Foo",
            "-",
        ] {
            assert_eq!(known_index(n.as_bytes()), None, "{n}");
        }
        // Folding is exact over tchars.
        let tchars: Vec<u8> = (0x21u8..0x7f)
            .filter(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            .collect();
        for n in KNOWN {
            for (i, &c) in n.as_bytes().iter().enumerate() {
                for &t in &tchars {
                    let mut m = n.as_bytes().to_vec();
                    m[i] = t;
                    assert_eq!(
                        folded_eq(&m, n.as_bytes()),
                        m.eq_ignore_ascii_case(n.as_bytes()),
                        "{n} with {} for {}",
                        t as char,
                        c as char
                    );
                }
            }
        }
    }

    /// Lookups by a known name (indexed), an unknown one (scanned), present or not, in any
    /// case, and after `reindex`.
    #[test]
    fn lookups_with_the_presence_index() {
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nRANGE: bytes=0-1\r\nX-Odd: 1\r\nrange: b\r\n\r\n";
        let Parsed::Complete(mut h, _) = parse_head(raw, &lim()) else {
            panic!("not parsed");
        };
        assert_eq!(h.header("Range"), Some(&b"bytes=0-1"[..]));
        assert_eq!(h.count("range"), 2);
        assert_eq!(h.header("x-odd"), Some(&b"1"[..]));
        assert_eq!(h.header("If-None-Match"), None);
        assert_eq!(h.count("Connection"), 0);
        assert_eq!(h.header("X-Missing"), None);
        h.fields
            .retain(|f| !h.buf[f.name.0 as usize..f.name.1 as usize].eq_ignore_ascii_case(b"host"));
        h.reindex();
        assert_eq!(h.header("Host"), None);
        assert_eq!(h.header("range"), Some(&b"bytes=0-1"[..]));
    }

    fn status(input: &[u8]) -> u16 {
        match parse_head(input, &lim()) {
            Parsed::Complete(..) => 200,
            Parsed::Error(e) => e.status,
            Parsed::Partial | Parsed::Empty(_) => 0,
        }
    }

    #[test]
    fn simple_get_and_every_split_point() {
        let req = b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-Foo:  bar \r\n\r\nrest";
        for split in 0..req.len() - 4 {
            let part = &req[..split];
            assert!(
                matches!(parse_head(part, &lim()), Parsed::Partial | Parsed::Empty(_)),
                "{split}"
            );
        }
        let Parsed::Complete(h, used) = parse_head(req, &lim()) else {
            panic!()
        };
        assert_eq!(used, req.len() - 4);
        assert_eq!(h.method(), b"GET");
        assert_eq!(h.target(), b"/a?b");
        assert_eq!(h.version, (1, 1));
        assert_eq!(h.header("x-foo"), Some(&b"bar"[..]));
        assert_eq!(h.header("host"), Some(&b"x"[..]));
        assert_eq!(h.request_line(), b"GET /a?b HTTP/1.1");
    }

    #[test]
    fn strict_request_line_rules() {
        assert_eq!(status(b"GET  /x HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x HTTP/1.1 \r\n\r\n"), 400);
        assert_eq!(status(b"GET\t/x\tHTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x http/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x HTTP/1.11\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x HTTP/0.9\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x HTTP/2.0\r\n\r\n"), 200);
        assert_eq!(status(b"GET /x HTTP/1.0 x\r\n\r\n"), 400);
        assert_eq!(status(b"G@T /x HTTP/1.0\r\n\r\n"), 400);
        assert_eq!(status(b"GET\r\n\r\n"), 400);
        assert_eq!(status(b"GET x HTTP/1.0\r\n\r\n"), 400);
        assert_eq!(status(b"GET /x#f HTTP/1.0\r\n\r\n"), 400);
        assert_eq!(status(b"GET http://u@h/ HTTP/1.0\r\n\r\n"), 400);
        assert_eq!(status(b"GET http://h/x HTTP/1.0\r\n\r\n"), 200);
        assert_eq!(status(b"GET /x HTTP/1.1\nHost: x\r\n\r\n"), 400);
        assert_eq!(status(b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), 200);
        assert_eq!(status(b"HEAD /x\r\n"), 400);
        let Parsed::Complete(h, _) = parse_head(b"GET /x\r\n", &lim()) else {
            panic!()
        };
        assert!(h.is_http09());
    }

    #[test]
    fn unsafe_mode_is_lenient() {
        let l = Limits {
            strict: false,
            ..lim()
        };
        assert!(matches!(
            parse_head(b"GET  /x  http/1.1 \n\n", &l),
            Parsed::Complete(..)
        ));
    }

    #[test]
    fn header_rules() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nX Foo: b\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-Foo : b\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-A: a\tb\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1.1\r\n folded\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nA: b\r\n \t\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-\xe9: v\r\n\r\n"), 400);
        let Parsed::Complete(h, _) =
            parse_head(b"GET / HTTP/1.1\r\nX-Foo: a\r\n  folded\r\n\r\n", &lim())
        else {
            panic!()
        };
        assert_eq!(h.header("X-Foo"), Some(&b"a folded"[..]));
        let Parsed::Complete(h, _) =
            parse_head(b"GET / HTTP/1.1\r\nTE:\r\n chunked\r\n\r\n", &lim())
        else {
            panic!()
        };
        assert_eq!(h.header("te"), Some(&b"chunked"[..]));
    }

    #[test]
    fn limits_accept_limit_plus_one() {
        let mk = |n: usize| {
            let mut v = b"GET /?".to_vec();
            v.resize(n - 9, b'a');
            v.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
            v
        };
        assert_eq!(status(&mk(1025)), 200);
        assert_eq!(status(&mk(1026)), 414);
        // Still partial but already too long: refused without waiting for the line end.
        assert_eq!(status(&[b'a'; 2000]), 414);
        let mkf = |n: usize| {
            let mut v = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
            v.resize(16 + n, b'b');
            v.extend_from_slice(b"\r\n\r\n");
            v
        };
        assert_eq!(status(&mkf(1025)), 200);
        assert_eq!(status(&mkf(1026)), 400);
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..41 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(status(&many), 400);
    }

    #[test]
    fn absolute_split() {
        assert_eq!(
            split_absolute(b"http://h:1/p?q"),
            (Some(&b"h:1"[..]), &b"/p?q"[..])
        );
        assert_eq!(split_absolute(b"http://h"), (Some(&b"h"[..]), &b"/"[..]));
        assert_eq!(split_absolute(b"/p"), (None, &b"/p"[..]));
    }
}
