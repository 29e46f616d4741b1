//! mod_headers' value format tags against Debian's apache2: `%t` and `%D` (microseconds),
//! `%l` (load averages), `%i` / `%b` (idle and busy workers; a `{…}` argument is ignored, so
//! `%{User-Agent}i` is the idle count, not a header), `%{VAR}e`, `%{VAR}s`, `%%`, a trailing
//! `%`; and the config error for a tag httpd does not know. Under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, get, Answer, Site};

const CONF: &str = r#"
SetEnv FOO bar
Header set X-T "%t"
Header set X-D "%D"
Header set X-IB "%i %b"
Header set X-H "%{User-Agent}i"
Header set X-L "%l"
Header set X-P "100%% %{FOO}e %{NOPE}e %{HTTPS}s end%"
"#;

/// The value with every run of digits (and the dots between them) replaced by `N`: the
/// shape both servers must share, the numbers being clocks and counters.
fn shape(v: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in v.chars() {
        if c.is_ascii_digit() || (in_num && c == '.') {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

fn num(a: &Answer, h: &str, prefix: &str) -> u64 {
    a.header(h)
        .and_then(|v| v.strip_prefix(prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{h}: {:?}", a.header(h)))
}

fn formats(mpm: &str) {
    if !available() {
        return;
    }
    let s = Site::new(&["headers", "env"], CONF);
    s.file("htdocs/a.txt", b"a\n");
    let reqs = vec![get("/a.txt", &["User-Agent: zz"])];
    let (a, m) = s.both(mpm, &reqs);
    let (a, m) = (&a[0], &m[0]);
    for h in ["X-T", "X-D", "X-IB", "X-H", "X-L", "X-P"] {
        let (x, y) = (a.header(h).unwrap_or("-"), m.header(h).unwrap_or("-"));
        // httpd's `%i %b` read -1 while its first child has not marked its scoreboard
        // slots with the generation yet (a request in the child's first moments).
        if h == "X-IB" && x == "i=-1 b=-1" {
            continue;
        }
        assert_eq!(shape(x), shape(y), "{h}: apache2 {x:?}, mpmd {y:?}");
    }
    // Percentages of the workers counted, as httpd's ap_get_sload.
    let ib = m.header("X-IB").unwrap_or_default();
    let (i, b) = ib
        .strip_prefix("i=")
        .and_then(|r| r.split_once(" b="))
        .and_then(|(i, b)| Some((i.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
        .unwrap_or_else(|| panic!("X-IB {ib:?}"));
    // (Each figure is its own look at the scoreboard, so they need not add up to 100.)
    assert!((0..=100).contains(&i) && (0..=100).contains(&b), "{ib}");
    assert!(b >= 1, "the request's own worker is busy: {ib}");
    assert_eq!(m.header("X-P"), Some("100% bar (null) (null) end%"));
    // `%{User-Agent}i` is the idle-worker count, not the request header.
    let h = m.header("X-H");
    assert!(h.is_some_and(|v| v.starts_with("i=")), "{h:?}");
    // %t is the arrival in microseconds: close to the Date header, not whole seconds.
    let t = num(m, "X-T", "t=");
    let date = m
        .header("Date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .expect("Date");
    assert!(
        t / 1_000_000 >= date.saturating_sub(2) && t / 1_000_000 <= date + 2,
        "{t} vs {date}"
    );
    // %D: microseconds since then, below a minute; the serving worker counts as busy.
    assert!(num(m, "X-D", "D=") < 60_000_000);
    let busy: u64 = m
        .header("X-IB")
        .and_then(|v| v.split(' ').nth(1))
        .and_then(|b| b.strip_prefix("b="))
        .and_then(|b| b.parse().ok())
        .expect("b=");
    assert!(busy >= 1, "{:?}", m.header("X-IB"));
}

#[test]
fn unknown_tag_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("t.conf");
    std::fs::write(
        &conf,
        "ServerName t\nListen 127.0.0.1:0\nLoadModule mpm_event_module x\nLoadModule headers_module x\nHeader set X \"ok %t\"\nHeader set X-Q \"%{x}q\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .args(["-t", "-f", conf.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Syntax error on line 6 of"), "{err}");
    assert!(err.contains("Unrecognized header format %q"), "{err}");
}

mpm_tests!(formats);
