//! The shared compat checker's cases (/work/shared/compat, outside this repository) over TLS:
//! apache2 and mpmd both get the harness' config with `Listen … https` and SSLEngine on and a
//! certificate generated now; every case is replayed against both over TLS and compared with
//! the harness' own rules, and the single GET/HEAD cases also over h2 (worker and event; on
//! prefork h2 is one stream at a time, as httpd, and only HTTP/1.1 is compared).
//! `tests/tlsutil/tls_compat.py` drives it. Skips, saying why, when the harness, apache2,
//! python3 or curl is missing or when not run as root (apache2 switches to www-data).

mod common;
mod tlsutil;

use std::process::Command;

const COMPAT: &str = "/work/shared/compat";

fn skip_reason() -> Option<String> {
    if !std::path::Path::new(COMPAT).join("compat.py").exists() {
        return Some(format!("{COMPAT}/compat.py is missing"));
    }
    if !std::path::Path::new("/usr/sbin/apache2").exists() {
        return Some("apache2 is not installed".into());
    }
    for tool in ["python3", "curl"] {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool} >/dev/null"))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("{tool} is not installed"));
        }
    }
    if !nix_is_root() {
        return Some("not root (apache2 must switch to www-data)".into());
    }
    None
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

fn compat_cases_over_tls(mpm: &str) {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP tls_compat ({mpm}): {why}");
        return;
    }
    let certs = tlsutil::Certs::new(&["www.example.test"]);
    let work = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tlsutil/tls_compat.py");
    let mut cmd = Command::new("timeout");
    cmd.arg("600")
        .arg("python3")
        .arg(script)
        .args(["--compat", COMPAT, "--mpmd", common::BIN, "--mpm", mpm])
        .arg("--cert")
        .arg(certs.path("www.example.test.crt"))
        .arg("--key")
        .arg(certs.path("www.example.test.key"))
        .arg("--workdir")
        .arg(work.path())
        .arg("--apache-port")
        .arg(tlsutil::free_port().to_string())
        .arg("--mpmd-port")
        .arg(tlsutil::free_port().to_string());
    if mpm != "prefork" {
        cmd.arg("--h2");
    }
    let out = cmd.output().expect("run tls_compat.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // The run must have compared something (a harness that found no case proves nothing).
    assert!(text.contains("cases over TLS"), "{text}");
    assert!(text.contains(", 0 differ"), "{text}");
}

mpm_tests!(compat_cases_over_tls);
