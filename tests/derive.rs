//! `#[derive(LineProtocol)]`: the exact lines it writes, then a round trip
//! through the batching writer and `query_as` against a real influxd.
//! Compile errors are in `derive_ui.rs`.
#![cfg(feature = "derive")]

mod support;

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{
    Client, EncodeOptions, Error, FieldValue, LineProtocol, LineWriter, Precision, Query,
    Timestamp, ToLineProtocol, WriteOptions,
};
use serde::Deserialize;
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn line<T: ToLineProtocol + ?Sized>(value: &T) -> Result<String, Error> {
    line_with(value, EncodeOptions::default())
}

fn line_with<T: ToLineProtocol + ?Sized>(value: &T, opts: EncodeOptions) -> Result<String, Error> {
    let mut buf = Vec::new();
    LineWriter::new(&mut buf, opts).write(value)?;
    Ok(String::from_utf8(buf).expect("line protocol is UTF-8"))
}

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct Cpu {
    #[influx(tag)]
    host: String,
    usage: f64,
    requests: i64,
    #[influx(time)]
    ts: i64,
}

#[test]
fn the_issue_example() -> Result<(), Error> {
    let cpu = Cpu {
        host: "server01".into(),
        usage: 0.64,
        requests: 12,
        ts: 1_434_055_562_000_000_000,
    };
    assert_eq!(
        line(&cpu)?,
        "cpu,host=server01 usage=0.64,requests=12i 1434055562000000000\n"
    );
    Ok(())
}

#[derive(LineProtocol)]
#[influx(measurement = "my meas,urement")]
struct Escaped<'a> {
    #[influx(tag, rename = "tag key,=")]
    tag: &'a str,
    #[influx(rename = "field key")]
    text: &'a str,
}

#[test]
fn escaping_is_the_encoders() -> Result<(), Error> {
    let e = Escaped {
        tag: "a b,c=d",
        text: "say \"hi\"\\\nbye",
    };
    assert_eq!(
        line(&e)?,
        "my\\ meas\\,urement,tag\\ key\\,\\==a\\ b\\,c\\=d field\\ key=\"say \\\"hi\\\"\\\\\nbye\"\n"
    );
    Ok(())
}

#[derive(LineProtocol, Default)]
#[influx(measurement = "opt")]
struct Optional {
    #[influx(tag)]
    zone: Option<String>,
    #[influx(tag)]
    rack: Option<&'static str>,
    a: Option<f64>,
    b: Option<i64>,
    c: Option<String>,
    d: Option<bool>,
    #[influx(time)]
    time: Option<i64>,
}

#[test]
fn none_leaves_out_tags_fields_and_time() -> Result<(), Error> {
    let some = Optional {
        zone: Some("z1".into()),
        rack: Some("r 2"),
        a: Some(1.5),
        b: Some(-2),
        c: Some("x".into()),
        d: Some(true),
        time: Some(7),
    };
    assert_eq!(
        line(&some)?,
        "opt,rack=r\\ 2,zone=z1 a=1.5,b=-2i,c=\"x\",d=true 7\n"
    );
    let sparse = Optional {
        b: Some(3),
        ..Optional::default()
    };
    assert_eq!(line(&sparse)?, "opt b=3i\n");
    Ok(())
}

#[test]
fn all_fields_none_is_an_error_naming_the_measurement() {
    let mut buf = b"kept\n".to_vec();
    let none = Optional {
        zone: Some("z1".into()),
        ..Optional::default()
    };
    let err = LineWriter::new(&mut buf, EncodeOptions::default())
        .write(&none)
        .expect_err("no fields");
    assert!(err.is_encode(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("\"opt\"") && msg.contains("no fields"),
        "{msg}"
    );
    assert_eq!(buf, b"kept\n", "nothing of the failed point stays");
}

#[derive(LineProtocol)]
#[influx(measurement = "m")]
struct RenameSkipOrder {
    #[influx(tag)]
    zeta: &'static str,
    #[influx(skip)]
    _cache: Vec<u8>,
    #[influx(rename = "value")]
    v: i32,
    #[influx(tag, rename = "alpha")]
    a: &'static str,
    #[influx(skip)]
    _not_writable: std::collections::HashMap<String, String>,
    #[influx(field)]
    last: bool,
    #[influx(tag)]
    r#type: &'static str,
}

#[test]
fn rename_skip_raw_names_and_tags_in_key_order() -> Result<(), Error> {
    let r = RenameSkipOrder {
        zeta: "z",
        _cache: vec![1, 2],
        v: -1,
        a: "a",
        _not_writable: Default::default(),
        last: false,
        r#type: "t",
    };
    assert_eq!(line(&r)?, "m,alpha=a,type=t,zeta=z value=-1i,last=false\n");
    Ok(())
}

#[derive(LineProtocol)]
#[influx(measurement = "types")]
struct EveryFieldType<'a> {
    f32: f32,
    f64: f64,
    i8: i8,
    i16: i16,
    i32: i32,
    i64: i64,
    isize: isize,
    u8: u8,
    u16: u16,
    u32: u32,
    u64: u64,
    usize: usize,
    bool: bool,
    string: String,
    str: &'a str,
    cow: Cow<'a, str>,
    boxed: Box<str>,
    value: FieldValue,
    maybe_u64: Option<u64>,
}

#[test]
fn every_field_type() -> Result<(), Error> {
    let t = EveryFieldType {
        f32: 0.1,
        f64: 12.0,
        i8: i8::MIN,
        i16: i16::MIN,
        i32: i32::MIN,
        i64: i64::MIN,
        isize: -1,
        u8: u8::MAX,
        u16: u16::MAX,
        u32: u32::MAX,
        u64: u64::MAX,
        usize: 5,
        bool: true,
        string: "s".into(),
        str: "t",
        cow: Cow::Borrowed("u"),
        boxed: "v".into(),
        value: FieldValue::Integer(9),
        maybe_u64: Some(1),
    };
    assert_eq!(
        line(&t)?,
        "types f32=0.10000000149011612,f64=12.0,i8=-128i,i16=-32768i,i32=-2147483648i,\
         i64=-9223372036854775808i,isize=-1i,u8=255i,u16=65535i,u32=4294967295i,\
         u64=18446744073709551615u,usize=5u,bool=true,string=\"s\",str=\"t\",cow=\"u\",\
         boxed=\"v\",value=9i,maybe_u64=1u\n"
    );
    // Unsigned as integers: small ones fit, u64::MAX is refused.
    let mut opts = EncodeOptions::default();
    opts.unsigned_as_integer = true;
    let err = line_with(&t, opts).expect_err("u64::MAX as an integer");
    assert!(err.to_string().contains("\"u64\""), "{err}");
    let t = EveryFieldType { u64: 7, ..t };
    assert!(line_with(&t, opts)?.contains(",u64=7i,usize=5i,"));
    // NaN is refused, as by hand.
    let t = EveryFieldType { f64: f64::NAN, ..t };
    assert!(line(&t).is_err());
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Tier {
    Gold,
    Bronze,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Gold => "gold tier",
            Tier::Bronze => "",
        })
    }
}

#[derive(LineProtocol)]
#[influx(measurement = "net")]
struct DisplayTags {
    #[influx(tag)]
    addr: Ipv4Addr,
    #[influx(tag)]
    port: u16,
    #[influx(tag)]
    tier: Tier,
    #[influx(tag)]
    zone: Option<u8>,
    #[influx(tag)]
    cow: Cow<'static, str>,
    bytes: u64,
}

#[test]
fn display_tags() -> Result<(), Error> {
    let d = DisplayTags {
        addr: Ipv4Addr::new(10, 0, 0, 1),
        port: 8086,
        tier: Tier::Gold,
        zone: Some(3),
        cow: Cow::Owned("c".into()),
        bytes: 1,
    };
    assert_eq!(
        line(&d)?,
        "net,addr=10.0.0.1,cow=c,port=8086,tier=gold\\ tier,zone=3 bytes=1u\n"
    );
    // An empty Display result and None both leave the tag out.
    let d = DisplayTags {
        tier: Tier::Bronze,
        zone: None,
        ..d
    };
    assert_eq!(line(&d)?, "net,addr=10.0.0.1,cow=c,port=8086 bytes=1u\n");
    Ok(())
}

#[derive(LineProtocol)]
#[influx(measurement = "t")]
struct WithSystemTime {
    v: i64,
    #[influx(time)]
    at: SystemTime,
}

#[derive(LineProtocol)]
#[influx(measurement = "t")]
struct WithTimestamp {
    v: i64,
    #[influx(time)]
    at: Option<Timestamp>,
}

#[derive(LineProtocol)]
#[influx(measurement = "t")]
struct NoTime {
    v: i64,
}

#[test]
fn time_types_and_precision() -> Result<(), Error> {
    let at = UNIX_EPOCH + Duration::from_nanos(1_600_000_000_123_456_789);
    assert_eq!(
        line(&WithSystemTime { v: 1, at })?,
        "t v=1i 1600000000123456789\n"
    );
    let mut secs = EncodeOptions::default();
    secs.precision = Precision::Seconds;
    assert_eq!(
        line_with(&WithSystemTime { v: 1, at }, secs)?,
        "t v=1i 1600000000\n"
    );
    let before = UNIX_EPOCH - Duration::from_nanos(5);
    assert_eq!(line(&WithSystemTime { v: 1, at: before })?, "t v=1i -5\n");
    assert_eq!(
        line(&WithTimestamp {
            v: 2,
            at: Some(Timestamp(3))
        })?,
        "t v=2i 3\n"
    );
    assert_eq!(line(&WithTimestamp { v: 2, at: None })?, "t v=2i\n");
    assert_eq!(line(&NoTime { v: 4 })?, "t v=4i\n");
    Ok(())
}

/// Records that carry their own measurement, in a generic struct.
#[derive(LineProtocol)]
struct Event<'a, V> {
    #[influx(measurement)]
    kind: &'a str,
    #[influx(tag)]
    source: String,
    value: V,
}

#[derive(LineProtocol)]
struct Owned {
    #[influx(measurement)]
    name: String,
    n: u8,
}

#[test]
fn measurement_members_and_generics() -> Result<(), Error> {
    let events = vec![
        Event {
            kind: "login",
            source: "web".into(),
            value: 1i64,
        },
        Event {
            kind: "log out",
            source: "app".into(),
            value: 2i64,
        },
    ];
    assert_eq!(
        line(&events)?,
        "login,source=web value=1i\nlog\\ out,source=app value=2i\n"
    );
    let e = Event {
        kind: "ratio",
        source: String::new(),
        value: Some(0.5),
    };
    assert_eq!(line(&e)?, "ratio value=0.5\n");
    assert_eq!(
        line(&Owned {
            name: "o".into(),
            n: 3
        })?,
        "o n=3i\n"
    );
    let err = line(&Owned {
        name: String::new(),
        n: 3,
    })
    .expect_err("empty measurement");
    assert!(
        err.to_string().contains("measurement name is empty"),
        "{err}"
    );
    Ok(())
}

// ---- against a real influxd ----

fn server() -> &'static Influxd {
    Influxd::shared()
}

async fn fresh_db(prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(server().url()).database(&db).build()?;
    client.create_database(&db).await?;
    Ok(client)
}

#[derive(Debug, Clone, PartialEq, LineProtocol, Deserialize)]
#[influx(measurement = "reading")]
struct Reading {
    #[influx(time)]
    time: i64,
    #[influx(tag)]
    room: String,
    #[influx(tag)]
    floor: Option<String>,
    celsius: f64,
    humidity: Option<f64>,
    #[influx(rename = "req")]
    #[serde(rename = "req")]
    requests: u32,
    ok: bool,
    note: Option<String>,
}

fn reading(i: i64) -> Reading {
    Reading {
        time: 1_600_000_000_000_000_000 + i * 1_000_000_007,
        room: ["hall", "attic, west", "cellar=1"][i as usize % 3].into(),
        floor: (i % 4 != 0).then(|| format!("floor {}", i % 4)),
        celsius: -10.0 + i as f64 * 0.37 + 1.0 / 3.0,
        humidity: (i % 5 != 0).then_some(i as f64 / 100.0),
        requests: (i as u32).wrapping_mul(2_654_435_761),
        ok: i % 2 == 0,
        note: (i % 7 == 0).then(|| format!("note \"{i}\"\nsecond line \\")),
    }
}

#[tokio::test]
async fn round_trip_through_the_writer_and_query_as() -> TestResult {
    let client = fresh_db("derive").await?;
    let want: Vec<Reading> = (0..500).map(reading).collect();

    let writer = client.writer(WriteOptions::new().max_points(128))?;
    stream::iter(want.clone())
        .map(Ok::<_, Error>)
        .forward(writer)
        .await?;

    let got: Vec<Reading> = client
        .query_as::<Reading>(Query::new("SELECT * FROM reading").chunk_size(100))
        .try_collect()
        .await?;
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
        assert_eq!(g.celsius.to_bits(), w.celsius.to_bits());
    }
    Ok(())
}

/// A struct a `macro_rules!` macro declares, with the derive given by the
/// caller: the member types carry the macro's hygiene, the derive the
/// caller's. The generated code must not mix them up in its own locals.
macro_rules! declare {
    ($(#[$attr:meta])* $name:ident, $value:ty) => {
        $(#[$attr])*
        struct $name {
            #[influx(tag)]
            host: String,
            #[influx(tag)]
            zone: Option<u8>,
            #[influx(measurement)]
            kind: &'static str,
            value: $value,
            text: Option<String>,
            #[influx(time)]
            time: Option<i64>,
        }
    };
}

declare!(
    #[derive(LineProtocol)]
    FromMacro,
    f64
);

#[test]
fn structs_declared_by_macro_rules() -> Result<(), Error> {
    let m = FromMacro {
        host: "h".into(),
        zone: Some(1),
        kind: "from_macro",
        value: 1.5,
        text: None,
        time: Some(2),
    };
    assert_eq!(line(&m)?, "from_macro,host=h,zone=1 value=1.5 2\n");
    Ok(())
}

#[cfg(all(feature = "chrono", feature = "time"))]
#[tokio::test]
async fn chrono_and_time_members_round_trip() -> Result<(), Box<dyn std::error::Error>> {
    use chrono::{TimeZone, Utc};

    #[derive(LineProtocol)]
    #[influx(measurement = "dates")]
    struct WithChrono {
        #[influx(tag)]
        kind: &'static str,
        v: i64,
        #[influx(time)]
        at: chrono::DateTime<Utc>,
    }

    #[derive(LineProtocol)]
    #[influx(measurement = "dates")]
    struct WithTime {
        #[influx(tag)]
        kind: &'static str,
        v: i64,
        #[influx(time)]
        at: time::OffsetDateTime,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Back {
        time: i64,
        kind: String,
        v: i64,
    }

    let db = unique_db("dates");
    let client = Client::builder(server().url()).database(&db).build()?;
    client.create_database(&db).await?;
    let ns = 1_257_894_000_123_456_789i64;
    let chrono_at = Utc.timestamp_nanos(ns);
    let time_at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns + 1))?;
    client
        .write(WithChrono {
            kind: "chrono",
            v: 1,
            at: chrono_at,
        })
        .await?;
    client
        .write(WithTime {
            kind: "time",
            v: 2,
            at: time_at,
        })
        .await?;
    // Points take them too.
    client
        .write(
            influx_stream::Point::new("dates")
                .tag("kind", "point")
                .field("v", 3i64)
                .timestamp(Utc.timestamp_nanos(ns + 2)),
        )
        .await?;
    let back: Vec<Back> = client
        .query_as("SELECT v, kind FROM dates")
        .try_collect()
        .await?;
    assert_eq!(
        back,
        [
            Back {
                time: ns,
                kind: "chrono".into(),
                v: 1
            },
            Back {
                time: ns + 1,
                kind: "time".into(),
                v: 2
            },
            Back {
                time: ns + 2,
                kind: "point".into(),
                v: 3
            },
        ]
    );
    Ok(())
}
