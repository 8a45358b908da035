//! Ticket statuses named by name (`status=Resolved`, `status=on hold`) in
//! the legacy dialect's create.

/// A `ticket_statuses` row, as the create reads the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub id: i64,
    pub name: String,
    pub active: bool,
}

/// The active status called `name` (trimmed, case-insensitive); the
/// lowest id when several are.
pub fn find_by_name(statuses: &[StatusEntry], name: &str) -> Option<i64> {
    let want = name.trim().to_lowercase();
    statuses
        .iter()
        .filter(|s| s.active && s.name.trim().to_lowercase() == want)
        .map(|s| s.id)
        .min()
}

/// The names a reply may set on a ticket now: the agent reply form's
/// choice (every active status but New and Closed, and not Resolved while
/// the ticket has tasks not completed), in id order.
pub fn accepted_names(statuses: &[StatusEntry], open_tasks: i64) -> Vec<String> {
    use crate::domain::reply::{STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
    let mut accepted: Vec<&StatusEntry> = statuses
        .iter()
        .filter(|s| s.active && s.id != STATUS_NEW && s.id != STATUS_CLOSED)
        .filter(|s| !(s.id == STATUS_RESOLVED && open_tasks > 0))
        .collect();
    accepted.sort_by_key(|s| s.id);
    accepted.into_iter().map(|s| s.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> Vec<StatusEntry> {
        ["New", "Open", "On Hold", "Resolved", "Closed", "Waiting"]
            .iter()
            .enumerate()
            .map(|(i, name)| StatusEntry {
                id: i as i64 + 1,
                name: name.to_string(),
                active: *name != "Waiting",
            })
            .collect()
    }

    #[test]
    fn names_match_trimmed_and_case_insensitive_among_active() {
        let s = seeded();
        assert_eq!(find_by_name(&s, " on HOLD "), Some(3));
        assert_eq!(find_by_name(&s, "resolved"), Some(4));
        assert_eq!(find_by_name(&s, "Waiting"), None);
        assert_eq!(find_by_name(&s, "Pending"), None);
        assert_eq!(accepted_names(&s, 0), ["Open", "On Hold", "Resolved"]);
        assert_eq!(accepted_names(&s, 2), ["Open", "On Hold"]);
    }
}
