//! The standard benchmark workload of `benches/WORKLOAD.md`: the narrow
//! `cpu` workload (3 tags, 4 fields) and the wide `system_wide` workload
//! (10 tags, 20 fields), 1,000,000 points each, generated from point index
//! `i` alone.
//!
//! Self-contained (std and `influx_stream` only) so benches, examples and
//! tests can all include it:
//!
//! ```text
//! #[path = "../tests/support/workload.rs"]
//! mod workload;
//! ```
//!
//! Each workload comes two ways: as a [`Point`] (`narrow_point`,
//! `wide_point`), and as a plain row struct (`NarrowRow`, `WideRow`) whose
//! [`ToLineProtocol`] impl writes straight through [`LineWriter`]. Building a
//! row never allocates: every string it holds is `&'static str`, the
//! numbered ones (`host_417`, `rack_9`, ...) taken from tables built once.
#![allow(dead_code)]

use std::sync::OnceLock;

use influx_stream::{Error, LineWriter, Point, ToLineProtocol};

/// Points in either workload.
pub const POINTS: u64 = 1_000_000;

/// Timestamp of point 0, in nanoseconds (2020-09-13T12:26:40Z).
pub const T0_NS: i64 = 1_600_000_000_000_000_000;

/// Nanoseconds between consecutive points.
pub const STEP_NS: i64 = 1_000_000_000;

/// Total size of the 1M-point narrow body (ryu floats, `\n` after each line).
pub const NARROW_BODY_BYTES: u64 = 153_950_780;

/// Total size of the 1M-point wide body.
pub const WIDE_BODY_BYTES: u64 = 494_031_021;

/// Point 417 of the narrow workload, as WORKLOAD.md prints it (no newline).
pub const NARROW_417: &str = "cpu,host=host_417,region=us-west-2,service=gateway usage_user=94.67028418376582,usage_system=43.53,requests=3245i,status=\"draining\" 1600000417000000000";

pub const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-1"];
pub const SERVICES: [&str; 10] = [
    "api", "auth", "billing", "cart", "catalog", "checkout", "frontend", "gateway", "search",
    "shipping",
];
pub const STATUSES: [&str; 5] = ["ok_ready", "degraded", "draining", "starting", "stopping"];

/// The splitmix64 mixing function (all arithmetic wrapping).
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in `[0, 1)` with 53 random bits.
#[inline]
pub fn unit(x: u64) -> f64 {
    (splitmix64(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// A full-precision float in `[1, 100)`.
#[inline]
fn full_precision(x: u64) -> f64 {
    1.0 + 99.0 * unit(x)
}

/// A float with two decimals in `[0, 100)`.
#[inline]
fn two_decimals(x: u64) -> f64 {
    (splitmix64(x) % 10_000) as f64 / 100.0
}

/// `"{prefix}{n}"` for `n` in `0..count`, built once per table.
fn numbered(
    cell: &'static OnceLock<Box<[String]>>,
    prefix: &str,
    count: usize,
) -> &'static [String] {
    cell.get_or_init(|| (0..count).map(|n| format!("{prefix}{n}")).collect())
}

/// `host_<n>` for `n < 1000`, without allocating.
#[inline]
pub fn host(n: usize) -> &'static str {
    static T: OnceLock<Box<[String]>> = OnceLock::new();
    &numbered(&T, "host_", 1000)[n]
}

/// `cluster_<n>` for `n < 7`.
#[inline]
pub fn cluster(n: usize) -> &'static str {
    static T: OnceLock<Box<[String]>> = OnceLock::new();
    &numbered(&T, "cluster_", 7)[n]
}

/// `rack_<n>` for `n < 40`.
#[inline]
pub fn rack(n: usize) -> &'static str {
    static T: OnceLock<Box<[String]>> = OnceLock::new();
    &numbered(&T, "rack_", 40)[n]
}

/// `team_<n>` for `n < 12`.
#[inline]
pub fn team(n: usize) -> &'static str {
    static T: OnceLock<Box<[String]>> = OnceLock::new();
    &numbered(&T, "team_", 12)[n]
}

#[inline]
fn time(i: u64) -> i64 {
    T0_NS + i as i64 * STEP_NS
}

// ---- narrow ----

/// One point of the narrow workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NarrowRow {
    pub i: u64,
    pub host: &'static str,
    pub region: &'static str,
    pub service: &'static str,
    pub usage_user: f64,
    pub usage_system: f64,
    pub requests: i64,
    pub status: &'static str,
    /// Nanoseconds since the epoch.
    pub time: i64,
}

/// Point `i` of the narrow workload.
pub fn narrow(i: u64) -> NarrowRow {
    let k = i as usize;
    NarrowRow {
        i,
        host: host(k % 1000),
        region: REGIONS[k % 4],
        service: SERVICES[k % 10],
        usage_user: full_precision(4 * i),
        usage_system: two_decimals(4 * i + 1),
        requests: (splitmix64(4 * i + 2) % 100_000) as i64,
        status: STATUSES[k % 5],
        time: time(i),
    }
}

/// Point `i` of the narrow workload as a [`Point`].
pub fn narrow_point(i: u64) -> Point {
    let r = narrow(i);
    Point::new("cpu")
        .tag("host", r.host)
        .tag("region", r.region)
        .tag("service", r.service)
        .field("usage_user", r.usage_user)
        .field("usage_system", r.usage_system)
        .field("requests", r.requests)
        .field("status", r.status)
        .timestamp(r.time)
}

impl ToLineProtocol for NarrowRow {
    #[inline]
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        out.point("cpu")?
            .tag("host", self.host)?
            .tag("region", self.region)?
            .tag("service", self.service)?
            .field_f64("usage_user", self.usage_user)?
            .field_f64("usage_system", self.usage_system)?
            .field_i64("requests", self.requests)?
            .field_str("status", self.status)?
            .finish(Some(self.time))
    }
}

// ---- wide ----

/// Tag keys of the wide workload, in the order written (sorted).
pub const WIDE_TAG_KEYS: [&str; 10] = [
    "arch", "az", "cluster", "env", "host", "os", "rack", "region", "service", "team",
];
/// Float field keys: `f00`..`f09` full precision, `f10`..`f13` two decimals.
pub const WIDE_FLOAT_KEYS: [&str; 14] = [
    "f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09", "f10", "f11", "f12",
    "f13",
];
/// Integer field keys.
pub const WIDE_INT_KEYS: [&str; 5] = ["i14", "i15", "i16", "i17", "i18"];
/// The string field's key.
pub const WIDE_STR_KEY: &str = "s19";

/// One point of the wide workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WideRow {
    pub i: u64,
    /// Tag values, in the order of [`WIDE_TAG_KEYS`].
    pub tags: [&'static str; 10],
    /// `f00`..`f13`.
    pub floats: [f64; 14],
    /// `i14`..`i18`.
    pub ints: [i64; 5],
    /// `s19`.
    pub status: &'static str,
    /// Nanoseconds since the epoch.
    pub time: i64,
}

/// Point `i` of the wide workload.
pub fn wide(i: u64) -> WideRow {
    let k = i as usize;
    let tags = [
        ["amd64", "arm64"][k % 2],
        ["a", "b", "c"][k % 3],
        cluster(k % 7),
        ["prod", "staging", "dev"][k % 3],
        host(k % 1000),
        ["linux", "windows"][k % 2],
        rack(k % 40),
        REGIONS[k % 4],
        SERVICES[k % 10],
        team(k % 12),
    ];
    let mut floats = [0.0; 14];
    for (f, slot) in floats.iter_mut().enumerate() {
        let x = 32 * i + f as u64;
        *slot = if f < 10 {
            full_precision(x)
        } else {
            two_decimals(x)
        };
    }
    let mut ints = [0; 5];
    for (n, slot) in ints.iter_mut().enumerate() {
        *slot = (splitmix64(32 * i + 14 + n as u64) % 1_000_000) as i64;
    }
    WideRow {
        i,
        tags,
        floats,
        ints,
        status: STATUSES[k % 5],
        time: time(i),
    }
}

/// Point `i` of the wide workload as a [`Point`].
pub fn wide_point(i: u64) -> Point {
    let r = wide(i);
    let mut p = Point::new("system_wide");
    for (k, v) in WIDE_TAG_KEYS.iter().zip(r.tags) {
        p = p.tag(*k, v);
    }
    for (k, v) in WIDE_FLOAT_KEYS.iter().zip(r.floats) {
        p = p.field(*k, v);
    }
    for (k, v) in WIDE_INT_KEYS.iter().zip(r.ints) {
        p = p.field(*k, v);
    }
    p.field(WIDE_STR_KEY, r.status).timestamp(r.time)
}

impl ToLineProtocol for WideRow {
    #[inline]
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        let mut p = out.point("system_wide")?;
        for (k, v) in WIDE_TAG_KEYS.iter().zip(self.tags) {
            p.tag(k, v)?;
        }
        for (k, v) in WIDE_FLOAT_KEYS.iter().zip(self.floats) {
            p.field_f64(k, v)?;
        }
        for (k, v) in WIDE_INT_KEYS.iter().zip(self.ints) {
            p.field_i64(k, v)?;
        }
        p.field_str(WIDE_STR_KEY, self.status)?
            .finish(Some(self.time))
    }
}
