//! The `squall` binary: parse the command line, set up logging, run.

use clap::Parser;
use squall::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A service reports what it does; one-shot commands only what went wrong.
    let default = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_env("SQUALL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    match squall::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            // Every cause once (`{e:#}` repeats a database error's text).
            eprintln!("error: {}", squall::diagnostics::chain(e.as_ref()));
            std::process::ExitCode::from(2)
        }
    }
}
