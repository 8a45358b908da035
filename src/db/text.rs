//! Values as mysqli's text protocol hands them to PHP: every non-NULL value
//! a string, formatted as MariaDB formats it (`2026-11-22 02:42:40`,
//! `00:10:00`, `42`). replyd reads over the binary protocol (prepared
//! statements), so the text is rebuilt from the value and its column type.
//!
//! Built for the read path, which formats every value of a page: nothing is
//! allocated unless a column needs it (ZEROFILL wider than the scratch
//! buffer, a byte string that is not UTF-8); numbers and dates are written
//! into a small buffer the caller reuses.

use crate::php::json::{write_json_bytes, write_json_str};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};
use std::borrow::Cow;

/// Scratch space for one formatted number, date or time (a `String`, so
/// reading it back needs no UTF-8 check; it is cleared, never shrunk).
#[derive(Debug, Default)]
pub struct TextBuf(String);

impl TextBuf {
    fn push(&mut self, s: &str) {
        self.0.push_str(s);
    }

    /// `n` in decimal, at least `width` digits (zero-padded; width ≤ 6).
    fn digits(&mut self, n: u64, width: usize) {
        let mut itoa = itoa::Buffer::new();
        let s = itoa.format(n);
        for _ in s.len()..width {
            self.push("0");
        }
        self.push(s);
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// The string PHP would receive for `value` in `column`, or None for NULL.
/// Numbers and dates are written into `buf`.
pub fn php_text<'a>(
    value: &'a Value,
    column: &Column,
    buf: &'a mut TextBuf,
) -> Option<Cow<'a, str>> {
    buf.0.clear();
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
                buf.push("-");
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
            buf.push("-");
            buf.digits(u64::from(*mo), 2);
            buf.push("-");
            buf.digits(u64::from(*d), 2);
            if column.column_type() != ColumnType::MYSQL_TYPE_DATE {
                buf.push(" ");
                clock(buf, u64::from(*h), *mi, *s, *us, column.decimals());
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            if *neg {
                buf.push("-");
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

/// `php_text(value)` as `write_json_str` writes it, or `null`, appended to
/// `out` (read.php's answer, value by value). Byte strings are escaped
/// straight from the database's bytes; every other value's text is
/// digits, signs and punctuation that JSON never escapes, so it is copied
/// between quotes without a scan.
pub fn write_json_value(out: &mut Vec<u8>, value: &Value, column: &Column, buf: &mut TextBuf) {
    match value {
        Value::NULL => return out.extend_from_slice(b"null"),
        Value::Bytes(bytes) => return write_json_bytes(out, bytes),
        // The common cases, written straight onto `out`: an integer
        // without ZEROFILL, a DATETIME without fraction.
        Value::Int(_) | Value::UInt(_) if !column.flags().contains(ColumnFlags::ZEROFILL_FLAG) => {
            let mut itoa = itoa::Buffer::new();
            let digits = match value {
                Value::Int(i) => itoa.format(*i),
                Value::UInt(u) => itoa.format(*u),
                _ => unreachable!("matched above"),
            };
            out.push(b'"');
            out.extend_from_slice(digits.as_bytes());
            out.push(b'"');
            return;
        }
        &Value::Date(y, mo, d, h, mi, s, _)
            if y <= 9999
                && column.column_type() != ColumnType::MYSQL_TYPE_DATE
                && column.decimals() == 0 =>
        {
            let two = |n: u8| {
                let at = 2 * usize::from(n % 100);
                [DIGIT_PAIRS[at], DIGIT_PAIRS[at + 1]]
            };
            let (century, year) = ((y / 100) as u8, (y % 100) as u8);
            let mut text = *b"\"0000-00-00 00:00:00\"";
            text[1..3].copy_from_slice(&two(century));
            text[3..5].copy_from_slice(&two(year));
            text[6..8].copy_from_slice(&two(mo));
            text[9..11].copy_from_slice(&two(d));
            text[12..14].copy_from_slice(&two(h));
            text[15..17].copy_from_slice(&two(mi));
            text[18..20].copy_from_slice(&two(s));
            out.extend_from_slice(&text);
            return;
        }
        _ => {}
    }
    match php_text(value, column, buf) {
        None => out.extend_from_slice(b"null"),
        Some(text) => {
            debug_assert!({
                let mut check = Vec::new();
                write_json_str(&mut check, &text);
                check.len() == text.len() + 2
            });
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
    }
}

/// "00" to "99", side by side: two digits without a division each.
static DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        t[2 * n] = b'0' + (n / 10) as u8;
        t[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    t
};

/// `hh:mm:ss` and the fraction MariaDB prints for the column's precision
/// (`DATETIME(3)` gives `.123`, plain `DATETIME` nothing).
fn clock(buf: &mut TextBuf, hours: u64, minutes: u8, seconds: u8, micros: u32, decimals: u8) {
    buf.digits(hours, 2);
    buf.push(":");
    buf.digits(u64::from(minutes), 2);
    buf.push(":");
    buf.digits(u64::from(seconds), 2);
    let digits = usize::from(decimals.min(6));
    if digits > 0 {
        buf.push(".");
        let mut frac = TextBuf::default();
        frac.digits(u64::from(micros), 6);
        buf.push(&frac.as_str()[..digits]);
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
    fn json_values_are_the_escaped_text() {
        let col = |t| Column::new(t).with_decimals(6);
        let plain = Column::new;
        let filled = Column::new(ColumnType::MYSQL_TYPE_LONG)
            .with_flags(ColumnFlags::ZEROFILL_FLAG)
            .with_column_length(3);
        let cases = [
            (Value::NULL, col(ColumnType::MYSQL_TYPE_LONG)),
            (Value::Int(-42), col(ColumnType::MYSQL_TYPE_LONG)),
            (Value::UInt(u64::MAX), col(ColumnType::MYSQL_TYPE_LONGLONG)),
            (Value::Float(-1.5e20), col(ColumnType::MYSQL_TYPE_FLOAT)),
            (Value::Double(f64::NAN), col(ColumnType::MYSQL_TYPE_DOUBLE)),
            (
                Value::Date(2026, 1, 2, 3, 4, 5, 6),
                col(ColumnType::MYSQL_TYPE_DATETIME),
            ),
            (
                Value::Date(987, 12, 31, 23, 59, 9, 0),
                plain(ColumnType::MYSQL_TYPE_DATETIME),
            ),
            (
                Value::Date(2026, 11, 22, 0, 0, 0, 0),
                plain(ColumnType::MYSQL_TYPE_TIMESTAMP),
            ),
            (
                Value::Date(2026, 11, 22, 0, 0, 0, 0),
                plain(ColumnType::MYSQL_TYPE_DATE),
            ),
            (Value::Int(i64::MIN), plain(ColumnType::MYSQL_TYPE_LONGLONG)),
            (Value::UInt(7), filled),
            (
                Value::Time(true, 1, 2, 3, 4, 5),
                col(ColumnType::MYSQL_TYPE_TIME),
            ),
            (
                Value::Bytes(b"a/\"\xff".to_vec()),
                col(ColumnType::MYSQL_TYPE_BLOB),
            ),
            (
                Value::Bytes("é".into()),
                col(ColumnType::MYSQL_TYPE_VAR_STRING),
            ),
        ];
        for (value, column) in cases {
            let mut got = Vec::new();
            write_json_value(&mut got, &value, &column, &mut TextBuf::default());
            let want = match text(value.clone(), column) {
                Some(t) => {
                    let mut w = Vec::new();
                    write_json_str(&mut w, &t);
                    w
                }
                None => b"null".to_vec(),
            };
            assert_eq!(got, want, "{value:?}");
        }
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
