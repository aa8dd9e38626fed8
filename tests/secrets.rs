//! Secrets never show in `Debug`: the bearer token, OTPs, bypass codes, security answers
//! and requestStates, in hand-written and generated types and in recorded exchanges.

mod support;

use std::sync::{Arc, Mutex};

use idcs_mfa::{Answer, Client, Exchange, Recorder, Verification, types};
use serde_json::json;
use support::{Canned, Server};

const TOKEN: &str = "CANARY-token-7c1d";
const OTP: &str = "CANARY-otp-5521";
const BYPASS: &str = "CANARY-bypass-9034";
const ANSWER: &str = "CANARY-answer-ford";
const STATE: &str = "CANARY-state-a1b2";
const NEW_STATE: &str = "CANARY-newstate-c3d4";
const CANARIES: &[&str] = &[TOKEN, OTP, BYPASS, ANSWER, STATE, NEW_STATE];

fn assert_clean(what: &str, shown: &str) {
    for canary in CANARIES {
        // Also a distinctive fragment, in case of partial printing.
        let fragment = &canary[canary.len() - 4..];
        assert!(
            !shown.contains(canary) && !shown.contains(fragment),
            "{what} shows {canary}: {shown}"
        );
    }
}

#[derive(Default)]
struct Keep(Mutex<Vec<Exchange>>);

impl Recorder for Keep {
    fn record(&self, exchange: Exchange) {
        self.0.lock().unwrap().push(exchange);
    }
}

// Test case: the client and its builder never show the token.
#[test]
fn client_and_builder() {
    let builder = Client::builder("https://tenant.example").bearer_token(TOKEN);
    assert_clean("ClientBuilder", &format!("{builder:?} {builder:#?}"));
    let client = builder.build().unwrap();
    assert_clean("Client", &format!("{client:?} {client:#?}"));
    let other = client.with_token(Some(NEW_STATE.into()));
    assert_clean("Client::with_token", &format!("{other:?}"));
}

// Test case: the generated request and response types and the flow's types never show
// the secrets they hold.
#[test]
fn generated_and_flow_types() {
    let complete = types::CompleteFactorVerification {
        otp_code: Some(OTP.into()),
        bypass_code: Some(BYPASS.into()),
        request_state: STATE.into(),
        resend_otp: Some(true),
        security_questions: vec![types::SecQuesVerification {
            id: "FirstCar".into(),
            answer: ANSWER.into(),
        }],
    };
    assert_clean(
        "CompleteFactorVerification",
        &format!("{complete:?} {complete:#?}"),
    );
    // The wire form does carry them: the API needs the values.
    let wire = serde_json::to_string(&complete).unwrap();
    for canary in [OTP, BYPASS, STATE, ANSWER] {
        assert!(wire.contains(canary), "{wire}");
    }

    let initiated: types::InitiatedVerification = serde_json::from_value(json!({
        "status": "success", "requestId": "r", "userGUID": "g", "factorId": "f",
        "method": "SMS", "requestState": STATE
    }))
    .unwrap();
    assert_clean("InitiatedVerification", &format!("{initiated:?}"));
    let completed: types::CompletedVerification =
        serde_json::from_value(json!({"status": "success", "requestState": NEW_STATE})).unwrap();
    assert_clean("CompletedVerification", &format!("{completed:?}"));

    let verification = Verification::from_initiated(initiated);
    assert_clean(
        "Verification",
        &format!("{verification:?} {verification:#?}"),
    );
    let answer = Answer::new("FirstCar", ANSWER);
    assert_clean("Answer", &format!("{answer:?}"));
    let credentials = idcs_mfa::ClientCredentials::new("client-id", BYPASS);
    assert_clean("ClientCredentials", &format!("{credentials:?}"));
}

// Test case: recorded exchanges (request body with every secret, response body with a
// new requestState), and the errors and values of those calls, never show a secret.
#[tokio::test]
async fn exchanges_errors_and_values() {
    let server = Server::sequence(vec![
        Canned::json(
            200,
            &json!({"status": "success", "requestId": "r", "requestState": NEW_STATE}),
        ),
        Canned::json(
            401,
            &json!({"status": "failed", "cause": [{"code": "AUTH-1105", "message": "Invalid passcode."}]}),
        ),
    ])
    .await;
    let keep = Arc::new(Keep::default());
    let client = server
        .builder()
        .bearer_token(TOKEN)
        .recorder(keep.clone())
        .build()
        .unwrap();
    let body = types::CompleteFactorVerification {
        otp_code: Some(OTP.into()),
        bypass_code: Some(BYPASS.into()),
        request_state: STATE.into(),
        resend_otp: None,
        security_questions: vec![types::SecQuesVerification {
            id: "FirstCar".into(),
            answer: ANSWER.into(),
        }],
    };
    let ok = client.complete_verification("r", &body).await.unwrap();
    assert_clean(
        "Response<CompletedVerification>",
        &format!("{:?}", ok.value),
    );
    let e = client.complete_verification("r", &body).await.unwrap_err();
    assert_clean("Error", &format!("{e:?} {e}"));

    // The token did go out, as a header, and was not recorded.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let exchanges = keep.0.lock().unwrap().clone();
    assert_eq!(exchanges.len(), 2);
    for exchange in &exchanges {
        assert!(exchange.authorized);
        assert_clean("Exchange", &format!("{exchange:?} {exchange:#?}"));
        assert_clean(
            "Exchange::redacted",
            &format!("{:?}", exchange.redacted().request_body),
        );
        assert_clean("Exchange::to_curl", &exchange.to_curl());
        let headers = format!("{:?}", exchange.request_headers);
        assert!(!headers.contains(TOKEN), "{headers}");
    }
}
