//! `write`: input records into the library's batching `Writer`, with an
//! account of every point: read = written + failed, checked at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use influx_stream::{FailedBatch, RetryPolicy, WriteOptions, WriteStats};

use crate::conn::{seconds, ConnArgs, Unit};
use crate::error::CliError;
use crate::input::{self, Format, Kind, Raw, RecordArgs, Source};
use crate::progress::{self, Counts, Mode, Progress};

/// Bad records named on stderr before the rest go only to --failed.
const MAX_REPORTED: u64 = 100;

/// Arguments of `write`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when every point read was written, 1 when any failed \
(each is named on stderr with its file and line, and written with the reason to --failed), \
2 for bad usage.

Examples:
  influx-stream write -d telemetry points.lp.gz --failed failed.lp
  gunzip -c points.lp.gz | influx-stream write -d telemetry --precision s
  influx-stream write -d weather --measurement obs --tag station --time-format '%Y-%m-%d %H:%M' obs.csv
  influx-stream write -d telemetry --json events.jsonl"
)]
pub struct WriteArgs {
    /// Files to read; none or `-` reads standard input. Names ending in
    /// `.gz` are inflated.
    pub files: Vec<PathBuf>,
    /// The input format.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    #[command(flatten)]
    pub records: RecordArgs,
    /// The unit of line-protocol timestamps; points from CSV and JSON
    /// lines are sent in it too.
    #[arg(long, value_enum, default_value_t = Unit::Ns)]
    pub precision: Unit,
    /// Write every point that failed here, each after a `#` comment line
    /// saying where it came from and why (the file is line protocol, CSV
    /// or JSON lines as the input was, plus comments).
    #[arg(long, value_name = "FILE")]
    pub failed: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Points per request.
    #[arg(long, default_value_t = 5_000)]
    pub batch_points: usize,
    /// Bytes per request at most.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub batch_bytes: usize,
    /// Requests running at once (batches may then land out of order).
    #[arg(long, default_value_t = 1)]
    pub in_flight: usize,
    /// Milliseconds a partial batch waits for more points before it is sent.
    #[arg(long, default_value_t = 1_000)]
    pub flush_interval_ms: u64,
    /// Seconds a failing request is retried before its points count as
    /// failed. The write stops at the first batch that fails for a reason
    /// every later one would share (server unreachable, database missing,
    /// credentials refused). 0 up to a year.
    #[arg(long, default_value_t = 60.0)]
    pub retry_for: f64,
    /// Seconds between plain progress lines when stderr is not a terminal
    /// (0.001 up to a year).
    #[arg(long, default_value_t = 10.0)]
    pub progress_interval: f64,
    /// No progress display.
    #[arg(long)]
    pub no_progress: bool,
    /// Longest line accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_line_bytes: usize,
}

/// The dead-letter file, shared by the read loop and the writer task's
/// failure callback.
#[derive(Debug, Default)]
pub(crate) struct Failed {
    out: Option<BufWriter<File>>,
    /// The first write error: reported at the end, once.
    error: Option<String>,
}

/// The dead-letter file as the read loop and the writer task share it.
pub(crate) type SharedFailed = Arc<Mutex<Failed>>;

/// Locks the dead-letter file.
pub(crate) fn lock(f: &SharedFailed) -> MutexGuard<'_, Failed> {
    // A panic elsewhere while holding it leaves plain data: go on with it.
    f.lock().unwrap_or_else(|p| p.into_inner())
}

impl Failed {
    pub(crate) fn write(&mut self, text: &str) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.write_all(text.as_bytes()) {
                self.error.get_or_insert_with(|| e.to_string());
                self.out = None;
            }
        }
    }

    pub(crate) fn batch(&mut self, batch: &FailedBatch) {
        if self.out.is_none() {
            return;
        }
        let lines = batch.lines.iter().filter(|&&b| b == b'\n').count() as u64;
        let why = one_line(&batch.error.to_string());
        let head = if batch.error.is_partial_write() && lines > batch.points {
            format!(
                "# the server dropped {} of the {lines} points below and does not say which: {why}\n",
                batch.points
            )
        } else {
            format!(
                "# the server did not write these {} point(s): {why}\n",
                batch.points
            )
        };
        self.write(&head);
        self.write(&String::from_utf8_lossy(&batch.lines));
        if !batch.lines.ends_with(b"\n") {
            self.write("\n");
        }
    }
}

/// A message on one line, for a `#` comment in the dead-letter file.
pub(crate) fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Whether a batch that failed for good says every later batch will fail
/// the same way: retries spent (server unreachable, overloaded), or the
/// database or the credentials wrong. Going on would only fill --failed.
pub(crate) fn every_batch_would_fail(e: &influx_stream::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_retryable() || e.is_auth() || e.is_database_not_found()
}

/// Opens the dead-letter file, if one is asked for: emptied, or added to
/// with `append`.
pub(crate) fn open_failed(
    path: Option<&std::path::Path>,
    append: bool,
) -> Result<SharedFailed, CliError> {
    let failed: SharedFailed = Arc::default();
    if let Some(path) = path {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| {
                CliError::new(format!(
                    "--failed {}: cannot create it: {e}",
                    path.display()
                ))
            })?;
        lock(&failed).out = Some(BufWriter::new(file));
    }
    Ok(failed)
}

/// Flushes the dead-letter file; the first error writing it, if any.
pub(crate) fn close_failed(failed: &SharedFailed) -> Option<String> {
    let mut f = lock(failed);
    if let Some(out) = &mut f.out {
        if let Err(e) = out.flush() {
            f.error.get_or_insert_with(|| e.to_string());
        }
    }
    f.error.clone()
}

/// What stopped the write before the end of the input. The flag is
/// checked for every record, so it is an atomic; the reason is read once.
#[derive(Debug, Default)]
struct Stop {
    flag: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl Stop {
    fn set(&self, reason: String) {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(reason);
        self.flag.store(true, Release);
    }

    fn reason(&self) -> Option<String> {
        if !self.flag.load(Acquire) {
            return None;
        }
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Runs `write`.
pub async fn run(conn: &ConnArgs, args: WriteArgs) -> Result<ExitCode, CliError> {
    conn.need_database()?;
    let retry_for = seconds("--retry-for", args.retry_for, 0.0)?;
    let progress_every = seconds("--progress-interval", args.progress_interval, 0.001)?;
    let sources = Source::from_args(&args.files);
    input::check_sources(&sources, args.format, &args.records)?;
    if let Some(failed) = &args.failed {
        refuse_input_as_failed(failed, &sources)?;
    }
    let client = conn.client()?.with_precision(args.precision.precision());
    let failed = open_failed(args.failed.as_deref(), false)?;
    let stop: Arc<Stop> = Arc::default();
    let options = {
        let failed = failed.clone();
        let stop = stop.clone();
        WriteOptions::new()
            .max_points(args.batch_points)
            .max_bytes(args.batch_bytes)
            .max_in_flight(args.in_flight)
            .flush_interval(Duration::from_millis(args.flush_interval_ms.max(1)))
            .retry(RetryPolicy::default().max_elapsed(retry_for))
            .failure_callback(move |batch: FailedBatch| {
                lock(&failed).batch(&batch);
                if every_batch_would_fail(&batch.error) {
                    stop.set(one_line(&batch.error.to_string()));
                }
            })
    };
    let mut writer = client.writer(options)?;
    let counts = Arc::new(Counts::default());
    let mode = if args.no_progress {
        Mode::Off
    } else {
        Mode::Auto(progress_every)
    };
    let progress = Progress::start(mode, writer.clone(), counts.clone());
    let started = Instant::now();
    let delimiter = u8::try_from(args.records.delimiter).unwrap_or(b',');

    let mut fatal: Option<String> = None;
    let mut usage = false;
    let mut stopped_at: Option<String> = None;
    // One registration for the whole run, polled beside every read.
    // Fused: once it has answered (even with an error) it stays pending.
    let interrupted = futures::FutureExt::fuse(tokio::signal::ctrl_c());
    tokio::pin!(interrupted);
    'sources: for source in sources {
        let name = source.name();
        let mut records =
            match input::records(&source, args.format, &args.records, args.max_line_bytes).await {
                Ok(r) => r,
                // check_sources catches these before anything is read; one
                // found here still ends the write the accounted way, since
                // earlier sources' points are in the writer.
                Err(e) if e.code == 2 => {
                    progress.println(&format!("influx-stream: {e}"));
                    fatal.get_or_insert(e.message);
                    usage = true;
                    break 'sources;
                }
                Err(e) => {
                    progress.println(&format!("influx-stream: {e}"));
                    fatal.get_or_insert(e.message);
                    continue;
                }
            };
        loop {
            let record = tokio::select! {
                biased;
                Ok(()) = &mut interrupted => {
                    stopped_at = Some(format!("interrupted while reading {name}"));
                    break 'sources;
                }
                r = records.next() => r,
            };
            let Some(record) = record else { break };
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    progress.println(&format!("influx-stream: {e}"));
                    fatal.get_or_insert(e.message);
                    break;
                }
            };
            if let Some(reason) = stop.reason() {
                stopped_at = Some(format!(
                    "stopped before {name}:{}: writing cannot succeed ({reason})",
                    record.line
                ));
                break 'sources;
            }
            counts.read.fetch_add(1, Relaxed);
            let refused = match record.kind {
                Kind::Lp(text) => match writer.send(text.as_str()).await {
                    Ok(()) => None,
                    Err(e) if e.is_encode() => Some((Raw::Text(text), e.to_string())),
                    Err(e) => {
                        fatal.get_or_insert(e.to_string());
                        counts.input_failed.fetch_add(1, Relaxed);
                        break 'sources;
                    }
                },
                Kind::Point(point, raw) => match writer.send(&*point).await {
                    Ok(()) => None,
                    Err(e) if e.is_encode() => Some((raw, e.to_string())),
                    Err(e) => {
                        fatal.get_or_insert(e.to_string());
                        counts.input_failed.fetch_add(1, Relaxed);
                        break 'sources;
                    }
                },
                Kind::Bad(raw, reason) => Some((raw, reason)),
            };
            if let Some((raw, reason)) = refused {
                let n = counts.input_failed.fetch_add(1, Relaxed) + 1;
                let (line, reason) = locate(record.line, &reason);
                let msg = format!("{name}:{line}: {reason}");
                if n <= MAX_REPORTED {
                    progress.println(&msg);
                } else if n == MAX_REPORTED + 1 {
                    progress.println("(more bad records: see --failed)");
                }
                let mut f = lock(&failed);
                f.write(&format!("# {}\n", one_line(&msg)));
                f.write(&raw.render(delimiter));
                f.write("\n");
            }
        }
    }
    // Every point handed over is settled (written or failed) once close
    // returns; its error repeats failures already counted in the stats.
    let close_error = writer.close().await.err();
    progress.finish().await;
    let stats = writer.stats();
    drop(writer);
    let failed_file_error = close_failed(&failed);
    let summary = Summary {
        read: counts.read.load(Relaxed),
        input_failed: counts.input_failed.load(Relaxed),
        stats,
        elapsed: started.elapsed(),
        stopped: stopped_at,
        error: fatal.or_else(|| close_error.filter(|e| e.is_closed()).map(|e| e.to_string())),
    };
    summary.print(args.json)?;
    if let Some(e) = failed_file_error {
        eprintln!("influx-stream: --failed: cannot write to it: {e}");
        return Ok(ExitCode::FAILURE);
    }
    if usage {
        return Ok(ExitCode::from(2));
    }
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Refuses a --failed file that is also an input: creating it would empty
/// the input before it is read. Paths are compared canonical, so `./a.lp`
/// and `a.lp` (or a symlink) are the same file; a --failed file that does
/// not exist yet cannot be an input.
fn refuse_input_as_failed(failed: &std::path::Path, sources: &[Source]) -> Result<(), CliError> {
    let Ok(dead) = std::fs::canonicalize(failed) else {
        return Ok(());
    };
    for path in sources.iter().filter_map(|s| s.path.as_deref()) {
        if std::fs::canonicalize(path).is_ok_and(|p| p == dead) {
            return Err(CliError::usage(format!(
                "--failed {} is also an input file: it would be emptied before it is read; give --failed another file",
                failed.display()
            )));
        }
    }
    Ok(())
}

/// The file line and message of a writer error about a record starting at
/// `line`: the library names the line within the record and its column.
fn locate(line: u64, reason: &str) -> (u64, String) {
    let reason = reason
        .strip_prefix("cannot encode the request: ")
        .unwrap_or(reason);
    if let Some(rest) = reason.strip_prefix("line ") {
        if let Some((n, rest)) = rest.split_once(", ") {
            if let Ok(n) = n.parse::<u64>() {
                return (line + n.saturating_sub(1), rest.to_owned());
            }
        }
    }
    (line, reason.to_owned())
}

struct Summary {
    read: u64,
    input_failed: u64,
    stats: WriteStats,
    elapsed: Duration,
    stopped: Option<String>,
    error: Option<String>,
}

impl Summary {
    fn failed(&self) -> u64 {
        self.input_failed + self.stats.points_failed
    }

    fn balanced(&self) -> bool {
        self.read == self.stats.points_written + self.failed()
    }

    fn ok(&self) -> bool {
        self.failed() == 0 && self.balanced() && self.stopped.is_none() && self.error.is_none()
    }

    fn print(&self, json: bool) -> Result<(), CliError> {
        let s = &self.stats;
        let secs = self.elapsed.as_secs_f64();
        let rate = s.points_written as f64 / secs.max(1e-3);
        let text = if json {
            serde_json::json!({
                "read": self.read,
                "written": s.points_written,
                "failed": self.failed(),
                "failed_input": self.input_failed,
                "failed_server": s.points_failed,
                "balanced": self.balanced(),
                "requests": s.requests,
                "retries": s.retries,
                "splits": s.splits,
                "bytes_sent": s.bytes_sent,
                "seconds": (secs * 1000.0).round() / 1000.0,
                "points_per_second": rate.round(),
                "stopped": self.stopped,
                "error": self.error,
            })
            .to_string()
        } else {
            let mut t = format!(
                "read {} = written {} + failed {} ({} refused before sending, {} by the server)\n\
                 {} requests, {} retries, {} sent, {:.1} s, {:.0} points/s",
                self.read,
                s.points_written,
                self.failed(),
                self.input_failed,
                s.points_failed,
                s.requests,
                s.retries,
                progress::bytes(s.bytes_sent),
                secs,
                rate
            );
            if !self.balanced() {
                t.push_str(&format!(
                    "\nwarning: {} point(s) unaccounted for: please report this",
                    self.read.abs_diff(s.points_written + self.failed())
                ));
            }
            if let Some(stop) = &self.stopped {
                t.push_str(&format!("\n{stop}; the rest of the input was not read"));
            }
            if let Some(e) = &self.error {
                t.push_str(&format!("\nerror: {e}"));
            }
            t
        };
        let mut out = std::io::stdout();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(crate::query::stdout_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_errors_point_at_the_file_line() {
        assert_eq!(
            locate(
                7,
                "cannot encode the request: line 2, column 3: missing field value"
            ),
            (8, "column 3: missing field value".to_owned())
        );
        assert_eq!(
            locate(7, "something else"),
            (7, "something else".to_owned())
        );
    }
}
