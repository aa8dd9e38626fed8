//! What every /mfa/v1 handler starts with, as extractors: [`Authorized`] (the bearer
//! token checked, or the 401 the tenant sends) and [`ApiPath`] (the path's parameter,
//! or the 404). Each rejection is rendered as the API's error, with the faults in
//! force, so a handler begins with its arguments.

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, Path},
    http::{StatusCode, header, request::Parts},
    response::Response,
};
use idcs_mfa::AuthCode;
use serde::de::DeserializeOwned;

use crate::{clock::Now, fault::Faults, reply::ApiError, shared::Shared};

/// A /mfa/v1 request the tenant serves: its bearer token holds an app role (or the
/// fault `no_auth` lets it in). It carries the faults in force when the token was
/// checked, which the answer is rendered with, and the time it was checked at, which
/// the handler passes down ([`Now`]: the clock is read once per request, here).
///
/// Rejected with the rendered 401 (AUTH-1007, or AUTH-1110 for an expired token).
#[derive(Clone, Copy, Debug)]
pub(super) struct Authorized {
    pub(super) faults: Faults,
    pub(super) now: Now,
}

impl FromRequestParts<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let now = Now::read();
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (faults, authorized) = {
            let state = shared.lock();
            (state.faults, state.authorize(header, now))
        };
        match authorized {
            Ok(()) => {
                let authorized = Authorized { faults, now };
                // For the extractors after this one (`ApiPath`): the same faults.
                parts.extensions.insert(authorized);
                Ok(authorized)
            }
            Err(e) => Err(e.render(faults)),
        }
    }
}

/// The parameter of a /mfa/v1 path (`{userGUID}`, `{requestId}`). Rejected with the
/// rendered 404 when it does not parse (a segment that is not UTF-8 once decoded);
/// after [`Authorized`], with the faults it found.
#[derive(Debug)]
pub(super) struct ApiPath<T>(pub(super) T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<Shared>> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, shared).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(_) => {
                let faults = match parts.extensions.get::<Authorized>() {
                    Some(authorized) => authorized.faults,
                    None => shared.lock().faults,
                };
                Err(path_not_found().render(faults))
            }
        }
    }
}

/// 404 AUTH-1111: no operation at this path.
pub(super) fn path_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        AuthCode::InvalidRequest,
        "The path is not valid.",
    )
}
