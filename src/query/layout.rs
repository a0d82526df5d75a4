//! Positional mapping: how a struct's fields line up with a series'
//! columns and tags, worked out once per series instead of matching every
//! key of every row by name.
//!
//! serde's derived `visit_seq` fills a struct's fields in the order of the
//! `fields` list it passes to `deserialize_struct`. When every field names
//! exactly one column or tag of the series, the row can be handed over as a
//! sequence in that order and give the same struct as the map of
//! `column → value`, without a key per cell. What could make the two differ
//! is checked:
//! - a field with no column or tag (its default or `None` is serde's
//!   business) or duplicate names: no layout, rows go by name;
//! - fields declared out of column order: cells are scanned once, in
//!   order, so a cell passed over for a later column is kept aside until
//!   its field comes (up to [`PARKING`] columns in);
//! - columns and tags no field names: allowed only when the type ignores
//!   unknown keys (no `deny_unknown_fields`, no catch-all), which
//!   [`ignores_unknown`] finds out once;
//! - a `fields` list longer than what `visit_seq` reads (serde lists a
//!   field's aliases there too) or a type whose visitor has no `visit_seq`:
//!   seen on the first row, which is then mapped again by name, and the
//!   layout is switched off; the same for an error on the first row (a
//!   field shifted by an alias may fail). Paths that move strings out of a
//!   row only use a layout once a row has confirmed it.
//! - an error in a confirmed layout: the row is mapped again by name, so
//!   that the error names the cell mapping by name finds first (but for
//!   rows whose strings were moved out: those report the first bad field).
//!
//! What this cannot see: a hand-written `visit_seq` that reads the fields in
//! another order than its `fields` list, or swallows element errors.
//! serde's own formats (bincode, postcard) rely on that order too.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

use super::{DecodeError, SeriesMeta};

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The cell of column `n`.
    Column(usize),
    /// The value of tag `n` of the series.
    Tag(usize),
}

const UNVERIFIED: u8 = 0;
const VERIFIED: u8 = 1;
const OFF: u8 = 2;

/// How many cells a row may hold back for fields declared after others
/// that come later in the row (see [`Layout::parks`]).
pub(crate) const PARKING: usize = 16;

/// The sources of one struct's fields in one series.
pub(crate) struct Layout {
    /// The `fields` list it was made for (compared by address).
    fields: &'static [&'static str],
    /// One per field, in the order of `fields`; empty when off.
    sources: Box<[Source]>,
    /// Bit `c`: column `c` is passed over to reach a later column and read
    /// afterwards, so it is kept aside (`c < PARKING`).
    parks: u64,
    /// `ignores_unknown::<T>` of the type it was made for.
    probe: fn() -> bool,
    state: AtomicU8,
}

impl Layout {
    fn new(meta: &SeriesMeta, fields: &'static [&'static str], probe: fn() -> bool) -> Self {
        let sources = sources(meta, fields, probe).unwrap_or_default();
        let parks = parks(&sources);
        let state = match parks {
            Some(_) if !sources.is_empty() => UNVERIFIED,
            _ => OFF,
        };
        Layout {
            fields,
            sources,
            parks: parks.unwrap_or(0),
            probe,
            state: AtomicU8::new(state),
        }
    }

    /// The sources, one per field.
    #[inline]
    pub(crate) fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The columns to keep aside when passed over (bit `c` for column `c`).
    #[inline]
    pub(crate) fn parks(&self) -> u64 {
        self.parks
    }

    /// Whether a row has confirmed the layout.
    #[inline]
    pub(crate) fn verified(&self) -> bool {
        self.state.load(Ordering::Relaxed) == VERIFIED
    }

    /// A row mapped positionally with every field read.
    #[inline]
    pub(crate) fn verify(&self) {
        if self.state.load(Ordering::Relaxed) == UNVERIFIED {
            let _ = self.state.compare_exchange(
                UNVERIFIED,
                VERIFIED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Positional mapping does not fit the type: rows go by name from now on.
    pub(crate) fn switch_off(&self) {
        self.state.store(OFF, Ordering::Relaxed);
    }

    #[inline]
    fn on(&self) -> bool {
        self.state.load(Ordering::Relaxed) != OFF
    }
}

/// The sources of `fields` in `meta`, if positional mapping can give what
/// mapping by name gives.
fn sources(
    meta: &SeriesMeta,
    fields: &'static [&'static str],
    probe: fn() -> bool,
) -> Option<Box<[Source]>> {
    let columns = meta.columns();
    let tags: Vec<(usize, &str)> = meta
        .tags()
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| !columns.contains(k))
        .map(|(i, (k, _))| (i, k.as_str()))
        .collect();
    let keys = columns.len() + tags.len();
    if fields.is_empty() || fields.len() > keys {
        return None;
    }
    let mut names: Vec<&str> = columns.iter().map(String::as_str).collect();
    names.extend(tags.iter().map(|(_, k)| *k));
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let mut out = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        if fields[..i].contains(field) {
            return None;
        }
        let source = match columns.iter().position(|c| c == field) {
            Some(c) => Source::Column(c),
            None => Source::Tag(tags.iter().find(|(_, k)| k == field)?.0),
        };
        out.push(source);
    }
    if fields.len() < keys && !probe() {
        return None;
    }
    Some(out.into_boxed_slice())
}

/// The columns read after a later one (cells are scanned once, in
/// order, so these are kept aside when passed over); `None` if one of
/// them is past [`PARKING`].
fn parks(sources: &[Source]) -> Option<u64> {
    let mut parks = 0u64;
    let mut next = 0;
    for (i, source) in sources.iter().enumerate() {
        let Source::Column(c) = *source else { continue };
        if c < next {
            continue;
        }
        // Passing over `next..c`: keep those a later field reads.
        for later in &sources[i + 1..] {
            if let Source::Column(l) = *later {
                if (next..c).contains(&l) {
                    if l >= PARKING {
                        return None;
                    }
                    parks |= 1 << l;
                }
            }
        }
        next = c + 1;
    }
    Some(parks)
}

/// The layouts a series has been mapped with: one, for the first type
/// mapped (a query maps all its rows onto one type).
#[derive(Default)]
pub(crate) struct Layouts(OnceLock<Layout>);

impl Layouts {
    /// The layout for `fields`, if positional mapping is on for them.
    #[inline]
    pub(crate) fn get(
        &self,
        meta: &SeriesMeta,
        fields: &'static [&'static str],
        probe: fn() -> bool,
    ) -> Option<&Layout> {
        let layout = self.0.get_or_init(|| Layout::new(meta, fields, probe));
        // Equal `fields` lists of two types may share an address: the probe
        // (one function per type, unless their code is the same) tells
        // them apart.
        let same = std::ptr::eq(layout.fields, fields) && layout.probe as usize == probe as usize;
        (same && layout.on()).then_some(layout)
    }

    /// Whether rows may move strings out: no layout waits for a row to
    /// confirm it.
    #[inline]
    pub(crate) fn settled(&self) -> bool {
        self.0
            .get()
            .is_some_and(|l| l.state.load(Ordering::Relaxed) != UNVERIFIED)
    }
}

impl Clone for Layouts {
    fn clone(&self) -> Self {
        Layouts::default()
    }
}

impl PartialEq for Layouts {
    /// A cache: not part of the series' identity.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Layouts {}

impl fmt::Debug for Layouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Layouts")
    }
}

/// Whether `T`, read as a map, skips a key it has no field for (reading its
/// value as `IgnoredAny`) rather than refusing it or keeping it.
///
/// The probe is a map no real row looks like (one unknown key, no field):
/// a hand-written `Deserialize` that panics on it, where it should return
/// an error, counts as not ignoring unknown keys instead of taking the
/// query down.
pub(crate) fn ignores_unknown<'de, T: de::Deserialize<'de>>() -> bool {
    let seen = Seen::default();
    let probe = || {
        let _ = T::deserialize(Probe {
            seen: &seen,
            _de: PhantomData,
        });
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(probe)).is_ok()
        && seen.struct_read.get()
        && seen.ignored.get()
        && !seen.refused.get()
        && !seen.kept.get()
}

/// The key no field is expected to have.
const PROBE_KEY: &str = "\u{0}influx-stream probe";

#[derive(Default)]
struct Seen {
    struct_read: Cell<bool>,
    refused: Cell<bool>,
    ignored: Cell<bool>,
    kept: Cell<bool>,
}

struct Probe<'p, 'de> {
    seen: &'p Seen,
    _de: PhantomData<&'de ()>,
}

fn probe_error() -> DecodeError {
    DecodeError::new("probe")
}

impl<'de> Deserializer<'de> for Probe<'_, 'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DecodeError> {
        Err(probe_error())
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if fields.contains(&PROBE_KEY) {
            return Err(probe_error());
        }
        self.seen.struct_read.set(true);
        visitor.visit_map(ProbeMap {
            seen: self.seen,
            sent: false,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

struct ProbeMap<'p> {
    seen: &'p Seen,
    sent: bool,
}

impl<'de> MapAccess<'de> for ProbeMap<'_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.sent {
            return Ok(None);
        }
        self.sent = true;
        let key = de::value::StrDeserializer::<DecodeError>::new(PROBE_KEY);
        match seed.deserialize(key) {
            Ok(k) => Ok(Some(k)),
            Err(e) => {
                self.seen.refused.set(true);
                Err(e)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(ProbeValue { seen: self.seen })
    }
}

/// The value of the unknown key: records whether it was skipped.
struct ProbeValue<'p> {
    seen: &'p Seen,
}

impl<'de> Deserializer<'de> for ProbeValue<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DecodeError> {
        self.seen.kept.set(true);
        Err(probe_error())
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.seen.ignored.set(true);
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        struct enum identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parks_what_a_later_field_reads() {
        use Source::{Column as C, Tag as T};
        assert_eq!(parks(&[C(0), C(1), T(0), C(5)]), Some(0));
        // `c15` first passes over 0 and 3, which come later.
        assert_eq!(parks(&[C(15), C(3), C(19), C(0)]), Some(1 << 3 | 1));
        assert_eq!(parks(&[C(2), C(0), C(1)]), Some(0b11));
        // Column 17 would be kept aside: past PARKING.
        assert_eq!(parks(&[C(18), C(17)]), None);
        assert_eq!(parks(&[C(17), C(18)]), Some(0));
    }
}
