//! mpmd-enmod, mpmd-dismod, mpmd-ensite, mpmd-dissite, mpmd-enconf, mpmd-disconf and
//! mpmd-query: one binary, chosen by its name or first argument (see `mpmd::enmod`).

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_else(|| "mpmd-enmod".to_owned());
    let code = mpmd::enmod::main_with(&argv0, args.collect(), mpmd::ctl::env::Env::from_process());
    std::process::exit(code);
}
