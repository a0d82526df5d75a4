//! [`QueryIter`]: a query's results as an `Iterator`, streamed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::runtime::{not_in_async, Runtime};
use crate::error::{self, Error};
use crate::QueryStream;

/// Items handed over per message: amortizes the cross-thread wake-ups.
const ITEMS_PER_MESSAGE: usize = 256;
/// Messages the runtime thread may run ahead of the iterator.
const MESSAGES_AHEAD: usize = 4;

enum Message<T> {
    Items(Vec<Result<T, Error>>),
    /// The stream ended; without it, a closed channel means the query task
    /// died.
    End,
}

/// The results of a query as an [`Iterator`], made by
/// [`Client::query`](super::Client::query) (rows),
/// [`query_as`](super::Client::query_as) (your types) and
/// [`query_chunks`](super::Client::query_chunks).
///
/// The runtime thread reads and decodes the response as it arrives and
/// hands items over a bounded channel, staying at most about a thousand
/// items (plus one chunk of the response) ahead of the iterator: a result of
/// any size runs in bounded memory.
///
/// Items are as in [`QueryStream`]: a failed statement is an `Err` item and
/// the other statements' items follow; a failure of the whole query is an
/// `Err` item that ends the iteration. Called inside an async runtime,
/// `next` gives an [`Error::is_runtime`] item and ends the iteration.
///
/// # Cancellation
/// Dropping the iterator stops the query: the rest of the response is not
/// downloaded, and its connection is closed rather than reused.
#[must_use = "iterators do nothing unless iterated"]
pub struct QueryIter<T> {
    items: mpsc::Receiver<Message<T>>,
    buffered: std::vec::IntoIter<Result<T, Error>>,
    /// `Some` when the query could not be started: given out first.
    failed: Option<Error>,
    done: bool,
    bytes: Arc<AtomicU64>,
    /// Keeps the runtime thread alive while the query runs.
    _runtime: Arc<Runtime>,
}

impl<T> fmt::Debug for QueryIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryIter")
            .field("bytes_received", &self.bytes_received())
            .field("buffered", &self.buffered.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> QueryIter<T> {
    /// Drives `stream` on the runtime thread, into a bounded channel.
    pub(crate) fn start(runtime: &Arc<Runtime>, stream: QueryStream<T>) -> Self {
        let bytes = stream.bytes_counter();
        let (tx, rx) = mpsc::channel(MESSAGES_AHEAD);
        let failed = runtime.spawn(pump(stream, tx)).err();
        QueryIter {
            items: rx,
            buffered: Vec::new().into_iter(),
            failed,
            done: false,
            bytes,
            _runtime: runtime.clone(),
        }
    }
}

/// The runtime thread's side: forwards the stream's items until it ends or
/// the iterator is dropped.
async fn pump<T: Send + 'static>(stream: QueryStream<T>, tx: mpsc::Sender<Message<T>>) {
    let mut chunks = stream.ready_chunks(ITEMS_PER_MESSAGE);
    loop {
        let next = tokio::select! {
            // The iterator was dropped: stop reading now, even mid-request.
            _ = tx.closed() => return,
            next = chunks.next() => next,
        };
        let message = match next {
            Some(items) => Message::Items(items),
            None => Message::End,
        };
        let end = matches!(message, Message::End);
        if tx.send(message).await.is_err() || end {
            return;
        }
    }
}

impl<T> QueryIter<T> {
    /// Response body bytes received so far (after decompression).
    pub fn bytes_received(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn finish(&mut self) {
        self.done = true;
        // Tells the runtime thread to stop reading.
        self.items.close();
    }
}

impl<T> Iterator for QueryIter<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffered.next() {
                return Some(item);
            }
            if let Some(e) = self.failed.take() {
                self.finish();
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            if let Err(e) = not_in_async() {
                self.finish();
                return Some(Err(e));
            }
            match self.items.blocking_recv() {
                Some(Message::Items(items)) => self.buffered = items.into_iter(),
                Some(Message::End) => {
                    self.finish();
                    return None;
                }
                None => {
                    self.finish();
                    return Some(Err(error::runtime(
                        "the query stopped unexpectedly on the runtime thread",
                    )));
                }
            }
        }
    }
}
