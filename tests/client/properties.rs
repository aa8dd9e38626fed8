//! Properties: request bodies round-trip through serde and conform to the contract;
//! whatever a server answers (status, content type, body), no operation panics and every
//! failure reports the status that came back.

use idcs_mfa_test_support::capture as support;

use std::sync::{Arc, Mutex};

use idcs_mfa::{Client, Error, Method, types};
use idcs_mfa_contract::Contract;
use proptest::prelude::*;
use support::{Canned, Server};

fn method() -> impl Strategy<Value = Method> {
    proptest::sample::select(Method::KNOWN.to_vec())
}

fn secret() -> impl Strategy<Value = idcs_mfa::Secret> {
    any::<String>().prop_map(idcs_mfa::Secret::new)
}

/// One action of a PATCH: the contract allows exactly one beside the requestState.
#[derive(Debug, Clone)]
enum Action {
    Otp(idcs_mfa::Secret),
    Bypass(idcs_mfa::Secret),
    Resend,
    Answers(Vec<(String, idcs_mfa::Secret)>),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        secret().prop_map(Action::Otp),
        secret().prop_map(Action::Bypass),
        Just(Action::Resend),
        proptest::collection::vec((any::<String>(), secret()), 1..3).prop_map(Action::Answers),
    ]
}

fn complete_with(
    request_state: idcs_mfa::Secret,
    actions: &[Action],
) -> types::CompleteFactorVerification {
    let mut body = types::CompleteFactorVerification {
        otp_code: None,
        bypass_code: None,
        request_state,
        resend_otp: None,
        security_questions: Vec::new(),
    };
    for action in actions {
        match action.clone() {
            Action::Otp(s) => body.otp_code = Some(s),
            Action::Bypass(s) => body.bypass_code = Some(s),
            Action::Resend => body.resend_otp = Some(true),
            Action::Answers(answers) => {
                body.security_questions = answers
                    .into_iter()
                    .map(|(id, answer)| types::SecQuesVerification { id, answer })
                    .collect()
            }
        }
    }
    body
}

prop_compose! {
    fn complete_body()(request_state in secret(), action in action())
        -> types::CompleteFactorVerification {
        complete_with(request_state, &[action])
    }
}

prop_compose! {
    fn initiate_body()(
        user_id in any::<String>().prop_filter("UserId has minLength 1", |s| !s.is_empty()),
        by_guid in any::<bool>(),
        factor_id in proptest::option::of(any::<String>()),
        method in proptest::option::of(method()),
        application_name in proptest::option::of(any::<String>()),
        ip_address in proptest::option::of(any::<String>()),
    ) -> types::InitiateVerificationRequest {
        types::InitiateVerificationRequest {
            user_id,
            user_id_type: if by_guid { types::UserIdType::UserGuid } else { types::UserIdType::UserName },
            factor_id,
            method,
            application_name,
            ip_address,
        }
    }
}

/// Serialises, checks the JSON against the contract's request schema, parses it back.
fn round_trip<T>(operation_id: &str, body: &T) -> Result<T, TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_value(body).unwrap();
    let schema = Contract::get().request_schema(operation_id).unwrap();
    let report = idcs_mfa_contract::validate(&schema, &json);
    prop_assert!(report.is_valid(), "{:?}", report.errors);
    prop_assert!(
        report.unknown_fields.is_empty(),
        "{:?}",
        report.unknown_fields
    );
    let text = serde_json::to_string(body).unwrap();
    Ok(serde_json::from_str(&text).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // Test case: PATCH bodies with arbitrary strings round-trip and conform.
    #[test]
    fn complete_factor_verification_round_trips(body in complete_body()) {
        prop_assert_eq!(round_trip("completeVerification", &body)?, body);
    }

    // Test case: the contract refuses a PATCH with two different actions, or none
    // ("exactly one of", written as minProperties/maxProperties).
    #[test]
    fn complete_bodies_with_two_actions_or_none_do_not_conform(
        state in secret(),
        a in action(),
        b in action(),
    ) {
        let schema = Contract::get().request_schema("completeVerification").unwrap();
        let none = serde_json::to_value(complete_with(state.clone(), &[])).unwrap();
        prop_assert!(!idcs_mfa_contract::validate(&schema, &none).is_valid());
        prop_assume!(std::mem::discriminant(&a) != std::mem::discriminant(&b));
        let two = serde_json::to_value(complete_with(state, &[a, b])).unwrap();
        prop_assert!(!idcs_mfa_contract::validate(&schema, &two).is_valid(), "{two}");
    }

    // Test case: initiate bodies with arbitrary strings round-trip and conform.
    #[test]
    fn initiate_verification_request_round_trips(body in initiate_body()) {
        prop_assert_eq!(round_trip("initiateVerification", &body)?, body);
    }
}

/// Bodies worth trying: arbitrary bytes, and JSON close to the documented shapes.
fn response_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(Vec::new()),
        Just(br#"{"status":"failed","cause":[{"code":"AUTH-1105","message":"m"}]}"#.to_vec()),
        Just(br#"{"status":"failed","cause":"x"}"#.to_vec()),
        Just(br#"{"status":"success","userGUID":"g","factors":[]}"#.to_vec()),
        Just(br#"{"status":"pending","cause":[{"code":"AUTH-1108","message":"m"}]}"#.to_vec()),
        Just(br#"{"status":"NEW","requestId":"r","userGUID":"g","factorId":"f","method":"FIDO","requestState":"s"}"#.to_vec()),
        Just(b"<html>error</html>".to_vec()),
        "[ -~]{0,40}".prop_map(String::into_bytes),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    proptest::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/scim+json"),
        Some("text/html; charset=utf-8"),
        Some("text/plain"),
        Some("application/octet-stream"),
        Some("garbage"),
    ])
}

/// Calls every operation; returns each outcome's error status (`None` for success).
async fn call_all(client: &Client) -> Vec<(&'static str, Result<(), Error>)> {
    let complete = crate::support::otp_body("629084", "s");
    let initiate = idcs_mfa::Initiate::preferred(idcs_mfa::UserRef::Guid("g".into())).to_body();
    vec![
        (
            "getUserFactors",
            client.get_user_factors("g").await.map(drop),
        ),
        (
            "lookupUserFactors",
            client
                .lookup_user_factors("u", types::UserIdType::UserName)
                .await
                .map(drop),
        ),
        (
            "initiateVerification",
            client.initiate_verification(&initiate).await.map(drop),
        ),
        (
            "getVerificationStatus",
            client.get_verification_status("r").await.map(drop),
        ),
        (
            "completeVerification",
            client.complete_verification("r", &complete).await.map(drop),
        ),
    ]
}

// Test case: for arbitrary (status 200..=599, content type, body) every operation
// returns (no panic); every non-2xx is an `Error` whose `status()` is that status, and
// every error of a 2xx carries the 2xx too. (1xx statuses are interim responses in HTTP/1.1
// and are left out.)
#[test]
fn any_answer_keeps_its_status() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let answer: Arc<Mutex<Canned>> = Arc::new(Mutex::new(Canned::empty(200)));
    let shared = answer.clone();
    let server = runtime.block_on(Server::start(move |_| shared.lock().unwrap().clone()));
    let client = server.client();

    let config = ProptestConfig::with_cases(64);
    proptest!(config, |(status in 200u16..=599, ct in content_type(), body in response_body())| {
        *answer.lock().unwrap() = Canned::new(status, ct, body.clone());
        let outcomes = runtime.block_on(call_all(&client));
        for (operation, outcome) in outcomes {
            match outcome {
                Ok(()) => prop_assert!(
                    (200..300).contains(&status),
                    "{operation}: a {status} was taken for success"
                ),
                Err(e) => prop_assert_eq!(
                    e.status().map(|s| s.as_u16()),
                    Some(status),
                    "{}: {:?}",
                    operation,
                    e
                ),
            }
        }
    });
}
