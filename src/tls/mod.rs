//! TLS with rustls: which addresses speak TLS, the per-vhost rustls configurations (built by
//! `prepare` in the parent at config load, so keys are read before privileges drop and
//! children inherit them by fork), the choice of vhost by SNI, and the `TlsSession` a
//! connection reads and writes through.
//!
//! The vhost is chosen from the ClientHello with rustls' `Acceptor` (not a `ResolvesServerCert`)
//! so that each name-based vhost brings its own certificate, ALPN list (`Protocols`),
//! `SSLProtocol` and `SSLCipherSuite`, as with httpd's SNI switch. A client without SNI, or
//! naming no vhost of the address, gets the address' first SSL vhost (httpd's default).

pub mod ciphers;
mod setup;
mod stream;
pub mod vars;

pub use setup::{prepare, Site, TlsError, TlsPort, TlsSetup};
pub use stream::{handshake, HandshakeError, TlsSession};
pub use vars::ConnSsl;
