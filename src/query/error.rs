//! The decoder's error type.

use std::fmt;

/// An error met while decoding a query response or mapping a row onto a type.
///
/// It carries a human-readable message (what went wrong and, where it applies,
/// in which document, series, row and column) and, for malformed JSON, the
/// underlying [`serde_json::Error`] as its [`source`](std::error::Error::source).
///
/// A decode error is about the *bytes*; a statement that failed on the server
/// arrives as an [`Error`](crate::Error) of its own (see
/// [`Error::is_query`](crate::Error::is_query)) instead.
pub struct DecodeError {
    inner: Box<Inner>,
}

struct Inner {
    message: String,
    source: Option<serde_json::Error>,
}

impl DecodeError {
    /// Builds an error from a message.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        DecodeError {
            inner: Box::new(Inner {
                message: message.into(),
                source: None,
            }),
        }
    }

    /// Wraps a JSON syntax or shape error, `context` saying where it happened.
    pub(crate) fn json(context: impl fmt::Display, err: serde_json::Error) -> Self {
        let mut e = DecodeError::new(format!("{context}: {err}"));
        e.inner.source = Some(err);
        e
    }

    /// Prefixes the message with `context` (`"{context}: {message}"`).
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.inner.message = format!("{context}: {}", self.inner.message);
        self
    }

    /// The full message, as printed by `Display`.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether the bytes were not valid JSON, or were cut short (as opposed
    /// to valid JSON of an unexpected shape, or a row that did not fit a type).
    pub fn is_syntax(&self) -> bool {
        self.inner.source.as_ref().is_some_and(|e| {
            matches!(
                e.classify(),
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof
            )
        })
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("message", &self.inner.message)
            .finish()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl serde::de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError::new(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        DecodeError::new(format!("no column or tag named `{field}`"))
    }
}
