//! Exact or refused, proven against influxd: every string of up to three
//! characters over the characters line protocol treats specially, in every
//! position of a point, is either stored by the server exactly as given or
//! refused by the encoder before sending; and every string the encoder
//! refuses (but those with a newline, which no line can carry) is one the
//! server gets wrong when sent with the plain escaping rules, so nothing
//! valid is refused. Prints the counts per position.

mod support;

use std::collections::HashMap;

use futures::TryStreamExt;
use influx_stream::{Client, Error, LineWriter, Point, Query};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Backslash, the delimiters, the quote, the comment sign, whitespace and
/// control characters the parser looks at, a letter, a multi-byte letter.
const ALPHABET: [char; 12] = [
    '\\', ' ', ',', '=', '"', '#', '\t', '\r', '\n', 'a', 'é', '\0',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Measurement,
    TagKey,
    TagValue,
    FieldKey,
    StringValue,
}

const POSITIONS: [Position; 5] = [
    Position::Measurement,
    Position::TagKey,
    Position::TagValue,
    Position::FieldKey,
    Position::StringValue,
];

fn strings() -> Vec<String> {
    let mut out = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..3 {
        let next: Vec<String> = last
            .iter()
            .flat_map(|s| ALPHABET.iter().map(move |c| format!("{s}{c}")))
            .collect();
        out.extend(next.iter().cloned());
        last = next;
    }
    out
}

/// The point that puts `s` at `position`; `i` (a field and the timestamp)
/// tells the cases apart when reading back.
fn point(position: Position, s: &str, i: i64) -> Point {
    let p = match position {
        Position::Measurement => Point::new(s).field("i", i),
        // A measurement per case: one tag or field key each, listed by
        // SHOW TAG KEYS / SHOW FIELD KEYS under the case's number.
        Position::TagKey => Point::new(format!("m{i}")).tag(s, "v").field("i", i),
        Position::TagValue => Point::new("m").tag("k", s).field("i", i),
        Position::FieldKey => Point::new(format!("m{i}")).field(s, i),
        Position::StringValue => Point::new("m").field("v", s).field("i", i),
    };
    p.timestamp(i)
}

/// `s` with only the escaping rules applied: a backslash before the
/// delimiters of its position (and before `"` in field keys), nothing
/// refused.
fn plain_line(position: Position, s: &str, i: i64) -> String {
    let esc = |s: &str, special: &[char]| {
        let mut out = String::new();
        for c in s.chars() {
            if special.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let key = [',', '=', ' '];
    match position {
        Position::Measurement => format!("{} i={i}i {i}", esc(s, &[',', ' '])),
        Position::TagKey => format!("m{i},{}=v i={i}i {i}", esc(s, &key)),
        Position::TagValue => format!("m,k={} i={i}i {i}", esc(s, &key)),
        Position::FieldKey => format!("m{i} {}={i}i {i}", esc(s, &[',', '=', ' ', '"'])),
        Position::StringValue => format!("m v=\"{}\",i={i}i {i}", esc(s, &['"', '\\'])),
    }
}

/// What the server holds: (the string at `position`, the case number).
async fn stored(client: &Client, position: Position) -> Result<Vec<(String, i64)>, Error> {
    let q = match position {
        Position::Measurement => "SELECT i FROM /.*/",
        Position::TagKey => "SHOW TAG KEYS",
        Position::TagValue => "SELECT i FROM m GROUP BY k",
        Position::FieldKey => "SHOW FIELD KEYS",
        Position::StringValue => "SELECT v, i FROM m",
    };
    let mut rows = client.query(Query::new(q).chunk_size(5_000));
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let int = |name: &str| row.get(name).and_then(|v| v.as_i64());
        let text = |name: &str| row.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        // The case number of a per-case measurement `m<i>`.
        let case = || {
            row.series_name()
                .and_then(|n| n.strip_prefix('m')?.parse().ok())
        };
        let found = match position {
            Position::Measurement => row.series_name().map(str::to_owned).zip(int("i")),
            Position::TagKey => text("tagKey").zip(case()),
            Position::TagValue => row.tag("k").map(str::to_owned).zip(int("i")),
            Position::FieldKey => text("fieldKey").zip(case()),
            Position::StringValue => text("v").zip(int("i")),
        };
        out.extend(found);
    }
    Ok(out)
}

#[tokio::test]
async fn every_name_is_stored_exactly_or_refused() -> TestResult {
    let server = Influxd::shared();
    let cases = strings();
    let mut report = Vec::new();
    // Strings refused although the server stores them exactly.
    let mut needless = Vec::new();
    for position in POSITIONS {
        // The encoder's verdict on every string.
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut points = Vec::new();
        for (i, s) in cases.iter().enumerate() {
            let p = point(position, s, i as i64);
            let mut scratch = Vec::new();
            match LineWriter::new(&mut scratch, Default::default()).write(&p) {
                Ok(()) => {
                    accepted.push(i);
                    points.push(p);
                }
                Err(e) => {
                    assert!(e.is_encode(), "{e}");
                    refused.push(i);
                }
            }
        }

        // Accepted: sent in one request, every one stored exactly.
        let db = unique_db("exact");
        let client = Client::builder(server.url()).database(&db).build()?;
        client.create_database(&db).await?;
        client.write(&points[..]).await?;
        let held: HashMap<i64, Vec<String>> =
            stored(&client, position)
                .await?
                .into_iter()
                .fold(HashMap::new(), |mut m, (s, i)| {
                    m.entry(i).or_default().push(s);
                    m
                });
        for &i in &accepted {
            let want = &cases[i];
            assert_eq!(
                held.get(&(i as i64)).map(Vec::as_slice),
                Some(std::slice::from_ref(want)),
                "{position:?}: {want:?} was accepted but not stored exactly"
            );
        }
        assert_eq!(
            held.len(),
            accepted.len(),
            "{position:?}: points the encoder did not write"
        );

        // Refused: sent with the plain rules, the server gets each wrong.
        let sendable: Vec<usize> = refused
            .iter()
            .copied()
            .filter(|&i| !cases[i].contains('\n'))
            .collect();
        let db = unique_db("refused");
        let plain = Client::builder(server.url()).database(&db).build()?;
        plain.create_database(&db).await?;
        let text: String = sendable
            .iter()
            .map(|&i| plain_line(position, &cases[i], i as i64) + "\n")
            .collect();
        // Sent around the client, whose raw-text checks would stop some of
        // it; a partial write (400) is expected: the server refuses some.
        let _ = server.raw_write(&db, &text);
        let held = stored(&plain, position).await?;
        for &i in &sendable {
            if held.iter().any(|(s, n)| *n == i as i64 && *s == cases[i]) {
                needless.push(format!("{position:?} {:?}", cases[i]));
            }
        }
        report.push(format!(
            "{position:?}: {} strings, {} stored exactly, {} refused ({} with a newline, {} the server gets wrong)",
            cases.len(),
            accepted.len(),
            refused.len(),
            refused.len() - sendable.len(),
            sendable.len()
        ));
    }
    println!("{}", report.join("\n"));
    assert!(
        needless.is_empty(),
        "refused, yet influxd stores them exactly with the plain rules:\n{}",
        needless.join("\n")
    );
    Ok(())
}
