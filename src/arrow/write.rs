//! [`ArrowWrite`]: a `RecordBatch` written as line protocol, column by column.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, BooleanArray, LargeStringArray, PrimitiveArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, TimeUnit};

use crate::error::{self, Error};
use crate::line_protocol::{LineWriter, PointWriter, ToLineProtocol};

/// `half::f16`, named through arrow.
type F16 = <Float16Type as arrow_array::ArrowPrimitiveType>::Native;

/// Where the measurement name comes from.
#[derive(Debug, Clone)]
enum Measurement {
    Name(String),
    Column(String),
}

/// A [`RecordBatch`] mapped onto InfluxDB points: which column holds the
/// time, which are tags, and the measurement; every other column is a field.
///
/// It is a [`ToLineProtocol`], so [`Client::write`](crate::Client::write)
/// and the batching [`Writer`](crate::Writer) take it (by value or by
/// reference). It holds its own clone of the batch, which is cheap: the
/// columns are reference-counted.
///
/// # Mapping
/// - **time** ([`time_column`](Self::time_column), default `"time"`): a
///   `Timestamp` of any unit (the time zone does not matter: Arrow stores UTC
///   instants), or `Int64` nanoseconds since the epoch. Nulls are refused.
/// - **tags** ([`tag_columns`](Self::tag_columns)): `Utf8`, `LargeUtf8`,
///   `Utf8View` or a `Dictionary` of those. A null or empty tag is left out of
///   its line. Tags are written sorted by key, as InfluxDB stores them.
/// - **fields**: every other column. `Float16/32/64` become floats,
///   `Int8..Int64` and `UInt8..UInt32` integers, `UInt64` unsigned (or
///   integers, with [`EncodeOptions::unsigned_as_integer`](crate::EncodeOptions::unsigned_as_integer)),
///   `Boolean` booleans, strings (as tags) string fields. A null field is
///   left out of its line; a row whose fields are all null is skipped
///   (counted by [`summary`](Self::summary)), never sent as a bad line.
///
/// Escaping and number formatting are those of [`Point`](crate::Point): the
/// lines are written through [`PointWriter`](crate::PointWriter).
///
/// # Errors
/// The schema is checked before any line is written: no measurement, a
/// missing time or tag column, a column of an unsupported type, a null time,
/// or a field named `time` is an error naming the column. A value that
/// cannot be written (a NaN or infinite float, a newline in a tag) is an
/// error naming the row; through [`Client::write`](crate::Client::write)
/// nothing is sent then, and the [`Writer`](crate::Writer) takes a batch
/// whole or not at all.
///
/// # Examples
/// ```no_run
/// use std::sync::Arc;
/// use influx_stream::arrow::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray};
/// use influx_stream::arrow::ArrowWrite;
/// use influx_stream::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let batch = RecordBatch::try_from_iter([
///     ("time", Arc::new(TimestampNanosecondArray::from(vec![1, 2])) as ArrayRef),
///     ("host", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
///     ("usage", Arc::new(Float64Array::from(vec![Some(0.5), None])) as ArrayRef),
/// ])?;
/// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
/// let points = ArrowWrite::new(&batch)
///     .measurement("cpu")
///     .time_column("time")
///     .tag_columns(["host"]);
/// assert_eq!(points.summary()?.skipped_rows, 1); // row 1 has no field
/// client.write(&points).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ArrowWrite {
    batch: RecordBatch,
    measurement: Option<Measurement>,
    time_column: String,
    tag_columns: Vec<String>,
}

/// What writing an [`ArrowWrite`] does, from [`ArrowWrite::summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArrowWriteSummary {
    /// Rows in the batch.
    pub rows: usize,
    /// Rows written as points.
    pub points: usize,
    /// Rows skipped because all their fields are null.
    pub skipped_rows: usize,
}

impl ArrowWrite {
    /// Maps `batch` (cloned: its columns are shared, not copied). Set the
    /// measurement before writing; the time column defaults to `"time"` and
    /// there are no tags until [`tag_columns`](Self::tag_columns) names some.
    pub fn new(batch: &RecordBatch) -> Self {
        ArrowWrite {
            batch: batch.clone(),
            measurement: None,
            time_column: "time".to_owned(),
            tag_columns: Vec::new(),
        }
    }

    /// Every row goes to this measurement. Default: none (set this or
    /// [`measurement_column`](Self::measurement_column)).
    #[must_use = "the mapping is returned, not changed in place"]
    pub fn measurement(mut self, name: impl Into<String>) -> Self {
        self.measurement = Some(Measurement::Name(name.into()));
        self
    }

    /// Each row's measurement is the value of this string column (not
    /// written as a field). Nulls are refused.
    #[must_use = "the mapping is returned, not changed in place"]
    pub fn measurement_column(mut self, column: impl Into<String>) -> Self {
        self.measurement = Some(Measurement::Column(column.into()));
        self
    }

    /// The column holding each row's time. Default: `"time"`.
    #[must_use = "the mapping is returned, not changed in place"]
    pub fn time_column(mut self, column: impl Into<String>) -> Self {
        self.time_column = column.into();
        self
    }

    /// The columns written as tags. Default: none.
    #[must_use = "the mapping is returned, not changed in place"]
    pub fn tag_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tag_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The batch being written.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// Checks the mapping against the batch's schema and counts the rows
    /// that will be written and those skipped (all fields null), without
    /// encoding anything.
    ///
    /// # Errors
    /// The schema errors of [`ArrowWrite`]: an unknown or unsupported
    /// column, no measurement, a null time.
    pub fn summary(&self) -> Result<ArrowWriteSummary, Error> {
        let cols = Columns::new(self)?;
        let rows = self.batch.num_rows();
        let skipped_rows = (0..rows).filter(|&i| !cols.any_field(i)).count();
        Ok(ArrowWriteSummary {
            rows,
            points: rows - skipped_rows,
            skipped_rows,
        })
    }

    /// The same mapping over consecutive slices of at most `max_rows` rows
    /// (zero-copy [`RecordBatch::slice`]s).
    ///
    /// The [`Writer`](crate::Writer) puts each item whole into one request,
    /// so give it a big batch in slices no larger than its
    /// [`max_points`](crate::WriteOptions::max_points):
    ///
    /// ```no_run
    /// # use influx_stream::arrow::{ArrowWrite, RecordBatch};
    /// # use influx_stream::{Client, WriteOptions};
    /// use futures::{stream, StreamExt};
    /// # async fn run(client: Client, batch: RecordBatch) -> Result<(), influx_stream::Error> {
    /// let writer = client.writer(WriteOptions::new().max_points(5_000))?;
    /// let points = ArrowWrite::new(&batch).measurement("cpu");
    /// stream::iter(points.slices(5_000)).map(Ok).forward(writer).await?;
    /// # Ok(()) }
    /// ```
    pub fn slices(&self, max_rows: usize) -> impl Iterator<Item = ArrowWrite> + Send + 'static {
        let step = max_rows.max(1);
        let whole = self.clone();
        let rows = self.batch.num_rows();
        (0..rows).step_by(step).map(move |start| ArrowWrite {
            batch: whole.batch.slice(start, step.min(rows - start)),
            ..whole.clone()
        })
    }
}

impl ToLineProtocol for ArrowWrite {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        let cols = Columns::new(self)?;
        let mut skipped = 0usize;
        for row in 0..self.batch.num_rows() {
            if cols.fields_may_all_be_null && !cols.any_field(row) {
                skipped += 1;
                continue;
            }
            cols.write_row(out, row)
                .map_err(|e| e.with_context(format!("RecordBatch row {row}")))?;
        }
        if skipped > 0 {
            tracing::debug!(
                skipped,
                rows = self.batch.num_rows(),
                "RecordBatch rows without any non-null field were skipped"
            );
        }
        Ok(())
    }
}

/// A string column, downcast once per batch: plain, or a dictionary whose
/// keys and values are resolved once per batch.
enum StrColumn<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Dict {
        keys: Keys<'a>,
        /// The keys' array, when some keys are null.
        key_nulls: Option<&'a dyn Array>,
        /// The dictionary's values (`None` for a null value).
        values: Vec<Option<&'a str>>,
    },
}

/// Dictionary keys, read in place.
#[derive(Clone, Copy)]
enum Keys<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
}

impl Keys<'_> {
    /// The value position of row `i` (`usize::MAX` when out of range, which
    /// then reads as null).
    #[inline(always)]
    fn get(self, i: usize) -> usize {
        fn at<K: Copy + TryInto<usize>>(k: &[K], i: usize) -> usize {
            k.get(i)
                .and_then(|k| (*k).try_into().ok())
                .unwrap_or(usize::MAX)
        }
        match self {
            Keys::I8(k) => at(k, i),
            Keys::I16(k) => at(k, i),
            Keys::I32(k) => at(k, i),
            Keys::I64(k) => at(k, i),
            Keys::U8(k) => at(k, i),
            Keys::U16(k) => at(k, i),
            Keys::U32(k) => at(k, i),
            Keys::U64(k) => at(k, i),
        }
    }
}

impl<'a> StrColumn<'a> {
    fn of(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => StrColumn::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => StrColumn::Large(array.as_string::<i64>()),
            DataType::Utf8View => StrColumn::View(array.as_string_view()),
            DataType::Dictionary(key, _) => {
                let keys = match **key {
                    DataType::Int8 => Keys::I8(array.as_dictionary::<Int8Type>().keys().values()),
                    DataType::Int16 => {
                        Keys::I16(array.as_dictionary::<Int16Type>().keys().values())
                    }
                    DataType::Int32 => {
                        Keys::I32(array.as_dictionary::<Int32Type>().keys().values())
                    }
                    DataType::Int64 => {
                        Keys::I64(array.as_dictionary::<Int64Type>().keys().values())
                    }
                    DataType::UInt8 => Keys::U8(array.as_dictionary::<UInt8Type>().keys().values()),
                    DataType::UInt16 => {
                        Keys::U16(array.as_dictionary::<UInt16Type>().keys().values())
                    }
                    DataType::UInt32 => {
                        Keys::U32(array.as_dictionary::<UInt32Type>().keys().values())
                    }
                    DataType::UInt64 => {
                        Keys::U64(array.as_dictionary::<UInt64Type>().keys().values())
                    }
                    _ => return None,
                };
                let dict = array.as_any_dictionary_opt()?;
                let strings = StrColumn::of(dict.values().as_ref())?;
                if matches!(strings, StrColumn::Dict { .. }) {
                    return None;
                }
                let values = (0..dict.values().len()).map(|k| strings.get(k)).collect();
                let key_nulls = (dict.keys().null_count() > 0).then(|| dict.keys());
                StrColumn::Dict {
                    keys,
                    key_nulls,
                    values,
                }
            }
            _ => return None,
        })
    }

    #[inline(always)]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
            StrColumn::Dict {
                keys,
                key_nulls,
                values,
            } => {
                if key_nulls.is_some_and(|k| k.is_null(i)) {
                    return None;
                }
                values.get(keys.get(i)).copied().flatten()
            }
        }
    }

    fn is_valid(&self, i: usize) -> bool {
        self.get(i).is_some()
    }

    /// For a dictionary column, the value position of row `i` (`None` for a
    /// null key).
    #[inline(always)]
    fn dict_index(&self, i: usize) -> Option<usize> {
        match self {
            StrColumn::Dict {
                keys, key_nulls, ..
            } => {
                if key_nulls.is_some_and(|k| k.is_null(i)) {
                    None
                } else {
                    Some(keys.get(i))
                }
            }
            _ => None,
        }
    }
}

/// A tag column, with its dictionary's tags encoded once per batch.
struct TagColumn<'a> {
    key: &'a str,
    strings: StrColumn<'a>,
    /// `,key=value` of each dictionary value, back to back.
    encoded: Vec<u8>,
    /// Each dictionary value's span of `encoded`; empty when the value is
    /// null, empty or refused (then `PointWriter::tag` decides, per row).
    spans: Vec<(u32, u32)>,
}

impl<'a> TagColumn<'a> {
    fn new(key: &'a str, strings: StrColumn<'a>, rows: usize) -> TagColumn<'a> {
        let mut encoded = Vec::new();
        let mut spans = Vec::new();
        if let StrColumn::Dict { values, .. } = &strings {
            // Worth it when values repeat: not for a slice of a batch whose
            // dictionary is far larger than the slice.
            if values.len() <= rows && values.len() < u32::MAX as usize / 64 {
                spans = values
                    .iter()
                    .map(|v| {
                        let start = encoded.len();
                        match v {
                            Some(v) if crate::line_protocol::encode_tag(&mut encoded, key, v) => {}
                            _ => return (0, 0),
                        }
                        if encoded.len() > u32::MAX as usize {
                            encoded.truncate(start);
                            return (0, 0);
                        }
                        (start as u32, encoded.len() as u32)
                    })
                    .collect();
            }
        }
        TagColumn {
            key,
            strings,
            encoded,
            spans,
        }
    }

    #[inline(always)]
    fn write(&self, p: &mut PointWriter<'_, '_>, row: usize) -> Result<(), Error> {
        if !self.spans.is_empty() {
            if let Some(&(s, e)) = self.strings.dict_index(row).and_then(|k| self.spans.get(k)) {
                if e > s {
                    p.tag_encoded(&self.encoded[s as usize..e as usize])?;
                    return Ok(());
                }
            }
        }
        if let Some(v) = self.strings.get(row) {
            p.tag(self.key, v)?;
        }
        Ok(())
    }
}

/// A field column, downcast once per batch.
enum Values<'a> {
    F16(&'a PrimitiveArray<Float16Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    I8(&'a PrimitiveArray<Int8Type>),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    U8(&'a PrimitiveArray<UInt8Type>),
    U16(&'a PrimitiveArray<UInt16Type>),
    U32(&'a PrimitiveArray<UInt32Type>),
    U64(&'a PrimitiveArray<UInt64Type>),
    Bool(&'a BooleanArray),
    Str(StrColumn<'a>),
}

impl<'a> Values<'a> {
    fn of(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Float16 => Values::F16(array.as_primitive()),
            DataType::Float32 => Values::F32(array.as_primitive()),
            DataType::Float64 => Values::F64(array.as_primitive()),
            DataType::Int8 => Values::I8(array.as_primitive()),
            DataType::Int16 => Values::I16(array.as_primitive()),
            DataType::Int32 => Values::I32(array.as_primitive()),
            DataType::Int64 => Values::I64(array.as_primitive()),
            DataType::UInt8 => Values::U8(array.as_primitive()),
            DataType::UInt16 => Values::U16(array.as_primitive()),
            DataType::UInt32 => Values::U32(array.as_primitive()),
            DataType::UInt64 => Values::U64(array.as_primitive()),
            DataType::Boolean => Values::Bool(array.as_boolean()),
            _ => Values::Str(StrColumn::of(array)?),
        })
    }

    #[inline]
    fn is_valid(&self, i: usize) -> bool {
        match self {
            Values::F16(a) => a.is_valid(i),
            Values::F32(a) => a.is_valid(i),
            Values::F64(a) => a.is_valid(i),
            Values::I8(a) => a.is_valid(i),
            Values::I16(a) => a.is_valid(i),
            Values::I32(a) => a.is_valid(i),
            Values::I64(a) => a.is_valid(i),
            Values::U8(a) => a.is_valid(i),
            Values::U16(a) => a.is_valid(i),
            Values::U32(a) => a.is_valid(i),
            Values::U64(a) => a.is_valid(i),
            Values::Bool(a) => a.is_valid(i),
            Values::Str(s) => s.is_valid(i),
        }
    }

    /// Whether some row of this column can be null.
    fn may_be_null(&self) -> bool {
        match self {
            Values::F16(a) => a.null_count() > 0,
            Values::F32(a) => a.null_count() > 0,
            Values::F64(a) => a.null_count() > 0,
            Values::I8(a) => a.null_count() > 0,
            Values::I16(a) => a.null_count() > 0,
            Values::I32(a) => a.null_count() > 0,
            Values::I64(a) => a.null_count() > 0,
            Values::U8(a) => a.null_count() > 0,
            Values::U16(a) => a.null_count() > 0,
            Values::U32(a) => a.null_count() > 0,
            Values::U64(a) => a.null_count() > 0,
            Values::Bool(a) => a.null_count() > 0,
            Values::Str(StrColumn::Utf8(a)) => a.null_count() > 0,
            Values::Str(StrColumn::Large(a)) => a.null_count() > 0,
            Values::Str(StrColumn::View(a)) => a.null_count() > 0,
            // Nulls may hide in the dictionary's values.
            Values::Str(StrColumn::Dict { .. }) => true,
        }
    }
}

/// The batch's columns, checked and downcast.
struct Columns<'a> {
    measurement: MeasurementSource<'a>,
    /// Times in nanoseconds are `values[i] * scale`.
    times: &'a [i64],
    time_scale: i64,
    time_name: &'a str,
    /// Sorted by key.
    tags: Vec<TagColumn<'a>>,
    fields: Vec<(&'a str, Values<'a>)>,
    /// False when some field column has no nulls: no row can be skipped.
    fields_may_all_be_null: bool,
}

enum MeasurementSource<'a> {
    Name(&'a str),
    Column(&'a str, StrColumn<'a>),
}

fn schema_error(message: String) -> Error {
    error::encode(format!("RecordBatch: {message}"))
}

fn type_name(dt: &DataType) -> String {
    dt.to_string()
}

impl<'a> Columns<'a> {
    fn new(w: &'a ArrowWrite) -> Result<Self, Error> {
        let batch = &w.batch;
        let schema = batch.schema_ref();
        let index_of = |name: &str, role: &str| {
            schema.index_of(name).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                schema_error(format!(
                    "no {role} column {name:?} (the columns are {names:?})"
                ))
            })
        };
        let mut used = vec![false; batch.num_columns()];

        // Time.
        let ti = index_of(&w.time_column, "time")?;
        used[ti] = true;
        let time = batch.column(ti).as_ref();
        let (times, time_scale): (&[i64], i64) = match time.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => (
                time.as_primitive::<TimestampSecondType>().values(),
                1_000_000_000,
            ),
            DataType::Timestamp(TimeUnit::Millisecond, _) => (
                time.as_primitive::<TimestampMillisecondType>().values(),
                1_000_000,
            ),
            DataType::Timestamp(TimeUnit::Microsecond, _) => (
                time.as_primitive::<TimestampMicrosecondType>().values(),
                1_000,
            ),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                (time.as_primitive::<TimestampNanosecondType>().values(), 1)
            }
            DataType::Int64 => (time.as_primitive::<Int64Type>().values(), 1),
            other => {
                return Err(schema_error(format!(
                    "the time column {:?} is {}; it must be a Timestamp or Int64 nanoseconds",
                    w.time_column,
                    type_name(other)
                )))
            }
        };
        if time.null_count() > 0 {
            let first = (0..time.len()).find(|&i| time.is_null(i)).unwrap_or(0);
            return Err(schema_error(format!(
                "the time column {:?} has {} null(s), the first at row {first}; every point needs a time",
                w.time_column,
                time.null_count()
            )));
        }

        // Measurement.
        let measurement = match &w.measurement {
            None => {
                return Err(schema_error(
                    "no measurement: call ArrowWrite::measurement or measurement_column".into(),
                ))
            }
            Some(Measurement::Name(name)) => MeasurementSource::Name(name),
            Some(Measurement::Column(col)) => {
                let mi = index_of(col, "measurement")?;
                if used[mi] {
                    return Err(schema_error(format!(
                        "column {col:?} cannot be both the time and the measurement"
                    )));
                }
                used[mi] = true;
                let array = batch.column(mi).as_ref();
                let strings = StrColumn::of(array).ok_or_else(|| {
                    schema_error(format!(
                        "the measurement column {col:?} is {}; it must hold strings (Utf8, LargeUtf8, Utf8View or a Dictionary of them)",
                        type_name(array.data_type())
                    ))
                })?;
                if let Some(row) = (0..array.len()).find(|&i| strings.get(i).is_none()) {
                    return Err(schema_error(format!(
                        "the measurement column {col:?} is null at row {row}"
                    )));
                }
                MeasurementSource::Column(col, strings)
            }
        };

        // Tags.
        let mut tags = Vec::with_capacity(w.tag_columns.len());
        for name in &w.tag_columns {
            let i = index_of(name, "tag")?;
            if used[i] {
                return Err(schema_error(format!(
                    "column {name:?} is named twice (as a tag, and as the time, the measurement or a tag)"
                )));
            }
            used[i] = true;
            let array = batch.column(i).as_ref();
            let strings = StrColumn::of(array).ok_or_else(|| {
                schema_error(format!(
                    "the tag column {name:?} is {}; tags must be strings (Utf8, LargeUtf8, Utf8View or a Dictionary of them)",
                    type_name(array.data_type())
                ))
            })?;
            if name == "time" {
                return Err(schema_error(
                    "a tag column is named \"time\", which InfluxDB refuses; rename it".into(),
                ));
            }
            tags.push(TagColumn::new(
                schema.field(i).name().as_str(),
                strings,
                batch.num_rows(),
            ));
        }
        tags.sort_by(|a, b| a.key.cmp(b.key));

        // Fields: everything else.
        let mut fields = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if used[i] {
                continue;
            }
            let array = batch.column(i).as_ref();
            let values = Values::of(array).ok_or_else(|| {
                schema_error(format!(
                    "column {:?} is {}, which cannot be a field (supported: Float16/32/64, Int8..64, UInt8..64, Boolean, Utf8, LargeUtf8, Utf8View, Dictionary of strings); map it as the time or a tag, or drop it",
                    f.name(),
                    type_name(f.data_type())
                ))
            })?;
            if f.name() == "time" {
                return Err(schema_error(format!(
                    "column \"time\" would be a field named time, which InfluxDB silently drops; the time column is {:?}: rename or drop this one",
                    w.time_column
                )));
            }
            fields.push((f.name().as_str(), values));
        }
        if fields.is_empty() {
            return Err(schema_error(
                "no field columns: every column is the time, the measurement or a tag".into(),
            ));
        }
        let fields_may_all_be_null = fields.iter().all(|(_, v)| v.may_be_null());
        Ok(Columns {
            measurement,
            times,
            time_scale,
            time_name: &w.time_column,
            tags,
            fields,
            fields_may_all_be_null,
        })
    }

    #[inline]
    fn any_field(&self, row: usize) -> bool {
        self.fields.iter().any(|(_, v)| v.is_valid(row))
    }

    #[inline]
    fn write_row(&self, out: &mut LineWriter<'_>, row: usize) -> Result<(), Error> {
        let measurement = match &self.measurement {
            MeasurementSource::Name(n) => n,
            MeasurementSource::Column(col, s) => s
                .get(row)
                .ok_or_else(|| schema_error(format!("the measurement column {col:?} is null")))?,
        };
        let t = self.times[row];
        let ts = t.checked_mul(self.time_scale).ok_or_else(|| {
            schema_error(format!(
                "the time {t} in column {:?} is out of range in nanoseconds",
                self.time_name
            ))
        })?;
        let mut p = out.point(measurement)?;
        for tag in &self.tags {
            tag.write(&mut p, row)?;
        }
        for (key, col) in &self.fields {
            // One match per value: check and read in the same arm.
            macro_rules! put {
                ($a:expr, $method:ident, $conv:expr) => {
                    if $a.is_valid(row) {
                        p.$method(key, $conv($a.value(row)))?;
                    }
                };
            }
            match col {
                Values::F16(a) => put!(a, field_f64, |v: F16| v.to_f64()),
                Values::F32(a) => put!(a, field_f64, f64::from),
                Values::F64(a) => put!(a, field_f64, |v| v),
                Values::I8(a) => put!(a, field_i64, i64::from),
                Values::I16(a) => put!(a, field_i64, i64::from),
                Values::I32(a) => put!(a, field_i64, i64::from),
                Values::I64(a) => put!(a, field_i64, |v| v),
                Values::U8(a) => put!(a, field_i64, i64::from),
                Values::U16(a) => put!(a, field_i64, i64::from),
                Values::U32(a) => put!(a, field_i64, i64::from),
                Values::U64(a) => put!(a, field_u64, |v| v),
                Values::Bool(a) => put!(a, field_bool, |v| v),
                Values::Str(s) => {
                    if let Some(v) = s.get(row) {
                        p.field_str(key, v)?;
                    }
                }
            }
        }
        p.finish(Some(ts))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int8Type;
    use arrow_array::{
        ArrayRef, DictionaryArray, Float32Array, Float64Array, Int64Array, StringArray,
        TimestampMillisecondArray, UInt64Array,
    };

    use super::*;
    use crate::EncodeOptions;

    fn encode(w: &ArrowWrite) -> Result<String, Error> {
        let mut buf = Vec::new();
        LineWriter::new(&mut buf, EncodeOptions::default()).write(w)?;
        Ok(String::from_utf8(buf).unwrap_or_default())
    }

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(cols).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn writes_tags_sorted_fields_in_order_and_skips_nulls() -> Result<(), Error> {
        let dict: DictionaryArray<Int8Type> = vec![Some("eu west"), None, Some("us")]
            .into_iter()
            .collect();
        let b = batch(vec![
            (
                "t",
                Arc::new(TimestampMillisecondArray::from(vec![1, 2, 3])),
            ),
            ("region", Arc::new(dict)),
            (
                "host",
                Arc::new(StringArray::from(vec![Some("a,b"), Some(""), None])),
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![Some(12.0), None, None])),
            ),
            (
                "g",
                Arc::new(Float32Array::from(vec![Some(0.5), Some(1.0), None])),
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(-1), Some(2), None])),
            ),
            ("u", Arc::new(UInt64Array::from(vec![Some(7), None, None]))),
        ]);
        let w = ArrowWrite::new(&b)
            .measurement("m x")
            .time_column("t")
            .tag_columns(["region", "host"]);
        assert_eq!(
            encode(&w)?,
            "m\\ x,host=a\\,b,region=eu\\ west f=12.0,g=0.5,n=-1i,u=7u 1000000\n\
             m\\ x g=1.0,n=2i 2000000\n"
        );
        let s = w.summary()?;
        assert_eq!((s.rows, s.points, s.skipped_rows), (3, 2, 1));
        Ok(())
    }

    #[test]
    fn schema_errors_name_the_column() {
        let b = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![1]))),
            ("x", Arc::new(Float64Array::from(vec![1.0]))),
            ("bad", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ]);
        let cases = [
            (ArrowWrite::new(&b), "no measurement"),
            (
                ArrowWrite::new(&b).measurement("m").time_column("ts"),
                "\"ts\"",
            ),
            (
                ArrowWrite::new(&b).measurement("m").tag_columns(["x"]),
                "\"x\"",
            ),
            (
                ArrowWrite::new(&b).measurement("m").tag_columns(["nope"]),
                "\"nope\"",
            ),
            (ArrowWrite::new(&b).measurement_column("x"), "\"x\""),
        ];
        for (w, want) in cases {
            let e = encode(&w).expect_err(want);
            assert!(e.is_encode() && e.to_string().contains(want), "{want}: {e}");
            assert!(w.summary().is_err());
        }
        let list = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![1]))),
            (
                "d",
                Arc::new(arrow_array::Date32Array::from(vec![1])) as ArrayRef,
            ),
        ]);
        let e = encode(&ArrowWrite::new(&list).measurement("m")).expect_err("Date32");
        assert!(e.to_string().contains("\"d\""), "{e}");
        let nulls = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![Some(1), None]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ]);
        let e = encode(&ArrowWrite::new(&nulls).measurement("m")).expect_err("null time");
        assert!(e.to_string().contains("row 1"), "{e}");
    }

    #[test]
    fn row_errors_name_the_row_and_leave_nothing() {
        let b = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![1, 2]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, f64::NAN]))),
        ]);
        let mut buf = b"keep\n".to_vec();
        let e = LineWriter::new(&mut buf, EncodeOptions::default())
            .write(&ArrowWrite::new(&b).measurement("m"))
            .expect_err("NaN");
        assert!(e.to_string().contains("row 1"), "{e}");
        // The writer keeps the rows before; Client::write and Writer drop them.
        assert_eq!(buf, b"keep\nm x=1.0 1\n");
    }

    #[test]
    fn dictionary_tags_encoded_once_behave_as_tag() -> Result<(), Error> {
        use arrow_array::types::UInt8Type;
        // Keys: 0 1 2 3 null 0; values: "a,b", "", null, "bad\n" (the last
        // only used where said).
        let values = StringArray::from(vec![Some("a,b"), Some(""), None, Some("bad\n")]);
        let dict = |keys: Vec<Option<u8>>| -> ArrayRef {
            let keys = arrow_array::UInt8Array::from(keys);
            Arc::new(
                DictionaryArray::<UInt8Type>::try_new(keys, Arc::new(values.clone()))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        };
        let rows = |tags: ArrayRef| {
            let n = tags.len() as i64;
            batch(vec![
                (
                    "time",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                ("t", tags),
                ("x", Arc::new(Int64Array::from((0..n).collect::<Vec<_>>()))),
            ])
        };
        let ok = rows(dict(vec![Some(0), Some(1), Some(2), None, Some(0)]));
        assert_eq!(
            encode(&ArrowWrite::new(&ok).measurement("m").tag_columns(["t"]))?,
            "m,t=a\\,b x=0i 0\nm x=1i 1\nm x=2i 2\nm x=3i 3\nm,t=a\\,b x=4i 4\n"
        );
        let bad = rows(dict(vec![Some(0), Some(3), Some(0), Some(0)]));
        let e = encode(&ArrowWrite::new(&bad).measurement("m").tag_columns(["t"]))
            .expect_err("a newline in a tag");
        assert!(
            e.to_string().contains("row 1") && e.to_string().contains("newline"),
            "{e}"
        );
        Ok(())
    }

    #[test]
    fn slices_cover_the_batch() -> Result<(), Error> {
        let b = batch(vec![
            (
                "time",
                Arc::new(Int64Array::from((0..10).collect::<Vec<i64>>())),
            ),
            (
                "x",
                Arc::new(Int64Array::from((0..10).collect::<Vec<i64>>())),
            ),
        ]);
        let w = ArrowWrite::new(&b).measurement("m");
        let parts: Vec<ArrowWrite> = w.slices(4).collect();
        assert_eq!(
            parts
                .iter()
                .map(|p| p.batch().num_rows())
                .collect::<Vec<_>>(),
            [4, 4, 2]
        );
        let joined: Result<String, Error> = parts.iter().map(encode).collect();
        assert_eq!(joined?, encode(&w)?);
        Ok(())
    }
}
