//! The benchmark workload generator checks itself against WORKLOAD.md:
//! point 417's exact line and the total body sizes, through both the row
//! structs and `Point`.

mod support;

use influx_stream::{EncodeOptions, Error, LineWriter, ToLineProtocol};
use support::workload::*;

fn line(value: &impl ToLineProtocol) -> Result<String, Error> {
    let mut buf = Vec::new();
    LineWriter::new(&mut buf, EncodeOptions::default()).write(value)?;
    Ok(String::from_utf8(buf).expect("line protocol is UTF-8"))
}

#[test]
fn splitmix64_and_unit() {
    // splitmix64's first outputs from seed 0, as in the reference generator
    // (state += golden gamma, then mix).
    assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    for x in [0, 1, 2, 417, u64::MAX] {
        let u = unit(x);
        assert!((0.0..1.0).contains(&u), "{u}");
    }
}

#[test]
fn narrow_point_417_is_the_documented_line() -> Result<(), Error> {
    let want = format!("{NARROW_417}\n");
    assert_eq!(line(&narrow(417))?, want);
    assert_eq!(line(&narrow_point(417))?, want);
    assert_eq!(narrow_point(417).to_string(), NARROW_417);
    Ok(())
}

/// Encodes points `0..POINTS` in chunks into one reused buffer and returns
/// the total size; every `sample`-th point is also encoded from `Point` and
/// compared byte for byte.
fn total_size<R: ToLineProtocol, P: ToLineProtocol>(
    row: impl Fn(u64) -> R,
    point: impl Fn(u64) -> P,
    sample: u64,
) -> Result<u64, Error> {
    let mut buf = Vec::with_capacity(1 << 20);
    let mut total = 0u64;
    let mut lines = 0usize;
    for i in 0..POINTS {
        if i % sample == 0 {
            let a = line(&row(i))?;
            assert_eq!(a, line(&point(i))?, "point {i}");
        }
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        w.write(&row(i))?;
        lines += w.lines();
        if buf.len() > (1 << 20) - 4096 || i + 1 == POINTS {
            assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), lines);
            total += buf.len() as u64;
            buf.clear();
            lines = 0;
        }
    }
    Ok(total)
}

#[test]
fn narrow_body_size() -> Result<(), Error> {
    // ryu prints shortest round-trip floats with a ".0" on whole numbers,
    // as WORKLOAD.md counts them, so the sizes agree exactly.
    assert_eq!(total_size(narrow, narrow_point, 101)?, NARROW_BODY_BYTES);
    Ok(())
}

#[test]
fn wide_body_size() -> Result<(), Error> {
    let r = wide(417);
    let l = line(&r)?;
    assert!(l.starts_with(
        "system_wide,arch=arm64,az=a,cluster=cluster_4,env=prod,host=host_417,os=windows,rack=rack_17,region=us-west-2,service=gateway,team=team_9 f00="
    ), "{l}");
    assert!(
        l.ends_with(",s19=\"draining\" 1600000417000000000\n"),
        "{l}"
    );
    assert_eq!(total_size(wide, wide_point, 1009)?, WIDE_BODY_BYTES);
    Ok(())
}
