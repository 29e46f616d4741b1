//! The PROXY protocol header (HAProxy's, versions 1 and 2) that mod_remoteip reads at the start
//! of a connection, sans-IO: `parse` looks at the bytes received so far and says whether the
//! header is complete, how long it is, and which client it names.
//!
//! It reads the bytes as httpd's input filter does, quirks included, so that a header httpd
//! refuses is refused here too: the first 15 bytes decide the version; a v1 header is then
//! taken line by line (to LF) and ends at the first CR LF, at most 108 bytes, and a line read
//! past that CR LF is an error (so `PROXY UNKNOWN\r\n`, exactly 15 bytes, fails when anything
//! follows it); a v2 header is at most 232 bytes (16 + 216 of addresses and TLVs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
pub const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Bytes read before the version is decided (httpd's `MIN_HDR_LEN`).
const MIN_HDR: usize = 15;
/// A v1 header's largest size, CR LF included.
const V1_MAX: usize = 108;
/// A v2 header's fixed part.
const V2_HEAD: usize = 16;
/// A v2 header's largest size (httpd's `sizeof(proxy_v2)`).
pub const V2_MAX: usize = V2_HEAD + 216;
/// The most bytes `parse` ever needs to see to decide.
pub const MAX_LOOK: usize = V2_MAX;

/// What the header says about the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `TCP4`/`TCP6` (v1) or the PROXY command over TCP (v2): the client's address and port.
    Addr(SocketAddr),
    /// `UNKNOWN` (v1) or the LOCAL command (v2): the connection's own peer stays the client.
    Peer,
}

/// What `parse` made of the bytes so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// Not complete: every byte seen belongs to the header; more are needed.
    NeedMore,
    /// A whole header of `len` bytes; what follows it is the client's own data.
    Done { len: usize, client: Client },
    /// Not a header mod_remoteip accepts: close the connection.
    Error(ProxyError),
}

/// Why a header was refused, in httpd's words (the `Display` text is its log message).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Neither signature: httpd closes without logging anything.
    #[error("no PROXY header")]
    NotProxy,
    #[error("AH10185: RemoteIPProxyProtocol header too long, got {got} expected {want}")]
    TooLong { got: usize, want: usize },
    #[error("AH03513: RemoteIPProxyProtocol: internal error: have data left over;  need={need}, rcvd={rcvd}, brigade-empty=1")]
    LeftOver { need: usize, rcvd: usize },
    #[error("AH03497: RemoteIPProxyProtocol: no {field} found in header '{line}'")]
    Missing { field: &'static str, line: String },
    #[error("AH03499: RemoteIPProxyProtocol: unknown family '{family}' in header '{line}'")]
    Family { family: String, line: String },
    #[error(
        "AH03500: RemoteIPProxyProtocol: invalid client-address '{addr}' found in header '{line}'"
    )]
    AddrChars { addr: String, line: String },
    #[error("AH03501: RemoteIPProxyProtocol: error parsing port '{port}' in header '{line}'")]
    Port { port: String, line: String },
    #[error("AH03502: RemoteIPProxyProtocol: error converting family '{family}', host '{host}', and port '{port}' to sockaddr; header was '{line}'")]
    Addr {
        eai: &'static str,
        family: u8,
        host: String,
        port: u16,
        line: String,
    },
    #[error("AH10186: RemoteIPProxyProtocol protocol header length too long")]
    V2TooLong,
    #[error("AH{tag}: RemoteIPProxyProtocol: address length {len} too short for {fam}")]
    V2Short {
        tag: &'static str,
        len: usize,
        fam: &'static str,
    },
    #[error("AH10183: RemoteIPProxyProtocol: unsupported protocol {0:02x}")]
    V2Protocol(u8),
    #[error("AH03507: RemoteIPProxyProtocol: unsupported command {0:02x}")]
    V2Command(u8),
}

impl ProxyError {
    /// httpd logs every refusal at `error` except a missing signature, which it does not log.
    pub fn logged(&self) -> bool {
        !matches!(self, ProxyError::NotProxy)
    }

    /// The resolver's error httpd puts before the message (`(EAI 2)Name or service not known`).
    pub fn os_error(&self) -> Option<&'static str> {
        match self {
            ProxyError::Addr { eai, .. } => Some(eai),
            _ => None,
        }
    }
}

/// Looks at the first bytes of a connection (everything received so far, or at least the
/// first `MAX_LOOK` of it).
pub fn parse(b: &[u8]) -> Parse {
    if b.len() < MIN_HDR {
        return Parse::NeedMore;
    }
    if &b[..12] == V2_SIG && b[12] & 0xF0 == 0x20 {
        parse_v2(b)
    } else if b.starts_with(b"PROXY ") {
        parse_v1(b)
    } else {
        Parse::Error(ProxyError::NotProxy)
    }
}

fn parse_v1(b: &[u8]) -> Parse {
    // After the first 15 bytes httpd reads a line at a time, each at most what is left of
    // the 108, and looks for the header's end after each line.
    let mut rcvd = MIN_HDR;
    loop {
        let want = V1_MAX - rcvd;
        match memchr::memchr(b'\n', &b[rcvd..]) {
            Some(i) if i + 1 > want => {
                return Parse::Error(ProxyError::TooLong { got: i + 1, want });
            }
            Some(i) => rcvd += i + 1,
            None if b.len() - rcvd > want => {
                return Parse::Error(ProxyError::TooLong {
                    got: b.len() - rcvd,
                    want,
                });
            }
            None => return Parse::NeedMore,
        }
        // The first CR decides: followed by LF it ends the header, else more is read.
        if let Some(end) = memchr::memchr(b'\r', &b[..rcvd - 1]) {
            if b[end + 1] == b'\n' {
                let len = end + 2;
                if rcvd > len {
                    return Parse::Error(ProxyError::LeftOver { need: len, rcvd });
                }
                return match v1_line(&b[..end]) {
                    Ok(client) => Parse::Done { len, client },
                    Err(e) => Parse::Error(e),
                };
            }
        }
    }
}

/// `PROXY {TCP4|TCP6|UNKNOWN} <client> <dest> <client-port> <dest-port>`, split on runs of
/// spaces like strtok (a NUL ends the line, as in C); only the first four words after
/// `PROXY` are looked at.
fn v1_line(raw: &[u8]) -> Result<Client, ProxyError> {
    let raw = &raw[..memchr::memchr(0, raw).unwrap_or(raw.len())];
    let line = String::from_utf8_lossy(raw).into_owned();
    let mut words = line.split(' ').filter(|w| !w.is_empty()).skip(1);
    let mut next = |field: &'static str| {
        words.next().ok_or_else(|| ProxyError::Missing {
            field,
            line: line.clone(),
        })
    };
    let family = next("family")?;
    let (v6, chars): (bool, &[u8]) = match family {
        "UNKNOWN" => return Ok(Client::Peer),
        "TCP4" => (false, b"0123456789."),
        "TCP6" => (true, b"0123456789abcdefABCDEF:."),
        _ => {
            return Err(ProxyError::Family {
                family: family.to_string(),
                line: line.clone(),
            })
        }
    };
    let host = next("client-address")?;
    if !host.bytes().all(|c| chars.contains(&c)) {
        return Err(ProxyError::AddrChars {
            addr: host.to_string(),
            line: line.clone(),
        });
    }
    next("destination-address")?;
    let port_word = next("client-port")?;
    let Some(port) = scan_u16(port_word) else {
        return Err(ProxyError::Port {
            port: port_word.to_string(),
            line: line.clone(),
        });
    };
    let ip = if v6 {
        host.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        inet_aton(host).map(IpAddr::V4)
    };
    match ip {
        Some(ip) => Ok(Client::Addr(SocketAddr::new(ip, port))),
        None => Err(ProxyError::Addr {
            // What getaddrinfo(3) says: an IPv4 address asked for as IPv6 is the wrong
            // family; anything else is no name at all.
            eai: if v6 && inet_aton(host).is_some() {
                "(EAI 9)Address family for hostname not supported"
            } else {
                "(EAI 2)Name or service not known"
            },
            family: if v6 { 10 } else { 2 },
            host: host.to_string(),
            port,
            line: line.clone(),
        }),
    }
}

/// `sscanf("%hu")`: optional blanks and sign, then decimal digits (what follows them is
/// ignored); the value wraps to 16 bits as C's conversion does.
fn scan_u16(w: &str) -> Option<u16> {
    let w = w.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, w) = match w.as_bytes().first() {
        Some(b'-') => (true, &w[1..]),
        Some(b'+') => (false, &w[1..]),
        _ => (false, w),
    };
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    // strtoul saturates at ULONG_MAX; the negation is unsigned.
    let mut v: u64 = 0;
    for d in w[..digits].bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX);
    }
    if neg {
        v = v.wrapping_neg();
    }
    Some(v as u16)
}

/// An IPv4 address in inet_aton(3)'s forms, as getaddrinfo(3) reads a numeric host: one to
/// four parts, each decimal or octal (a leading 0), the last one filling the remaining bytes.
/// (Hex needs an `x`, which the v1 address check has already refused.)
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut vals = [0u64; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() {
            return None;
        }
        let (digits, radix) = match p.strip_prefix('0') {
            Some(rest) if !rest.is_empty() => (rest, 8),
            _ => (*p, 10),
        };
        vals[i] = u64::from_str_radix(digits, radix).ok()?;
    }
    let n = parts.len();
    let mut addr: u64 = 0;
    for v in &vals[..n - 1] {
        if *v > 255 {
            return None;
        }
        addr = addr << 8 | v;
    }
    let rest_bits = 8 * (4 - (n - 1)) as u32;
    let last = vals[n - 1];
    if last >= 1u64 << rest_bits {
        return None;
    }
    addr = addr << rest_bits | last;
    Some(Ipv4Addr::from(addr as u32))
}

fn parse_v2(b: &[u8]) -> Parse {
    if b.len() < V2_HEAD {
        return Parse::NeedMore;
    }
    let addr_len = usize::from(u16::from_be_bytes([b[14], b[15]]));
    let need = V2_HEAD + addr_len;
    if need > V2_MAX {
        return Parse::Error(ProxyError::V2TooLong);
    }
    if b.len() < need {
        return Parse::NeedMore;
    }
    let a = &b[V2_HEAD..need];
    let client = match b[12] & 0x0F {
        // LOCAL: a health check from the proxy itself; the connection's address stays.
        0x0 => Client::Peer,
        0x1 => match b[13] {
            0x11 => {
                if addr_len < 12 {
                    return Parse::Error(ProxyError::V2Short {
                        tag: "10597",
                        len: addr_len,
                        fam: "TCPv4",
                    });
                }
                let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
                Client::Addr(SocketAddr::new(ip.into(), u16::from_be_bytes([a[8], a[9]])))
            }
            0x21 => {
                if addr_len < 36 {
                    return Parse::Error(ProxyError::V2Short {
                        tag: "10598",
                        len: addr_len,
                        fam: "TCPv6",
                    });
                }
                let mut o = [0u8; 16];
                o.copy_from_slice(&a[..16]);
                Client::Addr(SocketAddr::new(
                    Ipv6Addr::from(o).into(),
                    u16::from_be_bytes([a[32], a[33]]),
                ))
            }
            fam => return Parse::Error(ProxyError::V2Protocol(fam)),
        },
        _ => return Parse::Error(ProxyError::V2Command(b[12])),
    };
    // Whatever follows the addresses (TLVs) is skipped.
    Parse::Done { len: need, client }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(cmd: u8, fam: u8, addrs: &[u8], tlv: &[u8]) -> Vec<u8> {
        let mut h = V2_SIG.to_vec();
        h.push(0x20 | cmd);
        h.push(fam);
        h.extend_from_slice(&((addrs.len() + tlv.len()) as u16).to_be_bytes());
        h.extend_from_slice(addrs);
        h.extend_from_slice(tlv);
        h
    }

    fn tcp4() -> Vec<u8> {
        let mut a = vec![203, 0, 113, 9, 127, 0, 0, 1];
        a.extend_from_slice(&4444u16.to_be_bytes());
        a.extend_from_slice(&80u16.to_be_bytes());
        a
    }

    fn addr(s: &str) -> Client {
        Client::Addr(s.parse().unwrap())
    }

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// Every prefix of `whole` needs more; the whole (with `REQ` after it) is `want`, and the
    /// header's length leaves `REQ` untouched.
    fn every_split(header: &[u8], want: Client) {
        for cut in 0..header.len() {
            assert_eq!(parse(&header[..cut]), Parse::NeedMore, "cut at {cut}");
        }
        let mut all = header.to_vec();
        all.extend_from_slice(REQ);
        for extra in [0, 1, REQ.len()] {
            let b = &all[..header.len() + extra];
            assert_eq!(
                parse(b),
                Parse::Done {
                    len: header.len(),
                    client: want
                },
                "{extra} bytes after"
            );
        }
    }

    #[test]
    fn v1_headers_at_every_split() {
        every_split(
            b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 80\r\n",
            addr("203.0.113.9:4444"),
        );
        every_split(
            b"PROXY TCP6 2001:db8::5 ::1 4444 443\r\n",
            addr("[2001:db8::5]:4444"),
        );
        every_split(
            b"PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n",
            addr("[::ffff:192.0.2.1]:1"),
        );
        every_split(b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", Client::Peer);
    }

    #[test]
    fn v2_headers_at_every_split() {
        every_split(&v2(1, 0x11, &tcp4(), &[]), addr("203.0.113.9:4444"));
        let mut a6 = "2001:db8::7".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        a6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        a6.extend_from_slice(&[0x11, 0x5c, 0, 80]);
        every_split(&v2(1, 0x21, &a6, &[]), addr("[2001:db8::7]:4444"));
        // TLVs are skipped, up to the 216 bytes httpd has room for.
        every_split(
            &v2(1, 0x11, &tcp4(), b"\x04\x00\x05hello"),
            addr("203.0.113.9:4444"),
        );
        let fill = vec![b'a'; 216 - 12 - 3];
        let mut tlv = vec![4, 0, fill.len() as u8];
        tlv.extend_from_slice(&fill);
        every_split(&v2(1, 0x11, &tcp4(), &tlv), addr("203.0.113.9:4444"));
        every_split(&v2(0, 0x00, &[], &[]), Client::Peer);
        every_split(&v2(0, 0x11, &tcp4(), &[]), Client::Peer);
    }

    fn err(b: &[u8]) -> String {
        match parse(b) {
            Parse::Error(e) => e.to_string(),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
        }
    }

    #[test]
    fn refusals_in_httpds_words() {
        assert_eq!(err(b"GET /i.html HTTP/1.1\r\n"), "no PROXY header");
        assert_eq!(
            err(b"PROXY TCP5 203.0.113.9 127.0.0.1 4444 80\r\nGET"),
            "AH03499: RemoteIPProxyProtocol: unknown family 'TCP5' in header 'PROXY TCP5 203.0.113.9 127.0.0.1 4444 80'"
        );
        assert_eq!(
            err(b"PROXY TCP4 203.0.113.x 127.0.0.1 4444 80\r\n"),
            "AH03500: RemoteIPProxyProtocol: invalid client-address '203.0.113.x' found in header 'PROXY TCP4 203.0.113.x 127.0.0.1 4444 80'"
        );
        assert_eq!(
            err(b"PROXY TCP4 203.0.113.999 127.0.0.1 4444 80\r\n"),
            "AH03502: RemoteIPProxyProtocol: error converting family '2', host '203.0.113.999', and port '4444' to sockaddr; header was 'PROXY TCP4 203.0.113.999 127.0.0.1 4444 80'"
        );
        match parse(b"PROXY TCP6 1.2.3.4 127.0.0.1 4444 80\r\n") {
            Parse::Error(e) => assert_eq!(
                e.os_error(),
                Some("(EAI 9)Address family for hostname not supported")
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err(b"PROXY TCP4 203.0.113.9 127.0.0.1 x 80\r\n"),
            "AH03501: RemoteIPProxyProtocol: error parsing port 'x' in header 'PROXY TCP4 203.0.113.9 127.0.0.1 x 80'"
        );
        assert_eq!(
            err(b"PROXY TCP4 203.0.113.9\r\n"),
            "AH03497: RemoteIPProxyProtocol: no destination-address found in header 'PROXY TCP4 203.0.113.9'"
        );
        let long = [
            &b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 80"[..],
            &[b' '; 100],
            b"\r\n",
        ]
        .concat();
        assert_eq!(
            err(&long),
            "AH10185: RemoteIPProxyProtocol header too long, got 127 expected 93"
        );
        // Exactly 15 bytes: httpd has read the next line before it sees the header's end.
        assert_eq!(
            err(b"PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n"),
            "AH03513: RemoteIPProxyProtocol: internal error: have data left over;  need=15, rcvd=31, brigade-empty=1"
        );
        assert_eq!(
            err(&v2(1, 0x00, &[], &[])),
            "AH10183: RemoteIPProxyProtocol: unsupported protocol 00"
        );
        assert_eq!(
            err(&v2(1, 0x12, &tcp4(), &[])),
            "AH10183: RemoteIPProxyProtocol: unsupported protocol 12"
        );
        assert_eq!(
            err(&v2(2, 0x11, &tcp4(), &[])),
            "AH03507: RemoteIPProxyProtocol: unsupported command 22"
        );
        assert_eq!(
            err(&v2(1, 0x11, &tcp4()[..4], &[])),
            "AH10597: RemoteIPProxyProtocol: address length 4 too short for TCPv4"
        );
        assert_eq!(
            err(&v2(1, 0x21, &tcp4(), &[])),
            "AH10598: RemoteIPProxyProtocol: address length 12 too short for TCPv6"
        );
        let mut big = v2(1, 0x11, &tcp4(), &[]);
        big[14..16].copy_from_slice(&217u16.to_be_bytes());
        assert_eq!(
            err(&big[..16]),
            "AH10186: RemoteIPProxyProtocol protocol header length too long"
        );
        assert!(!ProxyError::NotProxy.logged());
    }

    #[test]
    fn v1_quirks_as_httpd() {
        // A port wraps to 16 bits; a missing destination port is not looked for.
        assert_eq!(
            parse(b"PROXY TCP4 203.0.113.9 127.0.0.1 70000 80\r\n"),
            Parse::Done {
                len: 43,
                client: addr("203.0.113.9:4464")
            }
        );
        let h = b"PROXY TCP4 203.0.113.9 127.0.0.1 4444\r\n";
        assert_eq!(
            parse(h),
            Parse::Done {
                len: h.len(),
                client: addr("203.0.113.9:4444")
            }
        );
        // A bare LF does not end it: the next line is read into the header.
        let lf = b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 80\nGET / HTTP/1.1\r\nHost: x\r\n";
        assert_eq!(
            parse(lf),
            Parse::Done {
                len: lf.len() - 9,
                client: addr("203.0.113.9:4444")
            }
        );
        // inet_aton's short and octal forms.
        assert_eq!(
            parse(b"PROXY TCP4 010.1 127.0.0.1 1 80\r\n"),
            Parse::Done {
                len: 33,
                client: addr("8.0.0.1:1")
            }
        );
        assert_eq!(scan_u16("-1"), Some(65535));
        assert_eq!(scan_u16("12ab"), Some(12));
        assert_eq!(scan_u16("99999999999999999999999"), Some(65535));
        assert_eq!(scan_u16("+"), None);
        // Not yet decided below 15 bytes, whatever they are.
        assert_eq!(parse(b"GET / HTTP/1.1"), Parse::NeedMore);
    }
}
