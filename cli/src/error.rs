//! The tool's error: a message for the user and the exit code it ends with.

use std::fmt;

/// What ended a command early. The message says what went wrong and,
/// where we know, what to do; `code` is the process exit code.
#[derive(Debug)]
pub struct CliError {
    /// The text printed after `influx-stream: `.
    pub message: String,
    /// The exit code: 1 for failures, 2 for bad usage (as clap's own).
    pub code: u8,
}

impl CliError {
    /// A failure (exit code 1).
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// Bad usage: flags that do not fit together (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<influx_stream::Error> for CliError {
    fn from(e: influx_stream::Error) -> Self {
        // The library's Display already carries causes and hints, and never
        // credentials.
        CliError::new(e.to_string())
    }
}
