//! The server: every route (/mfa/v1, the token endpoint, the control API) with the
//! layers around them, and [`serve`].
//!
//! The layers, from the outside in: every request body is read ahead (`read_ahead`),
//! the behaviours act (`behaviours`: rate limits, slowness, extra members, closing
//! connections), and, under the reading `errors/ec-id=on-every-error`, every /mfa/v1
//! error gets an `ecId` (`ec_id_everywhere`).

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{StatusCode, header},
    response::Response,
    routing::post,
};
use idcs_mfa::AuthCode;
use idcs_mfa_model::readings::ec_id;

use crate::{
    api,
    behaviour::{self, IdleClosing},
    config::{CONTROL_MAX_BODY_BYTES, MockConfig},
    control,
    fault::Faults,
    oauth,
    reply::{self, ApiError},
    routes::CONTROL_PREFIX,
    shared::Shared,
};

type Shr = State<Arc<Shared>>;

/// Serves the mock tenant on `listener` until `shutdown` completes.
///
/// The fixture is validated first ([`Fixture::validate`](crate::Fixture::validate)); an
/// invalid one is an `InvalidInput` error. For a tenant in this process with a typed
/// handle, use [`MockTenant::start`](crate::MockTenant::start) instead.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle_close = config.idle_close();
    let shared = Shared::new(config)?;
    serve_shared(listener, shared, idle_close, shutdown).await
}

/// Serves `shared` on `listener` (connections closed after `idle_close` idle, when
/// given) until `shutdown` completes.
pub(crate) async fn serve_shared(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    idle_close: Option<Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match idle_close {
        Some(idle) => {
            let listener = IdleClosing {
                inner: listener,
                idle,
            };
            axum::serve(listener, router(shared))
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, router(shared))
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// The whole server: /mfa/v1, the token endpoint and the control API.
fn router(shared: Arc<Shared>) -> Router {
    api::routes()
        .route("/oauth2/v1/token", post(oauth::token))
        .nest(CONTROL_PREFIX, control::router())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            ec_id_everywhere,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            behaviours,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            read_ahead,
        ))
        .with_state(shared)
}

/// Bodies up to this size are read whole before any handler runs (the largest any
/// route accepts: the control API's).
const READ_AHEAD_BYTES: usize = CONTROL_MAX_BODY_BYTES;
/// Past that, up to this much more is read and dropped before the 413.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// Reads every request body before the handler runs.
///
/// Many answers come before a handler would read the body: 401 for a bad token, 404,
/// 405, 413 for a declared length over the limit. hyper then closes the connection with
/// the body unread in the socket, the kernel answers the client's next segment with a
/// reset, and a client still writing its body sees a broken pipe instead of the answer
/// (found by `tests/mock/fuzz.rs`). Reading the body first (and past the limit, reading
/// and dropping it) lets every answer arrive; the handlers' own limits still apply.
async fn read_ahead(
    State(shared): Shr,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::body::HttpBody;
    let (parts, mut body) = request.into_parts();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(Ok(data)) = frame.map(|f| f.into_data()) else {
            // A broken upload (or trailers): nothing sensible can be answered to it.
            break;
        };
        seen += data.len();
        if seen <= READ_AHEAD_BYTES {
            kept.extend_from_slice(&data);
        } else if seen > READ_AHEAD_BYTES + DRAIN_BYTES {
            break;
        }
    }
    if seen > READ_AHEAD_BYTES {
        let faults = shared.lock().faults;
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            AuthCode::InvalidRequest,
            format!("The request body is larger than {READ_AHEAD_BYTES} bytes."),
        )
        .render(faults);
    }
    next.run(axum::extract::Request::from_parts(parts, Body::from(kept)))
        .await
}

/// The behaviours switched on (`behaviour`), around every route; the /mfa/v1 ones act
/// on the requests whose path starts with the operations' base path
/// ([`api::base_path`]).
async fn behaviours(
    State(shared): Shr,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with(api::base_path());
    behaviour::apply(
        &shared.behaviours,
        api,
        || shared.lock().faults,
        request,
        next,
    )
    .await
}

/// `errors/ec-id=on-every-error`: every /mfa/v1 error body (a path under the
/// operations' base path, [`api::base_path`]) gets an `ecId` (the default reading gives
/// one only where the examples show it).
async fn ec_id_everywhere(
    State(shared): Shr,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request
        .uri()
        .path()
        .strip_prefix(api::base_path())
        .is_some_and(|rest| rest.starts_with('/'));
    let response = next.run(request).await;
    if !api
        || !shared.settings.readings.is(ec_id::EVERY_ERROR)
        || response.status().is_success()
        || response.status() == StatusCode::TOO_MANY_REQUESTS
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CONTROL_MAX_BODY_BYTES).await else {
        return reply::internal_error().render(Faults::NONE);
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        // Not JSON (a fault's HTML page, an empty 401): as it was.
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(object) = value.as_object_mut()
        && !object.contains_key("ecId")
    {
        object.insert("ecId".into(), serde_json::Value::String(reply::new_ec_id()));
    }
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}
