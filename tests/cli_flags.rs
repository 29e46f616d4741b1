//! httpd's command line: usage on -h and bad flags (exit 1), -v, -V's "Server MPM:" line that
//! a2query parses, -l, -L, -k verbs, -f relative to ServerRoot, DUMP_INCLUDES.

use std::process::{Command, Output};

fn mpmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_and_bad_flags_print_usage_and_exit_1() {
    let h = mpmd(&["-h"]);
    assert_eq!(h.status.code(), Some(1));
    assert!(text(&h.stderr).starts_with("Usage: mpmd [-D name] [-d directory] [-f file]\n"));
    let z = mpmd(&["-Z"]);
    assert_eq!(z.status.code(), Some(1));
    assert!(text(&z.stderr).starts_with("mpmd: illegal option -- Z\nUsage: mpmd"));
    let k = mpmd(&["-k", "bogus"]);
    assert_eq!(k.status.code(), Some(1));
    assert!(text(&k.stderr).starts_with("mpmd: illegal option -- k\nUsage: mpmd"));
}

#[test]
fn version() {
    let v = mpmd(&["-v"]);
    assert_eq!(v.status.code(), Some(0));
    let out = text(&v.stdout);
    assert!(out.starts_with("Server version: mpmd/"), "{out}");
    assert!(out.contains("Apache/2.4.71"), "{out}");
    assert_eq!(out.lines().count(), 2);
}

fn minimal_config(mpm: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("t.conf"),
        format!(
            "LoadModule mpm_{mpm}_module x.so\nListen 127.0.0.1:19598\nServerName t\nDocumentRoot {r}\nPidFile {r}/pid\nInclude sub.conf\n",
            r = root.display()
        ),
    )
    .unwrap();
    std::fs::write(root.join("sub.conf"), "KeepAlive On\n").unwrap();
    dir
}

#[test]
fn build_settings_name_the_mpm_like_httpd() {
    for (mpm, threaded) in [
        ("event", "yes (fixed thread count)"),
        ("worker", "yes (fixed thread count)"),
        ("prefork", "no"),
    ] {
        let dir = minimal_config(mpm);
        // -f is relative to ServerRoot (-d), not to the current directory.
        let v = mpmd(&["-d", dir.path().to_str().unwrap(), "-f", "t.conf", "-V"]);
        assert_eq!(v.status.code(), Some(0));
        let out = text(&v.stdout);
        assert!(out.contains(&format!("\nServer MPM:     {mpm}\n")), "{out}");
        assert!(
            out.contains(&format!("\n  threaded:     {threaded}\n")),
            "{out}"
        );
        assert!(
            out.contains("\n    forked:     yes (variable process count)\n"),
            "{out}"
        );
    }
}

#[test]
fn build_settings_without_a_config_leave_the_mpm_empty() {
    let v = mpmd(&["-d", "/nonexistent-mpmd", "-V"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(text(&v.stdout).contains("\nServer MPM:     \n"));
}

#[test]
fn missing_main_file_is_a_read_error() {
    let o = mpmd(&["-d", "/nonexistent-mpmd", "-t"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "mpmd: Could not open configuration file /nonexistent-mpmd/mpmd.conf: No such file or directory\n"
    );
}

#[test]
fn compiled_in_modules_and_directives() {
    let l = text(&mpmd(&["-l"]).stdout);
    assert!(l.starts_with("Compiled in modules:\n  core.c\n"), "{l}");
    assert!(l.contains("\n  event.c\n") && l.contains("\n  mod_status.c\n"));
    let big_l = text(&mpmd(&["-L"]).stdout);
    assert!(
        big_l.contains("KeepAliveTimeout (http_core.c)\n"),
        "{big_l}"
    );
    assert!(big_l.contains("<VirtualHost (core.c)\n"));
}

#[test]
fn dumps_replace_syntax_ok() {
    let dir = minimal_config("event");
    let root = dir.path().to_str().unwrap();
    let m = mpmd(&["-d", root, "-f", "t.conf", "-M"]);
    assert_eq!(m.status.code(), Some(0));
    assert!(text(&m.stdout)
        .starts_with("Loaded Modules:\n core_module (static)\n so_module (static)\n"));
    assert!(text(&m.stdout).contains("\n mpm_event_module (shared)\n"));
    assert!(!text(&m.stderr).contains("Syntax OK"));
    let i = mpmd(&["-d", root, "-f", "t.conf", "-t", "-D", "DUMP_INCLUDES"]);
    assert_eq!(
        text(&i.stdout),
        format!("Included configuration files:\n  (*) {root}/t.conf\n    (6) {root}/sub.conf\n")
    );
    let t = mpmd(&["-d", root, "-f", "t.conf", "-t"]);
    assert_eq!(text(&t.stderr), "Syntax OK\n");
    assert!(t.stdout.is_empty());
}

/// `-S` in httpd's exact format (spec/signals.md §6), without needing apache2 installed.
#[test]
fn vhost_and_run_settings_dump() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().canonicalize().unwrap();
    let root = r.to_str().unwrap();
    std::fs::create_dir(r.join("logs")).unwrap();
    let conf = format!(
        "LoadModule mpm_worker_module x.so\nListen 127.0.0.1:19596\nServerName main.example\n\
         DocumentRoot {root}\nErrorLog logs/error.log\nPidFile logs/httpd.pid\n\
         <VirtualHost *:19596>\nServerName a.example\nServerAlias www.a.example *.a.example\n</VirtualHost>\n\
         <VirtualHost *:19596>\nServerName b.example\n</VirtualHost>\n\
         <VirtualHost 127.0.0.1:19597>\nServerName c.example\n</VirtualHost>\n"
    );
    std::fs::write(r.join("t.conf"), conf).unwrap();
    let out = mpmd(&["-d", root, "-f", "t.conf", "-DEXTRA", "-S"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let f = format!("{root}/t.conf");
    let want = format!(
        "VirtualHost configuration:\n\
         127.0.0.1:19597        c.example ({f}:14)\n\
         *:19596                is a NameVirtualHost\n\
         \x20        default server a.example ({f}:7)\n\
         \x20        port 19596 namevhost a.example ({f}:7)\n\
         \x20                alias www.a.example\n\
         \x20                wild alias *.a.example\n\
         \x20        port 19596 namevhost b.example ({f}:11)\n\
         ServerRoot: \"{root}\"\n\
         Main DocumentRoot: \"{root}\"\n\
         Main ErrorLog: \"{root}/logs/error.log\"\n\
         Mutex watchdog-callback: using_defaults\n\
         Mutex mpm-accept: using_defaults\n\
         Mutex default: dir=\"{root}/logs/\" mechanism=default \n\
         PidFile: \"{root}/logs/httpd.pid\"\n\
         Define: EXTRA\n\
         Define: DUMP_VHOSTS\n\
         Define: DUMP_RUN_CFG\n\
         User: name=\"#-1\" id=4294967295\n\
         Group: name=\"#-1\" id=4294967295\n"
    );
    assert_eq!(text(&out.stdout), want);
}
