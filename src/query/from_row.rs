//! [`FromRow`]: rows mapped onto your types by name, decided once per
//! series layout; what `#[derive(FromRow)]` implements.
//!
//! The type lists the names it reads ([`FromRow::FIELDS`]); when a series
//! starts, each name is looked up once among the series' columns and tags,
//! and every row of the series is then read by position from the scanned
//! cells: only the columns read become values (a string is copied once,
//! into its `String`). The field types are known at compile time
//! ([`FromValue`]), so nothing is decided by trying the user's code at run
//! time.

use std::fmt;
use std::sync::Arc;

use super::row::RowCells;
use super::wire::Cell;
use super::{DecodeError, SeriesMeta, Text, Value};

/// A type built from one row of a query result: a struct whose fields name
/// columns and series tags. Read with
/// [`Client::query_rows`](crate::Client::query_rows).
///
/// Derive it (feature `derive`, on by default) with `#[derive(FromRow)]`;
/// each field reads the column or tag of its name:
///
/// | attribute | meaning |
/// | --- | --- |
/// | `#[influx(rename = "name")]` | reads the column or tag `name` |
/// | `#[influx(tag)]` | reads the series tag (`GROUP BY`) first, then a column of that name |
/// | `#[influx(time)]` | reads the `time` column, whatever the field is called |
/// | `#[influx(measurement)]` | the series name (a `String`) |
/// | `#[influx(default)]` | `Default::default()` when the column is missing or null |
/// | `#[influx(skip)]` | not read: `Default::default()` |
///
/// An `Option` field is `None` when the column is null or missing; any
/// other field makes such a row an `Err` item naming the field, the
/// column and the row. Other fields read a column first, then a tag.
/// Field types: `f64`, `f32` (a float column's whole values, which
/// InfluxDB prints as `12`, are read too), the integers (`i64`, `u64`,
/// and smaller ones when the value fits), `bool`, `String`, [`Value`], and
/// an `Option` of those. The same attributes serve
/// `#[derive(LineProtocol)]`, so one struct can be written and read back.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use influx_stream::{Client, FromRow, LineProtocol};
///
/// #[derive(Debug, FromRow, LineProtocol)]
/// #[influx(measurement = "cpu")]
/// struct Cpu {
///     #[influx(time)]
///     at: i64,
///     #[influx(tag)]
///     host: String,
///     usage: f64,
///     #[influx(default)]
///     cores: i64,
///     note: Option<String>,
/// }
///
/// # async fn run() -> Result<(), influx_stream::Error> {
/// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
/// let rows: Vec<Cpu> = client
///     .query_rows::<Cpu>("SELECT usage, cores, note FROM cpu GROUP BY host")
///     .try_collect()
///     .await?;
/// # Ok(()) }
/// ```
///
/// Implementing it by hand takes the same two items the derive writes:
///
/// ```
/// use influx_stream::query::{DecodeError, FromRowField, RowValues};
/// use influx_stream::FromRow;
///
/// struct Usage {
///     time: i64,
///     usage: Option<f64>,
/// }
///
/// impl FromRow for Usage {
///     const FIELDS: &'static [FromRowField] =
///         &[FromRowField::column("time"), FromRowField::column("usage")];
///
///     fn from_row(row: &mut RowValues<'_>) -> Result<Self, DecodeError> {
///         Ok(Usage { time: row.take(0)?, usage: row.take(1)? })
///     }
/// }
/// ```
pub trait FromRow: Sized {
    /// The names the type reads, one per field; [`RowValues::take`] is
    /// given a position in this list.
    const FIELDS: &'static [FromRowField];

    /// Builds the value from one row.
    ///
    /// # Errors
    ///
    /// Those of [`RowValues::take`]: a value missing, null or of another
    /// type than the field's.
    fn from_row(row: &mut RowValues<'_>) -> Result<Self, DecodeError>;
}

/// One name a [`FromRow`] type reads: a column (or, if the series has no
/// such column, a tag), or a tag (or, failing that, a column); or the
/// series name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromRowField {
    name: &'static str,
    look: Look,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    ColumnFirst,
    TagFirst,
    SeriesName,
}

impl FromRowField {
    /// The column `name`, else the series tag `name`.
    pub const fn column(name: &'static str) -> Self {
        FromRowField {
            name,
            look: Look::ColumnFirst,
        }
    }

    /// The series tag `name` (a `GROUP BY` tag), else the column `name`.
    pub const fn tag(name: &'static str) -> Self {
        FromRowField {
            name,
            look: Look::TagFirst,
        }
    }

    /// The series name (usually the measurement).
    pub const fn series_name() -> Self {
        FromRowField {
            name: "",
            look: Look::SeriesName,
        }
    }

    /// The name looked up (empty for [`FromRowField::series_name`]).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// Where a field's value is in a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Column(usize),
    Tag(usize),
    Name,
    Missing,
}

fn resolve(meta: &SeriesMeta, fields: &[FromRowField]) -> Box<[Source]> {
    fields
        .iter()
        .map(|f| {
            let column = || meta.column_index(f.name).map(Source::Column);
            let tag = || {
                meta.tags()
                    .iter()
                    .position(|(k, _)| k == f.name)
                    .map(Source::Tag)
            };
            let found = match f.look {
                Look::ColumnFirst => column().or_else(tag),
                Look::TagFirst => tag().or_else(column),
                Look::SeriesName => meta.name().map(|_| Source::Name),
            };
            found.unwrap_or(Source::Missing)
        })
        .collect()
}

/// What a stream keeps to map rows onto `T`: the sources of `T`'s fields
/// in the series at hand, worked out when a series starts.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    meta: Option<Arc<SeriesMeta>>,
    sources: Box<[Source]>,
}

impl Resolved {
    /// Maps one row (strings are moved out of its values).
    #[inline]
    pub(crate) fn map<T: FromRow>(
        &mut self,
        meta: &Arc<SeriesMeta>,
        row: RowCells<'_>,
        index: u64,
    ) -> Result<T, DecodeError> {
        if !self.meta.as_ref().is_some_and(|m| Arc::ptr_eq(m, meta)) {
            self.sources = resolve(meta, T::FIELDS);
            self.meta = Some(Arc::clone(meta));
        }
        T::from_row(&mut RowValues {
            meta,
            fields: T::FIELDS,
            sources: &self.sources,
            row,
            index,
        })
    }
}

/// The path of [`Client::query_rows`](crate::Client::query_rows) over a
/// bare decoder, for `benches/parse.rs` to count its instructions (through
/// `__private`; not public API).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct BenchRows(Resolved);

impl BenchRows {
    /// The next row as a `T`, or another event.
    pub fn next<T: FromRow>(
        &mut self,
        decoder: &mut super::Decoder,
    ) -> Option<Result<super::Event<T>, DecodeError>> {
        let state = &mut self.0;
        decoder
            .next_event_cells(&mut |meta, cells, index| state.map::<T>(meta, cells, index))
            .map(|r| r.and_then(super::Event::transpose))
    }
}

/// One row, as a [`FromRow`] implementation reads it: field by field, by
/// position in [`FromRow::FIELDS`].
pub struct RowValues<'a> {
    meta: &'a SeriesMeta,
    fields: &'static [FromRowField],
    sources: &'a [Source],
    row: RowCells<'a>,
    index: u64,
}

impl fmt::Debug for RowValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowValues")
            .field("columns", &self.meta.columns())
            .field("row", &self.row)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A cell as found: a value that is not a string, or a string (a tag, the
/// series name, or a span of the document).
enum Found<'v> {
    Owned(Value),
    Text(&'v str),
    Missing,
}

impl RowValues<'_> {
    #[inline(always)]
    fn find(&mut self, field: usize) -> Found<'_> {
        match self.sources.get(field) {
            Some(Source::Column(j)) => match self.row.cells.get(*j) {
                Some(&cell @ (Cell::Str(..) | Cell::Esc(..))) => {
                    self.row.str(cell).map_or(Found::Missing, Found::Text)
                }
                Some(&cell) => Found::Owned(RowCells::scalar(cell)),
                None => Found::Missing,
            },
            Some(Source::Tag(k)) => match self.meta.tags().get(*k) {
                Some((_, v)) => Found::Text(v),
                None => Found::Missing,
            },
            Some(Source::Name) => match self.meta.name() {
                Some(n) => Found::Text(n),
                None => Found::Missing,
            },
            Some(Source::Missing) | None => Found::Missing,
        }
    }

    /// The value of field `field` (a position in [`FromRow::FIELDS`]). A
    /// string is moved out of the row: take each field once.
    ///
    /// # Errors
    ///
    /// The column and tag are missing or the value is null (unless `T` is an
    /// `Option`), or the value does not fit `T`; the message names the
    /// field, the column and the row.
    #[inline(always)]
    pub fn take<T: FromValue>(&mut self, field: usize) -> Result<T, DecodeError> {
        self.read(field, None)
    }

    /// Like [`take`](Self::take), but a missing column or a null gives
    /// `T::default()`.
    ///
    /// # Errors
    ///
    /// A value that does not fit `T`.
    #[inline(always)]
    pub fn take_or_default<T: FromValue + Default>(
        &mut self,
        field: usize,
    ) -> Result<T, DecodeError> {
        self.read(field, Some(T::default))
    }

    /// [`take`](Self::take), with `default` for a missing column or a null.
    #[inline(always)]
    fn read<T: FromValue>(
        &mut self,
        field: usize,
        default: Option<fn() -> T>,
    ) -> Result<T, DecodeError> {
        let got = match (self.find(field), default) {
            (Found::Owned(Value::Null) | Found::Missing, Some(d)) => return Ok(d()),
            (Found::Owned(mut v), _) => T::from_value(&mut v),
            // A text on the heap moves into a `String` field.
            (Found::Text(s), _) => T::from_value(&mut Value::String(Text::boxed(s.into()))),
            (Found::Missing, None) => T::missing(),
        };
        match got {
            Some(t) => Ok(t),
            None => Err(self.error::<T>(field)),
        }
    }

    /// The series the row belongs to.
    pub fn meta(&self) -> &SeriesMeta {
        self.meta
    }

    /// The position of the row in its series (see [`Row::index`](super::Row::index)).
    pub fn index(&self) -> u64 {
        self.index
    }

    #[cold]
    fn error<T: FromValue>(&mut self, field: usize) -> DecodeError {
        let spec = self.fields.get(field);
        let name = spec.map_or("?", |f| f.name);
        let what = match self.find(field) {
            Found::Missing => match spec.map(|f| f.look) {
                Some(Look::SeriesName) => "the series has no name".to_owned(),
                _ => format!("no column or tag `{name}`"),
            },
            Found::Owned(Value::Null) => format!("`{name}` is null"),
            Found::Owned(v) => format!("`{name}` is {v:?}, not {}", T::EXPECTED),
            Found::Text(s) => format!("`{name}` is {s:?}, not {}", T::EXPECTED),
        };
        let e = DecodeError::new(format!("{what}, read as {}", std::any::type_name::<T>()));
        super::de::row_error(e, self.meta, self.index)
    }
}

/// A field type of a [`FromRow`] type: what one value becomes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from an InfluxDB column",
    label = "unsupported field type",
    note = "fields can be f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, isize, usize, bool, String, Value, or an Option of those",
    note = "mark the member #[influx(skip)] to leave it out of reading (it gets Default::default())"
)]
pub trait FromValue: Sized {
    /// What the type expects, for error messages (`"a float"`).
    const EXPECTED: &'static str;

    /// The value as `Self`, taking a string out of `value`; `None` when it
    /// does not fit (a null fits only `Option`).
    fn from_value(value: &mut Value) -> Option<Self>;

    /// What a missing column gives: `None` (an error) but for `Option`.
    #[inline]
    fn missing() -> Option<Self> {
        None
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a float";
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromValue for f32 {
    const EXPECTED: &'static str = "a float";
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        value.as_f64().map(|f| f as f32)
    }
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    /// Integers, and times (`Value::Time`, in nanoseconds).
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        value.as_i64()
    }
}

impl FromValue for u64 {
    const EXPECTED: &'static str = "an unsigned integer";
    /// Unsigned integers, and times at or after the epoch.
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        match *value {
            Value::Time(t) => u64::try_from(t).ok(),
            ref v => v.as_u64(),
        }
    }
}

macro_rules! narrow_int {
    ($($t:ty => $wide:ty, $what:literal;)*) => {$(
        impl FromValue for $t {
            const EXPECTED: &'static str = $what;
            #[inline]
            fn from_value(value: &mut Value) -> Option<Self> {
                <$wide>::from_value(value).and_then(|v| <$t>::try_from(v).ok())
            }
        }
    )*};
}

narrow_int! {
    i32 => i64, "an integer within i32";
    i16 => i64, "an integer within i16";
    i8 => i64, "an integer within i8";
    isize => i64, "an integer within isize";
    u32 => u64, "an integer within u32";
    u16 => u64, "an integer within u16";
    u8 => u64, "an integer within u8";
    usize => u64, "an integer within usize";
}

impl FromValue for bool {
    const EXPECTED: &'static str = "a boolean";
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "a string";
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        value.take_string()
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "a value";
    /// Any value, null included (a missing column is an error).
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        Some(std::mem::replace(value, Value::Null))
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    #[inline]
    fn from_value(value: &mut Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }

    #[inline]
    fn missing() -> Option<Self> {
        Some(None)
    }
}
