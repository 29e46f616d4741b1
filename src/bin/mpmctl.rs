//! mpmctl: apachectl for mpmd (see `mpmd::ctl`).

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_else(|| "mpmctl".to_owned());
    let code = mpmd::ctl::main_with(&argv0, args.collect(), mpmd::ctl::env::Env::from_process());
    std::process::exit(code);
}
