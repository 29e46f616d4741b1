//! Request body framing (Content-Length vs Transfer-Encoding, as httpd's `ap_read_request`
//! decides it) and a sans-IO chunked decoder.

use super::head::{trim, Head};

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
}

/// Decides the framing; `Err(400)` for what httpd refuses. The bool is true when the
/// connection must close after the response (Content-Length together with chunked).
pub fn framing(head: &Head) -> Result<(BodyFraming, bool), u16> {
    let mut te_seen = false;
    let mut last_coding: &[u8] = b"";
    for v in head.headers("Transfer-Encoding") {
        te_seen = true;
        for c in v.split(|&b| b == b',') {
            let c = trim(c);
            if !c.is_empty() {
                last_coding = c;
            }
        }
    }
    let cl_count = head.count("Content-Length");
    if te_seen {
        if !last_coding.eq_ignore_ascii_case(b"chunked") {
            return Err(400);
        }
        return Ok((BodyFraming::Chunked, cl_count > 0));
    }
    match cl_count {
        0 => Ok((BodyFraming::None, false)),
        // Repeated fields merge into "5, 5", which is not a valid length.
        1 => {
            let v = head.header("Content-Length").unwrap_or_default();
            parse_length(v).map(|n| {
                (
                    if n == 0 {
                        BodyFraming::None
                    } else {
                        BodyFraming::Length(n)
                    },
                    false,
                )
            })
        }
        _ => Err(400),
    }
}

/// Digits only, no sign, fits in i64 (httpd's `ap_parse_strict_length`).
fn parse_length(v: &[u8]) -> Result<u64, u16> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return Err(400);
    }
    Ok(v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    #[error("invalid chunk size line")]
    BadSize,
    #[error("chunk size too large")]
    TooLarge,
    #[error("missing CRLF after chunk data")]
    BadDelimiter,
    #[error("chunk trailer line too long")]
    TrailerTooLong,
}

impl ChunkedError {
    /// The status httpd answers with.
    pub fn status(self) -> u16 {
        match self {
            ChunkedError::TooLarge => 413,
            _ => 400,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataCr,
    DataLf,
    Trailer,
    Done,
}

/// Decodes `Transfer-Encoding: chunked`. Feed it bytes; it says how many it used and which
/// part of them is body data. Strict CRLF everywhere (a bare LF is a 400, as in httpd).
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// The size or trailer line collected so far (they may be split over reads).
    line: Vec<u8>,
    pub total: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// What one `feed` produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    /// Bytes of input used.
    pub used: usize,
    /// A range of the input that is body data (may be empty).
    pub data: std::ops::Range<usize>,
}

const MAX_LINE: usize = 8192;

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            line: Vec::new(),
            total: 0,
        }
    }
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`; returns after at most one data run so the caller can consume it.
    pub fn feed(&mut self, input: &[u8]) -> Result<Step, ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Size | State::Trailer => {
                    let b = input[i];
                    i += 1;
                    if b == b'\n' {
                        if self.line.last() != Some(&b'\r') {
                            return Err(ChunkedError::BadSize);
                        }
                        self.line.pop();
                        let line = std::mem::take(&mut self.line);
                        if self.state == State::Size {
                            let n = parse_chunk_size(&line)?;
                            self.state = if n == 0 {
                                State::Trailer
                            } else {
                                State::Data(n)
                            };
                        } else if line.is_empty() {
                            self.state = State::Done;
                        }
                        self.line = line;
                        self.line.clear();
                    } else {
                        if self.line.len() >= MAX_LINE {
                            return Err(if self.state == State::Size {
                                ChunkedError::BadSize
                            } else {
                                ChunkedError::TrailerTooLong
                            });
                        }
                        self.line.push(b);
                    }
                }
                State::Data(left) => {
                    let n = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    let start = i;
                    i += n;
                    self.total += n as u64;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                    return Ok(Step {
                        used: i,
                        data: start..i,
                    });
                }
                State::DataCr => {
                    if input[i] != b'\r' {
                        return Err(ChunkedError::BadDelimiter);
                    }
                    i += 1;
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if input[i] != b'\n' {
                        return Err(ChunkedError::BadDelimiter);
                    }
                    i += 1;
                    self.state = State::Size;
                }
            }
        }
        Ok(Step {
            used: i,
            data: i..i,
        })
    }
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let digits = trim(&line[..end]);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkedError::BadSize);
    }
    let digits = {
        let z = digits
            .iter()
            .position(|&b| b != b'0')
            .unwrap_or(digits.len());
        &digits[z..]
    };
    // httpd refuses sizes that do not fit in a signed 64-bit offset with 413.
    if digits.len() > 16 || (digits.len() == 16 && digits[0] > b'7') {
        return Err(ChunkedError::TooLarge);
    }
    Ok(digits.iter().fold(0u64, |n, &d| {
        n * 16 + u64::from((d as char).to_digit(16).unwrap_or(0))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h1::head::{parse_head, Limits, Parsed};

    fn decode_all(input: &[u8], chunk: usize) -> Result<(Vec<u8>, usize), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < input.len() && !d.is_done() {
            let end = (pos + chunk).min(input.len());
            let step = d.feed(&input[pos..end])?;
            out.extend_from_slice(&input[pos..end][step.data.clone()]);
            pos += step.used;
        }
        Ok((out, pos))
    }

    #[test]
    fn decodes_at_every_split() {
        let body = b"6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for chunk in 1..body.len() {
            let (out, used) = decode_all(body, chunk).unwrap();
            assert_eq!(out, b"hello world", "chunk {chunk}");
            assert_eq!(used, body.len() - 4);
        }
    }

    #[test]
    fn refuses_bad_chunks() {
        assert_eq!(
            decode_all(b"-5\r\nhello\r\n0\r\n\r\n", 64)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            decode_all(b"fffffffffffffffffffff\r\nhello\r\n", 64)
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            decode_all(b"5\r\nhelloXX0\r\n\r\n", 64)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            decode_all(b"5\nhello\n0\n\n", 64).unwrap_err().status(),
            400
        );
        assert_eq!(decode_all(b"\r\n", 64).unwrap_err().status(), 400);
    }

    fn head(s: &[u8]) -> Head {
        match parse_head(s, &Limits::default()) {
            Parsed::Complete(h, _) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn framing_rules() {
        let f = |s: &[u8]| framing(&head(s));
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Ok((BodyFraming::Length(5), false))
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
            Ok((BodyFraming::Chunked, true))
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Ok((BodyFraming::Chunked, false))
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Ok((BodyFraming::Chunked, false))
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            f(b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"),
            Err(400)
        );
    }
}
