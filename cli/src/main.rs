//! `influx-stream`: the command-line face of the influx-stream library.
//!
//! Every subcommand is a thin layer over the library: `write` feeds its
//! batching `Writer`, `query` drains its row stream, the listings call its
//! admin helpers. What the layer adds is input and output formats,
//! progress, and accounting that says what happened to every point.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod conn;
mod copy;
mod error;
mod input;
mod progress;
mod query;
mod time;
mod write;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::conn::ConnArgs;
use crate::error::CliError;

/// Load data into InfluxDB, stream queries out, and see what a server holds.
///
/// Connection settings come from flags or from the environment variables
/// named in brackets; secrets given through the environment are never shown.
#[derive(Debug, Parser)]
#[command(name = "influx-stream", version, propagate_version = true)]
#[command(after_help = "Examples:
  influx-stream ping --url http://127.0.0.1:8086
  INFLUX_DATABASE=telemetry influx-stream write points.lp.gz --failed failed.lp
  influx-stream query -d telemetry 'SELECT * FROM cpu' --format jsonl > cpu.jsonl")]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check that the server answers, and show its version.
    #[command(
        after_help = "Example:\n  influx-stream ping --url https://influx.internal:8086 --ca-cert ca.pem"
    )]
    Ping,
    /// Write line protocol, CSV or JSON lines from files or standard input.
    Write(Box<write::WriteArgs>),
    /// Run a query and stream its rows to standard output.
    Query(query::QueryArgs),
    /// Copy measurements to another server or database, window by window.
    Copy(Box<copy::CopyArgs>),
    /// List the server's databases.
    #[command(after_help = "Example:\n  influx-stream databases --url http://127.0.0.1:8086")]
    Databases,
    /// List the measurements of the database.
    #[command(after_help = "Example:\n  influx-stream measurements -d telemetry")]
    Measurements,
    /// List field keys and their types, by measurement.
    FieldKeys(admin::ListingArgs),
    /// List tag keys, by measurement.
    TagKeys(admin::ListingArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread: the tool's work is one pipeline (read, encode, send) and
    // the servers it talks to often share the machine; handing rows between
    // threads cost more in wakeups than a second core gave.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("influx-stream: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // A read of standard input in progress on a blocking thread cannot be
    // cancelled, and dropping the runtime would wait for it: a write that
    // stopped early would hang until the input ends.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            // An empty message is a quiet end (stdout closed by `| head`).
            if !e.message.is_empty() {
                eprintln!("influx-stream: {e}");
            }
            ExitCode::from(e.code)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Ping => admin::ping(&cli.conn).await,
        Command::Write(args) => write::run(&cli.conn, *args).await,
        Command::Query(args) => query::run(&cli.conn, args).await,
        Command::Copy(args) => copy::run(&cli.conn, *args).await,
        Command::Databases => admin::databases(&cli.conn).await,
        Command::Measurements => admin::measurements(&cli.conn).await,
        Command::FieldKeys(args) => admin::field_keys(&cli.conn, args).await,
        Command::TagKeys(args) => admin::tag_keys(&cli.conn, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_of_the_arguments_hides_secrets() -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from([
            "influx-stream",
            "--username",
            "admin",
            "--password",
            "hunter2",
            "--token",
            "tok-secret",
            "ping",
        ])?;
        let shown = format!("{cli:?}");
        assert!(shown.contains("admin"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("tok-secret"), "{shown}");
        Ok(())
    }
}
