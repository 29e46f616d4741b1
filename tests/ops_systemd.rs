//! The systemd units pass `systemd-analyze verify` without a single complaint. The units name
//! /usr/sbin/mpmctl, which verify wants to exist, so a copy pointing at the built binary is
//! checked. Skipped (with a note) where systemd-analyze is not installed.

use std::path::Path;
use std::process::Command;

const MPMCTL: &str = env!("CARGO_BIN_EXE_mpmctl");

fn verify(unit_file: &str, as_name: &str) {
    if !Path::new("/usr/bin/systemd-analyze").exists() && which("systemd-analyze").is_none() {
        eprintln!("note: systemd-analyze is not installed (package systemd); skipping {unit_file}");
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("systemd")
        .join(unit_file);
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(
        text.contains("/usr/sbin/mpmctl"),
        "the unit runs the installed mpmctl"
    );
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join(unit_file);
    std::fs::write(&unit, text.replace("/usr/sbin/mpmctl", MPMCTL)).unwrap();
    let target = if as_name == unit_file {
        unit.clone()
    } else {
        let alias = dir.path().join(as_name);
        std::os::unix::fs::symlink(unit_file, &alias).unwrap();
        alias
    };
    // --man=no: the man pages are only there once the package is installed.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&target)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify {as_name} failed:\n{stderr}"
    );
    // Unknown keys and bad values are only warnings (exit 0): none allowed.
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify {as_name} complained:\n{stderr}"
    );
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

#[test]
fn mpmd_service_verifies() {
    verify("mpmd.service", "mpmd.service");
}

#[test]
fn mpmd_instance_service_verifies() {
    verify("mpmd@.service", "mpmd@web2.service");
}

#[test]
fn unit_keeps_the_stop_graceful_and_the_reload_checked() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/mpmd.service"))
            .unwrap();
    let has = |line: &str| text.lines().any(|l| l.trim() == line);
    assert!(has("Type=notify"));
    assert!(has("KillMode=mixed"));
    assert!(has("KillSignal=SIGWINCH"));
    // ExecStop + KillSignal would signal twice and turn the graceful stop into a hard one.
    assert!(!text.lines().any(|l| l.starts_with("ExecStop=")));
    let reload: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("ExecReload="))
        .collect();
    assert_eq!(
        reload,
        [
            "ExecReload=/usr/sbin/mpmctl configtest",
            "ExecReload=/bin/kill -USR1 $MAINPID"
        ]
    );
    assert!(text.contains("CAP_NET_BIND_SERVICE") && text.contains("CAP_SETUID"));
}
