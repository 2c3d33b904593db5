//! The `acs-edge` command line: runs the daemon or one of its offline subcommands.

use acs_edge::{cli, runtime};
use std::path::PathBuf;
use std::process::ExitCode;

enum Command {
    Run(PathBuf, runtime::RunOptions),
    CheckConfig(PathBuf),
    PrintConfig,
    DecodeFrame(String),
    #[cfg(feature = "ble")]
    DecodeBle(cli::ble::DecodeBle),
    #[cfg(feature = "lora")]
    DecodeLorawan {
        frame: String,
        nwk_s_key: String,
        app_s_key: String,
    },
    Passwd(String, PathBuf),
    TokenCreate(String, PathBuf),
    TokenRevoke(String, PathBuf),
    Status(PathBuf),
    Version,
    /// `help [COMMAND]`, `COMMAND --help`: the topic, "" for every command.
    Help(String),
}

fn parse_args() -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(topic) = cli::help::requested(&words) {
        return Ok(Command::Help(topic));
    }
    let mut parser = lexopt::Parser::from_env();
    let mut config = PathBuf::from(acs_edge::config::DEFAULT_PATH);
    let Some(arg) = parser.next()? else {
        return Ok(Command::Run(config, runtime::RunOptions::default()));
    };
    let command = match arg {
        Short('V') | Long("version") => Command::Version,
        Short('c') | Long("config") => {
            config = parser.value()?.into();
            run_command(&mut parser, config, runtime::RunOptions::default())?
        }
        Long("replay-ble") => {
            let options = runtime::RunOptions {
                replay_ble: Some(parser.value()?.into()),
            };
            run_command(&mut parser, config, options)?
        }
        Value(word) => match word.string()?.as_str() {
            "run" => run_command(&mut parser, config, runtime::RunOptions::default())?,
            "check-config" => match parser.next()? {
                Some(Value(path)) => Command::CheckConfig(path.into()),
                Some(Short('c') | Long("config")) => Command::CheckConfig(parser.value()?.into()),
                Some(other) => return Err(other.unexpected()),
                None => Command::CheckConfig(config),
            },
            "print-config" => Command::PrintConfig,
            "status" => Command::Status(config_option(&mut parser, config)?),
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
                match kind.as_str() {
                    "frame" => Command::DecodeFrame(parser.value()?.string()?),
                    #[cfg(feature = "ble")]
                    "ble" => Command::DecodeBle(cli::ble::parse_args(&mut parser)?),
                    #[cfg(feature = "lora")]
                    "lorawan" => parse_decode_lorawan(&mut parser)?,
                    #[cfg(not(feature = "ble"))]
                    "ble" => return Err(cli::not_built("decode ble", "ble").into()),
                    #[cfg(not(feature = "lora"))]
                    "lorawan" => return Err(cli::not_built("decode lorawan", "lora").into()),
                    _ => {
                        return Err(format!(
                            "decode: unknown kind {kind:?} (known: frame, ble, lorawan)"
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

/// The options of the daemon itself, in any order.
fn run_command(
    parser: &mut lexopt::Parser,
    mut config: PathBuf,
    mut options: runtime::RunOptions,
) -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("config") => config = parser.value()?.into(),
            Long("replay-ble") => options.replay_ble = Some(parser.value()?.into()),
            other => return Err(other.unexpected()),
        }
    }
    Ok(Command::Run(config, options))
}

/// `decode lorawan HEX --nwkskey HEX --appskey HEX`, options in any order.
#[cfg(feature = "lora")]
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

/// An optional trailing `--config FILE`.
fn config_option(parser: &mut lexopt::Parser, default: PathBuf) -> Result<PathBuf, lexopt::Error> {
    use lexopt::prelude::*;
    match parser.next()? {
        Some(Short('c') | Long("config")) => Ok(parser.value()?.into()),
        Some(other) => Err(other.unexpected()),
        None => Ok(default),
    }
}

/// The daemon found no config file at all (rather than a wrong one).
fn is_missing_config(e: &runtime::StartError) -> bool {
    use acs_edge::config::ConfigError;
    matches!(e, runtime::StartError::Config(ConfigError::Read { source, .. })
        if source.kind() == std::io::ErrorKind::NotFound)
}

fn main() -> ExitCode {
    let command = match parse_args() {
        Ok(command) => command,
        Err(e) => {
            eprintln!("acs-edge: {e}\n\n{}", cli::help::overview());
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help(topic) if topic.is_empty() => cli::print_stdout(&cli::help::overview()),
        Command::Help(topic) => match cli::help::topic(&topic) {
            Some(text) => cli::print_stdout(&text),
            None => {
                eprintln!(
                    "acs-edge: no command {topic:?}\n\n{}",
                    cli::help::overview()
                );
                ExitCode::from(2)
            }
        },
        Command::Version => cli::print_stdout(&format!("{}\n", cli::version_line())),
        Command::PrintConfig => cli::print_stdout(&acs_edge::config::default_config_text()),
        Command::CheckConfig(path) => cli::check_config(&path),
        Command::DecodeFrame(hex) => cli::decode_frame(&hex),
        #[cfg(feature = "ble")]
        Command::DecodeBle(args) => cli::ble::decode_ble(&args),
        #[cfg(feature = "lora")]
        Command::DecodeLorawan {
            frame,
            nwk_s_key,
            app_s_key,
        } => cli::decode_lorawan(&frame, &nwk_s_key, &app_s_key),
        Command::Passwd(user, path) => cli::passwd(&user, &path),
        Command::TokenCreate(name, path) => cli::token_create(&name, &path),
        Command::TokenRevoke(name, path) => cli::token_revoke(&name, &path),
        Command::Status(path) => cli::status(&path),
        Command::Run(path, options) => match runtime::run_with(&path, options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log::error!("{e}");
                eprintln!("acs-edge: {e}");
                if is_missing_config(&e) {
                    eprintln!("{}", cli::no_config_hint(&path));
                }
                ExitCode::from(1)
            }
        },
    }
}
