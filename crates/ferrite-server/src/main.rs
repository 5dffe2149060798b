//! The `ferrite` binary.

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
    eprintln!("{config:?}");
}
