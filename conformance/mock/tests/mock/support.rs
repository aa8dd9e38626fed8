//! Shared helpers of the mock_* test binaries: start a mock, build clients, drive the
//! control API.
#![allow(dead_code)]

use idcs_mfa::{Client, Initiate, Method, UserRef, Verification};
use idcs_mfa_mock::{ControlError, Fault, MockConfig, MockTenant, OutboxEntry, UserStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// \[FACTORS\]'s first user (preferred SMS; TOTP+PUSH device).
pub const TOM: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";
pub const TOM_PHONE: &str = "06f15bf5778544c3ae2236c5fca9d9e8";
pub const TOM_SMS: &str = "0778f15bf5778544c3ae2236c5fca9d9e8";
pub const TOM_CALL: &str = "0778f15bf5778544c3af21336c5fca9d9e8";
pub const TOM_IPHONE: &str = "0878f15bf5778544c3ae2236c5fca9d9e8";
/// \[FACTORS\]'s second user (preferred EMAIL).
pub const TOM2: &str = "7b3d902ab05b4214bae6b2924ca6be21";
/// \[VERIFY\]'s user1@example.com.
pub const USER1: &str = "589879c55b7340518141eab82493f0cc";
pub const USER1_NAME: &str = "user1@example.com";
pub const USER1_EMAIL: &str = "30db2274140043918edb033d9fe29ff3";
pub const USER1_SMS: &str = "88178d80636a428393a5674ba46dc867";

pub async fn start(config: MockConfig) -> MockTenant {
    MockTenant::start_with(config)
        .await
        .expect("the mock starts")
}

pub async fn start_default() -> MockTenant {
    start(MockConfig::default()).await
}

pub async fn start_with_faults(faults: &[Fault]) -> MockTenant {
    start(MockConfig {
        faults: faults.to_vec(),
        ..MockConfig::default()
    })
    .await
}

pub fn client(m: &MockTenant) -> Client {
    Client::builder(m.base_url())
        .bearer_token(m.token().clone())
        .build()
        .expect("client")
}

/// A raw HTTP client, one per thread: building one (TLS roots included) takes far longer
/// than a request to the mock, which skews timing-sensitive tests. Per thread, not per
/// process, because pooled connections belong to the runtime that opened them, and each
/// test has its own runtime.
pub fn http() -> reqwest::Client {
    thread_local! {
        static HTTP: reqwest::Client = reqwest::Client::new();
    }
    HTTP.with(Clone::clone)
}

pub async fn initiate(m: &MockTenant, user: &str, factor: &str, method: Method) -> Verification {
    client(m)
        .initiate(&Initiate::factor(
            UserRef::Guid(user.into()),
            factor,
            method,
        ))
        .await
        .expect("initiate")
}

/// The raw answer of a request: status and JSON body (Null when not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the request is answered");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The JSON body of a request that must succeed, as `T`.
pub async fn json_of<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let response = request.send().await.expect("the request is answered");
    response
        .json()
        .await
        .expect("a JSON body of the expected shape")
}

/// The first cause code of an error body.
pub fn code(body: &Value) -> &str {
    body["cause"][0]["code"].as_str().unwrap_or("")
}

/// Asserts the contract's error shape.
pub fn assert_error_shape(body: &Value) {
    assert_eq!(body["status"], "failed", "{body}");
    let causes = body["cause"].as_array().expect("cause is an array");
    assert!(!causes.is_empty(), "{body}");
    for c in causes {
        assert!(c["code"].is_string() && c["message"].is_string(), "{body}");
    }
    serde_json::from_value::<idcs_mfa::types::ErrorResponse>(body.clone())
        .expect("the body parses as the contract's ErrorResponse");
}

/// A raw request to the tenant's `path` with the ready token.
pub fn api(m: &MockTenant, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", m.base_url()))
        .bearer_auth(m.token().expose())
}

/// A raw GET of `path` with the ready token.
pub async fn get(m: &MockTenant, path: &str) -> (StatusCode, Value) {
    send(api(m, reqwest::Method::GET, path)).await
}

/// A raw PATCH of `body` (JSON) with the ready token.
pub async fn patch(m: &MockTenant, request_id: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/mfa/v1/requests/{request_id}");
    send(api(m, reqwest::Method::PATCH, &path).json(&body)).await
}

/// A raw PATCH of a wrong OTP (the last one sent for `v`, changed) with `v`'s
/// requestState.
pub async fn patch_wrong_otp(m: &MockTenant, v: &Verification) -> (StatusCode, Value) {
    let otp = Control(m).last_otp(v.request_id()).await;
    let body = json!({"otpCode": wrong(&otp), "requestState": v.request_state().expose()});
    patch(m, v.request_id(), body).await
}

/// A raw POST /mfa/v1/requests with the ready token.
pub async fn post_initiate(m: &MockTenant, body: Value) -> (StatusCode, Value) {
    send(api(m, reqwest::Method::POST, "/mfa/v1/requests").json(&body)).await
}

pub async fn poll(m: &MockTenant, request_id: &str) -> (StatusCode, Value) {
    get(m, &format!("/mfa/v1/requests/{request_id}")).await
}

/// The user's phone and inbox and the administrator's console of one mock, through its
/// typed handle. The status codes are the control API's for the same outcome (200, 404
/// for an unknown request, 409 for a PUSH that is not pending), so that a test reads the
/// same either way; `ControlApi` drives the control API itself over HTTP.
pub struct Control<'a>(pub &'a MockTenant);

impl Control<'_> {
    pub async fn outbox(&self, request_id: &str) -> Vec<OutboxEntry> {
        self.0.outbox_for_request(request_id)
    }

    /// The latest OTP sent for a request.
    pub async fn last_otp(&self, request_id: &str) -> String {
        self.0
            .outbox_for_request(request_id)
            .last()
            .expect("an OTP was sent")
            .otp
            .expose()
            .to_owned()
    }

    pub async fn approve(&self, request_id: &str) -> StatusCode {
        status_of(self.0.approve_push(request_id).map(|_| ()))
    }

    pub async fn reject(&self, request_id: &str) -> StatusCode {
        status_of(self.0.reject_push(request_id).map(|_| ()))
    }

    pub async fn user(&self, guid: &str) -> UserStatus {
        self.0.user(guid).expect("the user exists")
    }

    pub async fn unlock(&self, guid: &str) -> UserStatus {
        self.0.unlock_user(guid).expect("the user exists")
    }

    pub async fn mint(&self, roles: &[&str]) -> String {
        self.0.mint_token(roles, None).expose().to_owned()
    }
}

fn status_of(result: Result<(), ControlError>) -> StatusCode {
    match result {
        Ok(()) => StatusCode::OK,
        Err(ControlError::NotFound(_)) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::CONFLICT,
    }
}

/// The control API of one mock, over HTTP (`/_mock/v1`).
pub struct ControlApi<'a>(pub &'a MockTenant);

impl ControlApi<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.control_url())
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        http()
            .request(method, self.url(path))
            .bearer_auth(self.0.control_token().expose())
    }

    pub async fn outbox(&self, request_id: &str) -> Vec<OutboxEntry> {
        json_of(
            self.req(reqwest::Method::GET, "/outbox")
                .query(&[("requestId", request_id)]),
        )
        .await
    }

    pub async fn approve(&self, request_id: &str) -> StatusCode {
        self.req(
            reqwest::Method::POST,
            &format!("/push/{request_id}/approve"),
        )
        .send()
        .await
        .unwrap()
        .status()
    }

    pub async fn reject(&self, request_id: &str) -> StatusCode {
        self.req(reqwest::Method::POST, &format!("/push/{request_id}/reject"))
            .send()
            .await
            .unwrap()
            .status()
    }

    pub async fn user(&self, guid: &str) -> UserStatus {
        json_of(self.req(reqwest::Method::GET, &format!("/users/{guid}"))).await
    }

    pub async fn unlock(&self, guid: &str) -> UserStatus {
        json_of(self.req(reqwest::Method::POST, &format!("/users/{guid}/unlock"))).await
    }

    pub async fn set_faults(&self, names: &[&str]) -> StatusCode {
        self.req(reqwest::Method::PUT, "/faults")
            .json(&json!(names))
            .send()
            .await
            .unwrap()
            .status()
    }

    pub async fn mint(&self, roles: &[&str]) -> String {
        let body: Value = json_of(
            self.req(reqwest::Method::POST, "/tokens")
                .json(&json!({ "roles": roles })),
        )
        .await;
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// A six-digit code that is not `otp`.
pub fn wrong(otp: &str) -> &'static str {
    if otp == "000000" { "111111" } else { "000000" }
}

/// The current TOTP of the default fixture's TOTP factors.
pub fn totp_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    idcs_mfa_mock::totp::code(idcs_mfa_mock::fixture::DEFAULT_TOTP_SECRET, now).unwrap()
}
