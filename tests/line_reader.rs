//! The line-protocol reader: what the encoder writes reads back as the
//! same point, and on random and mutated lines it refuses exactly what
//! influxd refuses. Raw text with a bad line is refused by the client
//! before anything is sent.

mod support;

use influx_stream::{parse_lines, Client, EncodeOptions, FieldValue, LineWriter, Point};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = splitmix64(self.0);
        (self.0 % n.max(1) as u64) as usize
    }

    fn name(&mut self) -> String {
        const PARTS: [&str; 14] = [
            "a", "b", "host", " ", ",", "=", "\"", "\\", "é", "\t", "#", "0", "_", "ü",
        ];
        (0..1 + self.below(5))
            .map(|_| PARTS[self.below(PARTS.len())])
            .collect()
    }

    /// One of the first `kinds` kinds of value (4: no unsigned, which
    /// InfluxDB 1.x before 1.8 refuses).
    fn value_of(&mut self, kinds: usize) -> FieldValue {
        match self.below(kinds) {
            0 => FieldValue::Float(f64::from_bits(splitmix64(self.0) >> 2) % 1e12 - 5e11),
            1 => FieldValue::Integer(splitmix64(self.0) as i64),
            2 => FieldValue::Boolean(self.below(2) == 0),
            3 => FieldValue::String(self.name() + "\n\"\\ end"),
            _ => FieldValue::UInteger(splitmix64(self.0)),
        }
    }

    fn point(&mut self) -> Point {
        self.point_of(5)
    }

    fn point_of(&mut self, kinds: usize) -> Point {
        let mut p = Point::new(self.name());
        for _ in 0..self.below(3) {
            p = p.tag(self.name(), self.name());
        }
        for _ in 0..1 + self.below(3) {
            p = p.field(self.name(), self.value_of(kinds));
        }
        if self.below(4) > 0 {
            p = p.timestamp(splitmix64(self.0) as i64 >> 2);
        }
        p
    }
}

/// `parse(encode(p)) == p` for random points with every special character
/// the encoder accepts.
#[test]
fn what_the_encoder_writes_reads_back_the_same() {
    let mut rng = Rng(42);
    let mut checked = 0;
    for _ in 0..20_000 {
        let p = rng.point();
        let mut line = Vec::new();
        if LineWriter::new(&mut line, EncodeOptions::default())
            .write(&p)
            .is_err()
        {
            continue; // refused: tested in tests/escaping.rs
        }
        let text = String::from_utf8(line).expect("UTF-8");
        let parsed: Vec<_> = parse_lines(&text).collect();
        assert_eq!(parsed.len(), 1, "{text:?}");
        let back = match &parsed[0] {
            Ok(q) => q.to_point(1),
            Err(e) => panic!("{text:?} does not read back: {e}"),
        };
        assert_eq!(back.measurement(), p.measurement(), "{text:?}");
        let mut want: Vec<_> = p.tags().collect();
        let mut got: Vec<_> = back.tags().collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{text:?}");
        let want: Vec<_> = p.fields().collect();
        let got: Vec<_> = back.fields().collect();
        assert_eq!(got, want, "{text:?}");
        assert_eq!(back.time(), p.time(), "{text:?}");
        checked += 1;
    }
    assert!(checked > 5_000, "{checked}");
}

/// Bytes that change how a line reads, for mutations.
const SPECIAL: &[u8] = b" ,=\"\\\t#0-.eitTfF\r\n9";

fn mutate(line: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = line.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if at < out.len() => out[at] = SPECIAL[rng.below(SPECIAL.len())],
            1 => out.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
            2 if at < out.len() => {
                out.remove(at);
            }
            _ => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                let piece = out[at.min(end)..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, piece);
            }
        }
    }
    out
}

/// On random and mutated lines, the reader refuses exactly what influxd
/// refuses (each line alone, in a database of its own, so that no line's
/// field types meet another's).
#[tokio::test]
async fn refuses_what_influxd_refuses() -> TestResult {
    let server = Influxd::shared();
    let admin = Client::builder(server.url()).build()?;
    let cases: usize = std::env::var("READER_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut rng = Rng(7);
    let mut disagreements = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..cases {
        let mut line = Vec::new();
        let p = rng.point_of(4);
        if LineWriter::new(&mut line, EncodeOptions::default())
            .write(&p)
            .is_err()
        {
            line = b"cpu,host=a usage=0.5,count=3i,ok=true,s=\"x\" 1700000000000000000\n".to_vec();
        }
        let text = mutate(line.trim_ascii_end(), &mut rng);
        let Ok(text) = String::from_utf8(text) else {
            continue;
        };
        let reader_ok = parse_lines(&text).all(|r| r.is_ok());
        let db = unique_db("reader");
        admin.create_database(&db).await?;
        // Around the client, whose own checks would stop some lines.
        let server_result = server.raw_write(&db, &text);
        admin.drop_database(&db).await?;
        let server_ok = match &server_result {
            Ok(()) => true,
            Err(e) if e.contains("HTTP 400") => false,
            Err(e) => return Err(format!("case {case}: {e}").into()),
        };
        if reader_ok != server_ok {
            let why = server_result.err().unwrap_or_default();
            let reader = parse_lines(&text)
                .find_map(Result::err)
                .map(|e| e.to_string())
                .unwrap_or_default();
            disagreements.push(format!(
                "{text:?}: influxd {} ({why}), reader {} ({reader})",
                if server_ok { "stores it" } else { "refuses it" },
                if reader_ok {
                    "accepts it"
                } else {
                    "refuses it"
                },
            ));
        }
        if server_ok {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    println!("{cases} lines: influxd stored {accepted}, refused {refused}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_raw_line_is_refused_before_sending() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("raw_check");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    let err = client
        .write("m v=1 1\nm v= 2\nm v=3 3\n")
        .await
        .expect_err("line 2 is bad");
    assert!(err.is_encode(), "{err}");
    assert!(
        err.to_string()
            .contains("line 2, column 5: missing field value"),
        "{err}"
    );
    let json = client.query_json("SELECT count(v) FROM m").await?;
    assert!(
        json["results"][0]["series"].is_null(),
        "nothing was sent: {json}"
    );

    // The writer too: the batch never holds the bad text.
    let mut writer = client.writer(Default::default())?;
    let err = writer.push("m v=\"open").expect_err("unbalanced");
    assert!(err.to_string().contains("unbalanced quotes"), "{err}");
    writer.push("m v=4 4")?;
    writer.close().await?;
    let json = client.query_json("SELECT count(v) FROM m").await?;
    assert_eq!(json["results"][0]["series"][0]["values"][0][1], 1);
    Ok(())
}
