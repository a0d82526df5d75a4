//! What `#[derive(LineProtocol)]` expands to calls: one small trait per
//! role (field, Display tag, time, measurement), each a thin inlined call
//! into [`PointWriter`]. Public only for the generated code
//! (`influx_stream::__private`); not part of the API.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{self, Error};
use crate::line_protocol::PointWriter;
use crate::point::{FieldValue, Timestamp};

/// A member written as a field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written as an InfluxDB field",
    label = "unsupported field type",
    note = "fields can be f32, f64, integers up to 64 bits, bool, String, &str, Cow<str>, FieldValue, or an Option of those (None leaves the field out)",
    note = "mark the member #[influx(tag)] to write any Display type as a tag, or #[influx(skip)] to leave it out"
)]
pub trait Field {
    /// Adds `key=value` to the point, or nothing (an `Option` that is `None`).
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error>;
}

macro_rules! field {
    ($method:ident: $($t:ty),*) => {$(
        impl Field for $t {
            #[inline(always)]
            fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
                p.$method(key, (*self).into()).map(drop)
            }
        }
    )*};
}

field!(field_f64: f64, f32);
field!(field_i64: i64, i32, i16, i8, u32, u16, u8);
field!(field_u64: u64);
field!(field_bool: bool);

impl Field for isize {
    #[inline(always)]
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        // isize is at most 64 bits on every platform Rust supports.
        p.field_i64(key, *self as i64).map(drop)
    }
}

impl Field for usize {
    #[inline(always)]
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        p.field_u64(key, *self as u64).map(drop)
    }
}

macro_rules! field_str {
    ($($t:ty),*) => {$(
        impl Field for $t {
            #[inline(always)]
            fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
                p.field_str(key, self).map(drop)
            }
        }
    )*};
}

field_str!(str, String, Cow<'_, str>, Box<str>, Rc<str>, Arc<str>);

impl Field for FieldValue {
    #[inline]
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        p.field(key, self).map(drop)
    }
}

impl<T: Field + ?Sized> Field for &T {
    #[inline(always)]
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        (**self).write_field(p, key)
    }
}

impl<T: Field> Field for Option<T> {
    #[inline(always)]
    fn write_field(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        match self {
            Some(v) => v.write_field(p, key),
            None => Ok(()),
        }
    }
}

/// A tag member whose type is not spelled as text (`String`, `&str`,
/// `Cow<str>`, ...): written through its `Display` impl.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written as an InfluxDB tag",
    label = "a tag needs text or a Display type",
    note = "tags can be String, &str, Cow<str>, any Display type, or an Option of those (None leaves the tag out)"
)]
pub trait DisplayTag {
    /// Adds `,key=value` with the formatted value (left out when empty).
    fn write_tag(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error>;
}

impl<T: fmt::Display + ?Sized> DisplayTag for T {
    #[inline]
    fn write_tag(&self, p: &mut PointWriter<'_, '_>, key: &str) -> Result<(), Error> {
        let mut text = TagText::new();
        if write!(text, "{self}").is_err() {
            return Err(display_failed(key));
        }
        match text.as_str() {
            Some(s) => p.tag(key, s).map(drop),
            None => Err(display_failed(key)),
        }
    }
}

#[cold]
fn display_failed(key: &str) -> Error {
    error::encode(format!(
        "tag {key:?}: its Display implementation returned an error"
    ))
}

/// Formatted text on the stack, spilling to a `String` past `INLINE` bytes.
struct TagText {
    len: usize,
    bytes: [u8; TagText::INLINE],
    spill: Option<String>,
}

impl TagText {
    const INLINE: usize = 128;

    #[inline]
    fn new() -> Self {
        TagText {
            len: 0,
            bytes: [0; Self::INLINE],
            spill: None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match &self.spill {
            Some(s) => Some(s),
            // Only whole `&str`s are copied in, so this never fails.
            None => std::str::from_utf8(&self.bytes[..self.len]).ok(),
        }
    }
}

impl fmt::Write for TagText {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(spill) = &mut self.spill {
            spill.push_str(s);
        } else if let Some(dst) = self.bytes.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let head = std::str::from_utf8(&self.bytes[..self.len]).map_err(|_| fmt::Error)?;
            let mut spill = String::with_capacity(2 * (self.len + s.len()));
            spill.push_str(head);
            spill.push_str(s);
            self.spill = Some(spill);
        }
        Ok(())
    }
}

/// A member holding the point's time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a point's time",
    label = "unsupported time type",
    note = "the time can be i64 nanoseconds since the epoch, SystemTime, influx_stream::Timestamp, chrono's DateTime or NaiveDateTime (feature \"chrono\"), time's OffsetDateTime (feature \"time\"), or an Option of those (None lets the server stamp the point)"
)]
pub trait Time {
    /// Nanoseconds since the epoch, or none for the server's clock.
    fn nanos(&self) -> Option<i64>;
}

impl Time for i64 {
    #[inline(always)]
    fn nanos(&self) -> Option<i64> {
        Some(*self)
    }
}

impl Time for Timestamp {
    #[inline(always)]
    fn nanos(&self) -> Option<i64> {
        Some(self.0)
    }
}

impl Time for SystemTime {
    /// Saturates at the ends of the `i64` range, as `Timestamp::from`.
    #[inline]
    fn nanos(&self) -> Option<i64> {
        Some(Timestamp::from(*self).0)
    }
}

#[cfg(feature = "chrono")]
impl<Tz: chrono::TimeZone> Time for chrono::DateTime<Tz> {
    /// Saturates as `Timestamp::from`.
    #[inline]
    fn nanos(&self) -> Option<i64> {
        Some(Timestamp::from(self.clone()).0)
    }
}

#[cfg(feature = "chrono")]
impl Time for chrono::NaiveDateTime {
    /// Taken as UTC; saturates as `Timestamp::from`.
    #[inline]
    fn nanos(&self) -> Option<i64> {
        Some(Timestamp::from(*self).0)
    }
}

#[cfg(feature = "time")]
impl Time for time::OffsetDateTime {
    /// Saturates as `Timestamp::from`.
    #[inline]
    fn nanos(&self) -> Option<i64> {
        Some(Timestamp::from(*self).0)
    }
}

impl<T: Time + ?Sized> Time for &T {
    #[inline(always)]
    fn nanos(&self) -> Option<i64> {
        (**self).nanos()
    }
}

impl<T: Time> Time for Option<T> {
    #[inline(always)]
    fn nanos(&self) -> Option<i64> {
        self.as_ref().and_then(Time::nanos)
    }
}

/// A member holding the point's measurement name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a measurement name",
    label = "expected String, &str or Cow<str>",
    note = "a #[influx(measurement)] member is text: String, &str, Cow<str>, Box<str>, Rc<str> or Arc<str>"
)]
pub trait Measurement {
    /// The measurement name.
    fn measurement(&self) -> &str;
}

macro_rules! measurement {
    ($($t:ty),*) => {$(
        impl Measurement for $t {
            #[inline(always)]
            fn measurement(&self) -> &str {
                self
            }
        }
    )*};
}

measurement!(str, String, Cow<'_, str>, Box<str>, Rc<str>, Arc<str>);

impl<T: Measurement + ?Sized> Measurement for &T {
    #[inline(always)]
    fn measurement(&self) -> &str {
        (**self).measurement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncodeOptions, LineWriter};

    struct Shown(&'static str, usize);

    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for _ in 0..self.1 {
                f.write_str(self.0)?;
            }
            Ok(())
        }
    }

    fn tag(value: &dyn fmt::Display) -> Result<String, Error> {
        let mut buf = Vec::new();
        {
            let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
            let mut p = w.point("m")?;
            DisplayTag::write_tag(value, &mut p, "k")?;
            p.field_i64("f", 1)?.finish(None)?;
        }
        Ok(String::from_utf8(buf).unwrap_or_default())
    }

    #[test]
    fn display_tags_short_long_and_empty() -> Result<(), Error> {
        assert_eq!(tag(&Shown("ab c", 2))?, "m,k=ab\\ cab\\ c f=1i\n");
        // Past the inline buffer, in several pieces: spilled whole, in order.
        let long = tag(&Shown("0123456789", 30))?;
        assert_eq!(long, format!("m,k={} f=1i\n", "0123456789".repeat(30)));
        // Multi-byte characters across the spill point stay intact.
        let wide = tag(&Shown("é", 100))?;
        assert_eq!(wide, format!("m,k={} f=1i\n", "é".repeat(100)));
        assert_eq!(tag(&Shown("x", 0))?, "m f=1i\n");
        Ok(())
    }
}
