//! Debian's stock /etc/apache2 tree: `mpmd -t` accepts it under each MPM (switched the way
//! a2enmod does, by swapping the mods-enabled symlinks in a copy), and `-S`/`-M` name the same
//! vhosts and modules as `apache2ctl -S/-M`. Skipped, with a note, where /etc/apache2 is absent.
//! Needs the per-directory directive tables (mime, dir, alias, authz …) to be filled in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const APACHE_ROOT: &str = "/etc/apache2";

fn have_debian_tree() -> bool {
    if Path::new(APACHE_ROOT).join("apache2.conf").is_file() {
        true
    } else {
        eprintln!("note: {APACHE_ROOT} is absent; Debian-tree tests skipped");
        false
    }
}

/// The variables `apache2ctl` exports from envvars, for a tree at `root`.
fn envvars(root: &Path) -> Vec<(String, String)> {
    let script = format!(
        "export APACHE_CONFDIR={}; . {}/envvars; env",
        root.display(),
        root.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("APACHE_") || *k == "LANG")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mpmd(root: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpmd"));
    c.arg("-d")
        .arg(root)
        .arg("-f")
        .arg("apache2.conf")
        .args(args);
    for (k, v) in envvars(root) {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of /etc/apache2 where mods-enabled/ links are made as a2enmod makes them.
fn copy_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("apache2");
    let st = Command::new("cp")
        .args(["-a", APACHE_ROOT])
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    (dir, root)
}

fn switch_mpm(root: &Path, to: &str) {
    let enabled = root.join("mods-enabled");
    for e in std::fs::read_dir(&enabled).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("mpm_") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for ext in ["load", "conf"] {
        let target = format!("../mods-available/{to}.{ext}");
        if root
            .join("mods-available")
            .join(format!("{to}.{ext}"))
            .exists()
        {
            std::os::unix::fs::symlink(target, enabled.join(format!("{to}.{ext}"))).unwrap();
        }
    }
}

#[test]
fn stock_tree_is_syntax_ok() {
    if !have_debian_tree() {
        return;
    }
    let out = mpmd(Path::new(APACHE_ROOT), &["-t"]);
    let err = text(&out.stderr);
    assert!(err.ends_with("Syntax OK\n"), "stderr:\n{err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stock_tree_under_prefork_and_worker() {
    if !have_debian_tree() {
        return;
    }
    for mpm in ["mpm_prefork", "mpm_worker"] {
        let (_keep, root) = copy_tree();
        switch_mpm(&root, mpm);
        let out = mpmd(&root, &["-t"]);
        let err = text(&out.stderr);
        assert!(err.ends_with("Syntax OK\n"), "{mpm}: stderr:\n{err}");
        let v = mpmd(&root, &["-V"]);
        let name = mpm.trim_start_matches("mpm_");
        assert!(
            text(&v.stdout).contains(&format!("Server MPM:     {name}\n")),
            "{mpm}"
        );
    }
}

/// Module names of `-M` output, `(static)`/`(shared)` dropped.
fn module_names(s: &str) -> BTreeSet<String> {
    s.lines()
        .filter(|l| l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

fn apache2ctl(args: &[&str]) -> Option<Output> {
    Command::new("apache2ctl").args(args).output().ok()
}

#[test]
fn modules_match_apache2ctl() {
    if !have_debian_tree() {
        return;
    }
    let Some(theirs) = apache2ctl(&["-M"]) else {
        eprintln!("note: apache2ctl not installed; skipped");
        return;
    };
    let ours = mpmd(Path::new(APACHE_ROOT), &["-M"]);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    assert_eq!(
        module_names(&text(&ours.stdout)),
        module_names(&text(&theirs.stdout))
    );
}

/// The vhost lines of `-S` (address, name, file:line), without the run settings.
fn vhost_lines(s: &str) -> Vec<String> {
    s.lines()
        .skip_while(|l| !l.starts_with("VirtualHost configuration:"))
        .take_while(|l| !l.starts_with("ServerRoot:"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn vhosts_match_apache2ctl() {
    if !have_debian_tree() {
        return;
    }
    let Some(theirs) = apache2ctl(&["-S"]) else {
        eprintln!("note: apache2ctl not installed; skipped");
        return;
    };
    let ours = mpmd(Path::new(APACHE_ROOT), &["-S"]);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    let ours_s = text(&ours.stdout);
    let theirs_s = text(&theirs.stdout);
    assert_eq!(vhost_lines(&ours_s), vhost_lines(&theirs_s));
    // The run settings that do not depend on the implementation.
    for key in [
        "ServerRoot:",
        "Main DocumentRoot:",
        "Main ErrorLog:",
        "PidFile:",
        "User:",
        "Group:",
    ] {
        let pick = |s: &str| s.lines().find(|l| l.starts_with(key)).map(String::from);
        assert_eq!(pick(&ours_s), pick(&theirs_s), "{key}");
    }
}

/// `-S` on a config with every kind of vhost address, against the installed apache2.
#[test]
fn vhost_dump_matches_apache2_on_mixed_addresses() {
    let apache = Path::new("/usr/sbin/apache2");
    let module = Path::new("/usr/lib/apache2/modules/mod_mpm_event.so");
    if !apache.exists() || !module.exists() {
        eprintln!("note: apache2 not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let conf = root.join("s.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot {r}\nLoadModule mpm_event_module {m}\nListen 127.0.0.1:19501\n\
             ServerName main.example\nErrorLog {r}/error.log\nPidFile {r}/pid\n\
             <VirtualHost _default_:19443>\nServerName https://ssl.example:19443\n</VirtualHost>\n\
             <VirtualHost [::1]:19501 127.0.0.1:19501>\nServerName multi.example\n</VirtualHost>\n\
             <VirtualHost 127.0.0.1:19501>\nServerName second.example\nServerAlias www.second.example *.second.example\n</VirtualHost>\n\
             <VirtualHost *>\nServerName any.example\n</VirtualHost>\n\
             <VirtualHost *:*>\nServerName anyany.example\n</VirtualHost>\n\
             <VirtualHost *:19501>\n</VirtualHost>\n",
            r = root.display(),
            m = module.display()
        ),
    )
    .unwrap();
    let theirs = Command::new(apache)
        .arg("-f")
        .arg(&conf)
        .arg("-S")
        .output()
        .unwrap();
    let ours = Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .arg("-f")
        .arg(&conf)
        .arg("-S")
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    let ours_v = vhost_lines(&text(&ours.stdout));
    let theirs_v = vhost_lines(&text(&theirs.stdout));
    assert!(ours_v.len() > 8, "{ours_v:?}");
    assert_eq!(ours_v, theirs_v);
}

/// Every module mpmd has that Debian ships a .load for, every conf-available snippet and the
/// default-ssl site, enabled in a copy: `-t` passes and `-M` lists what apache2 lists.
#[test]
fn stock_tree_with_every_module_we_build() {
    if !have_debian_tree() {
        return;
    }
    let (_keep, root) = copy_tree();
    let link = |dir: &str, target: &str, name: &str| {
        let p = root.join(dir).join(name);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(target, p).unwrap();
    };
    for m in mpmd::config::registry::modules() {
        if m.is_static || m.name.starts_with("mpm_") {
            continue;
        }
        for ext in ["load", "conf"] {
            let f = format!("{}.{ext}", m.name);
            if root.join("mods-available").join(&f).exists() {
                link("mods-enabled", &format!("../mods-available/{f}"), &f);
            }
        }
    }
    for e in std::fs::read_dir(root.join("conf-available")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".conf") {
            link("conf-enabled", &format!("../conf-available/{name}"), &name);
        }
    }
    link(
        "sites-enabled",
        "../sites-available/default-ssl.conf",
        "default-ssl.conf",
    );
    let out = mpmd(&root, &["-t"]);
    let err = text(&out.stderr);
    assert!(err.ends_with("Syntax OK\n"), "stderr:\n{err}");
    let ours = mpmd(&root, &["-M"]);
    let mut apache = Command::new("/usr/sbin/apache2");
    apache
        .arg("-d")
        .arg(&root)
        .arg("-f")
        .arg("apache2.conf")
        .arg("-M");
    for (k, v) in envvars(&root) {
        apache.env(k, v);
    }
    if let Ok(theirs) = apache.output() {
        assert_eq!(
            module_names(&text(&ours.stdout)),
            module_names(&text(&theirs.stdout))
        );
    }
}

/// Without envvars, httpd stops at DefaultRuntimeDir in the read phase (spec/config.md §4).
#[test]
fn stock_tree_without_envvars_fails_like_apache2() {
    if !have_debian_tree() {
        return;
    }
    let ours = Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .args(["-d", APACHE_ROOT, "-f", "apache2.conf", "-t"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(1));
    let err = text(&ours.stderr);
    assert!(
        err.starts_with("AH00111: Config variable ${APACHE_RUN_DIR} is not defined\n"),
        "{err}"
    );
    let main = std::fs::read_to_string(Path::new(APACHE_ROOT).join("apache2.conf")).unwrap();
    let line = main
        .lines()
        .position(|l| l.trim_start().starts_with("DefaultRuntimeDir"))
        .expect("DefaultRuntimeDir in apache2.conf")
        + 1;
    let want = format!("mpmd: Syntax error on line {line} of /etc/apache2/apache2.conf: DefaultRuntimeDir must be a valid directory, absolute or relative to ServerRoot\n");
    assert!(err.ends_with(&want), "{err}");
}
