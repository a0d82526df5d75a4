//! The 1.x response decoder, driven through `influx_stream::__private` (not
//! public API) without HTTP: the query bodies recorded from influxd 1.6.7
//! (`tests/data/influx-1.6.7/NN-*.body`) decoded whole, split at every byte
//! boundary and fed byte by byte; mutated bodies; float round trips; the
//! shapes of a response document.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use influx_stream::__private::{DecodeOptions, Decoder, Event, TimeFormat};
use influx_stream::query::{Chunk, DecodeError, SeriesChunk, SeriesMeta};
use influx_stream::{Row, Value};

#[path = "support/mutate.rs"]
mod mutate;
use mutate::{mutate, splitmix64};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/influx-1.6.7/");

/// Path of the capture whose name starts with `nn-`.
fn capture_path(nn: &str, ext: &str) -> std::path::PathBuf {
    let prefix = format!("{nn}-");
    let entry = std::fs::read_dir(CAPTURES)
        .expect("captures directory")
        .filter_map(Result::ok)
        .find(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(ext)
        })
        .unwrap_or_else(|| panic!("no capture {nn}-*{ext} in {CAPTURES}"));
    entry.path()
}

fn body(nn: &str) -> Vec<u8> {
    std::fs::read(capture_path(nn, ".body")).expect("read body")
}

/// The `epoch` the request asked for (URL or form body), as a `TimeFormat`.
fn time_format(nn: &str) -> TimeFormat {
    let txt = std::fs::read_to_string(capture_path(nn, ".txt")).expect("read txt");
    let request = txt.split("=== RESPONSE ===").next().unwrap_or("");
    request
        .split(['?', '&', '\n', ' '])
        .find_map(|kv| kv.strip_prefix("epoch="))
        .map(|p| TimeFormat::from_epoch_param(p).expect("known epoch"))
        .unwrap_or(TimeFormat::Rfc3339)
}

fn render_event(out: &mut String, item: Result<Event, DecodeError>) {
    match item {
        Ok(Event::Row(row)) => {
            write!(
                out,
                "row s{} {}",
                row.statement_id(),
                row.series_name().unwrap_or("-")
            )
            .unwrap();
            for (k, v) in row.tags() {
                write!(out, " {k}={v}").unwrap();
            }
            write!(out, " #{}:", row.index()).unwrap();
            for (c, v) in row.columns().iter().zip(row.values()) {
                write!(out, " {c}={v:?}").unwrap();
            }
        }
        Ok(Event::Other(Chunk::StatementError {
            statement_id,
            message,
        })) => write!(out, "error s{statement_id}: {message}").unwrap(),
        Ok(Event::Other(Chunk::StatementEnd { statement_id })) => {
            write!(out, "end s{statement_id}").unwrap()
        }
        Ok(Event::Other(Chunk::Message {
            statement_id,
            level,
            text,
        })) => write!(out, "message s{statement_id} {level}: {text}").unwrap(),
        Ok(Event::Other(Chunk::QueryError { message })) => {
            write!(out, "query error: {message}").unwrap()
        }
        Ok(other) => panic!("an event of a new kind: {other:?}"),
        Err(e) => write!(out, "ERR {e}").unwrap(),
    }
    out.push('\n');
}

/// Feeds `parts` one after the other, draining events after each, then
/// finishes; returns the events rendered one per line.
fn decode_parts<'a>(options: DecodeOptions, parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut d = Decoder::new(options);
    let mut out = String::new();
    for part in parts {
        d.feed(part);
        while let Some(item) = d.next_event() {
            render_event(&mut out, item);
        }
    }
    d.finish();
    while let Some(item) = d.next_event() {
        render_event(&mut out, item);
    }
    assert!(d.is_done());
    assert_eq!(d.buffered_len(), 0);
    out
}

fn decode(nn: &str) -> String {
    decode_parts(
        DecodeOptions::new().time_format(time_format(nn)),
        [&body(nn)[..]],
    )
}

/// Decodes capture `nn` whole, split in two at every byte boundary (or at
/// every `stride`-th one plus all boundaries near document edges), and fed
/// byte by byte: all must give the same events.
fn check_splits(nn: &str, stride: usize) -> String {
    let bytes = body(nn);
    let options = DecodeOptions::new().time_format(time_format(nn));
    let whole = decode_parts(options, [&bytes[..]]);
    let near_edge = |k: usize| {
        bytes[k.saturating_sub(3)..(k + 3).min(bytes.len())].contains(&b'\n')
            || k < 64
            || k + 64 > bytes.len()
    };
    for k in 0..=bytes.len() {
        if k % stride != 0 && !near_edge(k) {
            continue;
        }
        let (a, b) = bytes.split_at(k);
        let split = decode_parts(options, [a, b]);
        assert!(
            split == whole,
            "capture {nn} split at {k}:\n{split}\n!=\n{whole}"
        );
    }
    let bytewise = decode_parts(options, bytes.chunks(1));
    assert!(bytewise == whole, "capture {nn} fed byte by byte");
    let chunked = decode_parts(options, bytes.chunks(1000));
    assert!(chunked == whole, "capture {nn} fed by 1000 bytes");
    whole
}

/// Every query body that is JSON (43 is gzip, 49 is CSV).
const JSON_BODIES: &[&str] = &[
    "04", "05", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34",
    "35", "36", "37", "38", "39", "41", "42", "44", "45", "46", "47", "48", "50", "51", "52", "53",
    "55", "63", "64", "67", "69", "80", "81", "83", "84", "85", "86", "87", "92", "93", "95", "96",
    "97", "98", "99",
];

#[test]
fn every_json_body_decodes_the_same_however_split() {
    for nn in JSON_BODIES {
        let out = check_splits(nn, 1);
        // 52 is indented (`pretty=true`): see `capture_51_error_last_and_52_pretty`.
        assert!(!out.contains("ERR") || *nn == "52", "capture {nn}:\n{out}");
    }
    // 68 is 41 KB: every boundary near a document edge, every 7th elsewhere.
    let out = check_splits("68", 7);
    assert!(!out.contains("ERR"));
}

#[track_caller]
fn assert_lines(actual: &str, expected: &str) {
    let expected: String = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        actual == expected,
        "actual:\n{actual}\nexpected:\n{expected}"
    );
}

#[test]
fn capture_21_escapes_and_extremes_epoch_ns() {
    assert_lines(
        &decode("21"),
        r#"
        row s0 esc,m x #0: time=Time(1704067200000000000) b=Bool(true) big=Integer(9223372036854775807) bs=String("a\\b") f key,x=y=String("str \"quoted\" back\\slash, comma=eq") fl=Float(1.7976931348623157e308) int=Integer(-9223372036854775808) neg0=Float(-0.0) one=Integer(1) s=Null tag key,a=b=String("tag val,c=d") tiny=Float(5e-324) uni=String("värde☃")
        row s0 esc,m x #1: time=Time(1704067200000000001) b=Null big=Null bs=String("multi") f key,x=y=Null fl=Null int=Null neg0=Null one=Null s=String("line1\nline2") tag key,a=b=Null tiny=Null uni=Null
        end s0
        "#,
    );
}

#[test]
fn capture_22_rfc3339_times() {
    let out = decode("22");
    assert_lines(
        &out,
        r#"
        row s0 cpu #0: time=String("2024-01-01T00:00:00Z") count=Integer(0) host=String("a") label=String("ha-0") ok=Bool(true) region=String("eu") usage=Float(0.25)
        row s0 cpu #1: time=String("2024-01-01T00:01:00Z") count=Integer(10) host=String("a") label=String("ha-1") ok=Bool(false) region=String("eu") usage=Float(1.75)
        row s0 cpu #2: time=String("2024-01-01T00:02:00Z") count=Integer(20) host=String("a") label=String("ha-2") ok=Bool(true) region=String("eu") usage=Float(3.25)
        row s0 cpu #3: time=String("2024-01-01T00:03:00Z") count=Integer(30) host=String("a") label=String("ha-3") ok=Bool(false) region=String("eu") usage=Float(4.75)
        row s0 cpu #4: time=String("2024-01-01T00:04:00Z") count=Integer(40) host=String("a") label=String("ha-4") ok=Bool(true) region=String("eu") usage=Float(6.25)
        end s0
        "#,
    );
    // Row::time parses RFC 3339.
    let mut d = Decoder::new(DecodeOptions::new().time_format(TimeFormat::Rfc3339));
    d.feed(&body("22"));
    let Some(Ok(Event::Row(row))) = d.next_event() else {
        panic!("no row")
    };
    assert_eq!(row.time(), Some(1_704_067_200_000_000_000));
}

#[test]
fn capture_23_group_by_tags_epoch_ns() {
    let out = decode("23");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 18);
    assert_eq!(
        lines[0],
        r#"row s0 cpu host=a #0: time=Time(1704067200000000000) usage=Float(0.25) count=Integer(0) region=String("eu")"#
    );
    assert_eq!(
        lines[14],
        r#"row s0 cpu host=c #4: time=Time(1704067440000000000) usage=Float(6.25) count=Integer(40) region=String("us")"#
    );
    assert_eq!(
        lines[16],
        r#"row s0 cpu host=d #1: time=Time(1704067320000000000) usage=Float(2.5) count=Null region=String("us")"#
    );
    assert_eq!(lines[17], "end s0");
}

#[test]
fn capture_24_25_multi_statement_errors() {
    assert_lines(
        &decode("24"),
        r#"
        row s0 cpu #0: time=String("1970-01-01T00:00:00Z") count=Integer(17)
        end s0
        error s1: not executed
        "#,
    );
    assert_lines(
        &decode("25"),
        r#"
        row s0 cpu #0: time=String("1970-01-01T00:00:00Z") count=Integer(17)
        end s0
        error s1: unsupported mean iterator type: *query.stringInterruptIterator
        error s2: not executed
        error s3: not executed
        "#,
    );
}

#[test]
fn capture_26_chunked_partial_series() {
    assert_lines(
        &decode("26"),
        r#"
        row s0 cpu host=a region=eu #0: time=String("2024-01-01T00:00:00Z") usage=Float(0.25) count=Integer(0)
        row s0 cpu host=a region=eu #1: time=String("2024-01-01T00:01:00Z") usage=Float(1.75) count=Integer(10)
        row s0 cpu host=a region=eu #2: time=String("2024-01-01T00:02:00Z") usage=Float(3.25) count=Integer(20)
        row s0 cpu host=a region=eu #3: time=String("2024-01-01T00:03:00Z") usage=Float(4.75) count=Integer(30)
        row s0 cpu host=a region=eu #4: time=String("2024-01-01T00:04:00Z") usage=Float(6.25) count=Integer(40)
        row s0 cpu host=b region=eu #0: time=String("2024-01-01T00:00:00Z") usage=Float(0.25) count=Integer(0)
        row s0 cpu host=b region=eu #1: time=String("2024-01-01T00:01:00Z") usage=Float(1.75) count=Integer(10)
        row s0 cpu host=b region=eu #2: time=String("2024-01-01T00:02:00Z") usage=Float(3.25) count=Integer(20)
        row s0 cpu host=b region=eu #3: time=String("2024-01-01T00:03:00Z") usage=Float(4.75) count=Integer(30)
        row s0 cpu host=b region=eu #4: time=String("2024-01-01T00:04:00Z") usage=Float(6.25) count=Integer(40)
        row s0 cpu host=c region=us #0: time=String("2024-01-01T00:00:00Z") usage=Float(0.25) count=Integer(0)
        row s0 cpu host=c region=us #1: time=String("2024-01-01T00:01:00Z") usage=Float(1.75) count=Integer(10)
        row s0 cpu host=c region=us #2: time=String("2024-01-01T00:02:00Z") usage=Float(3.25) count=Integer(20)
        row s0 cpu host=c region=us #3: time=String("2024-01-01T00:03:00Z") usage=Float(4.75) count=Integer(30)
        row s0 cpu host=c region=us #4: time=String("2024-01-01T00:04:00Z") usage=Float(6.25) count=Integer(40)
        end s0
        "#,
    );
}

#[test]
fn capture_26_chunks_share_meta() {
    let mut d = Decoder::new(DecodeOptions::new().time_format(TimeFormat::Rfc3339));
    d.feed(&body("26"));
    d.finish();
    let chunks: Vec<Chunk> = std::iter::from_fn(|| d.next_chunk())
        .map(|c| c.expect("valid"))
        .collect();
    let series: Vec<&SeriesChunk> = chunks
        .iter()
        .filter_map(|c| match c {
            Chunk::Series(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(series.len(), 9);
    let shape: Vec<(Option<&str>, usize, bool, u64)> = series
        .iter()
        .map(|s| (s.meta.tag("host"), s.values.len(), s.partial, s.first_row))
        .collect();
    assert_eq!(
        shape,
        [
            (Some("a"), 2, true, 0),
            (Some("a"), 2, true, 2),
            (Some("a"), 1, false, 4),
            (Some("b"), 2, true, 0),
            (Some("b"), 2, true, 2),
            (Some("b"), 1, false, 4),
            (Some("c"), 2, true, 0),
            (Some("c"), 2, true, 2),
            (Some("c"), 1, false, 4),
        ]
    );
    for group in series.chunks(3) {
        assert!(Arc::ptr_eq(&group[0].meta, &group[1].meta));
        assert!(Arc::ptr_eq(&group[1].meta, &group[2].meta));
    }
    assert!(!Arc::ptr_eq(&series[2].meta, &series[3].meta));
    assert_eq!(
        chunks.last(),
        Some(&Chunk::StatementEnd { statement_id: 0 })
    );
}

#[test]
fn capture_27_chunked_two_statements() {
    assert_lines(
        &decode("27"),
        r#"
        row s0 cpu #0: time=String("2024-01-01T00:00:00Z") usage=Float(0.25)
        row s0 cpu #1: time=String("2024-01-01T00:01:00Z") usage=Float(1.75)
        row s0 cpu #2: time=String("2024-01-01T00:02:00Z") usage=Float(3.25)
        row s0 cpu #3: time=String("2024-01-01T00:03:00Z") usage=Float(4.75)
        row s0 cpu #4: time=String("2024-01-01T00:04:00Z") usage=Float(6.25)
        end s0
        row s1 cpu #0: time=String("2024-01-01T00:00:00Z") count=Integer(0)
        row s1 cpu #1: time=String("2024-01-01T00:01:00Z") count=Integer(10)
        row s1 cpu #2: time=String("2024-01-01T00:02:00Z") count=Integer(20)
        row s1 cpu #3: time=String("2024-01-01T00:03:00Z") count=Integer(30)
        row s1 cpu #4: time=String("2024-01-01T00:04:00Z") count=Integer(40)
        end s1
        "#,
    );
}

#[test]
fn top_level_errors() {
    let parse_error = "query error: error parsing query: found SELEC, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1";
    assert_lines(&decode("28"), parse_error);
    assert_lines(&decode("44"), parse_error);
    assert_lines(
        &decode("31"),
        "query error: error parsing query: missing parameter: host",
    );
    assert_lines(
        &decode("96"),
        "query error: error authorizing query: reader not authorized to execute statement 'SHOW MEASUREMENTS', requires READ on _internal",
    );
}

#[test]
fn empty_results() {
    for nn in ["04", "29", "46", "55", "86"] {
        assert_lines(&decode(nn), "end s0");
    }
    assert_lines(
        &decode("05"),
        "message s0 warning: deprecated use of 'CREATE DATABASE otherdb' in a read only context, please use a POST request instead
         end s0",
    );
    assert_lines(&decode("45"), "error s0: database not found: nosuchdb");
}

#[test]
fn capture_39_columns_without_values() {
    assert_lines(&decode("39"), "end s0\nend s1\nend s2");
    let mut d = Decoder::default();
    d.feed(&body("39"));
    let chunks: Vec<Chunk> = std::iter::from_fn(|| d.next_chunk())
        .map(|c| c.expect("valid"))
        .collect();
    let Chunk::Series(s) = &chunks[2] else {
        panic!("{chunks:?}")
    };
    assert_eq!(s.meta.name(), None);
    assert_eq!(s.meta.statement_id(), 2);
    assert_eq!(s.meta.columns(), ["user", "admin"]);
    assert!(s.values.is_empty());
    assert_eq!(chunks.len(), 4);
}

#[test]
fn show_listings() {
    assert_lines(
        &decode("32"),
        r#"
        row s0 databases #0: name=String("mydb")
        row s0 databases #1: name=String("otherdb")
        end s0
        "#,
    );
    assert_lines(
        &decode("36"),
        r#"
        row s0 cpu #0: fieldKey=String("count") fieldType=String("integer")
        row s0 cpu #1: fieldKey=String("label") fieldType=String("string")
        row s0 cpu #2: fieldKey=String("ok") fieldType=String("boolean")
        row s0 cpu #3: fieldKey=String("usage") fieldType=String("float")
        row s0 esc,m x #0: fieldKey=String("b") fieldType=String("boolean")
        row s0 esc,m x #1: fieldKey=String("big") fieldType=String("integer")
        row s0 esc,m x #2: fieldKey=String("f key,x=y") fieldType=String("string")
        row s0 esc,m x #3: fieldKey=String("fl") fieldType=String("float")
        row s0 esc,m x #4: fieldKey=String("int") fieldType=String("integer")
        row s0 esc,m x #5: fieldKey=String("neg0") fieldType=String("float")
        row s0 esc,m x #6: fieldKey=String("one") fieldType=String("float")
        row s0 esc,m x #7: fieldKey=String("s") fieldType=String("string")
        row s0 esc,m x #8: fieldKey=String("tiny") fieldType=String("float")
        row s0 gzcheck #0: fieldKey=String("value") fieldType=String("float")
        row s0 mem #0: fieldKey=String("used") fieldType=String("integer")
        row s0 precision_check #0: fieldKey=String("value") fieldType=String("float")
        end s0
        "#,
    );
    assert_lines(
        &decode("37"),
        r#"
        row s0 - #0: name=String("autogen") duration=String("0s") shardGroupDuration=String("168h0m0s") replicaN=Integer(1) default=Bool(true)
        end s0
        "#,
    );
    let series = decode("38");
    let lines: Vec<&str> = series.lines().collect();
    assert_eq!(lines.len(), 12);
    assert_eq!(
        lines[0],
        r#"row s0 - #0: key=String("cpu,host=a,region=eu")"#
    );
    assert_eq!(
        lines[4],
        r#"row s0 - #4: key=String("esc\\,m\\ x,bs=a\\b,tag\\ key\\,a\\=b=tag\\ val\\,c\\=d,uni=värde☃")"#
    );
    assert_eq!(lines[10], r#"row s0 - #10: key=String("timecheck")"#);
}

#[test]
fn capture_41_42_all_types() {
    assert_lines(
        &decode("41"),
        r#"
        row s0 types #0: time=String("2024-01-01T00:00:00Z") f=Float(1.5) i=Integer(42) s=String("text") b=Bool(true)
        row s0 types #1: time=String("2024-01-01T00:00:01Z") f=Integer(2) i=Integer(-9223372036854775808) s=String("") b=Bool(false)
        row s0 types #2: time=String("2024-01-01T00:00:02Z") f=Float(1e300) i=Integer(9223372036854775807) s=Null b=Null
        row s0 types #3: time=String("2024-01-01T00:00:03Z") f=Float(-0.0) i=Null s=String("only s") b=Null
        row s0 types #4: time=String("2024-01-01T00:00:04.000000123Z") f=Float(0.1) i=Null s=Null b=Null
        end s0
        "#,
    );
    // epoch=ms: times scaled to nanoseconds.
    assert_lines(
        &decode("42"),
        r#"
        row s0 types #0: time=Time(1704067200000000000) f=Float(1.5) i=Integer(42) s=String("text") b=Bool(true)
        row s0 types #1: time=Time(1704067201000000000) f=Integer(2) i=Integer(-9223372036854775808) s=String("") b=Bool(false)
        row s0 types #2: time=Time(1704067202000000000) f=Float(1e300) i=Integer(9223372036854775807) s=Null b=Null
        row s0 types #3: time=Time(1704067203000000000) f=Float(-0.0) i=Null s=String("only s") b=Null
        row s0 types #4: time=Time(1704067204000000000) f=Float(0.1) i=Null s=Null b=Null
        end s0
        "#,
    );
    // Typed: `f` is a float field; `2` is accepted by an f64.
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Types {
        time: i64,
        f: f64,
        i: Option<i64>,
        s: Option<String>,
        b: Option<bool>,
    }
    let mut d = Decoder::new(DecodeOptions::new().time_format(TimeFormat::Rfc3339));
    d.feed(&body("41"));
    let rows: Vec<Types> = std::iter::from_fn(|| d.next_event())
        .filter_map(|e| match e {
            Ok(Event::Row(r)) => Some(r.into_deserialize().expect("typed")),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1],
        Types {
            time: 1_704_067_201_000_000_000,
            f: 2.0,
            i: Some(i64::MIN),
            s: Some(String::new()),
            b: Some(false),
        }
    );
    assert!(rows[3].f == 0.0 && rows[3].f.is_sign_negative());
    assert_eq!(rows[4].time, 1_704_067_204_000_000_123);
    assert_eq!(rows[2].f, 1e300);
}

#[test]
fn capture_48_epoch_s_and_50_whole_floats() {
    assert_lines(
        &decode("48"),
        r#"
        row s0 cpu host=a #0: time=Time(1704067440000000000) last=Float(6.25)
        row s0 cpu host=b #0: time=Time(1704067440000000000) last=Float(6.25)
        row s0 cpu host=c #0: time=Time(1704067440000000000) last=Float(6.25)
        row s0 cpu host=d #0: time=Time(1704067320000000000) last=Float(2.5)
        end s0
        "#,
    );
    assert_lines(
        &decode("50"),
        r#"
        row s0 cpu #0: time=String("2024-01-01T00:00:00Z") mean=Integer(1)
        row s0 cpu #1: time=String("2024-01-01T00:02:00Z") mean=Integer(4)
        row s0 cpu #2: time=String("2024-01-01T00:04:00Z") mean=Float(6.25)
        end s0
        "#,
    );
}

#[test]
fn capture_51_error_last_and_52_pretty() {
    // Indented JSON (`pretty=true`, which the client never asks for) is not
    // read: every line is an invalid document.
    let pretty = decode("52");
    assert_eq!(pretty.lines().count(), 22, "{pretty}");
    assert!(
        pretty
            .lines()
            .all(|l| l.starts_with("ERR invalid document")),
        "{pretty}"
    );
    assert_lines(
        &decode("51"),
        r#"
        row s0 cpu #0: time=String("2024-01-01T00:04:00Z") last=Float(6.25)
        end s0
        error s1: GROUP BY requires at least one aggregate function
        "#,
    );
}

#[test]
fn capture_63_64_row_limit() {
    let mut d = Decoder::new(DecodeOptions::new().time_format(TimeFormat::Rfc3339));
    d.feed(&body("63"));
    d.finish();
    let Some(Ok(Chunk::Series(s))) = d.next_chunk() else {
        panic!("no series")
    };
    assert!(s.partial, "truncated by max-row-limit");
    assert_eq!(s.values.len(), 4);
    assert_eq!(
        d.next_chunk().map(|c| c.expect("valid")),
        Some(Chunk::StatementEnd { statement_id: 0 })
    );
    let out = decode("64");
    assert_eq!(out.lines().count(), 5 + 5 + 5 + 2 + 1);
    assert!(out.ends_with(
        "row s0 cpu host=d #1: time=String(\"2024-01-01T00:02:00Z\") usage=Float(2.5)\nend s0\n"
    ));
}

#[test]
fn capture_68_error_after_rows() {
    let out = decode("68");
    let lines: Vec<&str> = out.lines().collect();
    // Three documents of 500 rows, then three more, the last an error.
    assert_eq!(lines.len(), 5 * 500 + 1, "{}", &out[out.len() - 500..]);
    assert_eq!(
        lines[0],
        "row s0 big #0: time=Time(1704067200000000000) max=Integer(0)"
    );
    assert_eq!(
        lines[1499],
        "row s0 big #1499: time=Time(1704068699000000000) max=Integer(1499)"
    );
    assert_eq!(
        lines[lines.len() - 1],
        "error s0: query-timeout limit exceeded"
    );
    // The series continues across the documents: one metadata for all rows.
    let mut d = Decoder::new(DecodeOptions::new().time_format(TimeFormat::EpochS));
    d.feed(&body("68"));
    let metas: Vec<Arc<SeriesMeta>> = std::iter::from_fn(|| d.next_event())
        .filter_map(|e| match e {
            Ok(Event::Row(r)) => Some(Arc::clone(r.meta())),
            _ => None,
        })
        .collect();
    assert!(metas.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

#[test]
fn capture_69_documents_larger_than_http_chunks() {
    let out = decode("69");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 901);
    for (i, line) in lines[..900].iter().enumerate() {
        let expected = format!(
            "row s0 big #{i}: time=Time({}) v=Integer({i})",
            (1_704_067_200 + i as i64) * 1_000_000_000
        );
        assert_eq!(*line, expected);
    }
    assert_eq!(lines[900], "end s0");
}

fn unit(x: u64) -> f64 {
    (splitmix64(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// Prints a float as Go's JSON encoder does for these magnitudes: shortest
/// round-trip digits, no `.0` on whole values.
fn go_float(buf: &mut ryu::Buffer, f: f64) -> &str {
    let s = buf.format_finite(f);
    s.strip_suffix(".0").unwrap_or(s)
}

#[test]
fn floats_round_trip_bit_exact() {
    let n = 100_000u64;
    let mut expected = Vec::with_capacity(n as usize * 3);
    let mut body = String::from(
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu\",\"columns\":[\"time\",\"usage_user\",\"usage_system\",\"edge\"],\"values\":[",
    );
    let mut buf = ryu::Buffer::new();
    let edges = [
        0.0,
        -0.0,
        1.0,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        0.1,
        1e300,
        123_456_789_012_345_680.0,
        9_007_199_254_740_993.0,
    ];
    for i in 0..n {
        let user = 1.0 + 99.0 * unit(4 * i);
        let system = (splitmix64(4 * i + 1) % 10_000) as f64 / 100.0;
        let edge = edges[(i % edges.len() as u64) as usize] * if i % 3 == 0 { -1.0 } else { 1.0 };
        if i > 0 {
            body.push(',');
        }
        write!(body, "[{i},").unwrap();
        body.push_str(go_float(&mut buf, user));
        body.push(',');
        body.push_str(go_float(&mut buf, system));
        body.push(',');
        body.push_str(go_float(&mut buf, edge));
        body.push(']');
        expected.extend([user, system, edge]);
    }
    body.push_str("]}]}]}\n");
    let mut d = Decoder::default();
    d.feed(body.as_bytes());
    d.finish();
    let mut got = Vec::with_capacity(expected.len());
    while let Some(e) = d.next_event() {
        if let Event::Row(r) = e.expect("valid") {
            got.extend(r.values()[1..].iter().map(|v| v.as_f64().expect("number")));
        }
    }
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.to_bits(), e.to_bits(), "value {i}: {g} != {e}");
    }
}

fn via_rows<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    options: DecodeOptions,
    body: &[u8],
) -> Vec<String> {
    let mut d = Decoder::new(options);
    let mut out = Vec::new();
    let mut pump = |d: &mut Decoder| {
        while let Some(e) = d.next_event() {
            out.push(match e {
                Ok(Event::Row(row)) => match row.into_deserialize::<T>() {
                    Ok(t) => format!("row {t:?}"),
                    Err(e) => format!("err {e}"),
                },
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("err {e}"),
            });
        }
    };
    for part in body.chunks(97) {
        d.feed(part);
        pump(&mut d);
    }
    d.finish();
    pump(&mut d);
    out
}

/// Every kind of cell into every kind of target, by name: RFC 3339 times
/// into integers, whole numbers into floats, strings into enums, nulls
/// into `Option`s; a cell that does not fit is an error and the next row
/// still maps.
#[test]
fn rows_map_onto_serde_types_by_name() {
    use serde::Deserialize;
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum State {
        Ok,
        Bad,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Many {
        time: i64,
        b: Option<bool>,
        f: f32,
        i: i32,
        s: State,
        t: Option<String>,
        u: u64,
        w: i128,
    }
    let series = r#"{"name":"k","columns":["time","b","f","i","s","t","u","w"],"values":[
        ["2020-09-13T12:26:40.5Z",true,1.5,-3,"ok","x",18446744073709551615,-5],
        ["2020-09-13T12:26:41Z",null,2,7,"bad",null,0,12],
        ["2020-09-13T12:26:42Z",false,"x",1.5,"neither",3,-1,2],
        ["not a time",false,1,1,"ok","y",1,1]]}"#
        .replace('\n', "");
    let body = format!("{{\"results\":[{{\"statement_id\":0,\"series\":[{series}]}}]}}\n");
    let out = via_rows::<Many>(
        DecodeOptions::new().time_format(TimeFormat::Rfc3339),
        body.as_bytes(),
    );
    assert_eq!(out.len(), 5, "{out:?}");
    assert!(
        out[0].starts_with(
            "row Many { time: 1600000000500000000, b: Some(true), f: 1.5, i: -3, s: Ok,"
        ),
        "{out:?}"
    );
    assert!(
        out[1].starts_with("row Many { time: 1600000001000000000, b: None, f: 2.0, i: 7, s: Bad, t: None, u: 0, w: 12 }"),
        "{out:?}"
    );
    assert!(
        out[2].starts_with("err row 2 of series `k` (statement 0): column `f`"),
        "{out:?}"
    );
    assert!(out[3].contains("RFC 3339"), "{out:?}");
    assert_eq!(out[4], "Other(StatementEnd { statement_id: 0 })");

    // Tuples take the values in column order; unknown columns are refused
    // when the type says so.
    let out = via_rows::<(i64, Option<bool>)>(DecodeOptions::new(), body.as_bytes());
    assert_eq!(out[1], "row (1600000001000000000, None)", "{out:?}");
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        time: String,
    }
    let out = via_rows::<Strict>(DecodeOptions::new(), body.as_bytes());
    assert!(out[0].contains("unknown field `b`"), "{out:?}");
}

/// Cases of the mutation tests below: `FUZZ_CASES` to run more (or fewer).
fn fuzz_cases() -> u64 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_500)
}

/// The decoder on mutated captures: it never panics, gives the same
/// events however the bytes are split, ends every body it was given, and
/// says where a malformed document went wrong.
#[test]
fn mutated_bodies_decode_the_same_however_split() {
    let bodies: Vec<Vec<u8>> = JSON_BODIES.iter().map(|nn| body(nn)).collect();
    let mut seed = 0x5EED_0F1F_u64;
    let mut errors = 0;
    for case in 0..fuzz_cases() {
        seed = splitmix64(seed ^ case);
        let base = &bodies[(seed % bodies.len() as u64) as usize];
        let bytes = mutate(base, &mut seed);
        let options = DecodeOptions::new().chunked(seed % 2 == 0);
        let whole = decode_parts(options, [&bytes[..]]);
        let k = (splitmix64(seed) % (bytes.len() as u64 + 1)) as usize;
        let (a, b) = bytes.split_at(k);
        assert_eq!(
            decode_parts(options, [a, b]),
            whole,
            "case {case}, split at {k}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        if bytes.len() < 4_096 {
            assert_eq!(
                decode_parts(options, bytes.chunks(7)),
                whole,
                "case {case} in 7-byte parts: {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        for line in whole.lines().filter(|l| l.starts_with("ERR")) {
            errors += 1;
            // A malformed document says where: a line and column, a
            // document number, or what it expected.
            assert!(
                line.contains("line")
                    || line.contains("column")
                    || line.contains("document")
                    || line.contains("expected")
                    || line.contains("partial")
                    || line.contains("invalid"),
                "case {case}: an error that does not say where: {line}"
            );
        }
    }
    assert!(errors > 0, "the mutations never broke a document");
}

/// Arbitrary bytes (no newline, so one endless document) stay within the
/// decoder's memory bound: it refuses the document instead of buffering it.
#[test]
fn an_endless_document_stays_within_the_bound() {
    let limit = 64 * 1024;
    let mut d = Decoder::new(DecodeOptions::new().max_document_bytes(Some(limit)));
    let mut seed = 7u64;
    let mut refused = false;
    for _ in 0..1_000 {
        let piece: Vec<u8> = (0..1_024)
            .map(|_| {
                seed = splitmix64(seed);
                match (seed & 0xff) as u8 {
                    b'\n' => b' ',
                    b => b,
                }
            })
            .collect();
        d.feed(&piece);
        while let Some(item) = d.next_event() {
            refused |= item.is_err();
        }
        assert!(
            d.buffered_len() <= limit + 1_024,
            "buffered {} bytes",
            d.buffered_len()
        );
    }
    assert!(refused, "an over-long document must be an error item");
}

/// The chunks of one document decoded whole.
fn chunks_of(doc: &[u8], time_format: TimeFormat) -> Vec<Result<Chunk, DecodeError>> {
    let mut d = Decoder::new(DecodeOptions::new().time_format(time_format));
    d.feed(doc);
    d.finish();
    std::iter::from_fn(|| d.next_chunk()).collect()
}

fn series_values(doc: &[u8], time_format: TimeFormat) -> Vec<Vec<Value>> {
    match chunks_of(doc, time_format).remove(0) {
        Ok(Chunk::Series(s)) => s.values,
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_keys_are_skipped() {
    let doc = br#"{"results":[{"statement_id":1,"new":{"a":[1,"x",null,{"b":true}]},"series":[{"name":"m","extra":-1.5e3,"columns":["time"],"values":[[1]]}],"messages":[{"level":"w","text":"t","code":7}]}],"also":[]}"#;
    let chunks: Vec<Chunk> = chunks_of(doc, TimeFormat::EpochNs)
        .into_iter()
        .map(|c| c.expect("valid"))
        .collect();
    let Chunk::Series(s) = &chunks[0] else {
        panic!("{chunks:?}")
    };
    assert_eq!(s.meta.statement_id(), 1);
    assert_eq!(s.values, vec![vec![Value::Time(1)]]);
    assert!(chunks.contains(&Chunk::Message {
        statement_id: 1,
        level: "w".into(),
        text: "t".into()
    }));
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
    assert!(chunks_of(deep.as_bytes(), TimeFormat::EpochNs)[0].is_err());
}

#[test]
fn numbers() {
    let doc = br#"{"results":[{"statement_id":3,"series":[{"name":"m","columns":["time","a","b","c","d","e","f","g"],"values":[[5,1,-1,18446744073709551615,1.5,-0,1e+300,9223372036854775808]]}]}]}"#;
    let Ok(Chunk::Series(s)) = chunks_of(doc, TimeFormat::EpochNs).remove(0) else {
        panic!("no series")
    };
    assert_eq!(s.meta.statement_id(), 3);
    assert_eq!(
        s.values,
        vec![vec![
            Value::Time(5),
            Value::Integer(1),
            Value::Integer(-1),
            Value::UInteger(u64::MAX),
            Value::Float(1.5),
            Value::Float(-0.0),
            Value::Float(1e300),
            Value::UInteger(1 << 63),
        ]]
    );
    let Value::Float(z) = s.values[0][5] else {
        panic!()
    };
    assert!(z.is_sign_negative());
}

#[test]
fn columns_after_values() {
    let doc = br#"{"results":[{"series":[{"values":[[7,1]],"columns":["x","time"]}]}]}"#;
    let ragged =
        br#"{"results":[{"series":[{"values":[[7,1],[8],[],[9,2,3]],"columns":["x","time"]}]}]}"#;
    assert_eq!(
        series_values(ragged, TimeFormat::EpochUs),
        vec![
            vec![Value::Integer(7), Value::Time(1_000)],
            vec![Value::Integer(8)],
            vec![],
            vec![Value::Integer(9), Value::Time(2_000), Value::Integer(3)],
        ]
    );
    assert_eq!(
        series_values(doc, TimeFormat::EpochMs),
        vec![vec![Value::Integer(7), Value::Time(1_000_000)]]
    );
}

#[test]
fn time_overflow() {
    let doc = br#"{"results":[{"series":[{"columns":["time"],"values":[[9223372036854775]]}]}]}"#;
    let e = chunks_of(doc, TimeFormat::EpochH).remove(0).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
}

#[test]
fn rejects_nested() {
    let doc = br#"{"results":[{"series":[{"columns":["a"],"values":[[[1]]]}]}]}"#;
    for bad in [&doc[..], b"{} x", b"[]"] {
        let first = chunks_of(bad, TimeFormat::EpochNs).remove(0);
        assert!(first.is_err(), "{first:?}");
    }
}

// ---- documents, edges and limits ----

fn drain(d: &mut Decoder) -> Vec<Result<Event, String>> {
    std::iter::from_fn(|| d.next_event())
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

#[test]
fn tail_without_newline_and_blank_lines() {
    let mut d = Decoder::default();
    d.feed(b"\n \r\n{\"results\":[{\"statement_id\":0}]}\n\n{\"results\":[{\"statement_id\":1}]}");
    assert_eq!(
        drain(&mut d),
        vec![Ok(Event::Other(Chunk::StatementEnd { statement_id: 0 }))]
    );
    assert!(!d.is_done());
    d.finish();
    assert_eq!(
        drain(&mut d),
        vec![Ok(Event::Other(Chunk::StatementEnd { statement_id: 1 }))]
    );
    assert!(d.is_done());
    d.finish();
    assert!(d.next_event().is_none());
}

#[test]
fn a_body_that_ends_while_a_statement_is_partial_is_an_error() {
    let partial = "{\"results\":[{\"statement_id\":3,\"series\":[{\"name\":\"m\",\
        \"columns\":[\"time\",\"v\"],\"values\":[[1,2]],\"partial\":true}],\"partial\":true}]}\n";
    let mut d = Decoder::new(DecodeOptions::new().chunked(true));
    d.feed(partial.as_bytes());
    d.finish();
    let out = drain(&mut d);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(matches!(out[0], Ok(Event::Row(_))), "{out:?}");
    assert!(
        out[1]
            .as_ref()
            .unwrap_err()
            .starts_with("the response ended in the middle of statement 3"),
        "{out:?}"
    );
    assert!(d.next_event().is_none(), "the error comes once");

    // The same statement's end clears it; the chunk reader too.
    let end = "{\"results\":[{\"statement_id\":3,\"series\":[{\"name\":\"m\",\
        \"columns\":[\"time\",\"v\"],\"values\":[[3,4]]}]}]}\n";
    let mut d = Decoder::new(DecodeOptions::new().chunked(true));
    d.feed(partial.as_bytes());
    d.feed(end.as_bytes());
    d.finish();
    let out = drain(&mut d);
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    let mut d = Decoder::new(DecodeOptions::new().chunked(true));
    d.feed(partial.as_bytes());
    d.finish();
    let mut errors = 0;
    while let Some(c) = d.next_chunk() {
        errors += usize::from(c.is_err());
    }
    assert_eq!(errors, 1);

    // Without `chunked`, a partial result at the end is whole: influxd
    // marks a non-chunked answer cut by `max-row-limit` so.
    let mut d = Decoder::default();
    d.feed(partial.as_bytes());
    d.finish();
    assert!(drain(&mut d).iter().all(Result::is_ok));
    // An empty body (a query of no statements) is no error.
    let mut d = Decoder::new(DecodeOptions::new().chunked(true));
    d.feed(b"\n\n");
    d.finish();
    assert_eq!(drain(&mut d), vec![]);
    assert!(d.is_done());
}

#[test]
fn garbage_then_recovery() {
    let mut d = Decoder::default();
    d.feed(b"nonsense\n{\"error\":\"boom\"}\n{\"results\":[{\"statement_id\":");
    d.finish();
    let out = drain(&mut d);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out[0]
        .as_ref()
        .unwrap_err()
        .starts_with("invalid document 1"));
    assert_eq!(
        out[1],
        Ok(Event::Other(Chunk::QueryError {
            message: "boom".into()
        }))
    );
    assert!(
        out[2]
            .as_ref()
            .unwrap_err()
            .starts_with("document 3 cut short"),
        "{out:?}"
    );
}

#[test]
fn size_limit() {
    let mut d = Decoder::new(DecodeOptions::new().max_document_bytes(Some(40)));
    d.feed(b"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":");
    let e = d.next_event().unwrap().unwrap_err();
    assert_eq!(e.to_string(), "document longer than 40 bytes");
    assert_eq!(d.buffered_len(), 0);
    d.feed(b"\"x\"}]}]}\n{\"results\":[{\"statement_id\":7}]}\n");
    assert_eq!(
        drain(&mut d),
        vec![Ok(Event::Other(Chunk::StatementEnd { statement_id: 7 }))]
    );
    d.feed(&[b'x'; 50]);
    d.feed(b"\n");
    let e = d.next_event().unwrap().unwrap_err();
    assert_eq!(e.to_string(), "document longer than 40 bytes");
}

#[test]
fn meta_reuse_and_row_index() {
    let doc = |vals: &str, partial: bool| {
        format!(
            "{{\"results\":[{{\"statement_id\":0,\"series\":[{{\"name\":\"m\",\"tags\":{{\"h\":\"a\"}},\"columns\":[\"time\",\"v\"],\"values\":{vals}{}}}]{}}}]}}\n",
            if partial { ",\"partial\":true" } else { "" },
            if partial { ",\"partial\":true" } else { "" }
        )
    };
    let mut d = Decoder::default();
    d.feed(doc("[[1,1],[2,2]]", true).as_bytes());
    d.feed(doc("[[3,3]]", false).as_bytes());
    d.feed(doc("[[4,4]]", false).as_bytes());
    d.finish();
    let out = drain(&mut d);
    let rows: Vec<&Row> = out
        .iter()
        .filter_map(|e| match e {
            Ok(Event::Row(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 4);
    assert!(rows
        .windows(2)
        .all(|w| Arc::ptr_eq(w[0].meta(), w[1].meta())));
    let idx: Vec<u64> = rows.iter().map(|r| r.index()).collect();
    assert_eq!(idx, [0, 1, 2, 0]);
    assert_eq!(rows[2].time(), Some(3));
    assert_eq!(rows[0].tag("h"), Some("a"));
}

#[test]
fn mixing_rows_and_chunks() {
    let mut d = Decoder::default();
    d.feed(b"{\"results\":[{\"series\":[{\"columns\":[\"a\"],\"values\":[[1],[2],[3]]}]}]}\n");
    let Some(Ok(Event::Row(r))) = d.next_event() else {
        panic!()
    };
    assert_eq!(r.values(), &[Value::Integer(1)]);
    let Some(Ok(Chunk::Series(c))) = d.next_chunk() else {
        panic!()
    };
    assert_eq!(c.first_row, 1);
    assert_eq!(c.values.len(), 2);
    assert_eq!(
        d.next_chunk().unwrap().unwrap(),
        Chunk::StatementEnd { statement_id: 0 }
    );
    assert!(d.next_chunk().is_none());
}

// ---- the scanner against serde_json ----

/// The time format whose `time` column is multiplied by `mult` (`None`:
/// RFC 3339, left as sent).
fn format_of(mult: Option<i64>) -> TimeFormat {
    match mult {
        None => TimeFormat::Rfc3339,
        Some(1) => TimeFormat::EpochNs,
        Some(1_000) => TimeFormat::EpochUs,
        Some(_) => TimeFormat::EpochH,
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Float(f) => format!("f{:x}", f.to_bits()),
        Value::Time(t) => format!("Integer({t})"),
        other => format!("{other:?}"),
    }
}

/// Whenever the decoder reads the document `doc` (one line), serde_json
/// reads it (into a `serde_json::Value`) to the same statements, series
/// and values; returns whether the decoder read it.
#[track_caller]
fn same(doc: &[u8], time_mult: Option<i64>) -> bool {
    // A line break cuts documents, and the decoder passes blank ones over.
    if doc.contains(&b'\n') || doc.iter().all(u8::is_ascii_whitespace) {
        return false;
    }
    let mut d = Decoder::new(DecodeOptions::new().time_format(format_of(time_mult)));
    d.feed(doc);
    d.finish();
    let mut fast = Vec::new();
    while let Some(chunk) = d.next_chunk() {
        let Ok(chunk) = chunk else { return false };
        fast.extend(render_chunk(chunk));
    }
    let text = String::from_utf8_lossy(doc);
    match serde_json::from_slice::<serde_json::Value>(doc) {
        Ok(slow) => assert_eq!(fast, reference(&slow, time_mult), "{text}"),
        Err(e) => panic!("the decoder read what serde_json refuses ({e}): {text}"),
    }
    true
}

fn render_chunk(chunk: Chunk) -> Vec<String> {
    match chunk {
        Chunk::QueryError { message } => vec![format!("error {message:?}")],
        Chunk::StatementError {
            statement_id,
            message,
        } => {
            vec![format!("statement {statement_id} error {message:?}")]
        }
        Chunk::StatementEnd { statement_id } => vec![format!("statement {statement_id} end")],
        Chunk::Message { level, text, .. } => vec![format!("msg {level:?} {text:?}")],
        Chunk::Series(c) => {
            // serde_json's maps keep the last of repeated keys, sorted.
            let tags: BTreeMap<_, _> = c.meta.tags().iter().cloned().collect();
            let mut out = vec![format!(
                "series {:?} {tags:?} {:?} {}",
                c.meta.name(),
                c.meta.columns(),
                c.partial
            )];
            for row in &c.values {
                out.push(row.iter().map(cell).collect::<Vec<_>>().join(","));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// What [`render_chunk`] gives for the document serde_json read as `v`,
/// statements numbered as the decoder numbers them.
fn reference(v: &serde_json::Value, time_mult: Option<i64>) -> Vec<String> {
    use serde_json::Value as J;
    let list = |v: &J| v.as_array().cloned().unwrap_or_default();
    let text = |v: &J| v.as_str().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    if let Some(e) = v["error"].as_str() {
        out.push(format!("error {e:?}"));
    }
    let mut last: Option<u64> = None;
    for r in list(&v["results"]) {
        let mut id = r["statement_id"].as_u64().unwrap_or(0);
        if let Some(l) = last.filter(|&l| r["error"] == "not executed" && id <= l) {
            id = l.saturating_add(1);
        }
        last = Some(id);
        let partial = r["partial"].as_bool().unwrap_or(false);
        for series in list(&r["series"]) {
            let tags: BTreeMap<_, _> = series["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect();
            let columns: Vec<_> = list(&series["columns"]).iter().map(text).collect();
            let time = columns.iter().position(|c| c == "time");
            let name = series["name"].as_str().map(str::to_owned);
            let series_partial = series["partial"].as_bool().unwrap_or(false);
            out.push(format!(
                "series {name:?} {tags:?} {columns:?} {series_partial}"
            ));
            for row in list(&series["values"]) {
                let cells: Vec<String> = list(&row)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        J::Null => "Null".to_owned(),
                        J::Bool(b) => format!("Bool({b})"),
                        J::String(t) => format!("String({t:?})"),
                        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                            (Some(x), _, _) => match time_mult.filter(|_| time == Some(i)) {
                                Some(m) => format!("Integer({})", x * m),
                                None => format!("Integer({x})"),
                            },
                            (None, Some(u), _) => format!("UInteger({u})"),
                            (_, _, f) => format!("f{:x}", f.unwrap_or(f64::NAN).to_bits()),
                        },
                        other => format!("{other}"),
                    })
                    .collect();
                out.push(cells.join(","));
            }
        }
        for m in list(&r["messages"]) {
            out.push(format!(
                "msg {:?} {:?}",
                text(&m["level"]),
                text(&m["text"])
            ));
        }
        if let Some(e) = r["error"].as_str() {
            out.push(format!("statement {id} error {e:?}"));
        } else if !partial {
            out.push(format!("statement {id} end"));
        }
    }
    out
}

fn series_doc(values: &str) -> String {
    format!(
        r#"{{"results":[{{"statement_id":0,"series":[{{"name":"m","columns":["time","v"],"values":[{values}]}}]}}]}}"#
    )
}

/// The decoder on mutated capture documents: whenever it answers,
/// serde_json answers the same; it never panics.
#[test]
fn scanner_agrees_with_serde_on_mutated_captures() {
    let docs: Vec<Vec<u8>> = std::fs::read_dir(CAPTURES)
        .expect("captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("body"))
        .flat_map(|p| {
            let body = std::fs::read(&p).expect("read");
            body.split(|&b| b == b'\n')
                .filter(|l| l.len() > 2 && l.len() < 64 * 1024)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_500);
    let mut seed = 0xC0FFEE_u64;
    let mut answered = 0;
    for case in 0..cases * 4 {
        seed = splitmix64(seed ^ case);
        let base = &docs[(seed % docs.len() as u64) as usize];
        let doc = mutate(base, &mut seed);
        for mult in [None, Some(1)] {
            answered += usize::from(same(&doc, mult));
        }
    }
    assert!(answered > 0);
}

#[test]
fn scanner_agrees_with_serde_on_every_capture() {
    let mut answered = 0;
    for entry in std::fs::read_dir(CAPTURES).expect("captures") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("body") {
            continue;
        }
        let body = std::fs::read(&path).expect("read");
        for line in body.split(|&b| b == b'\n') {
            for mult in [None, Some(1), Some(1000)] {
                answered += usize::from(same(line, mult));
            }
        }
    }
    assert!(answered > 100, "{answered}");
}

#[test]
fn scanned_numbers_agree_with_serde() {
    let numbers = [
        "0", "-0", "1", "-1", "12", "0.5", "-0.0", "1e2", "1E+2", "1e-2", "-1.5e-3", "43.53",
        "94.67028418376582", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
        "9007199254740993", "9007199254740993.0", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "-18446744073709551616",
        "123456789012345678901234567890", "123456789012345678901234567890.5e-3",
        "0.000000000000000000000000000001", "12345678", "123456789012345678",
        "1234567890123456789", "12345678901234567890", "99999999999999999999",
        "-12345678901234567890", "-1234567890123456789", "0.12345678", "1.123456789012345678",
        "1.1234567890123456789", "12345678.12345678e-5", "1600000417000000000", "1e22", "1e23", "9007199254740992e22",
        "9007199254740993e-22", "4.35", "0.1", "0.30000000000000004", "1e-400", "-1e-400",
        "0e999999999999999999999", "1e400", "-1e400", "1e99999999999999999999", "1.",
        "-", "1e", "1e+", ".5", "01", "-01", "1.5.3", "+1", "0x10", "1.e3", "--1", "1ee2",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999999999999999999999999999",
    ];
    for n in numbers {
        same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1));
        same(series_doc(&format!("[{n},1]")).as_bytes(), Some(1000));
    }
    // The common shapes are answered by the scanner itself.
    for n in [
        "0",
        "-0",
        "12",
        "0.5",
        "1e-400",
        "18446744073709551616",
        "94.67028418376582",
    ] {
        assert!(
            same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1)),
            "{n}"
        );
    }
    for n in ["1e400", "1.", "-", "01", "1e", "1e+", ".5"] {
        assert!(
            !same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1)),
            "{n}"
        );
    }
}

#[test]
fn scanned_strings_agree_with_serde() {
    let strings = [
        r#""plain""#,
        r#""""#,
        r#""a\"b""#,
        r#""a\\b""#,
        r#""\/\b\f\n\r\t""#,
        r#""\u00e9\u2603""#,
        r#""\ud83d\ude00""#,
        r#""\uD83D\uDE00x""#,
        r#""\ud83d""#,
        r#""\ude00""#,
        r#""\ud83dx""#,
        r#""\ud83d\u0041""#,
        r#""\x""#,
        r#""\u12""#,
        r#""\u12g4""#,
        "\"tab\there\"",
        "\"värde☃\"",
        r#""unterminated"#,
        r#""a\"#,
        r#""\u0000""#,
    ];
    for s in strings {
        same(series_doc(&format!("[1,{s}]")).as_bytes(), Some(1));
        let doc = format!(
            r#"{{"results":[{{"series":[{{"name":{s},"tags":{{{s}:{s}}},"columns":[{s}]}}]}}]}}"#
        );
        same(doc.as_bytes(), Some(1));
    }
    assert!(same(
        series_doc(r#"[1,"\ud83d\ude00\n"]"#).as_bytes(),
        Some(1)
    ));
    assert!(!same(series_doc(r#"[1,"\ud83d"]"#).as_bytes(), Some(1)));
}

#[test]
fn scanned_shapes_agree_with_serde() {
    let docs = [
        r#"{}"#,
        r#"{"results":null}"#,
        r#"{"results":[]}"#,
        r#"{"results":[{}]}"#,
        r#"{"results":[{"series":null}]}"#,
        r#"{"results":[{"statement_id":-1}]}"#,
        r#"{"results":[{"statement_id":1.0}]}"#,
        r#"{"results":[{"statement_id":null}]}"#,
        r#"{"results":[{"statement_id":18446744073709551615}]}"#,
        r#"{"results":[{"statement_id":2,"messages":null,"partial":null,"error":null}]}"#,
        r#"{"results":[{"messages":[{"level":"warning","text":"x"},{}]}]}"#,
        r#"{"results":[{"messages":[{"level":"a","level":"b"}]}]}"#,
        r#"{"results":[{"series":[{"tags":null,"columns":null,"values":null}]}]}"#,
        r#"{"results":[{"series":[{"tags":{"a":null}}]}]}"#,
        r#"{"results":[{"series":[{"columns":["time",null]}]}]}"#,
        r#"{"results":[{"series":[{"values":[[1]],"columns":["time"]}]}]}"#,
        r#"{"results":[{"series":[{"columns":[],"values":[[1]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["time"],"values":[[9223372036854775807]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["time"],"values":[[1.5],[null],["t"]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[1],[],[1,2]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[[1]]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[{"x":1}]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[true,false,null,tru]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[1,]]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[1],]}]}]}"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[1]}]}]}"#,
        r#"{"results":[{"unknown":1}]}"#,
        r#"{"results":[],"error":"boom"}"#,
        r#"{"error":"boom"} x"#,
        " \t\r\n{ \"results\" : [ { \"series\" : [ { \"columns\" : [ \"a\" ] , \"values\" : [ [ 1 , \"x\" ] ] } ] } ] } \n",
        r#"{"results":[{"series":[{"columns":["a"],"values":[[1]]}]}]"#,
        r#"{"results":[{"series":[{"columns":["a"],"values":[[1]"#,
        r#"[]"#,
        r#""#,
    ];
    for d in docs {
        for mult in [None, Some(1), Some(3_600_000_000_000)] {
            same(d.as_bytes(), mult);
        }
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    same(series_doc(&deep).as_bytes(), Some(1));
    same(
        b"{\"results\":[{\"series\":[{\"name\":\"\xff\"}]}]}",
        Some(1),
    );
}

/// Malformed input is an error (never a panic), with serde_json's
/// message, and decoding goes on with the next document.
#[test]
fn malformed_documents_are_errors() {
    let deep = series_doc(&format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    let mut bad: Vec<Vec<u8>> = vec![
        series_doc("[1,2.").into_bytes(),
        series_doc("[1,2.]").into_bytes(),
        series_doc("[1,-]").into_bytes(),
        series_doc("[1,1e]").into_bytes(),
        series_doc("[1,1e400]").into_bytes(),
        series_doc("[1,-1e99999999999999999999]").into_bytes(),
        series_doc(r#"[1,"\q"]"#).into_bytes(),
        series_doc(r#"[1,"\u12"]"#).into_bytes(),
        series_doc(r#"[1,"\ud800"]"#).into_bytes(),
        series_doc("[1,\"a\u{1}\"]").into_bytes(),
        deep.into_bytes(),
        b"{\"results\":[{\"series\":[{\"name\":\"\xc3\x28\"}]}]}".to_vec(),
        b"\xff\xfe".to_vec(),
    ];
    for doc in &mut bad {
        doc.push(b'\n');
        let mut d = Decoder::default();
        d.feed(doc);
        d.feed(b"{\"results\":[{\"statement_id\":5}]}\n");
        d.finish();
        let first = d.next_event().expect("an event");
        let e = first.expect_err("an error");
        assert!(e.to_string().starts_with("invalid document 1"), "{e}");
        assert!(matches!(
            d.next_event(),
            Some(Ok(Event::Other(Chunk::StatementEnd { statement_id: 5 })))
        ));
        assert!(d.next_event().is_none());
    }
    // Cut short at the end of the body: an EOF error.
    let mut d = Decoder::default();
    d.feed(series_doc("[1,2").as_bytes().split_at(60).0);
    d.finish();
    let e = d.next_event().expect("an event").expect_err("an error");
    assert!(e.to_string().contains("cut short"), "{e}");
}
