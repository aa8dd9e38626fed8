//! The control API: what lets a test play the user's phone and inbox. Apart from the
//! IDCS paths (prefix `/_mock/v1`) and with its own credential
//! (`Authorization: Bearer <control token>`; /mfa/v1 tokens are not accepted here, nor
//! the control token on /mfa/v1).
//!
//! | route | does |
//! | --- | --- |
//! | `POST /_mock/v1/push/{requestId}/approve` | the user approves the PUSH → 200 `{"requestId","decision":"approved"}` |
//! | `POST /_mock/v1/push/{requestId}/reject` | the user rejects it → 200 `{"requestId","decision":"rejected"}` |
//! | `GET /_mock/v1/outbox?requestId=&userGUID=` | the OTPs sent, oldest first: `[{requestId, userGUID, method, destination, otp, sentAt}]` |
//! | `GET /_mock/v1/users/{userGUID}` | `{userGUID, userName, attempts, locked, maxAttempts, bypassCodesLeft}` |
//! | `POST /_mock/v1/users/{userGUID}/unlock` | unlocks the user and sets attempts to 0; answers the new status |
//! | `POST /_mock/v1/users/{userGUID}/lock` | locks the user as if they had met the maximum; answers the new status |
//! | `GET /_mock/v1/fixture` | the current fixture (used bypass codes are gone from it) |
//! | `PUT /_mock/v1/fixture` | replaces it (validated; 400 when invalid); forgets requests, attempts, outbox |
//! | `POST /_mock/v1/tokens` `{"roles": [...], "expiresIn"?: secs}` | mints a /mfa/v1 token → `{access_token, token_type, expires_in?}` |
//! | `GET /_mock/v1/faults` | the faults on: `["no_auth", ...]` |
//! | `PUT /_mock/v1/faults` `["name", ...]` | switches exactly these on (400 names the unknown ones) |
//! | `POST /_mock/v1/reset` | the configured fixture and faults again; no requests, attempts or outbox; tokens stay valid |
//!
//! Under the behaviour `delayed_push` the two push routes answer 202 at once (with
//! `delayMs`) and the decision reaches the state that much later.
//!
//! Errors: `{"error": "unauthorized" | "not_found" | "conflict" | "bad_request" |
//! "payload_too_large", "message": "..."}` with 401, 404, 409, 400, 413. A PUSH that is
//! not pending any more (decided, expired) or a request that is not a PUSH is 409.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{
        FromRequest, FromRequestParts, Path, Query, Request, State, rejection::QueryRejection,
    },
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::Response,
    routing::{get, post},
};
use idcs_mfa::Secret;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::{
    behaviour::Behaviour,
    body::read_limited,
    clock::Now,
    config::CONTROL_MAX_BODY_BYTES,
    fault::{Fault, Faults},
    fixture::Fixture,
    random,
    reply::json,
    shared::Shared,
    state::{self, ControlRefusal, Settings, UserStatus},
};

type Shr = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/push/{requestId}/approve", post(approve))
        .route("/push/{requestId}/reject", post(reject))
        .route("/outbox", get(outbox))
        .route("/users/{userGUID}", get(user))
        .route("/users/{userGUID}/unlock", post(unlock))
        .route("/users/{userGUID}/lock", post(lock))
        .route("/fixture", get(get_fixture).put(put_fixture))
        .route("/tokens", post(mint_token))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/reset", post(reset))
}

fn error(status: StatusCode, kind: &str, message: impl std::fmt::Display) -> Response {
    json(
        status,
        &json!({"error": kind, "message": message.to_string()}),
    )
}

/// Checks the control token in constant time.
fn check(shared: &Shared, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match given {
        Some(token) => token
            .as_bytes()
            .ct_eq(shared.control_token.expose().as_bytes())
            .into(),
        None => false,
    }
}

/// A control API request that carries the control token. Rejected with 401
/// `unauthorized`. It comes after the path's parameter in a handler's arguments, so a
/// path that does not parse is refused first, as it always was.
struct ControlToken;

impl FromRequestParts<Arc<Shared>> for ControlToken {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        if check(shared, &parts.headers) {
            Ok(ControlToken)
        } else {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the control API needs `Authorization: Bearer <control token>`",
            ))
        }
    }
}

/// A control API body: JSON, at most [`CONTROL_MAX_BODY_BYTES`]. Rejected with 413
/// `payload_too_large` or 400 `bad_request`.
struct ControlJson<T>(T);

impl<T: DeserializeOwned> FromRequest<Arc<Shared>> for ControlJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        let (parts, raw) = request.into_parts();
        let bytes = read_limited(&parts.headers, raw, CONTROL_MAX_BODY_BYTES)
            .await
            .map_err(|e| error(e.status, "payload_too_large", e.message))?;
        serde_json::from_slice(&bytes)
            .map(ControlJson)
            .map_err(|e| error(StatusCode::BAD_REQUEST, "bad_request", e))
    }
}

// ---- the control operations: the routes below and `MockTenant` both call these ----

impl Shared {
    /// The user's decision on a PUSH. Under the behaviour `delayed_push` it reaches the
    /// state later, and the delay is returned (a refusal then, because the PUSH expired
    /// meanwhile, is the phone's problem); otherwise it applies now.
    pub(crate) fn decide_push(
        self: &Arc<Self>,
        id: &str,
        approve: bool,
    ) -> Result<Option<Duration>, ControlRefusal> {
        if self.behaviours.has(Behaviour::DelayedPush) {
            let delay = self.behaviours.timing.push_delay;
            let later = self.clone();
            let request = id.to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = later
                    .lock()
                    .decide_push(&later.settings, &request, approve, Now::read());
            });
            return Ok(Some(delay));
        }
        self.lock()
            .decide_push(&self.settings, id, approve, Now::read())
            .map(|()| None)
    }

    /// A user's attempt count and lock (`None`: no such user).
    pub(crate) fn user_status(&self, guid: &str) -> Option<UserStatus> {
        self.lock().user_status(&self.settings, guid)
    }

    /// Locks a user as if they had met the maximum (an administrator's lock, or a
    /// test's starting point); answers the new status.
    pub(crate) fn lock_user(&self, guid: &str) -> Option<UserStatus> {
        self.user_status_after(guid, |state, settings| state.lock_user(settings, guid))
    }

    /// Unlocks a user and sets the count to 0; answers the new status.
    pub(crate) fn unlock_user(&self, guid: &str) -> Option<UserStatus> {
        self.user_status_after(guid, |state, _| state.unlock(guid))
    }

    /// Applies `change` (false: no such user) and answers the user's status.
    fn user_status_after(
        &self,
        guid: &str,
        change: impl FnOnce(&mut state::State, &Settings) -> bool,
    ) -> Option<UserStatus> {
        let mut state = self.lock();
        change(&mut state, &self.settings)
            .then(|| state.user_status(&self.settings, guid))
            .flatten()
    }

    /// Replaces the fixture, validated first (the reason when it is invalid); forgets
    /// requests, attempts and the outbox.
    pub(crate) fn replace_fixture(&self, fixture: Fixture) -> Result<(), String> {
        fixture.validate()?;
        self.lock().replace_fixture(fixture);
        Ok(())
    }

    /// Mints a /mfa/v1 token holding `roles`, valid for `lifetime` (`None`: forever).
    pub(crate) fn mint_token(&self, roles: Vec<String>, lifetime: Option<Duration>) -> Secret {
        let token = random::token();
        self.lock().add_token(&token, roles, lifetime, Now::read());
        token
    }

    /// The configured fixture and faults again; no requests, attempts or outbox.
    pub(crate) fn reset(&self) {
        self.lock()
            .reset(self.initial_fixture.clone(), self.initial_faults);
    }
}

async fn decide(shared: Arc<Shared>, id: String, approve: bool) -> Response {
    let decision = if approve { "approved" } else { "rejected" };
    match shared.decide_push(&id, approve) {
        Ok(Some(delay)) => json(
            StatusCode::ACCEPTED,
            &json!({"requestId": id, "decision": decision, "delayMs": delay.as_millis() as u64}),
        ),
        Ok(None) => json(
            StatusCode::OK,
            &json!({"requestId": id, "decision": decision}),
        ),
        Err(ControlRefusal::NotFound) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no request {id}"),
        ),
        Err(ControlRefusal::Conflict(why)) => error(StatusCode::CONFLICT, "conflict", why),
    }
}

async fn approve(State(shared): Shr, Path(id): Path<String>, _: ControlToken) -> Response {
    decide(shared, id, true).await
}

async fn reject(State(shared): Shr, Path(id): Path<String>, _: ControlToken) -> Response {
    decide(shared, id, false).await
}

#[derive(Deserialize)]
struct OutboxQuery {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "userGUID")]
    user_guid: Option<String>,
}

async fn outbox(
    State(shared): Shr,
    _: ControlToken,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "query parameters: requestId, userGUID",
        );
    };
    let entries = shared
        .lock()
        .outbox(q.request_id.as_deref(), q.user_guid.as_deref());
    json(StatusCode::OK, &entries)
}

async fn user(State(shared): Shr, Path(guid): Path<String>, _: ControlToken) -> Response {
    user_answer(&guid, shared.user_status(&guid))
}

async fn unlock(State(shared): Shr, Path(guid): Path<String>, _: ControlToken) -> Response {
    user_answer(&guid, shared.unlock_user(&guid))
}

async fn lock(State(shared): Shr, Path(guid): Path<String>, _: ControlToken) -> Response {
    user_answer(&guid, shared.lock_user(&guid))
}

/// A user's status, or 404.
fn user_answer(guid: &str, status: Option<UserStatus>) -> Response {
    match status {
        Some(status) => json(StatusCode::OK, &status),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no user {guid}"),
        ),
    }
}

async fn get_fixture(State(shared): Shr, _: ControlToken) -> Response {
    let fixture = shared.lock().fixture.clone();
    json(StatusCode::OK, &fixture)
}

async fn put_fixture(
    State(shared): Shr,
    _: ControlToken,
    ControlJson(fixture): ControlJson<Fixture>,
) -> Response {
    match shared.replace_fixture(fixture.clone()) {
        Ok(()) => json(StatusCode::OK, &fixture),
        Err(reason) => error(StatusCode::BAD_REQUEST, "bad_request", reason),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MintRequest {
    roles: Vec<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

async fn mint_token(
    State(shared): Shr,
    _: ControlToken,
    ControlJson(request): ControlJson<MintRequest>,
) -> Response {
    let token = shared.mint_token(request.roles, request.expires_in.map(Duration::from_secs));
    let mut body = json!({"access_token": token.expose(), "token_type": "Bearer"});
    if let Some(secs) = request.expires_in {
        body["expires_in"] = json!(secs);
    }
    json(StatusCode::OK, &body)
}

async fn get_faults(State(shared): Shr, _: ControlToken) -> Response {
    let faults = shared.lock().faults.list();
    json(StatusCode::OK, &faults)
}

async fn put_faults(
    State(shared): Shr,
    _: ControlToken,
    ControlJson(names): ControlJson<Vec<String>>,
) -> Response {
    let parsed: Result<Vec<Fault>, _> = names.iter().map(|n| n.parse::<Fault>()).collect();
    match parsed {
        Ok(faults) => {
            let set = faults.into_iter().collect::<Faults>();
            shared.lock().faults = set;
            json(StatusCode::OK, &set.list())
        }
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_request", e),
    }
}

async fn reset(State(shared): Shr, _: ControlToken) -> Response {
    shared.reset();
    json(StatusCode::OK, &json!({"reset": true}))
}
