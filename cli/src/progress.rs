//! Progress on stderr: a redrawn bar when stderr is a terminal, plain
//! periodic lines otherwise (logs and CI keep every line, and escape codes
//! would only clutter them).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use influx_stream::Writer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Counters kept by the write loop, beside the writer's own.
#[derive(Debug, Default)]
pub struct Counts {
    /// Records read from the input.
    pub read: AtomicU64,
    /// Records refused before reaching the writer, or refused by it.
    pub input_failed: AtomicU64,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Nothing.
    Off,
    /// A bar if stderr is a terminal, else a line every this often.
    Auto(Duration),
}

/// The running progress display.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing the progress of `writer` and `counts`.
    pub fn start(mode: Mode, writer: Writer, counts: Arc<Counts>) -> Progress {
        let Mode::Auto(every) = mode else {
            return Progress {
                bar: None,
                stop: None,
                task: None,
            };
        };
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            // Drawn at once, so even a short run shows it is alive.
            bar.set_message("starting");
            bar.tick();
            bar
        });
        let (stop, mut stopped) = oneshot::channel();
        let shown = bar.clone();
        let tick = if bar.is_some() {
            Duration::from_millis(200)
        } else {
            every
        };
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut interval = tokio::time::interval(tick);
            // The first tick is immediate: skip it, there is nothing to say yet.
            interval.tick().await;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {
                        let line = status(&writer, &counts, started.elapsed());
                        match &shown {
                            Some(bar) => {
                                bar.set_message(line);
                                bar.tick();
                            }
                            None => eprintln!("progress: {line}"),
                        }
                    }
                }
            }
        });
        Progress {
            bar,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Prints a message above the bar (or plainly) without garbling it.
    pub fn println(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    /// Stops the display and clears the bar.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// One status line: points, rate, bytes, retries, failures.
fn status(writer: &Writer, counts: &Counts, elapsed: Duration) -> String {
    let s = writer.stats();
    let read = counts.read.load(Relaxed);
    let failed = counts.input_failed.load(Relaxed) + s.points_failed;
    let secs = elapsed.as_secs_f64().max(1e-3);
    format!(
        "{read} read, {} written, {failed} failed, {:.0} points/s, {} sent, {} retries",
        s.points_written,
        s.points_written as f64 / secs,
        bytes(s.bytes_sent),
        s.retries
    )
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
