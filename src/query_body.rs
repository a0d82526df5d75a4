//! A query's answer as the server sends it, in a format other than JSON:
//! [`Client::query_body`].
//!
//! InfluxDB 1.x answers `/query` in MessagePack (`application/x-msgpack`)
//! or CSV (`application/csv`) when asked; MessagePack keeps integers,
//! floats and strings apart and costs influxd less to write than JSON. The
//! body is handed out undecoded: the caller reads the format it asked for.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;

use crate::client::Client;
use crate::error::{Error, Kind};
use crate::influxql::Query;

/// The body of a query's answer, piece by piece as it arrives; made by
/// [`Client::query_body`].
#[derive(Debug)]
pub struct QueryBody {
    incoming: hyper::body::Incoming,
    content_type: String,
    idle: Option<Duration>,
}

impl QueryBody {
    /// The answer's `Content-Type` (empty when it has none). A server that
    /// does not know the format asked for answers in JSON: check this
    /// before decoding.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The next piece of the body; `None` at its end.
    ///
    /// # Errors
    /// When the connection breaks, or no data comes for the client's
    /// timeout.
    pub async fn next_bytes(&mut self) -> Result<Option<Bytes>, Error> {
        next_data(&mut self.incoming, self.idle).await
    }
}

/// The next data of a query's answer (trailers passed over); `None` at its
/// end. Shared with the decoding streams.
pub(crate) async fn next_data(
    incoming: &mut hyper::body::Incoming,
    idle: Option<Duration>,
) -> Result<Option<Bytes>, Error> {
    loop {
        let frame = match idle {
            Some(t) => tokio::time::timeout(t, incoming.frame())
                .await
                .map_err(|_| {
                    Error::new(Kind::Timeout)
                        .with_message(format!("the query response stalled: no data for {t:?}"))
                })?,
            None => incoming.frame().await,
        };
        match frame {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Some(Err(e)) => {
                return Err(Error::new(Kind::Transport)
                    .with_message("the query response was cut off")
                    .with_source(e))
            }
        }
    }
}

impl Client {
    /// Sends `query` to `/query` with chunked answers, as
    /// [`Client::query`] does, but asks for them in `accept` (an `Accept`
    /// header, such as `application/x-msgpack`) and hands out the body
    /// undecoded, uncompressed whatever [`ClientBuilder::gzip`] says.
    ///
    /// [`ClientBuilder::gzip`]: crate::ClientBuilder::gzip
    ///
    /// # Errors
    /// As [`Client::query`] before its first row: the server cannot be
    /// reached or refuses the query (a status other than 2xx). Errors of
    /// a statement come inside the body, in its format.
    pub async fn query_body(
        &self,
        query: impl Into<Query>,
        accept: &'static str,
    ) -> Result<QueryBody, Error> {
        let query = query.into();
        let mut call = self.query_call(&query, true)?;
        call.accept = Some(accept);
        call.accept_gzip = false;
        let t = self.transport();
        let resp = t.send(call).await?;
        if !resp.status().is_success() {
            return Err(t.error_from(resp, None).await);
        }
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(QueryBody {
            incoming: resp.into_body(),
            content_type,
            idle: t.timeout,
        })
    }
}
