//! The exact HTTP request the client sends for each documented request example and for
//! each GET operation, captured by a local server and pinned as an insta snapshot.
//!
//! `authorization` and `user-agent` are replaced in the snapshots and asserted here;
//! the `host` port is replaced.

use idcs_mfa_test_support::capture as support;

use idcs_mfa::{Answer, Client, ContentType, Initiate, Method, UserRef, Verification, types};
use idcs_mfa_contract::ExampleLocation;
use serde_json::{Value, json};
use support::{Canned, Captured, Server, TOKEN, request_example, response_example};

const REQUEST_ID: &str = "e2746358-a077-41f8-8c16-269b61f3bd87";
const USER_GUID: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";

/// A server answering every operation with one of its documented 200 examples.
async fn server() -> Server {
    Server::start(|request| {
        let example = match (request.method.as_str(), request.target.as_str()) {
            ("GET", t) if t.ends_with("/factors") || t.starts_with("/mfa/v1/users?") => {
                response_example("getUserFactors", 200, "seed002-response-tab")
            }
            ("POST", _) => response_example("initiateVerification", 200, "pm-sms"),
            ("GET", _) => response_example("getVerificationStatus", 200, "seed000-success"),
            ("PATCH", _) => response_example("completeVerification", 200, "seed001-success"),
            _ => return Canned::empty(405),
        };
        Canned::json(200, &example.value)
    })
    .await
}

/// Checks what the snapshots hide, then returns the snapshot form.
fn checked(request: &Captured) -> Value {
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the bearer token is sent as is"
    );
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("idcs-mfa/", env!("CARGO_PKG_VERSION"))),
    );
    assert_eq!(
        request.header("api-version"),
        None,
        "progenitor's stray header is removed"
    );
    request.snapshot()
}

// Test case: each documented request example, sent through `Client`, is on the wire
// exactly as documented (same JSON), and the whole request is pinned.
#[tokio::test]
async fn documented_request_examples_on_the_wire() {
    let examples: Vec<_> = idcs_mfa_contract::Contract::get()
        .examples()
        .iter()
        .filter(|e| e.location == ExampleLocation::Request)
        .collect();
    assert_eq!(examples.len(), 9);
    for example in examples {
        let server = server().await;
        let client = server.client();
        match example.operation_id.as_str() {
            "initiateVerification" => {
                let body: types::InitiateVerificationRequest =
                    serde_json::from_value(example.value.clone()).unwrap();
                client.initiate_verification(&body).await.unwrap();
            }
            "completeVerification" => {
                let body: types::CompleteFactorVerification =
                    serde_json::from_value(example.value.clone()).unwrap();
                client
                    .complete_verification(REQUEST_ID, &body)
                    .await
                    .unwrap();
            }
            other => panic!("no request test for {other}"),
        }
        let request = server.single_request();
        assert_eq!(
            request.body_json().as_ref(),
            Some(&example.value),
            "{}: the body on the wire is the documented example",
            example.name
        );
        insta::assert_json_snapshot!(
            format!("{}__{}", example.operation_id, example.name),
            checked(&request)
        );
    }
}

// Test case: the three GET operations, with their path and query parameters.
#[tokio::test]
async fn get_operations_on_the_wire() {
    let server = server().await;
    let client = server.client();
    client.get_user_factors(USER_GUID).await.unwrap();
    client
        .lookup_user_factors("user1@example.com", types::UserIdType::UserName)
        .await
        .unwrap();
    client.get_verification_status(REQUEST_ID).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(request.body.is_empty(), "a GET has no body: {request:?}");
        assert_eq!(request.header("content-type"), None);
    }
    insta::assert_json_snapshot!("getUserFactors", checked(&requests[0]));
    insta::assert_json_snapshot!("lookupUserFactors", checked(&requests[1]));
    insta::assert_json_snapshot!("getVerificationStatus", checked(&requests[2]));
}

// Test case: path parameters are percent-encoded, so a hostile id cannot change the
// path or add a query.
#[tokio::test]
async fn path_parameters_are_encoded() {
    let server = server().await;
    server
        .client()
        .get_verification_status("../users?x=1#y")
        .await
        .unwrap();
    let target = server.single_request().target;
    assert_eq!(target, "/mfa/v1/requests/..%2Fusers%3Fx=1%23y");
}

// Test case: the flow API puts the documented request bodies on the wire.
#[tokio::test]
async fn the_flow_sends_the_documented_bodies() {
    let server = server().await;
    let client = server.client();
    let user = UserRef::Guid("589879c55b7340518141eab82493f0cc".into());
    client
        .initiate(&Initiate::preferred(user.clone()))
        .await
        .unwrap();
    client
        .initiate(&Initiate::factor(
            user.clone(),
            "88178d80636a428393a5674ba46dc867",
            Method::Sms,
        ))
        .await
        .unwrap();
    client
        .initiate(&Initiate::security_questions(user.clone()))
        .await
        .unwrap();
    client.initiate(&Initiate::bypass_code(user)).await.unwrap();
    client
        .initiate(
            &Initiate::factor(
                UserRef::Name("user1@example.com".into()),
                "06f15bf5778544c3ae2236c5fca9d9e8",
                Method::Push,
            )
            .application_name("Customer Portal")
            .ip_address("192.0.2.10"),
        )
        .await
        .unwrap();

    let mut otp = verification("SMS");
    client.verify_otp(&mut otp, "629084").await.unwrap();
    let mut bypass = verification("BYPASSCODE");
    client
        .verify_bypass_code(&mut bypass, "397541940949")
        .await
        .unwrap();
    let mut questions = verification("SECURITY_QUESTIONS");
    client
        .verify_answers(&mut questions, &[Answer::new("FirstCar", "Ford Pinto")])
        .await
        .unwrap();

    let sent: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    let expected: Vec<&Value> = [
        ("initiateVerification", "pm-preferred-factor"),
        ("initiateVerification", "pm-backup-factor-sms"),
        ("initiateVerification", "pm-security-questions"),
        ("initiateVerification", "pm-bypass-code"),
        ("initiateVerification", "pm-push-with-context"),
        ("completeVerification", "seed001-otp"),
        ("completeVerification", "seed001-bypass-code"),
        ("completeVerification", "seed001-security-questions"),
    ]
    .iter()
    .map(|(op, name)| &request_example(op, name).value)
    .collect();
    assert_eq!(sent.iter().collect::<Vec<_>>(), expected);
    for r in &server.requests()[5..] {
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.target, format!("/mfa/v1/requests/{REQUEST_ID}"));
    }
}

/// A verification of `method` holding the seed examples' `{{requestState}}`.
fn verification(method: &str) -> Verification {
    Verification::from_initiated(
        serde_json::from_value(json!({
            "status": "success",
            "requestId": REQUEST_ID,
            "userGUID": "589879c55b7340518141eab82493f0cc",
            "factorId": "f",
            "method": method,
            "requestState": "{{requestState}}",
        }))
        .unwrap(),
    )
}

// Test case: `ContentType::ScimJson` puts `application/scim+json` on the wire (the seed
// curl examples' media type); the default is `application/json`.
#[tokio::test]
async fn scim_json_content_type() {
    let server = server().await;
    let body = crate::support::otp_body("629084", "s");
    let scim = server
        .builder()
        .content_type(ContentType::ScimJson)
        .build()
        .unwrap();
    scim.complete_verification(REQUEST_ID, &body).await.unwrap();
    let json: Client = server.client();
    json.complete_verification(REQUEST_ID, &body).await.unwrap();
    scim.with_content_type(ContentType::Json)
        .complete_verification(REQUEST_ID, &body)
        .await
        .unwrap();

    let types: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("content-type").map(str::to_owned))
        .collect();
    assert_eq!(
        types,
        [
            Some("application/scim+json".to_owned()),
            Some("application/json".to_owned()),
            Some("application/json".to_owned()),
        ]
    );
    for r in server.requests() {
        assert_eq!(r.header("content-type").into_iter().count(), 1);
        assert_eq!(
            r.headers
                .iter()
                .filter(|(n, _)| n == "content-type")
                .count(),
            1
        );
    }
}

// Test case: no request carries progenitor's `api-version` header, and a client without
// a token sends no `Authorization`.
#[tokio::test]
async fn no_api_version_header_and_no_token_no_authorization() {
    let server = server().await;
    let client = Client::builder(&server.base_url).build().unwrap();
    client.get_user_factors(USER_GUID).await.unwrap();
    client.get_verification_status(REQUEST_ID).await.unwrap();
    for r in server.requests() {
        assert!(
            r.headers
                .iter()
                .all(|(n, _)| n != "api-version" && n != "authorization"),
            "{r:?}"
        );
    }
}
