//! debian/mpmd.logrotate, run by the real logrotate on a temp copy (paths rewritten): logs
//! rotate, and the postrotate step asks mpmctl for a graceful restart only while the pid file
//! names a live process. Skipped (with a note) where logrotate is not installed.

use std::fs;
use std::path::Path;
use std::process::Command;

fn logrotate() -> Option<&'static str> {
    ["/usr/sbin/logrotate", "/sbin/logrotate"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Rotates once with the pid file holding `pid` (or absent) and returns what the stand-in
/// mpmctl recorded.
fn rotate(pid: Option<u32>) -> (bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let logs = t.join("log");
    fs::create_dir_all(&logs).unwrap();
    fs::write(logs.join("access.log"), "GET / 200\n").unwrap();
    fs::write(logs.join("error.log"), "[notice] resuming\n").unwrap();
    let pidfile = t.join("mpmd.pid");
    if let Some(p) = pid {
        fs::write(&pidfile, format!("{p}\n")).unwrap();
    }
    let calls = t.join("calls");
    let fake = t.join("mpmctl");
    fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let src =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/mpmd.logrotate"))
            .unwrap();
    assert!(src.contains("/var/log/mpmd/*.log") && src.contains("/run/mpmd/mpmd.pid"));
    // `create 640 root adm` needs root; the owner is not what is tested here.
    let conf = src
        .replace("/var/log/mpmd", &logs.display().to_string())
        .replace("/run/mpmd/mpmd.pid", &pidfile.display().to_string())
        .replace("/usr/sbin/mpmctl", &fake.display().to_string())
        .replace("\tcreate 640 root adm\n", "\tcreate 640\n")
        .replace("logger -t mpmd.logrotate", "cat");
    let conf_file = t.join("mpmd.logrotate");
    fs::write(&conf_file, conf).unwrap();
    let out = Command::new(logrotate().unwrap())
        .arg("-f")
        .arg("-s")
        .arg(t.join("state"))
        .arg(&conf_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated = logs.join("access.log.1").exists() && logs.join("error.log.1").exists();
    (rotated, fs::read_to_string(&calls).unwrap_or_default())
}

#[test]
fn rotation_reloads_a_running_server_only() {
    if logrotate().is_none() {
        eprintln!("note: logrotate is not installed (package logrotate); skipping");
        return;
    }
    // Our own pid is certainly alive.
    let (rotated, calls) = rotate(Some(std::process::id()));
    assert!(rotated);
    assert_eq!(
        calls, "graceful\n",
        "one graceful for all logs (sharedscripts)"
    );
    let (rotated, calls) = rotate(None);
    assert!(rotated);
    assert_eq!(calls, "", "no server, no graceful (it would start one)");
    // A stale pid file: a process that has exited.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let (_, calls) = rotate(Some(pid));
    assert_eq!(calls, "", "stale pid file, no graceful");
}
