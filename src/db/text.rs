//! Values as mysqli's text protocol hands them to PHP: every non-NULL value
//! a string, formatted as MariaDB formats it (`2026-11-22 02:42:40`,
//! `00:10:00`, `42`). replyd reads over the binary protocol (prepared
//! statements), so the text is rebuilt from the value and its column type.

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};

/// The string PHP would receive for `value` in `column`, or None for NULL.
pub fn to_php_text(value: Value, column: &Column) -> Option<String> {
    Some(match value {
        Value::NULL => return None,
        // Taken, not copied, when it is valid UTF-8 (it always is from a
        // utf8mb4 column).
        Value::Bytes(b) => String::from_utf8(b)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Value::Int(i) => zero_fill(i.to_string(), column),
        Value::UInt(u) => zero_fill(u.to_string(), column),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let date = format!("{y:04}-{mo:02}-{d:02}");
            if column.column_type() == ColumnType::MYSQL_TYPE_DATE {
                date
            } else {
                format!(
                    "{date} {h:02}:{mi:02}:{s:02}{}",
                    fraction(us, column.decimals())
                )
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(days) * 24 + u64::from(h);
            format!(
                "{}{hours:02}:{mi:02}:{s:02}{}",
                if neg { "-" } else { "" },
                fraction(us, column.decimals())
            )
        }
    })
}

/// A `ZEROFILL` integer column pads to its display width, as MariaDB's
/// text protocol sends it (`INT(5) ZEROFILL` 42 is `00042`).
fn zero_fill(digits: String, column: &Column) -> String {
    let width = column.column_length() as usize;
    if column.flags().contains(ColumnFlags::ZEROFILL_FLAG) && digits.len() < width {
        format!("{digits:0>width$}")
    } else {
        digits
    }
}

/// `.ffffff` cut to the column's fractional-second precision, as MariaDB
/// prints it (`DATETIME(3)` gives `.123`, plain `DATETIME` nothing).
fn fraction(micros: u32, decimals: u8) -> String {
    let digits = usize::from(decimals.min(6));
    if digits == 0 {
        return String::new();
    }
    let full = format!("{micros:06}");
    format!(".{}", &full[..digits])
}

#[cfg(test)]
mod tests {
    use super::fraction;

    #[test]
    fn fraction_follows_column_precision() {
        assert_eq!(fraction(123456, 0), "");
        assert_eq!(fraction(123456, 3), ".123");
        assert_eq!(fraction(5, 6), ".000005");
    }
}
