//! Attempts and lockout arithmetic (see `mock::state`'s module docs).

use crate::support::*;
use idcs_mfa::{AuthCode, Initiate, Method, UserRef};
use idcs_mfa_mock::MockConfig;

// Test case: default maximum 5: an SMS initiate (1) and four wrong codes (2..5) lock
// the user; the fifth try, even with the right code, is 401 AUTH-1010.
#[tokio::test]
async fn one_send_and_four_wrong_codes_lock_at_the_default_maximum() {
    let m = start_default().await;
    let c = client(&m);
    let control = Control(&m);
    let mut v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    assert_eq!(control.user(USER1).await.attempts, 1, "the OTP sent counts");
    let otp = control.last_otp(v.request_id()).await;
    for n in 2..=5 {
        let e = c.verify_otp(&mut v, wrong(&otp)).await.unwrap_err();
        assert!(
            e.has_code(&AuthCode::InvalidPasscode),
            "try {n} still gets its own answer"
        );
        let status = control.user(USER1).await;
        assert_eq!(status.attempts, n);
        assert_eq!(status.locked, n == 5);
    }
    let e = c.verify_otp(&mut v, otp.as_str()).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.has_code(&AuthCode::AccountLocked), "{e}");
    // Locked users cannot initiate or poll either.
    let e = c
        .initiate(&Initiate::bypass_code(UserRef::Guid(USER1.into())))
        .await
        .unwrap_err();
    assert!(e.has_code(&AuthCode::AccountLocked));
    assert_eq!(code(&poll(&m, v.request_id()).await.1), "AUTH-1010");
    // Listing factors still works.
    c.get_user_factors(USER1).await.unwrap();
    // The control API unlocks; the right code then verifies.
    let status = control.unlock(USER1).await;
    assert_eq!((status.attempts, status.locked), (0, false));
    c.verify_otp(&mut v, otp.as_str()).await.unwrap();
}

// Test case: sends alone lock: initiate + 4 resends = 5 → locked after the fifth send.
#[tokio::test]
async fn resends_count_and_lock() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
    for _ in 0..4 {
        c.resend_otp(&mut v).await.unwrap();
    }
    assert_eq!(Control(&m).outbox(v.request_id()).await.len(), 5);
    assert!(Control(&m).user(USER1).await.locked);
    let e = c.resend_otp(&mut v).await.unwrap_err();
    assert!(e.has_code(&AuthCode::AccountLocked));
    assert_eq!(
        Control(&m).outbox(v.request_id()).await.len(),
        5,
        "nothing sent when locked"
    );
}

// Test case: a success sets the count back to 0; TOTP initiates do not count.
#[tokio::test]
async fn success_resets_the_count() {
    let m = start_default().await;
    let c = client(&m);
    let mut v = initiate(&m, TOM, TOM_IPHONE, Method::Totp).await;
    assert_eq!(
        Control(&m).user(TOM).await.attempts,
        0,
        "nothing sent for TOTP"
    );
    let right = totp_now();
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for _ in 0..3 {
        c.verify_otp(&mut v, wrong.as_str()).await.unwrap_err();
    }
    assert_eq!(Control(&m).user(TOM).await.attempts, 3);
    c.verify_otp(&mut v, totp_now().as_str()).await.unwrap();
    assert_eq!(Control(&m).user(TOM).await.attempts, 0);
}

// Test case: the maximum is configurable; wrong bypass codes and answers count; a
// rejected PUSH counts.
#[tokio::test]
async fn the_maximum_is_configurable_and_every_failure_counts() {
    let m = start(MockConfig {
        max_attempts: 3,
        ..MockConfig::default()
    })
    .await;
    let c = client(&m);
    let mut b = c
        .initiate(&Initiate::bypass_code(UserRef::Guid(TOM.into())))
        .await
        .unwrap();
    c.verify_bypass_code(&mut b, "000000000000")
        .await
        .unwrap_err();
    let mut q = c
        .initiate(&Initiate::security_questions(UserRef::Guid(TOM.into())))
        .await
        .unwrap();
    c.verify_answers(&mut q, &[idcs_mfa::Answer::new("FirstCar", "no")])
        .await
        .unwrap_err();
    assert_eq!(Control(&m).user(TOM).await.attempts, 2);
    let p = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    Control(&m).reject(p.request_id()).await;
    let status = Control(&m).user(TOM).await;
    assert_eq!(
        (status.attempts, status.locked, status.max_attempts),
        (3, true, 3)
    );
}
