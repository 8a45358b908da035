//! Who sent a request, as ITFlow's audit rows (`logs`) record it.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// `logs.log_ip`.
    pub ip: String,
    /// `logs.log_user_agent`, as ITFlow's `sanitizeInput()` leaves it, cut
    /// to the column's 250 characters.
    pub user_agent: String,
    /// The path without the query string (which may hold the key).
    pub path: String,
}
