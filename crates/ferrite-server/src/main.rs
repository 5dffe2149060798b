//! The `ferrite` binary: parse flags, load the configuration, set up
//! logging, serve until SHUTDOWN or a signal.

use clap::Parser;
use ferrite_server::alloc::CountingAlloc;
use ferrite_server::cli::Cli;
use ferrite_server::config::LogLevel;
use ferrite_server::server::LogLevelHook;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{fmt, reload, EnvFilter};

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
    let (filter, reload) = reload::Layer::new(EnvFilter::new(config.loglevel.filter()));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(ansi),
        )
        .init();
    let hook: LogLevelHook = Box::new(move |level: LogLevel| {
        if let Err(err) = reload.reload(EnvFilter::new(level.filter())) {
            tracing::error!("cannot change the log level: {err}");
        }
    });
    if let Err(err) = ferrite_server::run(config, Some(hook)) {
        tracing::error!("{err}");
        eprintln!("ferrite: {err}");
        std::process::exit(1);
    }
}
