//! Values as mysqli's text protocol hands them to PHP: every non-NULL value
//! a string, formatted as MariaDB formats it (`2026-11-22 02:42:40`,
//! `00:10:00`, `42`). replyd reads over the binary protocol (prepared
//! statements), so the text is rebuilt from the value and its column type.
//!
//! Built for the read path, which formats every value of a page: nothing is
//! allocated unless a column needs it (ZEROFILL wider than the scratch
//! buffer, a byte string that is not UTF-8); numbers and dates are written
//! into a small buffer the caller reuses.

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};
use std::borrow::Cow;

/// Scratch space for one formatted number, date or time.
#[derive(Debug)]
pub struct TextBuf {
    bytes: [u8; 48],
    len: usize,
}

impl Default for TextBuf {
    fn default() -> Self {
        Self {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl TextBuf {
    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// `n` in decimal, at least `width` digits (zero-padded; width ≤ 6).
    fn digits(&mut self, n: u64, width: usize) {
        let mut itoa = itoa::Buffer::new();
        let s = itoa.format(n).as_bytes();
        for _ in s.len()..width {
            self.push(b"0");
        }
        self.push(s);
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever pushed.
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII")
    }
}

/// The string PHP would receive for `value` in `column`, or None for NULL.
/// Numbers and dates are written into `buf`.
pub fn php_text<'a>(
    value: &'a Value,
    column: &Column,
    buf: &'a mut TextBuf,
) -> Option<Cow<'a, str>> {
    buf.len = 0;
    match value {
        Value::NULL => return None,
        // A utf8mb4 column is always valid UTF-8 (std's check is much
        // faster than from_utf8_lossy's); anything else is converted lossily.
        Value::Bytes(b) => {
            return Some(match std::str::from_utf8(b) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(b),
            });
        }
        Value::Int(i) => {
            if *i < 0 {
                buf.push(b"-");
            }
            buf.digits(i.unsigned_abs(), 0);
            return Some(zero_fill(buf, column));
        }
        Value::UInt(u) => {
            buf.digits(*u, 0);
            return Some(zero_fill(buf, column));
        }
        // ticket_replies has no FLOAT/DOUBLE column; Rust's formatting is
        // not MariaDB's (README, known differences).
        Value::Float(f) => return Some(Cow::Owned(f.to_string())),
        Value::Double(d) => return Some(Cow::Owned(d.to_string())),
        Value::Date(y, mo, d, h, mi, s, us) => {
            buf.digits(u64::from(*y), 4);
            buf.push(b"-");
            buf.digits(u64::from(*mo), 2);
            buf.push(b"-");
            buf.digits(u64::from(*d), 2);
            if column.column_type() != ColumnType::MYSQL_TYPE_DATE {
                buf.push(b" ");
                clock(buf, u64::from(*h), *mi, *s, *us, column.decimals());
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            if *neg {
                buf.push(b"-");
            }
            clock(
                buf,
                u64::from(*days) * 24 + u64::from(*h),
                *mi,
                *s,
                *us,
                column.decimals(),
            );
        }
    }
    Some(Cow::Borrowed(buf.as_str()))
}

/// `hh:mm:ss` and the fraction MariaDB prints for the column's precision
/// (`DATETIME(3)` gives `.123`, plain `DATETIME` nothing).
fn clock(buf: &mut TextBuf, hours: u64, minutes: u8, seconds: u8, micros: u32, decimals: u8) {
    buf.digits(hours, 2);
    buf.push(b":");
    buf.digits(u64::from(minutes), 2);
    buf.push(b":");
    buf.digits(u64::from(seconds), 2);
    let digits = usize::from(decimals.min(6));
    if digits > 0 {
        buf.push(b".");
        let mut frac = TextBuf::default();
        frac.digits(u64::from(micros), 6);
        buf.push(&frac.bytes[..digits]);
    }
}

/// A `ZEROFILL` integer column pads to its display width, as MariaDB's
/// text protocol sends it (`INT(5) ZEROFILL` 42 is `00042`).
fn zero_fill<'a>(buf: &'a TextBuf, column: &Column) -> Cow<'a, str> {
    let width = column.column_length() as usize;
    let digits = buf.as_str();
    if column.flags().contains(ColumnFlags::ZEROFILL_FLAG) && digits.len() < width {
        Cow::Owned(format!("{digits:0>width$}"))
    } else {
        Cow::Borrowed(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Value, column: Column) -> Option<String> {
        let mut buf = TextBuf::default();
        php_text(&value, &column, &mut buf).map(Cow::into_owned)
    }

    #[test]
    fn numbers_as_mariadb_prints_them() {
        let int = || Column::new(ColumnType::MYSQL_TYPE_LONG);
        assert_eq!(text(Value::Int(-42), int()).as_deref(), Some("-42"));
        assert_eq!(
            text(Value::Int(i64::MIN), int()).as_deref(),
            Some("-9223372036854775808")
        );
        assert_eq!(
            text(Value::UInt(u64::MAX), int()).as_deref(),
            Some("18446744073709551615")
        );
        let filled = int()
            .with_flags(ColumnFlags::ZEROFILL_FLAG)
            .with_column_length(5);
        assert_eq!(
            text(Value::UInt(42), filled.clone()).as_deref(),
            Some("00042")
        );
        assert_eq!(text(Value::UInt(123456), filled).as_deref(), Some("123456"));
        assert_eq!(text(Value::NULL, int()), None);
    }

    #[test]
    fn dates_and_times_follow_column_type_and_precision() {
        let dt = |decimals| Column::new(ColumnType::MYSQL_TYPE_DATETIME).with_decimals(decimals);
        let v = || Value::Date(2026, 1, 2, 3, 4, 5, 123_456);
        assert_eq!(text(v(), dt(0)).as_deref(), Some("2026-01-02 03:04:05"));
        assert_eq!(text(v(), dt(3)).as_deref(), Some("2026-01-02 03:04:05.123"));
        assert_eq!(
            text(Value::Date(2026, 1, 2, 3, 4, 5, 5), dt(6)).as_deref(),
            Some("2026-01-02 03:04:05.000005")
        );
        let date = Column::new(ColumnType::MYSQL_TYPE_DATE);
        assert_eq!(
            text(Value::Date(987, 12, 31, 0, 0, 0, 0), date).as_deref(),
            Some("0987-12-31")
        );
        let time = Column::new(ColumnType::MYSQL_TYPE_TIME);
        assert_eq!(
            text(Value::Time(false, 0, 0, 10, 0, 0), time.clone()).as_deref(),
            Some("00:10:00")
        );
        assert_eq!(
            text(Value::Time(true, 34, 22, 59, 59, 0), time).as_deref(),
            Some("-838:59:59")
        );
    }

    #[test]
    fn byte_strings_are_borrowed_when_utf8() {
        let col = Column::new(ColumnType::MYSQL_TYPE_VAR_STRING);
        let v = Value::Bytes("é/ü".as_bytes().to_vec());
        let mut buf = TextBuf::default();
        assert!(matches!(
            php_text(&v, &col, &mut buf),
            Some(Cow::Borrowed("é/ü"))
        ));
        assert_eq!(
            text(Value::Bytes(vec![b'a', 0xff]), col).as_deref(),
            Some("a\u{fffd}")
        );
    }
}
