//! HTTP/1.x the way Apache httpd 2.4 reads and answers it: the request head with the
//! `HttpProtocolOptions Strict` rules (`head`), body framing and the chunked decoder (`body`),
//! and the response head, reason phrases and canned error pages (`response`).

pub mod body;
pub mod head;
pub mod refused;
pub mod response;

pub use body::{BodyFraming, ChunkedDecoder, ChunkedError};
pub use head::{parse_head, Head, HeadError, Limits, Parsed};
pub use refused::Refused;
