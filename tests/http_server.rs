//! HTTP behaviour of the real binary under each MPM: section merging and access control,
//! .htaccess, name-based vhosts, mod_alias, ErrorDocument, mod_headers, autoindex, and the
//! request-line strictness. Each case runs under prefork, worker and event.

mod common;

use std::io::{BufReader, Read, Write};
use std::time::Duration;

use common::{connect, read_response, Response, Server};

fn fixture(mpm: &str, extra: &str) -> Server {
    let s = Server::start(mpm, extra);
    let root = s.path("htdocs");
    for d in [
        "private",
        "open",
        "listing",
        "ht-all",
        "ht-none",
        "ht-fileinfo",
        "loc",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("private/secret.txt"), b"secret\n").unwrap();
    std::fs::write(root.join("open/file.txt"), b"open\n").unwrap();
    std::fs::write(root.join("listing/a.txt"), b"a\n").unwrap();
    std::fs::write(root.join("listing/b.html"), b"b\n").unwrap();
    std::fs::write(root.join("loc/x.txt"), b"x\n").unwrap();
    std::fs::write(root.join("notfound.html"), b"<p>custom missing page</p>\n").unwrap();
    for d in ["ht-all", "ht-none", "ht-fileinfo"] {
        std::fs::write(root.join(d).join("f.txt"), b"f\n").unwrap();
        std::fs::write(root.join(d).join(".htaccess"), b"Require all denied\n").unwrap();
    }
    std::fs::create_dir_all(s.path("aliased")).unwrap();
    std::fs::write(s.path("aliased/in-alias.txt"), b"from the alias\n").unwrap();
    s
}

fn config(root: &str) -> String {
    format!(
        "LoadModule authz_core_module x\nLoadModule authz_host_module x\nLoadModule mime_module x\n\
         LoadModule dir_module x\nLoadModule alias_module x\nLoadModule headers_module x\n\
         LoadModule autoindex_module x\n\
         ServerTokens Prod\nTypesConfig /etc/mime.types\n\
         <Directory />\n Require all denied\n AllowOverride None\n</Directory>\n\
         <Directory {root}/htdocs>\n Require all granted\n</Directory>\n\
         <Directory {root}/htdocs/private>\n Require ip 192.0.2.0/24\n</Directory>\n\
         <Directory {root}/htdocs/listing>\n Options +Indexes\n</Directory>\n\
         <Directory {root}/htdocs/ht-all>\n AllowOverride All\n</Directory>\n\
         <Directory {root}/htdocs/ht-fileinfo>\n AllowOverride FileInfo\n</Directory>\n\
         <Directory {root}/aliased>\n Require all granted\n</Directory>\n\
         <Location /loc>\n Require all denied\n</Location>\n\
         <Directory {root}/htdocs/loc>\n Require all granted\n</Directory>\n\
         <Location /open>\n Header set X-Section location\n</Location>\n\
         Alias /alias/ {root}/aliased/\n\
         Redirect permanent /old /open/file.txt\n\
         ErrorDocument 404 /notfound.html\n\
         <VirtualHost *:*>\n ServerName localhost\n</VirtualHost>\n\
         <VirtualHost *:*>\n ServerName other.test\n ServerAlias *.wild.test\n DocumentRoot {root}/aliased\n</VirtualHost>\n"
    )
}

fn start(mpm: &str) -> Server {
    // The config needs the ServerRoot path, which Server::start picks: start with the base
    // config, then restart (SIGHUP) with the full one.
    let mut s = fixture(mpm, "");
    let root = s.dir.path().display().to_string();
    s.extra = config(&root);
    s.write_config();
    // Restart with the full config (SIGHUP = restart) and wait for the new generation.
    let gen = s.generation();
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(Duration::from_secs(15), || s.generation() > gen
            && request(
                s.port,
                "GET /open/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
            )
            .status
                == 200),
        "restart with the test config failed\n{}",
        s.error_log()
    );
    s
}

fn request(port: u16, raw: &str) -> Response {
    let mut c = connect(port).expect("connect");
    c.write_all(raw.as_bytes()).unwrap();
    read_response(&mut BufReader::new(c)).unwrap_or(Response {
        status: 0,
        headers: vec![],
        body: vec![],
    })
}

fn get(port: u16, path: &str, host: &str) -> Response {
    request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

fn sections_and_access(mpm: &str) {
    let s = start(mpm);
    assert_eq!(get(s.port, "/open/file.txt", "localhost").status, 200);
    let r = get(s.port, "/private/secret.txt", "localhost");
    assert_eq!(r.status, 403, "Require ip outside the client's range");
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=iso-8859-1")
    );
    // <Location> merges after <Directory>: its denial wins.
    assert_eq!(get(s.port, "/loc/x.txt", "localhost").status, 403);
    let r = get(s.port, "/open/file.txt", "localhost");
    assert_eq!(r.header("x-section"), Some("location"));
    // Header set (onsuccess) is not on error responses.
    assert_eq!(
        get(s.port, "/open/missing", "localhost").header("x-section"),
        None
    );
}

fn htaccess_follows_allowoverride(mpm: &str) {
    let s = start(mpm);
    assert_eq!(
        get(s.port, "/ht-all/f.txt", "localhost").status,
        403,
        "AllowOverride All reads it"
    );
    assert_eq!(
        get(s.port, "/ht-none/f.txt", "localhost").status,
        200,
        "AllowOverride None ignores it"
    );
    assert_eq!(
        get(s.port, "/ht-fileinfo/f.txt", "localhost").status,
        500,
        "Require needs AuthConfig"
    );
}

fn vhosts_alias_redirect_errordoc(mpm: &str) {
    let s = start(mpm);
    let r = get(s.port, "/in-alias.txt", "other.test");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"from the alias\n"[..])
    );
    assert_eq!(
        get(s.port, "/in-alias.txt", "x.wild.test").status,
        200,
        "wildcard ServerAlias"
    );
    assert_eq!(
        get(s.port, "/in-alias.txt", "unknown.test").status,
        404,
        "first vhost is the default"
    );
    assert_eq!(get(s.port, "/alias/in-alias.txt", "localhost").status, 200);
    // An absolute-form target picks the vhost only with the connection's own scheme
    // (apache2: http:// wins over Host in the clear, https:// does not; ftp:// is a 400).
    for (target, want) in [
        ("http://other.test/in-alias.txt", 200),
        ("HTTP://other.test/in-alias.txt", 200),
        ("https://other.test/in-alias.txt", 404),
        ("ftp://other.test/in-alias.txt", 400),
    ] {
        let r = get(s.port, target, "localhost");
        assert_eq!(r.status, want, "{target}");
    }
    let r = get(s.port, "/old", "localhost");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://localhost/open/file.txt"));
    let r = get(s.port, "/nope", "localhost");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"<p>custom missing page</p>\n");
}

fn autoindex_and_dir_slash(mpm: &str) {
    let s = start(mpm);
    let r = get(s.port, "/listing", "localhost");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://localhost/listing/"));
    let r = get(s.port, "/listing/", "localhost");
    assert_eq!(r.status, 200);
    let body = String::from_utf8_lossy(&r.body);
    assert!(
        body.contains("<title>Index of /listing</title>")
            && body.contains("a.txt")
            && body.contains("b.html"),
        "{body}"
    );
    assert_eq!(
        get(s.port, "/open/", "localhost").status,
        403,
        "no index, no Indexes"
    );
}

fn strict_request_lines(mpm: &str) {
    let s = start(mpm);
    for (raw, want) in [
        ("GET  /open/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
        ("GET /open/file.txt HTTP/1.1\nHost: localhost\r\n\r\n", 400),
        ("get /open/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
        ("GET /open/file.txt HTTP/3.0\r\nHost: localhost\r\n\r\n", 200),
        ("GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
        ("GET /open/file.txt HTTP/1.1\r\n\r\n", 400),
        ("POST /open/file.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
        ("DELETE /open/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", 405),
    ] {
        assert_eq!(request(s.port, raw).status, want, "{raw:?}");
    }
    // Pipelined requests on one connection, answered in order.
    let mut c = connect(s.port).unwrap();
    c.write_all(
        b"GET /open/file.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /listing/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 2, "{all}");
    assert!(all.find("open\n").unwrap() < all.rfind("a\n").unwrap());
}

mpm_tests!(
    sections_and_access,
    htaccess_follows_allowoverride,
    vhosts_alias_redirect_errordoc,
    autoindex_and_dir_slash,
    strict_request_lines,
);
