//! Raw HTTP: every documented error status of every operation, and bad input. Every
//! failure must be in the contract's ErrorResponse shape and never a 5xx.

use crate::support::*;
use idcs_mfa::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// All five operations, as (method, path, body).
fn operations(request_id: &str) -> Vec<(reqwest::Method, String, Option<Value>)> {
    vec![
        (
            reqwest::Method::GET,
            format!("/mfa/v1/users/{TOM}/factors"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/mfa/v1/users?userId={USER1_NAME}&userIdType=USER_NAME&attributes=factors"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/mfa/v1/requests".into(),
            Some(
                json!({"userId": TOM, "userIdType": "USER_GUID", "factorId": TOM_IPHONE, "method": "TOTP"}),
            ),
        ),
        (
            reqwest::Method::GET,
            format!("/mfa/v1/requests/{request_id}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/mfa/v1/requests/{request_id}"),
            Some(json!({"otpCode": "000000", "requestState": "x"})),
        ),
    ]
}

async fn call(
    base: &str,
    token: Option<&str>,
    (method, path, body): &(reqwest::Method, String, Option<Value>),
) -> (StatusCode, Value) {
    let mut r = http().request(method.clone(), format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    send(r).await
}

// Test case: no token, an unknown token, a token without either role, an expired token
// → 401 in the error shape on every operation.
#[tokio::test]
async fn every_operation_refuses_bad_tokens_with_401() {
    let m = start_default().await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    let control = ControlApi(&m);
    let no_role = control.mint(&["Some Other Role"]).await;
    let expired: Value = control
        .req(reqwest::Method::POST, "/tokens")
        .json(&json!({"roles": ["MFA Client"], "expiresIn": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expired = expired["access_token"].as_str().unwrap().to_owned();
    for op in operations(v.request_id()) {
        for (token, expected_code) in [
            (None, "AUTH-1007"),
            (Some("not-a-token"), "AUTH-1007"),
            (Some(no_role.as_str()), "AUTH-1007"),
            (Some(expired.as_str()), "AUTH-1110"),
            // The control token is not a /mfa/v1 token.
            (Some(m.control_token().expose()), "AUTH-1007"),
        ] {
            let (status, body) = call(m.base_url(), token, &op).await;
            assert_eq!(status, 401, "{} {} with {token:?}", op.0, op.1);
            assert_error_shape(&body);
            assert_eq!(code(&body), expected_code, "{} {}", op.0, op.1);
        }
    }
}

// Test case: the Authenticator Client role may use all five operations (they are
// requests operations and GETs on /mfa/v1/users).
#[tokio::test]
async fn authenticator_client_role_may_use_every_operation() {
    let m = start_default().await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    let token = Control(&m).mint(&["Authenticator Client"]).await;
    for op in operations(v.request_id()) {
        let (status, body) = call(m.base_url(), Some(&token), &op).await;
        // The PATCH's requestState "x" is refused (AUTH-1120), but not the token.
        assert!(
            status.is_success() || !["AUTH-1007", "AUTH-1110"].contains(&code(&body)),
            "{} {}: {status} {body}",
            op.0,
            op.1
        );
    }
}

// Test case: unknown users are 404 AUTH-3018 with an ecId ([OD]).
#[tokio::test]
async fn unknown_users_are_404_user_not_found() {
    let m = start_default().await;
    let unknown = "00000000000000000000000000000000";
    let requests = [
        http().get(format!("{}/mfa/v1/users/{unknown}/factors", m.base_url())),
        http().get(format!(
            "{}/mfa/v1/users?userId=nobody@example.com",
            m.base_url()
        )),
        http().get(format!(
            "{}/mfa/v1/users?userId={unknown}&userIdType=USER_GUID",
            m.base_url()
        )),
        http()
            .post(format!("{}/mfa/v1/requests", m.base_url()))
            .json(&json!({"userId": "nobody", "userIdType": "USER_NAME"})),
        // A GUID looked up as a name is not found either.
        http()
            .post(format!("{}/mfa/v1/requests", m.base_url()))
            .json(&json!({"userId": TOM, "userIdType": "USER_NAME"})),
    ];
    for r in requests {
        let (status, body) = send(r.bearer_auth(m.token().expose())).await;
        assert_eq!(status, 404);
        assert_error_shape(&body);
        assert_eq!(code(&body), "AUTH-3018");
        assert_eq!(body["cause"][0]["message"], "User not found.");
        assert!(body["ecId"].is_string());
    }
}

// Test case: an unknown requestId is 404 for the poll and the PATCH (seeds 000, 001).
#[tokio::test]
async fn unknown_request_ids_are_404() {
    let m = start_default().await;
    for id in ["f843736e-cbd8-4548-b41f-343b624a79fc", "x", "%E2%98%83"] {
        let (status, body) = poll(&m, id).await;
        assert_eq!(status, 404, "{id}");
        assert_error_shape(&body);
        let (status, body) = patch(&m, id, json!({"otpCode": "1", "requestState": "x"})).await;
        assert_eq!(status, 404, "{id}");
        assert_error_shape(&body);
    }
}

// Test case: the look-up refuses missing or invalid query parameters with 400.
#[tokio::test]
async fn lookup_refuses_bad_queries_with_400() {
    let m = start_default().await;
    for (query, expected) in [
        ("", "AUTH-1001"),
        ("userId=", "AUTH-1001"),
        ("userIdType=USER_NAME", "AUTH-1001"),
        ("userId=user1@example.com&userIdType=EMAIL", "AUTH-1111"),
        (
            "userId=user1@example.com&attributes=everything",
            "AUTH-1111",
        ),
        ("userId=user1@example.com&filter=x", "AUTH-1111"),
    ] {
        let (status, body) = get(&m, &format!("/mfa/v1/users?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_error_shape(&body);
        assert_eq!(code(&body), expected, "{query}");
    }
    // attributes may be left out.
    let (status, _) = get(&m, &format!("/mfa/v1/users?userId={USER1_NAME}")).await;
    assert_eq!(status, 200);
}

/// Sends each `(content type, body, expected code)` of `cases` to `path` and holds
/// the answer to a 400 in the error shape, with that code.
async fn each_refused_400(
    m: &idcs_mfa_mock::MockTenant,
    method: reqwest::Method,
    path: &str,
    cases: Vec<(Option<&str>, String, &str)>,
) {
    for (ct, body, expected) in cases {
        let (status, answer) = raw(m, method.clone(), path, ct, body.clone().into_bytes()).await;
        assert_eq!(status, 400, "{ct:?} {body}: {answer}");
        assert_error_shape(&answer);
        assert_eq!(code(&answer), expected, "{ct:?} {body}");
    }
}

/// A raw body with a content type.
async fn raw(
    m: &idcs_mfa_mock::MockTenant,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut r = api(m, method, path).body(body);
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    send(r).await
}

// Test case: bad initiate bodies are 400 with the documented code; never a 5xx.
#[tokio::test]
async fn initiate_refuses_bad_bodies_with_400() {
    let m = start_default().await;
    let json_ct = Some("application/json");
    let cases: Vec<(Option<&str>, String, &str)> = vec![
        (json_ct, "{".to_string(), "AUTH-1121"),
        (json_ct, "{\"userId\": \"a\",}".to_string(), "AUTH-1121"),
        (json_ct, "".to_string(), "AUTH-1033"),
        (json_ct, "   ".to_string(), "AUTH-1033"),
        (json_ct, "[]".to_string(), "AUTH-1111"),
        (json_ct, "\"text\"".to_string(), "AUTH-1111"),
        (json_ct, "null".to_string(), "AUTH-1111"),
        (
            json_ct,
            r#"{"userIdType": "USER_GUID"}"#.to_string(),
            "AUTH-1001",
        ),
        (
            json_ct,
            r#"{"userId": null, "userIdType": "USER_GUID"}"#.to_string(),
            "AUTH-1001",
        ),
        (json_ct, r#"{"userId": "x"}"#.to_string(), "AUTH-1001"),
        // The contract's UserId has minLength 1.
        (
            json_ct,
            r#"{"userId": "", "userIdType": "USER_GUID"}"#.to_string(),
            "AUTH-1001",
        ),
        // No attribute is nullable: an explicit null is not "absent" (schemathesis found it).
        (
            json_ct,
            format!(r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "ipAddress": null}}"#),
            "AUTH-1111",
        ),
        (
            json_ct,
            r#"{"userId": 5, "userIdType": "USER_GUID"}"#.to_string(),
            "AUTH-1111",
        ),
        (
            json_ct,
            r#"{"userId": "x", "userIdType": "EMAIL"}"#.to_string(),
            "AUTH-1111",
        ),
        (
            json_ct,
            format!(r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "extra": 1}}"#),
            "AUTH-1111",
        ),
        (
            json_ct,
            format!(r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "method": "FIDO2"}}"#),
            "AUTH-1111",
        ),
        (
            json_ct,
            format!(
                r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "factorId": "{TOM_SMS}", "method": "EMAIL"}}"#
            ),
            "AUTH-1111",
        ),
        (
            json_ct,
            format!(
                r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "factorId": "nope", "method": "SMS"}}"#
            ),
            "AUTH-1111",
        ),
        (
            json_ct,
            format!(
                r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "factorId": "{TOM_PHONE}"}}"#
            ),
            "AUTH-1001",
        ),
        (
            json_ct,
            format!(r#"{{"userId": "{TOM2}", "userIdType": "USER_GUID", "method": "PHONE_CALL"}}"#),
            "AUTH-1111",
        ),
        (
            Some("text/plain"),
            format!(r#"{{"userId": "{TOM}", "userIdType": "USER_GUID"}}"#),
            "AUTH-1111",
        ),
        (Some("application/xml"), "<x/>".to_string(), "AUTH-1111"),
        (
            None,
            format!(r#"{{"userId": "{TOM}", "userIdType": "USER_GUID"}}"#),
            "AUTH-1111",
        ),
    ];
    each_refused_400(&m, reqwest::Method::POST, "/mfa/v1/requests", cases).await;
    // Media type parameters and case do not matter.
    for ct in [
        "application/json; charset=utf-8",
        "Application/SCIM+JSON;charset=UTF-8",
    ] {
        let body = format!(
            r#"{{"userId": "{TOM}", "userIdType": "USER_GUID", "factorId": "{TOM_IPHONE}", "method": "TOTP"}}"#
        );
        let (status, _) = raw(
            &m,
            reqwest::Method::POST,
            "/mfa/v1/requests",
            Some(ct),
            body.into(),
        )
        .await;
        assert_eq!(status, 200, "{ct}");
    }
}

// Test case: bodies above the limit are 413 in the error shape, and the server stays well.
#[tokio::test]
async fn oversized_bodies_are_413() {
    let m = start_default().await;
    let v = initiate(&m, TOM, TOM_IPHONE, Method::Totp).await;
    let padding = "a".repeat(70 * 1024);
    let big = json!({"userId": padding, "userIdType": "USER_GUID"}).to_string();
    let (status, body) = raw(
        &m,
        reqwest::Method::POST,
        "/mfa/v1/requests",
        Some("application/json"),
        big.clone().into(),
    )
    .await;
    assert_eq!(status, 413);
    assert_error_shape(&body);
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let (status, body) = raw(
        &m,
        reqwest::Method::PATCH,
        &path,
        Some("application/json"),
        big.into(),
    )
    .await;
    assert_eq!(status, 413);
    assert_error_shape(&body);
    // Chunked (no Content-Length) is limited too: raw HTTP/1.1 over TCP.
    let status = chunked_patch(&m, &path, 80 * 1024).await;
    assert_eq!(status, "413");
    // Still serving.
    assert_eq!(poll(&m, v.request_id()).await.0, 200);
}

/// Sends a chunked PATCH of `total` bytes of spaces; returns the status code text.
async fn chunked_patch(m: &idcs_mfa_mock::MockTenant, path: &str, total: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(m.addr()).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        m.addr(),
        m.token().expose()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    let mut sent = 0;
    while sent < total {
        // The server may answer and close before everything is sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += 1024;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).to_string();
    text.split(' ').nth(1).unwrap_or("").to_owned()
}

// Test case: PATCH bodies that are not one valid verification are 400 with the code
// the module documents; the request stays usable afterwards.
#[tokio::test]
async fn patch_refuses_invalid_payloads_with_400() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let state = v.request_state().expose().to_owned();
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let json_ct = Some("application/json");
    let cases: Vec<(Option<&str>, String, &str)> = vec![
        (json_ct, "{\"otpCode\": ".into(), "AUTH-1121"),
        (json_ct, "".into(), "AUTH-1033"),
        (json_ct, "[1]".into(), "AUTH-1111"),
        (json_ct, json!({"otpCode": "1"}).to_string(), "AUTH-1001"),
        (json_ct, json!({"requestState": state}).to_string(), "AUTH-1001"),
        (json_ct, json!({"requestState": state, "resendOtp": false}).to_string(), "AUTH-1001"),
        (json_ct, json!({"requestState": state, "securityQuestions": []}).to_string(), "AUTH-1001"),
        (json_ct, json!({"requestState": state, "otpCode": "1", "bypassCode": "2"}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "otpCode": "1", "resendOtp": true}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "otpCode": 123456}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": 7, "otpCode": "1"}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "resendOtp": "yes"}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "otpCode": "1", "extra": true}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "otpCode": "1", "bypassCode": null}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "securityQuestions": [{"id": "FirstCar", "answer": "x", "hint": "y"}]}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "securityQuestions": ["FirstCar"]}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "securityQuestions": {"id": "x"}}).to_string(), "AUTH-1111"),
        // Valid shape, but not for an SMS request.
        (json_ct, json!({"requestState": state, "bypassCode": "397541940949"}).to_string(), "AUTH-1111"),
        (json_ct, json!({"requestState": state, "securityQuestions": [{"id": "FirstCar", "answer": "Ford Pinto"}]}).to_string(), "AUTH-1111"),
        (Some("text/plain"), json!({"requestState": state, "otpCode": "1"}).to_string(), "AUTH-1111"),
        (None, json!({"requestState": state, "otpCode": "1"}).to_string(), "AUTH-1111"),
    ];
    each_refused_400(&m, reqwest::Method::PATCH, &path, cases).await;
    // None of that counted as an attempt or spent the request.
    assert_eq!(Control(&m).user(USER1).await.attempts, 1);
    let otp = Control(&m).last_otp(v.request_id()).await;
    c.verify_otp(&mut v, otp.as_str()).await.unwrap();
}

// Test case: a wrong OTP is 401 with [VERIFY]'s exact body.
#[tokio::test]
async fn wrong_otp_is_seed_001s_401() {
    let m = start_default().await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let (status, body) = patch_wrong_otp(&m, &v).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"status": "failed", "cause": [{"code": "AUTH-1105", "message": "Invalid passcode."}]})
    );
}

// Test case: tampered, foreign, stale and spent requestStates are 401 AUTH-1120.
#[tokio::test]
async fn bad_request_states_are_401_auth_1120() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let other = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let original = v.request_state().expose().to_owned();
    let mut tampered = original.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    c.resend_otp(&mut v).await.unwrap();
    let otp = Control(&m).last_otp(v.request_id()).await;
    for (what, state) in [
        ("tampered", tampered.as_str()),
        ("another request's", other.request_state().expose()),
        ("stale after resend", original.as_str()),
        ("garbage", "GwHJr3RvycjNEv.....MhQTLmWYzA/LVp0s"),
        ("empty", ""),
    ] {
        let (status, body) = patch(
            &m,
            v.request_id(),
            json!({"otpCode": otp, "requestState": state}),
        )
        .await;
        assert_eq!(status, 401, "{what}");
        assert_error_shape(&body);
        assert_eq!(code(&body), "AUTH-1120", "{what}");
    }
    let current = v.request_state().expose().to_owned();
    c.verify_otp(&mut v, otp.as_str()).await.unwrap();
    // A request that succeeded cannot be verified again.
    let (status, body) = patch(
        &m,
        v.request_id(),
        json!({"otpCode": otp, "requestState": current}),
    )
    .await;
    assert_eq!((status.as_u16(), code(&body)), (401, "AUTH-1120"));
}

// Test case: absurd paths are 404 and wrong methods 405, both in the error shape.
#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_the_error_shape() {
    let m = start_default().await;
    let long = "a".repeat(4000);
    for path in [
        "/".to_owned(),
        "/mfa".into(),
        "/mfa/v2/requests".into(),
        "/mfa/v1/users/x/factors/y".into(),
        "/mfa/v1/requests/a/b".into(),
        format!("/mfa/v1/{long}"),
        "/mfa/v1/users/%00%ff/factors".into(),
        "/_mock/v1/nothing".into(),
    ] {
        let (status, body) = get(&m, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_error_shape(&body);
    }
    for (method, path) in [
        (reqwest::Method::DELETE, "/mfa/v1/requests/x"),
        (reqwest::Method::POST, "/mfa/v1/users"),
        (reqwest::Method::PUT, "/mfa/v1/requests"),
        (reqwest::Method::GET, "/mfa/v1/requests"),
    ] {
        let (status, body) = send(api(&m, method.clone(), path)).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_error_shape(&body);
    }
}

// Test case: a pile of hostile bodies never yields a 5xx, and the state stays sound.
#[tokio::test]
async fn hostile_bodies_never_yield_a_5xx() {
    let m = start_default().await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00],
        b"\xef\xbb\xbf{}".to_vec(),
        nested.into_bytes(),
        b"{\"userId\": \"\\ud800\", \"userIdType\": \"USER_GUID\"}".to_vec(),
        b"{\"otpCode\": 1e999, \"requestState\": \"x\"}".to_vec(),
        b"{\"requestState\": \"x\", \"requestState\": \"y\", \"otpCode\": \"1\"}".to_vec(),
        "{\"userId\": \"\u{202e}\", \"userIdType\": \"USER_NAME\"}".into(),
        b"{\"securityQuestions\": [{}], \"requestState\": \"x\"}".to_vec(),
    ];
    for body in bodies {
        for (method, path) in [
            (reqwest::Method::POST, "/mfa/v1/requests".to_owned()),
            (
                reqwest::Method::PATCH,
                format!("/mfa/v1/requests/{}", v.request_id()),
            ),
        ] {
            let (status, answer) = raw(
                &m,
                method.clone(),
                &path,
                Some("application/json"),
                body.clone(),
            )
            .await;
            assert!(
                [400, 401, 404].contains(&status.as_u16()),
                "{method} {path} {:?}: {status}",
                String::from_utf8_lossy(&body)
            );
            assert_error_shape(&answer);
        }
    }
    // The PUSH is still pending and can be approved.
    assert_eq!(poll(&m, v.request_id()).await.0, 200);
    assert_eq!(Control(&m).approve(v.request_id()).await, 200);
    assert_eq!(poll(&m, v.request_id()).await.1["status"], "success");
}
