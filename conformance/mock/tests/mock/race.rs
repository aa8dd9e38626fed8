//! Races on the mock tenant's state: concurrent resends and verifications keep the
//! attempt count and the outbox exact; a PUSH approval racing its expiry, or racing a
//! rejection, ends in one answer that never changes afterwards.
//!
//! (Single use under concurrency, one bypass code or one OTP presented by many clients
//! at once, is `mock_concurrency.rs`.)

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::*;
use idcs_mfa::Method;
use idcs_mfa_mock::{MockConfig, MockTenant};
use serde_json::json;
use tokio::sync::Barrier;

/// A code that can never be right: the mock's OTPs have six digits.
const NEVER_RIGHT: &str = "0000000";

#[derive(Default, Debug)]
struct Tally {
    /// Resends answered 200 (each sent an OTP and counted an attempt).
    resent: usize,
    /// Wrong codes answered 401 AUTH-1105 (each counted an attempt).
    wrong: usize,
    /// Stale requestStates answered 401 AUTH-1120 (counted nothing).
    stale: usize,
}

// Test case: 8 SMS requests, each hit by 4 resending and 4 verifying clients at once,
// every client retrying with the newest requestState it knows, 5 times: the user's
// attempt count is exactly initiates + resends answered 200 + wrong codes answered
// AUTH-1105 (stale states count nothing), and the outbox holds exactly one OTP per send,
// per request. Any other answer fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resends_and_verifications_keep_the_attempt_count_exact() {
    const REQUESTS: usize = 8;
    const CLIENTS_PER_KIND: usize = 4;
    const ROUNDS: usize = 5;
    let m = Arc::new(
        start(MockConfig {
            max_attempts: 1_000_000,
            ..MockConfig::default()
        })
        .await,
    );
    let barrier = Arc::new(Barrier::new(REQUESTS * CLIENTS_PER_KIND * 2));
    let mut tasks = Vec::new();
    let mut ids = Vec::new();
    let tallies: Vec<Arc<Mutex<Tally>>> = (0..REQUESTS).map(|_| Arc::default()).collect();
    for tally in &tallies {
        let v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
        let id = v.request_id().to_owned();
        ids.push(id.clone());
        let newest = Arc::new(Mutex::new(v.request_state().expose().to_owned()));
        for resend in (0..CLIENTS_PER_KIND * 2).map(|i| i % 2 == 0) {
            let (m, id, newest, tally, barrier) = (
                m.clone(),
                id.clone(),
                newest.clone(),
                tally.clone(),
                barrier.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..ROUNDS {
                    let state = newest.lock().unwrap().clone();
                    let body = if resend {
                        json!({"resendOtp": true, "requestState": state})
                    } else {
                        json!({"otpCode": NEVER_RIGHT, "requestState": state})
                    };
                    let (status, answer) = patch(&m, &id, body).await;
                    let mut tally = tally.lock().unwrap();
                    match (status.as_u16(), code(&answer)) {
                        (200, _) if resend => {
                            tally.resent += 1;
                            let fresh = answer["requestState"].as_str().expect("a new state");
                            *newest.lock().unwrap() = fresh.to_owned();
                        }
                        (401, "AUTH-1105") if !resend => tally.wrong += 1,
                        (401, "AUTH-1120") => tally.stale += 1,
                        other => panic!("resend={resend}: unexpected {other:?} {answer}"),
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut sends = REQUESTS;
    let mut wrong = 0;
    for (id, tally) in ids.iter().zip(&tallies) {
        let sent = Control(&m).outbox(id).await.len();
        let tally = tally.lock().unwrap();
        assert!(tally.resent >= 1, "{tally:?}");
        assert_eq!(sent, 1 + tally.resent, "request {id}: {tally:?}");
        assert_eq!(
            tally.resent + tally.wrong + tally.stale,
            CLIENTS_PER_KIND * 2 * ROUNDS
        );
        sends += tally.resent;
        wrong += tally.wrong;
    }
    let user = Control(&m).user(USER1).await;
    assert_eq!(
        user.attempts as usize,
        sends + wrong,
        "{sends} sends and {wrong} wrong codes"
    );
    assert!(!user.locked);
}

/// Every answer a PUSH poll gave, in order, as (status, status member, message).
type Answers = Vec<(u16, String, String)>;

async fn poll_until(m: &MockTenant, id: &str, until: Instant) -> Answers {
    let mut answers = Vec::new();
    while Instant::now() < until {
        let (status, body) = poll(m, id).await;
        answers.push((
            status.as_u16(),
            body["status"].as_str().unwrap_or("").to_owned(),
            body["cause"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        ));
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    answers
}

/// The poll answers are pending, then one final answer that never changes; returns it.
fn settled(answers: &Answers) -> &(u16, String, String) {
    let last = answers.last().expect("at least one poll");
    let first_final = answers
        .iter()
        .position(|a| a.1 != "pending")
        .expect("the PUSH was decided or expired");
    assert!(
        answers[..first_final]
            .iter()
            .all(|a| a.0 == 200 && a.1 == "pending"),
        "{answers:?}"
    );
    assert!(
        answers[first_final..].iter().all(|a| a == last),
        "the answer changed after it was final: {answers:?}"
    );
    last
}

// Test case: 24 PUSH requests expiring after 300 ms, each approved at a moment spread
// from 150 ms before to 150 ms after its expiry while a client polls it: an approval
// answered 200 means every later poll says success; one refused (409) means every
// later poll says 401 "Expired"; the polls never change their final answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_racing_expiry_has_one_consistent_answer() {
    const PUSHES: usize = 24;
    let expiry = Duration::from_millis(300);
    let m = Arc::new(
        start(MockConfig {
            push_expiry: expiry,
            ..MockConfig::default()
        })
        .await,
    );
    let mut tasks = Vec::new();
    for i in 0..PUSHES {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
            let created = Instant::now();
            let id = v.request_id().to_owned();
            let offset = Duration::from_millis(12 * i as u64 + 1);
            let approve_at = created + expiry - Duration::from_millis(150) + offset;
            let poller = {
                let (m, id) = (m.clone(), id.clone());
                tokio::spawn(async move { poll_until(&m, &id, created + 2 * expiry).await })
            };
            tokio::time::sleep_until(approve_at.into()).await;
            let approved = Control(&m).approve(&id).await.as_u16();
            let answers = poller.await.unwrap();
            let (status, member, message) = settled(&answers).clone();
            match approved {
                200 => assert_eq!((status, member.as_str()), (200, "success"), "{answers:?}"),
                409 => assert_eq!(
                    (status, member.as_str(), message.as_str()),
                    (401, "failed", "Expired"),
                    "{answers:?}"
                ),
                other => panic!("approve answered {other}"),
            }
            // Once final, the approval cannot be given again.
            assert_eq!(Control(&m).approve(&id).await.as_u16(), 409);
            approved
        }));
    }
    let mut approved = 0;
    for task in tasks {
        if task.await.unwrap() == 200 {
            approved += 1;
        }
    }
    eprintln!("{approved} of {PUSHES} approvals came before the expiry");
}

// Test case: an approval and a rejection of the same PUSH at once, 32 times: exactly one
// of the two is answered 200, and the PUSH polls as that decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_racing_rejection_has_one_winner() {
    let m = Arc::new(
        start(MockConfig {
            max_attempts: 1_000_000,
            ..MockConfig::default()
        })
        .await,
    );
    for _ in 0..32 {
        let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
        let id = v.request_id().to_owned();
        let barrier = Arc::new(Barrier::new(2));
        let decide = |approve: bool| {
            let (m, id, barrier) = (m.clone(), id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                if approve {
                    Control(&m).approve(&id).await.as_u16()
                } else {
                    Control(&m).reject(&id).await.as_u16()
                }
            })
        };
        let (approve, reject) = (decide(true), decide(false));
        let (approve, reject) = (approve.await.unwrap(), reject.await.unwrap());
        let (status, body) = poll(&m, &id).await;
        match (approve, reject) {
            (200, 409) => assert_eq!((status.as_u16(), &body["status"]), (200, &json!("success"))),
            (409, 200) => {
                assert_eq!((status.as_u16(), &body["status"]), (401, &json!("failed")));
                assert_eq!(body["cause"][0]["message"], "Rejected");
            }
            other => panic!("approve and reject answered {other:?}"),
        }
    }
}
