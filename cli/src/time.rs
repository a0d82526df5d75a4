//! Times in and out: RFC 3339 for people, epoch numbers for machines, and
//! strftime patterns for the CSV files people actually have.

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

/// How a time column is written in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2024-01-01T00:00:00Z`, with any fraction and offset.
    Rfc3339,
    /// An integer count of this many nanoseconds per unit since the epoch.
    Epoch(i64),
    /// A chrono strftime pattern; without an offset (`%z`) it is UTC.
    Pattern(String),
}

impl FromStr for TimeFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "rfc3339" => TimeFormat::Rfc3339,
            "ns" => TimeFormat::Epoch(1),
            "us" => TimeFormat::Epoch(1_000),
            "ms" => TimeFormat::Epoch(1_000_000),
            "s" => TimeFormat::Epoch(1_000_000_000),
            p if p.contains('%') => TimeFormat::Pattern(p.to_owned()),
            other => {
                return Err(format!(
                "{other:?} is not a time format: use rfc3339, ns, us, ms, s or a strftime pattern such as '%Y-%m-%d %H:%M:%S'"
            ))
            }
        })
    }
}

impl TimeFormat {
    /// Nanoseconds since the epoch of `text`, or why not.
    pub fn parse(&self, text: &str) -> Result<i64, String> {
        let text = text.trim();
        match self {
            TimeFormat::Rfc3339 => influx_stream::Timestamp::parse_rfc3339(text)
                .map(|t| t.as_nanos())
                .map_err(|_| format!("{text:?} is not an RFC 3339 time")),
            TimeFormat::Epoch(unit) => {
                let n: i64 = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not an integer time"))?;
                n.checked_mul(*unit)
                    .ok_or_else(|| format!("{text} is out of range for nanosecond times"))
            }
            TimeFormat::Pattern(p) => {
                let nanos = |dt: DateTime<Utc>| {
                    dt.timestamp_nanos_opt()
                        .ok_or_else(|| format!("{text:?} is out of range for nanosecond times"))
                };
                if let Ok(dt) = DateTime::parse_from_str(text, p) {
                    return nanos(dt.with_timezone(&Utc));
                }
                NaiveDateTime::parse_from_str(text, p)
                    .map_err(|e| format!("{text:?} does not match the time format {p:?}: {e}"))
                    .and_then(|dt| nanos(dt.and_utc()))
            }
        }
    }
}

/// `ns` as RFC 3339 in UTC with only the digits the fraction needs, as
/// InfluxDB prints times (`2024-01-01T00:00:04.5Z`).
pub fn rfc3339(ns: i64) -> String {
    let mut out = Vec::with_capacity(32);
    // Writing into a Vec cannot fail.
    let _ = write_rfc3339(&mut out, ns);
    String::from_utf8(out).unwrap_or_default()
}

/// [`rfc3339`] straight into a writer, without allocating: query output
/// prints one per row.
pub fn write_rfc3339(out: &mut impl std::io::Write, ns: i64) -> std::io::Result<()> {
    let dt = DateTime::<Utc>::from_timestamp_nanos(ns);
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )?;
    let mut frac = dt.nanosecond() % 1_000_000_000;
    if frac > 0 {
        let mut digits = 9;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        write!(out, ".{frac:0digits$}")?;
    }
    out.write_all(b"Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_what_they_say() -> Result<(), String> {
        let rfc: TimeFormat = "rfc3339".parse()?;
        assert_eq!(rfc.parse("1970-01-01T00:00:01.5Z")?, 1_500_000_000);
        let ms: TimeFormat = "ms".parse()?;
        assert_eq!(ms.parse("1500")?, 1_500_000_000);
        let p: TimeFormat = "%Y-%m-%d %H:%M:%S".parse()?;
        assert_eq!(p.parse("1970-01-02 00:00:00")?, 86_400_000_000_000);
        let pz: TimeFormat = "%Y-%m-%d %H:%M:%S %z".parse()?;
        assert_eq!(pz.parse("1970-01-02 01:00:00 +0100")?, 86_400_000_000_000);
        assert!(p.parse("yesterday").is_err());
        assert!("fortnights".parse::<TimeFormat>().is_err());
        assert!(ms.parse("9223372036854775807").is_err());
        Ok(())
    }

    #[test]
    fn rfc3339_prints_as_influxdb_does() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(1_000_000_123), "1970-01-01T00:00:01.000000123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            rfc3339(1_600_000_417_120_000_000),
            "2020-09-13T12:33:37.12Z"
        );
    }
}
