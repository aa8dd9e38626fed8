//! Each documented response example, served with its status, through the matching
//! `Client` method: the parsed value (2xx) or the error's status and parsed body
//! (4xx/5xx) is pinned as a snapshot. Then the flow API on top of the operations.

use idcs_mfa_test_support::capture as support;

use std::time::Duration;

use idcs_mfa::{
    AuthCode, Client, Error, Initiate, PushStatus, PushWait, Response, UserRef, Verification, types,
};
use idcs_mfa_contract::{Contract, Example, ExampleLocation};
use serde_json::{Value, json};
use support::{Canned, Server, response_example};

const REQUEST_ID: &str = "e2746358-a077-41f8-8c16-269b61f3bd87";

/// Calls `operation_id` and returns the parsed 2xx value or the error, both as `Debug`
/// text, plus the 2xx value re-serialised.
async fn call(client: &Client, operation_id: &str) -> Result<(String, Value), Error> {
    fn shown<T: std::fmt::Debug + serde::Serialize>(r: Response<T>) -> (String, Value) {
        (
            format!("{:#?}", r.value),
            serde_json::to_value(&r.value).unwrap(),
        )
    }
    Ok(match operation_id {
        "getUserFactors" => shown(
            client
                .get_user_factors("cc327268ff4d4e4a9b3e9f676215cfc7")
                .await?,
        ),
        "lookupUserFactors" => shown(
            client
                .lookup_user_factors("user1@example.com", types::UserIdType::UserName)
                .await?,
        ),
        "initiateVerification" => {
            let body = Initiate::preferred(UserRef::Guid("g".into())).to_body();
            shown(client.initiate_verification(&body).await?)
        }
        "getVerificationStatus" => shown(client.get_verification_status(REQUEST_ID).await?),
        "completeVerification" => {
            let body = crate::support::otp_body("629084", "s");
            shown(client.complete_verification(REQUEST_ID, &body).await?)
        }
        other => panic!("no client method for {other}"),
    })
}

// Test case: every documented response example parses into the contract's type (2xx,
// round-tripping to the same JSON) or into an `Error` that keeps status and body.
#[tokio::test]
async fn documented_response_examples_parse() {
    let examples: Vec<&Example> = Contract::get()
        .examples()
        .iter()
        .filter(|e| e.location != ExampleLocation::Request)
        .collect();
    assert_eq!(examples.len(), 13);
    for example in examples {
        let ExampleLocation::Response { status } = example.location else {
            unreachable!()
        };
        let server = Server::always(Canned::json(status, &example.value)).await;
        let outcome = call(&server.client(), &example.operation_id).await;
        let name = format!("{}__{}__{}", example.operation_id, status, example.name);
        match outcome {
            Ok((debug, json)) => {
                assert!(
                    (200..300).contains(&status),
                    "{name}: a {status} parsed as success"
                );
                assert_eq!(json, example.value, "{name}: the value round-trips");
                insta::assert_snapshot!(name, debug);
            }
            Err(e) => {
                assert!(status >= 400, "{name}: {e:?}");
                assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{name}");
                let body = e
                    .body()
                    .unwrap_or_else(|| panic!("{name}: body not parsed: {e:?}"));
                assert_eq!(serde_json::to_value(body).unwrap(), example.value, "{name}");
                insta::assert_snapshot!(
                    name,
                    format!(
                        "status: {}\ncodes: {:?}\nec_id: {:?}\nbody: {:#?}\ndisplay: {e}",
                        e.status().unwrap(),
                        e.codes(),
                        e.ec_id(),
                        body
                    )
                );
            }
        }
    }
}

/// A verification of `method`, as the initiate step would return it.
fn verification(method: &str, state: &str) -> Verification {
    Verification::from_initiated(
        serde_json::from_value(json!({
            "status": "success",
            "requestId": REQUEST_ID,
            "userGUID": "589879c55b7340518141eab82493f0cc",
            "factorId": "06f15bf5778544c3ae2236c5fca9d9e8",
            "method": method,
            "requestState": state,
        }))
        .unwrap(),
    )
}

fn status_example(status: u16, name: &str) -> Canned {
    Canned::json(
        status,
        &response_example("getVerificationStatus", status, name).value,
    )
}

// Test case: one PUSH poll maps 200 pending, 200 success and 401 rejected ([STATUS]) to
// `PushStatus`; any other 401 stays an error.
#[tokio::test]
async fn push_status_maps_the_documented_answers() {
    let push = verification("PUSH", "s");
    let pending = Server::always(status_example(200, "seed000-pending")).await;
    assert_eq!(
        pending.client().push_status(&push).await.unwrap(),
        PushStatus::Pending
    );
    let approved = Server::always(status_example(200, "seed000-success")).await;
    assert_eq!(
        approved.client().push_status(&push).await.unwrap(),
        PushStatus::Approved
    );
    let rejected = Server::always(status_example(401, "seed000-rejected")).await;
    match rejected.client().push_status(&push).await.unwrap() {
        PushStatus::Rejected { causes } => {
            assert_eq!(causes.len(), 1);
            assert_eq!(causes[0].code, "AUTH-1108");
            assert_eq!(causes[0].message, "Rejected");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    for server in [&pending, &approved, &rejected] {
        let r = server.single_request();
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            (
                "GET",
                "/mfa/v1/requests/e2746358-a077-41f8-8c16-269b61f3bd87"
            )
        );
    }

    // A 401 for a bad token (no AUTH-1108) is not a rejection by the user.
    let bad_token = Server::always(Canned::json(
        401,
        &json!({"status": "failed", "cause": [{"code": "AUTH-1007", "message": "Authentication failed."}]}),
    ))
    .await;
    let e = bad_token.client().push_status(&push).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(e.codes(), [AuthCode::AuthenticationFailed]);
}

// Test case: `resend_otp` sends `resendOtp: true` with the current state and replaces
// the state with the one of the answer ([VERIFY]), which the next verify sends.
#[tokio::test]
async fn resend_otp_replaces_the_request_state() {
    let resend = response_example("completeVerification", 200, "seed001-resend");
    let success = response_example("completeVerification", 200, "seed001-success");
    let server = Server::sequence(vec![
        Canned::json(200, &resend.value),
        Canned::json(200, &success.value),
    ])
    .await;
    let client = server.client();
    let mut v = verification("EMAIL", "old-state");
    client.resend_otp(&mut v).await.unwrap();
    assert_eq!(v.request_state().expose(), "fMDFvx.....0Rf/CUY");
    assert!(!v.is_done());
    client.verify_otp(&mut v, "629084").await.unwrap();
    assert!(v.is_done());

    let bodies: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"resendOtp": true, "requestState": "old-state"}),
            json!({"otpCode": "629084", "requestState": "fMDFvx.....0Rf/CUY"}),
        ]
    );

    // A resend answer without a requestState is refused, and the state is kept.
    let server = Server::always(Canned::json(200, &success.value)).await;
    let mut v = verification("SMS", "kept");
    let e = server.client().resend_otp(&mut v).await.unwrap_err();
    assert!(matches!(e, Error::InvalidBody { .. }), "{e:?}");
    assert_eq!(v.request_state().expose(), "kept");
}

// Test case: a wrong OTP is a 401 with AUTH-1105 and leaves the verification usable.
#[tokio::test]
async fn a_wrong_otp_is_a_401_with_its_code() {
    let server = Server::always(Canned::json(
        401,
        &response_example("completeVerification", 401, "seed001-invalid-passcode").value,
    ))
    .await;
    let mut v = verification("SMS", "s");
    let e = server
        .client()
        .verify_otp(&mut v, "000000")
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.has_code(&AuthCode::InvalidPasscode));
    assert!(!v.is_done());
}

/// `wait_for_push` on a PUSH of `server`, polling every 5 ms for up to 20 s.
async fn wait_quickly(server: &Server) -> PushStatus {
    let wait = PushWait {
        interval: Duration::from_millis(5),
        deadline: Duration::from_secs(20),
    };
    server
        .client()
        .wait_for_push(&verification("PUSH", "s"), wait)
        .await
        .unwrap()
}

// Test case: `wait_for_push` polls until approved: three pending answers, then success.
#[tokio::test]
async fn wait_for_push_returns_approved_after_pending_polls() {
    let server = Server::sequence(vec![
        status_example(200, "seed000-pending"),
        status_example(200, "seed000-pending"),
        status_example(200, "seed000-pending"),
        status_example(200, "seed000-success"),
    ])
    .await;
    let status = wait_quickly(&server).await;
    assert_eq!(status, PushStatus::Approved);
    assert_eq!(server.requests().len(), 4);
}

// Test case: a rejection ends the wait with `Rejected`.
#[tokio::test]
async fn wait_for_push_returns_rejected() {
    let server = Server::sequence(vec![
        status_example(200, "seed000-pending"),
        status_example(401, "seed000-rejected"),
    ])
    .await;
    let status = wait_quickly(&server).await;
    assert!(matches!(status, PushStatus::Rejected { .. }), "{status:?}");
    assert_eq!(server.requests().len(), 2);
}

// Test case: a PUSH that stays pending ends in `PushTimedOut` once the deadline passed
// (small real durations; no sleeping for seconds).
#[tokio::test]
async fn wait_for_push_times_out_when_it_stays_pending() {
    let server = Server::always(status_example(200, "seed000-pending")).await;
    let wait = PushWait {
        interval: Duration::from_millis(20),
        deadline: Duration::from_millis(150),
    };
    let e = server
        .client()
        .wait_for_push(&verification("PUSH", "s"), wait)
        .await
        .unwrap_err();
    match e {
        Error::PushTimedOut { waited } => assert!(waited >= wait.deadline, "{waited:?}"),
        other => panic!("expected PushTimedOut, got {other:?}"),
    }
    // How many polls fit depends on the machine's load; at least the first was sent.
    assert!(!server.requests().is_empty());
}

// Test case: a poll that fails (a 500) ends the wait with that error.
#[tokio::test]
async fn wait_for_push_stops_on_a_failed_poll() {
    let server = Server::sequence(vec![
        status_example(200, "seed000-pending"),
        Canned::new(500, Some("text/plain"), "boom"),
    ])
    .await;
    let wait = PushWait {
        interval: Duration::from_millis(5),
        deadline: Duration::from_secs(20),
    };
    let e = server
        .client()
        .wait_for_push(&verification("PUSH", "s"), wait)
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
}

// Test case: the verify, resend and poll methods refuse a verification of the wrong
// method, or one already verified, before anything is sent.
#[tokio::test]
async fn wrong_method_is_refused_before_sending() {
    let server = Server::always(Canned::json(200, &json!({"status": "success"}))).await;
    let client = server.client();
    let refused = |r: Result<(), Error>| {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
        assert_eq!(e.status(), None);
    };
    refused(client.verify_otp(&mut verification("PUSH", "s"), "1").await);
    refused(
        client
            .verify_otp(&mut verification("BYPASSCODE", "s"), "1")
            .await,
    );
    refused(
        client
            .verify_bypass_code(&mut verification("SMS", "s"), "1")
            .await,
    );
    refused(
        client
            .verify_answers(
                &mut verification("TOTP", "s"),
                &[idcs_mfa::Answer::new("q", "a")],
            )
            .await,
    );
    refused(
        client
            .verify_answers(&mut verification("SECURITY_QUESTIONS", "s"), &[])
            .await,
    );
    refused(client.resend_otp(&mut verification("TOTP", "s")).await);
    refused(client.resend_otp(&mut verification("PUSH", "s")).await);
    let e = client
        .push_status(&verification("SMS", "s"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    let e = client
        .wait_for_push(&verification("EMAIL", "s"), PushWait::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // Once verified, a verification refuses to be used again.
    let mut v = verification("SMS", "s");
    client.verify_otp(&mut v, "629084").await.unwrap();
    refused(client.verify_otp(&mut v, "629084").await);
    refused(client.resend_otp(&mut v).await);
    assert_eq!(server.requests().len(), 1);
}
