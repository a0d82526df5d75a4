//! `ping` and the listings: thin calls into the library's admin helpers,
//! printed one item a line so they pipe into `grep`, `wc -l` and `cut`.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::conn::ConnArgs;
use crate::error::CliError;

/// Arguments of the by-measurement listings.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: one line per key, `measurement<TAB>key` (field keys add `<TAB>type`).\n\nExample:\n  influx-stream field-keys -d telemetry --measurement cpu"
)]
pub struct ListingArgs {
    /// Only this measurement.
    #[arg(long)]
    pub measurement: Option<String>,
}

/// `ping`: prints the URL, version and build, or fails.
pub async fn ping(conn: &ConnArgs) -> Result<ExitCode, CliError> {
    let client = conn.client()?;
    let pong = client.ping().await?;
    println!(
        "{} is up: InfluxDB {} ({})",
        conn.url,
        or_unknown(&pong.version),
        or_unknown(&pong.build)
    );
    Ok(ExitCode::SUCCESS)
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// `databases`: one name a line.
pub async fn databases(conn: &ConnArgs) -> Result<ExitCode, CliError> {
    let names = conn.client()?.show_databases().await?;
    print_lines(names.iter().map(String::as_str))
}

/// `measurements`: one name a line.
pub async fn measurements(conn: &ConnArgs) -> Result<ExitCode, CliError> {
    conn.need_database()?;
    let names = conn.client()?.show_measurements().await?;
    print_lines(names.iter().map(String::as_str))
}

/// `field-keys`: `measurement<TAB>field<TAB>type` a line.
pub async fn field_keys(conn: &ConnArgs, args: ListingArgs) -> Result<ExitCode, CliError> {
    conn.need_database()?;
    let keys = conn
        .client()?
        .show_field_keys(args.measurement.as_deref())
        .await?;
    let lines = keys.iter().flat_map(|(m, fields)| {
        fields
            .iter()
            .map(move |(key, ty)| format!("{m}\t{key}\t{ty}"))
    });
    print_lines(lines)
}

/// `tag-keys`: `measurement<TAB>tag` a line.
pub async fn tag_keys(conn: &ConnArgs, args: ListingArgs) -> Result<ExitCode, CliError> {
    conn.need_database()?;
    let keys = conn
        .client()?
        .show_tag_keys(args.measurement.as_deref())
        .await?;
    let lines = keys
        .iter()
        .flat_map(|(m, tags)| tags.iter().map(move |t| format!("{m}\t{t}")));
    print_lines(lines)
}

fn print_lines<S: AsRef<str>>(lines: impl Iterator<Item = S>) -> Result<ExitCode, CliError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in lines {
        writeln!(out, "{}", line.as_ref()).map_err(crate::query::stdout_error)?;
    }
    out.flush().map_err(crate::query::stdout_error)?;
    Ok(ExitCode::SUCCESS)
}
