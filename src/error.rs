//! Errors that keep the HTTP status.

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};

use crate::{
    AuthCode, Status, types,
    wire::{Observation, describe_reqwest},
};

/// A failed call, which keeps the HTTP status.
///
/// progenitor's error forgets the status when an error body is empty or not JSON: a
/// gateway's empty 401 or an HTML 404 comes back as "invalid payload", which readers
/// take for "the server is unreachable". This crate's [`Error`] is built from what the
/// transport saw on the wire, so every error that had a response carries its status:
///
/// | what came back | variant |
/// | --- | --- |
/// | a non-2xx status, any body | [`Error::Status`] (body parsed when it has the documented shape) |
/// | a 2xx whose body breaks the contract | [`Error::InvalidBody`] |
/// | a body over the size limit | [`Error::BodyTooLarge`] |
/// | no (complete) response: refused, reset, timed out | [`Error::Transport`] |
/// | a request this crate would not send | [`Error::InvalidInput`] |
///
/// Error codes are exposed as [`AuthCode`], which keeps unknown codes as
/// `AuthCode::Other`.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tenant answered with a non-2xx status.
    #[error("{}", status_message(*.status, .body.as_deref(), .raw))]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The body, when it has the documented error shape.
        body: Option<Box<types::ErrorResponse>>,
        /// The body as received (possibly empty, possibly not JSON).
        raw: RawBody,
        /// `Retry-After` of a 429 or 503 (seconds or an HTTP-date), when sent.
        retry_after: Option<Duration>,
    },
    /// The tenant answered a success status with a body that breaks the contract.
    #[error("the tenant answered {status} with a body that does not match the contract: {reason}")]
    InvalidBody {
        /// The HTTP status.
        status: StatusCode,
        /// What is wrong with it.
        reason: String,
        /// The body as received.
        raw: RawBody,
    },
    /// The response body was larger than the client's limit and was not read.
    #[error(
        "the tenant answered {status} with a body over the {limit}-byte limit; raise it with ClientBuilder::max_response_bytes if this is expected"
    )]
    BodyTooLarge {
        /// The HTTP status.
        status: StatusCode,
        /// The limit in force.
        limit: usize,
    },
    /// No complete response: connection refused or reset, timeout, TLS failure.
    #[error("{message}")]
    Transport {
        /// The status, when the headers had arrived before the failure.
        status: Option<StatusCode>,
        /// What went wrong, and what to check.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The call was not sent: its input is not valid.
    #[error("{0}")]
    InvalidInput(String),
    /// A PUSH was still pending when the deadline of `wait_for_push` passed.
    #[error(
        "the PUSH notification was still pending after {waited:?}; the user did not act in time"
    )]
    PushTimedOut {
        /// How long the client waited.
        waited: Duration,
    },
}

/// A response body kept for diagnosis. `Debug` shows its length, not its content, which
/// may hold secrets (a requestState in a resend answer).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawBody {
    /// The bytes as received.
    pub bytes: Bytes,
    /// The response's `Content-Type`, when sent.
    pub content_type: Option<String>,
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RawBody({} bytes, {:?})",
            self.bytes.len(),
            self.content_type
        )
    }
}

impl RawBody {
    pub(crate) fn from_observation(observed: &Observation) -> Self {
        Self {
            bytes: observed.body.clone(),
            content_type: content_type(&observed.headers),
        }
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status {
                status,
                body,
                raw,
                retry_after,
            } => f
                .debug_struct("Status")
                .field("status", status)
                .field("body", body)
                .field("raw", raw)
                .field("retry_after", retry_after)
                .finish(),
            Error::InvalidBody {
                status,
                reason,
                raw,
            } => f
                .debug_struct("InvalidBody")
                .field("status", status)
                .field("reason", reason)
                .field("raw", raw)
                .finish(),
            Error::BodyTooLarge { status, limit } => f
                .debug_struct("BodyTooLarge")
                .field("status", status)
                .field("limit", limit)
                .finish(),
            Error::Transport {
                status, message, ..
            } => f
                .debug_struct("Transport")
                .field("status", status)
                .field("message", message)
                .finish_non_exhaustive(),
            Error::InvalidInput(message) => f.debug_tuple("InvalidInput").field(message).finish(),
            Error::PushTimedOut { waited } => f
                .debug_struct("PushTimedOut")
                .field("waited", waited)
                .finish(),
        }
    }
}

fn status_message(
    status: StatusCode,
    body: Option<&types::ErrorResponse>,
    raw: &RawBody,
) -> String {
    match body {
        Some(body) if !body.cause.is_empty() => {
            let causes: Vec<String> = body
                .cause
                .iter()
                .map(|c| format!("{} {}", c.code, c.message))
                .collect();
            format!("the tenant answered {status}: {}", causes.join("; "))
        }
        Some(_) => format!("the tenant answered {status} with no cause"),
        None if raw.bytes.is_empty() => format!("the tenant answered {status} with an empty body"),
        None => format!(
            "the tenant answered {status} with a body that is not the documented error shape ({} bytes of {})",
            raw.bytes.len(),
            raw.content_type.as_deref().unwrap_or("no content type")
        ),
    }
}

impl Error {
    /// Whether the request never reached the tenant: the name did not resolve, the
    /// connection was refused or the TLS handshake failed, so nothing was sent. A
    /// timeout or a reset after the request went out is not this.
    pub fn is_unreached(&self) -> bool {
        matches!(self, Error::Transport { source: Some(e), .. } if e.is_connect())
    }

    /// The HTTP status of the response, whenever one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. }
            | Error::InvalidBody { status, .. }
            | Error::BodyTooLarge { status, .. } => Some(*status),
            Error::Transport { status, .. } => *status,
            Error::InvalidInput(_) | Error::PushTimedOut { .. } => None,
        }
    }

    /// The documented error body, when the response had one.
    pub fn body(&self) -> Option<&types::ErrorResponse> {
        match self {
            Error::Status { body, .. } => body.as_deref(),
            _ => None,
        }
    }

    /// The `cause` list of the error body (empty when there is none).
    pub fn causes(&self) -> &[types::Cause] {
        self.body().map(|b| b.cause.as_slice()).unwrap_or_default()
    }

    /// The execution-context id (`ecId`), for Oracle support.
    pub fn ec_id(&self) -> Option<&str> {
        self.body().and_then(|b| b.ec_id.as_deref())
    }

    /// The error codes of the `cause` list, in order.
    pub fn codes(&self) -> Vec<AuthCode> {
        self.causes()
            .iter()
            .map(|c| AuthCode::from(c.code.as_str()))
            .collect()
    }

    /// Whether the `cause` list holds `code`.
    pub fn has_code(&self, code: &AuthCode) -> bool {
        self.causes().iter().any(|c| c.code == code.as_str())
    }

    /// The `Retry-After` of a 429 or 503, when sent.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Maps progenitor's outcome to ours, using what the transport saw on the wire.
    pub(crate) fn from_progenitor(
        error: progenitor_client::Error<types::ErrorResponse>,
        observed: Observation,
        limit: usize,
    ) -> Self {
        use progenitor_client::Error as P;
        if let (Some(status), true) = (observed.status, observed.too_large) {
            return Error::BodyTooLarge { status, limit };
        }
        let raw = RawBody::from_observation(&observed);
        match (error, observed.status) {
            (P::ErrorResponse(value), _) => {
                let status = value.status();
                let retry_after = retry_after(value.headers());
                Error::Status {
                    status,
                    body: Some(Box::new(value.into_inner())),
                    raw,
                    retry_after,
                }
            }
            // Documented status, body that does not parse; or an undocumented status.
            (P::InvalidResponsePayload(_, e), Some(status)) if status.is_success() => {
                Error::InvalidBody {
                    status,
                    reason: e.to_string(),
                    raw,
                }
            }
            (P::InvalidResponsePayload(..) | P::UnexpectedResponse(_), Some(status))
                if !status.is_success() =>
            {
                Error::Status {
                    status,
                    body: parse_error_body(&observed.body).map(Box::new),
                    raw,
                    retry_after: retry_after(&observed.headers),
                }
            }
            (P::UnexpectedResponse(_), Some(status)) => Error::InvalidBody {
                status,
                reason: format!(
                    "{status} is not a status the contract documents for this operation"
                ),
                raw,
            },
            (P::CommunicationError(e) | P::ResponseBodyError(e), status) => Error::Transport {
                status,
                message: describe_reqwest(&e),
                source: Some(e),
            },
            (P::InvalidRequest(message) | P::Custom(message), _) => Error::InvalidInput(message),
            (other, status) => Error::Transport {
                status,
                message: format!("unexpected client failure: {other}"),
                source: None,
            },
        }
    }
}

/// Parses an error body when it has the documented shape (used for statuses the
/// contract does not document for the operation, whose body progenitor does not parse).
fn parse_error_body(body: &[u8]) -> Option<types::ErrorResponse> {
    let parsed: types::ErrorResponse = serde_json::from_slice(body).ok()?;
    (parsed.status == Status::Failed || !parsed.cause.is_empty()).then_some(parsed)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    crate::policy::retry_after(headers, std::time::SystemTime::now())
}
