//! ITFlow's `sanitizeInput()` (functions.php) as it shapes text replyd writes
//! into `logs` and `notifications`: PHP `strip_tags()` then PHP `trim()`.
//! (Its `mysqli_real_escape_string` step has no equivalent here: replyd binds
//! every value as a query parameter.)

/// PHP `trim()` default character list: " \t\n\r\0\x0B".
fn is_php_trim(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{0b}')
}

/// PHP `strip_tags($s)` without an allow list (`php_strip_tags_ex`): drops
/// `<tag ...>` (quote-aware, nested `<` counted), `<!-- -->` comments and
/// `<? ?>` blocks; a `<` followed by whitespace is kept as text, and an
/// unterminated tag swallows the rest of the string, as in PHP.
pub fn strip_tags(s: &str) -> String {
    #[derive(PartialEq)]
    enum State {
        Text,
        Tag,
        Php,
        Comment,
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut state = State::Text;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match state {
            State::Text => {
                if c == '<' {
                    match chars.get(i + 1) {
                        Some(n) if n.is_whitespace() => out.push('<'),
                        None => {}
                        Some('!')
                            if chars.get(i + 2) == Some(&'-') && chars.get(i + 3) == Some(&'-') =>
                        {
                            state = State::Comment;
                            i += 3;
                        }
                        Some('?') => {
                            state = State::Php;
                            i += 1;
                        }
                        Some(_) => {
                            state = State::Tag;
                            depth = 1;
                            quote = None;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            State::Tag => match (c, quote) {
                ('"' | '\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                ('<', None) => depth += 1,
                ('>', None) => {
                    depth -= 1;
                    if depth == 0 {
                        state = State::Text;
                    }
                }
                _ => {}
            },
            State::Php => {
                if c == '?' && chars.get(i + 1) == Some(&'>') {
                    state = State::Text;
                    i += 1;
                }
            }
            State::Comment => {
                if c == '-' && chars.get(i + 1) == Some(&'-') && chars.get(i + 2) == Some(&'>') {
                    state = State::Text;
                    i += 2;
                }
            }
        }
        i += 1;
    }
    out
}

/// ITFlow `sanitizeInput()` minus SQL escaping: `trim(strip_tags($s))`.
pub fn sanitize_input(s: &str) -> String {
    strip_tags(s).trim_matches(is_php_trim).to_string()
}

/// PHP `htmlspecialchars($s)` (PHP 8.1+ defaults: ENT_QUOTES): ITFlow runs
/// API key names through `htmlentities()` before putting them in logs; for
/// the ASCII names keys have, both give the same text.
pub fn html_special_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
    out
}

/// Cut `s` to at most `max_bytes` bytes on a character boundary (ITFlow's
/// `logAction()` applies `substr($description, 0, 1000)`; replyd never splits
/// a UTF-8 sequence, which PHP would and MariaDB would then refuse).
pub fn truncate_bytes(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_tags_matches_php() {
        // Expected values are PHP 8's strip_tags() output.
        let cases = [
            ("Printer not working", "Printer not working"),
            ("<b>bold</b> text", "bold text"),
            ("a < b", "a < b"),
            ("a > b", "a > b"),
            ("<a href=\"x>y\">link</a>", "link"),
            ("x<!-- hidden -->y", "xy"),
            ("x<?php echo 1; ?>y", "xy"),
            ("open <tag never closed", "open "),
            ("<<b>>x", "x"),
            ("Tom & Jerry", "Tom & Jerry"),
        ];
        for (input, want) in cases {
            assert_eq!(strip_tags(input), want, "strip_tags({input:?})");
        }
    }

    #[test]
    fn sanitize_input_trims_like_php() {
        assert_eq!(sanitize_input("  <i>Oracle</i> Admin \n"), "Oracle Admin");
        assert_eq!(sanitize_input("\u{a0}x"), "\u{a0}x");
    }

    #[test]
    fn html_special_chars_matches_php() {
        assert_eq!(
            html_special_chars(r#"R&D <bot> "x" 'y'"#),
            "R&amp;D &lt;bot&gt; &quot;x&quot; &#039;y&#039;"
        );
    }

    #[test]
    fn truncate_keeps_whole_characters() {
        assert_eq!(truncate_bytes("héllo", 2), "h");
        assert_eq!(truncate_bytes("héllo", 3), "hé");
        assert_eq!(truncate_bytes("abc", 10), "abc");
    }
}
