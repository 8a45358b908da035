//! `markdown=1`: a reply written in Markdown, stored (and emailed) as the
//! HTML ITFlow's agent UI stores, made safe first.
//!
//! pulldown-cmark renders CommonMark (with tables and strikethrough, as
//! chat tools and ticket bridges write them); ammonia then keeps only an
//! allow-list of tags, attributes and URL schemes, so neither the Markdown
//! nor raw HTML inside it can carry scripts, event handlers or
//! `javascript:` links into ITFlow's pages and emails.

use pulldown_cmark::{Options, Parser, html};

/// The HTML of `markdown`, cleaned; surrounding whitespace trimmed.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut rendered, Parser::new_ext(markdown, options));
    ammonia::clean(&rendered).trim().to_owned()
}

/// `markdown`'s value: `1` or `true` (JSON `true` arrives as `1`) turns it
/// on; absent, empty, `0` or `false` leave it off (any case, trimmed).
/// None for anything else.
pub fn flag(value: Option<&str>) -> Option<bool> {
    let Some(v) = value.map(str::trim) else {
        return Some(false);
    };
    if v == "1" || v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_emphasis_links_and_tables() {
        assert_eq!(
            to_html("Fixed the **toner**, see _notes_."),
            "<p>Fixed the <strong>toner</strong>, see <em>notes</em>.</p>"
        );
        assert_eq!(
            to_html("| a | b |\n|---|---|\n| 1 | 2 |"),
            "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody></table>"
        );
        assert_eq!(
            to_html("[docs](https://example.com/x?a=1&b=2)"),
            "<p><a href=\"https://example.com/x?a=1&amp;b=2\" rel=\"noopener noreferrer\">docs</a></p>"
        );
        assert_eq!(to_html("a < b & c"), "<p>a &lt; b &amp; c</p>");
    }

    #[test]
    fn scripts_handlers_and_unsafe_urls_are_removed() {
        assert_eq!(
            to_html("Hi <script>alert(1)</script> there"),
            "<p>Hi  there</p>"
        );
        assert_eq!(to_html("<script>\nalert(1)\n</script>"), "");
        assert_eq!(
            to_html("<img src=\"x.png\" onerror=\"alert(1)\">"),
            "<img src=\"x.png\">"
        );
        assert_eq!(
            to_html("[click](javascript:alert(1))"),
            "<p><a rel=\"noopener noreferrer\">click</a></p>"
        );
        assert_eq!(
            to_html("<a href=\"javascript:alert(1)\" onclick=\"x()\">y</a>"),
            "<p><a rel=\"noopener noreferrer\">y</a></p>"
        );
        assert_eq!(
            to_html("<iframe src=\"https://evil.example\"></iframe>ok"),
            "ok"
        );
    }

    #[test]
    fn flags() {
        for on in ["1", "true", " TRUE "] {
            assert_eq!(flag(Some(on)), Some(true), "{on}");
        }
        for off in [None, Some(""), Some("0"), Some("false"), Some("False")] {
            assert_eq!(flag(off), Some(false), "{off:?}");
        }
        for bad in ["yes", "2", "on"] {
            assert_eq!(flag(Some(bad)), None, "{bad}");
        }
    }
}
