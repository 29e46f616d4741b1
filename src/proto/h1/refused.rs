//! What httpd knows of a request it refuses while reading its head, for the access log:
//! httpd logs such a request (400, 408, 414 …) with the request line as it rebuilt it, the
//! method, raw path and protocol it had split, and only the header fields it had stored.
//! Built on the error path only, by reading the buffered bytes again.

use memchr::memchr;

use super::head::{is_tchar, next_line, trim, Field, Head, Limits, Line, MAX_BLANK_LINES};

/// A refused request as the log sees it.
#[derive(Clone, Debug, Default)]
pub struct Refused {
    /// `%r`: httpd's `the_request`; `None` logs `-` (no line was read).
    pub line: Option<Vec<u8>>,
    /// `%m`; `None` logs `-` (the line could not be split).
    pub method: Option<Vec<u8>>,
    /// `%U`: the path of the target as received (not %-decoded); `None` logs `-`.
    pub path: Option<Vec<u8>>,
    /// `%q` without its `?`.
    pub query: Option<Vec<u8>>,
    /// `%H`: the protocol as written when it names one, else `HTTP/1.0`.
    pub protocol: Vec<u8>,
    /// `%V`: the host of an absolute-form target of the connection's scheme, as written;
    /// else the server's name (Host is not looked at: no virtual host was chosen yet).
    pub hostname: Option<String>,
    /// The header fields httpd had stored (its request line is empty): `%{…}i`.
    pub head: Head,
    /// The bytes httpd had read of it (mod_logio's `%I`): set by `refused`, 0 otherwise.
    pub read: usize,
}

const HTTP10: &[u8] = b"HTTP/1.0";

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl Refused {
    /// A head read in full but refused for what it says (framing, Host): every part as the
    /// head has it. `tls`: the connection's scheme is https.
    pub fn from_head(head: &Head, tls: bool) -> Refused {
        let mut r = Refused::from_line(head.request_line(), tls);
        // httpd merges repeated fields into the first ("x, y") once the head is read.
        let mut merged = Head::default();
        let mut taken = vec![false; head.fields.len()];
        for (i, f) in head.fields.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let name = head.name(f);
            let ns = merged.buf.len() as u32;
            merged.buf.extend_from_slice(name);
            let vs = merged.buf.len() as u32;
            merged.buf.extend_from_slice(head.value(f));
            for (j, g) in head.fields.iter().enumerate().skip(i + 1) {
                if !taken[j] && head.name(g).eq_ignore_ascii_case(name) {
                    taken[j] = true;
                    merged.buf.extend_from_slice(b", ");
                    merged.buf.extend_from_slice(head.value(g));
                }
            }
            merged.fields.push(Field {
                name: (ns, vs),
                value: (vs, merged.buf.len() as u32),
            });
        }
        merged.reindex();
        r.head = merged;
        r
    }

    /// What httpd makes of a request line it read whole: split at whitespace into method,
    /// target and protocol (trailing text dropped), the line rebuilt with single spaces.
    /// `tls`: the connection's scheme is https.
    pub fn from_line(line: &[u8], tls: bool) -> Refused {
        let word = |s: &[u8]| -> usize { s.iter().position(|&b| is_space(b)).unwrap_or(s.len()) };
        let skip = |s: &[u8]| -> usize { s.iter().position(|&b| !is_space(b)).unwrap_or(s.len()) };
        let rest = &line[skip(line)..];
        let m_end = word(rest);
        let method = &rest[..m_end];
        let mut target: &[u8] = b"";
        let mut protocol: &[u8] = b"";
        if m_end < rest.len() {
            let after = &rest[m_end..];
            let after = &after[skip(after)..];
            let t_end = word(after);
            target = &after[..t_end];
            if t_end < after.len() {
                let p = &after[t_end..];
                let p = &p[skip(p)..];
                // The protocol ends at the first byte that is not visible text.
                let p_end = p
                    .iter()
                    .position(|&b| b < 0x21 || b == 0x7f)
                    .unwrap_or(p.len());
                protocol = &p[..p_end];
            }
        }
        let mut rebuilt = Vec::with_capacity(line.len());
        rebuilt.extend_from_slice(method);
        if !target.is_empty() {
            rebuilt.push(b' ');
            rebuilt.extend_from_slice(target);
        }
        if !protocol.is_empty() {
            rebuilt.push(b' ');
            rebuilt.extend_from_slice(protocol);
        }
        let names_version = protocol.len() == 8
            && protocol[..5].eq_ignore_ascii_case(b"HTTP/")
            && (b'1'..=b'9').contains(&protocol[5])
            && protocol[6] == b'.'
            && protocol[7].is_ascii_digit();
        let (path, query, hostname) = split_target(target, tls);
        Refused {
            line: Some(rebuilt),
            method: Some(method.to_vec()),
            path: Some(path),
            query,
            protocol: if names_version { protocol } else { HTTP10 }.to_vec(),
            hostname,
            head: Head::default(),
            read: 0,
        }
    }

    /// A line httpd could not read (too long, a bare LF under Strict): the raw bytes it
    /// holds, nothing split.
    fn unread(line: Option<&[u8]>) -> Refused {
        Refused {
            line: line.map(<[u8]>::to_vec),
            protocol: HTTP10.to_vec(),
            ..Refused::default()
        }
    }
}

/// httpd's parse of a target for the log: path (`/` when empty), query, and the host of an
/// absolute-form target in the connection's scheme; the fragment is dropped, and a path's
/// leading slashes are one.
fn split_target(mut t: &[u8], tls: bool) -> (Vec<u8>, Option<Vec<u8>>, Option<String>) {
    while t.starts_with(b"//") {
        t = &t[1..];
    }
    let t = &t[..memchr(b'#', t).unwrap_or(t.len())];
    let (mut pq, mut host) = (t, None);
    if t.first() != Some(&b'/') {
        if let Some(i) = memchr::memmem::find(t, b"://") {
            let scheme = &t[..i];
            if !scheme.is_empty()
                && scheme
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
            {
                let rest = &t[i + 3..];
                let end = rest
                    .iter()
                    .position(|&b| b == b'/' || b == b'?')
                    .unwrap_or(rest.len());
                let auth = &rest[..end];
                let auth = &auth[memchr::memrchr(b'@', auth).map_or(0, |i| i + 1)..];
                let name = match auth.first() {
                    Some(b'[') => &auth[1..memchr(b']', auth).unwrap_or(auth.len())],
                    _ => &auth[..memchr(b':', auth).unwrap_or(auth.len())],
                };
                let ours: &[u8] = if tls { b"https" } else { b"http" };
                if scheme.eq_ignore_ascii_case(ours) {
                    host = Some(String::from_utf8_lossy(name).into_owned());
                }
                pq = &rest[end..];
            }
        }
    }
    let (path, query) = match memchr(b'?', pq) {
        Some(i) => (&pq[..i], Some(pq[i + 1..].to_vec())),
        None => (pq, None),
    };
    let path = if path.is_empty() { &b"/"[..] } else { path };
    (path.to_vec(), query, host)
}

/// What httpd had read of the refused (or timed-out, or cut-off) head at the start of `buf`;
/// `tls`: the connection's scheme is https.
pub fn refused(buf: &[u8], limits: &Limits, tls: bool) -> Refused {
    // Blank lines before the request line, as the parser skips them.
    let mut pos = 0;
    let mut blanks = 0;
    let read = |mut r: Refused, n: usize| {
        r.read = n;
        r
    };
    let (line, after) = loop {
        match next_line(buf, pos) {
            Line::Partial(n) => {
                // httpd reads a line it refuses for its length on to its end; the bytes
                // here are what it had by then, at the least.
                if n > limits.line + 1 {
                    let r = Refused::unread(Some(&buf[pos..pos + limits.line + 1]));
                    return read(r, buf.len());
                }
                // Cut off or timed out before the line ended.
                return read(Refused::unread(None), buf.len());
            }
            Line::Done(l, next, bare) => {
                if bare && limits.strict {
                    // httpd keeps the LF it could not accept.
                    return read(Refused::unread(Some(&buf[pos..next])), next);
                }
                if l.len() > limits.line + 1 {
                    return read(Refused::unread(Some(&l[..limits.line + 1])), next);
                }
                if l.is_empty() && blanks < MAX_BLANK_LINES {
                    blanks += 1;
                    pos = next;
                    continue;
                }
                break (l, next);
            }
        }
    };
    let mut r = Refused::from_line(line, tls);
    r.read = after;
    let mut probe = Head {
        buf: line.to_vec(),
        line: (0, line.len() as u32),
        ..Head::default()
    };
    // A line the parser refuses has no header fields read after it; HTTP/0.9 has none.
    if super::head::parse_request_line(&mut probe, limits).is_err() || probe.is_http09() {
        return r;
    }
    (r.head, r.read) = stored_fields(buf, after, limits);
    r
}

/// The fields httpd had stored when it stopped reading at some line after `pos`, and where
/// it stopped (the end of the last line it read, or of `buf`): it stores a field only once
/// the next line has been read (that line may fold into it), so a line it cannot read (too
/// long, bare LF, NUL, cut off) loses the field before it too.
fn stored_fields(buf: &[u8], mut pos: usize, limits: &Limits) -> (Head, usize) {
    let mut head = Head::default();
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let (l, next) = match next_line(buf, pos) {
            Line::Partial(_) => return (head, buf.len()),
            Line::Done(l, next, bare) => {
                if (bare && limits.strict)
                    || l.len() > limits.field_size + 1
                    || memchr(0, l).is_some()
                {
                    return (head, next);
                }
                (l, next)
            }
        };
        pos = next;
        if let [b' ' | b'\t', ..] = l {
            let Some(p) = pending.as_mut() else {
                return (head, pos);
            };
            let cont = trim(l);
            if cont.is_empty() || p.len() + 1 + cont.len() >= limits.field_size {
                return (head, pos);
            }
            p.push(b' ');
            p.extend_from_slice(cont);
            continue;
        }
        if let Some(p) = pending.take() {
            if limits.fields > 0 && head.fields.len() >= limits.fields {
                return (head, pos);
            }
            let Some(colon) = memchr(b':', &p) else {
                return (head, pos);
            };
            let name = &p[..colon];
            let value = trim(&p[colon + 1..]);
            let name_ok = !name.is_empty()
                && if limits.strict {
                    name.iter().all(|&b| is_tchar(b))
                } else {
                    !name.iter().any(|&b| is_space(b))
                };
            let value_ok = value
                .iter()
                .all(|&b| b == b'\t' || !(b < 0x20 || b == 0x7f));
            if !name_ok || !value_ok {
                return (head, pos);
            }
            head.push_field(name, value);
        }
        if l.is_empty() {
            return (head, pos);
        }
        pending = Some(l.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            line: 100,
            field_size: 100,
            fields: 3,
            strict: true,
        }
    }

    fn s(v: &Option<Vec<u8>>) -> Option<&str> {
        v.as_deref().map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn request_line_rebuilt_with_single_spaces() {
        let r = refused(b"GET\t/a%20b?x=1#f  HTTP/1.1 extra\r\n\r\n", &lim(), false);
        assert_eq!(s(&r.line), Some("GET /a%20b?x=1#f HTTP/1.1"));
        assert_eq!(s(&r.method), Some("GET"));
        assert_eq!(s(&r.path), Some("/a%20b"));
        assert_eq!(s(&r.query), Some("x=1"));
        assert_eq!(r.protocol, b"HTTP/1.1");
        let r = refused(b"GARBAGE\r\n\r\n", &lim(), false);
        assert_eq!(s(&r.line), Some("GARBAGE"));
        assert_eq!(s(&r.path), Some("/"));
        assert_eq!(r.protocol, b"HTTP/1.0");
        let r = refused(b"GET / HTTP/0.9\r\n\r\n", &lim(), false);
        assert_eq!(r.protocol, b"HTTP/1.0");
        let r = refused(b"GET / http/1.1\r\n\r\n", &lim(), false);
        assert_eq!(r.protocol, b"http/1.1");
        let r = refused(b"GET http://U@Host:81/p?q HTTP/1.1\r\n\r\n", &lim(), false);
        assert_eq!(r.hostname.as_deref(), Some("Host"));
        assert_eq!(s(&r.path), Some("/p"));
        let r = refused(b"GET http://h/p HTTP/1.1\r\n\r\n", &lim(), true);
        assert_eq!(r.hostname, None);
        let r = refused(b"GET //a//b HTTP/1.1\r\n\r\n", &lim(), false);
        assert_eq!(s(&r.path), Some("/a//b"));
    }

    #[test]
    fn a_whole_head_has_its_repeated_fields_merged() {
        let buf = b"GET /a%20b HTTP/1.1\r\nHost: x\r\nA: 1\r\nhost: y\r\n\r\n";
        let super::super::head::Parsed::Complete(h, _) =
            super::super::head::parse_head(buf, &lim())
        else {
            panic!()
        };
        let r = Refused::from_head(&h, false);
        assert_eq!(r.head.header("HOST"), Some(&b"x, y"[..]));
        assert_eq!(r.head.fields.len(), 2);
        assert_eq!(s(&r.path), Some("/a%20b"));
        assert_eq!(r.hostname, None);
    }

    #[test]
    fn unread_lines() {
        let r = refused(&[b'a'; 300], &lim(), false);
        assert_eq!(r.line.as_ref().map(Vec::len), Some(101));
        assert!(r.method.is_none() && r.path.is_none());
        let r = refused(b"GET / HTTP/1.1\nHost: x\n\n", &lim(), false);
        assert_eq!(s(&r.line), Some("GET / HTTP/1.1\n"));
        let r = refused(b"GET / HT", &lim(), false);
        assert!(r.line.is_none());
        assert_eq!(r.protocol, b"HTTP/1.0");
    }

    #[test]
    fn fields_stored_before_the_error() {
        let names = |r: &Refused| -> Vec<String> {
            r.head
                .fields
                .iter()
                .map(|f| String::from_utf8_lossy(r.head.name(f)).into_owned())
                .collect()
        };
        // A malformed line: the fields before it are stored.
        let r = refused(
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Line\r\nUA: u\r\n\r\n",
            &lim(),
            false,
        );
        assert_eq!(names(&r), ["Host"]);
        // A line that cannot be read (too long): the field before it is lost too.
        let mut v = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        v.resize(v.len() + 200, b'a');
        v.extend_from_slice(b"\r\n\r\n");
        assert_eq!(names(&refused(&v, &lim(), false)), Vec::<String>::new());
        // Cut off: the last complete line is not stored yet.
        let r = refused(b"GET / HTTP/1.1\r\nHost: x\r\nUA: u\r\n", &lim(), false);
        assert_eq!(names(&r), ["Host"]);
        // Too many: the limit's worth.
        let r = refused(
            b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
            &lim(),
            false,
        );
        assert_eq!(names(&r), ["A", "B", "C"]);
        // A bad request line: none.
        let r = refused(b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", &lim(), false);
        assert!(r.head.fields.is_empty());
        assert_eq!(s(&r.method), Some("G@T"));
    }

    #[test]
    fn read_stops_where_httpd_stopped() {
        // A bad request line: that line only.
        assert_eq!(refused(b"GARBAGE\r\n\r\n", &lim(), false).read, 9);
        // A bad field is seen once the next line is read.
        let buf = b"GET / HTTP/1.1\r\nBad\r\nX: y\r\n\r\n";
        assert_eq!(refused(buf, &lim(), false).read, buf.len() - 2);
        // A NUL ends the read at its own line.
        let buf = b"GET / HTTP/1.1\r\nX: a\x00b\r\nY: z\r\n\r\n";
        assert_eq!(refused(buf, &lim(), false).read, 16 + 8);
        // Cut off: everything.
        assert_eq!(refused(b"GET /ab", &lim(), false).read, 7);
    }
}
