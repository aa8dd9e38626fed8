//! `POST /oauth2/v1/token`: the client-credentials grant, so a client can be tested end
//! to end (docs/sources.md; the scope is inferred).
//!
//! ```text
//! POST /oauth2/v1/token
//! Authorization: Basic base64(clientId:clientSecret)
//! Content-Type: application/x-www-form-urlencoded
//!
//! grant_type=client_credentials&scope=urn:opc:idm:__myscopes__
//! ```
//!
//! answers `200 {"access_token": "…", "token_type": "Bearer", "expires_in": 3600}`; the
//! token carries the app's roles from the fixture. `scope` is accepted and ignored.
//! Failures use RFC 6749's shape: 401 `invalid_client` (with `WWW-Authenticate: Basic`)
//! for missing or wrong client credentials, 400 `unsupported_grant_type` for another
//! grant, 400 `invalid_request` for a body that is not a form, 413 above the body limit.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{body::read_limited, clock::Now, random, reply::json, shared::Shared};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json(
        status,
        &json!({"error": error, "error_description": description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"idcs-mock\""),
        );
    }
    response
}

/// Decodes `%XX` and `+` of one form component; `None` when it is not valid UTF-8 or a
/// `%` escape is broken.
pub(crate) fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = data_encoding::BASE64
        .decode(encoded.trim().as_bytes())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    // RFC 6749 2.3.1: both parts are form-encoded before Basic encoding.
    Some((form_decode(id)?, form_decode(secret)?))
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    let bytes = match read_limited(&headers, raw, shared.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the body is too large",
            );
        }
    };
    let Some(form) = std::str::from_utf8(&bytes).ok().and_then(|text| {
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                Some((form_decode(k)?, form_decode(v)?))
            })
            .collect::<Option<Vec<_>>>()
    }) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not application/x-www-form-urlencoded",
        );
    };
    let Some((client_id, secret)) = basic_credentials(&headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "HTTP Basic client authentication is required",
        );
    };
    match form.iter().find(|(k, _)| k == "grant_type") {
        Some((_, grant)) if grant == "client_credentials" => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let token = random::token();
    let lifetime = shared.settings.token_lifetime;
    {
        let mut state = shared.lock();
        let roles = state
            .fixture
            .apps
            .iter()
            .find(|app| app.client_id == client_id && app.client_secret.ct_eq(&secret))
            .map(|app| app.roles.clone());
        let Some(roles) = roles else {
            drop(state);
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        };
        state.add_token(&token, roles, Some(lifetime), Now::read());
    }
    let mut response = json(
        StatusCode::OK,
        &json!({
            "access_token": token.expose(),
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_components_decode() {
        assert_eq!(form_decode("a+b%3Ac").as_deref(), Some("a b:c"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%FF"), None);
    }
}
