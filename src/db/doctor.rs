//! `replyd doctor`: the indexes replyd's queries need, which of them the
//! database lacks, and (`--apply`, only then) adding them.
//!
//! Databases before ITFlow 2.6.3 have no index on
//! `ticket_replies.ticket_reply_ticket_id`, so read.php by `ticket_id` scans
//! every reply. ITFlow 2.6.3 adds `(ticket_reply_ticket_id,
//! ticket_reply_archived_at)` without a name (MariaDB names it
//! `ticket_reply_ticket_id`); replyd adds the same columns under its own name,
//! so ITFlow's later migration does not collide with it.

use mysql_async::{Conn, prelude::*};

/// An index a replyd query needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeededIndex {
    pub table: &'static str,
    /// The index's columns; any existing index whose first column is
    /// `columns[0]` serves the query.
    pub columns: &'static [&'static str],
    /// The name `--apply` gives it.
    pub name: &'static str,
    /// Which query needs it.
    pub used_by: &'static str,
}

impl NeededIndex {
    /// The statement that adds it.
    pub fn alter_table(&self) -> String {
        format!(
            "ALTER TABLE `{}` ADD INDEX `{}` ({})",
            self.table,
            self.name,
            self.columns
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Every index replyd relies on beyond primary keys.
pub const NEEDED_INDEXES: &[NeededIndex] = &[NeededIndex {
    table: "ticket_replies",
    columns: &["ticket_reply_ticket_id", "ticket_reply_archived_at"],
    name: "replyd_ticket_reply_ticket_id",
    used_by: "read.php by ticket_id (without it every reply in the table is scanned)",
}];

/// The needed indexes the connection's current database lacks.
pub async fn missing_indexes(conn: &mut Conn) -> Result<Vec<NeededIndex>, mysql_async::Error> {
    let mut missing = Vec::new();
    for index in NEEDED_INDEXES {
        let found: Option<String> = conn
            .exec_first(
                "SELECT INDEX_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                 AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ? LIMIT 1",
                (index.table, index.columns[0]),
            )
            .await?;
        if found.is_none() {
            missing.push(*index);
        }
    }
    Ok(missing)
}

/// What `replyd doctor` prints for `missing`.
pub fn report(missing: &[NeededIndex]) -> String {
    if missing.is_empty() {
        return "indexes: every index replyd's queries need is present\n".into();
    }
    let mut out = String::from("missing indexes (run `replyd doctor --apply` to add them):\n");
    for index in missing {
        out.push_str(&format!(
            "  {}.{}: needed by {}\n    {};\n",
            index.table,
            index.columns[0],
            index.used_by,
            index.alter_table()
        ));
    }
    out
}

/// Add every missing index; the ones added. On a large `ticket_replies` this
/// takes a while (InnoDB builds the index online, without blocking writes).
pub async fn apply(conn: &mut Conn) -> Result<Vec<NeededIndex>, mysql_async::Error> {
    let missing = missing_indexes(conn).await?;
    for index in &missing {
        conn.query_drop(index.alter_table()).await?;
    }
    Ok(missing)
}
