//! Shared helpers for integration tests: `mod support;` then
//! `use support::influxd::{unique_db, Influxd};`.
#![allow(dead_code)]

pub mod influxd;
pub mod workload;
