//! A record of one request and its response, for reports, traces and repro commands.
//!
//! An [`Exchange`] is what the client sent and what came back, byte for byte, except
//! that credential headers are never kept. Request bodies do hold secrets (OTPs, bypass
//! codes, answers, requestStates): [`Exchange::redacted`] replaces them, and `Debug`
//! only ever prints the redacted form.

use std::fmt;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap};

use crate::{Operation, wire::Observation};

/// JSON keys whose values are secrets wherever they appear in a body.
pub const SECRET_KEYS: &[&str] = &[
    "otpCode",
    "bypassCode",
    "requestState",
    "answer",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
];

/// Headers that are never recorded.
const CREDENTIAL_HEADERS: &[header::HeaderName] = &[
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
    header::SET_COOKIE,
];

/// What was replaced by [`Exchange::redacted`] and [`redact_json`].
pub const REDACTED: &str = "[redacted]";

/// One request and its response (or the reason there was none).
#[derive(Clone)]
pub struct Exchange {
    /// The operation of the contract it exercised; `None` for a request to a method and
    /// path that is no operation of the contract.
    pub operation: Option<Operation>,
    /// The HTTP method.
    pub method: String,
    /// The full URL, with query.
    pub url: String,
    /// Whether an `Authorization` header was sent (its value is never kept).
    pub authorized: bool,
    /// Request headers, credential headers removed.
    pub request_headers: Vec<(String, String)>,
    /// The request body as sent (secrets included; see [`Exchange::redacted`]).
    pub request_body: Bytes,
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    /// Response headers, credential headers removed.
    pub response_headers: Vec<(String, String)>,
    /// The response body as read (empty when over the size limit).
    pub response_body: Bytes,
    /// Why there is no (complete) response, when there is none.
    pub error: Option<String>,
    /// The request never reached the tenant: the name did not resolve, the connection
    /// was refused or the TLS handshake failed, so nothing was sent. A timeout or a
    /// reset after the request went out is not this: the tenant may have acted on it.
    pub unreached: bool,
}

impl Exchange {
    pub(crate) fn from_request(operation: Option<Operation>, request: &reqwest::Request) -> Self {
        Self {
            operation,
            method: request.method().to_string(),
            url: request.url().to_string(),
            authorized: request.headers().contains_key(header::AUTHORIZATION),
            request_headers: header_list(request.headers()),
            request_body: request
                .body()
                .and_then(|b| b.as_bytes())
                .map(Bytes::copy_from_slice)
                .unwrap_or_default(),
            status: None,
            response_headers: Vec::new(),
            response_body: Bytes::new(),
            error: None,
            unreached: false,
        }
    }

    pub(crate) fn set_response(&mut self, observed: &Observation, error: Option<&reqwest::Error>) {
        self.status = observed.status.map(|s| s.as_u16());
        self.response_headers = header_list(&observed.headers);
        self.response_body = observed.body.clone();
        self.error = match (error, observed.too_large) {
            (Some(e), _) => Some(crate::wire::describe_reqwest(e)),
            (None, true) => Some("the response body was larger than the size limit".into()),
            (None, false) => None,
        };
        self.unreached = error.is_some_and(reqwest::Error::is_connect);
    }

    /// A copy with every secret in the bodies replaced by `[redacted]`.
    pub fn redacted(&self) -> Exchange {
        let mut copy = self.clone();
        copy.request_body = redact_body(&self.request_body);
        copy.response_body = redact_body(&self.response_body);
        copy
    }

    /// A `curl` command that repeats the request, the token read from `$IDCS_TOKEN` and
    /// secrets in the body redacted.
    pub fn to_curl(&self) -> String {
        let mut cmd = format!("curl -sS -X {} '{}'", self.method, shell_quote(&self.url));
        if self.authorized {
            cmd.push_str(" -H \"Authorization: Bearer $IDCS_TOKEN\"");
        }
        for (name, value) in &self.request_headers {
            if name == "content-type" {
                cmd.push_str(&format!(" -H '{name}: {}'", shell_quote(value)));
            }
        }
        if !self.request_body.is_empty() {
            let body = redact_body(&self.request_body);
            cmd.push_str(&format!(
                " --data-raw '{}'",
                shell_quote(&String::from_utf8_lossy(&body))
            ));
        }
        cmd
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.redacted();
        f.debug_struct("Exchange")
            .field("operation", &r.operation)
            .field("method", &r.method)
            .field("url", &r.url)
            .field("authorized", &r.authorized)
            .field("request_body", &String::from_utf8_lossy(&r.request_body))
            .field("status", &r.status)
            .field("response_body", &String::from_utf8_lossy(&r.response_body))
            .field("error", &r.error)
            .finish_non_exhaustive()
    }
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(name))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn shell_quote(s: &str) -> String {
    s.replace('\'', r"'\''")
}

/// Redacts a body. A JSON body has the values of [`SECRET_KEYS`] replaced. A body that
/// does not parse (cut short, a form, nested past serde_json's depth limit) cannot be
/// redacted value by value: when it names a secret key anywhere it is replaced whole
/// (redaction fails closed); otherwise it is kept for diagnosis.
fn redact_body(body: &Bytes) -> Bytes {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if redact_json(&mut value) {
                Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
            } else {
                body.clone()
            }
        }
        Err(_) if names_a_secret(body) => Bytes::from(format!(
            "{REDACTED} ({} bytes that are not JSON and name a secret key)",
            body.len()
        )),
        Err(_) => body.clone(),
    }
}

/// Whether `body` holds the name of one of [`SECRET_KEYS`], in any ASCII case.
fn names_a_secret(body: &[u8]) -> bool {
    SECRET_KEYS.iter().any(|key| {
        body.windows(key.len())
            .any(|w| w.eq_ignore_ascii_case(key.as_bytes()))
    })
}

/// Replaces, in place, the value of every [`SECRET_KEYS`] member at any depth with
/// `"[redacted]"`. Returns whether anything was replaced.
pub fn redact_json(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                    changed = true;
                } else {
                    changed |= redact_json(v);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| redact_json(v) | c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_keys_at_any_depth() {
        let mut v = serde_json::json!({
            "otpCode": "629084",
            "requestState": "abc",
            "securityQuestions": [{"id": "FirstCar", "answer": "Ford Pinto"}],
            "userId": "kept"
        });
        assert!(redact_json(&mut v));
        let text = v.to_string();
        for secret in ["629084", "abc\"", "Ford Pinto"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("kept") && text.contains("FirstCar"));
    }

    #[test]
    fn curl_uses_the_environment_token_and_redacts() {
        let e = Exchange {
            operation: Some(Operation::CompleteVerification),
            method: "PATCH".into(),
            url: "http://127.0.0.1:1/mfa/v1/requests/x".into(),
            authorized: true,
            request_headers: vec![("content-type".into(), "application/json".into())],
            request_body: Bytes::from_static(
                br#"{"bypassCode":"397541940949","requestState":"s"}"#,
            ),
            status: Some(401),
            response_headers: vec![],
            response_body: Bytes::new(),
            error: None,
            unreached: false,
        };
        let curl = e.to_curl();
        assert!(curl.contains("$IDCS_TOKEN"), "{curl}");
        assert!(!curl.contains("397541940949"), "{curl}");
        assert!(!format!("{e:?}").contains("397541940949"));
    }
}
