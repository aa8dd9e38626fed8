//! A bounded load test of the mock tenant over loopback: hundreds of concurrent PUSH
//! pollers (each PUSH approved or rejected by a concurrent "phone") and OTP
//! verifications at once. Zero errors; no lost or duplicated state: every request id is
//! distinct, every PUSH ends as decided, every OTP was sent once and verifies once.
//!
//! `MOCK_LOAD_CLIENTS` sets the number of PUSH clients and of OTP clients (default 150
//! each, a few seconds in a debug build). The largest run is in `docs/performance.md`
//! (`## Reliability`).

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::*;
use idcs_mfa_mock::{MockConfig, MockTenant, OutboxEntry};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

/// Per client kind, unless `MOCK_LOAD_CLIENTS` says otherwise.
const DEFAULT_CLIENTS: usize = 150;
/// The whole test must finish within this (a hang is a failure, not a stuck CI job).
const BOUND: Duration = Duration::from_secs(120);

struct Load {
    m: MockTenant,
    http: reqwest::Client,
    requests: AtomicUsize,
}

impl Load {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = request.send().await.expect("answered");
        let status = response.status();
        let body = response.bytes().await.expect("body read");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.m.base_url()))
            .bearer_auth(self.m.token().expose())
    }

    fn control(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.m.control_url()))
            .bearer_auth(self.m.control_token().expose())
    }

    async fn initiate(&self, user: &str, factor: &str, method: &str) -> (String, String) {
        let (status, body) = self
            .send(self.api(reqwest::Method::POST, "/mfa/v1/requests").json(&json!({
                "userId": user, "userIdType": "USER_GUID", "factorId": factor, "method": method
            })))
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["requestId"].as_str().unwrap().to_owned(),
            body["requestState"].as_str().unwrap().to_owned(),
        )
    }

    async fn poll(&self, id: &str) -> (StatusCode, Value) {
        self.send(self.api(reqwest::Method::GET, &format!("/mfa/v1/requests/{id}")))
            .await
    }
}

/// A PUSH client: initiates, then polls until the phone decided; returns the request id
/// and whether it was approved. The phone (another task) decides after 2 pending polls.
async fn push_client(load: Arc<Load>, approve: bool, start: Arc<Barrier>) -> (String, bool) {
    start.wait().await;
    let (id, _) = load.initiate(TOM, TOM_PHONE, "PUSH").await;
    let pending = Arc::new(Barrier::new(2));
    let phone = {
        let (load, id, pending) = (load.clone(), id.clone(), pending.clone());
        tokio::spawn(async move {
            pending.wait().await;
            let action = if approve { "approve" } else { "reject" };
            let (status, body) = load
                .send(load.control(reqwest::Method::POST, &format!("/push/{id}/{action}")))
                .await;
            assert_eq!(status, 200, "{action} {id}: {body}");
        })
    };
    let mut polls = 0;
    let mut told_the_phone = false;
    loop {
        let (status, body) = load.poll(&id).await;
        match (status.as_u16(), body["status"].as_str()) {
            (200, Some("pending")) => {
                polls += 1;
                if polls == 2 && !told_the_phone {
                    told_the_phone = true;
                    pending.wait().await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (200, Some("success")) if approve => break,
            (401, Some("failed")) if !approve => {
                assert_eq!(body["cause"][0]["message"], "Rejected", "{body}");
                break;
            }
            other => panic!("PUSH {id} (approve={approve}) polled {other:?}: {body}"),
        }
    }
    phone.await.unwrap();
    (id, approve)
}

/// An OTP client: initiates an SMS, reads its OTP from the outbox, verifies it; returns
/// the request id.
async fn otp_client(load: Arc<Load>, start: Arc<Barrier>) -> String {
    start.wait().await;
    let (id, state) = load.initiate(USER1, USER1_SMS, "SMS").await;
    let (status, outbox) = load
        .send(
            load.control(reqwest::Method::GET, "/outbox")
                .query(&[("requestId", &id)]),
        )
        .await;
    assert_eq!(status, 200);
    let sent: Vec<OutboxEntry> = serde_json::from_value(outbox).unwrap();
    assert_eq!(sent.len(), 1, "request {id}: {sent:?}");
    let (status, body) = load
        .send(
            load.api(reqwest::Method::PATCH, &format!("/mfa/v1/requests/{id}"))
                .json(&json!({"otpCode": sent[0].otp.expose(), "requestState": state})),
        )
        .await;
    assert_eq!(status, 200, "verify {id}: {body}");
    id
}

// Test case: N PUSH clients (half approved, half rejected) and N OTP clients at once
// (N = MOCK_LOAD_CLIENTS, default 150): every request is answered as documented, and
// the state afterwards is exactly what was done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_push_pollers_and_verifications_lose_nothing() {
    let clients: usize = std::env::var("MOCK_LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CLIENTS);
    let m = start(MockConfig {
        // Rejections and sends count attempts; the load must not lock the users.
        max_attempts: u32::MAX,
        push_expiry: Duration::from_secs(3600),
        ..MockConfig::default()
    })
    .await;
    let load = Arc::new(Load {
        m,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(clients * 2)
            .build()
            .unwrap(),
        requests: AtomicUsize::new(0),
    });
    let started = Instant::now();
    let start = Arc::new(Barrier::new(clients * 2));
    let pushes: Vec<_> = (0..clients)
        .map(|i| tokio::spawn(push_client(load.clone(), i % 2 == 0, start.clone())))
        .collect();
    let otps: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(otp_client(load.clone(), start.clone())))
        .collect();
    let (push_ids, otp_ids) = tokio::time::timeout(BOUND, async {
        let mut push_ids = Vec::new();
        for task in pushes {
            push_ids.push(task.await.unwrap());
        }
        let mut otp_ids = Vec::new();
        for task in otps {
            otp_ids.push(task.await.unwrap());
        }
        (push_ids, otp_ids)
    })
    .await
    .expect("the load finishes within its bound");
    let took = started.elapsed();

    // No id issued twice.
    let distinct: HashSet<&str> = push_ids
        .iter()
        .map(|(id, _)| id.as_str())
        .chain(otp_ids.iter().map(String::as_str))
        .collect();
    assert_eq!(distinct.len(), 2 * clients);

    // Every PUSH still polls as decided; every OTP request as verified.
    for (id, approved) in &push_ids {
        let (status, body) = load.poll(id).await;
        let expected = if *approved {
            (200, "success")
        } else {
            (401, "failed")
        };
        assert_eq!(
            (status.as_u16(), body["status"].as_str().unwrap()),
            expected
        );
    }
    for id in &otp_ids {
        let (status, body) = load.poll(id).await;
        assert_eq!((status.as_u16(), &body["status"]), (200, &json!("success")));
    }

    // Exactly one OTP per SMS initiate, none for a PUSH.
    let (_, outbox) = load
        .send(load.control(reqwest::Method::GET, "/outbox"))
        .await;
    let outbox: Vec<OutboxEntry> = serde_json::from_value(outbox).unwrap();
    assert_eq!(outbox.len(), clients);
    let sent_for: HashSet<&str> = outbox.iter().map(|e| e.request_id.as_str()).collect();
    let expected: HashSet<&str> = otp_ids.iter().map(String::as_str).collect();
    assert_eq!(sent_for, expected);

    // Tom's count: every rejection added one, every approval set it back to 0, so it
    // is at most the number of rejections, and the user is not locked.
    let tom = Control(&load.m).user(TOM).await;
    assert!(
        tom.attempts as usize <= clients / 2 && !tom.locked,
        "{tom:?}"
    );

    let requests = load.requests.load(Ordering::Relaxed);
    eprintln!(
        "{} concurrent clients, {requests} requests in {took:?} ({:.0} requests/s), 0 errors",
        2 * clients,
        requests as f64 / took.as_secs_f64()
    );
}
