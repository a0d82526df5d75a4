//! Connections that still deliver an answer the server sent before it
//! stopped reading the request body.
//!
//! influxd answers 413 (body too large) and 404 (no such database) from the
//! request head alone, without reading the body, and then closes the
//! connection; proxies with a body limit do the same. When that close
//! arrives as a reset while we are still sending a large body, our next
//! write fails (broken pipe, connection reset), and hyper 1.x fails the
//! whole exchange with that write error: its HTTP/1 dispatcher hands the
//! error to the waiting request and never reads the answer that may already
//! sit in the receive buffer. The writer would then see a connection error
//! and retry the same too-large batch, instead of splitting it (413), or
//! report a connection error instead of "database not found" (404).
//!
//! [`EarlyAnswer`] wraps the socket: once a write fails because the peer
//! has stopped reading, it stops writing (every later write succeeds at
//! once and its bytes are dropped, as the peer would drop them) and lets
//! reads go on. hyper then reads the answer if there is one, or fails with
//! the read side's own error (the reset, or end of stream) if there is
//! none; either way the exchange ends, within the client's timeout as
//! before. Such an answer comes with `Connection: close` (Go's server sends
//! it whenever a handler left the body unread), so hyper does not pool the
//! connection.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};

/// A stream that stops writing, but goes on reading, once the peer has
/// stopped reading. See the module documentation.
pub(crate) struct EarlyAnswer<T> {
    inner: T,
    /// A write failed because the peer stopped reading: write no more.
    stopped_writing: bool,
}

impl<T> EarlyAnswer<T> {
    pub(crate) fn new(inner: T) -> Self {
        EarlyAnswer {
            inner,
            stopped_writing: false,
        }
    }

    /// Passes a write's result on, except the errors that mean "the peer
    /// is no longer reading": those, and every write after them, count as
    /// `written` bytes the peer dropped.
    fn check<R>(&mut self, result: io::Result<R>, written: R) -> Poll<io::Result<R>> {
        match result {
            Err(e) if peer_stopped_reading(&e) => {
                tracing::debug!(error = %e, "the server stopped reading the request; reading its answer");
                self.stopped_writing = true;
                Poll::Ready(Ok(written))
            }
            other => Poll::Ready(other),
        }
    }
}

/// Write errors that mean the peer closed or reset the connection.
fn peer_stopped_reading(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for EarlyAnswer<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for EarlyAnswer<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stopped_writing {
            return Poll::Ready(Ok(buf.len()));
        }
        let result = ready!(Pin::new(&mut this.inner).poll_write(cx, buf));
        this.check(result, buf.len())
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let all = bufs.iter().map(|b| b.len()).sum();
        if this.stopped_writing {
            return Poll::Ready(Ok(all));
        }
        let result = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs));
        this.check(result, all)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stopped_writing {
            return Poll::Ready(Ok(()));
        }
        let result = ready!(Pin::new(&mut this.inner).poll_flush(cx));
        this.check(result, ())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stopped_writing {
            // Nothing to shut down: the connection is gone. Pending here
            // would keep hyper's connection task alive forever.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<T: Connection> Connection for EarlyAnswer<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};
    use std::task::Waker;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    const ANSWER: &[u8] = b"HTTP/1.1 413 Request Entity Too Large\r\n\
        Content-Type: application/json\r\n\
        X-Influxdb-Error: Request Entity Too Large\r\n\
        Content-Length: 37\r\n\r\n\
        {\"error\":\"Request Entity Too Large\"}\n";

    /// A server that reads the head, answers, and resets, in the order that
    /// loses the answer: the write error is seen before the answer can be
    /// read (as when the reset and the answer arrive together and the write
    /// side is polled first).
    struct Scripted {
        /// What the server sends before it resets.
        answer: &'static [u8],
        written: usize,
        reset: bool,
        unread: &'static [u8],
        read_waker: Option<Waker>,
    }

    #[derive(Clone)]
    struct Mock(Arc<Mutex<Scripted>>);

    impl Mock {
        fn new(answer: &'static [u8]) -> Self {
            Mock(Arc::new(Mutex::new(Scripted {
                answer,
                written: 0,
                reset: false,
                unread: b"",
                read_waker: None,
            })))
        }

        fn with<R>(&self, f: impl FnOnce(&mut Scripted) -> R) -> R {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut s)
        }
    }

    impl AsyncWrite for Mock {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.with(|s| {
                if s.reset {
                    return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
                }
                if s.written > 0 {
                    // The head went out; the server answered and reset.
                    s.reset = true;
                    s.unread = s.answer;
                    if let Some(w) = s.read_waker.take() {
                        w.wake();
                    }
                    return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
                }
                // Accept only the head (and whatever shares its write).
                s.written += buf.len();
                Poll::Ready(Ok(buf.len().min(200)))
            })
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for Mock {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.with(|s| {
                if !s.reset {
                    s.read_waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                if s.unread.is_empty() {
                    return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
                }
                let n = s.unread.len().min(buf.remaining());
                buf.put_slice(&s.unread[..n]);
                s.unread = &s.unread[n..];
                Poll::Ready(Ok(()))
            })
        }
    }

    async fn post_large_body<T>(io: T) -> Result<http::StatusCode, hyper::Error>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let request = http::Request::post("/write?db=x")
            .header("host", "influxd")
            .body(Full::new(Bytes::from(vec![b'x'; 1 << 20])))
            .unwrap_or_default();
        Ok(sender.send_request(request).await?.status())
    }

    #[tokio::test]
    async fn hyper_alone_loses_the_answer_to_the_write_error() {
        let result = post_large_body(TokioIo::new(Mock::new(ANSWER))).await;
        assert!(result.is_err(), "{result:?}");
    }

    #[tokio::test]
    async fn the_answer_before_a_reset_reaches_the_caller() {
        let result = post_large_body(EarlyAnswer::new(TokioIo::new(Mock::new(ANSWER)))).await;
        assert_eq!(result.ok(), Some(http::StatusCode::PAYLOAD_TOO_LARGE));
    }

    #[tokio::test]
    async fn no_answer_before_a_reset_is_still_an_error() {
        let result = post_large_body(EarlyAnswer::new(TokioIo::new(Mock::new(b"")))).await;
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn which_write_errors_stop_writing() {
        use io::ErrorKind::*;
        for kind in [BrokenPipe, ConnectionReset, ConnectionAborted] {
            assert!(peer_stopped_reading(&kind.into()), "{kind:?}");
        }
        for kind in [TimedOut, WouldBlock, Other, UnexpectedEof] {
            assert!(!peer_stopped_reading(&kind.into()), "{kind:?}");
        }
    }
}
