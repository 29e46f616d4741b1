//! mpmd-enmod and friends on temp trees: Depends recursion, Conflicts, the automatic MPM
//! switch, dismod refusing while dependents are enabled, globs, exit codes, messages, state
//! markers, mpmd-query, and (when Debian's apache2 is installed) a side-by-side run against
//! the real a2enmod on copies of /etc/apache2.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mpmd-enmod");

struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    state: PathBuf,
    bin: PathBuf,
}

impl Tree {
    /// A small Debian-layout tree: three MPMs (event enabled), proxy with dependents, a
    /// conflicting pair, essential `mime`, a conf and two sites.
    fn new() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let conf = root.join("etc");
        let state = root.join("state");
        let bin = root.join("bin");
        for d in [
            "mods-available",
            "mods-enabled",
            "conf-available",
            "conf-enabled",
            "sites-available",
            "sites-enabled",
        ] {
            fs::create_dir_all(conf.join(d)).unwrap();
        }
        fs::create_dir_all(&bin).unwrap();
        let m = |name: &str, header: &str| {
            fs::write(
                conf.join("mods-available").join(format!("{name}.load")),
                format!(
                    "{header}LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so\n"
                ),
            )
            .unwrap();
        };
        m("mpm_event", "# Conflicts: mpm_worker mpm_prefork\n");
        m("mpm_worker", "# Conflicts: mpm_event mpm_prefork\n");
        m("mpm_prefork", "# Conflicts: mpm_event mpm_worker\n");
        m("proxy", "");
        m("alias", "");
        m("slotmem_shm", "");
        m("proxy_balancer", "# Depends: proxy alias slotmem_shm\n");
        m("proxy_http", "# Depends: proxy\n");
        m("status", "");
        m("nostatus", "# Conflicts: status\n");
        m("mime", "");
        m("chain_a", "# Depends: chain_b\n");
        m("chain_b", "# Depends: chain_c\n");
        m("chain_c", "");
        m("broken_dep", "# Depends: not_there\n");
        m("late", "LoadModule x y\n# Depends: proxy\n");
        for conf_file in [
            "mpm_event",
            "mpm_worker",
            "mpm_prefork",
            "proxy",
            "status",
            "mime",
        ] {
            fs::write(
                conf.join("mods-available")
                    .join(format!("{conf_file}.conf")),
                "# settings\n",
            )
            .unwrap();
        }
        fs::write(
            conf.join("conf-available/fcgi-php.conf"),
            "# Depends: proxy_http\nProxyTimeout 5\n",
        )
        .unwrap();
        fs::write(
            conf.join("conf-available/security.conf"),
            "ServerTokens OS\n",
        )
        .unwrap();
        fs::write(
            conf.join("sites-available/000-default.conf"),
            "<VirtualHost *:80>\n</VirtualHost>\n",
        )
        .unwrap();
        fs::write(
            conf.join("sites-available/shop.conf"),
            "<VirtualHost *:80>\n</VirtualHost>\n",
        )
        .unwrap();
        let t = Tree {
            _tmp: tmp,
            root,
            conf,
            state,
            bin,
        };
        for name in ["mpm_event", "alias", "status", "mime"] {
            t.link("mods", name, ".load");
        }
        for name in ["mpm_event", "status", "mime"] {
            t.link("mods", name, ".conf");
        }
        t.link("sites", "000-default", ".conf");
        for tool in [
            "enmod", "dismod", "ensite", "dissite", "enconf", "disconf", "query",
        ] {
            std::os::unix::fs::symlink(BIN, t.bin.join(format!("mpmd-{tool}"))).unwrap();
        }
        t
    }

    fn link(&self, dir: &str, name: &str, sfx: &str) {
        std::os::unix::fs::symlink(
            format!("../{dir}-available/{name}{sfx}"),
            self.conf.join(format!("{dir}-enabled/{name}{sfx}")),
        )
        .unwrap();
    }

    fn run_with(&self, tool: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(self.bin.join(format!("mpmd-{tool}")))
            .args(args)
            .env_remove("MPMD_ENVVARS")
            .env("MPMD_CONFDIR", &self.conf)
            .env("MPMD_STATE_DIRECTORY", &self.state)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, tool: &str, args: &[&str]) -> (i32, String, String) {
        let o = self.run_with(tool, args, "");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn enabled(&self, dir: &str, file: &str) -> bool {
        self.conf.join(format!("{dir}-enabled")).join(file).exists()
    }

    fn target(&self, dir: &str, file: &str) -> PathBuf {
        fs::read_link(self.conf.join(format!("{dir}-enabled")).join(file)).unwrap()
    }

    fn marker(&self, path: &str) -> bool {
        self.state.join(path).is_file()
    }
}

fn hint(t: &Tree) -> String {
    format!(
        "To activate the new configuration, you need to run:\n  MPMD_CONFDIR={} mpmctl graceful\n",
        t.conf.display()
    )
}

#[test]
fn enable_follows_depends_recursively_with_relative_links() {
    let t = Tree::new();
    let (rc, out, err) = t.run("enmod", &["chain_a"]);
    assert_eq!((rc, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        format!(
            "Considering dependency chain_b for chain_a:\n\
             Considering dependency chain_c for chain_b:\n\
             Enabling module chain_c.\n\
             Enabling module chain_b.\n\
             Enabling module chain_a.\n{}",
            hint(&t)
        )
    );
    assert_eq!(
        t.target("mods", "chain_c.load"),
        Path::new("../mods-available/chain_c.load")
    );
    assert!(t.marker("module/enabled_by_admin/chain_a"));

    let (rc, out, _) = t.run("enmod", &["proxy_balancer.load"]);
    assert_eq!(rc, 0);
    assert_eq!(
        out,
        format!(
            "Considering dependency proxy for proxy_balancer:\n\
             Enabling module proxy.\n\
             Considering dependency alias for proxy_balancer:\n\
             Module alias already enabled\n\
             Considering dependency slotmem_shm for proxy_balancer:\n\
             Enabling module slotmem_shm.\n\
             Enabling module proxy_balancer.\n{}",
            hint(&t)
        )
    );
    assert!(t.enabled("mods", "proxy.conf"), "the .conf comes along");

    // Again: nothing to do, no hint, still success.
    let (rc, out, _) = t.run("enmod", &["-q", "proxy_balancer"]);
    assert_eq!((rc, out.as_str()), (0, ""));
    let (rc, out, _) = t.run("enmod", &["chain_c"]);
    assert_eq!((rc, out.as_str()), (0, "Module chain_c already enabled\n"));
}

#[test]
fn failed_dependency_and_conflicts_abort_with_status_1() {
    let t = Tree::new();
    let (rc, _, err) = t.run("enmod", &["broken_dep"]);
    assert_eq!(rc, 1);
    assert_eq!(
        err,
        "ERROR: Module not_there does not exist!\n\
         ERROR: Could not enable dependency not_there for broken_dep, aborting\n"
    );
    assert!(!t.enabled("mods", "broken_dep.load"));

    let (rc, out, err) = t.run("enmod", &["nostatus"]);
    assert_eq!(rc, 1);
    assert_eq!(out, "Considering conflict status for nostatus:\n");
    assert_eq!(
        err,
        "ERROR: Module status is enabled - cannot proceed due to conflicts. It needs to be disabled first!\n"
    );
    assert!(!t.enabled("mods", "nostatus.load"));

    // A header after the first directive does not count.
    let (rc, out, _) = t.run("enmod", &["late"]);
    assert_eq!(
        (rc, out.starts_with("Enabling module late.\n")),
        (0, true),
        "{out}"
    );
    assert!(!t.enabled("mods", "proxy.load"));

    // One good and one bad object: the good one is done, the status is 1.
    let (rc, _, err) = t.run("enmod", &["nope", "chain_c"]);
    assert_eq!(rc, 1);
    assert_eq!(err, "ERROR: Module nope does not exist!\n");
    assert!(t.enabled("mods", "chain_c.load"));
}

#[test]
fn enabling_an_mpm_switches_from_the_other_one() {
    let t = Tree::new();
    let (rc, out, err) = t.run("enmod", &["mpm_prefork"]);
    assert_eq!((rc, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!(
            "Switching MPM: disabling mpm_event to enable mpm_prefork.\n\
             Module mpm_event disabled.\n\
             Considering conflict mpm_event for mpm_prefork:\n\
             Considering conflict mpm_worker for mpm_prefork:\n\
             Enabling module mpm_prefork.\n{}",
            hint(&t)
        )
    );
    assert!(!t.enabled("mods", "mpm_event.load") && !t.enabled("mods", "mpm_event.conf"));
    assert!(t.enabled("mods", "mpm_prefork.load") && t.enabled("mods", "mpm_prefork.conf"));
    assert!(t.marker("module/disabled_by_admin/mpm_event"));
    let (rc, out, _) = t.run("query", &["-M"]);
    assert_eq!((rc, out.as_str()), (0, "prefork\n"));

    // And on to worker, via the first-argument form of the same binary.
    let o = Command::new(BIN)
        .args(["enmod", "-q", "mpm_worker"])
        .env("MPMD_CONFDIR", &t.conf)
        .env("MPMD_STATE_DIRECTORY", &t.state)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Switching MPM: disabling mpm_prefork to enable mpm_worker.\nModule mpm_prefork disabled.\nEnabling module mpm_worker.\n"
    );
    let (_, out, _) = t.run("query", &["-M"]);
    assert_eq!(out, "worker\n");
}

#[test]
fn dismod_refuses_while_dependents_are_enabled_unless_forced() {
    let t = Tree::new();
    assert_eq!(t.run("enmod", &["-q", "proxy_balancer", "proxy_http"]).0, 0);
    let (rc, out, err) = t.run("dismod", &["proxy"]);
    assert_eq!((rc, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "ERROR: The following modules depend on proxy and need to be disabled first: proxy_balancer proxy_http\n"
    );
    assert!(t.enabled("mods", "proxy.load"));

    let (rc, out, err) = t.run("dismod", &["-f", "proxy"]);
    assert_eq!((rc, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!(
            "Considering dependency proxy_balancer for proxy:\n\
             Module proxy_balancer disabled.\n\
             Considering dependency proxy_http for proxy:\n\
             Module proxy_http disabled.\n\
             Module proxy disabled.\n{}",
            hint(&t)
        )
    );
    assert!(!t.enabled("mods", "proxy.load") && !t.enabled("mods", "proxy.conf"));
    assert!(t.enabled("mods", "slotmem_shm.load"), "dependencies stay");
    let (rc, out, _) = t.run("dismod", &["proxy"]);
    assert_eq!((rc, out.as_str()), (0, "Module proxy already disabled\n"));
}

#[test]
fn without_names_it_lists_the_choices_and_asks() {
    let t = Tree::new();
    let o = t.run_with("dismod", &[], "status alias\n");
    // The declined prompt for alias ends the run with status 1, as a2dismod does.
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(
            "Your choices are: alias mime mpm_event status\n\
             Which module(s) do you want to disable (wildcards ok)?\n\
             Module status disabled.\n"
        ),
        "{out}"
    );
    // alias is essential: the prompt comes, and EOF is not a yes.
    assert!(out.contains("Aborting\n"), "{out}");
    assert!(!t.enabled("mods", "status.load") && t.enabled("mods", "alias.load"));
}

#[test]
fn essential_modules_need_confirmation_or_force() {
    let t = Tree::new();
    let o = t.run_with("dismod", &["mime"], "no\n");
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("WARNING: The following essential module will be disabled.\n"));
    assert!(out.ends_with("'-f': Aborting\n"), "{out}");
    assert!(t.enabled("mods", "mime.load"));
    let o = t.run_with("dismod", &["mime"], "Yes, do as I say!\n");
    assert_eq!(o.status.code(), Some(0));
    assert!(!t.enabled("mods", "mime.load"));
}

#[test]
fn globs_suffixes_options_and_exit_codes() {
    let t = Tree::new();
    // -q hides the "Considering"/"already" lines, not what was done.
    let (rc, out, _) = t.run("enmod", &["-q", "chain_*"]);
    assert_eq!(
        (rc, out.as_str()),
        (
            0,
            "Enabling module chain_c.\nEnabling module chain_b.\nEnabling module chain_a.\n"
        )
    );
    for n in ["chain_a", "chain_b", "chain_c"] {
        assert!(t.enabled("mods", &format!("{n}.load")));
    }
    let (rc, _, err) = t.run("enmod", &["zz*"]);
    assert_eq!(
        (rc, err.as_str()),
        (1, "ERROR: No module found matching zz*!\n")
    );
    let (rc, _, err) = t.run("dismod", &["-x", "status"]);
    assert_eq!((rc, err.as_str()), (2, "Unknown option: x\n"));
    let (rc, _, err) = t.run("ensite", &["--nope"]);
    assert_eq!((rc, err.as_str()), (2, "Unknown option: nope\n"));
    assert!(
        t.enabled("mods", "status.load"),
        "bad options change nothing"
    );
    // Options may follow the names, like Getopt::Long.
    let (rc, out, _) = t.run("dismod", &["status.load", "-q"]);
    assert_eq!((rc, out.as_str()), (0, "Module status disabled.\n"));
    // `-d DIR` beats MPMD_CONFDIR.
    let o = Command::new(t.bin.join("mpmd-query"))
        .args(["--confdir", t.conf.to_str().unwrap(), "-m", "alias"])
        .env("MPMD_CONFDIR", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "alias (enabled by unknown)\n"
    );
    let o = Command::new(t.bin.join("mpmd-enmod"))
        .args(["-d", t.conf.to_str().unwrap(), "chain_c"])
        .env("MPMD_CONFDIR", "/nonexistent")
        .env("MPMD_STATE_DIRECTORY", &t.state)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t.enabled("mods", "chain_c.load"));
}

#[test]
fn sites_and_confs_check_their_module_dependencies() {
    let t = Tree::new();
    let (rc, out, err) = t.run("enconf", &["fcgi-php"]);
    assert_eq!(rc, 1);
    assert_eq!(out, "Checking dependency proxy_http for fcgi-php:\n");
    assert_eq!(
        err,
        "WARNING: Module proxy_http is not enabled, but fcgi-php depends on it, aborting\n"
    );
    assert_eq!(t.run("enmod", &["-q", "proxy_http"]).0, 0);
    let (rc, out, _) = t.run("enconf", &["fcgi-php.conf"]);
    assert_eq!(rc, 0);
    assert!(out.contains("Enabling conf fcgi-php.\n"), "{out}");
    assert_eq!(
        t.target("conf", "fcgi-php.conf"),
        Path::new("../conf-available/fcgi-php.conf")
    );

    let (rc, out, _) = t.run("ensite", &["shop"]);
    assert_eq!(rc, 0);
    assert_eq!(out, format!("Enabling site shop.\n{}", hint(&t)));
    let (rc, out, _) = t.run("dissite", &["000-default"]);
    assert_eq!(rc, 0);
    assert_eq!(out, format!("Site 000-default disabled.\n{}", hint(&t)));
    let (rc, out, _) = t.run("dissite", &["000-default"]);
    assert_eq!(
        (rc, out.as_str()),
        (0, "Site 000-default already disabled\n")
    );
    let (rc, out, _) = t.run("disconf", &["-q", "security"]);
    assert_eq!((rc, out.as_str()), (0, ""));
    let (rc, _, err) = t.run("ensite", &["nosuch"]);
    assert_eq!(
        (rc, err.as_str()),
        (1, "ERROR: Site nosuch does not exist!\n")
    );
    let (rc, _, err) = t.run("enconf", &["nosuch"]);
    assert_eq!(
        (rc, err.as_str()),
        (1, "ERROR: Conf nosuch does not exist!\n")
    );
}

#[test]
fn links_that_are_not_ours_are_left_alone() {
    let t = Tree::new();
    fs::write(t.conf.join("mods-enabled/chain_c.load"), "real file\n").unwrap();
    let (rc, _, err) = t.run("enmod", &["chain_c"]);
    assert_eq!(rc, 1);
    let p = t.conf.join("mods-enabled/chain_c.load");
    assert_eq!(
        err,
        format!(
            "ERROR: Module chain_c not properly enabled: {} is a real file, not touching it\n",
            p.display()
        )
    );
    // A dangling link of a removed module is cleaned up by dismod.
    std::os::unix::fs::symlink(
        "../mods-available/gone.load",
        t.conf.join("mods-enabled/gone.load"),
    )
    .unwrap();
    let (rc, out, _) = t.run("dismod", &["gone"]);
    assert_eq!(rc, 0);
    assert_eq!(
        out,
        format!(
            "removing dangling symlink {}\n",
            t.conf.join("mods-enabled/gone.load").display()
        )
    );
    assert!(fs::symlink_metadata(t.conf.join("mods-enabled/gone.load")).is_err());
}

#[test]
fn query_reports_state_and_who_changed_it() {
    let t = Tree::new();
    let (rc, out, _) = t.run("query", &["-m"]);
    assert_eq!(rc, 0);
    assert_eq!(
        out,
        "alias (enabled by unknown)\nmime (enabled by unknown)\nmpm_event (enabled by unknown)\nstatus (enabled by unknown)\n"
    );
    let (rc, out, _) = t.run("query", &["-s", "000-default"]);
    assert_eq!(
        (rc, out.as_str()),
        (0, "000-default (enabled by unknown)\n")
    );
    let (rc, _, err) = t.run("query", &["-m", "proxy"]);
    assert_eq!((rc, err.as_str()), (1, "No module matches proxy\n"));
    let (rc, out, err) = t.run("query", &["-q", "-m", "proxy"]);
    assert_eq!((rc, out.as_str(), err.as_str()), (1, "", ""));

    t.run("dismod", &["status"]);
    let (rc, _, err) = t.run("query", &["-m", "status"]);
    assert_eq!(
        (rc, err.as_str()),
        (
            32,
            "No module matches status (disabled by site administrator)\n"
        )
    );
    t.run("dissite", &["-m", "000-default"]);
    let (rc, _, err) = t.run("query", &["-s", "000-default.conf"]);
    assert_eq!(
        (rc, err.as_str()),
        (
            33,
            "No site matches 000-default (disabled by maintainer script)\n"
        )
    );
    t.run("enmod", &["-q", "proxy"]);
    let (_, out, _) = t.run("query", &["-m", "modproxy"]);
    assert_eq!(out, "proxy (enabled by site administrator)\n");
    t.run("enconf", &["-qm", "security"]);
    let (_, out, _) = t.run("query", &["-c", "security"]);
    assert_eq!(out, "security (enabled by maintainer script)\n");

    // Two MPMs by hand: every query refuses.
    t.link("mods", "mpm_worker", ".load");
    let (rc, _, err) = t.run("query", &["-v"]);
    assert_eq!(
        (rc, err.as_str()),
        (
            1,
            "There is more than one MPM loaded. Do not proceed due to undefined results\n"
        )
    );
    // mpmd-enmod repairs it.
    let (rc, _, _) = t.run("enmod", &["-q", "mpm_worker"]);
    assert_eq!(rc, 0);
    let (rc, out, _) = t.run("query", &["-M"]);
    assert_eq!((rc, out.as_str()), (0, "worker\n"));
}

#[test]
fn envvars_is_read_before_the_folders_are_chosen() {
    let t = Tree::new();
    let other_state = t.root.join("state-from-envvars");
    fs::write(
        t.conf.join("envvars"),
        format!("export MPMD_STATE_DIRECTORY={}\n", other_state.display()),
    )
    .unwrap();
    let o = Command::new(t.bin.join("mpmd-enmod"))
        .arg("chain_c")
        .env("MPMD_CONFDIR", &t.conf)
        .env_remove("MPMD_STATE_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(other_state
        .join("module/enabled_by_admin/chain_c")
        .is_file());
}

/// The same commands against Debian's a2enmod on a copy of /etc/apache2 give the same
/// output, exit codes, links and markers (MPM switching excepted, by design).
#[test]
fn matches_debian_a2enmod_on_a_copy_of_etc_apache2() {
    if !Path::new("/usr/sbin/a2enmod").exists()
        || !Path::new("/etc/apache2/mods-available").is_dir()
    {
        eprintln!("note: skipping the a2enmod comparison: apache2 is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let dst = tmp.path().join(name);
        fs::create_dir_all(&dst).unwrap();
        let st = Command::new("cp")
            .args(["-a", "/etc/apache2"])
            .arg(dst.join("etc"))
            .status()
            .unwrap();
        assert!(st.success());
        fs::create_dir_all(dst.join("state")).unwrap();
        dst
    };
    let a = copy("a");
    let m = copy("m");
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["enmod", "dismod", "ensite", "dissite", "enconf", "disconf"] {
        std::os::unix::fs::symlink(BIN, bin.join(format!("mpmd-{tool}"))).unwrap();
    }
    let steps: &[&[&str]] = &[
        &["enmod", "proxy_balancer"],
        &["enmod", "proxy_balancer"],
        &["dismod", "proxy"],
        &["dismod", "-f", "proxy"],
        &["enmod", "nosuch"],
        &["enmod", "nosuch*"],
        &["enmod", "-x"],
        &["enmod", "proxy_h*"],
        &["dismod", "status.load"],
        &["dismod", "-p", "status"],
        &["enmod", "-m", "status"],
        &["enconf", "nosuch"],
        &["enconf", "serve-cgi-bin"],
        &["disconf", "serve-cgi-bin"],
        &["dissite", "000-default"],
        &["ensite", "000-default.conf"],
        &["enmod", "-q", "ssl"],
        &["ensite", "default-ssl"],
        &["dismod", "-f", "mime"],
        &["dismod", "-q", "proxy_http2", "http2"],
        &["dismod", "-f", "ssl", "socache_shmcb"],
    ];
    for step in steps {
        let ours = Command::new(bin.join(format!("mpmd-{}", step[0])))
            .args(&step[1..])
            .env("MPMD_CONFDIR", m.join("etc"))
            .env("MPMD_STATE_DIRECTORY", m.join("state"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let theirs = Command::new(format!("/usr/sbin/a2{}", step[0]))
            .args(&step[1..])
            .env("APACHE_CONFDIR", a.join("etc"))
            .env("APACHE_STATE_DIRECTORY", a.join("state"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let norm = |o: &Output, tree: &Path| {
            let s = String::from_utf8_lossy(&o.stdout)
                .replace(&tree.display().to_string(), "TREE")
                .replace("service apache2 restart", "RELOAD")
                .replace("service apache2 reload", "RELOAD")
                .replace("systemctl restart apache2", "RELOAD")
                .replace("systemctl reload apache2", "RELOAD")
                .replace("MPMD_CONFDIR=TREE/etc mpmctl graceful", "RELOAD")
                .replace("/usr/share/doc/apache2/README.Debian.gz", "DOC")
                .replace("/usr/share/doc/mpmd/operations.md", "DOC");
            let e = String::from_utf8_lossy(&o.stderr).replace(&tree.display().to_string(), "TREE");
            (o.status.code(), s, e)
        };
        assert_eq!(norm(&ours, &m), norm(&theirs, &a), "step {step:?}");
    }
    let links = |root: &Path| {
        let o = Command::new("find")
            .arg(".")
            .args(["-type", "l", "-printf", "%p -> %l\n"])
            .current_dir(root)
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    assert_eq!(links(&m.join("etc")), links(&a.join("etc")));
    let files = |root: &Path| {
        let o = Command::new("find")
            .arg(".")
            .current_dir(root)
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    assert_eq!(files(&m.join("state")), files(&a.join("state")));
}

/// The bundled tree (conf/): every `# Depends:`/`# Conflicts:` name exists, the shipped
/// enabled set is closed under Depends with exactly one MPM, and every module can be enabled
/// and the MPM switched on a copy.
#[test]
fn bundled_tree_headers_resolve_and_every_module_enables() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    if !conf.join("mods-available").is_dir() {
        panic!("conf/mods-available is missing: the bundled tree is part of the repository");
    }
    let avail = conf.join("mods-available");
    let mut names: Vec<String> = fs::read_dir(&avail)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".load").map(str::to_owned)
        })
        .collect();
    names.sort();
    let header = |name: &str, what: &str| {
        let text = fs::read_to_string(avail.join(format!("{name}.load"))).unwrap();
        mpmd::enmod::parse_header(&text, what)
    };
    for n in &names {
        for what in ["Depends", "Conflicts"] {
            for d in header(n, what) {
                assert!(
                    names.contains(&d),
                    "{n}.load: {what} {d}, which has no {d}.load"
                );
            }
        }
    }
    let enabled: Vec<String> = names
        .iter()
        .filter(|n| conf.join(format!("mods-enabled/{n}.load")).exists())
        .cloned()
        .collect();
    for n in &enabled {
        for d in header(n, "Depends") {
            assert!(
                enabled.contains(&d),
                "{n} is enabled but its dependency {d} is not"
            );
        }
    }
    let mpms: Vec<&String> = enabled.iter().filter(|n| n.starts_with("mpm_")).collect();
    assert_eq!(mpms.len(), 1, "exactly one MPM enabled: {mpms:?}");

    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("mpmd");
    assert!(Command::new("cp")
        .args(["-a"])
        .arg(&conf)
        .arg(&copy)
        .status()
        .unwrap()
        .success());
    let run = |args: &[&str]| {
        let o = Command::new(BIN)
            .args(args)
            .env("MPMD_CONFDIR", &copy)
            .env("MPMD_STATE_DIRECTORY", tmp.path().join("state"))
            .env_remove("MPMD_ENVVARS")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    for mpm in ["mpm_worker", "mpm_prefork", "mpm_event"] {
        let (rc, out) = run(&["enmod", "-q", mpm]);
        assert_eq!(rc, Some(0), "{out}");
        let (_, q) = run(&["query", "-M"]);
        assert_eq!(q.trim(), mpm.trim_start_matches("mpm_"));
    }
    for n in names.iter().filter(|n| !n.starts_with("mpm_")) {
        let (rc, out) = run(&["enmod", "-q", n]);
        assert_eq!(rc, Some(0), "enabling {n}: {out}");
    }
    let (rc, out) = run(&["query", "-q", "-M"]);
    assert_eq!((rc, out.as_str()), (Some(0), ""));
}
