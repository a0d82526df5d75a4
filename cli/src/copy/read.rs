//! The reading half of `copy`: a task that queries the source window by
//! window and hands the rows over a bounded channel. The destination's
//! acknowledgement of a window (the flush that lets the state file move on)
//! then no longer holds up the source: the next window's query is already
//! running and its first rows are waiting when the flush returns.
//!
//! The source is asked for MessagePack ([`super::msgpack`]), which costs
//! it less CPU than JSON; a server that answers in anything else is read
//! in JSON from then on.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use futures::StreamExt;
use influx_stream::{quote_ident, Client, Query, Row};

use super::msgpack::{self, Decoder, Failure, Rows};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::progress::Counts;

/// Rows handed over at a time: a channel message per row would cost about
/// as much as writing it.
const CHUNK: usize = 500;

/// What to read.
#[derive(Debug)]
pub struct Source {
    /// The source, with its database set.
    pub client: Client,
    /// Its database.
    pub database: String,
    /// Its retention policy, when not the default.
    pub retention_policy: Option<String>,
    /// The measurements, each queried in turn within a window.
    pub measurements: Vec<String>,
}

/// One message of the reader, in the order read.
#[derive(Debug)]
pub enum Read {
    /// Rows of the current window, read in JSON.
    Rows(Vec<Row>),
    /// Rows of the current window, read in MessagePack.
    Packed(Rows),
    /// Every row of the window `from..to` was handed over: `rows` in all.
    End {
        /// Its first nanosecond.
        from: i64,
        /// The nanosecond it stops before.
        to: i64,
        /// Rows read in it.
        rows: u64,
    },
    /// Reading failed; nothing follows.
    Failed(String),
}

/// Starts reading the windows from `next` to `end`, `window_ns` long. At
/// most about `read_ahead` rows wait in the channel (rounded up to whole
/// chunks): memory stays bounded however far the reader is ahead. The
/// task stops when the receiver is dropped.
pub fn spawn(
    source: Source,
    next: i64,
    end: i64,
    window_ns: i64,
    read_ahead: usize,
    counts: Arc<Counts>,
) -> (mpsc::Receiver<Read>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(read_ahead.div_ceil(CHUNK).max(1));
    let task = tokio::spawn(async move {
        let _ = read(&source, next, end, window_ns, &tx, &counts).await;
    });
    (rx, task)
}

/// The reader; `Err` only when the receiver is gone.
async fn read(
    src: &Source,
    mut from: i64,
    end: i64,
    window_ns: i64,
    tx: &mpsc::Sender<Read>,
    counts: &Counts,
) -> Result<(), mpsc::error::SendError<Read>> {
    // Until the source answers in something else.
    let mut packed_answers = true;
    while from < end {
        let to = from.saturating_add(window_ns).min(end);
        let mut rows = 0u64;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut packed = Rows::default();
        for m in &src.measurements {
            let from_clause = match &src.retention_policy {
                Some(rp) => format!(
                    "{}.{}.{}",
                    quote_ident(&src.database),
                    quote_ident(rp),
                    quote_ident(m)
                ),
                None => format!("{}..{}", quote_ident(&src.database), quote_ident(m)),
            };
            let q = Query::new(format!(
                "SELECT * FROM {from_clause} WHERE time >= {from} AND time < {to} GROUP BY *"
            ));
            if packed_answers {
                match read_packed(src, q.clone(), tx, counts, &mut packed).await? {
                    Packed::Read(n) => {
                        rows += n;
                        continue;
                    }
                    Packed::Failed(e) => {
                        return tx.send(Read::Failed(format!("reading {m}: {e}"))).await
                    }
                    Packed::NotAsked => packed_answers = false,
                }
            }
            let mut stream = src.client.query(q);
            while let Some(row) = stream.next().await {
                let row = match row {
                    Ok(r) => r,
                    Err(e) => return tx.send(Read::Failed(format!("reading {m}: {e}"))).await,
                };
                rows += 1;
                counts.read.fetch_add(1, Relaxed);
                chunk.push(row);
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    tx.send(Read::Rows(full)).await?;
                }
            }
        }
        if !chunk.is_empty() {
            tx.send(Read::Rows(chunk)).await?;
        }
        if packed.len() > 0 {
            tx.send(Read::Packed(packed)).await?;
        }
        tx.send(Read::End { from, to, rows }).await?;
        from = to;
    }
    Ok(())
}

/// How reading a query in MessagePack went.
enum Packed {
    /// Every row was read: this many.
    Read(u64),
    /// The source answered in another format, or in MessagePack this
    /// reader does not know: nothing was read.
    NotAsked,
    /// Reading failed, for this reason.
    Failed(String),
}

/// Reads `q` in MessagePack into `packed`, handing it over each time it
/// holds [`CHUNK`] rows or more.
async fn read_packed(
    src: &Source,
    q: Query,
    tx: &mpsc::Sender<Read>,
    counts: &Counts,
    packed: &mut Rows,
) -> Result<Packed, mpsc::error::SendError<Read>> {
    // Chunks of about the rows handed over at a time.
    let mut body = match src
        .client
        .query_body(q.chunk_size(CHUNK), msgpack::MSGPACK)
        .await
    {
        Ok(b) => b,
        Err(e) => return Ok(Packed::Failed(e.to_string())),
    };
    if !body.content_type().starts_with(msgpack::MSGPACK) {
        return Ok(Packed::NotAsked);
    }
    let mut decoder = Decoder::default();
    let mut read = 0u64;
    loop {
        let data = match body.next_bytes().await {
            Ok(Some(d)) => d,
            Ok(None) if decoder.has_partial() => {
                return Ok(Packed::Failed("the answer ends inside a chunk".to_owned()))
            }
            Ok(None) => return Ok(Packed::Read(read)),
            Err(e) => return Ok(Packed::Failed(e.to_string())),
        };
        decoder.feed(&data);
        let before = packed.len();
        let decoded = decoder.read_into(packed);
        let n = (packed.len() - before) as u64;
        read += n;
        counts.read.fetch_add(n, Relaxed);
        match decoded {
            Ok(()) => {}
            Err(Failure::Server(e)) => return Ok(Packed::Failed(e)),
            // A server whose MessagePack is not influxd's is read in
            // JSON instead, unless rows of it were handed over already.
            Err(Failure::Bad(_)) if read == 0 => return Ok(Packed::NotAsked),
            Err(Failure::Bad(e)) => {
                return Ok(Packed::Failed(format!(
                    "the MessagePack answer cannot be read: {e}"
                )))
            }
        }
        if packed.len() >= CHUNK {
            tx.send(Read::Packed(packed.take())).await?;
        }
    }
}
