//! PHP `intval()` on a string (Zend `zval_get_long` → `is_numeric_string_ex`
//! with errors allowed, then `zend_dval_to_lval_cap` for float-like strings).
//!
//! ITFlow reads every integer parameter with `intval($_GET[..])` /
//! `intval($_POST[..])`, so replyd must turn the same strings into the same
//! numbers: `" 12abc"` is 12, `"1e3"` is 1000, `"abc"` is 0.

/// Whitespace PHP skips before a numeric string (`ZEND_STRTOL` rules:
/// space, \t, \n, \r, \v, \f).
fn is_php_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// PHP `intval($string)` for base 10.
pub fn intval(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_php_space(b[i]) {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut is_float = false;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        frac_digits = j - i - 1;
        if int_digits > 0 || frac_digits > 0 {
            is_float = true;
            i = j;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        // Not a numeric prefix at all ("abc", "", "-", "."): PHP gives 0.
        return 0;
    }
    // An exponent counts only when digits follow it ("1e3" but not "1e").
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            is_float = true;
            i = j;
        }
    }
    let text = &s[start..i];
    if !is_float {
        // Integer overflow makes PHP treat the string as a float, which is
        // then capped: the result saturates at i64::MIN / i64::MAX.
        return match text.parse::<i128>() {
            Ok(v) => v.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            Err(_) => {
                if text.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                }
            }
        };
    }
    let v: f64 = text.parse().unwrap_or(0.0);
    dval_to_lval_cap(v)
}

/// `zend_dval_to_lval_cap`: truncate toward zero, saturate out of range;
/// infinity and NaN are 0.
fn dval_to_lval_cap(v: f64) -> i64 {
    if !v.is_finite() {
        0
    } else {
        // `as` truncates toward zero and saturates, as the Zend helper does.
        v as i64
    }
}

#[cfg(test)]
mod tests {
    use super::intval;

    /// Each pair is PHP 8's own answer to `intval($input)`.
    const PHP_TABLE: &[(&str, i64)] = &[
        ("0", 0),
        ("1", 1),
        ("42", 42),
        ("-7", -7),
        ("+7", 7),
        ("  12", 12),
        ("\t\n\r\x0b\x0c5", 5),
        ("12abc", 12),
        ("12 ", 12),
        ("abc", 0),
        ("", 0),
        ("-", 0),
        ("+", 0),
        (".", 0),
        ("1.9", 1),
        ("-1.9", -1),
        (".5", 0),
        ("5.", 5),
        ("1e3", 1000),
        ("1E3", 1000),
        ("1e+3", 1000),
        ("25e-1", 2),
        ("1e", 1),
        ("1e+", 1),
        ("1.5e3xyz", 1500),
        ("0x1A", 0),
        ("012", 12),
        ("9223372036854775807", i64::MAX),
        ("9223372036854775808", i64::MAX),
        ("99999999999999999999999", i64::MAX),
        ("-9223372036854775808", i64::MIN),
        ("-99999999999999999999999", i64::MIN),
        ("1e999", 0),
        ("-1e999", 0),
        ("1e300", i64::MAX),
        ("-1e300", i64::MIN),
        (" - 5", 0),
        ("\u{a0}5", 0),
    ];

    #[test]
    fn matches_php_intval_table() {
        for (input, want) in PHP_TABLE {
            assert_eq!(intval(input), *want, "intval({input:?})");
        }
    }
}
