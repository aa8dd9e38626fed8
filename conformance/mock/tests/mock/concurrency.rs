//! Concurrent clients cannot corrupt the state: a single-use code succeeds exactly once.

use crate::support::*;
use idcs_mfa::{Initiate, UserRef};
use idcs_mfa_mock::MockConfig;

// Test case: 32 requests present the same bypass code at once → exactly one 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_bypass_code_presented_by_32_clients_at_once_succeeds_exactly_once() {
    let m = start(MockConfig {
        // 31 failures must not lock the user midway.
        max_attempts: 1000,
        ..MockConfig::default()
    })
    .await;
    let c = client(&m);
    let mut verifications = Vec::new();
    for _ in 0..32 {
        verifications.push(
            c.initiate(&Initiate::bypass_code(UserRef::Guid(TOM.into())))
                .await
                .unwrap(),
        );
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = verifications
        .into_iter()
        .map(|mut v| {
            let c = c.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                c.verify_bypass_code(&mut v, "397541940949").await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e.status().map(|s| s.as_u16()), Some(401), "{e}"),
        }
    }
    assert_eq!(ok, 1);
    let status = Control(&m).user(TOM).await;
    assert_eq!(status.bypass_codes_left, 2);
    assert_eq!(status.attempts + 1, 32, "31 failures counted, and no more");
}

// Test case: the same request verified 16 times at once with the right code succeeds once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_request_verified_concurrently_succeeds_once() {
    let m = start_default().await;
    let c = client(&m);
    let v = initiate(&m, USER1, USER1_SMS, idcs_mfa::Method::Sms).await;
    let otp = Control(&m).last_otp(v.request_id()).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, mut v, otp) = (c.clone(), v.clone(), otp.clone());
            tokio::spawn(async move { c.verify_otp(&mut v, otp.as_str()).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}
