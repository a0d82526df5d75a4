//! `copy`: a source's measurements into a destination, one time window at
//! a time: a streamed query per window and measurement feeds the
//! destination's `Writer`; once the window is flushed its counts are
//! checked (read = written + failed) and the state file moves past it, so
//! an interrupted copy resumes at the first unfinished window. The reading
//! runs ahead in its own task ([`read`]), so the source is already
//! answering the next window while the destination acknowledges this one.

mod msgpack;
mod read;
mod row_point;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use influx_stream::{FailedBatch, FieldType, RetryPolicy, WriteOptions};
use serde_json::json;

use crate::conn::{seconds, ApiVersion, ConnArgs, Role, Secret, ServerKind, TokenScheme};
use crate::error::CliError;
use crate::progress::{Counts, Mode, Progress};
use row_point::{ColumnTypes, Lines, RowParts};

/// Arguments of `copy`. The source is the global connection (--url, -d,
/// --rp and their environment variables); the destination has `--to-`
/// flags.
#[derive(Debug, Args)]
#[command(
    after_help = "The copy runs window by window; after each one the destination has \
acknowledged every point, the counts are checked (read = written + failed) and --state is \
updated, so an interrupted copy goes on from the first unfinished window with --resume. \
Windows are idempotent: points are stored by series and time, so a window copied twice is \
stored once.

Example:
  influx-stream --url http://old:8086 -d telemetry copy --to-url http://new:8086 \\
      --start 2024-01-01T00:00:00Z --end 2024-02-01T00:00:00Z --window 6h --state copy.json"
)]
pub struct CopyArgs {
    /// The destination's URL. Default: the source's.
    #[arg(long, env = "INFLUX_TO_URL")]
    pub to_url: Option<String>,
    /// The destination database (bucket). Default: the source's.
    #[arg(long, env = "INFLUX_TO_DATABASE")]
    pub to_database: Option<String>,
    /// The destination retention policy. Default: the database's default.
    #[arg(long)]
    pub to_rp: Option<String>,
    /// The destination's user name (with INFLUX_TO_PASSWORD).
    #[arg(long, env = "INFLUX_TO_USERNAME")]
    pub to_username: Option<String>,
    /// The destination's password. Prefer the environment variable.
    #[arg(long, env = "INFLUX_TO_PASSWORD", hide_env_values = true)]
    pub to_password: Option<Secret>,
    /// The destination's token. Prefer the environment variable.
    #[arg(long, env = "INFLUX_TO_TOKEN", hide_env_values = true)]
    pub to_token: Option<Secret>,
    /// How the destination's token is sent.
    #[arg(long, value_enum, default_value_t = TokenScheme::Token)]
    pub to_token_scheme: TokenScheme,
    /// A PEM file of CA certificates for the destination.
    #[arg(long, env = "INFLUX_TO_CA_CERT")]
    pub to_ca_cert: Option<PathBuf>,
    /// The destination's write endpoint.
    #[arg(long, value_enum, default_value_t = ApiVersion::V1)]
    pub to_write_api: ApiVersion,
    /// The destination's organization, for --to-write-api v2.
    #[arg(long, env = "INFLUX_TO_ORG")]
    pub to_org: Option<String>,
    /// The kind of destination server.
    #[arg(long, value_enum, default_value_t = ServerKind::Influxdb)]
    pub to_server: ServerKind,
    /// Measurements to copy (repeat or separate with commas). Default:
    /// every measurement of the source database.
    #[arg(long = "measurement", value_delimiter = ',')]
    pub measurements: Vec<String>,
    /// The first time copied (RFC 3339, or integer nanoseconds).
    #[arg(long)]
    pub start: Option<String>,
    /// The time the copy stops before (RFC 3339, or integer nanoseconds).
    /// Default: now. With --resume, moves the end the state file recorded.
    #[arg(long)]
    pub end: Option<String>,
    /// The window length: a number and s, m, h or d. With --resume the
    /// state file's window is kept and this is ignored.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub window: Duration,
    /// Write every point that failed here, as line protocol, each batch
    /// after a `#` comment with the reason.
    #[arg(long, value_name = "FILE")]
    pub failed: Option<PathBuf>,
    /// Where to keep the progress of the copy (JSON).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Go on from the window after the last one --state records as done.
    #[arg(long, requires = "state")]
    pub resume: bool,
    /// Points per write request.
    #[arg(long, default_value_t = 5_000)]
    pub batch_points: usize,
    /// Write requests running at once (batches may then land out of order,
    /// which only matters for points of one series at one time).
    #[arg(long, default_value_t = 1)]
    pub in_flight: usize,
    /// Seconds a failing request is retried before its points count as failed
    /// (0 up to a year).
    #[arg(long, default_value_t = 60.0)]
    pub retry_for: f64,
    /// Seconds between plain progress lines when stderr is not a terminal
    /// (0.001 up to a year).
    #[arg(long, default_value_t = 10.0)]
    pub progress_interval: f64,
    /// No progress display.
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 1h"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    let d = Duration::from_secs(n.saturating_mul(secs));
    if d.is_zero() {
        return Err("the window must be longer than zero".to_owned());
    }
    Ok(d)
}

fn parse_time(flag: &str, s: &str) -> Result<i64, CliError> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Ok(n);
    }
    influx_stream::Timestamp::parse_rfc3339(s.trim())
        .map(|t| t.as_nanos())
        .map_err(|_| {
            CliError::usage(format!(
                "{flag} {s:?}: expected RFC 3339 (2024-01-01T00:00:00Z) or integer nanoseconds"
            ))
        })
}

/// The state file: what is copied, and where the copy is.
#[derive(Debug, Clone, PartialEq)]
struct State {
    source: String,
    destination: String,
    measurements: Vec<String>,
    end: i64,
    window_ns: i64,
    next: i64,
    read: u64,
    written: u64,
    failed: u64,
}

impl State {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "source": self.source,
            "destination": self.destination,
            "measurements": self.measurements,
            "end": self.end,
            "window_ns": self.window_ns,
            "next": self.next,
            "read": self.read,
            "written": self.written,
            "failed": self.failed,
        })
    }

    fn load(path: &Path) -> Result<State, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::new(format!("--state {}: cannot read it: {e}", path.display()))
        })?;
        let bad = || {
            CliError::new(format!(
                "--state {}: not a state file written by influx-stream copy",
                path.display()
            ))
        };
        let j: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
        let s = |k: &str| j[k].as_str().map(str::to_owned).ok_or_else(bad);
        let i = |k: &str| j[k].as_i64().ok_or_else(bad);
        let u = |k: &str| j[k].as_u64().ok_or_else(bad);
        let state = State {
            source: s("source")?,
            destination: s("destination")?,
            measurements: j["measurements"]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|m| m.as_str().map(str::to_owned).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            end: i("end")?,
            window_ns: i("window_ns")?,
            next: i("next")?,
            read: u("read")?,
            written: u("written")?,
            failed: u("failed")?,
        };
        // A window that does not move the copy forward would repeat it
        // forever; a next window past the end is no state copy writes.
        if state.window_ns <= 0 || state.next > state.end {
            return Err(bad());
        }
        Ok(state)
    }

    /// Written beside and renamed over, so a crash leaves the old state or
    /// the new one, never half of one.
    fn save(&self, path: &Path) -> Result<(), CliError> {
        let tmp = path.with_extension("tmp");
        let cannot = |e: std::io::Error| {
            CliError::new(format!("--state {}: cannot write it: {e}", path.display()))
        };
        std::fs::write(&tmp, format!("{:#}\n", self.to_json())).map_err(cannot)?;
        std::fs::rename(&tmp, path).map_err(cannot)
    }
}

/// Runs `copy`.
pub async fn run(conn: &ConnArgs, args: CopyArgs) -> Result<ExitCode, CliError> {
    let src_db = conn.need_database()?.to_owned();
    let retry_for = seconds("--retry-for", args.retry_for, 0.0)?;
    let progress_every = seconds("--progress-interval", args.progress_interval, 0.001)?;
    let source = conn.client()?;
    let dest_conn = ConnArgs {
        url: args.to_url.clone().unwrap_or_else(|| conn.url.clone()),
        database: Some(args.to_database.clone().unwrap_or_else(|| src_db.clone())),
        retention_policy: args.to_rp.clone(),
        username: args.to_username.clone(),
        password: args.to_password.clone(),
        token: args.to_token.clone(),
        token_scheme: args.to_token_scheme,
        ca_cert: args.to_ca_cert.clone(),
        only_ca_cert: false,
        client_cert: None,
        client_key: None,
        insecure: conn.insecure,
        timeout: conn.timeout,
        gzip: conn.gzip,
        write_api: args.to_write_api,
        org: args.to_org.clone(),
        server: args.to_server,
        role: Role::Destination,
    };
    // Its errors name the --to- flags; the prefix says which side failed
    // for the settings both share (--timeout, --insecure).
    let dest = dest_conn.client().map_err(|e| CliError {
        message: format!("the destination: {}", e.message),
        code: e.code,
    })?;
    let source_name = format!("{}/{src_db}", conn.url);
    let dest_name = format!(
        "{}/{}",
        dest_conn.url,
        dest_conn.database.as_deref().unwrap_or_default()
    );
    if source_name == dest_name && args.to_rp == conn.retention_policy {
        return Err(CliError::usage(
            "the source and the destination are the same: give --to-url or --to-database",
        ));
    }
    let window_ns = i64::try_from(args.window.as_nanos())
        .map_err(|_| CliError::usage("--window is too long"))?;

    let mut state = if args.resume {
        let path = args.state.as_deref().unwrap_or(Path::new(""));
        let s = State::load(path)?;
        if s.source != source_name || s.destination != dest_name {
            return Err(CliError::usage(format!(
                "--state {} is of a copy from {} to {}, not from {source_name} to {dest_name}",
                path.display(),
                s.source,
                s.destination
            )));
        }
        let mut s = s;
        // A copy that caught up can be taken further.
        if let Some(e) = &args.end {
            s.end = parse_time("--end", e)?;
        }
        s
    } else {
        let start = args
            .start
            .as_deref()
            .ok_or_else(|| CliError::usage("copy needs --start (or --resume with --state)"))
            .and_then(|s| parse_time("--start", s))?;
        let end = match &args.end {
            Some(e) => parse_time("--end", e)?,
            None => influx_stream::Timestamp::now().as_nanos(),
        };
        if end <= start {
            return Err(CliError::usage("--end must be after --start"));
        }
        let measurements = if args.measurements.is_empty() {
            source.show_measurements().await?
        } else {
            args.measurements.clone()
        };
        State {
            source: source_name,
            destination: dest_name,
            measurements,
            end,
            window_ns,
            next: start,
            read: 0,
            written: 0,
            failed: 0,
        }
    };
    if let (Some(path), false) = (&args.state, args.resume) {
        state.save(path)?;
    }

    // The source prints whole floats as integers: the declared types say
    // what each field is, so a float stays a float in the destination.
    let mut types: HashMap<String, HashMap<String, FieldType>> = HashMap::new();
    for m in &state.measurements {
        let keys = source.show_field_keys(Some(m)).await?;
        let per = types.entry(m.clone()).or_default();
        for (k, t) in keys.into_values().flatten() {
            per.entry(k).or_insert(t);
        }
    }

    // On --resume the dead letters of the earlier runs stay: the state's
    // failed count includes them.
    let failed = crate::write::open_failed(args.failed.as_deref(), args.resume)?;
    let writer_options = {
        let failed = failed.clone();
        WriteOptions::new()
            .max_points(args.batch_points)
            .max_in_flight(args.in_flight)
            .retry(RetryPolicy::default().max_elapsed(retry_for))
            .failure_callback(move |batch: FailedBatch| crate::write::lock(&failed).batch(&batch))
    };
    let mut writer = dest.writer(writer_options)?;
    let counts = Arc::new(Counts::default());
    let mode = if args.no_progress {
        Mode::Off
    } else {
        Mode::Auto(progress_every)
    };
    let progress = Progress::start(mode, writer.clone(), counts.clone());
    let started = Instant::now();
    let mut windows = 0u64;
    let at_start = (state.read, state.written, state.failed);
    let mut error: Option<String> = None;

    // The next window is read while the destination acknowledges this
    // one. Source and destination run at about the same pace, each with
    // its own hiccups: twenty batches between the two halves (at most
    // 100,000 rows) let one catch up on the other where two batches made
    // them wait on each other (cli/README.md, runs 8-10).
    let (mut reads, reader) = read::spawn(
        read::Source {
            client: source.clone(),
            database: src_db.clone(),
            retention_policy: conn.retention_policy.clone(),
            measurements: state.measurements.clone(),
        },
        state.next,
        state.end,
        state.window_ns,
        args.batch_points.saturating_mul(20).clamp(1_000, 100_000),
        counts.clone(),
    );
    // Counts of the window being written: the writer's stats when it
    // began, and the rows refused on this side of the destination.
    let mut before = writer.stats();
    let mut put = Put {
        writer: &mut writer,
        types: &types,
        column_types: ColumnTypes::new(dest.encode_options().server),
        batch_points: args.batch_points,
        in_batch: 0,
        counts: &counts,
        progress: &progress,
        failed: &failed,
        refused: 0,
    };
    'windows: while let Some(item) = reads.recv().await {
        let (from, to, read) = match item {
            read::Read::Rows(rows) => {
                let row = |i| rows.get(i).map(RowParts::of_row);
                if let Err(e) = put.rows(rows.len(), row).await {
                    error = Some(e);
                    break 'windows;
                }
                continue;
            }
            read::Read::Packed(rows) => {
                let row = |i| rows.get(i).map(RowParts::of_msgpack);
                if let Err(e) = put.rows(rows.len(), row).await {
                    error = Some(e);
                    break 'windows;
                }
                continue;
            }
            read::Read::Failed(e) => {
                error = Some(e);
                break;
            }
            read::Read::End { from, to, rows } => (from, to, rows),
        };
        // Failed batches are counted in the stats and kept by the
        // dead-letter callback; the flush makes the counts final.
        let flushed = put.writer.flush().await;
        let after = put.writer.stats();
        let written = after.points_written - before.points_written;
        let failed_here = after.points_failed - before.points_failed + put.refused;
        before = after;
        put.refused = 0;
        // The flush sealed the batch.
        put.in_batch = 0;
        if let Err(e) = &flushed {
            if crate::write::every_batch_would_fail(e) {
                error = Some(format!("the destination could not be written to: {e}"));
                break;
            }
            progress.println(&format!(
                "window {}..{}: {e}",
                crate::time::rfc3339(from),
                crate::time::rfc3339(to)
            ));
        }
        if read != written + failed_here {
            error = Some(format!(
                "window {}..{}: read {read} but written {written} + failed {failed_here}: stopping (please report this)",
                crate::time::rfc3339(from),
                crate::time::rfc3339(to)
            ));
            break;
        }
        state.read += read;
        state.written += written;
        state.failed += failed_here;
        state.next = to;
        windows += 1;
        if let Some(path) = &args.state {
            // The dead letters the state counts must be in --failed before
            // the state says so: a copy killed after the save would
            // otherwise count points whose lines were lost in the buffer.
            if let Some(e) = crate::write::close_failed(&failed) {
                error = Some(format!("--failed: cannot write to it: {e}"));
                break;
            }
            state.save(path)?;
        }
    }
    // Whatever stopped the loop, the reader stops with it.
    drop(put);
    drop(reads);
    reader.abort();
    if error.is_none() && state.next < state.end {
        // The reader ends early only by failing, which it reports.
        error = Some("the source's reader stopped early (please report this)".to_owned());
    }
    let _ = writer.close().await;
    progress.finish().await;
    drop(writer);
    if let Some(e) = crate::write::close_failed(&failed) {
        error.get_or_insert(format!("--failed: cannot write to it: {e}"));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "read {} = written {} + failed {} in {windows} window(s), {:.1} s",
        state.read - at_start.0,
        state.written - at_start.1,
        state.failed - at_start.2,
        secs
    );
    if args.resume {
        println!(
            "since the copy began: read {} = written {} + failed {}",
            state.read, state.written, state.failed
        );
    }
    if state.next < state.end {
        println!(
            "stopped at {}; run again with --resume{} to go on",
            crate::time::rfc3339(state.next),
            if args.state.is_some() {
                ""
            } else {
                " (and --state FILE)"
            }
        );
    }
    if let Some(e) = error {
        eprintln!("influx-stream: {e}");
        return Ok(ExitCode::FAILURE);
    }
    // This run's failures: those of earlier runs were reported by them.
    Ok(if state.failed == at_start.2 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Rows given to the writer as one item at most: one lock and one copy
/// into the batch for this many rows, where a row each cost about as much
/// as encoding it.
const ITEM_ROWS: usize = 500;

/// Where the rows read go: points into the writer, the rows that make
/// none counted and reported.
struct Put<'a> {
    writer: &'a mut influx_stream::Writer,
    /// Per measurement, the declared field types.
    types: &'a HashMap<String, HashMap<String, FieldType>>,
    column_types: ColumnTypes,
    /// The writer's batch size.
    batch_points: usize,
    /// Points in the writer's open batch: the next item of rows stops
    /// where it is full, so batches stay `batch_points` long.
    in_batch: usize,
    counts: &'a Counts,
    progress: &'a Progress,
    failed: &'a crate::write::SharedFailed,
    /// Rows of the current window refused on this side of the destination.
    refused: u64,
}

impl Put<'_> {
    /// Writes rows `0..n` of `row`, many to an item of the writer; counts
    /// and reports each row that makes no point, and why.
    ///
    /// # Errors
    /// The writer's error that ends the copy.
    async fn rows<'r>(
        &mut self,
        n: usize,
        row: impl Fn(usize) -> Option<RowParts<'r>>,
    ) -> Result<(), String> {
        let batch = self.batch_points.max(1);
        let mut next = 0;
        while next < n {
            // An item goes into one batch whole: up to where the batch is
            // full, and at most ITEM_ROWS rows, so that rows far larger than
            // usual do not make one body of many times the writer's
            // max_bytes. (A batch the writer sealed for its bytes is not
            // seen here: the batches after it may then hold up to
            // ITEM_ROWS - 1 points more than batch_points.)
            let room = (batch - self.in_batch.min(batch - 1)).min(ITEM_ROWS);
            let end = n.min(next + room);
            let lines = Lines::new(&row, next..end, self.types, &mut self.column_types);
            if let Err(e) = self.writer.send(&lines).await {
                return Err(format!("writing: {e}"));
            }
            let refused = lines.refused();
            let stop = refused.as_ref().map_or(end, |(i, _)| *i);
            self.in_batch = (self.in_batch + (stop - next)) % batch;
            next = stop;
            if let Some((i, why)) = refused {
                next = i + 1;
                self.refuse(row(i), &why);
            }
        }
        Ok(())
    }

    /// Counts and reports `row`, which makes no point for this reason.
    fn refuse(&mut self, row: Option<RowParts<'_>>, why: &str) {
        self.refused += 1;
        self.counts.input_failed.fetch_add(1, Relaxed);
        let msg = format!(
            "{} at {}: {why}",
            row.and_then(|r| r.name).unwrap_or_default(),
            row.and_then(|r| r.time()).unwrap_or(0)
        );
        self.progress.println(&msg);
        crate::write::lock(self.failed).write(&format!("# {msg}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(window_ns: i64, next: i64, end: i64) -> State {
        State {
            source: "http://a:8086/db".into(),
            destination: "http://b:8086/db".into(),
            measurements: vec!["cpu".into()],
            end,
            window_ns,
            next,
            read: 0,
            written: 0,
            failed: 0,
        }
    }

    #[test]
    fn a_state_that_would_never_end_is_refused() -> Result<(), CliError> {
        let dir = std::env::temp_dir().join(format!("influx-stream-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| CliError::new(e.to_string()))?;
        let path = dir.join("state.json");
        let good = state(10, 0, 100);
        good.save(&path)?;
        assert_eq!(State::load(&path)?, good);
        // The end itself is where a finished copy stands.
        state(10, 100, 100).save(&path)?;
        assert_eq!(State::load(&path)?.next, 100);
        for bad in [state(0, 0, 100), state(-5, 0, 100), state(10, 101, 100)] {
            bad.save(&path)?;
            let e = State::load(&path).err().map(|e| e.message);
            assert_eq!(
                e,
                Some(format!(
                    "--state {}: not a state file written by influx-stream copy",
                    path.display()
                )),
                "{bad:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
