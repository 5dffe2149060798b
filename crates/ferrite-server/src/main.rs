//! The `ferrite` binary: parse flags, load the configuration, set up
//! logging, serve until SHUTDOWN or a signal.

use clap::Parser;
use ferrite_server::alloc::CountingAlloc;
use ferrite_server::cli::Cli;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn main() {
    let cli = Cli::parse();
    let config = match cli.load_config(std::env::vars().collect()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("ferrite: configuration error: {err}");
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::new(config.loglevel.as_str());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi).init();
    if let Err(err) = ferrite_server::run(config) {
        tracing::error!("{err}");
        eprintln!("ferrite: {err}");
        std::process::exit(1);
    }
}
