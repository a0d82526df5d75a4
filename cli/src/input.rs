//! Reading input: files (gzip or not) and standard input, as a stream of
//! numbered records in bounded memory, whatever the size of the input.
//!
//! Line protocol goes through the library's `LineProtocolCodec` (which
//! knows that a newline inside a string field does not end a line); JSON
//! lines through a plain newline cutter; CSV through the `csv` crate on a
//! blocking thread, since records may span lines. Every record carries the
//! number of the line it starts on, so a bad one can be named.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::{Buf, Bytes, BytesMut};
use clap::{Args, ValueEnum};
use futures::{Stream, StreamExt};
use influx_stream::{FieldValue, LineProtocolCodec, Point};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::CliError;
use crate::time::TimeFormat;

/// Bytes read from a file at a time (and decompressed at a time). Large,
/// since every read of a tokio file is a trip to the blocking pool.
const READ_CHUNK: usize = 256 * 1024;
/// Parsed CSV records waiting for the writer: the bound on memory between
/// the parsing thread and the writer.
const CSV_QUEUE: usize = 1024;

/// The format of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// By file name: `.csv`, `.jsonl`/`.ndjson`/`.json` (before any
    /// `.gz`); anything else, and standard input, is line protocol.
    Auto,
    /// InfluxDB line protocol.
    Lp,
    /// CSV with a header row.
    Csv,
    /// JSON lines, one `{"measurement", "tags", "fields", "time"}` object a line.
    Jsonl,
}

impl Format {
    /// The format of `path` under `--format auto`.
    pub fn of(self, path: Option<&Path>) -> Format {
        if self != Format::Auto {
            return self;
        }
        let Some(name) = path.and_then(|p| p.file_name()).and_then(|n| n.to_str()) else {
            return Format::Lp;
        };
        let name = name.strip_suffix(".gz").unwrap_or(name);
        match name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
        {
            Some(ext) if ext == "csv" => Format::Csv,
            Some(ext) if ext == "jsonl" || ext == "ndjson" || ext == "json" => Format::Jsonl,
            _ => Format::Lp,
        }
    }
}

/// How CSV and JSON-lines records become points.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The measurement of every point (CSV; JSON lines without a
    /// "measurement" key).
    #[arg(long, conflicts_with = "measurement_column")]
    pub measurement: Option<String>,
    /// The CSV column holding each row's measurement.
    #[arg(long)]
    pub measurement_column: Option<String>,
    /// CSV columns written as tags (repeat the flag or separate with commas).
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// The CSV column holding the time. Default: a column named `time`, if
    /// any; without one the server stamps the points.
    #[arg(long = "time")]
    pub time_column: Option<String>,
    /// How times are written in CSV and JSON lines: `auto` (an integer is
    /// nanoseconds, anything else RFC 3339), `rfc3339`, `ns`, `us`, `ms`,
    /// `s`, or a strftime pattern such as '%Y-%m-%d %H:%M:%S' (UTC unless
    /// it has %z).
    #[arg(long, default_value = "auto", value_parser = parse_time_format)]
    pub time_format: TimeSpec,
    /// CSV columns to leave out (repeat or separate with commas).
    #[arg(long = "ignore", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// The type of a CSV field column, as COLUMN=TYPE with TYPE one of
    /// float, integer, string, boolean. Default: `true`/`false` are
    /// booleans, numbers floats (so one column never changes type between
    /// rows), everything else strings.
    #[arg(long = "field-type", value_parser = parse_field_type)]
    pub field_types: Vec<(String, FieldKind)>,
    /// The CSV delimiter.
    #[arg(long, default_value_t = ',')]
    pub delimiter: char,
}

/// A time format, or "integer nanoseconds, else RFC 3339".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSpec {
    /// An integer is nanoseconds, anything else RFC 3339.
    Auto,
    /// As given.
    Fixed(TimeFormat),
}

impl TimeSpec {
    fn parse(&self, text: &str) -> Result<i64, String> {
        match self {
            TimeSpec::Fixed(f) => f.parse(text),
            TimeSpec::Auto => {
                let t = text.trim();
                if !t.is_empty()
                    && t.bytes()
                        .enumerate()
                        .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
                {
                    TimeFormat::Epoch(1).parse(t)
                } else {
                    TimeFormat::Rfc3339.parse(t)
                }
            }
        }
    }

    /// A JSON string time: RFC 3339 unless a pattern says otherwise, and
    /// an integer in a string counts in the integer unit.
    fn parse_json(&self, text: &str) -> Result<i64, String> {
        match self {
            TimeSpec::Fixed(TimeFormat::Pattern(_) | TimeFormat::Rfc3339) => self.parse(text),
            TimeSpec::Fixed(TimeFormat::Epoch(_)) | TimeSpec::Auto => {
                match text.trim().parse::<i64>() {
                    Ok(n) => self.scale_integer(n),
                    Err(_) => TimeFormat::Rfc3339.parse(text),
                }
            }
        }
    }

    fn scale_integer(&self, n: i64) -> Result<i64, String> {
        let unit = match self {
            TimeSpec::Fixed(TimeFormat::Epoch(unit)) => *unit,
            _ => 1,
        };
        n.checked_mul(unit)
            .ok_or_else(|| format!("{n} is out of range for nanosecond times"))
    }
}

fn parse_time_format(s: &str) -> Result<TimeSpec, String> {
    if s == "auto" {
        return Ok(TimeSpec::Auto);
    }
    s.parse().map(TimeSpec::Fixed)
}

/// A field type forced on a CSV column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// 64-bit float.
    Float,
    /// Signed integer.
    Integer,
    /// String.
    String,
    /// Boolean.
    Boolean,
}

fn parse_field_type(s: &str) -> Result<(String, FieldKind), String> {
    let (col, ty) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: expected COLUMN=TYPE, e.g. count=integer"))?;
    let kind = match ty {
        "float" => FieldKind::Float,
        "integer" | "int" => FieldKind::Integer,
        "string" => FieldKind::String,
        "boolean" | "bool" => FieldKind::Boolean,
        other => {
            return Err(format!(
                "{other:?} is not a field type: use float, integer, string or boolean"
            ))
        }
    };
    Ok((col.to_owned(), kind))
}

/// Where input comes from.
#[derive(Debug, Clone)]
pub struct Source {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
}

impl Source {
    /// The sources named on the command line: none or `-` is stdin.
    pub fn from_args(files: &[PathBuf]) -> Vec<Source> {
        if files.is_empty() {
            return vec![Source { path: None }];
        }
        files
            .iter()
            .map(|p| Source {
                path: (p.as_os_str() != "-").then(|| p.clone()),
            })
            .collect()
    }

    /// How the source is named in messages.
    pub fn name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "stdin".to_owned(),
        }
    }
}

/// The original text of a record, for the failed-points file.
#[derive(Debug)]
pub enum Raw {
    /// A line as read.
    Text(String),
    /// A CSV record, written back as CSV when needed.
    Csv(csv::StringRecord),
    /// Bytes that were not text.
    Unreadable,
}

impl Raw {
    /// The record as one or more lines of text, without a final newline.
    pub fn render(&self, delimiter: u8) -> String {
        match self {
            Raw::Text(s) => s.clone(),
            Raw::Csv(r) => {
                let mut w = csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .from_writer(Vec::new());
                let _ = w.write_record(r);
                let bytes = w.into_inner().unwrap_or_default();
                String::from_utf8_lossy(&bytes).trim_end().to_owned()
            }
            Raw::Unreadable => "(the line was not UTF-8 and is not repeated here)".to_owned(),
        }
    }
}

/// What a record holds.
#[derive(Debug)]
pub enum Kind {
    /// A line of line protocol, to be checked and sent by the writer.
    Lp(String),
    /// A point made from a CSV or JSON record.
    Point(Box<Point>, Raw),
    /// A record that cannot be a point, and why.
    Bad(Raw, String),
}

/// One record of the input, with the line it starts on (from 1).
#[derive(Debug)]
pub struct Record {
    /// The line number.
    pub line: u64,
    /// The content.
    pub kind: Kind,
}

/// A stream of records; an `Err` ends it (a read error, an over-long line).
pub type Records = Pin<Box<dyn Stream<Item = Result<Record, CliError>> + Send>>;

/// Opens `source` and reads it as `format`.
///
/// # Errors
/// A file that cannot be opened, or CSV headers that lack a named column.
pub async fn records(
    source: &Source,
    format: Format,
    spec: &RecordArgs,
    max_line: usize,
) -> Result<Records, CliError> {
    let reader = open(source).await?;
    let name = source.name();
    let stream: Records = match format.of(source.path.as_deref()) {
        Format::Lp | Format::Auto => Box::pin(FramedRead::with_capacity(
            reader,
            NumberedLp::new(max_line),
            READ_CHUNK,
        )),
        Format::Jsonl => {
            let spec = spec.clone();
            Box::pin(
                FramedRead::with_capacity(reader, NumberedLines::new(max_line), READ_CHUNK).map(
                    move |r| {
                        r.map(|(line, text)| Record {
                            line,
                            kind: match text {
                                Some(text) => match json_point(&text, &spec) {
                                    Ok(p) => Kind::Point(Box::new(p), Raw::Text(text)),
                                    Err(e) => Kind::Bad(Raw::Text(text), e),
                                },
                                None => {
                                    Kind::Bad(Raw::Unreadable, "the line is not UTF-8".to_owned())
                                }
                            },
                        })
                    },
                ),
            )
        }
        Format::Csv => csv_records(reader, spec.clone())?,
    };
    Ok(Box::pin(stream.map(move |r| {
        r.map_err(|e| CliError::new(format!("{name}: {}", e.message)))
    })))
}

type Reader = Box<dyn AsyncRead + Send + Unpin>;

async fn open(source: &Source) -> Result<Reader, CliError> {
    let Some(path) = &source.path else {
        return Ok(Box::new(tokio::io::stdin()));
    };
    let cannot =
        |e: std::io::Error| CliError::new(format!("{}: cannot open it: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let file = std::fs::File::open(path).map_err(cannot)?;
        return Ok(Box::new(gunzip(file, path.display().to_string())));
    }
    let file = tokio::fs::File::open(path).await.map_err(cannot)?;
    Ok(Box::new(file))
}

/// Inflates on a blocking thread (flate2 reads synchronously) and hands
/// the bytes over a small channel, so memory stays at a few chunks.
fn gunzip(file: std::fs::File, name: String) -> impl AsyncRead + Send + Unpin {
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        loop {
            let mut buf = vec![0u8; READ_CHUNK];
            match gz.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let e = std::io::Error::new(
                        e.kind(),
                        format!("{name} is not readable as gzip ({e}); files ending in .gz are inflated"),
                    );
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    StreamReader::new(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The library's line-protocol codec, plus line numbers: it passes blank
/// lines over without saying so, so this skips them first and counts.
struct NumberedLp {
    inner: LineProtocolCodec,
    /// The codec's limit, for messages.
    max_line: usize,
    /// Lines consumed so far.
    line: u64,
}

impl NumberedLp {
    fn new(max_line: usize) -> Self {
        NumberedLp {
            inner: LineProtocolCodec::new(max_line),
            max_line,
            line: 0,
        }
    }

    fn next(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Record>, CliError> {
        loop {
            // Blank lines in front are counted here; the codec then never
            // skips any, so every line it returns has a known number.
            // Only leading whitespace is looked at: a line with text
            // stops the scan at its first byte.
            loop {
                match leading_blank(buf) {
                    Lead::Blank(len) => {
                        buf.advance(len);
                        self.line += 1;
                    }
                    Lead::Open if eof => {
                        buf.clear();
                        return Ok(None);
                    }
                    // The codec waits for the rest, or refuses a line
                    // already too long.
                    Lead::Open | Lead::Text => break,
                }
            }
            let before = buf.len();
            let result = if eof {
                self.inner.decode_eof(buf)
            } else {
                self.inner.decode(buf)
            };
            match result {
                Ok(Some(mut text)) => {
                    let line = self.line + 1;
                    // Newlines inside a line (in a string field) are rare:
                    // a memchr finds there are none faster than counting.
                    let inner = if text.as_bytes().contains(&b'\n') {
                        text.bytes().filter(|&b| b == b'\n').count() as u64
                    } else {
                        0
                    };
                    self.line += 1 + inner;
                    if text.ends_with('\r') {
                        text.pop();
                    }
                    if text.trim_start().starts_with('#') {
                        continue;
                    }
                    return Ok(Some(Record {
                        line,
                        kind: Kind::Lp(text),
                    }));
                }
                Ok(None) => return Ok(None),
                // Too long: fatal whether or not the codec had the whole
                // line (and so consumed it) or only its first part, so the
                // outcome does not depend on where reads happened to end.
                Err(e) if e.is_line_too_long() => {
                    return Err(too_long(self.line + 1, self.max_line))
                }
                // The codec consumed the line and its newline before
                // finding it unreadable (not UTF-8): report it and go on.
                // A line that spans newlines inside a quoted string counts
                // as one here: the codec's error does not say how many it
                // consumed.
                Err(e) if e.is_not_utf8() && buf.len() < before => {
                    self.line += 1;
                    return Ok(Some(Record {
                        line: self.line,
                        kind: Kind::Bad(Raw::Unreadable, e.to_string()),
                    }));
                }
                Err(e) => {
                    return Err(CliError::new(format!(
                        "line {}: {e}; nothing after it was read",
                        self.line + 1
                    )))
                }
            }
        }
    }
}

/// The error for a line over --max-line-bytes, in every format.
fn too_long(line: u64, max: usize) -> CliError {
    CliError::new(format!(
        "line {line}: longer than {max} bytes; nothing after it was read (raise --max-line-bytes if the line is meant to be that long)"
    ))
}

/// What the input starts with, as the codec's blank-line test sees it.
#[derive(Debug, PartialEq, Eq)]
enum Lead {
    /// A line of only whitespace, this long with its newline.
    Blank(usize),
    /// Only whitespace so far, and no newline yet.
    Open,
    /// A line with text (or bytes that are not UTF-8).
    Text,
}

/// Whether `buf` starts with a blank line. "Blank" is what the codec's
/// `str::trim` removes entirely, which is Unicode whitespace: a line of
/// only a vertical tab or U+3000 is passed over by the codec as silently
/// as an empty one, so it must be counted here too.
fn leading_blank(buf: &[u8]) -> Lead {
    let mut i = 0;
    while let Some(&b) = buf.get(i) {
        match b {
            b'\n' => return Lead::Blank(i + 1),
            // char::is_whitespace in ASCII (u8::is_ascii_whitespace leaves
            // out the vertical tab).
            b'\t' | b'\x0b' | b'\x0c' | b'\r' | b' ' => i += 1,
            _ if b.is_ascii() => return Lead::Text,
            _ => {
                let chunk = &buf[i..buf.len().min(i + 4)];
                let valid = match std::str::from_utf8(chunk) {
                    Ok(s) => s,
                    Err(e) => std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default(),
                };
                match valid.chars().next() {
                    Some(c) if c.is_whitespace() => i += c.len_utf8(),
                    // Text, bytes that are not UTF-8, or a character cut
                    // by the end of the read: the codec decides.
                    _ => return Lead::Text,
                }
            }
        }
    }
    Lead::Open
}

impl Decoder for NumberedLp {
    type Item = Record;
    type Error = CliError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Record>, CliError> {
        self.next(buf, false)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Record>, CliError> {
        self.next(buf, true)
    }
}

/// Lines cut at every newline, numbered, blank ones skipped; `None` text
/// for a line that is not UTF-8.
struct NumberedLines {
    max: usize,
    line: u64,
}

impl NumberedLines {
    fn new(max: usize) -> Self {
        NumberedLines { max, line: 0 }
    }

    fn next(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<(u64, Option<String>)>, CliError> {
        loop {
            let end = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => i,
                None if eof && !buf.is_empty() => buf.len(),
                None if buf.len() > self.max => return Err(too_long(self.line + 1, self.max)),
                None => return Ok(None),
            };
            // Checked with the newline in hand too, so a long line is
            // refused wherever the reads happened to end.
            if end > self.max {
                return Err(too_long(self.line + 1, self.max));
            }
            let raw = buf.split_to(end);
            if !buf.is_empty() {
                buf.advance(1);
            }
            self.line += 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.line, String::from_utf8(raw.to_vec()).ok())));
        }
    }
}

impl Decoder for NumberedLines {
    type Item = (u64, Option<String>);
    type Error = CliError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, CliError> {
        self.next(buf, false)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, CliError> {
        self.next(buf, true)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(format!("cannot read the input: {e}"))
    }
}

/// A JSON-lines record in aioinflux's dictionary form.
fn json_point(text: &str, spec: &RecordArgs) -> Result<Point, String> {
    use serde_json::Value as J;
    let doc: J = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = doc
        .as_object()
        .ok_or("expected an object with \"measurement\", \"tags\", \"fields\" and \"time\"")?;
    let measurement = match obj.get("measurement") {
        Some(J::String(m)) => m.as_str(),
        Some(_) => return Err("\"measurement\" is not a string".to_owned()),
        None => spec
            .measurement
            .as_deref()
            .ok_or("no \"measurement\" key, and no --measurement given")?,
    };
    let mut p = Point::new(measurement);
    match obj.get("tags") {
        Some(J::Object(tags)) => {
            for (k, v) in tags {
                match v {
                    J::String(s) => p = p.tag(k, s),
                    J::Null => {}
                    J::Number(_) | J::Bool(_) => p = p.tag(k, v.to_string()),
                    _ => return Err(format!("tag {k:?} is not a string")),
                }
            }
        }
        Some(J::Null) | None => {}
        Some(_) => return Err("\"tags\" is not an object".to_owned()),
    }
    let Some(J::Object(fields)) = obj.get("fields") else {
        return Err("\"fields\" is missing or not an object".to_owned());
    };
    for (k, v) in fields {
        let value = match v {
            J::Null => continue,
            J::Bool(b) => FieldValue::Boolean(*b),
            J::String(s) => FieldValue::String(s.clone()),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    FieldValue::Integer(i)
                } else if let Some(u) = n.as_u64() {
                    FieldValue::UInteger(u)
                } else {
                    FieldValue::Float(n.as_f64().ok_or(format!(
                        "field {k:?}: {n} is not a number InfluxDB can store"
                    ))?)
                }
            }
            _ => return Err(format!("field {k:?} is an array or object")),
        };
        p = p.field(k, value);
    }
    match obj.get("time") {
        None | Some(J::Null) => {}
        Some(J::Number(n)) => {
            let n = n
                .as_i64()
                .ok_or_else(|| format!("time {n} is not an integer"))?;
            p = p.timestamp(spec.time_format.scale_integer(n)?);
        }
        Some(J::String(s)) => p = p.timestamp(spec.time_format.parse_json(s)?),
        Some(_) => return Err("\"time\" is neither a number nor a string".to_owned()),
    }
    Ok(p)
}

/// The CSV delimiter as a byte, once the flags CSV needs are checked.
fn csv_delimiter(spec: &RecordArgs) -> Result<u8, CliError> {
    let delimiter = u8::try_from(spec.delimiter)
        .map_err(|_| CliError::usage("--delimiter must be a single-byte character"))?;
    if spec.measurement.is_none() && spec.measurement_column.is_none() {
        return Err(CliError::usage(
            "CSV input needs --measurement NAME or --measurement-column COLUMN",
        ));
    }
    Ok(delimiter)
}

/// Checks the flags every source's format needs, before anything is read:
/// a usage error found at the second file would come after the first
/// one's points were sent.
///
/// # Errors
/// A usage error naming the first source whose format lacks a flag.
pub fn check_sources(
    sources: &[Source],
    format: Format,
    spec: &RecordArgs,
) -> Result<(), CliError> {
    for source in sources {
        if format.of(source.path.as_deref()) == Format::Csv {
            csv_delimiter(spec)
                .map_err(|e| CliError::usage(format!("{}: {}", source.name(), e.message)))?;
        }
    }
    Ok(())
}

/// What each CSV column is.
#[derive(Debug, Clone)]
enum Column {
    Tag(String),
    Field(String, Option<FieldKind>),
    Time,
    Measurement,
    Ignored,
}

/// The CSV reader runs on a blocking thread (the `csv` crate reads
/// synchronously) and sends finished records over a bounded channel.
fn csv_records(reader: Reader, spec: RecordArgs) -> Result<Records, CliError> {
    let delimiter = csv_delimiter(&spec)?;
    let (tx, mut rx) = mpsc::channel::<Result<Record, CliError>>(CSV_QUEUE);
    tokio::task::spawn_blocking(move || {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(SyncIoBridge::new(reader));
        let columns = match csv.headers() {
            Ok(h) => match plan_columns(h, &spec) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            },
            Err(e) => {
                let _ = tx.blocking_send(Err(CliError::new(format!(
                    "cannot read the CSV header: {e}"
                ))));
                return;
            }
        };
        let mut record = csv::StringRecord::new();
        loop {
            let line = csv.position().line() + 1;
            let item = match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| p.line());
                    let kind = match csv_point(&record, &columns, &spec) {
                        Ok(p) => Kind::Point(Box::new(p), Raw::Csv(record.clone())),
                        Err(e) => Kind::Bad(Raw::Csv(record.clone()), e),
                    };
                    Ok(Record { line, kind })
                }
                // Not UTF-8, or an I/O error: the csv crate goes on after
                // the former, not after the latter.
                Err(e) => match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => Ok(Record {
                        line: e.position().map_or(line, |p| p.line()),
                        kind: Kind::Bad(Raw::Unreadable, "the record is not UTF-8".to_owned()),
                    }),
                    _ => Err(CliError::new(format!("cannot read CSV: {e}"))),
                },
            };
            let fatal = item.is_err();
            if tx.blocking_send(item).is_err() || fatal {
                break;
            }
        }
    });
    Ok(Box::pin(futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

fn plan_columns(headers: &csv::StringRecord, spec: &RecordArgs) -> Result<Vec<Column>, CliError> {
    // Spreadsheets start UTF-8 CSV with a byte-order mark, which would
    // otherwise become part of the first column's name.
    let names: Vec<&str> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            }
        })
        .collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, h)| (*h, i)).collect();
    let find = |name: &str, flag: &str| {
        index.get(name).copied().ok_or_else(|| {
            CliError::usage(format!(
                "{flag} {name:?}: the CSV header has no such column (it has: {})",
                names.join(", ")
            ))
        })
    };
    let types: HashMap<&str, FieldKind> = spec
        .field_types
        .iter()
        .map(|(c, k)| (c.as_str(), *k))
        .collect();
    let mut cols: Vec<Column> = names
        .iter()
        .map(|h| Column::Field((*h).to_owned(), types.get(h).copied()))
        .collect();
    for (c, _) in &spec.field_types {
        find(c, "--field-type")?;
    }
    for t in &spec.tags {
        cols[find(t, "--tag")?] = Column::Tag(t.clone());
    }
    for c in &spec.ignore {
        cols[find(c, "--ignore")?] = Column::Ignored;
    }
    match &spec.time_column {
        Some(t) => cols[find(t, "--time")?] = Column::Time,
        None => {
            if let Some(&i) = index.get("time") {
                cols[i] = Column::Time;
            }
        }
    }
    if let Some(m) = &spec.measurement_column {
        cols[find(m, "--measurement-column")?] = Column::Measurement;
    }
    if !cols.iter().any(|c| matches!(c, Column::Field(..))) {
        return Err(CliError::usage(
            "every CSV column is a tag, the time, the measurement or ignored: a point needs at least one field",
        ));
    }
    Ok(cols)
}

fn csv_point(
    record: &csv::StringRecord,
    cols: &[Column],
    spec: &RecordArgs,
) -> Result<Point, String> {
    if record.len() != cols.len() {
        return Err(format!(
            "{} columns where the header has {}",
            record.len(),
            cols.len()
        ));
    }
    let measurement = match cols.iter().position(|c| matches!(c, Column::Measurement)) {
        Some(i) => record.get(i).unwrap_or_default(),
        None => spec.measurement.as_deref().unwrap_or_default(),
    };
    if measurement.is_empty() {
        return Err("the measurement is empty".to_owned());
    }
    let mut p = Point::new(measurement);
    let mut fields = 0;
    for (col, cell) in cols.iter().zip(record.iter()) {
        match col {
            Column::Tag(k) if !cell.is_empty() => p = p.tag(k, cell),
            Column::Time if !cell.trim().is_empty() => {
                p = p.timestamp(spec.time_format.parse(cell)?);
            }
            Column::Field(k, kind) if !cell.is_empty() => {
                p = p.field(k, field_value(k, cell, *kind)?);
                fields += 1;
            }
            _ => {}
        }
    }
    if fields == 0 {
        return Err("every field cell is empty".to_owned());
    }
    Ok(p)
}

fn field_value(key: &str, cell: &str, kind: Option<FieldKind>) -> Result<FieldValue, String> {
    let bad = |ty: &str| format!("field {key:?}: {cell:?} is not {ty}");
    Ok(match kind {
        Some(FieldKind::String) => FieldValue::String(cell.to_owned()),
        Some(FieldKind::Integer) => {
            FieldValue::Integer(cell.trim().parse().map_err(|_| bad("an integer"))?)
        }
        Some(FieldKind::Float) => FieldValue::Float(float(cell).ok_or_else(|| bad("a number"))?),
        Some(FieldKind::Boolean) => {
            FieldValue::Boolean(boolean(cell).ok_or_else(|| bad("true or false"))?)
        }
        None => match (boolean(cell), float(cell)) {
            (Some(b), _) => FieldValue::Boolean(b),
            (None, Some(f)) => FieldValue::Float(f),
            (None, None) => FieldValue::String(cell.to_owned()),
        },
    })
}

fn float(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn boolean(cell: &str) -> Option<bool> {
    match cell.trim() {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp_lines(text: &str) -> Vec<(u64, String)> {
        let mut codec = NumberedLp::new(1024);
        let mut buf = BytesMut::from(text);
        let mut out = Vec::new();
        for _ in 0..100 {
            match codec.decode_eof(&mut buf) {
                Ok(Some(Record {
                    line,
                    kind: Kind::Lp(t),
                })) => out.push((line, t)),
                Ok(Some(other)) => out.push((other.line, format!("{:?}", other.kind))),
                Ok(None) | Err(_) => break,
            }
        }
        out
    }

    #[test]
    fn line_numbers_count_blank_lines_comments_and_newlines_in_strings() {
        let text = "\n\na v=1\n  \n# note\nb s=\"x\ny\"\r\nc v=2\n\n";
        assert_eq!(
            lp_lines(text),
            vec![
                (3, "a v=1".to_owned()),
                (6, "b s=\"x\ny\"".to_owned()),
                (8, "c v=2".to_owned())
            ]
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_reported_and_numbering_goes_on() {
        // Long and short lines: the codec once left the newline behind
        // after lines longer than what follows them.
        for text in [
            &b"a v=1\n\xff v=2\nb v=3\n"[..],
            &b"a v=1\nxxxxxxxxxxxxxxxxxxxxxxxx\xff v=2\nb v=3\n\n\nc v=4"[..],
        ] {
            let mut codec = NumberedLp::new(1024);
            let mut buf = BytesMut::from(text);
            let mut seen = Vec::new();
            for _ in 0..10 {
                match codec.decode_eof(&mut buf) {
                    Ok(Some(Record {
                        line,
                        kind: Kind::Lp(t),
                    })) => seen.push(format!("{line}:{t}")),
                    Ok(Some(Record {
                        line,
                        kind: Kind::Bad(..),
                    })) => seen.push(format!("{line}:bad")),
                    Ok(Some(_)) | Ok(None) | Err(_) => break,
                }
            }
            assert_eq!(seen[..3], ["1:a v=1", "2:bad", "3:b v=3"], "{text:?}");
            if seen.len() > 3 {
                assert_eq!(seen[3], "6:c v=4");
            }
        }
    }

    /// Every record `NumberedLp` gives for `text`, decoded as if `text`
    /// were all the input, then its error if one ended it.
    fn lp_all(codec: &mut NumberedLp, text: &[u8], eof: bool) -> (Vec<String>, Option<String>) {
        let mut buf = BytesMut::from(text);
        let mut seen = Vec::new();
        for _ in 0..20 {
            let r = if eof {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            match r {
                Ok(Some(Record {
                    line,
                    kind: Kind::Lp(t),
                })) => seen.push(format!("{line}:{t}")),
                Ok(Some(Record {
                    line,
                    kind: Kind::Bad(_, why),
                })) => seen.push(format!("{line}:bad:{why}")),
                Ok(Some(other)) => seen.push(format!("{other:?}")),
                Ok(None) => return (seen, None),
                Err(e) => return (seen, Some(e.message)),
            }
        }
        (seen, Some("more than 20 records".to_owned()))
    }

    #[test]
    fn a_blank_line_after_a_line_that_is_not_utf8_is_counted() {
        // The bad line is longer than what follows it, and a blank line
        // follows it: the codec consumes the bad line's newline itself.
        let (seen, end) = lp_all(
            &mut NumberedLp::new(1024),
            b"a v=1\nxxxxxxxxxx\xff v=2\n\nb v=3\n",
            true,
        );
        assert_eq!(end, None);
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], "1:a v=1");
        assert!(
            seen[1].starts_with("2:bad:")
                && seen[1].ends_with("a line of line protocol is not UTF-8"),
            "{}",
            seen[1]
        );
        assert_eq!(seen[2], "4:b v=3");
    }

    #[test]
    fn lines_of_unicode_whitespace_are_counted_like_blank_ones() {
        // The codec trims with str::trim, which takes the vertical tab and
        // U+3000 as whitespace, and passes such lines over silently.
        let text = "a v=1\n\x0b\nb v=2\n\u{3000} \r\nc v=3\n \x0c\t\nd v=4";
        let (seen, end) = lp_all(&mut NumberedLp::new(1024), text.as_bytes(), true);
        assert_eq!(end, None);
        assert_eq!(seen, ["1:a v=1", "3:b v=2", "5:c v=3", "7:d v=4"]);
        assert_eq!(leading_blank(b"\xe3\x80"), Lead::Text);
        assert_eq!(leading_blank(b" \t"), Lead::Open);
        assert_eq!(leading_blank("\u{3000}\n".as_bytes()), Lead::Blank(4));
    }

    #[test]
    fn an_over_long_line_ends_the_input_wherever_the_reads_end() {
        let want = "line 2: longer than 8 bytes; nothing after it was read \
                    (raise --max-line-bytes if the line is meant to be that long)";
        // Whole, with its newline and more after it; cut before its
        // newline; and the last line of the input.
        for (text, eof) in [
            (&b"a v=1\nxxxxxxxxxxx v=2\nb v=3\n"[..], false),
            (&b"a v=1\nxxxxxxxxxxx v=2\nb v=3\n"[..], true),
            (&b"a v=1\nxxxxxxxxxxx v"[..], false),
            (&b"a v=1\nxxxxxxxxxxx v=2"[..], true),
        ] {
            let (seen, end) = lp_all(&mut NumberedLp::new(8), text, eof);
            assert_eq!(seen, ["1:a v=1"], "{text:?}");
            assert_eq!(end.as_deref(), Some(want), "{text:?}");
            let mut lines = NumberedLines::new(8);
            let mut buf = BytesMut::from(text);
            let first = if eof {
                lines.decode_eof(&mut buf)
            } else {
                lines.decode(&mut buf)
            };
            assert!(
                matches!(&first, Ok(Some((1, Some(t)))) if t == "a v=1"),
                "{first:?}"
            );
            let second = if eof {
                lines.decode_eof(&mut buf)
            } else {
                lines.decode(&mut buf)
            };
            assert_eq!(
                second.map_err(|e| e.message).err().as_deref(),
                Some(want),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_column() {
        let headers = csv::StringRecord::from(vec!["\u{feff}time", "v"]);
        let spec = RecordArgs {
            measurement: Some("m".into()),
            measurement_column: None,
            tags: vec![],
            time_column: None,
            time_format: TimeSpec::Auto,
            ignore: vec![],
            field_types: vec![],
            delimiter: ',',
        };
        let cols = plan_columns(&headers, &spec).map_err(|e| e.message);
        assert!(
            matches!(cols.as_deref(), Ok([Column::Time, Column::Field(..)])),
            "{cols:?}"
        );
    }

    #[test]
    fn formats_follow_file_names() {
        let f = |p: &str| Format::Auto.of(Some(Path::new(p)));
        assert_eq!(f("a.csv.gz"), Format::Csv);
        assert_eq!(f("a.JSONL"), Format::Jsonl);
        assert_eq!(f("a.lp.gz"), Format::Lp);
        assert_eq!(Format::Auto.of(None), Format::Lp);
        assert_eq!(Format::Csv.of(Some(Path::new("x.lp"))), Format::Csv);
    }

    #[test]
    fn csv_cells_become_typed_fields() -> Result<(), String> {
        assert_eq!(field_value("k", "1", None)?, FieldValue::Float(1.0));
        assert_eq!(field_value("k", "true", None)?, FieldValue::Boolean(true));
        assert_eq!(
            field_value("k", "NaN", None)?,
            FieldValue::String("NaN".into())
        );
        assert_eq!(
            field_value("k", "7", Some(FieldKind::Integer))?,
            FieldValue::Integer(7)
        );
        assert!(field_value("k", "7.5", Some(FieldKind::Integer)).is_err());
        Ok(())
    }
}
