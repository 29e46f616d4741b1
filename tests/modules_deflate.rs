//! mod_deflate against Debian's apache2: AddOutputFilterByType / SetOutputFilter /
//! AddOutputFilter DEFLATE, Accept-Encoding (absent, q=0), small bodies, HEAD, ranges, error
//! pages, no-gzip — status, Content-Encoding, Vary, ETag and the decompressed body compared
//! with apache2's (the compressed bytes themselves differ between zlib builds), under every
//! MPM.

mod common;
mod modules_oracle;

use std::io::Read;

use modules_oracle::{available, get, req, Answer, Site};

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

fn gunzip(a: &Answer) -> Vec<u8> {
    if a.header("Content-Encoding") != Some("gzip") || a.body.is_empty() {
        return a.body.clone();
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&a.body[..])
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

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

mpm_tests!(deflate);
