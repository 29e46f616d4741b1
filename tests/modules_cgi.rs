//! mod_cgi / mod_cgid against Debian's apache2 under every MPM: the environment a /bin/sh
//! script sees (ScriptAlias and AddHandler + ExecCGI, PATH_INFO, SetEnv/PassEnv, ISINDEX
//! arguments, its directory and user), the request body on stdin (Content-Length and
//! chunked), the script's Status and Location (local and absolute), nph- output, and httpd's
//! refusals and error-log lines (ExecCGI off, missing, not executable, no head, stderr,
//! the script timeout). Scripts are world-readable and executable: both servers run them
//! as www-data.

mod common;
mod modules_oracle;

use std::os::unix::fs::PermissionsExt;

use modules_oracle::{assert_same, available, get, req, send, Site};

const BODY: &str = r#"
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
<Directory "@ROOT@/cgi-bin">
    Require all granted
    CGIPassAuth On
</Directory>
<Directory "@ROOT@/htdocs/app">
    AddHandler cgi-script .cgi
    Options +ExecCGI
</Directory>
<Directory "@ROOT@/htdocs/app/noexec">
    Options -ExecCGI
</Directory>
<Directory "@ROOT@/htdocs/sh">
    SetHandler cgi-script
    Options +ExecCGI
</Directory>
SetEnv FROM_SETENV set-value
PassEnv CGI_TEST_PASS
"#;

const ENV_SH: &str = "#!/bin/sh\n\
echo 'Content-Type: text/plain'\n\
echo\n\
env | grep -v '^REMOTE_PORT=' | sort\n\
echo \"cwd=$(pwd)\"\n\
echo \"args=$*\"\n\
echo \"uid=$(id -un)\"\n";

/// Writes an executable script (`0755`, or `mode`).
fn script(s: &Site, rel: &str, text: &str, mode: u32) {
    let p = s.file(rel, text.as_bytes());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn site(modules: &[&'static str], extra: &str) -> Site {
    let mut s = Site::new(modules, &format!("{BODY}{extra}"));
    s.env.push(("CGI_TEST_PASS", "passed-through".into()));
    std::fs::create_dir_all(s.root().join("cgi-bin")).unwrap();
    std::fs::set_permissions(
        s.root().join("cgi-bin"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    script(&s, "cgi-bin/env.sh", ENV_SH, 0o755);
    script(&s, "htdocs/app/t.cgi", ENV_SH, 0o755);
    script(&s, "htdocs/app/noexec/t.cgi", ENV_SH, 0o755);
    script(&s, "htdocs/sh/run", ENV_SH, 0o755);
    s
}

fn cgi_environment(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(&["cgid"], "");
    let cases: [(&str, &[&str]); 5] = [
        (
            "/cgi-bin/env.sh/extra/path?a=b&c",
            &["X-Foo: bar", "X-Foo: baz"],
        ),
        (
            "/cgi-bin/env.sh",
            &[
                "Content-Type: text/x-test",
                "Authorization: Basic Zm9vOmJhcg==",
            ],
        ),
        ("/cgi-bin/env.sh?one+two%21+x;y", &[]),
        (
            "/app/t.cgi/more/info",
            &["Accept: text/plain", "Authorization: Basic Zm9vOmJhcg=="],
        ),
        ("/sh/run", &[]),
    ];
    let reqs: Vec<String> = cases.iter().map(|(p, h)| get(p, h)).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, (p, _)) in cases.iter().enumerate() {
        assert_same(p, &a[i], &m[i], &["Content-Type"], true);
    }
    // What both printed, spelled out (so a shared mistake fails too).
    let root = s.root().display().to_string();
    let env = m[0].body_text();
    for line in [
        "GATEWAY_INTERFACE=CGI/1.1".to_string(),
        format!("SCRIPT_FILENAME={root}/cgi-bin/env.sh"),
        "SCRIPT_NAME=/cgi-bin/env.sh".into(),
        "PATH_INFO=/extra/path".into(),
        format!("PATH_TRANSLATED={root}/htdocs/extra/path"),
        "QUERY_STRING=a=b&c".into(),
        "REQUEST_URI=/cgi-bin/env.sh/extra/path?a=b&c".into(),
        "CONTEXT_PREFIX=/cgi-bin/".into(),
        format!("CONTEXT_DOCUMENT_ROOT={root}/cgi-bin/"),
        format!("DOCUMENT_ROOT={root}/htdocs"),
        "HTTP_X_FOO=bar, baz".into(),
        "FROM_SETENV=set-value".into(),
        "CGI_TEST_PASS=passed-through".into(),
        // Host without a port: ServerName has none either, so the scheme's.
        "SERVER_PORT=80".into(),
        "REMOTE_ADDR=127.0.0.1".into(),
        format!("cwd={root}/cgi-bin"),
        "uid=www-data".into(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing in\n{env}");
    }
    assert!(m[2].body_text().contains("\nargs=one two! x\\;y\n"));
    // CGIPassAuth On in the ScriptAlias directory only.
    assert!(m[1]
        .body_text()
        .contains("\nHTTP_AUTHORIZATION=Basic Zm9vOmJhcg==\n"));
    assert!(!m[3].body_text().contains("HTTP_AUTHORIZATION"));
    let app = m[3].body_text();
    assert!(app.contains("\nSCRIPT_NAME=/app/t.cgi\n"), "{app}");
    assert!(app.contains("\nPATH_INFO=/more/info\n"), "{app}");
    assert!(app.contains("\nCONTEXT_PREFIX=\n"), "{app}");
    assert!(app.contains(&format!("\ncwd={root}/htdocs/app\n")), "{app}");
    assert!(m[4].body_text().contains("\nSCRIPT_NAME=/sh/run\n"));
}

const POST_SH: &str = "#!/bin/sh\n\
echo 'Content-Type: text/plain'\n\
echo\n\
echo \"method=$REQUEST_METHOD length=$CONTENT_LENGTH type=$CONTENT_TYPE\"\n\
cat\n";

fn cgi_request_body(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(&["cgid"], "");
    script(&s, "cgi-bin/post.sh", POST_SH, 0o755);
    let big: String = "0123456789abcdef".repeat(8 * 1024);
    let plain = "POST /cgi-bin/post.sh HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/x-a\r\n\
         Content-Length: 11\r\nConnection: close\r\n\r\nhello world"
        .to_string();
    let chunked = "POST /cgi-bin/post.sh HTTP/1.1\r\nHost: localhost\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n7\r\n chunks\r\n0\r\n\r\n"
        .to_string();
    let large = format!(
        "POST /cgi-bin/post.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{big}",
        big.len()
    );
    let (a, m) = s.both(mpm, &[plain, chunked, large]);
    for i in 0..3 {
        assert_same("POST", &a[i], &m[i], &["Content-Type"], true);
    }
    assert_eq!(
        m[0].body_text(),
        "method=POST length=11 type=text/x-a\nhello world"
    );
    assert_eq!(m[1].body_text(), "method=POST length= type=\nhello chunks");
    assert!(m[2].body_text().ends_with(&big));
}

fn cgi_status_and_location(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(&["cgid", "http2"], "Protocols h2c http/1.1\n");
    s.file("htdocs/target.txt", b"the target\n");
    script(
        &s,
        "cgi-bin/s404.sh",
        "#!/bin/sh\necho 'Status: 404 Not Here'\necho 'Content-Type: text/plain'\n\
         echo 'X-Script: yes'\necho\necho 'script says no'\n",
        0o755,
    );
    script(
        &s,
        "cgi-bin/local.sh",
        "#!/bin/sh\necho 'Location: /target.txt'\necho\necho 'dropped'\n",
        0o755,
    );
    script(
        &s,
        "cgi-bin/away.sh",
        "#!/bin/sh\necho 'Location: http://elsewhere.example/x?y=1'\necho\necho dropped\n",
        0o755,
    );
    script(
        &s,
        "cgi-bin/s301.sh",
        "#!/bin/sh\necho 'Status: 301'\necho 'Location: /moved'\necho 'Content-Type: text/plain'\n\
         echo\necho 'own body'\n",
        0o755,
    );
    script(
        &s,
        "cgi-bin/nph-raw.sh",
        "#!/bin/sh\nprintf 'HTTP/1.0 202 Accepted\\r\\nContent-Type: text/plain\\r\\nX-Nph: 1\\r\\n\\r\\nraw body\\n'\n",
        0o755,
    );
    let paths = [
        "/cgi-bin/s404.sh",
        "/cgi-bin/local.sh",
        "/cgi-bin/away.sh",
        "/cgi-bin/s301.sh",
        "/cgi-bin/nph-raw.sh",
    ];
    let mut reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    reqs.push(req("HEAD", "/cgi-bin/s404.sh", &[]));
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in paths.iter().enumerate() {
        assert_same(
            p,
            &a[i],
            &m[i],
            &["Content-Type", "Location", "X-Script", "X-Nph"],
            true,
        );
    }
    assert_same("HEAD", &a[5], &m[5], &["Content-Type", "X-Script"], true);
    assert_eq!(m[0].status, 404);
    // The script's own reason phrase, as httpd sends it.
    assert_eq!(a[0].status_line, "HTTP/1.1 404 Not Here");
    assert_eq!(m[0].status_line, a[0].status_line);
    assert_eq!(m[0].body_text(), "script says no\n");
    assert_eq!(
        (m[1].status, m[1].body_text().as_str()),
        (200, "the target\n")
    );
    assert_eq!(m[2].status, 302);
    assert_eq!(
        m[2].header("Location"),
        Some("http://elsewhere.example/x?y=1")
    );
    assert_eq!(
        (m[3].status, m[3].body_text().as_str()),
        (301, "own body\n")
    );
    assert_eq!(
        (m[4].status, m[4].body_text().as_str()),
        (202, "raw body\n")
    );
    // nph- output goes out as the script wrote it: no Server field of ours.
    assert_eq!(m[4].header("Server"), a[4].header("Server"));
    // Over HTTP/2 the nph- head becomes the stream's head, as mod_http2 makes it.
    let (ah2, mh2) = s.with_both(mpm, |port, _| {
        modules_oracle::curl_h2_head_lines(port, "/cgi-bin/nph-raw.sh", &[])
    });
    if !ah2.is_empty() {
        let pick = |l: &[String]| -> Vec<String> {
            l.iter()
                .filter(|x| x.starts_with("HTTP/") || x.starts_with("x-nph"))
                .cloned()
                .collect()
        };
        assert_eq!(pick(&ah2), ["HTTP/2 202", "x-nph: 1"]);
        assert_eq!(pick(&mh2), pick(&ah2));
    }
}

fn cgi_refusals_and_log(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(&["cgi"], "CGIScriptTimeout 1\n");
    script(&s, "cgi-bin/noexec.sh", ENV_SH, 0o644);
    script(
        &s,
        "cgi-bin/die.sh",
        "#!/bin/sh\necho 'dying words' >&2\nexit 1\n",
        0o755,
    );
    script(
        &s,
        "cgi-bin/talk.sh",
        "#!/bin/sh\necho 'a warning' >&2\necho 'Content-Type: text/plain'\necho\necho fine\n",
        0o755,
    );
    script(&s, "cgi-bin/hang.sh", "#!/bin/sh\nexec sleep 20\n", 0o755);
    let paths = [
        "/app/noexec/t.cgi",
        "/cgi-bin/missing.sh",
        "/cgi-bin/noexec.sh",
        "/cgi-bin/die.sh",
        "/cgi-bin/talk.sh",
        "/cgi-bin/",
        "/cgi-bin/hang.sh",
    ];
    let reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in paths.iter().enumerate() {
        assert_same(p, &a[i], &m[i], &["Content-Type"], true);
    }
    let statuses: Vec<u16> = m.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [403, 404, 500, 500, 200, 403, 504]);
    let root = s.root().display().to_string();
    let expected = [
        format!("[cgi:error] AH02809: stderr from {root}/htdocs/app/noexec/t.cgi: Options ExecCGI is off in this directory"),
        format!("[cgi:error] AH02811: stderr from {root}/cgi-bin/missing.sh: script not found or unable to stat"),
        format!("[cgi:error] AH01215: stderr from {root}/cgi-bin/noexec.sh: (13)Permission denied: exec of '{root}/cgi-bin/noexec.sh' failed"),
        "[cgi:error] End of script output before headers: noexec.sh".to_string(),
        format!("[cgi:error] AH01215: stderr from {root}/cgi-bin/die.sh: dying words"),
        "[cgi:error] End of script output before headers: die.sh".to_string(),
        format!("[cgi:error] AH01215: stderr from {root}/cgi-bin/talk.sh: a warning"),
        format!("[cgi:error] AH02812: stderr from {root}/cgi-bin/: attempt to invoke directory as script"),
        format!("[cgi:warn] AH01220: Timeout waiting for output from CGI script {root}/cgi-bin/hang.sh"),
        "[cgi:error] Script timed out before returning headers: hang.sh".to_string(),
    ];
    for tag in ["apache", "mpmd"] {
        let log: Vec<String> = s
            .log(&format!("{tag}_error_log"))
            .lines()
            .map(strip_log_line)
            .collect();
        for e in &expected {
            assert!(
                log.iter().any(|l| l == e),
                "{tag}: missing `{e}` in\n{}",
                log.join("\n")
            );
        }
    }
    // Every script is reaped: no zombie stays in the server's process group (scripts
    // inherit it) once their requests are answered.
    let (server, port) = s.serve(modules_oracle::BIN, mpm, "reap");
    for p in ["/cgi-bin/die.sh", "/cgi-bin/talk.sh", "/cgi-bin/noexec.sh"] {
        send(port, &get(p, &[]));
    }
    let pgid = server.pid().to_string();
    let zombies = || {
        let out = std::process::Command::new("ps")
            .args(["-eo", "stat=,pgid=,args="])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines()
            .filter(|l| {
                let mut f = l.split_whitespace();
                f.next().is_some_and(|st| st.starts_with('Z')) && f.next() == Some(pgid.as_str())
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let reaped = common::wait_until(std::time::Duration::from_secs(5), || zombies().is_empty());
    assert!(reaped, "zombies: {:?}", zombies());
}

/// What httpd does with odd heads: a line without a colon (500, "malformed header"), no
/// Content-Type (the script file's own type), no fields at all, cookies on an absolute
/// redirect; ScriptAliasMatch (no CONTEXT_PREFIX) and the one-argument ScriptAlias in a
/// `<Location>`; an ErrorDocument for a script's 500, and a script as the ErrorDocument.
fn cgi_odd_heads(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(
        &["cgid"],
        "ScriptAliasMatch ^/rx/(\\w+)\\.sh(.*) \"@ROOT@/cgi-bin/$1.sh$2\"\n\
         <Location /cgi-bin/die.sh>\n    ErrorDocument 500 /err.txt\n</Location>\n\
         ErrorDocument 404 /cgi-bin/env.sh\n\
         <Location /loc-script>\n    ScriptAlias \"@ROOT@/cgi-bin/env.sh\"\n</Location>\n",
    );
    s.file("htdocs/err.txt", b"custom error page\n");
    let scripts = [
        ("bad.sh", "echo 'This is not a header'\necho\necho body\n"),
        ("notype.sh", "echo 'X-A: 1'\necho\necho body\n"),
        ("empty.sh", "echo\necho body\n"),
        (
            "cookie.sh",
            "echo 'Set-Cookie: a=1'\necho 'Set-Cookie: b=2'\necho 'Location: http://example.com/'\necho\n",
        ),
        ("die.sh", "exit 3\n"),
    ];
    for (name, body) in scripts {
        script(
            &s,
            &format!("cgi-bin/{name}"),
            &format!("#!/bin/sh\n{body}"),
            0o755,
        );
    }
    let paths = [
        "/cgi-bin/bad.sh",
        "/cgi-bin/notype.sh",
        "/cgi-bin/empty.sh",
        "/cgi-bin/cookie.sh",
        "/rx/env.sh/pi",
        "/cgi-bin/die.sh",
        "/loc-script/x?q",
    ];
    let mut reqs: Vec<String> = paths.iter().map(|p| get(p, &[])).collect();
    // A script as the ErrorDocument: the error's status, REDIRECT_* in its environment.
    reqs.push(get("/nothere.html?z=1", &[]));
    reqs.push(
        "POST /nothere.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\
         Connection: close\r\n\r\nx=1"
            .to_string(),
    );
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in paths
        .iter()
        .chain(&["error document", "error document POST"])
        .enumerate()
    {
        assert_same(p, &a[i], &m[i], &["Content-Type", "Location", "X-A"], true);
        let cookies = |r: &modules_oracle::Answer| -> Vec<String> {
            r.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
                .map(|(_, v)| v.clone())
                .collect()
        };
        assert_eq!(cookies(&a[i]), cookies(&m[i]), "{p}: Set-Cookie");
    }
    assert_eq!(m[0].status, 500);
    assert_eq!(m[1].header("Content-Type"), Some("text/x-sh"));
    assert_eq!((m[2].status, m[2].body_text().as_str()), (200, "body\n"));
    assert_eq!(m[3].status, 302);
    assert!(m[4].body_text().contains("\nCONTEXT_PREFIX=\n"));
    assert!(m[4].body_text().contains("\nSCRIPT_NAME=/rx/env.sh\n"));
    assert_eq!(
        (m[5].status, m[5].body_text().as_str()),
        (500, "custom error page\n")
    );
    // The one-argument form in a <Location>: handler forced, the whole URL is the script's.
    assert_eq!(m[6].status, 200);
    assert!(m[6].body_text().contains("\nSCRIPT_NAME=/loc-script/x\n"));
    let doc = m[7].body_text();
    assert_eq!(m[7].status, 404);
    for line in [
        "REDIRECT_STATUS=404",
        "REDIRECT_URL=/nothere.html",
        "REDIRECT_QUERY_STRING=z=1",
        "REDIRECT_REQUEST_METHOD=GET",
        "REDIRECT_FROM_SETENV=set-value",
        "REQUEST_METHOD=GET",
    ] {
        assert!(doc.lines().any(|l| l == line), "{line} missing in\n{doc}");
    }
    assert!(m[8]
        .body_text()
        .contains("\nREDIRECT_REQUEST_METHOD=POST\n"));
    for tag in ["apache", "mpmd"] {
        let log = s.log(&format!("{tag}_error_log"));
        assert!(
            log.contains("malformed header from script 'bad.sh': Bad header: This is not a header"),
            "{tag}: {log}"
        );
    }
}

/// `[time] [cgi:error] [pid …] [client …] msg` → `[cgi:error] msg`.
fn strip_log_line(l: &str) -> String {
    let mut out = String::new();
    let mut rest = l;
    let mut fields = 0;
    while let Some(r) = rest.strip_prefix('[') {
        let Some(end) = r.find("] ") else { break };
        let field = &r[..end];
        if fields == 1 {
            out.push('[');
            out.push_str(field);
            out.push_str("] ");
        }
        fields += 1;
        rest = &r[end + 2..];
    }
    out.push_str(rest);
    out
}

/// RLimitCPU/MEM/NPROC: the limits a script starts with, a section's replacing the server's.
/// (The process limit stays high: www-data's threads of every server on the machine count.)
fn cgi_resource_limits(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(
        &["cgid"],
        "RLimitCPU 100 200\nRLimitNPROC 20000\nRLimitMEM 400000000 max\n\
         <Location /cgi-bin/lim2.sh>\n    RLimitCPU 50\n</Location>\n",
    );
    let lim = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\n\
               echo \"cpu $(ulimit -St) $(ulimit -Ht)\"\n\
               echo \"nproc $(ulimit -Sp) $(ulimit -Hp)\"\n\
               echo \"as $(ulimit -Sv) $(ulimit -Hv)\"\n";
    script(&s, "cgi-bin/lim.sh", lim, 0o755);
    script(&s, "cgi-bin/lim2.sh", lim, 0o755);
    let reqs = [get("/cgi-bin/lim.sh", &[]), get("/cgi-bin/lim2.sh", &[])];
    let (a, m) = s.both(mpm, &reqs);
    assert_same("lim.sh", &a[0], &m[0], &[], true);
    assert_same("lim2.sh", &a[1], &m[1], &[], true);
    let body = m[0].body_text();
    assert!(body.starts_with("cpu 100 200\nnproc 20000 "), "{body}");
    assert!(body.contains("\nas 390625 "), "{body}");
    assert!(
        m[1].body_text().starts_with("cpu 50 "),
        "{}",
        m[1].body_text()
    );
}

/// A script's output reaches the client as it is written (streamed, not buffered whole).
fn cgi_streams_output(mpm: &str) {
    if !available() {
        return;
    }
    let s = site(&["cgid"], "");
    script(
        &s,
        "cgi-bin/slow.sh",
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho first\nsleep 3\necho second\n",
        0o755,
    );
    let (_p, port) = s.serve(modules_oracle::BIN, mpm, "mpmd");
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    c.write_all(get("/cgi-bin/slow.sh", &[]).as_bytes())
        .unwrap();
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("first") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the first line");
        got.extend_from_slice(&buf[..n]);
    }
    let first = start.elapsed();
    let _ = c.read_to_end(&mut got);
    let gap = start.elapsed() - first;
    assert!(String::from_utf8_lossy(&got).contains("second"));
    // The script sleeps 3 s between its lines: streamed, the first came that much earlier
    // (buffered whole, both would come together).
    assert!(
        gap >= std::time::Duration::from_secs(2),
        "the first line waited for the script's end ({first:?}, then {gap:?})"
    );
}

mpm_tests!(
    cgi_environment,
    cgi_request_body,
    cgi_status_and_location,
    cgi_refusals_and_log,
    cgi_odd_heads,
    cgi_resource_limits,
    cgi_streams_output
);
