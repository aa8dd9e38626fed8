//! Secrets never show in `Debug`: the bearer token, OTPs, bypass codes, security answers
//! and requestStates, in hand-written and generated types and in recorded exchanges.

use idcs_mfa_test_support::capture as support;

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

fn exchange_with(request_body: &[u8], response_body: &[u8]) -> Exchange {
    Exchange {
        operation: Some(idcs_mfa::Operation::CompleteVerification),
        method: "PATCH".into(),
        url: "https://tenant.example/mfa/v1/requests/r".into(),
        authorized: true,
        request_headers: vec![("content-type".into(), "application/json".into())],
        request_body: bytes::Bytes::copy_from_slice(request_body),
        status: Some(400),
        response_headers: Vec::new(),
        response_body: bytes::Bytes::copy_from_slice(response_body),
        error: None,
        unreached: false,
    }
}

fn assert_exchange_clean(what: &str, exchange: &Exchange) {
    let redacted = exchange.redacted();
    assert_clean(
        what,
        &format!(
            "{exchange:?} {} {} {}",
            exchange.to_curl(),
            String::from_utf8_lossy(&redacted.request_body),
            String::from_utf8_lossy(&redacted.response_body)
        ),
    );
}

// Test case: a body that holds a secret but is not JSON (a truncated payload, a form,
// a hostile tenant's echo that breaks off) is redacted whole: redaction fails closed,
// in `Debug`, in `redacted()` and in the curl repro. A non-JSON body without a secret
// key is kept as it is, for diagnosis.
#[test]
fn secrets_in_bodies_that_are_not_json_are_redacted_whole() {
    let truncated = format!(r#"{{"otpCode": "{OTP}", "requestState": "{STATE}", "bypassCode": "#);
    let form = format!("grant_type=client_credentials&client_secret={BYPASS}");
    let nested_too_deep = format!(
        "{}{{\"answer\": \"{ANSWER}\"}}{}",
        "[".repeat(200),
        "]".repeat(200)
    );
    for body in [truncated.as_str(), form.as_str(), nested_too_deep.as_str()] {
        let echo = format!("<html>{body}</html>");
        assert_exchange_clean(body, &exchange_with(body.as_bytes(), echo.as_bytes()));
    }
    let plain = exchange_with(b"not json at all", b"<h1>Bad Request</h1>");
    assert_eq!(&plain.redacted().request_body[..], b"not json at all");
    assert_eq!(&plain.redacted().response_body[..], b"<h1>Bad Request</h1>");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    // Test case: a canary under any secret key, at any depth of any JSON shape, in the
    // request or the response body, never shows in `Debug`, `redacted()` or the curl
    // repro; and whether the body is then cut short anywhere does not matter.
    #[test]
    fn redaction_holds_for_any_shape(
        value in json_with_canary(),
        in_request in proptest::bool::ANY,
        cut in proptest::option::of(0usize..400),
    ) {
        let mut text = value.to_string();
        if let Some(cut) = cut {
            text.truncate(cut.min(text.len()));
        }
        let exchange = if in_request {
            exchange_with(text.as_bytes(), b"")
        } else {
            exchange_with(b"", text.as_bytes())
        };
        let shown = format!(
            "{exchange:?} {} {}",
            exchange.to_curl(),
            String::from_utf8_lossy(&exchange.redacted().response_body)
        );
        proptest::prop_assert!(!shown.contains(TOKEN), "{}", shown);
    }
}

/// JSON values with [`TOKEN`] under a secret key somewhere.
fn json_with_canary() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<i32>().prop_map(serde_json::Value::from),
        "[a-z ]{0,8}".prop_map(serde_json::Value::from),
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let key = proptest::sample::select(idcs_mfa::SECRET_KEYS.to_vec());
    (tree, key, proptest::collection::vec(0usize..4, 0..4)).prop_map(|(mut tree, key, path)| {
        plant(&mut tree, &path, key);
        tree
    })
}

/// Walks down `path` as far as `value` goes and puts [`TOKEN`] under `key` there.
fn plant(value: &mut serde_json::Value, path: &[usize], key: &str) {
    use serde_json::Value;
    match (value, path.split_first()) {
        (Value::Array(items), Some((step, rest))) if !items.is_empty() => {
            let n = items.len();
            plant(&mut items[step % n], rest, key);
        }
        (Value::Object(map), Some((step, rest))) if !map.is_empty() => {
            let n = map.len();
            plant(map.values_mut().nth(step % n).unwrap(), rest, key);
        }
        (Value::Object(map), _) => {
            map.insert(key.to_owned(), Value::from(TOKEN));
        }
        (Value::Array(items), _) => items.push(serde_json::json!({ key: TOKEN })),
        (other, _) => *other = serde_json::json!({ key: TOKEN }),
    }
}
