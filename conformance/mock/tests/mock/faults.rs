//! Each fault changes exactly what its name says (the correct behaviour is pinned in
//! the other mock_* tests).

use crate::support::*;
use idcs_mfa::{AuthCode, Method};
use idcs_mfa_mock::Fault;
use serde_json::json;

/// The faults with a test in this file. The others (added with the conformance runner)
/// are pinned by its fault-matrix test.
const TESTED_HERE: [Fault; 32] = [
    Fault::PushPendingUnauthorized,
    Fault::WrongOtp400,
    Fault::MissingStatusField,
    Fault::UnknownMethod,
    Fault::NoAuth,
    Fault::ReusableBypassCode,
    Fault::StaleRequestStateAccepted,
    Fault::UnknownRequest500,
    Fault::UnknownUser200,
    Fault::MalformedPayload200,
    Fault::WrongAnswersNoEcId,
    Fault::ResendSameState,
    Fault::NoLockout,
    Fault::Html404,
    Fault::Empty401,
    Fault::UndocumentedStatus,
    Fault::RejectedPush200,
    Fault::SendsNotCounted,
    Fault::SuccessKeepsCount,
    Fault::LockTwoLate,
    Fault::LookupListsAnotherUser,
    Fault::LockedUserInitiates,
    Fault::PreferredMethodMissing,
    Fault::LookupIgnoresUserIdType,
    Fault::AnyBypassCodeAccepted,
    Fault::AnyEmailCodeAccepted,
    Fault::ResendNotCounted,
    Fault::MissingRequestStateAccepted,
    Fault::LockedUserPolls,
    Fault::CorrectCodesRefused,
    Fault::FixedFactorIdsRenamed,
    Fault::PreferredFactorNotListed,
];

// Test case: each fault tested here has a distinct name that parses back.
#[test]
fn faults_tested_here_have_distinct_names() {
    let names: std::collections::HashSet<_> = TESTED_HERE.iter().map(|f| f.name()).collect();
    assert_eq!(names.len(), TESTED_HERE.len());
    for f in TESTED_HERE {
        assert_eq!(f.name().parse::<Fault>().unwrap(), f);
    }
}

#[tokio::test]
async fn push_pending_401_answers_a_pending_poll_with_401() {
    let m = start_with_faults(&[Fault::PushPendingUnauthorized]).await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (401, Some("pending"))
    );
}

#[tokio::test]
async fn wrong_otp_400_answers_a_wrong_otp_with_400() {
    let m = start_with_faults(&[Fault::WrongOtp400]).await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let (status, body) = patch_wrong_otp(&m, &v).await;
    assert_eq!((status.as_u16(), code(&body)), (400, "AUTH-1105"));
}

#[tokio::test]
async fn missing_status_field_drops_status_from_success_bodies() {
    let m = start_with_faults(&[Fault::MissingStatusField]).await;
    let (status, body) = get(&m, &format!("/mfa/v1/users/{TOM}/factors")).await;
    assert_eq!(status, 200);
    assert!(body.get("status").is_none() && body.get("factors").is_some());
    // Errors keep it.
    let (_, body) = poll(&m, "unknown").await;
    assert_eq!(body["status"], "failed");
}

#[tokio::test]
async fn unknown_method_lists_a_method_outside_the_enum() {
    let m = start_with_faults(&[Fault::UnknownMethod]).await;
    let f = client(&m).get_user_factors(TOM).await.unwrap().value;
    assert!(
        f.factors
            .iter()
            .flat_map(|f| &f.methods)
            .any(|m| !m.is_known())
    );
}

#[tokio::test]
async fn no_auth_accepts_missing_and_invalid_tokens() {
    let m = start_with_faults(&[Fault::NoAuth]).await;
    let url = format!("{}/mfa/v1/users/{TOM}/factors", m.base_url());
    assert_eq!(send(http().get(&url)).await.0, 200);
    assert_eq!(send(http().get(&url).bearer_auth("junk")).await.0, 200);
}

#[tokio::test]
async fn reusable_bypass_code_lets_a_code_work_twice() {
    let m = start_with_faults(&[Fault::ReusableBypassCode]).await;
    let c = client(&m);
    for _ in 0..2 {
        let mut v = initiate(&m, USER1, "BypassCode", Method::Bypasscode).await;
        c.verify_bypass_code(&mut v, "397541940949").await.unwrap();
    }
}

#[tokio::test]
async fn stale_request_state_accepted_keeps_the_old_state_working() {
    let m = start_with_faults(&[Fault::StaleRequestStateAccepted]).await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let old = v.request_state().expose().to_owned();
    c.resend_otp(&mut v).await.unwrap();
    let otp = Control(&m).last_otp(v.request_id()).await;
    let (status, _) = patch(
        &m,
        v.request_id(),
        json!({"otpCode": otp, "requestState": old}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_request_500_answers_unknown_ids_with_500() {
    let m = start_with_faults(&[Fault::UnknownRequest500]).await;
    let (status, body) = poll(&m, "unknown").await;
    assert_eq!(status, 500);
    assert_error_shape(&body);
}

#[tokio::test]
async fn unknown_user_200_answers_unknown_users_with_200() {
    let m = start_with_faults(&[Fault::UnknownUser200]).await;
    let f = client(&m).get_user_factors("nobody").await.unwrap().value;
    assert!(f.factors.is_empty());
}

#[tokio::test]
async fn malformed_payload_200_accepts_invalid_patch_payloads() {
    let m = start_with_faults(&[Fault::MalformedPayload200]).await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let (status, body) = patch(&m, v.request_id(), json!({"nonsense": true})).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("success"))
    );
}

#[tokio::test]
async fn wrong_answers_no_ec_id_drops_the_ec_id() {
    let m = start_with_faults(&[Fault::WrongAnswersNoEcId]).await;
    let v = initiate(&m, USER1, "SecurityQuestions", Method::SecurityQuestions).await;
    let (status, body) = patch(&m, v.request_id(), json!({"securityQuestions": [{"id": "FirstCar", "answer": "no"}], "requestState": v.request_state().expose()})).await;
    assert_eq!((status.as_u16(), code(&body)), (401, "AUTH-1111"));
    assert!(body.get("ecId").is_none());
}

#[tokio::test]
async fn resend_same_state_answers_without_a_new_state() {
    let m = start_with_faults(&[Fault::ResendSameState]).await;
    let v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let (status, body) = patch(
        &m,
        v.request_id(),
        json!({"resendOtp": true, "requestState": v.request_state().expose()}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("requestState").is_none());
}

#[tokio::test]
async fn no_lockout_never_locks() {
    let m = start_with_faults(&[Fault::NoLockout]).await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    for _ in 0..6 {
        c.resend_otp(&mut v).await.unwrap();
    }
    let status = Control(&m).user(USER1).await;
    assert_eq!((status.attempts, status.locked), (7, false));
}

#[tokio::test]
async fn sends_not_counted_leaves_the_count_after_otp_sends() {
    let m = start_with_faults(&[Fault::SendsNotCounted]).await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    c.resend_otp(&mut v).await.unwrap();
    assert_eq!(Control(&m).user(USER1).await.attempts, 0);
    // Failures still count.
    let otp = Control(&m).last_otp(v.request_id()).await;
    let wrong = wrong(&otp);
    assert!(c.verify_otp(&mut v, wrong).await.is_err());
    assert_eq!(Control(&m).user(USER1).await.attempts, 1);
}

#[tokio::test]
async fn success_keeps_count_does_not_reset_on_success() {
    let m = start_with_faults(&[Fault::SuccessKeepsCount]).await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let otp = Control(&m).last_otp(v.request_id()).await;
    c.verify_otp(&mut v, otp).await.unwrap();
    assert_eq!(Control(&m).user(USER1).await.attempts, 1);
}

#[tokio::test]
async fn lock_two_late_locks_two_attempts_past_the_maximum() {
    let m = start_with_faults(&[Fault::LockTwoLate]).await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    for _ in 0..4 {
        c.resend_otp(&mut v).await.unwrap();
    }
    let status = Control(&m).user(USER1).await;
    assert_eq!(
        (status.attempts, status.locked),
        (5, false),
        "the maximum is 5"
    );
    c.resend_otp(&mut v).await.unwrap();
    let status = Control(&m).user(USER1).await;
    assert_eq!((status.attempts, status.locked), (6, false), "one past it");
    c.resend_otp(&mut v).await.unwrap();
    let status = Control(&m).user(USER1).await;
    assert_eq!((status.attempts, status.locked), (7, true));
}

#[tokio::test]
async fn html_404_answers_404_with_html() {
    let m = start_with_faults(&[Fault::Html404]).await;
    let r = http()
        .get(format!("{}/mfa/v1/requests/unknown", m.base_url()))
        .bearer_auth(m.token().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().starts_with("<!DOCTYPE html>"));
}

#[tokio::test]
async fn empty_401_answers_401_with_an_empty_body() {
    let m = start_with_faults(&[Fault::Empty401]).await;
    let r = http()
        .get(format!("{}/mfa/v1/requests/x", m.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn undocumented_status_answers_unknown_ids_with_418() {
    let m = start_with_faults(&[Fault::UndocumentedStatus]).await;
    assert_eq!(poll(&m, "unknown").await.0, 418);
    assert_eq!(
        patch(&m, "unknown", json!({"otpCode": "1", "requestState": "x"}))
            .await
            .0,
        418
    );
}

#[tokio::test]
async fn rejected_push_200_answers_a_rejection_with_200() {
    let m = start_with_faults(&[Fault::RejectedPush200]).await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    Control(&m).reject(v.request_id()).await;
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("failed"))
    );
}

#[tokio::test]
async fn lookup_lists_another_user_answers_a_name_with_another_listing() {
    let m = start_with_faults(&[Fault::LookupListsAnotherUser]).await;
    let lookup = |id: &str, kind: &str| {
        api(&m, reqwest::Method::GET, "/mfa/v1/users")
            .query(&[("userId", id), ("userIdType", kind)])
    };
    let (status, body) = send(lookup(USER1_NAME, "USER_NAME")).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["userGUID"], USER1, "{body}");
    // By GUID it still finds the user.
    let (_, body) = send(lookup(USER1, "USER_GUID")).await;
    assert_eq!(body["userGUID"], USER1, "{body}");
}

#[tokio::test]
async fn locked_user_initiates_lets_a_locked_user_start_a_request() {
    let m = start_with_faults(&[Fault::LockedUserInitiates]).await;
    assert!(m.lock_user(USER1).unwrap().locked);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    // The OTP went out, but the user is still locked: using the request is refused.
    let otp = Control(&m).last_otp(v.request_id()).await;
    let e = client(&m).verify_otp(&mut v, otp).await.unwrap_err();
    assert!(e.has_code(&AuthCode::AccountLocked), "{e}");
    let status = Control(&m).user(USER1).await;
    assert!(status.locked, "{status:?}");
}

// Test case: faults switch at run time through the control API.
#[tokio::test]
async fn faults_switch_at_run_time() {
    let m = start_default().await;
    let url = format!("{}/mfa/v1/users/{TOM}/factors", m.base_url());
    assert_eq!(send(http().get(&url)).await.0, 401);
    assert_eq!(ControlApi(&m).set_faults(&["no_auth"]).await, 200);
    assert_eq!(send(http().get(&url)).await.0, 200);
    assert_eq!(ControlApi(&m).set_faults(&[]).await, 200);
    assert_eq!(send(http().get(&url)).await.0, 401);
}

#[tokio::test]
async fn preferred_method_missing_names_the_factor_without_its_method() {
    let m = start_with_faults(&[Fault::PreferredMethodMissing]).await;
    let f = client(&m).get_user_factors(TOM).await.unwrap().value;
    assert!(f.preferred_factor_id.is_some());
    assert_eq!(f.preferred_method, None);
}

#[tokio::test]
async fn lookup_ignores_user_id_type_takes_a_guid_for_a_name() {
    let m = start_with_faults(&[Fault::LookupIgnoresUserIdType]).await;
    let e = client(&m)
        .lookup_user_factors(TOM, idcs_mfa::types::UserIdType::UserGuid)
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    // Without the fault the same look-up finds the user.
    let m = start_default().await;
    let f = client(&m)
        .lookup_user_factors(TOM, idcs_mfa::types::UserIdType::UserGuid)
        .await
        .unwrap()
        .value;
    assert_eq!(f.user_guid, TOM);
}

#[tokio::test]
async fn any_bypass_code_accepted_takes_any_twelve_digits() {
    let m = start_with_faults(&[Fault::AnyBypassCodeAccepted]).await;
    let mut v = initiate(&m, USER1, "BypassCode", Method::Bypasscode).await;
    client(&m)
        .verify_bypass_code(&mut v, "123123123123")
        .await
        .unwrap();
    let v = initiate(&m, USER1, "BypassCode", Method::Bypasscode).await;
    let (status, _) = patch(
        &m,
        v.request_id(),
        json!({"bypassCode": "12345", "requestState": v.request_state().expose()}),
    )
    .await;
    assert_eq!(status, 401, "not twelve digits");
}

#[tokio::test]
async fn any_email_code_accepted_takes_any_six_digits_for_email_only() {
    let m = start_with_faults(&[Fault::AnyEmailCodeAccepted]).await;
    let v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    let (status, _) = patch_wrong_otp(&m, &v).await;
    assert_eq!(status, 200);
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let (status, _) = patch_wrong_otp(&m, &v).await;
    assert_eq!(status, 401, "SMS still refuses a wrong code");
}

#[tokio::test]
async fn resend_not_counted_counts_the_initiate_only() {
    let m = start_with_faults(&[Fault::ResendNotCounted]).await;
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    for _ in 0..3 {
        client(&m).resend_otp(&mut v).await.unwrap();
    }
    assert_eq!(Control(&m).user(USER1).await.attempts, 1);
}

#[tokio::test]
async fn missing_request_state_accepted_verifies_without_one() {
    let m = start_with_faults(&[Fault::MissingRequestStateAccepted]).await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let otp = Control(&m).last_otp(v.request_id()).await;
    let (status, _) = patch(&m, v.request_id(), json!({ "otpCode": otp })).await;
    assert_eq!(status, 200);
    // Without the fault: refused 400 (the mock's reading of request-state/missing).
    let m = start_default().await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let otp = Control(&m).last_otp(v.request_id()).await;
    let (status, _) = patch(&m, v.request_id(), json!({ "otpCode": otp })).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn locked_user_polls_serves_a_locked_users_push_poll() {
    let m = start_with_faults(&[Fault::LockedUserPolls]).await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    m.lock_user(TOM).unwrap();
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!(
        (status.as_u16(), body["status"].as_str()),
        (200, Some("pending"))
    );
    assert!(Control(&m).user(TOM).await.locked, "still locked");
    // Without the fault: 401 AUTH-1010.
    let m = start_default().await;
    let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    m.lock_user(TOM).unwrap();
    let (status, body) = poll(&m, v.request_id()).await;
    assert_eq!((status.as_u16(), code(&body)), (401, "AUTH-1010"));
}

#[tokio::test]
async fn correct_codes_refused_refuses_the_totp_and_the_delivered_otp() {
    let m = start_with_faults(&[Fault::CorrectCodesRefused]).await;
    let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let otp = Control(&m).last_otp(v.request_id()).await;
    let (status, _) = patch(
        &m,
        v.request_id(),
        json!({"otpCode": otp, "requestState": v.request_state().expose()}),
    )
    .await;
    assert_eq!(status, 401);
    let v = initiate(&m, TOM, TOM_PHONE, Method::Totp).await;
    let (status, _) = patch(
        &m,
        v.request_id(),
        json!({"otpCode": totp_now(), "requestState": v.request_state().expose()}),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn fixed_factor_ids_renamed_and_preferred_factor_not_listed_change_the_listing() {
    let m = start_with_faults(&[Fault::FixedFactorIdsRenamed]).await;
    let f = client(&m).get_user_factors(TOM).await.unwrap().value;
    let ids: Vec<&str> = f.factors.iter().map(|f| f.factor_id.as_str()).collect();
    assert!(
        !ids.contains(&"BypassCode") && ids.contains(&"bypasscode-1"),
        "{ids:?}"
    );
    let m = start_with_faults(&[Fault::PreferredFactorNotListed]).await;
    let f = client(&m).get_user_factors(TOM).await.unwrap().value;
    let preferred = f.preferred_factor_id.expect("a preferred factor");
    assert!(f.factors.iter().all(|x| x.factor_id != preferred));
}
