//! Command-line flags and the merge of all configuration sources.

use std::path::PathBuf;

use clap::Parser;

use crate::config::{Config, ConfigError};

/// Ferrite: a Redis-compatible key-value server with WebAssembly functions.
///
/// Configuration precedence: flags > FERRITE_* environment variables >
/// config file > built-in defaults. Every parameter of docs/configuration.md
/// can also be given Redis style after the flags: `--maxclients 100`,
/// `--client-query-buffer-limit 2gb`, `--hz 20`.
#[derive(Debug, Parser)]
#[command(name = "ferrite", version, about, long_about = None)]
pub struct Cli {
    /// Path to ferrite.toml (also FERRITE_CONFIG). Optional.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// TCP port to listen on [default: 6379].
    #[arg(long)]
    pub port: Option<String>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long)]
    pub bind: Option<String>,
    /// Password clients must AUTH with [default: none].
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Working directory for data files [default: .].
    #[arg(long)]
    pub dir: Option<String>,
    /// Log level: debug, verbose, notice, warning (Redis's), trace, error;
    /// info and warn are accepted [default: notice].
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Any other parameter as `--name value` pairs (Redis style).
    #[arg(
        value_name = "--NAME VALUE",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub params: Vec<String>,
}

impl Cli {
    /// Builds the configuration: defaults, then the file (flag
    /// `--config` or `FERRITE_CONFIG`), then `env`, then the flags; then
    /// validates it.
    pub fn load_config(&self, env: Vec<(String, String)>) -> Result<Config, ConfigError> {
        let file = self.config.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == "FERRITE_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        let mut config = match file {
            Some(path) => Config::from_file(&path)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        let named = [
            ("port", &self.port),
            ("bind", &self.bind),
            ("requirepass", &self.requirepass),
            ("dir", &self.dir),
            ("loglevel", &self.loglevel),
        ];
        for (name, value) in named {
            if let Some(value) = value {
                config.set_param(name, value)?;
            }
        }
        config.apply_args(&self.params)?;
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("ferrite").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn redis_style_flags_are_accepted() {
        let c = cli(&["--port", "7000", "--maxclients", "5", "--hz", "20"]);
        let config = c.load_config(vec![]).unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.maxclients, 5);
        assert_eq!(config.hz, 20);
    }

    #[test]
    fn flags_beat_env() {
        let env = vec![
            ("FERRITE_PORT".to_owned(), "7001".to_owned()),
            ("FERRITE_HZ".to_owned(), "30".to_owned()),
        ];
        let config = cli(&["--port", "7002"]).load_config(env).unwrap();
        assert_eq!(config.port, 7002);
        assert_eq!(config.hz, 30);
    }

    #[test]
    fn unknown_flag_is_an_error() {
        let err = cli(&["--frobnicate", "1"]).load_config(vec![]).unwrap_err();
        assert!(err.to_string().contains("frobnicate"), "{err}");
    }
}
