//! The error keeps the HTTP status whatever the body: empty, HTML, not JSON, an
//! undocumented status, a broken 2xx body, a body over the size limit. Redirects are not
//! followed, so the token never reaches another host.

use idcs_mfa_test_support::capture as support;

use std::time::Duration;

use idcs_mfa::Error;
use serde_json::json;
use support::{Canned, Server};

const GUID: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";

async fn get_factors(canned: Canned) -> Error {
    let server = Server::always(canned).await;
    server.client().get_user_factors(GUID).await.unwrap_err()
}

fn status(e: &Error) -> Option<u16> {
    e.status().map(|s| s.as_u16())
}

// Test case: an empty 401 (a gateway's) keeps its status; there is no body to parse.
#[tokio::test]
async fn empty_401_keeps_the_status() {
    let e = get_factors(Canned::empty(401)).await;
    assert_eq!(status(&e), Some(401), "{e:?}");
    match &e {
        Error::Status { body, raw, .. } => {
            assert!(body.is_none());
            assert!(raw.bytes.is_empty());
        }
        other => panic!("expected Error::Status, got {other:?}"),
    }
    assert!(e.causes().is_empty());
    assert!(
        e.to_string().contains("401") && e.to_string().contains("empty body"),
        "{e}"
    );
}

// Test case: an HTML 404 keeps its status and the page as received.
#[tokio::test]
async fn html_404_keeps_the_status() {
    let html = "<html><body><h1>404 Not Found</h1></body></html>";
    let e = get_factors(Canned::new(404, Some("text/html"), html)).await;
    assert_eq!(status(&e), Some(404), "{e:?}");
    match &e {
        Error::Status { body, raw, .. } => {
            assert!(body.is_none());
            assert_eq!(&raw.bytes[..], html.as_bytes());
            assert_eq!(raw.content_type.as_deref(), Some("text/html"));
        }
        other => panic!("expected Error::Status, got {other:?}"),
    }
}

// Test case: a 500 with a plain-text body keeps its status.
#[tokio::test]
async fn non_json_500_keeps_the_status() {
    let e = get_factors(Canned::new(500, Some("text/plain"), "upstream exploded")).await;
    assert_eq!(status(&e), Some(500), "{e:?}");
    assert!(matches!(e, Error::Status { body: None, .. }), "{e:?}");
}

// Test case: a JSON error body under an application/json label that is not the error
// shape (a gateway's `{"error": ...}`) keeps the status, with no parsed body.
#[tokio::test]
async fn foreign_json_error_keeps_the_status() {
    let e = get_factors(Canned::json(401, &json!({"error": "invalid_token"}))).await;
    assert_eq!(status(&e), Some(401), "{e:?}");
    assert!(e.body().is_none());
}

// Test case: an undocumented status (418) keeps its status, and its body is parsed when
// it has the documented error shape.
#[tokio::test]
async fn undocumented_418_keeps_the_status_and_body() {
    let body = json!({"status": "failed", "cause": [{"code": "AUTH-9999", "message": "teapot"}]});
    let e = get_factors(Canned::json(418, &body)).await;
    assert_eq!(status(&e), Some(418), "{e:?}");
    assert_eq!(e.causes().len(), 1);
    assert_eq!(e.codes(), [idcs_mfa::AuthCode::Other("AUTH-9999".into())]);
}

// Test case: a 200 whose body breaks the contract is `InvalidBody` with status 200; so
// is an undocumented 2xx.
#[tokio::test]
async fn broken_200_is_invalid_body_with_the_status() {
    for body in [
        &b"{\"status\": \"success\""[..],
        b"",
        b"<html/>",
        b"{\"status\": 1}",
    ] {
        let e = get_factors(Canned::new(200, Some("application/json"), body)).await;
        assert_eq!(status(&e), Some(200), "{e:?}");
        assert!(matches!(e, Error::InvalidBody { .. }), "{e:?}");
    }
    let factors = json!({"status": "success", "userGUID": GUID, "factors": []});
    let e = get_factors(Canned::json(201, &factors)).await;
    assert_eq!(status(&e), Some(201), "{e:?}");
    assert!(matches!(e, Error::InvalidBody { .. }), "{e:?}");
}

// Test case: a body over the size limit is `BodyTooLarge` with the status, whether its
// length is declared or it simply keeps coming; a body at the limit is read.
#[tokio::test]
async fn body_over_the_limit_is_body_too_large_with_the_status() {
    let limit = 1024;
    let big = vec![b' '; limit + 1];
    for (code, canned) in [
        (200, Canned::new(200, Some("application/json"), big.clone())),
        (500, Canned::new(500, Some("text/plain"), big.clone())),
        (
            200,
            Canned::new(200, Some("application/json"), big.clone()).without_length(),
        ),
        (
            404,
            Canned::new(404, Some("text/html"), big.clone()).without_length(),
        ),
    ] {
        let server = Server::always(canned).await;
        let client = server.builder().max_response_bytes(limit).build().unwrap();
        let e = client.get_user_factors(GUID).await.unwrap_err();
        assert_eq!(status(&e), Some(code), "{e:?}");
        match e {
            Error::BodyTooLarge { limit: l, .. } => assert_eq!(l, limit),
            other => panic!("expected BodyTooLarge, got {other:?}"),
        }
    }

    // Exactly at the limit: read and parsed.
    let body = json!({"status": "success", "userGUID": GUID, "factors": []}).to_string();
    let padded = format!("{body:<width$}", width = limit);
    assert_eq!(padded.len(), limit);
    let server = Server::always(Canned::new(200, Some("application/json"), padded)).await;
    let client = server.builder().max_response_bytes(limit).build().unwrap();
    let ok = client.get_user_factors(GUID).await.unwrap();
    assert_eq!(ok.value.user_guid, GUID);
}

// Test case: `Retry-After` of a 429 is exposed, also when the body is not JSON.
#[tokio::test]
async fn retry_after_of_a_429_is_exposed() {
    let body = json!({"status": "failed", "cause": [{"code": "AUTH-0429", "message": "Too many requests"}]});
    let e = get_factors(Canned::json(429, &body).header("Retry-After", "7")).await;
    assert_eq!(status(&e), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.causes().len(), 1);

    let e = get_factors(Canned::empty(429).header("retry-after", "3")).await;
    assert_eq!(status(&e), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

    let e = get_factors(Canned::json(429, &body)).await;
    assert_eq!(e.retry_after(), None);
}

// Test case: a redirect is not followed: the error has the 3xx status and the other
// host receives nothing (so neither the token nor the body's secrets).
#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Server::always(Canned::json(200, &json!({"status": "success"}))).await;
    for code in [301, 302, 307, 308] {
        let location = format!("{}/mfa/v1/requests/x", elsewhere.base_url);
        let server = Server::always(Canned::empty(code).header("location", &location)).await;
        let client = server.client();
        let e = client.get_verification_status("x").await.unwrap_err();
        assert_eq!(status(&e), Some(code), "{e:?}");
        let body = crate::support::otp_body("629084", "state");
        let e = client.complete_verification("x", &body).await.unwrap_err();
        assert_eq!(status(&e), Some(code), "{e:?}");
        assert_eq!(server.requests().len(), 2);
    }
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

// Test case: no response at all (connection refused) is a transport error without a
// status.
#[tokio::test]
async fn connection_refused_has_no_status() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = idcs_mfa::Client::builder(url).build().unwrap();
    let e = client.get_user_factors(GUID).await.unwrap_err();
    assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
}
