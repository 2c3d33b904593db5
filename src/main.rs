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
  acs-edge decode lorawan HEX --nwkskey HEX --appskey HEX
                                     check and decrypt a LoRaWAN uplink, print it as JSON
  acs-edge --version                 print version, git revision and target
  acs-edge --help                    print this help
";

enum Command {
    Run(PathBuf),
    CheckConfig(PathBuf),
    PrintConfig,
    DecodeFrame(String),
    DecodeLorawan {
        frame: String,
        nwk_s_key: String,
        app_s_key: String,
    },
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
            "decode" => {
                let kind = parser.value()?.string()?;
                match kind.as_str() {
                    "frame" => Command::DecodeFrame(parser.value()?.string()?),
                    "lorawan" => parse_decode_lorawan(&mut parser)?,
                    _ => {
                        return Err(format!(
                            "decode: unknown kind {kind:?} (known: frame, lorawan)"
                        )
                        .into())
                    }
                }
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

/// `decode lorawan HEX --nwkskey HEX --appskey HEX`, options in any order.
fn parse_decode_lorawan(parser: &mut lexopt::Parser) -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut frame, mut nwk_s_key, mut app_s_key) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("nwkskey") => nwk_s_key = Some(parser.value()?.string()?),
            Long("appskey") => app_s_key = Some(parser.value()?.string()?),
            Value(hex) if frame.is_none() => frame = Some(hex.string()?),
            other => return Err(other.unexpected()),
        }
    }
    let missing = |what: &str| lexopt::Error::from(format!("decode lorawan: missing {what}"));
    Ok(Command::DecodeLorawan {
        frame: frame.ok_or_else(|| missing("the frame (hex)"))?,
        nwk_s_key: nwk_s_key.ok_or_else(|| missing("--nwkskey"))?,
        app_s_key: app_s_key.ok_or_else(|| missing("--appskey"))?,
    })
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
        Command::DecodeLorawan {
            frame,
            nwk_s_key,
            app_s_key,
        } => cli::decode_lorawan(&frame, &nwk_s_key, &app_s_key),
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
