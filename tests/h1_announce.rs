//! httpd announces HTTP/2 on the first HTTP/1 response of a connection when `Protocols`
//! offers it (`Upgrade: h2c`, `Connection: Upgrade` merged with close / Keep-Alive), not on
//! generated error pages; later responses on the connection and servers without h2c say
//! nothing.

mod common;

use std::io::{BufReader, Write};

use common::*;

const H2C: &str = "LoadModule http2_module x.so\nProtocols h2c http/1.1\n";

fn first_response_announces_h2c(mpm: &str) {
    let s = Server::start(mpm, H2C);
    let mut r = BufReader::new(connect(s.port).unwrap());
    let req = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
    r.get_mut().write_all(req.as_bytes()).unwrap();
    let first = read_response(&mut r).unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.header("upgrade"), Some("h2c"), "{first:?}");
    assert_eq!(first.header("connection"), Some("Upgrade"), "{first:?}");
    r.get_mut()
        .write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let second = read_response(&mut r).unwrap();
    assert_eq!(second.header("upgrade"), None, "{second:?}");
    assert_eq!(second.header("connection"), Some("close"), "{second:?}");
    // Merged with close (HTTP/1.0) and with Keep-Alive.
    let mut c = connect(s.port).unwrap();
    c.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("upgrade"), Some("h2c"), "{r:?}");
    assert_eq!(r.header("connection"), Some("Upgrade, close"), "{r:?}");
    // A generated error page (404 without ErrorDocument) does not announce.
    let mut c = connect(s.port).unwrap();
    c.write_all(b"GET /missing HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.header("upgrade"), None, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    let mut c = connect(s.port).unwrap();
    c.write_all(b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!(r.header("connection"), Some("Upgrade, Keep-Alive"), "{r:?}");
    assert!(r.header("keep-alive").is_some(), "{r:?}");
}

fn no_announcement_without_h2c(mpm: &str) {
    let s = Server::start(mpm, "LoadModule http2_module x.so\nProtocols http/1.1\n");
    let r = get(s.port, "/index.html").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("upgrade"), None, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");
}

mpm_tests!(first_response_announces_h2c, no_announcement_without_h2c);
