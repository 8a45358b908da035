//! Small PHP helpers the queued ticket email needs.

/// ITFlow's `formatPhoneNumber($phone, $country_code)` (functions/format.php)
/// for North American numbers; other countries keep their digits, which is
/// ITFlow's own fallback.
pub fn format_phone_number(phone: &str, country_code: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return phone.to_string();
    }
    if country_code == "1" && digits.len() == 10 {
        return format!("({}) {}-{}", &digits[..3], &digits[3..6], &digits[6..]);
    }
    digits
}

/// A plain approximation of PHP's `filter_var($email, FILTER_VALIDATE_EMAIL)`:
/// one `@`, a non-empty local part, a dotted domain, no spaces or controls.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let ok_chars = |s: &str| s.chars().all(|c| c.is_ascii_graphic() && c != '@');
    !local.is_empty()
        && local.len() <= 64
        && ok_chars(local)
        && ok_chars(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        assert_eq!(format_phone_number("555-123-4567", "1"), "(555) 123-4567");
        assert_eq!(
            format_phone_number("+44 20 7946 0958", "44"),
            "442079460958"
        );
        assert_eq!(format_phone_number("n/a", "1"), "n/a");
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("carla@acme.example"));
        for bad in [
            "",
            "carla",
            "@acme.example",
            "carla@acme",
            "carla@.acme",
            "a b@c.de",
            "a@b@c.de",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
