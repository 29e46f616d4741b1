//! The TLS session of a connection (rustls over the connection's std socket) and the server
//! handshake that picks the vhost from the ClientHello.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustls::server::Acceptor;
use rustls::ServerConnection;

use super::TlsPort;

/// The TLS state of a connection. The socket stays in `Connection::stream` (engines poll,
/// park and close it as for plain HTTP); every read and write of the driver goes through
/// the session with that socket.
#[derive(Debug)]
pub struct TlsSession {
    pub conn: ServerConnection,
    /// The vhost SNI chose (`None` = the main server).
    pub vhost: Option<usize>,
    /// What mod_ssl's variables say of this connection.
    pub ssl: super::ConnSsl,
    /// Bytes read from the socket, the handshake's included: over TLS httpd's mod_logio
    /// counts these (`%I`), not the plaintext.
    pub received: u64,
    /// `received` when the last request was logged (see `take_received`).
    pub logged: u64,
}

/// The socket, counting the bytes read through it.
struct Counting<'a> {
    tcp: &'a TcpStream,
    read: &'a mut u64,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        *self.read += n as u64;
        Ok(n)
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl TlsSession {
    /// The ALPN protocol agreed on (`h2`, `http/1.1`), if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The name the client sent with SNI.
    pub fn sni(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// True when rustls holds decrypted bytes not read yet (or whole records it has not
    /// decrypted yet): the socket may never become readable again for them, so a connection
    /// in this state must not be parked on the poller.
    pub fn has_buffered_plaintext(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .map(|s| s.plaintext_bytes_to_read() > 0)
            .unwrap_or(false)
    }

    /// Reads plaintext; blocks (or returns `WouldBlock`) like the socket. A peer that closes
    /// without close_notify ends the stream like an EOF.
    pub fn read(&mut self, tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        let mut sock = Counting {
            tcp,
            read: &mut self.received,
        };
        match rustls::Stream::new(&mut self.conn, &mut sock).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }

    /// Writes plaintext and sends the records it made.
    pub fn write(&mut self, tcp: &TcpStream, buf: &[u8]) -> io::Result<usize> {
        let mut sock = tcp;
        rustls::Stream::new(&mut self.conn, &mut sock).write(buf)
    }

    /// Sends records still queued (a write interrupted by `WouldBlock`).
    pub fn flush(&mut self, tcp: &TcpStream) -> io::Result<()> {
        let mut sock = tcp;
        while self.conn.wants_write() {
            self.conn.write_tls(&mut sock)?;
        }
        Ok(())
    }

    /// The bytes read from the socket since the last call (or the handshake began): a
    /// request's `%I` over TLS, as httpd counts it below mod_ssl.
    pub fn take_received(&mut self) -> u64 {
        let n = self.received - self.logged;
        self.logged = self.received;
        n
    }

    /// Sends close_notify (best effort; the socket is closing anyway).
    pub fn close_notify(&mut self, tcp: &TcpStream) {
        self.conn.send_close_notify();
        let _ = self.flush(tcp);
    }
}

/// Why a TLS handshake did not complete. All are the client's doing or the network's: the
/// driver logs them at debug level and closes.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("tls handshake: {0}")]
    Io(#[from] io::Error),
    #[error("tls handshake: {0}")]
    Tls(#[from] rustls::Error),
    #[error("tls handshake: timed out")]
    Timeout,
    #[error("tls handshake: plain HTTP on a TLS port")]
    PlainHttp,
    #[error("tls handshake: no SNI and SSLStrictSNIVHostCheck is on")]
    NoSni,
}

/// httpd's answer to plain HTTP sent to a TLS port.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/html; charset=iso-8859-1\r\nConnection: close\r\n\r\n\
<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n\
<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n\
<p>Your browser sent a request that this server could not understand.<br />\n\
Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n \
Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n</body></html>\n";

/// The server side of the handshake on a blocking socket: reads the ClientHello, picks the
/// vhost (SNI), finishes the handshake within `timeout` overall.
pub fn handshake(
    tcp: &TcpStream,
    port: &TlsPort,
    timeout: Duration,
) -> Result<TlsSession, HandshakeError> {
    let deadline = Instant::now() + timeout;
    let mut tcp = tcp;
    let local = tcp.local_addr()?;
    let arm = |tcp: &TcpStream| -> Result<(), HandshakeError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::Timeout);
        }
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        Ok(())
    };
    arm(tcp)?;
    let mut first = [0u8; 1];
    if tcp.peek(&mut first)? == 0 {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    if first[0].is_ascii_uppercase() {
        let _ = tcp.write_all(PLAIN_HTTP_ANSWER);
        return Err(HandshakeError::PlainHttp);
    }
    let mut received = 0;
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        arm(tcp)?;
        let mut sock = Counting {
            tcp,
            read: &mut received,
        };
        if acceptor.read_tls(&mut sock).map_err(timeout_kind)? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        match acceptor.accept() {
            Ok(Some(a)) => break a,
            Ok(None) => continue,
            Err((e, mut alert)) => {
                let _ = alert.write_all(&mut tcp);
                return Err(e.into());
            }
        }
    };
    let sni = accepted.client_hello().server_name().map(str::to_string);
    if sni.is_none() && port.strict_sni {
        return Err(HandshakeError::NoSni);
    }
    let Some(site) = port.select(local.ip(), sni.as_deref()) else {
        return Err(HandshakeError::NoSni);
    };
    let mut conn = match accepted.into_connection(site.config.clone()) {
        Ok(c) => c,
        Err((e, mut alert)) => {
            let _ = alert.write_all(&mut tcp);
            return Err(e.into());
        }
    };
    while conn.is_handshaking() {
        arm(tcp)?;
        let mut sock = Counting {
            tcp,
            read: &mut received,
        };
        match conn.complete_io(&mut sock) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into())
            }
            Ok(_) => {}
            Err(e) => {
                // Tell the client why, if rustls has an alert queued.
                let _ = conn.write_tls(&mut tcp);
                return Err(timeout_kind(e).into());
            }
        }
    }
    // Unsent handshake bytes (TLS 1.3 tickets) go out with the first response.
    tcp.set_read_timeout(None)?;
    tcp.set_write_timeout(None)?;
    Ok(TlsSession {
        ssl: super::ConnSsl::of(&conn, site.cert.clone()),
        conn,
        vhost: site.vhost,
        received,
        logged: 0,
    })
}

fn timeout_kind(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock => io::Error::from(io::ErrorKind::TimedOut),
        _ => e,
    }
}
