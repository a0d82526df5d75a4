//! The runtime thread behind the blocking API.
//!
//! One named thread per [`Client`](super::Client) built runs a
//! `current_thread` Tokio runtime. Calls reach it as boxed futures over an
//! unbounded channel; each runs as a task of a [`JoinSet`], so calls from
//! several threads sharing a client run concurrently. Every handle (client,
//! writer, query iterator) holds an `Arc<Runtime>`; when the last is dropped
//! the channel closes, the thread finishes the tasks still running (a
//! dropped writer's final flush, a dropped query noticing it was dropped)
//! and ends, and the dropping thread joins it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error::{self, Error};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The runtime thread's name (Linux shows at most 15 bytes of it).
pub(crate) const THREAD_NAME: &str = "influx-blocking";

/// A handle on the runtime thread; the thread ends when this is dropped.
pub(crate) struct Runtime {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("thread", &self.thread.as_ref().map(|t| t.thread().id()))
            .finish()
    }
}

impl Runtime {
    /// Starts the thread and waits until its runtime is built.
    pub(crate) fn start() -> Result<Arc<Runtime>, Error> {
        let (jobs, queue) = mpsc::unbounded_channel::<Job>();
        let (started_tx, started_rx) = std::sync::mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => {
                        let _ = started_tx.send(Ok(()));
                        rt.block_on(serve(queue));
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| {
                error::runtime("cannot start the blocking client's runtime thread").with_source(e)
            })?;
        let started = started_rx.recv();
        let runtime = Runtime {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        match started {
            Ok(Ok(())) => Ok(Arc::new(runtime)),
            // Dropping `runtime` joins the thread, which has ended.
            Ok(Err(e)) => Err(
                error::runtime("cannot build the blocking client's Tokio runtime").with_source(e),
            ),
            Err(_) => Err(error::runtime(
                "the blocking client's runtime thread ended while starting",
            )),
        }
    }

    /// Runs `job` on the runtime thread without waiting for it.
    pub(crate) fn spawn(
        &self,
        job: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let jobs = self.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(Box::pin(job)).map_err(|_| gone())
    }

    /// Runs `fut` on the runtime thread and waits for its result.
    ///
    /// # Errors
    /// The future's own error; [`Error::is_runtime`] when called inside an
    /// async runtime, or when the runtime thread is gone.
    pub(crate) fn block_on<T, F>(&self, fut: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        not_in_async()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.spawn(async move {
            // The caller waits for this; were it gone, nobody would be told.
            let _ = tx.send(fut.await);
        })?;
        rx.recv().map_err(|_| {
            error::runtime("the call ended on the runtime thread without an answer (it panicked)")
        })?
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Closing the channel lets the thread finish its tasks and end.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // A handle dropped on the runtime thread itself (one captured by
            // a writer's failure callback) cannot wait for it, and one
            // dropped inside an async runtime must not block it: there the
            // thread is left to end by itself.
            let on_itself = thread.thread().id() == thread::current().id();
            if !on_itself && not_in_async().is_ok() {
                let _ = thread.join();
            }
        }
    }
}

/// The runtime thread's main task: runs each job as a task until every
/// handle is gone, then waits for the tasks still running.
async fn serve(mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            job = queue.recv() => match job {
                Some(job) => {
                    running.spawn(job);
                }
                None => break,
            },
            // Reap finished tasks so the set does not grow.
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

fn gone() -> Error {
    error::runtime("the blocking client's runtime thread has stopped")
}

/// Refuses to block inside an async runtime, where it would stall the
/// runtime's thread (or deadlock it); allows it on plain threads and where
/// Tokio itself allows blocking: `spawn_blocking` closures and
/// `block_in_place`.
pub(crate) fn not_in_async() -> Result<(), Error> {
    if tokio::runtime::Handle::try_current().is_err() || blocking_allowed() {
        return Ok(());
    }
    Err(error::runtime(
        "the blocking client was called inside an async (Tokio) task, where \
         blocking would stall or deadlock it; use the async influx_stream::Client \
         there, or call this from tokio::task::spawn_blocking",
    ))
}

/// Whether Tokio lets this thread block. Its answer is private; its own
/// blocking receive asks it, and panics (before touching anything) where
/// blocking is not allowed: on a runtime's worker threads and inside
/// `block_on`, not in `spawn_blocking` or `block_in_place`. A closed
/// channel makes the receive return at once where it is allowed. Where it
/// is not, the panic hook prints Tokio's own explanation ("Cannot block the
/// current thread from within a runtime...") beside our error: only when
/// the blocking client is misused.
#[cfg(panic = "unwind")]
fn blocking_allowed() -> bool {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    drop(tx);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _ = rx.blocking_recv();
    }))
    .is_ok()
}

/// Without unwinding the probe cannot be caught: allow, as on a plain
/// thread (a call from an async task then blocks that task's thread).
#[cfg(not(panic = "unwind"))]
fn blocking_allowed() -> bool {
    true
}

/// Unparks the thread that waits in [`park_on`].
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on the calling thread, parking between polls: for futures
/// that are only waiting to be woken by the runtime thread (the writer's
/// room and flush waits), so they need no trip to it. Unlike
/// `futures::executor::block_on` it never panics when nested.
pub(crate) fn park_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        // A wake between the poll and here leaves a token: no lost wake-up.
        thread::park();
    }
}
