//! The rate-limit and connection policy (`idcs_mfa::policy`) on the wire: 429 with
//! `Retry-After` in both forms and without it, giving up at the deadline, and a GET
//! (never a POST) resent when its pooled connection closes under it.

use idcs_mfa_test_support::capture as support;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use idcs_mfa::{Event, Observer, RateLimitPolicy};
use serde_json::json;
use support::{Canned, Server};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const GUID: &str = "589879c55b7340518141eab82493f0cc";

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

impl Observer for Events {
    fn event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Events {
    fn all(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
    fn waits(&self) -> Vec<(Duration, bool)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                Event::RateLimited {
                    wait, retry_after, ..
                } => Some((wait, retry_after)),
                _ => None,
            })
            .collect()
    }
}

fn factors_ok() -> Canned {
    Canned::json(
        200,
        &json!({"status": "success", "userGUID": GUID, "factors": []}),
    )
}

fn too_many() -> Canned {
    Canned::json(
        429,
        &json!({"status": "failed", "cause": [{"code": "AUTH-1112", "message": "Too many requests."}]}),
    )
}

fn client_with(server: &Server, policy: RateLimitPolicy, events: &Arc<Events>) -> idcs_mfa::Client {
    server
        .builder()
        .rate_limit_policy(policy)
        .observer(events.clone())
        .build()
        .unwrap()
}

// Test case: Retry-After in delay-seconds is honoured, and the 429 never reaches the caller.
#[tokio::test]
async fn retry_after_seconds_is_waited_for() {
    let server = Server::sequence(vec![too_many().header("Retry-After", "1"), factors_ok()]).await;
    let events = Arc::new(Events::default());
    let client = client_with(&server, RateLimitPolicy::default(), &events);
    let started = Instant::now();
    let r = client
        .get_user_factors(GUID)
        .await
        .expect("the retry succeeds");
    assert_eq!(r.status.as_u16(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
    assert_eq!(events.waits(), vec![(Duration::from_secs(1), true)]);
}

// Test case: Retry-After as an HTTP-date (RFC 9110) is honoured.
#[tokio::test]
async fn retry_after_http_date_is_waited_for() {
    let started = Instant::now();
    // A date has a resolution of one second: it lies between 2 and 3 s from now.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let server =
        Server::sequence(vec![too_many().header("Retry-After", &date), factors_ok()]).await;
    let events = Arc::new(Events::default());
    let client = client_with(&server, RateLimitPolicy::default(), &events);
    client
        .get_user_factors(GUID)
        .await
        .expect("the retry succeeds");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the client waited until the date: {:?}",
        started.elapsed()
    );
    let waits = events.waits();
    assert_eq!(waits.len(), 1);
    assert!(
        waits[0].1 && waits[0].0 <= Duration::from_secs(3),
        "{waits:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

// Test case: without Retry-After the client backs off exponentially (with jitter).
#[tokio::test]
async fn without_retry_after_the_client_backs_off_exponentially() {
    let server = Server::sequence(vec![too_many(), too_many(), too_many(), factors_ok()]).await;
    let events = Arc::new(Events::default());
    let policy = RateLimitPolicy::default().initial_backoff(Duration::from_millis(40));
    let client = client_with(&server, policy, &events);
    client
        .get_user_factors(GUID)
        .await
        .expect("the fourth try succeeds");
    let waits = events.waits();
    assert_eq!(waits.len(), 3);
    for (n, (wait, from_header)) in waits.iter().enumerate() {
        let ceiling = Duration::from_millis(40) * 2u32.pow(n as u32);
        assert!(!from_header);
        assert!(
            *wait >= ceiling / 2 && *wait <= ceiling,
            "try {n}: {wait:?}"
        );
    }
}

// Test case: at the deadline the policy gives up and hands the 429 over.
#[tokio::test]
async fn the_policy_gives_up_at_its_deadline() {
    let server = Server::always(too_many().header("Retry-After", "1")).await;
    let events = Arc::new(Events::default());
    let policy = RateLimitPolicy::default();
    policy.give_up_at(tokio::time::Instant::now() + Duration::from_millis(1500));
    let client = client_with(&server, policy, &events);
    let started = Instant::now();
    let e = client.get_user_factors(GUID).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.requests().len(),
        2,
        "one retry fits before the deadline"
    );
    assert!(
        matches!(events.all().last(), Some(Event::GaveUp { reason, .. }) if reason.contains("deadline"))
    );
}

// Test case: the default client returns a 429 at once (no hidden waits in a library).
#[tokio::test]
async fn by_default_a_429_is_returned() {
    let server = Server::always(too_many().header("Retry-After", "1")).await;
    let e = server.client().get_user_factors(GUID).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(server.requests().len(), 1);
}

// Test case: raw requests through Client::execute get the same policy.
#[tokio::test]
async fn execute_goes_through_the_same_policy() {
    let server = Server::sequence(vec![too_many().header("Retry-After", "0"), factors_ok()]).await;
    let events = Arc::new(Events::default());
    let client = client_with(&server, RateLimitPolicy::default(), &events);
    let request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{}/mfa/v1/users/{GUID}/factors", server.base_url)
            .parse()
            .unwrap(),
    );
    let (status, _, body) = client.execute(request).await.unwrap();
    assert_eq!(status.as_u16(), 200);
    assert!(String::from_utf8_lossy(&body).contains("success"));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(events.waits().len(), 1);
}

/// A keep-alive server whose first connection answers one request and then closes
/// under the next one without answering (a load balancer closing an idle connection
/// as the request arrives). Later connections answer normally. Counts requests by
/// method and connection.
/// The requests a closing server saw: (connection number, method).
type Seen = Arc<Mutex<Vec<(usize, String)>>>;

async fn closing_server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut connection = 0usize;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            connection += 1;
            let n = connection;
            let log = log.clone();
            tokio::spawn(async move {
                let mut served = 0;
                loop {
                    let mut buf = Vec::new();
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i;
                        }
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let method = head.split(' ').next().unwrap_or_default().to_uppercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + 4 + length {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    log.lock().unwrap().push((n, method));
                    if n == 1 && served == 1 {
                        return; // closes under the second request, unanswered
                    }
                    let body = br#"{"status":"success","userGUID":"589879c55b7340518141eab82493f0cc","factors":[]}"#;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(body).await.is_err()
                    {
                        return;
                    }
                    served += 1;
                }
            });
        }
    });
    (url, seen)
}

/// A client of `closing_server`, with an observer of its events.
async fn closing_client() -> (String, Seen, Arc<Events>, idcs_mfa::Client) {
    let (url, seen) = closing_server().await;
    let events = Arc::new(Events::default());
    let client = idcs_mfa::Client::builder(&url)
        .bearer_token("t")
        .observer(events.clone())
        .build()
        .unwrap();
    (url, seen, events, client)
}

// Test case: a GET that fails on a pooled connection closed under it is resent once,
// on a new connection, and succeeds.
#[tokio::test]
async fn a_get_on_a_closed_connection_is_resent_on_a_new_one() {
    let (_, seen, events, client) = closing_client().await;
    client.get_user_factors(GUID).await.expect("first GET");
    client
        .get_user_factors(GUID)
        .await
        .expect("the second GET is resent and answered");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(1, "GET".into()), (1, "GET".into()), (2, "GET".into())],
        "the resend went out on a new connection"
    );
    assert!(
        events
            .all()
            .iter()
            .any(|e| matches!(e, Event::Resent { .. }))
    );
}

// Test case: a POST that fails on a pooled connection closed under it is never resent.
#[tokio::test]
async fn a_post_on_a_closed_connection_is_not_resent() {
    let (url, seen, events, client) = closing_client().await;
    client.get_user_factors(GUID).await.expect("first GET");
    let mut post = reqwest::Request::new(
        reqwest::Method::POST,
        format!("{url}/mfa/v1/requests").parse().unwrap(),
    );
    post.headers_mut().insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    *post.body_mut() = Some(r#"{"userId":"u","userIdType":"USER_NAME"}"#.into());
    let e = client.execute(post).await.unwrap_err();
    assert!(e.status().is_none(), "no answer: {e}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(1, "GET".into()), (1, "POST".into())],
        "sent once"
    );
    assert!(
        events
            .all()
            .iter()
            .any(|e| matches!(e, Event::NotResent { method, .. } if method == "POST"))
    );
}
