//! `query`: rows from the library's stream to stdout as they arrive, so
//! memory stays flat whatever the size of the result.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use influx_stream::query::SeriesMeta;
use influx_stream::{Query, Row, Value};

use crate::conn::{ConnArgs, Unit};
use crate::error::CliError;

/// Rows a table waits for before it fixes its column widths.
const TABLE_SAMPLE: usize = 500;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// CSV with a header line; a new header (after a blank line) whenever
    /// the columns change.
    Csv,
    /// One JSON object a row.
    Jsonl,
    /// Aligned columns for reading on a terminal.
    Table,
}

/// Arguments of `query`.
#[derive(Debug, Args)]
#[command(
    after_help = "Columns: `name` (the series, usually the measurement), then the series' \
GROUP BY tags, then the query's columns. A failed statement is reported on stderr and the exit \
status is 1; the rows of the other statements are still printed.

Examples:
  influx-stream query -d telemetry 'SELECT * FROM cpu WHERE time > now() - 1h' > cpu.csv
  influx-stream query -d telemetry --format jsonl --epoch s 'SELECT mean(usage) FROM cpu GROUP BY time(1m), host'
  influx-stream query -d telemetry --format table 'SHOW SERIES'"
)]
pub struct QueryArgs {
    /// The InfluxQL text.
    pub query: String,
    /// The output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Csv)]
    pub format: OutputFormat,
    /// Times as integers in this unit. Default: RFC 3339 text.
    #[arg(long, value_enum)]
    pub epoch: Option<Unit>,
    /// Rows per chunk the server sends.
    #[arg(long, default_value_t = 10_000)]
    pub chunk_size: usize,
}

/// Maps a stdout write error: a closed pipe (`| head`) ends quietly.
pub fn stdout_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError {
            message: String::new(),
            code: 0,
        }
    } else {
        CliError::new(format!("cannot write to standard output: {e}"))
    }
}

/// Runs `query`.
pub async fn run(conn: &ConnArgs, args: QueryArgs) -> Result<ExitCode, CliError> {
    let client = conn.client()?;
    let unit = args.epoch;
    let query = Query::new(args.query)
        .epoch(unit.unwrap_or(Unit::Ns).precision())
        .chunk_size(args.chunk_size.max(1));
    let mut rows = client.query(query);
    let out = BufWriter::with_capacity(64 * 1024, io::stdout());
    let mut printer = Printer::new(args.format, unit, out);
    let mut failures = 0u64;
    while let Some(item) = rows.next().await {
        match item {
            Ok(row) => printer.row(&row).map_err(stdout_error)?,
            Err(e) => {
                // The rows before it are printed first, so the message
                // follows the output it interrupts.
                printer.flush().map_err(stdout_error)?;
                eprintln!("influx-stream: {e}");
                failures += 1;
            }
        }
    }
    printer.finish().map_err(stdout_error)?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes rows in one of the formats.
struct Printer<W: Write> {
    format: OutputFormat,
    unit: Option<Unit>,
    out: W,
    /// The series whose header was written last (compared by pointer
    /// first: rows of one series share it).
    meta: Option<Arc<SeriesMeta>>,
    header: Vec<String>,
    /// Table rows held back until the widths are known.
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    wrote_any: bool,
    /// Tables printed so far (each after the first follows a blank line).
    tables: usize,
}

impl<W: Write> Printer<W> {
    fn new(format: OutputFormat, unit: Option<Unit>, out: W) -> Self {
        Printer {
            format,
            unit,
            out,
            meta: None,
            header: Vec::new(),
            pending: Vec::new(),
            widths: None,
            wrote_any: false,
            tables: 0,
        }
    }

    fn row(&mut self, row: &Row) -> io::Result<()> {
        let same = self
            .meta
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, row.meta()));
        if !same {
            let header = header_of(row);
            if header != self.header || self.meta.is_none() {
                self.end_block()?;
                self.header = header;
                self.start_block()?;
            }
            self.meta = Some(row.meta().clone());
        }
        match self.format {
            OutputFormat::Csv => {
                // Straight to the buffer, without a string per cell: at a
                // million rows the allocations cost more than the writing.
                let unit = self.unit;
                let out = &mut self.out;
                csv_cell(out, row.series_name().unwrap_or(""))?;
                for (_, v) in row.tags() {
                    out.write_all(b",")?;
                    csv_cell(out, v)?;
                }
                for v in row.values() {
                    out.write_all(b",")?;
                    csv_value(out, unit, v)?;
                }
                out.write_all(b"\n")
            }
            OutputFormat::Table => {
                let cells = self.cells(row);
                match &self.widths {
                    Some(w) => write_table_row(&mut self.out, w, &cells),
                    None => {
                        self.pending.push(cells);
                        if self.pending.len() >= TABLE_SAMPLE {
                            self.fix_widths()?;
                        }
                        Ok(())
                    }
                }
            }
            OutputFormat::Jsonl => {
                // Written by hand so keys keep the query's column order
                // (serde_json's map would sort them).
                let out = &mut self.out;
                out.write_all(b"{\"name\":")?;
                serde_json::to_writer(&mut *out, &row.series_name())?;
                if !row.tags().is_empty() {
                    out.write_all(b",\"tags\":{")?;
                    for (i, (k, v)) in row.tags().iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        serde_json::to_writer(&mut *out, k)?;
                        out.write_all(b":")?;
                        serde_json::to_writer(&mut *out, v)?;
                    }
                    out.write_all(b"}")?;
                }
                for (c, v) in row.columns().iter().zip(row.values()) {
                    out.write_all(b",")?;
                    serde_json::to_writer(&mut *out, c)?;
                    out.write_all(b":")?;
                    let value = json_value(self.unit, v);
                    serde_json::to_writer(&mut *out, &value)?;
                }
                out.write_all(b"}\n")
            }
        }
    }

    fn cells(&self, row: &Row) -> Vec<String> {
        let mut cells = Vec::with_capacity(1 + row.tags().len() + row.len());
        cells.push(row.series_name().unwrap_or("").to_owned());
        cells.extend(row.tags().iter().map(|(_, v)| v.clone()));
        cells.extend(row.values().iter().map(|v| self.text(v)));
        cells
    }

    fn text(&self, v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::Time(ns) => match self.unit {
                Some(u) => ns.div_euclid(u.nanos()).to_string(),
                None => crate::time::rfc3339(*ns),
            },
            // serde_json prints floats the way InfluxDB does (1e300, not
            // three hundred digits).
            Value::Float(f) => serde_json::Value::from(*f).to_string(),
            other => other.to_string(),
        }
    }

    fn start_block(&mut self) -> io::Result<()> {
        match self.format {
            OutputFormat::Csv => {
                if self.wrote_any {
                    self.out.write_all(b"\n")?;
                }
                write_csv(&mut self.out, self.header.iter().map(String::as_str))?;
            }
            OutputFormat::Table => {
                self.widths = None;
                self.pending.clear();
            }
            OutputFormat::Jsonl => {}
        }
        self.wrote_any = true;
        Ok(())
    }

    fn end_block(&mut self) -> io::Result<()> {
        if self.format == OutputFormat::Table && self.wrote_any && self.widths.is_none() {
            self.fix_widths()?;
        }
        Ok(())
    }

    fn fix_widths(&mut self) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.pending {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        if self.wrote_any && self.header_printed_before() {
            self.out.write_all(b"\n")?;
        }
        write_table_row(&mut self.out, &widths, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        write_table_row(&mut self.out, &widths, &rule)?;
        for row in std::mem::take(&mut self.pending) {
            write_table_row(&mut self.out, &widths, &row)?;
        }
        self.widths = Some(widths);
        self.tables += 1;
        Ok(())
    }

    fn header_printed_before(&self) -> bool {
        self.tables > 0
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(mut self) -> io::Result<()> {
        self.end_block()?;
        self.out.flush()
    }
}

fn header_of(row: &Row) -> Vec<String> {
    let mut h = Vec::with_capacity(1 + row.tags().len() + row.columns().len());
    h.push("name".to_owned());
    h.extend(row.tags().iter().map(|(k, _)| k.clone()));
    h.extend(row.columns().iter().cloned());
    h
}

fn write_csv<'a>(out: &mut impl Write, cells: impl Iterator<Item = &'a str>) -> io::Result<()> {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        csv_cell(out, cell)?;
    }
    out.write_all(b"\n")
}

/// One CSV cell, quoted when it must be (RFC 4180, plus edge spaces,
/// which some readers trim).
fn csv_cell(out: &mut impl Write, cell: &str) -> io::Result<()> {
    if cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') || cell.ends_with(' ') {
        out.write_all(b"\"")?;
        out.write_all(cell.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(cell.as_bytes())
    }
}

/// A value as a CSV cell: null is empty, times as asked, floats as
/// InfluxDB prints them (serde_json's shortest form: 1e300, not 301 digits).
fn csv_value(out: &mut impl Write, unit: Option<Unit>, v: &Value) -> io::Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::Time(ns) => match unit {
            Some(u) => write!(out, "{}", ns.div_euclid(u.nanos())),
            None => crate::time::write_rfc3339(out, *ns),
        },
        Value::Float(f) => serde_json::to_writer(&mut *out, f).map_err(io::Error::from),
        Value::String(s) => csv_cell(out, s),
        other => write!(out, "{other}"),
    }
}

fn write_table_row(out: &mut impl Write, widths: &[usize], cells: &[String]) -> io::Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        // Control characters would break the alignment and the terminal.
        let shown: String = cell
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        line.push_str(&shown);
        let w = widths.get(i).copied().unwrap_or(0);
        if i + 1 < cells.len() {
            for _ in shown.chars().count()..w {
                line.push(' ');
            }
        }
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

fn json_value(unit: Option<Unit>, v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Integer(i) => (*i).into(),
        Value::UInteger(u) => (*u).into(),
        Value::Float(f) => (*f).into(),
        Value::String(s) => s.as_str().into(),
        Value::Time(ns) => match unit {
            Some(u) => ns.div_euclid(u.nanos()).into(),
            None => crate::time::rfc3339(*ns).into(),
        },
        other => other.to_string().into(),
    }
}
