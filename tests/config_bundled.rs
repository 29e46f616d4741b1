//! The bundled conf/ tree: `-t` passes from the source tree (`-DLOCAL`) under each MPM, and
//! generated configs of the shared compat and bench harnesses pass too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn conf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conf")
}

fn mpmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of conf/ with the MPM switched the way mpmd-enmod does (symlinks).
fn copy_with_mpm(mpm: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("conf");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(conf_dir())
        .arg(&root)
        .status()
        .unwrap()
        .success());
    let enabled = root.join("mods-enabled");
    for e in std::fs::read_dir(&enabled).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("mpm_") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for ext in ["load", "conf"] {
        std::os::unix::fs::symlink(
            format!("../mods-available/{mpm}.{ext}"),
            enabled.join(format!("{mpm}.{ext}")),
        )
        .unwrap();
    }
    (dir, root)
}

#[test]
fn bundled_tree_local_is_syntax_ok_under_each_mpm() {
    for mpm in ["mpm_event", "mpm_worker", "mpm_prefork"] {
        let (_keep, root) = copy_with_mpm(mpm);
        let out = mpmd(&[
            "-d",
            root.to_str().unwrap(),
            "-f",
            "mpmd.conf",
            "-DLOCAL",
            "-t",
        ]);
        let err = text(&out.stderr);
        assert!(err.ends_with("Syntax OK\n"), "{mpm}: {err}");
        assert_eq!(out.status.code(), Some(0));
        let s = mpmd(&[
            "-d",
            root.to_str().unwrap(),
            "-f",
            "mpmd.conf",
            "-DLOCAL",
            "-S",
        ]);
        let vhosts = text(&s.stdout);
        assert!(vhosts.contains("*:8080 "), "{vhosts}");
        assert!(
            vhosts.contains("sites-enabled/000-default.conf:2)"),
            "{vhosts}"
        );
    }
}

#[test]
fn bundled_tree_has_one_mpm_enabled_and_a_load_file_per_module() {
    let enabled: Vec<String> = std::fs::read_dir(conf_dir().join("mods-enabled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mpm_") && n.ends_with(".load"))
        .collect();
    assert_eq!(enabled, vec!["mpm_event.load"]);
    for m in mpmd::config::registry::modules()
        .iter()
        .filter(|m| !m.is_static)
    {
        let load = conf_dir()
            .join("mods-available")
            .join(format!("{}.load", m.name));
        let text = std::fs::read_to_string(&load).unwrap_or_else(|_| panic!("{}", load.display()));
        assert!(
            text.contains(&format!("LoadModule {} ", m.identifier)),
            "{}",
            load.display()
        );
    }
}

fn python_output(args: &[&str]) -> Option<String> {
    let out = Command::new("python3").args(args).output().ok()?;
    out.status.success().then(|| text(&out.stdout))
}

/// Runs `mpmd -t` on a generated Apache config (ServerRoot taken from the file itself).
fn assert_generated_config_ok(conf: &Path) {
    let out = mpmd(&["-f", conf.to_str().unwrap(), "-t"]);
    let err = text(&out.stderr);
    assert!(err.ends_with("Syntax OK\n"), "{}: {err}", conf.display());
}

#[test]
fn compat_harness_config_passes() {
    let script = "/work/shared/compat/compat.py";
    if !Path::new(script).exists() {
        eprintln!("note: {script} absent; skipped");
        return;
    }
    for mpm in ["event", "worker", "prefork"] {
        let Some(path) = python_output(&[script, "config", "--mpm", mpm]) else {
            panic!("compat.py config --mpm {mpm} failed");
        };
        assert_generated_config_ok(Path::new(path.trim()));
    }
}

#[test]
fn bench_harness_config_passes() {
    let dir = "/work/shared/bench";
    if !Path::new(dir).join("run.py").exists() {
        eprintln!("note: {dir}/run.py absent; skipped");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path().canonicalize().unwrap();
    std::fs::create_dir_all(w.join("run")).unwrap();
    std::fs::create_dir_all(w.join("docroot")).unwrap();
    for mpm in ["event", "worker", "prefork"] {
        for h2 in ["False", "True"] {
            let code = format!(
                "import sys; sys.path.insert(0, {dir:?}); import run; \
                 print(run.apache_conf({mpm:?}, 19599, {w:?}, {d:?}, [], {h2})[0])",
                w = w.to_str().unwrap(),
                d = w.join("docroot").to_str().unwrap(),
            );
            let conf = python_output(&["-c", &code]).expect("bench apache_conf");
            let path = w.join(format!("{mpm}-{h2}.conf"));
            std::fs::write(&path, conf).unwrap();
            assert_generated_config_ok(&path);
        }
    }
}

/// As installed (/etc/mpmd, no -DLOCAL): the paths come from envvars, as mpmctl and systemd
/// export them. The run and log directories are pointed at a temp dir; -T skips the
/// /var/www/html check on machines without it.
#[test]
fn bundled_tree_as_installed_reads_envvars() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let script = format!(". {}/envvars; env", conf_dir().display());
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .output()
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpmd"));
    cmd.env_clear();
    for line in text(&out.stdout).lines() {
        if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("MPMD_") {
                cmd.env(k, v);
            }
        }
    }
    cmd.env("MPMD_RUN_DIR", &run);
    cmd.env("MPMD_LOG_DIR", tmp.path());
    let out = cmd
        .args([
            "-d",
            conf_dir().to_str().unwrap(),
            "-f",
            "mpmd.conf",
            "-T",
            "-S",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("*:80 "), "{s}");
    assert!(s.contains("User: name=\"www-data\""), "{s}");
    assert!(s.contains("PidFile: \"/run/mpmd/mpmd.pid\""), "{s}");
}
