//! mpmd's entry point: httpd's command line (`-t -S -M -V -v -l -L -k …`) and the hand-over to
//! the supervisor. `anyhow` is allowed here only.

use std::io::Write;
use std::process::ExitCode;

use mpmd::cli::{self, Cli, Signal};
use mpmd::config::{self, dump, LoadOptions, ServerConfig};
use mpmd::supervisor;

const ARGV0: &str = "mpmd";
/// The Apache version whose behaviour mpmd follows (`<IfVersion>`, `-v`).
const APACHE_VERSION: &str = "2.4.71";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("{ARGV0}: {}", e.message);
            }
            eprint!("{}", cli::usage(ARGV0));
            return ExitCode::from(1);
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{ARGV0}: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn server_version() -> String {
    format!(
        "mpmd/{} (Apache/{APACHE_VERSION} compatible)",
        env!("CARGO_PKG_VERSION")
    )
}

fn run(cli: &Cli) -> anyhow::Result<u8> {
    if cli.version {
        println!("Server version: {}", server_version());
        println!("Server built:   {}", env!("CARGO_PKG_VERSION"));
        return Ok(0);
    }
    if cli.list_modules {
        println!("Compiled in modules:");
        for m in config::registry::modules() {
            println!("  {}", m.source);
        }
        return Ok(0);
    }
    if cli.directives_markdown {
        print!("{}", config::docs::directives_markdown());
        return Ok(0);
    }
    if cli.list_directives {
        print!("{}", config::docs::directives_list());
        return Ok(0);
    }

    let opts = LoadOptions {
        skip_docroot_check: cli.skip_docroot_check,
        ..LoadOptions::from(&cli.run_options())
    };
    let loaded = config::load_with(&opts);

    if cli.build_settings {
        // httpd reads the config first to find a DSO MPM; its errors go to stderr.
        if let Err(e) = &loaded {
            startup_message(cli, &e.report(ARGV0));
        }
        return Ok(print_build_settings(loaded.as_ref().ok()));
    }

    let cfg = match loaded {
        Ok(cfg) => cfg,
        Err(e) => {
            startup_message(cli, &e.report(ARGV0));
            return Ok(1);
        }
    };
    print_startup_messages(cli, &cfg);

    if cli.test {
        let mut out = std::io::stdout().lock();
        if cli.defined("DUMP_INCLUDES") {
            write!(out, "{}", dump::includes(&cfg))?;
        }
        if cli.defined("DUMP_VHOSTS") {
            write!(out, "{}", dump::vhosts(&cfg))?;
        }
        if cli.defined("DUMP_RUN_CFG") {
            write!(out, "{}", dump::run_cfg(&cfg))?;
        }
        if cli.defined("DUMP_MODULES") {
            write!(out, "{}", dump::modules(&cfg))?;
        }
        if !cli.dumps() {
            eprintln!("Syntax OK");
        }
        return Ok(0);
    }
    hand_over(cfg, cli)
}

/// Warnings httpd prints on stderr at startup and with `-t`: undefined variables, vhost
/// DocumentRoots that do not exist, AH00558, then the MPM adjustments.
fn print_startup_messages(cli: &Cli, cfg: &ServerConfig) {
    for n in &cfg.notices {
        startup_message(cli, n);
    }
    if let Some(w) = dump::server_name_warning(cfg, ARGV0) {
        startup_message(cli, &w);
    }
    for w in &cfg.warnings {
        startup_message(cli, w);
    }
    if let Some(n) = cfg.parsed_only_notice() {
        startup_message(cli, &n);
    }
}

/// A message of the startup phase: on stderr, or appended to the `-E` file.
fn startup_message(cli: &Cli, msg: &str) {
    if let Some(path) = &cli.error_file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = file {
            if writeln!(f, "{msg}").is_ok() {
                return;
            }
        }
    }
    eprintln!("{msg}");
}

/// `-V`. When the configuration cannot be read, `Server MPM:` stays empty and the exit code is
/// 1, as httpd does with a DSO MPM.
fn print_build_settings(cfg: Option<&ServerConfig>) -> u8 {
    println!("Server version: {}", server_version());
    println!("Server built:   {}", env!("CARGO_PKG_VERSION"));
    println!("Server's Module Magic Number: 20120211:142");
    println!("Architecture:   {}-bit", usize::BITS);
    match cfg {
        Some(cfg) => {
            println!("{:<16}{}", "Server MPM:", cfg.mpm.name());
            if cfg.mpm.is_threaded() {
                println!("  threaded:     yes (fixed thread count)");
            } else {
                println!("  threaded:     no");
            }
            println!("    forked:     yes (variable process count)");
        }
        None => println!("{:<16}", "Server MPM:"),
    }
    println!("Server compiled with....");
    println!(" -D APR_HAS_SENDFILE");
    println!(" -D APR_HAS_MMAP");
    println!(" -D APR_HAVE_IPV6 (IPv4-mapped addresses enabled)");
    println!(" -D SINGLE_LISTEN_UNSERIALIZED_ACCEPT");
    println!(" -D HTTPD_ROOT=\"{}\"", config::load::DEFAULT_SERVER_ROOT);
    println!(" -D DEFAULT_PIDLOG=\"/run/mpmd.pid\"");
    println!(" -D DEFAULT_ERRORLOG=\"logs/error_log\"");
    println!(" -D AP_TYPES_CONFIG_FILE=\"mime.types\"");
    println!(
        " -D SERVER_CONFIG_FILE=\"{}\"",
        config::load::DEFAULT_CONFIG_FILE
    );
    u8::from(cfg.is_none())
}

/// The one place that hands a checked configuration to the supervisor (start, or a `-k`
/// verb). Swapped for the supervisor's entry points when they land.
fn hand_over(cfg: ServerConfig, cli: &Cli) -> anyhow::Result<u8> {
    let opts = cli.run_options();
    if let Some(verb) = cli.signal {
        let word = match verb {
            Signal::Start => "start",
            Signal::Stop => "stop",
            Signal::Restart => "restart",
            Signal::Graceful => "graceful",
            Signal::GracefulStop => "graceful-stop",
        };
        let code = supervisor::signal_server(&cfg, word);
        if code != supervisor::START {
            return Ok(u8::try_from(code).unwrap_or(1));
        }
    }
    let code = supervisor::run(cfg, opts)?;
    Ok(u8::try_from(code).unwrap_or(1))
}
