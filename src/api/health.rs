//! GET /healthz and GET /readyz, for load balancers, monitoring and the
//! systemd watchdog. Not under the API prefix and not authenticated; they
//! reveal nothing beyond up/ready (details go to the log).

use crate::db::schema::{self, SchemaError};
use crate::error::ApiError;
use crate::php::to_json_bytes;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;

#[derive(Serialize)]
struct Status {
    success: &'static str,
    status: &'static str,
}

fn answer(status: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(to_json_bytes(&Status {
            success: "True",
            status,
        }))
}

/// The process is up and its HTTP workers answer.
pub async fn healthz() -> HttpResponse {
    answer("up")
}

/// The database answers within `db_timeout_ms`, its schema is still one
/// replyd serves (the check startup makes, on a pooled connection), and
/// what replyd decided at startup from it (the key model, the parts
/// ITFlow's version has: its `Flavour`) still holds; an ITFlow upgrade
/// under a running replyd makes it 503 until replyd is restarted.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let limit = state.settings.db_timeout();
    let reason = match tokio::time::timeout(limit, schema::inspect_pool(&state.pool)).await {
        Ok(Ok(info)) if info.flavour() == state.flavour => return Ok(answer("ready")),
        Ok(Ok(info)) => {
            log::warn!(
                "readyz: the database changed since startup: now {}, {}; restart replyd",
                info.key_generation,
                info.features
            );
            "the database's ITFlow version changed since replyd started; restart replyd".into()
        }
        Err(_) => format!(
            "the database did not answer within {} ms",
            limit.as_millis()
        ),
        Ok(Err(e @ SchemaError::Connect(_))) => {
            log::warn!("readyz: {e}");
            "the database is unreachable".into()
        }
        Ok(Err(e @ SchemaError::Query(_))) => {
            log::warn!("readyz: {e}");
            "reading the database's schema failed".into()
        }
        Ok(Err(e)) => {
            log::warn!("readyz: {e}");
            "the database's schema is not one replyd serves; run replyd --check".into()
        }
    };
    Err(ApiError::NotReady(format!("{reason}.")))
}
