//! Making connections: TCP, then TLS for `https://` URLs, each wrapped so
//! that an answer sent before the server stopped reading still arrives
//! ([`EarlyAnswer`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::early_answer::EarlyAnswer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects by TCP and, for `https` URLs, completes a TLS handshake within
/// the connect timeout.
#[derive(Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector,
    #[cfg(feature = "rustls")]
    tls: Option<tokio_rustls::TlsConnector>,
    handshake_timeout: Option<Duration>,
}

impl Connector {
    pub(crate) fn new(
        connect_timeout: Option<Duration>,
        #[cfg(feature = "rustls")] tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        // The scheme decides TLS here, not in HttpConnector.
        tcp.enforce_http(false);
        Connector {
            tcp,
            #[cfg(feature = "rustls")]
            tls: tls.map(tokio_rustls::TlsConnector::from),
            handshake_timeout: connect_timeout,
        }
    }
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<EarlyAnswer<Stream>, BoxError>> + Send>>;

impl Service<Uri> for Connector {
    type Response = EarlyAnswer<Stream>;
    type Error = BoxError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let https = dst.scheme_str() == Some("https");
        let connecting = self.tcp.call(dst.clone());
        #[cfg(feature = "rustls")]
        let tls = self.tls.clone();
        let handshake_timeout = self.handshake_timeout;
        Box::pin(async move {
            let tcp = connecting.await?;
            if !https {
                return Ok(EarlyAnswer::new(Stream::Plain(tcp)));
            }
            #[cfg(feature = "rustls")]
            {
                let tls = tls.ok_or("https is not set up for this client")?;
                let host = dst.host().unwrap_or_default();
                // An IPv6 literal comes bracketed in the URI.
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
                let handshake = tls.connect(name, tcp.into_inner());
                let stream = match handshake_timeout {
                    Some(t) => tokio::time::timeout(t, handshake).await.map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, HandshakeTimeout(t))
                    })??,
                    None => handshake.await?,
                };
                Ok(EarlyAnswer::new(Stream::Tls(Box::new(TokioIo::new(
                    stream,
                )))))
            }
            #[cfg(not(feature = "rustls"))]
            {
                let _ = (tcp, handshake_timeout);
                Err("https needs the crate feature \"rustls\"".into())
            }
        })
    }
}

/// The TLS handshake did not finish in time (inside an `io::Error` of kind
/// `TimedOut`, so that `Error::is_timeout` sees it too).
#[cfg(feature = "rustls")]
#[derive(Debug)]
pub(crate) struct HandshakeTimeout(pub(crate) Duration);

#[cfg(feature = "rustls")]
impl std::fmt::Display for HandshakeTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the TLS handshake did not finish within {:?}", self.0)
    }
}

#[cfg(feature = "rustls")]
impl std::error::Error for HandshakeTimeout {}

/// A plain or TLS connection.
pub(crate) enum Stream {
    Plain(TokioIo<TcpStream>),
    #[cfg(feature = "rustls")]
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "rustls")]
            Stream::Tls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
        }
    };
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_read(cx, buf))
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_shutdown(cx))
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Plain(s) => s.connected(),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.inner().get_ref().0.connected(),
        }
    }
}
