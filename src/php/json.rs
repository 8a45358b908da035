//! PHP `json_encode()` with default flags (ext/json `php_json_escape_string`):
//! `/` is written `\/`, every non-ASCII character is written `\uXXXX` in
//! lowercase hex (UTF-16 surrogate pairs above U+FFFF), and `< > & '` are left
//! as they are. serde_json already matches PHP for `"`, `\`, the short control
//! escapes and `\u00XX` for other control characters.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};
use wide::i8x16;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `ch` as PHP writes a non-ASCII character: `\uXXXX`, lowercase, twice
/// (a UTF-16 surrogate pair) above U+FFFF.
fn u_escapes(ch: char) -> UEscapes {
    let mut units = [0u16; 2];
    let mut out = UEscapes([0; 12], 0);
    for unit in ch.encode_utf16(&mut units) {
        let u = *unit as usize;
        out.0[out.1..out.1 + 6].copy_from_slice(&[
            b'\\',
            b'u',
            HEX[(u >> 12) & 0xf],
            HEX[(u >> 8) & 0xf],
            HEX[(u >> 4) & 0xf],
            HEX[u & 0xf],
        ]);
        out.1 += 6;
    }
    out
}

/// Up to two `\uXXXX` escapes, without allocating.
struct UEscapes([u8; 12], usize);

impl std::ops::Deref for UEscapes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0[..self.1]
    }
}

/// A serde_json formatter that writes strings as PHP's `json_encode` does.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhpFormatter;

impl Formatter for PhpFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        // serde_json has already escaped `"`, `\` and control characters
        // around this fragment; the one escaper below adds PHP's `\/` and
        // `\uXXXX`. (Only small answers go through serde: the copy is cheap.)
        let mut escaped = Vec::with_capacity(fragment.len() + 8);
        push_escaped(&mut escaped, fragment);
        writer.write_all(&escaped)
    }
}

/// Serialise `value` exactly as PHP's `json_encode($value)` would.
pub fn to_json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PhpFormatter);
    // Serialising our own plain data types cannot fail.
    value
        .serialize(&mut ser)
        .expect("serialising response JSON");
    out
}

/// What `write_json_str` does with each byte: 0 copy, b'u' `\u00XX`,
/// b'/' and b'U' (a non-ASCII lead byte) PHP's extras, else the short escape.
static ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'/' as usize] = b'/';
    let mut i = 0x80;
    while i < 0x100 {
        t[i] = b'U';
        i += 1;
    }
    t
};

/// `s` as a JSON string, quoted, exactly as `to_json_bytes(s)` writes it
/// (PHP's `json_encode`), in one pass: for large answers built by hand.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// Raw bytes from the database as `write_json_str` writes the string PHP
/// holds for them: valid UTF-8 as it is, anything else as
/// `String::from_utf8_lossy` reads it. Text is checked as UTF-8 only from
/// its first non-ASCII byte on (ASCII needs no check, and most text is
/// ASCII), so the read path pays one pass instead of two.
pub fn write_json_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let mark = out.len();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if let Some(at) = push_escaped_ascii(out, bytes, 0) {
        match std::str::from_utf8(&bytes[at..]) {
            // Everything before `at` is ASCII, so `at` is a boundary.
            Ok(rest) => push_escaped(out, rest),
            Err(_) => {
                out.truncate(mark);
                write_json_str(out, &String::from_utf8_lossy(bytes));
                return;
            }
        }
    }
    out.push(b'"');
}

/// `s` as standard JSON (RFC 8259), as serde_json writes it: only `"`, `\\`
/// and control characters escaped; `/` and non-ASCII text as they are.
/// Not PHP's: for replyd's own v2 answers, built by hand like v1's.
pub fn write_plain_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while let Some(at) = next_escape_by(bytes, i, plain_mask, |b| {
        ESCAPES[b as usize] != 0 && !matches!(ESCAPES[b as usize], b'/' | b'U')
    }) {
        out.extend_from_slice(&bytes[start..at]);
        let b = bytes[at] as usize;
        match ESCAPES[b] {
            b'u' => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xf]]),
            short => out.extend_from_slice(&[b'\\', short]),
        }
        i = at + 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Raw bytes from the database as [`write_plain_json_str`] writes their
/// text (anything not UTF-8 as `String::from_utf8_lossy` reads it).
pub fn write_plain_json_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => write_plain_json_str(out, s),
        Err(_) => write_plain_json_str(out, &String::from_utf8_lossy(bytes)),
    }
}

/// The escaped body of `s`.
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let mut i = 0;
    while let Some(at) = push_escaped_ascii(out, s.as_bytes(), i) {
        // `at` is a character boundary: only whole characters are stepped
        // over.
        let ch = s[at..].chars().next().expect("a character at `at`");
        out.extend_from_slice(&u_escapes(ch));
        i = at + ch.len_utf8();
    }
}

/// Writes `bytes[from..]` escaped up to its first non-ASCII byte, whose
/// position it returns (None: all written).
#[inline(always)]
fn push_escaped_ascii(out: &mut Vec<u8>, bytes: &[u8], from: usize) -> Option<usize> {
    let mut start = from;
    let mut i = from;
    while let Some(at) = next_escape(bytes, i) {
        i = at;
        out.extend_from_slice(&bytes[start..i]);
        match ESCAPES[bytes[i] as usize] {
            b'U' => return Some(i),
            b'u' => {
                let b = bytes[i] as usize;
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xf]]);
            }
            short => out.extend_from_slice(&[b'\\', short]),
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    None
}

/// The position of the first byte at or after `from` that `ESCAPES` marks,
/// sixteen bytes at a time (one SSE2 register on x86-64; `wide` picks the
/// instructions, or plain code elsewhere). The last chunk is the text's
/// last sixteen bytes, overlapping what was already scanned; text shorter
/// than that is scanned a byte at a time.
#[inline]
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    next_escape_by(bytes, from, escape_mask, |b| ESCAPES[b as usize] != 0)
}

/// The position of the first byte at or after `from` that `marks` (sixteen
/// at a time: `mask`) picks out.
#[inline(always)]
fn next_escape_by(
    bytes: &[u8],
    from: usize,
    mask: fn([u8; 16]) -> u32,
    marks: impl Fn(u8) -> bool,
) -> Option<usize> {
    let escape_mask = mask;
    let len = bytes.len();
    if len < 16 {
        return bytes[from..]
            .iter()
            .position(|&b| marks(b))
            .map(|p| from + p);
    }
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 16) {
        let mask = escape_mask(chunk.try_into().expect("sixteen bytes"));
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize);
        }
        i += 16;
    }
    if i >= len {
        return None;
    }
    let last = len - 16;
    let tail: [u8; 16] = bytes[last..].try_into().expect("sixteen bytes");
    // Bit k of the shifted mask is byte i + k.
    let mask = escape_mask(tail) >> (i - last);
    (mask != 0).then(|| i + mask.trailing_zeros() as usize)
}

/// Bit k set when byte k of `chunk` is one `ESCAPES` marks: a control
/// character, `"`, `\\`, `/` or non-ASCII. As signed bytes, control
/// characters and every non-ASCII byte (0x80 and up, negative) are the
/// ones below 0x20, so one comparison finds both.
#[inline]
fn escape_mask(chunk: [u8; 16]) -> u32 {
    let x = i8x16::from_ne_bytes(chunk);
    let is = |b: u8| x.simd_eq(i8x16::splat(b as i8));
    (x.simd_lt(i8x16::splat(0x20)) | is(b'"') | is(b'\\') | is(b'/')).to_bitmask()
}

/// Bit k set when byte k of `chunk` needs escaping in standard JSON: a
/// control character (0x00 to 0x1f, not the negative non-ASCII bytes),
/// `"` or `\\`.
#[inline]
fn plain_mask(chunk: [u8; 16]) -> u32 {
    let x = i8x16::from_ne_bytes(chunk);
    let is = |b: u8| x.simd_eq(i8x16::splat(b as i8));
    let control = x.simd_lt(i8x16::splat(0x20)) & x.simd_gt(i8x16::splat(-1));
    (control | is(b'"') | is(b'\\')).to_bitmask()
}

#[cfg(test)]
mod tests {
    use super::{to_json_bytes, write_json_bytes, write_json_str};

    #[test]
    fn plain_json_is_serde_jsons() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "<p>a/b</p> é ü 😀 \"q\" \\ back".into(),
            "\u{0}\u{1f}\t\n\r\u{8}\u{c}\u{7f}".into(),
        ];
        // An escape at every position of a long text, around the chunks.
        for at in 0..40 {
            for c in ['"', '\\', '\n', '\u{1}', 'é', '/'] {
                let mut t: String = "x".repeat(40);
                t.insert(at, c);
                samples.push(t);
            }
        }
        for s in samples {
            let mut out = Vec::new();
            super::write_plain_json_str(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap()
            );
        }
        let mut out = Vec::new();
        super::write_plain_json_bytes(&mut out, b"bad \xff byte");
        assert_eq!(out, "\"bad \u{fffd} byte\"".as_bytes());
    }

    #[test]
    fn write_json_str_matches_to_json_bytes() {
        let mut inputs: Vec<String> = (0u32..0x300)
            .chain([
                0x7ff, 0x800, 0x2028, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff,
            ])
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b{c}{c}"))
            .collect();
        inputs.push(String::new());
        // Every position in and around a sixteen-byte chunk.
        for special in [
            "\"", "\\", "/", "\u{1f}", "\u{0}", "\n", "é", "😀", "\u{7f}", " ", "~",
        ] {
            for offset in 0..40 {
                inputs.push(format!(
                    "{}{special}{}",
                    "x".repeat(offset),
                    "y".repeat(offset % 17)
                ));
            }
        }
        inputs.push("Unicode é/ü \"quote\" <b>bold</b> & 'apos' 😀 \\ \n\t\u{1}".into());
        for input in inputs {
            let mut out = Vec::new();
            write_json_str(&mut out, &input);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(to_json_bytes(&input)).unwrap(),
                "{input:?}"
            );
        }
    }

    /// Every pair of ASCII bytes side by side inside one chunk, each
    /// found (or passed over) as `ESCAPES` says.
    #[test]
    fn write_json_str_finds_the_first_escape_in_a_chunk() {
        for a in 0u8..0x80 {
            for b in 0u8..0x80 {
                let input = format!("xy{}{}z12345678", a as char, b as char);
                let mut out = Vec::new();
                write_json_str(&mut out, &input);
                assert_eq!(out, to_json_bytes(&input), "{input:?}");
            }
        }
    }

    /// Bytes give what their lossy text gives, wherever the first
    /// non-ASCII byte or the first invalid sequence falls.
    #[test]
    fn write_json_bytes_is_write_json_str_of_the_lossy_text() {
        let pieces: [&[u8]; 12] = [
            b"",
            b"x",
            b"/",
            b"\"",
            b"\n",
            "é".as_bytes(),
            "😀".as_bytes(),
            b"\xff",
            b"\xc3",
            b"\xe2\x82",
            b"\xed\xa0\x80",
            b"\x80abc",
        ];
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for a in pieces {
            for b in pieces {
                for pad in [0, 3, 9] {
                    let mut v = b"y".repeat(pad);
                    v.extend_from_slice(a);
                    v.extend_from_slice(b"z/");
                    v.extend_from_slice(b);
                    inputs.push(v);
                }
            }
        }
        for input in inputs {
            let mut got = b"[".to_vec();
            write_json_bytes(&mut got, &input);
            let mut want = b"[".to_vec();
            write_json_str(&mut want, &String::from_utf8_lossy(&input));
            assert_eq!(got, want, "{input:?}");
        }
    }

    fn enc(s: &str) -> String {
        String::from_utf8(to_json_bytes(s)).unwrap()
    }

    #[test]
    fn escapes_like_php_json_encode() {
        // Expected strings are PHP 8's json_encode() output.
        let cases = [
            ("plain", r#""plain""#),
            ("a/b", r#""a\/b""#),
            ("é", r#""\u00e9""#),
            ("ü€", r#""\u00fc\u20ac""#),
            ("😀", r#""\ud83d\ude00""#),
            ("\"q\" \\", r#""\"q\" \\""#),
            ("<b>&'", r#""<b>&'""#),
            ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#),
            ("\u{1}\u{1f}", r#""\u0001\u001f""#),
            ("\u{7f}", "\"\u{7f}\""),
            ("\u{2028}", r#""\u2028""#),
        ];
        for (input, want) in cases {
            assert_eq!(enc(input), want, "json_encode({input:?})");
        }
    }

    #[test]
    fn the_issue_example_is_byte_identical() {
        let v = serde_json::json!({
            "ticket_reply": "Unicode é/ü \"quote\" <b>bold</b> & 'apos' 😀",
            "ticket_reply_updated_at": null
        });
        assert_eq!(
            String::from_utf8(to_json_bytes(&v)).unwrap(),
            r#"{"ticket_reply":"Unicode \u00e9\/\u00fc \"quote\" <b>bold<\/b> & 'apos' \ud83d\ude00","ticket_reply_updated_at":null}"#
        );
    }
}
