//! How the mock answers: every /mfa/v1 failure in the contract's one `ErrorResponse`
//! shape, and the three body-level faults applied in exactly one place ([`finish`]).
//!
//! Why one renderer: the contract promises that *every* failure, including a 404 for an
//! absurd path or a 405 for a wrong method, has the shape
//! `{"status": "failed", "ecId"?: "...", "cause": [{"code", "message"}]}`. Building the
//! body from the generated `types::ErrorResponse` keeps the mock and the contract on one
//! definition, and routing every answer through [`finish`] is what lets the faults
//! `html_404`, `empty_401` and `missing_status_field` break that promise on purpose.

use std::borrow::Cow;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use idcs_mfa::{AuthCode, Status, types};
use serde::Serialize;

use crate::fault::{Fault, Faults};

/// The answer of a PUSH poll that is not an error.
pub(crate) type PollAnswer = (StatusCode, types::VerificationStatus);

/// A failure, before it is rendered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: AuthCode,
    pub(crate) message: Cow<'static, str>,
    /// Whether the body carries an execution-context id (\[VERIFY\] shows one with wrong
    /// answers, \[OD\] with an unknown user).
    pub(crate) ec_id: bool,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: AuthCode,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            ec_id: false,
        }
    }

    pub(crate) fn with_ec_id(mut self) -> Self {
        self.ec_id = true;
        self
    }

    pub(crate) fn bad_request(code: AuthCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn unauthorized(code: AuthCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// The body, as the contract's type.
    pub(crate) fn body(&self) -> types::ErrorResponse {
        types::ErrorResponse {
            status: Status::Failed,
            ec_id: self.ec_id.then(new_ec_id),
            cause: vec![cause(&self.code, &self.message)],
        }
    }

    /// Renders it, faults applied.
    pub(crate) fn render(&self, faults: Faults) -> Response {
        finish(self.status, &self.body(), faults)
    }
}

/// One `cause` entry.
pub(crate) fn cause(code: &AuthCode, message: &str) -> types::Cause {
    types::Cause {
        code: code.as_str().to_owned(),
        message: message.to_owned(),
    }
}

/// A fresh execution-context id: 32 characters like the one in \[VERIFY\].
pub(crate) fn new_ec_id() -> String {
    let mut bytes = [0u8; 16];
    crate::random::fill(&mut bytes);
    data_encoding::HEXUPPER.encode(&bytes)
}

/// Renders a JSON body with `status` and applies the body-level faults:
///
/// - `missing_status_field`: a 2xx body loses its `status` field;
/// - `html_404`: a 404 body becomes an HTML page;
/// - `empty_401`: a 401 body becomes empty.
pub(crate) fn finish<T: Serialize>(status: StatusCode, body: &T, faults: Faults) -> Response {
    if status == StatusCode::NOT_FOUND && faults.has(Fault::Html404) {
        let page = "<!DOCTYPE html><html><head><title>404 Not Found</title></head>\
                    <body><h1>Not Found</h1></body></html>";
        return (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            page,
        )
            .into_response();
    }
    if status == StatusCode::UNAUTHORIZED && faults.has(Fault::Empty401) {
        return status.into_response();
    }
    // Hot path: straight to bytes. Going through a `serde_json::Value` (a map per
    // object) was a fifth of the server's time on the factors list (perf; see the
    // docs/performance.md); only the fault that edits the body needs it.
    if !(status.is_success() && faults.has(Fault::MissingStatusField)) {
        return json(status, body);
    }
    let mut value = match serde_json::to_value(body) {
        Ok(value) => value,
        // Our own types always serialize; answer in the contract's shape regardless.
        Err(_) => {
            return internal_error().render(Faults::NONE);
        }
    };
    if status.is_success()
        && faults.has(Fault::MissingStatusField)
        && let Some(object) = value.as_object_mut()
    {
        object.remove("status");
    }
    json(status, &value)
}

/// A JSON answer with no fault applied (control API, token endpoint).
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    // Most answers fit in 512 bytes: one allocation instead of a doubling series.
    let mut bytes = Vec::with_capacity(512);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// 500 with AUTH-1112 and an ecId (contract: "Internal error, with the
/// execution-context id").
pub(crate) fn internal_error() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        AuthCode::Unexpected,
        "An unexpected error occurred.",
    )
    .with_ec_id()
}
