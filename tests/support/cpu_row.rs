//! The narrow workload (`workload.rs`) as the readers of typed rows get it
//! back; apart from `workload.rs` because it needs the `derive` feature.
//! Included beside `workload.rs`, as `support::cpu_row` or, in benches,
//! `#[path = "../tests/support/cpu_row.rs"] mod cpu_row;`.

use super::workload::NarrowRow;

/// A narrow point as `SELECT * FROM cpu` reads it back, for the readers
/// of typed rows: `query_rows` (`FromRow`) and `query_as` (serde).
#[derive(Debug, Clone, PartialEq, influx_stream::FromRow, serde::Deserialize)]
pub struct CpuRow {
    pub time: i64,
    pub host: String,
    pub region: String,
    pub service: String,
    pub usage_user: f64,
    pub usage_system: f64,
    pub requests: i64,
    pub status: String,
}

impl From<NarrowRow> for CpuRow {
    fn from(r: NarrowRow) -> Self {
        CpuRow {
            time: r.time,
            host: r.host.into(),
            region: r.region.into(),
            service: r.service.into(),
            usage_user: r.usage_user,
            usage_system: r.usage_system,
            requests: r.requests,
            status: r.status.into(),
        }
    }
}
