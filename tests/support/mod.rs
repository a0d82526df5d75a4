//! Shared helpers for integration tests: `mod support;` then
//! `use support::influxd::{unique_db, Influxd};`.
#![allow(dead_code)]

#[cfg(feature = "derive")]
pub mod cpu_row;
pub mod fault;
pub mod influxd;
pub mod pki;
pub mod protocol;
pub mod traces;
pub mod victoria;
pub mod workload;
