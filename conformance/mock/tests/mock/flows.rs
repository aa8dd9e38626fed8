//! The documented flows, end to end through the library client (`idcs_mfa::Client`).

use std::time::Duration;

use crate::support::*;
use idcs_mfa::{Answer, AuthCode, Initiate, Method, PushStatus, PushWait, UserRef};
use idcs_mfa_mock::MockConfig;

fn quick() -> PushWait {
    PushWait {
        interval: Duration::from_millis(20),
        deadline: Duration::from_secs(5),
    }
}

// Test case: the factor listing is [FACTORS]'s first example, byte for byte in meaning.
#[tokio::test]
async fn factors_by_guid_are_seed_002s_first_example() {
    let m = start_default().await;
    let f = client(&m).get_user_factors(TOM).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&f.raw).unwrap();
    let seed = serde_json::json!({
        "status":"success","userGUID":"cc327268ff4d4e4a9b3e9f676215cfc7",
        "factors":[
            {"displayName":"tom's Phone-1","factorId":"06f15bf5778544c3ae2236c5fca9d9e8","methods":["TOTP","PUSH"]},
            {"displayName":"91******003","factorId":"0778f15bf5778544c3ae2236c5fca9d9e8","methods":["SMS"]},
            {"displayName":"91******0123","factorId":"0778f15bf5778544c3af21336c5fca9d9e8","methods":["PHONE_CALL"]},
            {"displayName":"91******0143","factorId":"0778f15bf5778544c3af21336c523459d9e8","methods":["SMS","PHONE_CALL"]},
            {"displayName":"Tom's IPhone 2","factorId":"0878f15bf5778544c3ae2236c5fca9d9e8","methods":["TOTP"]},
            {"factorId":"SecurityQuestions","methods":["SECURITY_QUESTIONS"]},
            {"factorId":"BypassCode","methods":["BYPASSCODE"]}
        ],
        "preferredFactorId":"0778f15bf5778544c3ae2236c5fca9d9e8","preferredMethod":"SMS"});
    assert_eq!(body, seed);
}

// Test case: look-up by user name returns the same shape, for the named user.
#[tokio::test]
async fn factors_by_user_name_find_the_user() {
    let m = start_default().await;
    let f = client(&m)
        .factors(&UserRef::Name(USER1_NAME.into()))
        .await
        .unwrap();
    assert_eq!(f.user_guid, USER1);
    assert_eq!(f.preferred_method, Some(Method::Sms));
    assert!(f.factors.iter().any(|x| x.factor_id == USER1_EMAIL));
}

// Test case: no factorId nor method → the preferred factor (EMAIL for [FACTORS]'s second user).
#[tokio::test]
async fn initiate_without_factor_uses_the_preferred_one() {
    let m = start_default().await;
    let v = client(&m)
        .initiate(&Initiate::preferred(UserRef::Guid(TOM2.into())))
        .await
        .unwrap();
    assert_eq!(v.method(), &Method::Email);
    assert_eq!(v.factor_id(), "b3e04149d958437b9b801fa70c33ca70");
    assert_eq!(v.display_name(), Some("uxxr1@example.com"));
    assert!(uuid::Uuid::parse_str(v.request_id()).is_ok_and(|u| u.get_version_num() == 4));
}

async fn otp_flow(user: &str, factor: &str, method: Method) {
    let m = start_default().await;
    let c = client(&m);
    let control = Control(&m);
    let mut v = initiate(&m, user, factor, method.clone()).await;
    let first = control.last_otp(v.request_id()).await;
    let old_state = v.request_state().clone();
    c.resend_otp(&mut v).await.unwrap();
    assert_ne!(
        v.request_state(),
        &old_state,
        "a resend replaces the requestState"
    );
    let entries = control.outbox(v.request_id()).await;
    assert_eq!(entries.len(), 2, "initiate and resend each send one OTP");
    assert!(entries.iter().all(|e| e.method == method));
    let second = control.last_otp(v.request_id()).await;
    // The first code is no longer valid after the resend (unless both happen to be equal).
    if first != second {
        let e = c.verify_otp(&mut v, first.as_str()).await.unwrap_err();
        assert!(e.has_code(&AuthCode::InvalidPasscode), "{e}");
    }
    c.verify_otp(&mut v, second.as_str()).await.unwrap();
    assert!(v.is_done());
}

// Test case: SMS initiate → resend → verify with the latest code.
#[tokio::test]
async fn sms_initiate_resend_verify() {
    otp_flow(USER1, USER1_SMS, Method::Sms).await;
}

// Test case: EMAIL initiate → resend → verify ([VERIFY]'s resend example user).
#[tokio::test]
async fn email_initiate_resend_verify() {
    otp_flow(USER1, USER1_EMAIL, Method::Email).await;
}

// Test case: PHONE_CALL initiate → resend → verify.
#[tokio::test]
async fn phone_call_initiate_resend_verify() {
    otp_flow(TOM, TOM_CALL, Method::PhoneCall).await;
}

// Test case: [VERIFY]'s resend answer carries requestId, userGUID, factorId, method, displayName.
#[tokio::test]
async fn resend_answer_has_seed_001s_fields() {
    let m = start_default().await;
    let v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let (status, body) = patch(
        &m,
        v.request_id(),
        serde_json::json!({"resendOtp": true, "requestState": v.request_state().expose()}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "success");
    assert_eq!(body["requestId"], v.request_id());
    assert_eq!(body["userGUID"], USER1);
    assert_eq!(body["factorId"], USER1_EMAIL);
    assert_eq!(body["method"], "EMAIL");
    assert_eq!(body["displayName"], "user1@example.com");
    assert!(body["requestState"].is_string());
}

// Test case: TOTP verifies with the RFC 6238 code of the factor's secret; a wrong one is AUTH-1105.
#[tokio::test]
async fn totp_verifies_with_the_computed_code() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, TOM, TOM_IPHONE, Method::Totp).await;
    let right = totp_now();
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let e = c.verify_otp(&mut v, wrong.as_str()).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.has_code(&AuthCode::InvalidPasscode));
    c.verify_otp(&mut v, totp_now().as_str()).await.unwrap();
    assert!(
        Control(&m).outbox(v.request_id()).await.is_empty(),
        "TOTP sends nothing"
    );
}

// Test case: a bypass code works once; the same code on a second request is refused.
#[tokio::test]
async fn bypass_code_verifies_once() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = c
        .initiate(&Initiate::bypass_code(UserRef::Guid(USER1.into())))
        .await
        .unwrap();
    assert_eq!(v.factor_id(), "BypassCode");
    assert_eq!(
        v.display_name(),
        None,
        "[PM]: no displayName for BYPASSCODE"
    );
    c.verify_bypass_code(&mut v, "397541940949").await.unwrap();
    let mut again = c
        .initiate(&Initiate::bypass_code(UserRef::Guid(USER1.into())))
        .await
        .unwrap();
    let e = c
        .verify_bypass_code(&mut again, "397541940949")
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(Control(&m).user(USER1).await.bypass_codes_left, 1);
}

// Test case: security questions come with the initiate answer; right answers verify.
#[tokio::test]
async fn security_questions_right_answers_verify() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = c
        .initiate(&Initiate::security_questions(UserRef::Guid(USER1.into())))
        .await
        .unwrap();
    let q = &v.security_questions()[0];
    assert_eq!(q.id, "FirstCar");
    assert_eq!(q.localized_text, "What's the model of your first car?");
    assert_eq!(q.hint_text.as_deref(), Some("Found on road"));
    assert_eq!(v.display_name(), None);
    c.verify_answers(&mut v, &[Answer::new("FirstCar", "ford pinto ")])
        .await
        .unwrap();
}

// Test case: wrong answers are 401 AUTH-1111 with an ecId ([VERIFY]).
#[tokio::test]
async fn security_questions_wrong_answers_are_401_with_ec_id() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = c
        .initiate(&Initiate::security_questions(UserRef::Guid(TOM.into())))
        .await
        .unwrap();
    assert_eq!(v.security_questions().len(), 2);
    // One right, one missing: not enough.
    let e = c
        .verify_answers(&mut v, &[Answer::new("FirstCar", "Ford Pinto")])
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.has_code(&AuthCode::InvalidRequest));
    assert!(e.ec_id().is_some_and(|id| !id.is_empty()));
    let e = c
        .verify_answers(
            &mut v,
            &[
                Answer::new("FirstCar", "Ford Pinto"),
                Answer::new("FirstPet", "Tom"),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.causes()[0].message,
        "You entered invalid answer(s). Authentication failed."
    );
    c.verify_answers(
        &mut v,
        &[
            Answer::new("FirstCar", "Ford Pinto"),
            Answer::new("FirstPet", "Rex"),
        ],
    )
    .await
    .unwrap();
}

// Test case: PUSH is pending (200, AUTH-1108) until approved, then 200 success.
#[tokio::test]
async fn push_pending_then_approved() {
    let m = start_default().await;
    let c = client(&m);
    let v = c
        .initiate(
            &Initiate::factor(UserRef::Guid(TOM.into()), TOM_PHONE, Method::Push)
                .application_name("Customer Portal"),
        )
        .await
        .unwrap();
    assert_eq!(c.push_status(&v).await.unwrap(), PushStatus::Pending);
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"status":"pending","cause":[{"code":"AUTH-1108","message":"Push Notification approval is pending."}]})
    );
    let waiter = {
        let c = c.clone();
        let v = v.clone();
        tokio::spawn(async move { c.wait_for_push(&v, quick()).await })
    };
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(Control(&m).approve(v.request_id()).await, 200);
    assert_eq!(waiter.await.unwrap().unwrap(), PushStatus::Approved);
    let (_, body) = poll(&m, v.request_id()).await;
    assert_eq!(body, serde_json::json!({"status":"success"}));
}

// Test case: a rejected PUSH polls as 401 failed AUTH-1108 "Rejected" ([STATUS]).
#[tokio::test]
async fn push_rejected_is_401() {
    let m = start_default().await;
    let c = client(&m);
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    assert_eq!(Control(&m).reject(v.request_id()).await, 200);
    match c.wait_for_push(&v, quick()).await.unwrap() {
        PushStatus::Rejected { causes } => {
            assert_eq!(causes[0].code, "AUTH-1108");
            assert_eq!(causes[0].message, "Rejected");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(status, 401);
    assert_error_shape(&body);
    // A decided PUSH cannot be decided again.
    assert_eq!(Control(&m).approve(v.request_id()).await, 409);
}

// Test case: a PUSH left pending past push_expiry answers 401 AUTH-1108 "Expired".
#[tokio::test]
async fn push_expires_after_the_configured_time() {
    let m = start(MockConfig {
        push_expiry: Duration::from_millis(200),
        ..MockConfig::default()
    })
    .await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    assert_eq!(poll(&m, v.request_id()).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(status, 401);
    assert_eq!(body["cause"][0]["code"], "AUTH-1108");
    assert_eq!(body["cause"][0]["message"], "Expired");
    assert_eq!(Control(&m).approve(v.request_id()).await, 409);
}

// Test case: polling a non-PUSH request is 200 pending until verified, then 200 success.
#[tokio::test]
async fn polling_a_non_push_request_reports_its_state() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, TOM, TOM_IPHONE, Method::Totp).await;
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("pending"))
    );
    c.verify_otp(&mut v, totp_now().as_str()).await.unwrap();
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("success"))
    );
}

// Test case: a token from POST /oauth2/v1/token works with the client, for both roles.
#[tokio::test]
async fn client_credentials_tokens_work_for_both_roles() {
    let m = start_default().await;
    let anonymous = idcs_mfa::Client::builder(m.base_url()).build().unwrap();
    for (id, secret) in [
        ("conformance-client", "conformance-secret"),
        ("authenticator-client", "authenticator-secret"),
    ] {
        let token = anonymous
            .fetch_token(&idcs_mfa::ClientCredentials::new(id, secret))
            .await
            .unwrap();
        assert_eq!(token.expires_in, Some(Duration::from_secs(3600)));
        let c = anonymous.with_token(Some(token.token));
        c.get_user_factors(TOM).await.unwrap();
        let mut v = c
            .initiate(&Initiate::bypass_code(UserRef::Guid(TOM.into())))
            .await
            .unwrap();
        let code = if id == "conformance-client" {
            "397541940949"
        } else {
            "118263507364"
        };
        c.verify_bypass_code(&mut v, code).await.unwrap();
    }
}

// Test case: request bodies labelled application/scim+json (the seeds' curl) are accepted.
#[tokio::test]
async fn scim_json_content_type_is_accepted() {
    let m = start_default().await;
    let c = client(&m).with_content_type(idcs_mfa::ContentType::ScimJson);
    let mut v = c
        .initiate(&Initiate::factor(
            UserRef::Guid(USER1.into()),
            USER1_SMS,
            Method::Sms,
        ))
        .await
        .unwrap();
    let otp = Control(&m).last_otp(v.request_id()).await;
    c.verify_otp(&mut v, otp.as_str()).await.unwrap();
}
