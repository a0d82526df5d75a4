//! Encoding allocates nothing per point: with the output buffer reserved up
//! front, writing 10,000 points (row structs, `LineWriter` calls, pre-built
//! `Point`s) performs zero heap allocations.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use influx_stream::{EncodeOptions, Error, LineWriter, Point, ToLineProtocol};
use support::workload::{narrow, narrow_point, wide, wide_point};

/// Counts allocations made by the current thread while counting is on, so
/// tests running on other threads do not disturb the count.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping touches only const-initialized thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f();
    COUNTING.with(|on| on.set(false));
    (ALLOCATIONS.with(Cell::get), out)
}

const N: u64 = 10_000;

/// Encodes every item into a buffer reserved beforehand; returns the
/// allocations counted during the loop and the bytes written.
fn encode_counted<T: ToLineProtocol>(items: &[T], bytes_per_point: usize) -> (usize, Vec<u8>) {
    let mut buf = Vec::with_capacity(items.len() * bytes_per_point);
    let capacity = buf.capacity();
    let (count, res) = allocations(|| -> Result<(), Error> {
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        for item in items {
            w.write(item)?;
        }
        Ok(())
    });
    res.expect("the workload encodes");
    assert_eq!(buf.capacity(), capacity, "the buffer was big enough");
    (count, buf)
}

#[test]
fn the_counter_counts() {
    let (n, v) = allocations(|| vec![1u8; 100]);
    assert_eq!(n, 1);
    assert_eq!(v.len(), 100);
}

#[test]
fn row_structs_and_points_allocate_nothing() {
    let rows: Vec<_> = (0..N).map(narrow).collect();
    let points: Vec<Point> = (0..N).map(narrow_point).collect();
    let (count, body) = encode_counted(&rows, 200);
    assert_eq!(count, 0, "narrow rows");
    assert_eq!(encode_counted(&points, 200), (0, body), "narrow points");

    let rows: Vec<_> = (0..N).map(wide).collect();
    let points: Vec<Point> = (0..N).map(wide_point).collect();
    let (count, body) = encode_counted(&rows, 600);
    assert_eq!(count, 0, "wide rows");
    assert_eq!(encode_counted(&points, 600), (0, body), "wide points");
}

#[test]
fn line_writer_calls_allocate_nothing() {
    // Straight LineWriter calls, escapes and the float and integer paths
    // included.
    let rows: Vec<_> = (0..N).map(narrow).collect();
    let mut buf = Vec::with_capacity(N as usize * 300);
    let (count, res) = allocations(|| -> Result<(), Error> {
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        for r in &rows {
            w.point("cpu load")?
                .tag("host", r.host)?
                .tag("region name", r.region)?
                .tag("service", r.service)?
                .tag("empty", "")?
                .field_f64("usage_user", r.usage_user)?
                .field_f64("usage_system", r.usage_system)?
                .field_f64("big", r.usage_user * 1e300)?
                .field_i64("requests", r.requests)?
                .field_u64("bytes", r.requests as u64 * 1_000_003)?
                .field_bool("up", r.requests % 2 == 0)?
                .field_str("status", r.status)?
                .field_str("message", "a \"quoted\" back\\slash, with spaces")?
                .finish(Some(r.time))?;
        }
        assert_eq!(w.lines(), N as usize);
        Ok(())
    });
    res.expect("encodes");
    assert_eq!(count, 0);
    assert!(
        buf.starts_with(b"cpu\\ load,host=host_0,region\\ name=us-east-1,service=api usage_user=")
    );
}
