//! v2's typed authorisation: a handler takes `Bearer<A>` for its action
//! `A` and gets the key's principal only when the key may take that
//! action. v2 reads the key from `Authorization: Bearer <key>` only, never
//! from the URL or the body. The checks are v1's (api/auth.rs
//! `check_key`: ITFlow's validate_api_key.php, a failed attempt logged in
//! `logs` as ITFlow logs it; then the role as enforce_api_rbac.php).

use super::problem::V2Error;
use crate::api::auth::{SUPPORT_MODIFY, SUPPORT_READ, bearer_key, check_key};
use crate::api::meta::RequestMeta;
use crate::domain::Principal;
use crate::error::{ApiError, Message};
use crate::metrics::AuthFailure;
use crate::observe::record_key_name;
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev, web};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

/// What a v2 key may be allowed to do.
pub trait V2Action {
    /// The `module_support` level a user-tied key's role needs.
    const SUPPORT_LEVEL: i64;
}

/// Read replies and tickets.
pub struct Read;
/// Add a reply or change a ticket's status.
pub struct Write;

impl V2Action for Read {
    const SUPPORT_LEVEL: i64 = SUPPORT_READ;
}

impl V2Action for Write {
    const SUPPORT_LEVEL: i64 = SUPPORT_MODIFY;
}

/// A v2 request whose Bearer key may take action `A`.
pub struct Bearer<A> {
    pub principal: Principal,
    pub meta: RequestMeta,
    action: PhantomData<A>,
}

impl<A: V2Action + 'static> FromRequest for Bearer<A> {
    type Error = V2Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, V2Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .expect("the app has its state")
                .clone();
            let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
            let principal = check_key(bearer_key(&req).as_deref(), &meta, &state).await?;
            record_key_name(&req, principal.key_name());
            if principal.support_level() < A::SUPPORT_LEVEL {
                state.metrics.auth_failed(AuthFailure::Refused);
                return Err(ApiError::Forbidden(Message::NoPermission).into());
            }
            Ok(Bearer {
                principal,
                meta,
                action: PhantomData,
            })
        })
    }
}
