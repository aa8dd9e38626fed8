//! The /mfa/v1 handlers: authenticate, parse, apply the state's rules, render. Each
//! starts with its arguments: the token checked and the path's parameter read are
//! extractors (`extract`), which render their own refusals.
//!
//! Statuses per operation, exactly those the contract documents:
//!
//! | operation | statuses the mock answers |
//! | --- | --- |
//! | `GET /mfa/v1/users/{userGUID}/factors` | 200, 401, 404 |
//! | `GET /mfa/v1/users` | 200, 400, 401, 404 |
//! | `POST /mfa/v1/requests` | 200, 400, 401, 404, 413 |
//! | `GET /mfa/v1/requests/{requestId}` | 200, 401, 404 |
//! | `PATCH /mfa/v1/requests/{requestId}` | 200, 400, 401, 404, 413 |
//!
//! Any other path is 404 and a wrong method on a known path is 405, both in the error
//! shape (AUTH-1111). The mock rate-limits (429) only under a rate-limit behaviour
//! (`behaviour`) and answers 500 only under the fault `unknown_request_500`.

mod extract;

use std::sync::{Arc, LazyLock};

use axum::{
    Router,
    body::Body,
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, Method, StatusCode, header},
    response::Response,
    routing::{self, MethodFilter, MethodRouter},
};
use idcs_mfa::{AuthCode, Operation, Status, types};
use idcs_mfa_model::readings::{id_type_default, state_missing};

use self::extract::{ApiPath, Authorized, path_not_found};
use crate::{
    body, deviate,
    fault::{Fault, Faults},
    reply::{self, ApiError, finish},
    shared::Shared,
    state::Patch,
    variation,
};

type Shr = State<Arc<Shared>>;

/// The operations of the contract, each at the path and on the method the contract
/// gives it ([`Operation::path`], [`Operation::method`]: axum's `{param}` is the
/// contract's template syntax).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Operation::ALL
        .into_iter()
        .filter_map(|op| Some((op.path(), endpoint(op)?)))
        .fold(Router::new(), |router, (path, endpoint)| {
            router.route(path, endpoint)
        })
}

/// The handler of `op` on its method; `None` for an operation the mock does not
/// serve (a test holds that there is none).
fn endpoint(op: Operation) -> Option<MethodRouter<Arc<Shared>>> {
    let method = Method::from_bytes(op.method().as_bytes()).ok()?;
    let filter = MethodFilter::try_from(method).ok()?;
    Some(match op {
        Operation::GetUserFactors => routing::on(filter, get_user_factors),
        Operation::LookupUserFactors => routing::on(filter, lookup_user_factors),
        Operation::InitiateVerification => routing::on(filter, initiate),
        Operation::GetVerificationStatus => routing::on(filter, poll),
        Operation::CompleteVerification => routing::on(filter, complete),
        _ => return None,
    })
}

/// `/mfa/v1`: the base path of every operation of the contract (the prefix their path
/// templates share, up to its last `/`).
pub(crate) fn base_path() -> &'static str {
    static BASE: LazyLock<&'static str> = LazyLock::new(|| {
        let paths = Operation::ALL.map(Operation::path);
        let first = paths.first().copied().unwrap_or_default();
        let shared = paths.iter().fold(first.len(), |n, path| {
            first
                .bytes()
                .zip(path.bytes())
                .take(n)
                .take_while(|(a, b)| a == b)
                .count()
        });
        // Up to the last `/` of the shared prefix (a byte that is always a boundary).
        let cut = first.as_bytes()[..shared]
            .iter()
            .rposition(|b| *b == b'/')
            .unwrap_or(0);
        &first[..cut]
    });
    &BASE
}

fn render<T: serde::Serialize>(result: Result<T, ApiError>, faults: Faults) -> Response {
    match result {
        Ok(body) => finish(StatusCode::OK, &body, faults),
        Err(e) => e.render(faults),
    }
}

async fn get_user_factors(
    State(shared): Shr,
    Authorized { faults, .. }: Authorized,
    ApiPath(guid): ApiPath<String>,
) -> Response {
    let result = {
        let state = shared.lock();
        state.user_factors(
            &shared.settings,
            state.fixture.user_by_guid(&guid),
            &guid,
            false,
        )
    };
    // Variations (conforming changes, for drift tests).
    let result = match result.map(|body| variation::factor_list(&shared.variations, body)) {
        Ok(Ok(varied)) => return finish(StatusCode::OK, &varied, faults),
        Ok(Err(body)) => Ok(body),
        Err(e) => Err(e),
    };
    render(result, faults)
}

async fn lookup_user_factors(
    State(shared): Shr,
    Authorized { faults, .. }: Authorized,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(pairs) = query.map_err(|_| {
            ApiError::bad_request(AuthCode::InvalidRequest, "The query string is not valid.")
        })?;
        let param = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some((unknown, _)) = pairs
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "userId" | "userIdType" | "attributes"))
        {
            return Err(ApiError::bad_request(
                AuthCode::InvalidRequest,
                format!("Unknown query parameter {unknown:?}."),
            ));
        }
        let user_id = param("userId").filter(|v| !v.is_empty()).ok_or_else(|| {
            // Fault `lookup_missing_user_id_404`.
            if faults.has(Fault::LookupMissingUserId404) {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    AuthCode::UserNotFound,
                    "User not found.",
                )
            } else {
                ApiError::bad_request(AuthCode::MissingParameter, "userId is required.")
            }
        })?;
        let kind = match param("userIdType") {
            // users/id-type-default.
            None if shared.settings.readings.is(id_type_default::USER_GUID) => {
                types::UserIdType::UserGuid
            }
            None if shared.settings.readings.is(id_type_default::REQUIRED) => {
                return Err(ApiError::bad_request(
                    AuthCode::MissingParameter,
                    "userIdType is required.",
                ));
            }
            None => types::UserIdType::UserName,
            Some(v) => v.parse::<types::UserIdType>().map_err(|_| {
                ApiError::bad_request(
                    AuthCode::InvalidRequest,
                    "userIdType must be USER_NAME or USER_GUID.",
                )
            })?,
        };
        if let Some(v) = param("attributes") {
            v.parse::<types::LookupAttributes>().map_err(|_| {
                ApiError::bad_request(AuthCode::InvalidRequest, "attributes must be factors.")
            })?;
        }
        let state = shared.lock();
        // Fault `lookup_ignores_user_id_type`.
        let kind = if deviate::lookup_heeds_id_type(state.faults) {
            kind
        } else {
            types::UserIdType::UserName
        };
        let user = match kind {
            types::UserIdType::UserGuid => state.fixture.user_by_guid(user_id),
            types::UserIdType::UserName => {
                deviate::lookup_user(state.faults, &state.fixture, user_id)
                    .or_else(|| state.fixture.user_by_name(user_id))
            }
        };
        let by_name = kind == types::UserIdType::UserName;
        state.user_factors(&shared.settings, user, user_id, by_name)
    })();
    render(result, faults)
}

async fn initiate(
    State(shared): Shr,
    Authorized { faults, now }: Authorized,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    let parsed = body::read_object(&headers, raw, shared.max_body_bytes)
        .await
        .and_then(body::initiate)
        // Fault `malformed_initiate_500`.
        .map_err(|e| {
            if e.status == StatusCode::BAD_REQUEST && faults.has(Fault::MalformedInitiate500) {
                reply::internal_error()
            } else {
                e
            }
        });
    let result = parsed.and_then(|request| {
        shared
            .lock()
            .initiate(&shared.settings, &shared.key, request, now)
    });
    render(result, faults)
}

async fn poll(
    State(shared): Shr,
    Authorized { faults, now }: Authorized,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let result = shared.lock().poll(&shared.settings, &id, now);
    match result {
        Ok((status, body)) => finish(status, &body, faults),
        Err(e) => e.render(faults),
    }
}

async fn complete(
    State(shared): Shr,
    Authorized { faults, now }: Authorized,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    // Fault `scim_json_refused`.
    let scim = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/scim+json")
        });
    if scim && faults.has(Fault::ScimJsonRefused) {
        return ApiError::bad_request(AuthCode::InvalidRequest, "Unsupported Content-Type.")
            .render(faults);
    }
    let mut state_missing = false;
    let parsed = body::read_object(&headers, raw, shared.max_body_bytes)
        .await
        .and_then(|mut map| {
            if !map.contains_key("requestState") {
                state_missing = true;
                // Fault `missing_request_state_accepted`: processed as if it carried the
                // request's own.
                if faults.has(Fault::MissingRequestStateAccepted) {
                    map.insert(
                        "requestState".into(),
                        serde_json::Value::String(String::new()),
                    );
                } else if shared
                    .settings
                    .readings
                    .is(state_missing::STATE_INVALID_401)
                {
                    // request-state/missing=state-invalid-401: an absent requestState is
                    // an invalid one.
                    return Err(ApiError::unauthorized(
                        AuthCode::RequestStateInvalid,
                        "The requestState is invalid or expired.",
                    ));
                }
            }
            body::complete(map)
        });
    let (action, request_state) = match parsed {
        Ok(parsed) => parsed,
        // Fault `malformed_payload_200`: an invalid payload is not refused.
        Err(e) if e.status == StatusCode::BAD_REQUEST && faults.has(Fault::MalformedPayload200) => {
            let ok = types::VerificationStatus {
                status: Status::Success,
                cause: Vec::new(),
            };
            return finish(StatusCode::OK, &ok, faults);
        }
        Err(e) => return e.render(faults),
    };
    // The HMAC is checked outside the lock.
    let sealed = shared.key.open(request_state.expose());
    let patch = Patch {
        sealed,
        state_missing,
        action,
    };
    let result = shared
        .lock()
        .complete(&shared.settings, &shared.key, &id, patch, now);
    render(result, faults)
}

pub(crate) async fn not_found(State(shared): Shr) -> Response {
    let faults = shared.lock().faults;
    path_not_found().render(faults)
}

pub(crate) async fn method_not_allowed(State(shared): Shr) -> Response {
    let faults = shared.lock().faults;
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        AuthCode::InvalidRequest,
        "The method is not allowed on this path.",
    )
    .render(faults)
}

#[cfg(test)]
mod tests {
    use idcs_mfa::Operation;

    #[test]
    fn every_operation_of_the_contract_is_served() {
        for op in Operation::ALL {
            assert!(super::endpoint(op).is_some(), "{op} has no handler");
        }
    }

    #[test]
    fn the_base_path_is_what_the_operations_share() {
        assert_eq!(super::base_path(), "/mfa/v1");
    }
}
