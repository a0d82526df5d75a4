//! No thread is left behind by the blocking client: its own test binary, so
//! that no other test's clients are counted.
#![cfg(all(target_os = "linux", feature = "blocking"))]

mod support;

use influx_stream::blocking;
use influx_stream::{Point, Query, WriteOptions};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The threads the blocking client may start: its runtime threads
/// (`influx-blocking`) and any Tokio pool thread (`tokio-*`), as `/proc`
/// shows their names. Other threads (the test harness's, the influxd
/// harness's) come and go on their own and are not counted.
fn threads() -> Result<(usize, usize), std::io::Error> {
    let mut tokio = 0;
    let mut runtime = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?;
        // A thread may end between listing and reading: not ours to count.
        if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
            let name = name.trim_end();
            if name == "influx-blocking" {
                runtime += 1;
            } else if name.starts_with("tokio") {
                tokio += 1;
            }
        }
    }
    Ok((tokio, runtime))
}

#[test]
fn the_last_handle_to_go_joins_the_runtime_thread() -> TestResult {
    let url = Influxd::shared().url();
    let db = unique_db("bl_threads");
    blocking::Client::builder(&url)
        .build()?
        .create_database(&db)?;
    let (before, runtime_before) = threads()?;
    assert_eq!(runtime_before, 0);

    // Alive: one thread per client built, shared by clones and handles.
    let a = blocking::Client::builder(&url).database(&db).build()?;
    let b = blocking::Client::builder(&url).database(&db).build()?;
    let a2 = a.with_database(&db);
    assert_eq!(threads()?.1, 2);
    drop((a, a2, b));
    assert_eq!(threads()?, (before, 0));

    for i in 0..50 {
        let client = blocking::Client::builder(&url).database(&db).build()?;
        client.ping()?;
        let mut writer = client.writer(WriteOptions::new())?;
        writer.send(&Point::new("m").field("v", i as f64).timestamp(i))?;
        let mut rows = client.query(Query::new("SELECT * FROM m").chunk_size(1));
        // Whichever goes last (here an iterator, or a writer never closed)
        // ends the thread.
        match i % 3 {
            0 => {
                drop(client);
                drop(writer);
                rows.next();
                drop(rows);
            }
            1 => {
                drop(rows);
                drop(client);
                drop(writer);
            }
            _ => {
                writer.close()?;
                drop(writer);
                drop(rows);
                drop(client);
            }
        }
        assert_eq!(threads()?, (before, 0), "after client {i}");
    }
    // Every point went out, closed or merely dropped.
    let client = blocking::Client::builder(&url).database(&db).build()?;
    let json = client.query_json("SELECT count(v) FROM m")?;
    assert_eq!(json["results"][0]["series"][0]["values"][0][1], 50);
    Ok(())
}
