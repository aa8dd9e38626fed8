//! Reading request bodies: media type, size limit, JSON, and the contract's fields.
//!
//! Each failure is a 400 (or 413) in the API's error shape, never a 5xx:
//!
//! | what | status | code |
//! | --- | --- | --- |
//! | `Content-Type` not `application/json` or `application/scim+json` (parameters such as `charset` allowed) | 400 | AUTH-1111 |
//! | body larger than the limit (default 64 KiB) | 413 | AUTH-1111 |
//! | empty body | 400 | AUTH-1033 |
//! | not JSON | 400 | AUTH-1121 |
//! | JSON but not an object, an unknown field, a value of the wrong type (`null` included) | 400 | AUTH-1111 |
//! | a required field missing | 400 | AUTH-1001 |
//!
//! Which fields exist and which are required is not restated here: it is read off the
//! generated contract types, by serializing one value with every optional field set
//! (all fields) and one with none set (the required fields).

use std::sync::LazyLock;

use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, header},
};
use idcs_mfa::{AuthCode, Method, Secret, types};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::reply::ApiError;

/// What a PATCH asks for (exactly one of these, checked by the parser).
#[derive(Debug)]
pub(crate) enum Action {
    Otp(Secret),
    BypassCode(Secret),
    Answers(Vec<types::SecQuesVerification>),
    Resend,
}

impl Action {
    /// Its attribute in the body.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Otp(_) => "otpCode",
            Action::BypassCode(_) => "bypassCode",
            Action::Answers(_) => "securityQuestions",
            Action::Resend => "resendOtp",
        }
    }

    /// Whether it applies to a request of `method`.
    pub(crate) fn fits(&self, method: &Method) -> bool {
        match self {
            Action::Otp(_) => method.takes_otp(),
            Action::BypassCode(_) => *method == Method::Bypasscode,
            Action::Answers(_) => *method == Method::SecurityQuestions,
            Action::Resend => method.can_resend(),
        }
    }
}

/// The field names of one contract type: all of them, and the required ones.
struct Fields {
    all: Vec<String>,
    required: Vec<String>,
}

fn keys<T: Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

impl Fields {
    fn of<T: Serialize>(full: &T, minimal: &T) -> Fields {
        Fields {
            all: keys(full),
            required: keys(minimal),
        }
    }
}

static INITIATE_FIELDS: LazyLock<Fields> = LazyLock::new(|| {
    let minimal = types::InitiateVerificationRequest {
        user_id: String::new(),
        user_id_type: types::UserIdType::UserGuid,
        factor_id: None,
        method: None,
        application_name: None,
        ip_address: None,
    };
    let full = types::InitiateVerificationRequest {
        factor_id: Some(String::new()),
        method: Some(Method::Sms),
        application_name: Some(String::new()),
        ip_address: Some(String::new()),
        ..minimal.clone()
    };
    Fields::of(&full, &minimal)
});

static ANSWER_FIELDS: LazyLock<Fields> = LazyLock::new(|| {
    let answer = types::SecQuesVerification {
        id: String::new(),
        answer: Secret::default(),
    };
    Fields::of(&answer, &answer)
});

static COMPLETE_FIELDS: LazyLock<Fields> = LazyLock::new(|| {
    let minimal = types::CompleteFactorVerification {
        bypass_code: None,
        otp_code: None,
        request_state: Secret::default(),
        resend_otp: None,
        security_questions: Vec::new(),
    };
    let full = types::CompleteFactorVerification {
        bypass_code: Some(Secret::default()),
        otp_code: Some(Secret::default()),
        resend_otp: Some(true),
        security_questions: vec![types::SecQuesVerification {
            id: String::new(),
            answer: Secret::default(),
        }],
        ..minimal.clone()
    };
    Fields::of(&full, &minimal)
});

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::bad_request(AuthCode::InvalidRequest, message)
}

/// Whether the `Content-Type` is one the contract accepts.
fn json_media_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|essence| {
            essence.eq_ignore_ascii_case("application/json")
                || essence.eq_ignore_ascii_case("application/scim+json")
        })
}

/// Reads at most `limit` bytes; more is 413.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            AuthCode::InvalidRequest,
            format!("The request body is larger than {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// Media type, size, JSON syntax, and "an object".
pub(crate) async fn read_object(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    if !json_media_type(headers) {
        return Err(invalid(
            "The Content-Type must be application/json or application/scim+json.",
        ));
    }
    let bytes = read_limited(headers, body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            AuthCode::UnparseablePayload,
            "The payload is empty.",
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("The payload must be a JSON object.")),
        Err(_) => Err(ApiError::bad_request(
            AuthCode::InvalidJson,
            "Invalid JSON payload.",
        )),
    }
}

fn check_fields(map: &Map<String, Value>, fields: &Fields, what: &str) -> Result<(), ApiError> {
    if let Some(unknown) = map.keys().find(|k| !fields.all.contains(k)) {
        return Err(invalid(format!("{what}: unknown attribute {unknown:?}.")));
    }
    if let Some(missing) = fields
        .required
        .iter()
        .find(|k| map.get(*k).is_none_or(Value::is_null))
    {
        return Err(ApiError::bad_request(
            AuthCode::MissingParameter,
            format!("{what}: the required attribute {missing} is missing."),
        ));
    }
    // The contract declares no attribute `nullable`: an explicit null is a wrong type,
    // not an absent attribute.
    if let Some((name, _)) = map.iter().find(|(_, v)| v.is_null()) {
        return Err(invalid(format!("{what}: {name} must not be null.")));
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        // serde names the expected type; the value itself is not echoed (it may be a
        // secret).
        let reason = e.to_string();
        let reason = reason.split(':').next().unwrap_or("invalid value");
        invalid(format!("An attribute has an invalid value ({reason})."))
    })
}

/// The body of `POST /mfa/v1/requests`.
pub(crate) fn initiate(
    map: Map<String, Value>,
) -> Result<types::InitiateVerificationRequest, ApiError> {
    check_fields(&map, &INITIATE_FIELDS, "InitiateVerificationRequest")?;
    let body: types::InitiateVerificationRequest = typed(map)?;
    // The contract's `UserId` has `minLength: 1`.
    if body.user_id.is_empty() {
        return Err(ApiError::bad_request(
            AuthCode::MissingParameter,
            "InitiateVerificationRequest: userId must not be empty.",
        ));
    }
    Ok(body)
}

/// The body of `PATCH /mfa/v1/requests/{requestId}`: what to do, and the requestState.
/// Exactly one of `otpCode`, `bypassCode`, `securityQuestions` (non-empty) or
/// `resendOtp: true`: none is AUTH-1001, several is AUTH-1111.
pub(crate) fn complete(map: Map<String, Value>) -> Result<(Action, Secret), ApiError> {
    check_fields(&map, &COMPLETE_FIELDS, "CompleteFactorVerification")?;
    if let Some(Value::Array(items)) = map.get("securityQuestions") {
        for item in items {
            match item {
                Value::Object(answer) => {
                    check_fields(answer, &ANSWER_FIELDS, "SecQuesVerification")?
                }
                _ => return Err(invalid("securityQuestions must hold objects.")),
            }
        }
    }
    let body: types::CompleteFactorVerification = typed(map)?;
    let mut actions = Vec::new();
    if let Some(otp) = body.otp_code {
        actions.push(Action::Otp(otp));
    }
    if let Some(code) = body.bypass_code {
        actions.push(Action::BypassCode(code));
    }
    if !body.security_questions.is_empty() {
        actions.push(Action::Answers(body.security_questions));
    }
    if body.resend_otp == Some(true) {
        actions.push(Action::Resend);
    }
    let action = match (actions.pop(), actions.is_empty()) {
        (Some(action), true) => action,
        (None, _) => {
            return Err(ApiError::bad_request(
                AuthCode::MissingParameter,
                "One of otpCode, bypassCode, securityQuestions or resendOtp: true is required.",
            ));
        }
        (Some(_), false) => {
            return Err(invalid(
                "Send only one of otpCode, bypassCode, securityQuestions or resendOtp.",
            ));
        }
    };
    Ok((action, body.request_state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_come_from_the_contract_types() {
        let mut all = COMPLETE_FIELDS.all.clone();
        all.sort();
        assert_eq!(
            all,
            [
                "bypassCode",
                "otpCode",
                "requestState",
                "resendOtp",
                "securityQuestions"
            ]
        );
        assert_eq!(COMPLETE_FIELDS.required, ["requestState"]);
        let mut required = INITIATE_FIELDS.required.clone();
        required.sort();
        assert_eq!(required, ["userId", "userIdType"]);
        assert_eq!(INITIATE_FIELDS.all.len(), 6);
    }
}
