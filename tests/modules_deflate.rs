//! mod_deflate against Debian's apache2: AddOutputFilterByType / SetOutputFilter /
//! AddOutputFilter DEFLATE, Accept-Encoding (absent, q=0), small bodies, HEAD, ranges, error
//! pages, no-gzip — status, Content-Encoding, Vary, ETag and the decompressed body compared
//! with apache2's; and the compressed bytes, their framing (Content-Length or chunked) and the
//! Deflate* settings, under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, curl_h2_head_lines, get, gunzip, req, Answer, Site};

const CONF: &str = r#"
AddOutputFilterByType DEFLATE text/html text/plain
<Location /set>
    SetOutputFilter DEFLATE
</Location>
<Directory @ROOT@/htdocs/ext>
    AddOutputFilter DEFLATE css
</Directory>
SetEnvIf Request_URI ^/nogzip no-gzip
"#;

fn deflate(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["deflate", "filter", "setenvif"], CONF);
    let big = "hello world, compress me please. ".repeat(80);
    s.file("htdocs/big.html", big.as_bytes());
    s.file("htdocs/small.html", b"tiny\n");
    s.file("htdocs/edge68.html", &[b'a'; 68]);
    s.file("htdocs/edge69.html", &[b'a'; 69]);
    s.file("htdocs/big.css", big.as_bytes());
    s.file("htdocs/set/x.css", big.as_bytes());
    s.file("htdocs/ext/y.css", big.as_bytes());
    s.file("htdocs/nogzip.html", big.as_bytes());
    let gz = "Accept-Encoding: gzip, deflate";
    let cases: Vec<String> = vec![
        get("/big.html", &[gz]),
        get("/big.html", &[]),
        get("/big.html", &["Accept-Encoding: gzip;q=0"]),
        get("/small.html", &[gz]),
        get("/edge68.html", &[gz]),
        get("/edge69.html", &[gz]),
        get("/big.css", &[gz]),
        get("/set/x.css", &[gz]),
        get("/ext/y.css", &[gz]),
        get("/nogzip.html", &[gz]),
        get("/missing.html", &[gz]),
        req("HEAD", "/big.html", &[gz]),
        get("/big.html", &[gz, "Range: bytes=0-9"]),
    ];
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let line = r.lines().next().unwrap_or("");
        assert_eq!(
            a[i].status, m[i].status,
            "{line}: status {:?} / {:?}",
            a[i], m[i]
        );
        for h in ["Content-Encoding", "Vary", "ETag", "Content-Type"] {
            assert_eq!(
                a[i].header(h),
                m[i].header(h),
                "{line}: {h}: apache2 {:?}\nmpmd {:?}",
                a[i].headers,
                m[i].headers
            );
        }
        if a[i].status == 206 {
            // A range of the compressed body: same start and end, totals from each zlib.
            let cr = |x: &Answer| {
                x.header("Content-Range")
                    .map(|v| v.split('/').next().unwrap_or("").to_string())
            };
            assert_eq!(cr(&a[i]), cr(&m[i]), "{line}: Content-Range");
            assert_eq!(a[i].body.len(), m[i].body.len(), "{line}: range length");
            assert_eq!(&m[i].body[..3], b"\x1f\x8b\x08", "{line}: gzip magic");
        } else if a[i].status == 200 && !line.starts_with("HEAD") {
            assert_eq!(gunzip(&a[i]), gunzip(&m[i]), "{line}: body");
        }
    }
    assert_eq!(m[0].header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&m[0]), big.as_bytes());
    assert!(m[0].body.len() < big.len() / 4);
    assert_eq!(m[11].body.len(), 0, "HEAD has no body");
}

/// Text that compresses about as well as prose (a few thousand words from a small
/// vocabulary, chosen by an LCG), `n` bytes.
fn prose(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "server",
        "module",
        "request",
        "response",
        "header",
        "filter",
        "deflate",
        "compress",
        "client",
        "of",
        "and",
        "a",
        "to",
        "is",
        "in",
        "connection",
        "worker",
        "thread",
        "process",
        "log",
        "status",
        "apache",
        "configuration",
        "directive",
    ];
    let mut x = seed;
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(WORDS[(x >> 33) as usize % WORDS.len()].as_bytes());
        out.push(if (x >> 20) % 13 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(n);
    out
}

/// Bytes that compress poorly (base64 of LCG output), `n` bytes.
fn noise(n: usize) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 42;
    (0..n)
        .map(|i| {
            if i % 77 == 76 {
                return b'\n';
            }
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            B64[(x >> 58) as usize]
        })
        .collect()
}

const OUTPUT_CONF: &str = r#"
AddOutputFilterByType DEFLATE text/html
Protocols h2c http/1.1
<VirtualHost *:@PORT@>
ServerName l1.test
DeflateCompressionLevel 1
</VirtualHost>
<VirtualHost *:@PORT@>
ServerName b1.test
DeflateBufferSize 1000
</VirtualHost>
<VirtualHost *:@PORT@>
ServerName m1.test
DeflateMemLevel 1
DeflateWindowSize 10
</VirtualHost>
<VirtualHost *:@PORT@>
ServerName w8.test
DeflateWindowSize 8
</VirtualHost>
<VirtualHost *:@PORT@>
ServerName l9.test
DeflateCompressionLevel 9
DeflateMemLevel 5
DeflateWindowSize 12
</VirtualHost>
"#;

/// The compressed bytes and how they are framed against apache2: httpd's zlib settings
/// (level 6, 15-bit window, memLevel 9) and the Deflate* directives give the same bytes
/// (both use the system's zlib); a response whose compressed bytes fill DeflateBufferSize
/// before the end goes out without Content-Length (chunked, even on a closing HTTP/1.1
/// connection; close-delimited for HTTP/1.0; neither for HEAD) and ignores Range.
fn deflate_output(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["deflate", "filter", "http2"], OUTPUT_CONF);
    s.file("htdocs/small.html", &prose(2600, 1));
    s.file("htdocs/mid.html", &prose(40_000, 2));
    s.file("htdocs/big.html", &noise(300_000));
    let gz = "Accept-Encoding: gzip";
    let mut cases: Vec<String> = Vec::new();
    for host in [
        "localhost",
        "l1.test",
        "b1.test",
        "m1.test",
        "w8.test",
        "l9.test",
    ] {
        for f in ["/small.html", "/mid.html", "/big.html"] {
            cases.push(get(f, &[gz, &format!("Host: {host}")]));
        }
    }
    let extra = [
        req("HEAD", "/small.html", &[gz]),
        req("HEAD", "/big.html", &[gz]),
        get("/big.html", &[gz, "Range: bytes=0-99"]),
        "GET /big.html HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n".to_string(),
    ];
    cases.extend(extra.iter().cloned());
    let (a, m) = s.both(mpm, &cases);
    for (i, r) in cases.iter().enumerate() {
        let what = format!("{:?}", r.lines().take(3).collect::<Vec<_>>());
        assert_eq!(a[i].status, m[i].status, "{what}: status");
        for h in [
            "Content-Encoding",
            "Content-Length",
            "Transfer-Encoding",
            "Content-Range",
            "ETag",
            "Vary",
        ] {
            assert_eq!(
                a[i].header(h),
                m[i].header(h),
                "{what}: {h}: apache2 {:?}\nmpmd {:?}",
                a[i].headers,
                m[i].headers
            );
        }
        assert_eq!(a[i].body.len(), m[i].body.len(), "{what}: body length");
        assert!(a[i].body == m[i].body, "{what}: compressed bytes differ");
    }
    // The cases cover both framings, and the bad window leaves the body as it is.
    assert!(
        m[0].header("Content-Length").is_some(),
        "{:?}",
        m[0].headers
    );
    assert_eq!(m[2].header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(
        m[12].header("Content-Encoding"),
        None,
        "DeflateWindowSize 8"
    );
    assert_eq!(m[20].status, 200, "Range on a streamed body");

    // Conditional requests: the plain ETag gives a 304 (with the plain ETag), the `-gzip`
    // one a full 200, as httpd (its ETag check sees the file's own ETag).
    let (ac, mc) = s.with_both(mpm, |port, _| {
        let first = modules_oracle::send(port, &get("/mid.html", &[gz]));
        let tag = first.header("ETag").unwrap_or("").to_string();
        let plain = tag.replace("-gzip\"", "\"");
        [plain.as_str(), tag.as_str()]
            .iter()
            .map(|t| {
                let r = modules_oracle::send(
                    port,
                    &get("/mid.html", &[gz, &format!("If-None-Match: {t}")]),
                );
                (
                    r.status,
                    r.header("ETag").map(str::to_string),
                    r.header("Content-Encoding").map(str::to_string),
                    r.header("Vary").map(str::to_string),
                    r.body.len(),
                )
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(ac, mc, "If-None-Match: apache2 (left) vs mpmd (right)");
    assert_eq!((mc[0].0, mc[1].0), (304, 200));

    // HTTP/2: a content-length only where HTTP/1.1 has one.
    let (ah, mh) = s.with_both(mpm, |port, _| {
        ["/small.html", "/big.html"]
            .iter()
            .map(|p| curl_h2_head(port, p))
            .collect::<Vec<_>>()
    });
    if ah.iter().all(|v| v.is_empty()) {
        eprintln!("skipped h2 part: curl without HTTP/2");
        return;
    }
    assert_eq!(ah, mh, "HTTP/2: apache2 (left) vs mpmd (right)");
}

/// content-encoding and content-length of an h2c answer to `path` (curl, prior knowledge).
fn curl_h2_head(port: u16, path: &str) -> Vec<String> {
    curl_h2_head_lines(port, path, &["Accept-Encoding: gzip"])
        .into_iter()
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| l.starts_with("content-length") || l.starts_with("content-encoding"))
        .collect()
}

mpm_tests!(deflate, deflate_output);
