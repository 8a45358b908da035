//! Helpers that reproduce PHP behaviour ITFlow's clients depend on.
//!
//! Each function cites the PHP function it mirrors; the tests beside them are
//! tables of PHP's own answers.

pub mod config_php;
pub mod intval;
pub mod json;
pub mod mail;
pub mod sanitize;

pub use intval::intval;
pub use json::to_json_bytes;
pub use mail::{format_phone_number, is_valid_email};
pub use sanitize::{html_special_chars, sanitize_input, truncate_bytes};
