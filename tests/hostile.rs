//! The client against a hostile tenant (`idcs_mfa_test_support::hostile`): for every broken, slow or
//! malicious answer, a typed [`Error`] that keeps the status whenever one arrived, in
//! bounded time (the client's timeouts) and bounded memory (the response size limit),
//! and the token never sent to another host.
//!
//! Fast by construction: every client here has 1-second timeouts.

use idcs_mfa_test_support::{alloc, hostile};

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hostile::{Hostile, HostileServer};
use idcs_mfa::{
    AccessToken, Client, ClientCredentials, DEFAULT_MAX_RESPONSE_BYTES, Error, Exchange, Recorder,
    types,
};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const GUID: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";
const TOKEN: &str = "hostile-token-3e7a";
const TIMEOUT: Duration = Duration::from_secs(1);
/// What a bounded call may take beyond its timeout on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Keep(Mutex<Vec<Exchange>>);

impl Recorder for Keep {
    fn record(&self, exchange: Exchange) {
        self.0.lock().unwrap().push(exchange);
    }
}

fn builder(base_url: &str) -> idcs_mfa::ClientBuilder {
    Client::builder(base_url)
        .bearer_token(TOKEN)
        .connect_timeout(TIMEOUT)
        .request_timeout(TIMEOUT)
}

fn patch_body() -> types::CompleteFactorVerification {
    types::CompleteFactorVerification {
        otp_code: Some("629084".into()),
        request_state: "state".into(),
        bypass_code: None,
        resend_otp: None,
        security_questions: Vec::new(),
    }
}

/// One GET and one PATCH against a server answering `how`; each outcome's error, the
/// longest call's time, and the recorded exchanges. Fails if a call succeeded.
async fn against(how: Hostile) -> (Vec<Error>, Duration, Vec<Exchange>, HostileServer) {
    let server = HostileServer::start(how.clone()).await;
    let keep = Arc::new(Keep::default());
    let client = builder(&server.base_url)
        .recorder(keep.clone())
        .build()
        .unwrap();
    let mut errors = Vec::new();
    let mut longest = Duration::ZERO;
    for patch in [false, true] {
        let started = Instant::now();
        let outcome = if patch {
            client
                .complete_verification("r1", &patch_body())
                .await
                .map(drop)
        } else {
            client.get_user_factors(GUID).await.map(drop)
        };
        longest = longest.max(started.elapsed());
        errors.push(outcome.expect_err(&format!("{how:?} was taken for a success")));
    }
    let exchanges = keep.0.lock().unwrap().clone();
    (errors, longest, exchanges, server)
}

fn status(e: &Error) -> Option<u16> {
    e.status().map(|s| s.as_u16())
}

// Test case: an empty 401 is `Status` 401 with no body, at once.
#[tokio::test]
async fn empty_401() {
    let (errors, took, _, _) = against(Hostile::Empty401).await;
    for e in errors {
        assert!(
            matches!(&e, Error::Status { status, body: None, raw, .. } if *status == 401 && raw.bytes.is_empty()),
            "{e:?}"
        );
    }
    assert!(took < TIMEOUT, "{took:?}");
}

// Test case: an HTML 404 is `Status` 404 with the page and its content type kept.
#[tokio::test]
async fn html_404() {
    let (errors, _, _, _) = against(Hostile::Html404).await;
    for e in errors {
        match &e {
            Error::Status {
                status, body, raw, ..
            } => {
                assert_eq!(status.as_u16(), 404);
                assert!(body.is_none());
                assert!(raw.bytes.starts_with(b"<!DOCTYPE html>"));
                assert_eq!(
                    raw.content_type.as_deref(),
                    Some("text/html; charset=utf-8")
                );
            }
            other => panic!("expected Status 404, got {other:?}"),
        }
    }
}

// Test case: a 200 whose JSON stops half-way is `InvalidBody` 200; a 200 whose
// connection closes before the declared length is `Transport` that keeps the 200.
#[tokio::test]
async fn truncated_json_and_truncated_framing() {
    let (errors, _, _, _) = against(Hostile::TruncatedJson).await;
    for e in errors {
        assert!(matches!(e, Error::InvalidBody { .. }), "{e:?}");
        assert_eq!(status(&e), Some(200));
    }
    let (errors, took, exchanges, _) = against(Hostile::TruncatedFraming).await;
    for e in errors {
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        assert_eq!(status(&e), Some(200), "{e:?}");
        assert!(e.to_string().contains("body"), "{e}");
    }
    assert!(took < TIMEOUT, "{took:?}");
    for exchange in exchanges {
        assert_eq!(exchange.status, Some(200));
        assert!(exchange.error.is_some(), "{exchange:?}");
    }
}

// Test case: a 20 MB body, declared or not, is `BodyTooLarge` with the status and the
// limit in force; the client hangs up early (the server cannot push the 20 MB), and
// the process never holds more than a few MiB for it: peak allocation is measured.
#[test]
fn huge_body_is_refused_in_bounded_memory() {
    for declared in [true, false] {
        for limit in [DEFAULT_MAX_RESPONSE_BYTES, 64 * 1024] {
            let ((e, sent, took), peak) = alloc::peak_during(async {
                let server = HostileServer::start(Hostile::Huge { declared }).await;
                let client = builder(&server.base_url)
                    .max_response_bytes(limit)
                    .build()
                    .unwrap();
                let started = Instant::now();
                let e = client.get_user_factors(GUID).await.unwrap_err();
                let took = started.elapsed();
                // Let the server notice the hang-up before reading its count.
                tokio::time::sleep(Duration::from_millis(50)).await;
                (e, server.body_bytes_sent(), took)
            });
            let what = format!("declared={declared} limit={limit}");
            match &e {
                Error::BodyTooLarge { status, limit: l } => {
                    assert_eq!((status.as_u16(), *l), (200, limit), "{what}");
                }
                other => panic!("{what}: expected BodyTooLarge, got {other:?}"),
            }
            assert!(e.to_string().contains("max_response_bytes"), "{e}");
            assert!(
                sent < hostile::HUGE_BYTES as u64,
                "{what}: the whole body was sent ({sent} bytes)"
            );
            assert!(
                peak < (2 * limit + 2 * 1024 * 1024) as u64,
                "{what}: the client held {peak} bytes at its peak"
            );
            assert!(took < TIMEOUT + SLACK, "{what}: {took:?}");
        }
    }
}

// Test case: bytes that are not UTF-8 in a 200 are `InvalidBody` 200; in a 401 they
// are `Status` 401 with the bytes kept as received.
#[tokio::test]
async fn invalid_utf8() {
    let (errors, _, _, _) = against(Hostile::InvalidUtf8 { status: 200 }).await;
    for e in errors {
        assert!(
            matches!(&e, Error::InvalidBody { status, .. } if status.as_u16() == 200),
            "{e:?}"
        );
    }
    let (errors, _, exchanges, _) = against(Hostile::InvalidUtf8 { status: 401 }).await;
    for e in errors {
        match &e {
            Error::Status {
                status, body, raw, ..
            } => {
                assert_eq!(status.as_u16(), 401);
                assert!(body.is_none());
                assert!(raw.bytes.contains(&0xff));
            }
            other => panic!("expected Status 401, got {other:?}"),
        }
        // Display and Debug render it without panicking.
        assert!(!format!("{e} {e:?}").is_empty());
    }
    for exchange in exchanges {
        let _ = (format!("{exchange:?}"), exchange.to_curl());
    }
}

// Test case: 100,000 nested arrays neither overflow the stack (parsing, redaction,
// Debug, curl repro) nor pass: `InvalidBody` for a 200, `Status` for a 500.
#[tokio::test]
async fn deep_nesting() {
    for code in [200, 500] {
        let (errors, _, exchanges, _) = against(Hostile::DeepNesting { status: code }).await;
        for e in errors {
            assert_eq!(status(&e), Some(code), "{e:?}");
            if code == 200 {
                assert!(matches!(e, Error::InvalidBody { .. }), "{e:?}");
            } else {
                assert!(matches!(e, Error::Status { body: None, .. }), "{e:?}");
            }
        }
        for exchange in exchanges {
            let redacted = exchange.redacted();
            assert_eq!(redacted.response_body.len(), 2 * hostile::DEEP);
            let _ = (format!("{exchange:?}"), exchange.to_curl());
        }
    }
    let mut nested: serde_json::Result<serde_json::Value> =
        serde_json::from_slice(&hostile::deep_nesting(hostile::DEEP));
    assert!(nested.is_err(), "serde_json's recursion limit is off");
    if let Ok(value) = nested.as_mut() {
        idcs_mfa::redact_json(value);
    }
}

// Test case: a success labelled `text/html` is not taken at its word, even when the body
// would parse: `InvalidBody` with the status and the media type named.
#[tokio::test]
async fn wrong_content_type() {
    let server = HostileServer::start(Hostile::WrongContentType).await;
    let client = builder(&server.base_url).build().unwrap();
    let e = client.get_user_factors(GUID).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidBody { status, reason, .. }
            if status.as_u16() == 200 && reason.contains("text/html")),
        "{e:?}"
    );
}

// Test case: a body that repeats a key is refused, never read one way or the other:
// `InvalidBody` 200 for a 200, `Status` 400 without a parsed body for a 400.
#[tokio::test]
async fn duplicate_keys() {
    let (errors, _, _, _) = against(Hostile::DuplicateKeys { status: 200 }).await;
    for e in errors {
        assert!(
            matches!(&e, Error::InvalidBody { status, reason, .. } if status.as_u16() == 200 && reason.contains("duplicate")),
            "{e:?}"
        );
    }
    let (errors, _, _, _) = against(Hostile::DuplicateKeys { status: 400 }).await;
    for e in errors {
        assert!(
            matches!(&e, Error::Status { status, body: None, .. } if status.as_u16() == 400),
            "{e:?}"
        );
    }
}

// Test case: a reset before any byte is `Transport` without a status; a reset in the
// middle of the body is `Transport` that keeps the 200 of the head. Both at once.
#[tokio::test]
async fn connection_reset() {
    let (errors, took, _, _) = against(Hostile::ResetBeforeAnswer).await;
    for e in errors {
        assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
    }
    assert!(took < TIMEOUT, "{took:?}");
    let (errors, took, _, _) = against(Hostile::ResetMidBody).await;
    for e in errors {
        assert!(
            matches!(e, Error::Transport { status: Some(s), .. } if s.as_u16() == 200),
            "{e:?}"
        );
    }
    assert!(took < TIMEOUT, "{took:?}");
}

// Test case: a head, then one byte every 3 s: the request timeout covers the body too,
// so the call ends as a timeout (`Transport`, status 200 kept) after about 1 s.
#[tokio::test]
async fn drip_feed_ends_at_the_request_timeout() {
    let (errors, took, _, server) = against(Hostile::Drip).await;
    for e in errors {
        assert!(
            matches!(&e, Error::Transport { status: Some(s), .. } if s.as_u16() == 200),
            "{e:?}"
        );
        assert!(e.to_string().contains("timed out"), "{e}");
    }
    assert!(took >= TIMEOUT && took < TIMEOUT + SLACK, "{took:?}");
    assert!(server.body_bytes_sent() <= 4);
}

// Test case: a server that reads the request and never answers: a timeout without a
// status after the request timeout, for the operations and for the token endpoint.
#[tokio::test]
async fn silent_server_ends_at_the_request_timeout() {
    let (errors, took, _, _) = against(Hostile::Silent).await;
    for e in errors {
        assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
        assert!(e.to_string().contains("timed out"), "{e}");
    }
    assert!(took >= TIMEOUT && took < TIMEOUT + SLACK, "{took:?}");

    let server = HostileServer::start(Hostile::Silent).await;
    let client = builder(&server.base_url).build().unwrap();
    let started = Instant::now();
    let e = client
        .fetch_token(&ClientCredentials::new("id", "secret"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
    assert!(started.elapsed() < TIMEOUT + SLACK);
}

// Test case: redirects (301, 302, 303, 307, 308) to another host name are not
// followed, by the operations nor by the token endpoint: the error keeps the 3xx and
// the other host receives nothing, so no Authorization header (nor body) reaches it.
#[tokio::test]
async fn redirect_to_another_host_never_carries_the_token() {
    let elsewhere = HostileServer::start(Hostile::Empty401).await;
    for code in [301, 302, 303, 307, 308] {
        let how = Hostile::Redirect {
            status: code,
            to: elsewhere.other_host_url.clone(),
        };
        let (errors, _, _, server) = against(how.clone()).await;
        for e in errors {
            assert!(
                matches!(&e, Error::Status { status, .. } if status.as_u16() == code),
                "{code}: {e:?}"
            );
        }
        let client = builder(&server.base_url).build().unwrap();
        let e: Result<AccessToken, Error> = client
            .fetch_token(&ClientCredentials::new("id", "secret"))
            .await;
        assert_eq!(e.unwrap_err().status().map(|s| s.as_u16()), Some(code));
        assert_eq!(server.requests_with_authorization(), 3, "{code}");
    }
    assert_eq!(elsewhere.requests(), 0);
    assert_eq!(elsewhere.requests_with_authorization(), 0);
}

// Test case: the token endpoint reads its answer under the same size limit: a 20 MB
// answer is `BodyTooLarge`, not 20 MB in memory.
#[test]
fn token_endpoint_answer_is_size_limited() {
    for declared in [true, false] {
        let (e, peak) = alloc::peak_during(async {
            let server = HostileServer::start(Hostile::Huge { declared }).await;
            let client = builder(&server.base_url)
                .max_response_bytes(64 * 1024)
                .build()
                .unwrap();
            client
                .fetch_token(&ClientCredentials::new("id", "secret"))
                .await
                .unwrap_err()
        });
        assert!(
            matches!(&e, Error::BodyTooLarge { status, limit } if status.as_u16() == 200 && *limit == 64 * 1024),
            "declared={declared}: {e:?}"
        );
        assert!(
            peak < 2 * 1024 * 1024,
            "declared={declared}: peak {peak} bytes"
        );
    }
}

// Test case: certificate checks are on unless the explicit option says otherwise: the
// default builder does not accept invalid certificates, and an `https` base URL is
// never downgraded (a server that speaks no TLS gets no HTTP request, only a failed
// handshake).
#[tokio::test]
async fn tls_is_verified_by_default() {
    let server = HostileServer::start(Hostile::Empty401).await;
    let https = server.base_url.replace("http://", "https://");
    let e = builder(&https)
        .build()
        .unwrap()
        .get_user_factors(GUID)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
    assert_eq!(server.requests(), 0, "a plain-HTTP request was sent");
    let debug = format!("{:?}", Client::builder("https://tenant.example"));
    assert!(debug.contains("accept_invalid_certs: false"), "{debug}");
}

/// Documented-looking bodies to mutate.
const SEEDS: &[&[u8]] = &[
    br#"{"status":"success","userGUID":"cc327268ff4d4e4a9b3e9f676215cfc7","factors":[{"factorId":"f","displayName":"Phone","methods":["TOTP","PUSH"]}],"preferredFactorId":"f","preferredMethod":"PUSH"}"#,
    br#"{"status":"failed","cause":[{"code":"AUTH-1105","message":"Invalid passcode."}],"ecId":"q^x"}"#,
    br#"{"status":"success","requestId":"r","userGUID":"g","factorId":"f","method":"SMS","requestState":"s","displayName":"+44XXXX"}"#,
    br#"{"status":"pending","cause":[{"code":"AUTH-1108","message":"Push Notification approval is pending."}]}"#,
];

/// One generated answer: status, framing, content type and a (mutated) body.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    framing: Framing,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Framing {
    /// `content-length` equal to the body.
    Length,
    /// Chunked, well formed.
    Chunked,
    /// Ended by closing the connection.
    Close,
    /// `content-length` larger than the body (the connection closes early).
    ShortBody,
    /// Chunk sizes that are not hex.
    BadChunks,
}

fn mutated_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let seed = proptest::sample::select(SEEDS.to_vec()).prop_map(<[u8]>::to_vec);
    prop_oneof![
        3 => seed.clone(),
        3 => (seed.clone(), any::<usize>(), any::<u8>()).prop_map(|(mut b, i, x)| {
            let n = b.len();
            b[i % n] = x;
            b
        }),
        2 => (seed.clone(), any::<usize>()).prop_map(|(mut b, i)| {
            b.truncate(i % (b.len() + 1));
            b
        }),
        2 => (seed.clone(), any::<usize>(), any::<usize>()).prop_map(|(b, i, j)| {
            // A slice of the body inserted again somewhere: repeated keys, broken nesting.
            let (i, j) = (i % b.len(), j % b.len());
            let (lo, hi) = (i.min(j), i.max(j));
            let mut out = b[..hi].to_vec();
            out.extend_from_slice(&b[lo..]);
            out
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (1usize..20_000).prop_map(hostile::deep_nesting),
    ]
}

fn answer() -> impl proptest::strategy::Strategy<Value = Answer> {
    use proptest::prelude::*;
    let framing = prop_oneof![
        6 => Just(Framing::Length),
        2 => Just(Framing::Chunked),
        2 => Just(Framing::Close),
        1 => Just(Framing::ShortBody),
        1 => Just(Framing::BadChunks),
    ];
    let content_type = proptest::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/scim+json;charset=UTF-8"),
        Some("text/html"),
        Some("application/octet-stream"),
    ]);
    (
        prop_oneof![8 => 200u16..=599, 1 => Just(200u16), 1 => Just(401u16)],
        framing,
        content_type,
        mutated_body(),
    )
        .prop_map(|(status, framing, content_type, body)| Answer {
            status,
            framing,
            content_type,
            body,
        })
}

fn wire(a: &Answer) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} Generated\r\nconnection: close\r\n", a.status);
    if let Some(ct) = a.content_type {
        out.push_str(&format!("content-type: {ct}\r\n"));
    }
    let mut body = Vec::new();
    match a.framing {
        Framing::Length => out.push_str(&format!("content-length: {}\r\n", a.body.len())),
        Framing::ShortBody => out.push_str(&format!("content-length: {}\r\n", a.body.len() + 10)),
        Framing::Close => {}
        Framing::Chunked | Framing::BadChunks => {
            out.push_str("transfer-encoding: chunked\r\n");
            for chunk in a.body.chunks(7) {
                if a.framing == Framing::Chunked {
                    body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                } else {
                    body.extend_from_slice(b"zz\r\n");
                }
                body.extend_from_slice(chunk);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if matches!(a.framing, Framing::Chunked | Framing::BadChunks) {
        out.extend_from_slice(&body);
    } else {
        out.extend_from_slice(&a.body);
    }
    out
}

// Test case: response parsing at volume (cases: PROPTEST_CASES, default 64): generated
// answers (any status 200..=599; length, chunked, close-delimited, short or broken
// framing; mutated documented bodies, repeated slices, arbitrary bytes, deep nesting)
// to a GET and a PATCH. Never a panic, never past the timeout; a success only for a 2xx
// that was framed correctly; every error of a correctly framed answer carries its
// status, and no error claims a status other than the one sent.
#[test]
fn generated_answers_parse_to_a_value_or_an_error_with_the_status() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let slot = Arc::new(Mutex::new(Vec::new()));
    let server = runtime.block_on(HostileServer::start(Hostile::Raw(slot.clone())));
    let client = runtime.block_on(async { builder(&server.base_url).build().unwrap() });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(a in answer())| {
        *slot.lock().unwrap() = wire(&a);
        let started = Instant::now();
        let outcomes = runtime.block_on(async {
            [
                client.get_user_factors(GUID).await.map(|r| r.status),
                client.complete_verification("r", &patch_body()).await.map(|r| r.status),
            ]
        });
        prop_assert!(started.elapsed() < 2 * TIMEOUT + SLACK);
        let framed = matches!(a.framing, Framing::Length | Framing::Chunked | Framing::Close);
        for outcome in outcomes {
            match outcome {
                Ok(status) => {
                    prop_assert_eq!(status.as_u16(), a.status);
                    prop_assert!((200..300).contains(&a.status) && framed, "{:?}", a);
                }
                Err(e) => {
                    let got = e.status().map(|s| s.as_u16());
                    prop_assert!(got.is_none() || got == Some(a.status), "{:?}: {:?}", a, e);
                    if framed {
                        prop_assert_eq!(got, Some(a.status), "{:?}: {:?}", a, e);
                    }
                    let shown = format!("{e} {e:?}");
                    prop_assert!(!shown.is_empty());
                }
            }
        }
    });
}
