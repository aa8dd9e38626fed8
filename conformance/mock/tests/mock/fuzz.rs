//! The mock tenant under generated input: request streams (methods, paths, headers,
//! bodies) never get a 5xx, every error body has its API's shape, oversized bodies get
//! 413; generated tamperings of a requestState are always 401 AUTH-1120 and spend
//! nothing; ids and requestStates are unguessable; secrets are compared in constant time.
//!
//! Cases scale with `PROPTEST_CASES` (default 32 streams and 64 tamperings, a few
//! seconds); the largest run is in `docs/performance.md` (`## Reliability`).

use std::collections::HashSet;

use crate::support::*;
use idcs_mfa::{Initiate, Method, UserRef};
use idcs_mfa_mock::{DEFAULT_MAX_BODY_BYTES, MockConfig, MockTenant};
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a generated request may hold.
#[derive(Clone, Debug)]
struct Req {
    method: reqwest::Method,
    path: String,
    auth: Auth,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Body,
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Valid,
    Bogus(String),
    Basic,
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Bytes(Vec<u8>),
    /// A JSON object close to the contract's bodies (real states and ids mixed in).
    Json(Value),
    /// Deeply nested arrays.
    Nested(usize),
    /// Larger than the body limit.
    Oversized,
}

/// Ids and a requestState the streams may use, so that they reach the deep paths.
#[derive(Clone, Debug)]
struct Known {
    push_id: String,
    sms_id: String,
    sms_state: String,
}

fn method() -> impl Strategy<Value = reqwest::Method> {
    prop_oneof![
        4 => Just(reqwest::Method::GET),
        4 => Just(reqwest::Method::POST),
        4 => Just(reqwest::Method::PATCH),
        1 => Just(reqwest::Method::PUT),
        1 => Just(reqwest::Method::DELETE),
        1 => Just(reqwest::Method::HEAD),
        1 => Just(reqwest::Method::OPTIONS),
        1 => "[A-Z]{1,8}"
            .prop_filter("CONNECT takes an authority, not a path", |m| m != "CONNECT")
            .prop_map(|m| reqwest::Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// A path segment: an id that exists, a plausible one, or anything percent-encoded.
fn segment(known: &Known) -> impl Strategy<Value = String> + Clone + use<> {
    prop_oneof![
        Just(known.push_id.clone()),
        Just(known.sms_id.clone()),
        Just(TOM.to_owned()),
        "[0-9a-f]{32}",
        any::<String>().prop_map(|s| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        }),
        Just("a".repeat(3000)),
        Just("..".to_owned()),
    ]
}

fn path(known: &Known) -> impl Strategy<Value = String> + use<> {
    let seg = segment(known);
    prop_oneof![
        seg.clone()
            .prop_map(|s| format!("/mfa/v1/users/{s}/factors")),
        seg.clone().prop_map(|s| format!("/mfa/v1/requests/{s}")),
        Just("/mfa/v1/requests".to_owned()),
        (seg.clone(), "[A-Z_]{0,12}").prop_map(|(s, t)| format!(
            "/mfa/v1/users?userId={s}&userIdType={t}&attributes=factors"
        )),
        "[a-zA-Z0-9=&%]{0,40}".prop_map(|q| format!("/mfa/v1/users?{q}")),
        seg.clone().prop_map(|s| format!("/mfa/v1/{s}")),
        seg.prop_map(|s| format!("/{s}")),
        Just("/oauth2/v1/token".to_owned()),
        Just("/_mock/v1/users/x/unlock".to_owned()),
    ]
}

fn json_body(known: &Known) -> impl Strategy<Value = Value> + use<> {
    let state = known.sms_state.clone();
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::from(state)),
        Just(Value::from("USER_GUID")),
        Just(Value::from("SMS")),
        Just(Value::from(TOM)),
    ];
    let key = prop_oneof![
        Just("userId".to_owned()),
        Just("userIdType".to_owned()),
        Just("factorId".to_owned()),
        Just("method".to_owned()),
        Just("requestState".to_owned()),
        Just("otpCode".to_owned()),
        Just("bypassCode".to_owned()),
        Just("resendOtp".to_owned()),
        Just("securityQuestions".to_owned()),
        "[a-zA-Z]{1,10}",
    ];
    let value = scalar.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map(key, value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn body(known: &Known) -> impl Strategy<Value = Body> + use<> {
    prop_oneof![
        2 => Just(Body::None),
        3 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
        6 => json_body(known).prop_map(Body::Json),
        1 => (1usize..50_000).prop_map(Body::Nested),
        2 => Just(Body::Oversized),
    ]
}

fn request(known: &Known) -> impl Strategy<Value = Req> + use<> {
    let auth = prop_oneof![
        1 => Just(Auth::None),
        6 => Just(Auth::Valid),
        1 => "[ -~]{0,40}".prop_map(Auth::Bogus),
        1 => Just(Auth::Basic),
    ];
    let content_type = proptest::option::of(prop_oneof![
        Just("application/json".to_owned()),
        Just("application/scim+json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("text/plain".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        "[ -~]{0,30}",
    ]);
    let headers = proptest::collection::vec(("x-[a-z]{1,10}", "[ -~]{0,60}"), 0..4);
    (
        method(),
        path(known),
        auth,
        content_type,
        headers,
        body(known),
    )
        .prop_map(|(method, path, auth, content_type, headers, body)| Req {
            method,
            path,
            auth,
            content_type,
            headers,
            body,
        })
}

fn body_bytes(body: &Body) -> Option<Vec<u8>> {
    match body {
        Body::None => None,
        Body::Bytes(b) => Some(b.clone()),
        Body::Json(v) => Some(v.to_string().into_bytes()),
        Body::Nested(depth) => {
            let mut b = vec![b'['; *depth];
            b.extend(std::iter::repeat_n(b']', *depth));
            Some(b)
        }
        Body::Oversized => Some(
            json!({"userId": "a".repeat(DEFAULT_MAX_BODY_BYTES), "userIdType": "USER_GUID"})
                .to_string()
                .into_bytes(),
        ),
    }
}

/// Whether the API's rules say `req` must be answered 413.
fn must_be_413(req: &Req) -> bool {
    let path = req.path.split('?').next().unwrap_or("");
    let body_route = (req.method == reqwest::Method::POST && path == "/mfa/v1/requests")
        || (req.method == reqwest::Method::PATCH
            && path.strip_prefix("/mfa/v1/requests/").is_some_and(|id| {
                // URLs normalise `.` and `..` segments (`%2E` too) away.
                let dots = id.replace("%2E", ".");
                !id.is_empty() && !id.contains('/') && dots != "." && dots != ".."
            }));
    let json_type = req.content_type.as_deref().is_some_and(|ct| {
        let ct = ct.trim().to_ascii_lowercase();
        ct.starts_with("application/json") || ct.starts_with("application/scim+json")
    });
    matches!(req.body, Body::Oversized)
        && matches!(req.auth, Auth::Valid)
        && body_route
        && json_type
}

/// Whether `body` has the shape of the errors of the API that owns `path`.
fn has_error_shape(path: &str, body: &Value) -> bool {
    let api = body["status"] == "failed"
        && body["cause"].as_array().is_some_and(|c| {
            !c.is_empty()
                && c.iter()
                    .all(|c| c["code"].is_string() && c["message"].is_string())
        })
        && serde_json::from_value::<idcs_mfa::types::ErrorResponse>(body.clone()).is_ok();
    let control =
        path.starts_with("/_mock/") && body["error"].is_string() && body["message"].is_string();
    let oauth = path.starts_with("/oauth2/") && body["error"].is_string();
    api || control || oauth
}

async fn send(
    m: &MockTenant,
    http: &reqwest::Client,
    req: &Req,
) -> Result<(StatusCode, Vec<u8>), String> {
    let mut builder = http.request(req.method.clone(), format!("{}{}", m.base_url(), req.path));
    builder = match &req.auth {
        Auth::None => builder,
        Auth::Valid => builder.bearer_auth(m.token().expose()),
        Auth::Bogus(t) => builder.header("authorization", format!("Bearer {t}")),
        Auth::Basic => builder.basic_auth("conformance-client", Some("nope")),
    };
    if let Some(ct) = &req.content_type {
        builder = builder.header("content-type", ct);
    }
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    if let Some(bytes) = body_bytes(&req.body) {
        builder = builder.body(bytes);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("no answer: {e:?}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("body: {e}"))?;
    Ok((status, bytes.to_vec()))
}

// Test case: generated request streams (1 to 6 requests each) never get a 5xx nor a
// dropped connection; every 4xx has its API's error shape (HEAD aside: no body);
// oversized JSON bodies to the body routes are 413; afterwards the server still
// answers a known PUSH as pending.
#[test]
fn generated_request_streams_never_get_a_5xx() {
    let rt = runtime();
    let m = rt.block_on(start(MockConfig {
        max_attempts: u32::MAX,
        push_expiry: std::time::Duration::from_secs(3600),
        ..MockConfig::default()
    }));
    let (push, sms) = rt.block_on(async {
        (
            initiate(&m, TOM, TOM_PHONE, Method::Push).await,
            initiate(&m, USER1, USER1_SMS, Method::Sms).await,
        )
    });
    let known = Known {
        push_id: push.request_id().to_owned(),
        sms_id: sms.request_id().to_owned(),
        sms_state: sms.request_state().expose().to_owned(),
    };
    let http = rt.block_on(async { reqwest::Client::new() });
    let config = ProptestConfig {
        cases: cases(32),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let checked_413 = std::sync::atomic::AtomicUsize::new(0);
    proptest!(config, |(stream in proptest::collection::vec(request(&known), 1..6))| {
        for req in &stream {
            let (status, body) = rt.block_on(send(&m, &http, req)).map_err(TestCaseError::fail)?;
            *statuses.lock().unwrap().entry(status.as_u16()).or_default() += 1;
            let path = req.path.split('?').next().unwrap_or("");
            prop_assert!(!status.is_server_error(), "{status} for {req:?}");
            if must_be_413(req) {
                checked_413.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(status.as_u16(), 413, "{:?}", req);
            }
            if status.is_client_error() && req.method != reqwest::Method::HEAD {
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                prop_assert!(
                    has_error_shape(path, &json),
                    "{} for {:?}: {:?}", status, req, String::from_utf8_lossy(&body)
                );
            }
        }
    });
    let (status, body) = rt.block_on(poll(&m, &known.push_id));
    assert_eq!((status.as_u16(), &body["status"]), (200, &json!("pending")));
    let statuses = statuses.into_inner().unwrap();
    eprintln!(
        "{} generated requests, no 5xx; statuses {statuses:?}; {} oversized bodies checked for 413",
        statuses.values().sum::<usize>(),
        checked_413.into_inner()
    );
    // The streams reach past authentication and parsing, not only the 401 gate.
    assert!(
        statuses.keys().any(|s| *s == 200 || *s == 404),
        "{statuses:?}"
    );
}

/// One way to alter a requestState.
#[derive(Clone, Debug)]
enum Tamper {
    FlipBit(usize, u8),
    Truncate(usize),
    Append(String),
    Replace(usize, char),
    /// The state of another request of the same user.
    OtherRequest,
    /// The state of another user's request.
    OtherUser,
    /// The state from before the last resend.
    BeforeResend,
    /// The state of another user's request that already succeeded.
    Spent,
    /// The payload rewritten to name another request, the tag kept.
    Resealed,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Tamper::FlipBit(i, b)),
        3 => any::<usize>().prop_map(Tamper::Truncate),
        2 => "[A-Za-z0-9_=.-]{1,8}".prop_map(Tamper::Append),
        3 => (any::<usize>(), proptest::char::range('-', 'z')).prop_map(|(i, c)| Tamper::Replace(i, c)),
        1 => Just(Tamper::OtherRequest),
        1 => Just(Tamper::OtherUser),
        1 => Just(Tamper::BeforeResend),
        1 => Just(Tamper::Spent),
        1 => Just(Tamper::Resealed),
    ]
}

struct States {
    current: String,
    other_request: String,
    other_user: String,
    before_resend: String,
    spent: String,
    other_id: String,
}

fn apply(t: &Tamper, s: &States) -> String {
    let cur = s.current.as_bytes();
    match t {
        Tamper::FlipBit(i, bit) => {
            let mut b = cur.to_vec();
            let i = i % b.len();
            b[i] ^= 1 << bit;
            String::from_utf8_lossy(&b).into_owned()
        }
        Tamper::Truncate(n) => s.current[..n % s.current.len()].to_owned(),
        Tamper::Append(tail) => format!("{}{tail}", s.current),
        Tamper::Replace(i, c) => {
            let mut chars: Vec<char> = s.current.chars().collect();
            let i = i % chars.len();
            chars[i] = *c;
            chars.into_iter().collect()
        }
        Tamper::OtherRequest => s.other_request.clone(),
        Tamper::OtherUser => s.other_user.clone(),
        Tamper::BeforeResend => s.before_resend.clone(),
        Tamper::Spent => s.spent.clone(),
        Tamper::Resealed => {
            let raw = data_encoding_decode(&s.current);
            let text = String::from_utf8_lossy(&raw[..raw.len() - 32]).into_owned();
            let id = text.split('\n').next().unwrap_or("");
            let mut forged = text.replacen(id, &s.other_id, 1).into_bytes();
            forged.extend_from_slice(&raw[raw.len() - 32..]);
            data_encoding_encode(&forged)
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (the mock's wire form of a requestState), decoded.
fn data_encoding_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn data_encoding_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

// Test case: generated tamperings of a live requestState (bit flips, truncations,
// appended and replaced characters), and states of another request, of another user,
// from before a resend, of a request that succeeded, or re-written to name another
// request, presented with the right OTP: always 401 AUTH-1120, never counted as an
// attempt; afterwards the real state and OTP still verify.
#[test]
fn tampered_request_states_are_always_401() {
    let rt = runtime();
    let m = rt.block_on(start_default());
    let c = client(&m);
    let (mut v, otp, states) = rt.block_on(async {
        let mut v = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
        let before_resend = v.request_state().expose().to_owned();
        c.resend_otp(&mut v).await.unwrap();
        let other = initiate(&m, USER1, USER1_EMAIL, Method::Email).await;
        let other_user = c
            .initiate(&Initiate::preferred(UserRef::Guid(TOM2.into())))
            .await
            .unwrap();
        let mut done = initiate(&m, TOM, TOM_IPHONE, Method::Totp).await;
        c.verify_otp(&mut done, totp_now()).await.unwrap();
        let otp = Control(&m).last_otp(v.request_id()).await;
        let states = States {
            current: v.request_state().expose().to_owned(),
            other_request: other.request_state().expose().to_owned(),
            other_user: other_user.request_state().expose().to_owned(),
            before_resend,
            spent: done.request_state().expose().to_owned(),
            other_id: other.request_id().to_owned(),
        };
        (v, otp, states)
    });
    assert_eq!(
        data_encoding_encode(&data_encoding_decode(&states.current)),
        states.current
    );
    let attempts = rt.block_on(Control(&m).user(USER1)).attempts;
    let config = ProptestConfig {
        cases: cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(t in tamper())| {
        let state = apply(&t, &states);
        prop_assume!(state != states.current);
        let (status, body) = rt.block_on(patch(
            &m,
            v.request_id(),
            json!({"otpCode": otp, "requestState": state}),
        ));
        prop_assert_eq!((status.as_u16(), code(&body)), (401, "AUTH-1120"), "{:?} {}", t, state);
    });
    assert_eq!(rt.block_on(Control(&m).user(USER1)).attempts, attempts);
    rt.block_on(c.verify_otp(&mut v, otp.as_str())).unwrap();
}

// Test case: request ids are distinct UUID v4s with no shared prefix; requestStates
// are distinct and carry a 32-byte tag that differs for every request; minted tokens
// are distinct 256-bit values. (Sequential or clock-derived ids fail this.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_request_states_and_tokens_are_unguessable() {
    let m = start_default().await;
    let mut ids = HashSet::new();
    let mut prefixes = HashSet::new();
    let mut tags = HashSet::new();
    for _ in 0..100 {
        let v = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
        let id = v.request_id();
        let b = id.as_bytes();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(b[14], b'4', "not a UUID v4: {id}");
        assert!(b"89ab".contains(&b[19]), "not an RFC 4122 variant: {id}");
        assert!(ids.insert(id.to_owned()), "{id} issued twice");
        prefixes.insert(id[..6].to_owned());
        let raw = data_encoding_decode(v.request_state().expose());
        assert!(raw.len() > 32);
        tags.insert(raw[raw.len() - 32..].to_vec());
    }
    assert!(prefixes.len() > 95, "ids share prefixes: {prefixes:?}");
    assert_eq!(tags.len(), 100);
    let control = Control(&m);
    let mut tokens = HashSet::new();
    for _ in 0..20 {
        let token = control.mint(&["MFA Client"]).await;
        assert!(token.len() >= 43, "{token}");
        assert!(tokens.insert(token));
    }
}

// Test case: the mock compares every secret (OTPs, bypass codes, answers, the control
// token, client secrets, TOTP codes) in constant time (`subtle`'s `ct_eq`, or `Secret`'s
// `PartialEq`): no line of the mock's source compares an exposed secret with `==` or
// `!=`.
#[test]
fn secrets_are_compared_in_constant_time() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue; // model/: pure rules, no secret in them
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let compares = code.contains("==") || code.contains("!=");
            let secret = [
                "expose()",
                "client_secret",
                "control_token",
                ".answer",
                "bypass_codes",
            ]
            .iter()
            .any(|s| code.contains(s));
            let constant_time = code.contains("ct_eq") || code.contains("constant_time_eq");
            if compares && secret && !constant_time {
                offenders.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "non-constant-time compares:\n{}",
        offenders.join("\n")
    );
}
