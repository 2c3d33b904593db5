//! The `acs-edge` command line: runs the daemon or one of its offline subcommands.

use acs_edge::{cli, runtime};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
Usage:
  acs-edge [--config FILE]           run the daemon (default config /etc/config/acs-edge)
  acs-edge check-config [FILE]       validate a config file and print warnings
  acs-edge print-config              print the fully commented default config
  acs-edge decode frame HEX          decode an acs-proto frame and print its readings as JSON
  acs-edge passwd USER [--config FILE]
                                     create a user or set its password (asked twice on a
                                     terminal, else the first line of stdin)
  acs-edge token create NAME [--config FILE]
                                     add an API token for a machine client; prints it once
  acs-edge token revoke NAME [--config FILE]
                                     remove an API token
  acs-edge --version                 print version, git revision and target
  acs-edge --help                    print this help
";

enum Command {
    Run(PathBuf),
    CheckConfig(PathBuf),
    PrintConfig,
    DecodeFrame(String),
    Passwd(String, PathBuf),
    TokenCreate(String, PathBuf),
    TokenRevoke(String, PathBuf),
    Version,
    Help,
}

fn parse_args() -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut config = PathBuf::from(acs_edge::config::DEFAULT_PATH);
    let Some(arg) = parser.next()? else {
        return Ok(Command::Run(config));
    };
    let command = match arg {
        Short('V') | Long("version") => Command::Version,
        Short('h') | Long("help") => Command::Help,
        Short('c') | Long("config") => {
            config = parser.value()?.into();
            Command::Run(config)
        }
        Value(word) => match word.string()?.as_str() {
            "run" => {
                if let Some(arg) = parser.next()? {
                    match arg {
                        Short('c') | Long("config") => config = parser.value()?.into(),
                        other => return Err(other.unexpected()),
                    }
                }
                Command::Run(config)
            }
            "check-config" => match parser.next()? {
                Some(Value(path)) => Command::CheckConfig(path.into()),
                Some(Short('c') | Long("config")) => Command::CheckConfig(parser.value()?.into()),
                Some(other) => return Err(other.unexpected()),
                None => Command::CheckConfig(config),
            },
            "print-config" => Command::PrintConfig,
            "passwd" => {
                let user = parser.value()?.string()?;
                Command::Passwd(user, config_option(&mut parser, config)?)
            }
            "token" => {
                let action = parser.value()?.string()?;
                let name = parser.value()?.string()?;
                let config = config_option(&mut parser, config)?;
                match action.as_str() {
                    "create" => Command::TokenCreate(name, config),
                    "revoke" => Command::TokenRevoke(name, config),
                    other => {
                        return Err(
                            format!("token: unknown action {other:?} (create or revoke)").into(),
                        )
                    }
                }
            }
            "decode" => {
                let kind = parser.value()?.string()?;
                if kind != "frame" {
                    return Err(format!("decode: unknown kind {kind:?} (known: frame)").into());
                }
                Command::DecodeFrame(parser.value()?.string()?)
            }
            other => return Err(format!("unknown command {other:?}").into()),
        },
        other => return Err(other.unexpected()),
    };
    if let Some(extra) = parser.next()? {
        return Err(extra.unexpected());
    }
    Ok(command)
}

/// An optional trailing `--config FILE`.
fn config_option(parser: &mut lexopt::Parser, default: PathBuf) -> Result<PathBuf, lexopt::Error> {
    use lexopt::prelude::*;
    match parser.next()? {
        Some(Short('c') | Long("config")) => Ok(parser.value()?.into()),
        Some(other) => Err(other.unexpected()),
        None => Ok(default),
    }
}

fn main() -> ExitCode {
    let command = match parse_args() {
        Ok(command) => command,
        Err(e) => {
            eprintln!("acs-edge: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("{}", cli::version_line());
            ExitCode::SUCCESS
        }
        Command::PrintConfig => {
            print!("{}", acs_edge::config::default_config_text());
            ExitCode::SUCCESS
        }
        Command::CheckConfig(path) => cli::check_config(&path),
        Command::DecodeFrame(hex) => cli::decode_frame(&hex),
        Command::Passwd(user, path) => cli::passwd(&user, &path),
        Command::TokenCreate(name, path) => cli::token_create(&name, &path),
        Command::TokenRevoke(name, path) => cli::token_revoke(&name, &path),
        Command::Run(path) => match runtime::run(&path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log::error!("{e}");
                eprintln!("acs-edge: {e}");
                ExitCode::from(1)
            }
        },
    }
}
