//! The on-disk spool behind a writer's batches ([`WriteOptions::spool`]).
//!
//! A directory holds a lock file and numbered segment files. A segment is
//! an 8-byte magic followed by records:
//!
//! ```text
//! | len: u32 LE | points: u32 LE | crc32(len, points, body): u32 LE | body: len bytes |
//! ```
//!
//! Records are only ever appended, to the newest segment; a segment is
//! deleted once every batch in it is done (acknowledged, or failed for
//! good). The checksum covers the length too, so a torn header is caught
//! like a torn body. After a corrupt record nothing in that segment can be
//! trusted to start on a record boundary, so its tail is skipped (and
//! counted); later segments are read as usual.
//!
//! One thread owns every file: the writer task sends it commands and awaits
//! the answers, so no fsync, read or unlink ever runs on a runtime thread,
//! and appends, reads and deletions are ordered without locks.
//!
//! [`WriteOptions::spool`]: crate::WriteOptions::spool

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::{self, Error};
use crate::write::options::{Fsync, SpoolOptions};

const MAGIC: &[u8; 8] = b"ISPOOL01";
const HEADER: usize = 12;
const SUFFIX: &str = ".seg";
const LOCK: &str = "lock";

/// Where a record's body lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub(crate) segment: u64,
    /// Offset of the record's header in the segment file.
    offset: u64,
    len: u32,
}

/// What an earlier process left in the directory.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Intact records, oldest first, with their point counts.
    pub(crate) records: Vec<(Loc, u64)>,
    /// Bytes skipped after torn or corrupt records.
    pub(crate) corrupt_bytes: u64,
    /// Segments whose tail was torn or corrupt.
    pub(crate) corrupt_tails: u64,
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

enum Command {
    Recover(Reply<Recovered>),
    Append {
        batches: Vec<(Bytes, u64)>,
        sync: bool,
        reply: Reply<Vec<Loc>>,
    },
    Read {
        loc: Loc,
        reply: Reply<Bytes>,
    },
    /// One batch of this segment is done.
    Done(u64),
    Shutdown,
}

/// The handle the writer task holds; dropping it stops the thread (and
/// releases the lock) after the command it is running.
pub(crate) struct Spool {
    tx: mpsc::Sender<Command>,
    /// Bytes in segment files: the thread updates it, the task reads it for
    /// the size limit.
    pub(crate) bytes: Arc<AtomicU64>,
    /// Segment fsyncs so far (appends grouped under one count once).
    pub(crate) syncs: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Reads batches back; held by the futures that deliver them.
#[derive(Clone)]
pub(crate) struct Reader(mpsc::Sender<Command>);

fn gone() -> Error {
    error::spool("the spool's I/O thread has stopped (the writer is shutting down)")
}

async fn ask<T>(
    tx: &mpsc::Sender<Command>,
    cmd: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, Error> {
    let (reply, rx) = oneshot::channel();
    tx.send(cmd(reply)).map_err(|_| gone())?;
    rx.await.map_err(|_| gone())?
}

impl Spool {
    /// Creates the directory if needed, takes its lock (at once, or fails)
    /// and starts the I/O thread. Only the lock is taken here, on the
    /// caller's thread: it is one `open` and one non-blocking `flock`, and
    /// its error must reach `Client::writer`'s caller. Everything that reads
    /// or writes segments runs on the thread.
    pub(crate) fn open(opts: &SpoolOptions, batch_bytes: usize) -> Result<Spool, Error> {
        let dir = opts.dir.clone();
        fs::create_dir_all(&dir).map_err(|e| {
            io_error(
                &format!("cannot create the spool directory {}", dir.display()),
                e,
            )
        })?;
        let lock = lock_dir(&dir)?;
        let bytes = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU64::new(0));
        // Small segments free space sooner; one batch per segment at worst.
        let segment_bytes = opts
            .segment_bytes
            .min(opts.max_bytes / 8)
            .max(batch_bytes as u64 / 4)
            .max(1);
        let files = Files {
            dir,
            _lock: lock,
            fsync: opts.fsync != Fsync::Never,
            segment_bytes,
            current: None,
            segments: BTreeMap::new(),
            next_id: 1,
            bytes: bytes.clone(),
            syncs: syncs.clone(),
            read: None,
        };
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("influx-stream-spool".into())
            .spawn(move || files.serve(rx))
            .map_err(|e| io_error("cannot start the spool's I/O thread", e))?;
        Ok(Spool {
            tx,
            bytes,
            syncs,
            thread: Some(thread),
        })
    }

    pub(crate) fn reader(&self) -> Reader {
        Reader(self.tx.clone())
    }

    /// Reads what an earlier process left. Must be the first command.
    pub(crate) async fn recover(&self) -> Result<Recovered, Error> {
        ask(&self.tx, Command::Recover).await
    }

    /// Appends batches (body, points) in order; fsyncs the segment if
    /// `sync` (with no batches: just the fsync). Returns where each went.
    pub(crate) fn append(
        &self,
        batches: Vec<(Bytes, u64)>,
        sync: bool,
    ) -> impl std::future::Future<Output = Result<Vec<Loc>, Error>> + Send + 'static {
        let tx = self.tx.clone();
        async move {
            ask(&tx, |reply| Command::Append {
                batches,
                sync,
                reply,
            })
            .await
        }
    }

    /// One batch of `segment` is done; the segment goes when all are.
    pub(crate) fn done(&self, segment: u64) {
        // A stopped thread means the writer is going away: the segment
        // stays and is replayed by the next writer, which is safe.
        let _ = self.tx.send(Command::Done(segment));
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            // Joined so that the lock is released when the writer is gone:
            // the thread ends after the command it is running. The writer
            // task drops the spool from a blocking thread; only a runtime
            // shutting down drops it from its own.
            let _ = thread.join();
        }
    }
}

impl Reader {
    pub(crate) async fn read(&self, loc: Loc) -> Result<Bytes, Error> {
        ask(&self.0, |reply| Command::Read { loc, reply }).await
    }
}

fn io_error(what: &str, e: io::Error) -> Error {
    error::spool(format!("{what}: {e}"))
}

#[cfg(unix)]
fn lock_dir(dir: &Path) -> Result<File, Error> {
    use rustix::fs::{flock, FlockOperation};
    let path = dir.join(LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| {
            io_error(
                &format!("cannot open the spool lock file {}", path.display()),
                e,
            )
        })?;
    if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
        if e == rustix::io::Errno::WOULDBLOCK {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another writer".to_string()
            } else {
                format!("another writer (process {holder})")
            };
            return Err(error::spool(format!(
                "the spool directory {} is in use by {who}; two writers must not share a spool: give each its own directory, or stop the other first",
                dir.display()
            )));
        }
        return Err(io_error(
            &format!("cannot lock {}", path.display()),
            e.into(),
        ));
    }
    // Who holds it, for the message above; the lock itself is the flock,
    // which the kernel drops when this process ends, however it ends.
    let _ = file.set_len(0).and_then(|()| {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(std::process::id().to_string().as_bytes())
    });
    Ok(file)
}

#[cfg(not(unix))]
fn lock_dir(dir: &Path) -> Result<File, Error> {
    let _ = dir;
    Err(error::spool(
        "the spool needs a Unix system (its lock is flock(2)); write without WriteOptions::spool here",
    ))
}

struct Segment {
    /// Batches in it not yet done.
    live: u64,
    size: u64,
}

/// Everything the I/O thread owns.
struct Files {
    dir: PathBuf,
    _lock: File,
    fsync: bool,
    segment_bytes: u64,
    /// The segment being appended to: id, file, size.
    current: Option<(u64, File, u64)>,
    segments: BTreeMap<u64, Segment>,
    next_id: u64,
    bytes: Arc<AtomicU64>,
    syncs: Arc<AtomicU64>,
    /// The last segment read from, kept open for the next read.
    read: Option<(u64, File)>,
}

impl Files {
    fn serve(mut self, rx: mpsc::Receiver<Command>) {
        while let Ok(cmd) = rx.recv() {
            match cmd {
                Command::Recover(reply) => {
                    let _ = reply.send(self.recover());
                }
                Command::Append {
                    batches,
                    sync,
                    reply,
                } => {
                    let _ = reply.send(self.append(&batches, sync));
                }
                Command::Read { loc, reply } => {
                    let _ = reply.send(self.read(loc));
                }
                Command::Done(id) => self.done(id),
                Command::Shutdown => break,
            }
        }
        // A segment with nothing left to send is not left behind for the
        // next writer to open.
        if let Some((id, _, _)) = self.current.take() {
            if self.segments.get(&id).is_some_and(|s| s.live == 0) {
                remove(&self.path(id));
            }
        }
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:020}{SUFFIX}"))
    }

    fn recover(&mut self) -> Result<Recovered, Error> {
        let mut ids = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|e| {
            io_error(
                &format!("cannot list the spool directory {}", self.dir.display()),
                e,
            )
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("cannot list the spool directory", e))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            if let Ok(id) = stem.parse::<u64>() {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut found = Recovered::default();
        for id in ids {
            let path = self.path(id);
            let data = fs::read(&path).map_err(|e| {
                io_error(&format!("cannot read spool segment {}", path.display()), e)
            })?;
            let (records, bad) = parse_segment(id, &data);
            if bad > 0 {
                tracing::warn!(
                    segment = %path.display(),
                    bytes = bad,
                    records = records.len(),
                    "influx-stream spool: torn or corrupt record; the rest of this segment is skipped, the records before it are replayed"
                );
                found.corrupt_bytes += bad;
                found.corrupt_tails += 1;
            }
            self.next_id = self.next_id.max(id + 1);
            if records.is_empty() {
                remove(&path);
                continue;
            }
            let size = data.len() as u64;
            self.segments.insert(
                id,
                Segment {
                    live: records.len() as u64,
                    size,
                },
            );
            self.bytes.fetch_add(size, Relaxed);
            found.records.extend(records);
        }
        Ok(found)
    }

    fn append(&mut self, batches: &[(Bytes, u64)], sync: bool) -> Result<Vec<Loc>, Error> {
        let mut locs = Vec::with_capacity(batches.len());
        let result = self.append_all(batches, sync, &mut locs);
        if let Err(e) = result {
            // A failed write may have left a torn record: nothing may follow
            // it in that segment, and the records of this group count as not
            // spooled (the task sends them from memory and never marks them
            // done), so release them here.
            self.current = None;
            for loc in &locs {
                self.done(loc.segment);
            }
            return Err(e);
        }
        Ok(locs)
    }

    fn append_all(
        &mut self,
        batches: &[(Bytes, u64)],
        sync: bool,
        locs: &mut Vec<Loc>,
    ) -> Result<(), Error> {
        for (body, points) in batches {
            let roll = self
                .current
                .as_ref()
                .map_or(true, |c| c.2 >= self.segment_bytes);
            if roll {
                self.roll()?;
            }
            let Some((id, file, size)) = self.current.as_mut() else {
                return Err(error::spool("no spool segment open (internal error)"));
            };
            let len = u32::try_from(body.len())
                .map_err(|_| error::spool("a batch of 4 GiB or more cannot be spooled"))?;
            let points32 = u32::try_from(*points).unwrap_or(u32::MAX);
            let mut header = [0u8; HEADER];
            header[0..4].copy_from_slice(&len.to_le_bytes());
            header[4..8].copy_from_slice(&points32.to_le_bytes());
            let crc = checksum(&header[0..8], body);
            header[8..12].copy_from_slice(&crc.to_le_bytes());
            let id = *id;
            let w = file.write_all(&header).and_then(|()| file.write_all(body));
            if let Err(e) = w {
                return Err(io_error(
                    &format!("cannot append to spool segment {}", self.path(id).display()),
                    e,
                ));
            }
            locs.push(Loc {
                segment: id,
                offset: *size,
                len,
            });
            let rec = (HEADER + body.len()) as u64;
            *size += rec;
            if let Some(seg) = self.segments.get_mut(&id) {
                seg.live += 1;
                seg.size += rec;
            }
            self.bytes.fetch_add(rec, Relaxed);
        }
        if sync {
            if let Some((id, file, _)) = &self.current {
                self.syncs.fetch_add(1, Relaxed);
                file.sync_data().map_err(|e| {
                    io_error(
                        &format!("cannot fsync spool segment {}", self.path(*id).display()),
                        e,
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Closes the current segment (fsynced first, unless fsync is off: a
    /// later sync only reaches the newest file) and starts the next.
    fn roll(&mut self) -> Result<(), Error> {
        if let Some((id, file, _)) = self.current.take() {
            if self.fsync {
                self.syncs.fetch_add(1, Relaxed);
                file.sync_data().map_err(|e| {
                    io_error(
                        &format!("cannot fsync spool segment {}", self.path(id).display()),
                        e,
                    )
                })?;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let path = self.path(id);
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                io_error(
                    &format!("cannot create spool segment {}", path.display()),
                    e,
                )
            })?;
        file.write_all(MAGIC)
            .map_err(|e| io_error(&format!("cannot write spool segment {}", path.display()), e))?;
        if self.fsync {
            // The new file's name must survive a crash as well as its data.
            sync_dir(&self.dir).map_err(|e| {
                io_error(
                    &format!("cannot fsync the spool directory {}", self.dir.display()),
                    e,
                )
            })?;
        }
        let size = MAGIC.len() as u64;
        self.segments.insert(id, Segment { live: 0, size });
        self.bytes.fetch_add(size, Relaxed);
        self.current = Some((id, file, size));
        Ok(())
    }

    fn read(&mut self, loc: Loc) -> Result<Bytes, Error> {
        let path = self.path(loc.segment);
        let what = || {
            format!(
                "cannot read a batch back from spool segment {}",
                path.display()
            )
        };
        if self.read.as_ref().map(|r| r.0) != Some(loc.segment) {
            let file = File::open(&path).map_err(|e| io_error(&what(), e))?;
            self.read = Some((loc.segment, file));
        }
        let Some((_, file)) = self.read.as_mut() else {
            return Err(error::spool(what()));
        };
        let mut buf = vec![0u8; HEADER + loc.len as usize];
        file.seek(SeekFrom::Start(loc.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| io_error(&what(), e))?;
        let body = &buf[HEADER..];
        let stored = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if checksum(&buf[0..8], body) != stored {
            return Err(error::spool(format!(
                "{}: the record's checksum does not match (the file changed on disk after it was written)",
                what()
            )));
        }
        Ok(Bytes::from(buf).slice(HEADER..))
    }

    fn done(&mut self, id: u64) {
        let Some(seg) = self.segments.get_mut(&id) else {
            return;
        };
        seg.live = seg.live.saturating_sub(1);
        if seg.live > 0 {
            return;
        }
        let current = self.current.as_ref().is_some_and(|c| c.0 == id);
        // The segment being appended to stays while it has room, emptied
        // to its magic: deleting and creating a file (and fsyncing the
        // directory) per batch would cost more than the batches when the
        // server keeps up. Not fsynced: should the truncation be lost in a
        // crash, its batches are sent again, as identical points.
        if current && seg.size < self.segment_bytes {
            if let Some((_, file, size)) = self.current.as_mut() {
                let keep = MAGIC.len() as u64;
                if file.set_len(keep).is_ok() {
                    let freed = seg.size - keep;
                    seg.size = keep;
                    *size = keep;
                    self.bytes
                        .fetch_sub(freed.min(self.bytes.load(Relaxed)), Relaxed);
                    return;
                }
                // Cannot truncate: delete it instead, below.
            }
        }
        let size = seg.size;
        self.segments.remove(&id);
        if current {
            self.current = None;
        }
        if self.read.as_ref().is_some_and(|r| r.0 == id) {
            self.read = None;
        }
        remove(&self.path(id));
        self.bytes
            .fetch_sub(size.min(self.bytes.load(Relaxed)), Relaxed);
    }
}

/// Deletes a segment. A failure is logged, not fatal: the segment is
/// replayed by the next writer on the directory, and its points are
/// written again as identical points.
fn remove(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(segment = %path.display(), error = %e, "influx-stream spool: cannot delete a finished segment; its batches will be sent again by the next writer on this directory");
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn checksum(header: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header);
    h.update(body);
    h.finalize()
}

/// The intact records of a segment file, and how many bytes after them are
/// torn or corrupt.
fn parse_segment(id: u64, data: &[u8]) -> (Vec<(Loc, u64)>, u64) {
    let mut records = Vec::new();
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        return (records, data.len() as u64);
    }
    let mut off = MAGIC.len();
    while off < data.len() {
        let rest = &data[off..];
        if rest.len() < HEADER {
            return (records, rest.len() as u64);
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let points = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let crc = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let end = HEADER + len as usize;
        if rest.len() < end || checksum(&rest[0..8], &rest[HEADER..end]) != crc {
            return (records, rest.len() as u64);
        }
        records.push((
            Loc {
                segment: id,
                offset: off as u64,
                len,
            },
            u64::from(points),
        ));
        off += end;
    }
    (records, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8], points: u32) -> Vec<u8> {
        let mut header = [0u8; HEADER];
        header[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
        header[4..8].copy_from_slice(&points.to_le_bytes());
        let crc = checksum(&header[0..8], body);
        header[8..12].copy_from_slice(&crc.to_le_bytes());
        let mut out = header.to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn segments_parse_up_to_a_torn_or_corrupt_record() {
        let mut data = MAGIC.to_vec();
        data.extend(record(b"a v=1 1\n", 1));
        data.extend(record(b"b v=1 1\nb v=2 2\n", 2));
        let whole = data.len();
        let (records, bad) = parse_segment(7, &data);
        assert_eq!((records.len(), bad), (2, 0));
        assert_eq!(records[1].1, 2);
        // Every cut inside the last record leaves the first, and counts the rest.
        let first_end = MAGIC.len() + HEADER + 8;
        for cut in first_end + 1..whole {
            let (records, bad) = parse_segment(7, &data[..cut]);
            assert_eq!(
                (records.len(), bad),
                (1, (cut - first_end) as u64),
                "cut at {cut}"
            );
        }
        // A flipped bit anywhere in the second record, its length included.
        for at in first_end..whole {
            let mut broken = data.clone();
            broken[at] ^= 0x10;
            let (records, bad) = parse_segment(7, &broken);
            assert_eq!(
                (records.len(), bad),
                (1, (whole - first_end) as u64),
                "bit at {at}"
            );
        }
        // A header torn before the magic was complete.
        assert_eq!(parse_segment(7, b"ISPO"), (Vec::new(), 4));
    }
}
