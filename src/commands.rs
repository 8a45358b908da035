//! The one-shot commands beside the server: `replyd --check` and
//! `replyd doctor [--apply]`.

use crate::config::Settings;
use crate::db;
use crate::startup::{StartupError, inspect_bounded};
use mysql_async::prelude::Queryable;

/// `replyd --check`: what startup would find, as text.
pub async fn check(settings: &Settings) -> Result<String, StartupError> {
    let schema = inspect_bounded(settings.database_opts()?, settings.db_timeout()).await?;
    Ok(format!(
        "database: {}\nITFlow database version: {}\nAPI keys: {}\noptional parts: {}\nschema: every table and column replyd needs is present\n",
        schema.database, schema.itflow_version, schema.key_generation, schema.features
    ))
}

/// What `replyd doctor` found (and, with `apply`, did).
pub struct DoctorOutcome {
    pub report: String,
    /// Indexes still missing afterwards.
    pub still_missing: usize,
}

/// `replyd doctor [--apply]`: check the database as startup does, then list
/// the indexes replyd's queries need that it lacks; with `apply`, add them.
/// Nothing else ever changes the schema.
pub async fn doctor(settings: &Settings, apply: bool) -> Result<DoctorOutcome, StartupError> {
    let opts = settings.database_opts()?;
    // Bounded like startup's check: an unreachable host would otherwise
    // take minutes (mysql_async has no connect timeout of its own).
    let limit = settings.db_timeout();
    let schema = inspect_bounded(opts.clone(), limit).await?;
    let mut conn = db::within(limit, mysql_async::Conn::new(opts))
        .await
        .map_err(StartupError::Indexes)?;
    let result = async {
        let mut report = format!(
            "database: {}\nITFlow database version: {}\n",
            schema.database, schema.itflow_version
        );
        if apply {
            for index in db::doctor::apply(&mut conn).await? {
                report.push_str(&format!("added: {};\n", index.alter_table()));
            }
        }
        let missing = db::doctor::missing_indexes(&mut conn).await?;
        report.push_str(&db::doctor::report(&missing));
        // replyd's own table for Idempotency-Key: optional (its absence
        // does not change the exit status), created only here.
        let idempotency = db::idempotency::TABLE;
        if apply && !db::idempotency::table_exists(&mut conn).await? {
            conn.query_drop(db::idempotency::CREATE_TABLE).await?;
            report.push_str(&format!("created: table {idempotency}\n"));
        }
        if db::idempotency::table_exists(&mut conn).await? {
            report.push_str(&format!(
                "idempotency: table {idempotency} present (Idempotency-Key is enabled)\n"
            ));
        } else {
            report.push_str(&format!(
                "idempotency: table {idempotency} missing, so requests with Idempotency-Key are refused \
                 (optional; run `replyd doctor --apply` to create it):\n    {};\n",
                db::idempotency::CREATE_TABLE
            ));
        }
        Ok(DoctorOutcome {
            report,
            still_missing: missing.len(),
        })
    }
    .await
    .map_err(StartupError::Indexes);
    let _ = conn.disconnect().await;
    result
}
