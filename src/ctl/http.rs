//! A tiny HTTP/1.1 client for `mpmctl status`: one GET on a plain `http://` URL, bounded in
//! time and size, so the control tool needs no web browser installed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use thiserror::Error;

/// The most of a status page we read.
const MAX_BODY: usize = 16 << 20;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("unsupported URL {0} (only http://host[:port]/path)")]
    Url(String),
    #[error("could not resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("could not connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("could not read the response from {addr}: {source}")]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error("bad response from {addr}: {detail}")]
    Response { addr: String, detail: String },
    #[error("{url} answered {status} {reason}")]
    Status {
        url: String,
        status: u16,
        reason: String,
    },
}

/// The parts of an `http://` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn parse_url(url: &str) -> Result<Url, FetchError> {
    let bad = || FetchError::Url(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => 80,
            None => return Err(bad()),
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
            None => (authority.to_owned(), 80),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Url { host, port, path })
}

/// GETs `url` and returns the body of a 2xx answer. Every address the host resolves to is
/// tried in turn; the whole exchange is bounded by `timeout`.
pub fn get(url: &str, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let u = parse_url(url)?;
    let addrs: Vec<_> = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|source| FetchError::Resolve {
            host: u.host.clone(),
            source,
        })?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                stream = Some((s, addr.to_string()));
                break;
            }
            Err(e) => last = Some((addr.to_string(), e)),
        }
    }
    let (mut s, addr) = match (stream, last) {
        (Some(s), _) => s,
        (None, Some((addr, source))) => return Err(FetchError::Connect { addr, source }),
        (None, None) => {
            return Err(FetchError::Resolve {
                host: u.host.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            })
        }
    };
    let io = |source| FetchError::Io {
        addr: addr.clone(),
        source,
    };
    let deadline = Instant::now() + timeout;
    let host = if u.host.contains(':') {
        format!("[{}]", u.host)
    } else {
        u.host.clone()
    };
    let host_header = if u.port == 80 {
        host
    } else {
        format!("{host}:{}", u.port)
    };
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: mpmctl/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        u.path,
        env!("CARGO_PKG_VERSION")
    );
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            )));
        }
        s.set_read_timeout(Some(left)).map_err(io)?;
        let n = s.read(&mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_BODY {
            return Err(FetchError::Response {
                addr,
                detail: "response too large".into(),
            });
        }
        // Stop as soon as a complete response is in, even if the server keeps the line open.
        if let Ok(Some(_)) = decode(&buf, false) {
            break;
        }
    }
    match decode(&buf, true) {
        Ok(Some((status, reason, body))) => {
            if (200..300).contains(&status) {
                Ok(body)
            } else {
                Err(FetchError::Status {
                    url: url.to_owned(),
                    status,
                    reason,
                })
            }
        }
        Ok(None) => Err(FetchError::Response {
            addr,
            detail: "connection closed before the response was complete".into(),
        }),
        Err(detail) => Err(FetchError::Response { addr, detail }),
    }
}

/// Parses a whole response in `buf`: Ok(None) while incomplete. With `eof`, a body without
/// length runs to the end of the data.
fn decode(buf: &[u8], eof: bool) -> Result<Option<(u16, String, Vec<u8>)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("malformed response head: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let reason = resp.reason.unwrap_or("").to_owned();
    let mut length = None;
    let mut chunked = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or("bad Content-Length")?;
            length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked");
        }
    }
    let body = &buf[head_len..];
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Some((status, reason, Vec::new())));
    }
    if chunked {
        return Ok(dechunk(body)?.map(|b| (status, reason, b)));
    }
    match length {
        Some(n) if body.len() >= n => Ok(Some((status, reason, body[..n].to_vec()))),
        Some(_) => Ok(None),
        None if eof => Ok(Some((status, reason, body.to_vec()))),
        None => Ok(None),
    }
}

/// Decodes a chunked body; Ok(None) while incomplete.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[..eol]).map_err(|_| "bad chunk size")?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| "bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://localhost:80/server-status").unwrap(),
            Url {
                host: "localhost".into(),
                port: 80,
                path: "/server-status".into()
            }
        );
        assert_eq!(parse_url("http://[::1]:8080").unwrap().host, "::1");
        assert_eq!(parse_url("http://h?auto").unwrap().path, "/?auto");
        assert!(parse_url("https://h/").is_err());
        assert!(parse_url("http://h:x/").is_err());
        assert!(parse_url("http:///x").is_err());
    }

    #[test]
    fn responses_with_length_chunks_or_close() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(decode(r, false).unwrap().unwrap().2, b"abc");
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab";
        assert!(decode(r, false).unwrap().is_none());
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(decode(r, false).unwrap().unwrap().2, b"abcde");
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab";
        assert!(decode(r, true).unwrap().is_none());
        let r = b"HTTP/1.0 404 Not Found\r\n\r\nnope";
        assert!(decode(r, false).unwrap().is_none());
        let (code, reason, body) = decode(r, true).unwrap().unwrap();
        assert_eq!(
            (code, reason.as_str(), &body[..]),
            (404, "Not Found", &b"nope"[..])
        );
        assert!(decode(b"garbage\r\n\r\n", true).is_err());
        assert!(decode(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            true
        )
        .is_err());
    }
}
