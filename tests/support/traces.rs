//! Tracing events as text, for tests that check what the crate reports.
//!
//! One subscriber for the whole test binary, set as the global default:
//! a thread's own (`set_default`) misses events when tests run in
//! parallel, since whether a call site is enabled is cached process-wide.
//! So events of every test land here: match on something of the test's
//! own (a server's URL, a spool directory).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Traces {
    text: Arc<Mutex<Vec<u8>>>,
    /// Notified (a permit is stored if nobody waits yet) for every event.
    event: Arc<Notify>,
}

impl Write for Traces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        self.event.notify_waiters();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Traces {
    /// The binary's capture of debug events and above, installed on first
    /// use. (Later events only: install it before the code under test runs.)
    pub fn global() -> &'static Traces {
        static GLOBAL: OnceLock<Traces> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let traces = Traces::default();
            let writer = traces.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            if tracing::subscriber::set_global_default(subscriber).is_err() {
                panic!("another global tracing subscriber is set");
            }
            traces
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Lines that contain every one of `needles`.
    pub fn count(&self, needles: &[&str]) -> usize {
        self.text()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .count()
    }

    /// Waits until some line contains every one of `needles`.
    pub async fn wait_for(&self, needles: &[&str]) {
        loop {
            // Enabled before looking, so an event between the look and the
            // wait is not missed.
            let notified = self.event.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count(needles) > 0 {
                return;
            }
            notified.await;
        }
    }
}
