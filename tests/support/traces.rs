//! Tracing events as text, for tests that check what the crate reports:
//! `let traces = Traces::default(); let _guard = traces.install();` on a
//! current-thread runtime's thread (the subscriber is the thread's
//! default, so tasks of that runtime report to it).

use std::io::Write;
use std::sync::{Arc, Mutex};

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
        self.event.notify_one();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Traces {
    /// Makes this the current thread's subscriber (every level) until the
    /// guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Lines that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.text().lines().filter(|l| l.contains(needle)).count()
    }

    /// Waits until some line contains `needle`.
    pub async fn wait_for(&self, needle: &str) {
        loop {
            // Registered before looking, so an event between the look and
            // the wait is not missed.
            let notified = self.event.notified();
            if self.count(needle) > 0 {
                return;
            }
            notified.await;
        }
    }
}
