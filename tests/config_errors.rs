//! Walk-phase errors and MPM startup warnings of `mpmd -t`, each pinned to httpd's exact
//! message, file and line (messages checked against /usr/sbin/apache2 2.4.71).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Lines every test config starts with; the body begins on line `PREAMBLE_LINES + 1`.
fn preamble(mpm: &str, root: &Path) -> String {
    format!(
        "LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n\
         Listen 127.0.0.1:19599\n\
         ServerName test.example\n\
         PidFile {root}/pid\n\
         ErrorLog {root}/error.log\n\
         DocumentRoot {root}\n",
        root = root.display()
    )
}
const PREAMBLE_LINES: u32 = 6;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.root().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// Writes `main.conf` = preamble + body and runs `mpmd -t` on it.
    fn run(&self, mpm: &str, body: &str, extra: &[&str]) -> (PathBuf, Output) {
        let main = self.write("main.conf", &(preamble(mpm, &self.root()) + body));
        let out = Command::new(env!("CARGO_BIN_EXE_mpmd"))
            .arg("-d")
            .arg(self.root())
            .arg("-f")
            .arg(&main)
            .arg("-t")
            .args(extra)
            // httpd's exact output; mpmd's own MPMD-L lint is tested in tests/lint.rs.
            .env("MPMD_LINT", "off")
            .output()
            .expect("run mpmd");
        (main, out)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `mpmd -t` fails with exactly these walk errors: (body line, message).
fn assert_walk_errors(mpm: &str, body: &str, expected: &[(u32, &str)]) {
    let c = Case::new();
    let (main, out) = c.run(mpm, body, &[]);
    let want: String = expected
        .iter()
        .map(|(line, msg)| {
            format!(
                "AH00526: Syntax error on line {} of {}:\n{}\n",
                line + PREAMBLE_LINES,
                main.display(),
                msg
            )
        })
        .collect();
    assert_eq!(stderr(&out), want, "config body:\n{body}");
    assert_eq!(out.status.code(), Some(1));
}

fn assert_error(body: &str, line: u32, msg: &str) {
    assert_walk_errors("event", body, &[(line, msg)]);
}

#[test]
fn unknown_directive() {
    assert_error("Bogus on\n", 1, "Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the server configuration");
}

#[test]
fn unknown_section() {
    assert_error("<Bogus x>\n</Bogus>\n", 1, "Invalid command '<Bogus', perhaps misspelled or defined by a module not included in the server configuration");
}

#[test]
fn directive_of_a_module_not_loaded() {
    assert_error("ExtendedStatus On\n", 1, "Invalid command 'ExtendedStatus', perhaps misspelled or defined by a module not included in the server configuration");
}

#[test]
fn mpm_directive_of_another_mpm() {
    assert_error("MaxSpareServers 10\n", 1, "Invalid command 'MaxSpareServers', perhaps misspelled or defined by a module not included in the server configuration");
    assert_walk_errors("worker", "AsyncRequestWorkerFactor 2\n", &[(1, "Invalid command 'AsyncRequestWorkerFactor', perhaps misspelled or defined by a module not included in the server configuration")]);
    assert_walk_errors("prefork", "ThreadsPerChild 25\n", &[(1, "Invalid command 'ThreadsPerChild', perhaps misspelled or defined by a module not included in the server configuration")]);
}

#[test]
fn mpm_directive_inside_virtualhost() {
    assert_error(
        "<VirtualHost *:80>\nStartServers 3\n</VirtualHost>\n",
        2,
        "StartServers cannot occur within <VirtualHost> section",
    );
}

#[test]
fn server_only_directives_inside_virtualhost() {
    assert_error(
        "<VirtualHost *:80>\nPidFile x\n</VirtualHost>\n",
        2,
        "PidFile cannot occur within <VirtualHost> section",
    );
    assert_error(
        "<VirtualHost *:80>\nUser x\n</VirtualHost>\n",
        2,
        "User cannot occur within <VirtualHost> section",
    );
    assert_error(
        "<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n",
        2,
        "<VirtualHost> cannot occur within <VirtualHost> section",
    );
}

#[test]
fn server_directive_inside_directory() {
    assert_error(
        "<Directory />\nTimeout 3\n</Directory>\n",
        2,
        "Timeout not allowed in <Directory> context",
    );
    assert_error(
        "<VirtualHost *:80>\n<Directory />\nStartServers 3\n</Directory>\n</VirtualHost>\n",
        3,
        "StartServers not allowed in <Directory> context",
    );
}

#[test]
fn section_in_the_wrong_section() {
    assert_error(
        "<Location />\n<Directory />\n</Directory>\n</Location>\n",
        2,
        "<Directory not allowed in <Location> context",
    );
    assert_error(
        "<Directory />\n<Location />\n</Location>\n</Directory>\n",
        2,
        "<Location not allowed in <Directory> context",
    );
    assert_error("<Limit GET>\n</Limit>\n", 1, "<Limit not allowed here");
}

#[test]
fn else_without_if() {
    assert_error(
        "<Else>\n</Else>\n",
        1,
        "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope",
    );
}

/// `<If>` expressions that do not parse, each with apache2 2.4.71's wording.
#[test]
fn if_expression_errors() {
    for (expr, msg) in [
        (
            r#""%{HTTP_HOST} ==""#,
            "Cannot parse condition clause: syntax error, unexpected $end",
        ),
        (
            r#""%{FOO} == 1""#,
            "Cannot parse condition clause: Variable 'FOO' does not exist",
        ),
        (
            r#""foo""#,
            "Cannot parse condition clause: syntax error, unexpected $end, expecting '('",
        ),
        (
            r#""%{HTTP_HOST} =~ /(/""#,
            "Cannot parse condition clause: Failed to compile regular expression",
        ),
        (
            r#"%{HTTP_HOST} == 'x'"#,
            "Cannot parse condition clause: syntax error, unexpected $end",
        ),
        (
            r#""-R 10.0.0.0/8""#,
            "Cannot parse condition clause: -R requires subnet/netmask as constant argument",
        ),
        (
            r#""-R 'bogus'""#,
            "Cannot parse condition clause: parsing of subnet/netmask failed",
        ),
        (
            r#""-ipmatch 'x'""#,
            "Cannot parse condition clause: syntax error, unexpected T_OP_BINARY",
        ),
        (
            r#""foo('x') == ''""#,
            "Cannot parse condition clause: Function 'foo' does not exist",
        ),
        (
            r#""'a' == 'a' extra""#,
            "Cannot parse condition clause: syntax error, unexpected T_ID, expecting $end",
        ),
        (r#""true" junk"#, "Multiple <If> arguments not supported."),
    ] {
        assert_error(&format!("<If {expr}>\n</If>\n"), 1, msg);
    }
    assert_error(
        "<If \"true\">\n</If>\n<Else foo>\n</Else>\n",
        3,
        "<Else> does not take an argument",
    );
    assert_error(
        "<If \"true\">\nServerAlias foo\n</If>\n",
        2,
        "ServerAlias not allowed in <If> context",
    );
}

/// `Alias` per-directory, as apache2 2.4.71 refuses it (mpmd once took the two-argument form
/// anywhere and said "used globally" of the one-argument form); it stays fine at server and
/// vhost level.
#[test]
fn alias_in_directory_context() {
    let lm = "LoadModule alias_module modules/mod_alias.so\n";
    let dir_ctx = "Alias cannot occur within directory context";
    for (body, line, msg) in [
        ("<Directory /tmp>\nAlias /x /tmp\n</Directory>\n", 3, dir_ctx),
        ("<Location /l>\nAlias /x /tmp\n</Location>\n", 3, dir_ctx),
        ("<Files x>\nAlias /x /tmp\n</Files>\n", 3, dir_ctx),
        ("<If \"true\">\nAlias /x /tmp\n</If>\n", 3, dir_ctx),
        (
            "<Location /l>\n<If \"true\">\n<If \"true\">\nAlias /x /tmp\n</If>\n</If>\n</Location>\n",
            5,
            dir_ctx,
        ),
        (
            "<VirtualHost *:80>\n<Location /l>\nAlias /x /tmp\n</Location>\n</VirtualHost>\n",
            4,
            dir_ctx,
        ),
        (
            "<Location /l>\n<Limit GET>\nAlias /x /tmp\n</Limit>\n</Location>\n",
            4,
            "Alias cannot occur within <Limit> or <LimitExcept> section",
        ),
        (
            "<Directory /tmp>\nAlias /tmp\n</Directory>\n",
            3,
            "Alias cannot occur within <Directory> section",
        ),
        (
            "<Directory /tmp>\n<If \"true\">\nAlias /tmp\n</If>\n</Directory>\n",
            4,
            "Alias cannot occur within <Directory> section",
        ),
        (
            "<Files x>\n<If \"true\">\nAlias /tmp\n</If>\n</Files>\n",
            4,
            "Alias cannot occur within <Files> section",
        ),
        (
            "<If \"true\">\nAlias /tmp\n</If>\n",
            3,
            "Alias cannot occur within <If> section",
        ),
        (
            "<Location /l>\n<If \"false\">\n</If>\n<Else>\nAlias /tmp\n</Else>\n</Location>\n",
            6,
            "Alias cannot occur within <Else> section",
        ),
        (
            "Alias /tmp\n",
            2,
            "Alias must have two arguments when used globally",
        ),
    ] {
        assert_error(&format!("{lm}{body}"), line, msg);
    }
    let c = Case::new();
    let (_, out) = c.run(
        "event",
        &format!("{lm}Alias /x /tmp\n<VirtualHost *:80>\nAlias /y /tmp\n</VirtualHost>\n"),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Redirect's and Alias's forms as apache2 2.4.71 words their errors, the expression forms
/// (a lone target in a section) included.
#[test]
fn redirect_forms() {
    let lm = "LoadModule alias_module modules/mod_alias.so\n";
    for (body, line, msg) in [
        ("Redirect seeother\n", 2, "URL to redirect to is missing"),
        ("Redirect 301 /x\n", 2, "URL to redirect to is missing"),
        (
            "RedirectMatch /x\n",
            2,
            "RedirectMatch takes two or three arguments, an optional status, then a regular \
             expression and destination URL",
        ),
        (
            "<Location /l>\nRedirect \"%{FOO}\"\n</Location>\n",
            3,
            "Cannot parse redirect expression '%{FOO}': Variable 'FOO' does not exist",
        ),
        (
            "<Location /l>\nRedirect 301 \"/x/%{bogus:A}\"\n</Location>\n",
            3,
            "Cannot parse redirect expression '/x/%{bogus:A}': Function 'bogus' does not exist",
        ),
        (
            "<Location /l>\nAlias \"/x/%{FOO}\"\n</Location>\n",
            3,
            "Cannot parse alias expression '/x/%{FOO}': Variable 'FOO' does not exist",
        ),
    ] {
        assert_error(&format!("{lm}{body}"), line, msg);
    }
    let c = Case::new();
    let (_, out) = c.run(
        "event",
        &format!(
            "{lm}<Location /a>\nAlias /tmp/%{{tolower:X}}\n</Location>\n\
             <Location /r>\nRedirect permanent /x\n</Location>\n\
             <Directory /tmp>\nRedirect /y\n</Directory>\n\
             <LocationMatch /m>\nRedirectMatch 303 /z\n</LocationMatch>\n"
        ),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn arity_take1_with_help() {
    assert_error(
        "Timeout\n",
        1,
        "Timeout takes one argument, Timeout duration (sec)",
    );
    assert_error(
        "ServerName a b\n",
        1,
        "ServerName takes one argument, The hostname and port of the server",
    );
}

#[test]
fn arity_take12_take23() {
    assert_error(
        "LogFormat a b c\n",
        1,
        "LogFormat takes 1-2 arguments, a log format string (see docs) and an optional format name",
    );
    assert_error("CustomLog x\n", 1, "CustomLog takes two or three arguments, a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)");
}

#[test]
fn flag_not_on_or_off() {
    assert_error("KeepAlive maybe\n", 1, "KeepAlive must be On or Off");
}

#[test]
fn flag_ignores_extra_words() {
    let c = Case::new();
    let (_, out) = c.run("event", "KeepAlive On # comment\n", &[]);
    assert_eq!(stderr(&out), "Syntax OK\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_numbers() {
    assert_error("ListenBacklog 0\n", 1, "ListenBacklog must be > 0");
    assert_error("ListenBacklog x\n", 1, "ListenBacklog must be > 0");
    assert_error(
        "KeepAliveTimeout abc\n",
        1,
        "KeepAliveTimeout has wrong format",
    );
    assert_error(
        "LimitRequestLine -1\n",
        1,
        "LimitRequestLine \"-1\" must be a non-negative integer",
    );
    assert_error(
        "LimitRequestFields -5\n",
        1,
        "LimitRequestFields \"-5\" must be a non-negative integer (0 = no limit)",
    );
    assert_error("MaxMemFree -1\n", 1, "Invalid MaxMemFree value: -1");
    assert_error(
        "ThreadStackSize -1\n",
        1,
        "Invalid ThreadStackSize value: -1",
    );
    assert_error(
        "SendBufferSize 100\n",
        1,
        "SendBufferSize must be >= 512 bytes, or 0 for system default.",
    );
    assert_error(
        "LimitInternalRecursion 0\n",
        1,
        "The recursion limit must be greater than zero.",
    );
}

#[test]
fn async_request_worker_factor() {
    assert_error("AsyncRequestWorkerFactor 2x\n", 1, "error parsing value");
    assert_error(
        "AsyncRequestWorkerFactor 0\n",
        1,
        "AsyncRequestWorkerFactor argument must be a positive number",
    );
    assert_error(
        "AsyncRequestWorkerFactor -1.5\n",
        1,
        "AsyncRequestWorkerFactor argument must be a positive number",
    );
}

#[test]
fn listen_errors() {
    assert_error(
        "Listen 127.0.0.1:19599\n",
        1,
        "Cannot define multiple Listeners on the same IP:port",
    );
    assert_error("Listen abc\n", 1, "Port must be specified");
    assert_error("Listen 0\n", 1, "Invalid address or port");
    assert_error(
        "Listen 80 http extra\n",
        1,
        "Listen requires 1 or 2 arguments.",
    );
}

#[test]
fn keyword_errors() {
    assert_error("ServerTokens bogus\n", 1, "ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'");
    assert_error(
        "ServerSignature x\n",
        1,
        "ServerSignature: use one of: off | on | email",
    );
    assert_error(
        "TraceEnable x\n",
        1,
        "TraceEnable must be one of 'on', 'off', or 'extended'",
    );
    assert_error(
        "HostnameLookups maybe\n",
        1,
        "parameter must be 'on', 'off', or 'double'",
    );
    assert_error("LogLevel bogus\n", 1, "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8");
    assert_error("LogLevel core:bogus\n", 1, "core:bogus: Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8");
    assert_error("LogLevel info nomod:info\n", 1, "Cannot find module nomod");
    assert_error("Mutex bogus\n", 1, "Invalid Mutex argument bogus (Mutex mechanisms are: 'none', 'default', 'flock:/path/to/file', 'fcntl:/path/to/file', 'file:/path/to/file', 'pthread', 'sysvsem', 'posixsem', 'sem')");
    assert_error(
        "ServerAlias x\n",
        1,
        "ServerAlias only used in <VirtualHost>",
    );
}

#[test]
fn request_read_timeout_errors() {
    let body = "LoadModule reqtimeout_module m.so\nRequestReadTimeout foo=1\nRequestReadTimeout header=10-20\n";
    assert_walk_errors(
        "event",
        body,
        &[
            (
                2,
                "RequestReadTimeout: foo=1: Unknown RequestReadTimeout parameter",
            ),
            (
                3,
                "RequestReadTimeout: header=10-20: Must set MinRate option if using timeout range",
            ),
        ],
    );
}

#[test]
fn error_directive_and_document_root() {
    assert_error("Error \"stop here\"\n", 1, "stop here");
    assert_error(
        "DocumentRoot /nonexistent-mpmd-dir\n",
        1,
        "DocumentRoot '/nonexistent-mpmd-dir' is not a directory, or is not readable",
    );
    // -T skips the DocumentRoot check.
    let c = Case::new();
    let (_, out) = c.run("event", "DocumentRoot /nonexistent-mpmd-dir\n", &["-T"]);
    assert_eq!(stderr(&out), "Syntax OK\n");
}

#[test]
fn regex_that_does_not_compile() {
    assert_error(
        "<DirectoryMatch (>\n</DirectoryMatch>\n",
        1,
        "Regex could not be compiled",
    );
}

#[test]
fn every_error_is_reported_in_file_order() {
    let body = "Bogus1\n<VirtualHost *:80>\nStartServers 3\n</VirtualHost>\nTimeout 3 4\nKeepAlive maybe\n";
    assert_walk_errors("event", body, &[
        (1, "Invalid command 'Bogus1', perhaps misspelled or defined by a module not included in the server configuration"),
        (3, "StartServers cannot occur within <VirtualHost> section"),
        (5, "Timeout takes one argument, Timeout duration (sec)"),
        (6, "KeepAlive must be On or Off"),
    ]);
}

#[test]
fn error_in_an_included_file_names_that_file() {
    let c = Case::new();
    let inc = c.write("inc.conf", "# comment\nBogus2 x\n");
    let (_, out) = c.run("event", &format!("Include {}\n", inc.display()), &[]);
    assert_eq!(
        stderr(&out),
        format!("AH00526: Syntax error on line 2 of {}:\nInvalid command 'Bogus2', perhaps misspelled or defined by a module not included in the server configuration\n", inc.display())
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn no_mpm_and_two_mpms() {
    let c = Case::new();
    let main = c.write("main.conf", "ServerName x\nBogus\n");
    let out = Command::new(env!("CARGO_BIN_EXE_mpmd"))
        .args(["-d", c.root().to_str().unwrap(), "-f"])
        .arg(&main)
        .arg("-t")
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "AH00534: mpmd: Configuration error: No MPM loaded.\n"
    );
    assert_eq!(out.status.code(), Some(1));
    let (_, out) = c.run("event", "LoadModule mpm_worker_module x.so\n", &[]);
    assert_eq!(
        stderr(&out),
        "AH00534: mpmd: Configuration error: More than one MPM loaded.\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// `mpmd -t` output for an MPM sizing, which must pass with these warnings.
fn assert_warnings(mpm: &str, body: &str, expected: &[&str]) {
    let c = Case::new();
    let (_, out) = c.run(mpm, body, &[]);
    let mut want: String = expected.iter().map(|w| format!("{w}\n")).collect();
    want.push_str("Syntax OK\n");
    assert_eq!(stderr(&out), want, "config body:\n{body}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn event_sizing_warnings_spec_example() {
    assert_warnings("event", "ServerLimit 4\nThreadLimit 20\nThreadsPerChild 30\nMaxRequestWorkers 130\n", &[
        "AH00507: WARNING: ThreadsPerChild of 30 exceeds ThreadLimit of 20 threads, decreasing to 20. To increase, please see the ThreadLimit directive.",
        "AH00513: WARNING: MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 20, decreasing to nearest multiple 120, for a maximum of 6 servers.",
        "AH00515: WARNING: MaxRequestWorkers of 120 would require 6 servers and would exceed ServerLimit of 4, decreasing to 80. To increase, please see the ServerLimit directive.",
    ]);
}

#[test]
fn worker_sizing_warnings_use_worker_tags() {
    assert_warnings("worker", "ServerLimit 4\nThreadLimit 20\nThreadsPerChild 30\nMaxRequestWorkers 130\n", &[
        "AH00310: WARNING: ThreadsPerChild of 30 exceeds ThreadLimit of 20 threads, decreasing to 20. To increase, please see the ThreadLimit directive.",
        "AH00316: WARNING: MaxRequestWorkers of 130 is not an integer multiple of ThreadsPerChild of 20, decreasing to nearest multiple 120, for a maximum of 6 servers.",
        "AH00318: WARNING: MaxRequestWorkers of 120 would require 6 servers and would exceed ServerLimit of 4, decreasing to 80. To increase, please see the ServerLimit directive.",
    ]);
}

#[test]
fn event_limits_and_zeros() {
    // Order is httpd's, not the file's: the checks run after the whole file is read.
    assert_warnings("event", "MinSpareThreads 0\nStartServers 0\nMaxRequestWorkers 0\nThreadsPerChild 0\nThreadLimit 300000\nServerLimit 300000\n", &[
        "AH00497: WARNING: ServerLimit of 300000 exceeds compile-time limit of 20000 servers, decreasing to 20000.",
        "AH00502: WARNING: ThreadLimit of 300000 exceeds compile-time limit of 100000 threads, decreasing to 100000.",
        "AH00509: WARNING: ThreadsPerChild of 0 not allowed, increasing to 1.",
        "AH00511: WARNING: MaxRequestWorkers of 0 is less than ThreadsPerChild of 1, increasing to 1. MaxRequestWorkers must be at least as large as the number of threads in a single server.",
        "AH00517: WARNING: StartServers of 0 not allowed, increasing to 1.",
        "AH00519: WARNING: MinSpareThreads of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation.",
    ]);
    // atoi: garbage is 0.
    assert_warnings(
        "event",
        "StartServers x\n",
        &["AH00517: WARNING: StartServers of 0 not allowed, increasing to 1."],
    );
    // MaxClients is the old name of MaxRequestWorkers; the default TPC is 25.
    assert_warnings("event", "MaxClients 5\n", &["AH00511: WARNING: MaxRequestWorkers of 5 is less than ThreadsPerChild of 25, increasing to 25. MaxRequestWorkers must be at least as large as the number of threads in a single server."]);
    // The default MaxRequestWorkers (400) is not raised with ServerLimit.
    assert_warnings("event", "ServerLimit 0\nThreadLimit 0\n", &[
        "AH00499: WARNING: ServerLimit of 0 not allowed, increasing to 1.",
        "AH00504: WARNING: ThreadLimit of 0 not allowed, increasing to 1.",
        "AH00507: WARNING: ThreadsPerChild of 25 exceeds ThreadLimit of 1 threads, decreasing to 1. To increase, please see the ThreadLimit directive.",
        "AH00515: WARNING: MaxRequestWorkers of 400 would require 400 servers and would exceed ServerLimit of 1, decreasing to 1. To increase, please see the ServerLimit directive.",
    ]);
}

#[test]
fn prefork_sizing_warnings() {
    assert_warnings("prefork", "ServerLimit 4\nMaxRequestWorkers 130\n", &[
        "AH00180: WARNING: MaxRequestWorkers of 130 exceeds ServerLimit value of 4 servers, decreasing MaxRequestWorkers to 4. To increase, please see the ServerLimit directive.",
    ]);
    assert_warnings("prefork", "MinSpareServers 0\nStartServers 0\nMaxRequestWorkers 0\nServerLimit 300000\n", &[
        "AH00175: WARNING: ServerLimit of 300000 exceeds compile-time limit of 200000 servers, decreasing to 200000.",
        "AH00182: WARNING: MaxRequestWorkers of 0 not allowed, increasing to 1.",
        "AH00184: WARNING: StartServers of 0 not allowed, increasing to 1.",
        "AH00186: WARNING: MinSpareServers of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation.",
    ]);
}

#[test]
fn valid_sizing_has_no_warnings() {
    assert_warnings("event", "StartServers 2\nMinSpareThreads 25\nMaxSpareThreads 75\nThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 150\nMaxConnectionsPerChild 0\nAsyncRequestWorkerFactor 2\n", &[]);
}

#[test]
fn read_phase_errors_are_one_line_with_the_program_name() {
    // The message itself is conf::expand's; the one-line shape and prefix are load's.
    let c = Case::new();
    let (main, out) = c.run(
        "event",
        "LoadModule include_module /usr/lib/apache2/modules/mod_include.so\n",
        &[],
    );
    let err = stderr(&out);
    let prefix = format!(
        "mpmd: Syntax error on line {} of {}: ",
        PREAMBLE_LINES + 1,
        main.display()
    );
    assert!(err.starts_with(&prefix), "{err}");
    assert!(err.contains("include_module"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn non_fatal_notices_come_before_syntax_ok() {
    let c = Case::new();
    let (main, out) = c.run(
        "event",
        "NameVirtualHost *:80\n<VirtualHost *:80>\nDocumentRoot /nonexistent-mpmd-dir\n</VirtualHost>\n",
        &[],
    );
    assert_eq!(
        stderr(&out),
        format!(
            "AH00548: NameVirtualHost has no effect and will be removed in the next release {}:{}\n\
             AH00112: Warning: DocumentRoot [/nonexistent-mpmd-dir] does not exist\n\
             Syntax OK\n",
            main.display(),
            PREAMBLE_LINES + 1
        )
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn parsed_only_directives_are_listed_once() {
    let c = Case::new();
    let body = "LoadModule ssl_module m.so\nSSLRandomSeed startup builtin\nSSLRandomSeed connect builtin\n";
    let (main, out) = c.run("event", body, &[]);
    assert_eq!(
        stderr(&out),
        format!(
            "mpmd: these directives are accepted but have no effect yet: SSLRandomSeed ({}:{})\nSyntax OK\n",
            main.display(),
            PREAMBLE_LINES + 2
        )
    );
}

#[test]
fn unsupported_access_directives_are_errors_not_ignored() {
    let body = "LoadModule ssl_module m.so\n<Directory />\nSSLRequireSSL\n</Directory>\n";
    assert_walk_errors("event", body, &[(3, "SSLRequireSSL is not supported by mpmd (it would change access control or request handling)")]);
}

#[test]
fn read_pass_warnings_come_before_a_read_error() {
    let c = Case::new();
    let (main, out) = c.run("event", "Include ${MPMD_UNDEFINED_VAR}/x.conf\n", &[]);
    let err = stderr(&out);
    let mut lines = err.lines();
    assert_eq!(
        lines.next(),
        Some("AH00111: Config variable ${MPMD_UNDEFINED_VAR} is not defined")
    );
    let prefix = format!(
        "mpmd: Syntax error on line {} of {}: ",
        PREAMBLE_LINES + 1,
        main.display()
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with(&prefix)),
        "{err}"
    );
    assert_eq!(lines.next(), None, "{err}");
    assert_eq!(out.status.code(), Some(1));
}

/// `<IfDirective>` sees the directives of the loaded MPM (each MPM declares its own).
#[test]
fn if_directive_follows_the_loaded_mpm() {
    let body = "<IfDirective StartServers>\nError \"start\"\n</IfDirective>\n<IfDirective ThreadsPerChild>\nError \"threads\"\n</IfDirective>\n";
    assert_walk_errors("event", body, &[(2, "start"), (5, "threads")]);
    assert_walk_errors("worker", body, &[(2, "start"), (5, "threads")]);
    assert_walk_errors("prefork", body, &[(2, "start")]);
}
